"""Graph to DSL text: a readable listing of any graph (an imported ONNX model included).

`parse_model(format_model(g))` is `g` again, up to bound parameter values (the DSL declares
parameters; checkpoints hold their values). Attributes equal to the op's default are left out;
names that are not plain DSL names are written between backticks.
"""

from __future__ import annotations

import json
import math
import re

from ... import ops
from ...errors import GraphError
from ...ir.graph import AttrValue, Graph, Node, Shape
from .syntax import KEYWORDS

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*")


def format_model(graph: Graph) -> str:
    """The DSL text of a graph: header, metadata, inputs, parameters, nodes, outputs. The language
    declares float32 inputs only: a graph with token ids is refused, not written as a float model."""
    ids = [i.name for i in graph.inputs if i.ids]
    if ids:
        raise GraphError(f"input {ids[0]!r} holds int64 token ids, which the model language cannot declare; "
                         "keep such a model as IR JSON (pytorch2lean ir)")
    lines = [f"model {_name(graph.name)}"]
    lines += [f"meta {_name(key)} = {json.dumps(value)}" for key, value in graph.metadata]
    lines += [f"input {_name(i.name)}: {_shape(i.shape)}" for i in graph.inputs]
    lines += [f"param {_name(p.name)}: {_shape(p.shape)}" for p in graph.params]
    lines += [_node(n) for n in graph.nodes]
    lines.append("output " + ", ".join(_name(o) for o in graph.outputs))
    return "\n".join(lines) + "\n"


def _node(node: Node) -> str:
    defaults = ops.get(node.op).attrs
    args = [_name(r) for r in node.inputs]
    args += [f"{k}={_value(v)}" for k, v in node.attrs if k not in defaults or v != defaults[k].default]
    annotation = "" if node.shape is None else f": {_shape(node.shape)}"
    return f"{_name(node.id)}{annotation} = {node.op}({', '.join(args)})"


def _name(name: str) -> str:
    if _PLAIN.fullmatch(name) and name not in KEYWORDS:
        return name
    if not name or any(c in name for c in "`\r\n"):
        raise GraphError(f"name {name!r} cannot be written in the DSL (empty, or holds a backtick or newline)")
    return f"`{name}`"


def _shape(shape: Shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _value(value: AttrValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise GraphError(f"attribute value {value!r} cannot be written in the DSL (not finite)")
    return repr(value)
