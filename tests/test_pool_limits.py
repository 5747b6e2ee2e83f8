"""Window attributes: the padding-only check is one test per output position (the closed form
agrees with trying every tap), and absurd window sizes are refused with the attribute named
instead of hanging the loader (found by fuzzing ONNX pooling nodes with strides of 2**40)."""

from __future__ import annotations

import itertools

import pytest

from pytorch2lean.errors import UserError
from pytorch2lean.ir import Graph, Input, make_node, validate
from pytorch2lean.ops.conv import MAX_WINDOW, Span


def touches_by_taps(sp: Span) -> bool:
    """The definition: every output position has a tap on a real input cell."""
    return all(any(0 <= o * sp.stride + i * sp.dilation - sp.begin < sp.size for i in range(sp.kernel))
               for o in range(sp.out))


def touches(sp: Span) -> bool:
    try:
        sp.check_touches_input()
        return True
    except UserError:
        return False


def test_closed_form_agrees_with_every_tap() -> None:
    seen = {True: 0, False: 0}
    for size, k, s, d, b, e, ceil in itertools.product(range(1, 5), range(1, 4), range(1, 4), range(1, 4),
                                                       range(0, 4), range(0, 4), (False, True)):
        sp = Span("height", size, k, s, d, b, e, ceil)
        if sp.size + sp.begin + sp.end < sp.extent:
            continue
        assert touches(sp) == touches_by_taps(sp), sp
        seen[touches(sp)] += 1
    assert seen[True] and seen[False]


@pytest.mark.parametrize("name, value", [("stride", [2**40, 1]), ("kernel", [1, 2**40]), ("padding", [0, 0, 2**40, 0]),
                                         ("dilation", [MAX_WINDOW + 1, 1])])
def test_absurd_window_is_refused_at_once(name: str, value: list[int]) -> None:
    attrs = {"kernel": [2, 2], "stride": [1, 1], "padding": [0, 0, 0, 0], name: value}
    with pytest.raises(UserError, match=rf"attribute '{name}' must have entries <= {MAX_WINDOW}"):
        validate(Graph("g", (Input("x", (1, 4, 4)),), (), (make_node("p", "maxpool2d", ["x"], attrs),), ("p",)))
