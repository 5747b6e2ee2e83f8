"""Input boxes with exact rational bounds, and their outward float32 enclosure.

A box is the set {x : lower <= x <= upper} (elementwise, closed). Bounds are `Fraction`s so
that a spec written as decimal text ("0.1") means exactly what it says; float32 arrays for
the untrusted bound code come from `to_float_arrays`, which rounds outward so the float box
always contains the exact one.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator, Sequence

import numpy as np

from ..errors import ShapeError, UserError
from ..numeric.float32 import exact_floats
from .numbers import Number, exact, exact_values, floats_down, floats_up


def _check_size(shape: tuple[int, ...], lower: int, upper: int) -> None:
    """A box of `shape` has one lower and one upper bound per element."""
    size = math.prod(shape)
    if lower != size or upper != size:
        raise ShapeError(f"box of shape {shape} needs {size} bounds, got {lower} lower and {upper} upper")


def _empty(i: int, lo: Fraction, hi: Fraction) -> UserError:
    """The error of a box whose flat element `i` has its lower bound above its upper bound."""
    return UserError(f"empty box: at flat index {i} the lower bound {lo} exceeds the upper bound {hi}")


@dataclass(frozen=True)
class Box:
    """The closed box lower <= x <= upper over a tensor of `shape`, bounds flattened in C order."""

    lower: tuple[Fraction, ...]
    upper: tuple[Fraction, ...]
    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        _check_size(self.shape, len(self.lower), len(self.upper))
        if not all(type(b) is Fraction for b in self.lower + self.upper):
            raise TypeError("box bounds must be Fractions")
        for i, (lo, hi) in enumerate(zip(self.lower, self.upper)):
            if lo > hi:
                raise _empty(i, lo, hi)

    @classmethod
    def of_floats(cls, lower: np.ndarray, upper: np.ndarray, shape: Sequence[int]) -> Box:
        """The box whose bounds are the exact values of two finite float arrays (flat or of `shape`).

        What `Box(...)` checks is checked on the floats, whose order is their exact values' order,
        and the Fractions are made without the constructor's per-element checks: a split tree's
        search states thousands of bound boxes, and checking them as Fractions cost more than
        making them."""
        lo, hi = (np.asarray(a, dtype=np.float64).reshape(-1) for a in (lower, upper))
        _check_size(tuple(shape), lo.size, hi.size)
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            raise ValueError("box bounds must be finite")
        wrong = np.flatnonzero(lo > hi)
        if wrong.size:
            i = int(wrong[0])
            raise _empty(i, Fraction(lo[i]), Fraction(hi[i]))
        return cls._checked(exact_floats(lo.tolist()), exact_floats(hi.tolist()), tuple(shape))

    @classmethod
    def _checked(cls, lower: tuple[Fraction, ...], upper: tuple[Fraction, ...], shape: tuple[int, ...]) -> Box:
        """A box of bounds already known to be Fractions with lower <= upper, and of `shape`'s size,
        made without the constructor's per-element checks."""
        box = object.__new__(cls)
        for name, value in (("lower", lower), ("upper", upper), ("shape", shape)):
            object.__setattr__(box, name, value)  # frozen: set once here, as the dataclass's __init__ does
        return box

    @classmethod
    def linf_ball(
        cls, center: np.ndarray, eps: Number, clip: tuple[Number, Number] | None = None
    ) -> Box:
        """{x : |x - center|_inf <= eps}, intersected with [clip[0], clip[1]] in every coordinate.

        `center` is a float array (its exact binary value is used); `eps` and `clip` are exact
        numbers, so a ball "0.03" around a float32 image is the ball a VNN-LIB file would state.
        """
        c = np.asarray(center)
        if c.dtype not in (np.float32, np.float64):
            raise TypeError(f"linf_ball center must be a float array, got {c.dtype}")
        radius = exact(eps)
        if radius < 0:
            raise UserError(f"linf_ball radius must be >= 0, got {radius}")
        lo_clip, hi_clip = (exact(clip[0]), exact(clip[1])) if clip is not None else (None, None)
        centers = exact_values(c, c.shape, "linf_ball center")
        lower = tuple(m - radius if lo_clip is None else max(m - radius, lo_clip) for m in centers)
        upper = tuple(m + radius if hi_clip is None else min(m + radius, hi_clip) for m in centers)
        return cls(lower, upper, tuple(c.shape))

    def reshape(self, shape: Sequence[int]) -> Box:
        """The same bounds viewed as a tensor of `shape` (VNN-LIB boxes come flat): only the size
        is checked anew (every verify call reshapes its input box, and the constructor's checks
        cost a tenth of an mnistfc CROWN pass)."""
        shape = tuple(shape)
        _check_size(shape, len(self.lower), len(self.upper))
        return Box._checked(self.lower, self.upper, shape)

    def contains(self, point: np.ndarray | Sequence[object]) -> bool:
        """Whether `point` lies in the box, decided exactly.

        A NumPy array must have the box's shape or be flat; a sequence must be flat. Floats
        count by their exact binary value, so a float32 just outside an exact bound is outside.
        """
        values = exact_values(point, self.shape, "point")
        return all(lo <= v <= hi for lo, v, hi in zip(self.lower, values, self.upper))

    def corners(self) -> Iterator[tuple[Fraction, ...]]:
        """The distinct vertices (flat), lazily: 2**k of them for k non-degenerate coordinates."""
        choices = [(lo,) if lo == hi else (lo, hi) for lo, hi in zip(self.lower, self.upper)]
        return itertools.product(*choices)

    def to_float_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """float32 (lower, upper) arrays of `shape` whose box contains this one, as tight as float32 allows."""
        return floats_down(self.lower).reshape(self.shape), floats_up(self.upper).reshape(self.shape)
