"""Run records: what was run, on what, with which inputs and outputs, tied to the IR digest.

A record lets anyone re-run the same IR on the same inputs and compare output hashes; the IR
digest and the checkpoint sha256 pin the model exactly.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np

from .. import __version__

FORMAT = "pytorch2lean.run.v1"


@dataclass(frozen=True)
class TensorDigest:
    """Shape, dtype and sha256 of an array's C-order little-endian bytes."""

    shape: tuple[int, ...]
    dtype: str
    sha256: str

    @staticmethod
    def of(array: np.ndarray) -> "TensorDigest":
        a = np.ascontiguousarray(array)
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        return TensorDigest(tuple(int(d) for d in a.shape), str(a.dtype), hashlib.sha256(a.tobytes()).hexdigest())


@dataclass(frozen=True)
class RunRecord:
    """One execution of a model on the runtime."""

    ir_digest: str
    checkpoint_sha256: str | None
    backend: str
    device: str
    dtype: str
    batch: int
    inputs: Mapping[str, TensorDigest]
    outputs: Mapping[str, TensorDigest]
    versions: Mapping[str, str]
    seconds: float

    def to_json(self) -> str:
        data: dict[str, Any] = {"format": FORMAT, **asdict(self)}
        return json.dumps(data, sort_keys=True, indent=2) + "\n"


def versions(xp: Any) -> dict[str, str]:
    """Versions of everything that computed the result."""
    out = {"pytorch2lean": __version__, "python": sys.version.split()[0], "numpy": np.__version__, "platform": platform.platform()}
    if xp is not np:
        out["cupy"] = xp.__version__
        out["cuda_runtime"] = str(xp.cuda.runtime.runtimeGetVersion())
    return out

