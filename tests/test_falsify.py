"""The falsifier: it finds known counterexamples, and whatever it returns is one, exactly.

Every witness is checked here again independently of the falsifier: the point lies in the exact
box (`Box.contains`) and the exact output (`runtime.evaluate_exact`) violates the property
(`Property.holds_exactly` is False). The adversarial cases are properties that hold by
construction, down to the exact minimum the float32 runtime may round past: no witness may come.
"""

from __future__ import annotations

import re
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytorch2lean.bounds.falsify import Witness, exact_text, falsify, float32_text, format_witness
from pytorch2lean.errors import UserError
from pytorch2lean.ir import Graph, Input, Param, make_node, validate
from pytorch2lean.runtime import evaluate_exact, execute
from pytorch2lean.spec import Box, Conjunction, Disjunction, LinearConstraint, Property, load_vnnlib

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "vnncomp2021" / "test"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared benchmarks not found at {SHARED}")


def net_and_spec(net: str, spec: str) -> tuple[Graph, object]:
    from pytorch2lean.frontends.onnx_import import load_onnx

    onnx = SHARED / f"{net}.onnx"
    onnx = onnx if onnx.is_file() else FIXTURES / "onnx" / f"{net}.onnx"
    vnnlib = SHARED / f"{spec}.vnnlib"
    vnnlib = vnnlib if vnnlib.is_file() else FIXTURES / "vnnlib" / f"{spec}.vnnlib"
    if not onnx.is_file() or not vnnlib.is_file():
        pytest.skip(f"{net}/{spec} not found in {SHARED} nor in the fixtures")
    return load_onnx(onnx), load_vnnlib(vnnlib)


def assert_is_counterexample(graph: Graph, boxes: list[Box], prop: Property, w: Witness) -> None:
    """Independent of the falsifier: inside its box exactly, unsafe exactly, in the stated term."""
    assert w.point.dtype == np.float32 and w.point.shape == graph.inputs[0].shape
    assert boxes[w.box].contains(w.point)
    y = evaluate_exact(graph, {graph.inputs[0].name: w.point[None]})[graph.outputs[0]].reshape(-1)
    assert list(y) == list(w.output)
    assert not prop.holds_exactly(y)
    assert prop.unsafe.parts[w.term].holds(list(y))


def linear_net(w: np.ndarray, b: np.ndarray, relu: bool = False) -> Graph:
    nodes = [make_node("y" if not relu else "h", "linear", ["x", "w", "b"])]
    if relu:
        nodes.append(make_node("y", "relu", ["h"]))
    params = (Param.of_array("w", w.astype(np.float32)), Param.of_array("b", b.astype(np.float32)))
    return validate(Graph("g", (Input("x", (w.shape[1],)),), params, tuple(nodes), ("y",)))


def one_term(coeffs: list[Fraction], bound: Fraction, strict: bool = False) -> Property:
    return Property(Disjunction((Conjunction((LinearConstraint(tuple(coeffs), bound, strict),)),)), len(coeffs))


# ---- the VNN-COMP test benchmark -------------------------------------------------------------

@needs_shared
def test_finds_the_counterexample_of_test_sat() -> None:
    graph, spec = net_and_spec("test_sat", "test_prop")
    boxes = [b.reshape(graph.inputs[0].shape) for b in spec.input_boxes]
    start = time.perf_counter()
    w = falsify(graph, list(spec.input_boxes), spec.output_property, budget_s=30, seed=0)
    assert w is not None, "test_sat is sat (ACAS Xu 1-7, property 3)"
    assert time.perf_counter() - start < 30
    assert w.exact
    assert_is_counterexample(graph, boxes, spec.output_property, w)


@needs_shared
def test_the_search_is_deterministic_given_the_seed() -> None:
    graph, spec = net_and_spec("test_sat", "test_prop")
    a, b = (falsify(graph, list(spec.input_boxes), spec.output_property, budget_s=30, seed=3) for _ in range(2))
    assert a is not None and b is not None
    assert a.point.tobytes() == b.point.tobytes() and a.output == b.output


@pytest.mark.parametrize(("net", "spec"), [("test_unsat", "test_prop"), ("test_tiny", "test_tiny"),
                                           ("test_nano", "test_nano"), ("test_small", "test_small")])
def test_no_witness_for_the_properties_that_hold(net: str, spec: str) -> None:
    """All four hold (IBP proves tiny, nano and small; test_unsat is ACAS Xu 1-6, unsat)."""
    graph, s = net_and_spec(net, spec)
    assert falsify(graph, list(s.input_boxes), s.output_property, budget_s=1.0, seed=0) is None


# ---- gradient steps -------------------------------------------------------------------------

def test_gradient_ascent_finds_a_corner_that_sampling_misses() -> None:
    """sum(x) >= 39.5 on [0, 1]^40 holds only near the all-ones corner: a random point or
    random corner hits it with probability below 2**-39; signed ascent walks straight there."""
    n = 40
    graph = linear_net(np.ones((1, n)), np.zeros(1), relu=True)
    prop = one_term([Fraction(-1)], Fraction(-79, 2))  # -y <= -39.5
    box = Box((Fraction(0),) * n, (Fraction(1),) * n, (n,))
    w = falsify(graph, box, prop, budget_s=20, seed=1)
    assert w is not None and w.exact
    assert_is_counterexample(graph, [box], prop, w)


# ---- adversarial: properties that hold never yield a witness ---------------------------------

@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), strict=st.booleans())
def test_a_property_that_holds_to_the_last_bit_gives_no_witness(seed: int, strict: bool) -> None:
    """y = w.x + b attains its exact minimum m over the box at a corner, where float32 rounding
    may land just below m. Unsafe is y < m (strict) or y <= m - 2^-40: it never holds, so a float
    candidate there must be refuted by the exact re-check."""
    r = np.random.default_rng(seed)
    n = int(r.integers(1, 6))
    w = r.standard_normal((1, n)).astype(np.float32)
    b = r.standard_normal(1).astype(np.float32)
    c = r.standard_normal(n).astype(np.float32)
    radius = np.float32(2.0**-int(r.integers(0, 20)))
    lo, hi = c - radius, c + radius
    box = Box(tuple(Fraction(float(v)) for v in lo), tuple(Fraction(float(v)) for v in hi), (n,))
    wq = [Fraction(float(v)) for v in w[0]]
    low = Fraction(float(b[0])) + sum(q * (lb if q > 0 else ub) for q, lb, ub in zip(wq, box.lower, box.upper))
    prop = one_term([Fraction(1)], low if strict else low - Fraction(1, 2**40), strict=strict)
    assert falsify(linear_net(w, b), box, prop, budget_s=0.3, seed=seed) is None


def test_a_float_counterexample_that_is_not_one_is_refuted() -> None:
    """At this corner float32 computes y about 2e-8 below its exact value, which is the exact
    minimum over the box: the float runtime says y < min, exactly it is not."""
    w = np.float32([[0.3455841839313507, 0.8216181397438049, 0.3304370641708374]])
    b = np.float32([-1.3031572103500366])
    lo = np.float32([0.9053558707237244, 0.4463745653629303, -0.5369532108306885])
    graph, box = linear_net(w, b), Box(tuple(map(Fraction, lo.tolist())), tuple(map(Fraction, (lo + 1).tolist())), (3,))
    low = Fraction(float(b[0])) + sum(Fraction(float(q)) * v for q, v in zip(w[0], box.lower))  # all weights > 0
    assert Fraction(float(execute(graph, {"x": lo[None]})["y"][0, 0])) < low  # the trap is real
    assert falsify(graph, box, one_term([Fraction(1)], low, strict=True), budget_s=0.5) is None


def test_a_box_without_float32_points_has_no_witness() -> None:
    """[1/3, 1/3] holds no float32 value; a witness must be a float32 point inside the box."""
    graph = linear_net(np.ones((1, 1)), np.zeros(1))
    box = Box((Fraction(1, 3),), (Fraction(1, 3),), (1,))
    assert falsify(graph, box, one_term([Fraction(1)], Fraction(1)), budget_s=1) is None


def test_the_witness_hugs_an_exact_bound_from_inside() -> None:
    """Unsafe is y >= 1/10 with y = x on [0, 1/10]: only float32 points >= 1/10 would do, and
    the largest float32 <= 1/10 is below it, so the one candidate is refuted; on [0, 1/5] the
    witness is a float32 point in [1/10, 1/5] exactly."""
    graph = linear_net(np.ones((1, 1)), np.zeros(1))
    prop = one_term([Fraction(-1)], Fraction(-1, 10))  # -y <= -1/10
    assert falsify(graph, Box((Fraction(0),), (Fraction(1, 10),), (1,)), prop, budget_s=0.5) is None
    box = Box((Fraction(0),), (Fraction(1, 5),), (1,))
    w = falsify(graph, box, prop, budget_s=5)
    assert w is not None
    assert_is_counterexample(graph, [box], prop, w)


# ---- models without an exact meaning, errors, the witness text --------------------------------

def test_a_sigmoid_model_gets_a_float_checked_witness() -> None:
    graph = validate(Graph("g", (Input("x", (2,)),), (), (make_node("y", "sigmoid", ["x"]),), ("y",)))
    prop = Property(Disjunction((Conjunction((LinearConstraint((Fraction(-1), Fraction(0)), Fraction(-9, 10)),)),)), 2)
    w = falsify(graph, Box((Fraction(-4),) * 2, (Fraction(4),) * 2, (2,)), prop, budget_s=5)
    assert w is not None and not w.exact
    assert w.output[0] >= Fraction(9, 10)


def test_mistakes_are_user_errors() -> None:
    graph = linear_net(np.ones((2, 1)), np.zeros(2))
    box = Box((Fraction(0),), (Fraction(1),), (1,))
    with pytest.raises(UserError, match="speaks of 1 outputs"):
        falsify(graph, box, one_term([Fraction(1)], Fraction(0)), budget_s=1)
    with pytest.raises(UserError, match="box has 2 coordinates"):
        falsify(graph, Box((Fraction(0),) * 2, (Fraction(1),) * 2, (2,)), one_term([Fraction(1)] * 2, Fraction(0)))


def test_witness_text_is_exact() -> None:
    w = Witness(np.float32([0.1, -3.0]), (Fraction(-3, 8), Fraction(1, 3), Fraction(5)), 0, True)
    text = format_witness(w)
    pairs = re.findall(r"\((X|Y)_(\d+) ([^\s()]+)\)", text)
    assert text.startswith("((X_0 ") and text.endswith(")")
    assert [(k, int(i)) for k, i, _ in pairs] == [("X", 0), ("X", 1), ("Y", 0), ("Y", 1), ("Y", 2)]
    assert [np.float32(float(v)) for _, _, v in pairs[:2]] == list(w.point)
    assert Fraction(float(pairs[0][2])) == Fraction(float(np.float32(0.1)))  # the float32, not 1/10
    assert [v for _, _, v in pairs[2:]] == ["-0.375", repr(1 / 3), "5"]


def test_float32_and_exact_text() -> None:
    """A reader gets the shortest text of the nearest float32 (an exact output through a few layers
    has hundreds of digits); the exact text is a finite decimal where there is one, else p/q."""
    deep = Fraction(3**200 + 1, 2**400)  # dyadic: its exact decimal has 400 places
    assert float32_text(Fraction(float(np.float32(0.1)))) == "0.1" and float32_text(Fraction(-3)) == "-3.0"
    assert np.float32(float32_text(deep)) == np.float32(float(deep)) and len(float32_text(deep)) < 16
    assert float32_text(Fraction(10**40)) == "inf"  # past the float32 range
    assert exact_text(Fraction(float(np.float32(0.1)))) == "0.100000001490116119384765625"
    assert Fraction(exact_text(deep)) == deep and exact_text(Fraction(1, 3)) == "1/3"


def test_empty_and_trivial_unsafe_regions() -> None:
    """No unsafe term: nothing to find. An empty conjunction is always true: any point is a witness."""
    graph = linear_net(np.ones((1, 1)), np.zeros(1))
    box = Box((Fraction(0),), (Fraction(1),), (1,))
    assert falsify(graph, box, Property(Disjunction(()), 1), budget_s=1) is None
    w = falsify(graph, box, Property(Disjunction((Conjunction(()),)), 1), budget_s=1)
    assert w is not None and w.term == 0 and box.contains(w.point)


ACAS = SHARED.parent / "acasxu"


@pytest.mark.skipif(not ACAS.is_dir(), reason=f"{ACAS} is absent")
def test_finds_acas_1_9_property_7_on_a_face_of_its_box() -> None:
    """Its counterexamples have three coordinates at an end of the box and two inside: random
    points and corners rarely start an ascent near one (the search timed out at 116 s; the
    winner of VNN-COMP 2021 found one in about a second), points on random faces do."""
    from pytorch2lean.frontends.onnx_import import load_onnx

    graph = load_onnx(ACAS / "ACASXU_run2a_1_9_batch_2000.onnx")
    spec = load_vnnlib(ACAS / "prop_7.vnnlib")
    boxes = [b.reshape(graph.inputs[0].shape) for b in spec.input_boxes]
    w = falsify(graph, boxes, spec.output_property, budget_s=60, seed=0)
    assert w is not None and w.exact
    assert_is_counterexample(graph, boxes, spec.output_property, w)


def test_face_points_are_ends_or_inside_each_coordinate() -> None:
    from pytorch2lean.bounds.falsify import _region

    box = Box((Fraction(-1), Fraction(0), Fraction(1, 3)), (Fraction(1), Fraction(2), Fraction(1, 2)), (3,))
    region = _region(0, box)
    x = region.faces(np.random.default_rng(0), 3000)
    assert all(box.contains(p) for p in x[:50])
    at_lo, at_hi = x == region.lo, x == region.hi
    inside = ~at_lo & ~at_hi
    for kind in (at_lo, at_hi, inside):
        assert (0.25 < kind.mean(axis=0)).all() and (kind.mean(axis=0) < 0.42).all()
