"""alpha-CROWN: CROWN with the lower slopes of relu-like nodes optimised, per claim row, by projected gradient ascent.

Across its kink a relu is bounded below by alpha x for any alpha in [0, 1] (leaky relu: a slope
in [a, 1]); CROWN picks 0 or 1. Each constraint row of the claim gets its own slopes, optimised
to raise that row's lower bound (Xu et al. 2021). Intermediate bounds stay CROWN's.

The gradient is computed by hand, without autograd and without finite differences. The bound is
the sum, over the nodes a row meets going back, of terms linear in the relaxation lines; by the
chain rule through the back-substitution, d bound / d (line at node n) is the value the *relaxed*
network takes at n's operand at the point that attains the bound: the box corner picked by the
sign of the input coefficients, pushed forward through the affine kernels and, at every relaxed
node, through the line the row's coefficient sign chose (`primal`). With Lambda the row's
coefficients on n and x* that value, d bound / d alpha = Lambda+ (x* dls + dli) + Lambda- (x* dus + dui),
where d(line) / d alpha is exact: the relaxations of tunable ops are linear in alpha.

Steps are Adam steps projected onto [0, 1]; the best bound seen per row is kept, and the first
step evaluates CROWN's own slopes, so the result is never looser than CROWN.

beta-CROWN (Wang et al. 2021), for a branch-and-bound subproblem whose ReLU splits fix the signs of
some pre-activation elements z_j: each row bounds c y + sum_j beta_j s_j z_j instead, with s_j z_j <= 0
on the subproblem (s_j = -1 for z_j >= 0, +1 for z_j <= 0) and beta_j >= 0, so the bound still holds
for c y there, and the split constraints now tighten it (without them, a split only clamps bounds).
The terms enter the back-substitution as seeds on the split nodes; d bound / d beta_j is s_j times
z_j at the attaining point, from the same `primal` pass; betas start at 0 and stay >= 0.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

import numpy as np

from .. import ops
from ..ops.base import Interval
from .crown import SLACK, Backsub, Plan, Relaxation, backsubstitute, per_row, relaxation
from .grid import GRID, Grid

STEPS = 40
LEARNING_RATE = 0.1


class Optimised(NamedTuple):
    """alpha-CROWN's result: the best lower bounds (B, K) of the rows, the per-row relaxations and,
    for split subproblems, the beta multipliers that give them."""

    lower: Any
    lines: dict[str, Relaxation]
    betas: dict[str, Any]  # per split node: (B, K, *shape) >= 0 on the grid, 0 off the split elements


def optimise(p: Plan, output: str, C: Any, bounds: Mapping[str, Interval], relaxations: Mapping[str, Relaxation],
             *, xp: Any = np, grid: Grid = GRID, steps: int = STEPS, lr: float = LEARNING_RATE,
             splits: Mapping[str, Any] | None = None) -> Optimised:
    """The best lower bounds (B, K) of the rows C over the output, the per-row relaxations and betas that give them.

    `splits` (beta-CROWN) gives, per node with split elements, their signs s (B, *shape): -1 where
    the subproblem has the element >= 0, +1 where <= 0, 0 elsewhere. Then s z <= 0 on the
    subproblem, so for any beta >= 0 the row's bound of c y + sum beta s z is a bound of c y there;
    the betas are optimised along with the slopes (gradient: s times z at the attaining point).
    """
    signs = dict(splits or {})
    nodes = {n.id: n for n in p.nodes if n.id in relaxations and ops.get(n.op).tunable}
    if not nodes and not signs:
        result = backsubstitute(p, output, C, bounds, relaxations, xp=xp)
        return Optimised(result.lower - SLACK * result.magnitude, {}, {})
    operand = {name: bounds[n.inputs[0]] for name, n in nodes.items()}
    alpha = {name: xp.broadcast_to((iv.hi >= -iv.lo)[:, None] * 1.0, C.shape[:2] + iv.lo.shape[1:]).copy()
             for name, iv in operand.items()}
    beta = {name: xp.zeros(C.shape[:2] + s.shape[1:]) for name, s in signs.items()}  # 0: plain alpha-CROWN first
    slope = {name: _derivative(xp, nodes[name], iv) for name, iv in operand.items()}
    adam = {name: (xp.zeros_like(a), xp.zeros_like(a)) for name, a in alpha.items()}
    adam_beta = {name: (xp.zeros_like(b), xp.zeros_like(b)) for name, b in beta.items()}
    best, best_alpha, best_beta = None, dict(alpha), dict(beta)
    for step in range(steps + 1):
        lines = {name: relaxation(xp, ops.get(nodes[name].op), nodes[name], operand[name], grid, alpha[name])
                 for name in nodes}
        merged = {**relaxations, **lines}
        result = backsubstitute(p, output, C, bounds, merged, xp=xp, keep=True, seeds=seeds(beta, signs))
        low = result.lower - SLACK * result.magnitude
        better = low > best if best is not None else xp.ones(low.shape, dtype=bool)
        best = low if best is None else xp.where(better, low, best)
        best_alpha = {name: xp.where(_spread(better, a), a, best_alpha[name]) for name, a in alpha.items()}
        best_beta = {name: xp.where(_spread(better, b), b, best_beta[name]) for name, b in beta.items()}
        if step == steps:
            break
        values = primal(p, result, bounds, merged, xp=xp)
        for name, node in nodes.items():
            pos, neg = _parts(result.kept.get(name))
            if pos is None:
                continue
            x, (dls, dli, dus, dui) = values[node.inputs[0]], slope[name]
            grad = pos * (x * per_row(dls, x) + per_row(dli, x)) + neg * (x * per_row(dus, x) + per_row(dui, x))
            alpha[name], adam[name] = _adam_step(xp, alpha[name], grad, adam[name], step + 1, lr, 1.0)
        for name, s in signs.items():
            grad = per_row(s, beta[name]) * values[name]
            beta[name], adam_beta[name] = _adam_step(xp, beta[name], grad, adam_beta[name], step + 1, lr, None)
    final = {name: relaxation(xp, ops.get(nodes[name].op), nodes[name], operand[name], grid, best_alpha[name])
             for name in nodes}
    return Optimised(best, final, {name: _stated_beta(xp, grid, b, signs[name]) for name, b in best_beta.items()})


def seeds(betas: Mapping[str, Any], signs: Mapping[str, Any]) -> dict[str, Any]:
    """The split terms beta s z as back-substitution seeds: per node, beta s (B, K, *shape)."""
    return {name: b * per_row(signs[name], b) for name, b in betas.items()}


def _stated_beta(xp: Any, grid: Grid, b: Any, s: Any) -> Any:
    """Betas as a certificate states them: on the grid, rounded down, >= 0, and 0 off the split elements."""
    down = grid.outward(xp, Interval(b, b)).lo
    return xp.maximum(down, 0.0) * (per_row(s, b) != 0)


def _spread(mask: Any, like: Any) -> Any:
    """A (B, K) mask broadcast over the trailing axes of `like`."""
    return mask.reshape(tuple(mask.shape) + (1,) * (like.ndim - 2))


def _parts(L: Any) -> tuple[Any, Any]:
    if L is None:
        return None, None
    pos = L * (L > 0)
    return pos, L - pos


def _derivative(xp: Any, node: Any, iv: Interval) -> Relaxation:
    """d(line)/d alpha: the relaxation at alpha = 1 minus at alpha = 0 (it is linear in alpha)."""
    spec = ops.get(node.op)
    ones = xp.ones(iv.lo.shape, dtype=xp.float64)
    at_one, at_zero = (spec.relax(xp, node.attr, iv.lo, iv.hi, ones * t) for t in (1.0, 0.0))
    return Relaxation(*(a - b for a, b in zip(at_one, at_zero)))


def _adam_step(xp: Any, a: Any, grad: Any, state: tuple[Any, Any], t: int, lr: float,
               top: float | None) -> tuple[Any, tuple[Any, Any]]:
    """One Adam ascent step, projected onto [0, top] (top None: [0, inf))."""
    m, v = state
    m = 0.9 * m + 0.1 * grad
    v = 0.999 * v + 0.001 * grad * grad
    step = lr * (m / (1 - 0.9**t)) / (xp.sqrt(v / (1 - 0.999**t)) + 1e-12)
    return xp.clip(a + step, 0.0, top), (m, v)


def primal(p: Plan, result: Backsub, bounds: Mapping[str, Interval], relaxations: Mapping[str, Relaxation],
           *, xp: Any = np) -> dict[str, Any]:
    """Per row, the value of every node reached in the relaxed network at the point attaining the bound.

    Inputs sit at the box corner the row's coefficients pick; affine nodes apply their kernel (rows
    folded into the batch); relaxed nodes apply the line their coefficient's sign chose; nodes
    bounded by their interval sit at the end that sign picked. Shapes (B, K, *node shape).
    """
    kept = result.kept
    values = {name: _corner(xp, kept[name], bounds[name]) for name in kept if name not in {n.id for n in p.nodes}}
    for node in p.nodes:
        L = kept.get(node.id)
        if L is None:
            continue
        if node.id in relaxations:
            ls, li, us, ui = (per_row(v, L) for v in relaxations[node.id])
            x = values[node.inputs[0]]
            values[node.id] = xp.where(L > 0, ls * x + li, us * x + ui)
        elif node.id in result.bounded:
            values[node.id] = _corner(xp, L, bounds[node.id])
        else:
            values[node.id] = _forward(xp, p, node, values, L.shape)
    return values


def _corner(xp: Any, L: Any, iv: Interval) -> Any:
    return xp.where(L > 0, per_row(iv.lo, L), per_row(iv.hi, L))


def _forward(xp: Any, p: Plan, node: Any, values: Mapping[str, Any], shape: tuple[int, ...]) -> Any:
    b, k = shape[:2]
    args = [p.consts[r] if r in p.consts else values[r].reshape((b * k,) + tuple(values[r].shape[2:]))
            for r in node.inputs]
    out = ops.get(node.op).kernel(xp, p.attrs(node), *args)
    return xp.broadcast_to(out, (b * k,) + tuple(out.shape[1:])).reshape(shape)
