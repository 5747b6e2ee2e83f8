"""Exact numbers for specifications, and float32 rounding in a chosen direction.

A spec means what its decimal text says: "0.1" is 1/10, not the binary double nearest to it.
Values that already are binary floats (an image, a network output) count by their exact value.
The untrusted float code gets bounds rounded outward, so the float region contains the exact one.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Sequence, Union

import numpy as np

from ..errors import ShapeError, UserError
from ..numeric.float32 import fraction_of_bits, round_to_f32_bits

Number = Union[Fraction, int, str]
"""A number given exactly: a Fraction, an int, or decimal text such as "0.03" or "1e-5"."""

_F32_INF = np.float32(np.inf)


def exact(value: Number) -> Fraction:
    """`value` as a Fraction, never through a binary float (0.1 would not be 1/10 there)."""
    if isinstance(value, bool) or not isinstance(value, (Fraction, int, str)):
        raise TypeError(f"expected a Fraction, int or decimal string, got {type(value).__name__} {value!r}")
    try:
        return Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise UserError(f"not an exact number: {value!r}") from None


def exact_value(value: object) -> Fraction:
    """One coordinate of a point or output: exact numbers as they are, floats by their binary value."""
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise UserError(f"coordinate {value} is not finite")
        return Fraction(float(value))  # float32 -> double is exact, and so is double -> Fraction
    if isinstance(value, np.integer):
        return Fraction(int(value))
    return exact(value)  # type: ignore[arg-type]


def exact_values(values: np.ndarray | Sequence[object], shape: tuple[int, ...], what: str) -> list[Fraction]:
    """The coordinates of `values`, flat and exact, checked against `shape` (a flat array fits too)."""
    size = math.prod(shape)
    if isinstance(values, np.ndarray):
        if values.shape not in (shape, (size,)):
            raise ShapeError(f"{what} of shape {values.shape} does not fit shape {shape}")
        values = values.reshape(-1).tolist()
    if len(values) != size:
        raise ShapeError(f"{what} has {len(values)} coordinates, expected {size} (shape {shape})")
    return [exact_value(v) for v in values]


def _f32(bits: int) -> np.float32:
    return np.array([bits], dtype=np.uint32).view(np.float32)[0]


def floats_down(values: Sequence[Fraction]) -> np.ndarray:
    """The largest float32 <= each value (-inf below the finite range), as a float32 array."""
    return _floats_down([q.numerator for q in values], [q.denominator for q in values])


def floats_up(values: Sequence[Fraction]) -> np.ndarray:
    """The smallest float32 >= each value (+inf above the finite range), as a float32 array."""
    down = _floats_down([-q.numerator for q in values], [q.denominator for q in values])
    return np.float32(0) - down  # 0 - x, not -x: an upper bound 0 stays +0.0


def _floats_down(nums: list[int], dens: list[int]) -> np.ndarray:
    """The largest float32 <= each n/d (d > 0), in bulk through float64, since exact rounding of
    every coordinate (an MNIST box has 784) cost more than the bound pass it feeds.

    d = float(n/d) is n/d correctly rounded to a double (for |n|, d < 2^53, NumPy's division of
    the exact doubles n and d, as IEEE 754 rounds it; else Python's int division, also correctly
    rounded), and f = float32(d) is one of the two float32 values around n/d (float32 values are
    doubles). When d != f, n/d lies within half a double step of d and f a whole step away, so
    n/d is on d's side of f: the answer is f (d > f) or the float32 below f (d < f, f = +inf on
    overflow included). Only when d == f is n/d compared with f exactly; a value beyond the double
    range takes the exact path.
    """
    out = np.empty(len(nums), dtype=np.float32)
    near = np.zeros(len(nums), dtype=np.float64)
    limit = 2**53
    small = [i for i, (n, d) in enumerate(zip(nums, dens)) if -limit < n < limit and d < limit]
    if small:
        near[small] = np.array([nums[i] for i in small], dtype=np.float64) / np.array([dens[i] for i in small],
                                                                                      dtype=np.float64)
    huge = []
    for i in sorted(set(range(len(nums))) - set(small)):
        try:
            near[i] = nums[i] / dens[i]
        except OverflowError:
            huge.append(i)
    with np.errstate(over="ignore"):  # beyond float32's range: +-inf, stepped back below
        f = near.astype(np.float32)
        below = np.nextafter(f, -_F32_INF)
    out[:] = np.where(near > f, f, below)
    for i in np.flatnonzero(near == f).tolist():  # f <= n/d, decided on integers: a/b <= n/d with b, d > 0
        a, b = float(f[i]).as_integer_ratio()
        out[i] = f[i] if a * dens[i] <= nums[i] * b else below[i]
    for i in huge:
        out[i] = _down_exact(Fraction(nums[i], dens[i]))
    return out


def _down_exact(q: Fraction) -> np.float32:
    """The largest float32 <= q, by exact rounding (for values a double cannot hold)."""
    bits = round_to_f32_bits(q)
    nearest = _f32(bits)
    if not np.isfinite(nearest):
        return nearest if q < 0 else np.nextafter(nearest, np.float32(0))
    if fraction_of_bits(bits) <= q:
        return nearest
    with np.errstate(over="ignore"):  # stepping below -max gives -inf, the right answer
        return np.nextafter(nearest, -_F32_INF)


def round_f32_down(q: Fraction) -> np.float32:
    """The largest float32 <= q (-inf below the finite range)."""
    return floats_down([q])[0]


def round_f32_up(q: Fraction) -> np.float32:
    """The smallest float32 >= q (+inf above the finite range)."""
    return floats_up([q])[0]
