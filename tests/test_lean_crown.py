"""CROWN certificates as Lean theorems: an accepted CROWN (or alpha-CROWN) certificate exports to a
theorem the kernel checks (`checkCROWN_sound`), on a property interval bounds cannot prove; the Lean
checker agrees with the Python exact checker on mutated certificates; graphs whose back-substitution
Lean would stop short of are refused with the node named."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from pytorch2lean.bounds import verify, verify_ibp
from pytorch2lean.cert import check_certificate, loads
from pytorch2lean.errors import UserError
from pytorch2lean.ir import Graph, Input, Param, make_node, validate
from pytorch2lean.lean import export_project, lean_check
from pytorch2lean.lean.certificate import certificate_theorem
from pytorch2lean.lean.toolchain import find_toolchain
from pytorch2lean.spec import Box, Conjunction, Disjunction, LinearConstraint, Property

TOOLCHAIN = find_toolchain()
needs_lean = pytest.mark.skipif(TOOLCHAIN is None, reason="no Lean toolchain (set PYTORCH2LEAN_LEAN or install one)")
F = Fraction
SHA = "ab" * 32
ALLOWED = {"propext", "Quot.sound", "Classical.choice"}
BOX = Box((F(-1), F(-1)), (F(1), F(1)), (1, 2))


def crown_net() -> Graph:
    """linear, relu, matmul by a parameter, add of a parameter, relu, linear, sub of a parameter,
    flatten: every op Lean's back-substitution moves through. y0 = relu(x0 + x1) - relu(x0 + x1)
    plus small terms: IBP loses the cancellation, CROWN keeps it."""
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    params = (Param.of_array("w0", f32([[1, 1], [1, -1]])), Param.of_array("b0", f32([0.25, 0])),
              Param.of_array("m", f32([[1, 0], [0, 1]])), Param.of_array("c", f32([[0, 0.5]])),
              Param.of_array("w1", f32([[1, 0.5], [0.5, 1]])), Param.of_array("d", f32([0.125, 0])))
    nodes = (make_node("h", "linear", ["x", "w0", "b0"]), make_node("r", "relu", ["h"]),
             make_node("p", "matmul", ["r", "m"]), make_node("a", "add", ["p", "c"]),
             make_node("s", "relu", ["a"]), make_node("o", "linear", ["s", "w1"]),
             make_node("q", "sub", ["o", "d"]), make_node("y", "flatten", ["q"], {"axis": 1}))
    return validate(Graph("crown net", (Input("x", (1, 2)),), params, nodes, ("y",)))


def margin_property(g: Graph, method: str) -> Property:
    """`y0 - y1 <= d` unsafe, with d just below the least value of y0 - y1 that `method` proves
    (found by bisection on the verdict), so the certificate holds only with its own method."""
    lo, hi = F(-100), F(100)
    for _ in range(30):
        mid = (lo + hi) / 2
        prop = Property(Disjunction((Conjunction((LinearConstraint((F(1), F(-1)), mid),)),)), 2, "margin")
        if verify(g, BOX, prop, method=method)[0] == "holds":
            lo = mid
        else:
            hi = mid
    return Property(Disjunction((Conjunction((LinearConstraint((F(1), F(-1)), lo),)),)), 2, "margin")


@pytest.fixture(scope="module")
def crown_cert() -> tuple[Graph, str]:
    g = crown_net()
    prop = margin_property(g, "crown")
    verdict, text, reason = verify(g, BOX, prop, method="crown")
    assert verdict == "holds", reason
    assert verify_ibp(g, BOX, prop)[0] != "holds", "IBP proves it too: the test would not need CROWN"
    assert json.loads(text)["crown"]["backsub"] or True
    return g, text


@pytest.fixture(scope="module")
def library_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "lean-lib"


def export_with(g: Graph, text: str, out: Path, name: str = "margin") -> Path:
    return export_project(g, out, checkpoint_sha256=SHA, certificates=[certificate_theorem(g, loads(text), name)])


@needs_lean
def test_crown_theorem_checks(crown_cert: tuple[Graph, str], tmp_path: Path, library_cache: Path) -> None:
    g, text = crown_cert
    project = export_with(g, text, tmp_path / "proj")
    body = next(project.glob("*/Certificates/margin.lean")).read_text()
    assert "checkCROWN_sound" in body and "checkCROWN_staged" in body
    assert body.count("decide +kernel") == body.count(": nodesOkFrom weightPreps graph decodedParams") + 1  # and `outputOkC`
    assert "sorry" not in body and "native_decide" not in body
    result = lean_check(project, toolchain=TOOLCHAIN, library_cache=library_cache)
    assert result.ok, result.report()
    assert "CrownNet.Certificates.margin" in result.axioms
    assert all(set(a) <= ALLOWED for a in result.axioms.values()), result.axioms


def _mutations(text: str) -> list[tuple[str, str]]:
    """Certificates changed at one stated number each: a back-substituted bound tightened, a ReLU
    line's intercept or slope moved."""
    doc = json.loads(text)
    out = [("original", text)]
    for name in ("h", "a", "y"):
        for side, delta in (("lower", F(1, 8)), ("upper", F(-1, 8)), ("lower", F(-1, 8))):
            d = json.loads(text)
            d["bounds"][name][side][0] = str(F(d["bounds"][name][side][0]) + delta)
            out.append((f"{name}.{side}", json.dumps(d)))
    for name, r in doc["crown"]["relaxations"].items():
        for key, delta in (("lower_intercept", F(1, 4)), ("upper_intercept", F(-1, 4)), ("lower_slope", F(2)),
                           ("upper_slope", F(-3, 2))):
            d = json.loads(text)
            d["crown"]["relaxations"][name][key][0] = str(F(d["crown"]["relaxations"][name][key][0]) + delta)
            out.append((f"{name}.{key}", json.dumps(d)))
    return out


@needs_lean
def test_lean_agrees_with_python_on_mutations(crown_cert: tuple[Graph, str], tmp_path: Path,
                                              library_cache: Path) -> None:
    """Each mutated certificate: Lean's kernel accepts it exactly when the Python checker does."""
    g, text = crown_cert
    cases = _mutations(text)
    accepted = [check_certificate(g, t).ok for _, t in cases]
    assert any(accepted) and not all(accepted), "the corpus must hold both kinds"
    for (what, t), ok in zip(cases, accepted):
        if not ok and loads(t).verdict != "holds":
            continue
        project = export_with(g, t, tmp_path / what.replace(".", "_"))
        result = lean_check(project, toolchain=TOOLCHAIN, library_cache=library_cache)
        assert result.ok == ok, f"{what}: Python {'accepts' if ok else 'rejects'}, Lean {'accepts' if result.ok else 'rejects'}"


@needs_lean
def test_a_wrong_node_fails_in_its_own_stage(crown_cert: tuple[Graph, str], tmp_path: Path,
                                             library_cache: Path) -> None:
    """Each node with back-substituted elements is its own kernel evaluation (`Staged.lean`): a
    certificate whose node `a` (node 3, back-substituted) states a lower bound back-substitution
    does not give fails in that node's theorem `margin_node3` alone; the other stages, and the join
    that reads them, check."""
    g, text = crown_cert
    d = json.loads(text)
    d["crown"]["backsub"] = sorted(set(d["crown"]["backsub"]) | {"a"})
    assert check_certificate(g, json.dumps(d)).ok, "back-substituting `a` too keeps the certificate valid"
    d["bounds"]["a"]["lower"][0] = str(F(d["bounds"]["a"]["lower"][0]) + F(1, 8))
    assert not check_certificate(g, json.dumps(d)).ok
    project = export_with(g, json.dumps(d), tmp_path / "proj")
    path = next(project.glob("*/Certificates/margin.lean"))
    lines = path.read_text().splitlines()
    assert "theorem margin_node3 : nodesOkFrom weightPreps graph decodedParams" in lines
    result = lean_check(project, toolchain=TOOLCHAIN, library_cache=library_cache)
    assert not result.ok and result.errors, result.report()

    def declaration(line: int) -> str:
        return next(t.split()[1] for t in reversed(lines[:line]) if t.startswith("theorem "))

    assert {declaration(m.line) for m in result.errors} == {"margin_node3"}, result.report()
    assert all("margin_nodes 3 1 = true" in m.text or m.text.startswith("Tactic `decide`") for m in result.errors)


@needs_lean
def test_a_wrong_prepared_weight_fails_its_check(crown_cert: tuple[Graph, str], tmp_path: Path,
                                                 library_cache: Path) -> None:
    """Every matmul/linear weight is prepared once in `Decoded.lean` (`weightPreps`): a digit of its
    packed rows written wrong fails that weight's `prepCheck` theorem, so no stage reads it."""
    g, text = crown_cert
    project = export_with(g, text, tmp_path / "proj")
    path = next(project.glob("*/Decoded.lean"))
    body = path.read_text()
    names = re.findall(r"^theorem (prep\w+_check)", body, re.MULTILINE)
    assert names == ["prep1l_check", "prep3m_check", "prep5l_check"], names  # w0 (linear), m, w1 (linear)
    at = body.index("theorem prep3m_check")
    digits = re.compile(r"Packed.ofDigits \d+ \d+ \[\[(\d+)")
    m = digits.search(body, at)
    path.write_text(body[:m.start(1)] + str(int(m.group(1)) + 1) + body[m.end(1):])
    result = lean_check(project, toolchain=TOOLCHAIN, library_cache=library_cache)
    assert not result.ok and result.errors, result.report()
    lines = path.read_text().splitlines()
    failed = {next(t.split()[1] for t in reversed(lines[:e.line]) if t.startswith("theorem ")) for e in result.errors
              if e.file.endswith("Decoded.lean")}
    assert failed == {"prep3m_check"}, result.report()


def test_prepared_weights_are_elaborated_without_a_heartbeat_limit(crown_cert: tuple[Graph, str], tmp_path: Path) -> None:
    """A prepared weight's digits take the elaborator time in proportion to their number: a 784x64
    weight ran past Lean's default 200,000 heartbeats, its `prepCheck` theorem failed, and with it
    every certificate of the model. Each prep theorem is elaborated without the limit."""
    g, text = crown_cert
    body = next(export_with(g, text, tmp_path / "proj").glob("*/Decoded.lean")).read_text()
    preps = [m.start() for m in re.finditer(r"^theorem prep\w+_check", body, re.MULTILINE)]
    assert len(preps) == 3
    for at in preps:
        before = body[:at]
        assert before.rindex("set_option maxHeartbeats 0 in\n") > max(before.rfind("\ntheorem "), before.rfind("\ndef "))


def test_refuses_graphs_lean_cannot_back_substitute(crown_cert: tuple[Graph, str]) -> None:
    g, text = crown_cert
    nodes = tuple(make_node("n", "neg", ["h"]) if n.id == "r" else n for n in g.nodes)
    nodes = tuple(make_node("r", "relu", ["n"]) if n.id == "n" else n for n in nodes)
    bad = validate(Graph(g.name, g.inputs, g.params, (nodes[0], make_node("n", "neg", ["h"]), *nodes[1:]), g.outputs))
    prop = margin_property(bad, "crown")
    verdict, text2, _ = verify(bad, BOX, prop, method="crown")
    assert verdict == "holds"
    with pytest.raises(UserError, match="'n' \\(neg\\)"):
        certificate_theorem(bad, loads(text2), "bad")
