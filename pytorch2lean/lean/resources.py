"""Where the Lean library (`lean/`) and the export templates (`templates/`) live.

An installed wheel carries both as package data (`pytorch2lean/_data/lean`, `.../templates`);
an editable checkout has them at the repository root. Every caller goes through these two
functions, so the lookup order is decided in one place.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import BackendError

_PACKAGE = Path(__file__).resolve().parents[1]
_CHECKOUT = Path(__file__).resolve().parents[2]


def _find(name: str, marker: str) -> Path:
    for base in (_PACKAGE / "_data", _CHECKOUT):
        if (base / name / marker).is_file():
            return base / name
    raise BackendError(
        f"cannot find the pytorch2lean {name}/ folder (looked in {_PACKAGE / '_data'} and {_CHECKOUT}); "
        "reinstall pytorch2lean"
    )


def lean_library_dir() -> Path:
    """The folder holding `Pytorch2Lean.lean` and `Pytorch2Lean/*.lean`."""
    return _find("lean", "Pytorch2Lean.lean")


def templates_dir() -> Path:
    """The folder holding the Jinja templates of an exported Lake project."""
    return _find("templates", "Model.lean.j2")


def library_modules() -> list[Path]:
    """The library's source files, relative to `lean_library_dir()`, in a stable order."""
    root = lean_library_dir()
    return sorted(p.relative_to(root) for p in root.rglob("*.lean"))
