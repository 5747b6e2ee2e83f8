"""The graph IR: typed inputs, named float32 parameters, op-tagged nodes, outputs.

Shapes are per-sample and exactly as the model states them (an ONNX input `[1, 784]` stays
`(1, 784)`); the runtime adds its own leading batch axis on top. Inputs, parameters and nodes
share one namespace, so a node input is just a name. Every type here is frozen: a graph is a
value, and two equal graphs have equal canonical JSON and equal digests.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Mapping

import numpy as np

from ..numeric.float32 import fractions_of

Shape = tuple[int, ...]
AttrValue = int | float | bool | str | tuple[int, ...] | tuple[float, ...]

DTYPE = "float32"
IDS = "int64"
"""The element type of an integer input: token ids, read only as the ids of an embedding lookup."""

CONSTANTS_KEY = "constants"
"""Metadata entry: space-separated names of parameters fixed by the model's code (an attention
scale, a causal mask, a scalar operand), which a checkpoint of learned weights does not hold."""


@dataclass(frozen=True)
class Input:
    """A model input: its name, per-sample shape and element type.

    An integer input (dtype `IDS`, token ids) states the half-open range `id_range` = (lo, hi) its
    values may take, as part of the input's type: the validator checks that every table it indexes
    has a row for each id in it, and the runtime refuses an id outside it, so a lookup can never
    read past a table. A float input has no range (None).
    """

    name: str
    shape: Shape
    dtype: str = DTYPE
    id_range: tuple[int, int] | None = None

    @property
    def ids(self) -> bool:
        """Whether this input holds integer token ids."""
        return self.dtype == IDS


@dataclass(frozen=True)
class Param:
    """A named float32 tensor. `data` holds its little-endian bytes (exact bits) once bound."""

    name: str
    shape: Shape
    data: bytes | None = field(default=None, repr=False)
    dtype: str = DTYPE

    @property
    def bound(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def array(self) -> np.ndarray:
        """A read-only float32 view of the bound bits."""
        if self.data is None:
            raise ValueError(f"parameter {self.name!r} is declared but has no value bound")
        a = np.frombuffer(self.data, dtype="<f4").reshape(self.shape)
        return a

    def exact(self) -> np.ndarray:
        """The values as an object array of exact Fractions (a fresh array; converted once per Param).

        Certificate checks convert the same parameters for every leaf of a split tree: the
        conversion is cached, the returned array is a copy so no caller can change the cache."""
        return self._exact.copy()

    @functools.cached_property
    def _exact(self) -> np.ndarray:
        return fractions_of(self.array)

    @staticmethod
    def of_array(name: str, array: np.ndarray) -> "Param":
        """A bound parameter holding exactly the bits of a float32 array."""
        a = np.array(array, dtype="<f4", order="C")  # ascontiguousarray would make a 0-d array 1-d
        return Param(name, tuple(int(d) for d in a.shape), a.tobytes())


@dataclass(frozen=True)
class Node:
    """One op application. `attrs` is a sorted tuple of (name, value) pairs, defaults filled in."""

    id: str
    op: str
    inputs: tuple[str, ...]
    attrs: tuple[tuple[str, AttrValue], ...] = ()
    shape: Shape | None = None  # None until shape inference fills it

    @property
    def attr(self) -> dict[str, AttrValue]:
        return dict(self.attrs)


@dataclass(frozen=True)
class Graph:
    """A model: inputs, parameters, nodes in topological order, and output names."""

    name: str
    inputs: tuple[Input, ...]
    params: tuple[Param, ...]
    nodes: tuple[Node, ...]
    outputs: tuple[str, ...]
    metadata: tuple[tuple[str, str], ...] = ()

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    @property
    def param_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.params)

    @property
    def bound(self) -> bool:
        return all(p.bound for p in self.params)

    @property
    def constants(self) -> tuple[str, ...]:
        """Parameters fixed by the model's code (see CONSTANTS_KEY)."""
        return tuple(dict(self.metadata).get(CONSTANTS_KEY, "").split())

    def shapes(self) -> dict[str, Shape]:
        """The shape of every name: inputs, parameters and nodes."""
        out: dict[str, Shape] = {i.name: i.shape for i in self.inputs}
        out.update({p.name: p.shape for p in self.params})
        out.update({n.id: n.shape for n in self.nodes})
        return out

    def with_params(self, params: Mapping[str, Param]) -> "Graph":
        """This graph with each parameter replaced by the bound one of the same name."""
        return replace(self, params=tuple(params.get(p.name, p) for p in self.params))

    def param_count(self) -> int:
        return sum(p.size for p in self.params)

    def iter_names(self) -> Iterator[str]:
        yield from (i.name for i in self.inputs)
        yield from (p.name for p in self.params)
        yield from (n.id for n in self.nodes)


def normalize_attr(value: Any) -> AttrValue:
    """Attribute values in canonical form: lists become tuples, numpy scalars plain Python."""
    if isinstance(value, (list, tuple)):
        return tuple(normalize_attr(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value
