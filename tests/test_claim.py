"""When a certificate's statement answers the question asked (pytorch2lean/cert/claim.py).

The rule is checked against its meaning: whenever it says that claim P implies claim Q, every
output Q calls unsafe is unsafe for P too (sampled at random points and at the constraints'
boundaries, exactly); and the tampering cases (a weakened bound, a dropped term, a swapped sign,
a box that no longer contains the one asked about) are refused with the reason.
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from pytorch2lean.cert.claim import box_failure, dnf_terms, implication_failure, proves_nothing
from pytorch2lean.spec import Box, Conjunction, Disjunction, LinearConstraint, Property

F = Fraction


def prop(*terms: list[tuple[tuple[int, ...], int | str, bool]], n: int = 2) -> Property:
    """A property from terms of (coeffs, bound, strict) triples."""
    return Property(Disjunction(tuple(Conjunction(tuple(LinearConstraint(tuple(map(F, c)), F(d), s) for c, d, s in term))
                                      for term in terms)), n, "p")


def unsafe(claim: Property | Box, y: tuple[Fraction, ...]) -> bool:
    return any(all(c.holds(y) for c in term) for term in dnf_terms(claim))


GAP = prop([((1, -1), 0, False)])  # unsafe: y0 - y1 <= 0 (robustness of class 0)


def test_the_same_and_stronger_properties_imply_the_one_asked() -> None:
    assert implication_failure(GAP, GAP) is None
    assert implication_failure(prop([((1, -1), 1, False)]), GAP) is None  # a margin of 1
    assert implication_failure(prop([((2, -2), 0, False)]), GAP) is None  # a positive multiple
    assert implication_failure(prop([((1, -1), 0, False)]), prop([((1, -1), 0, True)])) is None  # y0 - y1 < 0
    assert implication_failure(prop([((1, -1), 0, False)], [((1, 0), 0, False)]), GAP) is None  # an extra term


def test_weaker_or_other_properties_are_refused_with_the_term() -> None:
    weakened = prop([((1, -1), -1, False)])
    assert implication_failure(weakened, GAP) == (
        "unsafe term 0 asked about (Y_0 - Y_1 <= 0) lies within no unsafe term of the certificate's property")
    assert implication_failure(prop([((-1, 1), 0, False)]), GAP) is not None  # the other class
    assert implication_failure(prop([((1, -1), 0, True)]), GAP) is not None  # equality is left unproven
    assert implication_failure(prop([((1, -1), 0, False), ((1, 0), 0, False)]), GAP) is not None  # a narrowed term
    two = prop([((1, -1), 0, False)], [((1, 0), 5, False)])
    assert implication_failure(GAP, two).startswith("unsafe term 1 asked about (Y_0 <= 5)")  # a dropped term
    assert implication_failure(GAP, prop([((1, -1, 0), 0, False)], n=3)) == (
        "the certificate's property speaks of 2 outputs, the one asked about of 3")


def test_output_boxes_imply_properties_and_boxes_by_their_bounds() -> None:
    proven = Box((F(1), F(-1)), (F(2), F(0)), (1, 2))  # y0 in [1, 2], y1 in [-1, 0]: y0 - y1 >= 1
    assert implication_failure(proven, GAP) is None
    assert implication_failure(proven, Box((F(0), F(-1)), (F(2), F(1)), (1, 2))) is None
    assert implication_failure(proven, Box((F(0), F(-1)), (F(3, 2), F(1)), (1, 2))) == (
        "the certificate's output bounds do not imply it: output index 0: bounds [1, 2] are not within the "
        "claimed [0, 3/2]")
    assert implication_failure(prop([((1, 0), 0, True)], [((-1, 0), -2, True)]), Box((F(0), F(-9)), (F(2), F(9)), (2,))) \
        is not None  # y1 unbounded by the proven property


def test_a_property_without_a_satisfiable_term_proves_nothing() -> None:
    assert proves_nothing(Property(Disjunction(()), 2, "none"))
    assert proves_nothing(prop([((0, 0), -1, False)]))
    assert not proves_nothing(GAP) and not proves_nothing(Box((F(0),), (F(1),), (1,)))


def test_box_containment_names_the_coordinate() -> None:
    stated = {"x": Box((F(0), F(0)), (F(1), F(1)), (2,))}
    assert box_failure(stated, {"x": Box((F(0), F(1, 2)), (F(1), F(1)), (2,))}) is None
    assert box_failure(stated, {"x": Box((F(0), F(0)), (F(1), F(2)), (2,))}) == (
        "input 'x' at flat index 1: the certificate's box [0, 1] does not contain the asked [0, 2]")


small = st.integers(-3, 3)
constraint = st.tuples(st.tuples(small, small), small, st.booleans())
claims = st.lists(st.lists(constraint, min_size=1, max_size=2), min_size=1, max_size=3)


@settings(max_examples=300, deadline=None)
@given(claims, claims, st.lists(st.tuples(small, small), min_size=20, max_size=20))
def test_an_accepted_implication_holds_at_every_point_tried(p: list, q: list, points: list) -> None:
    proven, asked = prop(*p), prop(*q)
    if implication_failure(proven, asked) is not None:
        return
    grid = [tuple(F(v, 2) for v in y) for y in points] + [(F(a), F(b)) for a in range(-4, 5) for b in range(-4, 5)]
    for y in grid:
        assert not unsafe(asked, y) or unsafe(proven, y), (y, proven, asked)


@settings(max_examples=200, deadline=None)
@given(claims, st.lists(st.tuples(st.integers(1, 3), st.integers(0, 2)), min_size=6, max_size=6), constraint)
def test_a_property_weakened_term_by_term_is_implied(p: list, changes: list, extra: tuple) -> None:
    """Each asked term: the proven term's constraints scaled by k > 0, bounds lowered, one more
    constraint: a smaller unsafe term, so the proven property implies it."""
    flat = iter(changes * 3)
    asked_terms = []
    for term in p:
        scaled = [(tuple(k * c for c in coeffs), k * d - drop, s) for (coeffs, d, s), (k, drop) in zip(term, flat)]
        asked_terms.append(scaled + [extra])
    proven, asked = prop(*p), prop(*asked_terms)
    assert implication_failure(proven, asked) is None
    for y in [(F(a, 2), F(b, 2)) for a in range(-8, 9) for b in range(-8, 9)]:
        assert not unsafe(asked, y) or unsafe(proven, y)
