"""Elementwise ops: add, sub, mul, div (broadcasting), neg, relu, leaky_relu, sigmoid, tanh.

The binary ops broadcast NumPy/ONNX-style: that is their stated rule, so `x + bias` with a bias
of shape (n,) on x of shape (1, n) is allowed. Sigmoid and tanh have no exact rational meaning
(`exact=False`): their Lean denotation goes through a stated enclosure.

Interval rules: add, relu, sigmoid and tanh are monotone; sub pairs each end with the other
operand's opposite end; mul takes the hull of the four corner products, and div the hull of the
four corner quotients once the divisor's interval excludes 0 (otherwise there is no bound).

VJPs (float): each operand's gradient is the output gradient times the partial derivative,
summed back over the axes the operand was broadcast along (`base.sum_to`). Relu and leaky
relu take the right-hand slope at the kink's left, i.e. the slope of the branch the kernel picks.
"""

from __future__ import annotations

import functools
import operator
from typing import Any, Callable

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
    return xp.where(x > 0, x, zeros_like(xp, x))


def _leaky_relu(xp: Any, attrs: Any, x: Any) -> Any:
    return xp.where(x > 0, x, x * attrs["alpha"])


def _leaky_relu_interval(xp: Any, attrs: Any, x: Interval) -> Interval:
    """Linear on each side of its one kink at 0, so the extremes lie at the ends or at the kink
    (when inside): exact for every alpha, negative slopes included."""
    kink = xp.minimum(xp.maximum(x.lo, zeros_like(xp, x.lo)), x.hi)
    return hull(xp, [_leaky_relu(xp, attrs, v) for v in (x.lo, x.hi, kink)])


def _sigmoid(xp: Any, attrs: Any, x: Any) -> Any:
    return 1 / (1 + xp.exp(-x))


def _tanh(xp: Any, attrs: Any, x: Any) -> Any:
    return xp.tanh(x)


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


def _s_shaped(f: Callable[[Any, Any], Any], df: Callable[[Any, Any], Any]) -> Callable[..., tuple[Any, Any, Any, Any]]:
    """CROWN relaxation of sigmoid or tanh on [lo, hi] (float only: no exact check exists).

    Both are convex for x <= 0 and concave for x >= 0, with a derivative that rises to its peak at
    0 and falls after, so its least value on [lo, hi] is at an end: k = min(f'(lo), f'(hi)).
    Convex part: tangent at the midpoint below, chord above; concave part: the mirror image; across
    0: slope k through (lo, f(lo)) below and through (hi, f(hi)) above (f' >= k on [lo, hi]).
    Intercepts are widened by 1e-12 (1 + |lo| + |hi|) against float64 rounding of f.
    """
    def relax(xp: Any, attrs: Any, lo: Any, hi: Any) -> tuple[Any, Any, Any, Any]:
        f_lo, f_hi, mid = f(xp, lo), f(xp, hi), (lo + hi) / 2
        flat = hi <= lo
        chord_s = xp.where(flat, 0 * lo, (f_hi - f_lo) / xp.where(flat, 1 + 0 * lo, hi - lo))
        tan_s = df(xp, mid)
        k = xp.minimum(df(xp, lo), df(xp, hi))
        convex, concave = hi <= 0, lo >= 0
        ls = xp.where(convex, tan_s, xp.where(concave, chord_s, k))
        li = xp.where(convex, f(xp, mid) - tan_s * mid, xp.where(concave, f_lo - chord_s * lo, f_lo - k * lo))
        us = xp.where(convex, chord_s, xp.where(concave, tan_s, k))
        ui = xp.where(convex, f_lo - chord_s * lo, xp.where(concave, f(xp, mid) - tan_s * mid, f_hi - k * hi))
        slack = 1e-12 * (1 + abs(lo) + abs(hi))
        return ls, li - slack, us, ui + slack

    return relax


def _relu_slope(attrs: Any) -> Any:
    return 0


def _leaky_slope(attrs: Any) -> Any:
    return attrs["alpha"]


def _sigmoid_slope(xp: Any, x: Any) -> Any:
    s = _sigmoid(xp, None, x)
    return s * (1 - s)


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
    vjp=lambda xp, attrs, g, x: (g * (x > 0),), relax=_kinked(_relu_slope), tunable=True, intercepts=_kink_intercepts(_relu_slope),
))
register(OpSpec(
    "leaky_relu", X, _same_shape, _leaky_relu, exact=True, lean="leakyRelu",
    doc="x if x > 0 else alpha * x.", attrs={"alpha": Attr("float", 0.01, "slope for x <= 0")},
    interval=_leaky_relu_interval, vjp=lambda xp, attrs, g, x: (xp.where(x > 0, g, g * attrs["alpha"]),),
    relax=_kinked(_leaky_slope), tunable=True, intercepts=_kink_intercepts(_leaky_slope),
))
register(OpSpec(
    "sigmoid", X, _same_shape, _sigmoid, exact=False, lean="sigmoid", doc="1 / (1 + exp(-x)).",
    interval=monotone(_sigmoid), vjp=_sigmoid_vjp,
    relax=_s_shaped(lambda xp, x: _sigmoid(xp, None, x), _sigmoid_slope),
))
register(OpSpec(
    "tanh", X, _same_shape, _tanh, exact=False, lean="tanh", doc="tanh x.", interval=monotone(_tanh), vjp=_tanh_vjp,
    relax=_s_shaped(lambda xp, x: xp.tanh(x), lambda xp, x: 1 - xp.tanh(x) ** 2),
))
