"""Finding a model's parameters inside a checkpoint as users save them.

Readers flatten a checkpoint into dotted names, so the wrappers of training scripts become name
prefixes: `{'state_dict': sd, 'epoch': 9, 'optimizer': ...}` gives `state_dict.conv.weight`,
`{'model': sd}` gives `model.conv.weight`, and a model saved from `nn.DataParallel` (or
`torch.compile`) adds `module.` (`_orig_mod.`) to every name. One rule covers them all: when the
names do not already match, the checkpoint's parameters are the tensors under the one dotted
prefix that holds every parameter the model learns, renamed without it; everything outside it
(optimizer state, an EMA copy under another prefix, a head the model lacks) is left out. The other
way round, a checkpoint of a wrapped model (a Hugging Face model saved alone, loaded into a module
holding it as `model`) matches once the model's own prefix is dropped from its names. The
choice is never silent (`Selection.note`), and two ways that both fit are refused rather than
guessed between.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np

from ..errors import CheckpointError
from ..ir.graph import Graph


@dataclass(frozen=True)
class Selection:
    """The tensors to bind, by the model's names, and what was chosen to get them (None: the names matched)."""

    tensors: dict[str, np.ndarray]
    note: str | None = None


def select(graph: Graph, tensors: Mapping[str, np.ndarray], *, source: str) -> Selection:
    """The tensors of `tensors` that hold `graph`'s parameters (see the module doc)."""
    wanted = sorted(p.name for p in graph.params if p.name not in graph.constants)
    if all(name in tensors for name in wanted):
        return Selection(dict(tensors))
    inner = [p for p in _prefixes(tensors) if all(p + name in tensors for name in wanted)]
    outer = [p for p in _prefixes(wanted) if all(n.startswith(p) and n[len(p):] in tensors for n in wanted)]
    ways = [f"the tensors under {p!r}" for p in inner] + [f"the model's names without {p!r}" for p in outer]
    if len(ways) > 1:
        raise CheckpointError(f"{source}: the model's parameters are found in more than one way ({'; '.join(ways)}); "
                              "save the one to use alone (e.g. torch.save(ckpt['model'], ...))")
    if inner:
        return _unwrapped(tensors, inner[0], source)
    if outer:
        note = f"{source}: the checkpoint names the model's parameters without their prefix {outer[0]!r}"
        return Selection({outer[0] + name: t for name, t in tensors.items()}, note)
    return Selection(dict(tensors))  # binding names what is missing


def _unwrapped(tensors: Mapping[str, np.ndarray], prefix: str, source: str) -> Selection:
    """The tensors under `prefix`, renamed without it; the others left out, and counted in the note."""
    chosen = {name[len(prefix):]: t for name, t in tensors.items() if name.startswith(prefix)}
    left = len(tensors) - len(chosen)
    note = (f"{source}: the model's parameters are the tensors named {prefix}*, read without the prefix "
            f"{prefix!r}" + (f"; {left} other tensor(s) left out" if left else ""))
    return Selection(chosen, note)


def _prefixes(names: Iterable[str]) -> list[str]:
    """Every proper dotted prefix of the names ('a.' and 'a.b.' of 'a.b.c'), sorted."""
    found = set()
    for name in names:
        parts = name.split(".")
        found.update(".".join(parts[:k]) + "." for k in range(1, len(parts)))
    return sorted(found)
