"""2-D convolution, and the sliding-window geometry it shares with pooling (ops/pool.py).

The kernel lays the kH*kW taps of the filter side by side (im2col) channels last: a strided view
of the zero-padded input, (images, H, W, C), holds every window, copied into rows (on the CPU a
cache-sized block of images at a time), one row per output position with a trailing 1 when there
is a bias. Those rows times the weight, seen as a (kH*kW*C [+ 1], out) matrix with the bias as its
last row, are the convolution and its bias as one GEMM per block and group: (positions, out), a
channels-last result returned as an (images, out, H, W) view of it. A following conv reads it
channels last again without a copy; the kernel's epilogue (`then`, a pointwise op such as relu,
fused by runtime/plan.py) runs on each block of the result while it is in cache. Only views,
copies and matmul are used, so the same code runs in float32 on NumPy and CuPy and exactly on
object arrays of Fractions.
Its interval rule splits the constant filter by sign (`base.weighted`): exact, at four convolutions.
Its VJP is the transposed convolution, through the same tap loop: each tap's gradient, one GEMM
per group with the transposed weight slice, is added into the cells of the padded input it read.
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..ir.graph import Shape
from .base import Attr, Attrs, Operand, OpSpec, fail, from_vjp, register, unbatch_param, weighted

AXES = ("height", "width")


@dataclass(frozen=True)
class Span:
    """A sliding window along one spatial axis, in the coordinates of the padded input."""

    axis: str
    size: int
    kernel: int
    stride: int
    dilation: int
    begin: int
    end: int
    ceil: bool = False

    @property
    def extent(self) -> int:
        """How many input cells one dilated window covers."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def out(self) -> int:
        """ONNX output size; in ceil mode a window starting in the end padding is dropped."""
        room = self.size + self.begin + self.end - self.extent
        if not self.ceil:
            return room // self.stride + 1
        out = -(-room // self.stride) + 1
        return out - 1 if (out - 1) * self.stride >= self.size + self.begin else out

    @property
    def padded(self) -> int:
        """Length of the zero-padded axis: ceil mode may read past the stated end padding."""
        return max(self.size + self.begin + self.end, (self.out - 1) * self.stride + self.extent)

    def check_fits(self) -> None:
        """The dilated kernel must fit in the padded input at least once."""
        total = self.size + self.begin + self.end
        if self.extent > total:
            raise fail(
                f"along {self.axis} the kernel spans {self.extent} cells (kernel {self.kernel}, dilation "
                f"{self.dilation}), larger than the padded input {total} ({self.size} + padding {self.begin}+{self.end})"
            )

    def check_touches_input(self) -> None:
        """Every window must cover at least one real input cell (pooling over padding alone is undefined).
        Window o's first tap at or after the input's start is tap ceil((begin - o*stride) / dilation):
        one test per output position, not one per tap."""
        for o in range(self.out):
            start = self.begin - o * self.stride  # the input's first cell, relative to the window's
            first = max(0, -(-start // self.dilation))
            if first >= self.kernel or first * self.dilation - start >= self.size:
                raise fail(f"along {self.axis} output position {o} pools over padding only")

    def tap(self, i: int) -> slice:
        """The padded-input positions that kernel tap i reads, one per output position."""
        start = i * self.dilation
        return slice(start, start + (self.out - 1) * self.stride + 1, self.stride)

    def inside(self, lo: int, hi: int) -> np.ndarray:
        """A mask over the padded axis: positions in [lo, hi)."""
        pos = np.arange(self.padded)
        return (pos >= lo) & (pos < hi)


INT_ATTRS = {"kernel": (2, 1), "stride": (2, 1), "dilation": (2, 1), "padding": (4, 0)}
MAX_WINDOW = 1 << 16  # no window attribute is larger: a larger one is a mistake, and output sizes stay countable


def check_ints(attrs: Attrs) -> None:
    """Window attributes must list the right number of integers, each at least its minimum."""
    for name, (length, least) in INT_ATTRS.items():
        if name not in attrs:
            continue
        value = list(attrs[name])
        if len(value) != length:
            raise fail(f"attribute {name!r} must list {length} integers, got {value}")
        if min(value) < least:
            raise fail(f"attribute {name!r} must have entries >= {least}, got {value}")
        if max(value) > MAX_WINDOW:
            raise fail(f"attribute {name!r} must have entries <= {MAX_WINDOW}, got {value}")


def spans(attrs: Attrs, hw: Sequence[int], kernel: Sequence[int], ceil: bool = False) -> tuple[Span, Span]:
    """The window along height and width for input spatial size `hw`."""
    stride, dilation = attrs["stride"], attrs.get("dilation", (1, 1))
    top, left, bottom, right = attrs["padding"]
    return tuple(  # type: ignore[return-value]
        Span(AXES[k], hw[k], kernel[k], stride[k], dilation[k], (top, left)[k], (bottom, right)[k], ceil)
        for k in range(2)
    )


def check_image(x: Shape) -> None:
    if len(x) not in (3, 4):
        raise fail(f"x must have shape [N, C, H, W] or [C, H, W], got {list(x)}")


def pad_zeros(xp: Any, x: Any, h: Span, w: Span) -> Any:
    """x with its last two axes zero-padded to (h.padded, w.padded); exact zeros on object arrays."""
    shape = tuple(x.shape[:-2]) + (h.padded, w.padded)
    if x.dtype == np.dtype(object):
        out = np.full(shape, Fraction(0), dtype=object)
    else:
        out = xp.zeros(shape, dtype=x.dtype)
    out[..., h.begin:h.begin + h.size, w.begin:w.begin + w.size] = x
    return out


def taps(h: Span, w: Span) -> Iterator[tuple[int, int, tuple[Any, ...]]]:
    """(i, j, index) for every kernel tap: index slices the padded input's last two axes."""
    for i in range(h.kernel):
        for j in range(w.kernel):
            yield i, j, (Ellipsis, h.tap(i), w.tap(j))


def total(terms: Iterator[Any]) -> Any:
    """The sum of a non-empty stream of arrays (no zero start, so exact sums stay Fractions)."""
    return functools.reduce(operator.add, terms)


def _conv2d_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    x, w = shapes[0], shapes[1]
    check_image(x)
    check_ints(attrs)
    if len(w) != 4:
        raise fail(f"weight must have shape [O, C/groups, kH, kW], got {list(w)}")
    groups, c = attrs["groups"], x[-3]
    if groups < 1 or c % groups or w[0] % groups:
        raise fail(f"groups {groups} must divide the {c} input channels of x and the {w[0]} output channels of weight")
    if w[1] != c // groups:
        raise fail(f"weight has {w[1]} input channels per group, x has {c // groups} ({c} channels, groups {groups})")
    if len(shapes) == 3 and shapes[2] != (w[0],):
        raise fail(f"bias must have shape [{w[0]}] to match weight {list(w)}, got {list(shapes[2])}")
    h, v = spans(attrs, x[-2:], w[-2:])
    h.check_fits()
    v.check_fits()
    return x[:-3] + (w[0], h.out, v.out)


COLUMNS_BYTES = 1 << 20  # im2col columns built per block of images: about a CPU's L2 cache
SHORT_RUN = 64  # bytes: a shorter contiguous run of a window is copied as one item (`_copy_runs`)


def _conv2d(xp: Any, attrs: Attrs, x: Any, weight: Any, bias: Any = None, *,
            then: Callable[[Any], Any] | None = None) -> Any:
    w = unbatch_param(weight)
    o, cg, kh, kw = w.shape
    g = attrs["groups"]
    lead, (c, hgt, wid) = tuple(x.shape[:-3]), x.shape[-3:]
    h, v = spans(attrs, (hgt, wid), (kh, kw))
    images = x.reshape((-1, c, hgt, wid)).transpose(0, 2, 3, 1)  # channels last: a view, no copy
    m, k, rows = images.shape[0], kh * kw * cg, h.out * v.out
    wg = _gemm_weight(xp, w, g, None if bias is None else unbatch_param(bias))
    # On the CPU a block of images at a time is padded and laid out in reused buffers that stay in
    # cache; the padded buffer's border is zeroed once, each block writes only its interior
    step = max(1, COLUMNS_BYTES // (g * k * rows * x.itemsize)) if xp is np else m
    padded = _zeros(xp, (min(step, m), h.padded, v.padded, c), x.dtype)
    columns = xp.empty((padded.shape[0], h.out, v.out, g, wg.shape[1]), dtype=x.dtype)
    columns[..., k:] = 1  # the bias's column, written once
    windows = columns[..., :k].reshape(columns.shape[:4] + (kh, kw, cg))
    source = _windows(xp, padded, h, v, g)
    y = xp.empty((m * rows, o), dtype=xp.result_type(wg, x))
    for start in range(0, m, step):
        n = min(step, m - start)
        padded[:n, h.begin:h.begin + h.size, v.begin:v.begin + v.size] = images[start:start + n]
        _copy_runs(xp, windows[:n], columns, source[:n], padded)
        out = y[start * rows:(start + n) * rows]
        # one GEMM per group for the whole block: (positions, kH * kW * C/groups [+ 1]) times the weight
        xp.matmul(columns[:n].reshape((n * rows, g, -1)).transpose(1, 0, 2), wg,
                  out=out.reshape((n * rows, g, o // g)).transpose(1, 0, 2))
        if then is not None:
            out[...] = then(out)  # while the block's result is still in cache
    y = y.reshape((m, h.out, v.out, o)).transpose(0, 3, 1, 2)  # (images, out, H, W) over channels-last memory
    return y.reshape(lead + (o, h.out, v.out))


def _gemm_weight(xp: Any, w: Any, groups: int, bias: Any) -> Any:
    """The weight as one (kH * kW * C/groups, out/groups) matrix per group, rows in the order of the
    columns (tap row, tap column, channel); with a bias, one more row holds it, so that the column
    of ones beside the windows adds it within the GEMM, not in a pass of its own over the result."""
    o, cg, kh, kw = w.shape
    wg = w.reshape((groups, o // groups, cg, kh, kw)).transpose(0, 3, 4, 2, 1).reshape((groups, -1, o // groups))
    if bias is None:
        return wg
    return xp.concatenate([wg, bias.reshape((groups, 1, o // groups))], axis=1)


def _zeros(xp: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """Zeros of a shape; on object arrays exact zeros."""
    if dtype == np.dtype(object):
        return np.full(shape, Fraction(0), dtype=object)
    return xp.zeros(shape, dtype=dtype)


def _windows(xp: Any, padded: Any, h: Span, w: Span, groups: int) -> Any:
    """A view of a channels-last padded array (N, H, W, C) as (N, H out, W out, groups, kH, kW,
    C/groups), without copying: entry (n, p, q, g, i, j, c) is the cell that tap (i, j) reads in
    channel c of group g for output position (p, q). Every position lies inside the padded axes
    (`Span.padded` makes room for the last window)."""
    sn, sh, sw, sc = padded.strides
    cg = padded.shape[-1] // groups
    shape = (padded.shape[0], h.out, w.out, groups, h.kernel, w.kernel, cg)
    strides = (sn, sh * h.stride, sw * w.stride, sc * cg, sh * h.dilation, sw * w.dilation, sc)
    if xp is np and padded.dtype != np.dtype(object):  # the same view, built without as_strided's detour
        return np.ndarray(shape, padded.dtype, buffer=padded, strides=strides)
    return xp.lib.stride_tricks.as_strided(padded, shape, strides)


def _copy_runs(xp: Any, dst: Any, dst_buffer: Any, src: Any, src_buffer: Any) -> None:
    """dst[...] = src, for strided views dst and src that start at the first element of the
    contiguous arrays dst_buffer and src_buffer.

    NumPy copies a strided view one run of its innermost contiguous axes at a time, at a cost per
    run: a first layer's kW taps of one channel are runs of a few values (4 on an MNIST conv), and
    copying them value by value takes 3-4x as long as copying each short run as one opaque item of
    its size in bytes, which moves the same bytes (not on object arrays: their items are
    references). Runs longer than SHORT_RUN bytes copy as fast as they are.
    """
    run = min(_contiguous_tail(dst), _contiguous_tail(src))
    size = math.prod(src.shape[src.ndim - run:]) * src.itemsize
    if xp is not np or src.dtype == np.dtype(object) or run == 0 or size > SHORT_RUN:
        dst[...] = src
        return
    lead = src.shape[:src.ndim - run]
    item = np.dtype(f"V{size}")
    np.ndarray(lead, item, buffer=dst_buffer, strides=dst.strides[:len(lead)])[...] = \
        np.ndarray(lead, item, buffer=src_buffer, strides=src.strides[:len(lead)])


def _contiguous_tail(a: Any) -> int:
    """How many trailing axes of `a` lie in memory as one contiguous run (0: the last does not)."""
    stride = a.itemsize
    for axis in range(a.ndim - 1, -1, -1):
        if a.strides[axis] != stride and a.shape[axis] != 1:
            return a.ndim - 1 - axis
        stride *= a.shape[axis]
    return a.ndim


def crop(padded: Any, h: Span, w: Span) -> Any:
    """The real cells of a padded array: the inverse of `pad_zeros` (and the VJP of padding)."""
    return padded[..., h.begin:h.begin + h.size, w.begin:w.begin + w.size]


def _conv2d_vjp(xp: Any, attrs: Attrs, g: Any, x: Any, weight: Any, bias: Any = None) -> tuple[Any, ...]:
    w = unbatch_param(weight)
    o, cg, kh, kw = w.shape
    groups = attrs["groups"]
    c, hgt, wid = x.shape[-3:]
    h, v = spans(attrs, (hgt, wid), (kh, kw))
    m = math.prod(x.shape[:-3])
    gy = g.reshape((m, groups, o // groups, h.out * v.out)).transpose(1, 2, 0, 3).reshape((groups, o // groups, -1))
    wt = xp.swapaxes(w.reshape((groups, o // groups, cg, kh, kw)), 1, 2)  # (groups, C/groups, O/groups, kH, kW)
    gx = xp.zeros((groups, cg, m, h.padded, v.padded), dtype=g.dtype)
    for i, j, idx in taps(h, v):
        gx[idx] += xp.matmul(wt[..., i, j], gy).reshape((groups, cg, m, h.out, v.out))
    gx = crop(gx.transpose(2, 0, 1, 3, 4).reshape((m, c, h.padded, v.padded)), h, v)
    return (gx.reshape(x.shape), None) + ((None,) if bias is not None else ())


register(OpSpec(
    "conv2d",
    (Operand("x"), Operand("weight", param=True), Operand("bias", param=True, optional=True)),
    _conv2d_shape, _conv2d, exact=True, lean="conv2d", interval=weighted(_conv2d), vjp=_conv2d_vjp, epilogue=True,
    affine_backward=from_vjp(_conv2d_vjp, factors=(1,)),
    doc="2-D cross-correlation (ONNX Conv, torch Conv2d) over x [N, C, H, W] or [C, H, W]; zero padding.",
    attrs={
        "stride": Attr("ints", (1, 1), "step between windows (height, width)"),
        "padding": Attr("ints", (0, 0, 0, 0), "zero padding [top, left, bottom, right]"),
        "dilation": Attr("ints", (1, 1), "spacing between kernel taps (height, width)"),
        "groups": Attr("int", 1, "channel groups; weight holds C/groups input channels"),
    },
))
