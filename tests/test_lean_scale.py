"""Scale: the ACAS Xu network (13k parameters) exports and checks, with one exact example theorem.

How long it takes is measured by `benchmarks/bench_lean.py`, not asserted here: a timed test
fails on a loaded machine and proves nothing about the code."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from pytorch2lean.lean import export_project, lean_check
from pytorch2lean.lean.toolchain import find_toolchain

TOOLCHAIN = find_toolchain()
ACAS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "vnncomp2021" / "acasxu" / "ACASXU_run2a_1_1_batch_2000.onnx"


@pytest.mark.slow
@pytest.mark.skipif(TOOLCHAIN is None, reason="no Lean toolchain (set PYTORCH2LEAN_LEAN or install one)")
@pytest.mark.skipif(not ACAS.exists(), reason=f"{ACAS} not found (../shared benchmarks absent)")
def test_acas_xu_exports_and_checks(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    from pytorch2lean.frontends import load_graph

    graph = load_graph(ACAS)
    x = np.array([0.6, -0.3, 0.1, 0.45, -0.45], np.float32).reshape(graph.inputs[0].shape)
    project = export_project(graph, tmp_path / "acas", checkpoint_sha256=hashlib.sha256(ACAS.read_bytes()).hexdigest(),
                             examples=[x])
    result = lean_check(project, toolchain=TOOLCHAIN)
    assert result.ok, result.report()
    assert any(t.endswith("example0") for t in result.axioms)
