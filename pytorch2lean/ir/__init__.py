"""The graph IR: types, canonical JSON and digest, validation, graph views."""

from .graph import Graph, Input, Node, Param, Shape
from .serialize import digest, dumps, loads
from .validate import make_node, validate

__all__ = ["Graph", "Input", "Node", "Param", "Shape", "digest", "dumps", "loads", "make_node", "validate"]
