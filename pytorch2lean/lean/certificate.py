"""Accepted certificates as Lean theorems, checked by the kernel.

An interval certificate (`pytorch2lean.cert.v1`, method `ibp`) becomes one module
`<Module>/Certificates/<Name>.lean` of an exported project: the node bounds it states, as data,
and the theorem

    theorem <name> : Safe graph params BOX (fun ys => (PROPERTY).Holds (nthD ys k []))

proved by `checkIBP_sound` (`lean/Pytorch2Lean/CheckIBP.lean`) applied to one `decide +kernel`
evaluation of the Lean checker. The box and the property are written as the rationals the user's
spec states (a VNN-LIB `0.3` as `3/10`, a decimal with its digits kept: `-0.25` as `-25/100`),
so a reader sees what is proven without trusting this exporter; the stated bounds, which only
the checker reads, are normalised `Q` literals. A CROWN certificate, and each leaf of an
input-split tree, is proved in stages instead (`Staged.lean`): a theorem per node with
back-substituted elements, one per run of nodes without, one for the claim, each one kernel
evaluation on the bounds the certificate states, joined by `checkCROWN_staged` (`Stage`).
Everything here is a pure function of its arguments: the same certificate gives the same bytes.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Sequence

from ..cert.claim import claim_rows
from ..cert.tree import FORMAT as TREE_FORMAT
from ..cert.format import (Certificate, CrownPart, Reader, StatedRelaxation, loads, read_box, read_claim,
                           read_number, unsafe_terms)
from ..errors import UserError
from ..ir.graph import Graph
from ..ir.serialize import digest
from ..spec.box import Box
from ..spec.property import LinearConstraint, Property
from .emit import export_project
from .encode import list_literal, q_literal

# Ops Lean's back-substitution (`backStep`, CheckCROWN.lean) moves through; elsewhere it stops at the
# node's stated bounds, looser than the Python checker, which moves through more: such certificates
# are refused rather than exported to fail.
LEAN_BACKSUB_OPS = frozenset({"relu", "flatten", "reshape", "linear", "matmul", "add", "sub"})

# Ops whose interval rule the Lean checker has (`intervalOp`), by IR op name.
LEAN_INTERVAL_OPS = frozenset({"add", "sub", "mul", "div", "neg", "relu", "leaky_relu", "linear", "matmul", "conv2d",
                               "maxpool2d", "avgpool2d", "flatten", "reshape", "transpose", "slice", "concat", "pad"})


@dataclass(frozen=True)
class CertificateTheorem:
    """The Lean text of one certificate theorem, ready for `Certificate.lean.j2`."""

    name: str  # the Lean theorem (and module) name
    title: str  # what it proves, in words
    box: str  # a Lean `Box`: one (lower, upper) pair per model input
    prop: str  # a Lean `OutProp`
    output: int  # index of the property's output among the graph's outputs
    output_name: str
    stated: str  # a Lean `List (List Q × List Q)`: stated bounds of every node, in node order
    nodes: int
    argmax: tuple[int, int] | None = None  # (label, classes) for a robustness property
    crown: str | None = None  # a Lean `List NodeCert` (methods crown and alpha): bounds, lines, back-substituted rows
    lines: str = "[]"  # a Lean `ClaimLines`: per constraint of the claim, its own lines (alpha-CROWN)
    stages: tuple["Stage", ...] = ()  # the kernel evaluations of a CROWN certificate's nodes
    leaves: tuple["TreeLeaf", ...] = ()  # a split tree's leaves (bab.v1), in tree order
    tree: str | None = None  # a split tree's proof: `safe_split`s over its leaves' theorems


@dataclass(frozen=True)
class Stage:
    """One kernel evaluation of a CROWN certificate's nodes (`Staged.lean`): the theorem
    `nodesOkFrom weightPreps graph decodedParams BOX NODES start count = true` (`weightPreps`: the
    model's weights checked and packed once, `Decoded.lean`), nodes `start` to `start + count - 1`
    checked on the bounds the certificate states before them. A node with back-substituted elements
    is a stage of its own (the kernel keeps what it evaluates until the declaration ends: one
    evaluation of a whole ACAS Xu leaf ran past 15 GB); a run of nodes without is one stage."""

    name: str  # theorem suffix: `node<j>`, or `nodes<a>_<b>` for a run
    start: int
    count: int
    what: str  # what it checks, in words


@dataclass(frozen=True)
class TreeLeaf:
    """One leaf of a split tree: its certificate's Lean data and its box, the cuts that lead to it."""

    index: int  # the leaf's index in the certificate
    box: str  # a Lean `Box` term: `lowerHalf`/`upperHalf` of the tree's box
    crown: str  # a Lean `List NodeCert`
    lines: str  # a Lean `ClaimLines`
    stages: tuple[Stage, ...]


def theorem_name(text: str) -> str:
    """A Lean identifier from an instance name: its alphanumeric words joined by `_`."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", text) if w]
    name = "_".join(words) or "certificate"
    return "c_" + name if name[0].isdigit() else name


def module_of(name: str) -> str:
    """The module name of a certificate theorem: its words in CamelCase."""
    return "".join(w[:1].upper() + w[1:] for w in name.split("_") if w) or "Certificate"


def readable(q: Fraction) -> str:
    """A rational as Lean source a person reads: an integer as `p`; a decimal fraction (its
    lowest denominator has a factor 5 and no prime but 2 and 5) with its digits kept over a power
    of ten, as a spec writes it (VNN-LIB `-0.0137` as `-137/10000`); anything else as `p/q` in
    lowest terms (`1/3`, a dyadic bound `7/1048576`)."""
    if q.denominator == 1:
        return str(q.numerator)
    den, twos, fives = q.denominator, 0, 0
    while den % 2 == 0:
        den, twos = den // 2, twos + 1
    while den % 5 == 0:
        den, fives = den // 5, fives + 1
    if den != 1 or fives == 0:
        return f"{q.numerator}/{q.denominator}"
    scale = 10 ** max(twos, fives)
    return f"{q.numerator * scale // q.denominator}/{scale}"


def _readable_list(values: Sequence[Fraction]) -> str:
    """A readable list, in chunks past `CHUNK` elements (Lean elaborates a list literal
    recursively, one level per element: a 784-pixel box reaches its recursion limit)."""
    return list_literal([readable(v) for v in values])


def _constraint(c: LinearConstraint) -> str:
    return f"⟨{_readable_list(c.coeffs)}, {readable(c.bound)}, {'true' if c.strict else 'false'}⟩"


def robustness_label(claim: Property | Box) -> int | None:
    """The label of a robustness property (`Property.robustness`: the label stays the strict
    argmax), None for any other claim."""
    if isinstance(claim, Box) or not claim.unsafe.parts or not claim.unsafe.parts[0].parts:
        return None
    coeffs = claim.unsafe.parts[0].parts[0].coeffs
    label = coeffs.index(1) if 1 in coeffs else -1
    if not 0 <= label < claim.num_outputs or claim.num_outputs < 2:
        return None
    return label if claim.unsafe == Property.robustness(label, claim.num_outputs).unsafe else None


def prop_term(claim: Property | Box, label: int | None) -> str:
    """The claim as a Lean `OutProp`; a robustness property (`label`, from `robustness_label`) by
    its name in the library (`robustnessTerms label n`, whose terms the kernel computes)."""
    if isinstance(claim, Box):
        return f"OutProp.box {_readable_list(claim.lower)} {_readable_list(claim.upper)}"
    if label is not None:
        return f"OutProp.avoids (robustnessTerms {label} {claim.num_outputs})"
    terms = ", ".join("[" + ", ".join(_constraint(c) for c in term) + "]" for term in unsafe_terms(claim))
    return f"OutProp.avoids [{terms}]"


def _q_list(values: Sequence[Fraction]) -> str:
    return list_literal([q_literal(v) for v in values])


def certificate_theorem(graph: Graph, cert: Certificate, name: str) -> CertificateTheorem:
    """The theorem of an accepted interval or CROWN certificate about `graph`, or one clear refusal."""
    where = f"certificate {name!r}"
    _refuse_model(graph, cert.graph_digest, where)
    _refuse_leaf(graph, cert, where)
    boxes = dict(cert.inputs)
    stated = dict(cert.bounds)
    box = "[" + ", ".join(f"({_readable_list(boxes[i.name].lower)}, {_readable_list(boxes[i.name].upper)})"
                          for i in graph.inputs) + "]"
    rows = ",\n    ".join(f"({_q_list(stated[n.id].lower)}, {_q_list(stated[n.id].upper)})" for n in graph.nodes)
    crown = lines = None
    stages: tuple[Stage, ...] = ()
    if cert.crown is not None:
        crown, lines, stages = _crown_terms(graph, cert)
    return CertificateTheorem(name=name, box=box, output=list(graph.outputs).index(cert.output),
                              output_name=cert.output, stated="[\n    " + rows + "]", nodes=len(graph.nodes),
                              crown=crown, lines=lines or "[]", stages=stages, **_claim_fields(cert.claim))


def _claim_fields(claim: Property | Box) -> dict:
    """The theorem's words, `OutProp` and robustness corollary for a certificate's claim."""
    title = (f"property {claim.name or 'of the certificate'} holds" if isinstance(claim, Property)
             else "the output lies in the stated box")
    label = robustness_label(claim)
    return {"title": title, "prop": prop_term(claim, label),
            "argmax": None if label is None else (label, claim.num_outputs)}


def _refuse_model(graph: Graph, cert_digest: str, where: str) -> None:
    """Refuse a certificate about another model, or a model with an op the Lean checker lacks."""
    if cert_digest != digest(graph):
        raise UserError(f"{where} is about another model (digest {cert_digest[:16]}..., "
                        f"the model's is {digest(graph)[:16]}...)")
    params = {p.name for p in graph.params}
    for node in graph.nodes:
        if node.op not in LEAN_INTERVAL_OPS:
            raise UserError(f"{where}: node {node.id!r} ({node.op}) has no interval rule in the Lean checker "
                            f"(it covers {', '.join(sorted(LEAN_INTERVAL_OPS))})")
        if node.op == "div" and node.inputs[1] not in params:
            raise UserError(f"{where}: node {node.id!r} (div) divides by {node.inputs[1]!r}, not a parameter; "
                            "the Lean checker divides only by exact parameters")


def _refuse_leaf(graph: Graph, cert: Certificate, where: str) -> None:
    """Refuse a whole-box certificate the Lean checkers cannot read."""
    if cert.verdict != "holds":
        raise UserError(f"{where} proves nothing (verdict {cert.verdict!r}): there is no theorem to export")
    if cert.method not in ("ibp", "crown", "alpha"):
        raise UserError(f"{where}: Lean checks interval and CROWN certificates, this one is {cert.method!r}")
    if cert.cases:
        raise UserError(f"{where} holds only on ReLU-split cases; Lean checks whole-box certificates so far")
    if cert.crown is not None:
        _refuse_backsub(graph, cert, where)
    missing = [n.id for n in graph.nodes if n.id not in dict(cert.bounds)]
    if missing:
        raise UserError(f"{where} states no bounds for node {missing[0]!r}")


def tree_theorem(graph: Graph, doc: dict, name: str) -> CertificateTheorem:
    """The theorem of an accepted input-split tree (`pytorch2lean.bab.v1`, parsed JSON): a theorem
    per leaf (its certificate checked by `checkCROWN` in stages, an interval leaf as one with no lines
    and no rows) about the box its cuts give, joined by `safe_split` (CheckBaB.lean) into the theorem
    about the box."""
    where = f"certificate {name!r}"
    _refuse_model(graph, doc["graph_digest"], where)
    root = read_box(Reader(doc["box"], "box"))
    box = f"[({_readable_list(root.lower)}, {_readable_list(root.upper)})]"
    certs = [loads(json.dumps(leaf)) for leaf in doc["leaves"]]
    for k, cert in enumerate(certs):
        _refuse_leaf(graph, cert, f"{where}, leaf {k}")
    leaves: list[TreeLeaf] = []
    output = list(graph.outputs).index(certs[0].output)

    def term(node: dict, at: str, depth: int) -> str:
        if "leaf" in node:
            k = node["leaf"]
            crown, lines, stages = _crown_terms(graph, certs[k])
            leaves.append(TreeLeaf(k, at, crown, lines, stages))
            return f"(checkCROWN_sound_wf graph params _ {name}_leaf{k}_nodes {output} _ {name}_leaf{k}_lines " \
                   f"{name}_leaf{k}_checks)"
        if "node" in node:
            raise UserError(f"{where} splits ReLU node {node['node']!r} (element {node['index']}); Lean checks "
                            "input-split trees so far: re-run with --split input")
        cut = f"({readable(read_number(node['at'], 'at'))})"
        pad = "\n" + "  " * (depth + 2)
        below = term(node["below"], f"lowerHalf ({at}) 0 {node['dim']} {cut}", depth + 1)
        above = term(node["above"], f"upperHalf ({at}) 0 {node['dim']} {cut}", depth + 1)
        return f"(safe_split _ 0 {node['dim']} {cut} rfl{pad}{below}{pad}{above})"

    proof = term(doc["tree"], f"{name}_box", 0)
    return CertificateTheorem(name=name, box=box, output=output, output_name=certs[0].output, stated="[]",
                              nodes=len(graph.nodes), leaves=tuple(leaves), tree=proof,
                              **_claim_fields(read_claim(Reader(doc["property"], "property"))))


def _shapes(graph: Graph) -> dict[str, tuple[int, ...]]:
    return {**{i.name: tuple(i.shape) for i in graph.inputs}, **{p.name: tuple(p.shape) for p in graph.params},
            **{n.id: tuple(n.shape) for n in graph.nodes}}


def _refuse_backsub(graph: Graph, cert: Certificate, where: str) -> None:
    """Refuse a CROWN certificate whose back-substitution Lean would stop short of: every node on a
    path from an input must be one `backStep` moves through with exact parameters (a single-row
    `linear`/`matmul`, `add`/`sub` of a parameter keeping the shape, `flatten`, `reshape`, `relu`),
    and every stated relaxation must be a relu's (whose lines `lineOk` accepts)."""
    params = {p.name for p in graph.params}
    shapes = _shapes(graph)
    live = {i.name for i in graph.inputs}
    for node in graph.nodes:
        if not any(r in live for r in node.inputs):
            continue
        live.add(node.id)
        x = node.inputs[0]
        fits = node.op in LEAN_BACKSUB_OPS
        if node.op == "linear":
            fits = x in live and all(r in params for r in node.inputs[1:]) and \
                math.prod(shapes[x]) == shapes[node.inputs[1]][-1]
        elif node.op == "matmul":
            w = node.inputs[1]
            fits = x in live and w in params and len(shapes[w]) == 2 and \
                (len(shapes[x]) == 1 or (len(shapes[x]) == 2 and shapes[x][0] == 1)) and shapes[x][-1] == shapes[w][0]
        elif node.op in ("add", "sub"):
            a, b = node.inputs
            act = a if b in params else b if a in params else None
            fits = act is not None and shapes[act] == tuple(node.shape)
        if not fits:
            raise UserError(f"{where}: node {node.id!r} ({node.op}) is not one the Lean CROWN checker back-substitutes "
                            "through (single-row linear/matmul by a parameter, add/sub of a parameter, flatten, "
                            "reshape, relu); re-run verify with --method ibp to export a theorem")
    for name, _ in (*cert.crown.relaxations, *cert.crown.claim_relaxations):
        op = next(n.op for n in graph.nodes if n.id == name)
        if op != "relu":
            raise UserError(f"{where}: node {name!r} ({op}) is relaxed; the Lean CROWN checker reads relu lines only")


def _lines(r: StatedRelaxation, start: int, size: int) -> str:
    """The `Relax` literal of elements [start, start + size) of stated lines."""
    parts = (r.lower_slope, r.lower_intercept, r.upper_slope, r.upper_intercept)
    return list_literal([f"({', '.join(q_literal(v[i]) for v in parts)})" for i in range(start, start + size)])


def _stages(graph: Graph, backsub: Sequence[int]) -> tuple[Stage, ...]:
    """The stages of a certificate's nodes, given how many elements of each are back-substituted:
    one per node with some, one per run of nodes without."""
    stages: list[Stage] = []
    start = 0
    while start < len(graph.nodes):
        node = graph.nodes[start]
        if backsub[start]:
            stages.append(Stage(f"node{start}", start, 1, f"Node {start} (`{node.id}`, {node.op}) checks on the bounds "
                                f"stated before it, its {backsub[start]} back-substituted elements included"))
            start += 1
            continue
        end = start
        while end + 1 < len(graph.nodes) and not backsub[end + 1]:
            end += 1
        what = (f"Node {start} (`{node.id}`, {node.op}) checks on the bounds stated before it; it has no "
                "back-substituted elements" if end == start else
                f"Nodes {start} to {end} (`{node.id}` to `{graph.nodes[end].id}`) check on the bounds stated before "
                "them; none has back-substituted elements")
        stages.append(Stage(f"nodes{start}_{end}", start, end - start + 1, what))
        start = end + 1
    return tuple(stages)


def _crown_terms(graph: Graph, cert: Certificate) -> tuple[str, str, tuple[Stage, ...]]:
    """The `List NodeCert`, the `ClaimLines` and the stages of a CROWN certificate (of an interval
    certificate: its bounds, with no lines and no back-substituted rows)."""
    part = cert.crown or CrownPart((), ())
    stated = dict(cert.bounds)
    relax = dict(part.relaxations)
    rows = dict(part.backsub_rows)
    backsub = set(part.backsub)
    certs = []
    counts = []
    for node in graph.nodes:
        size = math.prod(node.shape)
        lines = f"(some {_lines(relax[node.id], 0, size)})" if node.id in relax else "none"
        index = list(rows.get(node.id, range(size))) if node.id in backsub else []
        counts.append(len(index))
        b = stated[node.id]
        certs.append(f"⟨({_q_list(b.lower)}, {_q_list(b.upper)}), {lines}, {list_literal([str(i) for i in index])}⟩")
    claim_lines = "[]"
    extra = dict(part.claim_relaxations)
    if extra and not isinstance(cert.claim, Box):
        base = ["none"] * (len(graph.inputs) + len(graph.params))
        order = claim_rows(cert.claim)
        def row_lines(k: int) -> str:
            per_node = []
            for node in graph.nodes:
                size = math.prod(node.shape)
                if node.id in extra:
                    per_node.append(f"(some {_lines(extra[node.id], k * size, size)})")
                else:
                    per_node.append(f"(some {_lines(relax[node.id], 0, size)})" if node.id in relax else "none")
            return "(some " + list_literal(base + per_node) + ")"
        claim_lines = list_literal([list_literal([row_lines(order.index(c.coeffs)) for c in term])
                                    for term in unsafe_terms(cert.claim)])
    return "[\n    " + ",\n    ".join(certs) + "]", claim_lines, _stages(graph, counts)


def _theorem(graph: Graph, text: str, name: str) -> CertificateTheorem:
    """The theorem of an accepted certificate of either format (a tree's JSON, often megabytes, is
    parsed once)."""
    doc = json.loads(text)
    if doc.get("format") == TREE_FORMAT:
        return tree_theorem(graph, doc, name)
    return certificate_theorem(graph, loads(text), name)


def check_lean_method(method: str, split: str = "auto") -> None:
    """Refuse, before any work, a method whose certificates the Lean checkers cannot read."""
    if method not in ("ibp", "crown", "alpha", "bab"):
        raise UserError(f"--lean writes theorems from interval, CROWN and input-split certificates: use --method ibp, "
                        f"crown, alpha or bab (not {method!r})")
    if method == "bab" and split == "relu":
        raise UserError("--lean writes theorems of input-split trees; ReLU-split trees are not read by the Lean "
                        "checkers yet: use --split input (or auto on inputs of few coordinates)")


def export_theorems(graph: Graph, out: Path, *, checkpoint_sha256: str, name: str,
                    certificates: Sequence[str | None]) -> list[str]:
    """Write the model's Lake project into `out` with a theorem per proven box: `certificates` has
    one entry per input box of the question, the certificate text or None where the box is not
    proven; the theorem is `name`, or `name_k` for box k of several. Returns the theorem names.
    The certificates must be accepted ones (`verify` and `vnncomp` write no other)."""
    names = [name] if len(certificates) == 1 else [f"{name}_{k}" for k in range(len(certificates))]
    theorems = [_theorem(graph, text, theorem_name(n)) for n, text in zip(names, certificates) if text is not None]
    export_project(graph, out, checkpoint_sha256=checkpoint_sha256, certificates=theorems)
    return [t.name for t in theorems]
