"""Branch and bound by input splitting, and its certificate: the split tree plus one certificate per leaf.

For models with a small input (ACAS Xu: 5 inputs) a box too wide for one bound pass is split in two
on one coordinate, again and again, until every piece is proven or the budget is spent. Each piece
is bounded in float64, batched, with the claim's rows by CROWN and the hidden nodes either by CROWN
too (`hidden="crown"`, the default: far fewer pieces on ACAS Xu) or by IBP (`hidden="ibp"`: the relu
relaxations taken on the IBP bounds, a weaker bound whose certificate back-substitutes only the
claim's rows and so is far cheaper to check). Every proven piece becomes a `pytorch2lean.cert.v1`
certificate of method "crown": the IBP-hidden one when that float pass proves the piece, else the
CROWN one (with `crown.backsub_rows`, only the unstable elements back-substituted).

The coordinate split is the one with the largest |coefficient| x width in the CROWN bound of the
constraint closest to excluding the first unproven unsafe term (the smart-branching heuristic of
input-splitting verifiers); the width breaks ties. The split point is a dyadic near the middle
(`split_point`), strictly inside the box, so the halves [lo, s] and [s, hi] share only x_i = s.
The search runs depth first; unproven pieces left at the deadline come back for the falsifier.

ReLU splitting (cases on an unstable neuron's sign) is not done: its leaves would need a
certificate form stating the case constraints, which cert.v1 has not.

Certificate `pytorch2lean.bab.v1` (canonical JSON like cert.v1):

    format        "pytorch2lean.bab.v1"
    graph_digest  the model's IR digest
    input         the model input that is split
    box           BOUNDS of the whole input box (as in cert.v1)
    property      the claim (as in cert.v1)
    tree          {"leaf": k} or {"dim": i, "at": NUMBER, "below": TREE, "above": TREE}: the box of a
                  split node is cut at flat coordinate i into [lo_i, at] (below) and [at, hi_i] (above);
                  `at` is a dyadic strictly between lo_i and hi_i
    leaves        [cert.v1 object, ...]: leaf k is certificate k, about exactly the box its tree
                  position gives and exactly the property above; every leaf is used once

`check_bab_certificate` accepts it iff the tree partitions the box (by construction of the walk:
every split's children are the two halves of its box) and every leaf certificate is accepted by
`cert.check` for its own box and the property, with verdict "holds". Soundness: the halves of each
split cover its box, so the leaves cover the whole box, and the property holds on each leaf.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Union

import numpy as np

from .. import ops
from ..cert.check import CheckResult, box_interval, check, check_certificate, claim_failure, claim_rows
from ..cert.format import (Certificate, CertificateError, CrownPart, StatedRelaxation, read_box, Reader, read_number,
                           loads, number_text, to_json, unsafe_terms)
from ..errors import UserError
from ..ir import Graph, digest, validate
from ..ops.base import Interval, Unbounded
from ..spec.box import Box
from ..spec.numbers import round_f32_down, round_f32_up
from ..spec.property import Property
from . import crown
from .grid import GRID
from .ibp import float_bounds, stated_box

FORMAT = "pytorch2lean.bab.v1"
BATCH = {"ibp": 256, "crown": 16}  # boxes bounded together in one float pass (CROWN's cost grows faster)
HIDDEN = tuple(BATCH)
TIME_UP = "the check ran out of time"
MAX_LEAVES = 20_000  # proven leaves at most: the certificate and its check grow with them

Tree = Union[int, tuple[int, Fraction, "Tree", "Tree"]]  # a leaf index, or (dim, at, below, above)


@dataclass(frozen=True)
class BabResult:
    """`verdict` "holds" (the certificate, not yet checked, claims it) or "unknown"/"timeout";
    `open_boxes`: the pieces left unproven (where to look for a counterexample)."""

    verdict: str
    certificate: str | None
    open_boxes: tuple[Box, ...]
    leaves: int
    reason: str


class Bounder:
    """The float bound pass and the leaf certificates of one model, output and property."""

    def __init__(self, graph: Graph, prop: Property, output: str | None = None, *, hidden: str = "ibp") -> None:
        if hidden not in HIDDEN:
            raise UserError(f"hidden-node bounds {hidden!r}: choose one of {', '.join(HIDDEN)}")
        self.hidden = hidden
        self.tightened: frozenset[str] = frozenset()
        self.backsub_rows: dict[str, tuple[int, ...]] = {}  # per tightened node, the elements back-substituted
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

    def bound(self, lo: np.ndarray, hi: np.ndarray) -> tuple[dict[str, Interval], dict[str, crown.Relaxation], Any]:
        """Float bounds of every node, relaxations, and the claim rows' back-substitution, for B flat boxes."""
        shape = (len(lo),) + tuple(self.input.shape)
        inputs = {self.input.name: Interval(lo.reshape(shape), hi.reshape(shape))}
        env = {**inputs, **float_bounds(self.graph, inputs)}
        if self.hidden == "crown":
            found = crown.node_bounds(self.plan, inputs, xp=np, grid=GRID)
            env.update(found.bounds)
            self.tightened, self.backsub_rows = found.tightened, found.rows
            relaxations = found.relaxations
        else:
            relaxations = {n.id: crown.relaxation(np, ops.get(n.op), n, env[n.inputs[0]], GRID) for n in self.plan.nodes
                           if ops.get(n.op).relax is not None and ops.get(n.op).intercepts is not None}
        C = np.broadcast_to(self.C[None], (len(lo),) + self.C.shape)
        result = crown.backsubstitute(self.plan, self.output, C, env, relaxations, keep=True) if self.rows else None
        return env, relaxations, result

    def margins(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per box and unsafe term, the best (largest) lower bound of c.y - d over the term's constraints;
        and per box the input coefficients of that best row of the first unexcluded term (for branching)."""
        env, _, result = self.bound(lo, hi)
        out = env[self.output]
        rows = np.zeros((len(lo), len(self.rows)))
        if result is not None:
            rows = result.lower - crown.SLACK * result.magnitude
        C = self.C.reshape(len(self.rows), -1)
        olo, ohi = out.lo.reshape(len(lo), -1), out.hi.reshape(len(lo), -1)
        ibp = np.maximum(C, 0) @ olo.T + np.minimum(C, 0) @ ohi.T if len(self.rows) else rows.T
        rows = np.maximum(rows, ibp.T)
        per_term = [np.stack([rows[:, k] - d for k, d in term] or [np.full(len(lo), -np.inf)], axis=1)
                    for term in self.terms]
        margin = np.stack([m.max(axis=1) for m in per_term] or [np.full(len(lo), np.inf)], axis=1)
        coeffs = np.zeros_like(lo)
        if result is not None:
            kept = result.kept[self.input.name].reshape(len(lo), len(self.rows), -1)
            first = (margin <= 0).argmax(axis=1)
            for b in range(len(lo)):
                term = self.terms[first[b]]
                if not term:
                    continue
                coeffs[b] = kept[b, term[int(per_term[first[b]][b].argmax())][0]]
        return margin, coeffs

    def certificate(self, box: Box) -> Certificate:
        """The leaf certificate of `box` (flat or shaped): IBP bounds, relu lines, the claim rows by CROWN."""
        box = box.reshape(self.input.shape)
        lo, hi = (a.astype(np.float64).reshape(1, -1) for a in box.to_float_arrays())
        env, relaxations, result = self.bound(lo, hi)
        nodes = {n.id: n for n in self.graph.nodes}
        stated = {n.id: stated_box(np, env[n.id], n) for n in self.graph.nodes}
        out_box = stated[self.output] if self.output in stated else box
        rows = {} if result is None else dict(zip(self.rows, map(Fraction, (result.lower - crown.SLACK * result.magnitude)[0].tolist())))
        failure = claim_failure(self.prop, box_interval(out_box), rows)
        backsub = tuple(n for n in nodes if n in self.tightened)
        part = CrownPart(backsub, tuple((name, _stated(r, nodes[name].shape)) for name, r in relaxations.items()),
                         (), tuple((name, self.backsub_rows[name]) for name in backsub))
        return Certificate(digest(self.graph), "crown", ((self.input.name, box),), self.output, self.prop,
                           tuple(sorted(stated.items())), "unknown" if failure else "holds", part)


def _stated(r: crown.Relaxation, shape: tuple[int, ...]) -> StatedRelaxation:
    def numbers(v: Any) -> tuple[Fraction, ...]:
        return tuple(map(Fraction, np.broadcast_to(v, (1,) + tuple(shape)).astype(np.float64).reshape(-1).tolist()))

    return StatedRelaxation(tuple(shape), *(numbers(v) for v in r))


@dataclass
class _Piece:
    """A box still to prove: its tree slot, exact bounds (flat) and float32 enclosure as float64."""

    slot: int
    lower: list[Fraction]
    upper: list[Fraction]
    lo: np.ndarray
    hi: np.ndarray


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


def bab(graph: Graph, box: Box, prop: Property, *, budget_s: float = 60.0, max_leaves: int = MAX_LEAVES,
        output: str | None = None, hidden: str = "crown") -> BabResult:
    """Prove `prop` on `box` by splitting the input box; the certificate lists the tree and the leaves.

    The verdict "holds" means the float search proved every leaf and the certificate says so; only
    `check_bab_certificate` makes it a proof. Otherwise the unproven pieces come back in `open_boxes`.
    """
    b = Bounder(graph, prop, output, hidden=hidden)
    cheap = Bounder(graph, prop, output, hidden="ibp") if hidden != "ibp" else b
    deadline = time.monotonic() + budget_s
    flat = box.reshape((math.prod(box.shape),))
    lo, hi = (a.astype(np.float64).reshape(-1) for a in box.reshape(b.input.shape).to_float_arrays())
    queue = [_Piece(0, list(flat.lower), list(flat.upper), lo, hi)]
    tree: dict[int, Any] = {}
    leaves: list[Box] = []
    stuck: list[_Piece] = []
    try:
        while queue and time.monotonic() < deadline and len(leaves) <= max_leaves:
            batch, queue = queue[-BATCH[hidden]:], queue[:-BATCH[hidden]]  # depth first: the newest pieces
            margin, coeffs = b.margins(np.stack([p.lo for p in batch]), np.stack([p.hi for p in batch]))
            for piece, m, g in zip(batch, margin, coeffs):
                if (m > 0).all():
                    tree[piece.slot] = len(leaves)
                    leaves.append(Box(tuple(piece.lower), tuple(piece.upper), flat.shape))
                else:
                    children = _split(piece, g, tree)
                    (queue.extend if children else stuck.append)(children or piece)  # type: ignore[arg-type]
    except Unbounded as e:
        return BabResult("unknown", None, (box,), len(leaves), str(e))
    open_boxes = tuple(Box(tuple(p.lower), tuple(p.upper), flat.shape) for p in queue + stuck)
    if open_boxes:
        why = "time is up" if time.monotonic() >= deadline else "the leaf limit is reached" if queue else "boxes too thin to split"
        verdict = "timeout" if why == "time is up" else "unknown"
        return BabResult(verdict, None, open_boxes, len(leaves), f"{len(open_boxes)} pieces unproven: {why}")
    easy = _proven_by(cheap, leaves) if cheap is not b else [False] * len(leaves)
    certs = [_leaf_certificate(b, cheap if ok else None, leaf) for leaf, ok in zip(leaves, easy)]
    text = _dumps(b, box, _nest(tree, 0), certs)
    verdict = "holds" if all(c.verdict == "holds" for c in certs) else "unknown"
    return BabResult(verdict, text, (), len(leaves), f"{len(leaves)} leaves proven by input splitting")


def _proven_by(b: Bounder, leaves: list[Box]) -> list[bool]:
    """Which leaves `b`'s float pass proves (one batched pass per BATCH leaves)."""
    out: list[bool] = []
    for i in range(0, len(leaves), BATCH[b.hidden]):
        floats = [leaf.reshape(b.input.shape).to_float_arrays() for leaf in leaves[i:i + BATCH[b.hidden]]]
        lo, hi = (np.stack([f[k].astype(np.float64).reshape(-1) for f in floats]) for k in (0, 1))
        out.extend((b.margins(lo, hi)[0] > 0).all(axis=1).tolist())
    return out


def _leaf_certificate(b: Bounder, cheap: Bounder | None, leaf: Box) -> Certificate:
    """`cheap`'s certificate (IBP hidden bounds: a far cheaper exact check) when given and it proves
    the leaf, else `b`'s."""
    cert = None if cheap is None else cheap.certificate(leaf)
    return cert if cert is not None and cert.verdict == "holds" else b.certificate(leaf)


def _split(piece: _Piece, coeffs: np.ndarray, tree: dict[int, Any]) -> list[_Piece]:
    """Cut `piece` in two on its best coordinate (|coefficient| x width; widest as tie-break)."""
    width = piece.hi - piece.lo
    order = np.lexsort((-width, -np.abs(coeffs) * width))
    for dim in order:
        s = split_point(piece.lower[dim], piece.upper[dim])
        if s is None or width[dim] <= 0:
            continue
        below, above = 2 * piece.slot + 1, 2 * piece.slot + 2  # slots by position: unique without a counter
        tree[piece.slot] = (int(dim), s, below, above)
        lo_hi, hi_lo = piece.hi.copy(), piece.lo.copy()
        lo_hi[dim], hi_lo[dim] = round_f32_up(s), round_f32_down(s)  # the float box contains the exact one
        up, down = list(piece.upper), list(piece.lower)
        up[dim], down[dim] = s, s
        return [_Piece(below, piece.lower, up, piece.lo, lo_hi), _Piece(above, down, piece.upper, hi_lo, piece.hi)]
    return []


def _nest(tree: dict[int, Any], slot: int) -> Tree:
    entry = tree[slot]
    if isinstance(entry, int):
        return entry
    dim, at, below, above = entry
    return (dim, at, _nest(tree, below), _nest(tree, above))


def _tree_json(t: Tree) -> dict[str, Any]:
    if isinstance(t, int):
        return {"leaf": t}
    dim, at, below, above = t
    return {"dim": dim, "at": number_text(at), "below": _tree_json(below), "above": _tree_json(above)}


def _dumps(b: Bounder, box: Box, tree: Tree, certs: list[Certificate]) -> str:
    flat = box.reshape((len(box.lower),))
    leaves = [to_json(c) for c in certs]
    doc = {"format": FORMAT, "graph_digest": digest(b.graph), "input": b.input.name,
           "box": {"shape": list(flat.shape), "lower": [number_text(q) for q in flat.lower],
                   "upper": [number_text(q) for q in flat.upper]},
           "property": to_json(Certificate("", "ibp", (), "", b.prop, (), "holds"))["property"],
           "tree": _tree_json(tree), "leaves": leaves}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


# ---- checking -----------------------------------------------------------------------------

class _Walk:
    """The checker's walk over the split tree: every leaf used once, every leaf certificate accepted."""

    def __init__(self, graph: Graph, prop: Any, leaves: list[Any], deadline: float | None) -> None:
        self.graph, self.prop, self.leaves, self.deadline = graph, prop, leaves, deadline
        self.used: set[int] = set()

    def visit(self, node: Reader, lower: list[Fraction], upper: list[Fraction]) -> None:
        if isinstance(node.data, dict) and "leaf" in node.data:
            return self.leaf(node.get("leaf", int), node.where, lower, upper)
        dim, at = node.get("dim", int), read_number(node.get("at", str), f"{node.where}.at")
        if not 0 <= dim < len(lower):
            raise CertificateError(f"{node.where}.dim: {dim} is not a coordinate of the {len(lower)}-dimensional box")
        if at.denominator & (at.denominator - 1):
            raise CertificateError(f"{node.where}.at: {at} is not a dyadic number")
        if not lower[dim] < at < upper[dim]:
            raise CertificateError(f"{node.where}.at: {at} is not strictly inside [{lower[dim]}, {upper[dim]}]")
        self.visit(node.sub("below"), lower, upper[:dim] + [at] + upper[dim + 1:])
        self.visit(node.sub("above"), lower[:dim] + [at] + lower[dim + 1:], upper)

    def leaf(self, k: int, where: str, lower: list[Fraction], upper: list[Fraction]) -> None:
        if not 0 <= k < len(self.leaves) or k in self.used:
            raise CertificateError(f"{where}.leaf: {k} is {'used twice' if k in self.used else 'not a leaf index'}")
        self.used.add(k)
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise CertificateError(f"{TIME_UP}: {len(self.used) - 1} of {len(self.leaves)} leaves checked")
        cert = loads(json.dumps(self.leaves[k]))
        if cert.verdict != "holds":
            raise CertificateError(f"leaves[{k}]: the leaf certificate claims no verdict")
        result = check(self.graph, cert, box=Box(tuple(lower), tuple(upper), (len(lower),)), prop=self.prop)
        if not result.ok:
            raise CertificateError(f"leaves[{k}] (at {where}): {result.reason}")


def check_bab_certificate(graph: Graph, text: str, *, box: Box | None = None, prop: Property | None = None,
                          deadline: float | None = None) -> CheckResult:
    """Check a `pytorch2lean.bab.v1` certificate exactly (and, when given, that it is about `box` and `prop`).

    With a `deadline` (a `time.monotonic()` value) a check still running then is given up: the
    result is not ok and its reason starts with TIME_UP.
    """
    graph = validate(graph)
    try:
        data = json.loads(text)
        doc = Reader(data, "certificate")
        if doc.get("format", str) != FORMAT:
            raise CertificateError(f"certificate: format must be {FORMAT!r}")
        if doc.get("graph_digest", str) != digest(graph):
            raise CertificateError("certificate: graph digest is not the model's digest")
        whole = read_box(doc.sub("box"))
        leaves = doc.get("leaves", list)
        claim = loads(json.dumps(leaves[0])).claim if leaves else None
        for k, leaf in enumerate(leaves):
            if not isinstance(leaf, dict) or leaf.get("property") != data["property"]:
                raise CertificateError(f"leaves[{k}]: the leaf's property is not the certificate's property")
        if box is not None and (box.lower, box.upper) != (whole.lower, whole.upper):
            raise CertificateError("the certificate's input box is not the box asked about")
        if prop is not None and claim != prop:
            raise CertificateError("the certificate's property is not the property asked about")
        walk = _Walk(graph, claim, leaves, deadline)
        walk.visit(doc.sub("tree"), list(whole.lower), list(whole.upper))
        if len(walk.used) != len(leaves):
            raise CertificateError(f"leaves[{min(set(range(len(leaves))) - walk.used)}] is not in the tree")
    except (CertificateError, json.JSONDecodeError) as e:
        return CheckResult(False, str(e))
    return CheckResult(True, f"certificate holds: {len(leaves)} leaves cover the box and each leaf certificate holds")


def check_any_certificate(graph: Graph, text: str) -> CheckResult:
    """Check a certificate of either format: `pytorch2lean.bab.v1` here, anything else by `cert.check_certificate`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return CheckResult(False, f"certificate is not JSON: {e}")
    if isinstance(data, dict) and data.get("format") == FORMAT:
        return check_bab_certificate(graph, text)
    return check_certificate(graph, text)
