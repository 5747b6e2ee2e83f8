"""Model frontends: every model format a user can hand in becomes the same validated Graph.

`load_graph` picks the frontend by file suffix. The ONNX frontend is imported only when an
`.onnx` file is loaded, so the DSL and canonical JSON work without the `onnx` package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..errors import FrontendError, UserError
from ..ir import Graph, loads, validate
from .dsl import load_model


def _load_onnx(path: Path) -> Graph:
    from .onnx_import import load_onnx

    return load_onnx(path)


def _load_ir_json(path: Path) -> Graph:
    """Canonical IR JSON, validated like every other frontend's output; the validator's messages
    name a node or parameter, and get the file's name in front, as the DSL's and ONNX's have."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise FrontendError(f"cannot read IR file {str(path)!r}: {e}") from None
    graph = loads(text, source=str(path))
    try:
        return validate(graph)
    except UserError as e:
        raise type(e)(f"{path}: {e}") from None


_LOADERS: dict[str, Callable[[Path], Graph]] = {
    ".p2l": load_model,
    ".onnx": _load_onnx,
    ".json": _load_ir_json,
}


def load_graph(path: str | Path) -> Graph:
    """The validated graph of a model file: `.p2l` (DSL), `.onnx`, or `.json` (canonical IR)."""
    path = Path(path)
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None:
        raise FrontendError(
            f"{path}: unsupported model file suffix {path.suffix!r}; supported: {', '.join(_LOADERS)}"
        )
    return loader(path)


__all__ = ["load_graph"]
