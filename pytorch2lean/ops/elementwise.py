"""Elementwise ops: add, sub, mul, div (broadcasting), neg, relu, leaky_relu, sigmoid, tanh.

The binary ops broadcast NumPy/ONNX-style: that is their stated rule, so `x + bias` with a bias
of shape (n,) on x of shape (1, n) is allowed. Sigmoid and tanh have no exact rational meaning
(`exact=False`): their Lean denotation goes through a stated enclosure.
"""

from __future__ import annotations

import operator
from typing import Any, Callable

from .base import Attr, Operand, OpSpec, broadcast, lift, register, zeros_like

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


for _tag, _lean, _fn, _doc in [
    ("add", "add", operator.add, "a + b, broadcasting (residual joins, biases)."),
    ("sub", "sub", operator.sub, "a - b, broadcasting."),
    ("mul", "mul", operator.mul, "a * b elementwise, broadcasting (scaling by a constant tensor)."),
    ("div", "div", operator.truediv, "a / b elementwise, broadcasting; b must be nonzero."),
]:
    register(OpSpec(_tag, AB, _broadcast_shape, _binary(_fn), exact=True, lean=_lean, doc=_doc))


def _relu(xp: Any, attrs: Any, x: Any) -> Any:
    return xp.where(x > 0, x, zeros_like(xp, x))


def _leaky_relu(xp: Any, attrs: Any, x: Any) -> Any:
    return xp.where(x > 0, x, x * attrs["alpha"])


def _sigmoid(xp: Any, attrs: Any, x: Any) -> Any:
    return 1 / (1 + xp.exp(-x))


register(OpSpec("neg", X, _same_shape, lambda xp, attrs, x: -x, exact=True, lean="neg", doc="-x."))
register(OpSpec("relu", X, _same_shape, _relu, exact=True, lean="relu", doc="max(x, 0)."))
register(OpSpec(
    "leaky_relu", X, _same_shape, _leaky_relu, exact=True, lean="leakyRelu",
    doc="x if x > 0 else alpha * x.", attrs={"alpha": Attr("float", 0.01, "slope for x <= 0")},
))
register(OpSpec("sigmoid", X, _same_shape, _sigmoid, exact=False, lean="sigmoid", doc="1 / (1 + exp(-x))."))
register(OpSpec("tanh", X, _same_shape, lambda xp, attrs, x: xp.tanh(x), exact=False, lean="tanh", doc="tanh x."))
