"""Output properties as linear constraints over the flattened network output y.

VNN-LIB (and so this module) states a property by its UNSAFE region: the outputs a
counterexample would produce, a disjunction of conjunctions of `c·y <= d` (DNF). The property
holds on an input box when no input in the box reaches the unsafe region ("unsat" in VNN-LIB
terms). The safe set is the complement, which by De Morgan is a conjunction of disjunctions of
*strict* constraints `c·y > d`; `Property.safe` spells it out, and `holds_exactly` evaluates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, ClassVar, Iterable, Sequence, Union

import numpy as np

from ..errors import ShapeError, UserError
from .numbers import exact_values


@dataclass(frozen=True)
class LinearConstraint:
    """coeffs·y <= bound, or coeffs·y < bound when `strict`; coeffs range over the flattened outputs."""

    coeffs: tuple[Fraction, ...]
    bound: Fraction
    strict: bool = False

    def __post_init__(self) -> None:
        if not all(type(c) is Fraction for c in self.coeffs) or type(self.bound) is not Fraction:
            raise TypeError("constraint coefficients and bound must be Fractions")

    def value(self, y: Sequence[Fraction]) -> Fraction:
        """coeffs·y, exactly."""
        return sum((c * v for c, v in zip(self.coeffs, y) if c), Fraction(0))

    def holds(self, y: Sequence[Fraction]) -> bool:
        """Whether `y` (exact, flat, of matching length) satisfies the constraint."""
        v = self.value(y)
        return v < self.bound if self.strict else v <= self.bound

    def negated(self) -> LinearConstraint:
        """The complement: not (c·y <= d) is (-c)·y < -d, and not (c·y < d) is (-c)·y <= -d."""
        return LinearConstraint(tuple(-c for c in self.coeffs), -self.bound, not self.strict)

    def __str__(self) -> str:
        terms = " ".join(_term(c, j, first=k == 0) for k, (j, c) in enumerate(_nonzero(self.coeffs)))
        return f"{terms or '0'} {'<' if self.strict else '<='} {self.bound}"


def _nonzero(coeffs: tuple[Fraction, ...]) -> list[tuple[int, Fraction]]:
    return [(j, c) for j, c in enumerate(coeffs) if c]


def _term(c: Fraction, j: int, first: bool) -> str:
    sign = ("-" if first else "- ") if c < 0 else ("" if first else "+ ")
    size = abs(c)
    return f"{sign}{'' if size == 1 else f'{size}*'}Y_{j}"


@dataclass(frozen=True)
class _Connective:
    """`parts` joined by `and` (Conjunction) or `or` (Disjunction)."""

    parts: tuple[Formula, ...]
    _joins: ClassVar[Callable[[Iterable[bool]], bool]]

    def holds(self, y: Sequence[Fraction]) -> bool:
        """Whether the parts, joined, hold at `y`."""
        return type(self)._joins(p.holds(y) for p in self.parts)

    def negated(self) -> _Connective:
        """De Morgan: not (a and b) is (not a) or (not b), and the other way round."""
        dual = Disjunction if isinstance(self, Conjunction) else Conjunction
        return dual(tuple(p.negated() for p in self.parts))


class Conjunction(_Connective):
    """All of `parts` hold; the empty conjunction is true."""

    _joins = all


class Disjunction(_Connective):
    """At least one of `parts` holds; the empty disjunction is false."""

    _joins = any


Formula = Union[LinearConstraint, Conjunction, Disjunction]


@dataclass(frozen=True)
class Property:
    """A property of the outputs, stated by its unsafe region in DNF.

    `unsafe` is a Disjunction whose parts are Conjunctions of LinearConstraints over
    `num_outputs` outputs. The property holds at y iff y is NOT in the unsafe region.
    """

    unsafe: Disjunction
    num_outputs: int
    name: str = ""

    def __post_init__(self) -> None:
        for term in self.unsafe.parts:
            if not isinstance(term, Conjunction) or not all(isinstance(c, LinearConstraint) for c in term.parts):
                raise TypeError("Property.unsafe must be a Disjunction of Conjunctions of LinearConstraints (DNF)")
            for c in term.parts:
                if len(c.coeffs) != self.num_outputs:
                    raise ShapeError(f"constraint {c} has {len(c.coeffs)} coefficients, the property {self.num_outputs} outputs")

    @property
    def safe(self) -> Conjunction:
        """The safe set in CNF: for every unsafe term, some constraint of it is violated (strictly)."""
        return self.unsafe.negated()

    def holds_exactly(self, y: np.ndarray | Sequence[object]) -> bool:
        """Whether the output `y` (a sequence, or an array of any shape, of num_outputs values) is safe, exactly."""
        flat = y.reshape(-1) if isinstance(y, np.ndarray) else y
        return self.safe.holds(exact_values(flat, (self.num_outputs,), f"output of property {self.name!r}"))

    @classmethod
    def robustness(cls, label: int, num_classes: int) -> Property:
        """argmax y = label, strictly: safe iff y_label > y_j for every j != label.

        Unsafe DNF: OR over j != label of (y_j - y_label >= 0), written y_label - y_j <= 0. A tie
        counts as unsafe, so a proof of this property rules out every tie-breaking rule.
        """
        if num_classes < 2 or not 0 <= label < num_classes:
            raise UserError(f"robustness needs num_classes >= 2 and 0 <= label < num_classes, got {label} of {num_classes}")

        def beaten_by(j: int) -> Conjunction:
            coeffs = tuple(Fraction((k == label) - (k == j)) for k in range(num_classes))
            return Conjunction((LinearConstraint(coeffs, Fraction(0)),))

        terms = tuple(beaten_by(j) for j in range(num_classes) if j != label)
        return cls(Disjunction(terms), num_classes, f"robustness(label={label})")

