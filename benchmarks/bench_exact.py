"""Exact arithmetic of the certificate checker against NumPy's object arrays, measured in one run.

    python benchmarks/bench_exact.py

1. Big-integer matrix products (`numeric.intmat.int_matmul`, float64 limbs on BLAS) against
   `numpy.matmul` on object arrays of Python ints: the coefficient blocks of CROWN's exact
   back-substitution (K rows of ~190-bit integers times a layer of ~40-bit scaled float32 weights).
2. A linear layer on exact rationals (`ops.base.integral_product`: scaled to integers, one
   division at the end) against `numpy.matmul` on object arrays of `Fraction`s.
Both sides compute the same integers / rationals; the script asserts equality before timing.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any, Callable

import numpy as np
from rich.console import Console
from rich.table import Table

from pytorch2lean.numeric.intmat import int_matmul
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


if __name__ == "__main__":
    main()
