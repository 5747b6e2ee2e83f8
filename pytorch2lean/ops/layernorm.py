"""Layer normalization over the trailing axes [axis, rank).

y = (x - mean) / sqrt(var + epsilon) * scale + bias, with mean and (biased) variance taken over
the normalized axes of each sample separately. Scale and bias must have exactly the normalized
trailing shape: ONNX would broadcast smaller ones, but a model that relies on that is rare and a
silent broadcast would hide a wrongly bound parameter. Not exact (sqrt).

Interval rule (sound, loose): with d = x - mean over N normalized entries and t = d / sqrt(var + eps),
  * d_i = x_i - (sum_j x_j) / N has exact interval bounds from x's;
  * var <= mean_j max(d_lo_j^2, d_hi_j^2), and |t_i| <= sqrt(N - 1) always (var >= d_i^2 / (N - 1));
  * t_i >= d_lo_i / sqrt(var_max + eps) when d_lo_i >= 0, else t_i >= max(d_lo_i / sqrt(eps), -sqrt(N - 1));
    the upper bound mirrors it. Then y = t * scale + bias splits on the sign of scale.

VJP: with t the normalized x, s = sqrt(var + eps) and u = g * scale, the gradient is
(u - mean(u) - t mean(u t)) / s, means over the normalized axes.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..ir.graph import Shape
from .base import Attr, Attrs, Interval, Operand, OpSpec, fail, norm_axis, register, sample_axis, unbatch_param

OPERANDS = (Operand("x"), Operand("scale", param=True), Operand("bias", param=True, optional=True))


def _layernorm_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    x = shapes[0]
    axis = norm_axis(attrs["axis"], len(x))
    for name, s in zip(("scale", "bias"), shapes[1:]):
        if tuple(s) != x[axis:]:
            raise fail(
                f"{name} shape {list(s)} must equal the normalized shape {list(x[axis:])} "
                f"(axes {axis}.. of x {list(x)})"
            )
    return x


def _normalized(xp: Any, attrs: Attrs, x: Any) -> tuple[Any, Any, tuple[int, ...]]:
    """(x - mean) / sqrt(var + epsilon), that root, and the normalized array axes."""
    axes = tuple(range(sample_axis(attrs["axis"], x.ndim - 1), x.ndim))
    centered = x - xp.mean(x, axis=axes, keepdims=True)
    root = xp.sqrt(xp.mean(centered * centered, axis=axes, keepdims=True) + attrs["epsilon"])
    return centered / root, root, axes


def _layernorm(xp: Any, attrs: Attrs, x: Any, scale: Any, bias: Any = None) -> Any:
    y = _normalized(xp, attrs, x)[0] * unbatch_param(scale)
    return y if bias is None else y + unbatch_param(bias)


def _layernorm_vjp(xp: Any, attrs: Attrs, g: Any, x: Any, scale: Any, bias: Any = None) -> tuple[Any, ...]:
    t, root, axes = _normalized(xp, attrs, x)
    u = g * unbatch_param(scale)
    mean = lambda v: xp.mean(v, axis=axes, keepdims=True)  # noqa: E731
    return ((u - mean(u) - t * mean(u * t)) / root, None) + ((None,) if bias is not None else ())


def _layernorm_interval(xp: Any, attrs: Attrs, x: Interval, scale: Interval, bias: Interval | None = None) -> Interval:
    axes = tuple(range(sample_axis(attrs["axis"], x.lo.ndim - 1), x.lo.ndim))
    n = math.prod(x.lo.shape[a] for a in axes)
    total_lo, total_hi = (xp.sum(v, axis=axes, keepdims=True) for v in x)
    d_lo = x.lo - (total_hi - x.hi + x.lo) / n  # x_i (1 - 1/N) - (the others' sum) / N, smallest
    d_hi = x.hi - (total_lo - x.lo + x.hi) / n
    var_max = xp.mean(xp.maximum(d_lo * d_lo, d_hi * d_hi), axis=axes, keepdims=True)
    root_eps, cap = math.sqrt(attrs["epsilon"]), math.sqrt(n - 1)
    t_lo = xp.where(d_lo >= 0, d_lo / xp.sqrt(var_max + attrs["epsilon"]), xp.maximum(d_lo / root_eps, -cap))
    t_hi = xp.where(d_hi <= 0, d_hi / xp.sqrt(var_max + attrs["epsilon"]), xp.minimum(d_hi / root_eps, cap))
    s = unbatch_param(scale.lo)
    lo, hi = xp.where(s >= 0, t_lo * s, t_hi * s), xp.where(s >= 0, t_hi * s, t_lo * s)
    return Interval(lo, hi) if bias is None else Interval(lo, hi).map(lambda v: v + unbatch_param(bias.lo))


register(OpSpec(
    "layernorm", OPERANDS, _layernorm_shape, _layernorm, exact=False, lean="layernorm",
    doc="(x - mean) / sqrt(var + epsilon) * scale + bias over axes [axis, rank) (ONNX LayerNormalization).",
    interval=_layernorm_interval, vjp=_layernorm_vjp,
    attrs={
        "axis": Attr("int", -1, "first normalized axis; all later axes are normalized too"),
        "epsilon": Attr("float", 1e-5, "added to the variance before the square root"),
    },
))
