"""The op contract: what one op module declares, side by side.

An `OpSpec` holds an op's operand list, attribute schema, shape rule, array kernel and Lean tag.
Kernels are written against an array module `xp` (NumPy or CuPy) and receive every operand with
one extra leading batch axis (size B for activations, size 1 for parameters). Ops with an exact
rational meaning (`exact=True`) use only ring operations and comparisons, so the very same kernel
also runs on NumPy object arrays of `fractions.Fraction`: that is the exact evaluator.
An op may also carry a vector-Jacobian product (`OpSpec.vjp`, float only, for the falsifier's
gradient steps): from the gradient of a loss with respect to the result and the operands, the
gradient with respect to each operand; None for a parameter operand (nothing needs it).
An op may also carry an interval rule (`OpSpec.interval`): from elementwise bounds on its operands
it computes elementwise bounds on its result. Like a kernel it is written once against `xp`; on
an exact op it uses only exact operations too, so the same rule runs in float64 (the untrusted,
fast bound code) and over Fractions (the exact certificate checker).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np

from ..errors import GraphError, ShapeError
from ..ir.graph import AttrValue, Shape, normalize_attr
from ..numeric.frozen import derived, frozen

REQUIRED: Any = type("Required", (), {"__repr__": lambda self: "REQUIRED"})()

ATTR_KINDS = ("int", "float", "bool", "str", "ints", "floats")


@dataclass(frozen=True)
class Attr:
    """One attribute: its kind (one of ATTR_KINDS), default (REQUIRED if none) and meaning."""

    kind: str
    default: Any = REQUIRED
    doc: str = ""


@dataclass(frozen=True)
class Operand:
    """One operand. `param=True`: it must be a parameter (weights, statistics), never an activation."""

    name: str
    param: bool = False
    optional: bool = False


Attrs = Mapping[str, AttrValue]
ShapeRule = Callable[[Attrs, Sequence[Shape]], Shape]
Kernel = Callable[..., Any]


class Interval(NamedTuple):
    """Elementwise bounds lo <= value <= hi of one tensor, each end carrying the batch axis.

    A parameter is passed as a point: both ends are the very same array object (`point`). Rules
    may use that to split a constant weight by sign; any rule must stay sound when they do not.
    """

    lo: Any
    hi: Any

    @property
    def point(self) -> bool:
        return self.lo is self.hi

    def map(self, f: Callable[[Any], Any]) -> "Interval":
        """Apply a nondecreasing map to both ends."""
        return Interval(f(self.lo), f(self.hi))


IntervalRule = Callable[..., Interval]  # rule(xp, attrs, *operand intervals) -> Interval
VjpRule = Callable[..., tuple[Any, ...]]  # vjp(xp, attrs, grad_out, *operands) -> a gradient (or None) per operand


class Unbounded(ArithmeticError):
    """An interval rule cannot bound its result (a divisor whose interval contains 0)."""


@dataclass(frozen=True)
class OpSpec:
    """Everything pytorch2lean knows about one op tag."""

    tag: str
    operands: tuple[Operand, ...]
    shape: ShapeRule
    kernel: Kernel
    exact: bool
    lean: str
    doc: str
    attrs: Mapping[str, Attr] = field(default_factory=dict)
    variadic: bool = False  # the last operand repeats (concat)
    interval: IntervalRule | None = None  # bounds of the result from bounds of the operands
    affine_backward: "BackwardRule | None" = None  # CROWN: a linear function of the result, moved to the operands
    relax: "RelaxRule | None" = None  # CROWN: linear lower and upper bounds of an elementwise op on [lo, hi]
    tunable: bool = False  # relax takes `alpha` in [0, 1]: the lower slope alpha-CROWN optimises
    intercepts: "InterceptRule | None" = None  # exact: the tightest sound intercepts for given slopes
    exact_interval: IntervalRule | None = None  # an inexact op's interval rule over Fractions, by stated enclosures
    bound_backward: "BoundRule | None" = None  # CROWN: lines from operand bounds where no exact affine move exists
    vjp: VjpRule | None = None  # float gradients of the operands from the gradient of the result
    # Per operand, a vjp that computes that operand's gradient alone (the rest None): a tape asks
    # only for the gradients it needs, never a weight's (matmul by a parameter: half its work).
    vjp_parts: tuple[VjpRule, ...] | None = None
    # A pointwise kernel maps each value on its own, whatever the array's shape: it may run block by
    # block as another kernel's epilogue. An epilogue kernel takes `then`, a pointwise function, and
    # applies it to each block of its result while the block is in cache (runtime/plan.py fuses them).
    pointwise: bool = False
    epilogue: bool = False
    ids: int | None = None  # the operand that takes an int64 input's token ids (embedding); every other is float
    id_limit: Callable[[Sequence[Shape]], int] | None = None  # from the operand shapes: ids must lie below it

    def arity_ok(self, n: int) -> bool:
        required = sum(1 for o in self.operands if not o.optional)
        if self.variadic:
            return n >= max(required, 1)
        return required <= n <= len(self.operands)

    def operand(self, index: int) -> Operand:
        return self.operands[min(index, len(self.operands) - 1)]

    def normalize_attrs(self, node_id: str, given: Mapping[str, Any]) -> tuple[tuple[str, AttrValue], ...]:
        """Check attribute names and kinds, fill defaults; canonical sorted pairs."""
        unknown = sorted(set(given) - set(self.attrs))
        if unknown:
            raise GraphError(
                f"node {node_id!r} ({self.tag}): unknown attribute {unknown[0]!r}; "
                f"expected one of {sorted(self.attrs) or 'none'}"
            )
        out: dict[str, AttrValue] = {}
        for name, spec in self.attrs.items():
            if name not in given and spec.default is REQUIRED:
                raise GraphError(f"node {node_id!r} ({self.tag}): missing required attribute {name!r}")
            value = given[name] if name in given else spec.default
            out[name] = _coerce(node_id, self.tag, name, spec.kind, normalize_attr(value))
        return tuple(sorted(out.items()))


def _coerce(node_id: str, tag: str, name: str, kind: str, value: Any) -> AttrValue:
    """The canonical value of an attribute; floats are rounded to float32, as models store them."""
    def bad() -> GraphError:
        return GraphError(f"node {node_id!r} ({tag}): attribute {name!r} must be {kind}, got {value!r}")

    is_int = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
    is_num = lambda v: is_int(v) or isinstance(v, float)  # noqa: E731
    if kind == "int" and is_int(value):
        return value
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "float" and is_num(value):
        return float(np.float32(value))
    if kind == "ints" and isinstance(value, tuple) and all(is_int(v) for v in value):
        return value
    if kind == "floats" and isinstance(value, tuple) and all(is_num(v) for v in value):
        return tuple(float(np.float32(v)) for v in value)
    raise bad()


REGISTRY: dict[str, OpSpec] = {}


def register(spec: OpSpec) -> OpSpec:
    """Add an op to the registry; a tag or Lean name registered twice is a bug."""
    if spec.tag in REGISTRY:
        raise RuntimeError(f"op {spec.tag!r} registered twice")
    if any(s.lean == spec.lean for s in REGISTRY.values()):
        raise RuntimeError(f"Lean tag {spec.lean!r} registered twice")
    REGISTRY[spec.tag] = spec
    return spec


# ---- shape-rule helpers -------------------------------------------------------------------

def fail(msg: str) -> ShapeError:
    """A ShapeError for a shape rule; validation prefixes the node id and op."""
    return ShapeError(msg)


def broadcast(a: Shape, b: Shape) -> Shape:
    """NumPy/ONNX multidirectional broadcasting, for the ops whose rule says they broadcast."""
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    out = []
    for x, y in zip(pa, pb):
        if x != y and 1 not in (x, y):
            raise fail(f"shapes {list(a)} and {list(b)} do not broadcast")
        out.append(max(x, y) if 0 not in (x, y) else 0)
    return tuple(out)


def norm_axis(axis: int, rank: int) -> int:
    """A possibly negative axis as an index into a shape of `rank` dimensions."""
    if not -rank <= axis < rank:
        raise fail(f"axis {axis} out of range for rank {rank}")
    return axis % rank


def expect_rank(name: str, shape: Shape, rank: int) -> None:
    if len(shape) != rank:
        raise fail(f"{name} must have rank {rank}, got shape {list(shape)}")


# ---- kernel helpers (every array carries one leading batch axis) --------------------------

def lift(x: Any, rank: int) -> Any:
    """Insert axes right after the batch axis so that x has 1 + `rank` dimensions.

    Per-sample broadcasting aligns trailing axes; with a batch axis in front, NumPy would align
    the batch axis with a sample axis, so operands are first brought to the same sample rank.
    """
    missing = rank - (x.ndim - 1)
    if missing <= 0:
        return x
    return x.reshape((x.shape[0],) + (1,) * missing + tuple(x.shape[1:]))


def sample_axis(axis: int, sample_rank: int) -> int:
    """The array axis (batch axis first) of a per-sample axis, negative axes allowed."""
    return axis % sample_rank + 1


def unbatch_param(w: Any) -> Any:
    """A parameter operand without its size-1 batch axis."""
    return w[0]


def zeros_like(xp: Any, x: Any) -> Any:
    """Zeros of x's shape and dtype; on object arrays (exact mode) exact integer zeros."""
    if x.dtype == np.dtype(object):
        return np.full(x.shape, Fraction(0), dtype=object)
    return xp.zeros_like(x)


# ---- interval-rule helpers ----------------------------------------------------------------

def monotone(kernel: Kernel) -> IntervalRule:
    """The rule of an op nondecreasing in every operand: the kernel at all lower ends, and at all upper ends.

    This covers monotone elementwise ops (add, relu, sigmoid) and every op that only moves values
    (reshape, transpose, slice, concat, pad, maxpool, positive averages): moving bounds bounds the
    moved values, and the rule is exact wherever the kernel is.
    """
    def rule(xp: Any, attrs: Attrs, *operands: Interval) -> Interval:
        return Interval(kernel(xp, attrs, *(o.lo for o in operands)), kernel(xp, attrs, *(o.hi for o in operands)))

    return rule


def hull(xp: Any, candidates: Sequence[Any]) -> Interval:
    """The elementwise min and max of candidate values: the bounds when the extremes are among them."""
    return Interval(functools.reduce(xp.minimum, candidates), functools.reduce(xp.maximum, candidates))


def corners(xp: Any, fn: Callable[[Any, Any], Any], a: Interval, b: Interval) -> Interval:
    """Bounds of fn(a, b) elementwise when fn is monotone in each argument for the other held fixed.

    A product (and a quotient whose divisor keeps one sign) takes its extremes at the four corners
    of the operand box, so the hull of the four corner values is exact.
    """
    return hull(xp, [fn(x, y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)])


def by_sign(xp: Any, apply: Callable[..., Any], x: Interval, w: Any, *rest: Any) -> Interval:
    """Bounds of apply(x, w, *rest): a sum of products of x's entries with constant weights w, plus rest.

    A positive weight takes x's bound on the same side, a negative one the other side, so the
    result is the tightest interval; `rest` (a bias) goes to the positive half only, added once.
    `apply` must be bilinear in (x, w) plus its additive `rest`, as linear, conv2d and matmul are.
    """
    if w.dtype == np.dtype(object):
        return _by_sign_over_integers(apply, x, w, rest)
    return _split(apply, x, w, rest)


def _split(apply: Callable[..., Any], x: Interval, w: Any, rest: tuple[Any, ...]) -> Interval:
    return _by_parts(apply, x, *_signed(w), rest)


def _signed(w: Any) -> tuple[Any, Any]:
    """The positive and negative parts of w (on integer object arrays they stay integers, where a
    zeros_like would bring Fractions)."""
    pos = w * (w > 0)
    return pos, w - pos


def _by_parts(apply: Callable[..., Any], x: Interval, pos: Any, neg: Any, rest: tuple[Any, ...]) -> Interval:
    return Interval(apply(x.lo, pos, *rest) + apply(x.hi, neg), apply(x.hi, pos, *rest) + apply(x.lo, neg))


_TIMES = np.frompyfunc(lambda q, s: q.numerator * (s // q.denominator), 2, 1)  # q * s, an integer
_OVER = np.frompyfunc(Fraction, 2, 1)


def _by_sign_over_integers(apply: Callable[..., Any], x: Interval, w: Any, rest: tuple[Any, ...]) -> Interval:
    """`by_sign` on exact operands, computed over integers: the same Fractions, many times faster.

    With S a common multiple of every denominator, apply(x S / s_w, w s_w, rest S) = S apply(x, w, rest)
    for a bilinear apply; the scaled operands are integers, so the big sums of products run on
    Python ints (no gcd per step), and only the results are divided by S. The weight's parts are
    derived once per read-only weight (a parameter the checker meets in every leaf).
    """
    s_w, pos, neg = derived("by_sign", w, _integer_parts)
    s = math.lcm(_lcm_of_denominators(x.lo, x.hi) * s_w, _lcm_of_denominators(*rest))
    scaled = x.map(lambda v: _TIMES(v, s // s_w))
    iv = _by_parts(apply, scaled, pos, neg, tuple(_TIMES(r, s) for r in rest))
    return iv.map(lambda v: _OVER(v, s))


def _integer_parts(w: Any) -> tuple[int, Any, Any]:
    """w times the lcm s_w of its denominators, split by sign: (s_w, positive part, negative part), read-only."""
    s_w = _lcm_of_denominators(w)
    pos, neg = _signed(_TIMES(w, s_w))
    return s_w, frozen(pos), frozen(neg)


def _lcm_of_denominators(*arrays: Any) -> int:
    return math.lcm(*{q.denominator for a in arrays for q in a.flat})


def weighted(kernel: Kernel) -> IntervalRule:
    """The rule of kernel(x, weight, bias?): linear in x with a constant weight, plus a constant bias."""
    def rule(xp: Any, attrs: Attrs, x: Interval, weight: Interval, bias: Interval | None = None) -> Interval:
        rest = () if bias is None else (bias.lo,)
        return by_sign(xp, lambda v, w, *b: kernel(xp, attrs, v, w, *b), x, weight.lo, *rest)

    return rule


# ---- vector-Jacobian-product helpers (float only) ------------------------------------------

def sum_to(g: Any, shape: Sequence[int]) -> Any:
    """The gradient g of a broadcast result, summed back to an operand of array `shape`.

    The operand was lifted like `lift` does (axes inserted after the batch axis), then broadcast;
    every axis it was stretched along, the batch axis of a parameter included, is summed.
    """
    lifted = (shape[0],) + (1,) * (g.ndim - len(shape)) + tuple(shape[1:])
    axes = tuple(a for a, (n, m) in enumerate(zip(lifted, g.shape)) if n == 1 != m)
    return (g.sum(axis=axes, keepdims=True) if axes else g).reshape(tuple(shape))


def moves_vjp(kernel: Kernel, fill: Mapping[str, Any] | None = None) -> VjpRule:
    """The VJP of an op that only moves (or copies) operand values: gather the positions, then scatter-add.

    The kernel runs once on arrays that hold each operand cell's number (1, 2, ...; 0 is never
    a cell, and `fill` sets attributes such as a pad constant to 0), so the result says where
    every output cell came from; the output gradient is summed into those cells by one bincount
    over (batch, cell). Exact in float64 for up to 2**53 cells, and the same for every op. When
    every cell stays where it is (flatten, reshape), the gradient is only reshaped: the bincount
    of a CROWN pass's rows through mnistfc's flatten cost a tenth of the pass.
    """
    def vjp(xp: Any, attrs: Attrs, g: Any, *xs: Any) -> tuple[Any, ...]:
        sizes = [math.prod(x.shape[1:]) for x in xs]
        starts = [1 + sum(sizes[:k]) for k in range(len(xs))]
        ids = [xp.arange(s, s + n, dtype=xp.float64).reshape((1,) + tuple(x.shape[1:]))
               for s, n, x in zip(starts, sizes, xs)]
        source = kernel(xp, {**attrs, **(fill or {})}, *ids).astype(xp.int64).reshape(-1)
        cells, batch = 1 + sum(sizes), g.shape[0]
        if len(xs) == 1 and source.size == sizes[0] and bool((source == xp.arange(1, cells)).all()):
            return (sum_to(g.reshape((batch,) + tuple(xs[0].shape[1:])).copy(), xs[0].shape),)
        bins = (source[None, :] + cells * xp.arange(batch, dtype=xp.int64)[:, None]).reshape(-1)
        acc = xp.bincount(bins, weights=g.reshape(-1), minlength=batch * cells).reshape(batch, cells).astype(g.dtype)
        return tuple(sum_to(acc[:, s:s + n].reshape((batch,) + tuple(x.shape[1:])), x.shape)
                     for s, n, x in zip(starts, sizes, xs))

    return vjp


# ---- CROWN helpers: backward rules of affine ops, linear relaxations -----------------------

class Symbolic(NamedTuple):
    """An activation operand of a backward rule: the rule knows only its per-sample shape.

    Constant operands (parameters) reach backward rules as arrays with their batch axis of size 1.
    """

    shape: Shape


BackwardRule = Callable[..., "tuple[Any, ...] | None"]
"""affine_backward(xp, attrs, A, *operands) -> one coefficient array per operand (None for constants).

The op is affine in its Symbolic operands: y = L(x) + c. A holds K linear functions of y per batch
row, shape (B, K, *y shape); the rule returns A L, the same functions as coefficients on each
Symbolic operand, shape (B, K, *operand shape). The constant A c is computed once for every op
from the kernel at x = 0 (bounds.crown), so no rule repeats it. A rule returns None when the op is not
affine for the operands given (a product of two activations): CROWN then bounds that node by its interval.
"""

RelaxRule = Callable[..., "tuple[Any, Any, Any, Any]"]
"""relax(xp, attrs, lo, hi[, alpha]) -> (lower slope, lower intercept, upper slope, upper intercept):
for lo <= x <= hi elementwise, ls x + li <= op(x) <= us x + ui."""

InterceptRule = Callable[..., "tuple[Any, Any]"]
"""intercepts(xp, attrs, lo, hi, ls, us) -> (greatest li, least ui) with ls x + li <= op(x) <= us x + ui on [lo, hi].

Exact on Fractions: the certificate checker accepts a stated relaxation iff its intercepts are
no tighter than these; ops without this rule cannot appear relaxed in certificates. For sigmoid and
tanh, which have no exact values, "tightest" is relaxed to "sound, and within about 2**-50 of it"."""

BoundRule = Callable[..., "tuple[tuple[Any, ...], Any]"]
"""bound_backward(xp, attrs, A, *operands) -> (coefficients per operand, constants): CROWN through an
op it cannot move through exactly (maxpool; batchnorm on exact plans, whose slope is irrational),
by linear bounds chosen from its activation operands' bounds.

Activation operands arrive as their bounds (an Interval, batch axis first), constant operands as
arrays (batch axis of size 1). A holds K linear functions of the result y per batch row, shape
(B, K, *y shape). For all operand values within their bounds, A y >= sum over activation operands
of sum(coefficients * operand) + sum(constants): coefficients (B, K, *operand shape), None for a
constant; constants (B, K, *y shape) (CROWN sums them per row, and in float their magnitudes).
The lines depend on the bounds only, so the exact checker recomputes the very same lines from
stated bounds and nothing more needs stating. On an exact plan A arrives as Scaled integers and
the results are Scaled."""


def _zeros(xp: Any, shape: tuple[int, ...], like: Any) -> Any:
    if like.dtype == np.dtype(object):
        return np.full(shape, Fraction(0), dtype=object)
    return xp.zeros(shape, dtype=like.dtype)


def _everywhere(symbolic: tuple[bool, ...]) -> bool:
    return True


def from_vjp(vjp: VjpRule, affine: Callable[[tuple[bool, ...]], bool] = _everywhere, *,
             factors: tuple[int, ...] | None = None) -> BackwardRule:
    """The backward rule of an op linear in its activations: its VJP, with the K rows folded into the batch.

    For a linear map the VJP does not depend on where it is taken, so the activations are passed as
    broadcast zeros (no memory) and the result is A L exactly. It is exact on Fractions wherever the
    VJP uses ring operations only. `affine` says for which operands (True: an activation) the op is
    affine at all: a product is affine only while one factor is a constant.
    `factors`: the VJP never divides and is multilinear in the gradient and in the constant operands
    at these indices (a weight, not a bias), so on exact arrays it runs on integers (each array scaled
    by a common denominator, as `by_sign` does) and only the results become Fractions: the same
    numbers, many times faster.
    """
    def on_integers(xp: Any, attrs: Attrs, A: Scaled, operands: Sequence[Any],
                    symbolic: tuple[bool, ...]) -> tuple[Any, ...]:
        """A Scaled A and Scaled constants: the VJP on their integers, over the product of the
        denominators of A and the factors (the VJP is multilinear in them)."""
        if factors is None:  # the VJP may divide: on Fractions
            grads = rule(xp, attrs, A.fractions(), *(o.fractions() if isinstance(o, Scaled) else o for o in operands))
            return tuple(None if g is None else Scaled.of(g) for g in grads)
        den, args = A.den, []
        for k, o in enumerate(operands):
            if isinstance(o, Scaled) and k in factors:
                den, o = den * o.den, o.num
            args.append(o.fractions() if isinstance(o, Scaled) else o)
        grads = core(xp, attrs, A.num, args, symbolic, 0)
        return tuple(None if g is None else Scaled(g, den) for g in grads)

    def core(xp: Any, attrs: Attrs, A: Any, operands: Sequence[Any], symbolic: tuple[bool, ...],
             zero: Any) -> tuple[Any, ...]:
        b, k = A.shape[:2]
        args = [xp.broadcast_to(zero, (b * k,) + o.shape) if s else o for o, s in zip(operands, symbolic)]
        grads = vjp(xp, attrs, A.reshape((b * k,) + tuple(A.shape[2:])), *args)
        return tuple(g.reshape((b, k) + o.shape) if s else None for g, o, s in zip(grads, operands, symbolic))

    def rule(xp: Any, attrs: Attrs, A: Any, *operands: Any) -> tuple[Any, ...] | None:
        symbolic = tuple(isinstance(o, Symbolic) for o in operands)
        if not affine(symbolic):
            return None
        if isinstance(A, Scaled):
            return on_integers(xp, attrs, A, operands, symbolic)
        if factors is None and A.dtype == np.dtype(object):
            A = _OVER(A, 1)  # Fractions throughout: an int / int in the VJP would make a float
        exact = factors is not None and A.dtype == np.dtype(object)
        scale, A, operands = _integral(A, operands, factors) if exact else (1, A, operands)
        grads = core(xp, attrs, A, operands, symbolic, 0 if scale != 1 else _zeros(xp, (1,), A)[0])
        return tuple(g if scale == 1 or g is None else _OVER(g, scale) for g in grads)

    return rule


def as_integers(*arrays: Any) -> tuple[int, list[Any]]:
    """Exact arrays times the lcm s of all their denominators: (s, integer object arrays).

    Sums of products of the scaled arrays run on Python ints, with no gcd per step; a result turns
    back into Fractions once (`Scaled.fractions`). Certificate numbers are dyadic, so s is a power of two.
    A read-only array (a parameter, a stated relaxation) is converted once (`numeric.frozen`).
    """
    parts = [_integers(a) for a in arrays]
    s = math.lcm(*(t for t, _ in parts))
    return s, [ints if t == s else ints * (s // t) for t, ints in parts]


def _integers(a: Any) -> tuple[int, Any]:
    """(t, a t) for the lcm t of a's denominators, the integers read-only; computed once per read-only a."""
    def compute(v: Any) -> tuple[int, Any]:
        if set(map(type, v.flat)) <= {int}:  # ints already (a check's identity rows: 10^5 of them): t = 1
            return 1, frozen(v.copy())
        t = _lcm_of_denominators(v)
        return t, frozen(_TIMES(v, t))

    return derived("integers", a, compute)


def integral_product(product: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    """product(a, b) for a product bilinear in a and b (a matrix product): on exact object arrays
    it runs on the integers a s and b t and divides by s t once, so the sums of products make no
    Fraction (and no gcd) per term; on float or integer arrays it is just product(a, b)."""
    if a.dtype != np.dtype(object) and b.dtype != np.dtype(object):
        return product(a, b)
    (s, a), (t, b) = _integers(a), _integers(b)
    y = product(a, b)
    return y if s * t == 1 else _OVER(y, s * t)


class Scaled(NamedTuple):
    """An exact array as Python ints over one common denominator: num / den.

    CROWN's exact back-substitution (the certificate checker) multiplies and adds large arrays of
    rationals layer after layer; as integers over one denominator (a power of two for certificate
    numbers) the work runs on Python ints with no gcd per element, and only the final bounds
    become Fractions. Backward rules (`from_vjp`, `moves_backward`) accept a Scaled A with Scaled
    constants and return Scaled coefficients.
    """

    num: Any
    den: int

    @staticmethod
    def of(a: Any, *, frozen: bool = False) -> "Scaled":
        """An exact (Fraction or int object) array as integers over the lcm of its denominators;
        `frozen`: read-only, for constants met again and again (their limbs are then cached)."""
        s, (num,) = as_integers(a)
        if frozen:
            num.flags.writeable = False
        return Scaled(num, s)

    def fractions(self) -> Any:
        """The same numbers as an object array of Fractions."""
        return _OVER(self.num, self.den)

    def plus(self, other: "Scaled") -> "Scaled":
        """self + other, over the lcm of the two denominators."""
        den = math.lcm(self.den, other.den)
        return Scaled(self.num * (den // self.den) + other.num * (den // other.den), den)


def _integral(A: Any, operands: Sequence[Any], factors: tuple[int, ...]) -> tuple[int, Any, list[Any]]:
    """A and the constant factors scaled to integers, with the product of the scales."""
    scale = _lcm_of_denominators(A)
    A, scaled = _TIMES(A, scale), []
    for k, o in enumerate(operands):
        if k in factors and not isinstance(o, Symbolic):
            s = _lcm_of_denominators(o)
            o, scale = _TIMES(o, s), scale * s
        scaled.append(o)
    return scale, A, scaled


def moves_backward(kernel: Kernel, fill: Mapping[str, Any] | None = None) -> BackwardRule:
    """Backward rule of an op that moves values: its float VJP (`moves_vjp`) on floats, an exact scatter on Fractions.

    As in `moves_vjp`, the kernel runs once on arrays holding each activation cell's number (1, 2,
    ...; 0 for constants and `fill`ed cells, which are dropped), which says where each output cell
    came from; the exact rule then adds every coefficient into its source cell (`np.add.at`, on
    integers or Fractions alike). Constants contribute through the kernel at zero, as for every op.
    """
    fast = from_vjp(moves_vjp(kernel, fill))

    def rule(xp: Any, attrs: Attrs, A: Any, *operands: Any) -> tuple[Any, ...] | None:
        if isinstance(A, Scaled):  # the same scatter on the integers, over the same denominator
            moved = rule(xp, attrs, A.num, *(o.num if isinstance(o, Scaled) else o for o in operands))
            return tuple(None if m is None else Scaled(m, A.den) for m in moved)
        if A.dtype != np.dtype(object):
            return fast(xp, attrs, A, *operands)
        sizes = [math.prod(o.shape) if isinstance(o, Symbolic) else 0 for o in operands]
        starts = [1 + sum(sizes[:k]) for k in range(len(operands))]
        ids = [np.arange(s, s + n, dtype=np.int64).reshape((1,) + o.shape) if n else np.zeros(o.shape, dtype=np.int64)
               for s, n, o in zip(starts, sizes, operands)]
        source = kernel(np, {**attrs, **(fill or {})}, *ids).reshape(-1)
        acc = np.zeros(A.shape[:2] + (1 + sum(sizes),), dtype=object)
        cells = source[source > 0]
        if np.unique(cells).size == cells.size:  # each cell read once (flatten, reshape, transpose): a move, no sum
            acc[:, :, source] = A.reshape(A.shape[:2] + (-1,))
        else:
            np.add.at(acc, (slice(None), slice(None), source), A.reshape(A.shape[:2] + (-1,)))
        return tuple(acc[:, :, s:s + n].reshape(A.shape[:2] + o.shape) if n else None
                     for s, n, o in zip(starts, sizes, operands))

    return rule
