"""Exact big-integer matmul by float64 limbs, against NumPy's object-array matmul (Python ints)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given, settings, strategies as st

from pytorch2lean.numeric.intmat import int_matmul


def _ints(draw, shape: tuple[int, ...], bits: int) -> np.ndarray:
    values = draw(st.lists(st.integers(-(2**bits), 2**bits), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out.reshape(shape)


@st.composite
def _pairs(draw):
    m, k, n = draw(st.integers(1, 5)), draw(st.integers(1, 6)), draw(st.integers(1, 5))
    stack_a = draw(st.sampled_from([(), (1,), (3,), (2, 1)]))
    stack_b = draw(st.sampled_from([(), (1,), (3,), (1, 3)]))
    return (_ints(draw, stack_a + (m, k), draw(st.integers(0, 300))),
            _ints(draw, stack_b + (k, n), draw(st.integers(0, 300))))


@settings(max_examples=300, deadline=None)
@given(_pairs())
def test_equals_object_matmul(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    try:
        expected = np.matmul(a, b)
    except ValueError:  # stacks that do not broadcast: not a case to compare
        return
    got = int_matmul(a, b)
    assert got is not None and got.shape == expected.shape
    assert all(type(v) is int for v in got.flat)
    assert (got == expected).all()


def test_carries_and_signs_at_limb_edges() -> None:
    edges = [0, 1, -1, 2**16 - 1, 2**16, -(2**16), 2**32 - 1, -(2**48) + 1, 2**200 + 12345, -(2**200)]
    a = np.empty((len(edges), len(edges)), dtype=object)
    for i in range(len(edges)):
        for j in range(len(edges)):
            a[i, j] = edges[(i * 3 + j) % len(edges)] * (-1) ** i
    b = a.T.copy()
    assert (int_matmul(a, b) == np.matmul(a, b)).all()


def test_conversions_at_word_edges() -> None:
    """Ints become 16-bit digits a 64-bit word at a time (`int_digits`) and limb sums become ints
    the same way (`join_limbs`): both must give the very ints, in the least digits, at every word
    edge (2^63 - 1 fits one signed word, -2^63 too, 2^63 needs a second) and for carries out of
    the top limb."""
    from pytorch2lean.numeric.intmat import int_digits, join_limbs

    edges = [0, 1, -1, 2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 2**64 - 1, 2**64, -(2**64), 2**127 - 1, -(2**128),
             2**200 + 12345, -(2**200) + 1, 2**15, -(2**15), 2**15 - 1, -(2**15) - 1]
    for values in ([v] for v in edges):
        flat = np.empty(1, dtype=object)
        flat[:] = values
        d = int_digits(flat)
        assert [sum(int(x) << (16 * i) for i, x in enumerate(row)) for row in d.tolist()] == values
        width = (values[0] if values[0] >= 0 else ~values[0]).bit_length() + 1  # two's complement, with its sign bit
        assert d.shape[1] == -(-width // 16)
    sums = np.array([[2**61, -(2**61), 2**16 - 1, 0], [-1, 2**62 - 1, 5, -(2**62) + 1], [0, 0, 0, -1]], dtype=np.int64)
    got = join_limbs(sums.T.copy())
    assert list(got) == [sum(int(x) << (16 * i) for i, x in enumerate(row)) for row in sums.tolist()]
    assert all(type(v) is int for v in got)


def test_long_dot_products_stay_exact() -> None:
    """k = 4096 terms of products just below 2^32 per limb: sums near 2^44, exact in float64."""
    k = 4096
    a = np.empty((2, k), dtype=object)
    a[:] = [[2**64 - 1 - t for t in range(k)], [-(2**63) + t for t in range(k)]]
    b = a.T.copy()
    assert (int_matmul(a, b) == np.matmul(a, b)).all()


def test_anything_but_ints_is_declined() -> None:
    a = np.array([[Fraction(1, 2), 1]], dtype=object)
    b = np.array([[1], [2]], dtype=object)
    assert int_matmul(a, b) is None
    assert int_matmul(np.array([[True]], dtype=object), np.array([[1]], dtype=object)) is None
    assert int_matmul(np.array([1, 2], dtype=object), b) is None  # rank 1: numpy.matmul's promotion rules


def test_read_only_operands_are_cached_and_writable_ones_are_not() -> None:
    w = np.array([[3, -5], [7, 2**70]], dtype=object)
    x = np.array([[1, 2]], dtype=object)
    first = int_matmul(x, w)
    w[1, 1] = 11  # a writable array may change in place: its limbs must be read again
    assert (int_matmul(x, w) == np.matmul(x, w)).all() and not (first == int_matmul(x, w)).all()
    w.flags.writeable = False
    assert (int_matmul(x, w) == np.matmul(x, w)).all()
    assert (int_matmul(x, w.T) == np.matmul(x, w.T)).all()  # a view of cached memory is its own entry
