"""Softmax along one axis.

The maximum along the axis is subtracted before exponentiating: mathematically a no-op, it keeps
every exponent at most 0 so that no term overflows to inf (softmax([1000, 1001]) stays finite).
Softmax has no exact rational meaning (`exact=False`); Lean denotes it through a stated enclosure.

Interval rule: softmax_i = 1 / (1 + sum_{j != i} exp(x_j - x_i)) falls as any other x_j grows and
rises with x_i, so it lies in [1 / (1 + sum_{j != i} exp(u_j - l_i)), 1 / (1 + sum_{j != i} exp(l_j - u_i))]
for x in [l, u]: the standard bound, tight at a vertex for each end. The sums are taken as a
log-sum-exp, so nothing overflows; a lower bound that underflows to 0 stays sound, and the
upper bound's exponents are capped at EXP_CAP, which only raises it and keeps it above 0.

VJP: with s = softmax(x), the gradient is s * (g - sum(g * s)) along the axis.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..ir.graph import Shape
from .base import Attr, Attrs, Interval, Operand, OpSpec, norm_axis, register, sample_axis

EXP_CAP = 600.0  # exp(-600 - log n) is far above float64's underflow; capping only raises an upper bound


def _softmax_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    norm_axis(attrs["axis"], len(shapes[0]))
    return shapes[0]


def _softmax(xp: Any, attrs: Attrs, x: Any) -> Any:
    axis = sample_axis(attrs["axis"], x.ndim - 1)
    e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def _softmax_vjp(xp: Any, attrs: Attrs, g: Any, x: Any) -> tuple[Any]:
    s = _softmax(xp, attrs, x)
    return (s * (g - xp.sum(g * s, axis=sample_axis(attrs["axis"], x.ndim - 1), keepdims=True)),)


def softmax_bounds(xp: Any, lo: Any, hi: Any, others: Any) -> Interval:
    """Bounds of softmax along the last axis, for x in [lo, hi], over the entries `others` allows.

    others[..., i, j] (broadcast against (..., n, n)) says that entry j is a term of entry i's
    denominator besides i itself: the off-diagonal for a plain softmax, and the off-diagonal
    among kept entries for a masked one (`ops.masked_softmax`), which shares this rule.
    """
    def bound(own: Any, other: Any, cap: float) -> Any:
        """1 / (1 + sum_{j allowed} exp(other_j - own_i)) along the last axis, as exp(-logsumexp(0, ...))."""
        d = xp.where(others, xp.minimum(other[..., None, :] - own[..., :, None], cap), -xp.inf)
        m = xp.maximum(xp.max(d, axis=-1), 0)
        lse = m + xp.log(xp.exp(-m) + xp.sum(xp.exp(d - m[..., None]), axis=-1))
        return xp.exp(-lse)

    return Interval(bound(lo, hi, xp.inf), bound(hi, lo, EXP_CAP))


def _softmax_interval(xp: Any, attrs: Attrs, x: Interval) -> Interval:
    axis = sample_axis(attrs["axis"], x.lo.ndim - 1)
    lo, hi = (xp.moveaxis(v, axis, -1) for v in x)
    return softmax_bounds(xp, lo, hi, ~xp.eye(lo.shape[-1], dtype=bool)).map(lambda v: xp.moveaxis(v, -1, axis))


register(OpSpec(
    "softmax", (Operand("x"),), _softmax_shape, _softmax, exact=False, lean="softmax",
    doc="exp(x - max) / sum(exp(x - max)) along axis (ONNX Softmax, opset 13).", interval=_softmax_interval, vjp=_softmax_vjp,
    attrs={"axis": Attr("int", -1, "the normalized axis, negative counts from the end")},
))
