"""The batched tree check (cert/batch.py) against the Fraction checker: per leaf, the limb
arithmetic accepts exactly the leaves `Checker.check` accepts, on real split trees and on trees
with one number, line or back-substituted row changed; a whole tree's answer and reason are the
same with and without it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pytorch2lean.bounds.bab import _InputSearch, bab
from pytorch2lean.cert import tree
from pytorch2lean.cert.batch import Batch
from pytorch2lean.cert.check import Checker
from pytorch2lean.cert.format import Certificate, CertificateError, loads
from pytorch2lean.cert.tree import check_bab_certificate
from pytorch2lean.ir import Graph, Input, Param, make_node, validate
from pytorch2lean.spec import Box, Conjunction, Disjunction, LinearConstraint, Property

from .test_cert import CHANGES
from .test_lean_crown import crown_net

F = Fraction
BOX = Box((F(-7, 10), F(-1, 3)), (F(9, 10), F(1)), (1, 2))  # not dyadic, as VNN-LIB boxes are


@pytest.fixture(scope="module")
def tree_cert() -> tuple[Graph, str]:
    """An input-split tree of crown_net (linear, relu, matmul, add, sub, flatten) on BOX, for a
    margin CROWN does not prove on the whole box."""
    g = crown_net()
    prop = Property(Disjunction((Conjunction((LinearConstraint((F(1), F(-1)), F(-5, 8)),)),)), 2, "margin")
    result = bab(g, BOX, prop, budget_s=60, split="input")
    assert result.verdict == "holds" and result.leaves >= 4, result.reason
    return g, result.certificate


@pytest.fixture(scope="module")
def crown_tree_cert() -> tuple[Graph, str]:
    """The same tree with every leaf proven by its CROWN-hidden numbers (the search's cheaper
    IBP-hidden certificate turned off), so each leaf back-substitutes hidden rows."""
    g = crown_net()
    prop = Property(Disjunction((Conjunction((LinearConstraint((F(1), F(-1)), F(-5, 8)),)),)), 2, "margin")
    plain = _InputSearch.__init__

    def without_the_cheap_bounder(self: _InputSearch, b: Any, box: Box) -> None:
        plain(self, b, box)
        self.cheap = self.b

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_InputSearch, "__init__", without_the_cheap_bounder)
        result = bab(g, BOX, prop, budget_s=60, split="input")
    assert result.verdict == "holds" and result.leaves >= 2, result.reason
    return g, result.certificate


def verdicts(g: Graph, doc: dict[str, Any], boxes: list[Box] | None = None) -> tuple[np.ndarray, list[bool]]:
    """Per leaf of a tree: the batch's acceptance, and the Fraction checker's, of each leaf for
    its box in `boxes` (by default the box it states)."""
    checker = Checker(g)
    leaves = [_read(leaf) for leaf in doc["leaves"]]
    boxes = boxes or [dict(c.inputs)["x"] for c in leaves if c is not None]
    prop = next(c.claim for c in leaves if c is not None)
    fast = Batch(checker).accepted(leaves, boxes, prop, [()] * len(leaves))
    return fast, [c is not None and checker.check(c, box=b, prop=prop).ok for c, b in zip(leaves, boxes)]


def _read(leaf: dict[str, Any]) -> Certificate | None:
    """The leaf certificate, or None where it is not one (a mutation left a box empty)."""
    try:
        return loads(json.dumps(leaf))
    except CertificateError:
        return None


def test_the_batch_accepts_every_leaf_of_a_valid_tree(tree_cert: tuple[Graph, str]) -> None:
    g, text = tree_cert
    fast, exact = verdicts(g, json.loads(text))
    assert all(exact) and fast.all()


def sites(leaf: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Paths to the numbers of a leaf certificate that the batch reads: bounds, box and lines."""
    out: list[tuple[Any, ...]] = []
    for part in ("inputs", "bounds"):
        for name, entry in sorted(leaf[part].items()):
            out += [(part, name, side, i) for side in ("lower", "upper") for i in range(len(entry[side]))]
    for name, lines in sorted(leaf["crown"]["relaxations"].items()):
        out += [("crown", "relaxations", name, part, i) for part in ("lower_slope", "lower_intercept", "upper_slope",
                                                                    "upper_intercept") for i in range(len(lines[part]))]
    return out


SMALL = {"up 2^-40": lambda q: q + F(1, 2**40), "down 2^-40": lambda q: q - F(1, 2**40), "zero": lambda q: F(0)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_leaves_are_accepted_exactly_when_the_fraction_checker_accepts(tree_cert: tuple[Graph, str],
                                                                               data: st.DataObject) -> None:
    g, text = tree_cert
    doc = json.loads(text)
    boxes = [dict(loads(json.dumps(leaf)).inputs)["x"] for leaf in doc["leaves"]]
    k = data.draw(st.integers(0, len(doc["leaves"]) - 1))
    leaf = doc["leaves"][k]
    site = data.draw(st.sampled_from(sites(leaf)))
    change = {**CHANGES, **SMALL}[data.draw(st.sampled_from(sorted({**CHANGES, **SMALL})))]
    holder = leaf
    for key in site[:-1]:
        holder = holder[key]
    holder[site[-1]] = str(change(F(holder[site[-1]])))
    fast, exact = verdicts(g, doc, boxes)
    event(f"leaf accepted={exact[k]}")
    assert list(fast) == exact


def test_a_leaf_without_its_back_substituted_rows_is_judged_as_the_fraction_checker_judges(
        crown_tree_cert: tuple[Graph, str]) -> None:
    g, text = crown_tree_cert
    doc = json.loads(text)
    changed = 0
    for leaf in doc["leaves"]:
        rows = leaf["crown"].get("backsub_rows", {})
        for name in list(rows):
            rows[name] = rows[name][1:]
            changed += 1
        if leaf["crown"]["backsub"]:
            leaf["crown"]["backsub"] = leaf["crown"]["backsub"][1:]
            changed += 1
    assert changed >= 2 * len(doc["leaves"])
    fast, exact = verdicts(g, doc)
    assert list(fast) == exact and not all(exact)


@pytest.mark.parametrize("edit", ["bound", "cut", "line"])
def test_a_tree_gets_the_same_answer_and_reason_with_and_without_the_batch(tree_cert: tuple[Graph, str], edit: str,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    g, text = tree_cert
    doc = json.loads(text)
    if edit == "bound":
        doc["leaves"][-1]["bounds"]["h"]["lower"][0] = str(F(doc["leaves"][-1]["bounds"]["h"]["lower"][0]) + F(1, 8))
    elif edit == "cut":
        doc["tree"]["at"] = str(F(doc["tree"]["at"]) + F(1, 16))
    else:
        lines = doc["leaves"][1]["crown"]["relaxations"]["s"]
        lines["upper_intercept"][0] = str(F(lines["upper_intercept"][0]) - F(1, 4))
    changed = json.dumps(doc)
    ours = [check_bab_certificate(g, t) for t in (text, changed)]
    monkeypatch.setattr(tree.Batch, "accepted", lambda self, certs, *rest: np.zeros(len(certs), dtype=bool))
    fractions = [check_bab_certificate(g, t) for t in (text, changed)]
    assert ours == fractions and ours[0].ok


def test_graphs_outside_the_batch_forms_are_left_to_the_fraction_checker() -> None:
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    g = validate(Graph("g", (Input("x", (1, 2)),), (Param.of_array("w", f32([[1, 2], [3, 4]])),),
                       (make_node("h", "linear", ["x", "w"]), make_node("y", "sigmoid", ["h"])), ("y",)))
    assert not Batch(Checker(g)).supported
    assert Batch(Checker(crown_net())).supported


PARENT = """
import os, sys, time
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pytorch2lean.cert import tree
from tests.test_lean_crown import crown_net

if __name__ == "__main__":
    pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"), initializer=tree._start_worker,
                               initargs=(crown_net(), os.getpid()))
    print(*sorted({pool.submit(os.getpid).result() for _ in range(8)}), flush=True)
    time.sleep(120)
"""


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGKILL])
def test_check_workers_end_when_their_parent_is_killed(tmp_path: Path, signal_number: int) -> None:
    """A killed vnncomp leaves no check worker behind: each notices its parent is gone and exits."""
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    root = Path(__file__).resolve().parents[1]
    parent = subprocess.Popen([sys.executable, str(script)], cwd=root, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(root)})
    assert parent.stdout is not None
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert workers and all(_alive(pid) for pid in workers)
    os.kill(parent.pid, signal_number)
    parent.wait(timeout=30)
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
