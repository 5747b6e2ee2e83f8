"""Exact rational arrays as machine-word limbs: the integer arithmetic of the batched tree check.

A `Wide` array holds exact rationals num / den with one common denominator `den` (a Python int)
and each numerator as 16-bit limbs in int64: num = sum_i d[i] 2^(16 i), the limbs below the top in
[0, 2^16), the top limb (it carries the sign) in [-2^15, 2^15). This is the normal form every
operation returns; its limb count is the least that holds every element of the array. The limb
axis comes first, so each limb of the whole array is one contiguous block for NumPy's passes.

Every operation is exact, by these bounds (all proven from the normal form, none assumed):
- sums and products of limbs are formed in int64 and stay below 2^62 in magnitude (each bound is
  stated where it is used), so no int64 operation overflows; `_normal` then carries them back
  into limbs, and its carries stay below 2^47;
- a matrix product runs on float64 BLAS over limbs (the Ozaki-scheme argument, as in
  `numeric.intmat`): a limb product is below 2^32 and a dot product of k of them below k 2^32 <=
  2^53 for k <= 2^21, so every partial sum, in whatever order BLAS forms it, is an integer that
  float64 holds exactly.
Nothing is rounded anywhere, so a `Wide` computation gives the very integers Python ints would,
with NumPy passes over limbs in place of one interpreter step per element: a split tree's leaves
are checked together, their numbers stacked along the first axis.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, NamedTuple, Sequence

import numpy as np

from ..numeric.intmat import int_digits, join_limbs

BITS = 16
BASE = 1 << BITS
MASK = BASE - 1
HALF = BASE >> 1
MAX_INNER = 2**21  # a float64 dot product of this many limb products stays exact
FLOAT_SUMS = 2**21  # p n at most, for p dot products of n limb products added in float64 (below 2^53)
MAX_LIMBS = 512  # limbs per operand of a product at most: a sum of that many limb products stays below 2^62


class Wide(NamedTuple):
    """Exact rationals d / den, d in 16-bit limbs along the first axis of `d` (see the module docstring)."""

    d: np.ndarray  # int64, shape (limbs, *shape), in normal form
    den: int  # > 0

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.d.shape[1:])

    @property
    def limbs(self) -> int:
        return int(self.d.shape[0])

    def __getitem__(self, index: Any) -> "Wide":
        """Elements selected along the array's axes (never the limb axis)."""
        return Wide(self.d[(slice(None),) + (index if isinstance(index, tuple) else (index,))], self.den)

    def reshape(self, shape: Sequence[int]) -> "Wide":
        return Wide(self.d.reshape((self.limbs,) + tuple(shape)), self.den)

    def broadcast_to(self, shape: Sequence[int]) -> "Wide":
        return Wide(np.broadcast_to(self.d, (self.limbs,) + tuple(shape)), self.den)


def zeros(shape: Sequence[int]) -> Wide:
    return Wide(np.zeros((1,) + tuple(shape), dtype=np.int64), 1)


def of_ints(values: Any, den: int = 1) -> Wide:
    """An array of Python ints (object dtype) or of int64, over `den`, in normal form."""
    a = np.asarray(values)
    if a.dtype != np.dtype(object):
        a64 = a.astype(np.int64)
        raw = np.stack([(a64 >> (BITS * i)) & MASK for i in range(3)] + [a64 >> (3 * BITS)])
        return Wide(_normal(raw), den)  # 3 unsigned limbs and the signed rest: |top| < 2^15
    digits = int_digits(a.reshape(-1))  # (n, limbs), in normal form already
    return Wide(np.ascontiguousarray(digits.T).reshape((digits.shape[1],) + a.shape), den)


def of_fractions(values: Any) -> Wide:
    """An object array of exact rationals (Fractions or ints) over the lcm of their denominators."""
    a = np.asarray(values, dtype=object)
    flat = a.reshape(-1).tolist()
    dens = [q.denominator for q in flat]
    den = math.lcm(*set(dens)) if flat else 1
    nums = np.empty(len(flat), dtype=object)
    nums[:] = [q.numerator * (den // d) for q, d in zip(flat, dens)]
    return of_ints(nums.reshape(a.shape), den)


def _normal(raw: np.ndarray) -> np.ndarray:
    """Limb sums (int64, each of magnitude below 2^62) carried into normal form: the same numerator.

    Each step takes c = limb + carry (|carry| < 2^47 by induction, so |c| < 2^62 + 2^47 < 2^63),
    keeps its low 16 bits and carries the rest (an arithmetic shift: floor division, the sign
    kept). Limbs are added while the carry is neither 0 nor -1, then the carry (0 or -1) is the
    sign limb; top limbs that only repeat the sign are dropped.
    """
    n = raw.shape[0]
    out = np.empty((n + 4,) + raw.shape[1:], dtype=np.int64)  # room for the carry's limbs (below 2^47: 3) and the sign
    carry = np.zeros(raw.shape[1:], dtype=np.int64)
    for i in range(n):
        np.add(raw[i], carry, out=carry)
        np.bitwise_and(carry, MASK, out=out[i, ...])
        np.right_shift(carry, BITS, out=carry)
    while np.any((carry != 0) & (carry != -1)):
        np.bitwise_and(carry, MASK, out=out[n, ...])
        np.right_shift(carry, BITS, out=carry)
        n += 1
    out[n] = carry
    n += 1
    while n > 1:  # drop the top limb while the limb below, made signed, holds both: below + top 2^16 in [-2^15, 2^15)
        merged = out[n - 2] + out[n - 1] * BASE
        if merged.size and (merged.min() < -HALF or merged.max() >= HALF):
            break
        out[n - 2] = merged
        n -= 1
    return out[:n]


def reduced(a: Wide) -> Wide:
    """The same numbers with low limbs that are zero in every element dropped, the denominator
    divided by 2^16 for each (while it is a multiple of 2^16): exact products of dyadics gather
    such zeros (a slope 1 over a denominator 2^30), and every later operation would carry them."""
    drop = 0
    while drop < a.limbs - 1 and a.den % BASE ** (drop + 1) == 0 and not np.any(a.d[drop]):
        drop += 1
    return a if drop == 0 else Wide(a.d[drop:], a.den // BASE ** drop)


def _lifted(d: np.ndarray, rank: int) -> np.ndarray:
    """Limbs of an array of fewer than `rank` axes with size-1 axes inserted after the limb axis,
    so that NumPy broadcasts arrays by their trailing axes, as it would without limbs."""
    missing = rank - (d.ndim - 1)
    return d if missing <= 0 else d.reshape((d.shape[0],) + (1,) * missing + d.shape[1:])


def _padded(d: np.ndarray, limbs: int) -> np.ndarray:
    """The same numerators with `limbs` limbs: zeros above (a numerator is sum_i d[i] 2^(16 i) with
    every limb read as the signed int it is, whatever the count, so zero limbs add nothing)."""
    extra = limbs - d.shape[0]
    return d if extra <= 0 else np.concatenate([d, np.zeros((extra,) + d.shape[1:], dtype=np.int64)])


def times_int(a: Wide, k: int) -> Wide:
    """a's numerators times the Python int k >= 1 (the denominator unchanged): a scalar product."""
    if k == 1:
        return a
    return Wide(_product(a, of_ints(np.array(k, dtype=object))), a.den)


def _common(a: Wide, b: Wide) -> tuple[np.ndarray, np.ndarray, int]:
    """a and b over the lcm of their denominators, as limbs of one count."""
    den = math.lcm(a.den, b.den)
    a, b = times_int(a, den // a.den), times_int(b, den // b.den)
    limbs, rank = max(a.limbs, b.limbs), max(len(a.shape), len(b.shape))
    return _padded(_lifted(a.d, rank), limbs), _padded(_lifted(b.d, rank), limbs), den


def add(a: Wide, b: Wide) -> Wide:
    """a + b, broadcasting (limbs below 2^16 each: their sum below 2^17)."""
    x, y, den = _common(a, b)
    return Wide(_normal(x + y), den)


def sub(a: Wide, b: Wide) -> Wide:
    """a - b, broadcasting."""
    x, y, den = _common(a, b)
    return Wide(_normal(x - y), den)


def neg(a: Wide) -> Wide:
    return Wide(_normal(-a.d), a.den)


def mul(a: Wide, b: Wide) -> Wide:
    """a * b elementwise, broadcasting."""
    return reduced(Wide(_product(a, b), a.den * b.den))


def _product(a: Wide, b: Wide) -> np.ndarray:
    """The limbs of the numerators' product: each limb pair's product (below 2^32) added at the
    sum of their places; a place gathers at most min(limbs) <= MAX_LIMBS of them, below 2^41."""
    if a.limbs < b.limbs:
        a, b = b, a
    if b.limbs > MAX_LIMBS:
        raise OverflowError(f"a product of {b.limbs}-limb numbers")
    shape = np.broadcast_shapes(a.shape, b.shape)
    x, y = _lifted(a.d, len(shape)), _lifted(b.d, len(shape))
    if b.limbs <= 3:  # b's numerators as int64: when below 2^46, a's limbs (below 2^16) times them stay below 2^62
        narrow = sum(y[j] << (BITS * j) for j in range(b.limbs))
        if np.all(np.abs(narrow) < 2**46):
            return _normal(x * narrow)
    raw = np.zeros((a.limbs + b.limbs - 1,) + shape, dtype=np.int64)
    for j in range(b.limbs):
        limb = y[j]
        if np.any(limb):
            raw[j:j + a.limbs] += x * limb
    return _normal(raw)


def matmul(a: Wide, w: Wide) -> Wide:
    """a (..., n) times the matrix w (n, m), exactly: every limb of a against every limb of w in
    one float64 BLAS product (exact for n <= MAX_INNER, see the module docstring), then the limb
    pairs added at their places: at most p = min(limbs) of them, each below n 2^32, so in float64
    while p n <= 2^21 (every partial sum an integer below 2^53), else in int64 (below 2^62)."""
    n, m = w.shape
    if n > MAX_INNER or min(a.limbs, w.limbs) > MAX_LIMBS:
        raise OverflowError(f"a product over {n} terms of {a.limbs}- and {w.limbs}-limb numbers")
    lead = a.shape[:-1]
    rows = math.prod(lead)
    right = np.moveaxis(w.d, 0, 1).reshape((n, w.limbs * m)).astype(np.float64)
    pairs = (a.d.reshape((a.limbs * rows, n)).astype(np.float64) @ right).reshape((a.limbs, rows, w.limbs, m))
    exact_in_float = min(a.limbs, w.limbs) * n <= FLOAT_SUMS
    if not exact_in_float:
        pairs = pairs.astype(np.int64)
    raw = np.zeros((a.limbs + w.limbs - 1, rows, m), dtype=pairs.dtype)
    for j in range(w.limbs):
        raw[j:j + a.limbs] += pairs[:, :, j]
    return reduced(Wide(_normal(raw.astype(np.int64)).reshape((-1,) + lead + (m,)), a.den * w.den))


def total(a: Wide, axis: int = -1) -> Wide:
    """The sum along an axis of the array: N limbs below 2^16 sum below 2^62 for N < 2^46."""
    axis = axis % len(a.shape)
    return Wide(_normal(a.d.sum(axis=axis + 1)), a.den)


def sign(a: Wide) -> np.ndarray:
    """-1, 0 or 1 per element (the top limb carries the sign; zero has every limb zero)."""
    return np.where(a.d[-1] < 0, -1, np.any(a.d != 0, axis=0).astype(np.int64))


def where(mask: np.ndarray, a: Wide, b: Wide) -> Wide:
    """a where mask, else b (elementwise, broadcasting)."""
    x, y, den = _common(a, b)
    return Wide(_normal(np.where(mask, x, y)), den)  # mask broadcasts against the trailing axes


def positive_part(a: Wide) -> Wide:
    """max(a, 0): a where it is positive, else 0."""
    return Wide(_normal(np.where(sign(a) > 0, a.d, 0)), a.den)


def nonnegative(a: Wide) -> np.ndarray:
    """a >= 0 per element: the top limb carries the sign."""
    return a.d[-1] >= 0


def fractions(a: Wide) -> np.ndarray:
    """The numbers as an object array of Fractions (for the few a check reports or reads per leaf)."""
    out = np.empty(math.prod(a.shape), dtype=object)
    out[:] = [Fraction(n, a.den) for n in join_limbs(a.d.reshape((a.limbs, -1))).tolist()]
    return out.reshape(a.shape)
