"""Write each example's checkpoint (`weights.npz`) and example input (`x.npy`).

    python examples/make_checkpoints.py            # rewrite the files beside each model.p2l
    python examples/make_checkpoints.py --out DIR  # write DIR/<example>/... instead

Values come from a seeded NumPy generator, drawn by what each parameter *is* in its model (the
operand it fills: a linear weight, a batchnorm variance, ...), so the numbers are plausible: a
variance is positive, a normalization scale is near 1. Output bytes are reproducible: the .npz
is written with fixed zip timestamps and no compression, so running this again changes nothing.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from pytorch2lean import ops
from pytorch2lean.frontends.dsl import load_model
from pytorch2lean.ir import Graph

HERE = Path(__file__).resolve().parent
SEEDS = {"mlp": 1, "cnn": 2, "residual": 3, "attention": 4}
# Parameters whose value is a choice of the architecture, not a learned weight.
FIXED = {"attention": {"attn.scale": np.float32(0.5)}}  # 1 / sqrt(head width 4)
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def operand_roles(graph: Graph) -> dict[str, tuple[str, str]]:
    """(op, operand name) of each parameter's first use."""
    roles: dict[str, tuple[str, str]] = {}
    params = graph.param_names
    for node in graph.nodes:
        spec = ops.get(node.op)
        for k, ref in enumerate(node.inputs):
            if ref in params:
                roles.setdefault(ref, (node.op, spec.operand(k).name))
    return roles


def initial_value(rng: np.random.Generator, shape: tuple[int, ...], op: str, operand: str) -> np.ndarray:
    """A plausible value for a parameter filling `operand` of `op` (PyTorch-like defaults)."""
    if op in ("linear", "conv2d"):
        fan_in = int(np.prod(shape[1:])) if operand == "weight" else None
        bound = 1 / np.sqrt(fan_in) if fan_in else 0.2
        return rng.uniform(-bound, bound, shape)
    if operand == "scale":
        return 1 + 0.1 * rng.standard_normal(shape)
    if operand in ("bias", "mean"):
        return 0.1 * rng.standard_normal(shape)
    if operand == "var":
        return rng.uniform(0.5, 1.5, shape)
    raise ValueError(f"no initial value rule for operand {operand!r} of {op}")


def example_arrays(name: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The checkpoint (by parameter name) and the example input of one example."""
    graph = load_model(HERE / name / "model.p2l")
    rng = np.random.default_rng(SEEDS[name])
    roles = operand_roles(graph)
    fixed = FIXED.get(name, {})
    weights = {
        p.name: np.asarray(fixed[p.name] if p.name in fixed else initial_value(rng, p.shape, *roles[p.name]), dtype=np.float32)
        for p in graph.params
    }
    x = rng.standard_normal(graph.inputs[0].shape).astype(np.float32)
    return weights, x


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """An .npz archive (readable by np.load) whose bytes depend on the arrays only."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for key, array in arrays.items():
            archive.writestr(zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_EPOCH), npy_bytes(array))
    return buffer.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array, order="C"), allow_pickle=False)
    return buffer.getvalue()


def write_example(name: str, out: Path) -> None:
    weights, x = example_arrays(name)
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "weights.npz").write_bytes(npz_bytes(weights))
    (folder / "x.npy").write_bytes(npy_bytes(x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write <example>/weights.npz and x.npy into")
    args = parser.parse_args()
    for name in SEEDS:
        write_example(name, args.out)
        print(f"wrote {args.out / name}/weights.npz, x.npy")


if __name__ == "__main__":
    main()
