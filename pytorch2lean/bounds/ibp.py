"""Interval bound propagation (IBP): bounds of every node over an input box, and certificates.

Two passes share the ops' interval rules, and both round every node's bounds outward onto a grid
of short dyadics (`bounds.grid`) before the next node uses them, exactly as the checker will read
them: that is what keeps certificate numbers, and the checker's arithmetic, small.

1. `float_bounds`: the fast, untrusted pass. Each node's rule runs in float64 on NumPy or CuPy,
   for a whole batch of boxes at once; each result is widened by a relative 2**-40 (float64
   rounding of sums of up to ~8000 terms without catastrophic cancellation stays below it) and
   then rounded onto the grid. For search (branch and bound) and quick answers.
2. `certify`: the exact pass. It walks the nodes like the checker does, computing each node's exact
   interval from the stated (grid) bounds of its inputs, and states the tightest grid interval
   around it. Its certificate is accepted by construction and never looser than the float pass's.

`verify_ibp` returns a verdict and a certificate from the exact pass, or (exact=False) from the
float pass alone, whose bounds only the checker then confirms.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Mapping, NamedTuple

import numpy as np

from .. import ops
from ..cert.check import Rejected, box_interval, exact_environment, exact_rule, node_interval
from ..cert.claim import claim_failure
from ..cert.format import Certificate, Claim, StatedRelaxation, dumps, input_boxes
from ..errors import UserError
from ..ir import Graph, Node, digest, validate
from ..numeric.float32 import exact_floats
from ..ops.base import Interval, Unbounded
from ..runtime.backend import to_numpy
from ..spec.box import Box
from .grid import GRID, Grid

SLACK = 2.0**-40  # relative widening of every float64 result before it is rounded onto the grid


class VerifyResult(NamedTuple):
    """`verdict` "holds" (proven; the certificate shows it) or "unknown"; `reason` says why."""

    verdict: str
    certificate: str | None
    reason: str


def float_bounds(graph: Graph, inputs: Mapping[str, Interval], *, xp: Any = np,
                 grid: Grid = GRID) -> dict[str, Interval]:
    """Float64 IBP: bounds of every node (on the grid), from bounds of every input.

    `inputs` maps each input name to an Interval of arrays of shape (B, *input shape): B boxes at
    once. Raises Unbounded (naming the node) when a rule has no bound, e.g. a divisor around 0.
    """
    env = {name: iv.map(lambda v: xp.asarray(v, dtype=xp.float64)) for name, iv in inputs.items()}
    for p in graph.params:
        value = xp.asarray(p.array, dtype=xp.float64)[None]
        env[p.name] = Interval(value, value)
    batch = max((iv.lo.shape[0] for iv in env.values()), default=1)
    for node in graph.nodes:
        spec = ops.get(node.op)
        try:
            iv = spec.interval(xp, node.attr, *(env[r] for r in node.inputs))
        except Unbounded as e:
            raise Unbounded(f"node {node.id!r} ({node.op}): {e}") from None
        iv = iv.map(lambda v: xp.broadcast_to(v, (batch,) + tuple(v.shape[1:])))
        env[node.id] = grid.outward(xp, Interval(iv.lo - SLACK * abs(iv.lo), iv.hi + SLACK * abs(iv.hi)))
    return {node.id: env[node.id] for node in graph.nodes}


def certify(graph: Graph, boxes: Mapping[str, Box], *, grid: Grid = GRID) -> dict[str, Box]:
    """Exact IBP: every node's stated bounds, the tightest grid interval around its exact interval
    from its inputs' stated bounds. Raises Rejected when a node has no exact rule or no bound."""
    env = exact_environment(graph, boxes)
    stated: dict[str, Box] = {}
    for node in graph.nodes:
        exact = node_interval(node, env)
        lower = tuple(grid.down(q) for q in exact.lo.flat)
        stated[node.id] = Box(lower, tuple(grid.up(q) for q in exact.hi.flat), node.shape)
        env[node.id] = box_interval(stated[node.id])
    return stated


def _float_certify(graph: Graph, boxes: Mapping[str, Box], xp: Any, grid: Grid) -> dict[str, Box]:
    """The float pass's bounds as stated bounds: not re-checked here (the checker will)."""
    floats = {name: Interval(*(xp.asarray(a)[None] for a in b.to_float_arrays())) for name, b in boxes.items()}
    bounds = float_bounds(graph, floats, xp=xp, grid=grid)
    return {node.id: stated_box(xp, bounds[node.id], node) for node in graph.nodes}


def stated_box(xp: Any, iv: Interval, node: Node) -> Box:
    """Float64 bounds (batch of one) as a certificate's exact stated box; overflow has no bound."""
    lo, hi = (to_numpy(xp, v).astype(np.float64).reshape(-1) for v in iv)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise Unbounded(f"node {node.id!r} ({node.op}): the float bounds overflow")
    return Box.of_floats(lo, hi, node.shape)


def stated_relaxation(xp: Any, lines: tuple[Any, ...], shape: tuple[int, ...]) -> StatedRelaxation:
    """Float relaxation lines (a `crown.Relaxation`, batch of one) as a certificate states them, over `shape`."""
    def numbers(v: Any) -> tuple[Fraction, ...]:
        flat = to_numpy(xp, xp.broadcast_to(v, (1,) + tuple(shape))).astype(np.float64).reshape(-1)
        return exact_floats(flat.tolist())

    return StatedRelaxation(tuple(shape), *(numbers(v) for v in lines))


def verify_ibp(graph: Graph, box: Box | Mapping[str, Box], prop: Claim | None = None, *, output: str | None = None,
               exact: bool = True, xp: Any = np, grid: Grid = GRID) -> VerifyResult:
    """Prove `prop` over `box` by IBP; returns the verdict, the certificate text and a reason.

    `box` is the input box (a mapping by name for several inputs; flat boxes are reshaped).
    `prop` is a spec Property (unsafe region in DNF), a Box the output must lie in, or None: then
    the claim is the output bounds IBP finds. `output` defaults to the model's first output.
    The verdict always follows exactly from the certificate's output bounds. With `exact` (the
    default) every bound was derived exactly too; with exact=False the bounds come from the float
    pass on `xp` (a GPU, say), and the verdict stands only once `check_certificate` accepts them.
    """
    graph, boxes, output, prop = prepare_query(graph, box, prop, output)
    try:
        for node in graph.nodes:
            exact_rule(node)
        stated = certify(graph, boxes, grid=grid) if exact else _float_certify(graph, boxes, xp, grid)
    except (Unbounded, Rejected) as e:
        return VerifyResult("unknown", None, str(e))
    out_box = stated[output] if output in stated else boxes[output]
    claim = out_box if prop is None else prop
    failure = claim_failure(claim, box_interval(out_box))
    cert = Certificate(digest(graph), "ibp", tuple(sorted(boxes.items())), output, claim,
                       tuple(sorted(stated.items())), "unknown" if failure else "holds")
    proven = "the output bounds are certified" if prop is None else "the IBP bounds imply the property"
    return VerifyResult(cert.verdict, dumps(cert), failure or proven)


def prepare_query(graph: Graph, box: Box | Mapping[str, Box], prop: Claim | None,
                  output: str | None) -> tuple[Graph, dict[str, Box], str, Claim | None]:
    """The validated graph, its input boxes by name, the output to bound and the claim fitted to it."""
    graph = validate(graph)
    boxes = input_boxes({i.name: i.shape for i in graph.inputs}, box)
    output = graph.outputs[0] if output is None else output
    if output not in graph.outputs:
        raise UserError(f"{output!r} is not an output of the model ({', '.join(graph.outputs)})")
    return graph, boxes, output, fit_claim(prop, graph.shapes()[output])


def fit_claim(prop: Claim | None, shape: tuple[int, ...]) -> Claim | None:
    """The claim checked against the output's size; an output box is reshaped to the output's shape."""
    if prop is None:
        return None
    size = math.prod(shape)
    if isinstance(prop, Box):
        if len(prop.lower) != size:
            raise UserError(f"the output box has {len(prop.lower)} coordinates, output shape {list(shape)} has {size}")
        return prop.reshape(shape)
    if prop.num_outputs != size:
        raise UserError(f"property {prop.name!r} speaks of {prop.num_outputs} outputs, the output has {size}")
    return prop
