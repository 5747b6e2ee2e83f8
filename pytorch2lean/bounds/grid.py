"""Short dyadic numbers: the grid that certificate bounds are rounded outward to.

Exact interval arithmetic through many layers makes numerators explode. A certificate therefore
states every bound as a dyadic m * 2**e with |m| < 2**bits and e >= min_exponent, rounded
outward from what the bound code computed; the checker then only ever meets short numbers.

The same grid is implemented twice: on float64 arrays of any array module (NumPy or CuPy; for
`bits` <= 52 every grid point is a double, and scaling by a power of two is exact, so the float
rounding is exact too), and on exact `Fraction`s, for repairing a bound the float code got wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

from ..ops.base import Interval


@dataclass(frozen=True)
class Grid:
    """The dyadics with at most `bits` significant bits and no finer than 2**min_exponent."""

    bits: int = 24
    min_exponent: int = -64

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= 52:
            raise ValueError(f"grid bits must lie in [1, 52] (float64 holds every grid point), got {self.bits}")
        if not -1000 <= self.min_exponent <= 0:
            raise ValueError(f"grid min_exponent must lie in [-1000, 0], got {self.min_exponent}")

    def outward(self, xp: Any, iv: Interval) -> Interval:
        """Float64 bounds rounded outward onto the grid: lo down, hi up."""
        return Interval(self._round(xp, iv.lo, xp.floor), self._round(xp, iv.hi, xp.ceil))

    def _round(self, xp: Any, v: Any, direction: Callable[[Any], Any]) -> Any:
        _, e = xp.frexp(v)  # v = f * 2**e with 1/2 <= |f| < 1: the grid step there is 2**(e - bits)
        step = xp.maximum(e - self.bits, self.min_exponent)
        return xp.ldexp(direction(xp.ldexp(v, -step)), step)

    def down(self, q: Fraction) -> Fraction:
        """The largest grid point <= q, exactly."""
        return self._round_exact(q, math.floor)

    def up(self, q: Fraction) -> Fraction:
        """The smallest grid point >= q, exactly."""
        return self._round_exact(q, math.ceil)

    def _round_exact(self, q: Fraction, direction: Callable[[Fraction], int]) -> Fraction:
        if q == 0:
            return Fraction(0)
        step = max(_frexp_exponent(abs(q)) - self.bits, self.min_exponent)
        scale = Fraction(2) ** step
        return direction(q / scale) * scale


def _frexp_exponent(a: Fraction) -> int:
    """The e with 2**(e-1) <= a < 2**e for a > 0 (the exponent math.frexp reports)."""
    e = a.numerator.bit_length() - a.denominator.bit_length()
    return e + 1 if a >= Fraction(2) ** e else e


GRID = Grid()
