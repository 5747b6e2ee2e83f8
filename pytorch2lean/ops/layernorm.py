"""Layer normalization over the trailing axes [axis, rank).

y = (x - mean) / sqrt(var + epsilon) * scale + bias, with mean and (biased) variance taken over
the normalized axes of each sample separately. Scale and bias must have exactly the normalized
trailing shape: ONNX would broadcast smaller ones, but a model that relies on that is rare and a
silent broadcast would hide a wrongly bound parameter. Not exact (sqrt).
"""

from __future__ import annotations

from typing import Any, Sequence

from ..ir.graph import Shape
from .base import Attr, Attrs, Operand, OpSpec, fail, norm_axis, register, sample_axis, unbatch_param

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


def _layernorm(xp: Any, attrs: Attrs, x: Any, scale: Any, bias: Any = None) -> Any:
    axes = tuple(range(sample_axis(attrs["axis"], x.ndim - 1), x.ndim))
    centered = x - xp.mean(x, axis=axes, keepdims=True)
    var = xp.mean(centered * centered, axis=axes, keepdims=True)
    y = centered / xp.sqrt(var + attrs["epsilon"]) * unbatch_param(scale)
    return y if bias is None else y + unbatch_param(bias)


register(OpSpec(
    "layernorm", OPERANDS, _layernorm_shape, _layernorm, exact=False, lean="layernorm",
    doc="(x - mean) / sqrt(var + epsilon) * scale + bias over axes [axis, rank) (ONNX LayerNormalization).",
    attrs={
        "axis": Attr("int", -1, "first normalized axis; all later axes are normalized too"),
        "epsilon": Attr("float", 1e-5, "added to the variance before the square root"),
    },
))
