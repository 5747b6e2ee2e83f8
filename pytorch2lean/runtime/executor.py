"""Execute a bound graph: float32 on NumPy/CuPy, or exactly over rationals.

Both modes walk the same nodes with the same op kernels. Arrays carry one leading batch axis:
inputs have shape (B, *input.shape), parameters (1, *param.shape). In exact mode every value is
a NumPy object array of `Fraction`s, parameters are their float32 values converted exactly, and
an op without an exact rational meaning is an error: the exact evaluator is the Python twin of
the Lean denotation, which denotes such ops only through a stated enclosure.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

import numpy as np

from .. import ops
from ..errors import UserError
from ..ir.graph import Graph, Node
from ..numeric.float32 import fractions_of, require_finite


def execute(graph: Graph, inputs: Mapping[str, Any], *, xp: Any = np) -> dict[str, Any]:
    """Run the graph in float32 on array module `xp`; returns every output, batch axis first."""
    _require_bound(graph)
    env = _bind_inputs(graph, inputs, lambda name, a: xp.asarray(np.asarray(a, dtype=np.float32)))
    env.update({p.name: xp.asarray(p.array)[None] for p in graph.params})
    return _run(graph, env, xp, exact=False)


def evaluate_exact(graph: Graph, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Run the graph over exact rationals.

    Float inputs are first rounded to float32 (the model's input type, exactly what `execute`
    sees); object arrays of rationals are taken as the exact points they are.
    """
    for node in graph.nodes:
        if not ops.get(node.op).exact:
            raise UserError(f"node {node.id!r} ({node.op}) has no exact rational meaning; exact evaluation needs exact ops only")
    _require_bound(graph)
    env = _bind_inputs(graph, inputs, _exact_array)
    env.update({p.name: p.exact()[None] for p in graph.params})
    return _run(graph, env, np, exact=True)


def _exact_array(name: str, a: Any) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype == object:
        return np.vectorize(Fraction, otypes=[object])(arr) if arr.size else arr
    f32 = arr.astype(np.float32)  # model inputs are float32, as in the runtime
    require_finite(f32, f"input {name!r}", "exact evaluation needs finite inputs")
    return fractions_of(f32)


def _bind_inputs(graph: Graph, inputs: Mapping[str, Any], convert: Any) -> dict[str, Any]:
    env: dict[str, Any] = {}
    missing = [i.name for i in graph.inputs if i.name not in inputs]
    if missing:
        raise UserError(f"no value given for input {missing[0]!r}")
    extra = sorted(set(inputs) - {i.name for i in graph.inputs})
    if extra:
        raise UserError(f"{extra[0]!r} is not an input of the model (inputs: {', '.join(i.name for i in graph.inputs)})")
    for spec in graph.inputs:
        a = inputs[spec.name]
        shape = tuple(np.shape(a))
        if shape[1:] != spec.shape or len(shape) != len(spec.shape) + 1:
            raise UserError(
                f"input {spec.name!r}: expected shape [B, {', '.join(map(str, spec.shape))}] "
                f"(batch axis first), got {list(shape)}"
            )
        env[spec.name] = convert(spec.name, a)
    return env


def _require_bound(graph: Graph) -> None:
    if not graph.bound:
        unbound = next(p.name for p in graph.params if not p.bound)
        raise UserError(f"parameter {unbound!r} has no value: give a checkpoint")


def _run(graph: Graph, env: dict[str, Any], xp: Any, *, exact: bool) -> dict[str, Any]:
    batch = next(iter(env.values())).shape[0] if graph.inputs else 1
    for node in graph.nodes:
        spec = ops.get(node.op)
        attrs = exact_attrs(node) if exact else node.attr
        out = spec.kernel(xp, attrs, *(env[r] for r in node.inputs))
        if out.shape[0] == 1 != batch:  # every operand was a parameter (batch axis of size 1)
            out = xp.broadcast_to(out, (batch,) + tuple(out.shape[1:]))
        if tuple(out.shape) != (batch,) + tuple(node.shape or ()):
            raise AssertionError(f"kernel of {node.op} gave shape {out.shape} for node {node.id!r}, expected {node.shape}")
        env[node.id] = out
    return {name: env[name] for name in graph.outputs}


def exact_attrs(node: Node) -> dict[str, Any]:
    """A node's attributes with float values as the exact rationals they are (for exact kernels)."""
    return {k: _exact(v) for k, v in node.attrs}


def _exact(v: Any) -> Any:
    if isinstance(v, float):
        return Fraction(v)
    return tuple(_exact(x) for x in v) if isinstance(v, tuple) else v
