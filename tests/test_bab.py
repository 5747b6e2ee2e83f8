"""Branch and bound by input splitting: proofs IBP cannot make, the split-tree certificate, mutations."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytorch2lean.bounds import verify_ibp
from pytorch2lean.errors import UserError
from pytorch2lean.bounds.bab import bab, check_bab_certificate, split_point
from pytorch2lean.frontends.onnx_import import load_onnx
from pytorch2lean.spec import Box, Conjunction, Disjunction, LinearConstraint, Property, load_vnnlib

SHARED = Path(__file__).resolve().parents[2] / "shared"
ACAS = SHARED / "benchmarks" / "vnncomp2021" / "acasxu"
FIXTURES = Path(__file__).parent / "fixtures"
needs_acas = pytest.mark.skipif(not ACAS.is_dir(), reason=f"{ACAS} is absent")


@pytest.fixture(scope="module")
def acas():
    """ACAS Xu net 1_1, property 3, and a thin box (one coordinate 1/256 wide) inside its input box."""
    graph = load_onnx(ACAS / "ACASXU_run2a_1_1_batch_2000.onnx")
    prop = load_vnnlib(ACAS / "prop_3.vnnlib").output_property
    lower = (Fraction(-3, 10), Fraction(0), Fraction(1, 2), Fraction(3, 10), Fraction(3, 10))
    upper = lower[:3] + (lower[3] + Fraction(1, 256),) + lower[4:]
    return graph, prop, Box(lower, upper, (5,))


@pytest.fixture(scope="module")
def proven(acas):
    graph, prop, box = acas
    result = bab(graph, box, prop, budget_s=60, hidden="ibp")
    assert result.verdict == "holds", result.reason
    return result


@needs_acas
def test_bab_proves_what_ibp_alone_cannot(acas, proven):
    graph, prop, box = acas
    assert verify_ibp(graph, box, prop).verdict == "unknown"
    assert proven.leaves > 1
    result = check_bab_certificate(graph, proven.certificate, box=box, prop=prop)
    assert result.ok, result.reason


@needs_acas
def test_bab_with_crown_hidden_bounds(acas):
    graph, prop, box = acas
    result = bab(graph, box, prop, budget_s=60, hidden="crown")
    assert result.verdict == "holds", result.reason
    assert check_bab_certificate(graph, result.certificate, box=box, prop=prop).ok


def _mutated(text: str, change) -> str:
    doc = json.loads(text)
    change(doc)
    return json.dumps(doc)


def _first_split(doc):
    return doc["tree"] if "dim" in doc["tree"] else pytest.fail("the tree has no split")


@needs_acas
@pytest.mark.parametrize("name, change, message", [
    ("drop a leaf", lambda d: d["leaves"].pop(), "leaf"),
    ("reuse a subtree", lambda d: _first_split(d).update(above=_first_split(d)["below"]), "strictly inside"),
    ("move a split point to another dyadic", lambda d: _first_split(d).update(
        at=str(Fraction(_first_split(d)["at"]) + Fraction(1, 2**30))), "box asked about"),
    ("move a split point off the dyadics", lambda d: _first_split(d).update(
        at=str(Fraction(_first_split(d)["at"]) + Fraction(1, 3 * 2**30))), "not a dyadic"),
    ("split outside the box", lambda d: _first_split(d).update(at="5"), "strictly inside"),
    ("split a coordinate the box lacks", lambda d: _first_split(d).update(dim=7), "not a coordinate"),
    ("widen the box", lambda d: d["box"]["upper"].__setitem__(3, "1"), "box asked about"),
    ("claim another property", lambda d: d["property"]["terms"][0][0].update(bound="1"), "property"),
    ("another model", lambda d: d.update(graph_digest="0" * 64), "digest"),
])
def test_mutated_bab_certificates_are_rejected(acas, proven, name, change, message):
    graph, prop, box = acas
    result = check_bab_certificate(graph, _mutated(proven.certificate, change), box=box, prop=prop)
    assert not result.ok, name
    assert message in result.reason, (name, result.reason)


@needs_acas
def test_a_leaf_without_verdict_is_rejected(acas, proven):
    graph, prop, box = acas

    def unknown(doc):
        doc["leaves"][0]["verdict"] = "unknown"

    result = check_bab_certificate(graph, _mutated(proven.certificate, unknown), box=box, prop=prop)
    assert not result.ok and "no verdict" in result.reason


@needs_acas
def test_certificates_are_deterministic(acas, proven):
    graph, prop, box = acas
    assert bab(graph, box, prop, budget_s=60, hidden="ibp").certificate == proven.certificate


@needs_acas
def test_a_violated_property_stays_open(acas):
    graph, _, box = acas
    always = Conjunction((LinearConstraint(tuple(Fraction(j == 0) for j in range(5)), Fraction(10**6)),))
    result = bab(graph, box, Property(Disjunction((always,)), 5, "Y_0 <= 10^6"), budget_s=1, hidden="ibp")
    assert result.verdict != "holds" and result.open_boxes and result.certificate is None


def test_fixture_models_are_proven_and_checked():
    graph = load_onnx(FIXTURES / "onnx" / "test_tiny.onnx")
    spec = load_vnnlib(FIXTURES / "vnnlib" / "test_tiny.vnnlib")
    result = bab(graph, spec.input_boxes[0], spec.output_property, budget_s=30)
    assert result.verdict == "holds", result.reason
    checked = check_bab_certificate(graph, result.certificate, box=spec.input_boxes[0], prop=spec.output_property)
    assert checked.ok, checked.reason
    assert not check_bab_certificate(graph, "{", box=spec.input_boxes[0]).ok


fractions = st.fractions(min_value=-1000, max_value=1000, max_denominator=10**9)


@given(fractions, fractions)
def test_split_points_are_dyadics_near_the_middle(a, b):
    lo, hi = min(a, b), max(a, b)
    s = split_point(lo, hi)
    if lo == hi:
        assert s is None
    else:
        assert lo < s < hi and abs(s - (lo + hi) / 2) <= (hi - lo) / 4
        assert s.denominator & (s.denominator - 1) == 0


def test_split_points_of_a_very_thin_interval():
    lo = Fraction(1000) + Fraction(1, 3 * 10**12)
    s = split_point(lo, lo + Fraction(1, 10**12))
    assert lo < s < lo + Fraction(1, 10**12) and s.denominator & (s.denominator - 1) == 0


def test_run_query_with_bab_and_the_falsifier():
    from pytorch2lean.verify import Query, run_query, vnnlib_query

    graph = load_onnx(FIXTURES / "onnx" / "test_tiny.onnx")
    query = vnnlib_query(graph, FIXTURES / "vnnlib" / "test_tiny.vnnlib")
    (result,) = run_query(graph, query, "bab", timeout=30)
    assert result.verdict == "holds" and check_bab_certificate(graph, result.certificate, prop=query.prop).ok
    always = Conjunction((LinearConstraint((Fraction(1),), Fraction(10**6)),))
    false = Query(query.boxes, Property(Disjunction((always,)), 1, "Y_0 <= 10^6"), "a false property")
    (open_,) = run_query(graph, false, "bab", timeout=1)
    assert open_.verdict in ("timeout", "unknown") and open_.certificate is None
    (violated,) = run_query(graph, false, "bab", timeout=1, falsify_s=5)
    assert violated.verdict == "violated" and "(X_0 " in violated.reason
    with pytest.raises(UserError, match="needs a property"):
        run_query(graph, Query(query.boxes, None, "bounds only"), "bab", timeout=1)


@needs_acas
def test_a_check_past_its_deadline_gives_up(acas, proven):
    import time

    from pytorch2lean.bounds.bab import TIME_UP

    graph, prop, box = acas
    result = check_bab_certificate(graph, proven.certificate, box=box, prop=prop, deadline=time.monotonic() - 1)
    assert not result.ok and result.reason.startswith(TIME_UP)


@needs_acas
def test_check_any_certificate_dispatches_on_the_format(acas, proven):
    from pytorch2lean.bounds.bab import check_any_certificate

    graph, prop, box = acas
    assert check_any_certificate(graph, proven.certificate).ok
    leaf = json.dumps(json.loads(proven.certificate)["leaves"][0])
    assert check_any_certificate(graph, leaf).ok
    assert not check_any_certificate(graph, leaf.replace('"holds"', '"hold"')).ok
    assert "not JSON" in check_any_certificate(graph, "{").reason
