"""Execute a bound graph: float32 on NumPy/CuPy, or exactly over rationals.

Both modes run a compiled `Plan` (runtime/plan.py) that walks the same nodes with the same op
kernels. Arrays carry one leading batch axis: inputs have shape (B, *input.shape), parameters
(1, *param.shape). In exact mode every value is a NumPy object array of `Fraction`s, parameters
are their float32 values converted exactly, and an op without an exact rational meaning is an
error: the exact evaluator is the Python twin of the Lean denotation, which denotes such ops only
through a stated enclosure.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..ir.graph import Graph
from .plan import Plan, exact_attrs, plan_for

__all__ = ["evaluate_exact", "exact_attrs", "execute"]


def execute(graph: Graph, inputs: Mapping[str, Any], *, xp: Any = np) -> dict[str, Any]:
    """Run the graph in float32 on array module `xp`; returns every output, batch axis first.

    The graph's plan is compiled on the first call and reused while the graph lives.
    """
    return plan_for(graph, xp).run(inputs)


def evaluate_exact(graph: Graph, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Run the graph over exact rationals.

    Float inputs are first rounded to float32 (the model's input type, exactly what `execute`
    sees); object arrays of rationals are taken as the exact points they are.
    """
    return Plan(graph, np, exact=True).run(inputs)
