"""Binding checkpoint tensors to a graph's parameters: by name, shape-checked, float32-exact.

The IR holds float32 bits, so a tensor binds only when its values ARE float32 values: float32
itself; float16 and bfloat16 (every such value is a float32, so the conversion is exact);
float64 only when every element is exactly a float32 (a float64 checkpoint of a float32 model).
Anything else — a float64 that would round, an integer tensor — is refused rather than
silently rounded or reinterpreted. NaN and Inf are refused with the parameter and index.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ..errors import CheckpointError
from ..ir.graph import Graph, Param
from ..numeric.float32 import exact_float32


def bind(graph: Graph, tensors: Mapping[str, np.ndarray], *, source: str) -> Graph:
    """`graph` with every parameter bound to the tensor of the same name (`source` names the file).

    Parameters fixed by the model's code (`graph.constants`) keep their values unless the
    checkpoint has them; BatchNorm's integer step counters are skipped.
    Raises CheckpointError for a missing parameter, a tensor the model does not have, a wrong
    shape (naming a transposed one as such), a dtype that is not exactly float32, NaN or Inf.
    """
    fixed = (graph.param(name) for name in graph.constants)
    tensors = {**{p.name: p.array for p in fixed if p.bound}, **tensors}
    missing = [p.name for p in graph.params if p.name not in tensors]
    if missing:
        raise CheckpointError(f"{source}: no tensor for parameter(s) {missing} of the model")
    extra = sorted(n for n in set(tensors) - graph.param_names if not _bookkeeping(n, tensors[n]))
    if extra:
        raise CheckpointError(f"{source}: tensor(s) {extra} are not parameters of the model")
    return graph.with_params({p.name: _bound(p, tensors[p.name], source) for p in graph.params})


def _bookkeeping(name: str, tensor: np.ndarray) -> bool:
    """PyTorch BatchNorm's integer `num_batches_tracked` counter: training state, unused in eval."""
    return name.rsplit(".", 1)[-1] == "num_batches_tracked" and np.asarray(tensor).dtype.kind in "iu"


def _bound(param: Param, tensor: np.ndarray, source: str) -> Param:
    where = f"{source}: parameter {param.name!r}"
    array = np.asarray(tensor)
    if array.shape != param.shape:
        raise CheckpointError(f"{where}: {_shape_mismatch(list(array.shape), list(param.shape))}")
    try:
        return Param.of_array(param.name, exact_float32(array))
    except ValueError as e:
        raise CheckpointError(f"{where}: {e}") from None


def _shape_mismatch(got: list[int], want: list[int]) -> str:
    if len(got) == 2 and got[::-1] == want:
        return f"looks transposed: checkpoint has {got}, model expects {want}"
    return f"checkpoint has shape {got}, model expects {want}"
