"""Sharded checkpoints: a Hugging Face `*.index.json` and the shard files beside it.

The index (`model.safetensors.index.json`, `pytorch_model.bin.index.json`) is JSON with a
`weight_map` from tensor name to shard file name. Each shard is read by the reader of its suffix
(so no code runs here either), and must hold exactly the tensors the index gives it: a name the
index lists but its shard lacks, or a tensor a shard holds that the index does not list, means
the files do not belong together and is refused. Shard names must be plain file names in the
index's folder, so an index cannot point the reader elsewhere on disk.

The checkpoint's sha256 covers every byte read: it is the sha256 of the text `sha256sum` prints
for the index and the shards, sorted by file name ("<hex>  <name>\n" per file), so
`sha256sum $(ls INDEX SHARDS | sort) | sha256sum` reproduces it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from ..errors import CheckpointError

Reader = Callable[[bytes, str], dict[str, np.ndarray]]
INDEX_SUFFIX = ".index.json"


def read_sharded(index: Path, read_bytes: Callable[[Path], bytes], readers: Mapping[str, Reader]) -> tuple[dict[str, np.ndarray], str]:
    """The tensors of the sharded checkpoint whose index is `index`, and its sha256 (see the module doc)."""
    data = read_bytes(index)
    shards = _shard_map(data, str(index))
    tensors: dict[str, np.ndarray] = {}
    digests = {index.name: hashlib.sha256(data).hexdigest()}
    for shard, names in sorted(shards.items()):
        path = index.parent / shard
        reader = readers.get(path.suffix.lower())
        if reader is None:
            raise CheckpointError(f"{index}: shard {shard!r} has an unknown suffix; expected one of {sorted(readers)}")
        raw = read_bytes(path)
        digests[shard] = hashlib.sha256(raw).hexdigest()
        tensors.update(_check_shard(reader(raw, str(path)), names, index, shard))
    listing = "".join(f"{digests[name]}  {name}\n" for name in sorted(digests))
    return tensors, hashlib.sha256(listing.encode()).hexdigest()


def _shard_map(data: bytes, where: str) -> dict[str, set[str]]:
    """shard file name -> the tensor names the index assigns to it."""
    try:
        index = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{where}: not a readable JSON index ({e})") from None
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise CheckpointError(f"{where}: a sharded checkpoint index needs a 'weight_map' from tensor names to shard file names")
    shards: dict[str, set[str]] = {}
    for name, shard in weight_map.items():
        if shard in ("", ".", "..") or Path(shard).name != shard or "\\" in shard:
            raise CheckpointError(f"{where}: tensor {name!r} maps to {shard!r}, not a file name in the index's folder")
        shards.setdefault(shard, set()).add(name)
    return shards


def _check_shard(tensors: dict[str, np.ndarray], names: set[str], index: Path, shard: str) -> dict[str, np.ndarray]:
    missing, unlisted = sorted(names - set(tensors)), sorted(set(tensors) - names)
    if missing:
        raise CheckpointError(f"{index}: the index puts {missing[:5]} in {shard!r}, which does not hold them")
    if unlisted:
        raise CheckpointError(f"{index}: shard {shard!r} holds {unlisted[:5]}, which the index does not list there")
    return tensors
