"""cert/wide.py: exact limb arithmetic gives the very rationals Python's Fractions give."""

from __future__ import annotations

from fractions import Fraction
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytorch2lean.cert import wide

BIG = st.integers(min_value=-(2**300), max_value=2**300)
EDGE = st.sampled_from([0, 1, -1, 2**15 - 1, 2**15, -(2**15), -(2**15) - 1, 2**16 - 1, 2**16, -(2**16), 2**63 - 1,
                        -(2**63), 2**64, -(2**64) + 1])
INTS = st.one_of(BIG, EDGE, st.integers(min_value=-(2**40), max_value=2**40))
DENS = st.sampled_from([1, 2, 2**24, 2**64, 3 * 2**7, 10**9])


def rationals(n: int) -> st.SearchStrategy[list[Fraction]]:
    return st.lists(st.builds(Fraction, INTS, DENS), min_size=n, max_size=n)


def array(values: list[Fraction], shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out.reshape(shape)


def check_normal(a: wide.Wide) -> None:
    """Lower limbs in [0, 2^16), the top in [-2^15, 2^15), and no top limb that only repeats the sign."""
    assert a.d.dtype == np.int64
    assert (a.d[:-1] >= 0).all() and (a.d[:-1] < 2**16).all()
    assert (a.d[-1] >= -(2**15)).all() and (a.d[-1] < 2**15).all()


@settings(max_examples=150, deadline=None)
@given(rationals(6), rationals(6))
def test_arithmetic_is_exact(xs: list[Fraction], ys: list[Fraction]) -> None:
    x, y = array(xs, (2, 3)), array(ys, (2, 3))
    a, b = wide.of_fractions(x), wide.of_fractions(y)
    for got, want in [(a, x), (wide.add(a, b), x + y), (wide.sub(a, b), x - y), (wide.mul(a, b), x * y),
                      (wide.neg(a), -x), (wide.positive_part(a), np.where(x > 0, x, 0)),
                      (wide.reduced(wide.times_int(a, 2**40)), x * 2**40),
                      (wide.total(a, 1), x.sum(axis=1)), (wide.where(x > y, a, b), np.where(x > y, x, y)),
                      (wide.times_int(a, 3 * 2**40), x * (3 * 2**40)), (wide.times_int(a, 2**46), x * 2**46),
                      (wide.times_int(a, 2**77), x * 2**77), (wide.times_int(a, 3 * 2**60 + 1), x * (3 * 2**60 + 1))]:
        check_normal(got)
        assert (wide.fractions(got) == want).all()
    assert (wide.nonnegative(a) == (x >= 0)).all()
    low = wide.negative_part(a)
    check_normal(low)
    assert (wide.fractions(low) == np.where(x < 0, x, 0)).all()
    assert (wide.fractions(wide.add_all([a, b, a])) == x + y + x).all()
    assert (wide.sign(wide.sub(a, b)) == np.vectorize(lambda q: (q > 0) - (q < 0))(x - y)).all()


@settings(max_examples=100, deadline=None)
@given(rationals(12), rationals(8), st.sampled_from([(3, 4), (1, 4)]))
def test_matmul_is_exact(xs: list[Fraction], ws: list[Fraction], lead: tuple[int, int]) -> None:
    x = array(xs[:lead[0] * 4], lead)
    v = array(xs[:4], (4,))
    w = array(ws, (4, 2))
    op = wide.operand(wide.of_fractions(w))
    for limit in (wide.MAX_PAIRS, op.limbs):  # one pass, and one pass per limb of x (`_by_limb_blocks`)
        with mock.patch.object(wide, "MAX_PAIRS", limit):
            got = wide.matmul(wide.of_fractions(x), op)
        check_normal(got)
        assert (wide.fractions(got) == x.dot(w)).all()
    broadcast = wide.mul(wide.of_fractions(x), wide.of_fractions(v))  # (lead) times (4,): trailing axes align
    assert (wide.fractions(broadcast) == x * v).all()


def test_int64_input_matches_python_ints() -> None:
    values = np.array([0, 1, -1, 2**62, -(2**63), 2**63 - 1, 12345, -65536], dtype=np.int64)
    assert list(wide.fractions(wide.of_ints(values))) == [Fraction(int(v)) for v in values]


def test_empty_arrays_have_one_limb() -> None:
    empty = wide.add(wide.of_ints(np.zeros((0, 3), dtype=np.int64)), wide.of_ints(np.zeros((1, 3), dtype=np.int64)))
    assert empty.d.shape == (1, 0, 3) and wide.fractions(empty).shape == (0, 3)


def test_limits_are_refused() -> None:
    with pytest.raises(OverflowError):
        wide.matmul(wide.zeros((1, wide.MAX_INNER + 1)), wide.zeros((wide.MAX_INNER + 1, 1)))
