"""Back-substitution on limbs (cert/limbsub.py) against the Fraction engine (cert/backsub.py): on
random nets, boxes, lines, rows and beta seeds the two give the very same exact lower bounds, and a
net with an op outside the steps handled there is left to the Fraction engine."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from pytorch2lean.cert import backsub, limbsub, wide
from pytorch2lean.ir import Graph, Input, Param, make_node, validate

from .test_bab import relu_net
from .test_lean_crown import crown_net

F = Fraction


def _numbers(rng: np.random.Generator, shape: tuple[int, ...], dyadic: bool) -> np.ndarray:
    """Exact numbers of `shape` (object array): dyadic ones, as certificates state, or any rationals."""
    flat = [F(int(n), 2 ** int(e)) if dyadic else F(int(n), int(d)) for n, e, d in
            zip(rng.integers(-2**20, 2**20, math.prod(shape)), rng.integers(0, 40, math.prod(shape)),
                rng.integers(1, 1000, math.prod(shape)))]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(shape)


def _lines(rng: np.random.Generator, shape: tuple[int, ...], through_zero: bool) -> backsub.Relaxation:
    """Random lines (sound or not: only the arithmetic is compared), slopes in [0, 1]; the lower
    ones through 0 (as CROWN's relu lines are) when `through_zero`."""
    slope = lambda: np.vectorize(lambda q: abs(q) / (abs(q) + 1), otypes=[object])(_numbers(rng, shape, True))  # noqa: E731
    lower = _numbers(rng, shape, True) * (0 if through_zero else 1)
    return backsub.Relaxation(slope(), lower, slope(), _numbers(rng, shape, False))


def _compare(g: Graph, seed: int, per_row: bool, with_seeds: bool) -> None:
    rng = np.random.default_rng(seed)
    plan, limbs = backsub.plan(g, exact=True), limbsub.LimbPlan(g)
    assert limbs.supported
    x = g.inputs[0]
    lo = _numbers(rng, (1,) + x.shape, False)
    hi = lo + np.abs(_numbers(rng, (1,) + x.shape, False))
    out = g.outputs[0]
    shape = g.shapes()[out]
    k = 3
    relus = [n for n in g.nodes if n.op == "relu"]
    node_lines = {n.id: _lines(rng, (1,) + n.shape, seed % 2 == 0) for n in relus}
    row_lines = {n.id: _lines(rng, (1, k) + n.shape, seed % 2 == 0) for n in relus[:1]} if per_row else {}
    seeds = {n.id: _numbers(rng, (1, k) + n.shape, True) for n in relus[-1:]} if with_seeds else {}
    A = _numbers(rng, (1, k) + tuple(shape), True)
    bounds = {x.name: backsub.Interval(lo, hi)}
    want = backsub.backsubstitute(plan, out, A, bounds, {**node_lines, **row_lines}, seeds=seeds).lower[0]

    coeffs = {out: wide.of_fractions(A[0])}
    for name, S in seeds.items():
        coeffs[name] = wide.add(coeffs[name], wide.of_fractions(S[0])) if name in coeffs else wide.of_fractions(S[0])

    def lines(name: str) -> limbsub.Relu:
        if name in row_lines:
            return limbsub.lines_of(row_lines[name], (k,) + limbs.shapes[name])
        return limbsub.lines_of(node_lines[name], (1,) + limbs.shapes[name])

    got = wide.fractions(limbsub.lower(limbs, coeffs, lines, limbsub.box_of(lo, hi)))
    assert list(got) == list(want)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("per_row,with_seeds", [(False, False), (True, False), (False, True), (True, True)])
def test_limb_bounds_are_the_fraction_bounds(seed: int, per_row: bool, with_seeds: bool) -> None:
    _compare(relu_net((3, 6, 5, 4), seed), seed, per_row, with_seeds)


@pytest.mark.parametrize("seed", range(4))
def test_every_step_kind_matches(seed: int) -> None:
    """crown_net: linear, relu, matmul, add and sub of parameters, flatten."""
    _compare(crown_net(), seed, per_row=seed % 2 == 1, with_seeds=seed >= 2)


def test_identity_rows_are_the_fraction_rows() -> None:
    index = np.array([3, 0, 5])
    rows = limbsub.identity_rows((1, 6), index)
    assert (wide.fractions(rows) == backsub.identity_rows(np, 1, (1, 6), index, exact=True)[0]).all()


def test_a_net_with_another_op_is_left_to_the_fraction_engine() -> None:
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    nodes = (make_node("h", "linear", ["x", "w"]), make_node("t", "tanh", ["h"]))
    g = validate(Graph("tanh", (Input("x", (1, 2)),), (Param.of_array("w", f32([[1, 2], [3, 4]])),), nodes, ("t",)))
    assert not limbsub.LimbPlan(g).supported
