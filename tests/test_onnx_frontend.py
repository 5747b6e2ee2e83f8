"""The ONNX frontend against onnxruntime: benchmark nets, one model per supported op, errors.

Agreement criterion (stated once): the float32 runtime matches onnxruntime within rtol = atol =
1e-5 on B = 8 seeded random samples drawn uniformly from [-1, 1] (the box of the nets' scaled
inputs); parameters equal their initializers bit for bit; the exact evaluator is the reference
for the float32 runtime within 1e-4 relative to the output's magnitude.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytorch2lean.errors import FrontendError
from pytorch2lean.frontends.onnx_import import load_onnx, resolve_reshape
from pytorch2lean.ir import Graph, digest
from pytorch2lean.runtime import evaluate_exact, execute

onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install 'pytorch2lean[onnx]')")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'pytorch2lean[onnx]')")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "vnncomp2021"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "onnx"
RTOL = ATOL = 1e-5
EXACT_RTOL = 1e-4
BATCH = 8
INT64_MAX = 2**63 - 1


# ---- helpers ------------------------------------------------------------------------------

def shared_nets(folder: str) -> list[Any]:
    nets = sorted((SHARED / folder).glob("*.onnx"))
    if nets:
        return [pytest.param(p, id=p.name) for p in nets]
    return [pytest.param(None, marks=pytest.mark.skip(reason=f"{SHARED / folder} is absent (no shared benchmarks)"))]


def random_inputs(graph: Graph, seed: int = 0, batch: int = BATCH) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {i.name: rng.uniform(-1, 1, (batch, *i.shape)).astype(np.float32) for i in graph.inputs}


def ort_outputs(model: Any, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    """onnxruntime's outputs, one sample at a time (the models state a batch dimension of 1)."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    data = model.SerializeToString() if hasattr(model, "SerializeToString") else str(model)
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    batch = len(next(iter(inputs.values())))
    runs = [session.run(None, {k: v[b] for k, v in inputs.items()}) for b in range(batch)]
    return [np.stack([r[k] for r in runs]) for k in range(len(runs[0]))]


def assert_matches_ort(graph: Graph, model: Any, seed: int = 0) -> None:
    inputs = random_inputs(graph, seed)
    ours = execute(graph, inputs)
    refs = ort_outputs(model, inputs)
    assert len(refs) == len(graph.outputs)
    for name, ref in zip(graph.outputs, refs):
        assert ours[name].shape == ref.shape, name
        np.testing.assert_allclose(ours[name], ref, rtol=RTOL, atol=ATOL, err_msg=name)


def assert_params_are_initializers(graph: Graph, path: Path) -> None:
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}
    assert {p.name for p in graph.params} == set(inits)
    for p in graph.params:
        assert inits[p.name].dtype == np.float32
        assert p.data == inits[p.name].astype("<f4").tobytes(), p.name


def assert_exact_agrees(graph: Graph, seed: int = 1) -> None:
    inputs = random_inputs(graph, seed, batch=2)
    floats = execute(graph, inputs)
    exact = evaluate_exact(graph, inputs)
    for name in graph.outputs:
        ref = exact[name].astype(np.float64)
        scale = max(float(np.abs(ref).max()), 1e-30)
        assert np.abs(floats[name] - ref).max() <= EXACT_RTOL * scale, name


def model(nodes: Sequence[Any], inputs: dict[str, Sequence[Any]], inits: dict[str, Any] | None = None,
          opset: int = 17, outputs: Sequence[str] | None = None) -> Any:
    """A one-graph model; inputs map names to shapes (a str dimension is symbolic)."""
    graph = helper.make_graph(
        list(nodes), "test",
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, list(s)) for k, s in inputs.items()],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs or [nodes[-1].output[0]]],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def saved(tmp_path: Path, m: Any, name: str = "m.onnx") -> Path:
    path = tmp_path / name
    path.write_bytes(m.SerializeToString())
    return path


def lower_and_compare(tmp_path: Path, m: Any) -> Graph:
    graph = load_onnx(saved(tmp_path, m))
    assert_matches_ort(graph, m)
    return graph


def ops_of(graph: Graph) -> list[str]:
    return [n.op for n in graph.nodes]


def w(*shape: int, seed: int = 7, positive: bool = False) -> np.ndarray:
    a = np.random.default_rng(seed + sum(shape)).uniform(-1, 1, shape).astype(np.float32)
    return np.abs(a) + 0.5 if positive else a


def node(op: str, inputs: Sequence[str], out: str = "y", **attrs: Any) -> Any:
    return helper.make_node(op, list(inputs), [out], name=f"{op.lower()}_{out}", **attrs)


def ints(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


# ---- shared benchmarks and fixtures -------------------------------------------------------

@pytest.mark.parametrize("path", shared_nets("test") + shared_nets("mnistfc") + shared_nets("acasxu"))
def test_benchmark_net_matches_onnxruntime(path: Path) -> None:
    graph = load_onnx(path)
    assert_params_are_initializers(graph, path)
    assert_matches_ort(graph, onnx.load(str(path)))


@pytest.mark.parametrize("path", shared_nets("mnistfc") + shared_nets("acasxu"))
def test_exact_evaluator_is_the_reference_for_benchmark_nets(path: Path) -> None:
    assert_exact_agrees(load_onnx(path))


@pytest.mark.parametrize("name", ["test_nano", "test_tiny", "test_small"])
def test_fixture_nets_match_onnxruntime(name: str) -> None:
    path = FIXTURES / f"{name}.onnx"
    graph = load_onnx(path)
    assert_params_are_initializers(graph, path)
    assert_matches_ort(graph, onnx.load(str(path)))
    assert_exact_agrees(graph)
    assert digest(load_onnx(path)) == digest(graph)


def test_fixture_small_structure() -> None:
    graph = load_onnx(FIXTURES / "test_small.onnx")
    assert [(i.name, i.shape) for i in graph.inputs] == [("X_0", (1,))]
    assert [p.name for p in graph.params] == ["W0", "B0", "W1", "B1", "W2", "B2"]
    assert [(n.id, n.op, n.inputs) for n in graph.nodes[:3]] == [
        ("M0", "matmul", ("W0", "X_0")), ("H0", "add", ("M0", "B0")), ("R0", "relu", ("H0",))]
    assert graph.outputs == ("Y_0",)
    assert dict(graph.metadata) == {"source": "onnx", "onnx_opset": "14", "producer": ""}


def test_initializers_listed_as_inputs_are_parameters() -> None:
    path = SHARED / "acasxu" / "ACASXU_run2a_1_1_batch_2000.onnx"
    if not path.exists():
        pytest.skip(f"{path} is absent (no shared benchmarks)")
    graph = load_onnx(path)
    assert [(i.name, i.shape) for i in graph.inputs] == [("input", (1, 1, 1, 5))]
    assert graph.outputs == ("linear_7_Add",)
    assert ops_of(graph)[:4] == ["sub", "flatten", "matmul", "add"]


# ---- one model per supported op -----------------------------------------------------------

def test_elementwise_ops(tmp_path: Path) -> None:
    nodes = [
        node("Add", ["x", "b"], "a1"), node("Sub", ["c", "a1"], "a2"), node("Mul", ["a2", "m"], "a3"),
        node("Div", ["a3", "d"], "a4"), node("Neg", ["a4"], "a5"), node("LeakyRelu", ["a5"], "a6", alpha=0.2),
        node("Sigmoid", ["a6"], "a7"), node("Tanh", ["a7"], "a8"), node("Sub", ["a8", "x"], "a9"), node("Relu", ["a9"], "y"),
    ]
    m = model(nodes, {"x": [1, 4]}, {"b": w(4), "c": w(1, 4), "m": w(4, 1, seed=3)[:, :1].T[0][None], "d": w(4, positive=True)})
    graph = lower_and_compare(tmp_path, m)
    assert ops_of(graph) == ["add", "sub", "mul", "div", "neg", "leaky_relu", "sigmoid", "tanh", "sub", "relu"]
    assert graph.node("a6").attr["alpha"] == float(np.float32(0.2))


@pytest.mark.parametrize("case", ["act_param", "param_act", "act_act", "vector"])
def test_matmul(tmp_path: Path, case: str) -> None:
    inputs, order, inits = {
        "act_param": ({"x": [2, 3]}, ["x", "W"], {"W": w(3, 4)}),
        "param_act": ({"x": [3, 2]}, ["W", "x"], {"W": w(5, 3)}),
        "act_act": ({"x": [2, 3], "z": [3, 4]}, ["x", "z"], {}),
        "vector": ({"x": [3]}, ["x", "W"], {"W": w(2, 3, 4)}),
    }[case]
    graph = lower_and_compare(tmp_path, model([node("MatMul", order)], inputs, inits))
    assert ops_of(graph) == ["matmul"] and graph.node("y").inputs == tuple(order)


GEMM_CASES = {
    # id: (inputs, initializers, node inputs, attributes, expected IR ops)
    "linear_bias": ({"x": [2, 3]}, {"W": w(4, 3), "C": w(4)}, ["x", "W", "C"], {"transB": 1}, ["linear"]),
    "matmul_row_bias": ({"x": [2, 3]}, {"W": w(3, 4), "C": w(1, 4)}, ["x", "W", "C"], {}, ["matmul", "add"]),
    "transA_activation": ({"x": [3, 2]}, {"W": w(4, 3)}, ["x", "W"], {"transA": 1, "transB": 1}, ["transpose", "linear"]),
    "transA_parameter": ({"x": [3, 4]}, {"A": w(3, 2), "C": w(4)}, ["A", "x", "C"], {"transA": 1},
                         ["transpose", "matmul", "add"]),
    "parameter_times_transposed": ({"x": [4, 3]}, {"A": w(2, 3)}, ["A", "x"], {"transB": 1}, ["transpose", "matmul"]),
    "alpha_beta_activation_c": ({"x": [2, 3], "c": [2, 4]}, {"W": w(4, 3)}, ["x", "W", "c"],
                                {"alpha": 0.5, "beta": 2.0, "transB": 1}, ["mul", "linear", "mul", "add"]),
    "beta_constant_c": ({"x": [2, 3]}, {"W": w(4, 3), "C": w(4)}, ["x", "W", "C"], {"beta": 0.3, "transB": 1},
                        ["mul", "linear", "add"]),
    "alpha_linear_bias": ({"x": [2, 3]}, {"W": w(4, 3), "C": w(4)}, ["x", "W", "C"], {"alpha": 3.0, "transB": 1},
                          ["linear", "mul", "add"]),
    "activations_only": ({"x": [2, 3], "z": [4, 3]}, {}, ["x", "z"], {"transB": 1}, ["transpose", "matmul"]),
}


@pytest.mark.parametrize("case", sorted(GEMM_CASES))
def test_gemm(tmp_path: Path, case: str) -> None:
    inputs, inits, order, attrs, expected = GEMM_CASES[case]
    graph = lower_and_compare(tmp_path, model([node("Gemm", order, **attrs)], inputs, inits, opset=13))
    assert ops_of(graph) == expected
    assert graph.nodes[-1].id == "y"
    for name, value in inits.items():  # parameters are never transposed or scaled in place
        if name in graph.param_names:
            assert graph.param(name).data == value.tobytes()


CONV_CASES = {
    "groups_pads_strides_dilations": ({"group": 2, "pads": [1, 0, 2, 1], "strides": [2, 1], "dilations": [1, 2]}, 2, True),
    "same_upper": ({"auto_pad": "SAME_UPPER", "strides": [2, 2]}, 1, True),
    "same_lower": ({"auto_pad": "SAME_LOWER"}, 1, False),
    "valid": ({"auto_pad": "VALID", "strides": [2, 3]}, 1, False),
}


@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_conv(tmp_path: Path, case: str) -> None:
    attrs, groups, bias = CONV_CASES[case]
    kernel = (2, 2) if case == "same_lower" else (3, 3)
    inits = {"W": w(6, 4 // groups, *kernel)} | ({"B": w(6)} if bias else {})
    m = model([node("Conv", ["x", *inits], kernel_shape=list(kernel), **attrs)], {"x": ["N", 4, 7, 8]}, inits)
    graph = lower_and_compare(tmp_path, m)
    assert graph.inputs[0].shape == (1, 4, 7, 8)
    assert ops_of(graph) == ["conv2d"]


@settings(max_examples=30, deadline=None)
@given(
    k=st.tuples(st.integers(1, 3), st.integers(1, 3)), s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    d=st.tuples(st.integers(1, 2), st.integers(1, 2)), pads=st.tuples(*[st.integers(0, 2)] * 4),
    auto_pad=st.sampled_from(["NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"]), groups=st.sampled_from([1, 2]),
)
def test_conv_geometry_matches_onnxruntime(tmp_path_factory: Any, k: Any, s: Any, d: Any, pads: Any,
                                           auto_pad: str, groups: int) -> None:
    attrs = {"strides": list(s), "dilations": list(d), "group": groups, "auto_pad": auto_pad}
    if auto_pad == "NOTSET":
        attrs["pads"] = list(pads)
    inits = {"W": w(4, 4 // groups, *k)}
    m = model([node("Conv", ["x", "W"], **attrs)], {"x": [1, 4, 6, 7]}, inits)
    if auto_pad.startswith("SAME") and d != (1, 1):
        with pytest.raises(FrontendError, match="ambiguous across ONNX runtimes"):
            load_onnx(saved(tmp_path_factory.mktemp("conv"), m))
    else:
        lower_and_compare(tmp_path_factory.mktemp("conv"), m)


POOL_CASES = {
    "max_ceil_pads": ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 0, 1], "ceil_mode": 1}),
    "max_dilations": ("MaxPool", {"kernel_shape": [2, 3], "strides": [1, 2], "dilations": [2, 1]}),
    "max_same_upper": ("MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    "avg_ceil_exclude_pad": ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1}),
    "avg_include_pad": ("AveragePool", {"kernel_shape": [3, 2], "pads": [1, 0, 1, 1], "count_include_pad": 1}),
    "avg_same_lower": ("AveragePool", {"kernel_shape": [2, 2], "auto_pad": "SAME_LOWER"}),
}


@pytest.mark.parametrize("case", sorted(POOL_CASES))
def test_pool(tmp_path: Path, case: str) -> None:
    op, attrs = POOL_CASES[case]
    graph = lower_and_compare(tmp_path, model([node(op, ["x"], **attrs)], {"x": [1, 2, 7, 8]}, opset=12))
    assert ops_of(graph) == ["maxpool2d" if op == "MaxPool" else "avgpool2d"]


@settings(max_examples=30, deadline=None)
@given(
    op=st.sampled_from(["MaxPool", "AveragePool"]), k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    s=st.tuples(st.integers(1, 3), st.integers(1, 3)), pads=st.tuples(*[st.integers(0, 1)] * 4),
    ceil=st.booleans(), include=st.booleans(),
)
def test_pool_geometry_matches_onnxruntime(tmp_path_factory: Any, op: str, k: Any, s: Any, pads: Any,
                                           ceil: bool, include: bool) -> None:
    pads = [min(p, k[i % 2] - 1) for i, p in enumerate(pads)]  # ONNX: a pad must be smaller than the kernel
    attrs = {"kernel_shape": list(k), "strides": list(s), "pads": pads, "ceil_mode": int(ceil)}
    if op == "AveragePool":
        attrs["count_include_pad"] = int(include)
    lower_and_compare(tmp_path_factory.mktemp("pool"), model([node(op, ["x"], **attrs)], {"x": [1, 2, 6, 7]}, opset=12))


@pytest.mark.parametrize("opset", [9, 15])
def test_batchnorm(tmp_path: Path, opset: int) -> None:
    inits = {"s": w(3), "b": w(3, seed=2), "mean": w(3, seed=4), "var": w(3, positive=True)}
    graph = lower_and_compare(tmp_path, model([node("BatchNormalization", ["x", *inits], epsilon=1e-3)],
                                              {"x": [1, 3, 4, 5]}, inits, opset=opset))
    assert ops_of(graph) == ["batchnorm"] and graph.node("y").attr["epsilon"] == float(np.float32(1e-3))


@pytest.mark.parametrize("axis", [0, 2, -1, 3])
def test_flatten(tmp_path: Path, axis: int) -> None:
    graph = lower_and_compare(tmp_path, model([node("Flatten", ["x"], axis=axis)], {"x": [2, 3, 4]}, opset=13))
    assert graph.node("y").attr["axis"] == (axis + 3 if axis < 0 else axis)


@pytest.mark.parametrize(("target", "expected", "opset"), [((0, -1), (2, 12), 13), ((4, 0, -1), (4, 3, 2), 14),
                                                             ((-1,), (24,), 9)])
def test_reshape(tmp_path: Path, target: tuple[int, ...], expected: tuple[int, ...], opset: int) -> None:
    graph = lower_and_compare(tmp_path, model([node("Reshape", ["x", "shape"])], {"x": [2, 3, 4]},
                                              {"shape": ints(*target)}, opset=opset))
    assert graph.node("y").attr["shape"] == expected and "shape" not in graph.param_names


def test_resolve_reshape_rules() -> None:
    assert resolve_reshape((2, 3, 4), (0, 0, -1)) == (2, 3, 4)
    for bad in [(5, -1), (-1, -1), (2, -2), (0, 0, 0, 0)]:
        with pytest.raises(ValueError):
            resolve_reshape((2, 3, 4), bad)
    with pytest.raises(ValueError, match="allowzero"):
        resolve_reshape((2, 3, 4), (0, 12), allowzero=True)


@pytest.mark.parametrize("perm", [None, [2, 0, 1]])
def test_transpose(tmp_path: Path, perm: list[int] | None) -> None:
    attrs = {} if perm is None else {"perm": perm}
    graph = lower_and_compare(tmp_path, model([node("Transpose", ["x"], **attrs)], {"x": [2, 3, 4]}))
    assert graph.node("y").attr["perm"] == tuple(perm or (2, 1, 0))


def test_concat(tmp_path: Path) -> None:
    nodes = [node("Concat", ["x", "P"], "c", axis=-1), node("Concat", ["c", "c"], "y", axis=0)]
    graph = lower_and_compare(tmp_path, model(nodes, {"x": [2, 3]}, {"P": w(2, 2)}))
    assert [n.attr["axis"] for n in graph.nodes] == [1, 0]


def test_slice_attributes_before_opset_10(tmp_path: Path) -> None:
    m = model([node("Slice", ["x"], starts=[1, -3], ends=[1000, -1], axes=[1, -1])], {"x": [2, 4, 5]}, opset=9)
    graph = lower_and_compare(tmp_path, m)
    assert graph.node("y").attr["ends"] == (4, -1) and graph.node("y").attr["axes"] == (1, 2)


def test_slice_inputs_from_opset_10(tmp_path: Path) -> None:
    inits = {"starts": ints(-1, 0), "ends": ints(-INT64_MAX, INT64_MAX), "axes": ints(2, 1), "steps": ints(-2, 2)}
    graph = lower_and_compare(tmp_path, model([node("Slice", ["x", *inits])], {"x": [2, 4, 5]}, inits, opset=13))
    assert graph.node("y").attr["ends"] == (-6, 4) and graph.params == ()


def test_slice_axes_and_steps_default(tmp_path: Path) -> None:
    inits = {"starts": ints(1), "ends": ints(2)}
    lower_and_compare(tmp_path, model([node("Slice", ["x", *inits])], {"x": [3, 4]}, inits, opset=11))


PAD_CASES = {
    "attrs_reflect": (10, {"mode": "reflect", "pads": [0, 1, 2, 0, 2, 1]}, {}),
    "inputs_constant_value": (13, {}, {"pads": ints(0, 1, 0, 0, 2, 1), "value": np.array(0.5, dtype=np.float32)}),
    "axes_edge": (18, {"mode": "edge"}, {"pads": ints(1, 2, 0, 1), "": None, "axes": ints(-1, 1)}),
    "negative_crops": (13, {}, {"pads": ints(0, -1, 1, 0, 2, -2)}),
}


@pytest.mark.parametrize("case", sorted(PAD_CASES))
def test_pad(tmp_path: Path, case: str) -> None:
    opset, attrs, operands = PAD_CASES[case]
    inits = {k: v for k, v in operands.items() if k}
    graph = lower_and_compare(tmp_path, model([node("Pad", ["x", *operands], **attrs)], {"x": [2, 3, 4]}, inits, opset=opset))
    assert ops_of(graph) == (["slice", "pad"] if case == "negative_crops" else ["pad"]) and graph.params == ()


@pytest.mark.parametrize("opset", [11, 13])
def test_squeeze_unsqueeze(tmp_path: Path, opset: int) -> None:
    def axes(op: str, name: str, values: list[int], inp: str, out: str) -> tuple[Any, dict[str, np.ndarray]]:
        if opset < 13:
            return node(op, [inp], out, axes=values), {}
        return node(op, [inp, name], out), {name: ints(*values)}

    (sq, i1), (un, i2) = axes("Squeeze", "a1", [2], "x", "s"), axes("Unsqueeze", "a2", [0, -1], "s", "u")
    nodes = [sq, un, node("Squeeze", ["u"], "y")]
    graph = lower_and_compare(tmp_path, model(nodes, {"x": [1, 3, 1, 4]}, i1 | i2, opset=opset))
    assert [n.attr["shape"] for n in graph.nodes] == [(1, 3, 4), (1, 1, 3, 4, 1), (3, 4)]


def test_constants_become_parameters_or_static_shapes(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(w(2, 6))),
        helper.make_node("Constant", [], ["two"], value_float=2.0),
        helper.make_node("Constant", [], ["shape"], value_ints=[2, 6]),
        node("Reshape", ["x", "shape"], "r"), node("Add", ["r", "k"], "a"), node("Mul", ["a", "two"], "y"),
    ]
    graph = lower_and_compare(tmp_path, model(nodes, {"x": [3, 4]}))
    assert [p.name for p in graph.params] == ["k", "two"] and graph.param("two").shape == ()
    assert graph.param("k").data == w(2, 6).tobytes()


def test_identity_is_an_alias(tmp_path: Path) -> None:
    nodes = [node("Identity", ["x"], "i1"), node("Identity", ["W"], "wi"), node("MatMul", ["i1", "wi"], "h"),
             node("Relu", ["h"], "r"), node("Identity", ["r"], "out")]
    graph = lower_and_compare(tmp_path, model(nodes, {"x": [1, 3]}, {"W": w(3, 2)}))
    assert ops_of(graph) == ["matmul", "relu"] and graph.outputs == ("r",)
    assert graph.node("h").inputs == ("x", "W") and graph.param_names == {"W"}


@pytest.mark.parametrize(("opset", "axis", "expected"), [
    (11, 1, ["flatten", "softmax", "reshape"]), (11, None, ["flatten", "softmax", "reshape"]),
    (11, -1, ["softmax"]), (13, 1, ["softmax"]), (13, None, ["softmax"]),
])
def test_softmax(tmp_path: Path, opset: int, axis: int | None, expected: list[str]) -> None:
    attrs = {} if axis is None else {"axis": axis}
    graph = lower_and_compare(tmp_path, model([node("Softmax", ["x"], **attrs)], {"x": [2, 3, 4]}, opset=opset))
    assert ops_of(graph) == expected and graph.nodes[-1].id == "y"


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(tmp_path: Path, approximate: str) -> None:
    graph = lower_and_compare(tmp_path, model([node("Gelu", ["x"], approximate=approximate)], {"x": [2, 5]}, opset=20))
    assert graph.node("y").attr["approximate"] == approximate


@pytest.mark.parametrize(("axis", "bias"), [(-1, True), (1, False)])
def test_layernorm(tmp_path: Path, axis: int, bias: bool) -> None:
    normalized = (4,) if axis == -1 else (3, 4)
    inits = {"scale": w(*normalized)} | ({"bias": w(*normalized, seed=5)} if bias else {})
    m = model([node("LayerNormalization", ["x", *inits], axis=axis, epsilon=1e-4)], {"x": [2, 3, 4]}, inits)
    graph = lower_and_compare(tmp_path, m)
    assert graph.node("y").attr["axis"] == axis % 3


def test_dead_nodes_are_skipped(tmp_path: Path) -> None:
    nodes = [node("Cos", ["x"], "unused"), node("Relu", ["x"], "y")]
    graph = lower_and_compare(tmp_path, model(nodes, {"x": [2]}))
    assert ops_of(graph) == ["relu"]


# ---- input conversions ----------------------------------------------------------------------

def test_float64_and_float16_initializers_convert_only_exactly(tmp_path: Path) -> None:
    exact64, half = np.array([0.5, -3.25, 1e-3], dtype=np.float32).astype(np.float64), np.array([1.5, -2, 0.1], np.float16)
    m = model([node("Add", ["x", "a"], "s"), node("Mul", ["s", "h"], "y")], {"x": [3]}, {"a": exact64, "h": half})
    graph = load_onnx(saved(tmp_path, m))
    assert graph.param("a").data == exact64.astype(np.float32).tobytes()
    assert graph.param("h").data == half.astype(np.float32).tobytes()
    bad = model([node("Add", ["x", "a"])], {"x": [3]}, {"a": np.array([0.5, 0.1, 2.0])})
    with pytest.raises(FrontendError, match=r"constant 'a'.*0\.1.*index \[1\].*not exactly a float32"):
        load_onnx(saved(tmp_path, bad, "bad.onnx"))


def test_non_finite_initializer_is_refused(tmp_path: Path) -> None:
    m = model([node("Add", ["x", "a"])], {"x": [2]}, {"a": np.array([1.0, np.inf], np.float32)})
    with pytest.raises(FrontendError, match=r"constant 'a'.*inf at index \[1\] is not finite"):
        load_onnx(saved(tmp_path, m))


def test_symbolic_batch_becomes_one_and_other_symbols_fail(tmp_path: Path) -> None:
    graph = load_onnx(saved(tmp_path, model([node("Relu", ["x"])], {"x": ["batch", 3]})))
    assert graph.inputs[0].shape == (1, 3)
    with pytest.raises(FrontendError, match=r"input 'x': dimension 1 is 'width'"):
        load_onnx(saved(tmp_path, model([node("Relu", ["x"])], {"x": [1, "width"]}), "sym.onnx"))


# ---- errors ---------------------------------------------------------------------------------

def test_unsupported_op_names_op_node_and_file(tmp_path: Path) -> None:
    nodes = [node("Relu", ["x"], "r"), helper.make_node("Cos", ["r"], ["y"], name="mystery")]
    path = saved(tmp_path, model(nodes, {"x": [2]}))
    with pytest.raises(FrontendError) as err:
        load_onnx(path)
    assert str(err.value).startswith(f"{path}: node 'mystery' (index 1): unsupported ONNX op 'Cos' (supported: ")
    assert "Gemm" in str(err.value)


def test_op_of_another_domain_is_unsupported(tmp_path: Path) -> None:
    m = model([helper.make_node("Gelu", ["x"], ["y"], domain="com.microsoft")], {"x": [2]})
    m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    with pytest.raises(FrontendError, match=r"node 'y' \(index 0\): unsupported ONNX op 'com.microsoft.Gelu'"):
        load_onnx(saved(tmp_path, m))


def test_dynamic_reshape_names_node_and_input(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [node("Reshape", ["x", "target"])], "dyn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
         helper.make_tensor_value_info("target", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)
    with pytest.raises(FrontendError, match=r"node 'reshape_y' \(index 0\): input 1 \(shape\) 'target' is a graph input"):
        load_onnx(saved(tmp_path, m))


def test_shape_computed_at_run_time_is_refused(tmp_path: Path) -> None:
    m = model([node("Relu", ["x"], "r"), node("Reshape", ["x", "r"])], {"x": [2]}, opset=13)
    with pytest.raises(FrontendError, match=r"input 1 \(shape\) 'r' is computed at run time"):
        load_onnx(saved(tmp_path, m))


@pytest.mark.parametrize("content", [b"\x08\xff\xff\xff\xff garbage \x00\x01", b"", "truncated"])
def test_corrupt_file(tmp_path: Path, content: Any) -> None:
    data = (FIXTURES / "test_small.onnx").read_bytes()[:150] if content == "truncated" else content
    path = tmp_path / "corrupt.onnx"
    path.write_bytes(data)
    with pytest.raises(FrontendError, match=r"corrupt\.onnx: .*(not a readable ONNX model|opset)"):
        load_onnx(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FrontendError, match="no such ONNX file"):
        load_onnx(tmp_path / "absent.onnx")


def test_output_that_is_a_graph_input(tmp_path: Path) -> None:
    m = model([node("Identity", ["x"], "y")], {"x": [2]})
    with pytest.raises(FrontendError, match=r"graph output 'y' is the graph input 'x'"):
        load_onnx(saved(tmp_path, m))


def test_constant_subexpressions_run_per_sample(tmp_path: Path) -> None:
    m = model([node("Add", ["a", "b"], "c"), node("Add", ["x", "c"])], {"x": [2]}, {"a": w(2), "b": w(2, seed=1)})
    graph = lower_and_compare(tmp_path, m)
    assert graph.node("c").inputs == ("a", "b")


def test_unknown_attribute_is_refused(tmp_path: Path) -> None:
    m = model([node("Conv", ["x", "W"], kernel_shape=[1, 1], mystery=1)], {"x": [1, 1, 2, 2]}, {"W": w(1, 1, 1, 1)})
    with pytest.raises(FrontendError, match=r"node 'conv_y' \(index 0\): Conv attribute 'mystery' is not understood"):
        load_onnx(saved(tmp_path, m))


def test_unsupported_opset(tmp_path: Path) -> None:
    with pytest.raises(FrontendError, match="opset 6 is not supported"):
        load_onnx(saved(tmp_path, model([node("Relu", ["x"])], {"x": [2]}, opset=6)))


def test_second_output_in_use_is_refused(tmp_path: Path) -> None:
    pool = helper.make_node("MaxPool", ["x"], ["p", "idx"], name="pool", kernel_shape=[2, 2])
    m = model([pool, node("Cast", ["idx"], "y", to=TensorProto.FLOAT)], {"x": [1, 1, 4, 4]}, outputs=["p", "y"])
    with pytest.raises(FrontendError, match=r"node 'pool' \(index 0\): MaxPool output 1 \('idx'\) is used"):
        load_onnx(saved(tmp_path, m))


@pytest.mark.parametrize(("op", "inputs", "allowed"), [("Conv", ["x"], "2 to 3"), ("Softmax", [], "1"),
                                                       ("Relu", ["x", "x"], "1"), ("Gemm", ["x", ""], "2 to 3")])
def test_a_node_with_the_wrong_number_of_inputs_is_named(tmp_path: Path, op: str, inputs: list[str], allowed: str) -> None:
    """Found by fuzzing (a Conv or Softmax without its operand was an IndexError): the schema's arity is checked first."""
    path = saved(tmp_path, model([node(op, inputs)], {"x": [1, 1, 4, 4]}))
    with pytest.raises(FrontendError, match=f"node '{op.lower()}_y' \\(index 0\\): {op} takes {allowed} input"):
        load_onnx(path)
