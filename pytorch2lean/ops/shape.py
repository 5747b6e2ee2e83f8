"""Shape ops: flatten, reshape, transpose, concat, slice, pad.

These ops only move values (pad also writes its constant), so they are exact: the kernels use
reshapes, indexing, concatenation and `xp.pad` only, and the very same code runs on float32
arrays (NumPy, CuPy) and on object arrays of Fractions. Every per-sample axis `a` is array axis
`a + 1`: the runtime's leading batch axis is never reshaped, permuted, sliced or padded. Each
kernel recomputes its geometry with the op's own shape rule, so the rule and the kernel cannot
drift apart. Moving values moves their bounds, so every shape op's interval rule is
`base.monotone` (exact; pad's constant is its own bound), and every VJP is `base.moves_vjp`
(the gradient flows back along the moves; pad's constant cells take none).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..ir.graph import Shape
from .base import (Attr, Attrs, Operand, OpSpec, fail, monotone, moves_backward, moves_vjp, norm_axis, register,
                   sample_axis)

X = (Operand("x"),)
PAD_MODES = ("constant", "reflect", "edge")


def _batched(x: Any, shape: Shape) -> Any:
    """x reshaped to the per-sample `shape`, its batch axis kept in front."""
    return x.reshape((x.shape[0],) + tuple(shape))


# ---- flatten ------------------------------------------------------------------------------

def _flatten_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    """ONNX Flatten: the axes before `axis` and the axes from `axis` on each collapse to one."""
    x, axis = shapes[0], attrs["axis"]
    if not -len(x) <= axis <= len(x):
        raise fail(f"flatten axis {axis} out of range [{-len(x)}, {len(x)}] for rank {len(x)}")
    split = axis + len(x) if axis < 0 else axis
    return (math.prod(x[:split]), math.prod(x[split:]))


def _flatten(xp: Any, attrs: Attrs, x: Any) -> Any:
    return _batched(x, _flatten_shape(attrs, [x.shape[1:]]))


# ---- reshape ------------------------------------------------------------------------------

def _reshape_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    """A fully static target: frontends resolve ONNX's -1 and 0 before the IR sees them."""
    x, target = shapes[0], tuple(attrs["shape"])
    if any(d < 1 for d in target):
        raise fail(f"reshape target {list(target)} must list positive sizes (frontends resolve -1 and 0)")
    if math.prod(target) != math.prod(x):
        raise fail(f"reshape to {list(target)} needs {math.prod(target)} elements, x has {math.prod(x)}")
    return target


def _reshape(xp: Any, attrs: Attrs, x: Any) -> Any:
    return _batched(x, attrs["shape"])


# ---- transpose ----------------------------------------------------------------------------

def _transpose_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    x, perm = shapes[0], attrs["perm"]
    if sorted(perm) != list(range(len(x))):
        raise fail(f"perm {list(perm)} is not a permutation of 0..{len(x) - 1} (x has rank {len(x)})")
    return tuple(x[p] for p in perm)


def _transpose(xp: Any, attrs: Attrs, x: Any) -> Any:
    return xp.transpose(x, (0,) + tuple(p + 1 for p in attrs["perm"]))


# ---- concat -------------------------------------------------------------------------------

def _concat_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    """All operands agree in rank and in every dimension but `axis`, whose sizes add up."""
    first = shapes[0]
    axis = norm_axis(attrs["axis"], len(first))
    rest = lambda s: s[:axis] + s[axis + 1:]  # noqa: E731
    for s in shapes[1:]:
        if len(s) != len(first) or rest(s) != rest(first):
            raise fail(f"concat operands must agree in every dimension but axis {axis}: {list(first)} and {list(s)}")
    return first[:axis] + (sum(s[axis] for s in shapes),) + first[axis + 1:]


def _concat(xp: Any, attrs: Attrs, *xs: Any) -> Any:
    """Parameters carry a size-1 batch axis; they are broadcast to the activations' batch size."""
    batch = max(a.shape[0] for a in xs)
    axis = sample_axis(attrs["axis"], xs[0].ndim - 1)
    return xp.concatenate([xp.broadcast_to(a, (batch,) + tuple(a.shape[1:])) for a in xs], axis=axis)


# ---- slice --------------------------------------------------------------------------------

def _slice_ranges(attrs: Attrs, x: Shape) -> dict[int, range]:
    """The indices kept on each sliced axis, by ONNX Slice rules.

    ONNX adds the dimension to a negative start or end once, then clamps both to [0, d] for a
    positive step and to [0, d - 1] (start) / [-1, d - 1] (end) for a negative one: exactly what
    Python's `slice.indices` does, so that is the rule used.
    """
    starts, ends, axes, steps = (tuple(attrs[k]) for k in ("starts", "ends", "axes", "steps"))
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise fail(
            f"slice lists must have equal lengths: starts {len(starts)}, ends {len(ends)}, "
            f"axes {len(axes)}, steps {len(steps)}"
        )
    norm = [norm_axis(a, len(x)) for a in axes]
    if len(set(norm)) != len(norm):
        raise fail(f"slice axes {list(axes)} name an axis twice (rank {len(x)})")
    if 0 in steps:
        raise fail(f"slice steps {list(steps)} must be nonzero")
    ranges = {a: range(*slice(s, e, k).indices(x[a])) for a, s, e, k in zip(norm, starts, ends, steps)}
    for a, s, e, k in zip(norm, starts, ends, steps):
        if not ranges[a]:
            raise fail(f"slice {s}:{e}:{k} of axis {a} (size {x[a]}) is empty")
    return ranges


def _slice_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    ranges = _slice_ranges(attrs, shapes[0])
    return tuple(len(ranges[a]) if a in ranges else d for a, d in enumerate(shapes[0]))


def _as_slice(r: range) -> slice:
    """A normalized range as a basic slice; stop -1 (a negative step past index 0) is None."""
    return slice(r.start, r.stop if r.stop >= 0 else None, r.step)


def _slice(xp: Any, attrs: Attrs, x: Any) -> Any:
    ranges = _slice_ranges(attrs, tuple(x.shape[1:]))
    index = tuple(_as_slice(ranges[a]) if a in ranges else slice(None) for a in range(x.ndim - 1))
    return x[(slice(None),) + index]


# ---- pad ----------------------------------------------------------------------------------

def _pad_widths(attrs: Attrs, x: Shape) -> list[tuple[int, int]]:
    """(begin, end) per axis from ONNX's layout [x1_begin, x2_begin, ..., x1_end, x2_end, ...].

    Negative pads (ONNX's cropping) are refused: a frontend lowers them to a slice. Reflection
    needs each pad below the axis size, as ONNX and PyTorch require.
    """
    pads, mode, rank = tuple(attrs["pads"]), attrs["mode"], len(x)
    if mode not in PAD_MODES:
        raise fail(f"pad mode must be one of {', '.join(PAD_MODES)}; got {mode!r}")
    if len(pads) != 2 * rank:
        raise fail(f"pads {list(pads)} must have 2 * rank = {2 * rank} entries for x of rank {rank}")
    if any(p < 0 for p in pads):
        raise fail(f"pads {list(pads)} must be non-negative (lower cropping to slice)")
    widths = list(zip(pads[:rank], pads[rank:]))
    for a, (begin, end) in enumerate(widths):
        if mode == "reflect" and max(begin, end) >= x[a]:
            raise fail(f"reflect pad {max(begin, end)} on axis {a} must be smaller than its size {x[a]}")
    return widths


def _pad_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    widths = _pad_widths(attrs, shapes[0])
    return tuple(d + begin + end for d, (begin, end) in zip(shapes[0], widths))


def _pad(xp: Any, attrs: Attrs, x: Any) -> Any:
    widths = [(0, 0)] + _pad_widths(attrs, tuple(x.shape[1:]))
    if attrs["mode"] == "constant":
        return xp.pad(x, widths, mode="constant", constant_values=attrs["value"])
    return xp.pad(x, widths, mode=attrs["mode"])


register(OpSpec(
    "flatten", X, _flatten_shape, _flatten, exact=True, lean="flatten", interval=monotone(_flatten), vjp=moves_vjp(_flatten),
    affine_backward=moves_backward(_flatten),
    doc="ONNX Flatten: (prod(d[:axis]), prod(d[axis:])).",
    attrs={"axis": Attr("int", 1, "first axis of the second factor, in [-rank, rank]")},
))
register(OpSpec(
    "reshape", X, _reshape_shape, _reshape, exact=True, lean="reshape", interval=monotone(_reshape), vjp=moves_vjp(_reshape),
    affine_backward=moves_backward(_reshape),
    doc="Row-major reshape to a static target of the same size (Squeeze/Unsqueeze lower here).",
    attrs={"shape": Attr("ints", doc="target per-sample shape, positive sizes only")},
))
register(OpSpec(
    "transpose", X, _transpose_shape, _transpose, exact=True, lean="transpose", interval=monotone(_transpose),
    vjp=moves_vjp(_transpose), affine_backward=moves_backward(_transpose),
    doc="Permute the per-sample axes: output axis i is input axis perm[i].",
    attrs={"perm": Attr("ints", doc="a permutation of 0..rank-1")},
))
register(OpSpec(
    "concat", X, _concat_shape, _concat, exact=True, lean="concat", interval=monotone(_concat), variadic=True,
    vjp=moves_vjp(_concat), affine_backward=moves_backward(_concat),
    doc="Join operands along axis; all other dimensions must agree.",
    attrs={"axis": Attr("int", doc="the joining axis, negative counts from the end")},
))
register(OpSpec(
    "slice", X, _slice_shape, _slice, exact=True, lean="slice", interval=monotone(_slice), vjp=moves_vjp(_slice),
    affine_backward=moves_backward(_slice),
    doc="ONNX Slice: per listed axis, indices start, start+step, ... before end (clamped).",
    attrs={
        "starts": Attr("ints", doc="first index per axis; negative counts from the end"),
        "ends": Attr("ints", doc="exclusive end per axis; clamped to the axis"),
        "axes": Attr("ints", doc="the sliced axes, each once"),
        "steps": Attr("ints", doc="nonzero stride per axis; negative walks backwards"),
    },
))
register(OpSpec(
    "pad", X, _pad_shape, _pad, exact=True, lean="pad", interval=monotone(_pad), vjp=moves_vjp(_pad, {"value": 0.0}),
    affine_backward=moves_backward(_pad, {"value": 0.0}),
    doc="ONNX Pad: widen each axis by constant, reflected or edge values.",
    attrs={
        "pads": Attr("ints", doc="[x1_begin, x2_begin, ..., x1_end, x2_end, ...], non-negative"),
        "mode": Attr("str", "constant", "constant | reflect | edge"),
        "value": Attr("float", 0.0, "the fill value of constant mode"),
    },
))
