"""Input-split trees as Lean theorems: an accepted `bab.v1` certificate whose property CROWN cannot
prove on the whole box exports to leaf theorems (`checkCROWN`) joined by `safe_split`, which the
kernel checks; Lean agrees with the Python tree checker on mutated trees; trees Lean cannot read
(ReLU splits) are refused with the node named."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from pytorch2lean.bounds import verify
from pytorch2lean.bounds.bab import bab
from pytorch2lean.cert.tree import check_bab_certificate
from pytorch2lean.errors import UserError
from pytorch2lean.ir import Graph
from pytorch2lean.lean import lean_check
from pytorch2lean.lean.certificate import check_lean_method, export_theorems, tree_theorem
from pytorch2lean.runtime import execute
from pytorch2lean.spec import Conjunction, Disjunction, LinearConstraint, Property

from .test_lean_crown import ALLOWED, BOX, SHA, TOOLCHAIN, crown_net, margin_property, needs_lean

F = Fraction


def _margin(d: Fraction) -> Property:
    return Property(Disjunction((Conjunction((LinearConstraint((F(1), F(-1)), d),)),)), 2, "margin")


@pytest.fixture(scope="module")
def tree_cert() -> tuple[Graph, Property, str]:
    """A tree of several leaves for `y0 - y1 <= d` unsafe, d between alpha-CROWN's whole-box bound
    (the search tunes a piece's claim rows by alpha-CROWN before cutting it) and the sampled least
    value of y0 - y1 (nearer the latter)."""
    g = crown_net()
    whole = margin_property(g, "alpha").unsafe.parts[0].parts[0].bound
    xs = np.random.default_rng(0).uniform(-1, 1, (20000, 1, 2)).astype(np.float32)
    y = execute(g, {"x": xs})["y"].reshape(len(xs), -1)
    least = F(float((y[:, 0] - y[:, 1]).min()))
    prop = _margin(whole + (least - whole) * 3 / 4)
    assert verify(g, BOX, prop, method="alpha")[0] != "holds", "alpha-CROWN proves it on the whole box: no tree needed"
    result = bab(g, BOX, prop, budget_s=60, split="input")
    assert result.verdict == "holds", result.reason
    assert result.leaves >= 3
    return g, prop, result.certificate


@pytest.fixture(scope="module")
def library_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "lean-lib"


def _export(g: Graph, text: str, out: Path) -> Path:
    export_theorems(g, out, checkpoint_sha256=SHA, name="margin tree", certificates=[text])
    return out


@needs_lean
def test_tree_theorem_checks(tree_cert: tuple[Graph, Property, str], tmp_path: Path, library_cache: Path) -> None:
    g, _, text = tree_cert
    project = _export(g, text, tmp_path / "proj")
    body = next(project.glob("*/Certificates/margin_tree.lean")).read_text()
    leaves = len(json.loads(text)["leaves"])
    assert body.count("(safe_split _") == leaves - 1 and body.count("  checkCROWN_staged ") == leaves
    # every kernel evaluation is one stage of a leaf: its nodes (`nodesOkFrom`) or its claim (`outputOkC`)
    assert body.count("decide +kernel") == body.count(": nodesOkFrom weightPreps graph decodedParams") + leaves == \
        body.count(": nodesOkFrom weightPreps graph decodedParams") + body.count(": outputOkC weightPreps graph decodedParams")
    assert "sorry" not in body and "native_decide" not in body
    result = lean_check(project, toolchain=TOOLCHAIN, library_cache=library_cache)
    assert result.ok, result.report()
    assert "CrownNet.Certificates.margin_tree" in result.axioms
    assert all(set(a) <= ALLOWED for a in result.axioms.values()), result.axioms


def _first_cut(tree: dict) -> dict:
    return tree if "dim" in tree else _first_cut(tree.get("nonneg", {}))


def _mutations(text: str) -> list[tuple[str, str]]:
    """Trees changed in one place: a leaf's stated bound tightened, the first cut moved, two leaves
    swapped, a ReLU line's intercept moved in a leaf."""
    out = [("original", text)]
    d = json.loads(text)
    leaf = d["leaves"][0]
    leaf["bounds"]["h"]["lower"][0] = str(F(leaf["bounds"]["h"]["lower"][0]) + F(1, 8))
    out.append(("bound", json.dumps(d)))
    d = json.loads(text)
    cut = d["tree"]
    cut["at"] = str(F(cut["at"]) + F(1, 16))
    out.append(("cut", json.dumps(d)))
    d = json.loads(text)
    d["tree"]["below"], d["tree"]["above"] = d["tree"]["above"], d["tree"]["below"]
    out.append(("swap", json.dumps(d)))
    d = json.loads(text)
    lines = next(iter(d["leaves"][-1]["crown"]["relaxations"].values()))
    lines["upper_intercept"][0] = str(F(lines["upper_intercept"][0]) - F(1, 4))
    out.append(("line", json.dumps(d)))
    return out


@needs_lean
def test_lean_agrees_with_python_on_tree_mutations(tree_cert: tuple[Graph, Property, str], tmp_path: Path,
                                                   library_cache: Path) -> None:
    """Each mutated tree: Lean's kernel accepts it exactly when the Python tree checker does."""
    g, _, text = tree_cert
    cases = _mutations(text)
    accepted = [check_bab_certificate(g, t).ok for _, t in cases]
    assert accepted[0] and not all(accepted), "the corpus must hold both kinds"
    for (what, t), ok in zip(cases, accepted):
        result = lean_check(_export(g, t, tmp_path / what), toolchain=TOOLCHAIN, library_cache=library_cache)
        assert result.ok == ok, f"{what}: Python {'accepts' if ok else 'rejects'}, Lean {'accepts' if result.ok else 'rejects'}"


def test_relu_split_trees_are_refused_with_the_node_named(tree_cert: tuple[Graph, Property, str]) -> None:
    g, _, text = tree_cert
    d = json.loads(text)
    d["tree"] = {"node": "r", "index": 1, "nonneg": d["tree"], "nonpos": {"leaf": len(d["leaves"])}}
    d["leaves"].append(d["leaves"][0])
    with pytest.raises(UserError, match="splits ReLU node 'r'.*--split input"):
        tree_theorem(g, d, "relu_tree")
    with pytest.raises(UserError, match="--split input"):
        check_lean_method("bab", "relu")
    check_lean_method("bab", "input")
