"""Inference-mode batch normalization along a channel axis.

y = (x - mean) / sqrt(var + epsilon) * scale + bias, with the running statistics as parameters.
The square root has no exact rational meaning, so the op is not exact: its Lean denotation goes
through a stated enclosure (or a frontend folds it into the neighbouring linear layer).
Per channel it is affine with slope scale / sqrt(var + epsilon), whose sign is the sign of scale:
the interval rule takes the kernel at x's lower end where scale >= 0 and at its upper end elsewhere,
and the VJP multiplies the gradient by that slope. The exact interval rule (for the certificate
checker) encloses 1 / sqrt(var + epsilon) between two rationals (`numeric.enclose.inv_sqrt`), and
so do the lines CROWN's exact back-substitution moves through it (`_batchnorm_lines`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..ir.graph import Shape
from ..numeric import enclose
from .base import (Attr, Attrs, Interval, Operand, OpSpec, Scaled, Unbounded, as_integers, corners, fail, from_vjp,
                   norm_axis, register, sample_axis, unbatch_param)

STATS = ("scale", "bias", "mean", "var")


def _batchnorm_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    x = shapes[0]
    axis = norm_axis(attrs["axis"], len(x))
    for name, shape in zip(STATS, shapes[1:]):
        if shape != (x[axis],):
            raise fail(f"{name} must have shape [{x[axis]}] (the channels of x {list(x)} along axis {axis}), got {list(shape)}")
    return x


def _along(attrs: Attrs, x: Any, p: Any) -> Any:
    """A per-channel parameter shaped to broadcast along x's channel axis."""
    rank = x.ndim - 1
    trailing = (1,) * (rank - sample_axis(attrs["axis"], rank))
    return unbatch_param(p).reshape((-1,) + trailing)


def _slope(xp: Any, attrs: Attrs, x: Any, scale: Any, var: Any) -> Any:
    """scale / sqrt(var + epsilon), per channel, shaped to broadcast along x."""
    return _along(attrs, x, scale) / xp.sqrt(_along(attrs, x, var) + attrs["epsilon"])


def _batchnorm(xp: Any, attrs: Attrs, x: Any, scale: Any, bias: Any, mean: Any, var: Any) -> Any:
    return (x - _along(attrs, x, mean)) * _slope(xp, attrs, x, scale, var) + _along(attrs, x, bias)


def _batchnorm_vjp(xp: Any, attrs: Attrs, g: Any, x: Any, scale: Any, bias: Any, mean: Any, var: Any) -> tuple[Any, ...]:
    return (g * _slope(xp, attrs, x, scale, var),) + (None,) * len(STATS)


def _batchnorm_interval(xp: Any, attrs: Attrs, x: Interval, *stats: Interval) -> Interval:
    at_lo, at_hi = (_batchnorm(xp, attrs, v, *(s.lo for s in stats)) for v in x)
    rising = _along(attrs, x.lo, stats[0].lo) >= 0
    return Interval(xp.where(rising, at_lo, at_hi), xp.where(rising, at_hi, at_lo))


def _exact_rate(attrs: Attrs, x: Any, scale: Any, var: Any) -> Interval:
    """Exact bounds of the slope scale / sqrt(var + epsilon) per channel, shaped to broadcast along x.

    1 / sqrt(var + epsilon) lies in its enclosure [g0, g1] (g0 > 0); times scale it lies between
    scale g0 and scale g1, whose order is the sign of scale.
    """
    shifted = _along(attrs, x, var) + attrs["epsilon"]
    if any(v <= 0 for v in shifted.flat):
        raise Unbounded("var + epsilon is not positive, so 1 / sqrt(var + epsilon) has no bound")
    g = _INV_SQRT(shifted)
    k = _along(attrs, x, scale)
    ends = k * _PART(g, 0), k * _PART(g, 1)
    return Interval(np.minimum(*ends), np.maximum(*ends))


_INV_SQRT = np.frompyfunc(enclose.inv_sqrt, 1, 1)
_PART = np.frompyfunc(lambda e, i: e[i], 2, 1)


def _batchnorm_exact_interval(xp: Any, attrs: Attrs, x: Interval, scale: Interval, bias: Interval, mean: Interval,
                              var: Interval) -> Interval:
    """The interval rule over Fractions, through the 1 / sqrt enclosure (sqrt has no exact value).

    y = (x - mean) k + bias with k in the exact interval of the slope (`_exact_rate`): the product
    of the intervals of x - mean and of k takes its extremes at the four corners (`corners`), so
    the result holds y for every value of k in its interval, the true slope among them.
    """
    m = _along(attrs, x.lo, mean.lo)
    product = corners(np, lambda a, b: a * b, Interval(x.lo - m, x.hi - m), _exact_rate(attrs, x.lo, scale.lo, var.lo))
    b = _along(attrs, x.lo, bias.lo)
    return Interval(product.lo + b, product.hi + b)


def _batchnorm_lines(xp: Any, attrs: Attrs, A: Any, x: Interval, scale: Any, bias: Any, mean: Any,
                     var: Any) -> tuple[tuple[Any, None, None, None, None], Any]:
    """CROWN through batchnorm (`OpSpec.bound_backward`) where its slope has no exact value.

    y = (x - mean) k + bias with k only enclosed, k in [c, c + w] (`_exact_rate`). Per row
    coefficient a: a y = a c x + a (bias - c mean) + a (k - c)(x - mean), and the last term is
    bilinear in k - c in [0, w] and x in [lo, hi], so it is at least min(0, a w (lo - mean),
    a w (hi - mean)). Coefficients a c on x, the rest constants: sound for the true k. Exact rows
    arrive as Scaled integers and the products run on integers. On float rows (CROWN's float pass
    moves through batchnorm by its VJP instead) the same lines with the float slope, w = 0.
    """
    m, b = _along(attrs, x.lo, mean), _along(attrs, x.lo, bias)
    if not isinstance(A, Scaled):
        k = _slope(xp, attrs, x.lo, scale, var)
        return (A * k, None, None, None, None), A * (b - k * m)
    rate = _exact_rate(attrs, x.lo, scale, var)
    c, w = rate.lo, rate.hi - rate.lo
    s, (c_int,) = as_integers(c)
    t, (q_int,) = as_integers(b - c * m)
    u, (e_lo, e_hi) = as_integers(w * (x.lo - m), w * (x.hi - m))
    a = A.num
    error = np.minimum(np.minimum(a * e_lo[:, None], a * e_hi[:, None]), 0)
    consts = Scaled(a * q_int, A.den * t).plus(Scaled(error, A.den * u))
    return (Scaled(a * c_int, A.den * s), None, None, None, None), consts


register(OpSpec(
    "batchnorm",
    (Operand("x"),) + tuple(Operand(n, param=True) for n in STATS),
    _batchnorm_shape, _batchnorm, exact=False, lean="batchnorm", interval=_batchnorm_interval, vjp=_batchnorm_vjp,
    affine_backward=from_vjp(_batchnorm_vjp), exact_interval=_batchnorm_exact_interval, bound_backward=_batchnorm_lines,
    doc="Inference batch normalization (ONNX BatchNormalization, torch BatchNorm in eval mode).",
    attrs={
        "epsilon": Attr("float", 1e-5, "added to var before the square root"),
        "axis": Attr("int", 1, "the channel axis of the per-sample shape (1 for ONNX [N, C, ...] inputs)"),
    },
))
