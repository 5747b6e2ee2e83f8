"""Where the data that ships with pytorch2lean lives: `lean/`, `templates/`, `examples/`.

In a source checkout they are top-level folders beside the package; an installed wheel carries
them as package data under `pytorch2lean/_data/` (see pyproject.toml). This is the one place
that knows both layouts.
"""

from __future__ import annotations

from pathlib import Path

from .errors import UserError

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder `name` (lean, templates or examples) of this installation."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise UserError(f"this pytorch2lean installation has no {name}/ folder (a broken install?)")


def example_dir(name: str) -> Path:
    """The folder of a built-in example, e.g. example_dir("mlp")."""
    d = data_dir("examples") / name
    if not d.is_dir():
        raise UserError(f"no built-in example {name!r}")
    return d
