"""The exact certificate checker: the Python twin of the Lean checker to come.

It trusts nothing in the certificate. It checks that the certificate is about this model (the IR
digest), then walks the nodes in order: each node's exact interval is recomputed by the op's own
interval rule over Fractions (for sigmoid, tanh and batchnorm, whose values are irrational, its
`exact_interval` rule through rational enclosures) from the *stated* bounds of its inputs (the box
for model inputs, the exact float32 values for parameters), and the node's stated bounds must
contain it. Finally the claimed property must follow exactly from the output's stated bounds.
Every number met is a stated short dyadic, a box or property number, or a parameter (or, for the
enclosures, a short dyadic of 80 bits), so exact arithmetic stays cheap.

Soundness in one line: by induction over the nodes, every value a node takes for an input in the
box lies in its stated bounds (each rule is sound for its op), so the output does, and the claim
holds for every output within those bounds.

CROWN certificates (methods crown and alpha) add, in the same walk: each stated relaxation must be
sound on its operand's stated bounds (the op's exact intercept rule); a "backsub" node's stated
bounds need only contain the intersection of its interval and its back-substitution bounds, which
the checker recomputes exactly by the very engine of the float pass (`cert.backsub.backsubstitute`)
on Fractions, from the stated relaxations and bounds of the nodes before it. On a net of the steps
`cert.limbsub` handles (matmul, linear, add, sub, relu with stated lines, flatten, reshape) the same
back-substitution runs there on machine-word limbs instead: the same mathematics, computed exactly,
so the very same bounds, several times faster. The claim's constraint
rows are back-substituted too (with the claim relaxations where stated). The induction is the same:
each relaxation and each back-substitution is sound given the bounds of the nodes before it.

Cases (a branch-and-bound leaf after ReLU splits) restrict the claim to the inputs of the box where
every cased element has its sign. The checker intersects a cased node's required interval (after
CROWN tightening) with the cases' half-lines [0, inf) or (-inf, 0] before checking containment, so
every later relaxation check and back-substitution reads the restricted bounds. The induction holds
on the restricted domain: for an input there, every node's value lies in its required interval,
and the cased elements lie in their half-lines. An empty intersection shows the restricted domain
is empty: the claim then holds vacuously, and the checker says so. Stated beta multipliers
(`crown.claim_betas`, each >= 0) add beta_j s_j z_j to claim row k for each case j (s_j z_j <= 0
where the cases hold): a lower bound of the sum over the restricted domain is one of the row.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping, Sequence

import numpy as np

from .. import ops
from ..ir import Graph, Node, digest, validate
from ..numeric.frozen import frozen
from ..runtime.executor import exact_attrs
from ..ops.base import Interval, IntervalRule, Unbounded
from ..spec.box import Box
from . import backsub, limbsub, wide
from .claim import Statement, answer_failure, claim_failure, claim_rows
from .wide import Wide
from .format import Case, Certificate, CertificateError, Claim, CrownPart, StatedRelaxation, input_boxes, loads


@dataclass(frozen=True)
class CheckResult:
    """The checker's answer: `ok`, and a reason naming the first failing place (or what was proven)."""

    ok: bool
    reason: str


class Rejected(Exception):
    """A certificate fails a check; the message names the node, index or constraint."""


def check_certificate(graph: Graph, text: str, *, box: Box | Mapping[str, Box] | None = None,
                      prop: Claim | None = None, cases: Sequence[Case] | None = None) -> CheckResult:
    """Check a certificate's text against a model (and, when given, against the box, property and
    cases the user meant, which the certificate must state exactly)."""
    try:
        cert = loads(text)
    except CertificateError as e:
        return CheckResult(False, str(e))
    return check(graph, cert, box=box, prop=prop, cases=cases)


def check(graph: Graph, cert: Certificate, *, box: Box | Mapping[str, Box] | None = None,
          prop: Claim | None = None, cases: Sequence[Case] | None = None) -> CheckResult:
    """Check a parsed certificate exactly; see the module docstring for what is checked."""
    return checker_for(graph).check(cert, box=box, prop=prop, cases=cases)


_LAST: list[tuple[weakref.ref, "Checker"]] = []  # the checker of the graph checked last


def checker_for(graph: Graph) -> "Checker":
    """The checker of `graph`, shared by consecutive checks of the same graph object (a VNN-COMP
    run checks many certificates per model): its exact parameters and what is derived from them
    (integer parts, limbs) are made once. It is shared only while the graph's digest is the one
    it was made for, so a parameter array changed in place gets a fresh checker."""
    if _LAST:
        ref, known = _LAST[0]
        if ref() is graph and digest(graph) == known.digest:
            known.memo.clear()
            return known
    made = Checker(graph)
    _LAST[:] = [(weakref.ref(graph), made)]
    return made


class Checker:
    """The checker of one model, for many certificates (the leaves of a split tree): the graph is
    validated, its digest taken and its exact back-substitution plan built once.

    It remembers each node's required interval under the exact stated numbers it was computed from,
    for certificates with cases: the leaves of a ReLU-split tree on one box share every node before
    their first case, and each is computed once.
    """

    def __init__(self, graph: Graph) -> None:
        self.graph = validate(graph)
        self.digest = digest(self.graph)
        self.params = parameter_intervals(self.graph)
        self.memo: dict[Any, Interval] = {}
        self._plan: Any = None
        self._limbs: limbsub.LimbPlan | None = None

    def plan(self) -> Any:
        """The exact back-substitution plan (`backsub.plan`), built on first use."""
        if self._plan is None:
            self._plan = backsub.plan(self.graph, exact=True)
        return self._plan

    def limbs(self) -> limbsub.LimbPlan:
        """The model's steps for back-substitution on limbs (`limbsub.LimbPlan`), built on first use."""
        if self._limbs is None:
            self._limbs = limbsub.LimbPlan(self.graph)
        return self._limbs

    def check(self, cert: Certificate, *, box: Box | Mapping[str, Box] | None = None, prop: Claim | None = None,
              cases: Sequence[Case] | None = None) -> CheckResult:
        """Check a parsed certificate exactly (and that it states `box`, `prop` and `cases` when given)."""
        try:
            return CheckResult(True, self._check(cert, box, prop, cases))
        except Rejected as e:
            return CheckResult(False, str(e))

    def prepare(self, cert: Certificate, box: Box | Mapping[str, Box] | None, prop: Claim | None,
                cases: Sequence[Case] | None) -> Crown | None:
        """Every check before the arithmetic (Rejected when one fails): the certificate is about
        this model and answers the question asked, with the cases asked about; its CROWN part read
        (its node names, rows and shapes checked). The batched check of a tree's leaves
        (cert/batch.py) runs this very code before its own arithmetic."""
        _check_header(self.graph, self.digest, cert)
        _answers(self.graph, cert, box, prop, cases)
        if cases is not None and cert.cases != tuple(sorted(cases)):
            raise Rejected("the certificate's cases are not the cases asked about")
        return None if cert.crown is None else Crown(self.graph, self.plan(), cert.crown, self.limbs())

    def _check(self, cert: Certificate, box: Box | Mapping[str, Box] | None, prop: Claim | None,
               cases: Sequence[Case] | None) -> str:
        graph = self.graph
        crown = self.prepare(cert, box, prop, cases)
        env = exact_environment(graph, dict(cert.inputs), self.params)
        stated = dict(cert.bounds)
        restrict = _Cases(graph, cert.cases)
        memo = self.memo if cert.cases else None  # input-split leaves share nothing
        read: list[Any] = [cert.graph_digest, cert.inputs]  # what a node's required interval is computed from
        for node in graph.nodes:
            read.append(None if crown is None else crown.stated_for(node))
            required = _required(node, env, crown, memo, tuple(read))
            read.append(stated[node.id])
            required, empty = restrict(node, required)
            if empty:
                return f"certificate holds vacuously: {empty}, so no input of the box satisfies the cases"
            env[node.id] = contained(node, required, stated[node.id])
        if cert.verdict == "unknown":
            return f"bounds of all {len(graph.nodes)} nodes hold; the certificate claims no verdict"
        rows = None if crown is None else crown.claim_lower(cert.claim, cert.output, env, cert.cases)
        failure = claim_failure(cert.claim, env[cert.output], rows)
        if failure:
            raise Rejected(f"property not proven: {failure}")
        return f"certificate holds: bounds of all {len(graph.nodes)} nodes hold, and they imply the property"


def _required(node: Node, env: Mapping[str, Interval], crown: Crown | None, memo: dict[Any, Interval] | None,
              key: tuple[Any, ...]) -> Interval:
    """The node's exact interval from its inputs' stated bounds, tightened by back-substitution for
    a CROWN certificate (its relaxation checked first); remembered in `memo` under `key`: every
    stated number it depends on (the box, the earlier nodes' bounds and relaxations, its own
    relaxation and rows), compared exactly."""
    if memo is not None and key in memo:
        return memo[key]
    required = node_interval(node, env)
    if crown is not None:
        crown.check_relaxations(node, env)  # before any back-substitution uses them
        required = crown.tighten(node, required, env)
    if memo is not None:
        memo[key] = required
    return required


def _answers(graph: Graph, cert: Certificate, box: Box | Mapping[str, Box] | None, prop: Claim | None,
             cases: Sequence[Case] | None) -> None:
    """The certificate answers the question asked, when one is (cert/claim.py: its box contains
    `box`, its proven claim about the model's first output implies `prop`); a certificate with
    cases answers it only when those cases were asked about (a split tree's leaf)."""
    if cert.cases and cases is None and (box is not None or prop is not None):
        raise Rejected(f"the certificate proves its property only where its {len(cert.cases)} case(s) hold, not on "
                       f"the whole box asked about")
    asked = None if box is None else input_boxes(_input_shapes(graph), box)
    failure = answer_failure(statement(cert), asked, graph.outputs[0], prop)
    if failure:
        raise Rejected(failure)


def statement(cert: Certificate) -> Statement:
    """What the certificate states (cert/claim.py)."""
    return Statement(dict(cert.inputs), cert.output, cert.claim, cert.verdict, cert.cases)


def _input_shapes(graph: Graph) -> dict[str, tuple[int, ...]]:
    return {i.name: i.shape for i in graph.inputs}


def _check_header(graph: Graph, graph_digest: str, cert: Certificate) -> None:
    """The certificate is about this graph: digest, input and node names and shapes, output, claim size."""
    if cert.graph_digest != graph_digest:
        raise Rejected(f"graph digest {cert.graph_digest} is not the model's digest {graph_digest}")
    _same_names("inputs", dict(cert.inputs), _input_shapes(graph))
    _same_names("bounds", dict(cert.bounds), {n.id: n.shape for n in graph.nodes})
    if cert.output not in graph.outputs:
        raise Rejected(f"output {cert.output!r} is not an output of the model ({', '.join(graph.outputs)})")
    shape = graph.shapes()[cert.output]
    if isinstance(cert.claim, Box) and cert.claim.shape != shape:
        raise Rejected(f"property box has shape {list(cert.claim.shape)}, output {cert.output!r} has {list(shape)}")
    if not isinstance(cert.claim, Box) and cert.claim.num_outputs != math.prod(shape):
        raise Rejected(f"property speaks of {cert.claim.num_outputs} outputs, {cert.output!r} has {math.prod(shape)}")


def _same_names(what: str, boxes: Mapping[str, Box], shapes: Mapping[str, Any]) -> None:
    if set(boxes) != set(shapes):
        odd = sorted(set(boxes) ^ set(shapes))[0]
        raise Rejected(f"{what}: {odd!r} is {'not in the model' if odd in boxes else 'missing'}")
    for name, b in boxes.items():
        if b.shape != tuple(shapes[name]):
            raise Rejected(f"{what}: {name!r} has shape {list(b.shape)}, the model says {list(shapes[name])}")


def exact_environment(graph: Graph, boxes: Mapping[str, Box],
                      params: Mapping[str, Interval] | None = None) -> dict[str, Interval]:
    """Exact bounds of the model inputs (their boxes) and parameters (points, `parameter_intervals`
    unless given), batch axis of size 1."""
    env = {name: box_interval(b) for name, b in boxes.items()}
    env.update(parameter_intervals(graph) if params is None else params)
    return env


def parameter_intervals(graph: Graph) -> dict[str, Interval]:
    """Every parameter's exact value as a point interval, read-only: a checker shares them across
    certificates, and what is derived from them (integer parts, limbs) is computed once."""
    out = {}
    for p in graph.params:
        value = frozen(p.exact()[None])
        out[p.name] = Interval(value, value)
    return out


def box_interval(box: Box) -> Interval:
    """A box as an Interval of object arrays of Fractions of shape (1, *box.shape)."""
    return Interval(_array(box.lower, box.shape), _array(box.upper, box.shape))


def _array(values: Sequence[Fraction], shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out.reshape((1,) + tuple(shape))


def exact_rule(node: Node) -> IntervalRule:
    """The node's interval rule, if it has an exact one (one that runs over Fractions)."""
    spec = ops.get(node.op)
    rule = spec.interval if spec.exact else spec.exact_interval
    if rule is None:
        raise Rejected(f"node {node.id!r} ({node.op}): {node.op} has no exact interval rule, so certificates "
                       f"through it are not supported yet")
    return rule


def node_interval(node: Node, env: Mapping[str, Interval]) -> Interval:
    """The exact interval of a node from its operands' bounds, by the op's own rule over Fractions."""
    rule = exact_rule(node)
    attrs = exact_attrs(node)
    try:
        return rule(np, attrs, *(env[r] for r in node.inputs))
    except Unbounded as e:
        raise Rejected(f"node {node.id!r} ({node.op}): {e}") from None


def contained(node: Node, required: Interval, stated: Box) -> Interval:
    """The stated bounds as an interval, once they are shown to contain the required interval."""
    lo, hi = box_interval(stated)
    req_lo, req_hi = (np.broadcast_to(v, lo.shape) for v in required)
    bad = np.flatnonzero((lo > req_lo) | (hi < req_hi))
    if bad.size:
        i = int(bad[0])
        raise Rejected(
            f"node {node.id!r} ({node.op}): at flat index {i} the stated bounds [{stated.lower[i]}, {stated.upper[i]}] "
            f"do not contain [{req_lo.flat[i]}, {req_hi.flat[i]}], the exact interval from its inputs' stated bounds"
        )
    return Interval(frozen(lo), frozen(hi))  # met again by later rules: their integer forms are kept


class _Cases:
    """The certificate's cases by node: each cased element's interval cut at 0 (see the module docstring)."""

    def __init__(self, graph: Graph, cases: Sequence[Case]) -> None:
        shapes = {n.id: n.shape for n in graph.nodes}
        self.by_node: dict[str, list[tuple[int, str]]] = {}
        for name, index, sign in cases:
            if name not in shapes:
                raise Rejected(f"cases: {name!r} is not a node of the model")
            if index >= math.prod(shapes[name]):
                raise Rejected(f"cases: node {name!r} has {math.prod(shapes[name])} elements, index {index} is out of range")
            self.by_node.setdefault(name, []).append((index, sign))

    def __call__(self, node: Node, required: Interval) -> tuple[Interval, str | None]:
        """The required interval with the node's cased elements restricted to their sign, and, when
        one of them is left empty, which one."""
        if node.id not in self.by_node:
            return required, None
        lo, hi = (np.array(np.broadcast_to(v, (1,) + tuple(node.shape))) for v in required)
        for index, sign in self.by_node[node.id]:
            low, up = lo.flat[index], hi.flat[index]
            if sign == "nonneg":
                lo.flat[index] = max(low, Fraction(0))
            else:
                hi.flat[index] = min(up, Fraction(0))
            if lo.flat[index] > hi.flat[index]:
                return required, f"case {node.id!r}[{index}] {sign} contradicts its exact interval [{low}, {up}]"
        return Interval(lo, hi), None


class Crown:
    """The CROWN part of a check: relaxations as exact arrays, back-substitution on Fractions (or
    on limbs, `limbsub.lower`, where the net and the stated lines allow)."""

    def __init__(self, graph: Graph, plan: Any, part: CrownPart, limbs: limbsub.LimbPlan | None = None) -> None:
        self.plan = plan
        self.limbs = limbs if limbs is not None and limbs.supported else None
        self._lines: dict[tuple[str, int], limbsub.Relu] = {}  # relaxations in limbs, by name and row count
        self._box: tuple[Any, limbsub.Pick] | None = None  # the input interval read last, in limbs
        self.nodes = {n.id: n for n in graph.nodes}
        self.backsub = frozenset(part.backsub)
        for name in sorted(self.backsub - set(self.nodes)):
            raise Rejected(f"crown.backsub: {name!r} is not a node of the model")
        self.rows = dict(part.backsub_rows)
        for name, index in sorted(self.rows.items()):
            if name not in self.backsub:
                raise Rejected(f"crown.backsub_rows: {name!r} is not listed in crown.backsub")
            if index and index[-1] >= math.prod(self.nodes[name].shape):
                raise Rejected(f"crown.backsub_rows: {name!r} has {math.prod(self.nodes[name].shape)} elements, "
                               f"index {index[-1]} is out of range")
        self.relaxations = self._arrays("relaxations", dict(part.relaxations), ())
        self.stated = dict(part.relaxations)
        self.claim_relaxations = dict(part.claim_relaxations)
        self.claim_betas = part.claim_betas

    def stated_for(self, node: Node) -> tuple[Any, ...]:
        """What this part states about the node: its relaxation, and whether and where it is back-substituted."""
        return self.stated.get(node.id), node.id in self.backsub, self.rows.get(node.id)

    def _arrays(self, what: str, stated: Mapping[str, StatedRelaxation], rows: tuple[int, ...]) -> dict[str, Any]:
        out = {}
        for name, r in stated.items():
            node = self.nodes.get(name)
            if node is None or ops.get(node.op).relax is None:
                raise Rejected(f"crown.{what}: {name!r} is not a node with a relaxation (relu, leaky_relu, ...)")
            if ops.get(node.op).intercepts is None:
                raise Rejected(f"crown.{what}: node {name!r} ({node.op}): {node.op} relaxations have no exact "
                               f"soundness check, so certificates through them are not supported")
            if r.shape != rows + tuple(node.shape):
                raise Rejected(f"crown.{what}: {name!r} has shape {list(r.shape)}, expected {list(rows + node.shape)}")
            out[name] = backsub.Relaxation(*map(frozen, r.arrays()))  # met in every back-substitution
        return out

    def tighten(self, node: Node, required: Interval, env: Mapping[str, Interval]) -> Interval:
        """The node's exact interval, intersected with its back-substitution bounds when it is a backsub node."""
        if node.id not in self.backsub:
            return required
        shape = tuple(node.shape)
        index = np.array(self.rows.get(node.id, range(math.prod(shape))), dtype=np.int64)
        iv = Interval(*(np.broadcast_to(v, (1,) + shape) for v in required))
        if index.size and self._on_limbs(node.id, self.relaxations):
            lower = self._limb_lower({node.id: limbsub.identity_rows(shape, index)}, env, {})[None]
        else:
            rows = backsub.identity_rows(np, 1, shape, index, exact=True)
            own = {**env, node.id: iv}  # a node without affine rule or relaxation: its interval
            lower = backsub.backsubstitute(self.plan, node.id, rows, own, self.relaxations).lower
        return backsub.tightened_interval(np, iv, index, lower)

    def _on_limbs(self, start: str, relaxations: Mapping[str, Any]) -> bool:
        """Whether the back-substitution from `start` runs on limbs (`limbsub.lower`): the model
        is made of the steps handled there and every relu it may pass has stated lines (one
        without is bounded by its interval, which only `backsub.backsubstitute` does)."""
        return self.limbs is not None and all(r in relaxations for r in self.limbs.relus_up_to(start))

    def _limb_lower(self, coeffs: dict[str, Wide], env: Mapping[str, Interval],
                    per_row: Mapping[str, Any]) -> np.ndarray:
        """`backsub.backsubstitute`'s lower bounds (Fractions, (R,)) of the rows in `coeffs`,
        computed on limbs: the stated lines of each relu (a row's own lines where `per_row` has
        them, (1, R, *shape)), the input's interval in `env` as the box."""
        assert self.limbs is not None
        rows = next(iter(coeffs.values())).shape[0]
        box = env[self.limbs.input]
        if self._box is None or self._box[0] is not box:
            self._box = (box, limbsub.box_of(*box))

        def lines(name: str) -> limbsub.Relu:
            return self._lines_of(name, per_row.get(name), rows)

        return wide.fractions(limbsub.lower(self.limbs, coeffs, lines, self._box[1]))

    def _lines_of(self, name: str, own: Any, rows: int) -> limbsub.Relu:
        """A relu's stated lines in limbs, converted once per check: its own lines for each of
        `rows` rows ((R, *shape)) where `own` (a claim relaxation, (1, R, *shape)) is given, else
        the node's ((1, *shape))."""
        assert self.limbs is not None
        key, r, lead = ((name, 0), self.relaxations[name], (1,)) if own is None else ((name, rows), own, (rows,))
        if key not in self._lines:
            self._lines[key] = limbsub.lines_of(r, lead + self.limbs.shapes[name])
        return self._lines[key]

    def check_relaxations(self, node: Node, env: Mapping[str, Interval]) -> None:
        """The node's stated lines are sound on its operand's stated bounds (known by now)."""
        if node.id in self.relaxations:
            self._sound("relaxations", node, self.relaxations[node.id], env[node.inputs[0]])

    def _sound(self, what: str, node: Node, r: Any, operand: Interval) -> None:
        spec = ops.get(node.op)
        lo, hi = (np.broadcast_to(v.reshape((1,) * (r.lower_slope.ndim - v.ndim + 1) + v.shape[1:]),
                                  r.lower_slope.shape) for v in operand)
        li, ui = spec.intercepts(np, exact_attrs(node), lo, hi, r.lower_slope, r.upper_slope)
        bad = np.flatnonzero((r.lower_intercept > li) | (r.upper_intercept < ui))
        if bad.size:
            i = int(bad[0])
            raise Rejected(
                f"crown.{what}: node {node.id!r} ({node.op}): at flat index {i} the lines "
                f"{r.lower_slope.flat[i]} x + {r.lower_intercept.flat[i]} and {r.upper_slope.flat[i]} x + "
                f"{r.upper_intercept.flat[i]} do not bound it on [{lo.flat[i]}, {hi.flat[i]}]"
            )

    def claim_lower(self, claim: Claim, output: str, env: Mapping[str, Interval],
                    cases: Sequence[Case]) -> dict[tuple[Fraction, ...], Fraction]:
        """Exact lower bounds of every constraint row of the claim, by back-substitution (with the
        beta-CROWN terms of the cases, when stated)."""
        rows = claim_rows(claim)
        if not rows or output not in self.nodes:
            if self.claim_betas:
                raise Rejected("crown.claim_betas: the claim has no constraint rows to bound")
            return {}
        extra = self.claim_arrays(len(rows))
        for name, r in extra.items():
            self._sound("claim_relaxations", self.nodes[name], r, env[self.nodes[name].inputs[0]])
        shape = tuple(self.nodes[output].shape)
        A = np.array([list(row) for row in rows], dtype=object).reshape((1, len(rows)) + shape)
        seeds = self._beta_seeds(len(rows), cases)
        relaxations = {**self.relaxations, **extra}
        if self._on_limbs(output, relaxations):  # the rows A and the seeds, batch axis dropped
            coeffs: dict[str, Wide] = {}
            for name, S in [(output, A)] + list(seeds.items()):
                limbs = wide.of_fractions(S[0])
                coeffs[name] = wide.add(coeffs[name], limbs) if name in coeffs else limbs
            return dict(zip(rows, self._limb_lower(coeffs, env, extra)))
        lower = backsub.backsubstitute(self.plan, output, A, env, relaxations, seeds=seeds).lower
        return dict(zip(rows, lower[0]))

    def claim_arrays(self, rows: int) -> dict[str, Any]:
        """The per-row claim lines as exact arrays (1, rows, *shape), their names and shapes checked."""
        return self._arrays("claim_relaxations", self.claim_relaxations, (rows,))

    def _beta_seeds(self, k: int, cases: Sequence[Case]) -> dict[str, Any]:
        """The stated betas as back-substitution seeds: per cased node, sum_j beta_kj s_j on its
        element of case j (s_j = -1 for nonneg, +1 for nonpos), shape (1, K, *node shape)."""
        betas = self.claim_betas
        if not betas:
            return {}
        if len(betas) != k:
            raise Rejected(f"crown.claim_betas: {len(betas)} rows, the claim has {k} constraint rows")
        for i, row in enumerate(betas):
            if len(row) != len(cases):
                raise Rejected(f"crown.claim_betas[{i}]: {len(row)} multipliers, the certificate has {len(cases)} cases")
        seeds: dict[str, Any] = {}
        for j, (name, index, sign) in enumerate(cases):
            shape = tuple(self.nodes[name].shape)
            S = seeds.setdefault(name, np.full((1, k, math.prod(shape)), Fraction(0), dtype=object))
            for i in range(k):
                S[0, i, index] += betas[i][j] if sign == "nonpos" else -betas[i][j]
        return {name: S.reshape((1, k) + tuple(self.nodes[name].shape)) for name, S in seeds.items()}
