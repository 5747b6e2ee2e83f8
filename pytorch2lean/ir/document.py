"""The layout of an IR JSON document (`pytorch2lean.ir.v1`), checked before a Graph is built from it.

`serialize.loads` builds the graph's names, shapes and attributes straight from the JSON values;
a value of the wrong JSON type (a list where a name belongs, a dict in a shape) would otherwise
reach the validator as something it cannot even hash. Here every such value is checked against
the layout `serialize.to_dict` writes, and a wrong one is a GraphError naming its place in the
document (`malformed IR JSON at nodes[3].inputs[0]: ...`). What the values mean (names defined, shapes positive, attributes
an op accepts) is the validator's to check, with its own located messages.
"""

from __future__ import annotations

from typing import Any, Callable

from ..errors import GraphError

Check = Callable[[Any], bool]


def _string(v: Any) -> bool:
    return isinstance(v, str)


def _integer(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _scalar(v: Any) -> bool:
    return isinstance(v, (int, float, str))


def _ints(v: Any) -> bool:
    return isinstance(v, list) and all(map(_integer, v))


def _attr(v: Any) -> bool:
    """An attribute value: a number, a boolean, a string, or a list of them."""
    return _scalar(v) or isinstance(v, list) and all(_scalar(x) for x in v)


FIELDS: dict[str, dict[str, tuple[str, Check]]] = {
    "inputs": {"name": ("a name", _string), "shape": ("a list of integers", _ints),
               "dtype": ("an element type name", _string)},
    "params": {"name": ("a name", _string), "shape": ("a list of integers", _ints),
               "dtype": ("an element type name", _string), "data": ("base64 text or null", lambda v: v is None or _string(v))},
    "nodes": {"id": ("a name", _string), "op": ("an op name", _string),
              "inputs": ("a list of names", lambda v: isinstance(v, list) and all(map(_string, v))),
              "attrs": ("an object of attribute values (numbers, strings, or lists of them)",
                        lambda v: isinstance(v, dict) and all(map(_attr, v.values()))),
              "shape": ("null or a list of integers", lambda v: v is None or _ints(v))},
}
OPTIONAL = {"inputs": {"range": ("a list of two integers", lambda v: _ints(v) and len(v) == 2)}}


def check_document(data: Any, source: str) -> None:
    """Raise a GraphError naming the first value of `data` whose JSON type is not the layout's."""
    if not isinstance(data, dict):
        raise _malformed(source, "the document", f"expected a JSON object, got {_shown(data)}")
    _expect(data, "name", "a name", _string, source, "name")
    for section in ("inputs", "params", "nodes"):
        _entries(data, section, source)
    _expect(data, "outputs", "a list of names", lambda v: isinstance(v, list) and all(map(_string, v)), source, "outputs")
    metadata = data.get("metadata", {})
    if not (isinstance(metadata, dict) and all(map(_string, metadata.values()))):
        raise _malformed(source, "metadata", f"expected an object of strings, got {_shown(metadata)}")


def _entries(data: dict[str, Any], section: str, source: str) -> None:
    entries = data.get(section)
    if not isinstance(entries, list):
        raise _malformed(source, section, f"expected a list, got {_shown(entries)}")
    for k, entry in enumerate(entries):
        where = f"{section}[{k}]"
        if not isinstance(entry, dict):
            raise _malformed(source, where, f"expected an object, got {_shown(entry)}")
        for key, (what, check) in FIELDS[section].items():
            _expect(entry, key, what, check, source, f"{where}.{key}")
        for key, (what, check) in OPTIONAL.get(section, {}).items():
            if key in entry:
                _expect(entry, key, what, check, source, f"{where}.{key}")


def _expect(obj: dict[str, Any], key: str, what: str, check: Check, source: str, where: str) -> None:
    if key not in obj:
        raise _malformed(source, where, f"missing (expected {what})")
    if not check(obj[key]):
        raise _malformed(source, where, f"expected {what}, got {_shown(obj[key])}")


def _malformed(source: str, where: str, message: str) -> GraphError:
    return GraphError(f"{source}: malformed IR JSON at {where}: {message}")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
