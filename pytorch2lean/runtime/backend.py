"""Array backends: NumPy on the CPU, CuPy on a CUDA GPU."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import BackendError

DEVICES = ("cpu", "cuda")


def array_module(device: str) -> Any:
    """The array module for `device`; a clear BackendError when CuPy or a GPU is missing."""
    if device == "cpu":
        return np
    if device != "cuda":
        raise BackendError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    try:
        import cupy
    except ImportError:
        raise BackendError("--device cuda needs CuPy: pip install 'pytorch2lean[gpu]'") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CuPy raises its own CUDARuntimeError when the driver is absent
        raise BackendError(f"--device cuda: no usable CUDA device ({e})") from None
    if count < 1:
        raise BackendError("--device cuda: CuPy found no CUDA device")
    return cupy


def to_numpy(xp: Any, array: Any) -> np.ndarray:
    """Bring a backend array to host memory as a NumPy array."""
    return array.get() if xp is not np else np.asarray(array)


def device_name(xp: Any) -> str:
    """A human-readable name of the device an array module computes on."""
    if xp is np:
        import platform

        return platform.processor() or platform.machine() or "cpu"
    props = xp.cuda.runtime.getDeviceProperties(xp.cuda.Device().id)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)
