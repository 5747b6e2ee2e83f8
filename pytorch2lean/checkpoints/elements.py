"""Element types of checkpoint tensors and the exact decoding of their raw bytes.

Checkpoint formats name element types in their own words (torch's `FloatStorage` and
`torch.float32`, safetensors' `F32`); each reader maps its words onto one `Element` here, so the
byte decoding lives in one place. Decoding never rounds: every element comes back with its own
value. bfloat16 has no NumPy dtype, so it decodes to float32 — exactly, because a bfloat16 is
the upper half of the float32 with the same value (sign, 8 exponent bits, 7 fraction bits).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Element:
    """One element type: its name and the NumPy dtype that lays out its bytes (little-endian)."""

    name: str
    layout: str  # NumPy type code without byte order, e.g. "f4"; bfloat16 is laid out as "u2"

    @property
    def itemsize(self) -> int:
        return np.dtype(self.layout).itemsize

    def dtype(self, byteorder: str) -> np.dtype:
        """The NumPy dtype of the stored bytes in `byteorder` ("little" or "big")."""
        return np.dtype(self.layout).newbyteorder("<" if byteorder == "little" else ">")

    def decode(self, stored: np.ndarray) -> np.ndarray:
        """A new native-endian contiguous array of the values of stored elements (bfloat16 -> float32)."""
        if self.name == "bfloat16":
            return (stored.astype(np.uint32, order="C") << 16).view(np.float32)
        return stored.astype(np.dtype(self.layout), order="C")


ELEMENTS: dict[str, Element] = {
    e.name: e
    for e in (
        Element("float64", "f8"),
        Element("float32", "f4"),
        Element("float16", "f2"),
        Element("bfloat16", "u2"),
        Element("int64", "i8"),
        Element("int32", "i4"),
        Element("int16", "i2"),
        Element("int8", "i1"),
        Element("uint64", "u8"),
        Element("uint32", "u4"),
        Element("uint16", "u2"),
        Element("uint8", "u1"),
        Element("bool", "b1"),
    )
}
