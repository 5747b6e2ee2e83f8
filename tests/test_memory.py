"""Memory: back-substitution in chunks gives the same certificates as in one pass, a budget that
cannot fit the work answers unknown with a reason (never a traceback or a kill), --memory is checked."""

from __future__ import annotations

import csv
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pytorch2lean import memory
from pytorch2lean.bounds import crown
from pytorch2lean.bounds.verify import verify
from pytorch2lean.cert import backsub
from pytorch2lean.errors import UserError
from pytorch2lean.frontends.onnx_import import load_onnx
from pytorch2lean.ir import Graph
from pytorch2lean.ops.base import Interval
from pytorch2lean.spec import load_vnnlib
from pytorch2lean.vnncomp import run_instances

onnx = pytest.importorskip("onnx")
EPS = 0.02


def conv_instance(folder: Path) -> Path:
    """A small conv net with max pooling (conv 3x3, 4 channels on 6x6, relu, 2x2 max pool, dense 8,
    relu, 3 logits) as ONNX, a robustness property of radius EPS around a fixed image (class 0, made
    robust by its bias), and an instances CSV naming them."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    arrays = {"w1": rng.standard_normal((4, 1, 3, 3)) * 0.5, "b1": rng.standard_normal(4) * 0.1,
              "w2": rng.standard_normal((8, 16)) * 0.4, "b2": rng.standard_normal(8) * 0.1,
              "w3": rng.standard_normal((3, 8)) * 0.4, "b3": np.array([1.0, 0.0, 0.0])}
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p1"], ["f1"], axis=1),
             helper.make_node("Gemm", ["f1", "w2", "b2"], ["g2"], transB=1),
             helper.make_node("Relu", ["g2"], ["r2"]),
             helper.make_node("Gemm", ["r2", "w3", "b3"], ["y"], transB=1)]
    graph = helper.make_graph(nodes, "small_cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
                              [numpy_helper.from_array(a.astype(np.float32), name) for name, a in arrays.items()])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), folder / "small_cnn.onnx")
    image = rng.uniform(0, 1, 36)
    lines = [f"(declare-const X_{i} Real)" for i in range(36)] + [f"(declare-const Y_{j} Real)" for j in range(3)]
    lines += [f"(assert (>= X_{i} {float(v) - EPS!r}))\n(assert (<= X_{i} {float(v) + EPS!r}))" for i, v in enumerate(image)]
    lines.append("(assert (or (and (>= Y_1 Y_0)) (and (>= Y_2 Y_0))))")
    (folder / "robust.vnnlib").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "instances.csv").write_text("small_cnn.onnx,robust.vnnlib,60\n", encoding="utf-8")
    return folder / "instances.csv"


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "results.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _certificates(out: Path) -> list[bytes]:
    return [(out / path).read_bytes() for row in _rows(out) for path in row["certificate"].split(";") if path]


def test_identity_rows_allocate_only_their_rows() -> None:
    rows = backsub.identity_rows(np, 2, (3, 4), np.array([5, 0, 11]))
    assert rows.shape == (2, 6, 3, 4)
    flat = rows[0].reshape(6, 12)
    assert (flat == np.concatenate([np.eye(12)[[5, 0, 11]], -np.eye(12)[[5, 0, 11]]])).all()
    exact = backsub.identity_rows(np, 1, (12,), np.array([5]), exact=True)
    assert exact.dtype == object and exact[0, 0, 5] == 1 and exact[0, 1, 5] == -1 and type(exact[0, 0, 0]) is int


def test_rows_in_chunks_give_the_same_certificate_bytes(tmp_path, monkeypatch) -> None:
    csv_path = conv_instance(tmp_path)
    whole = run_instances(csv_path, tmp_path / "whole", progress=False)
    calls = []
    one_pass = backsub.backsubstitute

    def counted(*args: object, **kwargs: object) -> backsub.Backsub:
        calls.append(args[1])
        return one_pass(*args, **kwargs)

    monkeypatch.setattr(backsub, "backsubstitute", counted)
    monkeypatch.setattr(crown, "elements_per_chunk", lambda p, node, batch: 1)
    chunked = run_instances(csv_path, tmp_path / "chunked", progress=False)
    assert whole.counts()["unsat"] == chunked.counts()["unsat"] == 1
    assert len(calls) > len(set(calls))  # some node's elements were bounded over several passes
    assert _certificates(tmp_path / "whole") == _certificates(tmp_path / "chunked")


def test_the_first_layer_is_not_back_substituted_and_no_bound_changes(tmp_path, monkeypatch) -> None:
    """A conv of the input alone, and its relu, have exact intervals: bounding them by rows (the
    most costly rows of a conv net) changes no bound by more than the relu interval's outward
    rounding onto the grid (a step of about 2^-23 relative)."""
    conv_instance(tmp_path)
    p = crown.plan(_graph(tmp_path))
    assert not {"c1", "r1"} & crown.targets(p) and {"g2", "y"} <= crown.targets(p)
    rng = np.random.default_rng(0)
    centre = rng.uniform(0, 1, (1, 1, 1, 6, 6))
    inputs = {"x": Interval(centre - 0.1, centre + 0.1)}
    skipped = crown.node_bounds(p, inputs)
    monkeypatch.setattr(crown, "_interval_exact", lambda xp, p: set())
    assert {"c1", "r1"} <= crown.targets(p)
    every = crown.node_bounds(p, inputs)
    assert (skipped.bounds["c1"].lo == every.bounds["c1"].lo).all() and (skipped.bounds["c1"].hi == every.bounds["c1"].hi).all()
    for name, iv in skipped.bounds.items():
        for a, b in ((iv.lo, every.bounds[name].lo), (iv.hi, every.bounds[name].hi)):
            assert np.allclose(a, b, rtol=2**-20, atol=2**-20), name


def test_a_budget_too_small_answers_unknown_with_the_reason(tmp_path, monkeypatch) -> None:
    csv_path = conv_instance(tmp_path)
    monkeypatch.setattr(memory, "available", lambda: 1000)
    with pytest.raises(memory.BudgetExceeded, match="per element"):
        crown.elements_per_chunk(crown.plan(_graph(tmp_path)), _graph(tmp_path).nodes[0], 1)
    run_instances(csv_path, tmp_path / "out", progress=False, timeout_override=2.0)
    (row,) = _rows(tmp_path / "out")  # the falsifier still gets the time left: unknown, or timeout when it used it all
    assert row["result"] in ("unknown", "timeout") and row["certificate"] == ""
    assert row["reason"].startswith(memory.OUT_OF_MEMORY) and "needs" in row["reason"]
    spec = load_vnnlib(tmp_path / "robust.vnnlib")
    graph = _graph(tmp_path)
    result = verify(graph, spec.input_boxes[0].reshape(graph.inputs[0].shape), spec.output_property, method="crown")
    assert result.verdict == "unknown" and result.reason.startswith(memory.OUT_OF_MEMORY)


def _graph(folder: Path) -> Graph:
    return load_onnx(folder / "small_cnn.onnx")


def test_sizes_parse_and_a_budget_below_use_is_a_user_error() -> None:
    assert memory.parse_size("1.5GiB") == 3 * 2**29 and memory.parse_size("512M") == 2**29
    assert memory.parse_size("4096") == 4096
    for bad in ("lots", "0", "-1G", "1X"):
        with pytest.raises(UserError, match="--memory"):
            memory.parse_size(bad)


def test_memory_option_on_the_cli(tmp_path) -> None:
    csv_path = conv_instance(tmp_path)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pytorch2lean", "vnncomp", str(csv_path), "--quiet", *args],
                              capture_output=True, text=True, timeout=300)

    small = cli("--out", str(tmp_path / "a"), "--memory", "10M")
    assert small.returncode == 1 and "is below what the process already uses" in small.stderr
    assert "Traceback" not in small.stderr
    ok = cli("--out", str(tmp_path / "b"), "--memory", "2G")
    assert ok.returncode == 0 and "1 unsat" in ok.stdout, ok.stderr
    verify = subprocess.run([sys.executable, "-m", "pytorch2lean", "verify", str(tmp_path / "small_cnn.onnx"), "--vnnlib",
                             str(tmp_path / "robust.vnnlib"), "--method", "crown", "--memory", "1.5x"],
                            capture_output=True, text=True, timeout=300)
    assert verify.returncode == 1 and "--memory '1.5x'" in verify.stderr and "Traceback" not in verify.stderr


def test_falsifier_scores_in_slices_are_those_of_one_call(tmp_path) -> None:
    """Slicing changes which points share a call, not their scores; BLAS may pick another kernel for
    another batch size (CI saw last-digit float32 differences), so the scores agree to float32 rounding."""
    from pytorch2lean.bounds.falsify import _Search

    conv_instance(tmp_path)
    graph = _graph(tmp_path)
    search = _Search(graph, load_vnnlib(tmp_path / "robust.vnnlib").output_property, graph.outputs[0], float("inf"))
    x = np.random.default_rng(1).uniform(0, 1, (50,) + graph.inputs[0].shape).astype(np.float32)
    assert search.points_per_call >= 50
    whole = search.scores(x)
    search.points_per_call = 7
    assert whole.shape == (50,)
    np.testing.assert_allclose(search.scores(x), whole, rtol=1e-5, atol=1e-6)


_CYCLES = """
import resource, sys
import numpy as np
from pytorch2lean.memory import reuse_freed_memory
if sys.argv[1] == "reuse":
    assert reuse_freed_memory()
np.ones(20 << 17)  # one 20 MB array first: glibc then serves such blocks from the heap
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    arrays = [np.ones(20 << 17) for _ in range(3)]  # 3 x 20 MB, written, freed
    del arrays
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_freed_arrays_are_reused_not_mapped_afresh() -> None:
    """With `reuse_freed_memory` (the CLI's and the check workers' start), arrays of 20 MB made and
    freed 60 times are served from the heap, whose pages are touched once; by default glibc hands
    the freed heap back to the kernel and every cycle faults its pages in again (page faults were a
    third of a split tree's exact check)."""
    faults = {mode: int(subprocess.run([sys.executable, "-c", _CYCLES, mode], capture_output=True, text=True,
                                       check=True).stdout) for mode in ("default", "reuse")}
    pages = (20 << 20) // resource.getpagesize()
    assert faults["default"] > 3 * pages and faults["reuse"] < pages, faults
