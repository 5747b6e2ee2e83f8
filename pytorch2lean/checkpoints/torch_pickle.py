"""A restricted unpickler for PyTorch checkpoints: tensors come back, code never runs.

A pickle is a small program: `GLOBAL mod name` imports any callable and `REDUCE` calls it, which
is how a malicious checkpoint runs `os.system`. `pickle.Unpickler.find_class` is the single door
through which every global enters (GLOBAL, STACK_GLOBAL, INST and the extension registry all go
through it), so this unpickler's `find_class` looks the name up in a fixed table and raises a
CheckpointError for anything else — at the GLOBAL opcode, before any REDUCE can call it.

The table maps torch's names to stand-ins defined here, without importing torch:
  * `torch._utils._rebuild_tensor`, `_rebuild_tensor_v2`, `_rebuild_tensor_v3` build a
    `TensorRef` (storage, offset, size, stride, element type);
  * `torch._utils._rebuild_parameter`, `_rebuild_parameter_with_state` return their tensor;
  * `collections.OrderedDict` is the real one (a state_dict is an OrderedDict);
  * storage classes (`torch.FloatStorage`, ..., `torch.UntypedStorage`) and dtypes
    (`torch.float32`, ...) become `Element` markers.
Storages arrive through `persistent_load` as ('storage', storage_type, key, location, numel)
(the legacy format adds a sixth entry, view metadata, always None since torch 1.0). The bytes
are read afterwards by the container format and the views materialized by `materialize`.

The stand-ins refuse pickle's BUILD (`__setstate__` raises), so a pickle cannot rewrite them.
"""

from __future__ import annotations

import logging
import pickle
from collections import OrderedDict
from dataclasses import dataclass
from typing import IO, Any, Callable, Mapping

import numpy as np

from ..errors import CheckpointError
from .elements import ELEMENTS, Element

log = logging.getLogger(__name__)

STORAGE_CLASSES: dict[str, str] = {
    "FloatStorage": "float32",
    "DoubleStorage": "float64",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
    "UntypedStorage": "uint8",  # raw bytes; `_rebuild_tensor_v3` names the tensor's dtype
}


class Malformed(Exception):
    """A stand-in met arguments that torch never writes; `unpickle` reports it with the file name."""


class _Frozen:
    """Base of every stand-in: refuses pickle's BUILD opcode, which would otherwise set attributes."""

    def __setstate__(self, state: Any) -> None:
        raise Malformed(f"the pickle tries to set the state of {self!r}, which a tensor checkpoint never does")


@dataclass(frozen=True)
class StorageType(_Frozen):
    """A torch storage class or dtype global, standing for its element type."""

    name: str
    element: Element


@dataclass(frozen=True)
class StorageRef(_Frozen):
    """A storage named in the pickle: its record key and its size in elements of `element`."""

    key: str
    element: Element
    numel: int

    @property
    def nbytes(self) -> int:
        return self.numel * self.element.itemsize


@dataclass(frozen=True)
class TensorRef(_Frozen):
    """A tensor view: `element` values at `offset + sum(i_k * stride_k)` of a storage."""

    storage: StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]
    element: Element


@dataclass(frozen=True)
class _Rebuild(_Frozen):
    """An allowed torch rebuild function, re-implemented to build a `TensorRef`."""

    name: str
    fn: Callable[..., TensorRef]

    def __call__(self, *args: Any) -> TensorRef:
        try:
            return self.fn(*args)
        except TypeError as e:
            raise Malformed(f"{self.name} called with unexpected arguments: {e}") from None


def _count(what: str, value: Any) -> int:
    """A non-negative int (an offset or a size), or Malformed."""
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        raise Malformed(f"tensor {what} {value!r} is not a non-negative integer")
    return value


def _counts(what: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, tuple):
        raise Malformed(f"tensor {what} {value!r} is not a tuple")
    return tuple(_count(what, v) for v in value)


def _tensor(storage: Any, offset: Any, size: Any, stride: Any, element: Element | None = None) -> TensorRef:
    if not isinstance(storage, StorageRef):
        raise Malformed(f"a tensor is rebuilt from {type(storage).__name__}, not from a storage record")
    size_t, stride_t = _counts("size", size), _counts("stride", stride)
    if len(size_t) != len(stride_t):
        raise Malformed(f"tensor size {list(size_t)} and stride {list(stride_t)} differ in length")
    return TensorRef(storage, _count("storage offset", offset), size_t, stride_t, element or storage.element)


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any) -> TensorRef:
    return _tensor(storage, offset, size, stride)


def _rebuild_tensor_v2(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any, hooks: Any, metadata: Any = None) -> TensorRef:
    return _tensor(storage, offset, size, stride)


def _rebuild_tensor_v3(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any, hooks: Any, dtype: Any, metadata: Any = None) -> TensorRef:
    if not isinstance(dtype, StorageType):
        raise Malformed(f"_rebuild_tensor_v3 names dtype {dtype!r}, not a torch dtype")
    return _tensor(storage, offset, size, stride, dtype.element)


def _rebuild_parameter(data: Any, requires_grad: Any, hooks: Any, state: Any = None) -> TensorRef:
    if not isinstance(data, TensorRef):
        raise Malformed(f"a parameter is rebuilt from {type(data).__name__}, not from a tensor")
    return data


def _allowed_globals() -> dict[tuple[str, str], Any]:
    table: dict[tuple[str, str], Any] = {("collections", "OrderedDict"): OrderedDict}
    for fn in (_rebuild_tensor, _rebuild_tensor_v2, _rebuild_tensor_v3, _rebuild_parameter):
        table["torch._utils", fn.__name__] = _Rebuild(f"torch._utils.{fn.__name__}", fn)
    table["torch._utils", "_rebuild_parameter_with_state"] = _Rebuild("torch._utils._rebuild_parameter_with_state", _rebuild_parameter)
    for cls, element in STORAGE_CLASSES.items():
        table["torch", cls] = StorageType(f"torch.{cls}", ELEMENTS[element])
    table["torch.storage", "UntypedStorage"] = table["torch", "UntypedStorage"]
    for name, element in ELEMENTS.items():
        table["torch", name] = StorageType(f"torch.{name}", element)
    return table


ALLOWED_GLOBALS: Mapping[tuple[str, str], Any] = _allowed_globals()


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles only the globals in `ALLOWED_GLOBALS`; storages become `StorageRef`s in `storages`."""

    def __init__(self, file: IO[bytes], where: str) -> None:
        super().__init__(file)
        self.where = where
        self.storages: dict[str, StorageRef] = {}

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[module, name]
        except KeyError:
            raise CheckpointError(
                f"{self.where}: refusing global '{module}.{name}': a checkpoint may reference only tensor "
                "rebuild functions, storage classes, dtypes and OrderedDict (save model.state_dict(), "
                "not a pickled module or object)"
            ) from None

    def persistent_load(self, pid: Any) -> StorageRef:
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise CheckpointError(f"{self.where}: unsupported persistent id {pid!r} (only tensor storages are allowed)")
        storage_type, key, _location, numel = pid[1:5]
        if len(pid) == 6 and pid[5] is not None:
            raise CheckpointError(f"{self.where}: storage {key!r} is a pre-1.0 storage view, which is not supported")
        if not isinstance(storage_type, StorageType) or not isinstance(key, str):
            raise CheckpointError(f"{self.where}: malformed storage record {pid!r}")
        ref = StorageRef(key, storage_type.element, _count("storage size", numel))
        self.storages[key] = ref
        return ref


def unpickle(file: IO[bytes], where: str) -> tuple[Any, dict[str, StorageRef]]:
    """One pickle from `file` and the storages it names; any malformation is a CheckpointError."""
    unpickler = RestrictedUnpickler(file, where)
    try:
        return unpickler.load(), unpickler.storages
    except CheckpointError:
        raise
    except Malformed as e:
        raise CheckpointError(f"{where}: {e}") from None
    except Exception as e:  # a corrupt pickle can fail in many ways; each is the file's fault
        raise CheckpointError(f"{where}: corrupt pickle ({type(e).__name__}: {e})") from None


def tensor_tree(obj: Any, where: str) -> dict[str, TensorRef]:
    """The named tensors of an unpickled checkpoint.

    Nested dicts are flattened with "." between names, as PyTorch names submodule parameters, so
    a training checkpoint's wrapper key becomes a prefix (`{'state_dict': {'fc.weight': t}}` gives
    `state_dict.fc.weight`) that binding can find (`checkpoints.select`). Leaves that are not
    tensors (an epoch, a list of optimizer groups) are skipped and logged at INFO level.
    """
    if not isinstance(obj, dict):
        raise CheckpointError(f"{where}: holds a {type(obj).__name__}, not a dict of tensors (a state_dict)")
    tensors: dict[str, TensorRef] = {}
    _flatten(obj, "", tensors, where)
    return tensors


def _flatten(obj: dict, prefix: str, out: dict[str, TensorRef], where: str) -> None:
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, TensorRef):
            if name in out:
                raise CheckpointError(f"{where}: two tensors are named {name!r} once nested dicts are flattened")
            out[name] = value
        elif isinstance(value, dict):
            _flatten(value, f"{name}.", out, where)
        else:
            log.info("%s: ignoring %r, a %s and not a tensor", where, name, type(value).__name__)


def materialize(ref: TensorRef, storage: bytes, byteorder: str, what: str) -> np.ndarray:
    """A contiguous copy of the view `ref` of the storage bytes, bounds-checked before any read."""
    element = ref.element
    if len(storage) % element.itemsize:
        raise CheckpointError(f"{what}: storage of {len(storage)} bytes does not hold whole {element.name} elements")
    flat = np.frombuffer(storage, dtype=element.dtype(byteorder))
    if 0 in ref.size:
        return element.decode(np.empty(ref.size, dtype=flat.dtype))
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride))
    if last >= flat.size:
        raise CheckpointError(
            f"{what}: view (offset {ref.offset}, size {list(ref.size)}, stride {list(ref.stride)}) reads element "
            f"{last} of a storage holding {flat.size} {element.name} elements"
        )
    try:  # a broadcast view (stride 0) may be far larger than its storage
        view = np.lib.stride_tricks.as_strided(
            flat[ref.offset:], shape=ref.size, strides=tuple(s * flat.itemsize for s in ref.stride), writeable=False
        )
        return element.decode(view)
    except (ValueError, MemoryError) as e:
        raise CheckpointError(f"{what}: a view of size {list(ref.size)} is too large to hold in memory ({e})") from None


def materialize_all(tree: Mapping[str, TensorRef], storages: Mapping[str, bytes], byteorder: str, where: str) -> dict[str, np.ndarray]:
    """Every tensor of `tree` read from the storage bytes by key, each checked against its declared size."""
    out: dict[str, np.ndarray] = {}
    for name, ref in tree.items():
        what = f"{where}: tensor {name!r}"
        data = storages.get(ref.storage.key)
        if data is None:
            raise CheckpointError(f"{what}: its storage {ref.storage.key!r} is missing from the file")
        if len(data) != ref.storage.nbytes:
            raise CheckpointError(
                f"{what}: storage {ref.storage.key!r} holds {len(data)} bytes, the pickle declares {ref.storage.nbytes}"
            )
        out[name] = materialize(ref, data, byteorder, what)
    return out
