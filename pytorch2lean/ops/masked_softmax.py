"""Softmax along the last axis over the entries a constant mask keeps; the others are exactly 0.

masked_softmax(x, mask!): `mask` is a parameter that broadcasts to x by NumPy rules (without
growing x). An entry is *kept* where its mask value is nonzero and *masked* where it is 0 (any
nonzero value keeps: a 0/1 mask is what the frontends make; note that an additive mask of 0 and
-1e9 is NOT a keep-mask and would keep exactly the entries it means to hide). Each row of x
(along the last axis) gets the softmax of its kept entries, and every masked entry is exactly 0,
in every backend: the kernel selects with `xp.where`, it does not rely on exp underflowing. This
is attention's causal masking made literal: torch adds -inf, which a finite parameter cannot
hold, and a finite additive mask leaves masked keys a positive weight in exact arithmetic.

A fully masked row (no kept entry) gives zeros, not torch's NaN: the softmax of no entries is
taken as the empty sum's share of nothing. The shape rule cannot see mask values, so this is
the defined meaning rather than an error; the causal masks of the torch frontend keep column 0
of every row and never produce one.

Like softmax, the row maximum (over kept entries) is subtracted before exponentiating. Not exact
(`exp`); Lean denotes it through the enclosure (`maskedSoftmaxEval` in `Denote.lean`).

Interval rule: masked entries are exactly [0, 0]; a kept entry has softmax's bound
(`softmax.softmax_bounds`) with the sum over the other *kept* entries of its row only.
VJP: with s the result, s * (g - sum(g * s)) along the last axis, as for softmax (masked
entries have s = 0, so no gradient); the mask, a parameter, gets none.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..errors import ShapeError
from ..ir.graph import Shape
from .base import Attrs, Interval, Operand, OpSpec, broadcast, fail, lift, register, zeros_like
from .softmax import softmax_bounds


def _shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    x, mask = tuple(shapes[0]), tuple(shapes[1])
    if not x:
        raise fail(f"x must have at least one axis (the softmax runs along the last), got shape {list(x)}")
    try:
        grown = broadcast(x, mask)
    except ShapeError:
        grown = None
    if grown != x:
        raise fail(f"mask shape {list(mask)} does not broadcast to x shape {list(x)}")
    return x


def _keep(xp: Any, x: Any, mask: Any) -> Any:
    """The kept entries, as booleans of x's shape (the mask lifted to x's rank, then broadcast)."""
    return xp.broadcast_to(lift(mask, x.ndim - 1) != 0, x.shape)


def _masked_softmax(xp: Any, attrs: Attrs, x: Any, mask: Any) -> Any:
    keep = _keep(xp, x, mask)
    floor = xp.min(xp.where(keep, x, xp.inf), axis=-1, keepdims=True)  # for masked entries: below every kept one
    top = xp.max(xp.where(keep, x, floor), axis=-1, keepdims=True)  # so a masked NaN or inf changes nothing
    zero = zeros_like(xp, x)
    e = xp.where(keep, xp.exp(xp.where(keep, x - top, zero)), zero)
    total = xp.sum(e, axis=-1, keepdims=True)
    return xp.where(keep, e / xp.where(total != 0, total, 1), zero)  # masked: 0, also in a NaN row; none kept: 0


def _masked_softmax_vjp(xp: Any, attrs: Attrs, g: Any, x: Any, mask: Any) -> tuple[Any, None]:
    s = _masked_softmax(xp, attrs, x, mask)
    return s * (g - xp.sum(g * s, axis=-1, keepdims=True)), None


def _masked_softmax_interval(xp: Any, attrs: Attrs, x: Interval, mask: Interval) -> Interval:
    keep = _keep(xp, x.lo, mask.lo)
    others = ~xp.eye(keep.shape[-1], dtype=bool) & keep[..., None, :]
    bounds = softmax_bounds(xp, x.lo, x.hi, others)
    return bounds.map(lambda v: xp.where(keep, v, 0.0))


register(OpSpec(
    "masked_softmax", (Operand("x"), Operand("mask", param=True)), _shape, _masked_softmax, exact=False,
    lean="maskedSoftmax",
    doc="softmax along the last axis over the entries where the mask (a parameter broadcasting to x) is "
        "nonzero; masked entries are exactly 0, a fully masked row is all 0.",
    interval=_masked_softmax_interval, vjp=_masked_softmax_vjp,
))
