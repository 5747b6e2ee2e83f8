"""The exact check of many leaf certificates at once, on machine-word limbs (cert/wide.py).

A split tree (cert/tree.py) has thousands of leaf certificates about one model. Checked one by one
(cert/check.py), each leaf's intervals and comparisons run on Fractions and only its
back-substitutions on limbs; here the leaves of a batch are stacked along a first axis and every
number stays in limbs from the certificate's text to the final comparisons, so a tree is checked by
NumPy passes over all its leaves.

It decides acceptance only: `Batch.accepted` says, per leaf, True when the leaf certificate holds,
and False when it fails or lies outside what this module handles. The tree check runs the Fraction
checker on every leaf not accepted here, in tree order, so the answer and the reason (the first
failing leaf) are the Fraction checker's own. Soundness therefore rests on one implication: a leaf
accepted here is accepted by `Checker.check`. It holds because
- every check before the arithmetic is `Checker.prepare` itself (header, question, cases, the
  CROWN part's names, rows and shapes);
- the arithmetic is the same mathematics, computed exactly (cert/wide.py rounds nothing): each
  node's interval by its op's rule from its operands' stated bounds, the stated relu lines against
  `_relu_intercepts`'s rule, the back-substitution by `limbsub.lower`, the code `Checker.check`
  runs on these nets (`backsub.backsubstitute`'s mathematics: the same relaxation chosen by the
  sign of the same exact coefficient, the same constants, the same minimum over the box), here
  with each row's leaf's lines and box, and the claim by `claim.claim_failure` itself on the
  exact row bounds;
- anything else (an op outside matmul, linear, add, sub, relu, flatten and reshape; a relu
  without stated lines; cases or betas; a verdict other than "holds") is not accepted here.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from ..ir import Node
from ..ops.base import Interval
from ..spec.box import Box
from . import limbsub, wide
from .check import Checker, Crown, Rejected, box_interval
from .claim import claim_failure, claim_rows
from .format import Case, Certificate, Claim
from .wide import Wide

# The limb products are many GEMMs of a few MB each; between them BLAS worker threads spin, and
# on ACAS Xu that cost more CPU than the products (24 leaves: 7.1 s with the default two threads
# on two cores, 2.6 s with one). A parallel check already runs one process per CPU.
ONE_BLAS_THREAD = 1


class Batch:
    """The batched check of leaves about one model (that of `checker`)."""

    def __init__(self, checker: Checker) -> None:
        self.checker = checker
        self.plan = checker.limbs()
        self.nodes = checker.graph.nodes
        self.input = self.plan.input
        self.shapes = self.plan.shapes
        self.steps = self.plan.steps
        self.supported = self.plan.supported

    def accepted(self, certs: Sequence[Certificate | None], boxes: Sequence[Box], prop: Claim,
                 cases: Sequence[Sequence[Case]]) -> np.ndarray:
        """Per leaf, True when its certificate (None: unreadable) is accepted for its box, the
        property and its cases, exactly; False when it is not, or not handled here."""
        ok = np.zeros(len(certs), dtype=bool)
        if not self.supported:
            return ok
        group: dict[tuple[Any, ...], list[tuple[int, Certificate, Crown | None]]] = {}
        for k, cert in enumerate(certs):
            crown = self._handled(cert, boxes[k], prop, cases[k])
            if crown is not False:
                key = (cert.output, claim_rows(cert.claim), crown is None)
                group.setdefault(key, []).append((k, cert, crown))
        with threadpool_limits(limits=ONE_BLAS_THREAD, user_api="blas"):
            for members in group.values():
                ok[[k for k, _, _ in members]] = _Leaves(self, [c for _, c, _ in members],
                                                         [r for _, _, r in members]).holds()
        return ok

    def _handled(self, cert: Certificate | None, box: Box, prop: Claim, cases: Sequence[Case]) -> Any:
        """The leaf's CROWN part (None for an interval certificate) when this module checks it, else False."""
        if cert is None or cert.verdict != "holds" or cert.cases or cases:
            return False
        try:
            crown = self.checker.prepare(cert, box, prop, cases)
        except Rejected:
            return False
        if crown is None:
            return None
        relus = {n.id for n in self.nodes if self.steps[n.id].kind == "relu"}
        if crown.claim_betas or set(crown.relaxations) != relus:
            return False
        rows = claim_rows(cert.claim)
        if crown.claim_relaxations and rows:
            try:  # the per-row claim lines' names and shapes, as `Crown.claim_lower` reads them
                crown.claim_arrays(len(rows))
            except Rejected:
                return False
        return crown


class _Leaves:
    """One batch of leaves with the same output, claim rows and method, their numbers stacked."""

    def __init__(self, batch: Batch, certs: list[Certificate], crowns: list[Crown | None]) -> None:
        self.batch, self.certs, self.crowns = batch, certs, crowns
        self.size = len(certs)
        boxes = [dict(c.inputs)[batch.input] for c in certs]
        shape = (self.size,) + batch.shapes[batch.input]
        self.box = (_stack([b.lower for b in boxes]).reshape(shape), _stack([b.upper for b in boxes]).reshape(shape))
        stated = [dict(c.bounds) for c in certs]
        self.stated = {n.id: (_stack([s[n.id].lower for s in stated]).reshape((self.size,) + n.shape),
                              _stack([s[n.id].upper for s in stated]).reshape((self.size,) + n.shape))
                       for n in batch.nodes}
        self.lines: dict[str, tuple[Wide, ...]] = {}  # per relu, its lines (leaves, *shape)
        self.claim_lines: dict[str, tuple[Wide, ...]] = {}  # per-row claim lines (leaves * rows, *shape)
        rows = len(claim_rows(certs[0].claim))
        if crowns[0] is not None:
            for name in crowns[0].relaxations:
                self.lines[name] = _lines([c.relaxations[name] for c in crowns])
            per_row = [c.claim_arrays(rows) if rows else {} for c in crowns]
            for name in {n for p in per_row for n in p}:
                own = [p.get(name, None) for p in per_row]
                if any(r is None for r in own):  # some leaves state per-row lines there, some do not
                    own = [r if r is not None else _repeat(c.relaxations[name], rows) for r, c in zip(own, crowns)]
                self.claim_lines[name] = tuple(v.reshape((self.size * rows,) + batch.shapes[name])
                                               for v in _lines(own))

    def holds(self) -> np.ndarray:
        """Per leaf, whether every node's stated bounds contain what the rules require, every
        stated line is sound and the claim follows."""
        ok = np.ones(self.size, dtype=bool)
        batch = self.batch
        shapes = batch.shapes
        rows = claim_rows(self.certs[0].claim)
        for node in batch.nodes:
            lo, hi = self._required(node, batch.steps[node.id])
            s_lo, s_hi = self.stated[node.id]
            low_ok = wide.sign(wide.sub(lo, s_lo)) >= 0  # stated lower <= required lower
            high_ok = wide.sign(wide.sub(s_hi, hi)) >= 0
            if node.id in self.lines:
                ok &= self._lines_sound(node, self.lines[node.id], 1)
            if node.id in self.claim_lines:
                ok &= self._lines_sound(node, self.claim_lines[node.id], len(rows))
            if self.crowns[0] is not None:
                self._tighten(node, low_ok, high_ok)
            ok &= low_ok.reshape((self.size, -1)).all(axis=1) & high_ok.reshape((self.size, -1)).all(axis=1)
        output = self.certs[0].output
        lower = None
        if self.crowns[0] is not None and rows:
            A = np.array([list(r) for r in rows], dtype=object).reshape((1, len(rows)) + shapes[output])
            C = wide.of_fractions(np.broadcast_to(A, (self.size,) + A.shape[1:]).reshape((-1,) + shapes[output]))
            lower = wide.fractions(self._lower(output, C, np.repeat(np.arange(self.size), len(rows)),
                                               self.claim_lines)).reshape(self.size, -1)
        for k, cert in enumerate(self.certs):
            if ok[k]:
                out = box_interval(dict(cert.bounds)[output])
                ok[k] = claim_failure(cert.claim, out, None if lower is None else dict(zip(rows, lower[k]))) is None
        return ok

    def _required(self, node: Node, step: limbsub.Step) -> tuple[Wide, Wide]:
        """The node's exact interval from its operands' stated bounds, by its op's rule."""
        if step.kind == "relu":
            lo, hi = self._bounds(step.x)
            return wide.positive_part(lo), wide.positive_part(hi)
        if step.kind == "moves":
            lo, hi = self._bounds(step.x)
            return lo.reshape((self.size,) + node.shape), hi.reshape((self.size,) + node.shape)
        if step.kind == "affine":
            lo, hi = self._bounds(step.x)
            pos, neg = step.matrix
            low, high = wide.add(wide.matmul(lo, pos), wide.matmul(hi, neg)), wide.add(wide.matmul(hi, pos), wide.matmul(lo, neg))
            return (low, high) if step.const is None else (wide.add(low, step.const), wide.add(high, step.const))
        low = high = step.const
        for name, s in step.terms:
            lo, hi = self._bounds(name)
            low, high = (wide.add(low, lo), wide.add(high, hi)) if s > 0 else (wide.sub(low, hi), wide.sub(high, lo))
        return low.broadcast_to((self.size,) + node.shape), high.broadcast_to((self.size,) + node.shape)

    def _bounds(self, name: str) -> tuple[Wide, Wide]:
        """An activation's stated bounds (the box for the model input), batch axis first."""
        return self.box if name == self.batch.input else self.stated[name]

    def _lines_sound(self, node: Node, lines: tuple[Wide, ...], rows: int) -> np.ndarray:
        """Per leaf, its relu lines (`rows` sets per leaf) are sound on the operand's stated bounds
        (`_relu_intercepts`): slopes in [0, 1], lower intercept <= 0, upper intercept >= max(-us lo, hi - us hi)."""
        ls, li, us, ui = (v.reshape((self.size, rows) + node.shape) for v in lines)
        lo, hi = (v.reshape((self.size, 1) + node.shape) for v in self._bounds(self.batch.steps[node.id].x))
        one = wide.of_ints(np.ones((), dtype=np.int64))
        good = (wide.sign(ls) >= 0) & (wide.sign(wide.sub(one, ls)) >= 0) & (wide.sign(li) <= 0)
        good &= (wide.sign(us) >= 0) & (wide.sign(wide.sub(one, us)) >= 0)
        good &= wide.sign(wide.add(ui, wide.mul(us, lo))) >= 0
        good &= wide.sign(wide.sub(wide.add(ui, wide.mul(us, hi)), hi)) >= 0
        return good.reshape((self.size, -1)).all(axis=1)

    def _tighten(self, node: Node, low_ok: np.ndarray, high_ok: np.ndarray) -> None:
        """Where a leaf back-substitutes an element, its stated bounds may instead contain what
        the rows +e_i and -e_i give (`Crown.tighten`): low_ok and high_ok are widened there."""
        size = math.prod(node.shape)
        leaf, index = [], []
        for k, crown in enumerate(self.crowns):
            if node.id in crown.backsub:
                rows = crown.rows.get(node.id, range(size))
                leaf += [k] * len(rows)
                index += list(rows)
        if not leaf:
            return
        leaf_of, at = np.array(leaf * 2), np.array(index * 2)
        m = len(leaf)
        eye = np.zeros((2 * m, size), dtype=np.int64)
        eye[np.arange(m), at[:m]] = 1
        eye[m + np.arange(m), at[:m]] = -1
        lower = self._lower(node.id, wide.of_ints(eye.reshape((2 * m,) + node.shape)), leaf_of)
        s_lo, s_hi = (v.reshape((self.size, size)) for v in self.stated[node.id])
        plus = wide.sign(wide.sub(lower[:m], s_lo[leaf_of[:m], at[:m]])) >= 0  # stated lower <= row +e_i's bound
        minus = wide.sign(wide.add(s_hi[leaf_of[m:], at[m:]], lower[m:])) >= 0  # stated upper >= -(row -e_i's bound)
        low_ok.reshape((self.size, size))[leaf_of[:m][plus], at[:m][plus]] = True
        high_ok.reshape((self.size, size))[leaf_of[m:][minus], at[m:][minus]] = True

    def _lower(self, start: str, C: Wide, leaf: np.ndarray, own: dict[str, tuple[Wide, ...]] | None = None) -> Wide:
        """Exact lower bounds over each row's leaf of the rows C (R, *shape of start), row r
        belonging to leaf `leaf[r]` (`limbsub.lower`): with the leaf's lines, or a row's own lines
        (R, *shape) where `own` has them (the claim's per-row lines)."""
        def lines(name: str) -> limbsub.Relu:
            if own and name in own:
                ls, li, us, ui = own[name]
            else:
                ls, li, us, ui = (v.reshape((self.size,) + self.batch.shapes[name])[leaf] for v in self.lines[name])
            return limbsub.Relu(ls, us, limbsub.Pick(li, ui))

        box = limbsub.Pick(self.box[0][leaf], self.box[1][leaf])
        return limbsub.lower(self.batch.plan, {start: C}, lines, box)


def _lines(relaxations: Sequence[Any]) -> tuple[Wide, ...]:
    """The four parts of the leaves' lines (`backsub.Relaxation`s of Fractions, batch axis 1), stacked."""
    return tuple(wide.of_fractions(np.concatenate([getattr(r, part) for r in relaxations]))
                 for part in ("lower_slope", "lower_intercept", "upper_slope", "upper_intercept"))


def _repeat(r: Any, rows: int) -> Any:
    """A node's lines, the same for each of `rows` claim rows (shape (1, rows, *shape))."""
    return type(r)(*(np.repeat(v[:, None], rows, axis=1) for v in r))


def _stack(rows: Sequence[Sequence[Any]]) -> Wide:
    """Exact numbers, one sequence per leaf, as a Wide of shape (leaves, n)."""
    out = np.empty((len(rows), len(rows[0]) if rows else 0), dtype=object)
    for k, r in enumerate(rows):
        out[k, :] = r
    return wide.of_fractions(out)
