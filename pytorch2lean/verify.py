"""Verification as the CLI runs it: bound, certify and check each box of a query (spec/query.py).

Each box is answered on its own, with its own certificate; the query holds only when every box does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Callable, Sequence

from . import memory
from .bounds import verify as bound
from .bounds.bab import SPLITS, BabProgress, bab
from .bounds.falsify import Witness, exact_meaning, exact_text, falsify, float32_text
from .cert import check_certificate
from .cert.claim import least_value
from .cert.tree import TIME_UP, check_bab_certificate
from .cert.format import loads as load_certificate
from .cert.format import number_text, numbers_text, unsafe_terms
from .errors import UserError
from .ir.graph import Graph
from .spec import Box, Property
from .spec.query import Query, single_input

METHODS = ("ibp", "crown", "alpha", "bab")
EXIT_CODES = {"holds": 0, "violated": 3, "unknown": 4, "timeout": 5}  # `verify`'s exit status per overall verdict
BAB_BUDGET = 60.0  # seconds of branch and bound per box when no timeout is given
FIRST_SLICE = 0.03  # share of the time the falsifier's first run, before branch and bound, gets...
FIRST_MAX = 2.0  # ...at most: many false properties fall to sampling, and a true one loses little
INEXACT = "no counterexample can be confirmed: the model has ops without an exact value"


@dataclass(frozen=True)
class BoxResult:
    """The answer for one input box: verdict, why, output bounds, margin, certificate text, and the
    counterexample (re-checked exactly) of a `violated` box."""

    index: int
    verdict: str
    reason: str
    lower: tuple[Fraction, ...]
    upper: tuple[Fraction, ...]
    margin: Fraction | None
    certificate: str | None
    seconds: float
    witness: Witness | None = None


@dataclass(frozen=True)
class Step:
    """What is running, for a progress display: on box `box`, `stage` is "falsify" (a search for a
    counterexample), "bound" (one bound pass), "bab" (branch and bound, `bab` saying where it stands)
    or "check" (the exact check of a certificate)."""

    stage: str
    box: int = 0
    bab: BabProgress | None = None


Watch = Callable[[Step], None]


def _unwatched(_: Step) -> None:
    """The progress report nobody displays."""


def step_text(step: Step) -> str:
    """One line saying what is running, for the progress display."""
    where = f"box {step.box}: "
    if step.bab is not None:
        p = step.bab
        return where + f"branch and bound: {p.leaves} leaves proven, {p.open} open, {p.seconds_left:.0f} s left"
    return where + {"falsify": "searching for a counterexample", "bound": "bounding",
                    "check": "checking the certificate exactly"}.get(step.stage, step.stage)


def first_search_s(seconds: float) -> float:
    """The falsifier's first run, before the bounds, out of `seconds` for the whole search: a small
    slice, so that a counterexample sampling finds at once is not left for after a long branch and
    bound (ACAS Xu: 0.3 s of search, where branch and bound runs out its whole budget)."""
    return min(FIRST_MAX, FIRST_SLICE * seconds)


def counterexample(graph: Graph, boxes: Sequence[Box], prop: Property, budget_s: float, seed: int = 0) -> Witness | None:
    """A counterexample to `prop` in one of `boxes`, its output re-checked in exact arithmetic, or
    None. A model with an op that has no exact value is not searched: its witnesses could be checked
    in float64 only, and a counterexample is reported only when it is certainly one."""
    if budget_s <= 0 or not exact_meaning(graph):
        return None
    witness = falsify(graph, list(boxes), prop, budget_s=budget_s, seed=seed)
    return witness if witness is not None and witness.exact else None


def run_query(graph: Graph, query: Query, method: str, timeout: float | None, falsify_s: float = 0.0,
              split: str = "auto", workers: int = 1, progress: Watch | None = None) -> list[BoxResult]:
    """Answer every box in turn; boxes left when the time is up are answered `timeout`.

    `split` is how bab splits: "input", "relu" or "auto" (by the input's size; see bounds.bab).
    `falsify_s` > 0 gives each box that many seconds of search for a counterexample (`_answer`);
    one found, and re-checked exactly, makes the box `violated`. A bab certificate's leaves are
    checked in `workers` processes. `progress` is told each `Step` as it starts.
    """
    if method not in METHODS:
        raise UserError(f"--method {method}: available methods are {', '.join(METHODS)}")
    if method == "bab" and query.prop is None:
        raise UserError("--method bab needs a property to prove (--vnnlib, or --input with --eps and --label)")
    known_split(split)
    watch = progress or _unwatched
    start = time.perf_counter()
    results = []
    for k, box in enumerate(query.boxes):
        t0 = time.perf_counter()
        left = None if timeout is None else timeout - (t0 - start)
        if left is not None and left <= 0:
            results.append(BoxResult(k, "timeout", f"no time left after {timeout} s", (), (), None, None, 0.0))
            continue
        shaped = box.reshape(single_input(graph).shape)
        result = _answer(graph, shaped, query.prop, method, left, falsify_s, split, workers,
                         lambda step, k=k: watch(replace(step, box=k)))  # type: ignore[misc]
        results.append(replace(result, index=k, seconds=time.perf_counter() - t0))
    return results


def _answer(graph: Graph, box: Box, prop: Property | None, method: str, left: float | None, falsify_s: float,
            split: str, workers: int, watch: Watch) -> BoxResult:
    """One box within `left` seconds (None: bab gets BAB_BUDGET): by the bounds alone, or searched
    for a counterexample too (`_searched`) when `falsify_s` asks for it and one could be confirmed."""
    searching = falsify_s > 0 and prop is not None
    if searching and exact_meaning(graph):
        assert prop is not None
        return _searched(graph, box, prop, method, left, falsify_s, split, workers, watch)
    result, _ = _bound(graph, box, prop, method, left, split, workers, watch)
    if searching and result.verdict != "holds":
        return replace(result, reason=f"{result.reason}; {INEXACT}")
    return result


def _searched(graph: Graph, box: Box, prop: Property, method: str, left: float | None, falsify_s: float,
              split: str, workers: int, watch: Watch) -> BoxResult:
    """As vnncomp orders it, for bab: a short search for a counterexample first (`first_search_s`),
    branch and bound in the time left but the rest of `falsify_s`, then that rest on the pieces it
    left open. The other methods are one bound pass, quicker than any search: it follows them."""
    t0 = time.perf_counter()
    if method == "bab":
        watch(Step("falsify"))
        found = counterexample(graph, [box], prop, min(falsify_s, first_search_s(BAB_BUDGET if left is None else left)))
        if found is not None:
            return _violated(found)
    rest = falsify_s - (time.perf_counter() - t0)
    bab_left = None if left is None else left - (time.perf_counter() - t0) - rest
    result, open_boxes = _bound(graph, box, prop, method, bab_left, split, workers, watch)
    if result.verdict == "holds":
        return result
    if left is not None:
        rest = min(rest, left - (time.perf_counter() - t0))
    watch(Step("falsify"))
    found = counterexample(graph, list(open_boxes) or [box], prop, rest, seed=1)
    return result if found is None else _violated(found)


def known_split(split: str) -> None:
    if split not in SPLITS:
        raise UserError(f"--split {split}: choose one of {', '.join(SPLITS)}")


def _bound(graph: Graph, box: Box, prop: Property | None, method: str, left: float | None,
           split: str, workers: int, watch: Watch) -> tuple[BoxResult, tuple[Box, ...]]:
    """One box by one method: the result (seconds unset) and, for bab, the pieces left open."""
    if method != "bab":
        watch(Step("bound"))
        verdict, cert, reason = bound(graph, box, prop, method=method)
        return _result(0, verdict, reason, cert, prop, 0.0), ()
    assert prop is not None
    budget = BAB_BUDGET if left is None else max(0.0, left)
    proof = prove_box(graph, box, prop, method, budget, split=split, workers=workers, watch=watch)
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
              deadline: float | None = None, split: str = "auto", workers: int = 1, watch: Watch | None = None) -> Proof:
    """Prove `prop` on `box` by `method` (bab, splitting as `split` says, within `budget_s` seconds, or
    one float bound pass), then check the certificate exactly (a bab check, its leaves in `workers`
    processes, gives up at `deadline`, a `time.monotonic()` value). Work that runs out of memory (the
    process's budget, `memory.limit`) leaves the box open: unknown, saying so. `watch` is told each
    stage, and where branch and bound stands after each batch."""
    try:
        return _prove(graph, box, prop, method, budget_s, deadline, split, workers, watch or _unwatched)
    except MemoryError as e:
        return Proof("unknown", None, (box,), memory.out_of_memory(e))


def _prove(graph: Graph, box: Box, prop: Property, method: str, budget_s: float, deadline: float | None, split: str,
           workers: int, watch: Watch) -> Proof:
    if method == "bab":
        found = bab(graph, box, prop, budget_s=budget_s, split=split, progress=lambda p: watch(Step("bab", bab=p)))
        if found.verdict != "holds" or found.certificate is None:
            return Proof(found.verdict, None, found.open_boxes or (box,), found.reason)
        text = found.certificate
        watch(Step("check"))
        checked = check_bab_certificate(graph, text, box=box, prop=prop, deadline=deadline, workers=workers)
    else:
        watch(Step("bound"))
        verdict, text, reason = bound(graph, box, prop, method=method, exact=False)  # type: ignore[assignment]
        if verdict != "holds" or text is None:
            return Proof("unknown", None, (box,), reason)
        watch(Step("check"))
        checked = check_certificate(graph, text, box=box, prop=prop)
    if not checked.ok and checked.reason.startswith(TIME_UP):
        return Proof("timeout", None, (), checked.reason)
    if not checked.ok:
        return Proof("unknown", None, (box,), f"the exact check rejected the certificate: {checked.reason}")
    return Proof("holds", text, (), checked.reason)


def _violated(witness: Witness) -> BoxResult:
    """A box with a counterexample: the property is false there, whatever a bound said."""
    why = f"counterexample found, its output re-checked exactly (in unsafe term {witness.term})"
    return BoxResult(0, "violated", why, (), (), None, None, 0.0, witness)


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


def results_json(graph: Graph, query: Query, method: str, results: Sequence[BoxResult], exact_witness: bool = False) -> dict:
    """The results as JSON data for other tools: exact numbers as certificate-style text; a violated
    box's counterexample as float32 text (`witness_json`), with its exact values when asked."""
    from .ir import digest

    return {
        "format": "pytorch2lean.verify.v1", "model": graph.name, "digest": digest(graph), "method": method,
        "query": query.description, "verdict": overall(results),
        "boxes": [
            {"index": r.index, "verdict": r.verdict, "reason": r.reason, "seconds": round(r.seconds, 6),
             "margin": None if r.margin is None else number_text(r.margin),
             "lower": numbers_text(r.lower), "upper": numbers_text(r.upper),
             "counterexample": None if r.witness is None else witness_json(r.witness, exact_witness)}
            for r in results
        ],
    }


def witness_json(witness: Witness, exact: bool = False) -> dict:
    """A counterexample for other tools: inputs and outputs as the shortest text of their float32
    (an output rounded to it), the unsafe term it satisfies, and with `exact` the exact values as
    "p/q" text (the inputs are float32 values; the outputs the model's exact value there)."""
    xs = [Fraction(v) for v in witness.point.reshape(-1).tolist()]
    doc: dict = {"term": witness.term, "input": [float32_text(q) for q in xs],
                 "output": [float32_text(q) for q in witness.output]}
    if exact:
        doc.update(input_exact=numbers_text(xs), output_exact=numbers_text(witness.output))
    return doc


def witness_lines(witness: Witness, exact: bool = False) -> list[str]:
    """A counterexample for a reader, one value a line: `X_i = v` and `Y_j = v` with v the shortest
    text of the float32 (an output rounded to the nearest one; exact values run to hundreds of
    digits); with `exact`, each line also gives the exact value (a finite decimal, or p/q)."""
    xs = [Fraction(v) for v in witness.point.reshape(-1).tolist()]
    pairs = [(f"X_{i}", q) for i, q in enumerate(xs)] + [(f"Y_{j}", q) for j, q in enumerate(witness.output)]
    return [f"{name} = {float32_text(q)}" + (f"  (exactly {exact_text(q)})" if exact else "") for name, q in pairs]


def overall(results: Sequence[BoxResult]) -> str:
    """`holds` when every box holds; `violated` when some box has a counterexample (the property is
    false whatever the others say); else the first box's non-holding verdict."""
    if any(r.verdict == "violated" for r in results):
        return "violated"
    return next((r.verdict for r in results if r.verdict != "holds"), "holds")
