"""NumPy `.npz` archives: one array per name, read with pickling disabled.

`numpy.load(..., allow_pickle=False)` refuses object arrays, whose bytes are a pickle and could
run code; such an array is reported by name.
"""

from __future__ import annotations

import io
import tokenize
import zipfile
import zlib

import numpy as np

from ..errors import CheckpointError

_CORRUPT = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, SyntaxError, tokenize.TokenError,
            NotImplementedError, RuntimeError)
"""What NumPy and zipfile raise on a corrupt archive: besides the obvious, an array header with an
unclosed bracket (TokenError), an unknown compression method (NotImplementedError) and a member
flagged as encrypted (RuntimeError). Each is caught around reading the file only."""


def read_npz(data: bytes, where: str) -> dict[str, np.ndarray]:
    """The named arrays of an `.npz` file's bytes, each with the dtype it was saved with."""
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
    except _CORRUPT as e:
        raise CheckpointError(f"{where}: not a readable .npz archive (truncated or corrupt?): {e}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise CheckpointError(f"{where}: holds a single .npy array, not an .npz archive of named arrays")
    with archive:
        return {name: _array(archive, name, where) for name in archive.files}


def _array(archive: np.lib.npyio.NpzFile, name: str, where: str) -> np.ndarray:
    try:
        return archive[name]
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise CheckpointError(
                f"{where}: array {name!r} holds Python objects (dtype=object); refused, since loading it would unpickle"
            ) from None
        raise CheckpointError(f"{where}: array {name!r} is unreadable: {e}") from None
    except _CORRUPT as e:
        raise CheckpointError(f"{where}: array {name!r} is unreadable (truncated or corrupt?): {e}") from None
