"""The question a user asks of a model: input boxes and a property of its first output, built from
a VNN-LIB file, an explicit box, or a robustness ball (`verify` answers it, `check` holds
certificates to it).

A query is one model, one or more input boxes (a VNN-LIB file may state several) and one claim
about the output (none for an explicit box: its output bounds are what is proven).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..ir.graph import Graph, Input
from ..numeric.float32 import require_finite
from .box import Box
from .property import Property
from .vnnlib import load_vnnlib


@dataclass(frozen=True)
class Query:
    """Input boxes (flat or shaped) and the property of the model's first output."""

    boxes: tuple[Box, ...]
    prop: Property | None
    description: str



def vnnlib_query(graph: Graph, path: Path) -> Query:
    spec = load_vnnlib(path)
    size = _input_size(graph)
    if spec.num_inputs != size:
        raise UserError(f"{path}: the property declares {spec.num_inputs} inputs, the model's input has {size}")
    return Query(spec.input_boxes, spec.output_property, f"{path.name}: {len(spec.input_boxes)} input box(es)")


def box_query(graph: Graph, lower: np.ndarray, upper: np.ndarray) -> Query:
    shape = single_input(graph).shape
    for name, a in (("lower", lower), ("upper", upper)):
        if a.size != _input_size(graph):
            raise UserError(f"--box {name} bound has shape {list(a.shape)}, the model's input has shape {list(shape)}")
    box = Box(_exact(lower), _exact(upper), shape)
    return Query((box,), None, "an explicit input box")


def robustness_query(graph: Graph, center: np.ndarray, eps: str, label: int) -> Query:
    shape = single_input(graph).shape
    if center.size != _input_size(graph):
        raise UserError(f"--input has shape {list(center.shape)}, the model's input has shape {list(shape)}")
    box = Box.linf_ball(center.astype(np.float32).reshape(shape), eps)
    classes = math.prod(graph.shapes()[graph.outputs[0]])
    if classes < 2 or not 0 <= label < classes:
        raise UserError(f"--label {label}: the output {graph.outputs[0]!r} has {classes} classes; give a label from 0 to "
                        f"{classes - 1}" if classes >= 2 else f"--label: the output {graph.outputs[0]!r} has 1 element; "
                        "robustness needs at least 2 classes")
    return Query((box,), Property.robustness(label, classes), f"L∞ ball of radius {eps}, label {label}")


def single_input(graph: Graph) -> Input:
    """The model's one input (verification answers questions about one-input models)."""
    if len(graph.inputs) != 1:
        raise UserError(f"verification needs a one-input model; this one has {len(graph.inputs)} inputs")
    if graph.inputs[0].ids:
        raise UserError(f"input {graph.inputs[0].name!r} holds token ids; questions are asked of the network after "
                        "its embedding lookups (pytorch2lean.ir.embeddings.after_lookups, as verify does)")
    return graph.inputs[0]


def _input_size(graph: Graph) -> int:
    return int(np.prod(single_input(graph).shape))


def _exact(a: np.ndarray) -> tuple[Fraction, ...]:
    flat = np.asarray(a, dtype=np.float64).reshape(-1)
    require_finite(flat, "box bound", "an input box needs finite bounds")
    return tuple(Fraction(float(v)) for v in flat)
