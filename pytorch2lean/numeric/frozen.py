"""Values derived from read-only arrays, computed once per array.

The exact checker meets the same parameters in every leaf of a split tree: their limbs
(`numeric.intmat`) and their integer sign parts (`ops.base.by_sign`) are derived again and again
from arrays that cannot change. A read-only array (numpy refuses to write into it, so what was
derived from it cannot go stale) is known by its memory, shape, strides and start; the entry is
kept while that memory lives.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, TypeVar

import numpy as np

T = TypeVar("T")
_CACHE: dict[tuple[Any, ...], tuple[Any, Any]] = {}  # (tag, view) -> (weak reference to its memory, value)


def derived(tag: str, a: np.ndarray, compute: Callable[[np.ndarray], T]) -> T:
    """compute(a), remembered under `tag` when `a` is read-only (computed afresh otherwise)."""
    if a.flags.writeable:
        return compute(a)
    owner = a if a.base is None else a.base
    key = (tag, id(owner), a.shape, a.strides, a.__array_interface__["data"][0])
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is owner:
        return hit[1]
    value = compute(a)
    for stale in [k for k, (ref, _) in _CACHE.items() if ref() is None]:
        del _CACHE[stale]
    try:
        _CACHE[key] = (weakref.ref(owner), value)
    except TypeError:  # memory that cannot be weakly referenced is simply not cached
        pass
    return value


def frozen(a: np.ndarray) -> np.ndarray:
    """`a`, made read-only (so values derived from it may be remembered)."""
    a.flags.writeable = False
    return a
