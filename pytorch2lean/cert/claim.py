"""What a claim implies, decided exactly: output bounds against a claim, a certificate's input box
against the box asked about, and a proven claim against the claim asked about.

A certificate answers the question it states (its input box, its property). The user asks their own
question (a VNN-LIB file, a box, a robustness ball). The certificate answers the user's question when
its box contains the user's box and its claim implies the user's claim; both are decided here over
Fractions, never through floats.

Claims are stated by their unsafe region (a DNF: y is unsafe when every constraint of some term
holds), so claim P implies claim Q when Q's unsafe region lies within P's: every term of Q lies
within some term of P. That is shown term by term, and within a term constraint by constraint: each
constraint of P's term follows from one constraint of Q's term (a positive multiple of it with a
bound no tighter), or holds for every y. A term of Q with a constraint no y satisfies is empty and
needs nothing. This decides identical and tightened-bound properties exactly; a property that is
stronger only through a combination of several constraints is refused (a sound, incomplete rule).
An output box claim lower <= y <= upper is the DNF whose terms are the single constraints
y_j < lower_j and -y_j < -upper_j; a proven output box implies a claim when the claim's output
bounds check (`claim_failure`) accepts the box as output bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Mapping, Sequence

import numpy as np

from ..ops.base import Interval
from ..spec.box import Box
from ..spec.property import LinearConstraint
from .format import Case, Claim, unsafe_terms


def claim_rows(claim: Claim) -> tuple[tuple[Fraction, ...], ...]:
    """The distinct constraint coefficient rows of a property, in order: what CROWN bounds directly."""
    if isinstance(claim, Box):
        return ()
    return tuple(dict.fromkeys(c.coeffs for term in unsafe_terms(claim) for c in term))


def claim_failure(claim: Claim, output: Interval,
                  row_lower: Mapping[tuple[Fraction, ...], Fraction] | None = None) -> str | None:
    """Why the output bounds do not imply the claim, or None when they do (decided exactly).

    `row_lower` may give, per constraint row c, a lower bound of c.y proven otherwise (CROWN);
    a constraint is excluded when either bound excludes it.
    """
    lo, hi = list(output.lo.flat), list(output.hi.flat)
    if isinstance(claim, Box):
        for j, (a, b, low, up) in enumerate(zip(lo, hi, claim.lower, claim.upper)):
            if a < low or b > up:
                return f"output index {j}: bounds [{a}, {b}] are not within the claimed [{low}, {up}]"
        return None
    for t, term in enumerate(unsafe_terms(claim)):
        if not any(_excluded(c.coeffs, c.bound, c.strict, lo, hi, (row_lower or {}).get(c.coeffs)) for c in term):
            shown = " and ".join(str(c) for c in term) or "true"
            return f"unsafe term {t} ({shown}) is not excluded by the output bounds"
    return None


def _excluded(coeffs: Sequence[Fraction], bound: Fraction, strict: bool,
              lo: Sequence[Fraction], hi: Sequence[Fraction], proven: Fraction | None = None) -> bool:
    """No y within [lo, hi] has c.y <= d (c.y < d when strict): the least c.y exceeds d."""
    least = least_value(coeffs, lo, hi)
    least = least if proven is None else max(least, proven)
    return least > bound or (strict and least == bound)


def least_value(coeffs: Sequence[Fraction], lo: Sequence[Fraction], hi: Sequence[Fraction]) -> Fraction:
    """min of c.y over the box lo <= y <= hi, exactly."""
    return sum((c * (lo[j] if c > 0 else hi[j]) for j, c in enumerate(coeffs) if c), Fraction(0))


@dataclass(frozen=True)
class Statement:
    """What a certificate states: for every x in `boxes` (and, with cases, where every case holds)
    the model's output `output` satisfies `claim`; verdict "holds" claims that, "unknown" only the
    certificate's bounds. `leaves` counts a split tree's leaf certificates (0 for a single one)."""

    boxes: Mapping[str, Box]
    output: str
    claim: Claim
    verdict: str
    cases: tuple[Case, ...] = ()
    leaves: int = 0


def answer_failure(stated: Statement, boxes: Mapping[str, Box] | None, output: str, prop: Claim | None) -> str | None:
    """Why the statement does not answer the question asked (the `boxes`, the claim `prop` about
    `output`; either may be None: not asked), or None when it does."""
    if boxes is not None:
        failure = box_failure(stated.boxes, boxes)
        if failure:
            return f"the certificate's input box does not contain the box asked about: {failure}"
    if prop is None:
        return None
    if stated.verdict != "holds":
        return f"the certificate's verdict is {stated.verdict!r}: it proves no property"
    if stated.output != output:
        return (f"the certificate's property is about output {stated.output!r}, the property asked about is about "
                f"{output!r}")
    failure = implication_failure(stated.claim, prop)
    return None if failure is None else f"the certificate's property does not imply the property asked about: {failure}"


def box_failure(stated: Mapping[str, Box], asked: Mapping[str, Box]) -> str | None:
    """Why the stated input boxes do not contain the boxes asked about (same names and shapes), or None."""
    for name in sorted(asked):
        s, a = stated[name], asked[name]
        for i, (s_lo, s_hi, a_lo, a_hi) in enumerate(zip(s.lower, s.upper, a.lower, a.upper)):
            if s_lo > a_lo or s_hi < a_hi:
                return (f"input {name!r} at flat index {i}: the certificate's box [{s_lo}, {s_hi}] does not "
                        f"contain the asked [{a_lo}, {a_hi}]")
    return None


def implication_failure(proven: Claim, asked: Claim) -> str | None:
    """Why the proven claim does not imply the claim asked about (see the module docstring), or None."""
    size = _size(proven)
    if size != _size(asked):
        return f"the certificate's property speaks of {size} outputs, the one asked about of {_size(asked)}"
    if isinstance(proven, Box):
        failure = claim_failure(asked, Interval(_flat(proven.lower), _flat(proven.upper)))
        return None if failure is None else f"the certificate's output bounds do not imply it: {failure}"
    terms = unsafe_terms(proven)
    for t, term in enumerate(dnf_terms(asked)):
        if not _empty(term) and not any(all(_follows(c, term) for c in mine) for mine in terms):
            shown = " and ".join(str(c) for c in term) or "true"
            return f"unsafe term {t} asked about ({shown}) lies within no unsafe term of the certificate's property"
    return None


def proves_nothing(claim: Claim) -> bool:
    """Whether the claim holds of every output: an unsafe region every term of which is empty."""
    return not isinstance(claim, Box) and all(_empty(term) for term in unsafe_terms(claim))


def dnf_terms(claim: Claim) -> tuple[tuple[LinearConstraint, ...], ...]:
    """The claim's unsafe DNF terms; an output box [l, u] has the terms y_j < l_j and -y_j < -u_j."""
    if not isinstance(claim, Box):
        return unsafe_terms(claim)
    n = len(claim.lower)
    unit = [tuple(Fraction(int(k == j)) for k in range(n)) for j in range(n)]
    below = ((LinearConstraint(unit[j], claim.lower[j], True),) for j in range(n))
    above = ((LinearConstraint(tuple(-c for c in unit[j]), -claim.upper[j], True),) for j in range(n))
    return tuple(below) + tuple(above)


def _size(claim: Claim) -> int:
    return len(claim.lower) if isinstance(claim, Box) else claim.num_outputs


def _flat(values: Sequence[Fraction]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _empty(term: Sequence[LinearConstraint]) -> bool:
    """Some constraint of the term holds for no y (0 <= d with d < 0, or 0 < d with d <= 0)."""
    return any(not any(c.coeffs) and (c.bound < 0 or (c.strict and c.bound == 0)) for c in term)


def _follows(c: LinearConstraint, term: Sequence[LinearConstraint]) -> bool:
    """Constraint c holds wherever all of `term` does: it holds for every y, or one constraint of the
    term implies it alone."""
    if not any(c.coeffs):
        return c.bound > 0 or (c.bound == 0 and not c.strict)
    return any(_implies(given, c) for given in term)


def _implies(given: LinearConstraint, c: LinearConstraint) -> bool:
    """given (a.y <= d, or <) implies c (b.y <= e, or <): b = k a for some k > 0, and k d <= e (k d < e
    when c is strict and `given` is not)."""
    k = next((b / a for a, b in zip(given.coeffs, c.coeffs) if a), None)
    if k is None or k <= 0 or any(b != k * a for a, b in zip(given.coeffs, c.coeffs)):
        return False
    bound = k * given.bound
    return bound < c.bound or (bound == c.bound and (given.strict or not c.strict))


SHOWN = 8  # coordinates or terms listed in a description; the rest are counted


def describe_boxes(boxes: Mapping[str, Box]) -> list[str]:
    """Lines stating input boxes exactly (the first SHOWN coordinates of each, and how many more)."""
    lines = []
    for name, b in sorted(boxes.items()):
        lines.append(f"input box: {name} of shape {list(b.shape)}, {len(b.lower)} coordinates (flat index: [lower, upper])")
        lines += [f"  {name}[{i}] in [{lo}, {hi}]" for i, (lo, hi) in enumerate(zip(b.lower[:SHOWN], b.upper[:SHOWN]))]
        lines += [f"  ... and {len(b.lower) - SHOWN} more"] if len(b.lower) > SHOWN else []
    return lines


def describe_claim(claim: Claim, output: str) -> list[str]:
    """Lines stating a claim about `output` exactly: its bounds, or the unsafe terms it rules out."""
    if isinstance(claim, Box):
        lines = [f"property: every value of output {output} (shape {list(claim.shape)}) lies within [lower, upper]:"]
        shown = zip(claim.lower[:SHOWN], claim.upper[:SHOWN])
        lines += [f"  {output}[{j}] in [{lo}, {hi}]" for j, (lo, hi) in enumerate(shown)]
        return lines + ([f"  ... and {len(claim.lower) - SHOWN} more"] if len(claim.lower) > SHOWN else [])
    terms = unsafe_terms(claim)
    lines = [f"property {claim.name or '(unnamed)'}: no value of output {output} (Y_0..Y_{claim.num_outputs - 1}, "
             f"flat) satisfies any of these {len(terms)} unsafe terms:"]
    lines += [f"  {' and '.join(str(c) for c in term) or 'true'}" for term in terms[:SHOWN]]
    return lines + ([f"  ... and {len(terms) - SHOWN} more"] if len(terms) > SHOWN else [])
