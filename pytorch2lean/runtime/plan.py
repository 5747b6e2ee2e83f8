"""A compiled execution plan: the graph walk of the runtime, resolved once, run many times.

Walking the graph node by node costs, on every call, an op lookup, a fresh attribute dict, the
conversion of every parameter to the array module (on CuPy an upload per parameter per call) and a
dictionary that keeps every intermediate value alive until the end. A falsifier or a benchmark
runs the same graph thousands of times, so a `Plan` does that work once per (graph, array module):

- kernels and attributes are resolved, parameters converted (uploaded) once;
- nodes of parameters only are evaluated once, at compile time (constant folding);
- chains are fused: a node whose operand is the previous node's result, used by no other node and
  not an output, joins that node's step, so linear or matmul, its bias add and its activation run
  as one step and pass their values from kernel to kernel without a store;
- a pointwise op (relu) on the result of an epilogue kernel (conv2d) runs inside that kernel, on
  each block of its result while the block is in cache, not over the whole result afterwards;
- every value is dropped after the step that last reads it, so peak memory is the live set;
- result shapes are checked against the graph on the first run of each batch size.

Every step calls the ops' own kernels, in the graph's order, on the same operands (a pointwise
kernel on blocks of its operand maps each value as it would on the whole): a plan computes the very
numbers the node-by-node walk did, in float32 and (with `exact=True`) over Fractions.
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass
from types import MappingProxyType
from fractions import Fraction
from typing import Any, Callable, Mapping

import numpy as np

from .. import ops
from ..errors import UserError
from ..ir.graph import Graph, Input, Node
from ..numeric.float32 import fractions_of, require_finite

RUNNING = -1
"""An operand index of a fused call: the result of the call before it in the same step."""


@dataclass(frozen=True)
class Call:
    """One node inside a step: its kernel and attributes, where each operand comes from (a slot
    of the plan's value list, or RUNNING), and the pointwise nodes its kernel runs as its epilogue
    (`then`: their shape is the node's)."""

    node: Node
    kernel: Callable[..., Any]
    attrs: Mapping[str, Any]
    operands: tuple[int, ...]
    then: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Step:
    """A chain of calls whose last result is stored in slot `out`; `free`: the slots read for the
    last time here."""

    calls: tuple[Call, ...]
    out: int
    free: tuple[int, ...]

    @property
    def name(self) -> str:
        """The fused ops, e.g. 'matmul+add+relu'."""
        return "+".join(n.op for c in self.calls for n in (c.node,) + c.then)


class Plan:
    """A bound graph compiled for one array module; `run` evaluates it on a batch of inputs.

    Float plans (the default) run float32 on `xp` (NumPy or CuPy); exact plans run on NumPy object
    arrays of Fractions and refuse ops without an exact rational meaning (the exact evaluator).
    """

    def __init__(self, graph: Graph, xp: Any = np, *, exact: bool = False) -> None:
        if exact:
            for node in graph.nodes:
                if not ops.get(node.op).exact:
                    raise UserError(f"node {node.id!r} ({node.op}) has no exact rational meaning; "
                                    "exact evaluation needs exact ops only")
        if not graph.bound:
            unbound = next(p.name for p in graph.params if not p.bound)
            raise UserError(f"parameter {unbound!r} has no value: give a checkpoint")
        self.xp, self.exact = xp, exact
        self.inputs, self.outputs = graph.inputs, graph.outputs  # not the graph: a cached plan must not keep it alive
        self._slot: dict[str, int] = {}
        self._constants: list[Any] = []
        for p in graph.params:
            self._store(p.name, p.exact()[None] if exact else xp.asarray(p.array)[None])
        for spec in graph.inputs:
            self._store(spec.name, None)
        self.steps = tuple(self._compile(graph))
        self._checked: set[int] = set()  # batch sizes whose result shapes were checked

    def _store(self, name: str, value: Any) -> int:
        self._slot[name] = len(self._constants)
        self._constants.append(value)
        return self._slot[name]

    def _call(self, node: Node, running: str | None = None) -> Call:
        spec = ops.get(node.op)
        attrs = MappingProxyType(exact_attrs(node) if self.exact else node.attr)  # shared by every run: read-only
        operands = tuple(RUNNING if r == running else self._slot[r] for r in node.inputs)
        return Call(node, spec.kernel, attrs, operands)

    def _compile(self, graph: Graph) -> list[Step]:
        consumers: dict[str, int] = {}
        for node in graph.nodes:
            for r in node.inputs:
                consumers[r] = consumers.get(r, 0) + 1
        chains: list[list[Node]] = []
        for node in graph.nodes:
            if all(self._constant(r) for r in node.inputs):
                self._fold(node)
                continue
            tail = chains[-1][-1].id if chains else None
            fuse = (tail is not None and node.inputs.count(tail) == 1 and consumers[tail] == 1
                    and tail not in graph.outputs)
            if fuse:
                chains[-1].append(node)
            else:
                chains.append([node])
        steps, last = [], self._last_reads(chains)
        for k, chain in enumerate(chains):
            calls = [self._call(chain[0])] + [self._call(n, running=prev.id) for prev, n in zip(chain, chain[1:])]
            out = self._store(chain[-1].id, None)
            free = tuple(sorted({self._slot[r] for r, at in last.items() if at == k}))
            steps.append(Step(self._epilogues(calls), out, free))
        return steps

    def _epilogues(self, calls: list[Call]) -> tuple[Call, ...]:
        """The calls with each pointwise call that reads only the result of an epilogue kernel folded
        into that kernel's call, which runs it on each block of its result while it is in cache."""
        out: list[Call] = []
        for call in calls:
            prev = out[-1] if out else None
            if (prev is not None and not prev.then and call.operands == (RUNNING,)
                    and ops.get(prev.node.op).epilogue and ops.get(call.node.op).pointwise):
                then = functools.partial(call.kernel, self.xp, call.attrs)
                out[-1] = Call(prev.node, functools.partial(prev.kernel, then=then), prev.attrs, prev.operands,
                               (call.node,))
            else:
                out.append(call)
        return tuple(out)

    def _constant(self, name: str) -> bool:
        """A parameter, or a node folded from parameters: its value is known at compile time."""
        return name in self._slot and self._constants[self._slot[name]] is not None

    def _fold(self, node: Node) -> None:
        call = self._call(node)
        self._store(node.id, call.kernel(self.xp, call.attrs, *(self._constants[k] for k in call.operands)))

    def _last_reads(self, chains: list[list[Node]]) -> dict[str, int]:
        """For each stored value read by a step (not a constant, not a graph output, not a result
        passed on inside a chain): the last step reading it."""
        last: dict[str, int] = {}
        for k, chain in enumerate(chains):
            inside = {n.id for n in chain}
            for node in chain:
                for r in node.inputs:
                    if r not in inside and not self._constant(r) and r not in self.outputs:
                        last[r] = k
        return last

    def run(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Every output of the graph for a batch of inputs (batch axis first)."""
        self._check_names(inputs)
        values = list(self._constants)
        for spec in self.inputs:
            values[self._slot[spec.name]] = self._convert(spec, inputs[spec.name])
        batch = values[self._slot[self.inputs[0].name]].shape[0] if self.inputs else 1
        check = batch not in self._checked
        xp = self.xp
        for step in self.steps:
            y = None
            for call in step.calls:
                y = call.kernel(xp, call.attrs, *(y if k == RUNNING else values[k] for k in call.operands))
                if check:
                    for node in (call.node,) + call.then:
                        _expect(node, y, batch)
            values[step.out] = y
            for k in step.free:
                values[k] = None
        self._checked.add(batch)
        return {name: self._fresh(name, values[self._slot[name]], batch) for name in self.outputs}

    def _fresh(self, name: str, value: Any, batch: int) -> Any:
        """An output as the caller's own array: a constant (a parameter, or folded from parameters)
        is copied out of the plan, broadcast along the batch, so no caller can change the plan."""
        if not self._constant(name):
            return value
        return self.xp.array(self.xp.broadcast_to(value, (batch,) + tuple(value.shape[1:])))

    def _convert(self, spec: Input, a: Any) -> Any:
        shape = tuple(np.shape(a))
        if shape[1:] != spec.shape or len(shape) != len(spec.shape) + 1:
            raise UserError(
                f"input {spec.name!r}: expected shape [B, {', '.join(map(str, spec.shape))}] "
                f"(batch axis first), got {list(shape)}"
            )
        if spec.ids:
            return self.xp.asarray(token_ids(spec, a))
        if self.exact:
            return _exact_array(spec.name, a)
        return self.xp.asarray(np.asarray(a, dtype=np.float32))

    def _check_names(self, inputs: Mapping[str, Any]) -> None:
        missing = [i.name for i in self.inputs if i.name not in inputs]
        if missing:
            raise UserError(f"no value given for input {missing[0]!r}")
        extra = sorted(set(inputs) - {i.name for i in self.inputs})
        if extra:
            raise UserError(f"{extra[0]!r} is not an input of the model "
                            f"(inputs: {', '.join(i.name for i in self.inputs)})")


def _expect(node: Node, y: Any, batch: int) -> None:
    """A kernel's result must have the node's shape behind the batch axis (a kernel bug otherwise)."""
    if tuple(y.shape) != (batch,) + tuple(node.shape or ()):
        raise AssertionError(f"kernel of {node.op} gave shape {y.shape} for node {node.id!r}, expected {node.shape}")


def token_ids(spec: Input, a: Any) -> np.ndarray:
    """An int64 input's ids as an int64 array: an integer array (or exact integers) whose every id
    lies in the input's range; anything else is a UserError naming the input and the first bad id.
    The same ids serve float and exact plans: a lookup copies table entries, it computes nothing."""
    arr = np.asarray(a)
    if arr.dtype == object and all(isinstance(v, (int, np.integer)) or getattr(v, "denominator", None) == 1 for v in arr.flat):
        arr = np.array([int(v) for v in arr.flat], dtype=np.int64).reshape(arr.shape)
    if arr.dtype.kind not in "iu":
        raise UserError(f"input {spec.name!r} takes integer token ids; got an array of dtype {arr.dtype}")
    lo, hi = spec.id_range or (0, 0)
    bad = (arr < lo) | (arr >= hi)
    if bad.any():
        index = [int(i) for i in np.argwhere(bad)[0]]
        raise UserError(f"input {spec.name!r}: id {int(arr[tuple(index)])} at index {index} (batch axis first) is "
                        f"outside the input's id range [{lo}, {hi})")
    return arr.astype(np.int64)


def _exact_array(name: str, a: Any) -> np.ndarray:
    """An input over exact rationals: float arrays rounded to float32 first (what the float runtime
    sees), object arrays of rationals taken as the exact points they are."""
    arr = np.asarray(a)
    if arr.dtype == object:
        return np.vectorize(Fraction, otypes=[object])(arr) if arr.size else arr
    f32 = arr.astype(np.float32)
    require_finite(f32, f"input {name!r}", "exact evaluation needs finite inputs")
    return fractions_of(f32)


def exact_attrs(node: Node) -> dict[str, Any]:
    """A node's attributes with float values as the exact rationals they are (for exact kernels)."""
    return {k: _exact(v) for k, v in node.attrs}


def _exact(v: Any) -> Any:
    if isinstance(v, float):
        return Fraction(v)
    return tuple(_exact(x) for x in v) if isinstance(v, tuple) else v


_PLANS: dict[tuple[int, int], Plan] = {}


def plan_for(graph: Graph, xp: Any = np) -> Plan:
    """The float plan of `graph` on `xp`, compiled on first use and kept while the graph lives
    (graphs are immutable: their parameters are bytes)."""
    key = (id(graph), id(xp))
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = Plan(graph, xp)
        weakref.finalize(graph, _PLANS.pop, key, None)  # before the id can name another graph
    return plan
