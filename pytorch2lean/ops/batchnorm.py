"""Inference-mode batch normalization along a channel axis.

y = (x - mean) / sqrt(var + epsilon) * scale + bias, with the running statistics as parameters.
The square root has no exact rational meaning, so the op is not exact: its Lean denotation goes
through a stated enclosure (or a frontend folds it into the neighbouring linear layer).
Per channel it is affine with slope scale / sqrt(var + epsilon), whose sign is the sign of scale:
the interval rule takes the kernel at x's lower end where scale >= 0 and at its upper end elsewhere,
and the VJP multiplies the gradient by that slope.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..ir.graph import Shape
from .base import (Attr, Attrs, Interval, Operand, OpSpec, fail, from_vjp, norm_axis, register, sample_axis,
                   unbatch_param)

STATS = ("scale", "bias", "mean", "var")


def _batchnorm_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    x = shapes[0]
    axis = norm_axis(attrs["axis"], len(x))
    for name, shape in zip(STATS, shapes[1:]):
        if shape != (x[axis],):
            raise fail(f"{name} must have shape [{x[axis]}] (the channels of x {list(x)} along axis {axis}), got {list(shape)}")
    return x


def _along(attrs: Attrs, x: Any, p: Any) -> Any:
    """A per-channel parameter shaped to broadcast along x's channel axis."""
    rank = x.ndim - 1
    trailing = (1,) * (rank - sample_axis(attrs["axis"], rank))
    return unbatch_param(p).reshape((-1,) + trailing)


def _slope(xp: Any, attrs: Attrs, x: Any, scale: Any, var: Any) -> Any:
    """scale / sqrt(var + epsilon), per channel, shaped to broadcast along x."""
    return _along(attrs, x, scale) / xp.sqrt(_along(attrs, x, var) + attrs["epsilon"])


def _batchnorm(xp: Any, attrs: Attrs, x: Any, scale: Any, bias: Any, mean: Any, var: Any) -> Any:
    return (x - _along(attrs, x, mean)) * _slope(xp, attrs, x, scale, var) + _along(attrs, x, bias)


def _batchnorm_vjp(xp: Any, attrs: Attrs, g: Any, x: Any, scale: Any, bias: Any, mean: Any, var: Any) -> tuple[Any, ...]:
    return (g * _slope(xp, attrs, x, scale, var),) + (None,) * len(STATS)


def _batchnorm_interval(xp: Any, attrs: Attrs, x: Interval, *stats: Interval) -> Interval:
    at_lo, at_hi = (_batchnorm(xp, attrs, v, *(s.lo for s in stats)) for v in x)
    rising = _along(attrs, x.lo, stats[0].lo) >= 0
    return Interval(xp.where(rising, at_lo, at_hi), xp.where(rising, at_hi, at_lo))


register(OpSpec(
    "batchnorm",
    (Operand("x"),) + tuple(Operand(n, param=True) for n in STATS),
    _batchnorm_shape, _batchnorm, exact=False, lean="batchnorm", interval=_batchnorm_interval, vjp=_batchnorm_vjp,
    affine_backward=from_vjp(_batchnorm_vjp),
    doc="Inference batch normalization (ONNX BatchNormalization, torch BatchNorm in eval mode).",
    attrs={
        "epsilon": Attr("float", 1e-5, "added to var before the square root"),
        "axis": Attr("int", 1, "the channel axis of the per-sample shape (1 for ONNX [N, C, ...] inputs)"),
    },
))
