"""Certificates: the canonical format, the exact checker's rejections, and mutation tests.

The mutation tests change one number of a valid certificate (a stated bound by one ulp of its
dyadic, a box bound, a property number, the digest, or a model parameter) and compare the
checker's answer with an independent naive checker written here (per-element loops over
Fractions for the ops of the test nets). A mutation must be rejected unless the claim still
holds exactly, and the naive checker decides which.
"""

from __future__ import annotations

import itertools
import json
import math
import struct
from dataclasses import replace
from fractions import Fraction
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pytorch2lean.bounds import GRID, verify_ibp
from pytorch2lean.cert import Certificate, check, check_certificate, dumps, loads
from pytorch2lean.cert.format import CANONICAL, CertificateError, read_number
from pytorch2lean.ir import Graph, Input, Param, digest, make_node, validate
from pytorch2lean.spec import Box, Conjunction, Disjunction, LinearConstraint, Property
from tests.test_ibp import NO_EXACT_RULE, exact_box, float_box, load_net, mlp_graphs, one_node

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
Pair = tuple[np.ndarray, np.ndarray]  # per-sample (lo, hi) object arrays of Fractions
Cert = tuple[Graph, dict[str, Any]]  # a graph and a valid certificate's JSON for it


def F(x: Any) -> Fraction:
    return Fraction(x)


def unit_box(n: int, lo: Any = -1, hi: Any = 1) -> Box:
    return Box((F(lo),) * n, (F(hi),) * n, (n,))


def small_mlp(seed: int = 0) -> tuple[Graph, Box]:
    """x (1, 3) -> linear 4 -> relu -> matmul 2 -> sub c: a net of the shape of ACAS Xu, small."""
    r = np.random.default_rng(seed)
    params = (Param.of_array("w0", r.standard_normal((4, 3)).astype(np.float32)),
              Param.of_array("b0", r.standard_normal(4).astype(np.float32)),
              Param.of_array("w1", r.standard_normal((4, 2)).astype(np.float32)),
              Param.of_array("c", r.standard_normal(2).astype(np.float32)))
    nodes = (make_node("h", "linear", ["x", "w0", "b0"]), make_node("r", "relu", ["h"]),
             make_node("m", "matmul", ["r", "w1"]), make_node("y", "sub", ["m", "c"]))
    g = validate(Graph("mlp", (Input("x", (1, 3)),), params, nodes, ("y",)))
    return g, Box((F("-1/2"), F(0), F("1/3")), (F("1/2"), F("1/4"), F("1/3")), (1, 3))


def mlp_property(g: Graph, box: Box, margin: Fraction = F(0)) -> Property:
    """Unsafe iff y_0 - y_1 <= d, with d below what IBP proves by `margin` (so the claim holds)."""
    _, text, _ = verify_ibp(g, box)
    out = dict(loads(text).bounds)["y"]
    d = out.lower[0] - out.upper[1] - margin
    return Property(Disjunction((Conjunction((LinearConstraint((F(1), F(-1)), d),)),)), 2, "gap")


# ---- an independent naive checker ---------------------------------------------------------

def naive_accepts(graph: Graph, data: dict[str, Any]) -> bool:
    """Decide a certificate by per-element loops over Fractions, trusting none of it.

    Covers the ops of the test nets: linear, matmul with one parameter side, add, sub, relu,
    leaky_relu, neg, flatten, reshape.
    """
    if data["graph_digest"] != digest(graph):
        return False
    env: dict[str, Pair] = {}
    shapes = graph.shapes()
    for p in graph.params:
        value = np.vectorize(lambda v: F(float(v)), otypes=[object])(p.array.astype(np.float64))
        env[p.name] = (value, value)
    for name, entry in [*data["inputs"].items(), *data["bounds"].items()]:
        lo, hi = (np.array([F(t) for t in entry[s]], dtype=object).reshape(shapes[name]) for s in ("lower", "upper"))
        if (lo > hi).any():
            return False
        env[name] = (lo, hi)
    for node in graph.nodes:
        lo, hi = NAIVE[node.op](node.attr, *(env[r] for r in node.inputs))
        s_lo, s_hi = env[node.id]
        if (s_lo > lo).any() or (s_hi < hi).any():
            return False
    if data["verdict"] == "unknown":
        return True
    lo, hi = (v.reshape(-1) for v in env[data["output"]])
    prop = data["property"]
    if prop["kind"] == "output_box":
        return all(F(a) <= x and y <= F(b) for x, y, a, b in zip(lo, hi, prop["lower"], prop["upper"]))
    return all(any(naive_excluded(c, lo, hi) for c in term) for term in prop["terms"])


def naive_excluded(c: dict[str, Any], lo: np.ndarray, hi: np.ndarray) -> bool:
    least = sum(min(F(k) * a, F(k) * b) for k, a, b in zip(c["coeffs"], lo, hi))
    d = F(c["bound"])
    return least > d or (c["strict"] and least == d)


def elementwise(f: Callable[[Fraction, Fraction], tuple[Fraction, Fraction]]) -> Callable[..., Pair]:
    """An op on one interval, element by element: f(lo, hi) -> (lo, hi)."""
    def op(attrs: Any, x: Pair) -> Pair:
        out = [f(a, b) for a, b in zip(x[0].flat, x[1].flat)]
        lo, hi = (np.array([o[k] for o in out], dtype=object).reshape(x[0].shape) for k in (0, 1))
        return lo, hi
    return op


def leaky(alpha: Fraction, v: Fraction) -> Fraction:
    return v if v > 0 else alpha * v


def naive_leaky(attrs: Any, x: Pair) -> Pair:
    alpha = F(attrs["alpha"])
    return elementwise(lambda a, b: (min(leaky(alpha, v) for v in (a, b, min(max(a, F(0)), b))),
                                     max(leaky(alpha, v) for v in (a, b, min(max(a, F(0)), b)))))(attrs, x)


def naive_add(attrs: Any, a: Pair, b: Pair) -> Pair:
    return a[0] + b[0], a[1] + b[1]


def naive_sub(attrs: Any, a: Pair, b: Pair) -> Pair:
    return a[0] - b[1], a[1] - b[0]


def product_hull(a: tuple[Fraction, Fraction], b: tuple[Fraction, Fraction]) -> tuple[Fraction, Fraction]:
    ps = [x * y for x in a for y in b]
    return min(ps), max(ps)


def naive_matmul(attrs: Any, a: Pair, b: Pair) -> Pair:
    """Rank <= 2 operands: y_ij = sum_k a_ik b_kj, each term's hull summed."""
    la, lb = (x[0].reshape((1, -1)) if x[0].ndim == 1 else x[0] for x in (a, b))
    ha, hb = (x[1].reshape((1, -1)) if x[1].ndim == 1 else x[1] for x in (a, b))
    if b[0].ndim == 1:
        lb, hb = lb.reshape((-1, 1)), hb.reshape((-1, 1))
    m, k, n = la.shape[0], la.shape[1], lb.shape[1]
    lo, hi = np.empty((m, n), dtype=object), np.empty((m, n), dtype=object)
    for i, j in itertools.product(range(m), range(n)):
        terms = [product_hull((la[i, t], ha[i, t]), (lb[t, j], hb[t, j])) for t in range(k)]
        lo[i, j], hi[i, j] = sum(t[0] for t in terms), sum(t[1] for t in terms)
    shape = np.matmul(np.zeros(a[0].shape), np.zeros(b[0].shape)).shape
    return lo.reshape(shape), hi.reshape(shape)


def naive_linear(attrs: Any, x: Pair, w: Pair, b: Pair | None = None) -> Pair:
    lo, hi = naive_matmul(attrs, x, (w[0].T, w[1].T))
    return (lo, hi) if b is None else (lo + b[0], hi + b[1])


def naive_reshape(attrs: Any, x: Pair) -> Pair:
    if "shape" in attrs:
        shape = attrs["shape"]
    else:
        d, axis = x[0].shape, attrs["axis"] % (x[0].ndim + 1)
        shape = (math.prod(d[:axis]), math.prod(d[axis:]))
    return x[0].reshape(shape), x[1].reshape(shape)


NAIVE: dict[str, Callable[..., Pair]] = {
    "add": naive_add, "sub": naive_sub, "matmul": naive_matmul, "linear": naive_linear,
    "relu": elementwise(lambda a, b: (max(a, F(0)), max(b, F(0)))), "neg": elementwise(lambda a, b: (-b, -a)),
    "leaky_relu": naive_leaky, "flatten": naive_reshape, "reshape": naive_reshape,
}


# ---- mutations --------------------------------------------------------------------------

def number_sites(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Paths to every number of a certificate's JSON."""
    sites: list[tuple[Any, ...]] = []
    for part in ("inputs", "bounds"):
        for name, entry in sorted(data[part].items()):
            sites += [(part, name, side, i) for side in ("lower", "upper") for i in range(len(entry[side]))]
    prop = data["property"]
    if prop["kind"] == "output_box":
        sites += [("property", side, i) for side in ("lower", "upper") for i in range(len(prop[side]))]
    else:
        for t, term in enumerate(prop["terms"]):
            for k, c in enumerate(term):
                sites += [("property", "terms", t, k, "bound")]
                sites += [("property", "terms", t, k, "coeffs", i) for i in range(len(c["coeffs"]))]
    return sites


def ulp(q: Fraction) -> Fraction:
    """One step of the certificate grid at q: the unit in the last place of its short dyadic."""
    if q == 0:
        return Fraction(2) ** GRID.min_exponent
    return Fraction(2) ** max(_exponent(abs(q)) - GRID.bits, GRID.min_exponent)


def _exponent(a: Fraction) -> int:
    e = a.numerator.bit_length() - a.denominator.bit_length()
    return e + 1 if a >= Fraction(2) ** e else e


def mutate(data: dict[str, Any], site: tuple[Any, ...], change: Callable[[Fraction], Fraction]) -> dict[str, Any]:
    out = json.loads(json.dumps(data))
    holder = out
    for key in site[:-1]:
        holder = holder[key]
    holder[site[-1]] = str(change(F(holder[site[-1]])))
    return out


CHANGES: dict[str, Callable[[Fraction], Fraction]] = {
    "up one ulp": lambda q: q + ulp(q),
    "down one ulp": lambda q: q - ulp(q),
    "negated": lambda q: -q,
    "halved": lambda q: q / 2,
    "plus one": lambda q: q + 1,
}


def assert_agrees_with_naive(graph: Graph, data: dict[str, Any]) -> None:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    result = check_certificate(graph, text)
    expected = naive_accepts(graph, data)
    event(f"accepted={result.ok}")
    assert result.ok == expected, result.reason


@pytest.fixture(scope="module")
def small_cert() -> tuple[Graph, dict[str, Any]]:
    g, box = small_mlp()
    _, text, _ = verify_ibp(g, box, mlp_property(g, box))
    return g, json.loads(text)


@SETTINGS
@given(data=st.data())
def test_mutating_one_number_is_rejected_unless_the_claim_still_holds(small_cert: Cert,
                                                                      data: st.DataObject) -> None:
    g, cert = small_cert
    assert check_certificate(g, json.dumps(cert)).ok and naive_accepts(g, cert)
    site = data.draw(st.sampled_from(number_sites(cert)))
    change = data.draw(st.sampled_from(sorted(CHANGES)))
    assert_agrees_with_naive(g, mutate(cert, site, CHANGES[change]))


@settings(max_examples=40, deadline=None)
@given(graph=mlp_graphs(), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_mutations_of_random_mlp_certificates(graph: Graph, seed: int, data: st.DataObject) -> None:
    lo, hi = float_box(np.random.default_rng(seed), graph.inputs[0].shape)
    _, text, _ = verify_ibp(graph, exact_box(lo, hi))
    cert = json.loads(text)
    site = data.draw(st.sampled_from(number_sites(cert)))
    assert_agrees_with_naive(graph, mutate(cert, site, CHANGES[data.draw(st.sampled_from(sorted(CHANGES)))]))


def test_tightening_a_bound_past_the_exact_interval_names_the_node_and_index(small_cert: Cert) -> None:
    g, cert = small_cert
    text = json.dumps(cert)
    mutated = mutate(cert, ("bounds", "h", "upper", 2), lambda q: q - 1)
    result = check_certificate(g, json.dumps(mutated))
    assert not result.ok and result.reason.startswith("node 'h' (linear): at flat index 2 the stated bounds [")
    assert check_certificate(g, text).ok


def test_a_changed_digest_is_rejected(small_cert: Cert) -> None:
    g, cert = small_cert
    bad = {**cert, "graph_digest": "0" * 64}
    result = check_certificate(g, json.dumps(bad))
    assert not result.ok and result.reason == f"graph digest {'0' * 64} is not the model's digest {digest(g)}"


def flip_low_bit(p: Param, index: int) -> Param:
    a = p.array.copy().reshape(-1)
    bits = np.frombuffer(struct.pack("<f", a[index]), dtype="<u4")[0] ^ 1
    a[index] = np.frombuffer(struct.pack("<I", bits), dtype="<f4")[0]
    return Param.of_array(p.name, a.reshape(p.shape))


@SETTINGS
@given(data=st.data())
def test_changing_one_model_parameter_is_rejected_or_still_holds(small_cert: Cert,
                                                                 data: st.DataObject) -> None:
    """A changed parameter changes the digest; with the digest re-stamped, the checker recomputes with it."""
    g, cert = small_cert
    p = data.draw(st.sampled_from(g.params))
    changed = g.with_params({p.name: flip_low_bit(p, data.draw(st.integers(0, p.size - 1)))})
    assert not check_certificate(changed, json.dumps(cert)).ok
    assert_agrees_with_naive(changed, {**cert, "graph_digest": digest(changed)})


def test_a_parameter_change_that_breaks_the_bounds_is_caught(small_cert: Cert) -> None:
    g, cert = small_cert
    b0 = g.param("b0")
    changed = g.with_params({"b0": Param.of_array("b0", b0.array + np.float32(1))})
    result = check_certificate(changed, json.dumps({**cert, "graph_digest": digest(changed)}))
    assert not result.ok and result.reason.startswith("node 'h' (linear): at flat index 0")


@pytest.mark.parametrize("net", ["test/test_tiny.onnx", "test/test_small.onnx",
                                 "acasxu/ACASXU_run2a_1_1_batch_2000.onnx"])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutations_of_shared_net_certificates(net: str, data: st.DataObject) -> None:
    g = load_net(net)
    box = Box.linf_ball(np.full(g.inputs[0].shape, 0.25, np.float32), "1/32")
    _, text, _ = verify_ibp(g, box)
    cert = json.loads(text)
    assert naive_accepts(g, cert)
    site = data.draw(st.sampled_from(number_sites(cert)))
    assert_agrees_with_naive(g, mutate(cert, site, CHANGES[data.draw(st.sampled_from(sorted(CHANGES)))]))


# ---- what the checker proves and refuses ----------------------------------------------------

def test_a_claim_the_bounds_do_not_imply_is_rejected() -> None:
    g, box = small_mlp()
    too_strong = mlp_property(g, box, margin=F(-1))  # d above the proven gap: some term is not excluded
    verdict, text, reason = verify_ibp(g, box, too_strong)
    assert verdict == "unknown" and reason.startswith("unsafe term 0 (Y_0 - Y_1 <= ")
    assert check_certificate(g, text).ok  # an "unknown" certificate claims only its bounds
    forged = json.loads(text)
    forged["verdict"] = "holds"
    result = check_certificate(g, json.dumps(forged))
    assert not result.ok and result.reason.startswith("property not proven: unsafe term 0 (Y_0 - Y_1 <= ")


def test_strict_constraints_are_excluded_at_equality_only() -> None:
    g = one_node("relu", {"x": (1,)})
    for strict, verdict in ((False, "unknown"), (True, "holds")):  # relu >= 0; unsafe: y <= 0 (or y < 0)
        prop = Property(Disjunction((Conjunction((LinearConstraint((F(1),), F(0), strict),)),)), 1)
        got, text, _ = verify_ibp(g, unit_box(1), prop)
        assert got == verdict and check_certificate(g, text).ok


def test_the_checker_holds_the_certificate_to_the_question_asked() -> None:
    """A certificate answers a question whose box lies in its box and whose property its own implies."""
    g, box = small_mlp()
    prop = mlp_property(g, box, margin=F(1))
    _, text, _ = verify_ibp(g, box, prop)
    assert check_certificate(g, text, box=box, prop=prop).ok
    inside = Box(box.lower, (box.upper[0] - F("1/4"),) + box.upper[1:], box.shape)
    assert check_certificate(g, text, box=inside).ok
    wider = Box(box.lower, (box.upper[0] + 1,) + box.upper[1:], box.shape)
    assert check_certificate(g, text, box=wider).reason == (
        "the certificate's input box does not contain the box asked about: input 'x' at flat index 0: the "
        "certificate's box [-1/2, 1/2] does not contain the asked [-1/2, 3/2]")
    assert check_certificate(g, text, prop=mlp_property(g, box, margin=F(2))).ok  # a weaker property
    stronger = mlp_property(g, box, margin=F("1/2"))
    reason = check_certificate(g, text, prop=stronger).reason
    assert reason.startswith("the certificate's property does not imply the property asked about: unsafe term 0 "
                             "asked about (Y_0 - Y_1 <= "), reason
    unknown = json.loads(text)
    unknown["verdict"] = "unknown"
    assert check_certificate(g, json.dumps(unknown), prop=prop).reason == (
        "the certificate's verdict is 'unknown': it proves no property")


def test_non_exact_ops_and_unbounded_divisions_are_rejected_with_the_node() -> None:
    g = one_node("div", {"a": (1,), "b": (1,)})
    b = Box((F(-1),), (F(1),), (1,))
    wide = Box((F(-1000),), (F(1000),), (1,))
    cert = Certificate(digest(g), "ibp", (("a", b), ("b", b)), "n", wide, (("n", wide),), "holds")
    assert check(g, cert).reason == "node 'n' (div): the divisor's interval contains 0"
    t = one_node("gelu", {"x": (1,)})
    cert = Certificate(digest(t), "ibp", (("x", b),), "n", b, (("n", b),), "holds")
    assert check(t, cert).reason == NO_EXACT_RULE.format(op="gelu")


def test_header_mismatches_are_named() -> None:
    g, box = small_mlp()
    _, text, _ = verify_ibp(g, box)
    cert = loads(text)
    bounds = dict(cert.bounds)
    cases = {
        "bounds: 'zz' is not in the model": replace(cert, bounds=cert.bounds + (("zz", bounds["y"]),)),
        "bounds: 'r' is missing": replace(cert, bounds=tuple(kv for kv in cert.bounds if kv[0] != "r")),
        "bounds: 'y' has shape [2], the model says [1, 2]": replace(
            cert, bounds=tuple((k, v.reshape((2,)) if k == "y" else v) for k, v in cert.bounds)),
        "output 'h' is not an output of the model (y)": replace(cert, output="h"),
        "property box has shape [2], output 'y' has [1, 2]": replace(cert, claim=bounds["y"].reshape((2,))),
        "property speaks of 3 outputs, 'y' has 2": replace(cert, claim=Property(Disjunction(()), 3)),
    }
    for reason, bad in cases.items():
        assert check(g, bad).reason == reason


# ---- the text format ------------------------------------------------------------------------

def test_certificates_round_trip_to_the_same_bytes() -> None:
    g, box = small_mlp()
    _, text, _ = verify_ibp(g, box, mlp_property(g, box))
    assert dumps(loads(text)) == text
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    assert json.loads(text)["inputs"]["x"]["lower"] == ["-1/2", "0", "1/3"]


@pytest.mark.parametrize("bad", ["2/4", "0.5", "1e3", " 1", "+1", "-0", "1/1", "01", "1/-2", "", "1/0"])
def test_numbers_must_be_canonical_rationals(bad: str) -> None:
    g, box = small_mlp()
    _, text, _ = verify_ibp(g, box)
    data = json.loads(text)
    data["bounds"]["h"]["lower"][1] = bad
    result = check_certificate(g, json.dumps(data))
    assert not result.ok
    where = "certificate.bounds.h.lower[1]"
    assert result.reason == f"{where}: {bad!r} is not an exact number in canonical form {CANONICAL}"


def _canonical_by_definition(text: str) -> bool:
    """What canonical means: the text str(Fraction) writes for the number the text denotes."""
    try:
        return str(Fraction(text)) == text
    except (ValueError, ZeroDivisionError):
        return False


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.fractions().map(str),
                 st.tuples(st.integers(-50, 50), st.integers(-3, 60)).map(lambda pq: f"{pq[0]}/{pq[1]}"),
                 st.text(alphabet="-+0123456789/. e", max_size=8)))
def test_read_number_accepts_exactly_the_canonical_texts(text: str) -> None:
    """The digit-level parser agrees with the definition on every text, and reads the right number."""
    try:
        q = read_number(text, "x")
    except CertificateError:
        assert not _canonical_by_definition(text)
    else:
        assert _canonical_by_definition(text) and q == Fraction(text)
        made = Fraction(text)  # built without Fraction's constructor: it must be indistinguishable
        assert (q.numerator, q.denominator, hash(q), str(q), q + 1, q * 3) == \
            (made.numerator, made.denominator, hash(made), str(made), made + 1, made * 3)


@pytest.mark.parametrize(("edit", "reason"), [
    (lambda d: d.pop("verdict"), "certificate: missing 'verdict'"),
    (lambda d: d.update(format="x"), "certificate: format must be 'pytorch2lean.cert.v1', got 'x'"),
    (lambda d: d.update(method="bab"), "certificate: method 'bab' is not one of ibp, crown, alpha"),
    (lambda d: d.update(method="crown"), "certificate: missing 'crown'"),
    (lambda d: d.update(verdict="sat"), "certificate: verdict 'sat' is not one of holds, unknown"),
    (lambda d: d.update(inputs=[]), "certificate.inputs: expected dict, got []"),
    (lambda d: d["bounds"]["h"].update(shape=[0]), "certificate.bounds.h.shape: [0] must list positive integers"),
    (lambda d: d["bounds"]["r"].update(lower=["1000", "0", "0", "0"]),
     "certificate.bounds.r: empty box: at flat index 0 the lower bound 1000 exceeds the upper bound"),
    (lambda d: d["property"].update(kind="robust"),
     "certificate.property.kind: 'robust' is not output_box or unsafe_dnf"),
])
def test_malformed_certificates_name_the_place(edit: Callable[[dict[str, Any]], Any], reason: str) -> None:
    g, box = small_mlp()
    _, text, _ = verify_ibp(g, box)
    data = json.loads(text)
    edit(data)
    result = check_certificate(g, json.dumps(data))
    assert not result.ok and result.reason.startswith(reason), result.reason


def test_text_that_is_not_json_is_rejected() -> None:
    g, _ = small_mlp()
    result = check_certificate(g, "{not json")
    assert not result.ok and result.reason.startswith("certificate is not JSON: ")
    with pytest.raises(CertificateError):
        loads("[]")


# ---- cases: a certificate about the inputs where some elements have a sign ------------------

def with_case(cert: Certificate, node: str, index: int, sign: str) -> Certificate:
    """`cert` restricted to element `index` of `node` having `sign`, its stated bound there cut at 0."""
    bounds = dict(cert.bounds)
    b = bounds[node]
    lower, upper = list(b.lower), list(b.upper)
    if sign == "nonneg":
        lower[index] = max(lower[index], F(0))
    else:
        upper[index] = min(upper[index], F(0))
    bounds[node] = Box(tuple(lower), tuple(upper), b.shape)
    return replace(cert, bounds=tuple(sorted(bounds.items())), cases=cert.cases + ((node, index, sign),))


@pytest.fixture(scope="module")
def wide_cert() -> tuple[Graph, Certificate, int]:
    """small_mlp on [-1, 1]^3 (IBP, no claim), and an element of `h` whose interval crosses 0."""
    g, _ = small_mlp()
    _, text, _ = verify_ibp(g, unit_box(3).reshape((1, 3)))
    cert = loads(text)
    h = dict(cert.bounds)["h"]
    crossing = [i for i, (a, b) in enumerate(zip(h.lower, h.upper)) if a < 0 < b]
    assert crossing, "the fixture needs an unstable element"
    return g, cert, crossing[0]


def test_a_case_restricts_the_bounds_the_checker_requires(wide_cert: tuple[Graph, Certificate, int]) -> None:
    g, cert, i = wide_cert
    cased = with_case(cert, "h", i, "nonneg")
    assert check(g, cased).ok, check(g, cased).reason
    assert check(g, cased, cases=[("h", i, "nonneg")]).ok
    assert check(g, cased, cases=[]).reason == "the certificate's cases are not the cases asked about"
    uncased = replace(cased, cases=())  # the cut bound without the case that justifies it
    assert check(g, uncased).reason.startswith(f"node 'h' (linear): at flat index {i} the stated bounds [0, ")
    flipped = replace(cased, cases=(("h", i, "nonpos"),))
    assert not check(g, flipped).ok


def test_a_certificate_with_cases_does_not_answer_a_question_about_the_whole_box(
        wide_cert: tuple[Graph, Certificate, int]) -> None:
    g, cert, index = wide_cert
    cased = with_case(cert, "h", index, "nonneg")
    box = dict(cased.inputs)[g.inputs[0].name]
    assert check(g, cased, box=box).reason == (
        "the certificate proves its property only where its 1 case(s) hold, not on the whole box asked about")
    assert check(g, cased, box=box, cases=cased.cases).ok  # a leaf, asked about with its cases
    assert check(g, cased).ok  # no question: its own statement, cases included


def test_cases_round_trip_to_the_same_bytes_and_are_absent_when_there_are_none(
        wide_cert: tuple[Graph, Certificate, int]) -> None:
    g, cert, i = wide_cert
    cased = with_case(with_case(cert, "r", 1, "nonpos"), "h", i, "nonneg")
    text = dumps(cased)
    assert json.loads(text)["cases"] == [["h", i, "nonneg"], ["r", 1, "nonpos"]]  # sorted
    assert dumps(loads(text)) == text and loads(text).cases == tuple(sorted(cased.cases))
    assert "cases" not in json.loads(dumps(cert))


def test_contradicting_cases_make_the_claim_hold_vacuously() -> None:
    g, box = small_mlp()  # every element of h is negative on this box
    _, text, _ = verify_ibp(g, box)
    cert = loads(text)
    out = dict(cert.bounds)["y"]
    impossible = Box(tuple(q + 100 for q in out.lower), tuple(q + 101 for q in out.upper), out.shape)
    forged = replace(cert, claim=impossible, verdict="holds")
    assert not check(g, forged).ok
    vacuous = replace(forged, cases=(("h", 0, "nonneg"),))
    result = check(g, vacuous)
    assert result.ok and result.reason.startswith("certificate holds vacuously: case 'h'[0] nonneg contradicts")
    assert check(g, replace(forged, cases=(("h", 0, "nonpos"),))).reason.startswith("property not proven")


@pytest.mark.parametrize(("cases", "reason"), [
    ([], "certificate.cases: an empty list"),
    ([["h", 0, "positive"]], "certificate.cases[0]: expected [node id, flat index >= 0"),
    ([["h", -1, "nonneg"]], "certificate.cases[0]: expected [node id, flat index >= 0"),
    ([["h", True, "nonneg"]], "certificate.cases[0]: expected [node id, flat index >= 0"),
    ([["h", 0]], "certificate.cases[0]: expected [node id, flat index >= 0"),
    ([["h", 1, "nonneg"], ["h", 0, "nonneg"]], "certificate.cases[1]: cases must be strictly increasing"),
    ([["h", 0, "nonneg"], ["h", 0, "nonpos"]], "certificate.cases[1]: cases must be strictly increasing"),
    ([["zz", 0, "nonneg"]], "cases: 'zz' is not a node of the model"),
    ([["x", 0, "nonneg"]], "cases: 'x' is not a node of the model"),
    ([["h", 4, "nonneg"]], "cases: node 'h' has 4 elements, index 4 is out of range"),
])
def test_malformed_cases_are_rejected_by_name(cases: list[Any], reason: str) -> None:
    g, box = small_mlp()
    _, text, _ = verify_ibp(g, box)
    data = json.loads(text)
    data["cases"] = cases
    result = check_certificate(g, json.dumps(data))
    assert not result.ok and result.reason.startswith(reason), result.reason


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=20))
def test_exact_floats_are_the_fractions_of_the_floats(values: list[float]) -> None:
    """The fast conversion that stated bounds use gives Fraction(x) exactly: equal, same hash,
    lowest terms (subnormals, -0.0 and the largest doubles included by hypothesis)."""
    from pytorch2lean.numeric.float32 import exact_floats

    got = exact_floats(values)
    for q, x in zip(got, values):
        want = Fraction(x)
        assert q == want and hash(q) == hash(want) and (q.numerator, q.denominator) == (want.numerator, want.denominator)
        assert type(q) is Fraction and q.denominator > 0
    assert exact_floats([-0.0, 5e-324, 1.7976931348623157e308]) == (Fraction(0), Fraction(1, 2**1074), Fraction(2**1024 - 2**971))


def test_consecutive_checks_of_a_graph_share_its_checker_until_a_parameter_changes() -> None:
    """`check` keeps the checker of the graph it checked last (its exact parameters, integer parts
    and limbs are made once per model), but not past a change of the graph's digest (a parameter
    changed behind the frozen dataclass): the certificate about the old numbers is then refused."""
    from pytorch2lean.cert.check import checker_for

    g, box = small_mlp()
    prop = mlp_property(g, box)
    cert = loads(verify_ibp(g, box, prop)[1])
    assert check(g, cert).ok and checker_for(g) is checker_for(g)
    shared = checker_for(g)
    w0 = g.params[0].array.copy()
    w0[0, 0] += 1  # parameters are immutable bytes: only bypassing the frozen dataclass changes one
    object.__setattr__(g.params[0], "data", w0.astype("<f4").tobytes())
    assert checker_for(g) is not shared
    verdict = check(g, cert)
    assert not verdict.ok and "digest" in verdict.reason
