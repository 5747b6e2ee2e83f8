"""Token ids and the embedding lookup: typed int64 inputs, the `embedding` op, and the split at it.

* the IR types ids: an int64 input states its id range, is read only as an embedding's ids, its
  range lies within every table it indexes; float graphs serialize exactly as before (no `range`);
* the op: the kernel is the table's rows, in float32 and exactly; the runtime refuses an id outside
  the range and a non-integer array, naming the input and the first bad element;
* the interval rule over id sets (the hull of the selected rows): sound at every id of the set,
  tight (each bound is some row's entry), the float rule contains the exact one, an empty set is
  Unbounded; the op passes no gradient;
* the position-dependency twin: a looked-up row carries its id's mask;
* `ir.embeddings`: the network after the lookups is the token model at the lookups' values.
"""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytorch2lean.errors import GraphError, UserError
from pytorch2lean.ir import Graph, Input, Param, digest, dumps, loads, make_node, validate
from pytorch2lean.ir.embeddings import after_lookups, lookup_nodes, lookups
from pytorch2lean.lean.causal import Contract, causal_deps, dependency_masks, sequence_contract
from pytorch2lean.ops import get
from pytorch2lean.ops.base import Interval, Unbounded
from pytorch2lean.runtime import evaluate_exact, execute
from pytorch2lean.runtime.grad import Tape

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
INTEGER_OPS = {"embedding"}  # the ops whose interval and VJP cases live here (ids are no float box)


def table(rows: int = 7, width: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, width)).astype(np.float32)


def lookup_graph(ids_shape: tuple[int, ...] = (4,), rows: int = 7, width: int = 3, id_range: tuple[int, int] | None = None,
                 then_relu: bool = True) -> Graph:
    """ids -> embedding(ids, w) [-> relu]: the smallest token model."""
    nodes = [make_node("e", "embedding", ["ids", "w"])] + ([make_node("r", "relu", ["e"])] if then_relu else [])
    ids = Input("ids", ids_shape, "int64", id_range or (0, rows))
    return validate(Graph("tokens", (ids,), (Param.of_array("w", table(rows, width)),), tuple(nodes), (nodes[-1].id,)))


# ---- the IR types token ids ----------------------------------------------------------------

def test_a_lookup_has_the_ids_shape_then_the_row_shape() -> None:
    g = lookup_graph((2, 5), rows=9, width=4)
    assert g.node("e").shape == (2, 5, 4)
    assert get("embedding").shape({}, [(3,), (9, 2, 2)]) == (3, 2, 2)


@pytest.mark.parametrize("change, message", [
    (lambda g: dataclasses.replace(g, inputs=(Input("ids", (4,), "int64", (0, 8)),)), "holds ids in \\[0, 8\\), but the table has 7 rows"),
    (lambda g: dataclasses.replace(g, inputs=(Input("ids", (4,), "int64", None),)), "needs an id range"),
    (lambda g: dataclasses.replace(g, inputs=(Input("ids", (4,), "int64", (3, 3)),)), "needs an id range"),
    (lambda g: dataclasses.replace(g, inputs=(Input("ids", (4,), "int64", (-1, 3)),)), "needs an id range"),
    (lambda g: dataclasses.replace(g, inputs=(Input("ids", (4,), "int64", (0, 2**24 + 1)),)), "2\\*\\*24"),
    (lambda g: dataclasses.replace(g, inputs=(Input("ids", (4,), "int64", (0, True)),)), "needs an id range"),
    (lambda g: dataclasses.replace(g, inputs=(Input("ids", (4,), "float32", (0, 7)),)), "a float32 input has no id range"),
    (lambda g: dataclasses.replace(g, inputs=(Input("ids", (4,), "float32"),)), "takes int64 token ids \\(an int64 input\\), got 'ids'"),
    (lambda g: dataclasses.replace(g, inputs=(Input("ids", (4,), "int8", (0, 7)),)), "dtype 'int8' is not supported"),
    (lambda g: dataclasses.replace(g, nodes=g.nodes + (make_node("s", "relu", ["ids"]),), outputs=("s",)),
     "operand 'x' takes float values, got the int64 input 'ids'"),
    (lambda g: dataclasses.replace(g, outputs=("ids",)), "output 'ids' is an int64 input"),
])
def test_ill_typed_ids_are_one_graph_error(change, message: str) -> None:
    with pytest.raises(GraphError, match=message):
        validate(change(lookup_graph()))


def test_float_graphs_serialize_without_a_range_and_ids_round_trip() -> None:
    g = lookup_graph((2, 3), rows=5)
    text = dumps(g)
    entry = json.loads(text)["inputs"][0]
    assert entry == {"name": "ids", "shape": [2, 3], "dtype": "int64", "range": [0, 5]}
    assert loads(text) == g and digest(loads(text)) == digest(g)
    float_entry = json.loads(dumps(validate(Graph("f", (Input("x", (2,)),), (), (make_node("r", "relu", ["x"]),), ("r",)))))
    assert float_entry["inputs"] == [{"name": "x", "shape": [2], "dtype": "float32"}]
    with pytest.raises(GraphError, match="g.json: digest .* does not match the content"):
        loads(text.replace('"range":[0,5]', '"range":[0,4]'), source="g.json")
    for bad in ([0, "5"], [0], [5, 0], "0:5"):
        data = {k: v for k, v in json.loads(text).items() if k != "digest"}
        data["inputs"][0]["range"] = bad
        with pytest.raises(GraphError, match="range"):
            validate(loads(json.dumps(data), source="g.json"))


def test_the_range_is_part_of_the_digest() -> None:
    assert digest(lookup_graph(id_range=(0, 7))) != digest(lookup_graph(id_range=(0, 6)))


# ---- the kernel and the runtime ------------------------------------------------------------

def test_the_lookup_is_the_table_rows_in_float32_and_exactly() -> None:
    g = lookup_graph((2, 3), rows=6, width=4, then_relu=False)
    w = g.param("w").array
    ids = np.array([[[0, 5, 2], [2, 2, 1]], [[3, 4, 0], [1, 1, 1]]])
    np.testing.assert_array_equal(execute(g, {"ids": ids})["e"], w[ids])
    exact = evaluate_exact(g, {"ids": ids})["e"]
    assert exact.dtype == object and (exact == g.param("w").exact()[ids]).all()
    assert isinstance(exact.flat[0], Fraction)
    fractions = np.vectorize(Fraction, otypes=[object])(ids)  # exact integers, as the checker passes them
    assert (evaluate_exact(g, {"ids": fractions})["e"] == exact).all()


@pytest.mark.parametrize("ids, message", [
    (np.array([[1, 2, 7, 0]]), "id 7 at index \\[0, 2\\] .* outside the input's id range \\[0, 7\\)"),
    (np.array([[1, -1, 3, 0]]), "id -1 at index \\[0, 1\\]"),
    (np.array([[1.0, 2.0, 3.0, 0.0]]), "takes integer token ids; got an array of dtype float64"),
    (np.array([[Fraction(1, 2)] * 4], dtype=object), "takes integer token ids; got an array of dtype object"),
])
def test_bad_ids_are_one_user_error_naming_the_first(ids: np.ndarray, message: str) -> None:
    g = lookup_graph()
    for run in (execute, evaluate_exact):
        with pytest.raises(UserError, match=message):
            run(g, {"ids": ids})


def test_ids_within_a_narrower_range_are_checked_against_it() -> None:
    g = lookup_graph(id_range=(2, 5))
    assert execute(g, {"ids": np.array([[2, 3, 4, 4]])})["r"].shape == (1, 4, 3)
    with pytest.raises(UserError, match="id 5 at index \\[0, 3\\] .* \\[2, 5\\)"):
        execute(g, {"ids": np.array([[2, 3, 4, 5]])})


def test_nan_and_inf_in_the_table_are_copied_as_they_are() -> None:
    w = np.float32([[np.nan, 1], [np.inf, -np.inf]])
    g = validate(Graph("t", (Input("ids", (3,), "int64", (0, 2)),), (Param.of_array("w", w),),
                       (make_node("e", "embedding", ["ids", "w"]),), ("e",)))
    np.testing.assert_array_equal(execute(g, {"ids": np.array([[1, 0, 1]])})["e"][0], w[[1, 0, 1]])


# ---- intervals over id sets ----------------------------------------------------------------

def _rule(lo: np.ndarray, hi: np.ndarray, w: np.ndarray, exact: bool) -> Interval:
    spec = get("embedding")
    weight = (np.vectorize(Fraction, otypes=[object])(w) if exact else w.astype(np.float64))[None]
    if exact:
        lo, hi = (np.vectorize(Fraction, otypes=[object])(a) for a in (lo, hi))
    return spec.interval(np, {}, Interval(lo[None], hi[None]), Interval(weight, weight))


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 9), exact=st.booleans())
def test_the_interval_is_the_hull_of_the_selected_rows(seed: int, rows: int, exact: bool) -> None:
    """Every id in a position's set gives a row inside the bounds, and each bound is attained."""
    r = np.random.default_rng(seed)
    w = table(rows, 3, seed)
    a, b = np.sort(r.integers(0, rows, (2, 5)), axis=0)
    lo, hi = a + r.uniform(-0.9, 0, 5) * (a > 0), b + r.uniform(0, 0.9, 5)  # fractional ends round inwards
    iv = _rule(lo, hi, w, exact)
    for k in range(5):
        rows_of_set = w[a[k]:b[k] + 1].astype(np.float64)
        assert (iv.lo[0, k] <= rows_of_set).all() and (rows_of_set <= iv.hi[0, k]).all()
        assert list(iv.lo[0, k]) == list(rows_of_set.min(axis=0)) and list(iv.hi[0, k]) == list(rows_of_set.max(axis=0))


def test_float_bounds_contain_the_exact_ones_and_a_point_is_its_row() -> None:
    w = table(6, 4, 3)
    lo, hi = np.array([0.0, 2.5, 5.0]), np.array([3.0, 4.0, 5.0])
    fl, ex = _rule(lo, hi, w, False), _rule(lo, hi, w, True)
    assert (fl.lo == ex.lo.astype(np.float64)).all() and (fl.hi == ex.hi.astype(np.float64)).all()
    ids = np.array([[4, 0]])
    point = get("embedding").interval(np, {}, Interval(ids, ids), Interval(w[None], w[None]))
    assert (point.lo[0] == w[[4, 0]]).all() and (point.hi[0] == w[[4, 0]]).all()


def test_an_unbounded_or_clipped_id_box_is_the_whole_table_and_an_empty_one_is_unbounded() -> None:
    w = table(5, 2, 4)
    iv = _rule(np.array([-np.inf, -3.0]), np.array([np.inf, 99.0]), w, False)
    assert (iv.lo[0] == w.min(axis=0)).all() and (iv.hi[0] == w.max(axis=0)).all()
    for lo, hi in ((1.2, 1.8), (5.0, 7.0), (-2.0, -0.5)):
        with pytest.raises(Unbounded, match="holds no id of the table's 5 rows"):
            _rule(np.array([lo]), np.array([hi]), w, exact=False)


def test_the_lookup_passes_no_gradient() -> None:
    g = lookup_graph(then_relu=False)
    tape = Tape(g, {"ids": np.array([[1, 2, 3, 4]])})
    assert get("embedding").vjp(np, {}, np.ones((1, 4, 3)), None, None) == (None, None)
    assert (tape.vjp({"e": np.ones((1, 4, 3))})["ids"] == 0).all()


# ---- positions ------------------------------------------------------------------------------

def test_a_looked_up_row_depends_on_its_id_alone() -> None:
    g = lookup_graph((1, 5), then_relu=False)
    masks = dependency_masks(g, 0, 1)["e"]
    assert [[int(v) for v in row] for row in masks[0]] == [[1 << k] * 3 for k in range(5)]
    assert causal_deps(g, Contract(0, 1, 1))


def test_the_sequence_axis_of_token_ids_is_their_last() -> None:
    """Ids read as (batch, tokens); embeddings as (batch, tokens, features)."""
    g = lookup_graph((1, 5), then_relu=False)
    mask = Param.of_array("att.mask", np.tril(np.ones((5, 5), np.float32)))
    nodes = g.nodes + (make_node("t", "transpose", ["e"], {"perm": (0, 2, 1)}), make_node("s", "matmul", ["e", "t"]),
                       make_node("p", "masked_softmax", ["s", "att.mask"]), make_node("y", "matmul", ["p", "e"]))
    causal = validate(dataclasses.replace(g, params=g.params + (mask,), nodes=nodes, outputs=("y",),
                                          metadata=(("constants", "att.mask"),)))
    assert sequence_contract(causal) == Contract(0, 1, 1)
    assert causal_deps(causal, Contract(0, 1, 1))


def _attention(keep: np.ndarray, mix: bool = False) -> Graph:
    """ids -> lookup -> masked self-attention whose boolean mask (`<node>.keep`) is `keep`;
    `mix`: the values are first summed over all positions (a non-causal step elsewhere)."""
    g = lookup_graph((1, 4), then_relu=False)
    params = (Param.of_array("sdpa.keep", keep.astype(np.float32)), Param.of_array("ones", np.ones((4, 4), np.float32)))
    values = [make_node("v", "matmul", ["ones", "e"])] if mix else []
    nodes = g.nodes + tuple(values) + (make_node("t", "transpose", ["e"], {"perm": (0, 2, 1)}), make_node("s", "matmul", ["e", "t"]),
                                       make_node("p", "masked_softmax", ["s", "sdpa.keep"]),
                                       make_node("y", "matmul", ["p", "v" if mix else "e"]))
    return validate(dataclasses.replace(g, params=g.params + params[:1 + mix], nodes=nodes, outputs=("y",),
                                        metadata=(("constants", "sdpa.keep" + " ones" * mix),)))


def test_a_boolean_mask_is_causal_by_its_values_and_stated_only_where_the_twin_proves_it() -> None:
    """transformers builds GPT-2's and Llama's causal masks as boolean masks (`.keep` constants)."""
    tril = np.tril(np.ones((1, 4, 4)))
    assert sequence_contract(_attention(tril)) == Contract(0, 1, 1)
    for keep in (np.ones((4, 4)), np.triu(np.ones((4, 4))), np.tril(np.ones((4, 4)), -1)):
        assert sequence_contract(_attention(keep)) is None
    assert sequence_contract(_attention(tril, mix=True)) is None  # no theorem that would fail


# ---- the network after its lookups ---------------------------------------------------------

def test_after_the_lookups_the_rest_computes_the_token_model() -> None:
    g = lookup_graph((2, 3), rows=6, width=4)
    rest = after_lookups(g)
    assert [(i.name, i.shape, i.dtype) for i in rest.inputs] == [("e", (2, 3, 4), "float32")]
    assert [n.id for n in rest.nodes] == ["r"] and rest.params == ()
    ids = np.array([[[0, 5, 2], [2, 2, 1]]])
    point = lookups(g, {"ids": ids[0]})
    assert list(point) == [n.id for n in lookup_nodes(g)]
    np.testing.assert_array_equal(execute(rest, point)["r"], execute(g, {"ids": ids})["r"])
    with pytest.raises(UserError, match="id 6 at index"):
        lookups(g, {"ids": np.array([[0, 6, 1], [1, 1, 1]])})
    with pytest.raises(UserError, match="expected shape \\[2, 3\\]"):
        lookups(g, {"ids": np.zeros((3, 2), np.int64)})


def test_a_float_model_is_its_own_rest() -> None:
    g = validate(Graph("f", (Input("x", (2,)),), (), (make_node("r", "relu", ["x"]),), ("r",)))
    assert after_lookups(g) == g and lookups(g, {"x": np.zeros((1, 2))}) == {}


def test_the_model_language_refuses_to_write_token_ids_as_a_float_input() -> None:
    from pytorch2lean.frontends.dsl import format_model

    with pytest.raises(GraphError, match="input 'ids' holds int64 token ids, which the model language cannot declare"):
        format_model(lookup_graph())
