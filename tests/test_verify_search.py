"""`verify` as `vnncomp` runs it: a short search for a counterexample before branch and bound, where
the search stands reported while it runs (never on stdout), and counterexamples a reader can read
(float32 values; exact ones on request). A counterexample is reported only once re-checked in
exact arithmetic: a model without exact values gets none.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from pytorch2lean.bounds.bab import BabProgress, bab
from pytorch2lean.bounds.falsify import Witness
from pytorch2lean.ir import Graph, Input, Param, dumps, make_node, validate
from pytorch2lean.runtime import evaluate_exact, execute
from pytorch2lean.spec import Box, Conjunction, Disjunction, LinearConstraint, Property
from pytorch2lean.spec.query import Query
from pytorch2lean.verify import INEXACT, Step, counterexample, run_query, step_text, witness_json, witness_lines

SQUARE = Box((Fraction(-1),) * 2, (Fraction(1),) * 2, (2,))
BAB_LINE = re.compile(r"box 0: branch and bound: (\d+) leaves proven, (\d+) open, (\d+) s left")


def at_least(bound: Fraction) -> Property:
    """One output; unsafe where y >= bound."""
    return Property(Disjunction((Conjunction((LinearConstraint((Fraction(-1),), -bound),)),)), 1, f"y >= {bound}")


def sum_net() -> Graph:
    """y = x_0 + x_1: on the square, y >= 19/10 only near the corner (1, 1), where sampling finds it at
    once and branch and bound never can (the property is false: it splits until its time is up)."""
    params = (Param.of_array("w", np.ones((1, 2), np.float32)), Param.of_array("b", np.zeros(1, np.float32)))
    return validate(Graph("sum", (Input("x", (2,)),), params, (make_node("y", "linear", ["x", "w", "b"]),), ("y",)))


def mlp(seed: int = 1) -> Graph:
    """A random 2-16-16-1 relu network."""
    rng = np.random.default_rng(seed)
    widths, nodes, params, prev = (2, 16, 16, 1), [], [], "x"
    for k, (a, b) in enumerate(zip(widths, widths[1:])):
        params += [Param.of_array(f"w{k}", rng.standard_normal((b, a)).astype(np.float32)),
                   Param.of_array(f"b{k}", rng.standard_normal(b).astype(np.float32))]
        last = k == len(widths) - 2
        nodes.append(make_node("y" if last else f"h{k}", "linear", [prev, f"w{k}", f"b{k}"]))
        if not last:
            nodes.append(make_node(f"r{k}", "relu", [f"h{k}"]))
            prev = f"r{k}"
    return validate(Graph("mlp", (Input("x", (2,)),), tuple(params), tuple(nodes), ("y",)))


def true_bound(graph: Graph) -> Fraction:
    """A bound above the network's largest sampled output by 1/10: true, yet branch and bound needs
    dozens of leaves (several batches) to prove it."""
    xs = np.random.default_rng(9).uniform(-1, 1, (100_000, 2)).astype(np.float32)
    return Fraction(float(execute(graph, {"x": xs})["y"].max()) + 0.1).limit_denominator(1000)


def assert_counterexample(graph: Graph, box: Box, prop: Property, w: Witness) -> None:
    """Independent of the falsifier: inside the box, and unsafe in exact arithmetic."""
    assert w.exact and box.contains(w.point)
    y = evaluate_exact(graph, {"x": w.point[None]})["y"].reshape(-1).tolist()
    assert list(w.output) == y and not prop.holds_exactly(y)


# ---- the search first -----------------------------------------------------------------------

def test_a_counterexample_sampling_finds_stops_verify_before_branch_and_bound() -> None:
    graph, prop = sum_net(), at_least(Fraction(19, 10))
    steps: list[Step] = []
    (result,) = run_query(graph, Query((SQUARE,), prop, "near a corner"), "bab", timeout=60, falsify_s=1,
                          progress=steps.append)
    assert result.verdict == "violated" and result.witness is not None, result.reason
    assert_counterexample(graph, SQUARE, prop, result.witness)
    assert [s.stage for s in steps] == ["falsify"]  # found before branch and bound started
    assert bab(graph, SQUARE, prop, budget_s=0.5).verdict == "timeout"  # which alone never ends


def test_verify_answers_violated_long_before_its_timeout(tmp_path: Path) -> None:
    """Branch and bound first spent the whole --timeout (60 s here) before the search ran; the search
    first takes well under a second. The bound of 20 s is loose on purpose (a loaded machine)."""
    from tests.test_cli import cli

    (tmp_path / "sum.json").write_text(dumps(sum_net()))
    (tmp_path / "p.vnnlib").write_text("(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n"
                                       "(assert (>= X_0 -1))\n(assert (<= X_0 1))\n(assert (>= X_1 -1))\n"
                                       "(assert (<= X_1 1))\n(assert (>= Y_0 1.9))\n")
    start = time.monotonic()
    r = cli("verify", str(tmp_path / "sum.json"), "--vnnlib", str(tmp_path / "p.vnnlib"), "--method", "bab",
            "--falsify", "1", "--timeout", "60", "--json")
    elapsed = time.monotonic() - start
    assert r.returncode == 3, r.stdout + r.stderr
    (box,) = json.loads(r.stdout)["boxes"]
    assert box["verdict"] == "violated" and sum(Fraction(v) for v in box["counterexample"]["input"]) >= Fraction(19, 10)
    assert elapsed < 20, elapsed


def test_no_counterexample_is_reported_for_a_model_without_exact_values() -> None:
    """sigmoid has no exact value: a witness could be checked in float64 only, so none is sought."""
    graph = validate(Graph("sig", (Input("x", (1,)),), (), (make_node("y", "sigmoid", ["x"]),), ("y",)))
    box, prop = Box((Fraction(-4),), (Fraction(4),), (1,)), at_least(Fraction(1, 2))  # false: sigmoid(4) > 1/2
    assert counterexample(graph, [box], prop, budget_s=2) is None
    (result,) = run_query(graph, Query((box,), prop, "sigmoid"), "crown", timeout=10, falsify_s=2)
    assert result.verdict == "unknown" and result.witness is None and result.reason.endswith(INEXACT)


# ---- progress ---------------------------------------------------------------------------------

def assert_sensible(reports: list[BabProgress], budget: float) -> None:
    """Leaves only grow, the time left only falls and stays within the budget, nothing is negative."""
    assert len(reports) > 2 and reports[0].leaves == 0 and reports[0].open == 1
    assert all(a.leaves <= b.leaves for a, b in zip(reports, reports[1:]))
    assert all(a.seconds_left >= b.seconds_left for a, b in zip(reports, reports[1:]))
    assert all(0 <= r.seconds_left <= budget and r.open >= 0 for r in reports)


def test_branch_and_bound_reports_where_it_stands_after_every_batch() -> None:
    graph = mlp()
    prop = at_least(true_bound(graph))
    reports: list[BabProgress] = []
    proven = bab(graph, SQUARE, prop, budget_s=60, split="input", progress=reports.append)
    assert proven.verdict == "holds" and proven.leaves > 2, proven.reason
    assert len(reports) > 3  # the start, the root, and more than one batch of cuts
    assert_sensible(reports, 60)
    assert (reports[-1].leaves, reports[-1].open) == (proven.leaves, 0)

    reports.clear()
    late = bab(sum_net(), SQUARE, at_least(Fraction(19, 10)), budget_s=0.5, split="input", progress=reports.append)
    assert late.verdict == "timeout"
    assert_sensible(reports, 0.5)
    assert reports[-1].open == len(late.open_boxes) > 0 and reports[-1].leaves == late.leaves

    reports.clear()
    stuck = bab(graph, SQUARE, prop, budget_s=60, split="relu", progress=reports.append)
    assert stuck.verdict == "unknown"  # ReLU splits alone cannot prove it on this wide box
    assert_sensible(reports, 60)
    assert reports[-1].leaves == stuck.leaves and stuck.reason.startswith(f"{reports[-1].open} pieces unproven")


def test_verify_reports_each_stage_of_each_box() -> None:
    graph = mlp()
    prop = at_least(true_bound(graph))
    halves = (Box((Fraction(-1),) * 2, (Fraction(0), Fraction(1)), (2,)), Box((Fraction(0), Fraction(-1)), (Fraction(1),) * 2, (2,)))
    steps: list[Step] = []
    results = run_query(graph, Query(halves, prop, "two halves"), "bab", timeout=60, falsify_s=0.2, progress=steps.append)
    assert [r.verdict for r in results] == ["holds", "holds"], [r.reason for r in results]
    for k in (0, 1):
        stages = [s.stage for s in steps if s.box == k]
        assert stages[0] == "falsify" and stages[-1] == "check" and set(stages[1:-1]) == {"bab"}, stages
    last = [s for s in steps if s.stage == "bab" and s.box == 1][-1]
    assert last.bab is not None and last.bab.open == 0
    text = step_text(last)
    assert text == f"box 1: branch and bound: {last.bab.leaves} leaves proven, 0 open, {last.bab.seconds_left:.0f} s left"


def test_the_progress_line_goes_to_a_terminal_and_never_into_json(tmp_path: Path) -> None:
    """stderr a terminal (a pty): the live line is drawn there, with the search's numbers; stdout,
    a pipe, is pure JSON. Without a terminal nothing is drawn (a log would keep every redraw)."""
    (tmp_path / "sum.json").write_text(dumps(sum_net()))
    (tmp_path / "p.vnnlib").write_text("(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n"
                                       "(assert (>= X_0 -1))\n(assert (<= X_0 1))\n(assert (>= X_1 -1))\n"
                                       "(assert (<= X_1 1))\n(assert (>= Y_0 1.9))\n")
    args = [sys.executable, "-m", "pytorch2lean", "verify", str(tmp_path / "sum.json"), "--vnnlib",
            str(tmp_path / "p.vnnlib"), "--method", "bab", "--timeout", "2", "--json"]
    out, drawn, code = _with_terminal_stderr(args)
    assert code == 5 and json.loads(out)["verdict"] == "timeout", out
    seen = [tuple(map(int, m)) for m in BAB_LINE.findall(drawn)]
    assert seen and all(o > 0 for _, o, _ in seen) and max(s for _, _, s in seen) <= 2, drawn[-500:]
    piped = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert piped.returncode == 5 and json.loads(piped.stdout)["verdict"] == "timeout"
    assert "branch and bound" not in piped.stderr


def _with_terminal_stderr(args: list[str]) -> tuple[str, str, int]:
    """Run `args` with stderr on a pseudo-terminal (read as it is written) and stdout on a pipe."""
    main, side = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=side, text=True)
    os.close(side)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the other side closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    out, _ = proc.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(main)
    return out, b"".join(chunks).decode("utf-8", errors="replace"), proc.returncode


# ---- readable counterexamples -----------------------------------------------------------------

DEEP = Fraction(3**200 + 1, 2**400)  # an exact output through a few layers: 400 decimal places


def test_a_counterexample_reads_as_float32_values() -> None:
    w = Witness(np.float32([0.1, -3.0]), (DEEP, Fraction(5)), 0, True)
    lines = witness_lines(w)
    assert lines == ["X_0 = 0.1", "X_1 = -3.0", "Y_0 = " + str(np.float32(float(DEEP))), "Y_1 = 5.0"]
    assert max(map(len, lines)) < 20
    values = [line.split(" = ")[1] for line in lines]
    assert [np.float32(v) for v in values[:2]] == list(w.point)  # an input's text is its float32 exactly
    assert abs(Fraction(float(np.float32(values[2]))) - DEEP) <= Fraction(float(np.spacing(np.float32(float(DEEP))))) / 2
    assert witness_json(w) == {"term": 0, "input": values[:2], "output": values[2:]}


def test_exact_values_on_request() -> None:
    w = Witness(np.float32([0.1]), (DEEP, Fraction(-1, 3)), 0, True)
    lines = witness_lines(w, exact=True)
    exact = [line.split("(exactly ")[1].rstrip(")") for line in lines]
    assert exact[0] == "0.100000001490116119384765625" and Fraction(exact[0]) == Fraction(float(np.float32(0.1)))
    assert Fraction(exact[1]) == DEEP and exact[2] == "-1/3"
    doc = witness_json(w, exact=True)
    assert [Fraction(v) for v in doc["input_exact"]] == [Fraction(float(np.float32(0.1)))]
    assert [Fraction(v) for v in doc["output_exact"]] == [DEEP, Fraction(-1, 3)]


def test_verify_prints_the_counterexample_and_exact_values_when_asked(tmp_path: Path) -> None:
    from tests.test_cli import cli

    (tmp_path / "sum.json").write_text(dumps(sum_net()))
    (tmp_path / "q.vnnlib").write_text("(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n"
                                       "(assert (>= X_0 0.5))\n(assert (<= X_0 0.5))\n(assert (>= X_1 0.25))\n"
                                       "(assert (<= X_1 0.25))\n(assert (>= Y_0 0))\n")  # one point, unsafe
    plain = cli("verify", str(tmp_path / "sum.json"), "--vnnlib", str(tmp_path / "q.vnnlib"), "--falsify", "1")
    assert plain.returncode == 3, plain.stdout + plain.stderr
    assert "X_0 = 0.5\n" in plain.stdout and "X_1 = 0.25\n" in plain.stdout and "Y_0 = 0.75\n" in plain.stdout
    assert "(exactly" not in plain.stdout
    exact = cli("verify", str(tmp_path / "sum.json"), "--vnnlib", str(tmp_path / "q.vnnlib"), "--falsify", "1",
                "--exact-witness")
    assert "Y_0 = 0.75  (exactly 0.75)" in exact.stdout, exact.stdout
    as_json = cli("verify", str(tmp_path / "sum.json"), "--vnnlib", str(tmp_path / "q.vnnlib"), "--falsify", "1",
                  "--exact-witness", "--json")
    found = json.loads(as_json.stdout)["boxes"][0]["counterexample"]
    assert found == {"term": 0, "input": ["0.5", "0.25"], "output": ["0.75"], "input_exact": ["1/2", "1/4"],
                     "output_exact": ["3/4"]}
