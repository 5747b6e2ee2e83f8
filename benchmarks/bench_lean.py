"""Export and Lean-check time of real models: how long `export` + `lean-check` take, and how big the
emitted Lean is, for the MLP example and ACAS Xu 1_1 (13k parameters, one exact example theorem).

    python benchmarks/bench_lean.py [--shared PATH]

Cold runs (a fresh project each time, the library compiled with it), with the time per module
from the build driver. Our goal is under a minute for ACAS Xu on a 2-core machine; the numbers
depend on the machine and its load, which is why they live here and not in a test.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from pytorch2lean.frontends import load_graph
from pytorch2lean.ir import Graph
from pytorch2lean.lean import export_project, lean_check
from pytorch2lean.lean.toolchain import find_toolchain
from pytorch2lean.model import load_model
from pytorch2lean.resources import example_dir

DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared"


def models(shared: Path) -> list[tuple[str, Graph, np.ndarray, bytes]]:
    """(name, graph, example input, bytes the checkpoint digest is taken of) for each model found."""
    mlp = example_dir("mlp")
    loaded = load_model(mlp / "model.p2l", mlp / "weights.npz")
    out = [("mlp example", loaded.graph, np.load(mlp / "x.npy"), (mlp / "weights.npz").read_bytes())]
    acas = shared / "benchmarks" / "vnncomp2021" / "acasxu" / "ACASXU_run2a_1_1_batch_2000.onnx"
    if acas.exists():
        graph = load_graph(acas)
        x = np.array([0.6, -0.3, 0.1, 0.45, -0.45], np.float32).reshape(graph.inputs[0].shape)
        out.append(("ACAS Xu 1_1", graph, x, acas.read_bytes()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    args = parser.parse_args()
    console = Console()
    toolchain = find_toolchain()
    if toolchain is None:
        console.print("no Lean toolchain found (set PYTORCH2LEAN_LEAN or put lean on PATH): nothing to measure")
        return
    table = Table("model", "params", "Model.lean KB", "export s", "lean-check s", "slowest module")
    for name, graph, x, raw in models(args.shared):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            project = export_project(graph, Path(tmp) / "p", checkpoint_sha256=hashlib.sha256(raw).hexdigest(),
                                     examples=[x])
            exported = time.perf_counter()
            result = lean_check(project, toolchain=toolchain)
            checked = time.perf_counter()
            if not result.ok:
                console.print(result.report())
                raise SystemExit(f"{name}: the Lean check failed")
            size = sum(p.stat().st_size for p in project.rglob("Model.lean")) / 1024
            slowest = max(result.modules, key=lambda m: m.seconds)
            table.add_row(name, str(sum(p.size for p in graph.params)), f"{size:.1f}", f"{exported - start:.1f}",
                          f"{checked - exported:.1f}", f"{slowest.module} {slowest.seconds:.1f} s")
    console.print(table)


if __name__ == "__main__":
    main()
