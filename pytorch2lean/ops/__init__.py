"""The op registry: one module per op family, each registering its `OpSpec`s on import.

Every module in this package is imported here, so adding an op is adding one module (plus its
Lean case); nothing else lists the ops.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..errors import GraphError
from .base import REGISTRY, OpSpec

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name != "base":
        importlib.import_module(f"{__name__}.{_info.name}")


def get(tag: str) -> OpSpec:
    """The spec of an op tag; an unknown tag is a GraphError listing the known ones."""
    try:
        return REGISTRY[tag]
    except KeyError:
        raise GraphError(f"unknown op {tag!r}; known ops: {', '.join(sorted(REGISTRY))}") from None


__all__ = ["REGISTRY", "OpSpec", "get"]
