"""Dense ops (linear, matmul, conv2d, maxpool2d, avgpool2d, batchnorm) against independent references.

Float32 kernels run through `runtime.execute` on one-node graphs with a batch of B > 1 samples and
are compared with onnxruntime's ONNX op at rtol 1e-5, atol 1e-5 (summation order differs, so bit
equality is not expected; max pooling picks an input, so it must match exactly). Exact kernels run
through `runtime.evaluate_exact` and must give Fractions within 1e-9 of a float64 NumPy
computation written here independently (naive loops over output positions).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Mapping

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from pytorch2lean.errors import GraphError, ShapeError, UserError
from pytorch2lean.ir.graph import Graph, Input, Param
from pytorch2lean.ir.validate import make_node, validate
from pytorch2lean.runtime import evaluate_exact, execute
from tests.onnx_reference import run_onnx_op

RTOL = ATOL = 1e-5  # float32 kernel vs onnxruntime
EXACT_TOL = 1e-9  # exact result vs float64 NumPy
B = 3  # samples per batch

Operand = tuple[int, ...] | np.ndarray  # a shape is an activation input, an array a parameter
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def one_node(op: str, operands: Mapping[str, Operand], attrs: Mapping[str, Any] | None = None) -> Graph:
    """A validated graph of a single node `n`: shapes become inputs, arrays bound parameters."""
    inputs = tuple(Input(k, v) for k, v in operands.items() if isinstance(v, tuple))
    params = tuple(Param.of_array(k, v) for k, v in operands.items() if isinstance(v, np.ndarray))
    node = make_node("n", op, list(operands), attrs)
    return validate(Graph("g", inputs, params, (node,), ("n",)))


def batch_for(graph: Graph, seed: int = 1) -> dict[str, np.ndarray]:
    r = rng(seed)
    return {i.name: r.standard_normal((B,) + i.shape).astype(np.float32) for i in graph.inputs}


def run_f32(graph: Graph, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    out = np.asarray(execute(graph, inputs)["n"])
    assert out.dtype == np.float32  # kernels never widen
    return out


def run_exact(graph: Graph, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    out = evaluate_exact(graph, inputs)["n"]
    assert out.dtype == object and all(type(v) is Fraction for v in out.flat)
    return out.astype(np.float64)


def f64(operands: Mapping[str, Operand], inputs: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    """The float64 value of an operand as the runtime sees it: batch axis first (size 1 for params)."""
    v = operands[name]
    return inputs[name].astype(np.float64) if isinstance(v, tuple) else v.astype(np.float64)[None]


def check_exact(graph: Graph, inputs: Mapping[str, np.ndarray], reference: np.ndarray) -> None:
    """Exact result: Fractions, within 1e-9 of float64 and within float32 tolerance of `execute`."""
    exact = run_exact(graph, inputs)
    np.testing.assert_allclose(exact, reference, rtol=EXACT_TOL, atol=EXACT_TOL)
    np.testing.assert_allclose(run_f32(graph, inputs), exact, rtol=RTOL, atol=ATOL)


def per_sample_onnx(op: str, operands: Mapping[str, Operand], inputs: Mapping[str, np.ndarray], attrs: Mapping[str, Any]) -> np.ndarray:
    """The ONNX op applied to each sample separately: the semantics the batch axis must have."""
    def sample(b: int) -> list[np.ndarray]:
        return [inputs[k][b] if isinstance(v, tuple) else v for k, v in operands.items()]

    return np.stack([run_onnx_op(op, sample(b), attrs) for b in range(B)])


# ---- linear ---------------------------------------------------------------------------------

@pytest.mark.parametrize("lead", [(), (1,), (2, 3)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_matches_onnx_gemm(lead: tuple[int, ...], with_bias: bool) -> None:
    r = rng(len(lead))
    w = r.standard_normal((5, 7)).astype(np.float32)
    operands: dict[str, Operand] = {"x": lead + (7,), "w": w}
    if with_bias:
        operands["b"] = r.standard_normal(5).astype(np.float32)
    g = one_node("linear", operands)
    inputs = batch_for(g)
    onnx_inits = {"w": w, "b": operands["b"]} if with_bias else {"w": w}
    want = run_onnx_op("Gemm", [inputs["x"].reshape(-1, 7)], {"transB": 1}, onnx_inits).reshape((B,) + lead + (5,))
    got = run_f32(g, inputs)
    assert got.shape == (B,) + lead + (5,)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    ref = f64(operands, inputs, "x") @ w.astype(np.float64).T + (operands["b"] if with_bias else 0)
    check_exact(g, inputs, ref)


# ---- matmul ---------------------------------------------------------------------------------

MATMUL_CASES = [  # (a, b): a shape is an activation, an array shape in a list a parameter
    ((4,), [4, 3]),
    ((2, 4), [4]),
    ((5, 2, 4), [4, 3]),
    ([2, 4], (4,)),  # ONNX MatMul(W, X) with X of shape (k,)
    ([2, 4], (4, 3)),
    ((4,), (4,)),
    ([4], (5, 4, 3)),
    ((2, 1, 3, 4), [5, 4, 2]),
    ((2, 3, 4), (2, 4, 5)),
    ((1, 3, 4), (2, 4, 5)),
]


def matmul_operands(a: Any, b: Any, seed: int = 0) -> dict[str, Operand]:
    r = rng(seed)

    def operand(spec: Any) -> Operand:
        return r.standard_normal(spec).astype(np.float32) if isinstance(spec, list) else spec

    return {"a": operand(a), "b": operand(b)}


@pytest.mark.parametrize(("a", "b"), MATMUL_CASES)
def test_matmul_matches_onnx_per_sample(a: Any, b: Any) -> None:
    operands = matmul_operands(a, b)
    g = one_node("matmul", operands)
    inputs = batch_for(g)
    want = per_sample_onnx("MatMul", operands, inputs, {})
    got = run_f32(g, inputs)
    assert got.shape == want.shape == (B,) + g.node("n").shape
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(("a", "b"), MATMUL_CASES)
def test_matmul_exact(a: Any, b: Any) -> None:
    operands = matmul_operands(a, b, seed=3)
    g = one_node("matmul", operands)
    inputs = batch_for(g)
    xa, xb = f64(operands, inputs, "a"), f64(operands, inputs, "b")
    reference = np.stack([np.matmul(xa[k % len(xa)], xb[k % len(xb)]) for k in range(B)])
    check_exact(g, inputs, reference)


# ---- conv2d ---------------------------------------------------------------------------------

@st.composite
def conv_cases(draw: st.DrawFn) -> dict[str, Any]:
    groups = draw(st.integers(1, 3))
    kernel = [draw(st.integers(1, 3)) for _ in range(2)]
    dilation = [draw(st.integers(1, 2)) for _ in range(2)]
    padding = [draw(st.integers(0, 2)) for _ in range(4)]
    extent = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    hw = [draw(st.integers(max(1, extent[a] - padding[a] - padding[a + 2]), 7)) for a in range(2)]
    return {
        "lead": draw(st.sampled_from([(), (2,)])),
        "channels": groups * draw(st.integers(1, 2)),
        "out": groups * draw(st.integers(1, 2)),
        "hw": tuple(hw),
        "attrs": {"stride": [draw(st.integers(1, 3)) for _ in range(2)], "padding": padding,
                  "dilation": dilation, "groups": groups},
        "kernel": tuple(kernel),
        "bias": draw(st.booleans()),
    }


def conv_setup(case: Mapping[str, Any], seed: int = 0) -> tuple[Graph, dict[str, Operand], dict[str, np.ndarray]]:
    r = rng(seed)
    c, o, g = case["channels"], case["out"], case["attrs"]["groups"]
    operands: dict[str, Operand] = {
        "x": case["lead"] + (c,) + case["hw"],
        "w": r.standard_normal((o, c // g) + case["kernel"]).astype(np.float32),
    }
    if case["bias"]:
        operands["b"] = r.standard_normal(o).astype(np.float32)
    graph = one_node("conv2d", operands, case["attrs"])
    return graph, operands, batch_for(graph, seed + 1)


def onnx_conv_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    return {"strides": attrs["stride"], "pads": attrs["padding"], "dilations": attrs["dilation"], "group": attrs["groups"]}


@SETTINGS
@given(conv_cases())
def test_conv2d_matches_onnx(case: dict[str, Any]) -> None:
    g, operands, inputs = conv_setup(case)
    x = inputs["x"]
    inits = {k: v for k, v in operands.items() if k != "x"}
    want = run_onnx_op("Conv", [x.reshape((-1,) + x.shape[-3:])], onnx_conv_attrs(case["attrs"]), inits)
    got = run_f32(g, inputs)
    assert got.shape == (B,) + g.node("n").shape
    np.testing.assert_allclose(got, want.reshape(got.shape), rtol=RTOL, atol=ATOL)


def conv_reference(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, attrs: Mapping[str, Any]) -> np.ndarray:
    """Naive float64 convolution of x (..., C, H, W), one output position at a time."""
    (sh, sw), (t, l, bo, r), (dh, dw), g = attrs["stride"], attrs["padding"], attrs["dilation"], attrs["groups"]
    xp = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(t, bo), (l, r)])
    o, cg, kh, kw = w.shape
    ho, wo = (xp.shape[-2] - dh * (kh - 1) - 1) // sh + 1, (xp.shape[-1] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros(x.shape[:-3] + (o, ho, wo))
    for oc in range(o):
        grp = oc // (o // g)
        chans = xp[..., grp * cg:(grp + 1) * cg, :, :]
        for i in range(ho):
            for j in range(wo):
                patch = chans[..., i * sh:i * sh + dh * (kh - 1) + 1:dh, j * sw:j * sw + dw * (kw - 1) + 1:dw]
                out[..., oc, i, j] = (patch * w[oc]).sum(axis=(-3, -2, -1)) + (0 if b is None else b[oc])
    return out


@settings(max_examples=12, deadline=None)
@given(conv_cases())
def test_conv2d_exact(case: dict[str, Any]) -> None:
    g, operands, inputs = conv_setup(case, seed=5)
    bias = operands.get("b")
    w = operands["w"].astype(np.float64)
    ref = conv_reference(inputs["x"].astype(np.float64), w, None if bias is None else bias.astype(np.float64), case["attrs"])
    check_exact(g, inputs, ref)


def test_conv2d_cifar_size_runs() -> None:
    """A CIFAR-sized layer (batch 16, 3x32x32 -> 16x32x32) in float32 agrees with onnxruntime."""
    case = {"lead": (), "channels": 3, "out": 16, "hw": (32, 32), "kernel": (3, 3), "bias": True,
            "attrs": {"stride": [1, 1], "padding": [1, 1, 1, 1], "dilation": [1, 1], "groups": 1}}
    g, operands, _ = conv_setup(case)
    x = rng(9).standard_normal((16, 3, 32, 32)).astype(np.float32)
    want = run_onnx_op("Conv", [x], onnx_conv_attrs(case["attrs"]), {"w": operands["w"], "b": operands["b"]})
    np.testing.assert_allclose(run_f32(g, {"x": x}), want, rtol=RTOL, atol=ATOL)


# ---- pooling --------------------------------------------------------------------------------

@st.composite
def pool_cases(draw: st.DrawFn, dilated: bool, pad_below_kernel: bool = True) -> dict[str, Any]:
    """Pooling windows; onnxruntime refuses a padding as large as the kernel, our rule does not."""
    kernel = [draw(st.integers(1, 3)) for _ in range(2)]
    padding = [draw(st.integers(0, k - 1 if pad_below_kernel else k)) for k in kernel + kernel]
    attrs: dict[str, Any] = {"kernel": kernel, "stride": [draw(st.integers(1, 3)) for _ in range(2)],
                             "padding": padding, "ceil_mode": draw(st.booleans())}
    if dilated:
        attrs["dilation"] = [draw(st.integers(1, 2)) for _ in range(2)]
    else:
        attrs["count_include_pad"] = draw(st.booleans())
    return {"x": draw(st.sampled_from([(), (2,)])) + (2, draw(st.integers(1, 7)), draw(st.integers(1, 7))), "attrs": attrs}


def pool_graph(op: str, case: Mapping[str, Any]) -> Graph:
    """The pooling graph, or a rejected example when the shape rule refuses the window."""
    try:
        return one_node(op, {"x": case["x"]}, case["attrs"])
    except ShapeError as e:
        assume(False)
        raise AssertionError("unreachable") from e


def onnx_pool_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    out = {"kernel_shape": attrs["kernel"], "strides": attrs["stride"], "pads": attrs["padding"], "ceil_mode": int(attrs["ceil_mode"])}
    if "dilation" in attrs:
        out["dilations"] = attrs["dilation"]
    if "count_include_pad" in attrs:
        out["count_include_pad"] = int(attrs["count_include_pad"])
    return out


def check_pool_vs_onnx(op: str, onnx_op: str, case: Mapping[str, Any], tol: float) -> None:
    g = pool_graph(op, case)
    inputs = batch_for(g)
    x = inputs["x"]
    want = run_onnx_op(onnx_op, [x.reshape((-1,) + x.shape[-3:])], onnx_pool_attrs(case["attrs"]))
    got = run_f32(g, inputs)
    assert got.shape == (B,) + g.node("n").shape
    np.testing.assert_allclose(got, want.reshape(got.shape), rtol=tol, atol=tol)


@SETTINGS
@given(pool_cases(dilated=True))
def test_maxpool2d_matches_onnx_exactly(case: dict[str, Any]) -> None:
    check_pool_vs_onnx("maxpool2d", "MaxPool", case, tol=0.0)


CEIL_PAST_PADDING = {  # the last window reads past the stated padding: those cells never count
    "x": (1, 5, 5),
    "attrs": {"kernel": [3, 3], "stride": [2, 2], "padding": [0, 0, 1, 1], "ceil_mode": True, "count_include_pad": True},
}


@SETTINGS
@given(pool_cases(dilated=False))
@example(CEIL_PAST_PADDING)
def test_avgpool2d_matches_onnx(case: dict[str, Any]) -> None:
    check_pool_vs_onnx("avgpool2d", "AveragePool", case, tol=RTOL)


def pool_reference(x: np.ndarray, attrs: Mapping[str, Any], mode: str) -> np.ndarray:
    """Naive float64 pooling (PyTorch's output-size formula); NaN marks cells outside the input."""
    (kh, kw), (sh, sw), (t, l, bo, r) = attrs["kernel"], attrs["stride"], attrs["padding"]
    dh, dw = attrs.get("dilation", (1, 1))
    h, w = x.shape[-2:]

    def size(n: int, k: int, s: int, d: int, begin: int, end: int) -> int:
        out = (n + begin + end - d * (k - 1) - 1 + (s - 1 if attrs["ceil_mode"] else 0)) // s + 1
        return out - 1 if attrs["ceil_mode"] and (out - 1) * s >= n + begin else out

    ho, wo = size(h, kh, sh, dh, t, bo), size(w, kw, sw, dw, l, r)
    big = np.full(x.shape[:-2] + (t + h + bo + 3 * kh * dh, l + w + r + 3 * kw * dw), np.nan)
    big[..., t:t + h, l:l + w] = x
    inside_pad = np.zeros(big.shape[-2:], dtype=bool)
    inside_pad[:t + h + bo, :l + w + r] = True
    out = np.zeros(x.shape[:-2] + (ho, wo))
    for i in range(ho):
        for j in range(wo):
            rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
            cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
            cells = big[..., rows, cols]
            if mode == "max":
                out[..., i, j] = np.nanmax(cells, axis=(-2, -1))
            else:
                count = inside_pad[rows, cols].sum() if attrs["count_include_pad"] else (~np.isnan(cells[(0,) * (x.ndim - 2)])).sum()
                out[..., i, j] = np.nansum(cells, axis=(-2, -1)) / count
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.sampled_from(["maxpool2d", "avgpool2d"]), st.data())
def test_pool_exact(op: str, data: st.DataObject) -> None:
    case = data.draw(pool_cases(dilated=op == "maxpool2d", pad_below_kernel=False))
    check_pool_exact(op, case)


def test_avgpool_exact_ceil_past_padding() -> None:
    check_pool_exact("avgpool2d", CEIL_PAST_PADDING)


def check_pool_exact(op: str, case: Mapping[str, Any]) -> None:
    g = pool_graph(op, case)
    inputs = batch_for(g)
    check_exact(g, inputs, pool_reference(inputs["x"].astype(np.float64), case["attrs"], op[:3]))


def test_maxpool_padding_never_wins() -> None:
    """All-negative inputs: a zero-valued padding cell must not become the maximum."""
    g = one_node("maxpool2d", {"x": (1, 3, 3)}, {"kernel": [3, 3], "stride": [1, 1], "padding": [1, 1, 1, 1]})
    x = -1 - np.arange(B * 9, dtype=np.float32).reshape(B, 1, 3, 3)
    got = run_f32(g, {"x": x})
    assert (got < 0).all()
    assert got[0, 0, 0, 0] == -1 and got[0, 0, 2, 2] == -5


def test_avgpool_divides_by_exact_count() -> None:
    """A corner window sees 4 real cells of 9: the exact mean of 1,1,1,2 is 5/4, not 5/9."""
    g = one_node("avgpool2d", {"x": (1, 2, 2)}, {"kernel": [3, 3], "stride": [1, 1], "padding": [1, 1, 1, 1]})
    x = np.array([[[[1, 1], [1, 2]]]] * B, dtype=np.float32)
    assert evaluate_exact(g, {"x": x})["n"][0, 0, 0, 0] == Fraction(5, 4)
    g_pad = one_node("avgpool2d", {"x": (1, 2, 2)}, {"kernel": [3, 3], "stride": [1, 1], "padding": [1, 1, 1, 1], "count_include_pad": True})
    assert evaluate_exact(g_pad, {"x": x})["n"][0, 0, 0, 0] == Fraction(5, 9)


# ---- batchnorm ------------------------------------------------------------------------------

@pytest.mark.parametrize(("shape", "axis"), [((4, 5, 5), 0), ((1, 4, 3, 3), 1), ((4,), 0), ((2, 4, 6), -2), ((3, 4), 1)])
@pytest.mark.parametrize("epsilon", [1e-5, 0.1])
def test_batchnorm_matches_onnx(shape: tuple[int, ...], axis: int, epsilon: float) -> None:
    r = rng(2)
    c = shape[axis]
    stats = {"scale": r.standard_normal(c), "bias": r.standard_normal(c), "mean": r.standard_normal(c), "var": r.uniform(0.1, 2.0, c)}
    stats32 = {k: v.astype(np.float32) for k, v in stats.items()}
    g = one_node("batchnorm", {"x": shape, **stats32}, {"epsilon": epsilon, "axis": axis})
    inputs = batch_for(g)
    a = axis % len(shape)
    as3d = inputs["x"].reshape((B * math.prod(shape[:a]), c, math.prod(shape[a + 1:])))
    want = run_onnx_op("BatchNormalization", [as3d], {"epsilon": epsilon}, stats32).reshape((B,) + shape)
    np.testing.assert_allclose(run_f32(g, inputs), want, rtol=RTOL, atol=ATOL)


def test_batchnorm_has_no_exact_meaning() -> None:
    stats = {k: np.ones(2, dtype=np.float32) for k in ("s", "b", "m", "v")}
    g = one_node("batchnorm", {"x": (2, 3), **stats}, {"axis": 0})
    with pytest.raises(UserError, match="no exact rational meaning"):
        evaluate_exact(g, batch_for(g))


# ---- shape rules ----------------------------------------------------------------------------

def zeros(*shape: int) -> np.ndarray:
    """A parameter value of `shape` (the shape rules look at shapes only)."""
    return np.zeros(shape, dtype=np.float32)


CONV = {"x": (4, 5, 5), "w": zeros(2, 4, 3, 3)}
BAD_SHAPES = [
    ("conv2d", {"x": (4, 5, 5), "w": zeros(2, 3, 3, 3)}, {}, "weight has 3 input channels per group, x has 4"),
    ("conv2d", {"x": (4, 5, 5), "w": zeros(2, 3, 3, 3)}, {"groups": 2}, "weight has 3 input channels per group, x has 2"),
    ("conv2d", {**CONV, "b": zeros(3)}, {}, "bias must have shape [2]"),
    ("conv2d", {"x": (4, 2, 5), "w": zeros(2, 4, 3, 3)}, {}, "along height the kernel spans 3 cells"),
    ("conv2d", {"x": (4, 5, 5), "w": zeros(2, 4, 3, 3)}, {"dilation": [1, 3]}, "along width the kernel spans 7 cells"),
    ("conv2d", {"x": (4, 5, 5), "w": zeros(2, 4, 3, 3)}, {"groups": 3}, "groups 3 must divide the 4 input channels"),
    ("conv2d", {"x": (4, 5, 5), "w": zeros(3, 2, 3, 3)}, {"groups": 2}, "and the 3 output channels"),
    ("conv2d", CONV, {"stride": [1, 1, 1]}, "'stride' must list 2 integers, got [1, 1, 1]"),
    ("conv2d", CONV, {"stride": [0, 1]}, "'stride' must have entries >= 1, got [0, 1]"),
    ("conv2d", CONV, {"padding": [1, 1]}, "'padding' must list 4 integers"),
    ("conv2d", CONV, {"padding": [0, -1, 0, 0]}, "'padding' must have entries >= 0"),
    ("conv2d", CONV, {"groups": 0}, "groups 0 must divide"),
    ("conv2d", {"x": (5, 5), "w": zeros(2, 4, 3, 3)}, {}, "x must have shape [N, C, H, W] or [C, H, W], got [5, 5]"),
    ("conv2d", {"x": (4, 5, 5), "w": zeros(2, 4, 3)}, {}, "weight must have shape [O, C/groups, kH, kW]"),
    ("linear", {"x": (1, 6), "w": zeros(3, 5)}, {}, "weight [3, 5] takes 5 input features, x [1, 6] has 6"),
    ("linear", {"x": (5,), "w": zeros(3, 5), "b": zeros(5)}, {}, "bias must have shape [3]"),
    ("linear", {"x": (5,), "w": zeros(3, 5, 1)}, {}, "weight must have shape [out, in]"),
    ("matmul", {"a": (2, 3), "b": zeros(4, 5)}, {}, "a [2, 3] has 3 columns, b [4, 5] has 4 rows"),
    ("matmul", {"a": (3,), "b": (4,)}, {}, "a [3] has 3 columns, b [4] has 4 rows"),
    ("matmul", {"a": (2, 2, 3), "b": zeros(3, 3, 4)}, {}, "shapes [2] and [3] do not broadcast"),
    ("matmul", {"a": (), "b": zeros(3)}, {}, "matmul operands must have rank >= 1"),
    ("maxpool2d", {"x": (1, 2, 5)}, {"kernel": [3, 3], "stride": [1, 1]}, "along height the kernel spans 3 cells"),
    ("maxpool2d", {"x": (1, 2, 5)}, {"kernel": [2, 2], "stride": [1, 1], "dilation": [3, 1], "padding": [1, 0, 1, 0]},
     "along height output position 0 pools over padding only"),
    ("maxpool2d", {"x": (1, 5, 5)}, {"kernel": [2], "stride": [1, 1]}, "'kernel' must list 2 integers, got [2]"),
    ("avgpool2d", {"x": (1, 5, 5)}, {"kernel": [2, 2], "stride": [1, -1]}, "'stride' must have entries >= 1"),
    ("avgpool2d", {"x": (1, 5, 5)}, {"kernel": [2, 0], "stride": [1, 1]}, "'kernel' must have entries >= 1"),
    ("avgpool2d", {"x": (1, 4, 4)}, {"kernel": [1, 1], "stride": [2, 2], "padding": [1, 1, 1, 1]}, "pools over padding only"),
    ("batchnorm", {"x": (3, 4), "s": zeros(4), "b": zeros(3), "m": zeros(3), "v": zeros(3)}, {"axis": 0},
     "scale must have shape [3] (the channels of x [3, 4] along axis 0), got [4]"),
    ("batchnorm", {"x": (3, 4), "s": zeros(4), "b": zeros(4), "m": zeros(4), "v": zeros(3)}, {"axis": 1}, "var must have shape [4]"),
    ("batchnorm", {"x": (3, 4), "s": zeros(4), "b": zeros(4), "m": zeros(4), "v": zeros(4)}, {"axis": 2}, "axis 2 out of range for rank 2"),
]


@pytest.mark.parametrize(("op", "operands", "attrs", "message"), BAD_SHAPES)
def test_shape_rule_rejects(op: str, operands: dict[str, Operand], attrs: dict[str, Any], message: str) -> None:
    with pytest.raises(ShapeError) as info:
        one_node(op, operands, attrs)
    text = str(info.value)
    assert text.startswith(f"node 'n' ({op}): ")
    assert message in text
    for name, v in operands.items():  # both (all) shapes are named
        assert f"{name}: {list(v if isinstance(v, tuple) else v.shape)}" in text


def test_missing_pool_stride_is_a_graph_error() -> None:
    with pytest.raises(GraphError, match="missing required attribute 'stride'"):
        make_node("p", "maxpool2d", ["x"], {"kernel": [2, 2]})


def test_shape_rules_accept_what_onnx_accepts() -> None:
    """Valid edge cases: kernel exactly as large as the padded input, ceil mode dropping a window."""
    assert one_node("conv2d", {"x": (2, 3, 3), "w": zeros(1, 2, 5, 5)}, {"padding": [1, 1, 1, 1]}).node("n").shape == (1, 1, 1)
    pool = one_node("maxpool2d", {"x": (1, 5, 5)}, {"kernel": [2, 2], "stride": [2, 2], "padding": [1, 1, 1, 1], "ceil_mode": True})
    assert pool.node("n").shape == (1, 3, 3)


# ---- CuPy (runs only where a GPU and CuPy are present) --------------------------------------

def test_cupy_kernels_match_numpy() -> None:
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed (pip install 'pytorch2lean[gpu]')")
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # noqa: BLE001 - CuPy raises its own CUDA errors without a device
        pytest.skip(f"no CUDA device: {e}")
    case = {"lead": (), "channels": 4, "out": 6, "hw": (9, 9), "kernel": (3, 2), "bias": True,
            "attrs": {"stride": [2, 1], "padding": [1, 0, 2, 1], "dilation": [1, 2], "groups": 2}}
    conv, _, conv_inputs = conv_setup(case)
    graphs = [(conv, conv_inputs)]
    for op, attrs in [("maxpool2d", {"kernel": [3, 3], "stride": [2, 2], "padding": [1, 1, 1, 1], "ceil_mode": True}),
                      ("avgpool2d", {"kernel": [3, 2], "stride": [2, 2], "padding": [1, 0, 1, 1], "ceil_mode": True})]:
        g = one_node(op, {"x": (2, 7, 6)}, attrs)
        graphs.append((g, batch_for(g)))
    operands = matmul_operands([2, 4], (4,))
    g = one_node("matmul", operands)
    graphs.append((g, batch_for(g)))
    mask = np.tril(np.ones((3, 4), np.float32))
    mask[1] = 0  # a fully masked row: zeros on both
    g = one_node("masked_softmax", {"x": (2, 3, 4), "m": mask})
    graphs.append((g, batch_for(g)))
    for g, inputs in graphs:
        on_gpu = execute(g, inputs, xp=cupy)["n"].get()
        np.testing.assert_allclose(on_gpu, run_f32(g, inputs), rtol=RTOL, atol=ATOL)
