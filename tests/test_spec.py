"""Specifications: exact boxes, outward float32 enclosures, output properties, VNN-LIB parsing."""

from __future__ import annotations

import re
from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytorch2lean.errors import ParseError, ShapeError, UserError
from pytorch2lean.numeric.float32 import MAX_FINITE
from pytorch2lean.spec import (
    Box,
    Conjunction,
    Disjunction,
    LinearConstraint,
    Property,
    exact,
    VnnlibSpec,
    load_vnnlib,
    parse_vnnlib,
    round_f32_down,
    round_f32_up,
)
from pytorch2lean.spec.vnnlib import MAX_TERMS

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "vnncomp2021"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "vnnlib"
SHARED_FILES = sorted(SHARED.rglob("*.vnnlib")) if SHARED.is_dir() else []
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared benchmarks not found at {SHARED}")
F = Fraction
TINY_F32 = F(1, 2**149)

# --- exact numbers and float32 rounding ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("0.1", F(1, 10)), ("1e-05", F(1, 100000)), ("-3.2E+2", F(-320)), (".5", F(1, 2)), ("5.", F(5)),
     ("+2", F(2)), ("-0", F(0)), ("0.029999999329447746", F(29999999329447746, 10**18))],
)
def test_decimal_text_is_exact(text: str, value: Fraction) -> None:
    assert exact(text) == value
    spec = parse_vnnlib(f"(declare-const X_0 Real)(declare-const Y_0 Real)(assert (<= X_0 {text}))(assert (>= X_0 -1e9))")
    assert spec.input_boxes[0].upper == (value,)


def test_exact_refuses_binary_floats_and_junk() -> None:
    with pytest.raises(TypeError):
        exact(0.1)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="not an exact number"):
        exact("0.1.2")


def _f32_fraction(x: np.float32) -> Fraction:
    return Fraction(float(x))


@pytest.mark.parametrize(
    ("q", "down", "up"),
    [
        (F(1, 2), 0.5, 0.5),
        (F(0), 0.0, 0.0),
        (TINY_F32 / 3, 0.0, float(np.float32(TINY_F32))),
        (-TINY_F32 / 3, -float(np.float32(TINY_F32)), 0.0),
        (MAX_FINITE * 2, float(MAX_FINITE), np.inf),
        (-MAX_FINITE * 2, -np.inf, -float(MAX_FINITE)),
        (F(-3, 2**150), -float(np.float32(2 * TINY_F32)), -float(np.float32(TINY_F32))),
    ],
)
def test_directed_rounding_classes(q: Fraction, down: float, up: float) -> None:
    lo, hi = round_f32_down(q), round_f32_up(q)
    assert (lo.dtype, hi.dtype) == (np.float32, np.float32)
    assert (float(lo), float(hi)) == (down, up)
    assert not np.signbit(hi) or hi < 0  # an upper bound 0 is +0.0, not -0.0


def test_directed_rounding_brackets_one_tenth() -> None:
    lo, hi = round_f32_down(F(1, 10)), round_f32_up(F(1, 10))
    assert _f32_fraction(lo) < F(1, 10) < _f32_fraction(hi)
    assert np.nextafter(lo, np.float32(1)) == hi


rationals = st.one_of(
    st.fractions(max_denominator=10**12),
    st.builds(lambda m, e: F(m) * F(2) ** e, st.integers(-(2**30), 2**30), st.integers(-170, 140)),
)


@settings(max_examples=300, deadline=None)
@given(rationals)
def test_directed_rounding_is_outward_and_tight(q: Fraction) -> None:
    lo, hi = round_f32_down(q), round_f32_up(q)
    if np.isfinite(lo):
        assert _f32_fraction(lo) <= q
    if np.isfinite(hi):
        assert _f32_fraction(hi) >= q
    with np.errstate(over="ignore"):
        above_lo = np.nextafter(lo, np.float32(np.inf))
        below_hi = np.nextafter(hi, np.float32(-np.inf))
    assert not np.isfinite(above_lo) or _f32_fraction(above_lo) > q
    assert not np.isfinite(below_hi) or _f32_fraction(below_hi) < q


near_floats = st.builds(lambda x, k, e: F(float(np.float32(x))) + F(k) * F(2) ** e,
                        st.floats(width=32, allow_nan=False, allow_infinity=False), st.integers(-3, 3), st.integers(-1300, -20))
beyond_double = st.builds(lambda m, e: F(m) * F(2) ** e, st.integers(-(2**30), 2**30).filter(bool), st.integers(1030, 1100))
below_double = st.builds(lambda m, e: F(m, 2**e), st.integers(-(2**30), 2**30), st.integers(1080, 1200))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(rationals, near_floats, beyond_double, below_double), min_size=1, max_size=20))
def test_bulk_rounding_through_doubles_equals_exact_rounding(values: list[Fraction]) -> None:
    """`floats_down`/`floats_up` (via float64, exact compare only on a tie) give the same float32,
    sign of zero included, as exact rounding of each value: next to float32 values, beyond the
    double range and below its smallest subnormal."""
    from pytorch2lean.spec.numbers import _down_exact, floats_down, floats_up

    down, up = floats_down(values), floats_up(values)
    assert down.dtype == up.dtype == np.float32
    exact_down = np.array([_down_exact(q) for q in values], dtype=np.float32)
    exact_up = np.float32(0) - np.array([_down_exact(-q) for q in values], dtype=np.float32)
    assert down.tobytes() == exact_down.tobytes() and up.tobytes() == exact_up.tobytes()


# --- boxes --------------------------------------------------------------------------------------


@st.composite
def boxes_and_points(draw: st.DrawFn) -> tuple[Box, list[Fraction]]:
    n = draw(st.integers(1, 6))
    pairs = [sorted(draw(st.lists(rationals, min_size=2, max_size=2))) for _ in range(n)]
    point = [draw(st.one_of(st.sampled_from(p), rationals)) for p in pairs]
    return Box(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs), (n,)), point


@settings(max_examples=300, deadline=None)
@given(boxes_and_points())
def test_membership_is_elementwise_comparison(case: tuple[Box, list[Fraction]]) -> None:
    box, point = case
    expected = all(lo <= v <= hi for lo, v, hi in zip(box.lower, point, box.upper))
    assert box.contains(point) == expected
    assert box.contains(np.array(point, dtype=object)) == expected


@settings(max_examples=200, deadline=None)
@given(boxes_and_points())
def test_float_box_contains_exact_box(case: tuple[Box, list[Fraction]]) -> None:
    box, _ = case
    lower, upper = box.to_float_arrays()
    assert lower.dtype == upper.dtype == np.float32 and lower.shape == box.shape
    for lo, q in zip(lower, box.lower):
        assert not np.isfinite(lo) or _f32_fraction(lo) <= q
    for hi, q in zip(upper, box.upper):
        assert not np.isfinite(hi) or _f32_fraction(hi) >= q
    corners_inside = [all(lo <= c <= hi for lo, c, hi in zip(box.lower, corner, box.upper)) for corner in box.corners()]
    assert all(corners_inside) and len(corners_inside) == 2 ** sum(lo != hi for lo, hi in zip(box.lower, box.upper))


def test_float_points_count_by_their_exact_value() -> None:
    box = Box((F(1, 10) + F(1, 10**12),), (F(1),), (1,))
    assert box.contains(np.array([0.1], dtype=np.float32))  # float32(0.1) = 1/10 + 1.5e-9
    assert not box.contains(np.array([0.1], dtype=np.float64))  # float64(0.1) = 1/10 + 5.6e-18
    with pytest.raises(UserError, match="not finite"):
        box.contains([float("nan")])


def test_linf_ball_is_exact_and_clipped() -> None:
    center = np.array([[0.5, 0.95], [0.0, 0.1]], dtype=np.float32)
    ball = Box.linf_ball(center, "0.1", clip=(0, 1))
    assert ball.shape == (2, 2)
    c01 = Fraction(float(np.float32(0.1)))
    assert ball.lower == (F(2, 5), F(float(np.float32(0.95))) - F(1, 10), F(0), c01 - F(1, 10))
    assert ball.upper == (F(3, 5), F(1), F(1, 10), c01 + F(1, 10))
    assert ball.contains(center) and ball.contains(center.reshape(-1))
    point = Box.linf_ball(center, 0)
    assert point.lower == point.upper and len(list(point.corners())) == 1


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: Box.linf_ball(np.zeros(2, np.float32), "-0.1"), UserError, "radius must be >= 0"),
        (lambda: Box.linf_ball(np.full(2, 3, np.float32), "0.1", clip=(0, 1)), UserError, "empty box"),
        (lambda: Box.linf_ball(np.zeros(2, np.int64), "0.1"), TypeError, "float array"),
        (lambda: Box((F(1),), (F(0),), (1,)), UserError, "lower bound 1 exceeds the upper bound 0"),
        (lambda: Box((F(0),), (F(1), F(2)), (2,)), ShapeError, "needs 2 bounds"),
        (lambda: Box((F(0),) * 4, (F(1),) * 4, (2, 2)).contains(np.zeros((4, 1))), ShapeError, r"\(4, 1\)"),
        (lambda: Box((F(0),), (F(1),), (1,)).contains([0, 1]), ShapeError, "2 coordinates"),
    ],
)
def test_box_errors(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_reshape_keeps_bounds() -> None:
    box = Box((F(0),) * 6, (F(1),) * 6, (6,)).reshape((1, 2, 3))
    assert box.shape == (1, 2, 3) and box.contains(np.full((1, 2, 3), 0.5))
    with pytest.raises(ShapeError):
        box.reshape((4,))


# --- properties ---------------------------------------------------------------------------------


def test_robustness_semantics_by_hand() -> None:
    prop = Property.robustness(1, 3)
    assert [str(c) for term in prop.unsafe.parts for c in term.parts] == ["-Y_0 + Y_1 <= 0", "Y_1 - Y_2 <= 0"]
    assert prop.holds_exactly([F(0), F(1), F(0)])
    assert not prop.holds_exactly([F(1), F(1), F(0)])  # a tie is a counterexample
    assert not prop.holds_exactly([F(0), F(0), F(1)])
    assert prop.holds_exactly(np.array([[-1.0, 2.5, 2.25]], dtype=np.float32))
    assert [str(c) for clause in prop.safe.parts for c in clause.parts] == ["Y_0 - Y_1 < 0", "-Y_1 + Y_2 < 0"]


def test_robustness_is_decided_exactly() -> None:
    prop = Property.robustness(0, 2)
    assert not prop.holds_exactly([F(1, 10), 0.1])  # the double 0.1 is slightly above 1/10
    assert prop.holds_exactly([F(7, 10), np.float32(0.7)])  # the float32 0.7 is slightly below 7/10


@pytest.mark.parametrize(("label", "classes"), [(3, 3), (-1, 3), (0, 1)])
def test_robustness_rejects_bad_labels(label: int, classes: int) -> None:
    with pytest.raises(UserError, match="robustness needs"):
        Property.robustness(label, classes)


def test_property_checks_dnf_shape_and_width() -> None:
    c = LinearConstraint((F(1), F(0)), F(0))
    with pytest.raises(ShapeError, match="2 coefficients"):
        Property(Disjunction((Conjunction((c,)),)), 3)
    with pytest.raises(TypeError, match="DNF"):
        Property(Disjunction((c,)), 2)
    with pytest.raises(ShapeError, match="expected 2"):
        Property(Disjunction((Conjunction((c,)),)), 2).holds_exactly([F(0)])


@st.composite
def dnfs_and_outputs(draw: st.DrawFn) -> tuple[Property, list[Fraction]]:
    n = draw(st.integers(1, 4))
    small = st.fractions(min_value=-3, max_value=3, max_denominator=4)

    def constraint() -> LinearConstraint:
        return LinearConstraint(tuple(draw(small) for _ in range(n)), draw(small), draw(st.booleans()))

    terms = tuple(Conjunction(tuple(constraint() for _ in range(draw(st.integers(0, 3))))) for _ in range(draw(st.integers(0, 3))))
    return Property(Disjunction(terms), n), [draw(small) for _ in range(n)]


@settings(max_examples=300, deadline=None)
@given(dnfs_and_outputs())
def test_safe_set_is_the_complement_of_the_unsafe_dnf(case: tuple[Property, list[Fraction]]) -> None:
    prop, y = case
    unsafe = any(all(sum(c * v for c, v in zip(k.coeffs, y)) < k.bound if k.strict
                     else sum(c * v for c, v in zip(k.coeffs, y)) <= k.bound for k in term.parts)
                 for term in prop.unsafe.parts)
    assert prop.unsafe.holds(y) == unsafe
    assert prop.holds_exactly(y) == (not unsafe)
    assert prop.safe.negated() == prop.unsafe


# --- VNN-LIB: the shared benchmarks --------------------------------------------------------------

EXPECTED_SIZES = {"acasxu": (5, 5), "mnistfc": (784, 10)}


@cache
def _load(path: Path) -> VnnlibSpec:
    """Each shared file is parsed once per session (30 of them have 784 inputs)."""
    return load_vnnlib(path)
EXPECTED_TEST_SIZES = {"test_nano": 1, "test_tiny": 1, "test_small": 1, "test_prop": 5}


@needs_shared
@pytest.mark.parametrize("path", SHARED_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shared_vnnlib_parses(path: Path) -> None:
    spec = _load(path)
    if path.parent.name == "test":
        assert spec.num_inputs == spec.num_outputs == EXPECTED_TEST_SIZES[path.stem]
    else:
        assert (spec.num_inputs, spec.num_outputs) == EXPECTED_SIZES[path.parent.name]
    assert len(spec.input_boxes) == (2 if path.name == "prop_6.vnnlib" else 1)
    assert all(box.shape == (spec.num_inputs,) for box in spec.input_boxes)
    assert spec.unsafe.parts and spec.source == str(path)


def test_shared_file_list_is_complete() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"shared benchmarks not found at {SHARED}")
    assert len(SHARED_FILES) == 44


@needs_shared
def test_acasxu_prop_1_by_hand() -> None:
    spec = load_vnnlib(SHARED / "acasxu" / "prop_1.vnnlib")
    (box,) = spec.input_boxes
    assert box.lower == tuple(map(F, ["0.6", "-0.5", "-0.5", "0.45", "-0.5"]))
    assert box.upper == tuple(map(F, ["0.679857769", "0.5", "0.5", "0.5", "-0.45"]))
    (term,) = spec.unsafe.parts
    assert term == Conjunction((LinearConstraint((F(-1), F(0), F(0), F(0), F(0)), -F("3.991125645861615")),))
    prop = spec.output_property
    assert not prop.holds_exactly([F("3.991125645861615"), 0, 0, 0, 0])  # COC >= bound is unsafe, boundary included
    assert prop.holds_exactly([F("3.991125645861615") - F(1, 10**30), 0, 0, 0, 0])


@needs_shared
def test_test_prop_by_hand() -> None:
    spec = load_vnnlib(SHARED / "test" / "test_prop.vnnlib")
    (box,) = spec.input_boxes
    assert box.lower[0] == F("-0.30353115613746867") and box.upper[2] == F("0.49999999998567607")
    (term,) = spec.unsafe.parts  # unsafe iff COC (Y_0) is minimal: Y_0 <= Y_j for every j
    assert [c.coeffs for c in term.parts] == [tuple(F((k == 0) - (k == j)) for k in range(5)) for j in range(1, 5)]
    assert all(c.bound == 0 and not c.strict for c in term.parts)


@needs_shared
def test_acasxu_prop_6_is_a_union_of_two_boxes() -> None:
    spec = load_vnnlib(SHARED / "acasxu" / "prop_6.vnnlib")
    first, second = spec.input_boxes
    assert (first.lower[1], first.upper[1]) == (F("0.11140846"), F("0.499999896"))
    assert (second.lower[1], second.upper[1]) == (F("-0.499999896"), F("-0.11140846"))
    assert first.lower[0] == second.lower[0] == F("-0.129289109")
    assert [str(t.parts[0]) for t in spec.unsafe.parts] == [f"-Y_0 + Y_{j} <= 0" for j in range(1, 5)]


@needs_shared
@pytest.mark.parametrize("path", sorted((SHARED / "mnistfc").glob("*.vnnlib")), ids=lambda p: p.name)
def test_mnistfc_is_robustness_on_a_clipped_ball(path: Path) -> None:
    spec = _load(path)
    label = int(re.search(r"label: (\d+)", path.read_text()).group(1))
    assert spec.unsafe == Property.robustness(label, 10).unsafe
    eps = F(path.stem.split("_")[-1])
    (box,) = spec.input_boxes
    slack = F(1, 2**20)  # the files' bounds are float32 computations: x - eps, x + eps rounded
    assert all(0 <= lo and hi <= 1 and hi - lo <= 2 * eps + slack for lo, hi in zip(box.lower, box.upper))
    assert max(hi - lo for lo, hi in zip(box.lower, box.upper)) > 2 * eps - slack


# --- VNN-LIB: fixtures and constructions ---------------------------------------------------------


def test_fixture_nano() -> None:
    spec = load_vnnlib(FIXTURES / "test_nano.vnnlib")
    assert spec.input_boxes == (Box((F(-1),), (F(1),), (1,)),)
    assert spec.unsafe == Disjunction((Conjunction((LinearConstraint((F(1),), F(-1)),)),))


def test_fixture_tiny_with_inputs_and_outputs_in_one_or() -> None:
    spec = load_vnnlib(FIXTURES / "test_tiny.vnnlib")
    assert spec.input_boxes == (Box((F(-1),), (F(1),), (1,)),)
    assert [str(c) for c in spec.unsafe.parts[0].parts] == ["-Y_0 <= -100"]
    assert spec.output_property.holds_exactly([F(99)]) and not spec.output_property.holds_exactly([F(100)])


HEADER = "(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n(declare-const Y_2 Real)\n"
BOX = "(assert (<= X_0 1))\n(assert (>= X_0 0))\n(assert (<= X_1 1))\n(assert (>= X_1 0))\n"
BOX_AND = "(and (<= X_0 1) (>= X_0 0) (<= X_1 1) (>= X_1 0))"


def test_linear_terms_and_constants_on_either_side() -> None:
    spec = parse_vnnlib(HEADER + BOX + "(assert (<= (+ Y_0 (* 2 Y_1) (- Y_1)) (- 3 Y_2 (* 0.5 Y_0 2))))")
    assert str(spec.unsafe.parts[0].parts[0]) == "2*Y_0 + Y_1 + Y_2 <= 3"
    spec = parse_vnnlib(HEADER + "(assert (>= 1 (* 2 X_0)))(assert (<= (- X_0) 0.25))(assert (and (>= X_1 0) (<= X_1 0)))"
                        "(assert (>= 1.5 Y_2))")
    assert spec.input_boxes == (Box((F(-1, 4), F(0)), (F(1, 2), F(0)), (2,)),)
    assert str(spec.unsafe.parts[0].parts[0]) == "Y_2 <= 3/2"


def test_tightest_bound_wins_and_no_output_constraint_means_always_unsafe() -> None:
    spec = parse_vnnlib(HEADER + BOX + "(assert (<= X_0 0.5))(assert (>= X_1 -7))")
    assert spec.input_boxes[0].upper[0] == F(1, 2) and spec.input_boxes[0].lower[1] == 0
    assert spec.unsafe == Disjunction((Conjunction(()),))


def test_disjunctions_multiply_out_and_equal_boxes_merge() -> None:
    other_box = "(and (<= X_0 3) (>= X_0 2) (<= X_1 1) (>= X_1 0))"
    same_box = "(and (>= X_0 0) (<= X_0 1.0) (<= X_1 1) (>= X_1 0))"
    text = HEADER + f"(assert (or {BOX_AND} {other_box} {same_box}))(assert (or (>= Y_0 Y_1) (and (>= Y_0 Y_2) (<= Y_0 5))))"
    spec = parse_vnnlib(text)
    assert [b.lower[0] for b in spec.input_boxes] == [F(0), F(2)]
    assert [[str(c) for c in t.parts] for t in spec.unsafe.parts] == [["-Y_0 + Y_1 <= 0"], ["-Y_0 + Y_2 <= 0", "Y_0 <= 5"]]


D1 = "(declare-const X_0 Real)\n(declare-const Y_0 Real)\n"


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (D1 + "(assert (<= X_0 1)", "3:19", "unexpected end of file; expected `(` or `)`"),
        (D1 + "(assert (< X_0 1))", "3:10", "unexpected character '<'"),
        (D1 + "(assert (<= X_0 1))) ", "3:20", "unexpected `)`"),
        (D1 + "(assert (<= X_0 0x1))", "3:18", "unexpected `x1`; expected `)`"),
        ("(check-sat)", "1:2", "expected `assert` or `declare-const`"),
        (D1 + "\n  (assert (<= X_1 1))", "4:15", "undeclared variable X_1: `X_1`"),
        (D1 + "(declare-const Z_0 Real)", "3:16", "inputs X_<i> and outputs Y_<j>"),
        ("(declare-const X_01 Real)", "1:16", "no leading zeros"),
        ("(declare-const X_0 Int)", "1:20", "must be declared Real: `Int`"),
        (D1 + "(declare-const Y_0 Real)", "3:16", "Y_0 is declared twice (first at 2:16)"),
        (D1 + "(assert (<= X_0 1))", "1:16", "input X_0 has no lower bound: `X_0`"),
        (D1 + "(declare-const X_1 Real)(assert (<= X_0 1))(assert (>= X_0 0))", "3:16", "input X_1 has no lower bound"),
        (D1 + "(assert (or (and (<= X_0 1) (>= X_0 0)) (<= X_0 2)))", "1:16", "no lower bound in some branch of an `or`"),
        ("(declare-const X_0 Real)(declare-const X_2 Real)(declare-const Y_0 Real)", "1:40", "X_1 is not declared: `X_2`"),
        ("(declare-const X_0 Real)(assert (<= X_0 1))", "1:1", "declares no outputs"),
        ("; nothing\n", "1:1", "declares no inputs"),
        (D1 + "(assert (<= X_0 1))\n(assert (>= X_0 0))\n(assert (<= (* Y_0 2 Y_0) 1))", "5:13",
         "nonlinear term: a product may have at most one non-constant factor: `(* Y_0 2 Y_0)`"),
        (D1 + "(assert (<= X_0 Y_0))", "3:9", "not both: `(<= X_0 Y_0)`"),
        (D1 + "(declare-const X_1 Real)(assert (<= (+ X_0 X_1) 1))", "3:33", "a single X by a constant"),
        (D1 + "(assert (>= (- X_0 X_0) 1))", "3:9", "involves no variable"),
        (D1 + "(assert (<= X_0 0))\n  (assert (>= X_0 1))", "3:9", "contradicts X_0 >= 1 (line 4): the input region is empty"),
        (D1 + "(assert (or (and (<= X_0 1) (>= X_0 0) (<= Y_0 0)) (and (<= X_0 3) (>= X_0 2) (<= Y_0 5))))",
         "3:1", "output constraints differ between input regions"),
    ],
)
def test_malformed_vnnlib_names_the_place(text: str, where: str, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_vnnlib(text, "bad.vnnlib")
    assert str(info.value).startswith(f"bad.vnnlib:{where}: "), str(info.value)
    assert message in str(info.value)


def test_dnf_size_is_bounded() -> None:
    size = next(k for k in range(64) if 2**k > MAX_TERMS)
    text = D1 + "(assert (<= X_0 1))(assert (>= X_0 0))" + "(assert (or (<= Y_0 0) (>= Y_0 1)))" * size
    with pytest.raises(ParseError, match=f"would have {2**size} terms"):
        parse_vnnlib(text)


def test_long_offending_text_is_cut() -> None:
    factors = " ".join(["Y_0"] * 40)
    with pytest.raises(ParseError, match=r"factor: `\(\* Y_0 Y_0 Y_0 [Y_0 ]* \.\.\.`\n"):
        parse_vnnlib(D1 + f"(assert (<= (* {factors}) 1))")


def test_errors_underline_the_place_as_the_model_dsl_does() -> None:
    """VNN-LIB and .p2l mistakes read alike: `file:line:col: msg`, the line, a caret under the place."""
    with pytest.raises(ParseError) as info:
        parse_vnnlib(D1 + "(assert (<= Y_7 1))")
    first, shown, caret = str(info.value).split("\n")
    line, column = (int(v) for v in first.split(":")[1:3])
    assert shown == f"{line:>4} | (assert (<= Y_7 1))"
    assert caret.index("^") - caret.index("|") - 2 == column - 1
    assert caret.strip("| ").startswith("^^^") and shown[shown.index("|") + 2:][column - 1:].startswith("Y_7")


def test_unreadable_file_is_a_parse_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="cannot read VNN-LIB file"):
        load_vnnlib(tmp_path / "missing.vnnlib")
    bad = tmp_path / "latin1.vnnlib"
    bad.write_bytes(b"; caf\xe9\n")
    with pytest.raises(ParseError, match="latin1.vnnlib: cannot read"):
        load_vnnlib(bad)


FINITE = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(FINITE, FINITE), min_size=1, max_size=12))
def test_a_box_of_floats_is_the_box_of_their_exact_values(pairs: list[tuple[float, float]]) -> None:
    """`Box.of_floats` skips the constructor's per-element checks: it must give the same box, and
    refuse exactly the float pairs the constructor refuses, with the same message."""
    lo, hi = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    try:
        made = Box(tuple(map(Fraction, lo.tolist())), tuple(map(Fraction, hi.tolist())), (len(pairs),))
    except UserError as e:
        with pytest.raises(UserError, match=re.escape(str(e))):
            Box.of_floats(lo, hi, (len(pairs),))
    else:
        fast = Box.of_floats(lo, hi, (len(pairs),))
        assert fast == made and hash(fast) == hash(made) and all(type(q) is Fraction for q in fast.lower + fast.upper)


def test_a_box_of_floats_refuses_what_has_no_exact_value() -> None:
    with pytest.raises(ValueError, match="finite"):
        Box.of_floats(np.array([0.0, np.inf]), np.array([1.0, np.inf]), (2,))
    with pytest.raises(ShapeError, match="needs 3 bounds"):
        Box.of_floats(np.zeros(2), np.ones(2), (3,))
