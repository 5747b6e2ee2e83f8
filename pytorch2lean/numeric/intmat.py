"""Exact products of big-integer matrices, computed by float64 BLAS on 16-bit limbs.

The exact certificate checker multiplies matrices of Python ints (rationals scaled to one
denominator, `ops.base.Scaled`) that are far wider than 64 bits. NumPy's object-array matmul
makes one Python multiply and add per term: k*m*n interpreter steps. Here every operand is cut
once into 16-bit limbs (x = sum_i x_i 2^(16 i): its two's complement digits, the top one signed), every pair of limb
matrices is multiplied by BLAS in float64, and the pieces are joined with carries in int64. Ints
become limbs and limbs ints a 64-bit word at a time, by NumPy's object loops (`int_digits`,
`join_limbs`): a few C-level steps per element and word, no interpreter step per element.

Why float64 is exact here: a limb product is below 2^32 in magnitude and a dot product of k of
them below k 2^32 <= 2^53 for k <= 2^21, so every partial sum is an integer float64 represents
exactly, whatever the order of summation (the Ozaki-scheme argument). Limb products of equal
weight are summed in int64: at most 2^53 times the number of limb pairs, far below 2^63.
"""

from __future__ import annotations

import numpy as np

from .frozen import derived, frozen

LIMB_BITS = 16
MAX_INNER = 2**21  # k at most this keeps every float64 dot product of limbs exact
MAX_PAIRS = 512  # limb pairs of one weight at most: their int64 sum stays below 2^62
BASE = 1 << LIMB_BITS
HALF = BASE >> 1
WORD_MASK = (1 << 64) - 1


def int_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """numpy.matmul(a, b) for object arrays of Python ints of rank >= 2, exactly; None when an
    operand holds anything but ints (or the inner dimension is too long): then use numpy.matmul."""
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] > MAX_INNER:
        return None
    la, lb = limbs(a), limbs(b)
    if la is None or lb is None or min(la.shape[-1], lb.shape[-1]) > MAX_PAIRS:
        return None
    (m, k), (n, na, nb) = a.shape[-2:], (b.shape[-1], la.shape[-1], lb.shape[-1])
    stack_a = np.moveaxis(la, -1, -3).reshape(a.shape[:-2] + (na * m, k))  # rows: (limb i, row)
    stack_b = np.moveaxis(lb, -1, -2).reshape(b.shape[:-2] + (k, nb * n))  # columns: (limb j, column)
    pairs = np.matmul(stack_a, stack_b).astype(np.int64)  # every limb pair at once, exactly
    pairs = pairs.reshape(pairs.shape[:-2] + (na, m, nb, n))
    lead = pairs.shape[:-4]
    acc = np.zeros((na + nb - 1,) + lead + (m, n), dtype=np.int64)  # the limb axis first: whole blocks per pass
    for i in range(na):  # limb pair (i, j) has weight 2^(16 (i + j))
        for j in range(nb):
            acc[i + j] += pairs[..., i, :, j, :]
    return join_limbs(acc)


def limbs(a: np.ndarray) -> np.ndarray | None:
    """The 16-bit limbs of an int object array, float64 of shape (*a.shape, L); None if an
    element is not an int. Read-only arrays (a layer's weights, met again for every row block)
    are converted once (`numeric.frozen`)."""
    return derived("limbs", a, _limbs)


def _limbs(a: np.ndarray) -> np.ndarray | None:
    flat = a.reshape(-1)
    if set(map(type, flat)) - {int}:
        return None
    digits = int_digits(flat).astype(np.float64)
    return frozen(digits.reshape(a.shape + (digits.shape[-1],)))  # shared when cached: nobody may change it


def int_digits(flat: np.ndarray) -> np.ndarray:
    """The 16-bit digits of a flat object array of Python ints: int64 of shape (n, L), x = sum_i
    d[i] 2^(16 i), the digits below the top in [0, 2^16), the top one signed in [-2^15, 2^15),
    with the least L that holds every element (at least 1).

    In bulk, never an interpreter step per element: the ints are cut into 64-bit words by NumPy's
    object loops (x mod 2^64 and x >> 64, floor division: the sign stays in the rest) until the
    rest fits int64; each word is read as four little-endian digits."""
    words, rest = [], flat
    while True:
        try:
            top = rest.astype(np.int64)
            break
        except OverflowError:  # some element needs another word
            words.append((rest & WORD_MASK).astype("<u8"))
            rest = rest >> 64
    n = flat.shape[0]
    digits = np.concatenate([w.view("<u2").reshape(n, 4) for w in words] + [top.astype("<i8").view("<u2").reshape(n, 4)],
                            axis=1).astype(np.int64)
    digits[:, -1] -= (digits[:, -1] >= HALF) * BASE  # the top digit carries the sign
    return _trimmed(digits)


def _trimmed(digits: np.ndarray) -> np.ndarray:
    """The same numbers with top digits that only repeat the sign dropped (n, L): while the digit
    below, made signed, holds both (below + top 2^16 in [-2^15, 2^15)), it becomes the top."""
    count = digits.shape[1]
    while count > 1:
        merged = digits[:, count - 2] + digits[:, count - 1] * BASE
        if merged.size and (merged.min() < -HALF or merged.max() >= HALF):
            break
        digits[:, count - 2] = merged
        count -= 1
    return digits[:, :count]


def join_limbs(acc: np.ndarray) -> np.ndarray:
    """sum_s acc[s] 2^(16 s) as Python ints: carries in int64 into 16-bit digits, the digits
    read four at a time as 64-bit words, and the words joined by NumPy's object loops (top word
    signed: r 2^64 + w per lower word), never an interpreter step per element."""
    digits, carry = [], np.zeros(acc.shape[1:], dtype=np.int64)
    s = 0
    while s < acc.shape[0] or np.any((carry != 0) & (carry != -1)):
        c = carry + (acc[s] if s < acc.shape[0] else 0)
        digits.append((c & 0xFFFF).astype("<u2"))
        carry = c >> LIMB_BITS  # floor division: the carry keeps the sign
        s += 1
    sign = np.where(carry < 0, 0xFFFF, 0).astype("<u2")  # carry is now 0 or -1: the sign digit and above
    digits += [sign] * (4 - len(digits) % 4)  # whole words, the top one's top digit the sign
    table = np.ascontiguousarray(np.stack(digits, axis=-1).reshape(-1, len(digits)))
    words = table.view("<u8")  # (n, words): little-endian, word k holds digits 4k .. 4k+3
    out = words[:, -1].view("<i8").astype(object)
    for k in range(words.shape[1] - 2, -1, -1):
        out = (out << 64) + words[:, k].astype(object)
    return out.reshape(acc.shape[1:])
