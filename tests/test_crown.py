"""CROWN and alpha-CROWN: backward rules, relaxations, soundness, tightness, certificates.

Every affine op's backward rule is checked against its kernel (the back-substituted bound of a
point box is the linear function's value, in float and exactly); every relaxation is checked sound
on random intervals (exactly for the piecewise-linear ops, by dense sampling for sigmoid and tanh);
CROWN bounds of random MLPs, CNNs and residual graphs must contain thousands of sampled node values
(box corners included), lie within IBP's, and be strictly tighter somewhere; alpha-CROWN must be no
looser than CROWN. CROWN and alpha certificates must be accepted by the exact checker, and mutated
ones refused unless the mutation leaves them exactly true (each such case says so).
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any, Mapping

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytorch2lean import ops
from pytorch2lean.bounds import float_bounds, verify, verify_ibp
from pytorch2lean.bounds import alpha, crown
from pytorch2lean.cert import check_certificate, loads
from pytorch2lean.cert.claim import claim_rows
from pytorch2lean.errors import UserError
from pytorch2lean.ir import Graph, Input, Param, make_node, validate
from pytorch2lean.ops.base import Interval
from pytorch2lean.runtime import evaluate_exact, execute
from pytorch2lean.spec import Box, Property, load_vnnlib
from tests.test_ibp import (CASES, as_fractions, corner_points, exact_box, f32, float_box, float_points,
                            load_net, mlp_graphs, setup, shared)

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
POINTS = 2000


def inputs_of(boxes: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, Interval]:
    return {k: Interval(lo.astype(np.float64)[None], hi.astype(np.float64)[None]) for k, (lo, hi) in boxes.items()}


def crown_bounds(graph: Graph, boxes: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, Interval]:
    return crown.node_bounds(crown.plan(graph), inputs_of(boxes)).bounds


# ---- backward rules: the transpose of the kernel, float and exact ----------------------------

AFFINE = sorted(n for n, c in CASES.items() if ops.get(c.op).affine_backward is not None)


@pytest.mark.parametrize("name", AFFINE)
@SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_backward_rule_moves_a_linear_function_exactly(name: str, seed: int) -> None:
    """On a point box the back-substituted bound is the value of A y itself: float, and exact on Fractions."""
    graph, boxes, r = setup(CASES[name], seed)
    points = {k: lo for k, (lo, _) in boxes.items()}
    A = r.standard_normal((1, 3) + graph.nodes[0].shape)
    p = crown.plan(graph)
    y = execute(graph, {k: v[None] for k, v in points.items()})["n"].astype(np.float64)
    point = {k: v[None].astype(np.float64) for k, v in points.items()}
    result = crown.backsubstitute(p, "n", A, {k: Interval(v, v) for k, v in {**point, "n": y}.items()}, {})
    if "n" in result.bounded:  # a product of two activations: not affine, bounded by its interval instead
        assert ops.get(CASES[name].op).affine_backward(np, {}, A, *p.operands(graph.nodes[0])) is None
        return
    want = (A * y[:, None]).reshape(1, 3, -1).sum(axis=2)
    assert np.allclose(result.lower, want, rtol=1e-5, atol=1e-5)
    if not ops.get(CASES[name].op).exact:
        return
    exact_points_ = {k: as_fractions(v)[None] for k, v in points.items()}
    q = crown.plan(graph, exact=True)
    A_exact = as_fractions(np.round(A * 8) / 8)
    got = crown.backsubstitute(q, "n", A_exact, {k: Interval(v, v) for k, v in exact_points_.items()}, {}).lower
    y_exact = evaluate_exact(graph, exact_points_)["n"]
    assert (got == (A_exact * y_exact[:, None]).reshape(1, 3, -1).sum(axis=2)).all()


def test_products_of_two_activations_have_no_backward_rule() -> None:
    for op, operands in [("mul", (2, 2)), ("matmul", (2, 2)), ("div", (2, 2))]:
        sym = ops.base.Symbolic(operands)
        assert ops.get(op).affine_backward(np, {}, np.zeros((1, 1, 2, 2)), sym, sym) is None


# ---- relaxations ------------------------------------------------------------------------------

KINKED = [("relu", {}), ("leaky_relu", {"alpha": 0.1}), ("leaky_relu", {"alpha": -0.5}), ("leaky_relu", {"alpha": 2.0})]


def kinked(attrs: Mapping[str, Any], x: Any) -> Any:
    a = Fraction(attrs.get("alpha", 0))  # the node's float32 attribute, exactly
    return np.where(x > 0, x, x * a)


def random_intervals(r: np.random.Generator, n: int, scale: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.sort(r.standard_normal((2, n)) * scale, axis=0)
    b = np.where(r.uniform(size=n) < 0.1, a, b)  # some points
    return a.astype(np.float32).astype(np.float64), b.astype(np.float32).astype(np.float64)


@pytest.mark.parametrize(("op", "attrs"), KINKED)
@pytest.mark.parametrize("tuned", [False, True])
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_kinked_relaxations_are_sound_and_tight_exactly(op: str, attrs: dict, tuned: bool, seed: int) -> None:
    """On the grid, as certificates state them: sound at lo, hi and the kink (so everywhere, the
    gap being piecewise linear), exactly; each line touches the op somewhere (no slack)."""
    r = np.random.default_rng(seed)
    lo, hi = random_intervals(r, 200)
    node = make_node("n", op, ["x"], attrs)
    spec = ops.get(op)
    a = r.uniform(size=(1, 1, 200)) if tuned else None
    rel = crown.relaxation(np, spec, node, Interval(lo[None], hi[None]), crown.GRID, a)
    ls, li, us, ui = (as_fractions(np.broadcast_to(v, (1, 1, 200) if tuned else (1, 200))).reshape(-1) for v in rel)
    flo, fhi = as_fractions(lo), as_fractions(hi)
    for x in (flo, fhi, np.minimum(np.maximum(flo, Fraction(0)), fhi)):
        f = kinked(node.attr, x)
        assert (ls * x + li <= f).all() and (f <= us * x + ui).all()
    gaps = [kinked(node.attr, x) - (ls * x + li) for x in (flo, fhi, np.minimum(np.maximum(flo, 0), fhi))]
    assert (np.minimum.reduce(gaps) <= Fraction(2) ** -20 * (1 + abs(flo) + abs(fhi))).all()


@pytest.mark.parametrize("op", ["sigmoid", "tanh"])
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_s_shaped_relaxations_are_sound_on_dense_samples(op: str, seed: int) -> None:
    r = np.random.default_rng(seed)
    lo, hi = random_intervals(r, 50, scale=4.0)
    ls, li, us, ui = ops.get(op).relax(np, {}, lo, hi)
    x = lo[:, None] + (hi - lo)[:, None] * np.linspace(0, 1, 2001)[None]
    f = 1 / (1 + np.exp(-x)) if op == "sigmoid" else np.tanh(x)  # float64, not the float32 kernel
    assert (ls[:, None] * x + li[:, None] <= f).all() and (f <= us[:, None] * x + ui[:, None]).all()


# ---- whole graphs: soundness, never looser than IBP, alpha never looser than CROWN ---------------

def cnn() -> Graph:
    r = np.random.default_rng(7)
    p = {"w1": f32(r, (3, 1, 3, 3)), "b1": f32(r, (3,)), "s": np.float32([1.5, -0.5, 1.0]), "sb": f32(r, (3,)),
         "m": f32(r, (3,)), "v": np.float32([0.5, 2.0, 1.0]), "w2": f32(r, (4, 3, 2, 2)), "w3": f32(r, (3, 16), 0.5),
         "b3": f32(r, (3,))}
    nodes = [make_node("c1", "conv2d", ["x", "w1", "b1"], {"padding": (1, 1, 1, 1)}),
             make_node("bn", "batchnorm", ["c1", "s", "sb", "m", "v"]),
             make_node("r1", "relu", ["bn"]),
             make_node("ap", "avgpool2d", ["r1"], {"kernel": (2, 2), "stride": (1, 1)}),
             make_node("c2", "conv2d", ["ap", "w2"], {"stride": (2, 2)}),
             make_node("r2", "leaky_relu", ["c2"], {"alpha": 0.2}),
             make_node("mp", "maxpool2d", ["r2"], {"kernel": (1, 1), "stride": (1, 1)}),
             make_node("f", "flatten", ["mp"]),
             make_node("sg", "sigmoid", ["f"]),
             make_node("y", "linear", ["sg", "w3", "b3"])]
    params = tuple(Param.of_array(k, v) for k, v in p.items())
    return validate(Graph("cnn", (Input("x", (1, 1, 5, 5)),), params, tuple(nodes), tuple(n.id for n in nodes)))


def residual() -> Graph:
    r = np.random.default_rng(3)
    p = {"w1": f32(r, (4, 3)), "w2": f32(r, (4, 4)), "c": f32(r, (4,)), "k4": f32(r, (4,)), "m": f32(r, (4, 2)),
         "k": np.float32([2.0, -0.5, 4.0, 0.25])}
    nodes = [make_node("l1", "linear", ["x", "w1"]),
             make_node("t", "tanh", ["l1"]),
             make_node("l2", "linear", ["t", "w2"]),
             make_node("j", "add", ["l2", "l1"]),
             make_node("d", "sub", ["j", "c"]),
             make_node("r", "relu", ["d"]),
             make_node("s", "mul", ["r", "k4"]),
             make_node("g", "neg", ["s"]),
             make_node("mm", "matmul", ["g", "m"]),
             make_node("rs", "reshape", ["mm"], {"shape": (2, 1)}),
             make_node("tr", "transpose", ["rs"], {"perm": (1, 0)}),
             make_node("pd", "pad", ["tr"], {"pads": (0, 1, 0, 1)}),
             make_node("sl", "slice", ["pd"], {"starts": (1,), "ends": (3,), "axes": (1,), "steps": (1,)}),
             make_node("cc", "concat", ["sl", "tr"], {"axis": 1}),
             make_node("sm", "sigmoid", ["cc"]),
             make_node("y", "div", ["sm", "k"])]
    params = tuple(Param.of_array(k, v) for k, v in p.items())
    return validate(Graph("res", (Input("x", (1, 3)),), params, tuple(nodes), tuple(n.id for n in nodes)))


def exact_only(graph: Graph) -> Graph:
    """The graph with its inexact nodes (batchnorm, sigmoid, tanh) bypassed: all of it certifiable."""
    skip = {n.id: n.inputs[0] for n in graph.nodes if not ops.get(n.op).exact}
    while any(v in skip for v in skip.values()):
        skip = {k: skip.get(v, v) for k, v in skip.items()}
    nodes = tuple(make_node(n.id, n.op, [skip.get(r, r) for r in n.inputs], n.attr)
                  for n in graph.nodes if n.id not in skip)
    used = {r for n in nodes for r in n.inputs}
    params = tuple(p for p in graph.params if p.name in used)
    return validate(Graph(graph.name, graph.inputs, params, nodes, tuple(n.id for n in nodes)))


def assert_contains(values: np.ndarray, iv: Interval) -> None:
    slack = 1e-5 * (1 + np.abs(values))
    assert (values >= iv.lo - slack).all() and (values <= iv.hi + slack).all()


def check_graph(graph: Graph, seed: int) -> tuple[dict[str, Interval], dict[str, Interval]]:
    """CROWN contains samples (corners too) at every output and lies within IBP at every node; returns both."""
    r = np.random.default_rng(seed)
    boxes = {i.name: float_box(r, i.shape) for i in graph.inputs}
    ours, ibp = crown_bounds(graph, boxes), float_bounds(graph, inputs_of(boxes))
    points = {k: np.concatenate([float_points(r, lo, hi, POINTS), corner_points(boxes, r)[k]])
              for k, (lo, hi) in boxes.items()}
    values = execute(graph, points)
    for n in graph.nodes:
        if n.id in values:
            assert_contains(values[n.id].astype(np.float64), ours[n.id])
        assert (ours[n.id].lo >= ibp[n.id].lo).all() and (ours[n.id].hi <= ibp[n.id].hi).all(), n.id
    return ours, ibp


@settings(max_examples=40, deadline=None)
@given(graph=mlp_graphs(), seed=st.integers(0, 2**32 - 1))
def test_crown_bounds_of_random_mlps_contain_samples_and_lie_within_ibp(graph: Graph, seed: int) -> None:
    check_graph(graph, seed)


@pytest.mark.parametrize("build", [cnn, residual])
@pytest.mark.parametrize("seed", range(4))
def test_crown_bounds_of_cnn_and_residual_graphs_contain_samples(build: Any, seed: int) -> None:
    check_graph(build(), seed)


def deep_mlp(act: str = "relu", sizes: tuple[int, ...] = (4, 12, 12, 12, 3), seed: int = 0) -> Graph:
    r = np.random.default_rng(seed)
    params, nodes, cur = [], [], "x"
    for k, (a, b) in enumerate(zip(sizes, sizes[1:])):
        params += [Param.of_array(f"w{k}", f32(r, (b, a), 1 / np.sqrt(a))), Param.of_array(f"b{k}", f32(r, (b,), 0.1))]
        nodes.append(make_node(f"l{k}", "linear", [cur, f"w{k}", f"b{k}"]))
        cur = f"l{k}"
        if k < len(sizes) - 2:
            nodes.append(make_node(f"a{k}", act, [cur]))
            cur = f"a{k}"
    return validate(Graph("mlp", (Input("x", (1, sizes[0])),), tuple(params), tuple(nodes), (cur,)))


@pytest.mark.parametrize("act", ["relu", "leaky_relu", "sigmoid", "tanh"])
def test_crown_is_strictly_tighter_than_ibp_on_a_deep_mlp(act: str) -> None:
    ours, ibp = check_graph(deep_mlp(act), 1)
    width = lambda iv: (iv.hi - iv.lo).sum()  # noqa: E731
    assert width(ours["l3"]) < 0.9 * width(ibp["l3"])


def robustness_setup(graph: Graph, seed: int, radius: float) -> tuple[Box, Property, tuple[np.ndarray, np.ndarray]]:
    r = np.random.default_rng(seed)
    center = r.standard_normal(graph.inputs[0].shape).astype(np.float32)
    y = execute(graph, {"x": center[None]})[graph.outputs[0]][0].reshape(-1)
    lo, hi = (center - np.float32(radius)), (center + np.float32(radius))
    return exact_box(lo, hi), Property.robustness(int(np.argmax(y)), y.size), (lo, hi)


@pytest.mark.parametrize("seed", range(6))
def test_alpha_crown_is_never_looser_than_crown_per_row(seed: int) -> None:
    graph = deep_mlp(seed=seed)
    box, prop, (lo, hi) = robustness_setup(graph, seed, 0.4)
    p = crown.plan(graph)
    bounds, rel, _, _ = crown.node_bounds(p, inputs_of({"x": (lo, hi)}))
    rows = claim_rows(prop)
    C = np.array([[float(c) for c in row] for row in rows]).reshape((1, len(rows), 1, 3))
    plain = crown.row_bounds(p, "l3", C, bounds, rel)
    tuned, lines, _ = alpha.optimise(p, "l3", C, bounds, rel, steps=20)
    assert (tuned >= plain).all()
    assert set(lines) == {"a0", "a1", "a2"}
    ibp = float_bounds(graph, inputs_of({"x": (lo, hi)}))["l3"]
    Cf = C.reshape(len(rows), 3)
    ibp_rows = np.where(Cf > 0, Cf * ibp.lo.reshape(-1), Cf * ibp.hi.reshape(-1)).sum(axis=1)
    assert (plain[0] >= ibp_rows - 1e-9).all()


def test_alpha_crown_improves_some_row_of_a_wide_box() -> None:
    graph = deep_mlp(sizes=(4, 20, 20, 3), seed=5)
    box, prop, (lo, hi) = robustness_setup(graph, 5, 0.5)
    p = crown.plan(graph)
    bounds, rel, _, _ = crown.node_bounds(p, inputs_of({"x": (lo, hi)}))
    C = np.array([[float(c) for c in row] for row in claim_rows(prop)]).reshape((1, 2, 1, 3))
    assert (alpha.optimise(p, "l2", C, bounds, rel)[0] > crown.row_bounds(p, "l2", C, bounds, rel) + 1e-6).any()


# ---- certificates ----------------------------------------------------------------------------------

def proven(graph: Graph, method: str, seed: int = 1, radius: float = 0.1) -> tuple[str, Box, Property]:
    box, prop, _ = robustness_setup(graph, seed, radius)
    result = verify(graph, box, prop, method=method)
    assert result.verdict == "holds", result.reason
    return result.certificate, box, prop


@pytest.mark.parametrize("method", ["crown", "alpha"])
@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
def test_crown_certificates_are_accepted_exactly_and_deterministic(method: str, act: str) -> None:
    graph = deep_mlp(act)
    text, box, prop = proven(graph, method)
    assert check_certificate(graph, text, box=box, prop=prop).ok
    assert verify(graph, box, prop, method=method).certificate == text
    cert = loads(text)
    assert cert.method == method and set(dict(cert.crown.relaxations)) == {"a0", "a1", "a2"}
    assert bool(cert.crown.claim_relaxations) == (method == "alpha")


@pytest.mark.parametrize("build", [cnn, residual])
@pytest.mark.parametrize("method", ["crown", "alpha"])
def test_certificates_through_every_exact_op_are_accepted(build: Any, method: str) -> None:
    """conv2d, avgpool2d, maxpool2d (bounded by its interval), flatten, add, sub, mul, div, neg, matmul,
    reshape, transpose, pad, slice, concat: the checker re-derives their back-substitution exactly."""
    graph = exact_only(build())
    r = np.random.default_rng(2)
    lo, hi = float_box(r, graph.inputs[0].shape)
    box = exact_box(lo, hi)
    out = graph.outputs[0]
    y = execute(graph, {"x": lo[None]})[out][0].reshape(-1)
    prop = Property.robustness(int(np.argmax(y)), y.size)
    result = verify(graph, box, prop, method=method, output=out)
    cert = loads(result.certificate)
    assert check_certificate(graph, result.certificate).ok
    assert cert.crown.backsub, "back-substitution never beat the interval: the test would prove nothing"
    whole = verify(graph, box, method=method, output=out)
    assert whole.verdict == "holds" and check_certificate(graph, whole.certificate).ok


def test_claim_relaxations_must_have_one_set_per_row() -> None:
    graph = deep_mlp()
    text, _, _ = proven(graph, "alpha")

    def one_row(d: dict) -> None:
        r = d["crown"]["claim_relaxations"]["a0"]
        r["shape"] = [1] + r["shape"][1:]
        for k in ("lower_slope", "lower_intercept", "upper_slope", "upper_intercept"):
            r[k] = r[k][:12]

    assert "'a0' has shape [1, 1, 12], expected [2, 1, 12]" in check_certificate(graph, mutate(text, one_row)).reason


def test_crown_certifies_what_ibp_cannot() -> None:
    graph = deep_mlp()
    box, prop, _ = robustness_setup(graph, 1, 0.1)
    assert verify_ibp(graph, box, prop).verdict == "unknown"
    assert verify(graph, box, prop, method="crown").verdict == "holds"


def mutate(text: str, edit: Any) -> str:
    data = json.loads(text)
    edit(data)
    return json.dumps(data)


def crossing(cert_json: dict, node: str) -> int:
    """A neuron of `node` whose stated upper slope is strictly between 0 and 1 (its operand crosses 0)."""
    us = [Fraction(v) for v in cert_json["crown"]["relaxations"][node]["upper_slope"]]
    return next(i for i, s in enumerate(us) if 0 < s < 1)


def test_mutated_crown_certificates_are_rejected() -> None:
    graph = deep_mlp()
    text, box, prop = proven(graph, "alpha", radius=0.1)
    data = json.loads(text)
    i = crossing(data, "a1")

    def bump(part: str, node: str, key: str, index: int, by: Fraction) -> Any:
        def edit(d: dict) -> None:
            values = d["crown"][part][node][key]
            values[index] = str(Fraction(values[index]) + by)
        return edit

    def drop_backsub(d: dict) -> None:
        d["crown"]["backsub"] = [n for n in d["crown"]["backsub"] if n != "l1"]
        d["crown"]["backsub_rows"].pop("l1", None)

    def empty_rows(d: dict) -> None:  # no element of l1 back-substituted: as if l1 were not listed
        d["crown"]["backsub_rows"]["l1"] = []

    def row_out_of_range(d: dict) -> None:
        d["crown"]["backsub_rows"]["l1"] = [12]

    def tighten_bound(d: dict) -> None:
        b = d["bounds"]["l2"]
        b["lower"] = list(b["upper"])

    cases = {
        "lower intercept raised": (bump("relaxations", "a1", "lower_intercept", i, Fraction(1, 4)), "do not bound it"),
        "upper intercept lowered": (bump("relaxations", "a1", "upper_intercept", i, Fraction(-1, 4)), "do not bound it"),
        "upper slope lowered": (bump("relaxations", "a1", "upper_slope", i, Fraction(-1, 2)), "do not bound it"),
        "claim slope above 1": (bump("claim_relaxations", "a1", "lower_slope", i, Fraction(2)), "do not bound it"),
        "bound tightened": (tighten_bound, "node 'l2' (linear)"),
        "backsub dropped": (drop_backsub, "node 'l1' (linear)"),
        "backsub rows emptied": (empty_rows, "node 'l1' (linear)"),
        "backsub row out of range": (row_out_of_range, "crown.backsub_rows: 'l1' has 12 elements, index 12 is out"),
    }
    for name, (edit, reason) in cases.items():
        result = check_certificate(graph, mutate(text, edit))
        assert not result.ok and reason in result.reason, (name, result.reason)


def test_loosened_relaxations_still_hold_exactly() -> None:
    """Lowering a lower intercept keeps the relaxation sound: the checker accepts it whenever the
    looser bounds still imply what the certificate states (else it names the node)."""
    graph = deep_mlp()
    text, _, _ = proven(graph, "crown", radius=0.01)
    data = json.loads(text)
    i = next(iter(range(len(data["crown"]["relaxations"]["a2"]["lower_intercept"]))))

    def loosen(d: dict) -> None:
        v = d["crown"]["relaxations"]["a2"]["lower_intercept"]
        v[i] = str(Fraction(v[i]) - Fraction(1, 2**30))

    result = check_certificate(graph, mutate(text, loosen))
    assert result.ok or "node 'l3'" in result.reason


def test_certificates_refuse_relaxations_of_the_wrong_node_or_shape() -> None:
    graph = deep_mlp()
    text, _, _ = proven(graph, "crown")

    def wrong_node(d: dict) -> None:
        d["crown"]["relaxations"]["l1"] = d["crown"]["relaxations"].pop("a1")

    def wrong_shape(d: dict) -> None:
        d["crown"]["relaxations"]["a1"]["shape"] = [12, 1]

    assert "'l1' is not a node with a relaxation" in check_certificate(graph, mutate(text, wrong_node)).reason
    assert "has shape [12, 1], expected [1, 12]" in check_certificate(graph, mutate(text, wrong_shape)).reason


def test_models_without_exact_rules_get_float_verdicts_but_no_certificate() -> None:
    graph = deep_mlp("gelu")
    box, prop, _ = robustness_setup(graph, 1, 0.001)
    refused = verify(graph, box, prop, method="crown")
    assert refused.verdict == "unknown" and refused.certificate is None
    assert "node 'a0' (gelu): gelu has no exact interval rule" in refused.reason
    floats = verify(graph, box, prop, method="alpha", exact=False)
    assert floats.verdict == "holds" and floats.certificate is None


def test_verify_dispatches_and_names_unknown_methods() -> None:
    graph = deep_mlp()
    box, prop, _ = robustness_setup(graph, 0, 0.05)
    assert verify(graph, box, prop, method="ibp") == verify_ibp(graph, box, prop)
    with pytest.raises(UserError, match="unknown bound method 'deeppoly'; choose one of ibp, crown, alpha"):
        verify(graph, box, prop, method="deeppoly")


# ---- the shared benchmark nets -------------------------------------------------------------------

def shared_rows(net: str, spec: str) -> tuple[Graph, Property, dict[str, Interval], np.ndarray]:
    graph = validate(load_net(net))
    vnn = load_vnnlib(shared(spec))
    lo, hi = vnn.input_boxes[0].reshape(graph.inputs[0].shape).to_float_arrays()
    rows = claim_rows(vnn.output_property)
    C = np.array([[float(c) for c in row] for row in rows]).reshape((1, len(rows)) + graph.shapes()[graph.outputs[0]])
    return graph, vnn.output_property, inputs_of({graph.inputs[0].name: (lo, hi)}), C


@pytest.mark.parametrize(("net", "spec"), [("acasxu/ACASXU_run2a_1_6_batch_2000.onnx", "acasxu/prop_3.vnnlib"),
                                           ("mnistfc/mnist-net_256x2.onnx", "mnistfc/prop_0_0.03.vnnlib")])
def test_shared_nets_crown_within_ibp_and_alpha_within_crown(net: str, spec: str) -> None:
    graph, prop, inputs, C = shared_rows(net, spec)
    out = graph.outputs[0]
    p = crown.plan(graph)
    bounds, rel, _, _ = crown.node_bounds(p, inputs)
    ibp = float_bounds(graph, inputs)
    assert (bounds[out].lo >= ibp[out].lo).all() and (bounds[out].hi <= ibp[out].hi).all()
    assert ((bounds[out].hi - bounds[out].lo) < (ibp[out].hi - ibp[out].lo)).all()
    plain = crown.row_bounds(p, out, C, bounds, rel)
    assert (alpha.optimise(p, out, C, bounds, rel, steps=10)[0] >= plain).all()


def test_acas_xu_property_3_is_proven_by_crown_not_by_ibp() -> None:
    graph, prop, inputs, _ = shared_rows("acasxu/ACASXU_run2a_1_6_batch_2000.onnx", "acasxu/prop_3.vnnlib")
    box = load_vnnlib(shared("acasxu/prop_3.vnnlib")).input_boxes[0]
    assert verify(graph, box, prop, method="ibp").verdict == "unknown"
    result = verify(graph, box, prop, method="crown", exact=False)
    assert result.verdict == "holds" and loads(result.certificate).verdict == "holds"


def test_certificate_numbers_are_short_dyadics() -> None:
    """Every stated bound, slope and intercept lies on the grid: a power-of-two denominator and at
    most 24 significant bits, so the checker (and the Lean kernel) only meets short numbers."""
    text, _, _ = proven(deep_mlp(), "alpha")
    data = json.loads(text)
    stated = [data["bounds"]] + [data["crown"][k] for k in ("relaxations", "claim_relaxations")]
    numbers = [Fraction(v) for part in stated for entry in part.values() for key, values in entry.items()
               if key != "shape" for v in values]
    assert numbers and all(q.denominator & (q.denominator - 1) == 0 for q in numbers)
    odd = [abs(q.numerator) >> ((abs(q.numerator) & -abs(q.numerator)).bit_length() - 1) for q in numbers if q]
    assert max(m.bit_length() for m in odd) <= crown.GRID.bits


def test_a_batch_of_boxes_at_once_matches_one_at_a_time() -> None:
    """A batch back-substitutes the elements unstable in any of its boxes, so its intermediate bounds may
    be tighter than one box's alone (never looser); the relaxations, and so the outputs, are the same."""
    graph = deep_mlp()
    r = np.random.default_rng(4)
    boxes = [float_box(r, (1, 4)) for _ in range(3)]
    p = crown.plan(graph)
    batch = crown.node_bounds(p, {"x": Interval(*(np.stack([b[k] for b in boxes]).astype(np.float64) for k in (0, 1)))})
    for i, (lo, hi) in enumerate(boxes):
        one = crown.node_bounds(p, inputs_of({"x": (lo, hi)}))
        for name, iv in one.bounds.items():
            assert (batch.bounds[name].lo[i] >= iv.lo[0]).all() and (batch.bounds[name].hi[i] <= iv.hi[0]).all()
        assert np.allclose(batch.bounds["l3"].lo[i], one.bounds["l3"].lo[0], rtol=1e-12, atol=1e-12)
        assert np.allclose(batch.bounds["l3"].hi[i], one.bounds["l3"].hi[0], rtol=1e-12, atol=1e-12)


def test_products_of_activations_are_bounded_through_their_operands_crown_bounds() -> None:
    """A product of two activations cannot be moved through: its operands become back-substitution
    targets, and the product is bounded by its interval; every sample still lies in the bounds.
    (The operands read a hidden relu layer: a linear function of the input alone has an exact
    interval, and is no target.)"""
    r = np.random.default_rng(6)
    params = (Param.of_array("t", f32(r, (2, 2))), Param.of_array("w", f32(r, (3, 2))), Param.of_array("v", f32(r, (3, 2))),
              Param.of_array("u", f32(r, (3, 2))))
    nodes = (make_node("g", "linear", ["x", "t"]), make_node("h", "relu", ["g"]), make_node("a", "linear", ["h", "w"]),
             make_node("b", "linear", ["h", "v"]), make_node("m", "mul", ["a", "b"]), make_node("q", "matmul", ["m", "u"]),
             make_node("y", "relu", ["q"]))
    graph = validate(Graph("prod", (Input("x", (1, 2)),), params, nodes, ("y", "m")))
    assert crown.targets(crown.plan(graph)) == {"a", "b", "q", "y", "m"}
    check_graph(graph, 0)
