"""The model DSL: every construct lowers to the IR it means, every mistake is reported in place."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytorch2lean.errors import FrontendError, GraphError, ParseError, ShapeError, UserError
from pytorch2lean.frontends import load_graph
from pytorch2lean.frontends.dsl import format_model, load_model, parse_model
from pytorch2lean.ir import Graph, Input, Param, dumps, make_node, validate

EVERY_CONSTRUCT = """\
# A comment line, then a blank line.

model every_construct   # trailing comment
meta source = "hand written \\"quoted\\""
input x: [1, 2, 4, 4]
input `input.1`: [1, 8]
input input: [1, 8]
param conv.weight: [3, 2, 3, 3]
param layers.0.bias: [3]
param `onnx::Gemm_7`: [5, 8]
param scale: []
c: [1, 3, 2, 2] = conv2d(x, conv.weight, layers.0.bias,
                         stride=[2, 2],      # a call may span lines
                         padding=[1, 1, 1, 1],
                         dilation=[1, 1], groups=1,)
p = maxpool2d(c, kernel=[2, 2], stride=[1, 1], ceil_mode=true)
q = avgpool2d(c, kernel=[2, 2], stride=[1, 1], count_include_pad=false)
f = flatten(q, axis=-3)
s = add(`input.1`, input)
m = mul(s, scale)
l = leaky_relu(m, alpha=-2.5e-1)
g = gelu(l, approximate="tanh")
z = linear(g, `onnx::Gemm_7`)
output z, p
output f
"""


def expected_every_construct() -> Graph:
    """The graph EVERY_CONSTRUCT means, built by hand."""
    nodes = (
        make_node("c", "conv2d", ["x", "conv.weight", "layers.0.bias"],
                  {"stride": (2, 2), "padding": (1, 1, 1, 1), "dilation": (1, 1), "groups": 1}),
        make_node("p", "maxpool2d", ["c"], {"kernel": (2, 2), "stride": (1, 1), "ceil_mode": True}),
        make_node("q", "avgpool2d", ["c"], {"kernel": (2, 2), "stride": (1, 1), "count_include_pad": False}),
        make_node("f", "flatten", ["q"], {"axis": -3}),
        make_node("s", "add", ["input.1", "input"]),
        make_node("m", "mul", ["s", "scale"]),
        make_node("l", "leaky_relu", ["m"], {"alpha": -0.25}),
        make_node("g", "gelu", ["l"], {"approximate": "tanh"}),
        make_node("z", "linear", ["g", "onnx::Gemm_7"]),
    )
    graph = Graph(
        name="every_construct",
        inputs=(Input("x", (1, 2, 4, 4)), Input("input.1", (1, 8)), Input("input", (1, 8))),
        params=(Param("conv.weight", (3, 2, 3, 3)), Param("layers.0.bias", (3,)), Param("onnx::Gemm_7", (5, 8)), Param("scale", ())),
        nodes=(replace(nodes[0], shape=(1, 3, 2, 2)),) + nodes[1:],
        outputs=("z", "p", "f"),
        metadata=(("source", 'hand written "quoted"'),),
    )
    return validate(graph)


def test_every_construct_lowers_to_the_hand_built_graph() -> None:
    assert parse_model(EVERY_CONSTRUCT) == expected_every_construct()


def test_every_construct_round_trips_through_the_printer() -> None:
    graph = parse_model(EVERY_CONSTRUCT)
    text = format_model(graph)
    assert parse_model(text) == graph
    assert format_model(parse_model(text)) == text  # the printer is a fixed point
    assert "`input`" in text and "`onnx::Gemm_7`" in text and "conv.weight" in text


def test_printer_leaves_default_attributes_out() -> None:
    text = format_model(parse_model(EVERY_CONSTRUCT))
    assert "groups" not in text and "dilation" not in text and "count_include_pad" not in text
    assert "ceil_mode=true" in text and "alpha=-0.25" in text and 'approximate="tanh"' in text


def test_printer_refuses_names_it_cannot_write() -> None:
    graph = parse_model("model m\ninput x: [2]\ny = relu(x)\noutput y\n")
    bad = replace(graph, inputs=(Input("a`b", (2,)),), nodes=(make_node("y", "relu", ["a`b"]),))
    with pytest.raises(GraphError, match="cannot be written"):
        format_model(bad)


def test_line_endings_tabs_and_missing_final_newline() -> None:
    text = "model m\r\n\tinput x: [1, 3]\r\n\r\ny = relu(x)\r\noutput y"
    graph = parse_model(text)
    assert graph.inputs == (Input("x", (1, 3)),) and graph.outputs == ("y",)


@pytest.mark.parametrize(
    ("literal", "value"),
    [("0.1", float(np.float32(0.1))), ("-0.1", float(np.float32(-0.1))), ("1e-3", float(np.float32(1e-3))),
     ("-2.5E+2", -250.0), (".5", 0.5), ("3.", 3.0), ("7", 7.0), ("-0.0", -0.0), ("1e-50", 0.0)],
)
def test_float_literals_are_rounded_to_float32(literal: str, value: float) -> None:
    graph = parse_model(f"model m\ninput x: [2]\ny = leaky_relu(x, alpha={literal})\noutput y\n")
    alpha = graph.node("y").attr["alpha"]
    assert alpha == value and np.signbit(alpha) == np.signbit(value)


@settings(max_examples=100, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-3e38, max_value=3e38))
def test_any_finite_float_written_by_repr_parses_to_its_float32(value: float) -> None:
    graph = parse_model(f"model m\ninput x: [2]\ny = leaky_relu(x, alpha={value!r})\noutput y\n")
    assert graph.node("y").attr["alpha"] == float(np.float32(value))


# ---- errors: class, exact place, offending text ---------------------------------------------

HEAD = "model m\ninput x: [1, 5]\nparam w: [3, 5]\nparam b: [3]\n"  # statements below start on line 5


@dataclass(frozen=True)
class Mistake:
    body: str
    error: type[UserError]
    place: str  # line:col
    says: str


MISTAKES = {
    "unclosed call": Mistake("h = linear(x, w, b\noutput h\n", ParseError, "6:1", "unexpected 'output'"),
    "extra paren": Mistake("h = linear(x, w, b))\noutput h\n", ParseError, "5:20", "unexpected ')'; expected end of line"),
    "stray character": Mistake("h = linear(x, w, b) + 1\noutput h\n", ParseError, "5:21", "unexpected character '+'"),
    "missing operand list": Mistake("h = linear\noutput h\n", ParseError, "5:11", "unexpected end of line; expected '('"),
    "end of file": Mistake("h = linear(x, w, b)\noutput", ParseError, "6:7", "unexpected end of file"),
    "single quotes": Mistake("h = linear(x, w, b)\nz = gelu(h, approximate='tanh')\noutput z\n", ParseError, "6:25",
                             "unexpected character \"'\""),
    "bad escape": Mistake('h = linear(x, w, b)\nz = gelu(h, approximate="ta\\q")\noutput z\n', ParseError, "6:25",
                          "malformed string"),
    "unterminated string": Mistake('meta a = "abc\nh = linear(x, w, b)\noutput h\n', ParseError, "5:10", "malformed string"),
    "unknown op": Mistake("h = linaer(x, w, b)\noutput h\n", GraphError, "5:5", "unknown op 'linaer'; did you mean 'linear'?"),
    "unknown name": Mistake("h = linear(xx, w, b)\noutput h\n", GraphError, "5:12", "unknown name 'xx'; did you mean 'x'?"),
    "unknown output": Mistake("h = linear(x, w, b)\noutput hh\n", GraphError, "6:8", "unknown name 'hh'; did you mean 'h'?"),
    "used before definition": Mistake("h = linear(x, w, b)\nz = relu(y)\ny = relu(h)\noutput z\n", GraphError, "6:10",
                                      "name 'y' is used before its definition at m.p2l:7:1"),
    "defined twice": Mistake("h = linear(x, w, b)\nh = relu(h)\noutput h\n", GraphError, "6:1",
                             "name 'h' is defined twice (first at m.p2l:5:1)"),
    "param redefined": Mistake("w = relu(x)\noutput w\n", GraphError, "5:1", "name 'w' is defined twice (first at m.p2l:3:7)"),
    "unknown attribute": Mistake("h = linear(x, w, b)\nz = leaky_relu(h, alpah=0.1)\noutput z\n", GraphError, "6:19",
                                 "leaky_relu has no attribute 'alpah'; did you mean 'alpha'?"),
    "attribute twice": Mistake("h = linear(x, w, b)\nz = leaky_relu(h, alpha=0.1, alpha=0.2)\noutput z\n", GraphError, "6:30",
                               "attribute 'alpha' is given twice"),
    "string for float": Mistake("h = linear(x, w, b)\nz = leaky_relu(h, alpha=\"a\")\noutput z\n", GraphError, "6:25",
                                "attribute 'alpha' of leaky_relu must be a number, got a \"string\""),
    "float for int": Mistake("h = linear(x, w, b)\nz = softmax(h, axis=1.0)\noutput z\n", GraphError, "6:21",
                             "attribute 'axis' of softmax must be an integer, got a number"),
    "floats for ints": Mistake("h = linear(x, w, b)\nz = transpose(h, perm=[1, 0.5])\noutput z\n", GraphError, "6:23",
                               "must be a list of integers, got a list of numbers"),
    "int for ints": Mistake("h = linear(x, w, b)\nz = reshape(h, shape=3)\noutput z\n", GraphError, "6:22",
                            "attribute 'shape' of reshape must be a list of integers, got an integer"),
    "float overflow": Mistake("h = linear(x, w, b)\nz = leaky_relu(h, alpha=-1e39)\noutput z\n", ParseError, "6:25",
                              "-1e+39 is out of the float32 range"),
    "operand after attribute": Mistake("h = linear(x, w, b)\nz = concat(h, axis=0, h)\noutput z\n", ParseError, "6:23",
                                       "operand 'h' comes after an attribute"),
    "missing attribute": Mistake("h = linear(x, w, b)\nz = transpose(h)\noutput z\n", GraphError, "6:5",
                                 "node 'z' (transpose): missing required attribute 'perm'"),
    "shape mismatch": Mistake("h = linear(x, w, b)\nz = add(h, w)\noutput z\n", ShapeError, "6:5",
                              "node 'z' (add): shapes [1, 3] and [3, 5] do not broadcast"),
    "weight shape": Mistake("h = linear(x, b, b)\noutput h\n", ShapeError, "5:5", "node 'h' (linear)"),
    "stated shape": Mistake("h: [1, 4] = linear(x, w, b)\noutput h\n", ShapeError, "5:13",
                            "states shape [1, 4] but its inputs give [1, 3]"),
    "arity": Mistake("h = linear(x, w, b)\nz = relu(h, h)\noutput z\n", GraphError, "6:5", "node 'z' (relu): takes (x), got 2"),
    "activation as weight": Mistake("h = linear(x, w, b)\nz = linear(h, h)\noutput z\n", GraphError, "6:5",
                                    "operand 'weight' must be a parameter, got activation 'h'"),
    "unused parameter": Mistake("h = linear(x, w)\noutput h\n", GraphError, "4:7", "parameter 'b' is declared but never used"),
    "parameter as output": Mistake("h = linear(x, w, b)\noutput h, w\n", GraphError, "6:11", "output 'w' is not a node or input"),
    "output twice": Mistake("h = linear(x, w, b)\noutput h\noutput h\n", GraphError, "7:8", "output 'h' is listed twice"),
    "no output": Mistake("h = linear(x, w, b)\n", GraphError, "1:7", "model 'm' has no `output` statement"),
    "zero dimension": Mistake("param v: [0]\nh = linear(x, w, b)\nz = add(h, v)\noutput z\n", GraphError, "5:7",
                              "parameter 'v': shape [0] must list positive integers"),
    "metadata twice": Mistake("meta a = \"1\"\nmeta a = \"2\"\nh = linear(x, w, b)\noutput h\n", GraphError, "6:6",
                              "metadata key 'a' is given twice"),
}


@pytest.mark.parametrize("case", MISTAKES.values(), ids=MISTAKES.keys())
def test_mistake_is_reported_in_place(case: Mistake) -> None:
    with pytest.raises(case.error) as info:
        parse_model(HEAD + case.body, "m.p2l")
    message = str(info.value)
    assert message.startswith(f"m.p2l:{case.place}: "), message
    assert case.says in message.splitlines()[0], message


def test_error_shows_the_source_line_and_underlines_the_text() -> None:
    with pytest.raises(GraphError) as info:
        parse_model(HEAD + "h = linaer(x, w, b)\noutput h\n", "m.p2l")
    _, shown, caret = str(info.value).splitlines()
    assert shown.endswith("| h = linaer(x, w, b)")
    assert caret.index("^") == shown.index("linaer") and caret.count("^") == len("linaer")


def test_empty_file_expects_a_model_header() -> None:
    with pytest.raises(ParseError, match=r"^<string>:1:1: unexpected end of file; expected 'model'"):
        parse_model("")


def test_the_header_comes_first() -> None:
    with pytest.raises(ParseError, match=r"^<string>:1:1: unexpected 'input'; expected 'model'"):
        parse_model("input x: [1]\nmodel m\n")


# ---- files and the frontend dispatcher ------------------------------------------------------

def test_load_model_reports_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "net.p2l"
    path.write_text(HEAD + "h = linaer(x, w, b)\noutput h\n", encoding="utf-8")
    with pytest.raises(GraphError, match=rf"^{path}:5:5: unknown op"):
        load_model(path)


def test_load_model_missing_or_binary_file(tmp_path: Path) -> None:
    with pytest.raises(FrontendError, match="cannot read model file"):
        load_model(tmp_path / "absent.p2l")
    (tmp_path / "bin.p2l").write_bytes(b"model m\n\xff\xfe")
    with pytest.raises(ParseError, match="not UTF-8 text"):
        load_model(tmp_path / "bin.p2l")


def test_load_graph_dispatches_on_suffix(tmp_path: Path) -> None:
    graph = parse_model(EVERY_CONSTRUCT)
    (tmp_path / "m.p2l").write_text(EVERY_CONSTRUCT, encoding="utf-8")
    (tmp_path / "m.JSON").write_text(dumps(replace(graph, nodes=tuple(replace(n, shape=None) for n in graph.nodes))), encoding="utf-8")
    assert load_graph(tmp_path / "m.p2l") == graph
    assert load_graph(str(tmp_path / "m.JSON")) == graph  # canonical IR comes back validated: shapes filled


def test_load_graph_refuses_unknown_suffixes(tmp_path: Path) -> None:
    with pytest.raises(FrontendError, match=r"unsupported model file suffix '\.txt'; supported: \.p2l, \.onnx, \.json"):
        load_graph(tmp_path / "m.txt")


def test_load_graph_hands_onnx_files_to_the_onnx_frontend(tmp_path: Path) -> None:
    pytest.importorskip("pytorch2lean.frontends.onnx_import", reason="the ONNX frontend is not in this checkout")
    (tmp_path / "m.onnx").write_bytes(b"not a protobuf")
    with pytest.raises(UserError):
        load_graph(tmp_path / "m.onnx")


# ---- generated MLPs: text and hand-built graph agree ----------------------------------------

ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu", None)


@st.composite
def mlp_sources(draw: st.DrawFn) -> tuple[str, Graph]:
    """A random MLP written as DSL text (random layout, names, comments) and the same graph by hand."""
    widths = draw(st.lists(st.integers(1, 6), min_size=2, max_size=5))
    dotted = draw(st.booleans())
    gap = draw(st.sampled_from([" ", "  ", "\t"]))
    note = draw(st.sampled_from(["", "  # note", "\t#"]))
    lines = [f"model{gap}{draw(st.sampled_from(['mlp', 'net.v2', 'm_0']))}", f"input x:{gap}[1, {widths[0]}]"]
    params, nodes, previous = [], [], "x"
    for k, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
        weight, bias = (f"layers.{k}.weight", f"layers.{k}.bias") if dotted else (f"w{k}", f"b{k}")
        has_bias = draw(st.booleans())
        params.append(Param(weight, (n_out, n_in)))
        lines.append(f"param {weight}: [{n_out},{gap}{n_in}]")
        if has_bias:
            params.append(Param(bias, (n_out,)))
            lines.append(f"param {bias}: [{n_out}]{note}")
        operands = [previous, weight] + ([bias] if has_bias else [])
        nodes.append(make_node(f"h{k}", "linear", operands))
        lines.append(f"h{k}{gap}={gap}linear({', '.join(operands)}){note}")
        previous = f"h{k}"
        activation = draw(st.sampled_from(ACTIVATIONS))
        if activation is not None:
            attrs = {"alpha": draw(st.floats(-1, 1, width=32))} if activation == "leaky_relu" else {}
            nodes.append(make_node(f"a{k}", activation, [previous], attrs))
            written = "".join(f", alpha={v!r}" for v in attrs.values())
            lines.append(f"a{k} = {activation}({previous}{written})")
            previous = f"a{k}"
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "# a comment", "   "])))
    lines.append(f"output {previous}")
    graph = Graph(lines[0].split()[1], (Input("x", (1, widths[0])),), tuple(params), tuple(nodes), (previous,))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"])), validate(graph)


@settings(max_examples=150, deadline=None)
@given(mlp_sources())
def test_generated_mlp_text_means_the_hand_built_graph(case: tuple[str, Graph]) -> None:
    text, graph = case
    parsed = parse_model(text)
    assert parsed == graph
    assert dumps(parsed) == dumps(graph)


@settings(max_examples=100, deadline=None)
@given(mlp_sources())
def test_generated_mlp_round_trips_through_the_printer(case: tuple[str, Graph]) -> None:
    _, graph = case
    assert parse_model(format_model(graph)) == graph


# ---- no input text ends in anything but a UserError -----------------------------------------

@st.composite
def damaged_sources(draw: st.DrawFn) -> str:
    """EVERY_CONSTRUCT with a few random cuts, insertions and replacements."""
    text = EVERY_CONSTRUCT
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 12))
        text = text[:at] + draw(st.text(alphabet="()[]=,:#.`\"\\-+e 0123456789xyzw\n", max_size=6)) + text[at + cut:]
    return text


@settings(max_examples=300, deadline=None)
@given(st.one_of(damaged_sources(), st.text(max_size=80)))
def test_any_text_parses_or_raises_a_user_error(text: str) -> None:
    try:
        parse_model(text)
    except UserError as e:
        assert str(e).startswith("<string>:")
