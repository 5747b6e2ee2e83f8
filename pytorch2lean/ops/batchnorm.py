"""Inference-mode batch normalization along a channel axis.

y = (x - mean) / sqrt(var + epsilon) * scale + bias, with the running statistics as parameters.
The square root has no exact rational meaning, so the op is not exact: its Lean denotation goes
through a stated enclosure (or a frontend folds it into the neighbouring linear layer).
"""

from __future__ import annotations

from typing import Any, Sequence

from ..ir.graph import Shape
from .base import Attr, Attrs, Operand, OpSpec, fail, norm_axis, register, sample_axis, unbatch_param

STATS = ("scale", "bias", "mean", "var")


def _batchnorm_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    x = shapes[0]
    axis = norm_axis(attrs["axis"], len(x))
    for name, shape in zip(STATS, shapes[1:]):
        if shape != (x[axis],):
            raise fail(f"{name} must have shape [{x[axis]}] (the channels of x {list(x)} along axis {axis}), got {list(shape)}")
    return x


def _batchnorm(xp: Any, attrs: Attrs, x: Any, scale: Any, bias: Any, mean: Any, var: Any) -> Any:
    rank = x.ndim - 1
    trailing = (1,) * (rank - sample_axis(attrs["axis"], rank))

    def along(p: Any) -> Any:
        return unbatch_param(p).reshape((-1,) + trailing)

    factor = along(scale) / xp.sqrt(along(var) + attrs["epsilon"])
    return (x - along(mean)) * factor + along(bias)


register(OpSpec(
    "batchnorm",
    (Operand("x"),) + tuple(Operand(n, param=True) for n in STATS),
    _batchnorm_shape, _batchnorm, exact=False, lean="batchnorm",
    doc="Inference batch normalization (ONNX BatchNormalization, torch BatchNorm in eval mode).",
    attrs={
        "epsilon": Attr("float", 1e-5, "added to var before the square root"),
        "axis": Attr("int", 1, "the channel axis of the per-sample shape (1 for ONNX [N, C, ...] inputs)"),
    },
))
