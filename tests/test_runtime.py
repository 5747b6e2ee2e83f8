"""Runtime: batching, input checks, exact evaluation, backends, run records."""

from __future__ import annotations

import importlib.util
import json
from fractions import Fraction

import numpy as np
import pytest

from pytorch2lean.errors import BackendError, UserError
from pytorch2lean.ir import Graph, Input, Param, make_node, validate
from pytorch2lean.runtime import array_module, evaluate_exact, execute
from pytorch2lean.runtime.record import RunRecord, TensorDigest, versions


def residual_graph() -> Graph:
    """y = relu(x * w + b) + x: elementwise ops, a parameter broadcast and a residual join."""
    w = Param.of_array("w", np.array([0.5, -2.0, 3.0], np.float32))
    b = Param.of_array("b", np.array([[0.25], [-1.0]], np.float32))
    nodes = [make_node("h", "mul", ["x", "w"]), make_node("s", "add", ["h", "b"]),
             make_node("r", "relu", ["s"]), make_node("y", "add", ["r", "x"])]
    return validate(Graph("res", (Input("x", (2, 3)),), (w, b), tuple(nodes), ("y",)))


def test_batched_run_equals_per_sample_runs() -> None:
    g = residual_graph()
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    batched = execute(g, {"x": x})["y"]
    singles = np.concatenate([execute(g, {"x": x[k:k + 1]})["y"] for k in range(5)])
    assert batched.dtype == np.float32 and batched.shape == (5, 2, 3)
    np.testing.assert_array_equal(batched, singles)
    w, b = g.param("w").array, g.param("b").array
    np.testing.assert_array_equal(batched, np.maximum(x * w + b, 0) + x)


def test_exact_evaluation_is_exact() -> None:
    g = residual_graph()
    x = np.array([[[0.1, 0.2, 0.3], [1e-30, -5.0, 7.0]]], np.float32)
    y = evaluate_exact(g, {"x": x})["y"]
    xq = [[Fraction(float(v)) for v in row] for row in x[0]]
    w, b = [Fraction(float(v)) for v in g.param("w").array], [Fraction(float(v)) for v in g.param("b").array[:, 0]]
    for i in range(2):
        for j in range(3):
            want = max(xq[i][j] * w[j] + b[i], Fraction(0)) + xq[i][j]
            assert y[0, i, j] == want and isinstance(y[0, i, j], Fraction)
    rational = np.array([[[Fraction(1, 3)] * 3] * 2], dtype=object)
    assert evaluate_exact(g, {"x": rational})["y"][0, 0, 0] == max(Fraction(1, 3) * w[0] + b[0], 0) + Fraction(1, 3)


def test_exact_evaluation_refuses_ops_without_exact_meaning() -> None:
    g = validate(Graph("s", (Input("x", (2,)),), (), (make_node("y", "sigmoid", ["x"]),), ("y",)))
    with pytest.raises(UserError, match=r"node 'y' \(sigmoid\) has no exact rational meaning"):
        evaluate_exact(g, {"x": np.zeros((1, 2), np.float32)})


@pytest.mark.parametrize(
    "feeds, message",
    [
        ({"x": np.zeros((4, 3), np.float32)}, r"input 'x': expected shape \[B, 2, 3\] \(batch axis first\), got \[4, 3\]"),
        ({}, "no value given for input 'x'"),
        ({"x": np.zeros((1, 2, 3)), "z": np.zeros(1)}, "'z' is not an input"),
    ],
)
def test_input_errors(feeds: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        execute(residual_graph(), feeds)


def test_unbound_parameters_are_an_error() -> None:
    g = residual_graph()
    g = g.with_params({"w": Param("w", (3,))})
    with pytest.raises(UserError, match="parameter 'w' has no value"):
        execute(g, {"x": np.zeros((1, 2, 3), np.float32)})


def test_cuda_backend_is_a_clear_error_without_cupy() -> None:
    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is installed here: the GPU test below covers the backend")
    with pytest.raises(BackendError, match=r"needs CuPy: pip install 'pytorch2lean\[gpu\]'"):
        array_module("cuda")
    with pytest.raises(BackendError, match="unknown device 'tpu'"):
        array_module("tpu")


def test_cupy_matches_numpy() -> None:
    try:
        xp = array_module("cuda")
    except BackendError as e:
        pytest.skip(f"no CuPy GPU backend here: {e}")
    g = residual_graph()
    x = np.random.default_rng(1).standard_normal((64, 2, 3)).astype(np.float32)
    np.testing.assert_allclose(execute(g, {"x": x}, xp=xp)["y"].get(), execute(g, {"x": x})["y"], rtol=1e-6, atol=1e-6)


def test_run_record_is_json_with_digests() -> None:
    x = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    rec = RunRecord("ab" * 32, None, "numpy", "cpu", "float32", 1, {"x": TensorDigest.of(x)},
                    {"y": TensorDigest.of(x * 2)}, versions(np), 0.5)
    data = json.loads(rec.to_json())
    assert data["format"] == "pytorch2lean.run.v1" and data["ir_digest"] == "ab" * 32
    assert data["inputs"]["x"]["shape"] == [1, 2, 3] and len(data["inputs"]["x"]["sha256"]) == 64
    assert data["inputs"]["x"]["sha256"] != data["outputs"]["y"]["sha256"]
    assert data["versions"]["numpy"] == np.__version__


def test_node_of_parameters_only_broadcasts_to_the_batch() -> None:
    a = Param.of_array("a", np.array([1.0, -2.0], np.float32))
    nodes = [make_node("c", "neg", ["a"]), make_node("y", "add", ["x", "c"])]
    g = validate(Graph("consts", (Input("x", (2,)),), (a,), tuple(nodes), ("y",)))
    x = np.zeros((3, 2), np.float32)
    np.testing.assert_array_equal(execute(g, {"x": x})["y"], np.tile([-1.0, 2.0], (3, 1)))
    assert evaluate_exact(g, {"x": x})["y"].shape == (3, 2)
