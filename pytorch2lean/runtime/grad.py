"""Gradients through a bound graph: a float forward pass that keeps every activation, then VJPs.

This is untrusted search machinery (the falsifier's gradient steps): nothing it computes is
claimed, a counterexample it helps find is re-checked exactly. The forward pass runs in the
dtype of the given inputs (float32 as the model, or float64 for finite-difference checks) with
the same kernels as `runtime.execute`; the backward pass walks the nodes in reverse, asks each
op's `vjp` for its operands' gradients and sums them where a value feeds several nodes.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .. import ops
from ..errors import UserError
from ..ir.graph import Graph


class Tape:
    """One float forward pass over a batch, with every value kept for backward passes."""

    def __init__(self, graph: Graph, inputs: Mapping[str, Any], *, xp: Any = np, dtype: Any = None) -> None:
        self.graph, self.xp = graph, xp
        self.env: dict[str, Any] = {k: xp.asarray(v, dtype=dtype) for k, v in inputs.items()}
        dtype = next(iter(self.env.values())).dtype
        self.env.update({p.name: xp.asarray(p.array, dtype=dtype)[None] for p in graph.params})
        batch = next(iter(self.env.values())).shape[0]
        self.varying = set(inputs)  # the values that depend on an input
        for node in graph.nodes:
            out = ops.get(node.op).kernel(xp, node.attr, *(self.env[r] for r in node.inputs))
            self.env[node.id] = xp.broadcast_to(out, (batch,) + tuple(out.shape[1:]))
            if self.varying.intersection(node.inputs):
                self.varying.add(node.id)

    @property
    def outputs(self) -> dict[str, Any]:
        return {name: self.env[name] for name in self.graph.outputs}

    def vjp(self, cotangents: Mapping[str, Any]) -> dict[str, Any]:
        """The gradient of sum_k <cotangents[k], output k> with respect to every input."""
        xp = self.xp
        grads: dict[str, Any] = {k: xp.asarray(v, dtype=self.env[k].dtype) for k, v in cotangents.items()}
        for node in reversed(self.graph.nodes):
            if node.id not in grads or node.id not in self.varying:
                continue
            spec = ops.get(node.op)
            if spec.vjp is None:
                raise UserError(f"node {node.id!r} ({node.op}): the op has no vector-Jacobian product")
            needed = [r in self.varying for r in node.inputs]
            operands = [self.env[r] for r in node.inputs]
            if spec.vjp_parts is None or all(needed):
                parts = spec.vjp(xp, node.attr, grads.pop(node.id), *operands)
            else:
                g = grads.pop(node.id)
                parts = tuple(spec.vjp_parts[i](xp, node.attr, g, *operands)[i] if need else None
                              for i, need in enumerate(needed))
            for name, part in zip(node.inputs, parts):
                if name in self.varying and part is not None:
                    grads[name] = grads[name] + part if name in grads else part
        return {i.name: grads.get(i.name, xp.zeros_like(self.env[i.name])) for i in self.graph.inputs}


def vjp_graph(graph: Graph, inputs: Mapping[str, Any], output_cotangents: Mapping[str, Any], *,
              xp: Any = np) -> dict[str, Any]:
    """Input gradients of sum_k <output_cotangents[k], output k> at `inputs` (arrays (B, *shape)).

    Runs in the inputs' own float dtype. Outputs without a cotangent contribute nothing.
    """
    return Tape(graph, inputs, xp=xp).vjp(output_cotangents)
