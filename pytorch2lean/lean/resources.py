"""The Lean library (`lean/`) and the export templates (`templates/`) of this installation.

Where they live (wheel or checkout) is decided once, by `pytorch2lean.resources.data_dir`.
"""

from __future__ import annotations

from pathlib import Path

from ..resources import data_dir


def lean_library_dir() -> Path:
    """The folder holding `Pytorch2Lean.lean` and `Pytorch2Lean/*.lean`."""
    return data_dir("lean")


def templates_dir() -> Path:
    """The folder holding the Jinja templates of an exported Lake project."""
    return data_dir("templates")

