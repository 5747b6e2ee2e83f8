"""PyTorch `.pt`/`.pth`/`.bin` files, read without torch and without running any code.

Two containers carry the same pickle (see `torch_pickle`):
  * the zip archive of `torch.save` since torch 1.6: `<dir>/data.pkl` (the object pickle),
    `<dir>/data/<key>` (one record of raw bytes per storage) and `<dir>/byteorder` ("little" or
    "big"; absent in old files, which were little-endian);
  * the legacy stream (`_use_new_zipfile_serialization=False`): five pickles in a row — magic
    number, protocol version, system info, the object, the sorted list of storage keys — then,
    for each key, an 8-byte little-endian element count followed by the storage's raw
    little-endian bytes.
"""

from __future__ import annotations

import io
import zipfile
import zlib

import numpy as np

from ..errors import CheckpointError
from .torch_pickle import StorageRef, materialize_all, tensor_tree, unpickle

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
ZIP_SIGNATURE = b"PK\x03\x04"


def read_torch(data: bytes, where: str) -> dict[str, np.ndarray]:
    """The tensors of a PyTorch checkpoint's bytes (`where` names the file in messages)."""
    if data.startswith(ZIP_SIGNATURE):
        try:  # the central directory is read here: a member name flagged UTF-8 that is not is a ValueError
            archive = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as e:
            raise CheckpointError(f"{where}: not a readable zip archive (truncated or corrupt?): {e}") from None
        try:
            with archive:
                return _read_zip(archive, where)
        except (zipfile.BadZipFile, zlib.error, EOFError) as e:
            raise CheckpointError(f"{where}: not a readable zip archive (truncated or corrupt?): {e}") from None
    return _read_legacy(io.BytesIO(data), where)


def _read_zip(archive: zipfile.ZipFile, where: str) -> dict[str, np.ndarray]:
    names = set(archive.namelist())
    pickles = sorted(n for n in names if n.count("/") == 1 and n.endswith("/data.pkl"))
    if len(pickles) != 1:
        raise CheckpointError(f"{where}: a PyTorch zip archive holds one '<dir>/data.pkl', found {len(pickles)}")
    prefix = pickles[0][: -len("data.pkl")]
    obj, _ = unpickle(io.BytesIO(_member(archive, pickles[0], where)), f"{where} ({pickles[0]})")
    tree = tensor_tree(obj, where)
    records = {key: f"{prefix}data/{key}" for key in {ref.storage.key for ref in tree.values()}}
    storages = {key: _member(archive, name, where) for key, name in records.items() if name in names}
    return materialize_all(tree, storages, _byteorder(archive, f"{prefix}byteorder", names, where), where)


def _member(archive: zipfile.ZipFile, name: str, where: str) -> bytes:
    """The bytes of one archive member. Its local header and data are read only here, and zipfile
    has more ways to fail on them than BadZipFile: a negative seek (ValueError), an unknown
    compression method (NotImplementedError), a member flagged as encrypted (RuntimeError)."""
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as e:
        raise CheckpointError(f"{where}: not a readable zip archive (truncated or corrupt?): member {name!r}: {e}") from None


def _byteorder(archive: zipfile.ZipFile, name: str, names: set[str], where: str) -> str:
    if name not in names:
        return "little"
    order = _member(archive, name, where)
    if order not in (b"little", b"big"):
        raise CheckpointError(f"{where}: byteorder record says {order[:20]!r}, expected 'little' or 'big'")
    return order.decode("ascii")


def _read_legacy(stream: io.BytesIO, where: str) -> dict[str, np.ndarray]:
    try:
        magic, _ = unpickle(stream, where)
    except CheckpointError as e:
        reason = str(e).removeprefix(f"{where}: ")
        raise CheckpointError(f"{where}: neither a PyTorch zip archive nor a legacy PyTorch file ({reason})") from None
    if magic != MAGIC_NUMBER:
        raise CheckpointError(f"{where}: neither a PyTorch zip archive nor a legacy PyTorch file (no magic number)")
    protocol, _ = unpickle(stream, where)
    if protocol != PROTOCOL_VERSION:
        raise CheckpointError(f"{where}: legacy protocol version {protocol!r}, expected {PROTOCOL_VERSION}")
    unpickle(stream, where)  # system info: sizes of C types, endianness of the saving machine
    obj, seen = unpickle(stream, where)
    keys, _ = unpickle(stream, where)
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        raise CheckpointError(f"{where}: the storage key list is malformed: {keys!r:.80}")
    storages = {key: _legacy_storage(stream, seen, key, where) for key in keys}
    return materialize_all(tensor_tree(obj, where), storages, "little", where)


def _legacy_storage(stream: io.BytesIO, seen: dict[str, StorageRef], key: str, where: str) -> bytes:
    """One storage's bytes after its 8-byte element count, both checked against the pickle."""
    if key not in seen:
        raise CheckpointError(f"{where}: storage {key!r} is listed but no tensor in the pickle names it")
    ref = seen[key]
    head = stream.read(8)
    count = int.from_bytes(head, "little")
    if len(head) < 8 or count != ref.numel:
        raise CheckpointError(f"{where}: storage {key!r} should start with its element count {ref.numel}, found {head!r}")
    data = stream.read(ref.nbytes)
    if len(data) < ref.nbytes:
        raise CheckpointError(f"{where}: storage {key!r} needs {ref.nbytes} bytes, the file ends after {len(data)} (truncated?)")
    return data
