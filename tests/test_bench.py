"""`pytorch2lean bench`: the JSON and Markdown it writes, the way it times, and its peers' agreement.

Timings depend on the machine and its load, so no test reads a number as fast or slow: the tests
hold the report's structure, that every peer that ran agreed with our outputs, and that the
ratios are the quotients of the medians they sit beside.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pytorch2lean.bench import BATCHES, COLUMNS, METHODS, _load, _torch_runner, conv_net_onnx, default_shared, interleaved
from pytorch2lean.runtime import execute

ROW_KEYS = {"task", "net", "ours_s", "peer", "peer_s", "ratio", "widths", "peak_mib", "note", "ours_cpu_s", "peer_cpu_s"}
SHARED = default_shared() / "benchmarks" / "vnncomp2021"


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytorch2lean", "bench", *args], capture_output=True, text=True,
                          timeout=900)


def test_quick_bench_writes_every_row(tmp_path: Path) -> None:
    out, md = tmp_path / "bench.json", tmp_path / "bench.md"
    r = bench("--quick", "--json", str(out), "--markdown", str(md))
    assert r.returncode == 0, r.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["format"] == "pytorch2lean.bench.v1" and data["quick"] is True
    assert data["threads"]["requested"] == 1 and data["threads"]["onnxruntime"] == 1
    assert data["versions"]["numpy"] == np.__version__
    rows = data["rows"]
    assert rows and all(set(row) == ROW_KEYS for row in rows)
    for row in rows:
        if row["peer_s"] is not None:  # a timed comparison: the ratio of the two medians
            assert row["ours_s"] > 0 and row["peer_s"] > 0
            assert row["ratio"] == pytest.approx(row["ours_s"] / row["peer_s"])
        else:  # a peer that did not run says why
            assert row["ratio"] is None and row["note"]
        assert "disagrees" not in row["note"] and "failed" not in row["note"] and "REJECTED" not in row["note"]
    forward = {(row["task"], row["net"], row["peer"]) for row in rows if row["task"].startswith("forward")}
    nets = ["conv_small"] + (["acasxu_1_1", "mnistfc_256x2"] if SHARED.is_dir() else [])
    assert {(f"forward b={b}", net, "onnxruntime") for b in BATCHES for net in nets} <= forward
    if SHARED.is_dir():
        bounds = [row for row in rows if row["task"] in METHODS]
        assert {row["task"] for row in bounds} == set(METHODS)
        assert all(row["widths"]["ours"] > 0 and row["peak_mib"] > 0 for row in bounds)
        replays = [row for row in rows if row["task"].startswith("exact replay")]
        assert {row["task"] for row in replays} == {"exact replay (ibp)", "exact replay (crown)"}
        assert all(row["peer"].endswith("bound pass (ours)") and row["ratio"] > 0 for row in replays)
    table = md.read_text().splitlines()
    assert table[2] == "| " + " | ".join(COLUMNS) + " |" and len(table) == 4 + len(rows)
    assert "threads: 1 requested" in table[0]
    assert "ours/peer" in r.stdout  # the rich table


def test_output_paths_are_checked_before_any_work(tmp_path: Path) -> None:
    r = bench("--quick", "--json", str(tmp_path / "missing" / "b.json"))
    assert r.returncode == 1 and "does not exist" in r.stderr and "forward" not in r.stderr


def test_runners_take_turns() -> None:
    calls: list[str] = []
    medians = interleaved({"ours": lambda: calls.append("ours"), "peer": lambda: calls.append("peer")}, reps=3, inner=2)
    assert calls == ["ours", "ours", "peer", "peer"] * 3
    assert set(medians) == {"ours", "peer"} and all(t.wall >= 0 and t.cpu >= 0 for t in medians.values())


def test_conv_net_runs_alike_in_onnxruntime_torch_and_ours() -> None:
    """The bench's own conv net and op-for-op torch translation: checked here against onnxruntime
    too, so a wrong translation cannot pass as a fast peer."""
    ort = pytest.importorskip("onnxruntime")
    net = _load("conv_small", conv_net_onnx())
    x = np.random.default_rng(0).standard_normal((3,) + net.graph.inputs[0].shape).astype(np.float32)
    ours = execute(net.graph, {"x": x})[net.graph.outputs[0]].reshape(3, -1)
    session = ort.InferenceSession(net.onnx, providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"x": x.reshape(3, 1, 28, 28)})[0], ours, rtol=1e-5, atol=1e-5)
    pytest.importorskip("torch")
    run, label = _torch_runner(net)
    assert run is not None, label
    np.testing.assert_allclose(run(x).reshape(3, -1), ours, rtol=1e-5, atol=1e-5)
