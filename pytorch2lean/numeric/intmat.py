"""Exact products of big-integer matrices, computed by float64 BLAS on 16-bit limbs.

The exact certificate checker multiplies matrices of Python ints (rationals scaled to one
denominator, `ops.base.Scaled`) that are far wider than 64 bits. NumPy's object-array matmul
makes one Python multiply and add per term: k*m*n interpreter steps. Here every operand is cut
once into 16-bit limbs (x = sum_i x_i 2^(16 i): its two's complement digits, the top one signed), every pair of limb
matrices is multiplied by BLAS in float64, and the pieces are joined with carries in int64: the
interpreter touches each input and output element once (m*k + k*n + m*n steps).

Why float64 is exact here: a limb product is below 2^32 in magnitude and a dot product of k of
them below k 2^32 <= 2^53 for k <= 2^21, so every partial sum is an integer float64 represents
exactly, whatever the order of summation (the Ozaki-scheme argument). Limb products of equal
weight are summed in int64: at most 2^53 times the number of limb pairs, far below 2^63.
"""

from __future__ import annotations

import functools

import numpy as np

from .frozen import derived, frozen

LIMB_BITS = 16
MAX_INNER = 2**21  # k at most this keeps every float64 dot product of limbs exact
MAX_PAIRS = 512  # limb pairs of one weight at most: their int64 sum stays below 2^62


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
    stack_b = lb.reshape(b.shape[:-2] + (k, n * nb))  # columns: (column, limb j)
    pairs = np.matmul(stack_a, stack_b).astype(np.int64)  # every limb pair at once, exactly
    pairs = pairs.reshape(pairs.shape[:-2] + (na, m, n, nb))
    acc = np.zeros(pairs.shape[:-4] + (m, n, na + nb - 1), dtype=np.int64)
    for i in range(na):  # limb pair (i, j) has weight 2^(16 (i + j))
        acc[..., i:i + nb] += pairs[..., i, :, :, :]
    return _join(acc)


def limbs(a: np.ndarray) -> np.ndarray | None:
    """The 16-bit limbs of an int object array, float64 of shape (*a.shape, L); None if an
    element is not an int. Read-only arrays (a layer's weights, met again for every row block)
    are converted once (`numeric.frozen`)."""
    return derived("limbs", a, _limbs)


def _limbs(a: np.ndarray) -> np.ndarray | None:
    flat = a.reshape(-1)
    if set(map(type, flat)) - {int}:
        return None
    width = max(map(int.bit_length, flat), default=0) + 1  # two's complement: one bit for the sign
    count = -(-width // LIMB_BITS)
    raw = b"".join(map(functools.partial(int.to_bytes, length=2 * count, byteorder="little", signed=True), flat))
    digits = np.frombuffer(raw, dtype="<u2").reshape(flat.size, count).astype(np.float64)
    digits[:, -1] -= (digits[:, -1] >= 2**15) * 2.0**16  # the top limb carries the sign: -2^15 <= it < 2^15
    return frozen(digits.reshape(a.shape + (count,)))  # shared when cached: nobody may change it


def _join(acc: np.ndarray) -> np.ndarray:
    """sum_s acc[..., s] 2^(16 s) as Python ints: carries in int64, then one int per element."""
    digits, carry = [], np.zeros(acc.shape[:-1], dtype=np.int64)
    s = 0
    while s < acc.shape[-1] or np.any((carry != 0) & (carry != -1)):
        c = carry + (acc[..., s] if s < acc.shape[-1] else 0)
        digits.append((c & 0xFFFF).astype("<u2"))
        carry = c >> LIMB_BITS  # floor division: the carry keeps the sign
        s += 1
    sign = np.where(carry < 0, 0xFFFF, 0).astype("<u2")  # carry is now 0 or -1: the sign limb
    table = np.stack(digits + [sign], axis=-1).reshape(-1, len(digits) + 1)
    raw, size = table.tobytes(), 2 * (len(digits) + 1)
    join = functools.partial(int.from_bytes, byteorder="little", signed=True)
    out = np.empty(table.shape[0], dtype=object)
    out[:] = list(map(join, (raw[k:k + size] for k in range(0, len(raw), size))))
    return out.reshape(acc.shape[:-1])
