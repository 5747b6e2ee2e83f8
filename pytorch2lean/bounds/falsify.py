"""The falsifier: search for a counterexample, then re-check it exactly before calling it one.

The search is untrusted float32 work on the model's runtime: uniform random points, corners,
points on random faces and the centre of each box first (batched through `runtime.execute`),
then projected gradient ascent
(signed steps scaled to the box, with `runtime.grad`'s VJPs) on the margin into the unsafe region,
from the best samples and from fresh random starts, until the time budget runs out.

The margin of an unsafe term (a conjunction of c.y <= d) at y is min_k (d_k - c_k.y): the term
holds where it is >= 0 (> 0 for a strict constraint). Ascent follows the term with the largest
margin per start, through its currently smallest constraint.

A candidate is a float32 point clipped to the float32 points of the box: per coordinate the
smallest float32 >= the exact lower bound and the largest float32 <= the exact upper bound, so
the clipped point lies in the exact box by construction (and `Box.contains` re-checks it). Only a
point whose output lies in the unsafe region when evaluated EXACTLY (`runtime.evaluate_exact`,
every op exact) becomes a `Witness`; for a model with an op that has no exact meaning (sigmoid,
softmax, ...) the check uses a float64 evaluation instead and the witness says `exact=False`.
The sequence of points tried is fixed by `seed`; the budget decides only how far along it the
search gets.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator, Mapping, Sequence

import numpy as np

from .. import memory, ops
from ..cert.format import input_boxes
from ..errors import UserError
from ..ir import Graph, validate
from ..numeric.float32 import fractions_of, round_to_f32_bits
from ..runtime import evaluate_exact, execute
from ..runtime.grad import Tape
from ..spec.box import Box
from ..spec.numbers import floats_down, floats_up
from ..spec.property import Property

SAMPLES = 1024  # random points (and as many random corners) per box per sampling round
STARTS = 64  # gradient ascent starts per box per round
STEPS = 60  # gradient steps per round, the step size falling geometrically...
STEP_FIRST, STEP_LAST = 0.25, 1e-3  # ...from this fraction of the box width to this one
CHECKS_PER_BATCH = 4  # exact re-checks of the best float candidates of one batch at most
SCORE_BYTES_MAX = 2**28  # activations one scoring call holds at most (float64, two copies): the rest stays free


@dataclass(frozen=True, eq=False)
class Witness:
    """A counterexample: `point` (float32, the input's shape) lies in box number `box`, and the
    model's output there, `output` (flat), satisfies unsafe term number `term` of the property.

    `exact`: the output was computed exactly over rationals; otherwise in float64 (the model has
    an op without an exact meaning), so the violation is float-checked only.
    """

    point: np.ndarray
    output: tuple[Fraction, ...]
    term: int
    exact: bool
    box: int = 0


@dataclass(frozen=True)
class _Target:
    """The unsafe DNF as float arrays: margins (N, terms, constraints) = d - C.y, padding rows +inf."""

    coeffs: np.ndarray  # (T, K, m)
    bounds: np.ndarray  # (T, K)

    @classmethod
    def of(cls, prop: Property) -> _Target:
        terms = [t.parts for t in prop.unsafe.parts]
        k = max((len(t) for t in terms), default=0)
        coeffs = np.zeros((len(terms), k, prop.num_outputs))
        bounds = np.full((len(terms), k), np.inf)
        for i, term in enumerate(terms):
            for j, c in enumerate(term):
                coeffs[i, j] = [float(v) for v in c.coeffs]
                bounds[i, j] = float(c.bound)
        return cls(coeffs, bounds)

    def margins(self, y: np.ndarray) -> np.ndarray:
        """Per sample and term, the margin into that term (>= 0: inside, up to float rounding)."""
        return (self.bounds[None] - np.einsum("tkm,nm->ntk", self.coeffs, y)).min(axis=2, initial=np.inf)

    def ascent(self, y: np.ndarray) -> np.ndarray:
        """d(margin of each sample's best term)/dy: minus the coefficients of its smallest constraint."""
        per = self.bounds[None] - np.einsum("tkm,nm->ntk", self.coeffs, y)
        term = per.min(axis=2, initial=np.inf).argmax(axis=1)
        row = per[np.arange(len(y)), term].argmin(axis=1)
        return -self.coeffs[term, row]


@dataclass(frozen=True)
class _Region:
    """One input box: its exact form, and the float32 bounds of the float32 points inside it."""

    index: int
    exact: Box
    lo: np.ndarray
    hi: np.ndarray

    @property
    def width(self) -> np.ndarray:
        return self.hi.astype(np.float64) - self.lo

    def clip(self, x: np.ndarray) -> np.ndarray:
        """float32 points inside the exact box: comparisons of float32 values are exact."""
        return np.minimum(np.maximum(x.astype(np.float32), self.lo), self.hi)

    def uniform(self, rng: np.random.Generator, n: int) -> np.ndarray:
        u = rng.uniform(size=(n,) + self.lo.shape)
        return self.clip(self.lo + u * self.width)

    def corners(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.where(rng.integers(0, 2, (n,) + self.lo.shape).astype(bool), self.hi, self.lo)

    def faces(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Points on random faces: each coordinate at its lower end, its upper end or uniform
        inside, one chance in three each (projected ascent ends on faces; so do counterexamples
        such as ACAS Xu 1_9 property 7's, three coordinates at an end, two inside)."""
        pick = rng.integers(0, 3, (n,) + self.lo.shape)
        return np.where(pick == 0, self.lo, np.where(pick == 1, self.hi, self.uniform(rng, n)))


def exact_meaning(graph: Graph) -> bool:
    """Whether every op of `graph` has an exact rational value, so a witness can be re-checked exactly
    (otherwise only in float64, which a caller that must not report a false counterexample refuses)."""
    return all(ops.get(n.op).exact for n in graph.nodes)


def _region(index: int, box: Box) -> _Region | None:
    """The float32 points of `box`, or None when the box holds no float32 point at all."""
    lo, hi = floats_up(box.lower).reshape(box.shape), floats_down(box.upper).reshape(box.shape)
    if (lo > hi).any() or not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        return None
    return _Region(index, box, lo, hi)


class _Search:
    """The state of one falsification run: the model, the target, the clock and the re-checks."""

    def __init__(self, graph: Graph, prop: Property, output: str, deadline: float) -> None:
        self.graph, self.prop, self.output, self.deadline = graph, prop, output, deadline
        self.name = graph.inputs[0].name
        self.target = _Target.of(prop)
        self.exact = exact_meaning(graph)
        self.refuted = -np.inf  # the best float margin whose point the re-check refuted
        per_point = 2 * 8 * sum(math.prod(n.shape) for n in graph.nodes)
        self.points_per_call = max(1, min(memory.available(), SCORE_BYTES_MAX) // per_point)

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Each point's best unsafe margin, the points run `points_per_call` at a time: the 3,073
        samples of a round through a conv net hold 273 MiB per layer, which a budget may not have."""
        step = self.points_per_call
        out = np.full(len(x), -np.inf)  # points left unscored when the time runs out score -inf
        for s in range(0, len(x), step):
            if s and self.expired():  # under a tight memory budget a round is thousands of calls
                break
            out[s:s + step] = self._margins(x[s:s + step])
        return out

    def _margins(self, x: np.ndarray) -> np.ndarray:
        y = np.asarray(execute(self.graph, {self.name: x})[self.output], dtype=np.float64)
        return self.target.margins(y.reshape(len(x), -1)).max(axis=1)

    def confirm(self, region: _Region, x: np.ndarray, scores: np.ndarray) -> Witness | None:
        """Re-check the best candidates whose float margin is >= 0 and above every refuted one's."""
        for i in np.argsort(-scores, kind="stable")[:CHECKS_PER_BATCH]:
            if not scores[i] >= 0 or not scores[i] > self.refuted:
                break
            witness = self.recheck(region, x[i])
            if witness is not None:
                return witness
            self.refuted = float(scores[i])
        return None

    def recheck(self, region: _Region, point: np.ndarray) -> Witness | None:
        """The witness at `point` if its output is unsafe exactly (or in float64, for inexact models)."""
        if not region.exact.contains(point):
            raise AssertionError("a clipped float32 point left its exact box")
        if self.exact:
            y = evaluate_exact(self.graph, {self.name: point[None]})[self.output].reshape(-1).tolist()
        else:
            y64 = np.asarray(Tape(self.graph, {self.name: point[None].astype(np.float64)}).outputs[self.output])
            if not np.isfinite(y64).all():
                return None
            y = fractions_of(y64.reshape(-1)).tolist()
        term = next((i for i, t in enumerate(self.prop.unsafe.parts) if t.holds(y)), None)
        if term is None:
            return None
        return Witness(point.copy(), tuple(y), term, self.exact, region.index)

    def sample(self, region: _Region, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | Witness:
        """Centre, random points, random corners and points on random faces; the witness, or the
        points with their margins."""
        centre = region.clip((region.lo.astype(np.float64) + region.hi) / 2)[None]
        x = np.concatenate([centre, region.uniform(rng, SAMPLES), region.corners(rng, SAMPLES),
                            region.faces(rng, SAMPLES)])
        scores = self.scores(x)
        return self.confirm(region, x, scores) or (x, scores)

    def ascend(self, region: _Region, x: np.ndarray) -> Witness | None:
        """Signed gradient ascent on the margin, projected onto the box, re-checking as it goes: each
        step's forward pass scores the points it starts from (one pass per step, not two)."""
        for step in np.geomspace(STEP_FIRST, STEP_LAST, STEPS):
            if self.expired():
                return None
            tape = Tape(self.graph, {self.name: x})
            y = np.asarray(tape.outputs[self.output], dtype=np.float64)
            flat = y.reshape(len(x), -1)
            witness = self.confirm(region, x, self.target.margins(flat).max(axis=1))
            if witness is not None:
                return witness
            cot = self.target.ascent(flat).reshape(y.shape).astype(np.float32)
            grad = np.asarray(tape.vjp({self.output: cot})[self.name])
            x = region.clip(x + step * region.width * np.sign(grad))
        return self.confirm(region, x, self.scores(x))


def falsify(graph: Graph, box: Box | Mapping[str, Box] | Sequence[Box], prop: Property, *,
            budget_s: float = 10.0, seed: int = 0, output: str | None = None) -> Witness | None:
    """A counterexample to `prop` in `box` (or in any of a list of boxes), or None within `budget_s`.

    None proves nothing: the search found no counterexample in time. A returned Witness was
    re-checked exactly (see `Witness.exact`). The model must have one input; `output` defaults to
    the model's first output, whose size must be the property's number of outputs.
    """
    graph = validate(graph)
    if len(graph.inputs) != 1:
        raise UserError(f"falsify needs a model with one input; this one has {', '.join(i.name for i in graph.inputs)}")
    output = graph.outputs[0] if output is None else output
    if output not in graph.outputs:
        raise UserError(f"{output!r} is not an output of the model ({', '.join(graph.outputs)})")
    size = math.prod(graph.shapes()[output])
    if prop.num_outputs != size:
        raise UserError(f"property {prop.name!r} speaks of {prop.num_outputs} outputs, output {output!r} has {size}")
    shapes = {i.name: i.shape for i in graph.inputs}
    boxes = [box] if isinstance(box, (Box, Mapping)) else list(box)
    regions = [r for i, b in enumerate(boxes) if (r := _region(i, input_boxes(shapes, b)[graph.inputs[0].name]))]
    if not prop.unsafe.parts:
        return None  # an empty unsafe region: nothing to find
    search = _Search(graph, prop, output, time.monotonic() + budget_s)
    rng = np.random.default_rng(seed)
    for region in _rounds(regions, search):
        found = _round(search, region, rng)
        if found is not None:
            return found
    return None


def _rounds(regions: list[_Region], search: _Search) -> Iterator[_Region]:
    """The boxes in turn, round after round, until the budget is spent: checked before each box, as
    a round over the hundreds of pieces a branch and bound leaves open would overrun it by seconds."""
    while regions:
        for region in regions:
            if search.expired():
                return
            yield region


def _round(search: _Search, region: _Region, rng: np.random.Generator) -> Witness | None:
    """One round on one box: fresh samples, then ascent from the best half and fresh random starts."""
    sampled = search.sample(region, rng)
    if isinstance(sampled, Witness):
        return sampled
    x, scores = sampled
    best = x[np.argsort(-scores, kind="stable")[:STARTS // 2]]
    return search.ascend(region, np.concatenate([best, region.uniform(rng, STARTS - len(best))]))


def format_witness(witness: Witness) -> str:
    """The VNN-COMP assignment text: ((X_0 v) (X_1 v) ... (Y_0 v) ...), one pair per line.

    Inputs are float32 values written as the shortest decimal of their double (exact: a float32 is
    a double). Outputs are written exactly when their decimal expansion is finite (always for an
    exact evaluation, whose values are dyadic unless the model divides; through a few layers that
    is hundreds of digits), else as the nearest double. For a reader, see `float32_text`.
    """
    xs = [f"(X_{i} {float(v)!r})" for i, v in enumerate(witness.point.reshape(-1).tolist())]
    ys = [f"(Y_{j} {_finite_decimal(q) or repr(float(q))})" for j, q in enumerate(witness.output)]
    return "(" + "\n ".join(xs + ys) + ")"


def float32_text(q: Fraction) -> str:
    """The float32 nearest to `q` as the shortest decimal that reads back as it ("0.1", where the
    double's repr is 0.10000000149011612 and the exact value has 27 digits): a witness's inputs are
    float32 values, so their text is exact; an exact output is rounded by at most half a float32
    ulp here (±inf past the float32 range), and `exact_text` gives its value."""
    bits = np.array([round_to_f32_bits(Fraction(q))], dtype=np.uint32)
    return str(bits.view(np.float32)[0])


def exact_text(q: Fraction) -> str:
    """`q` exactly: its decimal expansion when finite (every float32 and every dyadic), else "p/q"."""
    return _finite_decimal(q) or str(Fraction(q))


def _finite_decimal(q: Fraction) -> str | None:
    """q as exact decimal text when its denominator is 2^a 5^b, else None."""
    den, twos, fives = q.denominator, 0, 0
    while den % 2 == 0:
        den, twos = den // 2, twos + 1
    while den % 5 == 0:
        den, fives = den // 5, fives + 1
    if den != 1:
        return None
    places = max(twos, fives)
    digits = abs(q.numerator) * 10**places // q.denominator
    whole, frac = divmod(digits, 10**places)
    text = f"{whole}.{frac:0{places}d}".rstrip("0").rstrip(".") if places else str(whole)
    return ("-" if q < 0 else "") + text
