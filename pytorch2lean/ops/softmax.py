"""Softmax along one axis.

The maximum along the axis is subtracted before exponentiating: mathematically a no-op, it keeps
every exponent at most 0 so that no term overflows to inf (softmax([1000, 1001]) stays finite).
Softmax has no exact rational meaning (`exact=False`); Lean denotes it through a stated enclosure.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..ir.graph import Shape
from .base import Attr, Attrs, Operand, OpSpec, norm_axis, register, sample_axis


def _softmax_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    norm_axis(attrs["axis"], len(shapes[0]))
    return shapes[0]


def _softmax(xp: Any, attrs: Attrs, x: Any) -> Any:
    axis = sample_axis(attrs["axis"], x.ndim - 1)
    e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


register(OpSpec(
    "softmax", (Operand("x"),), _softmax_shape, _softmax, exact=False, lean="softmax",
    doc="exp(x - max) / sum(exp(x - max)) along axis (ONNX Softmax, opset 13).",
    attrs={"axis": Attr("int", -1, "the normalized axis, negative counts from the end")},
))
