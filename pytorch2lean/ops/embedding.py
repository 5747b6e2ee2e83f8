"""Embedding lookup: the rows of a parameter table at an int64 input's token ids.

`embedding(ids, weight)`: for ids of shape S and a table of shape (V, *R), the result has shape
S + R, entry [s] being row ids[s]. This is torch's `embedding`, `weight[ids]` and
`index_select(weight, 0, ids)`, and ONNX's Gather on axis 0. The op only copies table entries, so it is
exact: the kernel is one `take`, the same code on float32 tables and on tables of Fractions.

Ids are typed (`ir.graph.Input`): only an int64 input may be the ids operand, its id range
[lo, hi) lies within the table's V rows (the validator checks hi <= V) and the runtime refuses an
id outside the range, so the kernel never sees an id it cannot look up.

Interval rule: the ids' interval [a, b] per position is the id set {ceil a, ..., floor b} within
[0, V); the result's bounds are the elementwise least and greatest entry over those rows (the hull
of the selected rows), exact: each bound is attained by some id of the set. Rows are reduced once
per distinct id set, as a box of token positions usually repeats a few sets. CROWN bounds the op by
this interval (it is not affine in its ids), and the op passes no gradient: neither ids nor a
parameter table have one.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..ir.graph import Shape
from .base import Attrs, Interval, Operand, OpSpec, Unbounded, fail, register, unbatch_param


def _shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    ids, table = shapes
    if not table:
        raise fail("the embedding table must have at least one axis (its rows)")
    return tuple(ids) + tuple(table[1:])


def _rows(shapes: Sequence[Shape]) -> int:
    """The ids' exclusive bound: the table's row count."""
    return shapes[1][0]


def _embedding(xp: Any, attrs: Attrs, ids: Any, weight: Any) -> Any:
    """Row ids[b, s] of the table at [b, s]; ids are integers (B, *S), the table (1, V, *R)."""
    return xp.take(unbatch_param(weight), ids, axis=0)


_CEIL = np.frompyfunc(math.ceil, 1, 1)
_FLOOR = np.frompyfunc(math.floor, 1, 1)


def _id_sets(lo: Any, hi: Any, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The least and greatest id of each position's set: ceil(lo), floor(hi), clipped to [0, rows).

    Ends are clipped before rounding, so an infinite float end (an unbounded box) rounds too; on
    Fractions (the exact checker) ceil and floor are exact.
    """
    lo, hi = np.asarray(lo), np.asarray(hi)
    least = _CEIL(np.maximum(lo, -1)).astype(np.int64).clip(0, None) if lo.size else lo.astype(np.int64)
    most = _FLOOR(np.minimum(hi, rows)).astype(np.int64).clip(None, rows - 1) if hi.size else hi.astype(np.int64)
    empty = least > most
    if empty.any():
        where = [int(i) for i in np.argwhere(empty)[0]]
        raise Unbounded(f"the ids interval [{lo[tuple(where)]}, {hi[tuple(where)]}] at {where} holds no id of the "
                        f"table's {rows} rows")
    return least, most


def _interval(xp: Any, attrs: Attrs, ids: Interval, weight: Interval) -> Interval:
    """The hull of the table rows each position's ids may select (exact: every bound is some row's entry)."""
    table = unbatch_param(weight.lo)
    if ids.point and np.asarray(ids.lo).dtype.kind in "iu":
        y = _embedding(xp, attrs, ids.lo, weight.lo)
        return Interval(y, y)
    least, most = _id_sets(_host(ids.lo), _host(ids.hi), table.shape[0])
    pairs, which = np.unique(np.stack([least.ravel(), most.ravel()], axis=1), axis=0, return_inverse=True)
    lows = xp.stack([table[a:b + 1].min(axis=0) for a, b in pairs])
    highs = xp.stack([table[a:b + 1].max(axis=0) for a, b in pairs])
    index = xp.asarray(which.reshape(least.shape))
    return Interval(xp.take(lows, index, axis=0), xp.take(highs, index, axis=0))


def _host(a: Any) -> np.ndarray:
    """A NumPy copy of an array that may live on the GPU (ids sets are formed on the host)."""
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)


def _vjp(xp: Any, attrs: Attrs, g: Any, ids: Any, weight: Any) -> tuple[Any, ...]:
    """Neither operand has a gradient: ids are integers, the table a parameter."""
    return None, None


register(OpSpec(
    "embedding", (Operand("ids"), Operand("weight", param=True)), _shape, _embedding, exact=True, lean="embedding",
    interval=_interval, vjp=_vjp, ids=0, id_limit=_rows,
    doc="Rows of a parameter table (V, *R) at int64 token ids of shape S: shape S + R (torch embedding, weight[ids]).",
))
