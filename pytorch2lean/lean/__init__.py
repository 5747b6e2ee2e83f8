"""The Lean side: export a graph as a Lake project, and check such a project with Lean."""

from .build import LeanCheckResult, lean_check
from .emit import export_project
from .toolchain import find_toolchain

__all__ = ["LeanCheckResult", "export_project", "find_toolchain", "lean_check"]
