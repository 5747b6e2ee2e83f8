"""`.safetensors` files, parsed by the `safetensors` package (an optional dependency).

`safetensors.deserialize` validates the header (offsets, sizes, dtype names) and hands back
each tensor's raw little-endian bytes; we decode them with `elements`, which also covers BF16
(the package's NumPy API cannot, NumPy having no bfloat16).
"""

from __future__ import annotations

import numpy as np

from ..errors import CheckpointError
from .elements import ELEMENTS

DTYPES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8",
    "U64": "uint64", "U32": "uint32", "U16": "uint16", "U8": "uint8", "BOOL": "bool",
}


def read_safetensors(data: bytes, where: str) -> dict[str, np.ndarray]:
    """The named tensors of a `.safetensors` file's bytes (bfloat16 decoded exactly to float32)."""
    try:
        import safetensors
    except ImportError:
        raise CheckpointError(
            f"{where}: reading .safetensors needs the 'safetensors' package (pip install 'pytorch2lean[safetensors]')"
        ) from None
    try:
        entries = safetensors.deserialize(data)
    except safetensors.SafetensorError as e:
        raise CheckpointError(f"{where}: not a readable .safetensors file (truncated or corrupt?): {e}") from None
    return {name: _tensor(name, entry, where) for name, entry in entries}


def _tensor(name: str, entry: dict, where: str) -> np.ndarray:
    if entry["dtype"] not in DTYPES:
        raise CheckpointError(f"{where}: tensor {name!r} has dtype {entry['dtype']}, which is not supported")
    element = ELEMENTS[DTYPES[entry["dtype"]]]
    shape = tuple(int(d) for d in entry["shape"])
    raw = bytes(entry["data"])
    if len(raw) != element.itemsize * int(np.prod(shape, dtype=np.int64)):
        raise CheckpointError(f"{where}: tensor {name!r} of shape {list(shape)} has {len(raw)} bytes of {element.name}")
    return element.decode(np.frombuffer(raw, dtype=element.dtype("little")).reshape(shape))
