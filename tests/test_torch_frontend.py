"""The PyTorch frontend: every supported ATen op against torch's own forward, spec loading, errors.

A lowered graph run by `runtime.execute` (float32, NumPy) must match the module's forward on the
same random inputs within rtol = atol = 1e-4; where the frontend claims exactness (scalar
operands, moves of data, masks) the test asks for equal bits.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch", reason="the PyTorch frontend needs torch (pip install 'pytorch2lean[torch]')")
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from pytorch2lean.bounds.ibp import certify  # noqa: E402
from pytorch2lean.checkpoints import load_checkpoint, load_tensors, read_checkpoint  # noqa: E402
from pytorch2lean.errors import FrontendError  # noqa: E402
from pytorch2lean.frontends.torch_export import (  # noqa: E402
    load_torch, lower_program, supported_ops,
)
from pytorch2lean.ir import Graph, dumps, validate  # noqa: E402
from pytorch2lean.ir.graph import CONSTANTS_KEY  # noqa: E402
from pytorch2lean.runtime import execute  # noqa: E402
from pytorch2lean.spec.box import Box  # noqa: E402

TOL = 1e-4
REPO = Path(__file__).resolve().parents[1]


class Fn(nn.Module):
    """A module whose forward is `fn(self, *xs)`; parameters and buffers are set by keyword."""

    def __init__(self, fn: Callable[..., torch.Tensor], **tensors: torch.Tensor) -> None:
        super().__init__()
        self.fn = fn
        for name, t in tensors.items():
            if isinstance(t, nn.Module):
                self.add_module(name, t)
            elif name.startswith("buf_"):
                self.register_buffer(name, t)
            elif name.startswith("const_"):
                self.register_buffer(name, t, persistent=False)
            else:
                setattr(self, name, nn.Parameter(t))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(self, x)


def lowered(module: nn.Module, shape: tuple[int, ...], *, decompose: bool = False) -> Graph:
    program = torch.export.export(module.eval(), (torch.zeros(shape),))
    return lower_program(program.run_decompositions() if decompose else program, name="t")


def both(module: nn.Module, shape: tuple[int, ...], *, decompose: bool = False, batch: int = 3) -> tuple[list, list]:
    """(ours, torch's) outputs on `batch` random samples of `shape`, one array per output."""
    graph = lowered(module, shape, decompose=decompose)
    xs = torch.randn((batch,) + shape, generator=torch.Generator().manual_seed(0))
    ours = execute(graph, {graph.inputs[0].name: xs.numpy()})
    with torch.no_grad():
        runs = [module(x) for x in xs]
    runs = [r if isinstance(r, tuple) else (r,) for r in runs]
    theirs = [np.stack([r[k].numpy() for r in runs]) for k in range(len(graph.outputs))]
    return [ours[o] for o in graph.outputs], theirs


def assert_matches(module: nn.Module, shape: tuple[int, ...], **kw) -> None:
    ours, theirs = both(module, shape, **kw)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)


def r(*shape: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(sum(shape)))


CASES: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "linear": (lambda: nn.Linear(5, 3), (2, 5)),
    "linear_no_bias": (lambda: nn.Linear(5, 3, bias=False), (1, 4, 5)),
    "linear_of_computed_weights": (lambda: Fn(lambda s, x: F.linear(x, s.w[:3], s.b[1:]) + F.linear(x, s.w[3:] * 2)
                                              + F.linear(x, s.w[3:], s.b[:3] * 2), w=r(6, 5), b=r(4)), (2, 5)),
    "multihead_attention": (lambda: Fn(lambda s, x: s.mha(x, x * 2, x)[0] + s.cross(x, x.flip(1), x)[1].sum(-1, keepdim=True),
                                       mha=nn.MultiheadAttention(8, 2, batch_first=True),
                                       cross=nn.MultiheadAttention(8, 4, batch_first=True, bias=False)), (1, 5, 8)),
    "matmul_param_right": (lambda: Fn(lambda s, x: x @ s.w, w=r(5, 3)), (2, 5)),
    "matmul_transposed_param": (lambda: Fn(lambda s, x: x @ s.w.t(), w=r(3, 5)), (2, 5)),
    "matmul_param_left": (lambda: Fn(lambda s, x: torch.matmul(s.w, x), w=r(3, 2)), (2, 5)),
    "bmm": (lambda: Fn(lambda s, x: torch.bmm(x, x.transpose(1, 2))), (2, 3, 4)),
    "conv": (lambda: nn.Conv2d(2, 4, 3, stride=2, padding=1), (1, 2, 7, 7)),
    "conv_groups_dilation": (lambda: nn.Conv2d(4, 6, 3, dilation=2, groups=2, bias=False), (1, 4, 9, 8)),
    "conv_same_even_kernel": (lambda: nn.Conv2d(2, 3, (2, 4), padding="same"), (1, 2, 5, 6)),
    "conv_valid": (lambda: nn.Conv2d(2, 3, 3, padding="valid"), (1, 2, 5, 6)),
    "activations": (lambda: Fn(lambda s, x: torch.cat([F.relu(x), F.leaky_relu(x, 0.2), torch.sigmoid(x), torch.tanh(x), -x], 1)), (2, 3)),
    "gelu": (lambda: Fn(lambda s, x: F.gelu(x) + F.gelu(2 * x, approximate="tanh")), (2, 6)),
    "arithmetic": (lambda: Fn(lambda s, x: (x + s.b) * s.w - x / (s.w * s.w + 1) + (1 - x) + 2 / (x * x + 1), w=r(3), b=r(2, 3)), (2, 3)),
    "maxpool": (lambda: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (1, 2, 8, 7)),
    "maxpool_dilation": (lambda: nn.MaxPool2d(2, stride=1, dilation=2), (1, 2, 6, 6)),
    "avgpool_excluding_pad": (lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (1, 2, 7, 7)),
    "avgpool_ceil": (lambda: nn.AvgPool2d(2, stride=2, padding=1, ceil_mode=True), (1, 2, 7, 6)),
    "adaptive_avgpool": (lambda: nn.AdaptiveAvgPool2d((2, 1)), (1, 3, 4, 6)),
    "batchnorm": (lambda: _with_stats(nn.BatchNorm2d(3)), (2, 3, 4, 4)),
    "batchnorm1d": (lambda: _with_stats(nn.BatchNorm1d(5)), (2, 5)),
    "batchnorm_no_affine": (lambda: _with_stats(nn.BatchNorm2d(3, affine=False)), (1, 3, 2, 2)),
    "layernorm": (lambda: nn.LayerNorm(6), (2, 3, 6)),
    "layernorm_2d_no_affine": (lambda: nn.LayerNorm((3, 6), elementwise_affine=False), (2, 3, 6)),
    "layernorm_no_bias": (lambda: nn.LayerNorm(6, bias=False), (2, 6)),
    "softmax": (lambda: Fn(lambda s, x: torch.softmax(x, 1) + F.softmax(x, dim=-1)), (2, 3, 4)),
    "attention": (lambda: Fn(lambda s, x: F.scaled_dot_product_attention(x, x * 2, x + 1)), (1, 2, 5, 4)),
    "attention_causal": (lambda: Fn(lambda s, x: F.scaled_dot_product_attention(x, x, x, is_causal=True)), (2, 5, 4)),
    "attention_causal_cross": (lambda: Fn(lambda s, x: F.scaled_dot_product_attention(x[:, :3], x, x, is_causal=True, scale=0.3)), (2, 5, 4)),
    "attention_float_mask": (lambda: Fn(lambda s, x: F.scaled_dot_product_attention(x, x, x, attn_mask=s.buf_mask), buf_mask=r(5, 5)), (1, 5, 4)),
    "attention_float_mask_hiding_keys": (lambda: Fn(lambda s, x: F.scaled_dot_product_attention(x, x, x, attn_mask=s.const_causal)
                                                   + F.scaled_dot_product_attention(x, x, x, attn_mask=s.const_causal + s.const_bias),
                                                   const_causal=nn.Transformer.generate_square_subsequent_mask(5), const_bias=r(5, 5)),
                                         (1, 5, 4)),
    "attention_bool_mask": (lambda: Fn(lambda s, x: F.scaled_dot_product_attention(x, x, x, attn_mask=s.buf_keep),
                                       buf_keep=(r(5, 5) > 0) | torch.eye(5, dtype=torch.bool)), (1, 5, 4)),
    "reshapes": (lambda: Fn(lambda s, x: torch.cat([x.view(2, 12), x.reshape(2, 3, 4).flatten(1), x.unsqueeze(0).squeeze(0).flatten(2).flatten(1)], 1)), (2, 3, 2, 2)),
    "flatten_all": (lambda: Fn(lambda s, x: torch.flatten(x).unflatten(0, (3, 8))), (2, 3, 4)),
    "permutes": (lambda: Fn(lambda s, x: x.permute(2, 0, 1).transpose(0, 1).mT.contiguous() + x.transpose(-1, 0).swapaxes(1, 1)), (3, 4, 3)),
    "t": (lambda: Fn(lambda s, x: x.t() @ x), (3, 4)),
    "slices": (lambda: Fn(lambda s, x: torch.cat([x[:, 1:], x[:, :-1:2], x.narrow(1, 1, 2), x[:, -1:]], 1)), (2, 5)),
    "select": (lambda: Fn(lambda s, x: x[:, -1] + x[1]), (3, 3)),
    "split_chunk_unbind": (lambda: Fn(lambda s, x: torch.stack([*x.split(2, 1)[:2], *x.chunk(3, dim=1)[1:], x.unbind(1)[3].unsqueeze(1).expand(2, 2)], 2)), (2, 6)),
    "expand_param": (lambda: Fn(lambda s, x: torch.cat([s.c.expand(2, 3, -1), x], 1), c=r(1, 1, 4)), (2, 2, 4)),
    "dropout_clone": (lambda: Fn(lambda s, x: s.drop(x).clone() + F.dropout(x, 0.5, training=False), drop=nn.Dropout(0.3)), (2, 3)),
    "silu": (lambda: Fn(lambda s, x: s.act(x) + F.silu(2 * x), act=nn.SiLU()), (2, 5)),
    "hard_activations": (lambda: Fn(lambda s, x: torch.cat([s.a(x * 3), F.hardsigmoid(x * 3), s.b(x)], 1),
                                    a=nn.Hardswish(), b=nn.Hardsigmoid(inplace=True)), (2, 7)),
    "means": (lambda: Fn(lambda s, x: x.mean((-2, -1)) + x.mean(1, keepdim=True).mean((-1, -2)) + x.mean((0, 2)).mean(-1)), (1, 3, 4, 5)),
    "mean_all": (lambda: Fn(lambda s, x: x - torch.mean(x)), (2, 3)),
    "sums_and_maxima": (lambda: Fn(lambda s, x: x.sum((0, 2)) + x.amax(-1).sum(0) + x.max(dim=1).values.sum(-1, keepdim=True)
                                   + torch.max(x) + torch.sum(x)), (2, 3, 4)),
    "pairwise_max_min": (lambda: Fn(lambda s, x: torch.maximum(x, x.flip(-1)) + torch.minimum(x * 2, s.w) + torch.max(x, -x)
                                    + torch.min(x, x.roll(1, 0)), w=r(3, 4)), (3, 4)),
    "pads": (lambda: Fn(lambda s, x: torch.cat([F.pad(x, (1, 2, 0, 1), value=0.5), F.pad(x, (2, 1, 1, 0), mode="reflect"),
                                              F.pad(x, (0, 3, 1, 0), mode="replicate"), s.pad(x)], 1),
                        pad=nn.ZeroPad2d((1, 2, 0, 1))), (1, 2, 4, 5)),
    "group_norm": (lambda: Fn(lambda s, x: s.a(x) + s.b(x) + F.group_norm(x, 3), a=_affine(nn.GroupNorm(3, 6)),
                              b=nn.GroupNorm(1, 6, affine=False)), (2, 6, 3, 4)),
    "avgpool_window_past_the_input": (lambda: nn.AvgPool2d(5, ceil_mode=True), (1, 3, 2, 3)),
    "roll": (lambda: Fn(lambda s, x: x.roll((1, -2), (1, 2)) + torch.roll(x, 5, -1) + x.roll(3, 1)), (2, 3, 4)),
    "index_by_constants": (lambda: Fn(lambda s, x: x[:, s.const_i] + s.table[s.const_j] + x[..., s.const_k],
                                      table=r(6, 2), const_i=torch.tensor([[1, 0], [1, -1]]), const_j=torch.tensor([[5, 0], [3, 3]]),
                                      const_k=torch.tensor([1, 1])), (2, 2, 2)),
    "upsample_nearest": (lambda: Fn(lambda s, x: F.interpolate(x, scale_factor=2, mode="nearest")[..., ::2] + s.up(x)[..., ::3],
                                    up=nn.Upsample(scale_factor=(2, 3))), (1, 2, 3, 3)),
    "upsample_bilinear": (lambda: Fn(lambda s, x: torch.cat([F.interpolate(x, size=(6, 9), mode="bilinear"),
                                                           F.interpolate(x, scale_factor=(2, 3), mode="bilinear", align_corners=True),
                                                           F.interpolate(x, scale_factor=(2.5, 3.5), mode="bilinear")[..., :6, :9],
                                                           s.up(x)], 1), up=nn.UpsamplingBilinear2d(size=(6, 9))), (1, 2, 3, 3)),
    "adaptive_avgpool_1d": (lambda: Fn(lambda s, x: s.pool(x) + s.one(x), pool=nn.AdaptiveAvgPool1d(2), one=nn.AdaptiveAvgPool1d(1)), (1, 3, 6)),
    "rms_norm_pattern": (lambda: Fn(lambda s, x: s.w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))
                                    + x * torch.rsqrt(torch.mean(x * x, dim=-1, keepdim=True) + 0.5), w=r(8)), (2, 3, 8)),
    "rms_norm_module": (lambda: _affine(nn.RMSNorm(8, eps=1e-5), bias=False), (2, 3, 8)),
    "powers": (lambda: Fn(lambda s, x: x.pow(2) + x ** 3 + torch.pow(x, 1)), (2, 5)),
    "embedding_at_code_fixed_ids": (lambda: Fn(lambda s, x: x + s.emb(s.const_pos) + s.emb(torch.arange(3) + 2),
                                               emb=nn.Embedding(10, 4), const_pos=torch.tensor([4, 0, 9])), (1, 3, 4)),
    "cat_skips_an_empty_piece": (lambda: Fn(lambda s, x: torch.cat([torch.zeros(0), x, x], dim=1)), (2, 3)),
    "code_constants_fold": (lambda: Fn(lambda s, x: x * torch.arange(4.0).sin() + torch.ones(3, 1).cumsum(0) + s.const_freq.outer(s.const_freq)[:3],
                                       const_freq=r(4)), (2, 3, 4)),
}


def _affine(norm: nn.Module, bias: bool = True) -> nn.Module:
    """A norm whose weight (and bias) are not the identity's."""
    with torch.no_grad():
        norm.weight.normal_(1, 0.3, generator=torch.Generator().manual_seed(2))
        if bias:
            norm.bias.normal_(0, 0.3, generator=torch.Generator().manual_seed(3))
    return norm

# Clamping selects a value, never computes one: the lowering must give torch's bits.
CLAMPS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu6": lambda x: F.relu6(x),
    "relu6_inplace": lambda x: nn.ReLU6(inplace=True)(x * 1),
    "hardtanh": lambda x: F.hardtanh(x),
    "hardtanh_bounds": lambda x: F.hardtanh(x, -0.3, 0.25),
    "clamp": lambda x: x.clamp(-1.5, 0.1),
    "clamp_min": lambda x: torch.clamp(x, min=0.2),
    "clamp_max": lambda x: x.clamp(max=-0.7),
    "clamp_min_zero": lambda x: x.clamp_min(0),
    "maximum": lambda x: torch.maximum(x, x.flip(-1)),
    "minimum": lambda x: torch.min(x, x.roll(1, 0)),
    "amax": lambda x: x.amax(-1),
    "max_values": lambda x: x.max(0).values,
}


def _with_stats(bn: nn.Module) -> nn.Module:
    """A batch norm with non-trivial running statistics (and affine values when it has them)."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        bn.running_mean.normal_(0, 0.3, generator=g)
        bn.running_var.uniform_(0.5, 1.5, generator=g)
        if bn.affine:
            bn.weight.normal_(1, 0.2, generator=g)
            bn.bias.normal_(0, 0.2, generator=g)
    return bn


@pytest.mark.parametrize("case", sorted(CASES))
def test_op_matches_torch(case: str) -> None:
    build, shape = CASES[case]
    assert_matches(build(), shape)


@pytest.mark.parametrize("case", ["linear", "conv", "batchnorm", "maxpool", "layernorm", "softmax", "permutes", "slices"])
def test_core_aten_program_matches_torch(case: str) -> None:
    """After run_decompositions (addmm, convolution, _native_batch_norm_legit_no_training, ...)."""
    build, shape = CASES[case]
    assert_matches(build(), shape, decompose=True)


def test_core_aten_linear_folds_the_transposed_weight() -> None:
    graph = lowered(nn.Linear(5, 3), (2, 5), decompose=True)
    assert [n.op for n in graph.nodes] == ["linear"]
    assert [p.name for p in graph.params] == ["weight", "bias"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 1), st.integers(0, 1)),
    ceil_mode=st.booleans(),
    count_include_pad=st.booleans(),
    size=st.tuples(st.integers(3, 7), st.integers(3, 7)),
)
def test_pooling_configurations_match_torch(kernel, stride, padding, ceil_mode, count_include_pad, size) -> None:
    assume(all(2 * p <= k for p, k in zip(padding, kernel)))  # torch's own rule
    for pool in (nn.MaxPool2d(kernel, stride, padding, ceil_mode=ceil_mode),
                 nn.AvgPool2d(kernel, stride, padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad)):
        assert_matches(pool, (1, 2) + size)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.integers(1, 2),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
    groups=st.sampled_from([1, 2]),
)
def test_conv_configurations_match_torch(kernel, stride, padding, dilation, groups) -> None:
    assert_matches(nn.Conv2d(2, 4, kernel, stride, padding, dilation, groups), (1, 2, 7, 6))


# ---- exactness claims ---------------------------------------------------------------------------

def test_scalar_operands_are_exact_float32_constants() -> None:
    """torch casts a Python scalar to float32 before the op: the constant holds exactly that value."""
    module = Fn(lambda s, x: ((x * 0.1 + 0.3) / 3.0 - 1e-3) * 7)
    ours, theirs = both(module, (4, 50), batch=8)
    assert np.array_equal(ours[0], theirs[0])
    graph = lowered(module, (4, 50))
    assert graph.param("mul.const").array == np.float32(0.1)
    assert set(graph.constants) == {p.name for p in graph.params}


def test_data_moves_are_bit_exact() -> None:
    build, shape = CASES["split_chunk_unbind"]
    ours, theirs = both(build(), shape)
    assert np.array_equal(ours[0], theirs[0])


@pytest.mark.parametrize("case", sorted(CLAMPS))
def test_clamps_are_bit_exact(case: str) -> None:
    fn = CLAMPS[case]
    ours, theirs = both(Fn(lambda s, x: fn(x)), (3, 40), batch=4)
    assert np.array_equal(ours[0], theirs[0])


def test_exact_ibp_bounds_hold_through_the_lowered_activations() -> None:
    """Certified IBP bounds (exact rules of pad, max pool, avg pool, sigmoid) contain torch's outputs."""
    module = Fn(lambda s, x: F.relu6(4 * x) + F.hardswish(3 * x) + x.mean(-1, keepdim=True) + F.silu(x) + x.clamp(-0.3, 0.2))
    graph = lowered(module, (2, 5))
    center = r(2, 5).numpy()
    out = certify(graph, {"x": Box.linf_ball(center, Fraction(1, 4))})[graph.outputs[0]]
    lower, upper = (np.array([float(b) for b in bounds]).reshape(out.shape) for bounds in (out.lower, out.upper))
    xs = center + np.random.default_rng(0).uniform(-0.25, 0.25, (64, 2, 5)).astype(np.float32)
    with torch.no_grad():
        ys = np.stack([module(torch.from_numpy(x)).numpy() for x in xs])
    assert np.all(ys >= lower) and np.all(ys <= upper)
    assert np.all(upper - lower < 10)


def test_values_fixed_by_the_code_fold_into_named_constants() -> None:
    """arange, ones, a non-persistent buffer and ops on them are computed by torch at lowering time."""
    graph = lowered(CASES["code_constants_fold"][0](), (2, 3, 4))
    assert set(graph.constants) == {"sin", "cumsum", "slice_1"}  # FX names: the values the graph reads
    assert np.array_equal(graph.param("sin").array, torch.arange(4.0).sin().numpy())
    assert [n.op for n in graph.nodes] == ["mul", "add", "add"]


def test_values_of_parameters_never_fold() -> None:
    """A checkpoint rebinds parameters, so an op on one is lowered (or refused), never precomputed."""
    with pytest.raises(FrontendError, match="unsupported op aten.sin.default"):
        lowered(Fn(lambda s, x: x * s.w.sin(), w=r(3)), (2, 3))
    with pytest.raises(FrontendError, match="unsupported op aten.sin.default"):
        lowered(Fn(lambda s, x: x * s.buf_w.sin(), buf_w=r(3)), (2, 3))


def test_constant_index_and_roll_move_bits_exactly() -> None:
    for case in ("index_by_constants", "roll", "upsample_nearest"):
        build, shape = CASES[case]
        ours, theirs = both(build(), shape)
        if case != "index_by_constants":  # that one adds three reads: moved exactly, then rounded once more
            assert np.array_equal(ours[0], theirs[0])
    module = Fn(lambda s, x: s.table[s.const_j], table=r(6, 4), const_j=torch.tensor([5, 0, 3]))
    graph = lowered(Fn(lambda s, x: x + s.table[s.const_j], table=r(6, 4), const_j=torch.tensor([5, 0, 3])), (3, 4))
    assert "table" in {p.name for p in graph.params} and "table" not in graph.constants  # still bound by a checkpoint
    ours = execute(graph, {"x": np.zeros((1, 3, 4), np.float32)})[graph.outputs[0]][0]
    assert np.array_equal(ours, module.table.detach().numpy()[[5, 0, 3]])


def test_rsqrt_outside_rms_normalization_is_refused() -> None:
    for fn in (lambda s, x: torch.rsqrt(x * x + 1), lambda s, x: x * torch.rsqrt(x.pow(2).mean(0, keepdim=True) + 1),
               lambda s, x: (x + 1) * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1)):
        with pytest.raises(FrontendError, match=r"rsqrt is supported as RMS normalization's"):
            lowered(Fn(fn), (2, 3))


def test_an_index_the_code_does_not_fix_is_refused() -> None:
    with pytest.raises(FrontendError, match="one index tensor fixed by the model's code"):
        lowered(Fn(lambda s, x: x[s.const_i, s.const_i], const_i=torch.tensor([0, 1])), (2, 3))


def test_a_constant_torch_cannot_compute_is_a_located_error() -> None:
    """torch.export traces on fake tensors; computing the folded value for real can fail (here: a bad index)."""
    with pytest.raises(FrontendError, match=r"node 'index': computing its value, fixed by the model's code, failed \(IndexError"):
        lowered(Fn(lambda s, x: x + torch.arange(3.0)[s.const_i], const_i=torch.tensor([0, 7, 1])), (2, 3))


def test_a_folded_integer_must_be_exactly_float32() -> None:
    with pytest.raises(FrontendError, match=r"'add_1' that the model's code computes is not float32: int64 value 33554433 at index \[0\]"):
        lowered(Fn(lambda s, x: x + (torch.arange(3) + 2**25 + 1)), (2, 3))


def test_a_float_mask_with_minus_inf_hides_keys_by_a_keep_mask() -> None:
    graph = lowered(CASES["attention_float_mask_hiding_keys"][0](), (1, 5, 4))
    causal = np.tril(np.ones((5, 5), np.float32))
    assert np.array_equal(graph.param("scaled_dot_product_attention.keep").array, causal)
    assert "scaled_dot_product_attention.bias" not in graph.param_names  # the finite part is all zero
    assert np.array_equal(graph.param("scaled_dot_product_attention_1.keep").array, causal)
    assert {n.op for n in graph.nodes if n.id.endswith(".weights")} == {"masked_softmax"}
    with pytest.raises(FrontendError, match="holds \\+inf or NaN"):
        lowered(Fn(lambda s, x: F.scaled_dot_product_attention(x, x, x, attn_mask=-s.const_causal),
                   const_causal=nn.Transformer.generate_square_subsequent_mask(5)), (1, 5, 4))


def test_a_boolean_mask_keeping_every_key_is_plain_softmax() -> None:
    """transformers' ViT passes an all-True mask built from arange; it hides nothing."""
    module = Fn(lambda s, x: F.scaled_dot_product_attention(x, x, x, attn_mask=torch.arange(5)[:, None] >= 0))
    graph = lowered(module, (1, 5, 4))
    assert "masked_softmax" not in {n.op for n in graph.nodes}
    assert_matches(module, (1, 5, 4))


def test_causal_mask_is_a_keep_mask_and_masks_exactly() -> None:
    """is_causal lowers to masked_softmax with the 0/1 lower triangle: masked weights are exactly 0."""
    graph = lowered(CASES["attention_causal_cross"][0](), (2, 5, 4))
    mask = graph.param("scaled_dot_product_attention.mask").array
    assert np.array_equal(mask, np.tril(np.ones((3, 5), np.float32)))
    assert graph.node("scaled_dot_product_attention.weights").op == "masked_softmax"
    graph = validate(replace(graph, outputs=graph.outputs + ("scaled_dot_product_attention.weights",)))
    xs = np.random.default_rng(0).standard_normal((4, 2, 5, 4)).astype(np.float32) * 1e4
    weights = execute(graph, {"x": xs})["scaled_dot_product_attention.weights"]
    above = np.broadcast_to(mask == 0, weights.shape)
    assert np.all(weights[above] == 0) and np.all(weights[~above] >= 0)


def test_boolean_mask_keeps_where_true_and_a_float_mask_stays_additive() -> None:
    boolean = lowered(CASES["attention_bool_mask"][0](), (1, 5, 4))
    keep = CASES["attention_bool_mask"][0]().buf_keep.numpy()
    assert np.array_equal(boolean.param("scaled_dot_product_attention.keep").array, keep.astype(np.float32))
    assert "scaled_dot_product_attention.keep" in boolean.constants
    additive = lowered(CASES["attention_float_mask"][0](), (1, 5, 4))
    assert [n.op for n in additive.nodes if n.id.endswith((".masked", ".weights"))] == ["add", "softmax"]


# ---- in-place ops: functionalized by torch before lowering ---------------------------------------

class BasicBlock(nn.Module):
    """The ResNet block as published verification benchmarks write it: in-place add and relu."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = _with_stats(nn.BatchNorm2d(cout))
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = _with_stats(nn.BatchNorm2d(cout))
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), _with_stats(nn.BatchNorm2d(cout)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out, inplace=True)


class InPlaceResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1), nn.ReLU(inplace=True))
        self.layers = nn.Sequential(BasicBlock(8, 8), BasicBlock(8, 16, stride=2))
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.layers(self.stem(x)), (1, 1))
        x = x.view(x.size(0), -1)
        return self.fc(torch.flatten(x, 1))


def test_in_place_resnet_pattern_matches_torch() -> None:
    """`out += self.shortcut(x)`, `ReLU(inplace=True)`, `x.view(x.size(0), -1)`: lowered, run, compared."""
    module = InPlaceResNet()
    graph = lowered(module, (1, 3, 8, 8))
    assert {"add_", "relu_"} <= {n.target._schema.name.split("::")[1] for n in
                                 torch.export.export(module.eval(), (torch.zeros(1, 3, 8, 8),)).graph.nodes
                                 if hasattr(n.target, "_schema")}
    assert [n.op for n in graph.nodes].count("add") == 2 and graph.outputs == ("linear",)
    assert_matches(module, (1, 3, 8, 8))


def test_a_write_through_a_view_reaches_the_viewed_tensor() -> None:
    """`z = y.view(-1); z.add_(1)` changes y: torch's functionalization carries the write to y."""
    def fn(s: nn.Module, x: torch.Tensor) -> torch.Tensor:
        y = x * 2
        z = y.view(-1)
        z.add_(1)
        return y.relu_() - x

    ours, theirs = both(Fn(fn), (2, 3))
    assert np.array_equal(ours[0], theirs[0])


def test_a_write_to_the_input_is_not_an_output() -> None:
    def fn(s: nn.Module, x: torch.Tensor) -> torch.Tensor:
        x.mul_(3)
        return x + 1

    graph = lowered(Fn(fn), (2, 3))
    assert len(graph.outputs) == 1 and [n.op for n in graph.nodes] == ["mul", "add"]
    assert_matches(Fn(fn), (2, 3))


def test_a_write_to_a_buffer_is_refused_naming_it_and_the_line(tmp_path: Path) -> None:
    path = write_model(tmp_path, """\
        import torch
        from torch import nn

        class Counting(nn.Module):
            def __init__(self):
                super().__init__()
                self.register_buffer("calls", torch.zeros(1))

            def forward(self, x):
                self.calls.add_(1)
                return x * 2
        """)
    with pytest.raises(FrontendError) as e:
        load_torch(f"{path}:Counting", input_shape=(1, 2))
    message = str(e.value)
    assert "writes to the module's tensor 'calls' in place" in message
    assert f"{path}:{line_of(path, 'self.calls.add_(1)')}" in message


def test_unsupported_op_after_an_in_place_op_names_its_line(tmp_path: Path) -> None:
    path = write_model(tmp_path, CUMSUM.replace("y = x * 2", "y = x * 2\n            y.relu_()"))
    with pytest.raises(FrontendError) as e:
        load_torch(f"{path}:running")
    assert "unsupported op aten.cumsum.default" in str(e.value)
    assert f"{path}:{line_of(path, 'cumsum')} (return torch.cumsum(y, 1))" in str(e.value)


# ---- the graph's names, inputs and outputs -------------------------------------------------------

class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, image: torch.Tensor, bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.fc(image) + bias
        return y, torch.relu(y)


def test_names_come_from_forward_state_dict_and_export() -> None:
    program = torch.export.export(TwoInputs().eval(), (torch.zeros(1, 3), torch.zeros(1, 2)))
    graph = lower_program(program, name="two")
    assert [i.name for i in graph.inputs] == ["image", "bias"]
    assert [i.shape for i in graph.inputs] == [(1, 3), (1, 2)]
    assert [p.name for p in graph.params] == ["fc.weight", "fc.bias"]
    fx_names = {n.name for n in program.graph.nodes}
    assert {n.id for n in graph.nodes} <= fx_names and graph.outputs == ("add", "relu")
    assert np.array_equal(graph.param("fc.weight").array, program.state_dict["fc.weight"].detach().numpy())


def test_returning_a_parameter_is_refused() -> None:
    module = Fn(lambda s, x: (x + 1, s.w), w=r(2))
    with pytest.raises(FrontendError, match="returns the parameter 'w'"):
        lowered(module, (1, 2))


def test_float64_parameter_is_refused_naming_it() -> None:
    module = Fn(lambda s, x: x * s.w, w=r(2).double())
    with pytest.raises(FrontendError, match=r"tensor 'w' has dtype torch.float64"):
        lowered(module, (1, 2))


# ---- refusals that name the op and the user's line -----------------------------------------------

def write_model(folder: Path, body: str, name: str = "model.py") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    return next(k for k, line in enumerate(path.read_text().splitlines(), 1) if text in line)


CUMSUM = """\
    import torch
    from torch import nn

    class Running(nn.Module):
        def forward(self, x):
            y = x * 2
            return torch.cumsum(y, 1)

        def example_input(self):
            return torch.zeros(1, 4)

    def running():
        return Running()
    """


def test_unsupported_op_names_op_and_source_line(tmp_path: Path) -> None:
    path = write_model(tmp_path, CUMSUM)
    with pytest.raises(FrontendError) as e:
        load_torch(f"{path}:running")
    message = str(e.value)
    assert "unsupported op aten.cumsum.default" in message
    assert f"{path}:{line_of(path, 'cumsum')} (return torch.cumsum(y, 1))" in message
    assert "node 'cumsum'" in message


def test_unsupported_op_inside_a_library_module_names_the_calling_line(tmp_path: Path) -> None:
    path = write_model(tmp_path, """\
        import torch
        from torch import nn

        class Clipped(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Sequential(nn.Linear(3, 3), nn.Softplus())

            def forward(self, x):
                return self.body(x) + 1
        """)
    with pytest.raises(FrontendError) as e:
        load_torch(f"{path}:Clipped", input_shape=(1, 3))
    message = str(e.value)
    assert "aten.softplus.default" in message
    assert f"{path}:{line_of(path, 'self.body(x)')}" in message
    assert "in module 'body.1' (Softplus)" in message


@pytest.mark.parametrize("module, shape, words", [
    (nn.AvgPool2d(2, divisor_override=3), (1, 1, 4, 4), "divisor_override=3"),
    (Fn(lambda s, x: torch.add(x, x, alpha=2)), (1, 3), "alpha=2"),
    (Fn(lambda s, x: torch.div(x, 2.0, rounding_mode="floor")), (1, 3), "rounding_mode='floor'"),
    (nn.AdaptiveAvgPool2d(3), (1, 1, 4, 4), "only output sizes dividing"),
    (Fn(lambda s, x: F.conv2d(x, x)), (1, 1, 3, 3), "conv2d needs its weight to be a module parameter"),
    (Fn(lambda s, x: x * math.inf), (1, 2), "holds NaN or Inf"),
])
def test_unsupported_arguments_are_refused(module: nn.Module, shape: tuple[int, ...], words: str) -> None:
    with pytest.raises(FrontendError, match=words.replace("(", r"\(")) as e:
        lowered(module, shape)
    assert "model 't', node " in str(e.value)


# ---- load_torch: specs, example inputs ------------------------------------------------------------

def test_input_shape_overrides_the_example(tmp_path: Path) -> None:
    path = write_model(tmp_path, CUMSUM.replace("torch.cumsum(y, 1)", "y + 1"))
    assert load_torch(f"{path}:running").inputs[0].shape == (1, 4)
    assert load_torch(f"{path}:running", input_shape=(3, 2, 5)).inputs[0].shape == (3, 2, 5)


def test_package_module_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "zoo_pkg_for_test"
    package.mkdir()
    (package / "__init__.py").write_text("")
    write_model(package, CUMSUM.replace("torch.cumsum(y, 1)", "y - 1"), name="nets.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = load_torch("zoo_pkg_for_test.nets:running")
    assert graph.name == "running" and [n.op for n in graph.nodes] == ["mul", "sub"]


@pytest.mark.parametrize("spec, words", [
    ("no_colon_here", "expected 'path/to/model.py:factory'"),
    ("{dir}/absent.py:f", "no such file"),
    ("{file}:missing", "defines no callable 'missing'"),
    ("{file}:not_a_module", "returned a int, not a torch.nn.Module"),
    ("{file}:no_example", "give input_shape (--input-shape), or define a method example_input()"),
    ("{file}:int_example", "node 'add': reads the token ids 'x' as numbers (aten.add.Tensor); integer inputs are "
                           "supported only as the ids of an embedding lookup at {file}:"),
    ("{file}:double_example", "item 0 is a tensor of dtype torch.float64, not a float32 tensor (or an int64 tensor"),
    ("{file}:broken", "building the module failed at {file}:{broken_line}: ValueError: bad width"),
    ("{file}:data_dependent", "torch.export could not capture the module"),
    ("pytorch2lean_no_such_package.nets:f", "importing pytorch2lean_no_such_package.nets failed"),
])
def test_bad_specs_are_named(tmp_path: Path, spec: str, words: str) -> None:
    path = write_model(tmp_path, """\
        import torch
        from torch import nn

        class Plain(nn.Module):
            def forward(self, x):
                return x + 1

        class IntExample(Plain):
            def example_input(self):
                return torch.zeros(1, 2, dtype=torch.int64)

        class DoubleExample(Plain):
            def example_input(self):
                return torch.zeros(1, 2, dtype=torch.float64)

        class DataDependent(Plain):
            def forward(self, x):
                return x + 1 if x.sum() > 0 else x - 1

            def example_input(self):
                return torch.zeros(1, 2)

        def not_a_module():
            return 3

        def no_example():
            return Plain()

        def int_example():
            return IntExample()

        def double_example():
            return DoubleExample()

        def data_dependent():
            return DataDependent()

        def broken():
            raise ValueError("bad width")
        """)
    fill = {"dir": tmp_path, "file": path, "broken_line": line_of(path, "bad width")}
    with pytest.raises(FrontendError, match=words.format(**fill).replace("(", r"\(").replace(")", r"\)")):
        load_torch(spec.format(**fill))


# ---- token ids ------------------------------------------------------------------------------

class Ids(nn.Module):
    """A module of token ids: `fn(self, ids)` with the given submodules and parameters."""

    def __init__(self, fn: Callable[..., torch.Tensor], **parts: nn.Module | torch.Tensor) -> None:
        super().__init__()
        self.fn = fn
        for name, part in parts.items():
            if isinstance(part, nn.Module):
                self.add_module(name, part)
            else:
                setattr(self, name, nn.Parameter(part))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.fn(self, ids)


def lowered_ids(module: nn.Module, shape: tuple[int, ...]) -> Graph:
    program = torch.export.export(module.eval(), (torch.zeros(shape, dtype=torch.int64),))
    return lower_program(program, name="t")


ID_CASES: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "embedding": (lambda: Ids(lambda s, i: s.e(i), e=nn.Embedding(30, 4)), (2, 5)),
    "two tables": (lambda: Ids(lambda s, i: s.a(i) + s.b(i), a=nn.Embedding(30, 4), b=nn.Embedding(20, 4)), (5,)),
    "padding_idx": (lambda: Ids(lambda s, i: s.e(i), e=nn.Embedding(20, 3, padding_idx=0)), (1, 6)),
    "index": (lambda: Ids(lambda s, i: s.w[i] * 2, w=r(20, 3)), (2, 3)),
    "index of rows": (lambda: Ids(lambda s, i: s.w[i], w=r(20, 2, 3)), (4,)),
    "index_select of a view": (lambda: Ids(lambda s, i: torch.index_select(s.w, 0, i.view(-1)).view(2, 3, 3), w=r(20, 3)),
                               (2, 3)),
    "view then lookup": (lambda: Ids(lambda s, i: s.e(i.reshape(3, 2).long()), e=nn.Embedding(20, 4)), (1, 6)),
}


@pytest.mark.parametrize("case", sorted(ID_CASES))
def test_token_ids_lower_to_exact_lookups(case: str) -> None:
    """Bit for bit torch's rows; the input's range is the smallest table's rows."""
    build, shape = ID_CASES[case]
    torch.manual_seed(0)
    module = build().eval()
    graph = lowered_ids(module, shape)
    rows = min(p.shape[0] for p in graph.params if p.name not in graph.constants)
    assert [(i.dtype, i.id_range) for i in graph.inputs] == [("int64", (0, rows))]
    assert "embedding" in {n.op for n in graph.nodes}
    ids = torch.randint(0, rows, (3,) + shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        theirs = np.stack([module(i).numpy() for i in ids])
    np.testing.assert_array_equal(execute(graph, {graph.inputs[0].name: ids.numpy()})[graph.outputs[0]], theirs)


@pytest.mark.parametrize("fn, words", [
    (lambda s, i: s.e(i) * i.unsqueeze(-1), "reads the token ids 'unsqueeze' as numbers (aten.mul.Tensor)"),
    (lambda s, i: s.e(i + 1), "reads the token ids 'ids' as numbers (aten.add.Tensor)"),
    (lambda s, i: (s.e.weight * 2)[i], "looks up token ids in 'mul', which is computed; the table must be a module parameter"),
    (lambda s, i: s.e.weight[:, i], "a table's rows at token ids (table[ids])"),
    (lambda s, i: s.e.weight * 2, "the integer input 'ids' is read by no embedding lookup"),
])
def test_token_ids_outside_a_lookup_are_refused(fn: Callable[..., torch.Tensor], words: str) -> None:
    with pytest.raises(FrontendError, match=words.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        lowered_ids(Ids(fn, e=nn.Embedding(10, 3)), (1, 4))


def test_load_torch_is_deterministic() -> None:
    spec = f"{REPO / 'examples/zoo/gpt_block/model.py'}:gpt_block"
    assert dumps(load_torch(spec)) == dumps(load_torch(spec))


def test_supported_ops_cover_the_catalog_families() -> None:
    names = set(supported_ops())
    for op in ("linear", "addmm", "conv2d", "convolution", "batch_norm", "_native_batch_norm_legit_no_training",
               "scaled_dot_product_attention", "layer_norm", "softmax", "max_pool2d", "avg_pool2d", "cat", "select",
               "silu", "hardtanh", "clamp", "hardswish", "hardsigmoid", "mean"):
        assert f"aten::{op}" in names


# ---- rebinding from a state_dict, torch-free ------------------------------------------------------

def test_bind_state_dict_keeps_constants_and_skips_counters(tmp_path: Path) -> None:
    module = Fn(lambda s, x: s.bn(x) * 0.5, bn=_with_stats(nn.BatchNorm1d(3)))
    graph = lowered(module, (2, 3))
    other = _with_stats(nn.BatchNorm1d(3))
    with torch.no_grad():
        other.running_var.add_(1)
    torch.save({f"bn.{k}": v for k, v in other.state_dict().items()}, tmp_path / "sd.pt")
    assert "bn.num_batches_tracked" in load_tensors(tmp_path / "sd.pt")
    bound, _ = load_checkpoint(graph, tmp_path / "sd.pt")
    assert dict(bound.metadata)[CONSTANTS_KEY] == "mul.const"
    assert bound.param("mul.const").array == np.float32(0.5)
    assert np.array_equal(bound.param("bn.running_var").array, other.running_var.numpy())


@pytest.mark.parametrize("zip_format", [True, False])
def test_training_checkpoint_of_a_data_parallel_model_binds(tmp_path: Path, zip_format: bool) -> None:
    """torch.save({'epoch', 'state_dict': DataParallel(model).state_dict(), 'optimizer'}) as a .bin:
    the parameters are found under 'state_dict.module.', and the bound graph computes the trained model."""
    trained = InPlaceResNet()
    optimizer = torch.optim.SGD(trained.parameters(), lr=0.1, momentum=0.9)
    trained(torch.randn(2, 3, 8, 8)).sum().backward()
    optimizer.step()
    path = tmp_path / "pytorch_model.bin"
    torch.save({"epoch": 7, "arch": "resnet", "state_dict": nn.DataParallel(trained).state_dict(),
                "optimizer": optimizer.state_dict(), "best_acc1": torch.tensor(0.5)}, path,
               _use_new_zipfile_serialization=zip_format)
    loaded = read_checkpoint(lowered(InPlaceResNet(), (1, 3, 8, 8)), path)
    assert "'state_dict.module.'" in loaded.note
    x = torch.randn(4, 1, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        want = np.stack([trained.eval()(s).numpy() for s in x])
    np.testing.assert_allclose(execute(loaded.graph, {"x": x.numpy()})["linear"], want, rtol=TOL, atol=TOL)


def test_checkpoint_reader_needs_no_torch(tmp_path: Path) -> None:
    """The state_dict is read in a process where importing torch fails."""
    torch.save(nn.Linear(3, 2).state_dict(), tmp_path / "sd.pt")
    script = f"""
import sys
sys.modules["torch"] = None  # any `import torch` now raises ImportError
from pytorch2lean.checkpoints import load_tensors
tensors = load_tensors({str(tmp_path / 'sd.pt')!r})
print(sorted((k, v.shape) for k, v in tensors.items()))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stdout.strip() == "[('bias', (2,)), ('weight', (2, 3))]"


@pytest.mark.lean
def test_selections_of_many_elements_check_in_lean(tmp_path: Path) -> None:
    """relu6 and maximum over 4096 elements: their pad + max pool layout stays within Lean's recursion depth."""
    from pytorch2lean.lean import export_project, lean_check
    from pytorch2lean.lean.toolchain import find_toolchain

    toolchain = find_toolchain()
    if toolchain is None:
        pytest.skip("no Lean toolchain (set PYTORCH2LEAN_LEAN or install one)")
    graph = lowered(Fn(lambda s, x: torch.maximum(F.relu6(x), x.flip(-1))), (1, 4, 32, 32))
    result = lean_check(export_project(graph, tmp_path / "p", checkpoint_sha256="none"), toolchain=toolchain)
    assert result.ok, result.report()
