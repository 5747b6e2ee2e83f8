"""NaN and ±inf in the float runtime behave as in onnxruntime (and torch), op by op.

Every registered op runs as a one-node graph on inputs made of NaN, +inf, -inf, +0, -0 and small
finite values, against the matching onnxruntime node; the outputs must agree in where they are NaN,
in every infinity and its sign, and (elsewhere) to float32 rounding. Two ops have a different
reference, stated with them: max pooling follows torch (a NaN in a window wins, as torch's
max_pool2d and np.max have it; onnxruntime's MaxPool drops a NaN unless it comes first), and
masked softmax is onnxruntime's softmax of the row with masked entries set to -inf, on the kept
entries, while masked entries are exactly 0 (the causal-attention statement, TRUST.md). Near-max
finite values are left out: where a sum overflows then depends on the order of the additions, not
on NaN semantics.

Inputs with NaN or inf have no exact rational value: `run --exact` and `verify` refuse them with
one message naming the file and the element.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from pytorch2lean import ops
from pytorch2lean.runtime import execute
from tests.onnx_reference import run_onnx_op
from tests.test_ops_shape import _graph

SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.0, 0.25], np.float32)
SEEDS = range(4)
MLP = Path(__file__).resolve().parents[1] / "examples" / "mlp"


def special(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """A batch of one sample of `shape`, every special value present (when it has room), shuffled."""
    size = int(np.prod(shape))
    return np.random.default_rng(seed).permutation(np.resize(SPECIAL, size)).astype(np.float32).reshape((1,) + shape)


def finite(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(100 + seed).standard_normal(shape).astype(np.float32)


def ort(op_type: str, attrs: dict[str, Any] | None = None, extra: dict[str, np.ndarray] | None = None,
        opset: int = 13) -> Callable[..., np.ndarray]:
    """The reference: the onnxruntime node run on the sample's inputs, then the parameters, then `extra`."""
    def run(inputs: list[np.ndarray], params: dict[str, np.ndarray]) -> np.ndarray:
        return run_onnx_op(op_type, inputs, attrs or {}, {**params, **(extra or {})}, opset)
    return run


def torch_maxpool(inputs: list[np.ndarray], params: dict[str, np.ndarray]) -> np.ndarray:
    torch = pytest.importorskip("torch")
    return torch.nn.functional.max_pool2d(torch.from_numpy(inputs[0]), 2, 2).numpy()


def masked_reference(inputs: list[np.ndarray], params: dict[str, np.ndarray]) -> np.ndarray:
    keep = np.broadcast_to(params["mask"] != 0, inputs[0].shape)
    soft = run_onnx_op("Softmax", [np.where(keep, inputs[0], np.float32(-np.inf))], {"axis": -1}, {}, 13)
    return np.where(keep & keep.any(axis=-1, keepdims=True), soft, np.float32(0))


def ints(values: list[int]) -> np.ndarray:
    return np.array(values, np.int64)


SLICE = {"starts": [1], "ends": [3], "axes": [0], "steps": [1]}
MASK = np.array([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0]], np.float32)
IMAGE, ROW, GRID = (1, 2, 4, 4), (8,), (4, 4)
# op -> (attrs, input shapes, parameters (seed -> arrays), reference)
CASES: dict[str, tuple[dict[str, Any], dict[str, tuple[int, ...]], Callable[[int], dict[str, np.ndarray]], Callable]] = {
    "relu": ({}, {"x": ROW}, lambda s: {}, ort("Relu", opset=14)),
    "leaky_relu": ({"alpha": 0.1}, {"x": ROW}, lambda s: {}, ort("LeakyRelu", {"alpha": 0.1}, opset=16)),
    "sigmoid": ({}, {"x": ROW}, lambda s: {}, ort("Sigmoid")),
    "tanh": ({}, {"x": ROW}, lambda s: {}, ort("Tanh")),
    "neg": ({}, {"x": ROW}, lambda s: {}, ort("Neg")),
    "gelu": ({"approximate": "none"}, {"x": ROW}, lambda s: {}, ort("Gelu", {"approximate": "none"}, opset=20)),
    "add": ({}, {"a": ROW, "b": ROW}, lambda s: {}, ort("Add", opset=14)),
    "sub": ({}, {"a": ROW, "b": ROW}, lambda s: {}, ort("Sub", opset=14)),
    "mul": ({}, {"a": ROW, "b": ROW}, lambda s: {}, ort("Mul", opset=14)),
    "div": ({}, {"a": ROW, "b": ROW}, lambda s: {}, ort("Div", opset=14)),
    "softmax": ({"axis": -1}, {"x": GRID}, lambda s: {}, ort("Softmax", {"axis": -1})),
    "masked_softmax": ({}, {"x": GRID}, lambda s: {"mask": MASK}, masked_reference),
    "layernorm": ({"axis": -1, "epsilon": 1e-5}, {"x": GRID}, lambda s: {"scale": finite((4,), s)},
                  ort("LayerNormalization", {"axis": -1, "epsilon": 1e-5}, opset=17)),
    "batchnorm": ({"epsilon": 1e-5}, {"x": IMAGE},
                  lambda s: {k: np.abs(finite((2,), s + i)) for i, k in enumerate(("scale", "bias", "mean", "var"))},
                  ort("BatchNormalization", {"epsilon": 1e-5}, opset=15)),
    "linear": ({}, {"x": (1, 8)}, lambda s: {"w": finite((3, 8), s), "b": finite((3,), s + 1)}, ort("Gemm", {"transB": 1})),
    "matmul": ({}, {"x": (1, 8)}, lambda s: {"w": finite((8, 3), s)}, ort("MatMul")),
    "conv2d": ({}, {"x": IMAGE}, lambda s: {"w": finite((3, 2, 2, 2), s)}, ort("Conv")),
    "avgpool2d": ({"kernel": [2, 2], "stride": [2, 2]}, {"x": IMAGE}, lambda s: {},
                  ort("AveragePool", {"kernel_shape": [2, 2], "strides": [2, 2]})),
    "maxpool2d": ({"kernel": [2, 2], "stride": [2, 2]}, {"x": IMAGE}, lambda s: {}, torch_maxpool),
    "transpose": ({"perm": [1, 0]}, {"x": GRID}, lambda s: {}, ort("Transpose", {"perm": [1, 0]})),
    "flatten": ({"axis": 0}, {"x": GRID}, lambda s: {}, ort("Flatten", {"axis": 0})),
    "reshape": ({"shape": [2, 8]}, {"x": GRID}, lambda s: {}, ort("Reshape", extra={"shape": ints([2, 8])}, opset=14)),
    "slice": (SLICE, {"x": GRID}, lambda s: {}, ort("Slice", extra={k: ints(v) for k, v in SLICE.items()})),
    "pad": ({"pads": [1, 0, 0, 1], "mode": "constant", "value": 0.5}, {"x": GRID}, lambda s: {},
            ort("Pad", {"mode": "constant"}, {"pads": ints([1, 0, 0, 1]), "value": np.float32(0.5)})),
    "concat": ({"axis": 0}, {"a": GRID, "b": GRID}, lambda s: {}, ort("Concat", {"axis": 0})),
}


def outcome(op: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(ours, the reference's) on one special-valued sample."""
    attrs, shapes, params_of, reference = CASES[op]
    inputs = {name: special(shape, seed + k) for k, (name, shape) in enumerate(shapes.items())}
    params = params_of(seed)
    with np.errstate(all="ignore"):
        ours = execute(_graph(op, attrs, inputs, params), inputs)["y"][0]
    return ours, reference([a[0] for a in inputs.values()], params)


def disagreement(ours: np.ndarray, want: np.ndarray) -> str | None:
    """Where the outputs differ in NaN-ness, in an infinity, or (elsewhere) beyond float32 rounding."""
    if ours.shape != want.shape:
        return f"shape {ours.shape} vs {want.shape}"
    for name, mask in (("NaN", np.isnan), ("+inf", np.isposinf), ("-inf", np.isneginf)):
        odd = np.flatnonzero(mask(ours) != mask(want))
        if odd.size:
            return f"{name} at flat index {odd[0]}: ours {ours.flat[odd[0]]}, reference {want.flat[odd[0]]}"
    fin = np.isfinite(want)
    close = np.isclose(ours[fin], want[fin], rtol=1e-5, atol=1e-6)
    return None if close.all() else f"values differ: ours {ours[fin][~close][:3]}, reference {want[fin][~close][:3]}"


def test_every_op_has_a_case() -> None:
    """Token ids are never NaN: the embedding's table values are tested in tests/test_ops_embedding.py."""
    from tests.test_ops_embedding import INTEGER_OPS

    assert sorted(set(CASES) | INTEGER_OPS) == sorted(ops.REGISTRY)


@pytest.mark.parametrize("op", sorted(CASES))
def test_nan_and_inf_behave_as_the_reference(op: str) -> None:
    results = [outcome(op, seed) for seed in SEEDS]
    for seed, (ours, want) in zip(SEEDS, results):
        assert disagreement(ours, want) is None, (op, seed, disagreement(ours, want))
    assert any(not np.isfinite(want).all() for _, want in results)  # the special values reach the output


def test_relu_and_maxpool_keep_nan_where_a_comparison_would_drop_it() -> None:
    """The two kernels written with comparisons: NaN, not 0 (relu) or a neighbour (max pool)."""
    x = np.array([[np.nan, -np.inf, np.inf, -0.0]], np.float32)
    y = execute(_graph("relu", {}, {"x": x}, {}), {"x": x})["y"][0]
    assert np.isnan(y[0]) and y[1] == 0 and y[2] == np.inf and np.signbit(y[3])
    img = np.array([[[[1.0, np.nan], [5.0, 2.0]]]], np.float32)[None]
    assert np.isnan(execute(_graph("maxpool2d", {"kernel": [2, 2], "stride": [2, 2]}, {"x": img}, {}), {"x": img})["y"]).all()


def test_a_masked_nan_changes_no_kept_weight() -> None:
    x = np.array([[[1.0, 2.0, np.nan, np.inf]]], np.float32)
    y = execute(_graph("masked_softmax", {}, {"x": x}, {"mask": np.float32([1, 1, 0, 0])}), {"x": x})["y"][0, 0]
    np.testing.assert_allclose(y, [1 / (1 + np.e), np.e / (1 + np.e), 0, 0], rtol=1e-6)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytorch2lean", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_exact_runs_and_verify_refuse_non_finite_inputs(tmp_path: Path, value: float) -> None:
    x = np.load(MLP / "x.npy").astype(np.float32)
    x.flat[3] = value
    path = tmp_path / "x.npy"
    np.save(path, x)
    model, weights = str(MLP / "model.p2l"), str(MLP / "weights.npz")
    where = f"{path}: element {[int(i) for i in np.unravel_index(3, x.shape)]} is {value}"
    r = cli("run", model, "-c", weights, "-i", str(path), "--exact")
    assert r.returncode == 1 and "Traceback" not in r.stderr and where in r.stderr.replace("\n", " "), r.stderr
    r = cli("run", model, "-c", weights, "-i", str(path))  # the float runtime runs it, NaN or inf propagating
    assert r.returncode == 0, r.stderr
    assert "[[nan nan nan nan nan]]" in r.stdout, r.stdout  # shown (rich took "[nan ...]" for markup and hid it)
    assert "Warning" not in r.stderr, r.stderr  # NumPy's "invalid value encountered" is the semantics, not news
    r = cli("verify", model, "-c", weights, "--input", str(path), "--eps", "0.01", "--label", "0")
    assert r.returncode == 1 and "Traceback" not in r.stderr and where in r.stderr.replace("\n", " "), r.stderr
    r = cli("verify", model, "-c", weights, "--box", str(path), str(path))
    assert r.returncode == 1 and "Traceback" not in r.stderr and where in r.stderr.replace("\n", " "), r.stderr
