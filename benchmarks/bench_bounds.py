"""Bound methods side by side: time and tightness of IBP, CROWN and alpha-CROWN on VNN-COMP 2021 nets.

    python benchmarks/bench_bounds.py [--shared PATH] [--nets N] [--props N]

For each instance (ACAS Xu nets with properties 1-4, mnistfc 256x2 and 256x4 with a few
properties) and each method, the float pass (`bounds.verify(..., exact=False)`) is timed, and its
output bounds are summarised by their mean width (alpha-CROWN optimises only the claim's rows, so
its output bounds equal CROWN's; its gain shows in the verdict); the verdict says whether the method
proves the property. auto_LiRPA runs the same inputs when it can be imported, and the ratios (ours / peer,
time and width) are measured in the same run; when it cannot be imported the output says why.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pytorch2lean.bench import lirpa_runner, mean_width
from pytorch2lean.bounds import verify
from pytorch2lean.frontends.onnx_import import load_onnx
from pytorch2lean.ir import Graph
from pytorch2lean.spec import Box, Property, load_vnnlib

METHODS = ("ibp", "crown", "alpha")
DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared"


def instances(shared: Path, nets: int, props: int) -> list[tuple[Path, Path]]:
    acas = shared / "benchmarks" / "vnncomp2021" / "acasxu"
    mnist = shared / "benchmarks" / "vnncomp2021" / "mnistfc"
    out = [(acas / f"ACASXU_run2a_1_{n}_batch_2000.onnx", acas / f"prop_{p}.vnnlib")
           for n in range(1, nets + 1) for p in range(1, 5)]
    out += [(mnist / f"mnist-net_{size}.onnx", mnist / f"prop_{p}_0.03.vnnlib")
            for size in ("256x2", "256x4") for p in range(props)]
    return out


def ours(graph: Graph, box: Box, prop: Property, method: str) -> tuple[float, float, str]:
    """Seconds, mean output width and verdict of one float bound pass."""
    start = time.perf_counter()
    result = verify(graph, box, prop, method=method, exact=False)
    seconds = time.perf_counter() - start
    if result.certificate is None:
        return seconds, float("nan"), result.verdict
    return seconds, mean_width(result.certificate), result.verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--nets", type=int, default=2, help="ACAS Xu nets 1_1..1_N")
    parser.add_argument("--props", type=int, default=2, help="mnistfc properties 0..N-1 (eps 0.03)")
    args = parser.parse_args()
    console = Console(width=200)
    prepare, status = lirpa_runner()
    console.print(status)
    table = Table(title="bound methods (float passes)", header_style="bold")
    for col in ("net", "property", "method", "verdict", "seconds", "mean width", "peer s", "peer width",
                "time ratio", "width ratio"):
        table.add_column(col)
    for onnx, vnnlib in instances(args.shared, args.nets, args.props):
        graph = load_onnx(onnx)
        spec = load_vnnlib(vnnlib)
        box = spec.input_boxes[0].reshape(graph.inputs[0].shape)
        peer = None if prepare is None else prepare(onnx, box)
        for method in METHODS:
            seconds, width, verdict = ours(graph, box, spec.output_property, method)
            cells = ["", "", "", ""]
            if peer is not None:
                start = time.perf_counter()
                peer_w = peer(method)
                peer_s = time.perf_counter() - start
                cells = [f"{peer_s:.3f}", f"{peer_w:.4g}", f"{seconds / peer_s:.2f}", f"{width / peer_w:.3f}"]
            table.add_row(onnx.stem.removesuffix("_batch_2000").removeprefix("ACASXU_run2a_"), vnnlib.stem, method, verdict,
                          f"{seconds:.3f}", f"{width:.4g}", *cells)
    console.print(table)


if __name__ == "__main__":
    main()
