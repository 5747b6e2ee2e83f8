"""Exact arithmetic of the certificate checker against NumPy's object arrays, measured in one run.

    python benchmarks/bench_exact.py [--trees NET:PROP ...]

1. Big-integer matrix products (`numeric.intmat.int_matmul`, float64 limbs on BLAS) against
   `numpy.matmul` on object arrays of Python ints: the coefficient blocks of CROWN's exact
   back-substitution (K rows of ~190-bit integers times a layer of ~40-bit scaled float32 weights).
2. A linear layer on exact rationals (`ops.base.integral_product`: scaled to integers, one
   division at the end) against `numpy.matmul` on object arrays of `Fraction`s.
3. Checking branch-and-bound certificates (ACAS Xu 1_2 and 1_3, property 3, by default; others
   with --trees, e.g. 1_1:prop_3; when ../shared is present), in CPU seconds of this process:
   the search that writes the tree, then every leaf by one `Checker` on Fractions (the check as
   it was before cert/batch.py), against `check_bab_certificate` (leaves on limbs, cert/batch.py,
   the Fraction checker only for a leaf not accepted there), in one process.
Both sides compute the same integers / rationals (the same verdict); the script asserts it before timing.
"""

from __future__ import annotations

import argparse
import json
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import numpy as np
from rich.console import Console
from rich.table import Table

from pytorch2lean.bounds.bab import bab
from pytorch2lean.cert.check import Checker
from pytorch2lean.cert.tree import check_bab_certificate
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", nargs="*", default=["1_2:prop_3", "1_3:prop_3"],
                        help="ACAS Xu trees to check, as NET:PROP (1_1:prop_3 has about 3,000 leaves)")
    trees = parser.parse_args().trees
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
    check_rows(console, trees)


ACAS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "vnncomp2021" / "acasxu"


def cpu(f: Callable[[], Any]) -> tuple[float, Any]:
    """CPU seconds of this process for f(), and its value."""
    start = time.process_time()
    value = f()
    return time.process_time() - start, value


def check_rows(console: Console, trees: list[str]) -> None:
    """Section 3: each split tree's search and exact check, before and after cert/batch.py."""
    if not ACAS.is_dir():
        console.print(f"(no branch-and-bound check: {ACAS} is absent)")
        return
    table = Table("ACAS Xu tree", "leaves", "search s", "Fraction check s", "batched check s", "speed-up",
                  title="CPU seconds, one process")
    for name in trees:
        net, prop_name = name.split(":")
        graph = load_onnx(ACAS / f"ACASXU_run2a_{net}_batch_2000.onnx")
        spec = parse_vnnlib((ACAS / f"{prop_name}.vnnlib").read_text(), f"{prop_name}.vnnlib")
        box = spec.input_boxes[0].reshape(graph.inputs[0].shape)
        search, found = cpu(lambda: bab(graph, box, spec.output_property, budget_s=600))
        assert found.certificate is not None, found.reason
        leaves = json.loads(found.certificate)["leaves"]

        def fractions() -> bool:
            checker = Checker(graph)
            return all(checker.check(loads(json.dumps(leaf))).ok for leaf in leaves)

        before, ok_before = cpu(fractions)
        after, result = cpu(lambda: check_bab_certificate(graph, found.certificate))
        assert ok_before and result.ok, result.reason
        table.add_row(name, str(len(leaves)), f"{search:.1f}", f"{before:.1f}", f"{after:.1f}", f"{before / after:.1f}x")
    console.print(table)


if __name__ == "__main__":
    main()
