"""The shipped examples: each parses, binds its checkpoint, and computes what its network means.

"What it means" is a hand-written NumPy float64 forward pass of the same network, written from the
architecture (per-head loops, explicit convolution sums), not from the op kernels. The float32
runtime must match it within rtol=1e-4, atol=1e-5; for the examples built from exact ops only, the
exact rational evaluation must match it within 1e-9 (float64 rounding only) and the float32
runtime within float32 tolerance (rtol=1e-5, atol=1e-6).
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
from pathlib import Path
from types import ModuleType
from typing import Callable, Mapping

import numpy as np
import pytest

from pytorch2lean.checkpoints import load_checkpoint
from pytorch2lean.frontends import load_graph
from pytorch2lean.frontends.dsl import format_model, parse_model
from pytorch2lean.ir import Graph, Param
from pytorch2lean.runtime import evaluate_exact, execute

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
Weights = Mapping[str, np.ndarray]


# ---- hand-written float64 reference networks (arrays: (N, C, H, W) or (N, ..., features)) ----

def linear(x: np.ndarray, w: Weights, name: str) -> np.ndarray:
    return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]


def conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride: int = 1, pad: int = 0) -> np.ndarray:
    """Direct sum over kernel offsets: out[n,o,i,j] = b[o] + sum x[n,c,i*s+p,j*s+q] * w[o,c,p,q]."""
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    kh, kw = weight.shape[2:]
    oh, ow = (x.shape[2] - kh) // stride + 1, (x.shape[3] - kw) // stride + 1
    out = np.zeros((x.shape[0], weight.shape[0], oh, ow)) + bias[None, :, None, None]
    for p in range(kh):
        for q in range(kw):
            window = x[:, :, p:p + stride * oh:stride, q:q + stride * ow:stride]
            out += np.einsum("nchw,oc->nohw", window, weight[:, :, p, q])
    return out


def pool2x2(x: np.ndarray, reduce: Callable[..., np.ndarray]) -> np.ndarray:
    n, c, h, w = x.shape
    return reduce(x.reshape(n, c, h // 2, 2, w // 2, 2), axis=(3, 5))


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def layernorm(x: np.ndarray, w: Weights, name: str, eps: float = 1e-5) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w[f"{name}.weight"] + w[f"{name}.bias"]


def gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def mlp_reference(x: np.ndarray, w: Weights) -> np.ndarray:
    h = relu(linear(x, w, "net.0"))
    h = relu(linear(h, w, "net.2"))
    return linear(h, w, "net.4")


def cnn_reference(x: np.ndarray, w: Weights) -> np.ndarray:
    h = pool2x2(relu(conv2d(x, w["conv1.weight"], w["conv1.bias"], pad=1)), np.max)
    h = conv2d(h, w["conv2.weight"], w["conv2.bias"], pad=1)
    per_channel = lambda v: v[None, :, None, None]  # noqa: E731
    h = (h - per_channel(w["bn2.running_mean"])) / np.sqrt(per_channel(w["bn2.running_var"]) + 1e-5)
    h = relu(h * per_channel(w["bn2.weight"]) + per_channel(w["bn2.bias"]))
    h = pool2x2(h, np.mean)
    return h.reshape(len(h), -1) @ w["fc.weight"].T + w["fc.bias"]


def residual_reference(x: np.ndarray, w: Weights) -> np.ndarray:
    h = relu(conv2d(x, w["block.conv1.weight"], w["block.conv1.bias"], pad=1))
    h = relu(x + conv2d(h, w["block.conv2.weight"], w["block.conv2.bias"], pad=1))
    return h.reshape(len(h), -1) @ w["head.weight"].T + w["head.bias"]


def attention_reference(x: np.ndarray, w: Weights) -> np.ndarray:
    """x: (N, tokens, 8); two heads, each attending over its own 4 columns of q, k, v."""
    n1 = layernorm(x, w, "ln1")
    q, k, v = (linear(n1, w, f"attn.{p}") for p in "qkv")
    heads = []
    for head in (slice(0, 4), slice(4, 8)):
        scores = q[..., head] @ np.swapaxes(k[..., head], -1, -2) * w["attn.scale"]
        heads.append(softmax(scores) @ v[..., head])
    h = x + linear(np.concatenate(heads, axis=-1), w, "attn.proj")
    return h + linear(gelu(linear(layernorm(h, w, "ln2"), w, "mlp.fc1")), w, "mlp.fc2")


REFERENCES = {"mlp": mlp_reference, "cnn": cnn_reference, "residual": residual_reference, "attention": attention_reference}
EXACT_ONLY = ("mlp", "residual")  # built from ops with an exact rational meaning only


# ---- helpers ---------------------------------------------------------------------------------

def load_example(name: str) -> Graph:
    graph, _ = load_checkpoint(load_graph(EXAMPLES / name / "model.p2l"), EXAMPLES / name / "weights.npz")
    return graph


def weights64(graph: Graph) -> dict[str, np.ndarray]:
    return {p.name: p.array.astype(np.float64) for p in graph.params}


def example_batch(graph: Graph, name: str) -> np.ndarray:
    """The shipped example input, then three seeded random ones: shape (4, *input shape)."""
    x = np.load(EXAMPLES / name / "x.npy")
    others = np.random.default_rng(7).standard_normal((3,) + x.shape).astype(np.float32)
    return np.concatenate([x[None], others])


def reference(name: str, graph: Graph, batch: np.ndarray) -> np.ndarray:
    """The float64 reference on a batch whose samples carry the model's own leading 1 axis."""
    flat = batch.astype(np.float64).reshape((-1,) + batch.shape[2:])
    out = REFERENCES[name](flat, weights64(graph))
    return out.reshape((batch.shape[0],) + graph.node(graph.outputs[0]).shape)


def as_float(values: np.ndarray) -> np.ndarray:
    return np.vectorize(float, otypes=[np.float64])(values)


# ---- the examples ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", REFERENCES)
def test_example_folder_is_complete_and_small(name: str) -> None:
    folder = EXAMPLES / name
    graph = load_graph(folder / "model.p2l")
    x = np.load(folder / "x.npy")
    assert x.dtype == np.float32 and x.shape == graph.inputs[0].shape
    with np.load(folder / "weights.npz") as archive:
        assert sorted(archive.files) == sorted(p.name for p in graph.params)
    assert all((folder / f).stat().st_size < 100_000 for f in ("model.p2l", "weights.npz", "x.npy"))


@pytest.mark.parametrize("name", REFERENCES)
def test_example_matches_its_float64_reference(name: str) -> None:
    graph = load_example(name)
    batch = example_batch(graph, name)
    out = execute(graph, {"x": batch})[graph.outputs[0]]
    want = reference(name, graph, batch)
    assert out.dtype == np.float32 and out.shape == want.shape
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", EXACT_ONLY)
def test_exact_example_agrees_with_float32_and_float64(name: str) -> None:
    graph = load_example(name)
    batch = example_batch(graph, name)[:2]
    exact = as_float(evaluate_exact(graph, {"x": batch})[graph.outputs[0]])
    np.testing.assert_allclose(exact, reference(name, graph, batch), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(execute(graph, {"x": batch})[graph.outputs[0]], exact, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", REFERENCES)
def test_example_round_trips_through_the_printer(name: str) -> None:
    graph = load_graph(EXAMPLES / name / "model.p2l")
    assert parse_model(format_model(graph)) == graph


@pytest.fixture(scope="module")
def make_checkpoints() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_checkpoints", EXAMPLES / "make_checkpoints.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", REFERENCES)
def test_make_checkpoints_reproduces_the_committed_bytes(name: str, make_checkpoints: ModuleType, tmp_path: Path) -> None:
    make_checkpoints.write_example(name, tmp_path)
    for file in ("weights.npz", "x.npy"):
        made, shipped = (tmp_path / name / file).read_bytes(), (EXAMPLES / name / file).read_bytes()
        assert hashlib.sha256(made).hexdigest() == hashlib.sha256(shipped).hexdigest(), f"{name}/{file} is stale"


def test_batchnorm_variances_are_positive(make_checkpoints: ModuleType) -> None:
    weights, _ = make_checkpoints.example_arrays("cnn")
    assert (weights["bn2.running_var"] > 0).all()


# ---- two inputs, two outputs -----------------------------------------------------------------

TWO_HEADED = """\
model two_headed
input a: [1, 3]
input b: [1, 3]
param proj.weight: [2, 3]
param proj.bias: [2]
s = add(a, b)
d = sub(a, b)
p = linear(s, proj.weight, proj.bias)
r = relu(d)
output p, r
"""


def test_two_inputs_two_outputs() -> None:
    graph = parse_model(TWO_HEADED)
    rng = np.random.default_rng(3)
    w, bias = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal(2).astype(np.float32)
    graph = graph.with_params({"proj.weight": Param.of_array("proj.weight", w), "proj.bias": Param.of_array("proj.bias", bias)})
    a, b = rng.standard_normal((2, 5, 1, 3)).astype(np.float32)
    out = execute(graph, {"a": a, "b": b})
    assert list(out) == ["p", "r"]
    np.testing.assert_allclose(out["p"], (a.astype(np.float64) + b) @ w.T.astype(np.float64) + bias, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(out["r"], np.maximum(a - b, 0))
    exact = evaluate_exact(graph, {"a": a, "b": b})
    np.testing.assert_allclose(as_float(exact["p"]), out["p"], rtol=1e-5, atol=1e-6)
