"""Syntax tree to a validated Graph, with every error pointing at the text that caused it.

Names are resolved in two passes: the first collects every definition (so "defined twice" can
name both places and "used before its definition" can say where the definition is), the second
lowers statements in order. Checks that need op knowledge (arity, parameter-only operands,
shapes) are left to `validate`, the single source of those rules; its errors name a node,
parameter, input or output, which is mapped back to the statement that introduced it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np

from ... import ops
from ...errors import GraphError, ParseError, UserError
from ...ir.graph import AttrValue, Graph, Input, Node, Param
from ...ir.validate import make_node, validate
from .syntax import Apply, Decl, Kwarg, Meta, Module, Name, Outputs, Source, Span

# Which DSL literal kinds each attribute kind accepts: an integer is a fine float, never the reverse.
_ACCEPTS: Mapping[str, frozenset[str]] = {
    "int": frozenset({"int"}),
    "float": frozenset({"int", "float"}),
    "bool": frozenset({"bool"}),
    "str": frozenset({"str"}),
    "ints": frozenset({"ints"}),
    "floats": frozenset({"ints", "floats"}),
}
_KIND_WORDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "str": 'a "string"',
    "ints": "a list of integers",
    "floats": "a list of numbers",
}


def lower(module: Module, source: Source) -> Graph:
    """The validated graph of a parsed model file (parameters declared, not yet bound)."""
    return _Lowering(source, _definitions(module, source)).run(module)


def _definitions(module: Module, source: Source) -> dict[str, Span]:
    """Where each name is defined; a second definition is an error naming the first."""
    defined: dict[str, Span] = {}
    for stmt in module.statements:
        name = stmt.name if isinstance(stmt, Decl) else stmt.target if isinstance(stmt, Apply) else None
        if name is None:
            continue
        if name.text in defined:
            first = defined[name.text]
            raise source.error(
                GraphError, name.span, f"name {name.text!r} is defined twice (first at {source.name}:{first.line}:{first.column})"
            )
        defined[name.text] = name.span
    return defined


@dataclass
class _Lowering:
    """One pass over the statements, in order, building the graph's parts."""

    source: Source
    definitions: dict[str, Span]
    inputs: list[Input] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    outputs: dict[str, Span] = field(default_factory=dict)
    meta_values: dict[str, str] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)
    anchors: dict[str, Span] = field(default_factory=dict)  # message prefix of `validate` -> place

    def run(self, module: Module) -> Graph:
        for stmt in module.statements:
            self._statement(stmt)
        if not self.outputs:
            raise self.source.error(GraphError, module.name.span, f"model {module.name.text!r} has no `output` statement")
        graph = Graph(
            name=module.name.text,
            inputs=tuple(self.inputs),
            params=tuple(self.params),
            nodes=tuple(self.nodes),
            outputs=tuple(self.outputs),
            metadata=tuple(sorted(self.meta_values.items())),
        )
        try:
            return validate(graph)
        except UserError as e:
            raise self._located(e) from None

    def _statement(self, stmt: Decl | Apply | Outputs | Meta) -> None:
        if isinstance(stmt, Decl):
            self._declare(stmt)
        elif isinstance(stmt, Apply):
            self._apply(stmt)
        elif isinstance(stmt, Outputs):
            for name in stmt.names:
                self._output(name)
        else:
            self._meta(stmt)

    def _declare(self, decl: Decl) -> None:
        name = decl.name.text
        if decl.keyword == "input":
            self.inputs.append(Input(name, decl.shape))
        else:
            self.params.append(Param(name, decl.shape))
        self.anchors[f"{'parameter' if decl.keyword == 'param' else 'input'} {name!r}"] = decl.name.span
        self.known.add(name)

    def _apply(self, apply: Apply) -> None:
        spec = self._op(apply.op)
        operands: list[str] = []
        attrs: dict[str, AttrValue] = {}
        for arg in apply.args:
            if isinstance(arg, Kwarg):
                self._attr(spec, arg, attrs)
            elif attrs:
                raise self.source.error(ParseError, arg.span, f"operand {arg.text!r} comes after an attribute; write operands first")
            else:
                operands.append(self._resolve(arg))
        node_id = apply.target.text
        try:
            node = make_node(node_id, spec.tag, operands, attrs)
        except GraphError as e:
            raise self.source.error(GraphError, apply.op.span, str(e)) from None
        self.nodes.append(Node(node.id, node.op, node.inputs, node.attrs, apply.shape))
        self.anchors[f"node {node_id!r} ("] = apply.op.span
        self.known.add(node_id)

    def _op(self, op: Name) -> ops.OpSpec:
        if op.text not in ops.REGISTRY:
            raise self.source.error(GraphError, op.span, f"unknown op {op.text!r}{_suggest(op.text, ops.REGISTRY)}")
        return ops.REGISTRY[op.text]

    def _attr(self, spec: ops.OpSpec, kwarg: Kwarg, attrs: dict[str, AttrValue]) -> None:
        key, value = kwarg.name, kwarg.value
        if key.text not in spec.attrs:
            known = ", ".join(sorted(spec.attrs)) or "none"
            raise self.source.error(
                GraphError, key.span, f"{spec.tag} has no attribute {key.text!r}{_suggest(key.text, spec.attrs)} (attributes: {known})"
            )
        if key.text in attrs:
            raise self.source.error(GraphError, key.span, f"attribute {key.text!r} is given twice")
        kind = spec.attrs[key.text].kind
        if value.kind not in _ACCEPTS[kind]:
            raise self.source.error(
                GraphError, value.span, f"attribute {key.text!r} of {spec.tag} must be {_KIND_WORDS[kind]}, got {_KIND_WORDS[value.kind]}"
            )
        if kind in ("float", "floats") and not _fits_float32(value.value):
            raise self.source.error(ParseError, value.span, f"attribute {key.text!r}: {value.value!r} is out of the float32 range")
        attrs[key.text] = value.value

    def _resolve(self, ref: Name) -> str:
        """A name used as an operand: it must be defined above this line."""
        if ref.text in self.known:
            return ref.text
        raise self._undefined(ref)

    def _undefined(self, ref: Name) -> UserError:
        later = self.definitions.get(ref.text)
        if later is not None:
            return self.source.error(
                GraphError, ref.span, f"name {ref.text!r} is used before its definition at {self.source.name}:{later.line}:{later.column}"
            )
        return self.source.error(GraphError, ref.span, f"unknown name {ref.text!r}{_suggest(ref.text, self.known)}")

    def _output(self, name: Name) -> None:
        if name.text not in self.definitions:
            raise self._undefined(name)
        if name.text in self.outputs:
            raise self.source.error(GraphError, name.span, f"output {name.text!r} is listed twice")
        self.outputs[name.text] = name.span
        self.anchors[f"output {name.text!r}"] = name.span

    def _meta(self, meta: Meta) -> None:
        if meta.key.text in self.meta_values:
            raise self.source.error(GraphError, meta.key.span, f"metadata key {meta.key.text!r} is given twice")
        self.meta_values[meta.key.text] = meta.value

    def _located(self, error: UserError) -> UserError:
        """A validation error re-raised at the statement of the node/parameter/input/output it names."""
        message = str(error)
        span = next((s for prefix, s in self.anchors.items() if message.startswith(prefix)), None)
        return self.source.error(type(error), span, message)


def _suggest(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(candidates), n=3)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _fits_float32(value: AttrValue) -> bool:
    values = value if isinstance(value, tuple) else (value,)
    with np.errstate(over="ignore"):
        return all(np.isfinite(np.float32(v)) for v in values)
