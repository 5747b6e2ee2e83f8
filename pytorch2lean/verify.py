"""Verification as the CLI runs it: bound, certify and check each box of a query (spec/query.py).

Each box is answered on its own, with its own certificate; the query holds only when every box does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Sequence

from . import memory
from .bounds import verify as bound
from .bounds.bab import SPLITS, bab
from .bounds.falsify import falsify, format_witness
from .cert import check_certificate
from .cert.claim import least_value
from .cert.tree import TIME_UP, check_bab_certificate
from .cert.format import loads as load_certificate
from .cert.format import unsafe_terms
from .errors import UserError
from .ir.graph import Graph
from .spec import Box, Property
from .spec.query import Query, single_input

METHODS = ("ibp", "crown", "alpha", "bab")
EXIT_CODES = {"holds": 0, "violated": 3, "unknown": 4, "timeout": 5}  # `verify`'s exit status per overall verdict
BAB_BUDGET = 60.0  # seconds of branch and bound per box when no timeout is given


@dataclass(frozen=True)
class BoxResult:
    """The answer for one input box: verdict, why, output bounds, margin, certificate text."""

    index: int
    verdict: str
    reason: str
    lower: tuple[Fraction, ...]
    upper: tuple[Fraction, ...]
    margin: Fraction | None
    certificate: str | None
    seconds: float


def run_query(graph: Graph, query: Query, method: str, timeout: float | None,
              falsify_s: float = 0.0, split: str = "auto", workers: int = 1) -> list[BoxResult]:
    """Answer every box in turn; boxes left when the time is up are answered `timeout`.

    `split` is how bab splits: "input", "relu" or "auto" (by the input's size; see bounds.bab).
    With `falsify_s` > 0, a box the bounds leave open is searched for a counterexample for up to
    that many seconds (the open pieces, for bab); one found, and re-checked exactly, makes the
    box `violated`, the witness in VNN-COMP text as the reason. A bab certificate's leaves are
    checked in `workers` processes.
    """
    if method not in METHODS:
        raise UserError(f"--method {method}: available methods are {', '.join(METHODS)}")
    if method == "bab" and query.prop is None:
        raise UserError("--method bab needs a property to prove (--vnnlib, or --input with --eps and --label)")
    known_split(split)
    start = time.perf_counter()
    results = []
    for k, box in enumerate(query.boxes):
        t0 = time.perf_counter()
        left = None if timeout is None else timeout - (t0 - start)
        if left is not None and left <= 0:
            results.append(BoxResult(k, "timeout", f"no time left after {timeout} s", (), (), None, None, 0.0))
            continue
        shaped = box.reshape(single_input(graph).shape)
        result, open_boxes = _bound(graph, shaped, query.prop, method, left, split, workers)
        if result.verdict != "holds" and falsify_s > 0 and query.prop is not None:
            result = _falsified(graph, list(open_boxes) or [shaped], query.prop, falsify_s, k) or result
        results.append(replace(result, index=k, seconds=time.perf_counter() - t0))
    return results


def known_split(split: str) -> None:
    if split not in SPLITS:
        raise UserError(f"--split {split}: choose one of {', '.join(SPLITS)}")


def _bound(graph: Graph, box: Box, prop: Property | None, method: str, left: float | None,
           split: str, workers: int) -> tuple[BoxResult, tuple[Box, ...]]:
    """One box by one method: the result (seconds unset) and, for bab, the pieces left open."""
    if method != "bab":
        verdict, cert, reason = bound(graph, box, prop, method=method)
        return _result(0, verdict, reason, cert, prop, 0.0), ()
    assert prop is not None
    proof = prove_box(graph, box, prop, method, BAB_BUDGET if left is None else left, split=split, workers=workers)
    return BoxResult(0, proof.verdict, proof.reason, (), (), None, proof.certificate, 0.0), proof.open_boxes


@dataclass(frozen=True)
class Proof:
    """A proof attempt on one box: verdict "holds" (with a certificate the exact checker accepted),
    "unknown" or "timeout"; the pieces left open (where a counterexample may be); why."""

    verdict: str
    certificate: str | None
    open_boxes: tuple[Box, ...]
    reason: str


def prove_box(graph: Graph, box: Box, prop: Property, method: str, budget_s: float,
              deadline: float | None = None, split: str = "auto", workers: int = 1) -> Proof:
    """Prove `prop` on `box` by `method` (bab, splitting as `split` says, within `budget_s` seconds, or
    one float bound pass), then check the certificate exactly (a bab check, its leaves in `workers`
    processes, gives up at `deadline`, a `time.monotonic()` value). Work that runs out of memory (the
    process's budget, `memory.limit`) leaves the box open: unknown, saying so."""
    try:
        return _prove(graph, box, prop, method, budget_s, deadline, split, workers)
    except MemoryError as e:
        return Proof("unknown", None, (box,), memory.out_of_memory(e))


def _prove(graph: Graph, box: Box, prop: Property, method: str, budget_s: float, deadline: float | None, split: str,
           workers: int) -> Proof:
    if method == "bab":
        found = bab(graph, box, prop, budget_s=budget_s, split=split)
        if found.verdict != "holds" or found.certificate is None:
            return Proof(found.verdict, None, found.open_boxes or (box,), found.reason)
        text = found.certificate
        checked = check_bab_certificate(graph, text, box=box, prop=prop, deadline=deadline, workers=workers)
    else:
        verdict, text, reason = bound(graph, box, prop, method=method, exact=False)  # type: ignore[assignment]
        if verdict != "holds" or text is None:
            return Proof("unknown", None, (box,), reason)
        checked = check_certificate(graph, text, box=box, prop=prop)
    if not checked.ok and checked.reason.startswith(TIME_UP):
        return Proof("timeout", None, (), checked.reason)
    if not checked.ok:
        return Proof("unknown", None, (box,), f"the exact check rejected the certificate: {checked.reason}")
    return Proof("holds", text, (), checked.reason)


def _falsified(graph: Graph, boxes: list[Box], prop: Property, budget: float, k: int) -> BoxResult | None:
    witness = falsify(graph, boxes, prop, budget_s=budget)
    if witness is None:
        return None
    checked = "exactly" if witness.exact else "in float64"
    text = f"counterexample (re-checked {checked}; outputs shown as the nearest double): " + format_witness(witness, False)
    return BoxResult(k, "violated", text, (), (), None, None, 0.0)


def _result(k: int, verdict: str, reason: str, cert: str | None, prop: Property | None, seconds: float) -> BoxResult:
    if cert is None:
        return BoxResult(k, verdict, reason, (), (), None, None, seconds)
    parsed = load_certificate(cert)
    out = dict(parsed.bounds).get(parsed.output) or dict(parsed.inputs)[parsed.output]
    return BoxResult(k, verdict, reason, out.lower, out.upper, _margin(prop, out), cert, seconds)


def _margin(prop: Property | None, out: Box) -> Fraction | None:
    """How far the output bounds are from the unsafe region: > 0 proves it, <= 0 does not.

    Per unsafe term, the best constraint's (min c.y - d); the margin is the worst term's.
    """
    if prop is None:
        return None
    return min(max(least_value(c.coeffs, out.lower, out.upper) - c.bound for c in term) for term in unsafe_terms(prop))


def results_json(graph: Graph, query: Query, method: str, results: Sequence[BoxResult]) -> dict:
    """The results as JSON data for other tools: exact numbers as certificate-style text."""
    from .cert.format import number_text
    from .ir import digest

    return {
        "format": "pytorch2lean.verify.v1", "model": graph.name, "digest": digest(graph), "method": method,
        "query": query.description, "verdict": overall(results),
        "boxes": [
            {"index": r.index, "verdict": r.verdict, "reason": r.reason, "seconds": round(r.seconds, 6),
             "margin": None if r.margin is None else number_text(r.margin),
             "lower": [number_text(q) for q in r.lower], "upper": [number_text(q) for q in r.upper]}
            for r in results
        ],
    }


def overall(results: Sequence[BoxResult]) -> str:
    """`holds` when every box holds; `violated` when some box has a counterexample (the property is
    false whatever the others say); else the first box's non-holding verdict."""
    if any(r.verdict == "violated" for r in results):
        return "violated"
    return next((r.verdict for r in results if r.verdict != "holds"), "holds")
