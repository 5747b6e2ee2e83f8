"""CROWN: bounds by backward linear relaxation (Zhang et al. 2018, as in auto_LiRPA).

Linear functions of a node are moved backwards to the inputs by the back-substitution engine
(`cert/backsub.py`: affine ops by their backward rules, nonlinear ones by linear relaxations, the
rest by their intervals). The one engine serves three callers: the float64 pass on NumPy or CuPy
(here), alpha-CROWN (bounds/alpha.py, which also keeps every row's coefficients for its gradient),
and the exact certificate checker (cert/check.py), which runs the same code on object arrays of
Fractions; it lives with the checker, which imports nothing from this search code.

Intermediate bounds are CROWN's own: every node that feeds a nonlinear op, and every output, is
bounded by back-substitution from itself (rows +e_i and -e_i), intersected with its IBP interval, so
CROWN is never looser than IBP. Of a node read only by relu-like ops, only the elements whose
interval crosses the kink are back-substituted (elsewhere the relaxation is exact anyway); the
certificate names them (`crown.backsub_rows`), so the checker redoes exactly those rows. Like IBP, every node's bounds are rounded outward onto the grid of
short dyadics (`bounds.grid`), and so are the relaxations' slopes and intercepts: those are the
numbers a certificate states, and the float pass already computes with them.

Float soundness: each back-substituted bound is widened by SLACK times the sum of the magnitudes of
its terms (float64 rounding of sums of up to ~10^5 terms stays far below it); the float pass is
untrusted all the same, and certificates are re-derived exactly by the checker.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, NamedTuple

import numpy as np

from .. import ops
from .. import memory
from ..cert.backsub import (Backsub, Plan, Relaxation, backsubstitute, element_bounds, identity_rows, per_row, plan,
                            tightened_interval)
from ..ir import Node
from ..ops.base import Interval, Unbounded
from ..runtime.backend import to_numpy
from .grid import GRID, Grid

__all__ = ["SLACK", "Backsub", "NodeBounds", "Plan", "Relaxation", "backsubstitute", "identity_rows", "node_bounds",
           "per_row", "plan", "relaxation", "row_bounds", "targets", "tightened_interval"]

SLACK = 2.0**-30  # relative widening of back-substituted float64 bounds, against the sum of |terms|
ROW_ARRAYS = 8  # float64 arrays of the largest node's size one back-substituted row holds at its peak (its
# coefficients, their signed parts and products, a conv's im2col): an upper bound (6 measured on the
# conv net of benchmarks/bench_memory.py)
CHUNK_MAX = 2**29  # bytes of rows at once at most: larger chunks run no faster, and the rest stays free


def targets(p: Plan, xp: Any = np) -> frozenset[str]:
    """The nodes bounded by back-substitution: operands of nonlinear ops (relu, maxpool, a product
    of two activations: what back-substitution cannot move through), and outputs; but not those
    whose interval is already as tight as back-substitution could make it (`_interval_exact`)."""
    produced = {n.id for n in p.nodes}
    feeds = {r for n in p.nodes if not _affine(xp, p, n) for r in n.inputs}
    return frozenset((feeds | set(p.graph.outputs)) & produced - _interval_exact(xp, p))


def _interval_exact(xp: Any, p: Plan) -> set[str]:
    """Nodes whose interval is the exact range over the box, so that back-substitution cannot beat
    it: an affine op of one model input alone (each element one linear function of the box, which
    the interval rule minimises exactly), and a kinked op (relu, leaky relu) of such a node (a
    relaxation line lies below the op, so its least value is at most the op's; only the outward
    rounding of the op's interval onto the grid, a step, is left). Their rows would cost the most
    (a first conv layer: 10^4 elements, each row as wide as the layer) for nothing."""
    inputs = {i.name for i in p.graph.inputs}
    exact: set[str] = set()
    for node in p.nodes:
        variable = [r for r in node.inputs if r not in p.consts]
        if len(variable) != 1:
            continue
        if (variable[0] in inputs and _affine(xp, p, node)) or (variable[0] in exact and ops.get(node.op).tunable):
            exact.add(node.id)
    return exact


def _affine(xp: Any, p: Plan, node: Node) -> bool:
    """Whether back-substitution moves through the node (its rule accepts these operands)."""
    rule = ops.get(node.op).affine_backward
    if rule is None:
        return False
    probe = xp.zeros((1, 1) + tuple(node.shape), dtype=xp.float64)
    return rule(xp, node.attr, probe, *p.operands(node)) is not None


class NodeBounds(NamedTuple):
    """What the CROWN pass finds: bounds of every node, the relaxations, and where CROWN beat IBP."""

    bounds: dict[str, Interval]
    relaxations: dict[str, Relaxation]
    tightened: frozenset[str]  # nodes whose bounds back-substitution made tighter, for some batch entry
    rows: dict[str, tuple[tuple[int, ...], ...]]  # per tightened node and batch entry, the flat indices
    # back-substituted for that entry (empty where it made nothing tighter)


def node_bounds(p: Plan, inputs: Mapping[str, Interval], *, xp: Any = np, grid: Grid = GRID,
                clamp: Callable[[str, Interval], Interval] | None = None) -> NodeBounds:
    """CROWN bounds of every node (on the grid) and the relaxations used, from float64 input bounds.

    `clamp(node id, bounds)`, when given, restricts each node's bounds as soon as they are found,
    before any later relaxation or back-substitution reads them: branch and bound's ReLU cases cut a
    split neuron's pre-activation bounds at 0, so its relaxation becomes exact.
    Each batch entry is tightened at its own elements only (`_rows_needed`), so its bounds are those
    it would get alone, and its certificate names just those rows.
    Raises Unbounded (naming the node) when an interval rule has no bound.
    """
    bounds = {name: iv.map(lambda v: xp.asarray(v, dtype=xp.float64)) for name, iv in inputs.items()}
    batch = max(iv.lo.shape[0] for iv in bounds.values())
    relaxations: dict[str, Relaxation] = {}
    chosen, rows = targets(p, xp), {}
    for node in p.nodes:
        spec = ops.get(node.op)
        if spec.relax is not None:
            relaxations[node.id] = relaxation(xp, spec, node, bounds[node.inputs[0]], grid)
        iv = grid.outward(xp, _interval(xp, p, node, bounds, batch))
        if node.id in chosen:
            need = _rows_needed(xp, p, node, iv)
            index = np.flatnonzero(need.any(axis=0))
            if len(index):
                tight = _kept_where(xp, need, grid.outward(xp, _tighten(xp, p, node, iv, index, bounds, relaxations)), iv)
                better = to_numpy(xp, xp.any(((tight.lo > iv.lo) | (tight.hi < iv.hi)).reshape((batch, -1)), axis=1))
                if better.any():
                    rows[node.id] = tuple(tuple(np.flatnonzero(need[b]).tolist()) if better[b] else () for b in range(batch))
                iv = tight
        bounds[node.id] = iv if clamp is None else clamp(node.id, iv)
    return NodeBounds(bounds, relaxations, frozenset(rows), rows)


def _rows_needed(xp: Any, p: Plan, node: Node, iv: Interval) -> np.ndarray:
    """Per batch entry, the flat elements worth back-substituting (B, n): where only kinked ops (relu,
    leaky relu) read the node, those whose interval crosses the kink (elsewhere the relaxation is
    exact already); elsewhere every element."""
    users = [n for n in p.nodes if node.id in n.inputs]
    batch, size = iv.lo.shape[0], math.prod(iv.lo.shape[1:])
    if node.id in p.graph.outputs or not users or not all(ops.get(n.op).tunable for n in users):
        return np.ones((batch, size), dtype=bool)
    return to_numpy(xp, ((iv.lo < 0) & (iv.hi > 0)).reshape((batch, size)))


def _kept_where(xp: Any, need: np.ndarray, tight: Interval, iv: Interval) -> Interval:
    """`tight` at each entry's needed elements, `iv` elsewhere."""
    where = xp.asarray(need.reshape(iv.lo.shape))
    return Interval(xp.where(where, tight.lo, iv.lo), xp.where(where, tight.hi, iv.hi))


def _interval(xp: Any, p: Plan, node: Node, bounds: Mapping[str, Interval], batch: int) -> Interval:
    spec = ops.get(node.op)
    operands = [bounds[r] if r in bounds else Interval(p.consts[r], p.consts[r]) for r in node.inputs]
    try:
        iv = spec.interval(xp, node.attr, *operands)
    except Unbounded as e:
        raise Unbounded(f"node {node.id!r} ({node.op}): {e}") from None
    iv = iv.map(lambda v: xp.broadcast_to(v, (batch,) + tuple(v.shape[1:])))
    return Interval(iv.lo - 2.0**-40 * abs(iv.lo), iv.hi + 2.0**-40 * abs(iv.hi))


def _tighten(xp: Any, p: Plan, node: Node, iv: Interval, index: np.ndarray, bounds: Mapping[str, Interval],
             relaxations: Mapping[str, Relaxation]) -> Interval:
    """The node's IBP interval intersected, at the flat `index`, with its CROWN bounds (rows +e_i and -e_i)."""
    batch, shape = iv.lo.shape[0], tuple(iv.lo.shape[1:])
    own = {**bounds, node.id: iv}  # a node without affine rule or relaxation is bounded by its interval
    lower, magnitude = element_bounds(p, node.id, shape, batch, xp.asarray(index), own, relaxations, xp=xp,
                                      chunk=elements_per_chunk(p, node, batch))
    return tightened_interval(xp, iv, xp.asarray(index), lower - SLACK * magnitude)


def elements_per_chunk(p: Plan, node: Node, batch: int) -> int:
    """How many of the node's elements (two rows each) to back-substitute at once within the memory
    still available (`memory.available`, at most CHUNK_MAX); BudgetExceeded when not even one fits."""
    largest = max(math.prod(p.shapes[name]) for name in [n.id for n in p.nodes] + [i.name for i in p.graph.inputs])
    per_element = 2 * ROW_ARRAYS * 8 * batch * largest
    left = memory.available()
    if per_element > left:
        raise memory.BudgetExceeded(f"back-substituting node {node.id!r} needs {memory.describe(per_element)} per "
                                    f"element, {memory.describe(left)} is left")
    return min(left, CHUNK_MAX) // per_element or 1


def relaxation(xp: Any, spec: ops.OpSpec, node: Node, iv: Interval, grid: Grid, alpha: Any = None) -> Relaxation:
    """The op's relaxation on [lo, hi]; where the op states exact intercepts, on the grid.

    Slopes are rounded onto the grid, then the intercepts for those slopes are computed (widened
    against rounding) and rounded outward: the numbers a certificate states and the checker re-checks.
    """
    lo, hi = iv
    if alpha is not None:
        lo, hi = lo[:, None], hi[:, None]
    r = spec.relax(xp, node.attr, lo, hi, alpha) if alpha is not None else spec.relax(xp, node.attr, lo, hi)
    if spec.intercepts is None:
        return Relaxation(*r)
    ls, us = (grid.outward(xp, Interval(s, s)).lo for s in (r[0], r[2]))
    li, ui = spec.intercepts(xp, node.attr, lo, hi, ls, us)
    scale = 2.0**-40 * (1 + xp.abs(ls) + xp.abs(us)) * (xp.abs(lo) + xp.abs(hi) + 1)
    low, up = grid.outward(xp, Interval(_widened(xp, spec, li, ls, -scale), _widened(xp, spec, ui, us, scale)))
    return Relaxation(ls, low, us, up)


def _widened(xp: Any, spec: ops.OpSpec, intercept: Any, slope: Any, by: Any) -> Any:
    """`intercept + by`, except, for an exact op (relu), where the intercept is 0 for a slope of 0 or 1.

    The widening covers float rounding in computing the intercepts. An exact op's intercepts are
    sums of products of the bounds by the slope; with a slope of 0 or 1 those products are exact,
    and a rounded difference is 0 only for equal terms, so a 0 is a true 0: a stable ReLU states its
    exact lines y = x or y = 0, which cost the checkers nothing (the Lean kernel skips a zero
    intercept, `intsZero`). An inexact op's intercepts come from float evaluations of its function
    (sigmoid), so they are always widened. Both checkers re-check every line either way.
    """
    if not spec.exact:
        return intercept + by
    return xp.where(((slope == 0) | (slope == 1)) & (intercept == 0), intercept, intercept + by)


def row_bounds(p: Plan, output: str, C: Any, bounds: Mapping[str, Interval], relaxations: Mapping[str, Relaxation],
               *, xp: Any = np) -> Any:
    """Sound float lower bounds of the rows C (B, K, *output shape) applied to the output."""
    result = backsubstitute(p, output, C, bounds, relaxations, xp=xp)
    return result.lower - SLACK * result.magnitude
