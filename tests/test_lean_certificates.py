"""Certificates as Lean theorems: an accepted interval certificate exports to a theorem the kernel
checks (`checkIBP_sound`), and the Lean checker agrees with the Python exact checker on valid and
mutated certificates (the agreement corpus)."""

from __future__ import annotations

import json
import random
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from pytorch2lean.bounds import verify_ibp
from pytorch2lean.cert import check_certificate, loads
from pytorch2lean.cert.format import CertificateError
from pytorch2lean.errors import UserError
from pytorch2lean.ir import Graph, Input, Param, make_node, validate
from pytorch2lean.lean import export_project, lean_check
from pytorch2lean.lean.certificate import LEAN_INTERVAL_OPS, certificate_theorem, readable, theorem_name
from pytorch2lean.lean.toolchain import find_toolchain
from pytorch2lean.spec import Box, Conjunction, Disjunction, LinearConstraint, Property
from tests.test_cert import CHANGES, mutate, number_sites

TOOLCHAIN = find_toolchain()
needs_lean = pytest.mark.skipif(TOOLCHAIN is None, reason="no Lean toolchain (set PYTORCH2LEAN_LEAN or install one)")
F = Fraction
SHA = "cd" * 32
ALLOWED = {"propext", "Quot.sound", "Classical.choice"}


def covered_net(seed: int = 3) -> Graph:
    """Every op the Lean interval checker covers: linear (with and without bias), relu, add with
    broadcasting, neg, flatten, sub, reshape."""
    r = np.random.default_rng(seed)
    params = (Param.of_array("w0", r.standard_normal((4, 3)).astype(np.float32)),
              Param.of_array("b0", r.standard_normal(4).astype(np.float32)),
              Param.of_array("w1", r.standard_normal((3, 4)).astype(np.float32)),
              Param.of_array("c", r.standard_normal(3).astype(np.float32)),
              Param.of_array("d", r.standard_normal((1, 3)).astype(np.float32)))
    nodes = (make_node("h", "linear", ["x", "w0", "b0"]), make_node("r", "relu", ["h"]),
             make_node("m", "linear", ["r", "w1"]), make_node("a", "add", ["m", "c"]),
             make_node("n", "neg", ["a"]), make_node("f", "flatten", ["n"], {"axis": 1}),
             make_node("s", "sub", ["f", "d"]), make_node("y", "reshape", ["s"], {"shape": [3]}))
    return validate(Graph("covered net", (Input("x", (1, 3)),), params, nodes, ("y",)))


BOX = Box((F("-1/2"), F(0), F("3/10")), (F("1/2"), F("1/4"), F("1/3")), (1, 3))


def gap_property(g: Graph, margin: Fraction) -> Property:
    """Two unsafe terms: `y0 - y1 <= d` with d below what IBP proves by `margin`, and
    `y2 >= 100 and y0 <= 5` (the first constraint excluded by the bounds, the second not)."""
    _, text, _ = verify_ibp(g, BOX)
    out = dict(loads(text).bounds)["y"]
    d = out.lower[0] - out.upper[1] - margin
    gap = Conjunction((LinearConstraint((F(1), F(-1), F(0)), d),))
    far = Conjunction((LinearConstraint((F(0), F(0), F(-1)), F(-100)), LinearConstraint((F(1), F(0), F(0)), F(5))))
    return Property(Disjunction((gap, far)), 3, "gap")


@pytest.fixture(scope="module")
def net_and_cert() -> tuple[Graph, str]:
    g = covered_net()
    verdict, text, reason = verify_ibp(g, BOX, gap_property(g, F(1, 1000)))
    assert verdict == "holds", reason
    return g, text


@pytest.fixture(scope="module")
def library_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "lean-lib"


def export_with(g: Graph, text: str, out: Path, name: str = "gap") -> Path:
    return export_project(g, out, checkpoint_sha256=SHA, certificates=[certificate_theorem(g, loads(text), name)])


@needs_lean
def test_certificate_theorem_checks(net_and_cert: tuple[Graph, str], tmp_path: Path, library_cache: Path) -> None:
    g, text = net_and_cert
    project = export_with(g, text, tmp_path / "p")
    result = lean_check(project, toolchain=TOOLCHAIN, library_cache=library_cache)
    assert result.ok, result.report()
    assert "CoveredNet.Certificates.gap" in result.axioms
    assert all(set(a) <= ALLOWED for a in result.axioms.values()), result.axioms
    source = (project / "CoveredNet" / "Certificates" / "gap.lean").read_text()
    assert "[([-1/2, 0, 3/10], [1/2, 1/4, 1/3])]" in source  # the box as the spec states it
    assert "OutProp.avoids [[⟨[1, -1, 0], " in source
    assert "CoveredNet.Certificates.gap" in (project / "lakefile.lean").read_text().replace("`", "")


def corpus(g: Graph, text: str, size: int, seed: int = 11) -> list[tuple[str, str]]:
    """Mutated certificates, one number changed each (every class of `tests/test_cert.py`'s
    mutations), that still parse; the valid certificate first."""
    data = json.loads(text)
    rng = random.Random(seed)
    sites = number_sites(data)
    out = [("valid", text)]
    while len(out) < size:
        site, change = rng.choice(sites), rng.choice(sorted(CHANGES))
        mutated = json.dumps(mutate(data, site, CHANGES[change]), sort_keys=True, separators=(",", ":"))
        try:
            loads(mutated)
        except CertificateError:
            continue  # e.g. a box whose lower end passed its upper end: not a certificate at all
        out.append((f"{change} at {'/'.join(map(str, site))}", mutated))
    return out


@needs_lean
def test_lean_and_python_checkers_agree_on_the_mutation_corpus(net_and_cert: tuple[Graph, str], tmp_path: Path,
                                                                library_cache: Path) -> None:
    g, text = net_and_cert
    verdicts = []
    for k, (what, mutated) in enumerate(corpus(g, text, 24)):
        python = check_certificate(g, mutated)
        project = export_with(g, mutated, tmp_path / f"m{k}", name=f"m{k}")
        lean = lean_check(project, toolchain=TOOLCHAIN, library_cache=library_cache)
        assert lean.ok == python.ok, f"{what}: Python {'accepts' if python.ok else 'rejects: ' + python.reason}, " \
                                     f"Lean {'accepts' if lean.ok else 'rejects'}\n{lean.report()}"
        if not lean.ok:  # the failure is the checker's evaluation, not an elaboration problem
            assert any(e.file.endswith(f"m{k}.lean") for e in lean.errors), lean.report()
        verdicts.append(python.ok)
    assert verdicts[0] and True in verdicts[1:] and False in verdicts[1:]


def test_only_accepted_interval_certificates_export(net_and_cert: tuple[Graph, str]) -> None:
    g, text = net_and_cert
    data = json.loads(text)
    with pytest.raises(UserError, match="proves nothing"):
        certificate_theorem(g, loads(json.dumps(dict(data, verdict="unknown"))), "t")
    with pytest.raises(UserError, match="another model"):
        certificate_theorem(g, loads(json.dumps(dict(data, graph_digest="0" * 64))), "t")
    other = validate(Graph("sg", (Input("x", (2,)),), (), (make_node("h", "sigmoid", ["x"]),), ("h",)))
    verdict, dv_text, _ = verify_ibp(other, Box((F(0), F(0)), (F(1), F(1)), (2,)), Box((F(-1), F(-1)), (F(2), F(2)), (2,)))
    assert verdict == "holds"
    with pytest.raises(UserError, match=r"node 'h' \(sigmoid\) has no interval rule"):
        certificate_theorem(other, loads(dv_text), "t")
    quotient = validate(Graph("q", (Input("x", (2,)), Input("d", (2,))), (),
                              (make_node("h", "div", ["x", "d"]),), ("h",)))
    boxes = {"x": Box((F(0), F(0)), (F(1), F(1)), (2,)), "d": Box((F(1), F(1)), (F(2), F(2)), (2,))}
    verdict, q_text, _ = verify_ibp(quotient, boxes, Box((F(-1), F(-1)), (F(2), F(2)), (2,)))
    assert verdict == "holds"
    with pytest.raises(UserError, match=r"node 'h' \(div\) divides by 'd', not a parameter"):
        certificate_theorem(quotient, loads(q_text), "t")


def test_export_is_deterministic(net_and_cert: tuple[Graph, str], tmp_path: Path) -> None:
    g, text = net_and_cert
    a = (export_with(g, text, tmp_path / "a") / "CoveredNet" / "Certificates" / "gap.lean").read_bytes()
    b = (export_with(g, text, tmp_path / "b") / "CoveredNet" / "Certificates" / "gap.lean").read_bytes()
    assert a == b


@pytest.mark.parametrize("q, text", [(F(-1, 2), "-1/2"), (F(3, 10), "3/10"), (F(-137, 10000), "-137/10000"),
                                     (F(5), "5"), (F(1, 3), "1/3"), (F(7, 2 ** 20), "7/1048576"),
                                     (F("-0.32842287715105956"), "-32842287715105956/100000000000000000")])
def test_readable_numbers(q: Fraction, text: str) -> None:
    assert readable(q) == text
    num, _, den = text.partition("/")
    assert Fraction(int(num), int(den or 1)) == q


def test_theorem_names() -> None:
    assert theorem_name("prop_3") == "prop_3"
    assert theorem_name("ACASXU_run2a_1_1_batch_2000 prop_3.vnnlib") == "ACASXU_run2a_1_1_batch_2000_prop_3_vnnlib"
    assert theorem_name("3x") == "c_3x"


# Nets through the other ops of the Lean interval checker, each with its box: a certificate that
# exports and checks, and a short agreement corpus through the op.

def dense_net(seed: int = 5) -> Graph:
    """An ACAS Xu-like layer, `matmul(flatten(x), W) + b` (exact right operand), then `W @ r`
    (exact left operand) and a product with a 1-D exact vector."""
    r = np.random.default_rng(seed)
    params = (Param.of_array("w0", r.standard_normal((5, 4)).astype(np.float32)),
              Param.of_array("b0", r.standard_normal(4).astype(np.float32)),
              Param.of_array("w1", r.standard_normal((3, 1)).astype(np.float32)),
              Param.of_array("v", r.standard_normal(4).astype(np.float32)))
    nodes = (make_node("f", "flatten", ["x"], {"axis": 1}), make_node("m", "matmul", ["f", "w0"]),
             make_node("a", "add", ["m", "b0"]), make_node("r", "relu", ["a"]),
             make_node("n", "matmul", ["w1", "r"]), make_node("y", "matmul", ["n", "v"]))
    return validate(Graph("dense net", (Input("x", (1, 5)),), params, nodes, ("y",)))


DENSE_BOX = Box(tuple(F(k, 10) for k in (-3, 0, 1, -5, 2)), tuple(F(k, 10) for k in (1, 2, 4, -1, 3)), (1, 5))

def scaled_net(seed: int = 7) -> Graph:
    """Products: by an exact vector (broadcast), leaky ReLU (alpha >= 0), and of two activations."""
    r = np.random.default_rng(seed)
    params = (Param.of_array("w0", r.standard_normal((4, 4)).astype(np.float32)),
              Param.of_array("b0", r.standard_normal(4).astype(np.float32)),
              Param.of_array("c", r.standard_normal(4).astype(np.float32)))
    nodes = (make_node("h", "linear", ["x", "w0", "b0"]), make_node("s", "mul", ["c", "h"]),
             make_node("l", "leaky_relu", ["s"], {"alpha": 0.125}), make_node("y", "mul", ["l", "h"]))
    return validate(Graph("scaled net", (Input("x", (1, 4)),), params, nodes, ("y",)))


SCALED_BOX = Box(tuple(F(k, 10) for k in (-3, 0, 1, -5)), tuple(F(k, 10) for k in (1, 2, 4, -1)), (1, 4))

def quotient_net(seed: int = 13) -> Graph:
    """Division by an exact vector with negative entries, leaky ReLU with a negative slope, and a
    matmul of two activations (an outer product: each term bounded by its corner products)."""
    r = np.random.default_rng(seed)
    params = (Param.of_array("w0", r.standard_normal((4, 4)).astype(np.float32)),
              Param.of_array("b0", r.standard_normal(4).astype(np.float32)),
              Param.of_array("dv", np.array([2.0, -0.5, 1.25, -4.0], dtype=np.float32)))
    nodes = (make_node("h", "linear", ["x", "w0", "b0"]), make_node("q", "div", ["h", "dv"]),
             make_node("n", "leaky_relu", ["q"], {"alpha": -0.25}),
             make_node("e", "reshape", ["h"], {"shape": [4, 1]}), make_node("g", "matmul", ["e", "n"]),
             make_node("y", "reshape", ["g"], {"shape": [16]}))
    return validate(Graph("quotient net", (Input("x", (1, 4)),), params, nodes, ("y",)))


def moves_net() -> Graph:
    """Element moves and pooling on an image: constant and reflect padding, max and average
    pooling (counted cells only), transpose, a strided slice, reshapes and a concat."""
    nodes = (make_node("p", "pad", ["x"], {"pads": [0, 1, 0, 0, 0, 1], "mode": "constant", "value": 0.5}),
             make_node("q", "pad", ["x"], {"pads": [0, 1, 1, 0, 1, 1], "mode": "reflect"}),
             make_node("m", "maxpool2d", ["p"], {"kernel": [2, 2], "stride": [2, 2]}),
             make_node("a", "avgpool2d", ["q"], {"kernel": [3, 3], "stride": [2, 2], "padding": [1, 1, 1, 1]}),
             make_node("t", "transpose", ["x"], {"perm": [0, 2, 1]}),
             make_node("s", "slice", ["t"], {"starts": [1], "ends": [4], "axes": [2], "steps": [2]}),
             make_node("rm", "reshape", ["m"], {"shape": [4]}), make_node("ra", "reshape", ["a"], {"shape": [9]}),
             make_node("rs", "reshape", ["s"], {"shape": [8]}),
             make_node("y", "concat", ["rs", "rm", "ra"], {"axis": 0}))
    return validate(Graph("moves net", (Input("x", (1, 4, 4)),), (), nodes, ("y",)))


MOVES_BOX = Box(tuple(F(k, 8) for k in range(-8, 8)), tuple(F(k, 8) + F(1, 4) for k in range(-8, 8)), (1, 4, 4))

def conv_net(seed: int = 11) -> Graph:
    """Convolutions with exact weights: zero padding and a bias, then two groups, stride 2 and
    dilation, no bias."""
    r = np.random.default_rng(seed)
    params = (Param.of_array("k0", r.standard_normal((2, 1, 3, 3)).astype(np.float32)),
              Param.of_array("b0", r.standard_normal(2).astype(np.float32)),
              Param.of_array("k1", r.standard_normal((4, 1, 2, 2)).astype(np.float32)))
    nodes = (make_node("c", "conv2d", ["x", "k0", "b0"], {"padding": [1, 1, 1, 1]}), make_node("r", "relu", ["c"]),
             make_node("d", "conv2d", ["r", "k1"], {"groups": 2, "stride": [2, 2], "dilation": [2, 1]}),
             make_node("y", "reshape", ["d"], {"shape": [8]}))
    return validate(Graph("conv net", (Input("x", (1, 4, 4)),), params, nodes, ("y",)))


OTHER_NETS = {"dense": (dense_net, DENSE_BOX), "scaled": (scaled_net, SCALED_BOX), "moves": (moves_net, MOVES_BOX),
              "conv": (conv_net, MOVES_BOX), "quotient": (quotient_net, SCALED_BOX)}


def gap_for(g: Graph, box: Box, margin: Fraction) -> Property:
    """`y0 - y1 <= d` unsafe, with d below what IBP proves by `margin` (the first two outputs)."""
    _, text, _ = verify_ibp(g, box)
    out = dict(loads(text).bounds)[g.outputs[0]]
    d = out.lower[0] - out.upper[1] - margin
    return Property(Disjunction((Conjunction((LinearConstraint((F(1), F(-1)) + (F(0),) * (len(out.lower) - 2), d),)),)),
                    len(out.lower), "gap")


@pytest.fixture(scope="module", params=sorted(OTHER_NETS))
def other_net(request: pytest.FixtureRequest) -> tuple[Graph, str]:
    make, box = OTHER_NETS[request.param]
    g = make()
    verdict, text, reason = verify_ibp(g, box, gap_for(g, box, F(1, 1000)))
    assert verdict == "holds", reason
    assert {n.op for n in g.nodes} <= LEAN_INTERVAL_OPS
    return g, text


@needs_lean
def test_other_ops_certificate_theorem_checks(other_net: tuple[Graph, str], tmp_path: Path,
                                              library_cache: Path) -> None:
    g, text = other_net
    result = lean_check(export_with(g, text, tmp_path / "p"), toolchain=TOOLCHAIN, library_cache=library_cache)
    assert result.ok, result.report()
    assert all(set(a) <= ALLOWED for a in result.axioms.values()), result.axioms


@needs_lean
def test_lean_and_python_agree_through_other_ops(other_net: tuple[Graph, str], tmp_path: Path,
                                                 library_cache: Path) -> None:
    g, text = other_net
    verdicts = []
    for k, (what, mutated) in enumerate(corpus(g, text, 6, seed=5)):
        python = check_certificate(g, mutated)
        lean = lean_check(export_with(g, mutated, tmp_path / f"m{k}", name=f"m{k}"), toolchain=TOOLCHAIN,
                          library_cache=library_cache)
        assert lean.ok == python.ok, f"{what}: Python {'accepts' if python.ok else 'rejects: ' + python.reason}, " \
                                     f"Lean {'accepts' if lean.ok else 'rejects'}\n{lean.report()}"
        if not lean.ok:
            assert any(e.file.endswith(f"m{k}.lean") for e in lean.errors), lean.report()
        verdicts.append(python.ok)
    assert verdicts[0] and False in verdicts[1:]
