"""Dense products: linear (x W^T + b) and matmul (numpy.matmul semantics).

Both are exact: a matrix product is sums of products, so the same kernel runs on float32 arrays
and on object arrays of Fractions. Matmul must treat the runtime's leading batch axis as one more
stack axis, which `batched_matmul` does for every rank combination of its operands.

Interval rules: a product with a constant (the weight of linear, or a parameter side of matmul)
splits the constant by sign, the tightest bound, with four products in place of one. A matmul of
two activations bounds each term a_ik b_kj by its four corner products and sums the term bounds.

VJPs: linear's is g W; matmul's are g b^T and a^T g on the promoted operands, summed back over
the stack axes each operand was broadcast along, then demoted to the operand's own shape.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..ir.graph import Shape
from ..numeric.intmat import int_matmul
from .base import (Attrs, Interval, Operand, OpSpec, Symbolic, broadcast, by_sign, corners, fail, from_vjp,
                   integral_product, lift, register, sum_to, unbatch_param, weighted)


def _linear_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    x, w = shapes[0], shapes[1]
    if len(x) < 1:
        raise fail(f"x must have rank >= 1, got shape {list(x)}")
    if len(w) != 2:
        raise fail(f"weight must have shape [out, in], got {list(w)}")
    if x[-1] != w[1]:
        raise fail(f"weight {list(w)} takes {w[1]} input features, x {list(x)} has {x[-1]}")
    if len(shapes) == 3 and shapes[2] != (w[0],):
        raise fail(f"bias must have shape [{w[0]}] to match weight {list(w)}, got {list(shapes[2])}")
    return x[:-1] + (w[0],)


def exact_matmul(xp: Any, a: Any, b: Any) -> Any:
    """xp.matmul; on object arrays of ints (exact arithmetic scaled to integers) by float64 limbs,
    the same integers without a Python operation per term (`numeric.intmat`)."""
    if a.dtype == np.dtype(object) and b.dtype == np.dtype(object):
        product = int_matmul(a, b)
        if product is not None:
            return product
    return xp.matmul(a, b)


def rows_matmul(xp: Any, a: Any, b: Any) -> Any:
    """a (..., k) times one matrix b (k, n) as a single GEMM over all of a's rows.

    xp.matmul would broadcast b over a's leading axes and run one small product per stacked
    matrix (a batch of 1024 rows of shape (1, k) made 1024 products); folding the leading axes
    into rows gives the same numbers from one BLAS call.
    """
    y = exact_matmul(xp, a.reshape((-1, a.shape[-1])), b)
    return y.reshape(tuple(a.shape[:-1]) + (b.shape[-1],))


def _linear(xp: Any, attrs: Attrs, x: Any, weight: Any, bias: Any = None) -> Any:
    y = integral_product(lambda u, v: rows_matmul(xp, u, v), x, unbatch_param(weight).T)
    return y if bias is None else y + unbatch_param(bias)


def matmul_shape(a: Shape, b: Shape) -> Shape:
    """numpy.matmul's result shape: 1-D operands are promoted, then dropped; stacks broadcast."""
    if not a or not b:
        raise fail(f"matmul operands must have rank >= 1, got shapes {list(a)} and {list(b)}")
    pa = (1,) + a if len(a) == 1 else a
    pb = b + (1,) if len(b) == 1 else b
    if pa[-1] != pb[-2]:
        raise fail(f"a {list(a)} has {pa[-1]} columns, b {list(b)} has {pb[-2]} rows")
    rows = (pa[-2],) if len(a) > 1 else ()
    cols = (pb[-1],) if len(b) > 1 else ()
    return broadcast(pa[:-2], pb[:-2]) + rows + cols


def batched_matmul(xp: Any, a: Any, b: Any) -> Any:
    """numpy.matmul on per-sample values, each array carrying one leading batch axis.

    A per-sample vector is promoted to a matrix (a row for `a`, a column for `b`); then both
    operands are lifted to the same sample rank, so the batch axis (size B or 1) lines up with
    the batch axis and broadcasts as a stack axis. The promoted axes are dropped at the end.
    """
    pa, pb = _promoted(a, b)
    return _demoted(stack_matmul(xp, pa, pb), a, b)


def stack_matmul(xp: Any, a: Any, b: Any) -> Any:
    """xp.matmul(a, b) of stacks of matrices; when b is one matrix (every stack axis 1: a weight),
    one GEMM over all of a's rows (`rows_matmul`), never a small product per stacked matrix."""
    if any(n != 1 for n in b.shape[:-2]):
        return exact_matmul(xp, a, b)
    y = rows_matmul(xp, a, b.reshape(b.shape[-2:]))
    stack = np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    return y.reshape(stack + tuple(y.shape[-2:]))


def _promoted(a: Any, b: Any) -> tuple[Any, Any]:
    """a and b as stacks of matrices of one common rank (vectors promoted, then lifted)."""
    pa = a[:, None, :] if a.ndim == 2 else a
    pb = b[:, :, None] if b.ndim == 2 else b
    rank = max(pa.ndim, pb.ndim) - 1
    return lift(pa, rank), lift(pb, rank)


def _demoted(y: Any, a: Any, b: Any) -> Any:
    """The product of promoted operands without the axes that promotion added."""
    a_vec, b_vec = a.ndim == 2, b.ndim == 2
    if b_vec:
        y = y[..., 0]
    if a_vec:
        y = y[..., 0] if b_vec else y[..., 0, :]
    return y


def _matmul_interval(xp: Any, attrs: Attrs, a: Interval, b: Interval) -> Interval:
    if b.point:
        return by_sign(xp, lambda v, w: batched_matmul(xp, v, w), a, b.lo)
    if a.point:
        return by_sign(xp, lambda v, w: batched_matmul(xp, w, v), b, a.lo)
    (pa_lo, pb_lo), (pa_hi, pb_hi) = _promoted(a.lo, b.lo), _promoted(a.hi, b.hi)
    terms = corners(xp, lambda x, y: x[..., :, :, None] * y[..., None, :, :],
                    Interval(pa_lo, pa_hi), Interval(pb_lo, pb_hi))  # (..., m, k, n): a_ik * b_kj
    return terms.map(lambda t: _demoted(t.sum(axis=-2), a.lo, b.lo))


def _linear_vjp(xp: Any, attrs: Attrs, g: Any, x: Any, weight: Any, bias: Any = None) -> tuple[Any, ...]:
    return (rows_matmul(xp, g, unbatch_param(weight)), None) + ((None,) if bias is not None else ())


def _matmul_vjp(xp: Any, attrs: Attrs, g: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """With y = pa pb on the promoted operands: d/dpa = gy pb^T, d/dpb = pa^T gy."""
    return _matmul_grad_a(xp, attrs, g, a, b)[0], _matmul_grad_b(xp, attrs, g, a, b)[1]


def _promoted_grad(g: Any, a: Any, b: Any) -> Any:
    """The result gradient with the axes that promotion dropped put back."""
    gy = g[..., None] if b.ndim == 2 else g  # the dropped column axis of a vector b
    return gy[..., None, :] if a.ndim == 2 else gy  # the dropped row axis of a vector a


def _matmul_grad_a(xp: Any, attrs: Attrs, g: Any, a: Any, b: Any) -> tuple[Any, None]:
    pa, pb = _promoted(a, b)
    ga = stack_matmul(xp, _promoted_grad(g, a, b), xp.swapaxes(pb, -1, -2))
    return sum_to(ga, pa.shape).reshape(a.shape), None


def _matmul_grad_b(xp: Any, attrs: Attrs, g: Any, a: Any, b: Any) -> tuple[None, Any]:
    pa, pb = _promoted(a, b)
    gb = exact_matmul(xp, xp.swapaxes(pa, -1, -2), _promoted_grad(g, a, b))
    return None, sum_to(gb, pb.shape).reshape(b.shape)


_MATMUL_BY_A, _MATMUL_BY_B = (from_vjp(grad, factors=(0, 1)) for grad in (_matmul_grad_a, _matmul_grad_b))


def _matmul_backward(xp: Any, attrs: Attrs, A: Any, a: Any, b: Any) -> tuple[Any, ...] | None:
    """Affine while one factor is a constant: the VJP of the other side only (the constant's
    gradient would be a wasted product, on exact arrays an object-array one)."""
    if isinstance(a, Symbolic) == isinstance(b, Symbolic):
        return None
    return (_MATMUL_BY_A if isinstance(a, Symbolic) else _MATMUL_BY_B)(xp, attrs, A, a, b)


register(OpSpec(
    "linear", (Operand("x"), Operand("weight", param=True), Operand("bias", param=True, optional=True)),
    _linear_shape, _linear, exact=True, lean="linear",
    doc="x W^T + b over the last axis of x: a fully connected layer (ONNX Gemm with transB=1, torch Linear).",
    interval=weighted(_linear), vjp=_linear_vjp, affine_backward=from_vjp(_linear_vjp, factors=(1,)),
))
register(OpSpec(
    "matmul", (Operand("a"), Operand("b")),
    lambda attrs, shapes: matmul_shape(shapes[0], shapes[1]),
    lambda xp, attrs, a, b: integral_product(lambda u, v: batched_matmul(xp, u, v), a, b), exact=True, lean="matmul",
    doc="numpy.matmul of per-sample values; either side may be a parameter (ONNX MatMul(W, X) included).",
    interval=_matmul_interval, vjp=_matmul_vjp, vjp_parts=(_matmul_grad_a, _matmul_grad_b),
    affine_backward=_matmul_backward,
))
