"""An independent reference for op kernels: one ONNX node run by onnxruntime."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install 'pytorch2lean[onnx]')")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'pytorch2lean[onnx]')")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def run_onnx_op(
    op_type: str,
    inputs: Sequence[np.ndarray],
    attrs: Mapping[str, Any] | None = None,
    initializers: Mapping[str, np.ndarray] | None = None,
    opset: int = 17,
) -> np.ndarray:
    """Run `op_type` on float32 `inputs` (fed at run time) then `initializers` (constant operands).

    Operands are passed to the node in that order: runtime inputs first, then initializers in the
    mapping's order. An initializer named "" is an omitted optional operand.
    """
    initializers = dict(initializers or {})
    names = [f"in{k}" for k in range(len(inputs))]
    graph_inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(a.shape)) for n, a in zip(names, inputs)]
    inits = [numpy_helper.from_array(np.asarray(a), name) for name, a in initializers.items() if name]
    node = helper.make_node(op_type, names + list(initializers), ["out"], **dict(attrs or {}))
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, None)
    model = helper.make_model(
        helper.make_graph([node], "op", graph_inputs, [out], initializer=inits),
        opset_imports=[helper.make_opsetid("", opset)],
    )
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {n: np.asarray(a, dtype=np.float32) for n, a in zip(names, inputs)})[0]
