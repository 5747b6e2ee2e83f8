"""numeric.frozen: values derived from read-only arrays are computed once, from writable ones always."""

from __future__ import annotations

import gc
from fractions import Fraction

import numpy as np

from pytorch2lean.numeric import frozen as fz
from pytorch2lean.ops.base import as_integers


def counting():
    calls: list[int] = []

    def compute(a: np.ndarray) -> int:
        calls.append(1)
        return int(a.sum())

    return calls, compute


def test_read_only_arrays_are_derived_once_and_writable_ones_every_time() -> None:
    calls, compute = counting()
    a = np.arange(6)
    assert fz.derived("t", a, compute) == fz.derived("t", a, compute) == 15 and len(calls) == 2
    fz.frozen(a)
    assert fz.derived("t", a, compute) == fz.derived("t", a, compute) == 15 and len(calls) == 3
    assert fz.derived("t", a[::2], compute) == 6 and len(calls) == 4  # a view is its own entry
    assert fz.derived("other", a, compute) == 15 and len(calls) == 5  # so is another tag


def test_entries_go_with_their_memory() -> None:
    calls, compute = counting()
    a = fz.frozen(np.arange(4))
    fz.derived("gone", a, compute)
    key = next(k for k in fz._CACHE if k[0] == "gone")
    del a
    gc.collect()
    fz.derived("gone", fz.frozen(np.arange(3)), compute)  # an insertion drops dead entries
    assert key not in fz._CACHE


def test_as_integers_is_the_same_for_read_only_and_writable_arrays() -> None:
    values = [Fraction(1, 4), Fraction(-3, 8), Fraction(5)]
    w, r = np.array(values, dtype=object), fz.frozen(np.array(values, dtype=object))
    other = np.array([Fraction(1, 3)], dtype=object)
    for _ in range(2):
        s, (a, b) = as_integers(r, other)
        assert s == 24 and list(a) == [6, -9, 120] and list(b) == [8]
        assert as_integers(w, other)[0] == s and list(as_integers(w, other)[1][0]) == list(a)
