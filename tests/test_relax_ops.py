"""CROWN rules and exact rules of the ops without exact values or without an elementwise relaxation:
sigmoid and tanh (relaxations, exact intercepts, exact interval rules), max pooling (its linear
bounds from its operand's bounds, `OpSpec.bound_backward`) and batchnorm (exact interval rule and
lines through the 1/sqrt enclosure).

Soundness is checked by sampling (thousands of points, box corners) in float64 with small margins,
and exactly where the numbers allow; the exact intercepts are checked never to be tighter than
the truth (dense samples, the touching point included), yet within 1e-12 of it, and a stated
intercept just above them is refused. Whole graphs: CROWN on a CNN with max pooling and on
sigmoid/tanh MLPs contains samples and is never looser than IBP. Tests of the certificate
checker and CROWN engine integration skip, saying why, until cert/check.py takes the ops'
`exact_interval` and bounds/crown.py their `bound_backward`.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytorch2lean import ops
from pytorch2lean.bounds import GRID, crown, float_bounds, verify, verify_ibp
from pytorch2lean.cert import check_certificate
from pytorch2lean.cert.check import Rejected, exact_rule
from pytorch2lean.ir import Graph, Input, Param, make_node, validate
from pytorch2lean.ops.base import Interval, Scaled, Unbounded
from pytorch2lean.ops.elementwise import SIGMOID, TANH
from pytorch2lean.runtime import execute
from pytorch2lean.runtime.executor import exact_attrs
from pytorch2lean.spec import Box, Property
from tests.test_crown import check_graph, cnn, deep_mlp, inputs_of, random_intervals, robustness_setup
from tests.test_ibp import as_fractions, exact_box, f32, float_box, one_node

SHAPES = {"sigmoid": SIGMOID, "tanh": TANH}
SAMPLES = 4001


def reference(op: str, x: np.ndarray) -> np.ndarray:
    """float64 values, not the float32-faithful kernel: within about 1e-16 of the truth."""
    return 1 / (1 + np.exp(-x)) if op == "sigmoid" else np.tanh(x)


def intervals(r: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Crossing, convex-side, concave-side, wide, tiny and point intervals, float32 ends."""
    lo, hi = random_intervals(r, n, scale=4.0)
    wide = r.uniform(size=n) < 0.15
    lo, hi = np.where(wide, lo * 8, lo), np.where(wide, hi * 8, hi)
    tiny = r.uniform(size=n) < 0.1
    hi = np.where(tiny, lo + 2.0**-20 * (1 + abs(lo)), hi)
    return lo.astype(np.float32).astype(np.float64), hi.astype(np.float32).astype(np.float64)


def dense(lo: np.ndarray, hi: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
    """SAMPLES evenly spaced points per interval (ends included), plus `extra` clipped into it."""
    x = lo[:, None] + (hi - lo)[:, None] * np.linspace(0, 1, SAMPLES)[None]
    return x if extra is None else np.concatenate([x, np.clip(extra, lo[:, None], hi[:, None])], axis=1)


def touching(sh: Any, s: np.ndarray) -> np.ndarray:
    """Both points where a line of slope s may touch the op (where f' = s), for sampling the gaps' extremes."""
    x = sh._touch_left(np, s)  # noqa: SLF001 (the same float helper the rules use; only adds sample points)
    x = np.where(np.isfinite(x), x, 0.0)
    return np.stack([x, -x], axis=1)


def grid_slopes(r: np.random.Generator, sh: Any, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Slopes a certificate might state: CROWN's own, and arbitrary ones (negative, 0, above the peak)."""
    own = sh.lower_slope(np, lo, hi)
    odd = r.uniform(-0.5, 1.5, lo.shape) * sh.peak
    s = np.where(r.uniform(size=lo.shape) < 0.5, own, odd)
    s = np.where(r.uniform(size=lo.shape) < 0.05, 0.0, s)
    return GRID.outward(np, Interval(s, s)).lo


# ---- sigmoid and tanh --------------------------------------------------------------------------

def test_stable_relus_state_their_exact_lines_and_unstable_ones_stay_widened() -> None:
    """A ReLU stable on its bounds states y = x (lo >= 0) or y = 0 (hi <= 0) with intercepts exactly
    0, which the Lean kernel skips (`intsZero`); an unstable one keeps its widened upper intercept,
    and sigmoid (intercepts from float evaluations) is widened even where a line is flat."""
    lo, hi = np.array([[0.25, -2.0, -1.0, 0.0]]), np.array([[3.0, -0.5, 2.0, 0.0]])
    rel = crown.relaxation(np, ops.get("relu"), make_node("n", "relu", ["x"]), Interval(lo, hi), GRID)
    ls, li, us, ui = (np.broadcast_to(v, lo.shape)[0] for v in rel)
    assert list(ls[:2]) == [1.0, 0.0] and list(us[:2]) == [1.0, 0.0]
    assert list(li[:2]) == [0.0, 0.0] and list(ui[:2]) == [0.0, 0.0]
    assert ui[2] > 2.0 * 1.0 / 3.0  # the chord over [-1, 2] meets 0 at -1: intercept 2/3, widened up
    s = crown.relaxation(np, ops.get("sigmoid"), make_node("n", "sigmoid", ["x"]), Interval(lo, hi), GRID)
    assert (np.broadcast_to(s[1], lo.shape) < 0).all() or (np.broadcast_to(s[3], lo.shape) != 0).all()


@pytest.mark.parametrize("op", ["sigmoid", "tanh"])
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_s_shaped_relaxations_on_the_grid_are_sound_and_nearly_touch(op: str, seed: int) -> None:
    """The lines CROWN states (grid slopes, intercepts from the rule, rounded outward) lie below and
    above f at dense samples, and each comes within a sampling tolerance of touching it."""
    r = np.random.default_rng(seed)
    lo, hi = intervals(r, 200)
    rel = crown.relaxation(np, ops.get(op), make_node("n", op, ["x"]), Interval(lo[None], hi[None]), GRID)
    ls, li, us, ui = (np.broadcast_to(v, (1, 200))[0] for v in rel)
    x = dense(lo, hi, np.concatenate([touching(SHAPES[op], ls), touching(SHAPES[op], us)], axis=1))
    f = reference(op, x)
    below, above = f - (ls[:, None] * x + li[:, None]), (us[:, None] * x + ui[:, None]) - f
    assert (below >= 0).all() and (above >= 0).all()
    tolerance = 2.0**-20 * (1 + hi - lo) ** 2
    assert (below.min(axis=1) <= tolerance).all() and (above.min(axis=1) <= tolerance).all()


@pytest.mark.parametrize("op", ["sigmoid", "tanh"])
@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_exact_intercepts_are_never_tighter_than_the_truth_and_close_to_it(op: str, seed: int) -> None:
    """For stated slopes (CROWN's and arbitrary ones), the exact rule's li is at most the least
    gap f(x) - ls x over [lo, hi] and ui at least the greatest f(x) - us x, both judged on dense
    float64 samples that include the touching points (margin: float64 rounding); and within 1e-12
    of them (the rule is tight, not just sound)."""
    r = np.random.default_rng(seed)
    sh = SHAPES[op]
    lo, hi = intervals(r, 60)
    ls, us = grid_slopes(r, sh, lo, hi), grid_slopes(r, sh, -hi, -lo)
    li, ui = sh.intercepts(np, {}, *(as_fractions(v) for v in (lo, hi, ls, us)))
    x = dense(lo, hi, np.concatenate([touching(sh, ls), touching(sh, us)], axis=1))
    f = reference(op, x)
    least, most = (f - ls[:, None] * x).min(axis=1), (f - us[:, None] * x).max(axis=1)
    rounding = 1e-15 * (1 + (abs(ls) + abs(us)) * (abs(lo) + abs(hi)))
    li, ui = li.astype(np.float64), ui.astype(np.float64)
    assert (li <= least + rounding).all() and (ui >= most - rounding).all()
    close = 1e-12 * (1 + abs(lo) + abs(hi))
    assert (li >= least - close).all() and (ui <= most + close).all()


@pytest.mark.parametrize("op", ["sigmoid", "tanh"])
@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_exact_least_gap_is_sound_from_any_tangent_point(op: str, seed: int) -> None:
    """The convex-side bound holds for any point c, not just the touching point: from a poor c the
    tangent's slope term is large, and leaving it out would be caught here."""
    r = np.random.default_rng(seed)
    sh = SHAPES[op]
    lo, hi = intervals(r, 40)
    s = grid_slopes(r, sh, lo, hi)
    guesses = lo + (np.minimum(hi, 0) - lo) * r.uniform(size=lo.shape)
    least = (reference(op, dense(lo, hi)) - s[:, None] * dense(lo, hi)).min(axis=1)
    for a, b, k, c, truth in zip(*(as_fractions(v) for v in (lo, hi, s)), guesses, least):
        bound = float(sh._least_gap_at(a, b, k, float(c)))  # noqa: SLF001
        assert bound <= truth + 1e-15 * (1 + abs(float(k)) * float(abs(a) + abs(b)))


@pytest.mark.parametrize("op", ["sigmoid", "tanh"])
def test_a_stated_intercept_above_the_truth_is_refused_by_the_exact_rule(op: str) -> None:
    """An intercept raised to f(x0) - s x0 + 2**-60 at some x0 of [lo, hi] (a line that crosses f
    there, judged by the enclosure of f(x0) from above) exceeds what the exact rule allows."""
    r = np.random.default_rng(5)
    sh = SHAPES[op]
    lo, hi = intervals(r, 40)
    ls = grid_slopes(r, sh, lo, hi)
    exact_lo, exact_hi, exact_s = (as_fractions(v) for v in (lo, hi, ls))
    li, _ = sh.intercepts(np, {}, exact_lo, exact_hi, exact_s, exact_s)
    for a, b, s, allowed in zip(exact_lo, exact_hi, exact_s, li):
        x0 = a + (b - a) * Fraction(int(r.integers(0, 9)), 8)
        too_tight = sh.enclose(x0).hi - s * x0 + Fraction(1, 2**60)
        assert allowed < too_tight


@pytest.mark.parametrize("op", ["sigmoid", "tanh"])
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_s_shaped_exact_interval_rules_contain_the_function_and_match_floats(op: str, seed: int) -> None:
    r = np.random.default_rng(seed)
    lo, hi = intervals(r, 100)
    iv = ops.get(op).exact_interval(np, {}, Interval(as_fractions(lo)[None], as_fractions(hi)[None]))
    got_lo, got_hi = (v[0].astype(np.float64) for v in iv)
    f = reference(op, dense(lo, hi))
    scale = 1e-15 * (1 + abs(f))
    assert (got_lo[:, None] <= f + scale).all() and (got_hi[:, None] >= f - scale).all()
    assert np.allclose(got_lo, reference(op, lo), rtol=1e-15, atol=1e-300)
    assert np.allclose(got_hi, reference(op, hi), rtol=1e-15, atol=1e-300)


def test_sigmoid_float_bounds_stay_true_where_float64_underflows() -> None:
    """Below about -745 float64's sigmoid is 0; the float rule keeps its upper end above the truth,
    so the float pass's bounds contain the exact enclosure there (and near 1, where float64 rounds
    to 1 and the pass's widening keeps the lower end below the truth)."""
    x = Interval(np.array([[-3000.0, -800.0, -40.0, 38.0]]), np.array([[-1000.0, -750.0, -38.0, 40.0]]))
    with np.errstate(over="ignore"):
        iv = float_bounds(one_node("sigmoid", {"x": (4,)}), {"x": x})["n"]
    exact = ops.get("sigmoid").exact_interval(np, {}, x.map(as_fractions))
    assert (as_fractions(iv.hi) >= exact.hi).all() and (as_fractions(iv.lo) <= exact.lo).all()


@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
@pytest.mark.parametrize("seed", range(3))
def test_crown_on_s_shaped_mlps_contains_samples_and_lies_within_ibp(act: str, seed: int) -> None:
    ours, ibp = check_graph(deep_mlp(act, seed=seed), seed)
    width = lambda iv: float((iv.hi - iv.lo).sum())  # noqa: E731
    assert width(ours["l3"]) < width(ibp["l3"])


# ---- max pooling ----------------------------------------------------------------------------------

POOLS = [
    {"kernel": (2, 2), "stride": (2, 2)},
    {"kernel": (3, 3), "stride": (1, 1), "padding": (1, 1, 1, 1)},
    {"kernel": (2, 3), "stride": (2, 1), "padding": (0, 1, 1, 0), "ceil_mode": True},
    {"kernel": (2, 2), "stride": (1, 2), "dilation": (2, 1)},
]


def pool_case(r: np.random.Generator, attrs: dict, shape: tuple[int, ...] = (2, 4, 5)) -> tuple[Any, np.ndarray, np.ndarray]:
    """A maxpool node and a box on its input: about a third of the cells points, some windows dominated."""
    node = validate(Graph("p", (Input("x", shape),), (), (make_node("n", "maxpool2d", ["x"], attrs),), ("n",))).nodes[0]
    lo, hi = float_box(r, shape)
    lift = r.uniform(size=shape) < 0.15  # a few cells far above the rest: they dominate their windows
    return node, np.where(lift, lo + 5, lo).astype(np.float64), np.where(lift, hi + 5, hi).astype(np.float64)


def lines(node: Any, A: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    (coeffs,), consts = ops.get("maxpool2d").bound_backward(np, node.attr, A, Interval(lo[None], hi[None]))
    return coeffs, consts.reshape(consts.shape[:2] + (-1,)).sum(axis=2)


def row_values(coeffs: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(n, K): sum(coeffs * point) per point and row."""
    return np.einsum("kc,nc->nk", coeffs[0].reshape(coeffs.shape[1], -1), points.reshape(len(points), -1))


@pytest.mark.parametrize("attrs", POOLS)
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_maxpool_lines_are_sound_on_samples_and_corners(attrs: dict, seed: int) -> None:
    r = np.random.default_rng(seed)
    node, lo, hi = pool_case(r, attrs)
    A = r.standard_normal((1, 6) + node.shape)
    coeffs, const = lines(node, A, lo, hi)
    points = np.concatenate([lo + (hi - lo) * r.uniform(size=(3000,) + lo.shape),
                             np.where(r.integers(0, 2, (500,) + lo.shape) == 1, hi, lo)])
    y = ops.get("maxpool2d").kernel(np, node.attr, points)
    value = np.einsum("kc,nc->nk", A[0].reshape(6, -1), y.reshape(len(y), -1))
    assert (value >= row_values(coeffs, points) + const - 1e-9).all()


@pytest.mark.parametrize("attrs", POOLS)
def test_maxpool_lines_equal_the_interval_bound_at_the_node_and_are_exact_when_dominated(attrs: dict) -> None:
    """Minimised over the box at once, the lines give at least the bound of maxpool's interval (so
    moving through maxpool never loses against bounding it there), exactly it when windows do not
    overlap (overlapping ones may share a cell whose coefficients of both signs then partly cancel);
    where every window is dominated both lines are y = x_k, so the rows' bound is attained everywhere."""
    r = np.random.default_rng(11)
    node, lo, hi = pool_case(r, attrs)
    A = r.standard_normal((1, 6) + node.shape)
    coeffs, const = lines(node, A, lo, hi)
    moved = np.where(coeffs > 0, coeffs * lo, coeffs * hi).reshape(1, 6, -1).sum(axis=2) + const
    iv = ops.get("maxpool2d").interval(np, node.attr, Interval(lo[None], hi[None]))
    direct = np.where(A > 0, A * iv.lo[:, None], A * iv.hi[:, None]).reshape(1, 6, -1).sum(axis=2)
    assert (moved >= direct - 1e-12 * (1 + abs(direct))).all()
    disjoint = all(s * d >= k for s, k, d in zip(attrs["stride"], attrs["kernel"], attrs.get("dilation", (1, 1))))
    assert np.allclose(moved, direct, rtol=1e-12, atol=1e-12) or not disjoint
    point = lo + (hi - lo) * r.uniform(size=lo.shape)
    coeffs, const = lines(node, A, point, point)  # a point box: every window dominated
    y = ops.get("maxpool2d").kernel(np, node.attr, point[None])
    assert np.allclose(row_values(coeffs, point[None])[0] + const[0], (A[0] * y[0]).reshape(6, -1).sum(axis=1))


@pytest.mark.parametrize("attrs", POOLS)
def test_maxpool_lines_on_exact_rows_are_the_float_lines_exactly(attrs: dict) -> None:
    """Scaled integer rows and Fraction bounds choose the same cells as float64 on the same numbers;
    with rows of eighths every float result is exact, so the two agree to the last bit."""
    r = np.random.default_rng(3)
    node, lo, hi = pool_case(r, attrs)
    A = np.round(r.standard_normal((1, 4) + node.shape) * 8) / 8
    (fc,), fk = ops.get("maxpool2d").bound_backward(np, node.attr, A, Interval(lo[None], hi[None]))
    exact = Interval(as_fractions(lo)[None], as_fractions(hi)[None])
    (ec,), ek = ops.get("maxpool2d").bound_backward(np, exact_attrs(node), Scaled.of(as_fractions(A)), exact)
    assert (ec.fractions() == as_fractions(fc)).all() and (ek.fractions() == as_fractions(fk)).all()


def maxpool_cnn(seed: int = 0) -> Graph:
    """conv -> relu -> maxpool (padded) -> conv -> relu -> maxpool -> flatten -> linear: all outputs."""
    r = np.random.default_rng(seed)
    p = {"w1": f32(r, (3, 1, 3, 3), 0.6), "b1": f32(r, (3,), 0.2), "w2": f32(r, (4, 3, 2, 2), 0.5),
         "w3": f32(r, (3, 4), 0.6), "b3": f32(r, (3,), 0.1)}
    nodes = [make_node("c1", "conv2d", ["x", "w1", "b1"], {"padding": (1, 1, 1, 1)}),
             make_node("r1", "relu", ["c1"]),
             make_node("m1", "maxpool2d", ["r1"], {"kernel": (2, 2), "stride": (2, 2), "padding": (0, 0, 1, 1)}),
             make_node("c2", "conv2d", ["m1", "w2"]),
             make_node("r2", "leaky_relu", ["c2"], {"alpha": 0.1}),
             make_node("m2", "maxpool2d", ["r2"], {"kernel": (2, 2), "stride": (1, 1)}),
             make_node("f", "flatten", ["m2"]),
             make_node("y", "linear", ["f", "w3", "b3"])]
    params = tuple(Param.of_array(k, v) for k, v in p.items())
    return validate(Graph("mp", (Input("x", (1, 1, 5, 5)),), params, tuple(nodes), tuple(n.id for n in nodes)))


@pytest.mark.parametrize("seed", range(4))
def test_crown_on_a_cnn_with_maxpool_contains_samples_and_lies_within_ibp(seed: int) -> None:
    check_graph(maxpool_cnn(seed), seed)


def crown_moves_through_maxpool() -> bool:
    """Whether bounds/crown.py uses OpSpec.bound_backward (a probe on a one-node graph)."""
    graph = one_node("maxpool2d", {"x": (1, 2, 2)}, {"kernel": (2, 2), "stride": (2, 2)})
    box = Interval(np.zeros((1, 1, 2, 2)), np.ones((1, 1, 2, 2)))
    result = crown.backsubstitute(crown.plan(graph), "n", np.ones((1, 1, 1, 1, 1)), {"x": box, "n": box}, {})
    return "n" not in result.bounded


def checker_uses_enclosures() -> bool:
    """Whether cert/check.py takes an inexact op's exact_interval (a probe on a sigmoid node)."""
    try:
        exact_rule(make_node("n", "sigmoid", ["x"]))
    except Rejected:
        return False
    return True


needs_crown = pytest.mark.skipif(not crown_moves_through_maxpool(), reason=(
    "bounds/crown.py does not move through OpSpec.bound_backward yet (the issue-5 change to backsubstitute)"))
needs_checker = pytest.mark.skipif(not checker_uses_enclosures(), reason=(
    "cert/check.py's exact_rule does not take OpSpec.exact_interval yet (the issue-5 change)"))


@needs_crown
def test_crown_moves_through_maxpool_and_beats_ibp_after_it() -> None:
    graph = maxpool_cnn(1)
    r = np.random.default_rng(1)
    boxes = {"x": float_box(r, (1, 1, 5, 5))}
    p = crown.plan(graph)
    found = crown.node_bounds(p, inputs_of(boxes))
    C = np.eye(3).reshape(1, 3, 1, 3)
    result = crown.backsubstitute(p, "y", C, found.bounds, found.relaxations)
    assert not result.bounded & {"m1", "m2"}
    ibp = float_bounds(graph, inputs_of(boxes))
    assert float((found.bounds["y"].hi - found.bounds["y"].lo).sum()) < 0.95 * float((ibp["y"].hi - ibp["y"].lo).sum())


# ---- batchnorm ------------------------------------------------------------------------------------

def batchnorm_case(r: np.random.Generator, shape: tuple[int, ...], axis: int) -> tuple[Graph, dict[str, np.ndarray]]:
    c = shape[axis]
    params = {"s": f32(r, (c,)), "b": f32(r, (c,)), "m": f32(r, (c,)), "v": np.abs(f32(r, (c,))) + np.float32(0.01)}
    graph = one_node("batchnorm", {"x": shape, **params}, {"axis": axis})
    return graph, params


STATS = ("s", "b", "m", "v")


def exact_params(params: dict[str, np.ndarray]) -> list[Interval]:
    return [Interval(as_fractions(params[k])[None], as_fractions(params[k])[None]) for k in STATS]


def float_params(params: dict[str, np.ndarray]) -> list[np.ndarray]:
    return [params[k].astype(np.float64)[None] for k in STATS]


@pytest.mark.parametrize(("shape", "axis"), [((3, 4, 2), 0), ((1, 3, 2, 2), 1), ((5,), 0), ((2, 3), -1)])
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_batchnorm_exact_interval_contains_samples_and_matches_floats(shape: tuple[int, ...], axis: int,
                                                                      seed: int) -> None:
    r = np.random.default_rng(seed)
    graph, params = batchnorm_case(r, shape, axis)
    node = graph.nodes[0]
    lo, hi = float_box(r, shape)
    iv = ops.get("batchnorm").exact_interval(np, exact_attrs(node), Interval(as_fractions(lo)[None], as_fractions(hi)[None]),
                                             *exact_params(params))
    got_lo, got_hi = (v.astype(np.float64) for v in iv)
    points = np.concatenate([lo + (hi - lo) * r.uniform(size=(2000,) + lo.shape),
                             np.where(r.integers(0, 2, (200,) + lo.shape) == 1, hi, lo)]).astype(np.float64)
    y = ops.get("batchnorm").kernel(np, node.attr, points, *float_params(params))
    margin = 1e-12 * (1 + abs(y))
    assert (got_lo <= y + margin).all() and (got_hi >= y - margin).all()
    floats = ops.get("batchnorm").interval(np, node.attr, Interval(lo[None].astype(np.float64), hi[None].astype(np.float64)),
                                           *(Interval(v, v) for v in float_params(params)))
    assert np.allclose(got_lo, floats.lo, rtol=1e-12, atol=1e-12) and np.allclose(got_hi, floats.hi, rtol=1e-12, atol=1e-12)


def test_batchnorm_exact_interval_refuses_a_non_positive_variance() -> None:
    r = np.random.default_rng(0)
    graph, params = batchnorm_case(r, (2,), 0)
    params["v"] = np.float32([1.0, -1.0])
    x = Interval(as_fractions(np.zeros((1, 2))), as_fractions(np.ones((1, 2))))
    with pytest.raises(Unbounded, match="var \\+ epsilon is not positive"):
        ops.get("batchnorm").exact_interval(np, exact_attrs(graph.nodes[0]), x, *exact_params(params))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_batchnorm_lines_on_exact_rows_are_sound_and_match_the_float_lines(seed: int) -> None:
    """The exact lines (slope enclosed, error term added) bound A y at float64 samples, and lie
    within 1e-12 of the float lines (the exact slope, no error term)."""
    r = np.random.default_rng(seed)
    graph, params = batchnorm_case(r, (3, 2, 2), 0)
    node = graph.nodes[0]
    lo, hi = float_box(r, (3, 2, 2))
    A = np.round(r.standard_normal((1, 5, 3, 2, 2)) * 8) / 8
    rule = ops.get("batchnorm").bound_backward
    exact = Interval(as_fractions(lo)[None], as_fractions(hi)[None])
    (ec, *rest), ek = rule(np, exact_attrs(node), Scaled.of(as_fractions(A)), exact,
                           *(as_fractions(params[k])[None] for k in STATS))
    assert rest == [None] * 4
    coeffs = ec.fractions().astype(np.float64)
    const = ek.fractions().astype(np.float64).reshape(1, 5, -1).sum(axis=2)
    floats = float_params(params)
    (fc, *_), fk = rule(np, node.attr, A, Interval(lo[None].astype(np.float64), hi[None].astype(np.float64)), *floats)
    assert np.allclose(coeffs, fc, rtol=1e-12, atol=1e-12)
    assert np.allclose(const, fk.reshape(1, 5, -1).sum(axis=2), rtol=1e-12, atol=1e-12)
    points = np.concatenate([lo + (hi - lo) * r.uniform(size=(2000,) + lo.shape),
                             np.where(r.integers(0, 2, (200,) + lo.shape) == 1, hi, lo)]).astype(np.float64)
    y = ops.get("batchnorm").kernel(np, node.attr, points, *floats)
    value = np.einsum("kc,nc->nk", A[0].reshape(5, -1), y.reshape(len(y), -1))
    assert (value >= row_values(coeffs, points) + const[0] - 1e-9 * (1 + abs(value))).all()


# ---- certificates through the new rules (once the checker and CROWN take them) ----------------------

@needs_checker
@pytest.mark.parametrize("method", ["ibp", "crown", "alpha"])
@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
def test_s_shaped_certificates_are_accepted_exactly(method: str, act: str) -> None:
    graph = deep_mlp(act)
    box, prop, _ = robustness_setup(graph, 1, 0.005)
    result = verify(graph, box, prop, method=method)
    assert result.verdict == "holds", result.reason
    assert check_certificate(graph, result.certificate, box=box, prop=prop).ok


@needs_checker
@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
def test_a_sigmoid_or_tanh_intercept_above_the_exact_rule_is_rejected(act: str) -> None:
    """The certificate's lower intercept of a crossing neuron, raised just above the exact rule's
    (by 2**-30, far above the rule's slack against the truth), is refused; at the rule's value it holds."""
    graph = deep_mlp(act)
    box, prop, _ = robustness_setup(graph, 1, 0.05)
    text = verify(graph, box, prop, method="crown").certificate
    data = json.loads(text)
    lines = data["crown"]["relaxations"]["a1"]
    bounds = data["bounds"]["l1"]
    sh = SHAPES[act]
    lo, hi, ls, us = (np.array([Fraction(v) for v in seq], dtype=object)[None]
                      for seq in (bounds["lower"], bounds["upper"], lines["lower_slope"], lines["upper_slope"]))
    allowed, _ = sh.intercepts(np, {}, lo, hi, ls, us)
    i = int(np.argmax([float(b - a) for a, b in zip(lo[0], hi[0])]))

    def with_intercept(value: Fraction) -> str:
        edited = json.loads(text)
        edited["crown"]["relaxations"]["a1"]["lower_intercept"][i] = str(value)
        return json.dumps(edited)

    refused = check_certificate(graph, with_intercept(allowed[0, i] + Fraction(1, 2**30)))
    assert not refused.ok and f"node 'a1' ({act}): at flat index {i}" in refused.reason
    assert check_certificate(graph, with_intercept(allowed[0, i])).ok  # tighter lines only tighten what follows


@needs_checker
@needs_crown
@pytest.mark.parametrize("method", ["crown", "alpha"])
def test_certificates_through_batchnorm_maxpool_and_sigmoid_are_accepted(method: str) -> None:
    """The CNN of test_crown (batchnorm, maxpool, sigmoid) and the max-pooling CNN: the checker redoes
    the back-substitution through batchnorm and maxpool exactly and accepts the float pass's bounds."""
    for graph in (cnn(), maxpool_cnn(2)):
        r = np.random.default_rng(2)
        lo, hi = float_box(r, graph.inputs[0].shape)
        box = exact_box(lo, hi)
        result = verify(graph, box, method=method, output="y")
        assert result.verdict == "holds", result.reason
        assert check_certificate(graph, result.certificate).ok
        assert json.loads(result.certificate)["crown"]["backsub"]


@needs_checker
def test_ibp_certifies_sigmoid_where_float64_underflows() -> None:
    graph = one_node("sigmoid", {"x": (2,)})
    box = Box((Fraction(-2000), Fraction(-800)), (Fraction(-1000), Fraction(-750)), (2,))
    for exact in (True, False):
        verdict, text, reason = verify_ibp(graph, box, exact=exact)
        assert verdict == "holds" and check_certificate(graph, text).ok, reason


@needs_checker
def test_ibp_certifies_through_sigmoid_and_batchnorm() -> None:
    graph = cnn()
    r = np.random.default_rng(4)
    lo, hi = float_box(r, graph.inputs[0].shape)
    verdict, text, reason = verify_ibp(graph, exact_box(lo, hi), output="y")
    assert verdict == "holds", reason
    assert check_certificate(graph, text).ok
    y = execute(graph, {"x": lo[None]})["y"][0].reshape(-1)
    prop = Property.robustness(int(np.argmax(y)), y.size)
    assert verify_ibp(graph, exact_box(lo, lo), prop, output="y").verdict == "holds"
