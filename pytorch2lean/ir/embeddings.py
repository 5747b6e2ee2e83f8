"""A token model read after its embedding lookups: where robustness claims about text models live.

Token ids are discrete, so a ball around them means nothing; the robustness claims made of language
models perturb the embedding vectors instead (every vector within eps of the rows the ids select).
`after_lookups(graph)` is the model with that split made explicit: each `embedding` node that reads
an int64 input becomes a float32 input of the same name and shape, and everything after it stays
as it was (the same nodes, attributes and parameter bits; the token tables drop out). A property
proven for it holds for the token model at every embedding it can be given, the lookups of all ids
included. `lookups(graph, feeds)` computes those embeddings for given ids, with the op's own
kernel: the center of such a ball.

`verify` and `check` read a model with token ids this way; `pytorch2lean ir MODEL` writes the whole
token model, and `after_lookups` its rest, as a graph of its own (its own digest).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

import numpy as np

from .. import ops
from ..errors import UserError
from .graph import CONSTANTS_KEY, Graph, Input, Node
from .validate import validate


def lookup_nodes(graph: Graph) -> tuple[Node, ...]:
    """The embedding nodes that read an int64 input (a validated graph reads ids nowhere else)."""
    ids = {i.name for i in graph.inputs if i.ids}
    return tuple(n for n in graph.nodes if n.op == "embedding" and n.inputs[0] in ids)


def after_lookups(graph: Graph) -> Graph:
    """The validated graph with each token lookup replaced by a float32 input of its name and shape,
    placed where its ids input was; parameters (and constants) nothing else reads drop out."""
    cut = lookup_nodes(graph)
    inputs: list[Input] = []
    for i in graph.inputs:
        inputs += [Input(n.id, n.shape or ()) for n in cut if n.inputs[0] == i.name] if i.ids else [i]
    nodes = tuple(n for n in graph.nodes if n not in cut)
    used = {r for n in nodes for r in n.inputs}
    constants = " ".join(c for c in graph.constants if c in used)
    metadata = tuple((k, constants if k == CONSTANTS_KEY else v) for k, v in graph.metadata
                     if k != CONSTANTS_KEY or constants)
    return validate(replace(graph, inputs=tuple(inputs), params=tuple(p for p in graph.params if p.name in used),
                            nodes=nodes, metadata=metadata))


def lookups(graph: Graph, feeds: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The value of every token lookup (float32, batch axis first) for the ids in `feeds` (arrays of
    the input's shape, with or without a batch axis); an id outside its input's range is a UserError."""
    from ..runtime.plan import token_ids

    specs = {i.name: i for i in graph.inputs if i.ids}
    out = {}
    for node in lookup_nodes(graph):
        spec = specs[node.inputs[0]]
        if spec.name not in feeds:
            raise UserError(f"no value given for input {spec.name!r}")
        ids = np.asarray(feeds[spec.name])
        ids = ids[None] if ids.shape == spec.shape else ids
        if ids.shape[1:] != spec.shape:
            raise UserError(f"input {spec.name!r}: expected shape {list(spec.shape)} (or with a batch axis in front), "
                            f"got {list(ids.shape)}")
        table = graph.param(node.inputs[1]).array[None]
        out[node.id] = ops.get("embedding").kernel(np, {}, token_ids(spec, ids), table)
    return out
