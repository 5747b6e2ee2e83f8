"""Exact enclosures of exp, expm1, sigmoid, tanh, their slopes and 1/sqrt (numeric/enclose.py).

Soundness is checked two ways: against references computed with Python's `decimal` at 60 digits
(independent of our integer code, far finer than our 2**-76 enclosures; a margin of 1e-40
relative covers the reference's own rounding), and by exact identities that need no reference at
all (sigmoid(x) + sigmoid(-x) = 1, tanh x = 2 sigmoid(2x) - 1, exp(a) exp(b) = exp(a + b),
q / sqrt(q)**2 = 1). Tightness: every enclosure is at most 2**-70 wide relative to its value, and
the ends are short dyadics. Monotonicity: enclosures of increasing arguments are ordered.
"""

from __future__ import annotations

import decimal
import functools
import math
from decimal import Decimal
from fractions import Fraction
from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytorch2lean.numeric import enclose
from pytorch2lean.numeric.enclose import Enclosure

CONTEXT = decimal.Context(prec=60)
MARGIN = Decimal("1e-40")  # relative: far above the reference's error, far below our enclosures' width
# (all Decimal arithmetic goes through CONTEXT: operators would round to the default 28 digits)
WIDTH = Fraction(1, 2**70)


def dec(q: Fraction) -> Decimal:
    return CONTEXT.divide(Decimal(q.numerator), Decimal(q.denominator))


def ref_exp(q: Fraction) -> Decimal:
    return CONTEXT.exp(dec(q))


def ref_expm1(q: Fraction) -> Decimal:
    if abs(q) < Fraction(1, 2**10):  # the series, to avoid the cancellation of exp(q) - 1
        x = dec(q)
        terms = (CONTEXT.divide(CONTEXT.power(x, k), math.factorial(k)) for k in range(1, 16))
        return functools.reduce(CONTEXT.add, terms)
    return CONTEXT.subtract(ref_exp(q), Decimal(1))


def ref_sigmoid(q: Fraction) -> Decimal:
    return CONTEXT.divide(Decimal(1), CONTEXT.add(Decimal(1), ref_exp(-q)))


def ref_sigmoid_slope(q: Fraction) -> Decimal:
    s = ref_sigmoid(q)
    return CONTEXT.multiply(s, CONTEXT.subtract(Decimal(1), s)) if q <= 0 else ref_sigmoid_slope(-q)


def ref_tanh(q: Fraction) -> Decimal:
    if q < 0:
        return CONTEXT.minus(ref_tanh(-q))
    m = ref_expm1(-2 * q)
    return CONTEXT.divide(CONTEXT.minus(m), CONTEXT.add(Decimal(2), m))


def ref_tanh_slope(q: Fraction) -> Decimal:
    e = ref_exp(-2 * abs(q))
    return CONTEXT.divide(CONTEXT.multiply(4, e), CONTEXT.power(CONTEXT.add(Decimal(1), e), 2))


def ref_inv_sqrt(q: Fraction) -> Decimal:
    return CONTEXT.divide(Decimal(1), CONTEXT.sqrt(dec(q)))


FUNCTIONS: dict[str, tuple[Callable[[Fraction], Enclosure], Callable[[Fraction], Decimal], float]] = {
    # name: (enclosure, reference, largest |argument| the reference handles quickly)
    "exp": (enclose.exp, ref_exp, 700.0),
    "expm1": (enclose.expm1, ref_expm1, 700.0),
    "sigmoid": (enclose.sigmoid, ref_sigmoid, 700.0),
    "sigmoid_slope": (enclose.sigmoid_slope, ref_sigmoid_slope, 700.0),
    "tanh": (enclose.tanh, ref_tanh, 350.0),
    "tanh_slope": (enclose.tanh_slope, ref_tanh_slope, 350.0),
}


def arguments(limit: float) -> st.SearchStrategy[Fraction]:
    """Rationals: float32-like values of every size up to `limit`, tiny ones, odd denominators, 0."""
    floats = st.floats(-limit, limit, allow_nan=False, width=32).map(Fraction)
    tiny = st.integers(1, 2**40).flatmap(lambda m: st.integers(40, 90).map(lambda e: Fraction(m, 2**e)))
    ratios = st.fractions(-limit, limit, max_denominator=10**12)
    return st.one_of(floats, tiny, tiny.map(lambda q: -q), ratios, st.just(Fraction(0)))


def assert_encloses(e: Enclosure, truth: Decimal) -> None:
    slack = CONTEXT.multiply(MARGIN, CONTEXT.abs(truth))
    assert dec(e.lo) <= CONTEXT.add(truth, slack), (e, truth)
    assert dec(e.hi) >= CONTEXT.subtract(truth, slack), (e, truth)


def assert_tight_and_short(e: Enclosure, scale: Fraction) -> None:
    """At most 2**-70 of `scale` wide, ends of at most PREC + 1 significant bits (dyadics)."""
    assert e.lo <= e.hi
    assert e.hi - e.lo <= WIDTH * abs(scale)
    for v in e:
        assert v.denominator & (v.denominator - 1) == 0  # a power of two
        odd = abs(v.numerator) >> ((abs(v.numerator) & -abs(v.numerator)).bit_length() - 1) if v else 0
        assert odd.bit_length() <= enclose.PREC + 1


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_enclosures_contain_the_true_value_and_are_tight(name: str, data: st.DataObject) -> None:
    f, ref, limit = FUNCTIONS[name]
    q = data.draw(arguments(limit))
    e = f(q)
    truth = ref(q)
    assert_encloses(e, truth)
    assert_tight_and_short(e, Fraction(truth))


@settings(max_examples=150, deadline=None)
@given(q=st.one_of(st.floats(2.0**-60, 2.0**60, width=32).map(Fraction),
                   st.fractions(Fraction(1, 10**9), 10**9, max_denominator=10**9)))
def test_inv_sqrt_encloses_exactly(q: Fraction) -> None:
    """lo**2 q <= 1 <= hi**2 q decides soundness exactly; the decimal reference checks tightness."""
    lo, hi = enclose.inv_sqrt(q)
    assert lo * lo * q <= 1 <= hi * hi * q
    assert_encloses(Enclosure(lo, hi), ref_inv_sqrt(q))
    assert_tight_and_short(Enclosure(lo, hi), Fraction(ref_inv_sqrt(q)))


@pytest.mark.parametrize("q", [Fraction(0), Fraction(-1), Fraction(-1, 10**30)])
def test_inv_sqrt_refuses_non_positive_arguments(q: Fraction) -> None:
    with pytest.raises(ValueError, match="positive"):
        enclose.inv_sqrt(q)


def overlap(a: tuple[Fraction, Fraction], b: tuple[Fraction, Fraction]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


@settings(max_examples=150, deadline=None)
@given(x=arguments(60.0), y=arguments(60.0))
def test_exact_identities_hold_within_the_enclosures(x: Fraction, y: Fraction) -> None:
    """Identities true of the real functions: the enclosures must admit them, exactly."""
    s, t = enclose.sigmoid(x), enclose.sigmoid(-x)
    assert s.lo + t.lo <= 1 <= s.hi + t.hi
    two = enclose.sigmoid(2 * x)
    assert overlap(enclose.tanh(x), (2 * two.lo - 1, 2 * two.hi - 1))
    a, b = enclose.exp(x), enclose.exp(y)
    assert overlap(enclose.exp(x + y), (a.lo * b.lo, a.hi * b.hi))
    slope = enclose.sigmoid_slope(x)
    assert overlap(slope, (s.lo * t.lo, s.hi * t.hi))  # s(1 - s) = s(x) s(-x)
    th = enclose.tanh(x)
    square = (min(th.lo**2, th.hi**2) if th.lo * th.hi > 0 else Fraction(0), max(th.lo**2, th.hi**2))
    assert overlap(enclose.tanh_slope(x), (1 - square[1], 1 - square[0]))
    m = enclose.expm1(x)
    assert overlap(m, (a.lo - 1, a.hi - 1))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_enclosures_of_ordered_arguments_are_ordered(name: str, data: st.DataObject) -> None:
    """x < y: f(x)'s enclosure lies below f(y)'s (above, for a decreasing slope) once they are
    apart by more than the enclosures' width; and never in the wrong order by more than it."""
    f, _, limit = FUNCTIONS[name]
    a, b = sorted((data.draw(arguments(min(limit, 40.0))), data.draw(arguments(min(limit, 40.0)))))
    x, y = (a, b) if not name.endswith("slope") else sorted((abs(a), abs(b)), reverse=True)
    # (the slopes increase on x <= 0 and decrease on x >= 0: they are ordered by |x|, reversed)
    ex, ey = f(x), f(y)
    assert ex.lo <= ey.hi
    if abs(y - x) > Fraction(1, 2**20):
        assert ex.hi < ey.lo or ex.hi - ey.lo <= 4 * WIDTH * max(map(abs, (*ex, *ey)))


@pytest.mark.parametrize(("name", "x", "near"), [
    ("sigmoid", Fraction(10**6), 1.0), ("sigmoid", Fraction(-10**6), 0.0), ("tanh", Fraction(10**7), 1.0),
    ("tanh", Fraction(-10**7), -1.0), ("sigmoid_slope", Fraction(10**6), 0.0), ("tanh_slope", Fraction(-10**6), 0.0),
])
def test_saturated_arguments_stay_sound_short_and_fast(name: str, x: Fraction, near: float) -> None:
    """Beyond SATURATE the enclosure at the saturation point is used (the functions are monotone
    there): it holds the limit, which lies within 2**-5000 of the true value, and is 2**-70 narrow."""
    e = FUNCTIONS[name][0](x)
    assert e.lo <= Fraction(near) <= e.hi and e.hi - e.lo <= WIDTH
    assert max(v.denominator.bit_length() for v in e) < 20000


def test_sigmoid_enclosure_bounds_saturated_values_by_the_true_ones() -> None:
    """sigmoid < 1 and > 0 always: the saturated enclosures keep exactly those sides."""
    assert enclose.sigmoid(Fraction(10**6)).hi == 1 and enclose.sigmoid(Fraction(-10**6)).lo == 0
    assert enclose.tanh(Fraction(10**7)).hi == 1 and enclose.tanh(Fraction(-10**7)).lo == -1


def test_exp_agrees_with_math_where_floats_reach() -> None:
    """A coarse cross-check with the float library (within 4 ulps)."""
    for v in [-745.0, -300.5, -1.0, -2.0**-30, 0.0, 2.0**-30, 0.5, 1.0, 88.7, 709.0]:
        lo, hi = enclose.exp(Fraction(v))
        assert math.isclose(float(lo), math.exp(v), rel_tol=4 * 2.0**-52, abs_tol=5e-324 * 4)
        assert math.isclose(float(hi), math.exp(v), rel_tol=4 * 2.0**-52, abs_tol=5e-324 * 4)
