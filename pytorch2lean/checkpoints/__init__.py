"""Checkpoints: named tensors from `.npz`, `.safetensors` and PyTorch files, bound to a graph.

No reader executes code from the file: `.npz` is loaded with pickling off, `.safetensors` holds
no code, and PyTorch pickles (`.pt`, `.pth`, `.bin`) go through an unpickler that admits only
tensor-rebuilding globals (`torch_pickle.ALLOWED_GLOBALS`). torch itself is never imported.
A Hugging Face sharded checkpoint is named by its index (`model.safetensors.index.json`,
`pytorch_model.bin.index.json`, see `sharded`), and a Hugging Face model folder by itself: it
stands for the checkpoint file in it that transformers reads first (`HF_FILES`).

Nested dicts are flattened into dotted names, and binding finds the model's parameters under a
training script's wrapper (`state_dict.`, `model.`) or a `module.` prefix (`select`), saying
which it chose.

A file is read into memory once; its sha256 is taken from those same bytes, so the digest that
`load_checkpoint` returns is the digest of exactly what was parsed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import CheckpointError
from ..ir.graph import Graph
from .bind import bind
from .npz import read_npz
from .safetensors_file import read_safetensors
from .select import select
from .sharded import INDEX_SUFFIX, read_sharded
from .torch_file import read_torch

READERS: dict[str, Callable[[bytes, str], dict[str, np.ndarray]]] = {
    ".npz": read_npz,
    ".safetensors": read_safetensors,
    ".pt": read_torch,
    ".pth": read_torch,
    ".bin": read_torch,
}

HF_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")

__all__ = ["HF_FILES", "READERS", "Checkpoint", "bind", "load_checkpoint", "load_tensors", "read_checkpoint"]


@dataclass(frozen=True)
class Checkpoint:
    """A graph bound from a checkpoint, the checkpoint's sha256, and which wrapper or prefix held
    the parameters when the names did not match as saved (None when they did)."""

    graph: Graph
    sha256: str
    note: str | None = None


def load_tensors(path: str | Path) -> dict[str, np.ndarray]:
    """name -> array for the checkpoint at `path`, chosen by its suffix (see `READERS`).

    Arrays keep the file's dtype, except bfloat16, which NumPy lacks: it becomes float32, exactly.
    Nested dicts of a PyTorch file give dotted names (`{'state_dict': {'fc.weight': t}}` gives
    `state_dict.fc.weight`).
    """
    return _read(checkpoint_file(Path(path)))[0]


def read_checkpoint(graph: Graph, path: str | Path) -> Checkpoint:
    """`graph` with its parameters bound from the checkpoint at `path` (see the module doc)."""
    file = checkpoint_file(Path(path))
    tensors, sha256 = _read(file)
    chosen = select(graph, tensors, source=str(file))
    notes = ([f"{path}: a model folder; reading {file.name}"] if file != Path(path) else []) + [chosen.note or ""]
    return Checkpoint(bind(graph, chosen.tensors, source=str(file)), sha256, "; ".join(filter(None, notes)) or None)


def checkpoint_file(path: Path) -> Path:
    """`path`, or for a Hugging Face model folder the first of `HF_FILES` in it."""
    if not path.is_dir():
        return path
    found = [path / name for name in HF_FILES if (path / name).is_file()]
    if not found:
        raise CheckpointError(f"{path}: a folder given as a checkpoint must hold one of {', '.join(HF_FILES)}")
    return found[0]


def load_checkpoint(graph: Graph, path: str | Path) -> tuple[Graph, str]:
    """`read_checkpoint` as a (bound graph, the checkpoint's sha256 in hex) pair."""
    checkpoint = read_checkpoint(graph, path)
    return checkpoint.graph, checkpoint.sha256


def _read(path: Path) -> tuple[dict[str, np.ndarray], str]:
    if path.name.lower().endswith(INDEX_SUFFIX):
        return read_sharded(path, _bytes, READERS)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise CheckpointError(
            f"{path}: unknown checkpoint suffix {path.suffix!r}; expected one of {sorted(READERS)} or a sharded '*{INDEX_SUFFIX}'"
        )
    data = _bytes(path)
    return reader(data, str(path)), hashlib.sha256(data).hexdigest()


def _bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read the checkpoint: {e.strerror or e}") from None
