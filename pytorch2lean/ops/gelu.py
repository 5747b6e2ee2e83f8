"""GELU: x * Phi(x), Phi the standard normal CDF, or its tanh approximation.

approximate="none": Phi(x) = erfc(-x / sqrt 2) / 2. The erfc form (not (1 + erf) / 2) avoids the
cancellation that would lose all float32 digits of Phi for x below about -4. NumPy has no erf, so
on NumPy Phi is computed per element in double precision by `math.erfc` (error below 1 ulp of a
double), on CuPy by `cupyx.scipy.special.erfc` in double precision; either way Phi is rounded
once to float32, so GELU is within about 1 float32 ulp of the true value (2.4e-7 relative is
tested over [-10, 10]).

approximate="tanh": 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), in the input's precision.
Neither form has an exact rational meaning (`exact=False`).

Interval rule: both forms fall on (-inf, m] and rise on [m, inf) with m near -0.752 (-0.75179 for
"none", -0.75246 for "tanh"), their minima -0.169971 and -0.170041. So the upper bound is the
larger end value; the lower bound is the value at the upper end left of -0.76, at the lower end
right of -0.74, and GELU_MIN (below both minima) for an interval reaching into [-0.76, -0.74].

VJP: d/dx x Phi(x) = Phi(x) + x phi(x), phi the normal density; for the tanh form, with
t = tanh(k (x + c x^3)): (1 + t) / 2 + x (1 - t^2) k (1 + 3 c x^2) / 2.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..ir.graph import Shape
from .base import Attr, Attrs, Interval, Operand, OpSpec, fail, register

APPROXIMATIONS = ("none", "tanh")
FALLS_BELOW, RISES_ABOVE = -0.76, -0.74  # both forms decrease left of the first, increase right of the second
GELU_MIN = -0.1701  # below the minimum of both forms
_SQRT1_2 = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_ERFC_NUMPY = np.frompyfunc(math.erfc, 1, 1)


def _gelu_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    if attrs["approximate"] not in APPROXIMATIONS:
        raise fail(f"gelu approximate must be one of {', '.join(APPROXIMATIONS)}; got {attrs['approximate']!r}")
    return shapes[0]


def _erfc64(xp: Any, z: Any) -> Any:
    """erfc of a float64 array on its own backend."""
    if xp is np:
        return _ERFC_NUMPY(z).astype(np.float64)
    from cupyx.scipy.special import erfc

    return erfc(z)


def _normal_cdf(xp: Any, x: Any) -> Any:
    """Phi(x) in double precision, rounded once to x's dtype."""
    return (0.5 * _erfc64(xp, x.astype(xp.float64) * -_SQRT1_2)).astype(x.dtype)


def _gelu(xp: Any, attrs: Attrs, x: Any) -> Any:
    if attrs["approximate"] == "tanh":
        return 0.5 * x * (1 + xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
    return x * _normal_cdf(xp, x)


def _gelu_vjp(xp: Any, attrs: Attrs, g: Any, x: Any) -> tuple[Any]:
    if attrs["approximate"] == "tanh":
        t = xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
        slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
    else:
        slope = _normal_cdf(xp, x) + x * xp.exp(-0.5 * x * x) * _INV_SQRT_2PI
    return (g * slope,)


def _gelu_interval(xp: Any, attrs: Attrs, x: Interval) -> Interval:
    at_lo, at_hi = _gelu(xp, attrs, x.lo), _gelu(xp, attrs, x.hi)
    lower = xp.where(x.hi < FALLS_BELOW, at_hi, xp.where(x.lo > RISES_ABOVE, at_lo, GELU_MIN))
    return Interval(lower, xp.maximum(at_lo, at_hi))


register(OpSpec(
    "gelu", (Operand("x"),), _gelu_shape, _gelu, exact=False, lean="gelu",
    doc="x * Phi(x) (approximate='none', via erfc) or its tanh approximation (ONNX Gelu, opset 20).",
    attrs={"approximate": Attr("str", "none", "none | tanh")}, interval=_gelu_interval, vjp=_gelu_vjp,
))
