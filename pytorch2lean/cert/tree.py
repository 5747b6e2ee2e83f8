"""Split-tree certificates (`pytorch2lean.bab.v1`) and their exact check, beside cert.v1's.

Branch and bound (bounds/bab.py, the untrusted search) writes these; this module checks them and
imports nothing from the search.

Certificate `pytorch2lean.bab.v1` (canonical JSON like cert.v1):

    format        "pytorch2lean.bab.v1"
    graph_digest  the model's IR digest
    input         the model input that is split
    box           BOUNDS of the whole input box (as in cert.v1)
    property      the claim (as in cert.v1)
    tree          TREE, one of
                    {"leaf": k}
                    {"dim": i, "at": NUMBER, "below": TREE, "above": TREE}: an input split: the box of
                      the split node is cut at flat coordinate i into [lo_i, at] (below) and [at, hi_i]
                      (above); `at` is a dyadic strictly between lo_i and hi_i
                    {"node": id, "index": i, "nonneg": TREE, "nonpos": TREE}: a ReLU split: element i
                      (flat) of node `id` is >= 0 in the first subtree and <= 0 in the second; a path
                      splits an element at most once
    leaves        [cert.v1 object, ...]: leaf k is certificate k, about exactly the box its tree
                  position gives, exactly the cases its path gives (`cases`, absent when none) and
                  exactly the property above; every leaf is used once

`check_bab_certificate` accepts it iff the tree covers the box (by construction of the walk: every
input split's children are the two halves of its box, every ReLU split's the two cases of its
domain) and every leaf certificate is accepted by `cert.check` for its own box, cases and the
property, with verdict "holds". Soundness: the halves of each input split cover its box, and every
point of a domain has the split element >= 0 or <= 0, so the leaves' domains cover the whole box,
and the property holds on each leaf's domain.

`check_any_certificate` checks a certificate of either format; `check_claims` checks certificates
against the question a user asks (cert/claim.py's rule: each box asked about lies in some
certificate's box, and each certificate's proven claim implies the claim asked about).
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple, Sequence

from ..ir import Graph, digest, validate
from ..spec.box import Box
from ..errors import UserError
from ..memory import reuse_freed_memory
from .batch import Batch
from .check import CheckResult, check_certificate, checker_for, statement
from .claim import Statement, answer_failure, box_failure, proves_nothing
from .format import (Case, Certificate, CertificateError, Claim, Reader, from_json, input_boxes, loads, read_box,
                     read_claim, read_number)

FORMAT = "pytorch2lean.bab.v1"
TIME_UP = "the check ran out of time"
PARALLEL_MIN_CHUNK = 4  # leaves per chunk at least when a check runs in worker processes
BATCH = 32  # leaves checked together on limbs (cert/batch.py)
ORPHAN_POLL_S = 0.5  # how often a check worker looks whether its parent still lives


class _Walk:
    """The checker's walk over the split tree, carrying each position's box and cases: every leaf
    used once; it lists each leaf with exactly its box and cases, for `_check_leaves`."""

    def __init__(self, graph: Graph, leaves: list[Any]) -> None:
        self.leaves = leaves
        self.shapes = {n.id: n.shape for n in graph.nodes}
        self.used: set[int] = set()
        self.found: list[_LeafJob] = []

    def visit(self, node: Reader, lower: list[Fraction], upper: list[Fraction], cases: tuple[Case, ...]) -> None:
        if isinstance(node.data, dict) and "leaf" in node.data:
            return self.leaf(node.get("leaf", int), node.where, lower, upper, cases)
        if isinstance(node.data, dict) and "node" in node.data:
            return self.relu_split(node, lower, upper, cases)
        dim, at = node.get("dim", int), read_number(node.get("at", str), f"{node.where}.at")
        if not 0 <= dim < len(lower):
            raise CertificateError(f"{node.where}.dim: {dim} is not a coordinate of the {len(lower)}-dimensional box")
        if at.denominator & (at.denominator - 1):
            raise CertificateError(f"{node.where}.at: {at} is not a dyadic number")
        if not lower[dim] < at < upper[dim]:
            raise CertificateError(f"{node.where}.at: {at} is not strictly inside [{lower[dim]}, {upper[dim]}]")
        self.visit(node.sub("below"), lower, upper[:dim] + [at] + upper[dim + 1:], cases)
        self.visit(node.sub("above"), lower[:dim] + [at] + lower[dim + 1:], upper, cases)

    def relu_split(self, node: Reader, lower: list[Fraction], upper: list[Fraction], cases: tuple[Case, ...]) -> None:
        name, index = node.get("node", str), node.get("index", int)
        if name not in self.shapes:
            raise CertificateError(f"{node.where}.node: {name!r} is not a node of the model")
        if not 0 <= index < math.prod(self.shapes[name]):
            raise CertificateError(f"{node.where}.index: node {name!r} has {math.prod(self.shapes[name])} elements, "
                                   f"index {index} is out of range")
        if any(c[:2] == (name, index) for c in cases):
            raise CertificateError(f"{node.where}: element {index} of node {name!r} is split twice on this path")
        for sign in ("nonneg", "nonpos"):
            self.visit(node.sub(sign), lower, upper, cases + ((name, index, sign),))

    def leaf(self, k: int, where: str, lower: list[Fraction], upper: list[Fraction], cases: tuple[Case, ...]) -> None:
        if not 0 <= k < len(self.leaves) or k in self.used:
            raise CertificateError(f"{where}.leaf: {k} is {'used twice' if k in self.used else 'not a leaf index'}")
        self.used.add(k)
        self.found.append(_LeafJob(k, where, self.leaves[k], Box(tuple(lower), tuple(upper), (len(lower),)), cases))


class _LeafJob(NamedTuple):
    """One leaf to check: its index, tree position, JSON, and the box and cases its path gives."""

    k: int
    where: str
    leaf: Any
    box: Box
    cases: tuple[Case, ...]


def _check_leaves(batched: Batch, prop: Any, jobs: Sequence[_LeafJob], deadline: float | None) -> tuple[int, str | None]:
    """Check leaves in order: how many were checked, and why the first one failing fails (None: all hold).

    BATCH leaves at a time are first checked together on machine-word limbs (cert/batch.py); a
    leaf that check does not accept is checked by its checker on Fractions, which gives the
    answer and the reason, so the first failing leaf named is the same either way."""
    checker = batched.checker
    for start in range(0, len(jobs), BATCH):
        if deadline is not None and time.monotonic() > deadline:
            return start, TIME_UP
        chunk = jobs[start:start + BATCH]
        certs: list[Certificate | CertificateError] = []
        for job in chunk:
            try:
                certs.append(from_json(job.leaf))
            except CertificateError as e:
                certs.append(e)
        readable = [c if isinstance(c, Certificate) else None for c in certs]
        accepted = batched.accepted(readable, [job.box for job in chunk], prop, [job.cases for job in chunk])
        for k, (job, cert) in enumerate(zip(chunk, certs)):
            if accepted[k]:
                continue
            if deadline is not None and time.monotonic() > deadline:
                return start + k, TIME_UP
            if isinstance(cert, CertificateError):
                return start + k, f"leaves[{job.k}]: {cert}"
            result = checker.check(cert, box=job.box, prop=prop, cases=job.cases)
            if not result.ok:
                return start + k, f"leaves[{job.k}] (at {job.where}): {result.reason}"
    return len(jobs), None


_WORKER: dict[str, Batch] = {}  # a check worker process's (batched) checker of the one graph it serves


def _start_worker(graph: Graph, parent: int) -> None:
    """A check worker's start: its checker, and a watch that ends the worker once `parent` (the
    process that started the pool) is gone. A pool's workers outlive a SIGTERM or SIGKILL of
    their parent (a killed vnncomp) and would keep checking leaves nobody reads, holding the CPUs."""
    reuse_freed_memory()
    _WORKER["batch"] = Batch(checker_for(graph))
    threading.Thread(target=_end_with, args=(parent,), daemon=True).start()


def _end_with(parent: int) -> None:
    """Poll the parent process id; once the worker is re-parented (its parent died), exit at once."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_POLL_S)
    os._exit(1)


def _worker_checks(prop: Any, jobs: Sequence[_LeafJob], deadline: float | None) -> tuple[int, str | None]:
    return _check_leaves(_WORKER["batch"], prop, jobs, deadline)


def default_jobs() -> int:
    """The worker processes a check uses by default: one per CPU this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _check_all(graph: Graph, prop: Any, jobs: list[_LeafJob], deadline: float | None, workers: int) -> str | None:
    """Check every leaf (in `workers` processes when more than one and there are enough leaves);
    the reason of the first failing leaf in tree order, or None when all hold.

    Leaves go out in contiguous chunks, several per worker: neighbours in the tree share the nodes
    before their first case (`Checker`'s memo), and an early failure stops the rest.
    """
    if workers <= 1 or len(jobs) < 2 * PARALLEL_MIN_CHUNK:
        done, failure = _check_leaves(Batch(checker_for(graph)), prop, jobs, deadline)
        return None if failure is None else _failure(failure, done, len(jobs))
    size = max(PARALLEL_MIN_CHUNK, -(-len(jobs) // (4 * workers)))
    chunks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold BLAS threads
    with ProcessPoolExecutor(min(workers, len(chunks)), mp_context=context, initializer=_start_worker,
                             initargs=(graph, os.getpid())) as pool:
        futures = [pool.submit(_worker_checks, prop, chunk, deadline) for chunk in chunks]
        checked = 0
        for future in futures:  # in tree order: the first failure reported is the first in the tree
            done, failure = future.result()
            checked += done
            if failure is not None:
                pool.shutdown(cancel_futures=True)
                return _failure(failure, checked, len(jobs))
    return None


def _failure(failure: str, checked: int, total: int) -> str:
    return f"{TIME_UP}: {checked} of {total} leaves checked" if failure == TIME_UP else failure


def check_bab_certificate(graph: Graph, text: str, *, box: Box | None = None, prop: Claim | None = None,
                          deadline: float | None = None, workers: int = 1) -> CheckResult:
    """Check a `pytorch2lean.bab.v1` certificate exactly (and, when given, that it answers the
    question about `box` and `prop`: cert/claim.py's rule).

    With a `deadline` (a `time.monotonic()` value) a check still running then is given up: the
    result is not ok and its reason starts with TIME_UP. `workers` > 1 checks the leaves in that
    many processes; the answer (and the failing leaf named) is the same. The processes are spawned,
    so a script that asks for them must guard its top level (`if __name__ == "__main__":`).
    """
    graph = validate(graph)
    try:
        doc = Reader(json.loads(text), "certificate")
        stated = _tree_statement(graph, doc)
        asked = None if box is None else _boxes(graph, box)
        failure = answer_failure(stated, asked, graph.outputs[0], prop)
        if failure:
            raise CertificateError(failure)
        leaves = doc.get("leaves", list)
        whole = next(iter(stated.boxes.values()))
        walk = _Walk(graph, leaves)
        walk.visit(doc.sub("tree"), list(whole.lower), list(whole.upper), ())
        if len(walk.used) != len(leaves):
            raise CertificateError(f"leaves[{min(set(range(len(leaves))) - walk.used)}] is not in the tree")
        failure = _check_all(graph, stated.claim, walk.found, deadline, workers)
        if failure is not None:
            raise CertificateError(failure)
    except (CertificateError, json.JSONDecodeError) as e:
        return CheckResult(False, str(e))
    return CheckResult(True, f"certificate holds: {len(leaves)} leaves cover the box and each leaf certificate holds")


def _tree_statement(graph: Graph, doc: Reader) -> Statement:
    """What a split tree states: its whole box and its property, proven ("holds") on every leaf."""
    if doc.get("format", str) != FORMAT:
        raise CertificateError(f"certificate: format must be {FORMAT!r}")
    if doc.get("graph_digest", str) != digest(graph):
        raise CertificateError("certificate: graph digest is not the model's digest")
    boxes = _boxes(graph, read_box(doc.sub("box")))
    return Statement(boxes, graph.outputs[0], read_claim(doc.sub("property")), "holds",
                     leaves=len(doc.get("leaves", list)))


def _boxes(graph: Graph, box: Box) -> dict[str, Box]:
    """The box (flat, of a one-input model) by input name, shaped as the input."""
    try:
        return input_boxes({i.name: i.shape for i in graph.inputs}, box)
    except UserError as e:
        raise CertificateError(f"certificate: {e}") from None


def read_statement(graph: Graph, text: str) -> Statement:
    """What a certificate of either format states, read without checking it (CertificateError when
    it is not a certificate about this model)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CertificateError(f"certificate is not JSON: {e}") from None
    if isinstance(data, dict) and data.get("format") == FORMAT:
        return _tree_statement(validate(graph), Reader(data, "certificate"))
    return statement(loads(text))


def check_any_certificate(graph: Graph, text: str, *, box: Box | None = None, prop: Claim | None = None,
                          workers: int = 1) -> CheckResult:
    """Check a certificate of either format (and, when given, that it answers the question about
    `box` and `prop`): `pytorch2lean.bab.v1` here (its leaves in `workers` processes), anything
    else by `cert.check_certificate`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return CheckResult(False, f"certificate is not JSON: {e}")
    if isinstance(data, dict) and data.get("format") == FORMAT:
        return check_bab_certificate(graph, text, box=box, prop=prop, workers=workers)
    return check_certificate(graph, text, box=box, prop=prop)


@dataclass(frozen=True)
class ClaimCheck:
    """The answer of `check_claims`: `ok`, why (the first failing place), and the statements read."""

    ok: bool
    reason: str
    statements: tuple[Statement, ...]


def check_claims(graph: Graph, texts: Sequence[str], boxes: Sequence[Box] | None = None, prop: Claim | None = None,
                 workers: int = 1, names: Sequence[str] | None = None) -> ClaimCheck:
    """Check certificates against the question a user asks: every box in `boxes` lies in the box of
    some certificate, every certificate's claim implies `prop` (cert/claim.py), and every
    certificate is accepted by the exact checker. Without a question, each certificate's own
    statement is checked. A certificate that proves no property (verdict "unknown", a property
    that holds of every output) or proves it only on part of its box (a leaf's cases) answers
    nothing and is rejected. A failure names its certificate by `names[k]` (its file), else by its
    place in `texts` when there are several."""
    graph = validate(graph)
    statements: list[Statement] = []
    for k, text in enumerate(texts):
        where = (f"{names[k]}: " if names is not None else
                 f"certificate {k + 1} of {len(texts)}: " if len(texts) > 1 else "")
        try:
            stated = read_statement(graph, text)
        except CertificateError as e:
            return ClaimCheck(False, where + str(e), tuple(statements))
        statements.append(stated)
        failure = _proves_nothing(stated) or answer_failure(stated, None, graph.outputs[0], prop)
        result = CheckResult(False, failure) if failure else check_any_certificate(graph, text, workers=workers)
        if not result.ok:
            return ClaimCheck(False, where + result.reason, tuple(statements))
    failure = None if boxes is None else _uncovered(graph, statements, boxes)
    if failure:
        return ClaimCheck(False, failure, tuple(statements))
    what = "the question asked" if boxes is not None or prop is not None else "the certificate's own statement"
    return ClaimCheck(True, f"{len(texts)} certificate(s) checked exactly; they prove {what}", tuple(statements))


def _proves_nothing(stated: Statement) -> str | None:
    """Why a statement answers no question on its own, or None."""
    if stated.verdict != "holds":
        return f"the certificate's verdict is {stated.verdict!r}: it proves no property"
    if stated.cases:
        return (f"the certificate proves its property only where its {len(stated.cases)} case(s) hold (a leaf of a "
                f"split tree): check the whole tree's certificate")
    if proves_nothing(stated.claim):
        return "the certificate's property holds of every output: it proves nothing"
    return None


def _uncovered(graph: Graph, statements: Sequence[Statement], boxes: Sequence[Box]) -> str | None:
    """Why some box asked about lies in no certificate's box, or None."""
    shapes = {i.name: i.shape for i in graph.inputs}
    for k, box in enumerate(boxes):
        asked = input_boxes(shapes, box)
        failures = [box_failure(s.boxes, asked) for s in statements]
        if all(failures):
            which = f"box {k} of {len(boxes)}" if len(boxes) > 1 else "the box asked about"
            return f"{which} lies in no certificate's box: {failures[0]}"
    return None
