"""Elementwise ops: add, sub, mul, div (broadcasting), neg, relu, leaky_relu, sigmoid, tanh.

The binary ops broadcast NumPy/ONNX-style: that is their stated rule, so `x + bias` with a bias
of shape (n,) on x of shape (1, n) is allowed. Sigmoid and tanh have no exact rational meaning
(`exact=False`): their Lean denotation goes through a stated enclosure, and so do their exact rules
here (`SShaped`: an interval rule over Fractions and a sound intercept rule for CROWN lines, both on
the rational enclosures of `numeric.enclose`).

Interval rules: add, relu, sigmoid and tanh are monotone; sub pairs each end with the other
operand's opposite end; mul takes the hull of the four corner products, and div the hull of the
four corner quotients once the divisor's interval excludes 0 (otherwise there is no bound).

VJPs (float): each operand's gradient is the output gradient times the partial derivative,
summed back over the axes the operand was broadcast along (`base.sum_to`). Relu and leaky
relu take the right-hand slope at the kink's left, i.e. the slope of the branch the kernel picks.
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

import numpy as np

from ..numeric import enclose
from .base import (Attr, Interval, Operand, OpSpec, Unbounded, broadcast, corners, from_vjp, hull, lift,
                   monotone, register, sum_to, zeros_like)

X = (Operand("x"),)
AB = (Operand("a"), Operand("b"))


def _binary(fn: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def kernel(xp: Any, attrs: Any, a: Any, b: Any) -> Any:
        rank = max(a.ndim, b.ndim) - 1
        return fn(lift(a, rank), lift(b, rank))

    return kernel


def _same_shape(attrs: Any, shapes: Any) -> tuple[int, ...]:
    return shapes[0]


def _broadcast_shape(attrs: Any, shapes: Any) -> tuple[int, ...]:
    return broadcast(shapes[0], shapes[1])


_ADD, _SUB, _MUL, _DIV = (_binary(f) for f in (operator.add, operator.sub, operator.mul, operator.truediv))


def _sub_interval(xp: Any, attrs: Any, a: Interval, b: Interval) -> Interval:
    return Interval(_SUB(xp, attrs, a.lo, b.hi), _SUB(xp, attrs, a.hi, b.lo))


def _mul_interval(xp: Any, attrs: Any, a: Interval, b: Interval) -> Interval:
    return corners(xp, lambda x, y: _MUL(xp, attrs, x, y), a, b)


def _div_interval(xp: Any, attrs: Any, a: Interval, b: Interval) -> Interval:
    """a / b is monotone in b on each side of 0 only: a divisor interval touching 0 has no bound."""
    if bool(xp.any((b.lo <= 0) & (b.hi >= 0))):
        raise Unbounded("the divisor's interval contains 0")
    return corners(xp, lambda x, y: _DIV(xp, attrs, x, y), a, b)


def _binary_vjp(partials: Callable[[Any, Any, Any], tuple[Any, Any]]) -> Callable[..., tuple[Any, Any]]:
    """The VJP from (g, a, b) -> (g * d/da, g * d/db) on the lifted operands, summed back to each shape."""
    def vjp(xp: Any, attrs: Any, g: Any, a: Any, b: Any) -> tuple[Any, Any]:
        rank = g.ndim - 1
        da, db = partials(g, lift(a, rank), lift(b, rank))
        return sum_to(xp.broadcast_to(da, g.shape), a.shape), sum_to(xp.broadcast_to(db, g.shape), b.shape)

    return vjp


_VJPS = {
    "add": _binary_vjp(lambda g, a, b: (g, g)),
    "sub": _binary_vjp(lambda g, a, b: (g, -g)),
    "mul": _binary_vjp(lambda g, a, b: (g * b, g * a)),
    "div": _binary_vjp(lambda g, a, b: (g / b, -g * a / (b * b))),
}

_AFFINE = {  # for which operands (True: an activation) the op is affine, so CROWN can move through it
    "add": lambda symbolic: True,
    "sub": lambda symbolic: True,
    "mul": lambda symbolic: sum(symbolic) <= 1,
    "div": lambda symbolic: not symbolic[1],
}
_FACTORS = {"add": (), "sub": (), "mul": (0, 1), "div": None}  # div's VJP divides: it stays on Fractions

for _tag, _lean, _kernel, _rule, _doc in [
    ("add", "add", _ADD, monotone(_ADD), "a + b, broadcasting (residual joins, biases)."),
    ("sub", "sub", _SUB, _sub_interval, "a - b, broadcasting."),
    ("mul", "mul", _MUL, _mul_interval, "a * b elementwise, broadcasting (scaling by a constant tensor)."),
    ("div", "div", _DIV, _div_interval, "a / b elementwise, broadcasting; b must be nonzero."),
]:
    register(OpSpec(_tag, AB, _broadcast_shape, _kernel, exact=True, lean=_lean, doc=_doc, interval=_rule,
                    vjp=_VJPS[_tag], affine_backward=from_vjp(_VJPS[_tag], _AFFINE[_tag], factors=_FACTORS[_tag])))


def _relu(xp: Any, attrs: Any, x: Any) -> Any:
    """x where x is not negative: NaN and -0.0 pass through, as in torch and onnxruntime.

    On floats by the bits: x AND (all ones where x is not negative, else zero) is x or +0.0,
    NaN and -0.0 untouched, the same as `where(x < 0, 0, x)` bit for bit but about 5x faster on
    NumPy (its masked select is slow; maximum, the fast ufunc, turns -0.0 into +0.0).
    """
    if x.dtype.kind != "f":
        return xp.where(x < 0, zeros_like(xp, x), x)
    bits = np.dtype(f"i{x.dtype.itemsize}")
    keep = xp.subtract(x < 0, 1, dtype=bits)  # 0 where x < 0, else -1 (all ones)
    return xp.bitwise_and(x.view(bits), keep, out=keep).view(x.dtype)


def _leaky_relu(xp: Any, attrs: Any, x: Any) -> Any:
    return xp.where(x > 0, x, x * attrs["alpha"])


def _leaky_relu_interval(xp: Any, attrs: Any, x: Interval) -> Interval:
    """Linear on each side of its one kink at 0, so the extremes lie at the ends or at the kink
    (when inside): exact for every alpha, negative slopes included."""
    kink = xp.minimum(xp.maximum(x.lo, zeros_like(xp, x.lo)), x.hi)
    return hull(xp, [_leaky_relu(xp, attrs, v) for v in (x.lo, x.hi, kink)])


def _sigmoid(xp: Any, attrs: Any, x: Any) -> Any:
    """1 / (1 + exp(-x)), the formula of the Lean denotation. Below x = -88 float32's exp(-x) is
    inf and the quotient exactly 0, the right limit: numpy's overflow warning is silenced."""
    with np.errstate(over="ignore"):
        return 1 / (1 + xp.exp(-x))


def _tanh(xp: Any, attrs: Any, x: Any) -> Any:
    return xp.tanh(x)


def _sigmoid_interval(xp: Any, attrs: Any, x: Interval) -> Interval:
    """Monotone, but below about -745 float64's sigmoid underflows to 0 while the true value is
    positive: the upper end is kept at least the smallest positive double (above the truth there),
    so the bounds stay true and the checker's exact enclosure fits inside them."""
    return Interval(_sigmoid(xp, attrs, x.lo), xp.maximum(_sigmoid(xp, attrs, x.hi), TINY))


TINY = 2.0**-1074  # the smallest positive float64


def _kink_bounds(xp: Any, a: Any, lo: Any, hi: Any, s: Any) -> tuple[Any, Any]:
    """min and max over [lo, hi] of f(x) - s x for f(x) = x if x > 0 else a*x.

    f(x) - s x is piecewise linear with one kink at 0, so its extremes on [lo, hi] lie at lo, hi
    or the kink (when inside): exact, for any slope s, and on Fractions too.
    """
    kink = xp.minimum(xp.maximum(lo, zeros_like(xp, lo)), hi)
    values = [xp.where(p > 0, p, p * a) - s * p for p in (lo, hi, kink)]
    return functools.reduce(xp.minimum, values), functools.reduce(xp.maximum, values)


def _kink_intercepts(slope_of: Callable[[Any], Any]) -> Callable[..., tuple[Any, Any]]:
    """The tightest sound intercepts of lines of slopes ls (below) and us (above) x if x > 0 else a*x."""
    def intercepts(xp: Any, attrs: Any, lo: Any, hi: Any, ls: Any, us: Any) -> tuple[Any, Any]:
        a = slope_of(attrs)
        return _kink_bounds(xp, a, lo, hi, ls)[0], _kink_bounds(xp, a, lo, hi, us)[1]

    return intercepts


def _relu_intercepts(xp: Any, attrs: Any, lo: Any, hi: Any, ls: Any, us: Any) -> tuple[Any, Any]:
    """The intercepts the checkers accept for relu lines: the twin of Lean's `lineOk` (`Relax.lean`).

    For slopes in [0, 1] they are the tightest ones (`_kink_intercepts`): below, any line through
    an intercept <= 0 lies under relu everywhere; above, the least intercept is max(-us lo,
    hi - us hi), the line then being >= 0 at lo and >= x at hi, so over relu on [lo, hi] (its slope
    is in [0, 1]). A slope outside [0, 1] is accepted with no intercept (-inf below, +inf above):
    the search never states one, and the Lean checker's proof covers exactly this rule.
    """
    zero = zeros_like(xp, lo)
    ok_lower = (ls >= 0) & (ls <= 1)
    ok_upper = (us >= 0) & (us <= 1)
    li = xp.where(ok_lower, zero, -math.inf)
    ui = xp.where(ok_upper, xp.maximum(-us * lo, hi - us * hi), math.inf)
    return li, ui


def _kinked(slope_of: Callable[[Any], Any]) -> Callable[..., tuple[Any, Any, Any, Any]]:
    """CROWN relaxation of x if x > 0 else a*x (relu: a = 0) on [lo, hi].

    Off the kink the op is one line, taken exactly. Across it (lo < 0 < hi) with a <= 1 the op is
    convex: the chord bounds it above, and any line through 0 of slope in [a, 1] below; `alpha`
    in [0, 1] picks that slope (alpha-CROWN optimises it), by default 1 where hi >= -lo, else a
    (CROWN's adaptive choice, the smaller area). With a > 1 the op is concave and the roles swap.
    The intercepts come from `_kink_intercepts`, sound for whatever slopes are chosen.
    """
    def relax(xp: Any, attrs: Any, lo: Any, hi: Any, alpha: Any = None) -> tuple[Any, Any, Any, Any]:
        a = slope_of(attrs)
        cross = (lo < 0) & (hi > 0)
        branch = xp.where(lo >= 0, 1 + 0 * lo, a + 0 * lo)
        chord = xp.where(cross, (hi - a * lo) / xp.where(cross, hi - lo, 1 + 0 * lo), branch)
        t = (hi >= -lo) * 1.0 if alpha is None else alpha
        through_zero = xp.where(cross, a + (1 - a) * t, branch)
        lower, upper = (through_zero, chord) if a <= 1 else (chord, through_zero)
        li, ui = _kink_intercepts(slope_of)(xp, attrs, lo, hi, lower, upper)
        return lower, li, upper, ui

    return relax


@dataclass(frozen=True)
class SShaped:
    """What the CROWN rules of sigmoid and tanh need: float f and f', exact enclosures of both, and
    the shape facts the soundness argument rests on.

    f is convex on x <= 0 and concave on x >= 0; f' is even, rises to its peak f'(0) and falls
    after; f(x) + f(-x) = offset. `touch(xp, k)` (float) is the x >= 0 with f'(x) = k, for
    0 < k < peak: where a line of slope k touches f.
    """

    f: Callable[[Any, Any], Any]
    df: Callable[[Any, Any], Any]
    enclose: Callable[[Fraction], enclose.Enclosure]
    enclose_slope: Callable[[Fraction], enclose.Enclosure]
    peak: float
    offset: int
    touch: Callable[[Any, Any], Any]

    def intercepts(self, xp: Any, attrs: Any, lo: Any, hi: Any, ls: Any, us: Any) -> tuple[Any, Any]:
        """Intercepts li, ui with ls x + li <= f(x) <= us x + ui on [lo, hi] (the `intercepts` rule).

        li is the least gap min f(x) - ls x over [lo, hi], bounded below (`_least_gap`); the upper
        one follows by the symmetry f(x) = offset - f(-x): max over [lo, hi] of f(x) - us x is
        offset - min over [-hi, -lo] of f(y) - us y. On float arrays the same minimum is estimated
        in float64 (untrusted: CROWN widens it, and the checker redoes it exactly).
        """
        least = self._exact_least_gap if lo.dtype == np.dtype(object) else self._float_least_gap
        return least(xp, lo, hi, ls), self.offset - least(xp, -hi, -lo, us)

    def _touch_left(self, xp: Any, s: Any) -> Any:
        """Per slope s, where the least of f(x) - s x on x <= 0 lies: -touch(s) inside (0, peak);
        for s <= 0 the gap only rises (-inf: the left end); for s >= peak it only falls (0)."""
        inside = (s > 0) & (s < self.peak)
        x = -self.touch(xp, xp.where(inside, s, self.peak / 2))
        return xp.where(inside, x, xp.where(s <= 0, -xp.inf, 0.0))

    def _float_least_gap(self, xp: Any, lo: Any, hi: Any, s: Any) -> Any:
        """min over [lo, hi] of f(x) - s x, in float64: at the ends, or where slope s touches the convex part."""
        gap = lambda x: self.f(xp, x) - s * x  # noqa: E731
        c = xp.where(lo < 0, xp.minimum(xp.maximum(self._touch_left(xp, s), lo), xp.minimum(hi, 0)), lo)
        return xp.minimum(xp.minimum(gap(lo), gap(hi)), gap(c))

    def _exact_least_gap(self, xp: Any, lo: Any, hi: Any, s: Any) -> Any:
        """A sound lower bound of min over [lo, hi] of g(x) = f(x) - s x, elementwise over Fractions.

        Split [lo, hi] at 0. On the concave part [max(lo, 0), hi] g is concave: its least value is
        at an end, and both ends are covered below (lo or 0, and hi). On the convex part [lo, b],
        b = min(hi, 0) (when lo < 0), g is convex, so for any c in [lo, b] it lies above its tangent
        at c: g(x) >= g(c) + g'(c) (x - c). With f(c) >= F and f'(c) within [D0, D1] (enclosures),
        g >= F - s c + min over d in [D0 - s, D1 - s], x in {lo, b} of d (x - c) on all of [lo, b]
        (the term is bilinear in d and x, so its least value is at a corner). Any c is sound; the
        float64 touching point of slope s, clamped into [lo, b], makes g'(c) nearly 0 and the bound
        tight (to about 2**-50 (hi - lo)). The result is the least of that and the enclosures of g
        at lo and hi: covering both parts, and every value of g on [lo, hi] is >= it.
        """
        guess = self._touch_left(np, np.asarray(s, dtype=np.float64))
        return np.frompyfunc(self._least_gap_at, 4, 1)(lo, hi, s, guess)

    def _least_gap_at(self, lo: Fraction, hi: Fraction, s: Fraction, guess: float) -> Fraction:
        gap = lambda x: self.enclose(x).lo - s * x  # noqa: E731  (a lower bound of g(x))
        least = min(gap(lo), gap(hi))
        if lo >= 0:
            return least
        b = min(hi, Fraction(0))
        c = min(max(Fraction(guess), lo), b) if math.isfinite(guess) else lo
        tangent = min((d - s) * (x - c) for d in self.enclose_slope(c) for x in (lo, b))
        return min(least, gap(c) + tangent)

    def lower_slope(self, xp: Any, lo: Any, hi: Any) -> Any:
        """CROWN's lower line slope on [lo, hi] (Zhang et al. 2018): on the convex side the tangent
        at the midpoint; on the concave side the chord; across 0 the tangent at some d in [lo, 0]
        that passes through (hi, f(hi)) when one exists, else the chord.

        For d <= 0, h(d) = f(d) + f'(d) (hi - d) - f(hi) (the tangent at d, read at hi, less f(hi))
        rises with d (h' = f''(d) (hi - d) >= 0) and h(0) >= 0 (f is concave on [0, hi]), so d
        exists iff h(lo) <= 0, and bisection finds it. Any slope is sound: the intercept rule
        makes the line touch f, so only tightness rests on this choice.
        """
        f, df = (lambda x: self.f(xp, x)), (lambda x: self.df(xp, x))
        flat = hi <= lo
        chord = xp.where(flat, df(lo), (f(hi) - f(lo)) / xp.where(flat, 1.0, hi - lo))
        h = lambda d: f(d) + df(d) * (hi - d) - f(hi)  # noqa: E731
        left, right = lo, xp.zeros_like(lo)
        for _ in range(BISECTIONS):
            mid = (left + right) / 2
            below = h(mid) <= 0
            left, right = xp.where(below, mid, left), xp.where(below, right, mid)
        across = xp.where(h(lo) <= 0, df(left), chord)
        return xp.where(hi <= 0, df((lo + hi) / 2), xp.where(lo >= 0, chord, across))

    def relax(self, xp: Any, attrs: Any, lo: Any, hi: Any) -> tuple[Any, Any, Any, Any]:
        """CROWN relaxation on [lo, hi]: the lower slope of `lower_slope`, the upper one by the
        symmetry f(x) = offset - f(-x) (the lower slope on [-hi, -lo]); the intercepts are those of
        `intercepts`, widened against float64 rounding of f and of s x."""
        ls, us = self.lower_slope(xp, lo, hi), self.lower_slope(xp, -hi, -lo)
        li, ui = self.intercepts(xp, attrs, lo, hi, ls, us)
        slack = 2.0**-40 * (1 + abs(lo) + abs(hi)) * (1 + abs(ls) + abs(us))
        return ls, li - slack, us, ui + slack

    def exact_interval(self, xp: Any, attrs: Any, x: Interval) -> Interval:
        """f is increasing: [enclosure of f(lo) from below, enclosure of f(hi) from above], over Fractions."""
        return Interval(_LOWER(self.enclose, x.lo), _UPPER(self.enclose, x.hi))


BISECTIONS = 50  # halvings of [lo, 0] when looking for the tangent through an end: a float64's worth
_LOWER = np.frompyfunc(lambda enc, q: enc(q).lo, 2, 1)
_UPPER = np.frompyfunc(lambda enc, q: enc(q).hi, 2, 1)


def _relu_slope(attrs: Any) -> Any:
    return 0


def _leaky_slope(attrs: Any) -> Any:
    return attrs["alpha"]


def _sigmoid_slope(xp: Any, x: Any) -> Any:
    s = _sigmoid(xp, None, x)
    return s * (1 - s)


def _sigmoid_touch(xp: Any, k: Any) -> Any:
    """The x >= 0 with sigmoid'(x) = k in (0, 1/4): sigmoid(x) = p = (1 + w) / 2, w = sqrt(1 - 4k),
    and p (1 - p) = k, so x = log(p / (1 - p)) = log(p**2 / k) (no cancellation for tiny k)."""
    p = (1 + xp.sqrt(1 - 4 * k)) / 2
    return 2 * xp.log(p) - xp.log(k)


def _tanh_touch(xp: Any, k: Any) -> Any:
    """The x >= 0 with tanh'(x) = 1 - tanh(x)**2 = k in (0, 1): t = sqrt(1 - k) and
    x = atanh t = log((1 + t) / (1 - t)) / 2 = log(1 + t) - log(k) / 2, as (1 - t)(1 + t) = k."""
    return xp.log(1 + xp.sqrt(1 - k)) - xp.log(k) / 2


SIGMOID = SShaped(lambda xp, x: _sigmoid(xp, None, x), _sigmoid_slope, enclose.sigmoid, enclose.sigmoid_slope,
                  0.25, 1, _sigmoid_touch)
TANH = SShaped(lambda xp, x: xp.tanh(x), lambda xp, x: 1 - xp.tanh(x) ** 2, enclose.tanh, enclose.tanh_slope,
               1.0, 0, _tanh_touch)


def _sigmoid_vjp(xp: Any, attrs: Any, g: Any, x: Any) -> tuple[Any]:
    s = _sigmoid(xp, attrs, x)
    return (g * s * (1 - s),)


def _tanh_vjp(xp: Any, attrs: Any, g: Any, x: Any) -> tuple[Any]:
    t = xp.tanh(x)
    return (g * (1 - t * t),)


register(OpSpec(
    "neg", X, _same_shape, lambda xp, attrs, x: -x, exact=True, lean="neg", doc="-x.",
    interval=lambda xp, attrs, x: Interval(-x.hi, -x.lo), vjp=lambda xp, attrs, g, x: (-g,),
    affine_backward=from_vjp(lambda xp, attrs, g, x: (-g,), factors=()),
))
register(OpSpec(
    "relu", X, _same_shape, _relu, exact=True, lean="relu", doc="max(x, 0).", interval=monotone(_relu),
    vjp=lambda xp, attrs, g, x: (g * (x > 0),), relax=_kinked(_relu_slope), tunable=True, intercepts=_relu_intercepts,
    pointwise=True,
))
register(OpSpec(
    "leaky_relu", X, _same_shape, _leaky_relu, exact=True, lean="leakyRelu",
    doc="x if x > 0 else alpha * x.", attrs={"alpha": Attr("float", 0.01, "slope for x <= 0")},
    interval=_leaky_relu_interval, vjp=lambda xp, attrs, g, x: (xp.where(x > 0, g, g * attrs["alpha"]),),
    relax=_kinked(_leaky_slope), tunable=True, intercepts=_kink_intercepts(_leaky_slope),
))
register(OpSpec(
    "sigmoid", X, _same_shape, _sigmoid, exact=False, lean="sigmoid", doc="1 / (1 + exp(-x)).",
    interval=_sigmoid_interval, vjp=_sigmoid_vjp, relax=SIGMOID.relax, intercepts=SIGMOID.intercepts,
    exact_interval=SIGMOID.exact_interval,
))
register(OpSpec(
    "tanh", X, _same_shape, _tanh, exact=False, lean="tanh", doc="tanh x.", interval=monotone(_tanh), vjp=_tanh_vjp,
    relax=TANH.relax, intercepts=TANH.intercepts, exact_interval=TANH.exact_interval,
))
