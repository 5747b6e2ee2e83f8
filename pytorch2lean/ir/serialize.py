"""Canonical JSON (`pytorch2lean.ir.v1`) and the sha256 digest.

Canonical means: sorted keys, no insignificant whitespace, ASCII only, parameter bits as
base64 of little-endian float32, floats written by Python's shortest round-trip repr. The digest
is the sha256 of the canonical text of everything except the digest itself, so equal graphs
have equal digests and any change to structure, shapes or a single parameter bit changes it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from ..errors import GraphError
from .document import check_document
from .graph import Graph, Input, Node, Param, normalize_attr

FORMAT = "pytorch2lean.ir.v1"


def to_dict(graph: Graph) -> dict[str, Any]:
    """The graph as plain JSON data (without the digest)."""
    return {
        "format": FORMAT,
        "name": graph.name,
        "inputs": [_input_dict(i) for i in graph.inputs],
        "params": [_param_dict(p) for p in graph.params],
        "nodes": [
            {"id": n.id, "op": n.op, "inputs": list(n.inputs), "attrs": {k: _json_attr(v) for k, v in n.attrs},
             "shape": None if n.shape is None else list(n.shape)}
            for n in graph.nodes
        ],
        "outputs": list(graph.outputs),
        "metadata": dict(graph.metadata),
    }


def _input_dict(i: Input) -> dict[str, Any]:
    """An input's entry; `range` appears only on integer inputs, so a float graph's text (and
    digest) is what it was before integer inputs existed."""
    entry: dict[str, Any] = {"name": i.name, "shape": list(i.shape), "dtype": i.dtype}
    if i.id_range is not None:
        entry["range"] = list(i.id_range)
    return entry


def _input_of(i: dict[str, Any]) -> Input:
    bounds = i.get("range")
    return Input(i["name"], tuple(i["shape"]), i["dtype"], None if bounds is None else tuple(bounds))


def _param_dict(p: Param) -> dict[str, Any]:
    data = None if p.data is None else base64.b64encode(p.data).decode("ascii")
    return {"name": p.name, "shape": list(p.shape), "dtype": p.dtype, "encoding": "f32le-base64", "data": data}


def _json_attr(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def canonical_text(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def digest(graph: Graph) -> str:
    """sha256 (64 hex digits) of the graph's canonical JSON.

    The digest of the graph digested last is remembered, and given again for a graph whose every
    value is the same, type for type (`_same`): its canonical text is then the same. A bound pass
    and the check of its certificate each need the digest of a freshly validated graph, and for a
    model of 10^5 parameters its text (base64, JSON, sha256) cost more than an mnistfc CROWN pass's
    arithmetic (10 of 50 ms); comparing the parameters' bytes costs a memcmp, or nothing when they
    are the same object, as they are for the graphs `validate` makes of one model."""
    parts = _parts(graph)
    last = _LAST_DIGEST[0] if _LAST_DIGEST else None  # read once: another thread may replace it
    if last is not None and _same(last[0], parts):
        return last[1]
    value = hashlib.sha256(canonical_text(to_dict(graph)).encode("ascii")).hexdigest()
    _LAST_DIGEST[:] = [(parts, value)]
    return value


_LAST_DIGEST: list[tuple[tuple[Any, ...], str]] = []  # the graph digested last: its parts and its digest


def _parts(graph: Graph) -> tuple[Any, ...]:
    """Every field value of the graph and of its inputs, parameters and nodes: what its canonical
    text is made of, grouped as the text groups them."""
    return (graph.name, graph.outputs, graph.metadata,
            tuple((i.name, i.shape, i.dtype, i.id_range) for i in graph.inputs),
            tuple((p.name, p.shape, p.data, p.dtype) for p in graph.params),
            tuple((n.id, n.op, n.inputs, n.attrs, n.shape) for n in graph.nodes))


def _same(a: Any, b: Any) -> bool:
    """a and b are equal values of the same types throughout, so JSON writes them alike: tuples
    item by item, strings, ints, bytes and None by value, floats by their bits (0.0 and -0.0
    differ); True is not 1, and anything else (a list, a mutable buffer) is never the same."""
    if type(a) is not type(b):
        return False
    if type(a) is tuple:
        return len(a) == len(b) and all(map(_same, a, b))
    if type(a) is float:
        return a.hex() == b.hex()
    return type(a) in (str, int, bool, bytes, type(None)) and a == b


def dumps(graph: Graph) -> str:
    """Canonical JSON text including the digest; the same graph always gives the same bytes."""
    data = to_dict(graph)
    data["digest"] = hashlib.sha256(canonical_text(data).encode("ascii")).hexdigest()
    return canonical_text(data)


def loads(text: str, *, source: str = "<ir>") -> Graph:
    """Parse canonical JSON back to a graph; a digest that does not match the content is an error."""
    try:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise GraphError(f"{source}: not a {FORMAT} document (format {data.get('format')!r})")
        check_document(data, source)
        graph = Graph(
            name=data["name"],
            inputs=tuple(_input_of(i) for i in data["inputs"]),
            params=tuple(
                Param(p["name"], tuple(p["shape"]), None if p["data"] is None else base64.b64decode(p["data"], validate=True), p["dtype"])
                for p in data["params"]
            ),
            nodes=tuple(
                Node(n["id"], n["op"], tuple(n["inputs"]), tuple(sorted((k, normalize_attr(v)) for k, v in n["attrs"].items())),
                     None if n["shape"] is None else tuple(n["shape"]))
                for n in data["nodes"]
            ),
            outputs=tuple(data["outputs"]),
            metadata=tuple(sorted(data.get("metadata", {}).items())),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise GraphError(f"{source}: malformed IR JSON ({type(e).__name__}: {e})") from None
    if "digest" in data and data["digest"] != digest(graph):
        raise GraphError(f"{source}: digest {data['digest']} does not match the content ({digest(graph)})")
    return graph
