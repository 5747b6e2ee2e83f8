"""Branch and bound, by input splitting or by ReLU splitting, and its certificate: the split tree
plus one certificate per leaf.

Input splitting (for models with a small input: ACAS Xu has 5) cuts a box too wide for one bound
pass in two on one coordinate, again and again, until every piece is proven or the budget is spent.
Each piece is bounded in float64, batched, with the claim's rows by CROWN and the hidden nodes either
by CROWN too (`hidden="crown"`, the default: far fewer pieces on ACAS Xu) or by IBP (`hidden="ibp"`:
the relu relaxations taken on the IBP bounds, a weaker bound whose certificate back-substitutes only
the claim's rows and so is far cheaper to check). Every proven piece becomes a `pytorch2lean.cert.v1`
certificate, from the first of these numbers that proves it: its own pass (method "crown"; the
IBP-hidden one when that proves the piece too, else the CROWN one, with `crown.backsub_rows`, only
its unstable elements back-substituted); its parent's best numbers restated for it
(`Bounder.restated`: every number of a pass stays sound on a sub-box, and only the claim rows'
linear functions are minimised again, over the smaller box; CROWN is not monotone in the box, so a
half is sometimes proven by its parent's numbers and not by its own); or its own pass with the claim
rows' relu lines optimised by alpha-CROWN (method "alpha", TUNE_STEPS steps on the same node
bounds). A piece's numbers are read off the batched pass (a piece's bounds there are the ones it
gets alone: `crown.node_bounds` tightens each entry at its own elements; the exact check decides
anyway). The cut is chosen by strong branching: both halves of every candidate cut (the
STRONG_DIMS coordinates of largest |coefficient| x width in the CROWN bound of the row closest to
excluding the first unproven unsafe term, each cut narrowing the float box) are bounded in one
batched pass, and the cut whose worse half comes closest to proven wins (a cut that proves a thin
half but leaves the other as hard as the piece loses), its halves' bounds already computed. On the
ACAS Xu set of benchmarks/bench_bab.py this takes several times fewer leaves than cutting by the
|coefficient| x width score alone. The split point is a dyadic near the middle (`split_point`),
strictly inside the box, so the halves [lo, s] and [s, hi] share only x_i = s.

ReLU splitting (for models with a large input: mnistfc has 784) keeps the box and splits an unstable
neuron, an element of a relu's operand whose bounds cross 0, into two cases: >= 0 and <= 0. A
subproblem is the box with its cases; CROWN bounds it with the cased elements' bounds clamped at 0
(`crown.node_bounds`'s clamp hook), so their relaxations are exact and every later bound is
recomputed under them, and alpha-CROWN (RELU_STEPS steps) bounds the claim rows (on mnistfc it
proves far more subproblems than CROWN, for about three times the float work), with beta-CROWN
multipliers for the split cases (bounds/alpha.py): each case z >= 0 or z <= 0 enters the claim rows'
bounds as a Lagrangian term, so splits tighten the bound beyond the clamps (with clamps alone, once
every neuron is split the bound is each piece's linear function minimised over the whole box). A
subproblem whose clamps leave an element no value has no input at all and is proven vacuously. The
neuron split is the unstable one with the largest BaBSR-style score |coefficient of the branching
claim row on the relu| x u (-l) / (u - l) (the area its triangle relaxation gives up), summed over
the claim rows that are not yet proven. Every proven subproblem becomes a cert.v1 certificate
(method "alpha", the claim rows' lines and betas stated) with its cases (cert/format.py): the
checker clamps the cased elements the same way and adds the stated beta terms, exactly. A
subproblem still unproven with every neuron split stops the search (STUCK): its claim is false
there, or beyond what the multipliers' bound reaches.

`split="auto"` chooses input splitting for inputs of at most AUTO_INPUTS coordinates, else ReLU
splitting. Either search runs depth first, batched; unproven pieces left at the deadline come back
for the falsifier.

The certificate, `pytorch2lean.bab.v1` (the split tree and one cert.v1 certificate per leaf), and
its exact check are in cert/tree.py.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from .. import ops
from ..cert.check import box_interval
from ..cert.claim import claim_failure, claim_rows
from ..cert.format import Case, Certificate, CrownPart, number_text, numbers_text, to_json, unsafe_terms
from ..cert.tree import FORMAT
from ..errors import UserError
from ..ir import Graph, digest, validate
from ..numeric.float32 import exact_floats
from ..ops.base import Interval, Unbounded
from ..spec.box import Box
from ..spec.numbers import round_f32_down, round_f32_up
from ..spec.property import Property
from . import alpha, crown
from .grid import GRID
from .ibp import float_bounds, stated_box, stated_relaxation

BATCH = {"ibp": 256, "crown": 16}  # boxes bounded together in one float pass (CROWN's cost grows faster)
HIDDEN = tuple(BATCH)
SPLITS = ("auto", "input", "relu")
AUTO_INPUTS = 32  # split="auto": input splitting up to this many input coordinates, ReLU splitting above
RELU_STEPS = 20  # alpha-CROWN steps for the claim rows of every ReLU-splitting subproblem
TUNE_STEPS = 20  # input splitting: alpha-CROWN steps for the claim rows of a piece CROWN leaves unproven
STRONG_BOXES = {"ibp": 256, "crown": 80}  # input splitting: candidate halves bounded together in one pass
BALANCE = 3  # input splitting: a coordinate is cut only while its share of the root width is within 2**BALANCE of the widest share
STRONG_DIMS = 8  # input splitting: coordinates tried per piece at most (the best by |coefficient| x width)
TIME_IS_UP = "time is up"  # the search's budget is spent
MAX_LEAVES = 20_000  # proven leaves at most: the certificate and its check grow with them
MAX_DEPTH = 200  # ReLU splits on one path at most (the tree's JSON, and its walk, recurse along a path)
STUCK = f"a subproblem cannot be split further (no unstable neuron left, or {MAX_DEPTH} cases)"

# The search's tree: slot -> a leaf index, ("dim", i, at) or ("relu", node id, index); the children of
# slot s are in slots 2s+1 (below / nonneg) and 2s+2 (above / nonpos).
Entry = Any


@dataclass(frozen=True)
class BabResult:
    """`verdict` "holds" (the certificate, not yet checked, claims it) or "unknown"/"timeout";
    `open_boxes`: the pieces left unproven (where to look for a counterexample)."""

    verdict: str
    certificate: str | None
    open_boxes: tuple[Box, ...]
    leaves: int
    reason: str


@dataclass(frozen=True)
class BabProgress:
    """Where a search stands after a batch, for a progress display: leaves proven so far, pieces (or
    ReLU subproblems) still open, and seconds left of its budget. A search can run for minutes with
    nothing else to show; these three say whether it is converging or will run out of time."""

    leaves: int
    open: int
    seconds_left: float


Report = Callable[[BabProgress], None]


def _quiet(_: BabProgress) -> None:
    """The report of a search nobody watches."""


class Pass(NamedTuple):
    """One batched float bound pass over B boxes (and cases): everything a leaf certificate states."""

    env: dict[str, Interval]  # every node's bounds
    relaxations: dict[str, crown.Relaxation]
    result: crown.Backsub | None  # the claim rows' back-substitution (coefficients kept), when there are rows
    empty: np.ndarray  # (B,): the subproblem's cases leave no input (proven vacuously)
    rows: dict[str, tuple[tuple[int, ...], ...]]  # per node and entry, the elements back-substituted (CROWN hidden)
    claim_lines: dict[str, crown.Relaxation]  # per-row lines of the claim (alpha-CROWN)
    betas: dict[str, np.ndarray]  # per split node, the claim rows' multipliers (beta-CROWN)


class Evaluation(NamedTuple):
    """One batched float pass: per subproblem, its margins and what branching needs."""

    margin: np.ndarray  # (B, T): per unsafe term, the best lower bound of c.y - d; > 0 excludes the term
    bounded: Pass
    row: np.ndarray  # (B,): the row to branch on, the best row of the first term not excluded
    open_rows: np.ndarray  # (B, K): the rows that are the best row of some term not excluded


class _Clamp:
    """The cases of a batch of subproblems as a `crown.node_bounds` clamp hook: each cased element's
    bounds cut at 0. Where that leaves no value, the bounds are kept as they were and the subproblem
    is marked `empty` (its domain has no input)."""

    def __init__(self, cases: Sequence[Sequence[Case]]) -> None:
        self.batch = len(cases)
        self.where: dict[str, list[tuple[int, int, bool]]] = {}  # node -> (subproblem, flat index, nonneg)
        for k, entry in enumerate(cases):
            for name, index, sign in entry:
                self.where.setdefault(name, []).append((k, index, sign == "nonneg"))
        self.empty = np.zeros(self.batch, dtype=bool)

    def __call__(self, name: str, iv: Interval) -> Interval:
        if name not in self.where:
            return iv
        lo, hi = (np.array(np.broadcast_to(v, (self.batch,) + v.shape[1:])).reshape(self.batch, -1) for v in iv)
        for k, index, nonneg in self.where[name]:
            low, up = (0.0, hi[k, index]) if nonneg else (lo[k, index], 0.0)
            new = (max(lo[k, index], low), min(hi[k, index], up))
            if new[0] > new[1]:
                self.empty[k] = True
            else:
                lo[k, index], hi[k, index] = new
        return Interval(lo.reshape((self.batch,) + iv.lo.shape[1:]), hi.reshape((self.batch,) + iv.hi.shape[1:]))


class Bounder:
    """The float bound pass and the leaf certificates of one model, output and property."""

    def __init__(self, graph: Graph, prop: Property, output: str | None = None, *, hidden: str = "ibp",
                 steps: int = 0) -> None:
        if hidden not in HIDDEN:
            raise UserError(f"hidden-node bounds {hidden!r}: choose one of {', '.join(HIDDEN)}")
        self.hidden = hidden
        self.steps = steps  # alpha-CROWN steps for the claim rows (0: plain CROWN)
        self.graph = validate(graph)
        if len(self.graph.inputs) != 1:
            raise UserError(f"branch and bound needs a one-input model; this one has {len(self.graph.inputs)}")
        self.input = self.graph.inputs[0]
        self.output = self.graph.outputs[0] if output is None else output
        self.prop = prop
        self.plan = crown.plan(self.graph)
        self.rows = claim_rows(prop)
        self.C = np.array([[float(c) for c in row] for row in self.rows]).reshape(
            (len(self.rows),) + tuple(self.graph.shapes()[self.output]))
        index = {row: k for k, row in enumerate(self.rows)}
        self.terms = [[(index[c.coeffs], float(c.bound)) for c in term] for term in unsafe_terms(prop)]

    def bound(self, lo: np.ndarray, hi: np.ndarray, cases: Sequence[Sequence[Case]] | None = None) -> Pass:
        """Float bounds of every node, relaxations, the claim rows' back-substitution, and which
        subproblems are empty, for B flat boxes (and, for ReLU splitting, each one's cases)."""
        shape = (len(lo),) + tuple(self.input.shape)
        inputs = {self.input.name: Interval(lo.reshape(shape), hi.reshape(shape))}
        env = {**inputs, **float_bounds(self.graph, inputs)}
        clamp = None if cases is None else _Clamp(cases)
        rows: dict[str, tuple[tuple[int, ...], ...]] = {}
        if self.hidden == "crown":
            found = crown.node_bounds(self.plan, inputs, xp=np, grid=GRID, clamp=clamp)
            env.update(found.bounds)
            relaxations, rows = found.relaxations, found.rows
        else:
            relaxations = {n.id: crown.relaxation(np, ops.get(n.op), n, env[n.inputs[0]], GRID) for n in self.plan.nodes
                           if ops.get(n.op).relax is not None and ops.get(n.op).intercepts is not None}
        empty = np.zeros(len(lo), dtype=bool) if clamp is None else clamp.empty
        signs = self._signs(cases) if cases is not None else {}
        return self._claim(env, relaxations, rows, empty, signs, self.steps)

    def _claim(self, env: dict[str, Interval], relaxations: dict[str, crown.Relaxation],
               rows: dict[str, tuple[tuple[int, ...], ...]], empty: np.ndarray, signs: dict[str, np.ndarray],
               steps: int) -> Pass:
        """The pass completed by the claim rows' bounds on the given node bounds and relaxations: with
        `steps` > 0 their lines (and betas) optimised by alpha-CROWN first; then one back-substitution
        keeping coefficients (for branching and for the rows' stated lines)."""
        C = np.broadcast_to(self.C[None], (len(empty),) + self.C.shape)
        claim_lines: dict[str, crown.Relaxation] = {}
        betas: dict[str, np.ndarray] = {}
        if self.rows and steps:
            _, claim_lines, betas = alpha.optimise(self.plan, self.output, C, env, relaxations, steps=steps,
                                                   splits=signs)
        lines = {**relaxations, **claim_lines}
        seeds = alpha.seeds(betas, signs)
        result = crown.backsubstitute(self.plan, self.output, C, env, lines, keep=True, seeds=seeds) if self.rows else None
        return Pass(env, relaxations, result, empty, rows, claim_lines, betas)

    def tuned(self, bounded: Pass, which: Sequence[int], steps: int) -> Pass:
        """Entries `which` of a pass (without cases) with their claim rows bounded again by alpha-CROWN
        (`steps` steps), on the pass's own node bounds and relaxations: no hidden node is bounded
        twice, and the leaf certificate states the same numbers plus the rows' lines."""
        picked = select(bounded, which)
        return self._claim(picked.env, picked.relaxations, picked.rows, picked.empty, {}, steps)

    def restated(self, source: Pass, lo: np.ndarray, hi: np.ndarray) -> Pass:
        """A one-entry pass of a box restated for the sub-box [lo, hi] (flat, float64) of that box.

        Every number of a pass stays sound on a sub-box: each node's interval rule and each
        back-substitution only shrink with the box (the checker re-derives them from the sub-box,
        then from the same stated bounds), so each stated bound still contains them, and every
        relaxation is still checked on the same stated operand bounds. Only the claim rows' bounds
        change: each row's linear function of the input (its kept coefficients) is minimised over
        the sub-box instead, widened by SLACK against the float sums. So a piece whose own pass
        (CROWN is not monotone in the box) or whose coarser box leaves it unproven may be proven
        by an ancestor's numbers."""
        box = source.env[self.input.name]
        shape = (1,) + tuple(self.input.shape)
        env = {**source.env, self.input.name: Interval(lo.reshape(shape), hi.reshape(shape))}
        result = source.result
        if result is None:
            return source._replace(env=env)
        A = result.kept[self.input.name].reshape(1, len(self.rows), -1)
        old_lo, old_hi = box.lo.reshape(1, 1, -1), box.hi.reshape(1, 1, -1)
        new_lo, new_hi = lo.reshape(1, 1, -1), hi.reshape(1, 1, -1)
        gain = (np.minimum(A * new_lo, A * new_hi) - np.minimum(A * old_lo, A * old_hi)).sum(axis=2)
        terms = (np.abs(A) * (np.abs(new_lo) + np.abs(new_hi) + np.abs(old_lo) + np.abs(old_hi))).sum(axis=2)
        moved = crown.Backsub(result.lower + gain, result.magnitude + terms, result.kept, result.bounded)
        return source._replace(env=env, result=moved)

    def _signs(self, cases: Sequence[Sequence[Case]]) -> dict[str, np.ndarray]:
        """Per node with split elements, their signs for beta-CROWN (B, *shape): -1 where a
        subproblem has the element >= 0, +1 where <= 0, 0 elsewhere."""
        shapes = self.graph.shapes()
        signs: dict[str, np.ndarray] = {}
        for b, entry in enumerate(cases):
            for name, index, sign in entry:
                s = signs.setdefault(name, np.zeros((len(cases), math.prod(shapes[name]))))
                s[b, index] = -1.0 if sign == "nonneg" else 1.0
        return {name: s.reshape((len(cases),) + tuple(shapes[name])) for name, s in signs.items()}

    def evaluate(self, lo: np.ndarray, hi: np.ndarray, cases: Sequence[Sequence[Case]] | None = None) -> Evaluation:
        """Per box (and cases) and unsafe term, the best (largest) lower bound of c.y - d over the term's
        constraints, and the rows to branch on."""
        return self.judge(self.bound(lo, hi, cases))

    def judge(self, bounded: Pass) -> Evaluation:
        """Per entry of a pass and unsafe term, the best lower bound of c.y - d (the claim rows'
        back-substituted bounds or the output's bounds, whichever is larger), and the rows to branch on."""
        env, result = bounded.env, bounded.result
        out = env[self.output]
        batch = len(bounded.empty)
        rows = np.zeros((batch, len(self.rows)))
        if result is not None:
            rows = result.lower - crown.SLACK * result.magnitude
        C = self.C.reshape(len(self.rows), -1)
        olo, ohi = (np.broadcast_to(v, (batch,) + v.shape[1:]).reshape(batch, -1) for v in out)
        ibp = np.maximum(C, 0) @ olo.T + np.minimum(C, 0) @ ohi.T if len(self.rows) else rows.T
        rows = np.maximum(rows, ibp.T)
        per_term = [np.stack([rows[:, k] - d for k, d in term] or [np.full(batch, -np.inf)], axis=1)
                    for term in self.terms]
        margin = np.stack([m.max(axis=1) for m in per_term] or [np.full(batch, np.inf)], axis=1)
        best = np.stack([np.array([term[i][0] for i in m.argmax(axis=1)]) if term else np.full(batch, -1)
                         for term, m in zip(self.terms, per_term)] or [np.full(batch, -1)], axis=1)  # (B, T)
        first = (margin <= 0).argmax(axis=1)
        open_rows = np.zeros((batch, len(self.rows)), dtype=bool)
        for b, t in zip(*np.nonzero((margin <= 0) & (best >= 0))):
            open_rows[b, best[b, t]] = True
        return Evaluation(margin, bounded, best[np.arange(batch), first], open_rows)

    def input_coefficients(self, ev: Evaluation) -> np.ndarray:
        """Per box, the input coefficients of its branching row (zeros where there is none)."""
        coeffs = np.zeros((len(ev.row), math.prod(self.input.shape)))
        if ev.bounded.result is not None:
            kept = ev.bounded.result.kept[self.input.name].reshape(len(ev.row), len(self.rows), -1)
            for b, k in enumerate(ev.row):
                if k >= 0:
                    coeffs[b] = kept[b, k]
        return coeffs

    def relu_choice(self, ev: Evaluation, b: int) -> tuple[str, int] | None:
        """The unstable neuron of subproblem b with the largest score: |coefficient| x u (-l) / (u - l)
        summed over its open claim rows (the width u - l breaks ties); None when none is unstable."""
        best, choice = (-1.0, -1.0), None
        for node in self.plan.nodes:
            if not ops.get(node.op).tunable:
                continue
            operand = node.inputs[0]
            lo, hi = (v[b].reshape(-1) for v in ev.bounded.env[operand])
            unstable = (lo < 0) & (hi > 0)
            if not unstable.any():
                continue
            area = np.where(unstable, hi * -lo / np.where(unstable, hi - lo, 1.0), 0.0)
            lam = 0.0
            result = ev.bounded.result
            if result is not None and node.id in result.kept:
                lam = np.abs(result.kept[node.id][b][ev.open_rows[b]]).reshape(-1, lo.size).sum(axis=0)
            score = np.where(unstable, lam * area, -1.0)
            i = int(np.lexsort((-(hi - lo), -score))[0])
            if (score[i], hi[i] - lo[i]) > best:
                best, choice = (score[i], hi[i] - lo[i]), (operand, i)
        return choice

    def certificate(self, box: Box, cases: tuple[Case, ...] = ()) -> Certificate:
        """The leaf certificate of `box` (flat or shaped) and `cases`, from a pass of its own."""
        lo, hi = (a.astype(np.float64).reshape(1, -1) for a in box.reshape(self.input.shape).to_float_arrays())
        return self.certificate_of(self.bound(lo, hi, [cases] if cases else None), 0, box, cases)

    def certificate_of(self, bounded: Pass, b: int, box: Box, cases: tuple[Case, ...] = ()) -> Certificate:
        """The leaf certificate of entry b of a batched pass, whose box (and cases) are `box` (and
        `cases`): bounds, relu lines, the elements back-substituted, the claim rows' lines and betas."""
        box = box.reshape(self.input.shape)
        nodes = {n.id: n for n in self.graph.nodes}
        stated = {n.id: stated_box(np, bounded.env[n.id].map(lambda v: _entry(v, b)), n) for n in self.graph.nodes}
        out_box = stated[self.output] if self.output in stated else box
        result = bounded.result
        rows = {} if result is None else dict(zip(self.rows, exact_floats((result.lower - crown.SLACK * result.magnitude)[b].tolist())))
        failure = None if bounded.empty[b] else claim_failure(self.prop, box_interval(out_box), rows)
        backsub = tuple(n for n in nodes if n in bounded.rows and bounded.rows[n][b])
        per_row = tuple((name, stated_relaxation(np, _entry_of(r, b), (len(self.rows),) + nodes[name].shape))
                        for name, r in bounded.claim_lines.items())
        betas = tuple(tuple(Fraction(float(bounded.betas[name][b, k].reshape(-1)[index])) for name, index, _ in sorted(cases))
                      for k in range(len(self.rows))) if bounded.betas else ()
        part = CrownPart(backsub, tuple((name, stated_relaxation(np, _entry_of(r, b), nodes[name].shape))
                                        for name, r in bounded.relaxations.items()),
                         per_row, tuple((name, bounded.rows[name][b]) for name in backsub), betas)
        method = "alpha" if per_row else "crown"
        return Certificate(digest(self.graph), method, ((self.input.name, box),), self.output, self.prop,
                           tuple(sorted(stated.items())), "unknown" if failure else "holds", part, tuple(sorted(cases)))


def _entry(v: np.ndarray, b: int) -> np.ndarray:
    """Batch entry b of an array (batch axis first; an axis of size 1 is shared by every entry)."""
    return v[b:b + 1] if v.shape[0] > 1 else v


def _entry_of(r: crown.Relaxation, b: int) -> crown.Relaxation:
    return crown.Relaxation(*(_entry(v, b) for v in r))


def select(bounded: Pass, which: Sequence[int]) -> Pass:
    """Entries `which` of a pass, as a pass of their own (shared arrays, batch axis of size 1, stay shared)."""
    index = np.asarray(which, dtype=np.intp)

    def pick(v: np.ndarray) -> np.ndarray:
        return v[index] if v.shape[0] > 1 else v

    result = bounded.result
    if result is not None:
        result = crown.Backsub(pick(result.lower), pick(result.magnitude),
                               {name: pick(v) for name, v in result.kept.items()}, result.bounded)
    return Pass({name: iv.map(pick) for name, iv in bounded.env.items()},
                {name: crown.Relaxation(*(pick(v) for v in r)) for name, r in bounded.relaxations.items()},
                result, bounded.empty[index], {name: tuple(entry[i] for i in which) for name, entry in bounded.rows.items()},
                {name: crown.Relaxation(*(pick(v) for v in r)) for name, r in bounded.claim_lines.items()},
                {name: pick(v) for name, v in bounded.betas.items()})


@dataclass
class _Piece:
    """A box still to prove: its tree slot, exact bounds (flat) and float32 enclosure as float64, and
    the input coefficients of its branching row from the pass that bounded it (None before one)."""

    slot: int
    lower: list[Fraction]
    upper: list[Fraction]
    lo: np.ndarray
    hi: np.ndarray
    coeffs: np.ndarray | None = None
    source: Pass | None = None  # a one-entry pass whose numbers bound it best so far (its own, or an ancestor's)

    def box(self, shape: tuple[int, ...]) -> Box:
        """The piece's exact box."""
        return Box(tuple(self.lower), tuple(self.upper), shape)

    def dims(self, root: np.ndarray) -> list[int]:
        """The coordinates to try cutting: at most STRONG_DIMS, by |coefficient| x width (the width
        breaks ties; by index after that), each one whose cut narrows both halves' float boxes (a
        cut within one float32 step leaves the float pass the same box: it could never help) and
        whose width, as a fraction of the root box's (`root`), is within 2**BALANCE of the largest
        such fraction: cutting the same coordinates again and again raises the bound less and less
        while the others stay wide, yet each such cut may still look best one cut ahead."""
        width = self.hi - self.lo
        share = np.divide(width, root, out=np.zeros_like(width), where=root > 0)
        score = width if self.coeffs is None else np.abs(self.coeffs) * width
        order = np.lexsort((np.arange(len(width)), -width, -score))
        fit = [int(d) for d in order if self._narrows(int(d))]
        widest = max((share[d] for d in fit), default=0.0)
        return [d for d in fit if share[d] * 2**BALANCE >= widest][:STRONG_DIMS]

    def _narrows(self, dim: int) -> bool:
        s = split_point(self.lower[dim], self.upper[dim])
        return s is not None and self.lo[dim] < round_f32_down(s) and round_f32_up(s) < self.hi[dim]

    def halves(self, dim: int) -> tuple[Fraction, _Piece, _Piece]:
        """The split point on coordinate `dim` and the two halves [lo, s] and [s, hi] (tree slots
        2s+1 and 2s+2: unique by position, without a counter)."""
        s = split_point(self.lower[dim], self.upper[dim])
        assert s is not None, "dims() offers only coordinates with a split point"
        lo_hi, hi_lo = self.hi.copy(), self.lo.copy()
        lo_hi[dim], hi_lo[dim] = round_f32_up(s), round_f32_down(s)  # the float box contains the exact one
        up, down = list(self.upper), list(self.lower)
        up[dim], down[dim] = s, s
        return s, _Piece(2 * self.slot + 1, self.lower, up, self.lo, lo_hi), _Piece(2 * self.slot + 2, down, self.upper,
                                                                                   hi_lo, self.hi)


def split_point(lo: Fraction, hi: Fraction) -> Fraction | None:
    """A dyadic strictly inside (lo, hi) near the middle, as short as that allows (None when lo == hi).

    A grid point (24 significant bits) when one lies within a quarter width of the middle; else the
    middle rounded to a multiple of the largest power of two below a quarter of the width.
    """
    if not lo < hi:
        return None
    mid = (lo + hi) / 2
    for s in (GRID.down(mid), GRID.up(mid)):
        if abs(s - mid) < (hi - lo) / 4:
            return s
    quarter = (hi - lo) / 4
    k = quarter.denominator.bit_length() - quarter.numerator.bit_length() + 1  # 2**-k <= quarter
    step = Fraction(1, 2**k) if k >= 0 else Fraction(2**-k)
    return round(mid / step) * step


def choose_split(split: str, graph: Graph, hidden: str = "crown") -> str:
    """"input" or "relu" for `split` ("auto": by the input's size; ReLU splitting needs CROWN hidden bounds)."""
    if split not in SPLITS:
        raise UserError(f"split {split!r}: choose one of {', '.join(SPLITS)}")
    if split == "relu" and hidden != "crown":
        raise UserError("ReLU splitting bounds the hidden nodes by CROWN: it needs hidden='crown'")
    if split != "auto":
        return split
    size = math.prod(validate(graph).inputs[0].shape)
    return "input" if size <= AUTO_INPUTS or hidden != "crown" else "relu"


def bab(graph: Graph, box: Box, prop: Property, *, budget_s: float = 60.0, max_leaves: int = MAX_LEAVES,
        output: str | None = None, hidden: str = "crown", split: str = "auto",
        progress: Report | None = None) -> BabResult:
    """Prove `prop` on `box` by branch and bound; the certificate lists the tree and the leaves.

    `split` is "input", "relu" or "auto" (see the module docstring). The verdict "holds" means the
    float search proved every leaf and the certificate says so; only `check_bab_certificate` makes
    it a proof. Otherwise the unproven pieces come back in `open_boxes`. `progress`, when given, is
    told where the search stands before the first batch and after every batch (`BabProgress`).
    """
    deadline = time.monotonic() + budget_s
    relu = choose_split(split, graph, hidden) == "relu"
    b = Bounder(graph, prop, output, hidden=hidden, steps=RELU_STEPS if relu else 0)
    report = progress or _quiet
    try:
        search = _relu_bab if relu else _input_bab
        return search(b, box, deadline, max_leaves, report)
    except Unbounded as e:
        return BabResult("unknown", None, (box,), 0, str(e))


def _left(deadline: float) -> float:
    """Seconds until `deadline` (0 once it has passed)."""
    return max(0.0, deadline - time.monotonic())


def _input_bab(b: Bounder, box: Box, deadline: float, max_leaves: int, report: Report) -> BabResult:
    """Branch and bound by input splitting, with strong branching (see the module docstring)."""
    search = _InputSearch(b, box)
    root = search.root
    report(BabProgress(0, 1, _left(deadline)))
    queue = search.settle(b.evaluate(root.lo[None], root.hi[None]), [0], [root], [None])
    stuck: list[_Piece] = []
    per = max(1, STRONG_BOXES[b.hidden] // (2 * min(STRONG_DIMS, len(root.lo))))  # pieces whose cuts share a pass
    while queue and time.monotonic() < deadline and len(search.certs) <= max_leaves:
        batch, queue = queue[-per:], queue[:-per]  # depth first: the newest pieces
        stuck += [p for p in batch if not p.dims(search.widths)]
        queue += search.expand([p for p in batch if p.dims(search.widths)])
        report(BabProgress(len(search.certs), len(queue) + len(stuck), _left(deadline)))
    open_boxes = tuple(p.box(search.flat.shape) for p in queue + stuck)
    if open_boxes:
        why = _spent(deadline) or ("the leaf limit is reached" if queue else "boxes too thin to split")
        return _unproven(len(open_boxes), open_boxes, len(search.certs), why)
    return _finish(b, box, search.tree, search.certs, "input splitting")


def _worst(ev: Evaluation | None, k: int = 0) -> float:
    """Entry k's margin: its worst unsafe term's best lower bound of c.y - d (-inf without an evaluation)."""
    return -math.inf if ev is None else float(ev.margin[k].min())


class _InputSearch:
    """The input-split tree under construction: its entries, its leaf certificates, and how pieces are
    proven (`settle`) and cut (`expand`)."""

    def __init__(self, b: Bounder, box: Box) -> None:
        self.b = b
        self.cheap = Bounder(b.graph, b.prop, b.output, hidden="ibp") if b.hidden != "ibp" else b
        self.flat = box.reshape((math.prod(box.shape),))
        self.tree: dict[int, Entry] = {}
        self.certs: list[Certificate] = []
        lo, hi = (a.astype(np.float64).reshape(-1) for a in box.reshape(b.input.shape).to_float_arrays())
        self.root = _Piece(0, list(self.flat.lower), list(self.flat.upper), lo, hi)
        self.widths = hi - lo  # the root box's float widths, for `_Piece.dims`

    def expand(self, batch: list[_Piece]) -> list[_Piece]:
        """Cut each piece of `batch` where its halves come closest to proven; returns the halves still open.

        Both halves of every candidate cut (`_Piece.dims`) are bounded in one pass; each half's margin
        is the better of its own and its piece's numbers restated for it (`Bounder.restated`), and a
        cut scores its worse half's margin (the better half's breaks ties, then the order of `dims`):
        a cut that proves one thin half but leaves the other as hard as the piece scores low. The
        chosen halves' bounds come from that same pass."""
        if not batch:
            return []
        cuts = [(i, dim) + p.halves(dim) for i, p in enumerate(batch) for dim in p.dims(self.widths)]
        halves = [h for cut in cuts for h in cut[3:]]
        ev = self.b.evaluate(np.stack([h.lo for h in halves]), np.stack([h.hi for h in halves]))
        inherited = [self._inherited(batch[cuts[j // 2][0]], h) for j, h in enumerate(halves)]
        margin = [max(_worst(ev, j), _worst(inherited[j])) for j in range(len(halves))]
        best: dict[int, tuple[tuple[float, float], int]] = {}  # piece -> (score, cut)
        for j, (i, *_) in enumerate(cuts):
            below, above = margin[2 * j], margin[2 * j + 1]
            score = (min(below, above), max(below, above))
            if i not in best or score > best[i][0]:
                best[i] = (score, j)
        entries: list[int] = []
        chosen: list[_Piece] = []
        for i, piece in enumerate(batch):
            j = best[i][1]
            _, dim, at, below, above = cuts[j]
            self.tree[piece.slot] = ("dim", dim, at)
            entries += [2 * j, 2 * j + 1]
            chosen += [below, above]
        return self.settle(ev, entries, chosen, [inherited[k] for k in entries])

    def _inherited(self, parent: _Piece, half: _Piece) -> Evaluation | None:
        """The parent's best numbers restated for one of its halves, judged."""
        return None if parent.source is None else self.b.judge(self.b.restated(parent.source, half.lo, half.hi))

    def settle(self, ev: Evaluation, entries: list[int], pieces: list[_Piece],
               inherited: list[Evaluation | None]) -> list[_Piece]:
        """Make leaves of the pieces (piece i is entry entries[i] of `ev`, `inherited[i]` its parent's
        numbers restated for it) that some numbers prove: its own CROWN pass (the cheap IBP-hidden
        certificate when that proves the piece too: its exact check is far cheaper), else its
        parent's, else its own pass with the claim rows bounded by alpha-CROWN (TUNE_STEPS steps on
        the same node bounds). Returns the rest, each with its branching coefficients and the best
        of these numbers, for its halves to inherit."""
        coeffs = self.b.input_coefficients(ev)
        proven = [i for i, k in enumerate(entries) if (ev.margin[k] > 0).all()]
        easy = None
        if proven and self.cheap is not self.b:
            easy = self.cheap.evaluate(np.stack([pieces[i].lo for i in proven]), np.stack([pieces[i].hi for i in proven]))
        rest = []
        for i, piece in enumerate(pieces):
            leaf = piece.box(self.flat.shape)
            cert = None
            if i in proven:
                n = proven.index(i)
                if easy is not None and (easy.margin[n] > 0).all():
                    cert = self.b.certificate_of(easy.bounded, n, leaf)
                if cert is None or cert.verdict != "holds":
                    cert = self.b.certificate_of(ev.bounded, entries[i], leaf)
            if (cert is None or cert.verdict != "holds") and _worst(inherited[i]) > 0:
                cert = self.b.certificate_of(inherited[i].bounded, 0, leaf)  # type: ignore[union-attr]
            if not self._add(piece, cert):
                rest.append(i)
        tuned = None
        if rest and TUNE_STEPS and self.b.rows:
            tuned = self.b.judge(self.b.tuned(ev.bounded, [entries[i] for i in rest], TUNE_STEPS))
        left = []
        for n, i in enumerate(rest):
            own = tuned if tuned is not None else ev
            k = n if tuned is not None else entries[i]
            if tuned is not None and _worst(tuned, n) > 0 and self._add(
                    pieces[i], self.b.certificate_of(tuned.bounded, n, pieces[i].box(self.flat.shape))):
                continue
            pieces[i].coeffs = coeffs[entries[i]]
            parent = inherited[i]
            pieces[i].source = parent.bounded if parent is not None and _worst(parent) > _worst(own, k) else select(own.bounded, [k])
            left.append(pieces[i])
        return left

    def _add(self, piece: _Piece, cert: Certificate | None) -> bool:
        """Make the piece a leaf when `cert` proves it (verdict "holds" on its own stated numbers)."""
        if cert is None or cert.verdict != "holds":
            return False
        self.tree[piece.slot] = len(self.certs)
        self.certs.append(cert)
        return True


def _relu_bab(b: Bounder, box: Box, deadline: float, max_leaves: int, report: Report) -> BabResult:
    """Branch and bound by ReLU splitting: the box stays whole; subproblems are sets of cases."""
    lo, hi = (a.astype(np.float64).reshape(1, -1) for a in box.reshape(b.input.shape).to_float_arrays())
    queue: list[tuple[int, tuple[Case, ...]]] = [(0, ())]
    tree: dict[int, Entry] = {}
    leaves: list[tuple[Case, ...]] = []
    stuck: list[tuple[int, tuple[Case, ...]]] = []
    report(BabProgress(0, 1, _left(deadline)))
    while queue and not stuck and time.monotonic() < deadline and len(leaves) <= max_leaves:
        batch, queue = queue[-BATCH["crown"]:], queue[:-BATCH["crown"]]  # depth first: the newest subproblems
        n = len(batch)
        ev = b.evaluate(np.repeat(lo, n, axis=0), np.repeat(hi, n, axis=0), [cases for _, cases in batch])
        for k, (slot, cases) in enumerate(batch):
            if ev.bounded.empty[k] or (ev.margin[k] > 0).all():
                tree[slot] = len(leaves)
                leaves.append(cases)
                continue
            neuron = b.relu_choice(ev, k) if len(cases) < MAX_DEPTH else None
            if neuron is None:  # every neuron split and still unproven: the search cannot succeed, stop
                stuck.append((slot, cases))
                continue
            tree[slot] = ("relu",) + neuron
            queue += [(2 * slot + 1, cases + (neuron + ("nonneg",),)), (2 * slot + 2, cases + (neuron + ("nonpos",),))]
        report(BabProgress(len(leaves), len(queue) + len(stuck), _left(deadline)))
    if queue or stuck:
        why = STUCK if stuck else _spent(deadline) or "the leaf limit is reached"
        return _unproven(len(queue) + len(stuck), (box,), len(leaves), why)
    certs = [b.certificate(box, tuple(sorted(cases))) for cases in leaves]
    return _finish(b, box, tree, certs, "ReLU splitting")


def _spent(deadline: float) -> str | None:
    return TIME_IS_UP if time.monotonic() >= deadline else None


def _unproven(count: int, open_boxes: tuple[Box, ...], leaves: int, why: str) -> BabResult:
    verdict = "timeout" if why == TIME_IS_UP else "unknown"
    return BabResult(verdict, None, open_boxes, leaves, f"{count} pieces unproven: {why}")


def _finish(b: Bounder, box: Box, tree: dict[int, Entry], certs: list[Certificate], how: str) -> BabResult:
    text = _dumps(b, box, _tree_json(tree, 0), certs)
    verdict = "holds" if all(c.verdict == "holds" for c in certs) else "unknown"
    return BabResult(verdict, text, (), len(certs), f"{len(certs)} leaves proven by {how}")


def _tree_json(tree: dict[int, Entry], slot: int) -> dict[str, Any]:
    entry = tree[slot]
    if isinstance(entry, int):
        return {"leaf": entry}
    first, second = _tree_json(tree, 2 * slot + 1), _tree_json(tree, 2 * slot + 2)
    if entry[0] == "relu":
        return {"node": entry[1], "index": entry[2], "nonneg": first, "nonpos": second}
    return {"dim": entry[1], "at": number_text(entry[2]), "below": first, "above": second}


def _dumps(b: Bounder, box: Box, tree: dict[str, Any], certs: list[Certificate]) -> str:
    flat = box.reshape((len(box.lower),))
    leaves = [to_json(c) for c in certs]
    doc = {"format": FORMAT, "graph_digest": digest(b.graph), "input": b.input.name,
           "box": {"shape": list(flat.shape), "lower": numbers_text(flat.lower),
                   "upper": numbers_text(flat.upper)},
           "property": to_json(Certificate("", "ibp", (), "", b.prop, (), "holds"))["property"],
           "tree": tree, "leaves": leaves}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
