"""Exact float32 arithmetic facts.

Every finite binary32 value is a dyadic rational m * 2**e. We convert both ways without ever
going through a rounding step we do not control: float32 -> Fraction is exact, and Fraction ->
float32 rounds to nearest, ties to even (IEEE 754 roundTiesToEven), exactly as hardware does.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from typing import Iterable

import numpy as np

from ..errors import UserError

MANTISSA_BITS = 23
EXP_BIAS = 127
MIN_EXP = 1 - EXP_BIAS - MANTISSA_BITS  # exponent of the smallest subnormal: 2**-149
MAX_FINITE = Fraction((2**24 - 1) * 2**104)


def bits_of(x: float | np.float32) -> int:
    """The 32-bit pattern of `x` rounded to float32 (as `np.float32(x)` would)."""
    return struct.unpack("<I", struct.pack("<f", np.float32(x)))[0]


def dyadic_of_bits(bits: int) -> tuple[int, int]:
    """(m, e) with value m * 2**e for a finite float32 bit pattern; raises on NaN/Inf.

    m is odd unless the value is zero (then (0, 0)), so the pair is canonical.
    """
    sign = -1 if bits >> 31 else 1
    exp_field = (bits >> MANTISSA_BITS) & 0xFF
    frac = bits & ((1 << MANTISSA_BITS) - 1)
    if exp_field == 0xFF:
        raise ValueError(f"float32 bit pattern 0x{bits:08x} is {'NaN' if frac else 'Inf'}")
    if exp_field == 0:
        m, e = frac, MIN_EXP
    else:
        m, e = frac | (1 << MANTISSA_BITS), exp_field + MIN_EXP - 1
    if m == 0:
        return 0, 0
    shift = (m & -m).bit_length() - 1
    return sign * (m >> shift), e + shift


def fraction_of_bits(bits: int) -> Fraction:
    """The exact rational value of a finite float32 bit pattern."""
    m, e = dyadic_of_bits(bits)
    return Fraction(m * 2**e) if e >= 0 else Fraction(m, 2**-e)


def round_to_f32_bits(q: Fraction) -> int:
    """The float32 nearest to `q` (ties to even) as a bit pattern; overflow gives +-Inf."""
    sign = 1 << 31 if q < 0 else 0
    a = abs(q)
    if a == 0:
        return sign
    # Choose the exponent e of the unit in the last place so that the scaled value has 24 bits.
    e = a.numerator.bit_length() - a.denominator.bit_length() - MANTISSA_BITS
    while a >= Fraction(2 ** (MANTISSA_BITS + 1)) * _pow2(e):
        e += 1
    while a < Fraction(2**MANTISSA_BITS) * _pow2(e):
        e -= 1
    e = max(e, MIN_EXP)
    scaled = a / _pow2(e)
    m = scaled.numerator // scaled.denominator
    rest = scaled - m
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and m % 2 == 1):
        m += 1
    if m == 2 ** (MANTISSA_BITS + 1):
        m, e = m // 2, e + 1
    if m >= 2**MANTISSA_BITS:
        exp_field = e - MIN_EXP + 1
        if exp_field >= 0xFF:
            return sign | 0x7F800000
        return sign | (exp_field << MANTISSA_BITS) | (m - 2**MANTISSA_BITS)
    return sign | m  # subnormal (e == MIN_EXP)


def _pow2(e: int) -> Fraction:
    return Fraction(2**e) if e >= 0 else Fraction(1, 2**-e)


def exact_float32(value: np.ndarray) -> np.ndarray:
    """`value` as float32, only if every element is finite and converts exactly.

    float16 and bfloat16 always convert exactly; float64 only when each value is a float32.
    Raises ValueError naming the dtype, or the offending value and its index (callers prefix
    the parameter or constant name).
    """
    value = np.asarray(value)
    if value.dtype.kind != "f":
        raise ValueError(f"dtype {value.dtype} is not a float type; float32 is expected")
    finite = np.isfinite(value)
    if not finite.all():
        index = [int(i) for i in np.argwhere(~finite)[0]]
        raise ValueError(f"value {value[tuple(index)]} at index {index} is not finite")
    with np.errstate(over="ignore"):
        single = value.astype(np.float32)
    inexact = single.astype(value.dtype) != value
    if inexact.any():
        index = [int(i) for i in np.argwhere(inexact)[0]]
        raise ValueError(
            f"dtype {value.dtype} value {value[tuple(index)].item()!r} at index {index} is not exactly a float32 "
            "(convert to float32 yourself if rounding is intended)"
        )
    return single


def exact_floats(values: Iterable[float]) -> tuple[Fraction, ...]:
    """`Fraction(x)` for each finite Python float, built from `x.as_integer_ratio()` (in lowest
    terms already, denominator positive) without `Fraction`'s argument dispatch, which costs more
    than the conversion: a branch-and-bound leaf states thousands of float bounds (ACAS Xu: about
    3,000), and making them was half of the search's time. The slots set are `Fraction`'s own
    (`__slots__`, so a Python without them fails loudly, never silently)."""
    out = []
    for x in values:  # `from_lowest_terms` inlined: a call per value costs a fifth more here
        q = _new(Fraction)
        q._numerator, q._denominator = x.as_integer_ratio()
        out.append(q)
    return tuple(out)


def from_lowest_terms(num: int, den: int) -> Fraction:
    """`Fraction(num, den)` for `num/den` already in lowest terms with `den > 0`, made as
    `exact_floats` makes its values (no second gcd, no argument dispatch): the checker reads
    hundreds of thousands of certificate numbers, and `Fraction(num, den)` was most of that."""
    q = _new(Fraction)
    q._numerator, q._denominator = num, den
    return q


_new = object.__new__
_TO_FRACTION = np.frompyfunc(Fraction, 1, 1)


def require_finite(array: np.ndarray, what: str, why: str) -> None:
    """Refuse an array with a NaN or an infinity (`what` names it, `why` says who needs finite values):
    neither has an exact rational value, so exact evaluation and verification cannot take one."""
    a = np.asarray(array)
    if a.dtype.kind != "f":
        return
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        index = [int(i) for i in np.unravel_index(int(bad[0]), a.shape)]
        raise UserError(f"{what}: element {index} is {a.flat[bad[0]]}: {why} (NaN and ±inf have no rational value)")


def fractions_of(array: np.ndarray) -> np.ndarray:
    """An object array of exact `Fraction`s equal to a float32 (or float64) array's values.

    Fraction(float) is exact, and every float32 is exactly a double, so no rounding happens.
    """
    a = np.asarray(array)
    if a.dtype not in (np.float32, np.float64):
        raise TypeError(f"expected a float array, got {a.dtype}")
    if a.size and not np.isfinite(a).all():
        raise ValueError("cannot convert NaN/Inf to an exact rational")
    return np.asarray(_TO_FRACTION(a.astype(np.float64)), dtype=object).reshape(a.shape)  # a 0-d input gives a bare Fraction


_FRACTION_TO_F32 = np.frompyfunc(lambda q: struct.unpack("<f", struct.pack("<I", round_to_f32_bits(Fraction(q))))[0], 1, 1)


def round_to_f32(array: np.ndarray) -> np.ndarray:
    """Round an object array of rationals to float32, each to nearest, ties to even."""
    return _FRACTION_TO_F32(np.asarray(array, dtype=object)).astype(np.float32)
