"""Nothing that could fake a proof may appear in the Lean library, the templates, or an exported
project: no sorry/admit, no axiom declarations, no native_decide, implemented_by or extern."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from pytorch2lean.ir import Param, make_node, validate
from pytorch2lean.ir.graph import Graph, Input
from pytorch2lean.lean import export_project
from pytorch2lean.lean.resources import lean_library_dir, templates_dir

FORBIDDEN = re.compile(r"\b(sorry|admit|axiom|native_decide|implemented_by|extern)\b")
ALLOWED_LINE = re.compile(r"^#print axioms \S+$")  # Check.lean lists axioms; `axioms` is not `axiom`


def offending_lines(root: Path) -> list[str]:
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".lean", ".j2")):
        for k, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FORBIDDEN.search(line) and not ALLOWED_LINE.match(line.strip()):
                found.append(f"{path}:{k}: {line.strip()}")
    return found


def tiny_graph() -> Graph:
    rng = np.random.default_rng(0)
    g = Graph("tiny", (Input("x", (1, 3)),), (Param.of_array("w", rng.standard_normal((2, 3)).astype(np.float32)),),
              (make_node("y", "linear", ["x", "w"]), make_node("z", "relu", ["y"])), ("z",))
    return validate(g)


@pytest.mark.parametrize("root", [lean_library_dir(), templates_dir()], ids=["lean", "templates"])
def test_sources_hold_no_forbidden_words(root: Path) -> None:
    assert offending_lines(root) == []


def test_exported_project_holds_no_forbidden_words(tmp_path: Path) -> None:
    out = export_project(tiny_graph(), tmp_path / "tiny", checkpoint_sha256="0" * 64,
                         examples=[np.ones((1, 3), np.float32)], standalone=True)
    assert offending_lines(out) == []
    assert (out / "Check.lean").read_text().count("#print axioms") == 4


def test_the_lint_catches_a_forbidden_word(tmp_path: Path) -> None:
    (tmp_path / "Bad.lean").write_text("theorem t : 1 = 2 := by\n  native_decide\n")
    assert len(offending_lines(tmp_path)) == 1


CORE_LEMMA = re.compile(r"\b(?:Nat|Int|Bool|List|Option)\.[a-z]+_[A-Za-z0-9_']*")  # core's lemmas: snake_case names
OWN_LEMMAS = "Lemmas.lean"  # the one file that may name them (as the project's own `nat_*`, `bool_*`)


def core_lemma_citations(root: Path) -> list[str]:
    """Lines outside Lemmas.lean, in the library and the templates, that cite a core lemma by name:
    the library's dependence on core's lemma names (which differ across core versions and the
    substitute core) stays in one file, as issue 11 asks; definitions (`Nat.beq`, `List.map`) are fine."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".lean", ".j2")):
        if path.name == OWN_LEMMAS:
            continue
        for k, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found += [f"{path}:{k}: {m}" for m in CORE_LEMMA.findall(line)]
    return found


@pytest.mark.parametrize("root", [lean_library_dir(), templates_dir()], ids=["lean", "templates"])
def test_only_the_lemmas_file_names_core_lemmas(root: Path) -> None:
    assert core_lemma_citations(root) == []
    assert (lean_library_dir() / "Pytorch2Lean" / OWN_LEMMAS).is_file()


def test_the_core_lemma_lint_catches_a_citation(tmp_path: Path) -> None:
    (tmp_path / "Uses.lean").write_text("theorem t (a b : Nat) : a * b = b * a := Nat.mul_comm a b\n"
                                        "def f (a : Nat) : Bool := Nat.beq a 0\n")
    assert len(core_lemma_citations(tmp_path)) == 1
