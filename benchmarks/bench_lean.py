"""Export and Lean-check time of real models: how long `export` + `lean-check` take, and how big the
emitted Lean is, for the MLP example, ACAS Xu 1_1 (13k parameters, one exact example theorem) and
the VNN-COMP 2021 mnistfc nets 256x2 and 256x4 (269k and 401k parameters, no example theorem: exact
evaluation of that many multiply-adds in the kernel is out of reach); and how long Lean takes to
read one long parameter literal, as one numeral (the form before `joinChunks`) and as
`packed_literal` writes it.

    python benchmarks/bench_lean.py [--shared PATH] [--part all|models|literals]

Cold runs: a fresh project each time, its modules compiled afresh (a build cache of this run
only, holding the library compiled once up front), with the time per module from the build driver. Wall seconds depend on the machine and its load
(CPU seconds, of all Lean processes, less so), which is why they live here and not in a test.
Our goals: under a minute for ACAS Xu and under two for mnistfc 256x4 on a 2-core machine.

Measured on the shared 2-core machine under load 5 to 8 (wall 2 to 3 times CPU). Hex digits per
parameter (8 per float32): mnistfc 256x4 1,605,632 (784 x 256), 3 x 524,288 (256 x 256), 20,480
(10 x 256), biases 2,048 and 80; ACAS Xu at most 20,000. Reading one literal, CPU seconds: one
numeral (before `joinChunks`) of 12.5k / 25k / 50k / 100k hex digits 0.13 / 0.33 / 1.2 / 4.4,
quadratic, so mnistfc's 1.6M digits would take about 1,100 s and its `lean-check` never finished;
as `packed_literal` writes them 100k / 400k / 1.6M digits 0.11 / 0.27 / 0.91.
`lean-check`, wall / Lean CPU / `Model` wall / `Theorems` wall, in seconds:
ACAS Xu 1_1 72 / 19 / 1.2 / 70; mnistfc 256x2 80 / 33 / 3.6 / 76; mnistfc 256x4 112 / 51 / 3.4 / 108
(peak memory 3.8 GB). Without an example theorem `Theorems` is all `paramsDecode` (`wellFormed`
and `outputShapes` take 0.05 s each): the kernel checks the words at about 0.12 ms of CPU each.
Before `tensorOk` checked the words without building their list: 256x2 139 / 56 / 5.0 / 118,
256x4 262 / 85 / 6.7 / 255, peak memory 7.3 GB.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from pytorch2lean.frontends import load_graph
from pytorch2lean.ir import Graph
from pytorch2lean.lean import export_project, lean_check
from pytorch2lean.lean.build import check_source
from pytorch2lean.lean.encode import nat_hex, packed_f32, packed_literal
from pytorch2lean.lean.toolchain import Toolchain, find_toolchain
from pytorch2lean.model import load_model
from pytorch2lean.resources import example_dir

DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared"
ONE_NUMERAL_DIGITS = (12_500, 25_000, 50_000, 100_000)  # beyond 100k one numeral takes minutes
CHUNKED_DIGITS = (100_000, 400_000, 1_605_632)  # 1_605_632: mnistfc's first layer, 784 x 256 floats


@dataclass(frozen=True)
class Case:
    """A model to export and check: its graph, example inputs and the bytes its digest is taken of."""

    name: str
    graph: Graph
    examples: list[np.ndarray]
    raw: bytes


def models(shared: Path) -> list[Case]:
    """Each model found: the MLP example always, the VNN-COMP nets when `shared` holds them."""
    mlp = example_dir("mlp")
    loaded = load_model(mlp / "model.p2l", mlp / "weights.npz")
    out = [Case("mlp example", loaded.graph, [np.load(mlp / "x.npy")], (mlp / "weights.npz").read_bytes())]
    vnn = shared / "benchmarks" / "vnncomp2021"
    acas = vnn / "acasxu" / "ACASXU_run2a_1_1_batch_2000.onnx"
    if acas.exists():
        graph = load_graph(acas)
        x = np.array([0.6, -0.3, 0.1, 0.45, -0.45], np.float32).reshape(graph.inputs[0].shape)
        out.append(Case("ACAS Xu 1_1", graph, [x], acas.read_bytes()))
    for width in ("256x2", "256x4"):
        path = vnn / "mnistfc" / f"mnist-net_{width}.onnx"
        if path.exists():
            out.append(Case(f"mnistfc {width}", load_graph(path), [], path.read_bytes()))
    return out


def children_cpu() -> float:
    """CPU seconds (user + system) of finished child processes so far: the Lean processes."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_models(console: Console, shared: Path, toolchain: Toolchain, cache: Path) -> None:
    table = Table("model", "params", "largest param hex digits", "Model.lean KB", "export s", "lean-check s",
                  "Lean CPU s", "Model s", "Theorems s")
    for case in models(shared):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            project = export_project(case.graph, Path(tmp) / "p", checkpoint_sha256=hashlib.sha256(case.raw).hexdigest(),
                                     examples=case.examples)
            exported = time.perf_counter()
            cpu = children_cpu()
            result = lean_check(project, toolchain=toolchain, library_cache=cache)
            checked = time.perf_counter()
            if not result.ok:
                console.print(result.report())
                raise SystemExit(f"{case.name}: the Lean check failed")
            size = sum(p.stat().st_size for p in project.rglob("Model.lean")) / 1024
            digits = max(len(nat_hex(packed_f32(p.array))) - 2 for p in case.graph.params)
            seconds = {m.module.rsplit(".", 1)[-1]: m.seconds for m in result.modules if not m.module.startswith("Pytorch2Lean")}
            table.add_row(case.name, str(sum(p.size for p in case.graph.params)), str(digits), f"{size:.0f}",
                          f"{exported - start:.1f}", f"{checked - exported:.1f}", f"{children_cpu() - cpu:.1f}",
                          f"{seconds['Model']:.1f}", f"{seconds['Theorems']:.1f}")
    console.print(table)


def bench_literals(console: Console, toolchain: Toolchain, work: Path) -> None:
    """Seconds for Lean to read (parse, elaborate, kernel-check) `def p : Nat := ...` alone."""
    table = Table("form", "hex digits", "read s", "Lean CPU s")
    rng = random.Random(0)
    forms = [("one numeral", nat_hex, d) for d in ONE_NUMERAL_DIGITS] + [("packed_literal", packed_literal, d) for d in CHUNKED_DIGITS]
    for name, write, digits in forms:
        n = rng.getrandbits(4 * digits) | 1 << (4 * digits - 1)
        text = f"import Pytorch2Lean\nopen Pytorch2Lean\n\nnoncomputable def p : Nat := {write(n)}\n"
        cpu = children_cpu()
        result = check_source(text, work, toolchain=toolchain)
        if not result.ok:
            console.print(result.report())
            raise SystemExit(f"{name} of {digits} digits: Lean refused it")
        check = next(m for m in result.modules if m.module == "Check")
        table.add_row(name, str(digits), f"{check.seconds:.2f}", f"{children_cpu() - cpu:.2f}")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--part", choices=("all", "models", "literals"), default="all")
    args = parser.parse_args()
    console = Console(width=200)
    toolchain = find_toolchain()
    if toolchain is None:
        console.print("no Lean toolchain found (set PYTORCH2LEAN_LEAN or put lean on PATH): nothing to measure")
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        check_source("import Pytorch2Lean\n", work, toolchain=toolchain)  # the library, compiled once into work/oleans
        if args.part in ("all", "literals"):
            bench_literals(console, toolchain, work)
        if args.part in ("all", "models"):
            bench_models(console, args.shared, toolchain, work / "oleans")


if __name__ == "__main__":
    main()
