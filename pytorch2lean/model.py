"""Loading a model for the CLI: a model file (DSL, ONNX, IR JSON) plus an optional checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import UserError
from .ir.graph import Graph


@dataclass(frozen=True)
class LoadedModel:
    """A validated graph and, when a checkpoint bound it, that checkpoint's sha256 and the note
    saying under which wrapper key or prefix it held the parameters (None when the names matched)."""

    graph: Graph
    source: Path
    checkpoint: Path | None = None
    checkpoint_sha256: str | None = None
    checkpoint_note: str | None = None


def load_model(model: str | Path, checkpoint: str | Path | None = None, *,
               input_shape: tuple[int, ...] | None = None, fallback_shape: tuple[int, ...] | None = None,
               fallback_ids: bool = False) -> LoadedModel:
    """Parse and validate `model`, then bind parameters from `checkpoint` when one is given.

    `model` is a file (.p2l, .onnx, .json) or a PyTorch factory `path/to/model.py:factory` /
    `package.module:factory`, traced with torch.export (`input_shape` overrides its example;
    `fallback_shape` serves a module without one, as int64 token ids first when `fallback_ids`).
    """
    path = Path(model)
    if is_torch_spec(str(model)):
        from .frontends.torch_export import load_torch

        graph = load_torch(str(model), input_shape=input_shape, fallback_shape=fallback_shape, fallback_ids=fallback_ids)
    else:
        from .frontends import load_graph

        if not _exists(path, "model"):
            raise UserError(f"{path}: no such model file")
        graph = load_graph(path)
    if checkpoint is None:
        return LoadedModel(graph, path)
    from .checkpoints import read_checkpoint

    ckpt = Path(checkpoint)
    if not _exists(ckpt, "checkpoint"):
        raise UserError(f"{ckpt}: no such checkpoint file")
    bound = read_checkpoint(graph, ckpt)
    return LoadedModel(bound.graph, path, ckpt, bound.sha256, bound.note)


def _exists(path: Path, what: str) -> bool:
    """Whether `path` exists; a path the system will not look up (a name longer than the file
    system allows) is a user error naming it, not an OSError."""
    try:
        return path.exists()
    except OSError as e:
        raise UserError(f"{path}: cannot open the {what} file ({e.strerror or e})") from None


def is_torch_spec(model: str) -> bool:
    """`file.py:factory` or `module:factory` (and not an existing file whose name has a colon)."""
    head, sep, tail = model.rpartition(":")
    if not (sep and head and tail.isidentifier()):
        return False
    try:
        return not Path(model).exists()
    except OSError:  # a name the system will not look up is no existing file
        return True
