"""The corpus table: every model of examples/corpus/models.py lowered, run and compared with torch
eager, and (with --lean) exported and checked by Lean.

    python benchmarks/bench_corpus.py [--lean] [--timeout S] [--only NAME ...]

Columns: parameters, IR nodes, lowered (or the first refusal), max |ours - torch| relative to the
output's scale on 4 random inputs (images, token ids or embeddings), seconds of our NumPy run and of torch eager on them, lowering
seconds, and with --lean the export seconds, Lean-check wall seconds (cold, a fresh project; the Lean
library itself cached) and CPU seconds (user + system of every `lean`, which the load of a shared machine
does not inflate), the CPU seconds of the parameter decoding modules (`Params`, `Params/Part<k>`) and of the
structural theorems (`Theorems`: well-formedness, shapes, causality), the largest peak memory of one module,
and the size of Model.lean. Lean checks that exceed --timeout are reported as such. The `hf_*` models
need transformers. Times depend on the machine and its load, which is why they live here.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from pytorch2lean.errors import UserError
from pytorch2lean.frontends.torch_export import load_torch
from pytorch2lean.runtime import execute

MODELS = Path(__file__).resolve().parents[1] / "examples" / "corpus" / "models.py"


def corpus() -> Any:
    spec = importlib.util.spec_from_file_location("corpus_models", MODELS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(name: str, build: Any, lean: bool, timeout: float) -> list[str]:
    """One table row for the corpus model `name`."""
    start = time.perf_counter()
    try:
        graph = load_torch(f"{MODELS}:{name}")
    except UserError as e:
        return [name, "", "", f"no: {str(e)[:120]}"]
    lowered = time.perf_counter() - start
    module = build()
    spec, seed = graph.inputs[0], torch.Generator().manual_seed(1)
    xs = (torch.randint(*spec.id_range, (4,) + spec.shape, generator=seed) if spec.ids
          else torch.randn((4,) + spec.shape, generator=seed))  # token ids: drawn from the whole vocabulary
    start = time.perf_counter()
    ours = execute(graph, {graph.inputs[0].name: xs.numpy()})[graph.outputs[0]]
    ran = time.perf_counter() - start
    with torch.no_grad():
        start = time.perf_counter()
        theirs = np.stack([module(x).numpy() for x in xs])
        eager = time.perf_counter() - start
    relative = np.abs(ours - theirs).max() / np.abs(theirs).max()
    row = [name, f"{sum(p.array.size for p in graph.params):,}", str(len(graph.nodes)), "yes", f"{relative:.1e}",
           f"{ran:.3f}", f"{eager:.3f}", f"{lowered:.1f}"]
    return row + (lean_columns(graph, xs[0].numpy(), timeout) if lean else [])


def lean_columns(graph: Any, example: np.ndarray, timeout: float) -> list[str]:
    """Export seconds, Lean-check seconds (or the failure) and Model.lean size of a fresh project."""
    from pytorch2lean.lean import export_project, lean_check

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        project = export_project(graph, Path(tmp) / "p", checkpoint_sha256="random initialisation")
        exported = time.perf_counter() - start
        size = sum(p.stat().st_size for p in project.rglob("Model.lean")) / 2**20
        start = time.perf_counter()
        try:
            result = lean_check(project, timeout=timeout)
        except UserError as e:
            return [f"{exported:.1f}", f"error: {str(e)[:60]}", "", "", "", "", f"{size:.2f}"]
        verdict = f"{time.perf_counter() - start:.1f}" if result.ok else "failed"
        cpu = sum(m.cpu_seconds for m in result.modules)
        decode = sum(m.cpu_seconds for m in result.modules if ".Params" in m.module)  # Params and Params.Part<k>
        structure = sum(m.cpu_seconds for m in result.modules if m.module.endswith(".Theorems"))
        peak = max(m.peak_mib for m in result.modules) / 1024
        return [f"{exported:.1f}", verdict, f"{cpu:.1f}", f"{decode:.1f}", f"{structure:.1f}", f"{peak:.2f}", f"{size:.2f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lean", action="store_true", help="also export each model and check it with Lean")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per Lean check")
    parser.add_argument("--only", nargs="*", default=None, help="corpus model names")
    args = parser.parse_args()
    models = corpus().CORPUS
    columns = ["model", "params", "nodes", "lowered", "max diff / scale", "ours s", "torch s", "lower s"]
    columns += ["export s", "lean-check s", "CPU s", "decode CPU s", "structure CPU s", "peak GiB", "Model.lean MiB"] \
        if args.lean else []
    table, console = Table(*columns), Console(width=200)
    for name in args.only or sorted(models):
        row = measure(name, models[name], args.lean, args.timeout)
        console.print(" | ".join(row), markup=False, highlight=False)  # a long run shows each row as it lands
        table.add_row(*row)
    console.print(table)


if __name__ == "__main__":
    main()
