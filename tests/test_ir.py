"""IR: canonical JSON round trips, digest stability, well-formedness and shape errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytorch2lean.errors import GraphError, ShapeError
from pytorch2lean.ir import Graph, Input, Param, digest, dumps, loads, make_node, validate
from pytorch2lean.ir.view import to_dot, to_networkx, to_svg

UNARY = ["relu", "neg", "sigmoid", "tanh", "leaky_relu"]
BINARY = ["add", "sub", "mul"]


@st.composite
def graphs(draw: st.DrawFn) -> Graph:
    """Random well-formed graphs: elementwise chains with residual joins over one or two inputs."""
    width = draw(st.integers(1, 4))
    shape = (1, width)
    inputs = tuple(Input(f"x{k}", shape) for k in range(draw(st.integers(1, 2))))
    names = [i.name for i in inputs]
    nodes, params = [], []
    for k in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(UNARY + BINARY))
        if op in BINARY:
            a = draw(st.sampled_from(names))
            if draw(st.booleans()):
                raw = draw(st.lists(st.integers(0, 2**32 - 1), min_size=width, max_size=width))
                bits = np.array(raw, dtype=np.uint32)
                bits = np.where((bits >> 23) & 0xFF == 0xFF, bits & 0x807FFFFF, bits)  # keep finite
                params.append(Param.of_array(f"p{k}", bits.view(np.float32).reshape(width)))
                b = params[-1].name
            else:
                b = draw(st.sampled_from(names))
            nodes.append(make_node(f"n{k}", op, [a, b]))
        else:
            attrs = {"alpha": draw(st.floats(-2, 2, width=32))} if op == "leaky_relu" else {}
            nodes.append(make_node(f"n{k}", op, [draw(st.sampled_from(names))], attrs))
        names.append(nodes[-1].id)
    used = {r for n in nodes for r in n.inputs}
    outputs = tuple(n.id for n in nodes if n.id not in used) or (nodes[-1].id,)
    graph = Graph(draw(st.sampled_from(["g", "model", "ψ-net"])), inputs, tuple(params), tuple(nodes), outputs)
    return validate(graph)


@settings(max_examples=150, deadline=None)
@given(graphs())
def test_json_round_trip_is_byte_identical(graph: Graph) -> None:
    text = dumps(graph)
    back = loads(text)
    assert back == graph
    assert dumps(back) == text
    assert digest(back) == digest(graph)
    assert len(digest(graph)) == 64


@settings(max_examples=60, deadline=None)
@given(graphs(), st.data())
def test_digest_changes_with_one_parameter_bit(graph: Graph, data: st.DataObject) -> None:
    if not graph.params:
        return
    p = data.draw(st.sampled_from(graph.params))
    raw = bytearray(p.data or b"")
    bit = data.draw(st.integers(0, 8 * len(raw) - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    mutated = graph.with_params({p.name: Param(p.name, p.shape, bytes(raw))})
    assert digest(mutated) != digest(graph)


def test_remembered_digest_is_given_only_for_the_same_values() -> None:
    """`digest` remembers the graph digested last; a graph whose values differ only where JSON
    writes them differently (-0.0 for 0.0, True for 1) or whose parameter bytes were replaced
    behind the frozen dataclass must get its own digest."""
    import hashlib

    from pytorch2lean.ir.graph import Node
    from pytorch2lean.ir.serialize import canonical_text, to_dict

    def fresh(g: Graph) -> str:
        return hashlib.sha256(canonical_text(to_dict(g)).encode("ascii")).hexdigest()

    def leaky(slope: object) -> Graph:
        return Graph("m", (Input("x", (2,)),), (Param.of_array("w", np.array([1.0, -2.0], np.float32)),),
                     (make_node("h", "mul", ["x", "w"]), Node("y", "leaky_relu", ("h",), (("alpha", slope),))), ("y",))

    digests = {}
    for slope in (0.0, -0.0, 1, True, 0.0):
        g = leaky(slope)
        digests[repr(slope)] = digest(g)
        assert digests[repr(slope)] == fresh(g)
    assert len(set(digests.values())) == 4
    g = validate(leaky(0.5))
    before = digest(g)
    assert digest(validate(leaky(0.5))) == before
    object.__setattr__(g.params[0], "data", np.array([1.0, -3.0], np.float32).tobytes())
    assert digest(g) == fresh(g) != before


def test_parameter_bits_survive_every_float_class() -> None:
    special = np.array([0.0, -0.0, 1e-45, -1e-45, 1.1754942e-38, 1.1754944e-38, 3.4028235e38, -3.4028235e38, -2.5], np.float32)
    g = validate(Graph("f", (Input("x", (9,)),), (Param.of_array("w", special),), (make_node("y", "mul", ["x", "w"]),), ("y",)))
    back = loads(dumps(g))
    assert back.param("w").array.tobytes() == special.tobytes()


def test_tampered_json_is_rejected() -> None:
    g = validate(Graph("t", (Input("x", (2,)),), (), (make_node("y", "relu", ["x"]),), ("y",)))
    text = dumps(g).replace('"op":"relu"', '"op":"neg"')
    with pytest.raises(GraphError, match="digest"):
        loads(text)
    with pytest.raises(GraphError, match="malformed"):
        loads('{"format": "pytorch2lean.ir.v1"}')


def _graph(nodes: list, params: tuple = (), outputs: tuple = ("y",), shape: tuple = (1, 3)) -> Graph:
    return Graph("t", (Input("x", shape),), params, tuple(nodes), outputs)


W3 = Param.of_array("w", np.ones(3, np.float32))


@pytest.mark.parametrize(
    "graph, error, message",
    [
        (_graph([make_node("x", "relu", ["x"])], outputs=("x",)), GraphError, "'x' is defined twice"),
        (_graph([make_node("y", "relu", ["z"])]), GraphError, "input 'z' is not defined"),
        (_graph([make_node("y", "relu", ["y"])]), GraphError, "not defined before this node"),
        (_graph([make_node("y", "relu", ["x"])], params=(W3,)), GraphError, "'w' is declared but never used"),
        (_graph([make_node("y", "add", ["x"])]), GraphError, r"takes \(a, b\), got 1"),
        (_graph([make_node("y", "relu", ["x"])], outputs=("q",)), GraphError, "output 'q'"),
        (_graph([make_node("y", "relu", ["x"])], outputs=()), GraphError, "no outputs"),
        (_graph([make_node("y", "add", ["x", "w"])], params=(Param.of_array("w", np.ones(4, np.float32)),)),
         ShapeError, r"node 'y' \(add\): shapes \[1, 3\] and \[4\] do not broadcast"),
    ],
)
def test_ill_formed_graphs_are_rejected(graph: Graph, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        validate(graph)


def test_attribute_schema_is_enforced() -> None:
    with pytest.raises(GraphError, match="unknown attribute 'beta'"):
        make_node("y", "leaky_relu", ["x"], {"beta": 1.0})
    with pytest.raises(GraphError, match="'alpha' must be float"):
        make_node("y", "leaky_relu", ["x"], {"alpha": "big"})
    with pytest.raises(GraphError, match="unknown op 'relu6'"):
        make_node("y", "relu6", ["x"])
    assert make_node("y", "leaky_relu", ["x"]).attr == {"alpha": float(np.float32(0.01))}


def test_stated_shape_must_agree() -> None:
    from dataclasses import replace

    node = replace(make_node("y", "relu", ["x"]), shape=(3,))
    with pytest.raises(ShapeError, match=r"states shape \[3\] but its inputs give \[1, 3\]"):
        validate(_graph([node]))


def test_views() -> None:
    g = validate(_graph([make_node("h", "mul", ["x", "w"]), make_node("y", "add", ["h", "x"])], params=(W3,)))
    nxg = to_networkx(g)
    assert set(nxg.edges()) == {("x", "h"), ("w", "h"), ("h", "y"), ("x", "y")}
    assert nxg.nodes["y"]["output"] and nxg.nodes["h"]["op"] == "mul"
    dot = to_dot(g)
    assert '"h" -> "y";' in dot and "digraph" in dot
    svg = to_svg(g)
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert to_svg(g) == svg  # deterministic bytes
