"""Rational enclosures of exp, sigmoid, tanh, their slopes and 1/sqrt: lo <= f(q) <= hi, exactly.

Ops without an exact rational meaning (sigmoid, tanh, batchnorm's square root) are checked in
exact arithmetic through enclosures: for a rational q, two short dyadics proven to bound f(q).
Everything here is integer arithmetic (and `Fraction`s at the ends); no float takes part in a
bound, so the enclosures are as trustworthy as Python's integers.

exp(q): q = n ln2 + r with an integer n (any n is sound; the nearest makes |r| <= ~0.35), so
exp(q) = 2**n exp(r); ln 2 is enclosed by its series sum 1/(k 2**k) with a bounded tail, which
encloses r. Then exp(r) = exp(r / 2**8) ** (2**8): the Taylor series of exp at t = r / 2**8
(|t| < 2**-9), truncated once its Lagrange remainder e**|t| |t|**N / N! < 2 |t|**N / N! drops
below one unit of the working precision, is squared 8 times with floor/ceil rounding. Every step
rounds outward, so the final integers enclose exp(q). The working precision (`PREC` + guard bits)
leaves results tight to about 2**-(PREC - 4) relative.

Near 0, expm1(q) = exp(q) - 1 is summed directly by the same series from k = 1, at a scale
relative to |q|, so tanh and the enclosures built on expm1 stay tight relative to their value.
The outputs are rounded outward to `PREC` significant bits, keeping every number short.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import NamedTuple

PREC = 80  # significant bits of every enclosure end: tight to about 2**-76 relative
_GUARD = 24  # extra bits carried by the fixed-point steps
_HALVINGS = 8  # exp(r) = exp(r / 2**_HALVINGS) ** (2**_HALVINGS)
_LOG2E = Fraction(1.4426950408889634)  # 1/ln 2, rounded: it only picks n, any n is sound
SATURATE = 2**12  # beyond |x| > SATURATE, sigmoid and tanh use the enclosure at +-SATURATE (monotone)


class Enclosure(NamedTuple):
    """lo <= value <= hi, both exact rationals (short dyadics)."""

    lo: Fraction
    hi: Fraction


# ---- rounding and fixed point ---------------------------------------------------------------

def _exponent(q: Fraction) -> int:
    """The e with 2**(e-1) <= |q| < 2**e, for q != 0."""
    a, b = abs(q.numerator), q.denominator
    e = a.bit_length() - b.bit_length()
    return e + 1 if (a >> e if e >= 0 else a << -e) >= b else e


def round_down(q: Fraction, bits: int = PREC) -> Fraction:
    """The largest dyadic with `bits` significant bits that is <= q."""
    if q == 0:
        return Fraction(0)
    step = _exponent(q) - bits  # floor(q / 2**step) * 2**step, on integers
    a, b = q.numerator, q.denominator
    return _dyadic(a // (b << step), step) if step >= 0 else _dyadic((a << -step) // b, step)


def round_up(q: Fraction, bits: int = PREC) -> Fraction:
    """The smallest dyadic with `bits` significant bits that is >= q."""
    return -round_down(-q, bits)


def _outward(lo: Fraction, hi: Fraction) -> Enclosure:
    return Enclosure(round_down(lo), round_up(hi))


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


def _dyadic(m: int, e: int) -> Fraction:
    """m * 2**e exactly."""
    return Fraction(m << e) if e >= 0 else Fraction(m, 1 << -e)


@functools.cache
def _ln2(bits: int) -> tuple[int, int]:
    """Integers lo, hi with lo <= 2**bits ln 2 <= hi and hi - lo <= bits + 2.

    ln 2 = sum_{k>=1} 1 / (k 2**k). The first `bits` terms are each floored (losing < 1 apiece)
    and the tail sum_{k>bits} 1 / (k 2**k) < 2**-bits adds less than 1 unit.
    """
    lo = sum((1 << (bits - k)) // k for k in range(1, bits + 1))
    return lo, lo + bits + 1


def _series(t: int, m: int, scale: int, first: int) -> tuple[int, int]:
    """Integers lo, hi with lo <= 2**scale * sum_{k>=first} s**k / k! <= hi, s = t / 2**m, |s| <= 1/2.

    The partial sum up to N - 1 is one exact integer quotient (floored and ceiled); the tail is at
    most e**|s| |s|**N / N! < 2 |s|**N / N!, taken at the first N where that is below one unit.
    """
    n, power, fact = first + 1, abs(t) ** (first + 1), math.factorial(first + 1)
    while 2 * power << scale >= fact << (m * n):
        n, power = n + 1, power * abs(t)
        fact *= n
    # sum_{first<=k<n} t**k / (2**(m k) k!) = num / den, den = 2**(m (n-1)) (n-1)!, by Horner from k = n-1 down
    acc, c = 1, 1  # c = (n-1)! / k!
    for k in range(n - 2, first - 1, -1):
        c *= k + 1
        acc = acc * t + (c << (m * (n - 1 - k)))
    num, den = acc * t**first, fact // n << (m * (n - 1))
    tail = 1  # < one unit, by the choice of n
    return (num << scale) // den - tail, _ceil_div(num << scale, den) + tail


# ---- exp and expm1 ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=1 << 16)
def exp(q: Fraction) -> Enclosure:
    """An enclosure of e**q, tight to about 2**-76 relative."""
    q = Fraction(q)
    if q == 0:
        return Enclosure(Fraction(1), Fraction(1))
    n = round(q * _LOG2E)
    work = PREC + _GUARD
    bits = work + 8 + max(abs(n).bit_length(), 1)
    l2lo, l2hi = _ln2(bits)
    # r = q - n ln 2 lies between (a 2**bits - n v b) / (b 2**bits) for v = l2lo and v = l2hi (q = a / b)
    a, b = q.numerator, q.denominator
    ends = sorted((a << bits) - n * v * b for v in (l2lo, l2hi))
    den = b << (bits - work)  # r 2**work = end / den
    scale = work + _HALVINGS  # t = r / 2**_HALVINGS in fixed point at 2**-scale is r at 2**-work
    lo, _ = _series(ends[0] // den, scale, work, 0)
    _, hi = _series(_ceil_div(ends[1], den), scale, work, 0)
    for _ in range(_HALVINGS):
        lo, hi = (lo * lo) >> work, _ceil_div(hi * hi, 1 << work)
    return _outward(_dyadic(lo, n - work), _dyadic(hi, n - work))


@functools.lru_cache(maxsize=1 << 16)
def expm1(q: Fraction) -> Enclosure:
    """An enclosure of e**q - 1, tight relative to its value also near q = 0."""
    q = Fraction(q)
    if q == 0:
        return Enclosure(Fraction(0), Fraction(0))
    if abs(q) > Fraction(1, 2):
        e = exp(q)
        return _outward(e.lo - 1, e.hi - 1)
    m = PREC + _GUARD - _exponent(q)  # a scale relative to |q| (expm1 q has q's exponent, about)
    a, b = q.numerator << m, q.denominator
    lo, _ = _series(a // b, m, m, 1)
    _, hi = _series(_ceil_div(a, b), m, m, 1)  # expm1 is increasing
    return _outward(Fraction(lo, 1 << m), Fraction(hi, 1 << m))


def _decay(x: Fraction, rate: int) -> Enclosure:
    """An enclosure of e**(-rate |x|) in (0, 1]; beyond SATURATE, [0, e**(-rate SATURATE)]."""
    if abs(x) > SATURATE:
        return Enclosure(Fraction(0), exp(Fraction(-rate * SATURATE)).hi)
    return exp(-rate * abs(Fraction(x)))


# ---- sigmoid, tanh and their slopes -----------------------------------------------------------

@functools.lru_cache(maxsize=1 << 16)
def sigmoid(x: Fraction) -> Enclosure:
    """An enclosure of 1 / (1 + e**-x).

    With e = e**-|x| in (0, 1]: sigmoid(x) = 1 / (1 + e) for x >= 0, decreasing in e, and
    e / (1 + e) for x < 0, increasing in e; so e's enclosure maps to one of sigmoid(x).
    """
    e = _decay(x, 1)
    if x >= 0:
        return _outward(1 / (1 + e.hi), 1 / (1 + e.lo))
    return _outward(e.lo / (1 + e.lo), e.hi / (1 + e.hi))


@functools.lru_cache(maxsize=1 << 16)
def sigmoid_slope(x: Fraction) -> Enclosure:
    """An enclosure of sigmoid'(x) = sigmoid(x) (1 - sigmoid(x)) = e / (1 + e)**2 with e = e**-|x|,
    increasing in e on [0, 1] (its derivative (1 - e) / (1 + e)**3 is >= 0)."""
    e = _decay(x, 1)
    return _outward(e.lo / (1 + e.lo) ** 2, e.hi / (1 + e.hi) ** 2)


@functools.lru_cache(maxsize=1 << 16)
def tanh(x: Fraction) -> Enclosure:
    """An enclosure of tanh x, tight relative to its value also near 0.

    tanh is odd; for x >= 0, tanh x = -m / (2 + m) with m = expm1(-2x) in [-1, 0], a decreasing
    function of m (its derivative is -2 / (2 + m)**2), so m's enclosure maps to tanh's.
    """
    x = Fraction(x)
    if x < 0:
        lo, hi = tanh(-x)
        return Enclosure(-hi, -lo)
    m = Enclosure(Fraction(-1), expm1(Fraction(-2 * SATURATE)).hi) if x > SATURATE else expm1(-2 * x)
    return _outward(-m.hi / (2 + m.hi), -m.lo / (2 + m.lo))


@functools.lru_cache(maxsize=1 << 16)
def tanh_slope(x: Fraction) -> Enclosure:
    """An enclosure of tanh'(x) = 1 - tanh(x)**2 = 4 e / (1 + e)**2 with e = e**(-2|x|), increasing in e on [0, 1]."""
    e = _decay(x, 2)
    return _outward(4 * e.lo / (1 + e.lo) ** 2, 4 * e.hi / (1 + e.hi) ** 2)


# ---- 1 / sqrt --------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1 << 16)
def inv_sqrt(q: Fraction) -> Enclosure:
    """An enclosure of 1 / sqrt(q) for q > 0 (a ValueError otherwise).

    With q = a / b, 1 / sqrt(q) = sqrt(a b) / a = sqrt(a b 4**k) / (a 2**k); the integer square
    root s = isqrt(a b 4**k) has s <= sqrt(a b 4**k) < s + 1, and k is chosen to give s at least
    PREC + 8 bits.
    """
    q = Fraction(q)
    if q <= 0:
        raise ValueError(f"1/sqrt needs a positive argument, got {q}")
    ab = q.numerator * q.denominator
    k = max(0, PREC + 8 - ab.bit_length() // 2)
    s = math.isqrt(ab << (2 * k))
    den = q.numerator << k
    return _outward(Fraction(s, den), Fraction(s if s * s == ab << (2 * k) else s + 1, den))
