"""Vector-Jacobian products of every op and of whole graphs, against central finite differences.

Everything runs in float64. For a random output cotangent g the VJP must equal the gradient of
<g, f(x)>, which is estimated coordinate by coordinate as (<g, f(x + h e_i)> - <g, f(x - h e_i)>) / 2h
with h = 1e-6: its error is about h^2 |f'''| + 1e-16 |f| / h, far below the stated tolerance
FD_TOL = 1e-5 (relative to the larger of 1 and the gradient's size). Points are random normal, so
a kink of relu or a tie of max pooling within h of a sample is rare enough (probability ~1e-6) to
ignore; a mistaken VJP fails at almost every point.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pytorch2lean import ops
from pytorch2lean.errors import ShapeError
from pytorch2lean.ir import Graph, Input, make_node, validate
from pytorch2lean.model import load_model
from pytorch2lean.runtime.grad import Tape, vjp_graph
from tests.test_ibp import CASES, one_node

H = 1e-6
FD_TOL = 1e-5
B = 2  # samples per batch: each gets its own cotangent
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def points(graph: Graph, r: np.random.Generator, within: Mapping[str, tuple[float, float]] | None = None
           ) -> dict[str, np.ndarray]:
    within = within or {}
    return {i.name: (r.uniform(*within[i.name], (B,) + i.shape) if i.name in within
                     else r.standard_normal((B,) + i.shape)) for i in graph.inputs}


def fd_gradients(graph: Graph, x: Mapping[str, np.ndarray], g: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Central differences of sum_outputs <g, f(x)> for each input coordinate of each sample.

    Every perturbed point is one more sample of a single batched forward pass per input.
    """
    def loss(batch: Mapping[str, np.ndarray], reps: int) -> np.ndarray:
        outs = Tape(graph, batch).outputs
        return sum((np.repeat(g[k], reps, axis=0) * outs[k]).reshape(B, reps, -1).sum(axis=-1) for k in g)

    grads = {}
    for name, v in x.items():
        n = v[0].size
        steps = np.concatenate([np.eye(n), -np.eye(n)]) * H  # (2n, n)
        moved = {k: np.repeat(a, 2 * n, axis=0) for k, a in x.items()}
        moved[name] = moved[name] + np.tile(steps, (B, 1)).reshape(moved[name].shape)
        f = loss(moved, 2 * n)
        grads[name] = ((f[:, :n] - f[:, n:]) / (2 * H)).reshape(v.shape)
    return grads


def assert_vjp_matches(graph: Graph, x: Mapping[str, np.ndarray], r: np.random.Generator) -> None:
    outs = Tape(graph, x).outputs
    g = {k: r.standard_normal(v.shape) for k, v in outs.items()}
    got = vjp_graph(graph, x, g)
    want = fd_gradients(graph, x, g)
    for name in want:
        scale = max(1.0, float(np.abs(want[name]).max()))
        assert got[name].shape == want[name].shape
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=FD_TOL * scale, err_msg=name)


# ---- every op, on the interval tests' cases (every op has one) -------------------------------

def test_every_op_has_a_vjp() -> None:
    """Ops over token ids have no finite differences: tests/test_ops_embedding.py checks their VJP."""
    from tests.test_ops_embedding import INTEGER_OPS

    assert sorted(t for t, s in ops.REGISTRY.items() if s.vjp is None) == []
    assert {c.op for c in CASES.values()} | INTEGER_OPS == set(ops.REGISTRY)


@pytest.mark.parametrize("name", sorted(CASES))
@SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_op_vjp_matches_finite_differences(name: str, seed: int) -> None:
    case = CASES[name]
    r = np.random.default_rng(seed)
    graph = one_node(case.op, case.operands(r), case.attrs)
    assert_vjp_matches(graph, points(graph, r, case.within), r)


# ---- random geometry: windows, broadcasting, matmul ranks, pads ------------------------------

@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       stride=st.tuples(st.integers(1, 3), st.integers(1, 3)), dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       padding=st.tuples(*[st.integers(0, 2)] * 4), groups=st.sampled_from([1, 2]), batched=st.booleans())
def test_conv2d_vjp_over_random_geometry(seed: int, kernel: tuple[int, int], stride: tuple[int, int],
                                         dilation: tuple[int, int], padding: tuple[int, ...], groups: int,
                                         batched: bool) -> None:
    r = np.random.default_rng(seed)
    x = (2, 4, 6, 5) if batched else (4, 6, 5)
    w = r.standard_normal((2 * groups, 4 // groups) + kernel).astype(np.float32)
    assume((kernel[0] - 1) * dilation[0] < 6 + padding[0] + padding[2])
    assume((kernel[1] - 1) * dilation[1] < 5 + padding[1] + padding[3])
    graph = one_node("conv2d", {"x": x, "w": w, "b": r.standard_normal(2 * groups).astype(np.float32)},
                     {"stride": stride, "dilation": dilation, "padding": padding, "groups": groups})
    assert_vjp_matches(graph, points(graph, r), r)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), op=st.sampled_from(["maxpool2d", "avgpool2d"]),
       kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)), stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       pad=st.integers(0, 1), ceil=st.booleans(), flag=st.booleans())
def test_pool_vjp_over_random_geometry(seed: int, op: str, kernel: tuple[int, int], stride: tuple[int, int],
                                       pad: int, ceil: bool, flag: bool) -> None:
    r = np.random.default_rng(seed)
    attrs: dict[str, Any] = {"kernel": kernel, "stride": stride, "padding": (pad, 0, 0, pad), "ceil_mode": ceil}
    if op == "maxpool2d":
        attrs["dilation"] = (2, 1) if flag else (1, 1)
    else:
        attrs["count_include_pad"] = flag
    try:
        graph = one_node(op, {"x": (2, 5, 5)}, attrs)
    except ShapeError:  # a window over padding only, or larger than the padded input
        assume(False)
    assert_vjp_matches(graph, points(graph, r), r)


shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), op=st.sampled_from(["add", "sub", "mul", "div"]), shape=shapes,
       drop=st.integers(0, 3), swap=st.booleans(), param=st.booleans())
def test_broadcasting_vjp(seed: int, op: str, shape: tuple[int, ...], drop: int, swap: bool, param: bool) -> None:
    """Each operand's gradient is summed over the axes it was broadcast along (1-sized or missing)."""
    r = np.random.default_rng(seed)
    full = tuple(1 if r.random() < 0.3 else d for d in shape) or (1,)
    short = tuple(1 if r.random() < 0.5 else d for d in shape[min(drop, len(shape)):]) or (1,)
    a, b = (short, full) if swap else (full, short)
    divisor = np.asarray((1.5 + r.random(b)) * np.where(r.random(b) < 0.5, -1, 1), dtype=np.float32)
    graph = one_node(op, {"a": a, "b": divisor if param else b})
    x = points(graph, r)
    if "b" in x:
        x["b"] = np.where(x["b"] < 0, -1.5, 1.5) + x["b"] * 0.1  # keep divisors away from 0
    assert_vjp_matches(graph, x, r)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), stack_a=st.sampled_from([(), (2,), (1,), (3, 1)]),
       stack_b=st.sampled_from([(), (1,), (1, 2), (3, 1)]), a_vec=st.booleans(), b_vec=st.booleans(),
       param=st.sampled_from(["none", "a", "b"]))
def test_matmul_vjp_over_ranks(seed: int, stack_a: tuple[int, ...], stack_b: tuple[int, ...], a_vec: bool,
                               b_vec: bool, param: str) -> None:
    r = np.random.default_rng(seed)
    a = (3,) if a_vec else stack_a + (2, 3)
    b = (3,) if b_vec else stack_b + (3, 2)
    operands: dict[str, Any] = {"a": a, "b": b}
    if param != "none":
        operands[param] = r.standard_normal(operands[param]).astype(np.float32)
    graph = one_node("matmul", operands)
    assert_vjp_matches(graph, points(graph, r), r)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), mode=st.sampled_from(["constant", "reflect", "edge"]),
       pads=st.tuples(*[st.integers(0, 2)] * 4))
def test_pad_vjp_in_every_mode(seed: int, mode: str, pads: tuple[int, ...]) -> None:
    r = np.random.default_rng(seed)
    graph = one_node("pad", {"x": (3, 4)}, {"pads": pads, "mode": mode, "value": 0.5})
    assert_vjp_matches(graph, points(graph, r), r)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), shape=st.lists(st.integers(1, 3), min_size=1, max_size=4).map(tuple),
       data=st.data())
def test_shape_and_normalization_vjps_over_random_axes(seed: int, shape: tuple[int, ...], data: st.DataObject) -> None:
    """Transpose, slice, concat, flatten, softmax, layernorm and batchnorm on random shapes and axes."""
    r = np.random.default_rng(seed)
    rank = len(shape)
    axis = data.draw(st.integers(-rank, rank - 1), label="axis")
    a = axis % rank
    start, step = data.draw(st.integers(-4, 4), label="start"), data.draw(st.sampled_from([-2, -1, 1, 2]), label="step")
    stop = start + step * data.draw(st.integers(1, 3), label="count")
    assume(len(range(*slice(start, stop, step).indices(shape[a]))) > 0)
    stats = [r.standard_normal(shape[a]).astype(np.float32) for _ in range(3)] + [np.float32(0.5 + r.random(shape[a]))]
    case = data.draw(st.sampled_from([
        ("transpose", {"x": shape}, {"perm": tuple(r.permutation(rank).tolist())}),
        ("slice", {"x": shape}, {"starts": (start,), "ends": (stop,), "axes": (axis,), "steps": (step,)}),
        ("concat", {"x": shape, "p": r.standard_normal(shape).astype(np.float32), "y": shape}, {"axis": axis}),
        ("flatten", {"x": shape}, {"axis": a}),
        ("softmax", {"x": shape}, {"axis": axis}),
        ("layernorm", {"x": shape, "s": r.standard_normal(shape[a:]).astype(np.float32)}, {"axis": axis}),
        ("batchnorm", {"x": shape, **dict(zip("sbmv", stats))}, {"axis": axis}),
    ]), label="case")
    graph = one_node(*case)
    assert_vjp_matches(graph, points(graph, r), r)


def test_a_wrong_vjp_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check can fail: a tanh VJP missing its square fails the finite-difference comparison."""
    broken = dataclasses.replace(ops.REGISTRY["tanh"], vjp=lambda xp, attrs, g, x: (g * (1 - xp.tanh(x)),))
    monkeypatch.setitem(ops.REGISTRY, "tanh", broken)
    graph = one_node("tanh", {"x": (4,)})
    r = np.random.default_rng(0)
    with pytest.raises(AssertionError):
        assert_vjp_matches(graph, points(graph, r), r)


# ---- whole graphs: the examples, with fan-out (residual) and attention -------------------------

@pytest.mark.parametrize("example", ["mlp", "cnn", "residual", "attention"])
def test_graph_vjp_of_the_examples_matches_finite_differences(example: str) -> None:
    folder = EXAMPLES / example
    graph = load_model(folder / "model.p2l", folder / "weights.npz").graph
    r = np.random.default_rng(7)
    x = {k: v.astype(np.float64) for k, v in points(graph, r).items()}
    assert_vjp_matches(graph, x, r)


def test_fan_out_sums_the_gradients() -> None:
    """y = x * x through one value used twice: the gradient is 2 x g, not x g."""
    square = validate(Graph("g", (Input("x", (3,)),), (), (make_node("n", "mul", ["x", "x"]),), ("n",)))
    x = np.array([[1.0, -2.0, 0.5]])
    grad = vjp_graph(square, {"x": x}, {"n": np.ones((1, 3))})["x"]
    np.testing.assert_array_equal(grad, 2 * x)


def test_a_tape_asks_for_no_gradient_of_a_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    """matmul by a weight: the tape computes the activation's gradient alone (half the products;
    the falsifier's ascent on ACAS Xu spent 40% of its time on weight gradients)."""
    asked: list[int] = []
    spec = ops.REGISTRY["matmul"]

    def spy(i: int) -> Any:
        def part(*args: Any) -> Any:
            asked.append(i)
            return spec.vjp_parts[i](*args)
        return part

    monkeypatch.setitem(ops.REGISTRY, "matmul", dataclasses.replace(spec, vjp_parts=(spy(0), spy(1))))
    r = np.random.default_rng(0)
    for param, wanted in (("b", [0]), ("a", [1])):
        asked.clear()
        operands: dict[str, Any] = {"a": (2, 3), "b": (3, 2)}
        operands[param] = r.standard_normal(operands[param]).astype(np.float32)
        graph = one_node("matmul", operands)
        assert_vjp_matches(graph, points(graph, r), r)
        assert set(asked) == set(wanted)
