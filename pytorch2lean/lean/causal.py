"""The attention-mask contract of causal self-attention: the twin of `Pytorch2Lean/Causal.lean`.

The torch frontend lowers `scaled_dot_product_attention(is_causal=True)` of node `N` to
`softmax(scores + N.mask, axis=-1)`, with `N.mask` an (L, L) constant listed in the graph's
constants: 0 where key j <= query i, -1e9 above. The exporter states, for every such constant,
the Lean theorem `CausalAttention`; these functions decide the same statement in Python, so a
graph they reject is one whose theorem the kernel refuses.
"""

from __future__ import annotations

import numpy as np

from ..ir.graph import Graph

MASK_FLOOR = -1e9
MASK_SUFFIX = ".mask"


def causal_masks(graph: Graph) -> tuple[str, ...]:
    """The constants the frontend made as causal masks (named `<node>.mask`, square, 2-D).

    Chosen by name, not by value: a constant so named that is not causal gets a theorem that fails.
    """
    shapes = {p.name: p.shape for p in graph.params}
    return tuple(c for c in graph.constants
                 if c.endswith(MASK_SUFFIX) and len(shapes[c]) == 2 and shapes[c][0] == shapes[c][1])


def causal_mask_ok(values: np.ndarray) -> bool:
    """`CausalMask`: square, 0 on and below the diagonal, at most -1e9 above it."""
    if values.ndim != 2 or values.shape[0] != values.shape[1]:
        return False
    above = np.triu(np.ones(values.shape, dtype=bool), k=1)
    return bool(np.all(values[~above] == 0) and np.all(values[above] <= MASK_FLOOR))


def mask_feeds_scores(graph: Graph, mask: str) -> bool:
    """`MaskFeedsScores`: every reader of `mask` is `add(_, mask)` of trailing shape (L, L) whose
    sum is read only by softmaxes over axis -1 and is no output; and there is such a reader."""
    length = graph.param(mask).shape[0]
    readers = [n for n in graph.nodes if mask in n.inputs]
    return bool(readers) and all(
        n.op == "add" and tuple(n.inputs[1:]) == (mask,) and tuple(n.shape[-2:]) == (length, length)
        and _only_softmaxed(graph, n.id) for n in readers)


def causal_attention(graph: Graph, mask: str) -> bool:
    """`CausalAttention`: the mask's values are causal and it feeds the attention softmaxes."""
    return causal_mask_ok(graph.param(mask).array) and mask_feeds_scores(graph, mask)


def _only_softmaxed(graph: Graph, value: str) -> bool:
    readers = [c for c in graph.nodes if value in c.inputs]
    return bool(readers) and value not in graph.outputs and all(
        c.op == "softmax" and tuple(c.inputs) == (value,) and dict(c.attrs).get("axis") == -1 for c in readers)
