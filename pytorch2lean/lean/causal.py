"""Position dependencies of a sequence model: the twin of `Pytorch2Lean/Causal.lean`, in integers.

`dependency_masks` runs the graph on dependency masks: every element of every value gets a
Python int whose bit j says "may depend on position j" of one axis of one input (that input's
element has the single bit of its index along the axis; other inputs and parameters have 0).
Internally, as in Lean, each element carries 2 * mask + nz, where nz is 0 only for an element known
to be exactly 0. Each op's rule mirrors its meaning exactly as the Lean `depOp` does: elementwise
and broadcasting ops OR what they read; reshapes keep flat order; transpose, slice, concat and pad
run their own kernel on the masks (a constant pad cell depends on nothing); linear and layernorm
OR their row or block (their weights are parameters in a well-formed graph), softmax its fiber;
matmul gives (i, j) the OR of a(i, l) | b(l, j) over the l where a(i, l) is not known to be 0;
masked_softmax gives a masked entry no dependency (it is exactly 0) and a kept entry the OR of its
row's kept entries, read from the mask's values; an embedding's row carries its id's mask; any
other op makes every element depend on every position.

`causal_deps` is `checkCausalDeps`: every output element at position i of the output axis has a
mask below 2**(i + 1). The exporter states it (`CausalDeps`) for graphs with a causal keep-mask
made by the torch frontend (`causal_masks`): an `is_causal` mask, chosen by name (a constant so
named whose values are not causal gets a theorem that fails), or a boolean attention mask whose
values are the lower triangle (the masks `transformers` builds for GPT-2 and Llama), stated only
where this twin finds the graph causal, so a model that mixes positions elsewhere exports as
before. The sequence axis is second to last (batch, tokens, features), or the last of token ids. That the analysis over-approximates the real dependencies is not proved in Lean; the
tests check it against the runtime (`tests/test_causal_mask.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import ops
from ..ir.graph import Graph, Node

MASK_SUFFIX = ".mask"
KEEP_SUFFIX = ".keep"


@dataclass(frozen=True)
class Contract:
    """Positions along axis `axis` of input number `input`; outputs' positions along `out_axis`."""

    input: int
    axis: int
    out_axis: int


def causal_masks(graph: Graph) -> tuple[str, ...]:
    """The constants the frontend made as causal keep-masks, read by masked_softmax: `<node>.mask`
    (is_causal), and `<node>.keep` (a boolean mask) holding the lower triangle over its last two axes."""
    masks = {n.inputs[1] for n in graph.nodes if n.op == "masked_softmax"}
    return tuple(c for c in graph.constants if c in masks and (c.endswith(MASK_SUFFIX) or (
        c.endswith(KEEP_SUFFIX) and _lower_triangle(graph.param(c).array))))


def _lower_triangle(a: np.ndarray) -> bool:
    """Every matrix of the last two (equal) axes is 1 on and below the diagonal, 0 above."""
    return a.ndim >= 2 and a.shape[-1] == a.shape[-2] and bool((a == np.tril(np.ones(a.shape[-2:]))).all())


def sequence_contract(graph: Graph) -> Contract | None:
    """The contract the exporter proves: for a graph with a causal mask, every output read as
    (..., tokens, features), the sequence axis second to last, and input 0 so too, or, for token
    ids, read as (..., tokens), the sequence axis last; None otherwise."""
    shapes = graph.shapes()
    ranks = {len(shapes[o]) for o in graph.outputs}
    features = 0 if graph.inputs[0].ids else 1
    masks = causal_masks(graph)
    if not masks or len(graph.inputs[0].shape) < 1 + features or len(ranks) != 1 or min(ranks) < 2:
        return None
    contract = Contract(0, len(graph.inputs[0].shape) - 1 - features, ranks.pop() - 2)
    if all(m.endswith(KEEP_SUFFIX) for m in masks) and not causal_deps(graph, contract):
        return None
    return contract


def dependency_masks(graph: Graph, input: int, axis: int) -> dict[str, np.ndarray]:
    """The dependency mask of every element of every value (per-sample shapes, object arrays of ints)."""
    return {name: np.right_shift(v, 1) for name, v in _carried(graph, input, axis).items()}


def causal_deps(graph: Graph, contract: Contract) -> bool:
    """`checkCausalDeps`: every output element at position i of `out_axis` depends on positions <= i only."""
    if contract.input >= len(graph.inputs) or contract.axis >= len(graph.inputs[contract.input].shape):
        return False
    masks = dependency_masks(graph, contract.input, contract.axis)
    for o in graph.outputs:
        m = masks[o]
        if contract.out_axis >= m.ndim:
            return False
        if not (m < np.left_shift(2, np.indices(m.shape)[contract.out_axis].astype(object))).all():
            return False
    return True


def _carried(graph: Graph, input: int, axis: int) -> dict[str, np.ndarray]:
    """Carried values 2 * mask + nz, as in Lean: nz is 0 only for an element known to be exactly 0."""
    everything = (2 << graph.inputs[input].shape[axis]) - 1
    env = {i.name: _positions(i.shape, axis) if k == input else _free(i.shape) for k, i in enumerate(graph.inputs)}
    env.update({p.name: _free(p.shape) for p in graph.params})
    for node in graph.nodes:
        rule = RULES.get(node.op)
        out = rule(graph, node, [env[r] for r in node.inputs]) if rule else None
        env[node.id] = np.full(node.shape, everything, dtype=object) if out is None else out
    return env


def _positions(shape: tuple[int, ...], axis: int) -> np.ndarray:
    return np.left_shift(2, np.indices(shape)[axis].astype(object)) | 1


def _free(shape: tuple[int, ...]) -> np.ndarray:
    """No dependency, maybe nonzero."""
    return np.ones(shape, dtype=object)


def _or(a: np.ndarray, axes: int | tuple[int, ...]) -> np.ndarray:
    """The OR over `axes`, kept as size-1 axes."""
    return np.bitwise_or.reduce(a, axis=axes, keepdims=True)


Rule = Callable[[Graph, Node, list[np.ndarray]], "np.ndarray | None"]


def _moved(graph: Graph, node: Node, args: list[np.ndarray]) -> np.ndarray:
    return args[0].reshape(node.shape)


def _elementwise(graph: Graph, node: Node, args: list[np.ndarray]) -> np.ndarray:
    return args[0] | 1


def _binary(graph: Graph, node: Node, args: list[np.ndarray]) -> np.ndarray:
    return np.bitwise_or(args[0], args[1]) | 1


def _moves(graph: Graph, node: Node, args: list[np.ndarray]) -> np.ndarray:
    """The op's own kernel on the carried values (a batch axis of 1 added and removed); pad's constant cells carry 1."""
    attrs = {**dict(node.attrs), **({"value": 1} if node.op == "pad" else {})}
    return ops.get(node.op).kernel(np, attrs, *(a[None] for a in args))[0]


def _linear(graph: Graph, node: Node, args: list[np.ndarray]) -> np.ndarray:
    """The OR of x's row; the weight and bias are parameters in a well-formed graph: no dependency."""
    return np.broadcast_to(_or(args[0], -1) | 1, node.shape)


def _layernorm(graph: Graph, node: Node, args: list[np.ndarray]) -> np.ndarray:
    x = args[0]
    axes = tuple(range(dict(node.attrs)["axis"] % x.ndim, x.ndim))
    return np.broadcast_to(_or(x, axes) | 1, node.shape)


def _softmax(graph: Graph, node: Node, args: list[np.ndarray]) -> np.ndarray:
    return np.broadcast_to(_or(args[0], dict(node.attrs)["axis"] % args[0].ndim) | 1, node.shape)


def _matmul(graph: Graph, node: Node, args: list[np.ndarray]) -> np.ndarray:
    """out(i, j) ORs a(i, l) | b(l, j) over the l where a(i, l) is not known to be exactly 0
    (stack axes broadcast, 1-D operands promoted)."""
    a, b = args
    a = (a[None, :] if a.ndim == 1 else a)[..., :, :, None]
    b = (b[:, None] if b.ndim == 1 else b)[..., None, :, :]
    terms = np.where(a & 1 == 1, a | b, 0)
    return (_or(terms, -2)[..., 0, :] | 1).reshape(node.shape)


def _masked_softmax(graph: Graph, node: Node, args: list[np.ndarray]) -> np.ndarray | None:
    """Masked entries are exactly 0 (carried 0); kept ones carry the OR of the row's kept entries."""
    if node.inputs[1] not in graph.param_names:
        return None
    x = args[0]
    keep = np.broadcast_to(graph.param(node.inputs[1]).array != 0, x.shape)
    kept = _or(np.where(keep, x, 0), -1) | 1
    return np.where(keep, np.broadcast_to(kept, x.shape), 0)


def _embedding(graph: Graph, node: Node, args: list[np.ndarray]) -> np.ndarray:
    """Each looked-up row depends on its id alone (the table is a parameter): the id's mask, maybe nonzero."""
    ids = args[0]
    return np.broadcast_to((ids | 1).reshape(ids.shape + (1,) * (len(node.shape) - ids.ndim)), node.shape)


RULES: dict[str, Rule] = {
    **{op: _binary for op in ("add", "sub", "mul", "div")},
    **{op: _elementwise for op in ("neg", "relu", "leaky_relu", "sigmoid", "tanh", "gelu")},
    "flatten": _moved, "reshape": _moved,
    **{op: _moves for op in ("transpose", "slice", "concat", "pad")},
    "linear": _linear, "layernorm": _layernorm, "softmax": _softmax, "matmul": _matmul,
    "masked_softmax": _masked_softmax, "embedding": _embedding,
}
