"""Interval bound propagation: every op's interval rule is sound and tight, float and exact.

Soundness is tested by sampling: random points in random boxes (all box corners for small
dimensions) evaluated by `runtime.execute` (float32) must lie in the float IBP bounds up to
float32 tolerance, and exact rational points evaluated by `runtime.evaluate_exact` must lie in the
exact rule's bounds with no tolerance at all. A rule that returned huge bounds would pass that, so
tightness is tested too: on one op, IBP is exact per element (each output element is monotone or
multilinear in distinct input coordinates), so the exact bounds must equal the min and max over
the box corners, exactly. The float pass must contain the exact rule's result, and certificates of
small graphs must contain every sampled node value, float and exact.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytorch2lean.bounds import GRID, Grid, certify, float_bounds, verify, verify_ibp
from pytorch2lean.cert import check_certificate, loads
from pytorch2lean.cert.check import box_interval, exact_environment, node_interval
from pytorch2lean.errors import UserError
from pytorch2lean.ir import Graph, Input, Param, make_node, validate
from pytorch2lean.ops.base import Interval, Unbounded
from pytorch2lean.runtime import evaluate_exact, execute
from pytorch2lean.spec import Box, Disjunction, Property, load_vnnlib

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "vnncomp2021"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared benchmarks not found at {SHARED}")
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NO_EXACT_RULE = "node 'n' ({op}): {op} has no exact interval rule, so certificates through it are not supported yet"
ALL_CORNERS = 10  # enumerate every corner of boxes with at most this many coordinates
POINTS = 200  # random float points per box
EXACT_POINTS = 12  # random exact points per box (exact evaluation is slow)

Operand = tuple[int, ...] | np.ndarray  # a shape is an activation input, an array a parameter


# ---- building graphs and boxes -------------------------------------------------------------

def one_node(op: str, operands: Mapping[str, Operand], attrs: Mapping[str, Any] | None = None) -> Graph:
    """A validated one-node graph `n`: shapes become inputs, arrays bound parameters."""
    inputs = tuple(Input(k, v) for k, v in operands.items() if isinstance(v, tuple))
    params = tuple(Param.of_array(k, v) for k, v in operands.items() if isinstance(v, np.ndarray))
    return validate(Graph("g", inputs, params, (make_node("n", op, list(operands), attrs),), ("n",)))


def f32(r: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    return (r.standard_normal(shape) * scale).astype(np.float32)


def float_box(r: np.random.Generator, shape: tuple[int, ...],
              within: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """float32 (lo, hi) of a random box: normal centers, radii up to 1, about a fifth of them 0."""
    if within is None:
        center = r.standard_normal(shape)
        radius = r.uniform(0, 1, shape) * (r.uniform(size=shape) > 0.2)
        lo, hi = center - radius, center + radius
    else:
        a, b = np.sort(r.uniform(*within, (2,) + shape), axis=0)
        lo, hi = a, b
    lo32, hi32 = lo.astype(np.float32), hi.astype(np.float32)
    return np.minimum(lo32, hi32), np.maximum(lo32, hi32)


def exact_box(lo: np.ndarray, hi: np.ndarray) -> Box:
    return Box(tuple(Fraction(float(v)) for v in lo.flat), tuple(Fraction(float(v)) for v in hi.flat), lo.shape)


def float_points(r: np.random.Generator, lo: np.ndarray, hi: np.ndarray, n: int) -> np.ndarray:
    """n float32 points in the box (clipped after rounding, so they stay inside)."""
    u = r.uniform(size=(n,) + lo.shape)
    return np.clip((lo + u * (hi.astype(np.float64) - lo)).astype(np.float32), lo, hi)


def all_corners(boxes: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> bool:
    """Whether `corner_points` enumerates every corner of the joint box."""
    return sum(lo.size for lo, _ in boxes.values()) <= ALL_CORNERS


def corner_points(boxes: Mapping[str, tuple[np.ndarray, np.ndarray]], r: np.random.Generator) -> dict[str, np.ndarray]:
    """Corners of the joint box over all inputs: every one when few coordinates, else 64 random ones."""
    names = list(boxes)
    dims = sum(boxes[k][0].size for k in names)
    if all_corners(boxes):
        picks = np.array(list(itertools.product((0, 1), repeat=dims)), dtype=bool).reshape(-1, dims)
    else:
        picks = r.integers(0, 2, (64, dims)).astype(bool)
    out, at = {}, 0
    for k in names:
        lo, hi = boxes[k]
        take = picks[:, at:at + lo.size].reshape((-1,) + lo.shape)
        out[k] = np.where(take, hi, lo)
        at += lo.size
    return out


def exact_points(r: np.random.Generator, box: Box, n: int) -> np.ndarray:
    """n exact rational points in the box, as an object array (n, *shape)."""
    steps = r.integers(0, 65, (n, len(box.lower)))
    pts = [[lo + (hi - lo) * Fraction(int(k), 64) for lo, hi, k in zip(box.lower, box.upper, row)] for row in steps]
    return np.array(pts, dtype=object).reshape((n,) + box.shape)


def as_fractions(a: Any) -> np.ndarray:
    return np.vectorize(lambda v: Fraction(float(v)), otypes=[object])(np.asarray(a, dtype=np.float64))


# ---- the op cases ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One op application: operands built from a generator; per-input box ranges; whether IBP is exact on it."""

    op: str
    operands: Callable[[np.random.Generator], dict[str, Operand]]
    attrs: Mapping[str, Any] = field(default_factory=dict)
    within: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    tight: bool = True  # bounds equal the extremes over the box corners


def acts(**shapes: tuple[int, ...]) -> Callable[[np.random.Generator], dict[str, Operand]]:
    return lambda r: dict(shapes)


POOL = {"kernel": (2, 2), "stride": (1, 1)}
CASES: dict[str, Case] = {c.op + ":" + name: c for name, c in [
    ("acts", Case("add", acts(a=(2, 3), b=(2, 3)))),
    ("param", Case("add", lambda r: {"a": (2, 3), "b": f32(r, (3,))})),
    ("acts", Case("sub", acts(a=(2, 3), b=(2, 3)))),
    ("param-first", Case("sub", lambda r: {"a": f32(r, (3,)), "b": (2, 3)})),
    ("acts", Case("mul", acts(a=(2, 2), b=(2, 2)))),
    ("param", Case("mul", lambda r: {"a": (2, 3), "b": f32(r, (3,))})),
    ("param", Case("div", lambda r: {"a": (2, 3), "b": np.where(f32(r, (3,)) < 0, -1, 1) * (0.5 + abs(f32(r, (3,))))})),
    ("positive", Case("div", acts(a=(2, 2), b=(2, 2)), within={"b": (0.25, 2.0)})),
    ("negative", Case("div", acts(a=(2, 2), b=(2, 2)), within={"b": (-2.0, -0.25)})),
    ("x", Case("neg", acts(x=(2, 3)))),
    ("x", Case("relu", acts(x=(2, 3)))),
    ("positive", Case("leaky_relu", acts(x=(2, 3)), {"alpha": 0.1})),
    ("negative", Case("leaky_relu", acts(x=(2, 3)), {"alpha": -0.5}, tight=False)),
    ("x", Case("sigmoid", acts(x=(2, 3)))),
    ("x", Case("tanh", acts(x=(2, 3)))),
    ("bias", Case("linear", lambda r: {"x": (2, 4), "w": f32(r, (3, 4)), "b": f32(r, (3,))})),
    ("nobias", Case("linear", lambda r: {"x": (1, 4), "w": f32(r, (5, 4))})),
    ("param-right", Case("matmul", lambda r: {"a": (2, 4), "b": f32(r, (4, 3))})),
    ("param-left", Case("matmul", lambda r: {"a": f32(r, (3, 2)), "b": (2, 4)})),
    ("vector", Case("matmul", lambda r: {"a": (4,), "b": f32(r, (4, 3))})),
    ("acts", Case("matmul", acts(a=(2, 2), b=(2, 3)))),
    ("acts-vector", Case("matmul", acts(a=(3,), b=(3, 2)))),
    ("bias", Case("conv2d", lambda r: {"x": (1, 1, 3, 3), "w": f32(r, (2, 1, 2, 2)), "b": f32(r, (2,))},
                  {"padding": (1, 0, 0, 1)})),
    ("wide", Case("conv2d", lambda r: {"x": (2, 4, 4), "w": f32(r, (3, 2, 2, 2))}, {"stride": (2, 1)})),
    ("pad", Case("maxpool2d", acts(x=(1, 3, 3)), {**POOL, "padding": (1, 1, 0, 0)})),
    ("x", Case("avgpool2d", acts(x=(1, 3, 3)), {**POOL, "padding": (0, 1, 1, 0), "count_include_pad": True})),
    ("x", Case("batchnorm", lambda r: {"x": (2, 2, 2), "s": np.float32([-1.5, 2.0]), "b": f32(r, (2,)),
                                        "m": f32(r, (2,)), "v": np.float32([0.5, 2.0])}, {"axis": 0})),
    ("x", Case("flatten", acts(x=(2, 2, 2)))),
    ("x", Case("reshape", acts(x=(2, 3)), {"shape": (3, 2)})),
    ("x", Case("transpose", acts(x=(2, 3)), {"perm": (1, 0)})),
    ("x", Case("slice", acts(x=(3, 3)), {"starts": (2,), "ends": (-5,), "axes": (0,), "steps": (-2,)})),
    ("constant", Case("pad", acts(x=(2, 2)), {"pads": (1, 0, 0, 1), "value": 0.5})),
    ("reflect", Case("pad", acts(x=(2, 3)), {"pads": (0, 1, 1, 2), "mode": "reflect"})),
    ("edge", Case("pad", acts(x=(2, 2)), {"pads": (1, 1, 1, 0), "mode": "edge"})),
    ("mixed", Case("concat", lambda r: {"a": (2, 2), "p": f32(r, (2, 1)), "b": (2, 1)}, {"axis": 1})),
    ("x", Case("softmax", acts(x=(2, 3)))),
    ("axis0", Case("softmax", acts(x=(3, 2)), {"axis": 0})),
    ("rows", Case("masked_softmax", lambda r: {"x": (3, 3), "m": np.float32([[1, 0, 0], [1, 1, 0], [0, 0, 0]])})),
    ("broadcast", Case("masked_softmax", lambda r: {"x": (2, 4), "m": (r.random(4) < 0.6).astype(np.float32)})),
    ("x", Case("layernorm", lambda r: {"x": (2, 4), "s": f32(r, (4,)), "b": f32(r, (4,))}, tight=False)),
    ("none", Case("gelu", acts(x=(2, 3)), tight=False)),
    ("tanh", Case("gelu", acts(x=(2, 3)), {"approximate": "tanh"}, tight=False)),
]}


def setup(case: Case, seed: int) -> tuple[Graph, dict[str, tuple[np.ndarray, np.ndarray]], np.random.Generator]:
    r = np.random.default_rng(seed)
    graph = one_node(case.op, case.operands(r), case.attrs)
    boxes = {i.name: float_box(r, i.shape, case.within.get(i.name)) for i in graph.inputs}
    return graph, boxes, r


def float_ibp(graph: Graph, boxes: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> Interval:
    return float_bounds(graph, {k: Interval(lo[None], hi[None]) for k, (lo, hi) in boxes.items()})["n"]


def assert_within(values: np.ndarray, iv: Interval, tol: float = 0.0) -> None:
    """Every value lies in the bounds (exactly when tol is 0; else up to tol relative and absolute)."""
    if tol:
        slack = tol * (1 + np.abs(values.astype(np.float64)))
        iv = Interval(iv.lo - slack, iv.hi + slack)
    below, above = values < iv.lo, values > iv.hi
    assert not below.any() and not above.any(), (values, iv)


def exact_interval(graph: Graph, boxes: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> Interval:
    env = exact_environment(graph, {k: exact_box(lo, hi) for k, (lo, hi) in boxes.items()})
    return node_interval(graph.nodes[0], env)


# ---- per-op soundness and tightness -----------------------------------------------------------

@pytest.mark.parametrize("name", sorted(CASES))
@SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_float_bounds_contain_sampled_points(name: str, seed: int) -> None:
    case = CASES[name]
    graph, boxes, r = setup(case, seed)
    iv = float_ibp(graph, boxes)
    corners = corner_points(boxes, r)
    for points in ({k: float_points(r, lo, hi, POINTS) for k, (lo, hi) in boxes.items()}, corners):
        assert_within(np.asarray(execute(graph, points)["n"]), iv, tol=1e-5)
    if case.tight and all_corners(boxes):
        y = np.asarray(execute(graph, corners)["n"], dtype=np.float64)
        np.testing.assert_allclose(y.min(axis=0), iv.lo[0], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(y.max(axis=0), iv.hi[0], rtol=1e-5, atol=1e-5)


FLOAT_ONLY = ("sigmoid", "tanh", "softmax", "masked_softmax", "batchnorm", "layernorm", "gelu")
EXACT_CASES = sorted(k for k, c in CASES.items() if c.op not in FLOAT_ONLY)


@pytest.mark.parametrize("name", EXACT_CASES)
@settings(SETTINGS, max_examples=8)
@given(seed=st.integers(0, 2**32 - 1))
def test_exact_rule_is_sound_tight_and_inside_float_bounds(name: str, seed: int) -> None:
    case = CASES[name]
    graph, boxes, r = setup(case, seed)
    exact = exact_interval(graph, boxes)
    ebox = {k: exact_box(lo, hi) for k, (lo, hi) in boxes.items()}
    pts = {k: exact_points(r, b, EXACT_POINTS) for k, b in ebox.items()}
    assert_within(evaluate_exact(graph, pts)["n"], exact)
    corners = {k: as_fractions(v) for k, v in corner_points(boxes, r).items()}
    y = evaluate_exact(graph, corners)["n"]
    assert_within(y, exact)
    if case.tight and all_corners(boxes):
        assert (y.min(axis=0) == exact.lo[0]).all() and (y.max(axis=0) == exact.hi[0]).all()
    fl = float_ibp(graph, boxes)
    assert (as_fractions(fl.lo) <= exact.lo).all() and (exact.hi <= as_fractions(fl.hi)).all()


def test_every_op_has_an_interval_rule_and_a_case() -> None:
    """Ops over token ids take no float box: their cases are in tests/test_ops_embedding.py."""
    from pytorch2lean import ops
    from tests.test_ops_embedding import INTEGER_OPS

    assert all(spec.interval is not None for spec in ops.REGISTRY.values())
    assert {c.op for c in CASES.values()} | INTEGER_OPS == set(ops.REGISTRY)


def test_leaky_relu_with_negative_slope_bottoms_out_at_the_kink() -> None:
    g = one_node("leaky_relu", {"x": (2,)}, {"alpha": -0.5})
    iv = exact_interval(g, {"x": (np.float32([-2, 1]), np.float32([1, 3]))})
    assert list(iv.lo[0]) == [0, 1] and list(iv.hi[0]) == [1, 3]


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize(("lo", "hi"), [(-3.0, 1.0), (-0.75, -0.75), (-5.0, -0.9), (-0.7, 2.0), (-0.8, -0.7)])
def test_gelu_bounds_around_its_minimum(approximate: str, lo: float, hi: float) -> None:
    """A dense grid evaluated in float64 stays inside; the lower bound is within 1e-3 of the true minimum."""
    g = one_node("gelu", {"x": (1,)}, {"approximate": approximate})
    iv = float_ibp(g, {"x": (np.float32([lo]), np.float32([hi]))})
    xs = np.linspace(lo, hi, 20001)
    if approximate == "none":
        ys = xs * np.array([0.5 * math.erfc(-x / math.sqrt(2)) for x in xs])
    else:
        ys = 0.5 * xs * (1 + np.tanh(math.sqrt(2 / math.pi) * (xs + 0.044715 * xs**3)))
    assert iv.lo[0, 0] <= ys.min() and ys.max() <= iv.hi[0, 0]
    assert ys.min() - iv.lo[0, 0] < 1e-3 and iv.hi[0, 0] - ys.max() < 1e-6


def test_softmax_bounds_survive_huge_logits() -> None:
    g = one_node("softmax", {"x": (3,)})
    lo, hi = np.float32([-1000, 900, 0]), np.float32([1000, 1000, 0])
    iv = float_ibp(g, {"x": (lo, hi)})
    assert np.isfinite(iv.lo).all() and np.isfinite(iv.hi).all()
    assert (iv.lo >= 0).all() and (iv.hi <= 1 + 2**-20).all() and iv.hi[0, 2] > 0
    pts = float_points(np.random.default_rng(0), lo, hi, 500)
    assert_within(np.asarray(execute(g, {"x": pts})["n"]), iv, tol=1e-6)


def test_layernorm_bounds_are_finite_and_bounded_by_the_deviation_cap() -> None:
    """|x_i - mean| / sqrt(var + eps) <= sqrt(N - 1): with scale 1, bias 0 no bound exceeds sqrt(3)."""
    g = one_node("layernorm", {"x": (4,), "s": np.ones(4, np.float32)})
    iv = float_ibp(g, {"x": (np.float32([-100] * 4), np.float32([100] * 4))})
    assert (iv.hi <= math.sqrt(3) * (1 + 1e-6)).all() and (iv.lo >= -math.sqrt(3) * (1 + 1e-6)).all()


def test_division_by_an_interval_around_zero_has_no_bound() -> None:
    g = one_node("div", {"a": (2,), "b": (2,)})
    boxes = {"a": (np.float32([1, 1]), np.float32([2, 2])), "b": (np.float32([1, -1]), np.float32([2, 1]))}
    with pytest.raises(Unbounded, match="node 'n' .div.: the divisor's interval contains 0"):
        float_ibp(g, boxes)


def test_a_batch_of_boxes_at_once_matches_one_at_a_time() -> None:
    case = CASES["linear:bias"]
    graph, _, r = setup(case, 5)
    boxes = [float_box(r, (2, 4)) for _ in range(3)]
    stacked = Interval(np.stack([b[0] for b in boxes]), np.stack([b[1] for b in boxes]))
    batched = float_bounds(graph, {"x": stacked})["n"]
    for k, b in enumerate(boxes):
        single = float_ibp(graph, {"x": b})
        assert (batched.lo[k] == single.lo[0]).all() and (batched.hi[k] == single.hi[0]).all()


# ---- the grid of short dyadics -----------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(v=st.floats(-1e30, 1e30), bits=st.integers(1, 52), min_exponent=st.integers(-200, 0))
def test_grid_rounds_outward_to_short_dyadics_in_float_and_exactly(v: float, bits: int, min_exponent: int) -> None:
    grid = Grid(bits, min_exponent)
    iv = grid.outward(np, Interval(np.float64([v]), np.float64([v])))
    lo, hi = Fraction(float(iv.lo[0])), Fraction(float(iv.hi[0]))
    q = Fraction(v)
    assert lo <= q <= hi and (lo, hi) == (grid.down(q), grid.up(q))
    for end in (lo, hi):
        assert grid.down(end) == end == grid.up(end)  # grid points stay
        if end:
            m, e = odd_form(end)
            assert abs(m) <= 2**bits and e >= min_exponent
    assert hi - lo <= max(abs(q) * Fraction(2) ** (1 - bits), Fraction(2) ** min_exponent)


def odd_form(q: Fraction) -> tuple[int, int]:
    """(m, e) with q = m * 2**e and m odd; q must be a nonzero dyadic."""
    assert q.denominator & (q.denominator - 1) == 0
    m, e = q.numerator, 1 - q.denominator.bit_length()
    while m % 2 == 0:
        m, e = m // 2, e + 1
    return m, e


def test_grid_rejects_impossible_sizes() -> None:
    with pytest.raises(ValueError, match="bits"):
        Grid(bits=60)
    with pytest.raises(ValueError, match="min_exponent"):
        Grid(min_exponent=5)


# ---- graphs of several ops: float points, exact points and certificates -------------------------

@st.composite
def mlp_graphs(draw: st.DrawFn) -> Graph:
    """Random validated MLPs mixing linear, matmul (weight on either side), residual add, sub, relu,
    leaky_relu, neg, flatten and reshape; every node is an output, so every node can be sampled."""
    r = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    width = draw(st.integers(1, 4))
    params, nodes, cur = [], [], "x"
    widths = {"x": width}

    def node(node_id: str, op: str, inputs: list[str], attrs: Mapping[str, Any] | None = None) -> str:
        nodes.append(make_node(node_id, op, inputs, attrs))
        return node_id

    def param(name: str, value: np.ndarray) -> str:
        params.append(Param.of_array(name, value))
        return name

    for k in range(draw(st.integers(1, 4))):
        out = draw(st.integers(1, 5))
        kind = draw(st.sampled_from(["linear", "matmul", "matmul-left"]))
        if kind == "linear":
            cur = node(f"l{k}", "linear", [cur, param(f"w{k}", f32(r, (out, width))), param(f"b{k}", f32(r, (out,)))])
        elif kind == "matmul":
            cur = node(f"l{k}", "matmul", [cur, param(f"w{k}", f32(r, (width, out)))])
        else:
            column = node(f"t{k}", "reshape", [cur], {"shape": (width, 1)})
            product = node(f"m{k}", "matmul", [param(f"w{k}", f32(r, (out, width))), column])
            cur = node(f"l{k}", "flatten", [product], {"axis": 0})
        width = widths[cur] = out
        same = [n for n, w in widths.items() if w == out and n != cur]
        if same and draw(st.booleans()):
            cur = node(f"j{k}", "add", [cur, draw(st.sampled_from(same))])
        act = draw(st.sampled_from(["relu", "leaky_relu", "neg", "sub", "none"]))
        if act == "sub":
            cur = node(f"a{k}", "sub", [cur, param(f"c{k}", f32(r, (out,)))])
        elif act != "none":
            cur = node(f"a{k}", act, [cur], {"alpha": -0.25} if act == "leaky_relu" else {})
        widths[cur] = out
    inputs = (Input("x", (1, widths["x"])),)
    return validate(Graph("mlp", inputs, tuple(params), tuple(nodes), tuple(n.id for n in nodes)))


@pytest.mark.parametrize("method", ["ibp", "crown"])
@settings(max_examples=30, deadline=None)
@given(graph=mlp_graphs(), seed=st.integers(0, 2**32 - 1))
def test_certificate_bounds_contain_every_sampled_node_value(method: str, graph: Graph, seed: int) -> None:
    r = np.random.default_rng(seed)
    lo, hi = float_box(r, graph.inputs[0].shape)
    box = exact_box(lo, hi)
    verdict, text, _ = verify(graph, box, method=method)
    assert verdict == "holds" and check_certificate(graph, text).ok
    stated = dict(loads(text).bounds)
    floats = {"x": np.concatenate([float_points(r, lo, hi, POINTS), corner_points({"x": (lo, hi)}, r)["x"]])}
    got_f = execute(graph, floats)
    got_e = evaluate_exact(graph, {"x": exact_points(r, box, EXACT_POINTS)})
    for n in graph.nodes:
        iv = box_interval(stated[n.id])
        assert_within(got_e[n.id], iv)
        assert_within(np.asarray(got_f[n.id]), iv.map(lambda v: v.astype(np.float64)), tol=1e-5)


def test_verify_reports_why_a_graph_with_gelu_gets_no_certificate() -> None:
    g = one_node("gelu", {"x": (2,)})
    verdict, cert, reason = verify_ibp(g, Box((Fraction(0),) * 2, (Fraction(1),) * 2, (2,)))
    assert (verdict, cert) == ("unknown", None)
    assert reason == NO_EXACT_RULE.format(op="gelu")


def test_verify_reports_an_unbounded_division() -> None:
    g = one_node("div", {"a": (2,), "b": np.float32([1, 0])})
    verdict, cert, reason = verify_ibp(g, Box((Fraction(0),) * 2, (Fraction(1),) * 2, (2,)))
    assert (verdict, cert) == ("unknown", None) and "node 'n' (div): the divisor's interval contains 0" in reason


def test_certificates_are_deterministic_and_short() -> None:
    g, boxes, _ = setup(CASES["linear:bias"], 1)
    box = exact_box(*boxes["x"])
    first, second = verify_ibp(g, box).certificate, verify_ibp(g, box).certificate
    assert first == second
    for b in dict(loads(first).bounds).values():
        for q in b.lower + b.upper:
            assert q == 0 or abs(odd_form(q)[0]) <= 2**GRID.bits


# ---- shared benchmark nets ------------------------------------------------------------------

def shared(path: str) -> Path:
    p = SHARED / path
    if not p.is_file():
        pytest.skip(f"{p} is absent (no shared benchmarks)")
    return p


def load_net(path: str) -> Graph:
    from pytorch2lean.frontends.onnx_import import load_onnx

    return load_onnx(shared(path))


@needs_shared
@pytest.mark.parametrize(("net", "spec", "verdict"), [
    ("test/test_tiny.onnx", "test/test_tiny.vnnlib", "holds"),
    ("test/test_small.onnx", "test/test_small.vnnlib", "holds"),
    ("test/test_nano.onnx", "test/test_nano.vnnlib", "holds"),
    ("test/test_unsat.onnx", "test/test_prop.vnnlib", "unknown"),  # IBP alone is too loose on ACAS Xu prop 3
])
def test_vnnlib_properties_of_the_test_nets(net: str, spec: str, verdict: str) -> None:
    g, s = load_net(net), load_vnnlib(shared(spec))
    for box in s.input_boxes:
        got, text, reason = verify_ibp(g, box, s.output_property)
        assert got == verdict, reason
        assert check_certificate(g, text, box=box).ok  # the stated bounds hold either way
        result = check_certificate(g, text, box=box, prop=s.output_property)
        assert result.ok == (verdict == "holds"), result.reason  # an "unknown" certificate proves no property


@needs_shared
@pytest.mark.parametrize("net", ["test/test_tiny.onnx", "test/test_small.onnx", "test/test_sat.onnx",
                                 "acasxu/ACASXU_run2a_1_1_batch_2000.onnx", "acasxu/ACASXU_run2a_5_9_batch_2000.onnx"])
def test_output_bounds_on_a_small_box_are_certified_and_contain_samples(net: str) -> None:
    g = load_net(net)
    shape = g.inputs[0].shape
    r = np.random.default_rng(0)
    center = r.uniform(-0.3, 0.3, shape).astype(np.float32)
    box = Box.linf_ball(center, "1/64")
    verdict, text, _ = verify_ibp(g, box)
    assert verdict == "holds" and check_certificate(g, text, box=box).ok
    cert = loads(text)
    out = cert.claim
    assert isinstance(out, Box) and out == dict(cert.bounds)[g.outputs[0]]
    lo, hi = box.to_float_arrays()
    y = np.asarray(execute(g, {g.inputs[0].name: float_points(r, lo, hi, 1000)})[g.outputs[0]])
    exact_y = evaluate_exact(g, {g.inputs[0].name: exact_points(r, box, 5)})[g.outputs[0]]
    iv = box_interval(out)
    assert_within(exact_y, iv)
    assert_within(y, iv.map(lambda v: v.astype(np.float64)), tol=1e-5)


@needs_shared
def test_mnist_robustness_certificate_for_a_tiny_ball() -> None:
    """On the MNIST 256x2 net, a ball of radius 1/1000 around an image is proven robust, and checked."""
    g = load_net("mnistfc/mnist-net_256x2.onnx")
    s = load_vnnlib(shared("mnistfc/prop_0_0.03.vnnlib"))
    lo, hi = s.input_boxes[0].to_float_arrays()
    center = ((lo.astype(np.float64) + hi) / 2).astype(np.float32)
    label = int(np.argmax(np.asarray(execute(g, {"0": center.reshape((1,) + g.inputs[0].shape)})["12"])))
    box = Box.linf_ball(center, "1/1000")
    prop = Property.robustness(label, 10)
    verdict, text, reason = verify_ibp(g, box, prop)
    assert verdict == "holds", reason
    assert check_certificate(g, text, box=box, prop=prop).ok


# ---- repair of float proposals, and the user's mistakes ------------------------------------

@pytest.mark.parametrize("name", ["linear:bias", "conv2d:wide", "matmul:acts", "avgpool2d:x"])
def test_exact_pass_states_the_grid_hull_of_the_exact_rule_inside_the_float_pass(name: str) -> None:
    """certify states exactly the tightest grid interval around the exact rule's result; the float
    pass (exact=False) gives a certificate at least as loose that the checker also accepts."""
    graph, boxes, _ = setup(CASES[name], 2)
    ebox = {k: exact_box(lo, hi) for k, (lo, hi) in boxes.items()}
    stated = certify(graph, ebox)["n"]
    exact = exact_interval(graph, boxes)
    assert stated.lower == tuple(GRID.down(q) for q in exact.lo.flat)
    assert stated.upper == tuple(GRID.up(q) for q in exact.hi.flat)
    fast = verify_ibp(graph, ebox, exact=False)
    assert fast.verdict == "holds" and check_certificate(graph, fast.certificate).ok
    loose = dict(loads(fast.certificate).bounds)["n"]
    assert all(a <= b for a, b in zip(loose.lower, stated.lower))
    assert all(a >= b for a, b in zip(loose.upper, stated.upper))


def test_verify_names_the_users_mistakes() -> None:
    g, box = one_node("relu", {"x": (1, 2)}), Box((Fraction(0),) * 2, (Fraction(1),) * 2, (2,))
    with pytest.raises(UserError, match=r"input 'x': box has 3 coordinates, shape \[1, 2\] has 2"):
        verify_ibp(g, Box((Fraction(0),) * 3, (Fraction(1),) * 3, (3,)))
    with pytest.raises(UserError, match=r"boxes are given for \['y'\], the model's inputs are \['x'\]"):
        verify_ibp(g, {"y": box})
    with pytest.raises(UserError, match=r"'z' is not an output of the model \(n\)"):
        verify_ibp(g, box, output="z")
    with pytest.raises(UserError, match=r"property 'p' speaks of 3 outputs, the output has 2"):
        verify_ibp(g, box, Property(Disjunction(()), 3, "p"))
    with pytest.raises(UserError, match=r"the output box has 1 coordinates, output shape \[1, 2\] has 2"):
        verify_ibp(g, box, Box((Fraction(0),), (Fraction(1),), (1,)))
    two = one_node("add", {"a": (1,), "b": (1,)})
    with pytest.raises(UserError, match="the model has inputs a, b: give one box per input, by name"):
        verify_ibp(two, Box((Fraction(0),), (Fraction(1),), (1,)))


def test_an_output_box_claim_is_proven_or_refused_exactly() -> None:
    g = one_node("relu", {"x": (2,)})
    box = Box((Fraction(-1), Fraction(1, 3)), (Fraction(2), Fraction(1, 2)), (2,))
    verdict, text, _ = verify_ibp(g, box, Box((Fraction(0),) * 2, (Fraction(2),) * 2, (2,)))
    assert verdict == "holds" and check_certificate(g, text).ok
    verdict, _, reason = verify_ibp(g, box, Box((Fraction(0),) * 2, (Fraction(2), Fraction(1, 3)), (2,)))
    low = GRID.down(Fraction(1, 3))  # 1/3 is no dyadic: its bound is the grid point below
    assert verdict == "unknown" and reason == f"output index 1: bounds [{low}, 1/2] are not within the claimed [0, 1/3]"
