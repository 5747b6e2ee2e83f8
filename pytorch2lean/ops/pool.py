"""2-D max and average pooling with ONNX output sizes (padding, ceil_mode, dilation for max).

Both loop over the kernel taps like conv2d (the window geometry lives in ops/conv.py). Padding is
never a value: max pooling carries a mask of real cells so a padding cell never wins, and average
pooling divides the sum of the cells it counts by that integer count, so both stay exact. A window
that would cover padding only has no meaning and is rejected by the shape rule.
Both are nondecreasing in every input cell, so their interval rule is `base.monotone`.
Average pooling is linear, so CROWN moves through it by its VJP; max pooling is bounded by lines
chosen from its operand's bounds (`OpSpec.bound_backward`, see `_maxpool2d_lines`).
VJPs scatter each window's gradient back through the taps: average pooling spreads it over the
window divided by the count, max pooling routes it to the first tap holding the maximum.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

from ..ir.graph import Shape
from .base import Attr, Attrs, Interval, Operand, OpSpec, Scaled, as_integers, from_vjp, monotone, register
from .conv import Span, check_image, check_ints, crop, pad_zeros, spans, taps, total


def _pool_spans(attrs: Attrs, hw: Sequence[int]) -> tuple[Span, Span]:
    return spans(attrs, hw, attrs["kernel"], attrs["ceil_mode"])


def _pool_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    x = shapes[0]
    check_image(x)
    check_ints(attrs)
    h, w = _pool_spans(attrs, x[-2:])
    for span in (h, w):
        span.check_fits()
        span.check_touches_input()
    return x[:-2] + (h.out, w.out)


def _windows(xp: Any, attrs: Attrs, x: Any, count_pad: bool) -> Iterator[tuple[Any, np.ndarray]]:
    """(values, counted) per tap: the padded input's cells under the tap, and which of them count.

    A cell counts when it is a real input cell, or (count_pad) a cell of the stated padding;
    cells past the stated padding, read only in ceil mode, never count.
    """
    h, w = _pool_spans(attrs, x.shape[-2:])
    lo_h, lo_w = (0, 0) if count_pad else (h.begin, w.begin)
    hi_h = h.begin + h.size + (h.end if count_pad else 0)
    hi_w = w.begin + w.size + (w.end if count_pad else 0)
    rows, cols = h.inside(lo_h, hi_h), w.inside(lo_w, hi_w)
    padded = pad_zeros(xp, x, h, w)
    for i, j, idx in taps(h, w):
        yield padded[idx], rows[h.tap(i)][:, None] & cols[w.tap(j)][None, :]


def _running_max(xp: Any, attrs: Attrs, x: Any, skip: Any = None) -> tuple[Any, Any, Any]:
    """Per window: the largest real cell of x, whether the window had a real cell, and the first
    tap holding the largest (an integer array). `skip` (a tap index per window) leaves that tap out."""
    best = seen = pick = None
    for t, (values, real) in enumerate(_windows(xp, attrs, x, count_pad=False)):
        mask = xp.asarray(real) if skip is None else xp.asarray(real) & (skip != t)
        if best is None:
            best, seen, pick = values, mask, xp.zeros(values.shape, dtype=np.int64)
            continue
        take = mask & (~seen | (values > best) | (values != values))  # a NaN wins and stays, as in torch
        best, seen, pick = xp.where(take, values, best), seen | mask, xp.where(take, t, pick)
    return best, seen, pick


def _maxpool2d(xp: Any, attrs: Attrs, x: Any) -> Any:
    return _running_max(xp, attrs, x)[0]


def _avgpool2d(xp: Any, attrs: Attrs, x: Any) -> Any:
    windows = list(_windows(xp, attrs, x, count_pad=attrs["count_include_pad"]))
    count = total(counted.astype(np.int64) for _, counted in windows)
    # padding cells hold zero, so summing every tap adds exactly the counted cells
    return total(values for values, _ in windows) / xp.asarray(count.astype(x.dtype))


def _scatter(xp: Any, attrs: Attrs, shape: tuple[int, ...], dtype: Any, shares: Iterator[Any]) -> Any:
    """An input-shaped array (`shape`) from one output-shaped share per tap, added into the cells the tap read."""
    h, w = _pool_spans(attrs, shape[-2:])
    gx = xp.zeros(tuple(shape[:-2]) + (h.padded, w.padded), dtype=dtype)
    for (_, _, idx), share in zip(taps(h, w), shares):
        gx[idx] += share
    return crop(gx, h, w)


def _maxpool2d_vjp(xp: Any, attrs: Attrs, g: Any, x: Any) -> tuple[Any]:
    best = _maxpool2d(xp, attrs, x)
    routed = xp.zeros(best.shape, dtype=bool)

    def shares() -> Iterator[Any]:
        nonlocal routed
        for values, real in _windows(xp, attrs, x, count_pad=False):
            win = xp.asarray(real) & (values == best) & ~routed
            routed = routed | win
            yield g * win

    return (_scatter(xp, attrs, x.shape, x.dtype, shares()),)


def _maxpool2d_lines(xp: Any, attrs: Attrs, A: Any, x: Interval) -> tuple[tuple[Any], Any]:
    """CROWN through max pooling (`OpSpec.bound_backward`): per window, lines from the operand's bounds.

    Lower line: y >= x_k for the cell k with the largest lower bound (y is the max of its cells).
    Upper line: y = x_k when k dominates (l_k >= u_j for every other real cell j: then no other
    cell can exceed it), else the constant y <= max_j u_j. A row's positive coefficient takes
    the lower line and a negative one the upper line, so A y >= the moved rows + the constants.
    Choices are comparisons of bounds only, so float and exact passes on the same (stated) bounds
    choose alike. Exact rows arrive as Scaled integers: the bounds are scaled by their common
    denominator, which keeps every comparison, and the results are Scaled again.
    """
    if isinstance(A, Scaled):
        t, (lo, hi) = as_integers(x.lo, x.hi)
        (coeffs,), consts = _maxpool2d_lines(xp, attrs, A.num, Interval(lo, hi))
        return (Scaled(coeffs, A.den),), Scaled(consts, A.den * t)
    lo, hi = x.lo[:, None], x.hi[:, None]  # a row axis
    least, _, pick = _running_max(xp, attrs, lo)
    rival, others, _ = _running_max(xp, attrs, hi, skip=pick)
    dominated = ~others | (least >= rival)
    zero = A.dtype.type(0) if A.dtype != np.dtype(object) else 0
    pos = xp.where(A > 0, A, zero)
    neg = A - pos
    onto = pos + xp.where(dominated, neg, zero)
    consts = xp.where(dominated, zero, neg * _maxpool2d(xp, attrs, hi))
    shape = (max(A.shape[0], lo.shape[0]), A.shape[1]) + tuple(lo.shape[2:])
    coeffs = _scatter(xp, attrs, shape, A.dtype, (onto * (pick == t) for t in range(_taps(attrs))))
    return (coeffs,), consts


def _taps(attrs: Attrs) -> int:
    return attrs["kernel"][0] * attrs["kernel"][1]


def _avgpool2d_vjp(xp: Any, attrs: Attrs, g: Any, x: Any) -> tuple[Any]:
    windows = list(_windows(xp, attrs, x, count_pad=attrs["count_include_pad"]))
    spread = g / xp.asarray(total(counted.astype(np.int64) for _, counted in windows).astype(g.dtype))
    return (_scatter(xp, attrs, x.shape, x.dtype, (spread for _ in windows)),)


WINDOW = {
    "kernel": Attr("ints", doc="window size (height, width)"),
    "stride": Attr("ints", doc="step between windows (height, width)"),
    "padding": Attr("ints", (0, 0, 0, 0), "padding [top, left, bottom, right]; never a value"),
    "ceil_mode": Attr("bool", False, "round the output size up (ONNX ceil_mode)"),
}

register(OpSpec(
    "maxpool2d", (Operand("x"),), _pool_shape, _maxpool2d, exact=True, lean="maxpool2d",
    interval=monotone(_maxpool2d), vjp=_maxpool2d_vjp, bound_backward=_maxpool2d_lines,
    doc="Max over each window of x [N, C, H, W] or [C, H, W] (ONNX MaxPool); padding cells never win.",
    attrs={**WINDOW, "dilation": Attr("ints", (1, 1), "spacing between window taps (height, width)")},
))
register(OpSpec(
    "avgpool2d", (Operand("x"),), _pool_shape, _avgpool2d, exact=True, lean="avgpool2d",
    interval=monotone(_avgpool2d), vjp=_avgpool2d_vjp, affine_backward=from_vjp(_avgpool2d_vjp),
    doc="Mean over each window (ONNX AveragePool): the sum divided by the integer count of counted cells.",
    attrs={**WINDOW, "count_include_pad": Attr("bool", False, "count the stated padding cells in the divisor")},
))
