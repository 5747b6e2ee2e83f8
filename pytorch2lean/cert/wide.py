"""Exact rational arrays as machine-word limbs: the integer arithmetic of the exact checks' back-
substitution (cert/limbsub.py) and of the batched tree check (cert/batch.py).

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
  `numeric.intmat`): a 16-bit limb times a constant matrix's limb of b bits (`operand`: b as
  wide as the inner length k allows) is below 2^(16 + b), and a dot product of k of them below
  k 2^(16 + b) <= 2^53, so every partial sum, in whatever order BLAS forms it, is an integer
  that float64 holds exactly.
Nothing is rounded anywhere, so a `Wide` computation gives the very integers Python ints would,
with NumPy passes over limbs in place of one interpreter step per element.
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
MAX_LIMBS = 512  # limbs per operand of a product at most: a sum of that many limb products stays below 2^62
MAX_PAIRS = 256  # limb pairs of one `matmul` pass at most: 2 of them per pair at a place, each below 2^53, stay below 2^62


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
        if a64.size == 0 or (a64.min() >= -HALF and a64.max() < HALF):  # one signed limb: the normal form already
            return Wide(a64.reshape((1,) + a64.shape), den)
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
    kept). Three more limbs take the last carry (below 2^47), which leaves 0 or -1: the sign.
    Then `_trimmed` drops the top limbs that only repeat the sign.
    """
    n = raw.shape[0]
    out = np.empty((n + 3,) + raw.shape[1:], dtype=np.int64)
    carry = np.zeros(raw.shape[1:], dtype=np.int64)
    for i in range(n + 3):
        if i < n:
            np.add(raw[i], carry, out=carry)
        np.bitwise_and(carry, MASK, out=out[i, ...])
        np.right_shift(carry, BITS, out=carry)
    return _trimmed(out, carry)


def _trimmed(out: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """The numerators sum_i out[i] 2^(16 i) + sign 2^(16 m) (m limbs in [0, 2^16), sign 0 or -1
    per element) in the least limbs that hold every element, the top one signed.

    A limb above an element's digits holds ext = 0 (sign 0) or 2^16 - 1 (sign -1). With k the
    highest limb where some element differs from its ext, every element fits in k + 1 limbs,
    unless an element differing there has bit 15 of that limb unlike its sign: then k + 2. With
    L limbs kept, the limbs above add up to sign 2^(16 L), so the top limb becomes out[L-1] + sign 2^16.
    L never exceeds m when the top limb's bit 15 is the sign, as it is after `_normal`'s last carry.
    """
    ext = sign & MASK
    m, top = out.shape[0], -1
    for start in (max(0, m - 4), 0):  # the top four limbs (the carry's and the highest sum's) first, then all
        used = np.flatnonzero((out[start:] != ext).reshape((m - start, -1)).any(axis=1))
        if used.size:
            top = start + int(used[-1])
            break
    keep = 1
    if top >= 0:
        at = out[top]
        keep = top + 1 + int(np.any((at != ext) & ((at >= HALF) != (sign < 0))))
    kept = out[:keep]
    kept[keep - 1] += sign * BASE
    return kept


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
    """a's numerators times the Python int k >= 1 (the denominator unchanged): a scalar product.

    Denominators are brought to their lcm by such products again and again (dyadic certificate
    numbers: k a power of two), so the common cases make no limbs of k: below 2^46, k times a
    limb (below 2^16) stays below 2^62, one int64 product per limb; 2^(16 q + r) is q zero limbs
    below a times 2^r."""
    if k == 1:
        return a
    if k < 2**46:
        return Wide(_normal(a.d * k), a.den)
    if k & (k - 1) == 0:
        q, r = divmod(k.bit_length() - 1, BITS)
        return Wide(_normal(np.concatenate([np.zeros((q,) + a.d.shape[1:], dtype=np.int64), a.d << r])), a.den)
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


def add_all(parts: Sequence[Wide]) -> Wide:
    """The sum of one or more arrays (broadcasting), over the lcm of their denominators: each
    part's limbs (below 2^16) added as they are and carried once, for fewer than 2^46 parts."""
    den = math.lcm(*(p.den for p in parts))
    scaled = [times_int(p, den // p.den) for p in parts]
    limbs, rank = max(p.limbs for p in scaled), max(len(p.shape) for p in scaled)
    raw = sum(_padded(_lifted(p.d, rank), limbs) for p in scaled)
    return Wide(_normal(np.asarray(raw)), den)


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


class Operand(NamedTuple):
    """A constant matrix w (n, m) made ready for `matmul` once (a layer's weights, met by every
    row block): its numerators cut into limbs of `bits` bits, the widest that keep a float64 dot
    product of n limb products with a's 16-bit limbs exact (n 2^(16 + bits) <= 2^53), laid out
    as the BLAS operand (n, limbs * m). Wider limbs than 16 bits mean fewer limb pairs: a 45-bit
    weight of a 256-wide layer takes 2 limbs of 29 bits, not 3 of 16."""

    blas: np.ndarray  # float64 (n, limbs * m): column block j holds limb j of every entry
    limbs: int
    bits: int
    shape: tuple[int, int]
    den: int


def operand(w: Wide) -> Operand:
    """w (n, m) as a `matmul` operand: digits of `bits` bits, the lower ones in [0, 2^bits), the
    top one signed in [-2^(bits-1), 2^(bits-1)), the least count that holds every entry."""
    n, m = w.shape
    bits = max(BITS, 37 - max(n - 1, 1).bit_length())  # n <= 2^ceil(log2 n): n 2^(16 + bits) <= 2^53
    nums = join_limbs(w.d.reshape((w.limbs, -1)))
    least, most = (min(nums.tolist()), max(nums.tolist())) if nums.size else (0, 0)
    limbs = 1
    while not -(1 << (bits * limbs - 1)) <= least or not most < 1 << (bits * limbs - 1):
        limbs += 1
    digits = [(nums >> (bits * j)) & ((1 << bits) - 1) for j in range(limbs - 1)] + [nums >> (bits * (limbs - 1))]
    stacked = np.stack([np.asarray(d.tolist(), dtype=np.float64).reshape((n, m)) for d in digits], axis=1)
    return Operand(stacked.reshape((n, limbs * m)), limbs, bits, (n, m), w.den)


def matmul(a: Wide, w: Wide | Operand) -> Wide:
    """a (..., n) times the matrix w (n, m), exactly: every 16-bit limb of a against every limb
    of w (`operand`) in one float64 BLAS product (each dot product an integer below 2^53, exact
    whatever the order of summation), then each limb pair, read as int64, added at its place:
    pair (i, j) weighs 2^(16 i + bits j) = 2^(16 (i + q) + r) with r < 16, so it is split into
    its low 16 bits and the rest, each shifted by r (below 2^31 and 2^52) and added at limbs
    i + q and i + q + 1. A place gathers at most 2 la lw of them: below 2^62 for la lw <= 256."""
    op = w if isinstance(w, Operand) else operand(w)
    n, m = op.shape
    if n > MAX_INNER or op.limbs > MAX_PAIRS:
        raise OverflowError(f"a product over {n} terms of {a.limbs}- and {op.limbs}-limb numbers")
    if a.limbs * op.limbs > MAX_PAIRS:
        return _by_limb_blocks(a, op)
    lead = a.shape[:-1]
    rows = math.prod(lead)
    pairs = (a.d.reshape((a.limbs * rows, n)).astype(np.float64) @ op.blas).astype(np.int64)
    pairs = pairs.reshape((a.limbs, rows, op.limbs, m))
    raw = np.zeros((a.limbs + (op.bits * (op.limbs - 1)) // BITS + 2, rows, m), dtype=np.int64)
    for j in range(op.limbs):
        q, r = divmod(op.bits * j, BITS)
        pair = pairs[:, :, j]
        if r == 0:
            raw[q:q + a.limbs] += pair
        else:
            raw[q:q + a.limbs] += (pair & MASK) << r
            raw[q + 1:q + 1 + a.limbs] += (pair >> BITS) << r
    limbs = _normal(raw)
    return reduced(Wide(limbs.reshape((limbs.shape[0],) + lead + (m,)), a.den * op.den))


def _by_limb_blocks(a: Wide, op: Operand) -> Wide:
    """`matmul` for an `a` of too many limbs for one pass: a = sum_k a_k 2^(16 k s) over blocks
    a_k of s limbs (s lw <= MAX_PAIRS; each limb below 2^16 in magnitude, all `matmul` asks of
    them), each block's product shifted by its k s zero limbs, and the products added."""
    size = max(1, MAX_PAIRS // op.limbs)
    parts = []
    for k in range(0, a.limbs, size):
        product = matmul(Wide(a.d[k:k + size], a.den), op)
        shift = np.zeros((k,) + product.d.shape[1:], dtype=np.int64)  # 2^(16 k): k zero limbs below
        parts.append(Wide(_normal(np.concatenate([shift, product.d])), product.den))
    return add_all(parts)


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


def negative_part(a: Wide) -> Wide:
    """min(a, 0): a where it is negative (its top limb carries the sign), else 0. Each element's
    limbs are a's or zeros, in normal form but for their count: only the top is trimmed."""
    d = np.where(a.d[-1] < 0, a.d, 0)
    sign = d[-1] >> BITS  # the signed top limb's sign: 0 or -1
    d[-1] &= MASK
    return Wide(_trimmed(np.concatenate([d, (sign & MASK)[None]]), sign), a.den)


def nonnegative(a: Wide) -> np.ndarray:
    """a >= 0 per element: the top limb carries the sign."""
    return a.d[-1] >= 0


def fractions(a: Wide) -> np.ndarray:
    """The numbers as an object array of Fractions (for the few a check reports or reads per leaf)."""
    out = np.empty(math.prod(a.shape), dtype=object)
    out[:] = [Fraction(n, a.den) for n in join_limbs(a.d.reshape((a.limbs, -1))).tolist()]
    return out.reshape(a.shape)
