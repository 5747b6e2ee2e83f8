"""Checkpoints: named tensors from `.npz`, `.safetensors` and PyTorch files, bound to a graph.

No reader executes code from the file: `.npz` is loaded with pickling off, `.safetensors` holds
no code, and PyTorch pickles go through an unpickler that admits only tensor-rebuilding globals
(`torch_pickle.ALLOWED_GLOBALS`). torch itself is never imported.

A file is read into memory once; its sha256 is taken from those same bytes, so the digest that
`load_checkpoint` returns is the digest of exactly what was parsed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import CheckpointError
from ..ir.graph import Graph
from .bind import bind
from .npz import read_npz
from .safetensors_file import read_safetensors
from .torch_file import read_torch

READERS: dict[str, Callable[[bytes, str], dict[str, np.ndarray]]] = {
    ".npz": read_npz,
    ".safetensors": read_safetensors,
    ".pt": read_torch,
    ".pth": read_torch,
    ".bin": read_torch,
}

__all__ = ["READERS", "bind", "load_checkpoint", "load_tensors"]


def load_tensors(path: str | Path) -> dict[str, np.ndarray]:
    """name -> array for the checkpoint at `path`, chosen by its suffix (see `READERS`).

    Arrays keep the file's dtype, except bfloat16, which NumPy lacks: it becomes float32, exactly.
    For PyTorch files, a dict with a "state_dict" or "model_state_dict" entry is unwrapped to it.
    """
    return _read(Path(path))[0]


def load_checkpoint(graph: Graph, path: str | Path) -> tuple[Graph, str]:
    """`graph` with its parameters bound from the checkpoint at `path`, and the file's sha256 (hex)."""
    tensors, sha256 = _read(Path(path))
    return bind(graph, tensors, source=str(path)), sha256


def _read(path: Path) -> tuple[dict[str, np.ndarray], str]:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise CheckpointError(f"{path}: unknown checkpoint suffix {path.suffix!r}; expected one of {sorted(READERS)}")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read the checkpoint: {e.strerror or e}") from None
    return reader(data, str(path)), hashlib.sha256(data).hexdigest()
