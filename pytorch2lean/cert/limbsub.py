"""Exact back-substitution on machine-word limbs (cert/wide.py), for nets of the steps handled here.

`backsub.backsubstitute` on an exact plan carries its coefficients as Python ints (`Scaled`): every
matrix product cuts them into limbs for BLAS and joins the result back into ints, and every
relaxation and concretisation step makes one Python multiply per element. On mnistfc 256x2 those
conversions and multiplies were most of a CROWN certificate's check. Here the coefficients stay in
limbs from the first rows to the row bounds, and only the bounds become Fractions.

The mathematics is `backsub.backsubstitute`'s, step for step: through an affine step the matrix's
transpose and the constant, through a relu its lower line where the exact coefficient is
nonnegative and its upper line where it is negative (at 0 both add 0), and at the model input the
least value over the box. Every operation is exact (cert/wide.py rounds nothing), so the bounds are
the very numbers the Fraction engine gives. The single check (cert/check.py) and the batched check
of a tree's leaves (cert/batch.py) both run `lower`; a net with any other op is left to
`backsub.backsubstitute`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import numpy as np

from ..ir import Graph, Node
from ..numeric.intmat import join_limbs
from . import wide
from .wide import Operand, Wide

MOVES = ("flatten", "reshape")  # ops that keep the flat (C-order) data as it is


class Pick(NamedTuple):
    """Two numbers per element, for the sums sum_j L_j (low_j where L_j >= 0, else high_j) of
    rows L: a relu's intercepts, the box's ends. `dot` (low and high - low as (n, 1) `matmul`
    operands) is given when every row reads the same numbers: a sum is then L low + min(L, 0)
    (high - low), two matrix-vector products on BLAS (one where low is 0, as a relu's lower
    intercepts are), where otherwise each term is formed."""

    low: Wide
    high: Wide
    dot: tuple[Operand | None, Operand] | None = None


def shared_pick(low: Wide, high: Wide) -> Pick:
    """A Pick whose numbers (of one row: shape (1, *shape)) every row reads."""
    column = (math.prod(low.shape), 1)
    first = wide.operand(low.reshape(column)) if np.any(low.d) else None
    return Pick(low, high, (first, wide.operand(wide.sub(high, low).reshape(column))))


class Relu(NamedTuple):
    """A relu's stated lines, as `lower` reads them: the slopes, and the intercepts as a Pick."""

    lower_slope: Wide
    upper_slope: Wide
    intercepts: Pick


@dataclass(frozen=True)
class Step:
    """How one node is computed, in the forms handled here: `kind` is "relu", "moves", "affine"
    (x @ matrix + bias) or "sum" (a signed sum of activations and a constant)."""

    kind: str
    x: str = ""  # the activation operand of relu, moves and affine
    matrix: tuple[Operand, Operand] | None = None  # affine: the matrix (k, m)'s positive and negative parts
    back: Operand | None = None  # affine: the matrix transposed (m, k), for back-substitution
    const: Wide | None = None  # affine's bias, sum's constant: over the node's shape
    const_dot: Operand | None = None  # the same as an (n, 1) `matmul` operand: rows times it are their constants
    terms: tuple[tuple[str, int], ...] = ()  # sum: (activation, +1 or -1)


class LimbPlan:
    """A model's nodes as steps (their constants in limbs, made once per model); `supported` when
    the model has one input and every node is a step handled here."""

    def __init__(self, graph: Graph) -> None:
        self.nodes = graph.nodes
        self.input = graph.inputs[0].name if len(graph.inputs) == 1 else None
        params = {p.name: p.exact() for p in graph.params}
        self.shapes: dict[str, tuple[int, ...]] = {i.name: tuple(i.shape) for i in graph.inputs[:1]}
        steps: dict[str, Step] = {}
        for node in graph.nodes:
            made = step(node, params, self.shapes)
            if made is None:
                break
            steps[node.id] = made
            self.shapes[node.id] = tuple(node.shape)
        self.supported = self.input is not None and len(steps) == len(graph.nodes)
        self.steps = steps

    def relus_up_to(self, start: str) -> list[str]:
        """The relu nodes a back-substitution from `start` may pass (every one at or before it)."""
        at = [n.id for n in self.nodes].index(start)
        return [n.id for n in self.nodes[:at + 1] if self.steps[n.id].kind == "relu"]


def step(node: Node, params: dict[str, Any], active: dict[str, tuple[int, ...]]) -> Step | None:
    """The node's step, or None when it is not one of the forms handled here (its activation
    operands must be the model input or earlier nodes handled here, the others parameters, and
    the activations of a sum must have the node's shape)."""
    args = node.inputs
    acts = [a in active for a in args]
    if not any(acts) or not all(a or r in params for a, r in zip(acts, args)):
        return None
    if node.op == "relu":
        return Step("relu", args[0])
    if node.op in MOVES:
        return Step("moves", args[0])
    if node.op in ("matmul", "linear") and acts[0] and not any(acts[1:]):
        weight = params[args[1]]
        if weight.ndim != 2 or (node.op == "matmul" and weight.shape[1] != node.shape[-1]):
            return None
        matrix = weight if node.op == "matmul" else weight.T
        bias = None if len(args) < 3 else wide.of_fractions(np.broadcast_to(params[args[2]], node.shape))
        m = wide.of_fractions(matrix)
        pos = wide.positive_part(m)
        parts = (wide.operand(pos), wide.operand(wide.sub(m, pos)))
        back = Wide(np.ascontiguousarray(m.d.transpose(0, 2, 1)), m.den)  # the same limbs, transposed
        return Step("affine", args[0], parts, wide.operand(back), bias, _column(bias))
    if node.op in ("add", "sub") and all(active[r] == tuple(node.shape) for a, r in zip(acts, args) if a):
        const = np.full(node.shape, 0, dtype=object)
        terms = []
        for act, name, s in zip(acts, args, (1, 1) if node.op == "add" else (1, -1)):
            if act:
                terms.append((name, s))
            else:
                const = const + s * np.broadcast_to(params[name], node.shape)
        exact = wide.of_fractions(const)
        return Step("sum", terms=tuple(terms), const=exact, const_dot=_column(exact))
    return None


def _column(v: Wide | None) -> Operand | None:
    """v (of a node's shape) as an (n, 1) `matmul` operand."""
    return None if v is None else wide.operand(v.reshape((math.prod(v.shape), 1)))


def lower(p: LimbPlan, coeffs: dict[str, Wide], lines: Callable[[str], Relu], box: Pick) -> Wide:
    """Exact lower bounds (R,) over the box of the R rows in `coeffs` (per node, (R, *its shape):
    the rows' coefficients on it, consumed): each relu by `lines(name)` (broadcasting against
    (R, *shape)), what reaches the model input minimised over `box` (the same)."""
    rows = next(iter(coeffs.values())).shape[0]
    parts: list[Wide] = [wide.zeros((rows,))]  # (R,) each: the constants the rows pick up
    for node in reversed(p.nodes):
        L = coeffs.pop(node.id, None)
        if L is not None:
            parts += _moved(p, node, L, coeffs, lines)
    for L in coeffs.values():  # what is left lies on the model input: its least value over the box
        parts.append(picked(L, box))
    return _sum_rows_of(parts)


def _sum_rows_of(parts: list[Wide]) -> Wide:
    """The sum of the parts (R,) each: a few numbers per row over many denominators, so added as
    Python ints over the lcm of the denominators, where limbs would be scaled part by part."""
    den = math.lcm(*(part.den for part in parts))
    total = sum(join_limbs(part.d) * (den // part.den) for part in parts)
    return wide.of_ints(np.asarray(total, dtype=object), den)


def _moved(p: LimbPlan, node: Node, L: Wide, coeffs: dict[str, Wide], lines: Callable[[str], Relu]) -> list[Wide]:
    """Move the rows' coefficients L on `node` to its operands (into `coeffs`); the constants
    they pick up, one (R,) sum per part."""
    step = p.steps[node.id]
    if step.kind == "relu":
        ls, us, intercepts = lines(node.id)
        up = wide.nonnegative(L)  # the lower line where L >= 0, the upper where L < 0 (at 0 either adds 0)
        _into(coeffs, step.x, wide.mul(L, wide.where(up, ls, us)))
        return [picked(L, intercepts)]
    if step.kind == "moves":
        _into(coeffs, step.x, L.reshape((L.shape[0],) + p.shapes[step.x]))
        return []
    if step.kind == "affine":
        _into(coeffs, step.x, wide.matmul(L, step.back))
        return [] if step.const_dot is None else [_dot(L, step.const_dot)]
    for name, s in step.terms:  # each of the node's shape
        _into(coeffs, name, L if s > 0 else wide.neg(L))
    return [_dot(L, step.const_dot)]


def picked(L: Wide, pick: Pick) -> Wide:
    """sum_j L_j (low_j where L_j >= 0, else high_j) for each row of L (R, *shape): (R,)."""
    if pick.dot is None:
        return _sum_rows(wide.mul(L, wide.where(wide.nonnegative(L), pick.low, pick.high)))
    low, gap = pick.dot
    below = _dot(wide.negative_part(L), gap)  # min(L, 0): the rows' terms that take high = low + gap
    return below if low is None else wide.add(_dot(L, low), below)


def _dot(L: Wide, column: Operand) -> Wide:
    """Each row of L (R, *shape) times the (n, 1) operand: (R,)."""
    rows = L.shape[0]
    return wide.matmul(L.reshape((rows, math.prod(L.shape[1:]))), column).reshape((rows,))


def _into(coeffs: dict[str, Wide], name: str, L: Wide) -> None:
    coeffs[name] = wide.add(coeffs[name], L) if name in coeffs else L


def _sum_rows(v: Wide) -> Wide:
    """Each row's sum over the node's elements: (R, *shape) -> (R,)."""
    return wide.total(v.reshape((v.shape[0], math.prod(v.shape[1:]))), 1)


def identity_rows(shape: tuple[int, ...], index: Any) -> Wide:
    """Rows +e_i then -e_i for the flat indices i in `index`, over a node of `shape`: (2m, *shape)."""
    size, m = math.prod(shape), len(index)
    eye = np.zeros((2 * m, size), dtype=np.int64)
    eye[np.arange(m), index] = 1
    eye[m + np.arange(m), index] = -1
    return Wide(eye.reshape((1, 2 * m) + tuple(shape)), 1)  # one signed limb: the normal form of -1, 0, 1


def lines_of(r: Any, shape: tuple[int, ...]) -> Relu:
    """A stated relaxation (`backsub.Relaxation` of Fractions) as a Relu of that `shape`: both
    slopes over one denominator (`lower` picks one of them per element, which then needs no
    scaling); the intercepts a Pick every row reads when `shape` has one row, else per row."""
    ls, li, us, ui = (wide.of_fractions(v).reshape(shape) for v in r)
    ls, us = _over_one(ls, us)
    return Relu(ls, us, shared_pick(li, ui) if shape[0] == 1 else Pick(*_over_one(li, ui)))


def _over_one(a: Wide, b: Wide) -> tuple[Wide, Wide]:
    """a and b over the lcm of their denominators (the same numbers)."""
    den = math.lcm(a.den, b.den)
    return Wide(wide.times_int(a, den // a.den).d, den), Wide(wide.times_int(b, den // b.den).d, den)


def box_of(lo: Any, hi: Any) -> Pick:
    """An exact interval's ends (object arrays of Fractions, one row) as a Pick every row reads."""
    return shared_pick(wide.of_fractions(lo), wide.of_fractions(hi))
