"""Well-formedness and shape inference: the Python twin of Lean's `checkWF` and `inferShapes`.

A graph is well-formed when names are unique, nodes come in topological order (so it is
acyclic), every reference is defined before use, every op is known with a valid arity and
attributes, parameter-only operands are parameters, every parameter is used, and the outputs
exist. Shapes then follow from the op rules alone; a node that states a shape must agree.

Integer inputs (token ids) are typed: each states its id range [lo, hi), is read only by an op's
ids operand (an embedding lookup), never by arithmetic, and every table it indexes has at least
hi rows, so no lookup of an id in range can miss. Every node's value is then float32.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from .. import ops
from ..errors import GraphError, ShapeError
from .graph import DTYPE, IDS, Graph, Input, Node, Shape

MAX_IDS = 2**24
"""Ids lie below this bound: every such integer is a float32, as the Lean export writes inputs."""


def make_node(node_id: str, op: str, inputs: tuple[str, ...] | list[str], attrs: Mapping[str, Any] | None = None) -> Node:
    """A node with its attributes checked against the op schema and defaults filled in."""
    spec = ops.get(op)
    return Node(node_id, op, tuple(inputs), spec.normalize_attrs(node_id, attrs or {}))


def validate(graph: Graph) -> Graph:
    """Check well-formedness and infer every node's shape; returns the graph with shapes filled."""
    _check_names(graph)
    shapes: dict[str, Shape] = {i.name: i.shape for i in graph.inputs}
    shapes.update({p.name: p.shape for p in graph.params})
    params = graph.param_names
    ids = {i.name: i for i in graph.inputs if i.ids}
    used: set[str] = set()
    nodes = []
    for node in graph.nodes:
        shape = _node_shape(node, shapes, params)
        _check_ids(node, shapes, ids)
        used.update(node.inputs)
        shapes[node.id] = shape
        nodes.append(replace(node, shape=shape))
    unused = sorted(params - used)
    if unused:
        raise GraphError(f"parameter {unused[0]!r} is declared but never used")
    if not graph.outputs:
        raise GraphError("the graph has no outputs")
    for out in graph.outputs:
        if out not in shapes or out in params:
            raise GraphError(f"output {out!r} is not a node or input of the graph")
        if out in ids:
            raise GraphError(f"output {out!r} is an int64 input; outputs are float32 values")
    return replace(graph, nodes=tuple(nodes))


def _check_names(graph: Graph) -> None:
    seen: set[str] = set()
    for name in graph.iter_names():
        if not name:
            raise GraphError("empty name in graph")
        if name in seen:
            raise GraphError(f"name {name!r} is defined twice")
        seen.add(name)
    if len(set(graph.outputs)) != len(graph.outputs):
        raise GraphError("an output is listed twice")
    for i in graph.inputs:
        _check_shape(f"input {i.name!r}", i.shape)
        _check_input_type(i)
    for p in graph.params:
        _check_shape(f"parameter {p.name!r}", p.shape)
        if p.data is not None and len(p.data) != 4 * p.size:
            raise GraphError(f"parameter {p.name!r}: {len(p.data)} bytes bound, shape {list(p.shape)} needs {4 * p.size}")


def _check_input_type(i: Input) -> None:
    """float32, or int64 ids with a range 0 <= lo < hi <= MAX_IDS (and only then a range)."""
    if i.dtype not in (DTYPE, IDS):
        raise GraphError(f"input {i.name!r}: dtype {i.dtype!r} is not supported ({DTYPE}, or {IDS} token ids)")
    if not i.ids:
        if i.id_range is not None:
            raise GraphError(f"input {i.name!r}: a {DTYPE} input has no id range (got {list(i.id_range)})")
        return
    r = i.id_range
    is_int = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
    if not (isinstance(r, tuple) and len(r) == 2 and all(map(is_int, r)) and 0 <= r[0] < r[1] <= MAX_IDS):
        raise GraphError(f"input {i.name!r}: an {IDS} input needs an id range [lo, hi) with 0 <= lo < hi <= 2**24, "
                         f"got {r if r is None else list(r)}")


def _check_ids(node: Node, shapes: Mapping[str, Shape], ids: Mapping[str, Input]) -> None:
    """An int64 input only as the op's ids operand, that operand only an int64 input, its whole
    range inside the table (`OpSpec.id_limit`)."""
    spec = ops.get(node.op)
    where = f"node {node.id!r} ({node.op})"
    for k, ref in enumerate(node.inputs):
        operand = spec.operand(k).name
        if k == spec.ids and ref not in ids:
            raise GraphError(f"{where}: operand {operand!r} takes {IDS} token ids (an {IDS} input), got {ref!r}")
        if k != spec.ids and ref in ids:
            raise GraphError(f"{where}: operand {operand!r} takes float values, got the {IDS} input {ref!r} "
                             "(token ids are read only as the ids of an embedding)")
        if k == spec.ids and spec.id_limit is not None:
            limit, (lo, hi) = spec.id_limit([shapes[r] for r in node.inputs]), ids[ref].id_range
            if hi > limit:
                raise GraphError(f"{where}: input {ref!r} holds ids in [{lo}, {hi}), but the table has {limit} rows")


def _check_shape(what: str, shape: Shape) -> None:
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape):
        raise GraphError(f"{what}: shape {list(shape)} must list positive integers")


def _node_shape(node: Node, shapes: Mapping[str, Shape], params: frozenset[str]) -> Shape:
    spec = ops.get(node.op)
    where = f"node {node.id!r} ({node.op})"
    if not spec.arity_ok(len(node.inputs)):
        names = ", ".join(o.name + ("?" if o.optional else "") for o in spec.operands) + (", ..." if spec.variadic else "")
        raise GraphError(f"{where}: takes ({names}), got {len(node.inputs)} inputs")
    for k, ref in enumerate(node.inputs):
        if ref not in shapes:
            raise GraphError(f"{where}: input {ref!r} is not defined before this node (undefined name or cycle)")
        if spec.operand(k).param and ref not in params:
            raise GraphError(f"{where}: operand {spec.operand(k).name!r} must be a parameter, got activation {ref!r}")
    attrs = dict(spec.normalize_attrs(node.id, node.attr))
    if tuple(sorted(attrs.items())) != node.attrs:
        raise GraphError(f"{where}: attributes are not in canonical form (build nodes with make_node)")
    in_shapes = [shapes[r] for r in node.inputs]
    try:
        shape = tuple(int(d) for d in spec.shape(attrs, in_shapes))
    except ShapeError as e:
        shown = ", ".join(f"{r}: {list(s)}" for r, s in zip(node.inputs, in_shapes))
        raise ShapeError(f"{where}: {e} (inputs {shown})") from None
    if any(d < 1 for d in shape):
        raise ShapeError(f"{where}: inferred an empty shape {list(shape)}")
    if node.shape is not None and tuple(node.shape) != shape:
        raise ShapeError(f"{where}: states shape {list(node.shape)} but its inputs give {list(shape)}")
    return shape
