"""Certificates: `pytorch2lean.cert.v1`, a JSON text that the exact checker re-derives.

A certificate claims: for every input x in the box, the model's output satisfies the property.
It carries everything a checker needs besides the model, and the checker trusts none of it.

Format (one JSON object; keys sorted, no whitespace, ASCII, so equal certificates are equal bytes):

    format        "pytorch2lean.cert.v1"
    method        "ibp" (interval bound propagation), "crown" (backward linear relaxation) or "alpha"
                  (alpha-CROWN: CROWN with optimised relu lower slopes for the claim)
    graph_digest  sha256 of the model's canonical IR (`pytorch2lean.ir.digest`): the model it is about
    inputs        {input name: BOUNDS} the input box, one entry per model input
    output        the name of the model output the property speaks about
    property      the claim about that output, one of
                    {"kind": "output_box", BOUNDS}: lower <= y <= upper elementwise
                    {"kind": "unsafe_dnf", "name": text, "num_outputs": n, "terms": [[CONSTRAINT, ...], ...]}:
                      the VNN-LIB form (see `pytorch2lean.spec.property`): y, flattened, is unsafe when
                      every constraint of some term holds; the claim is that no y is unsafe.
                      CONSTRAINT = {"coeffs": [NUMBER x n], "bound": NUMBER, "strict": bool}: c.y <= d (< d if strict)
    bounds        {node id: BOUNDS} stated bounds of every node of the graph (IBP: node by node)
    verdict       "holds" (the property is claimed) or "unknown" (only the bounds are claimed)
    crown         (methods crown and alpha only) {
                    "backsub": [node id ...]  nodes whose stated bounds follow by back-substitution
                    "backsub_rows": {node id: [flat index ...]}  (optional) only these elements of a
                        backsub node are back-substituted (rows +e_i, -e_i); absent: all of them
                    "relaxations": {node id: RELAXATION}  lines under and over each relaxed node,
                        used by every back-substitution (shape: the node's shape)
                    "claim_relaxations": {node id: RELAXATION}  lines used only when bounding the
                        claim's rows (shape [K, *node shape], one set per row; alpha-CROWN)
                    "claim_betas": [[NUMBER per case] per claim row]  (optional; only with cases)
                        beta-CROWN multipliers, each >= 0: claim row k is bounded as c_k y +
                        sum_j beta_kj s_j z_j, z_j the element of case j (in `cases` order), s_j = -1
                        for "nonneg" and +1 for "nonpos"; each term is <= 0 where the cases hold }
    cases         (optional; absent when there are none) [[node id, flat index, "nonneg" | "nonpos"], ...],
                  strictly increasing by (node id, index): the claim is made only on the inputs x of the
                  box for which, in every case, element `index` of node `node` is >= 0 ("nonneg") or
                  <= 0 ("nonpos"): a branch-and-bound leaf after ReLU splits (`bounds.bab`)
    RELAXATION = "shape": [ints], "lower_slope", "lower_intercept", "upper_slope", "upper_intercept":
              [NUMBER ...] each: lower_slope x + lower_intercept <= op(x) <= upper_slope x + upper_intercept
              on the stated bounds of the node's operand, elementwise

    BOUNDS  = "shape": [ints], "lower": [NUMBER ...], "upper": [NUMBER ...]  (flattened in C order)
    NUMBER  = an exact rational as text, in lowest terms: "p/q" with q >= 2, or "p" for an integer
              (regex -?(0|[1-9][0-9]*)(/[1-9][0-9]*)?). Stated node bounds are short dyadics, so q is a
              power of two with a short p; box and property numbers are whatever the spec says exactly
              (a VNN-LIB "0.3" is "3/10").

Checking (cert/check.py): the digest must equal the model's; each node's exact interval, computed by the
op's interval rule over Fractions from the *stated* bounds of its inputs (the box for model inputs, the
exact float32 values for parameters), must lie within the node's stated bounds; then the property must
follow exactly from the output's stated bounds. With cases, each cased node's exact interval is first
intersected with its cases' half-lines (before containment, and before anything later reads it); an
empty intersection means no input satisfies the cases, and the claim holds vacuously. CROWN certificates (crown, alpha): each relaxation must be
sound on its operand's stated bounds (checked exactly by the op's intercept rule: relu and leaky_relu; sigmoid
and tanh have none, so they are refused), each "backsub" node's stated bounds must contain the intersection
of its interval and its exact back-substitution bounds, and each constraint of the claim is bounded by
back-substituting its coefficient row (rows: `claim_rows`) as well as from the output's bounds.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable, Mapping, Union

import numpy as np

from ..errors import UserError
from ..numeric.float32 import from_lowest_terms
from ..spec.box import Box
from ..spec.property import Conjunction, Disjunction, LinearConstraint, Property

FORMAT = "pytorch2lean.cert.v1"
METHODS = ("ibp", "crown", "alpha")
RELAXATION_KEYS = ("lower_slope", "lower_intercept", "upper_slope", "upper_intercept")
VERDICTS = ("holds", "unknown")
NUMBER = re.compile(r"(-?)(0|[1-9][0-9]*)(?:/([1-9][0-9]*))?")
CANONICAL = '("p/q" in lowest terms or "p")'
_SMALL = {str(k): Fraction(k) for k in (-1, 0, 1)}  # Fractions are immutable: one object serves every use
CASE_SIGNS = ("nonneg", "nonpos")

Claim = Union[Property, Box]
Case = tuple[str, int, str]  # (node id, flat index, "nonneg" | "nonpos")


class CertificateError(UserError):
    """A certificate text that is not a well-formed `pytorch2lean.cert.v1` document."""


@dataclass(frozen=True)
class Certificate:
    """A parsed certificate: exact numbers throughout, boxes for every stated bounds."""

    graph_digest: str
    method: str
    inputs: tuple[tuple[str, Box], ...]
    output: str
    claim: Claim
    bounds: tuple[tuple[str, Box], ...]
    verdict: str
    crown: CrownPart | None = None  # methods crown and alpha
    cases: tuple[Case, ...] = ()  # sorted; the claim is made where every case holds (see the module docstring)


@dataclass(frozen=True)
class StatedRelaxation:
    """Stated lines under and over a relaxed node, flattened in C order over `shape`."""

    shape: tuple[int, ...]
    lower_slope: tuple[Fraction, ...]
    lower_intercept: tuple[Fraction, ...]
    upper_slope: tuple[Fraction, ...]
    upper_intercept: tuple[Fraction, ...]

    def arrays(self) -> tuple[Any, ...]:
        """The four parts as object arrays of Fractions of shape (1, *shape)."""
        return tuple(_object_array(getattr(self, k), self.shape) for k in RELAXATION_KEYS)


def _object_array(values: tuple[Fraction, ...], shape: tuple[int, ...]) -> Any:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out.reshape((1,) + tuple(shape))


@dataclass(frozen=True)
class CrownPart:
    """What a CROWN certificate adds: back-substituted nodes and the relaxations (see the module docstring)."""

    backsub: tuple[str, ...]
    relaxations: tuple[tuple[str, StatedRelaxation], ...]
    claim_relaxations: tuple[tuple[str, StatedRelaxation], ...] = ()
    backsub_rows: tuple[tuple[str, tuple[int, ...]], ...] = ()  # a backsub node absent here: every element
    claim_betas: tuple[tuple[Fraction, ...], ...] = ()  # per claim row, one multiplier per case (beta-CROWN)


# ---- writing ------------------------------------------------------------------------------

def number_text(q: Fraction | int) -> str:
    """The canonical text of an exact rational ("p/q" in lowest terms, or "p"): `str(Fraction(q))`."""
    return numbers_text((q,))[0]


def numbers_text(values: Iterable[Fraction | int]) -> list[str]:
    """`number_text` of each value, in one loop that reads a Fraction's own slots (`_numerator`,
    `_denominator`, as `numeric.float32.exact_floats` sets them) instead of its properties: a
    certificate has thousands of numbers (mnistfc CROWN: 7,000), and writing them was a sixth of
    the bound pass."""
    out = []
    for q in values:
        if type(q) is not Fraction:
            q = Fraction(q)
        n, d = q._numerator, q._denominator
        out.append(str(n) if d == 1 else f"{n}/{d}")
    return out


def _bounds_json(box: Box) -> dict[str, Any]:
    return {"shape": list(box.shape), "lower": numbers_text(box.lower), "upper": numbers_text(box.upper)}


def _claim_json(claim: Claim) -> dict[str, Any]:
    if isinstance(claim, Box):
        return {"kind": "output_box", **_bounds_json(claim)}
    terms = [[{"coeffs": numbers_text(con.coeffs), "bound": number_text(con.bound), "strict": con.strict}
              for con in term] for term in unsafe_terms(claim)]
    return {"kind": "unsafe_dnf", "name": claim.name, "num_outputs": claim.num_outputs, "terms": terms}


def unsafe_terms(prop: Property) -> tuple[tuple[LinearConstraint, ...], ...]:
    """The unsafe DNF as plain tuples: y is unsafe iff every constraint of some term holds."""
    return tuple(term.parts for term in prop.unsafe.parts)  # type: ignore[union-attr]


def _relaxation_json(r: StatedRelaxation) -> dict[str, Any]:
    return {"shape": list(r.shape), **{k: numbers_text(getattr(r, k)) for k in RELAXATION_KEYS}}


def _crown_json(part: CrownPart) -> dict[str, Any]:
    return {"backsub": list(part.backsub), "backsub_rows": {name: list(rows) for name, rows in part.backsub_rows},
            "relaxations": {name: _relaxation_json(r) for name, r in part.relaxations},
            "claim_relaxations": {name: _relaxation_json(r) for name, r in part.claim_relaxations},
            **({"claim_betas": [numbers_text(row) for row in part.claim_betas]} if part.claim_betas else {})}


def to_json(cert: Certificate) -> dict[str, Any]:
    crown = {} if cert.crown is None else {"crown": _crown_json(cert.crown)}
    cases = {"cases": [list(c) for c in sorted(cert.cases)]} if cert.cases else {}
    return {**crown, **cases,
        "format": FORMAT,
        "method": cert.method,
        "graph_digest": cert.graph_digest,
        "inputs": {name: _bounds_json(box) for name, box in cert.inputs},
        "output": cert.output,
        "property": _claim_json(cert.claim),
        "bounds": {name: _bounds_json(box) for name, box in cert.bounds},
        "verdict": cert.verdict,
    }


def dumps(cert: Certificate) -> str:
    """The certificate's canonical text: the same certificate always gives the same bytes."""
    return json.dumps(to_json(cert), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


# ---- reading ------------------------------------------------------------------------------

def loads(text: str) -> Certificate:
    """Parse a certificate strictly; anything malformed is a CertificateError naming the place."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CertificateError(f"certificate is not JSON: {e}") from None
    return from_json(data)


def from_json(data: Any) -> Certificate:
    """A certificate from its parsed JSON (a split tree's leaf, read in place), as strictly as `loads`."""
    doc = Reader(data, "certificate")
    if doc.get("format", str) != FORMAT:
        raise CertificateError(f"certificate: format must be {FORMAT!r}, got {data.get('format')!r}")
    method, verdict = doc.get("method", str), doc.get("verdict", str)
    if method not in METHODS:
        raise CertificateError(f"certificate: method {method!r} is not one of {', '.join(METHODS)}")
    if verdict not in VERDICTS:
        raise CertificateError(f"certificate: verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
    return Certificate(
        graph_digest=doc.get("graph_digest", str),
        method=method,
        inputs=_boxes(doc.sub("inputs")),
        output=doc.get("output", str),
        claim=read_claim(doc.sub("property")),
        bounds=_boxes(doc.sub("bounds")),
        verdict=verdict,
        crown=None if method == "ibp" else _crown_part(doc.sub("crown")),
        cases=read_cases(doc.get("cases", list), f"{doc.where}.cases") if "cases" in data else (),
    )


def read_cases(items: list[Any], where: str) -> tuple[Case, ...]:
    """A non-empty list of [node id, flat index, sign], strictly increasing by (node id, index)
    (range-checked by the checker, which knows the shapes)."""
    cases = []
    for k, item in enumerate(items):
        ok = isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) and isinstance(item[1], int) \
            and not isinstance(item[1], bool) and item[1] >= 0 and item[2] in CASE_SIGNS
        if not ok:
            raise CertificateError(f"{where}[{k}]: expected [node id, flat index >= 0, \"nonneg\" or \"nonpos\"], "
                                   f"got {item!r}")
        if cases and tuple(item[:2]) <= cases[-1][:2]:
            raise CertificateError(f"{where}[{k}]: cases must be strictly increasing by (node id, index)")
        cases.append((item[0], item[1], item[2]))
    if not cases:
        raise CertificateError(f"{where}: an empty list (a certificate without cases omits the key)")
    return tuple(cases)


def _crown_part(r: Reader) -> CrownPart:
    backsub = r.get("backsub", list)
    if not all(isinstance(name, str) for name in backsub) or len(set(backsub)) != len(backsub):
        raise CertificateError(f"{r.where}.backsub: expected distinct node ids, got {backsub!r}")
    rows = Reader({}, f"{r.where}.backsub_rows") if "backsub_rows" not in r.data else r.sub("backsub_rows")
    betas = _betas(r.get("claim_betas", list), f"{r.where}.claim_betas") if "claim_betas" in r.data else ()
    return CrownPart(tuple(backsub), _relaxations(r.sub("relaxations")), _relaxations(r.sub("claim_relaxations")),
                     tuple((name, _indices(entry)) for name, entry in rows.items()), betas)


def _betas(rows: list[Any], where: str) -> tuple[tuple[Fraction, ...], ...]:
    """A non-empty list of rows of non-negative numbers (their counts are checked by the checker,
    which knows the claim's rows and the cases)."""
    if not rows or not all(isinstance(row, list) for row in rows):
        raise CertificateError(f"{where}: expected a non-empty list of lists of numbers (omit the key when there are none)")
    out = tuple(tuple(read_number(v, f"{where}[{k}][{j}]") for j, v in enumerate(row)) for k, row in enumerate(rows))
    for k, row in enumerate(out):
        for j, b in enumerate(row):
            if b < 0:
                raise CertificateError(f"{where}[{k}][{j}]: {b} is negative; a beta multiplier must be >= 0")
    return out


def _indices(r: Reader) -> tuple[int, ...]:
    """Strictly increasing non-negative flat indices (range-checked by the checker, which knows the shape)."""
    if not isinstance(r.data, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in r.data) \
            or any(i < 0 for i in r.data) or list(r.data) != sorted(set(r.data)):
        raise CertificateError(f"{r.where}: expected strictly increasing non-negative integers, got {r.data!r}")
    return tuple(r.data)


def _relaxations(r: Reader) -> tuple[tuple[str, StatedRelaxation], ...]:
    out = []
    for name, entry in r.items():
        shape = entry.get("shape", list)
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape):
            raise CertificateError(f"{entry.where}.shape: {shape!r} must list positive integers")
        parts = [entry.numbers(k) for k in RELAXATION_KEYS]
        for k, part in zip(RELAXATION_KEYS, parts):
            if len(part) != math.prod(shape):
                raise CertificateError(f"{entry.where}.{k}: {len(part)} numbers, shape {shape} needs {math.prod(shape)}")
        out.append((name, StatedRelaxation(tuple(shape), *parts)))
    return tuple(out)


@dataclass(frozen=True)
class Reader:
    """A JSON object together with its path in the document, for error messages."""

    data: Any
    where: str

    def get(self, key: str, kind: type) -> Any:
        if not isinstance(self.data, dict) or key not in self.data:
            raise CertificateError(f"{self.where}: missing {key!r}")
        value = self.data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise CertificateError(f"{self.where}.{key}: expected {kind.__name__}, got {value!r}")
        return value

    def sub(self, key: str) -> Reader:
        return Reader(self.get(key, dict), f"{self.where}.{key}")

    def items(self) -> list[tuple[str, Reader]]:
        return [(k, Reader(v, f"{self.where}.{k}")) for k, v in sorted(self.data.items())]

    def numbers(self, key: str) -> tuple[Fraction, ...]:
        return tuple(read_number(v, f"{self.where}.{key}[{i}]") for i, v in enumerate(self.get(key, list)))


def read_number(text: Any, where: str) -> Fraction:
    """An exact number in canonical text ("p/q" in lowest terms, or "p"); anything else is an error.

    Canonical means what `number_text` writes: no "-0", no "/1", no common factor (parsed from
    the digits directly: leaf certificates hold hundreds of thousands of numbers)."""
    if not isinstance(text, str):
        raise CertificateError(f"{where}: {text!r} is not an exact number in canonical form {CANONICAL}")
    known = _SMALL.get(text)  # two in five numbers of a split tree's leaves are 0 or 1
    if known is not None:
        return known
    match = NUMBER.fullmatch(text)
    if match is not None:
        sign, p, q = match.groups()
        num, den = int(p), 1 if q is None else int(q)
        if not (sign and num == 0) and (q is None or den != 1) and math.gcd(num, den) == 1:
            return from_lowest_terms(-num if sign else num, den)
    raise CertificateError(f"{where}: {text!r} is not an exact number in canonical form {CANONICAL}")


def read_box(r: Reader) -> Box:
    """A `{shape, lower, upper}` object as a Box, each number exact and canonical."""
    shape = r.get("shape", list)
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape):
        raise CertificateError(f"{r.where}.shape: {shape!r} must list positive integers")
    lower, upper = r.numbers("lower"), r.numbers("upper")
    try:
        return Box(lower, upper, tuple(shape))
    except UserError as e:  # a wrong count or an empty box
        raise CertificateError(f"{r.where}: {e}") from None


def _boxes(r: Reader) -> tuple[tuple[str, Box], ...]:
    if not isinstance(r.data, dict):
        raise CertificateError(f"{r.where}: expected an object")
    return tuple((name, read_box(entry)) for name, entry in r.items())


def read_claim(r: Reader) -> Claim:
    kind = r.get("kind", str)
    if kind == "output_box":
        return read_box(r)
    if kind != "unsafe_dnf":
        raise CertificateError(f"{r.where}.kind: {kind!r} is not output_box or unsafe_dnf")
    n = r.get("num_outputs", int)
    terms = []
    for t, term in enumerate(r.get("terms", list)):
        if not isinstance(term, list):
            raise CertificateError(f"{r.where}.terms[{t}]: expected a list of constraints")
        where = f"{r.where}.terms[{t}]"
        terms.append(Conjunction(tuple(_constraint(Reader(c, f"{where}[{k}]")) for k, c in enumerate(term))))
    try:
        return Property(Disjunction(tuple(terms)), n, r.get("name", str))
    except UserError as e:
        raise CertificateError(f"{r.where}: {e}") from None


def _constraint(r: Reader) -> LinearConstraint:
    bound = read_number(r.get("bound", str), f"{r.where}.bound")
    return LinearConstraint(r.numbers("coeffs"), bound, r.get("strict", bool))


def input_boxes(graph_inputs: Mapping[str, tuple[int, ...]], box: Box | Mapping[str, Box]) -> dict[str, Box]:
    """One box per model input, each reshaped to its input's shape (VNN-LIB boxes come flat).

    A single Box is the box of a one-input model; a mapping must name every input exactly.
    """
    given = dict(box) if isinstance(box, Mapping) else None
    if given is None:
        if len(graph_inputs) != 1:
            raise UserError(f"the model has inputs {', '.join(graph_inputs)}: give one box per input, by name")
        given = {next(iter(graph_inputs)): box}
    if set(given) != set(graph_inputs):
        raise UserError(f"boxes are given for {sorted(given)}, the model's inputs are {sorted(graph_inputs)}")
    out = {}
    for name, shape in graph_inputs.items():
        b = given[name]
        if len(b.lower) != math.prod(shape):
            size = math.prod(shape)
            raise UserError(f"input {name!r}: box has {len(b.lower)} coordinates, shape {list(shape)} has {size}")
        out[name] = b.reshape(shape)
    return out
