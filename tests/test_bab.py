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
from pytorch2lean.bounds.bab import STUCK, bab, split_point
from pytorch2lean.cert.tree import check_bab_certificate
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
    assert not result.ok and result.reason.startswith("leaves[0] (at certificate.tree")
    assert result.reason.endswith("the certificate's verdict is 'unknown': it proves no property")


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
    from pytorch2lean.spec.query import Query, vnnlib_query
    from pytorch2lean.verify import run_query

    graph = load_onnx(FIXTURES / "onnx" / "test_tiny.onnx")
    query = vnnlib_query(graph, FIXTURES / "vnnlib" / "test_tiny.vnnlib")
    (result,) = run_query(graph, query, "bab", timeout=30)
    assert result.verdict == "holds" and check_bab_certificate(graph, result.certificate, prop=query.prop).ok
    always = Conjunction((LinearConstraint((Fraction(1),), Fraction(10**6)),))
    false = Query(query.boxes, Property(Disjunction((always,)), 1, "Y_0 <= 10^6"), "a false property")
    (open_,) = run_query(graph, false, "bab", timeout=1)
    assert open_.verdict in ("timeout", "unknown") and open_.certificate is None
    (violated,) = run_query(graph, false, "bab", timeout=1, falsify_s=5)
    assert violated.verdict == "violated" and violated.witness is not None and violated.witness.exact
    with pytest.raises(UserError, match="needs a property"):
        run_query(graph, Query(query.boxes, None, "bounds only"), "bab", timeout=1)


@needs_acas
def test_a_check_past_its_deadline_gives_up(acas, proven):
    import time

    from pytorch2lean.cert.tree import TIME_UP

    graph, prop, box = acas
    result = check_bab_certificate(graph, proven.certificate, box=box, prop=prop, deadline=time.monotonic() - 1)
    assert not result.ok and result.reason.startswith(TIME_UP)


@needs_acas
def test_check_any_certificate_dispatches_on_the_format(acas, proven):
    from pytorch2lean.cert.tree import check_any_certificate

    graph, prop, box = acas
    assert check_any_certificate(graph, proven.certificate).ok
    leaf = json.dumps(json.loads(proven.certificate)["leaves"][0])
    assert check_any_certificate(graph, leaf).ok
    assert not check_any_certificate(graph, leaf.replace('"holds"', '"hold"')).ok
    assert "not JSON" in check_any_certificate(graph, "{").reason


def _leaf_order(tree) -> list[int]:
    """The leaf indices in tree order (below / nonneg first), as the checker walks them."""
    if "leaf" in tree:
        return [tree["leaf"]]
    first, second = ("below", "above") if "dim" in tree else ("nonneg", "nonpos")
    return _leaf_order(tree[first]) + _leaf_order(tree[second])


def _break_leaf(doc, k: int) -> None:
    """Leaf k's output bounds made tighter than anything its inputs allow."""
    bounds = doc["leaves"][k]["bounds"]
    out = bounds[sorted(bounds)[-1]]
    out["upper"] = list(out["lower"])


@pytest.mark.parametrize("case", ["input", "relu"])
def test_a_check_in_worker_processes_gives_the_same_answers(case, request, monkeypatch):
    """Leaves checked in two processes (chunks of one leaf, so every worker gets several): the
    certificate is accepted, a deadline gives up, and with two leaves broken the first in tree
    order is named, the same reason as the sequential check gives."""
    import time

    from pytorch2lean.cert import tree as tree_module

    if case == "input":
        if not ACAS.is_dir():
            pytest.skip(f"{ACAS} is absent")
        graph, prop, box = request.getfixturevalue("acas")
        text = request.getfixturevalue("proven").certificate
    else:
        graph, box, prop, result = request.getfixturevalue("relu_case")
        box, text = box.reshape((3,)), result.certificate
    monkeypatch.setattr(tree_module, "PARALLEL_MIN_CHUNK", 1)
    doc = json.loads(text)
    order = _leaf_order(doc["tree"])
    assert len(order) >= 3
    assert check_bab_certificate(graph, text, box=box, prop=prop, workers=2).ok
    late = check_bab_certificate(graph, text, box=box, prop=prop, workers=2, deadline=time.monotonic() - 1)
    assert not late.ok and late.reason.startswith(tree_module.TIME_UP)
    for k in (order[-1], order[1]):
        _break_leaf(doc, k)
    broken = json.dumps(doc)
    alone = check_bab_certificate(graph, broken, box=box, prop=prop)
    together = check_bab_certificate(graph, broken, box=box, prop=prop, workers=2)
    assert not alone.ok and together.reason == alone.reason
    assert alone.reason.startswith(f"leaves[{order[1]}]"), alone.reason


# ---- ReLU splitting -------------------------------------------------------------------------

def relu_net(sizes: tuple[int, ...] = (3, 10, 10, 10, 2), seed: int = 2):
    """A small MLP (relu between linear layers) whose CROWN and alpha-CROWN bounds are loose."""
    import numpy as np

    from pytorch2lean.ir import Graph, Input, Param, make_node, validate

    r = np.random.default_rng(seed)
    params, nodes, cur = [], [], "x"
    for k, (a, b) in enumerate(zip(sizes, sizes[1:])):
        params += [Param.of_array(f"w{k}", (r.standard_normal((b, a)) / np.sqrt(a)).astype(np.float32)),
                   Param.of_array(f"b{k}", (0.1 * r.standard_normal(b)).astype(np.float32))]
        nodes.append(make_node(f"l{k}", "linear", [cur, f"w{k}", f"b{k}"]))
        cur = f"l{k}"
        if k < len(sizes) - 2:
            nodes.append(make_node(f"a{k}", "relu", [cur]))
            cur = f"a{k}"
    return validate(Graph("mlp", (Input("x", (1, sizes[0])),), tuple(params), tuple(nodes), (cur,)))


def gap(d: Fraction) -> Property:
    """Unsafe iff y_0 - y_1 <= d."""
    return Property(Disjunction((Conjunction((LinearConstraint((Fraction(1), Fraction(-1)), d),)),)), 2, "gap")


@pytest.fixture(scope="module")
def relu_case():
    """The net, the box [-1, 1]^3 and a gap (sampled minimum about -0.63) that alpha-CROWN misses
    (its bound is about -4.49) and ReLU splitting proves; the search's result."""
    graph = relu_net()
    box = Box((Fraction(-1),) * 3, (Fraction(1),) * 3, (1, 3))
    prop = gap(Fraction(-3336, 1000))
    result = bab(graph, box, prop, budget_s=60, split="relu")
    assert result.verdict == "holds", result.reason
    return graph, box, prop, result


def test_relu_splitting_proves_what_crown_and_alpha_cannot(relu_case):
    from pytorch2lean.bounds import verify

    graph, box, prop, result = relu_case
    for method in ("crown", "alpha"):
        assert verify(graph, box, prop, method=method).verdict == "unknown"
    doc = json.loads(result.certificate)
    assert result.leaves > 1 and "node" in doc["tree"]
    assert all(leaf["method"] == "alpha" and leaf["cases"] for leaf in doc["leaves"])
    checked = check_bab_certificate(graph, result.certificate, box=box.reshape((3,)), prop=prop)
    assert checked.ok, checked.reason


def test_relu_split_leaf_bounds_hold_where_the_leaf_cases_hold(relu_case):
    """Sampled inputs (box corners included) that satisfy a leaf's cases have every node's exact
    value within that leaf's stated bounds; every sample satisfies some leaf's cases."""
    import dataclasses
    import itertools

    import numpy as np

    from pytorch2lean.cert import loads
    from pytorch2lean.runtime import evaluate_exact

    graph, box, _, result = relu_case
    every = dataclasses.replace(graph, outputs=tuple(n.id for n in graph.nodes))
    corners = np.array(list(itertools.product((-1.0, 1.0), repeat=3)))
    points = np.concatenate([corners, np.random.default_rng(0).uniform(-1, 1, (300, 3))]).astype(np.float32)
    values = evaluate_exact(every, {"x": points.reshape(-1, 1, 3)})
    leaves = [loads(json.dumps(leaf)) for leaf in json.loads(result.certificate)["leaves"]]
    covered = np.zeros(len(points), dtype=bool)
    for leaf in leaves:
        inside = np.ones(len(points), dtype=bool)
        for name, index, sign in leaf.cases:
            v = values[name].reshape(len(points), -1)[:, index]
            inside &= (v >= 0) if sign == "nonneg" else (v <= 0)
        covered |= inside
        for name, stated in leaf.bounds:
            v = values[name].reshape(len(points), -1)[inside]
            assert ((v >= np.array(stated.lower, dtype=object)) & (v <= np.array(stated.upper, dtype=object))).all(), name
    assert covered.all()


def _relu_split(doc):
    tree = doc["tree"]
    return tree if "node" in tree else pytest.fail("the tree has no ReLU split")


def _swap(split):
    split["nonneg"], split["nonpos"] = split["nonpos"], split["nonneg"]


def _leaf_with_cases(doc):
    return next(leaf for leaf in doc["leaves"] if leaf.get("cases"))


@pytest.mark.parametrize("name, change, message", [
    ("flip a case sign", lambda d: _leaf_with_cases(d)["cases"][0].__setitem__(
        2, {"nonneg": "nonpos", "nonpos": "nonneg"}[_leaf_with_cases(d)["cases"][0][2]]), "cases are not the cases"),
    ("drop a case", lambda d: _leaf_with_cases(d).update(cases=_leaf_with_cases(d)["cases"][1:] or None), "cases"),
    ("swap the subtrees", lambda d: _swap(_relu_split(d)), "cases are not the cases"),
    ("change a leaf's cases", lambda d: _leaf_with_cases(d)["cases"][0].__setitem__(1, 9), "cases"),
    ("split a missing node", lambda d: _relu_split(d).update(node="zz"), "tree.node: 'zz' is not a node of the model"),
    ("split a missing index", lambda d: _relu_split(d).update(index=10),
     "tree.index: node 'l0' has 10 elements, index 10 is out of range"),
    ("split an element twice", lambda d: _relu_split(d)["nonneg"].update(
        node=_relu_split(d)["node"], index=_relu_split(d)["index"]) if "node" in _relu_split(d)["nonneg"]
        else pytest.skip("the first case is a leaf"), "is split twice on this path"),
])
def test_mutated_relu_split_certificates_are_rejected(relu_case, name, change, message):
    graph, box, prop, result = relu_case
    doc = json.loads(result.certificate)
    if name == "split a missing index":
        _relu_split(doc).update(node="l0")
    change(doc)
    for leaf in doc["leaves"]:
        if "cases" in leaf and leaf["cases"] is None:
            del leaf["cases"]
    checked = check_bab_certificate(graph, json.dumps(doc), box=box.reshape((3,)), prop=prop)
    assert not checked.ok, name
    assert message in checked.reason, (name, checked.reason)


def test_relu_split_certificates_are_deterministic(relu_case):
    graph, box, prop, result = relu_case
    assert bab(graph, box, prop, budget_s=60, split="relu").certificate == result.certificate


def test_an_empty_subproblem_is_proven_vacuously():
    """A case against an element's sign on the whole box leaves no input: the search and the checker
    both say so, and prove even a false claim there; the opposite case proves nothing."""
    import numpy as np

    from pytorch2lean.bounds.bab import Bounder
    from pytorch2lean.cert import check

    graph = relu_net()
    box = Box((Fraction(1, 2),) * 3, (Fraction(9, 16),) * 3, (1, 3))
    b = Bounder(graph, gap(Fraction(100)), hidden="crown")  # false everywhere: only an empty domain proves it
    lo, hi = (np.array([[float(q) for q in v]]) for v in (box.lower, box.upper))
    root = b.bound(lo, hi).env["l0"]
    always = int(np.argmax(root.lo.reshape(-1)))
    assert root.lo.reshape(-1)[always] > 0  # l0[always] is positive on the whole box
    empty, possible = (("l0", always, "nonpos"),), (("l0", always, "nonneg"),)
    assert b.evaluate(np.repeat(lo, 3, 0), np.repeat(hi, 3, 0), [(), empty, possible]).bounded.empty.tolist() == [False, True, False]
    cert = b.certificate(box, empty)
    assert cert.verdict == "holds" and cert.cases == empty
    result = check(graph, cert)
    assert result.ok and result.reason.startswith(f"certificate holds vacuously: case 'l0'[{always}] nonpos"), result.reason
    assert b.certificate(box, possible).verdict == "unknown"


def test_input_and_relu_splits_mix_in_one_tree(relu_case):
    """Two ReLU-split trees, one per half of an input split, make one certificate."""
    graph, box, prop, _ = relu_case
    halves = [Box(box.lower, (Fraction(0),) + box.upper[1:], box.shape), Box((Fraction(0),) + box.lower[1:], box.upper, box.shape)]
    docs = [json.loads(bab(graph, half, prop, budget_s=60, split="relu").certificate) for half in halves]

    def shifted(tree, by):
        if "leaf" in tree:
            return {"leaf": tree["leaf"] + by}
        return {k: shifted(v, by) if isinstance(v, dict) else v for k, v in tree.items()}

    whole = dict(docs[0], box={"shape": [3], "lower": ["-1"] * 3, "upper": ["1"] * 3},
                 tree={"dim": 0, "at": "0", "below": docs[0]["tree"], "above": shifted(docs[1]["tree"], len(docs[0]["leaves"]))},
                 leaves=docs[0]["leaves"] + docs[1]["leaves"])
    checked = check_bab_certificate(graph, json.dumps(whole), box=box.reshape((3,)), prop=prop)
    assert checked.ok, checked.reason
    whole["tree"]["below"], whole["tree"]["above"] = whole["tree"]["above"], whole["tree"]["below"]
    assert not check_bab_certificate(graph, json.dumps(whole), box=box.reshape((3,)), prop=prop).ok


def test_the_split_is_chosen_by_the_input_size():
    from pytorch2lean.bounds.bab import choose_split

    small = relu_net()
    large = relu_net((40, 4, 2))
    assert choose_split("auto", small) == "input" and choose_split("auto", large) == "relu"
    assert choose_split("input", large) == "input" and choose_split("relu", small) == "relu"
    assert choose_split("auto", large, hidden="ibp") == "input"
    with pytest.raises(UserError, match="choose one of auto, input, relu"):
        choose_split("neurons", small)
    with pytest.raises(UserError, match="needs hidden='crown'"):
        choose_split("relu", small, hidden="ibp")


def test_run_query_passes_the_split_on():
    from pytorch2lean.spec.query import vnnlib_query
    from pytorch2lean.verify import run_query

    graph = load_onnx(FIXTURES / "onnx" / "test_tiny.onnx")
    query = vnnlib_query(graph, FIXTURES / "vnnlib" / "test_tiny.vnnlib")
    (result,) = run_query(graph, query, "bab", timeout=30, split="relu")
    assert result.verdict == "holds" and '"dim"' not in result.certificate
    with pytest.raises(UserError, match="--split neurons: choose one of auto, input, relu"):
        run_query(graph, query, "bab", timeout=30, split="neurons")


def test_a_later_leaf_is_checked_on_its_own_numbers(relu_case):
    """The checker remembers what leaves share, by their exact numbers: a later leaf that states a
    shared node's bound one step too tight (or a wrong relaxation there) is still rejected."""
    graph, box, prop, result = relu_case
    doc = json.loads(result.certificate)
    last = doc["leaves"][-1]
    tight = json.loads(json.dumps(doc))
    tight["leaves"][-1]["bounds"]["l0"]["lower"][0] = str(Fraction(last["bounds"]["l0"]["lower"][0]) + Fraction(1, 2**20))
    checked = check_bab_certificate(graph, json.dumps(tight), box=box.reshape((3,)), prop=prop)
    assert not checked.ok and f"leaves[{len(doc['leaves']) - 1}]" in checked.reason and "'l0'" in checked.reason
    steep = json.loads(json.dumps(doc))
    steep["leaves"][-1]["crown"]["relaxations"]["a0"]["upper_intercept"] = ["0"] * 10
    checked = check_bab_certificate(graph, json.dumps(steep), box=box.reshape((3,)), prop=prop)
    assert not checked.ok and "'a0'" in checked.reason, checked.reason


def test_relu_splitting_stops_when_a_subproblem_has_nothing_left_to_split():
    """A false gap (sampled minimum about -1.8157, claimed -1.81): once every neuron of a
    subproblem is split, the search says so instead of spending its budget."""
    graph = relu_net((2, 8, 8, 2), seed=2)
    box = Box((Fraction(-1),) * 2, (Fraction(1),) * 2, (1, 2))
    result = bab(graph, box, gap(Fraction(-1810, 1000)), budget_s=60, split="relu")
    assert result.verdict == "unknown" and result.certificate is None and result.open_boxes == (box,)
    assert result.reason.endswith(STUCK)


@pytest.fixture(scope="module")
def beta_case():
    """A gap within 0.005 of its sampled minimum (about -1.8157): clamping split neurons alone got
    stuck on it (every neuron split, still unproven); the beta multipliers prove it."""
    graph = relu_net((2, 8, 8, 2), seed=2)
    box = Box((Fraction(-1),) * 2, (Fraction(1),) * 2, (1, 2))
    prop = gap(Fraction(-182, 100))
    result = bab(graph, box, prop, budget_s=60, split="relu")
    assert result.verdict == "holds", result.reason
    return graph, box.reshape((2,)), prop, result.certificate


def test_beta_multipliers_prove_what_clamps_alone_cannot(beta_case):
    graph, box, prop, text = beta_case
    assert check_bab_certificate(graph, text, box=box, prop=prop).ok
    doc = json.loads(text)
    stated = [b for leaf in doc["leaves"] for row in leaf["crown"]["claim_betas"] for b in row]
    assert any(Fraction(b) > 0 for b in stated) and all(Fraction(b) >= 0 for b in stated)
    for leaf in doc["leaves"]:  # without them, some leaf's claim no longer follows
        leaf["crown"]["claim_betas"] = [["0"] * len(row) for row in leaf["crown"]["claim_betas"]]
    checked = check_bab_certificate(graph, json.dumps(doc), box=box, prop=prop)
    assert not checked.ok and "property not proven" in checked.reason, checked.reason


def test_a_false_claim_with_the_same_betas_is_rejected(beta_case):
    """The gap moved above the sampled minimum (-1.8157) is false: the same tree, cases and betas
    must not prove it, at any leaf."""
    graph, box, prop, text = beta_case
    false = gap(Fraction(-1815, 1000))
    doc = json.loads(text)
    moved = json.loads(json.dumps(doc["property"]).replace('"-91/50"', '"-363/200"'))
    assert moved != doc["property"]
    for part in [doc] + doc["leaves"]:
        part["property"] = moved
    checked = check_bab_certificate(graph, json.dumps(doc), box=box, prop=false)
    assert not checked.ok and "property not proven" in checked.reason, checked.reason


def _first_beta_leaf(doc):
    return next(leaf for leaf in doc["leaves"] if any(Fraction(b) > 0 for row in leaf["crown"]["claim_betas"] for b in row))


@pytest.mark.parametrize("name, change, message", [
    ("a negative beta", lambda leaf: leaf["crown"]["claim_betas"][0].__setitem__(0, "-1"), "must be >= 0"),
    ("a beta too many", lambda leaf: leaf["crown"]["claim_betas"][0].append("0"), "multipliers, the certificate has"),
    ("a row too many", lambda leaf: leaf["crown"]["claim_betas"].append(leaf["crown"]["claim_betas"][0]), "rows, the claim has"),
    ("betas not a list of lists", lambda leaf: leaf["crown"].update(claim_betas=[]), "non-empty list"),
    ("a beta much larger", lambda leaf: leaf["crown"]["claim_betas"][0].__setitem__(
        max(range(len(leaf["crown"]["claim_betas"][0])), key=lambda j: Fraction(leaf["crown"]["claim_betas"][0][j])),
        "1000"), "property not proven"),
])
def test_mutated_beta_certificates_are_rejected(beta_case, name, change, message):
    graph, box, prop, text = beta_case
    doc = json.loads(text)
    change(_first_beta_leaf(doc))
    checked = check_bab_certificate(graph, json.dumps(doc), box=box, prop=prop)
    assert not checked.ok and message in checked.reason, (name, checked.reason)