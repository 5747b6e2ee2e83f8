"""Shape ops, softmax, layernorm and gelu: against onnxruntime, in exact mode, and their errors.

Each op runs as a one-node validated graph through `runtime.execute` on a batch of B = 3 samples;
onnxruntime runs the matching ONNX node on each sample alone, so a kernel that touched the
batch axis would disagree. Float tolerance: rtol = atol = 1e-5. For the exact ops the exact
evaluator must return Fractions equal to onnxruntime's float32 values with no tolerance at all:
these ops only move values.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Mapping

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytorch2lean import ops
from pytorch2lean.errors import ShapeError
from pytorch2lean.ir.graph import Graph, Input, Param
from pytorch2lean.ir.validate import make_node, validate
from pytorch2lean.numeric.float32 import fractions_of
from pytorch2lean.runtime import evaluate_exact, execute
from tests.onnx_reference import run_onnx_op

B = 3
RTOL = ATOL = 1e-5
SETTINGS = settings(max_examples=40, deadline=None)

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)
seeds = st.integers(0, 2**32 - 1)


def _batch(seed: int, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    """A batch of B random float32 samples of a per-sample shape."""
    return (np.random.default_rng(seed).standard_normal((B, *shape)) * scale).astype(np.float32)


def _graph(op: str, attrs: Mapping[str, Any], inputs: Mapping[str, np.ndarray], params: Mapping[str, np.ndarray]) -> Graph:
    """One `op` node named "y" on the batched `inputs` then the (unbatched) `params`."""
    node = make_node("y", op, [*inputs, *params], attrs)
    return validate(Graph(
        "t",
        tuple(Input(n, a.shape[1:]) for n, a in inputs.items()),
        tuple(Param.of_array(n, a) for n, a in params.items()),
        (node,),
        ("y",),
    ))


def check(
    op: str,
    attrs: Mapping[str, Any],
    inputs: Mapping[str, np.ndarray],
    onnx: tuple[str, Mapping[str, Any], Mapping[str, np.ndarray], int],
    params: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Compare `op` with the ONNX node `onnx` = (op_type, attrs, extra initializers, opset).

    onnxruntime gets each sample's inputs, then `params`, then the extra initializers, in order.
    """
    params = dict(params or {})
    onnx_op, onnx_attrs, extra, opset = onnx
    graph = _graph(op, attrs, inputs, params)
    want = np.stack([
        run_onnx_op(onnx_op, [a[b] for a in inputs.values()], onnx_attrs, {**params, **extra}, opset)
        for b in range(B)
    ])
    got = execute(graph, inputs)["y"]
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, strict=True)
    if ops.get(op).exact:
        exact = evaluate_exact(graph, inputs)["y"]
        assert exact.shape == want.shape
        assert all(type(q) is Fraction for q in exact.flat)
        assert (exact == fractions_of(want)).all()


def _int64(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


# ---- shape ops against onnxruntime --------------------------------------------------------

@SETTINGS
@given(shape=shapes, seed=seeds, data=st.data())
def test_flatten(shape: tuple[int, ...], seed: int, data: st.DataObject) -> None:
    axis = data.draw(st.integers(-len(shape), len(shape)))
    check("flatten", {"axis": axis}, {"x": _batch(seed, shape)}, ("Flatten", {"axis": axis}, {}, 13))


@SETTINGS
@given(shape=shapes, seed=seeds, data=st.data())
def test_reshape(shape: tuple[int, ...], seed: int, data: st.DataObject) -> None:
    dims = data.draw(st.permutations(shape + (1,) * data.draw(st.integers(0, 2))))
    cuts = sorted(data.draw(st.sets(st.integers(1, max(len(dims) - 1, 1)))))
    target = [math.prod(dims[i:j]) for i, j in zip([0, *cuts], [*cuts, len(dims)]) if i < j]
    check("reshape", {"shape": target}, {"x": _batch(seed, shape)}, ("Reshape", {}, {"shape": _int64(target)}, 14))


@SETTINGS
@given(shape=shapes, seed=seeds, data=st.data())
def test_transpose(shape: tuple[int, ...], seed: int, data: st.DataObject) -> None:
    perm = data.draw(st.permutations(range(len(shape))))
    check("transpose", {"perm": perm}, {"x": _batch(seed, shape)}, ("Transpose", {"perm": perm}, {}, 13))


@SETTINGS
@given(shape=shapes, seed=seeds, data=st.data())
def test_concat(shape: tuple[int, ...], seed: int, data: st.DataObject) -> None:
    """Activations and (size-1-batch) parameters mixed; parameters follow the activations."""
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    n_params = data.draw(st.integers(0, 2))
    at = lambda n: shape[:axis % len(shape)] + (n,) + shape[axis % len(shape) + 1:]  # noqa: E731
    inputs = {f"x{k}": _batch(seed + k, at(n)) for k, n in enumerate(sizes)}
    params = {f"w{k}": _batch(seed + 10 + k, at(k + 1))[0] for k in range(n_params)}
    check("concat", {"axis": axis}, inputs, ("Concat", {"axis": axis}, {}, 13), params)


big = st.sampled_from([-(2**63), -(2**31), 2**31 - 1, 2**63 - 1])


@SETTINGS
@given(shape=shapes, seed=seeds, data=st.data())
def test_slice(shape: tuple[int, ...], seed: int, data: st.DataObject) -> None:
    """ONNX clamping: indices beyond the axis, negative indices and steps, INT64 sentinels."""
    rank = len(shape)
    axes = data.draw(st.permutations(range(rank)))[: data.draw(st.integers(1, rank))]
    axes = [a - rank if data.draw(st.booleans()) else a for a in axes]
    index = lambda a: st.integers(-shape[a] - 2, shape[a] + 2) | big  # noqa: E731
    step = st.sampled_from([-3, -2, -1, 1, 2, 3])
    nonempty = lambda a: lambda t: bool(range(*slice(*t).indices(shape[a])))  # noqa: E731
    triples = [data.draw(st.tuples(index(a), index(a), step).filter(nonempty(a))) for a in axes]
    starts, ends, steps = (list(column) for column in zip(*triples))
    attrs = {"starts": starts, "ends": ends, "axes": axes, "steps": steps}
    inits = {k: _int64(v) for k, v in attrs.items()}
    check("slice", attrs, {"x": _batch(seed, shape)}, ("Slice", {}, inits, 13))


@SETTINGS
@given(shape=shapes, seed=seeds, data=st.data())
def test_pad(shape: tuple[int, ...], seed: int, data: st.DataObject) -> None:
    mode = data.draw(st.sampled_from(["constant", "reflect", "edge"]))
    most = lambda d: d - 1 if mode == "reflect" else 3  # noqa: E731
    pads = [data.draw(st.integers(0, most(d))) for d in shape * 2]
    value = data.draw(st.floats(-4, 4, width=32))
    inits = {"pads": _int64(pads)} | ({"value": np.float32(value)} if mode == "constant" else {})
    attrs = {"pads": pads, "mode": mode, "value": value}
    check("pad", attrs, {"x": _batch(seed, shape)}, ("Pad", {"mode": mode}, inits, 13))


# ---- softmax, layernorm, gelu against onnxruntime -----------------------------------------

@SETTINGS
@given(shape=shapes, seed=seeds, scale=st.sampled_from([1.0, 30.0]), data=st.data())
def test_softmax(shape: tuple[int, ...], seed: int, scale: float, data: st.DataObject) -> None:
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    check("softmax", {"axis": axis}, {"x": _batch(seed, shape, scale)}, ("Softmax", {"axis": axis}, {}, 13))


def test_softmax_is_stable_for_large_inputs() -> None:
    """Without the max subtraction exp(1000) overflows and the result is nan."""
    x = np.array([[1000.0, 1001.0]] * B, dtype=np.float32)
    got = execute(_graph("softmax", {}, {"x": x}, {}), {"x": x})["y"]
    expected = np.array([1 / (1 + math.e), math.e / (1 + math.e)], dtype=np.float32)
    np.testing.assert_allclose(got, np.broadcast_to(expected, (B, 2)), rtol=RTOL, atol=ATOL)


@SETTINGS
@given(shape=shapes, seed=seeds, with_bias=st.booleans(), epsilon=st.sampled_from([1e-5, 1e-3, 0.5]), data=st.data())
def test_layernorm(shape: tuple[int, ...], seed: int, with_bias: bool, epsilon: float, data: st.DataObject) -> None:
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    trailing = shape[axis:]
    params = {"scale": _batch(seed + 1, trailing)[0]} | ({"bias": _batch(seed + 2, trailing)[0]} if with_bias else {})
    attrs = {"axis": axis, "epsilon": epsilon}
    check("layernorm", attrs, {"x": _batch(seed, shape)}, ("LayerNormalization", attrs, {}, 17), params)


@SETTINGS
@given(shape=shapes, seed=seeds, approximate=st.sampled_from(["none", "tanh"]))
def test_gelu(shape: tuple[int, ...], seed: int, approximate: str) -> None:
    attrs = {"approximate": approximate}
    check("gelu", attrs, {"x": _batch(seed, shape, 4.0)}, ("Gelu", attrs, {}, 20))


def test_gelu_erf_is_accurate_to_two_ulp() -> None:
    """The docstring's claim, against x * Phi(x) in double precision via math.erfc."""
    x = np.linspace(-10, 10, 4001, dtype=np.float32)[None].repeat(B, axis=0)
    got = execute(_graph("gelu", {}, {"x": x}, {}), {"x": x})["y"]
    want = np.array([[v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in row] for row in x.astype(np.float64)])
    np.testing.assert_allclose(got, want, rtol=2.4e-7, atol=0)


# ---- masked softmax: onnxruntime's softmax of the kept entries (masked ones set to -inf) ---

@SETTINGS
@given(shape=shapes, seed=seeds, scale=st.sampled_from([1.0, 30.0]), data=st.data())
def test_masked_softmax_is_the_softmax_of_the_kept_entries(shape: tuple[int, ...], seed: int, scale: float,
                                                           data: st.DataObject) -> None:
    """Kept entries match onnxruntime on -inf-masked rows; masked entries and fully masked rows are exactly 0."""
    tail = data.draw(st.integers(0, len(shape)))
    mask_shape = tuple(d if data.draw(st.booleans()) else 1 for d in shape[len(shape) - tail:])
    mask = np.random.default_rng(seed + 1).integers(0, 2, mask_shape).astype(np.float32)
    x = _batch(seed, shape, scale)
    keep = np.broadcast_to(mask != 0, (B, *shape))
    got = execute(_graph("masked_softmax", {}, {"x": x}, {"mask": mask}), {"x": x})["y"]
    hidden = np.where(keep, x, np.float32(-np.inf))
    want = np.stack([run_onnx_op("Softmax", [hidden[b]], {"axis": -1}, {}, 13) for b in range(B)])
    rows = keep.any(axis=-1, keepdims=True)
    np.testing.assert_allclose(got, np.where(rows, want, 0), rtol=RTOL, atol=ATOL, strict=True)
    assert (got[~keep] == 0).all() and (got[~np.broadcast_to(rows, got.shape)] == 0).all()


def test_masked_softmax_treats_any_nonzero_mask_value_as_keep() -> None:
    x = _batch(5, (2, 3))
    graph = lambda mask: _graph("masked_softmax", {}, {"x": x}, {"mask": np.float32(mask)})  # noqa: E731
    got = execute(graph([[1, 0, 1], [0, 1, 1]]), {"x": x})["y"]
    np.testing.assert_array_equal(execute(graph([[-2.5, 0, 1e-30], [0, 7, -1]]), {"x": x})["y"], got)
    assert (got[:, 0, 1] == 0).all() and (got[:, 1, 0] == 0).all()


def test_masked_softmax_masks_exactly_where_exp_would_not_underflow() -> None:
    """A masked score far above the kept ones gets 0 and the kept ones share all of the weight."""
    x = np.array([[0.0, 1e9, 2.0]] * B, dtype=np.float32)
    got = execute(_graph("masked_softmax", {}, {"x": x}, {"mask": np.float32([1, 0, 1])}), {"x": x})["y"]
    assert (got[:, 1] == 0).all()
    np.testing.assert_allclose(got[:, [0, 2]], np.broadcast_to([1 / (1 + math.e ** 2), 1 / (1 + math.e ** -2)], (B, 2)),
                               rtol=RTOL)


# ---- exact mode on rationals that are not floats ------------------------------------------

THIRD = Fraction(1, 3)


@pytest.mark.parametrize("op, attrs", [
    ("flatten", {"axis": 0}),
    ("reshape", {"shape": [3, 2]}),
    ("transpose", {"perm": [1, 0]}),
    ("concat", {"axis": 1}),
    ("slice", {"starts": [-1], "ends": [-(2**63)], "axes": [1], "steps": [-2]}),
    ("pad", {"pads": [1, 2, 0, 1], "mode": "reflect"}),
    ("pad", {"pads": [1, 0, 0, 1], "value": 0.1}),
])
def test_exact_mode_moves_rationals_untouched(op: str, attrs: dict[str, Any]) -> None:
    """Non-float rationals pass through unrounded: every output is an input value or pad's value."""
    x = np.array([[[THIRD * (i + 3 * j) for i in range(3)] for j in range(2)]] * B, dtype=object)
    out = evaluate_exact(_graph(op, attrs, {"x": np.zeros((B, 2, 3), np.float32)}, {}), {"x": x})["y"]
    allowed = set(x.flat) | {Fraction(float(np.float32(0.1)))}
    assert out.shape[0] == B and set(out.flat) <= allowed
    assert all(type(q) is Fraction for q in out.flat)


def test_concat_broadcasts_a_parameter_over_the_batch() -> None:
    x = _batch(0, (2,))
    w = np.array([7.0], dtype=np.float32)
    got = execute(_graph("concat", {"axis": 0}, {"x": x}, {"w": w}), {"x": x})["y"]
    np.testing.assert_array_equal(got, np.concatenate([x, np.full((B, 1), 7.0, np.float32)], axis=1))


# ---- shape-rule failures ------------------------------------------------------------------

@pytest.mark.parametrize("op, in_shapes, attrs, message", [
    ("flatten", [(2, 3)], {"axis": 3}, "flatten axis 3 out of range [-2, 2]"),
    ("reshape", [(4, 4)], {"shape": [3, 5]}, "reshape to [3, 5] needs 15 elements, x has 16"),
    ("reshape", [(4,)], {"shape": [2, -1]}, "must list positive sizes"),
    ("transpose", [(2, 3)], {"perm": [0, 0]}, "perm [0, 0] is not a permutation of 0..1"),
    ("transpose", [(2, 3)], {"perm": [0, 1, 2]}, "perm [0, 1, 2] is not a permutation of 0..1"),
    ("concat", [(2, 3), (3, 4)], {"axis": 0}, "every dimension but axis 0: [2, 3] and [3, 4]"),
    ("concat", [(2, 3), (2,)], {"axis": 0}, "every dimension but axis 0: [2, 3] and [2]"),
    ("concat", [(2, 3), (2, 3)], {"axis": 2}, "axis 2 out of range for rank 2"),
    ("slice", [(4,)], {"starts": [0, 1], "ends": [2], "axes": [0], "steps": [1]}, "starts 2, ends 1, axes 1, steps 1"),
    ("slice", [(4, 4)], {"starts": [0, 0], "ends": [2, 2], "axes": [0, -2], "steps": [1, 1]},
     "axes [0, -2] name an axis twice"),
    ("slice", [(4,)], {"starts": [0], "ends": [2], "axes": [1], "steps": [1]}, "axis 1 out of range for rank 1"),
    ("slice", [(4,)], {"starts": [0], "ends": [2], "axes": [0], "steps": [0]}, "steps [0] must be nonzero"),
    ("slice", [(4,)], {"starts": [3], "ends": [1], "axes": [0], "steps": [1]}, "slice 3:1:1 of axis 0 (size 4) is empty"),
    ("pad", [(2, 3)], {"pads": [1, 1, 1]}, "pads [1, 1, 1] must have 2 * rank = 4 entries"),
    ("pad", [(2, 3)], {"pads": [0, -1, 0, 0]}, "must be non-negative"),
    ("pad", [(2, 3)], {"pads": [0, 3, 0, 0], "mode": "reflect"}, "reflect pad 3 on axis 1 must be smaller than its size 3"),
    ("pad", [(2, 3)], {"pads": [0, 0, 0, 0], "mode": "wrap"}, "got 'wrap'"),
    ("softmax", [(2, 3)], {"axis": -3}, "axis -3 out of range for rank 2"),
    ("layernorm", [(2, 3), (2,)], {}, "scale shape [2] must equal the normalized shape [3]"),
    ("layernorm", [(2, 3), (2, 3), (3,)], {"axis": 0}, "bias shape [3] must equal the normalized shape [2, 3]"),
    ("layernorm", [(2, 3), (3,)], {"axis": 2}, "axis 2 out of range for rank 2"),
    ("gelu", [(2,)], {"approximate": "fast"}, "got 'fast'"),
    ("masked_softmax", [(2, 3), (3, 3)], {}, "mask shape [3, 3] does not broadcast to x shape [2, 3]"),
    ("masked_softmax", [(2, 3), (1, 2, 3)], {}, "mask shape [1, 2, 3] does not broadcast to x shape [2, 3]"),
    ("masked_softmax", [(3, 1), (3, 3)], {}, "mask shape [3, 3] does not broadcast to x shape [3, 1]"),
    ("masked_softmax", [(), ()], {}, "x must have at least one axis"),
])
def test_shape_rule_failures_name_node_and_shapes(
    op: str, in_shapes: list[tuple[int, ...]], attrs: dict[str, Any], message: str
) -> None:
    """The first operand is an input; the rest are parameters (layernorm needs that)."""
    inputs = {"x": np.zeros((B, *in_shapes[0]), np.float32)}
    params = {f"p{k}": np.zeros(s, np.float32) for k, s in enumerate(in_shapes[1:])}
    with pytest.raises(ShapeError) as info:
        _graph(op, attrs, inputs, params)
    text = str(info.value)
    assert message in text
    assert f"node 'y' ({op})" in text
    assert f"x: {list(in_shapes[0])}" in text
