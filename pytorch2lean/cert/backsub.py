"""Back-substitution: moving linear functions of a node backwards through the graph to the inputs.

A linear function of a node, A y (K rows per batch entry), is moved backwards: through an affine op
by its backward rule (`OpSpec.affine_backward`) plus the constant the kernel gives at x = 0; through
an elementwise nonlinearity by its stated linear relaxation (the lower line where a row's coefficient
is positive, the upper line where it is negative); through an op with lines chosen from its
operands' bounds (`OpSpec.bound_backward`: maxpool, and batchnorm on exact plans, whose slope is only
enclosed) by those lines; any other node (softmax, a product of two activations) is bounded there by
its interval. At the model inputs the remaining linear function is minimised over the box.

The engine lives with the exact checker, which runs it on object arrays of Fractions (exact plans:
coefficients as Scaled integers) and trusts nothing else; the untrusted search (bounds/crown.py,
bounds/alpha.py) runs the same code in float64 on NumPy or CuPy. The checker imports nothing from
the search.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Mapping, NamedTuple

import numpy as np

from .. import ops
from ..ir import Graph, Node
from ..ops.base import Interval, Scaled, Symbolic, as_integers
from ..runtime.executor import exact_attrs

class Relaxation(NamedTuple):
    """lower_slope x + lower_intercept <= op(x) <= upper_slope x + upper_intercept, elementwise.

    Arrays of shape (B, *shape) (one relaxation for every row) or (B, K, *shape) (one per row).
    """

    lower_slope: Any
    lower_intercept: Any
    upper_slope: Any
    upper_intercept: Any


@dataclass(frozen=True)
class Plan:
    """A graph prepared for back-substitution on one array module, float64 or exact."""

    graph: Graph
    nodes: tuple[Node, ...]  # the nodes that depend on a model input, in order
    shapes: Mapping[str, tuple[int, ...]]
    consts: Mapping[str, Any]  # parameters, and nodes of parameters alone: their values, batch axis 1
    exact: bool
    at_zero: dict[str, Any] = field(default_factory=dict)  # cache: each affine node's kernel at x = 0 (None: 0)
    scaled: dict[str, Scaled] = field(default_factory=dict)  # cache: exact constants as integers

    def attrs(self, node: Node) -> Mapping[str, Any]:
        return exact_attrs(node) if self.exact else node.attr

    def operands(self, node: Node) -> list[Any]:
        """Constants as arrays, activations as Symbolic shapes: what backward rules take."""
        return [self.consts[r] if r in self.consts else Symbolic(self.shapes[r]) for r in node.inputs]

    def scaled_operands(self, node: Node) -> list[Any]:
        """`operands` with the exact constants as Scaled integers (computed once per constant)."""
        for r in node.inputs:
            if r in self.consts and r not in self.scaled:
                self.scaled[r] = Scaled.of(self.consts[r], frozen=True)
        return [self.scaled.get(r, o) for r, o in zip(node.inputs, self.operands(node))]


def plan(graph: Graph, *, xp: Any = np, exact: bool = False) -> Plan:
    """Split the (validated) graph into constants and the nodes CROWN moves through."""
    consts: dict[str, Any] = {}
    for p in graph.params:
        consts[p.name] = p.exact()[None] if exact else xp.asarray(p.array, dtype=xp.float64)[None]
    nodes = []
    for node in graph.nodes:
        if all(r in consts for r in node.inputs):
            attrs = exact_attrs(node) if exact else node.attr
            consts[node.id] = ops.get(node.op).kernel(xp, attrs, *(consts[r] for r in node.inputs))
        else:
            nodes.append(node)
    return Plan(graph, tuple(nodes), graph.shapes(), consts, exact)


class Backsub(NamedTuple):
    """The result of moving K rows back to the inputs."""

    lower: Any  # (B, K): a lower bound of each row's linear function, over the box
    magnitude: Any  # (B, K): the sum of |terms| that made it up (float rounding slack); 0 when exact
    kept: dict[str, Any]  # every node's coefficients (B, K, *shape), when asked for (alpha-CROWN)
    bounded: frozenset[str]  # the nodes bounded by their interval rather than moved through


def backsubstitute(p: Plan, start: str, A: Any, bounds: Mapping[str, Interval],
                   relaxations: Mapping[str, Relaxation], *, xp: Any = np, keep: bool = False,
                   seeds: Mapping[str, Any] | None = None) -> Backsub:
    """A lower bound of A y_start over the box, for A of shape (B, K, *shape of start).

    `bounds` must hold every model input and every node reached that has neither an affine rule
    nor a relaxation; `relaxations` those of the nonlinear nodes (a node without one is bounded by
    its interval). Nodes are visited once, in reverse order, after all their consumers.
    `seeds` adds linear terms S_n y_n of earlier nodes to the function bounded ((B, K, *shape of
    n) each): beta-CROWN's split multipliers (bounds.alpha).
    On an exact plan the coefficients travel as Scaled integers and only `lower` becomes Fractions.
    """
    coeffs = {start: Scaled.of(A) if p.exact else A}
    for name, S in (seeds or {}).items():
        _add(coeffs, name, Scaled.of(S) if p.exact else S)
    lower = Scaled(np.zeros(A.shape[:2], dtype=object), 1) if p.exact else _zeros_rows(xp, A)
    magnitude = _zeros_rows(xp, A)
    kept: dict[str, Any] = {}
    bounded = set()
    for node in reversed(p.nodes):
        L = coeffs.pop(node.id, None)
        if L is None:
            continue
        if keep:
            kept[node.id] = L
        if node.id in relaxations:
            low, mag = _through_relaxation(xp, L, relaxations[node.id], node, coeffs, p.exact)
        else:
            moved = _through_affine(xp, p, node, L, coeffs)
            if moved is None:
                moved = _through_bounds(xp, p, node, L, bounds, coeffs)
            if moved is None:
                bounded.add(node.id)
                moved = _concretize(xp, L, bounds[node.id], p.exact)
            low, mag = moved
        lower, magnitude = _plus(lower, low), magnitude if p.exact else magnitude + mag  # exact: no rounding, 0
    for name, L in coeffs.items():  # what is left lies on the model inputs
        if keep:
            kept[name] = L
        low, mag = _concretize(xp, L, bounds[name], p.exact)
        lower, magnitude = _plus(lower, low), magnitude if p.exact else magnitude + mag
    return Backsub(lower.fractions() if p.exact else lower, magnitude, kept, frozenset(bounded))


def _plus(a: Any, b: Any) -> Any:
    """a + b, for float arrays or Scaled integers."""
    return a.plus(b) if isinstance(a, Scaled) else a + b


def _zeros_rows(xp: Any, A: Any) -> Any:
    if A.dtype == np.dtype(object):
        return np.full(A.shape[:2], Fraction(0), dtype=object)
    return xp.zeros(A.shape[:2], dtype=A.dtype)


def _total(v: Any) -> Any:
    """Sum over every axis but the batch and row axes (a size, not -1: there may be no rows)."""
    return v.reshape(tuple(v.shape[:2]) + (math.prod(v.shape[2:]),)).sum(axis=2)


def per_row(v: Any, L: Any) -> Any:
    """v of shape (B, *shape) with a row axis inserted; v of shape (B, K, *shape) as it is."""
    return v if v.ndim == L.ndim else v[:, None]


def split(L: Any) -> tuple[Any, Any]:
    """The positive and negative parts of L (integers stay integers on exact arrays)."""
    pos = L * (L > 0)
    return pos, L - pos


def _add(coeffs: dict[str, Any], name: str, L: Any) -> None:
    coeffs[name] = _plus(coeffs[name], L) if name in coeffs else L


def _through_relaxation(xp: Any, L: Any, r: Relaxation, node: Node, coeffs: dict[str, Any],
                        exact: bool) -> tuple[Any, Any]:
    """Positive coefficients take the lower line, negative ones the upper (exact: over integers)."""
    ls, li, us, ui = (per_row(v, L.num if exact else L) for v in r)
    if not exact:
        pos, neg = split(L)
        _add(coeffs, node.inputs[0], pos * ls + neg * us)
        const = pos * li + neg * ui
        return _total(const), _total(xp.abs(const))
    up = L.num > 0  # one product per element with the line its sign picks (a 0 coefficient gives 0 either way)
    t, (ls, us) = as_integers(ls, us)
    u, (li, ui) = as_integers(li, ui)
    _add(coeffs, node.inputs[0], Scaled(L.num * np.where(up, ls, us), L.den * t))
    return Scaled(_total(L.num * np.where(up, li, ui)), L.den * u), 0


def _through_affine(xp: Any, p: Plan, node: Node, L: Any, coeffs: dict[str, Any]) -> tuple[Any, Any] | None:
    spec = ops.get(node.op)
    if spec.affine_backward is None or (p.exact and not spec.exact):
        return None
    operands = p.operands(node)
    moved = spec.affine_backward(xp, p.attrs(node), L, *(p.scaled_operands(node) if p.exact else operands))
    if moved is None:
        return None
    for name, coeff in zip(node.inputs, moved):
        if coeff is not None:
            _add(coeffs, name, coeff)
    if node.id not in p.at_zero:
        at_zero = spec.kernel(xp, p.attrs(node), *(_zero_input(xp, o, p.exact) for o in operands))[:, None]
        nonzero = bool((at_zero != 0).any())  # a linear op (flatten, a matmul without bias) adds no constant
        p.at_zero[node.id] = None if not nonzero else Scaled.of(at_zero) if p.exact else at_zero
    at_zero = p.at_zero[node.id]
    if at_zero is None:
        if p.exact:
            return Scaled(np.zeros(L.num.shape[:2], dtype=object), 1), 0
        zero = _zeros_rows(xp, L)
        return zero, zero
    if p.exact:
        return Scaled(_total(L.num * at_zero.num), L.den * at_zero.den), 0
    const = L * at_zero
    return _total(const), _total(xp.abs(const))


def _through_bounds(xp: Any, p: Plan, node: Node, L: Any, bounds: Mapping[str, Interval],
                    coeffs: dict[str, Any]) -> tuple[Any, Any] | None:
    """A node moved by lines its op chooses from its operands' bounds (`OpSpec.bound_backward`:
    maxpool, and batchnorm on exact plans), or None when the op has no such rule."""
    rule = ops.get(node.op).bound_backward
    if rule is None:
        return None
    moved, const = rule(xp, p.attrs(node), L, *(p.consts[r] if r in p.consts else bounds[r] for r in node.inputs))
    for name, coeff in zip(node.inputs, moved):
        if coeff is not None:
            _add(coeffs, name, coeff)
    if p.exact:
        return Scaled(_total(const.num), const.den), 0
    return _total(const), _total(xp.abs(const))


def _zero_input(xp: Any, operand: Any, exact: bool) -> Any:
    if not isinstance(operand, Symbolic):
        return operand
    shape = (1,) + tuple(operand.shape)
    return np.full(shape, Fraction(0), dtype=object) if exact else xp.zeros(shape, dtype=xp.float64)


def _concretize(xp: Any, L: Any, iv: Interval, exact: bool) -> tuple[Any, Any]:
    """The least value of L x over lo <= x <= hi, and its magnitude (exact: over integers)."""
    if exact:
        t, (lo, hi) = as_integers(per_row(iv.lo, L.num), per_row(iv.hi, L.num))
        return Scaled(_total(L.num * np.where(L.num > 0, lo, hi)), L.den * t), 0  # one product per element
    lo, hi = per_row(iv.lo, L), per_row(iv.hi, L)
    pos, neg = split(L)
    return _total(pos * lo + neg * hi), _total(xp.abs(L) * xp.maximum(xp.abs(lo), xp.abs(hi)))


def identity_rows(xp: Any, batch: int, shape: tuple[int, ...], index: Any, exact: bool = False) -> Any:
    """Rows +e_i then -e_i for the flat indices i in `index`, over a node of `shape`: their lower
    bounds are those elements' lower bounds and minus their upper bounds. Only the 2m rows are
    allocated (never the node's n x n identity: 4 GB for a conv layer of 23,328 elements)."""
    n, m = math.prod(shape), len(index)
    mod = np if exact else xp
    rows = np.zeros((2 * m, n), dtype=object) if exact else xp.zeros((2 * m, n), dtype=xp.float64)
    at = mod.arange(m)
    rows[at, index] = 1
    rows[m + at, index] = -1
    return mod.broadcast_to(rows.reshape((1, 2 * m) + shape), (batch, 2 * m) + shape)


def element_bounds(p: Plan, start: str, shape: tuple[int, ...], batch: int, index: Any,
                   bounds: Mapping[str, Interval], relaxations: Mapping[str, Relaxation], *, xp: Any = np,
                   chunk: int | None = None) -> tuple[Any, Any]:
    """Lower bounds (B, 2m) of the rows +e_i, then -e_i, of node `start` for the flat `index` (as
    `tightened_interval` reads them), and their magnitudes, back-substituted `chunk` elements at a
    time (all at once when None). Each row moves on its own, so the numbers are those of one pass;
    memory is that of 2 * chunk rows, which is what lets a conv layer of 10^4 elements be bounded."""
    m = len(index)
    step = m if chunk is None else max(1, chunk)
    plus, minus = [], []
    for s in range(0, m, step):
        part = index[s:s + step]
        result = backsubstitute(p, start, identity_rows(xp, batch, shape, part, p.exact), bounds, relaxations, xp=xp)
        k = len(part)
        plus.append((result.lower[:, :k], result.magnitude[:, :k]))
        minus.append((result.lower[:, k:], result.magnitude[:, k:]))
    cat = np.concatenate if p.exact else xp.concatenate
    parts = plus + minus
    return cat([low for low, _ in parts], axis=1), cat([mag for _, mag in parts], axis=1)


def tightened_interval(xp: Any, iv: Interval, index: Any, lower: Any) -> Interval:
    """iv with the elements at flat `index` intersected with the bounds from rows +e_i, -e_i (`lower`, (B, 2m))."""
    batch, m = lower.shape[0], len(index)
    low = lower.reshape((batch, 2, m))
    lo, hi = (v.reshape((batch, -1)).copy() for v in iv)
    lo[:, index] = xp.maximum(lo[:, index], low[:, 0])
    hi[:, index] = xp.minimum(hi[:, index], -low[:, 1])
    return Interval(lo.reshape(iv.lo.shape), hi.reshape(iv.hi.shape))
