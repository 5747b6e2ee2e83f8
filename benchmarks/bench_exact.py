"""Exact arithmetic of the certificate checker against NumPy's object arrays, measured in one run.

    python benchmarks/bench_exact.py

1. Big-integer matrix products (`numeric.intmat.int_matmul`, float64 limbs on BLAS) against
   `numpy.matmul` on object arrays of Python ints: the coefficient blocks of CROWN's exact
   back-substitution (K rows of ~190-bit integers times a layer of ~40-bit scaled float32 weights).
2. A linear layer on exact rationals (`ops.base.integral_product`: scaled to integers, one
   division at the end) against `numpy.matmul` on object arrays of `Fraction`s.
3. Checking a branch-and-bound certificate (ACAS Xu 4_4, property 4, when ../shared is present):
   every leaf by a fresh `cert.check` (each builds its plan and converts the parameters again)
   against one `Checker` for the whole tree, and against the leaves spread over worker processes.
Both sides compute the same integers / rationals (the same verdict); the script asserts it before timing.
"""

from __future__ import annotations

import json
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import numpy as np
from rich.console import Console
from rich.table import Table

from pytorch2lean.bounds.bab import bab
from pytorch2lean.cert.tree import check_bab_certificate, default_jobs
from pytorch2lean.cert import check
from pytorch2lean.cert.format import loads
from pytorch2lean.frontends.onnx_import import load_onnx
from pytorch2lean.numeric.intmat import int_matmul
from pytorch2lean.spec import parse_vnnlib
from pytorch2lean.ops.base import integral_product


def best_of(f: Callable[[], Any], repeat: int = 3) -> float:
    """The least wall time of `repeat` runs: the one least disturbed by other load."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def ints(rng: np.random.Generator, shape: tuple[int, ...], bits: int, shift: int = 0) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    out.flat[:] = [int(v) << shift for v in rng.integers(-(2**bits), 2**bits, size=int(np.prod(shape)))]
    return out


def main() -> None:
    rng = np.random.default_rng(0)
    console = Console()
    table = Table("product", "numpy object s", "ours s", "speed-up")
    for k_rows, width in [(100, 50), (100, 256), (512, 256), (64, 784)]:
        a, w = ints(rng, (k_rows, width), 40, shift=150), ints(rng, (width, width), 40)
        w.flags.writeable = False  # a layer's weights, as the checker holds them
        assert (int_matmul(a, w) == np.matmul(a, w)).all()
        peer, ours = best_of(lambda: np.matmul(a, w)), best_of(lambda: int_matmul(a, w))
        table.add_row(f"ints ({k_rows}x{width}) @ ({width}x{width})", f"{peer:.4f}", f"{ours:.4f}", f"{peer / ours:.1f}x")
    for width in (50, 256):
        x = np.array([[Fraction(int(v), 2**24) for v in rng.integers(-2**24, 2**24, size=784)]], dtype=object)
        w = np.array([[Fraction(int(v), 2**30) for v in row] for row in rng.integers(-2**24, 2**24, size=(784, width))],
                     dtype=object)
        assert (integral_product(np.matmul, x, w) == np.matmul(x, w)).all()
        peer, ours = best_of(lambda: np.matmul(x, w), 1), best_of(lambda: integral_product(np.matmul, x, w), 1)
        table.add_row(f"Fractions (1x784) @ (784x{width})", f"{peer:.4f}", f"{ours:.4f}", f"{peer / ours:.1f}x")
    console.print(table)
    check_rows(console)


ACAS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "vnncomp2021" / "acasxu"


def check_rows(console: Console) -> None:
    """Section 3: one split tree's exact check, three ways, on this machine's CPUs."""
    if not ACAS.is_dir():
        console.print(f"(no branch-and-bound check: {ACAS} is absent)")
        return
    graph = load_onnx(ACAS / "ACASXU_run2a_4_4_batch_2000.onnx")
    spec = parse_vnnlib((ACAS / "prop_4.vnnlib").read_text(), "prop_4.vnnlib")
    box = spec.input_boxes[0].reshape(graph.inputs[0].shape)
    found = bab(graph, box, spec.output_property, budget_s=300)
    assert found.certificate is not None, found.reason
    leaves = [loads(json.dumps(leaf)) for leaf in json.loads(found.certificate)["leaves"]]
    workers = default_jobs()
    table = Table(f"exact check of ACAS Xu 4_4 prop_4: {len(leaves)} leaves", "s", "speed-up")

    def leaf_by_leaf() -> None:
        if not all(check(graph, leaf).ok for leaf in leaves):
            raise SystemExit("a leaf certificate is rejected")

    def whole_tree(n: int) -> None:
        if not check_bab_certificate(graph, found.certificate, workers=n).ok:
            raise SystemExit("the certificate is rejected")

    fresh = best_of(leaf_by_leaf, 1)
    table.add_row("a fresh cert.check per leaf", f"{fresh:.2f}", "1.0x")
    for n in sorted({1, workers}):
        ours = best_of(lambda: whole_tree(n), 1)
        table.add_row(f"check_bab_certificate, {n} worker{'s' if n > 1 else ''}", f"{ours:.2f}", f"{fresh / ours:.1f}x")
    console.print(table)


if __name__ == "__main__":
    main()
