"""One entry point for every bound method: `verify(graph, box, prop, method=...)`.

"ibp" is `verify_ibp`. "crown" and "alpha" run the float64 CROWN pass (bounds/crown.py) and, for
alpha, optimise the claim rows' relu slopes (bounds/alpha.py); both state a `pytorch2lean.cert.v1`
certificate with their relaxations, and with `exact` (the default) the verdict is "holds" only once
the exact checker has accepted that certificate. With exact=False the verdict is the float pass's
(untrusted), and the certificate, when the model has one, is left for `check_certificate`.
Ops without an exact interval rule (softmax, layernorm, gelu) get float verdicts only; sigmoid,
tanh and batchnorm are checked through rational enclosures (`OpSpec.exact_interval`).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Mapping

import numpy as np

from .. import memory
from ..cert.check import Rejected, box_interval, check, exact_rule
from ..cert.claim import claim_failure, claim_rows
from ..cert.format import Certificate, Claim, CrownPart, dumps
from ..errors import UserError
from ..ir import Graph, digest
from ..ops.base import Interval, Unbounded
from ..runtime.backend import to_numpy
from ..spec.box import Box
from . import alpha, crown
from .grid import GRID, Grid
from .ibp import VerifyResult, float_bounds, prepare_query, stated_box, stated_relaxation, verify_ibp

METHODS = ("ibp", "crown", "alpha")


def verify(graph: Graph, box: Box | Mapping[str, Box], prop: Claim | None = None, *, method: str = "ibp",
           output: str | None = None, exact: bool = True, xp: Any = np, grid: Grid = GRID,
           steps: int = alpha.STEPS) -> VerifyResult:
    """Prove `prop` over `box` by `method` ("ibp", "crown" or "alpha"); see `verify_ibp` for the arguments.

    `steps` is the number of alpha-CROWN gradient steps.
    """
    if method not in METHODS:
        raise UserError(f"unknown bound method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "ibp":
        return verify_ibp(graph, box, prop, output=output, exact=exact, xp=xp, grid=grid)
    graph, boxes, output, prop = prepare_query(graph, box, prop, output)
    inputs = {name: Interval(*(xp.asarray(a, dtype=xp.float64)[None] for a in b.to_float_arrays()))
              for name, b in boxes.items()}
    try:
        return _verdict(graph, _certificate(graph, boxes, inputs, prop, output, method, xp, grid, steps), prop, exact)
    except Unbounded as e:
        return VerifyResult("unknown", None, str(e))
    except MemoryError as e:  # the process's budget (memory.limit), or a plan that cannot fit it
        return VerifyResult("unknown", None, memory.out_of_memory(e))


def _certificate(graph: Graph, boxes: Mapping[str, Box], inputs: Mapping[str, Interval], prop: Claim | None,
                 output: str, method: str, xp: Any, grid: Grid, steps: int) -> Certificate:
    """The float pass's bounds, relaxations and verdict, as a certificate (not yet checked)."""
    p = crown.plan(graph, xp=xp)
    bounds, relaxations, tightened, backsub_rows = crown.node_bounds(p, inputs, xp=xp, grid=grid)
    alone = any(n.id not in bounds for n in graph.nodes)  # nodes of parameters alone take IBP's bounds
    ibp = float_bounds(graph, inputs, xp=xp, grid=grid) if alone else {}
    rows = claim_rows(prop) if prop is not None else ()
    lower, claim_lines = None, {}
    if rows and output in bounds:
        shape = graph.shapes()[output]
        C = xp.asarray(np.array([[float(c) for c in row] for row in rows]).reshape((1, len(rows)) + shape))
        if method == "alpha":
            lower, claim_lines, _ = alpha.optimise(p, output, C, bounds, relaxations, xp=xp, grid=grid, steps=steps)
        else:
            lower = crown.row_bounds(p, output, C, bounds, relaxations, xp=xp)
    stated = {n.id: stated_box(xp, (bounds if n.id in bounds else ibp)[n.id], n) for n in graph.nodes}
    out_box = stated[output] if output in stated else boxes[output]
    claim = out_box if prop is None else prop
    proven = {} if lower is None else dict(zip(rows, map(Fraction, to_numpy(xp, lower[0]).tolist())))
    failure = claim_failure(claim, box_interval(out_box), proven)
    nodes = {n.id: n for n in graph.nodes}
    part = CrownPart(tuple(n for n in nodes if n in tightened),  # elsewhere the checker's interval suffices
                     tuple((name, stated_relaxation(xp, r, nodes[name].shape)) for name, r in relaxations.items()),
                     tuple((name, stated_relaxation(xp, r, (len(rows),) + nodes[name].shape)) for name, r in claim_lines.items()),
                     tuple((name, backsub_rows[name][0]) for name in nodes if name in tightened
                           and len(backsub_rows[name][0]) < math.prod(nodes[name].shape)))
    return Certificate(digest(graph), method, tuple(sorted(boxes.items())), output, claim,
                       tuple(sorted(stated.items())), "unknown" if failure else "holds", part)


def _verdict(graph: Graph, cert: Certificate, prop: Claim | None, exact: bool) -> VerifyResult:
    """The result: float verdict and certificate, or (exact) the verdict the exact checker confirms."""
    inexact = _uncertifiable(graph)
    proven = "the output bounds are certified" if prop is None else f"the {cert.method} bounds imply the property"
    if inexact is not None:
        if exact:
            return VerifyResult("unknown", None, f"{inexact}; pass exact=False for the float verdict")
        return VerifyResult(cert.verdict, None, proven if cert.verdict == "holds" else "the bounds do not imply it")
    text = dumps(cert)
    if cert.verdict != "holds":
        return VerifyResult("unknown", text, f"the {cert.method} bounds do not imply the property")
    if exact:
        result = check(graph, cert)
        if not result.ok:
            return VerifyResult("unknown", None, f"the exact check rejected the float bounds: {result.reason}")
    return VerifyResult("holds", text, proven)


def _uncertifiable(graph: Graph) -> str | None:
    """Why no certificate can state these bounds (an op without an exact interval rule), or None."""
    for node in graph.nodes:
        try:
            exact_rule(node)
        except Rejected as e:
            return str(e)
    return None
