"""Input-split branch and bound on a fixed ACAS Xu instance set: leaves, search seconds, solved.

    python benchmarks/bench_bab.py [--shared PATH] [--budget S] [--against REV] [--check N] [--only NET:PROP,...] [--json OUT]

Leaves matter twice: each proven leaf is one certificate for the exact checker and, in a Lean
theorem, one kernel-checked certificate (about 75 s each on ACAS Xu), so the leaf count is the
first column. The instances: properties 3 and 4 on nets 1_1..1_6, 2_1..2_3, 3_3, 4_5, 5_5, and
property 1 on 2_3 and 3_5 (their VNN-COMP 2021 answers are all unsat: every one should hold).
Seconds are process CPU seconds of the search alone (the machine is shared; the budget is wall time).

`--against REV` runs the search of git revision REV (its bounds/bab.py, loaded beside the current
one, with the rest of the package as it is now: meant for a revision close to the current one) on
every instance too, interleaved, so both sides are measured in the same run under the same load.
`--check N` runs the exact checker (`check_bab_certificate`) on every tree of at most N leaves
and fails loudly if one is rejected.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.table import Table

import pytorch2lean.bounds.bab as current
from pytorch2lean.cert.tree import check_bab_certificate
from pytorch2lean.frontends.onnx_import import load_onnx
from pytorch2lean.spec import load_vnnlib

DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared"
NETS = ("1_1", "1_2", "1_3", "1_4", "1_5", "1_6", "2_1", "2_2", "2_3", "3_3", "4_5", "5_5")
INSTANCES = [(net, prop) for prop in ("prop_3", "prop_4") for net in NETS] + [("2_3", "prop_1"), ("3_5", "prop_1")]


def revision_module(rev: str) -> ModuleType:
    """bounds/bab.py of git revision `rev`, imported as a sibling module of the current one."""
    root = Path(__file__).resolve().parents[1]
    text = subprocess.run(["git", "show", f"{rev}:pytorch2lean/bounds/bab.py"], cwd=root, check=True,
                          capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "bab_against.py"
    path.write_text(text)
    name = "pytorch2lean.bounds.bab_against"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run(module: ModuleType, onnx: Path, vnnlib: Path, budget: float, check: int) -> dict[str, Any]:
    """One search: verdict, leaves, CPU and wall seconds, leaf methods, and the exact check's answer."""
    graph = load_onnx(onnx)
    spec = load_vnnlib(vnnlib)
    box = spec.input_boxes[0].reshape(graph.inputs[0].shape)
    wall, cpu = time.perf_counter(), time.process_time()
    result = module.bab(graph, box, spec.output_property, budget_s=budget, split="input")
    row: dict[str, Any] = {"verdict": result.verdict, "leaves": result.leaves,
                           "cpu_s": round(time.process_time() - cpu, 2), "wall_s": round(time.perf_counter() - wall, 2)}
    if result.certificate is not None:
        methods: dict[str, int] = {}
        for leaf in json.loads(result.certificate)["leaves"]:
            methods[leaf["method"]] = methods.get(leaf["method"], 0) + 1
        row["methods"] = methods
        if result.leaves <= check:
            checked = check_bab_certificate(graph, result.certificate, box=box, prop=spec.output_property)
            if not checked.ok:
                raise SystemExit(f"{onnx.stem} {vnnlib.stem}: the exact checker rejects the tree: {checked.reason}")
            row["checked"] = True
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--budget", type=float, default=60.0, help="wall seconds per search")
    parser.add_argument("--against", help="a git revision whose search runs beside the current one")
    parser.add_argument("--check", type=int, default=0, help="exact-check trees of at most this many leaves")
    parser.add_argument("--only", help="comma-separated NET:PROP instances (default: the whole set)")
    parser.add_argument("--json", type=Path, help="write the rows as JSON lines here")
    args = parser.parse_args()
    acas = args.shared / "benchmarks" / "vnncomp2021" / "acasxu"
    chosen = INSTANCES if not args.only else [tuple(item.split(":")) for item in args.only.split(",")]
    sides = [("current", current)] + ([(args.against, revision_module(args.against))] if args.against else [])
    console = Console(width=200)
    rows: list[dict[str, Any]] = []
    for net, prop in chosen:
        for name, module in sides:
            row = {"net": net, "property": prop, "search": name,
                   **run(module, acas / f"ACASXU_run2a_{net}_batch_2000.onnx", acas / f"{prop}.vnnlib", args.budget, args.check)}
            rows.append(row)
            console.print(json.dumps(row))
    if args.json:
        args.json.write_text("".join(json.dumps(r) + "\n" for r in rows))
    everyone = {(r["net"], r["property"]) for r in rows if r["verdict"] == "holds"}
    for name, _ in sides:
        everyone &= {(r["net"], r["property"]) for r in rows if r["search"] == name and r["verdict"] == "holds"}
    table = Table(title=f"input-split branch and bound, {args.budget:g} s budget; 'common': the {len(everyone)} "
                        "instances every search solved", header_style="bold")
    for col in ("search", "solved", "leaves (common)", "CPU s (common)", "CPU s (all)"):
        table.add_column(col)
    for name, _ in sides:
        mine = [r for r in rows if r["search"] == name]
        common = [r for r in mine if (r["net"], r["property"]) in everyone]
        table.add_row(name, f"{sum(r['verdict'] == 'holds' for r in mine)}/{len(mine)}",
                      str(sum(r["leaves"] for r in common)), f"{sum(r['cpu_s'] for r in common):.1f}",
                      f"{sum(r['cpu_s'] for r in mine):.1f}")
    console.print(table)


if __name__ == "__main__":
    main()
