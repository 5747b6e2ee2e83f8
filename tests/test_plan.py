"""The compiled execution plan: fusion, constant folding, freeing, caching, and its numbers.

The reference is the plain walk the runtime did before plans: every node's kernel called in graph
order on a dictionary of values. A plan must give the same arrays bit for bit (it calls the same
kernels on the same operands), in float32 and over Fractions.
"""

from __future__ import annotations

import gc
from typing import Any

import numpy as np
import pytest

from pytorch2lean import ops
from pytorch2lean.ir import Graph, Input, Param, make_node, validate
from pytorch2lean.numeric.float32 import fractions_of
from pytorch2lean.runtime import evaluate_exact, execute
from pytorch2lean.runtime.plan import RUNNING, Plan, exact_attrs, plan_for


def residual_mlp() -> Graph:
    """conv -> relu -> flatten -> linear -> relu (h) -> linear -> relu -> add(., h) -> linear, with a
    constant subgraph (scale = neg(neg(s))) multiplying the result: chains, a join and a fold."""
    rng = np.random.default_rng(0)
    p = {"cw": rng.standard_normal((2, 1, 3, 3)), "cb": rng.standard_normal(2),
         "w1": rng.standard_normal((8, 32)), "b1": rng.standard_normal(8),
         "w2": rng.standard_normal((8, 8)), "b2": rng.standard_normal(8),
         "w3": rng.standard_normal((3, 8)), "s": rng.standard_normal(3)}
    params = tuple(Param.of_array(k, v.astype(np.float32)) for k, v in p.items())
    nodes = [
        make_node("c", "conv2d", ["x", "cw", "cb"], {"padding": (1, 1, 1, 1)}), make_node("cr", "relu", ["c"]),
        make_node("f", "flatten", ["cr"]), make_node("l1", "linear", ["f", "w1", "b1"]), make_node("h", "relu", ["l1"]),
        make_node("l2", "linear", ["h", "w2", "b2"]), make_node("r2", "relu", ["l2"]), make_node("j", "add", ["r2", "h"]),
        make_node("l3", "linear", ["j", "w3"]), make_node("n1", "neg", ["s"]), make_node("n2", "neg", ["n1"]),
        make_node("y", "mul", ["l3", "n2"]),
    ]
    return validate(Graph("resmlp", (Input("x", (1, 1, 4, 4)),), params, tuple(nodes), ("y", "h")))


def walk(graph: Graph, x: np.ndarray, *, exact: bool = False) -> dict[str, Any]:
    """Every node's kernel in graph order on a dictionary of all values: what a plan must equal."""
    env: dict[str, Any] = {"x": x}
    env.update({p.name: (p.exact() if exact else p.array)[None] for p in graph.params})
    for node in graph.nodes:
        env[node.id] = ops.get(node.op).kernel(np, exact_attrs(node) if exact else node.attr,
                                               *(env[r] for r in node.inputs))
    return {name: env[name] for name in graph.outputs}


def test_chains_fuse_constants_fold_and_joins_split() -> None:
    plan = Plan(residual_mlp())
    # h is read twice (l2 and the join) and is an output: its chain ends there; n1, n2 are folded
    assert [s.name for s in plan.steps] == ["conv2d+relu+flatten+linear+relu", "linear+relu+add+linear+mul"]
    second = plan.steps[1].calls
    assert [c.operands.count(RUNNING) for c in second] == [0, 1, 1, 1, 1]
    assert all(c.node.op != "neg" for s in plan.steps for c in s.calls)
    # the relu on the conv's result runs as the conv kernel's epilogue; the relus after linear stay calls
    assert [(c.node.op, [n.op for n in c.then]) for c in plan.steps[0].calls] == [
        ("conv2d", ["relu"]), ("flatten", []), ("linear", []), ("relu", [])]


def test_plan_equals_the_node_by_node_walk_bit_for_bit() -> None:
    g = residual_mlp()
    x = np.random.default_rng(1).standard_normal((5, 1, 1, 4, 4)).astype(np.float32)
    got, want = execute(g, {"x": x}), walk(g, x)
    for name in g.outputs:
        assert got[name].dtype == np.float32
        np.testing.assert_array_equal(got[name], want[name])


def test_exact_plan_equals_the_exact_walk() -> None:
    g = residual_mlp()
    x = np.random.default_rng(2).standard_normal((2, 1, 1, 4, 4)).astype(np.float32)
    got, want = evaluate_exact(g, {"x": x}), walk(g, fractions_of(x), exact=True)
    for name in g.outputs:
        assert (got[name] == want[name]).all()
    close = np.abs(execute(g, {"x": x})["y"] - want["y"].astype(np.float64))
    assert close.max() < 1e-4


def test_values_are_freed_after_their_last_read() -> None:
    """Only stored values that a later step reads are freed, each once, by the last step reading
    it; outputs and constants never are."""
    g = residual_mlp()
    plan = Plan(g)
    freed = [k for s in plan.steps for k in s.free]
    assert len(freed) == len(set(freed))
    slots = {name: plan._slot[name] for name in ("x", "h", "y")}
    assert freed == [slots["x"]]  # x dies after step 0; h and y are outputs
    assert plan.steps[0].free == (slots["x"],)


def test_plans_are_cached_per_graph_and_dropped_with_it() -> None:
    from pytorch2lean.runtime import plan as plan_module

    g = residual_mlp()
    assert plan_for(g) is plan_for(g)
    key = (id(g), id(np))
    assert key in plan_module._PLANS
    del g
    gc.collect()
    assert key not in plan_module._PLANS


@pytest.mark.parametrize("batch", [1, 3])
def test_a_parameter_only_output_broadcasts_to_the_batch(batch: int) -> None:
    a = Param.of_array("a", np.array([1.0, -2.0], np.float32))
    nodes = [make_node("c", "neg", ["a"]), make_node("y", "add", ["x", "x"])]
    g = validate(Graph("consts", (Input("x", (2,)),), (a,), tuple(nodes), ("c", "y")))
    out = execute(g, {"x": np.ones((batch, 2), np.float32)})
    np.testing.assert_array_equal(out["c"], np.tile([-1.0, 2.0], (batch, 1)))
    out["c"][:] = 7.0  # the caller's own array: the plan's folded constant stays as it was
    np.testing.assert_array_equal(execute(g, {"x": np.ones((batch, 2), np.float32)})["c"], np.tile([-1.0, 2.0], (batch, 1)))
    assert Plan(g).steps[0].name == "add"  # x + x: x read twice, nothing to fuse it with


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_relu_by_bits_is_where_bit_for_bit(dtype: Any) -> None:
    """The fast relu (a bitwise and) against its definition, where(x < 0, +0, x), on every special
    value, on strided views too: NaN of either sign, -0.0, infinities and subnormals."""
    special = np.array([np.nan, -np.nan, -0.0, 0.0, -1.0, 2.0, np.inf, -np.inf, 1e-40, -1e-40, -1e-45], np.float64)
    x = np.random.default_rng(0).permutation(np.resize(special, 6 * 11 * 2)).astype(dtype).reshape(6, 11, 2)[:, ::2]
    got = ops.get("relu").kernel(np, {}, x)
    want = np.where(x < 0, np.zeros_like(x), x)
    assert got.dtype == x.dtype and got.shape == x.shape
    np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))


@pytest.mark.parametrize("a_shape, b_shape", [((7, 1, 5), (1, 5, 3)), ((4, 2, 3, 5), (1, 5, 2)), ((3, 5), (1, 5, 4)),
                                              ((6, 2, 5), (6, 5, 3))])
def test_matmul_by_a_weight_is_the_stacked_product(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> None:
    """matmul with a constant right-hand matrix runs as one GEMM over all rows; the numbers are
    numpy.matmul's per sample (float32 up to rounding, exact on Fractions)."""
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(a_shape).astype(np.float32), rng.standard_normal(b_shape).astype(np.float32)
    kernel = ops.get("matmul").kernel
    want = np.stack([np.matmul(a[k], b[min(k, b.shape[0] - 1)]) for k in range(a.shape[0])])
    np.testing.assert_allclose(kernel(np, {}, a, b), want, rtol=1e-5, atol=1e-5)
    fa, fb = fractions_of(a), fractions_of(b)
    exact = np.stack([np.matmul(fa[k], fb[min(k, b.shape[0] - 1)]) for k in range(a.shape[0])])
    assert (kernel(np, {}, fa, fb) == exact).all()


def test_plan_on_cupy_matches_numpy() -> None:
    """The same plan on a GPU: conv windows by a strided view, relu by its bits, parameters
    uploaded once; skipped where no CuPy GPU is visible."""
    from pytorch2lean.errors import BackendError
    from pytorch2lean.runtime import array_module

    try:
        xp = array_module("cuda")
    except BackendError as e:
        pytest.skip(f"no CuPy GPU backend here: {e}")
    g = residual_mlp()
    x = np.random.default_rng(3).standard_normal((64, 1, 1, 4, 4)).astype(np.float32)
    want = execute(g, {"x": x})
    got = execute(g, {"x": x}, xp=xp)
    for name in g.outputs:
        np.testing.assert_allclose(got[name].get(), want[name], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("attrs", [{"padding": (1, 2, 0, 1), "stride": (2, 1)}, {"groups": 2, "dilation": (2, 1)}])
def test_conv_in_blocks_of_images_is_the_whole_batch_at_once(monkeypatch: pytest.MonkeyPatch,
                                                            attrs: dict[str, Any]) -> None:
    """conv2d lays out its columns a block of images at a time (the padded buffer reused, only its
    interior rewritten): one image per block gives the numbers of one block for all, in float32
    (bit for bit: the same products) and over Fractions."""
    from pytorch2lean.ops import conv

    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 4, 6, 5)).astype(np.float32)
    w = rng.standard_normal((1, 6, 4 // attrs.get("groups", 1), 3, 2)).astype(np.float32)
    b = rng.standard_normal((1, 6)).astype(np.float32)
    full = {"stride": (1, 1), "padding": (0, 0, 0, 0), "dilation": (1, 1), "groups": 1, **attrs}
    kernel = ops.get("conv2d").kernel
    whole = kernel(np, full, x, w, b)
    exact_whole = kernel(np, full, fractions_of(x), fractions_of(w), fractions_of(b))
    monkeypatch.setattr(conv, "COLUMNS_BYTES", 1)  # one image per block
    np.testing.assert_array_equal(kernel(np, full, x, w, b), whole)
    assert (kernel(np, full, fractions_of(x), fractions_of(w), fractions_of(b)) == exact_whole).all()


@pytest.mark.parametrize("shape, groups", [((5, 1, 9, 8), 1), ((3, 3, 7, 7), 1), ((2, 4, 6, 5), 2)])
def test_conv_windows_copied_as_opaque_runs_are_the_values(monkeypatch: pytest.MonkeyPatch,
                                                           shape: tuple[int, ...], groups: int) -> None:
    """conv2d copies short contiguous runs of a window (kW taps x channels) as one opaque item each;
    with that off (every run copied value by value) the results are the same bits, relu epilogue
    included, and the conv result is the (images, out, H, W) view of channels-last memory."""
    from pytorch2lean.ops import conv

    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((1, 4, shape[1] // groups, 3, 2)).astype(np.float32)
    b = rng.standard_normal((1, 4)).astype(np.float32)
    attrs = {"stride": (2, 1), "padding": (1, 0, 1, 1), "dilation": (1, 1), "groups": groups}
    kernel, relu = ops.get("conv2d").kernel, ops.get("relu").kernel
    runs = kernel(np, attrs, x, w, b)
    fused = kernel(np, attrs, x, w, b, then=lambda v: relu(np, {}, v))
    assert runs.transpose(0, 2, 3, 1).flags.c_contiguous
    monkeypatch.setattr(conv, "SHORT_RUN", 0)
    np.testing.assert_array_equal(kernel(np, attrs, x, w, b), runs)
    np.testing.assert_array_equal(relu(np, {}, runs).view(np.uint32), fused.view(np.uint32))
