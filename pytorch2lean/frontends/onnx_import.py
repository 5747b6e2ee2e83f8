"""ONNX frontend: an `.onnx` file becomes a validated Graph whose parameters are bit-exact.

Every supported ONNX node lowers to catalog ops and parameters are never rewritten: a parameter
holds exactly the bits of its initializer (float16/float64 ones only when float32 represents them
exactly), and a transposed or scaled use of one is an explicit node of the graph. Integer
tensors that ONNX feeds as shapes, axes, pads or slice bounds must be constants (initializers or
Constant nodes) and are consumed statically: the IR has fully static shapes. Anything that cannot be lowered faithfully is a FrontendError naming the
file, the node and its index; a silently different model is never produced.

Naming: a node's id is the ONNX name of the value it computes (ONNX names are unique, so no
sanitizing is needed); the extra nodes of a multi-node lowering get fresh ids `<output>/<op>`.
Parameters keep their initializer (or Constant output) names; inputs keep their ONNX names.
Identity nodes are aliases and produce no node. Nodes that no graph output depends on are skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .. import ops
from ..errors import FrontendError, GraphError, ShapeError, UserError
from ..ir.graph import Graph, Input, Node, Param, Shape
from ..ir.validate import make_node, validate
from ..numeric.float32 import exact_float32

MIN_OPSET, MAX_OPSET = 7, 22
ATTRIBUTE_TYPES: dict[str, Callable[[Any], bool]] = {  # a decoded attribute value of each ONNX type
    "INT": lambda v: isinstance(v, int),
    "FLOAT": lambda v: isinstance(v, float),
    "STRING": lambda v: isinstance(v, str),
    "INTS": lambda v: isinstance(v, tuple) and all(isinstance(x, int) for x in v),
    "FLOATS": lambda v: isinstance(v, tuple) and all(isinstance(x, float) for x in v),
    "TENSOR": lambda v: isinstance(v, np.ndarray),
}
DEFAULT_DOMAINS = ("", "ai.onnx")
FLOAT = 1  # onnx.TensorProto.FLOAT
PREV = "\0prev"  # in a chain step: the previous step's result


def load_onnx(path: str | Path) -> Graph:
    """Read an ONNX model and lower it to a validated, fully bound Graph."""
    path = Path(path)
    return _Lowering(path, _read(path)).run()


def _read(path: Path) -> Any:
    """The parsed ModelProto; an unreadable or non-ONNX file is a FrontendError."""
    try:
        import onnx
    except ImportError:
        raise FrontendError(f"{path}: reading ONNX needs the onnx package (pip install 'pytorch2lean[onnx]')") from None
    try:
        found = path.is_file()
    except OSError as e:  # a name longer than the file system allows
        raise FrontendError(f"{path}: cannot open the ONNX file ({e.strerror or e})") from None
    if not found:
        raise FrontendError(f"{path}: no such ONNX file")
    try:
        model = onnx.load(str(path))
    except Exception as e:  # protobuf decode errors and external-data errors have no common base
        raise FrontendError(f"{path}: not a readable ONNX model ({type(e).__name__}: {e})") from None
    if not model.graph.output:
        raise FrontendError(f"{path}: not a readable ONNX model (its graph has no outputs)")
    return model


@dataclass(frozen=True)
class _OnnxNode:
    """One ONNX node with its attributes decoded to Python values (strings, tuples, arrays)."""

    index: int
    op: str
    domain: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict[str, Any] = field(hash=False)

    @staticmethod
    def of(index: int, proto: Any) -> "_OnnxNode":
        from onnx import helper, numpy_helper

        attrs = {}
        for a in proto.attribute:
            value = helper.get_attribute_value(a)
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            elif isinstance(value, list):
                value = tuple(v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value)
            elif a.type == a.TENSOR:
                value = numpy_helper.to_array(value)
            attrs[a.name] = value
        name = proto.name or (proto.output[0] if proto.output else "")
        return _OnnxNode(index, proto.op_type, proto.domain, name, tuple(proto.input), tuple(proto.output), attrs)

    @property
    def out(self) -> str:
        return self.outputs[0]

    def has(self, k: int) -> bool:
        """Whether optional input k is given (ONNX marks an omitted one by an empty name)."""
        return k < len(self.inputs) and self.inputs[k] != ""

    def attr(self, key: str, default: Any = None) -> Any:
        return self.attrs.get(key, default)


class _Lowering:
    """The state of one import: values seen so far, the parameters and nodes emitted."""

    def __init__(self, path: Path, model: Any) -> None:
        self.file = str(path)
        self.model = model
        self.opset = self._opset()
        self.static: dict[str, np.ndarray] = {}  # constants: initializers and Constant outputs
        self.redirect: dict[str, str] = {}  # Identity outputs -> their source value
        self.runtime_only: dict[str, str] = {}  # non-float graph inputs -> element type name
        self.shapes: dict[str, Shape] = {}  # every IR name (input, parameter, node) -> shape
        self.params: dict[str, Param] = {}
        self.nodes: list[Node] = []
        self.inputs: list[Input] = []
        g = model.graph
        self.taken = {v for n in g.node for v in (*n.input, *n.output)} | {v.name for v in g.input}
        self.taken |= {i.name for i in g.initializer}
        self.used: set[str] = set()
        self.where = self.file

    # ---- driver ---------------------------------------------------------------------------

    def run(self) -> Graph:
        g = self.model.graph
        self._bind_initializers(g.initializer)
        self._bind_inputs(g.input)
        live = _live_nodes(g)
        self.used = {v for _, proto in live for v in proto.input} | {o.name for o in g.output}
        for index, proto in live:
            self._lower(_OnnxNode.of(index, proto))
        self.where = self.file
        outputs = tuple(self._output(o.name) for o in g.output)
        graph = Graph(
            Path(self.file).stem, tuple(self.inputs), tuple(self.params.values()), tuple(self.nodes), outputs,
            metadata=(("source", "onnx"), ("onnx_opset", str(self.opset)), ("producer", self._producer())),
        )
        try:
            return validate(graph)
        except UserError as e:
            raise FrontendError(f"{self.file}: {e}") from None

    def _opset(self) -> int:
        versions = [o.version for o in self.model.opset_import if o.domain in DEFAULT_DOMAINS]
        if not versions:
            raise FrontendError(f"{self.file}: the model imports no default-domain ONNX opset (not an ONNX model?)")
        if not MIN_OPSET <= versions[0] <= MAX_OPSET:
            raise FrontendError(
                f"{self.file}: ONNX opset {versions[0]} is not supported (supported: {MIN_OPSET}..{MAX_OPSET})"
            )
        return versions[0]

    def _producer(self) -> str:
        return f"{self.model.producer_name} {self.model.producer_version}".strip()

    def _bind_initializers(self, initializers: Sequence[Any]) -> None:
        from onnx import numpy_helper

        for init in initializers:
            try:
                self.static[init.name] = numpy_helper.to_array(init)
            except Exception as e:  # malformed tensor data of any kind
                raise FrontendError(f"{self.file}: initializer {init.name!r} is unreadable ({e})") from None

    def _bind_inputs(self, values: Sequence[Any]) -> None:
        """Graph inputs that are not initializers; float ones become IR inputs."""
        from onnx import TensorProto

        for v in values:
            if v.name in self.static:
                continue  # old exporters list initializers as inputs too: they are parameters
            if not v.type.HasField("tensor_type"):
                raise FrontendError(f"{self.file}: input {v.name!r} is not a tensor")
            tt = v.type.tensor_type
            if tt.elem_type != FLOAT:
                self.runtime_only[v.name] = TensorProto.DataType.Name(tt.elem_type)
                continue
            self.inputs.append(Input(v.name, self._input_shape(v.name, tt)))
            self.shapes[v.name] = self.inputs[-1].shape

    def _input_shape(self, name: str, tt: Any) -> Shape:
        """Static dimensions; a symbolic first (batch) dimension becomes 1."""
        if not tt.HasField("shape"):
            raise FrontendError(f"{self.file}: input {name!r} has no stated shape; pytorch2lean needs static shapes")
        dims = []
        for k, d in enumerate(tt.shape.dim):
            if d.HasField("dim_value") and d.dim_value >= 1:
                dims.append(int(d.dim_value))
            elif k == 0 and not d.HasField("dim_value"):
                dims.append(1)
            else:
                shown = d.dim_value if d.HasField("dim_value") else (d.dim_param or "unknown")
                raise FrontendError(
                    f"{self.file}: input {name!r}: dimension {k} is {shown!r}; only the first (batch) "
                    f"dimension may be symbolic (it becomes 1), the others must be positive integers"
                )
        return tuple(dims)

    def _lower(self, n: _OnnxNode) -> None:
        self.where = f"{self.file}: node '{n.name}' (index {n.index})"
        handler = HANDLERS.get(n.op) if n.domain in DEFAULT_DOMAINS else None
        if handler is None:
            op = n.op if n.domain in DEFAULT_DOMAINS else f"{n.domain}.{n.op}"
            raise self.error(f"unsupported ONNX op '{op}' (supported: {', '.join(SUPPORTED_OPS)})")
        if self.opset < SINCE.get(n.op, MIN_OPSET):
            raise self.error(f"ONNX op '{n.op}' exists from opset {SINCE[n.op]} on; this model imports opset {self.opset}")
        unknown = sorted(set(n.attrs) - set(ATTRIBUTES.get(n.op, ())))
        if unknown:
            raise self.error(f"{n.op} attribute {unknown[0]!r} is not understood by pytorch2lean")
        self._arity(n)
        self._attribute_types(n)
        for k, extra in enumerate(n.outputs[1:], start=1):
            if extra and extra in self.used:
                raise self.error(f"{n.op} output {k} ({extra!r}) is used, but only the first output is supported")
        handler(self, n)

    def _arity(self, n: _OnnxNode) -> None:
        """The node has the inputs its ONNX schema requires (none of them omitted) and no more than
        it allows: handlers index their operands by position."""
        from onnx import defs

        schema = defs.get_schema(n.op, self.opset, "")
        least, most = schema.min_input, schema.max_input
        if least <= len(n.inputs) <= most and all(n.inputs[:least]):
            return
        allowed = f"at least {least}" if most > 1000 else f"{least}" if least == most else f"{least} to {most}"
        raise self.error(f"{n.op} takes {allowed} input(s), the node has {list(n.inputs)}")

    def _attribute_types(self, n: _OnnxNode) -> None:
        """Each attribute has the type its ONNX schema gives it: handlers use an axis as an int and
        pads as ints, and a damaged or hand-made file may hold another type, or none (UNDEFINED)."""
        from onnx import defs

        schema = defs.get_schema(n.op, self.opset, "").attributes
        for key, value in n.attrs.items():
            want = schema[key].type.name if key in schema else None
            if want in ATTRIBUTE_TYPES and not ATTRIBUTE_TYPES[want](value):
                raise self.error(f"{n.op} attribute {key!r} must be of type {want}, got {value!r:.60}")

    def _output(self, name: str) -> str:
        src = self.resolve(name)
        if any(node.id == src for node in self.nodes):
            return src
        if src in self.static:
            what = "the constant"
        elif src in self.shapes or src in self.runtime_only:
            what = "the graph input"
        else:
            what = "the undefined value"
        raise FrontendError(f"{self.file}: graph output {name!r} is {what} {src!r}, not computed by any node")

    def error(self, msg: str) -> FrontendError:
        return FrontendError(f"{self.where}: {msg}")

    # ---- values ---------------------------------------------------------------------------

    def resolve(self, name: str) -> str:
        while name in self.redirect:
            name = self.redirect[name]
        return name

    def tensor(self, name: str) -> str:
        """The IR name of an operand; a float constant becomes a parameter of the same name."""
        src = self.resolve(name)
        if src in self.shapes:
            return src
        if src in self.static:
            return self.param(src, self.static[src])
        if src in self.runtime_only:
            raise self.error(f"input {name!r} has element type {self.runtime_only[src]}; only float32 values are supported")
        raise self.error(f"input {name!r} is not defined before this node (nodes must be topologically sorted)")

    def param(self, name: str, value: np.ndarray) -> str:
        try:
            array = exact_float32(value)
        except ValueError as e:
            raise self.error(f"constant {name!r}: {e}") from None
        self.params[name] = Param.of_array(name, array)
        self.shapes[name] = self.params[name].shape
        return name

    def scalar(self, n: _OnnxNode, label: str, value: float) -> str:
        """A fresh one-element parameter holding a float32 attribute (Gemm's alpha, beta)."""
        return self.param(self.fresh(f"{n.out}/{label}"), np.array([value], dtype=np.float32))

    def fresh(self, base: str) -> str:
        name, k = base, 0
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name

    def constant(self, n: _OnnxNode, k: int, what: str) -> np.ndarray:
        """The static value of input k; a value known only at run time is a FrontendError."""
        src = self.resolve(n.inputs[k])
        if src not in self.static:
            is_input = src in self.runtime_only or any(i.name == src for i in self.inputs)
            origin = "a graph input" if is_input else "computed at run time"
            raise self.error(
                f"input {k} ({what}) {n.inputs[k]!r} is {origin}; pytorch2lean needs a constant {what} "
                f"(an initializer or Constant node)"
            )
        return self.static[src]

    def ints(self, n: _OnnxNode, k: int, what: str) -> tuple[int, ...]:
        value = self.constant(n, k, what)
        if value.dtype.kind not in "iu":
            raise self.error(f"input {k} ({what}) {n.inputs[k]!r} must be an integer tensor, got {value.dtype}")
        return tuple(int(v) for v in value.reshape(-1))

    def axis(self, axis: int, rank: int, what: str = "axis") -> int:
        """An ONNX axis in [-rank, rank) as a non-negative index (IR axes are stored non-negative)."""
        if not -rank <= axis < rank:
            raise self.error(f"{what} {axis} out of range for rank {rank}")
        return axis % rank

    # ---- emission -------------------------------------------------------------------------

    def emit(self, node_id: str, op: str, inputs: Sequence[str], attrs: dict[str, Any] | None = None) -> str:
        """Append one IR node, inferring its shape now (later lowerings need it)."""
        try:
            spec = ops.get(op)
            if not spec.arity_ok(len(inputs)):
                raise GraphError(f"{len(inputs)} operands do not fit {op}'s {len(spec.operands)}")
            node = make_node(node_id, op, tuple(inputs), attrs)
            shape = spec.shape(dict(node.attrs), [self.shapes[i] for i in inputs])
        except (GraphError, ShapeError) as e:
            raise self.error(f"lowered to {op}: {e}") from None
        self.nodes.append(node)
        self.shapes[node_id] = tuple(int(d) for d in shape)
        return node_id

    def chain(self, n: _OnnxNode, steps: Sequence[tuple[str, Sequence[str], dict[str, Any]]]) -> str:
        """Emit steps in order, each may use the previous result (PREV); the last one is n.out."""
        prev = ""
        for k, (op, inputs, attrs) in enumerate(steps):
            node_id = n.out if k == len(steps) - 1 else self.fresh(f"{n.out}/{op}")
            prev = self.emit(node_id, op, [prev if i == PREV else i for i in inputs], attrs)
        return prev

    def transposed(self, n: _OnnxNode, name: str) -> str:
        """A fresh transpose node: a transposed parameter is computed, its stored bits never move."""
        return self.emit(self.fresh(f"{n.out}/transpose"), "transpose", [name], {"perm": (1, 0)})


def _live_nodes(g: Any) -> list[tuple[int, Any]]:
    """(index, node) of the nodes some graph output depends on, in file order."""
    producer = {out: k for k, node in enumerate(g.node) for out in node.output if out}
    live: set[int] = set()
    stack = [o.name for o in g.output]
    while stack:
        k = producer.get(stack.pop())
        if k is None or k in live:
            continue
        live.add(k)
        stack.extend(v for v in g.node[k].input if v)
    return [(k, node) for k, node in enumerate(g.node) if k in live]


# ---- handlers -----------------------------------------------------------------------------

Handler = Callable[[_Lowering, _OnnxNode], object]


def _simple(op: str, **defaults: Any) -> Handler:
    """An ONNX op that maps one-to-one, passing the named attributes (with ONNX defaults)."""
    def lower(lw: _Lowering, n: _OnnxNode) -> str:
        attrs = {k: n.attr(k, v) for k, v in defaults.items()}
        return lw.emit(n.out, op, [lw.tensor(v) for v in n.inputs if v], attrs)

    return lower


def _gemm(lw: _Lowering, n: _OnnxNode) -> str:
    """alpha * A' B' + beta * C, A' = A or A^T (transA), B' likewise; parameter bits never move.

    A weight B with transB=1 is already torch's (out, in) layout: `linear`, with C as its bias
    when C is a constant of shape (out,) and alpha = beta = 1. Otherwise `matmul`, with explicit
    transpose nodes, then `mul` by alpha, then `add` of C (times beta by a `mul` node).
    """
    alpha, beta = float(n.attr("alpha", 1.0)), float(n.attr("beta", 1.0))
    ta, tb = bool(n.attr("transA", 0)), bool(n.attr("transB", 0))
    a, b = lw.tensor(n.inputs[0]), lw.tensor(n.inputs[1])
    for name in (a, b):
        if len(lw.shapes[name]) != 2:
            raise lw.error(f"Gemm operand {name!r} has shape {list(lw.shapes[name])}; Gemm needs 2-D operands")
    has_c = n.has(2) and beta != 0.0
    linear = b in lw.params and tb
    fuse = has_c and linear and alpha == 1.0 and beta == 1.0 and _is_bias(lw, n.inputs[2], lw.shapes[b][0])
    a = lw.transposed(n, a) if ta else a
    steps: list[tuple[str, Sequence[str], dict[str, Any]]]
    if linear:
        steps = [("linear", [a, b, *([lw.tensor(n.inputs[2])] if fuse else [])], {})]
    else:
        steps = [("matmul", [a, lw.transposed(n, b) if tb else b], {})]
    if alpha != 1.0:
        steps.append(("mul", [PREV, lw.scalar(n, "alpha", alpha)], {}))
    if has_c and not fuse:
        c = lw.tensor(n.inputs[2])
        if beta != 1.0:
            c = lw.emit(lw.fresh(f"{n.out}/beta_C"), "mul", [c, lw.scalar(n, "beta", beta)])
        steps.append(("add", [PREV, c], {}))
    return lw.chain(n, steps)


def _is_bias(lw: _Lowering, name: str, out: int) -> bool:
    src = lw.resolve(name)
    return src in lw.static and tuple(lw.static[src].shape) == (out,)


def _conv(lw: _Lowering, n: _OnnxNode) -> str:
    x, w = lw.tensor(n.inputs[0]), lw.tensor(n.inputs[1])
    xs, ws = lw.shapes[x], lw.shapes[w]
    if len(xs) != 4 or len(ws) != 4:
        raise lw.error(f"only 2-D convolutions are supported (input {list(xs)}, weight {list(ws)})")
    kernel = tuple(ws[2:])
    if tuple(n.attr("kernel_shape", kernel)) != kernel:
        raise lw.error(f"kernel_shape {list(n.attr('kernel_shape'))} disagrees with the weight shape {list(ws)}")
    stride, dilation = tuple(n.attr("strides", (1, 1))), tuple(n.attr("dilations", (1, 1)))
    attrs = {"stride": stride, "dilation": dilation, "groups": n.attr("group", 1),
             "padding": _pads(lw, n, xs[2:], kernel, stride, dilation)}
    bias = [lw.tensor(n.inputs[2])] if n.has(2) else []
    return lw.emit(n.out, "conv2d", [x, w, *bias], attrs)


def _pads(lw: _Lowering, n: _OnnxNode, hw: Sequence[int], kernel: Sequence[int],
          stride: Sequence[int], dilation: Sequence[int]) -> tuple[int, ...]:
    """[top, left, bottom, right], resolving auto_pad statically (ONNX's order is the same)."""
    mode = n.attr("auto_pad", "NOTSET")
    if mode == "NOTSET":
        pads = tuple(n.attr("pads", (0, 0, 0, 0)))
        if len(pads) != 4:
            raise lw.error(f"pads {list(pads)} must list 4 integers for a 2-D window")
        return pads
    if mode == "VALID":
        return (0, 0, 0, 0)
    if mode not in ("SAME_UPPER", "SAME_LOWER"):
        raise lw.error(f"auto_pad {mode!r} is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER")
    if any(d != 1 for d in dilation):
        # the spec and onnxruntime disagree here (it refuses Conv and sizes MaxPool differently)
        raise lw.error(
            f"auto_pad {mode} with dilations {list(dilation)} is ambiguous across ONNX runtimes; state pads explicitly"
        )
    begin, end = [], []
    for size, k, s, d in zip(hw, kernel, stride, dilation):
        total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
        small = total // 2
        begin.append(small if mode == "SAME_UPPER" else total - small)
        end.append(total - begin[-1])
    return (*begin, *end)


def _pool(op: str) -> Handler:
    def lower(lw: _Lowering, n: _OnnxNode) -> str:
        x = lw.tensor(n.inputs[0])
        xs, kernel = lw.shapes[x], tuple(n.attr("kernel_shape", ()))
        if len(xs) != 4 or len(kernel) != 2:
            raise lw.error(f"only 2-D pooling is supported (input {list(xs)}, kernel_shape {list(kernel)})")
        stride, dilation = tuple(n.attr("strides", (1, 1))), tuple(n.attr("dilations", (1, 1)))
        attrs = {"kernel": kernel, "stride": stride, "ceil_mode": bool(n.attr("ceil_mode", 0)),
                 "padding": _pads(lw, n, xs[2:], kernel, stride, dilation)}
        if op == "maxpool2d":
            attrs["dilation"] = dilation
        elif dilation != (1, 1):
            raise lw.error(f"AveragePool with dilations {list(dilation)} is not supported")
        else:
            attrs["count_include_pad"] = bool(n.attr("count_include_pad", 0))
        return lw.emit(n.out, op, [x], attrs)

    return lower


def _batchnorm(lw: _Lowering, n: _OnnxNode) -> str:
    if not n.attr("spatial", 1) or n.attr("training_mode", 0):
        raise lw.error("only inference-mode BatchNormalization with spatial=1 is supported")
    return lw.emit(n.out, "batchnorm", [lw.tensor(v) for v in n.inputs[:5]], {"epsilon": n.attr("epsilon", 1e-5)})


def _flatten(lw: _Lowering, n: _OnnxNode) -> str:
    x = lw.tensor(n.inputs[0])
    rank, axis = len(lw.shapes[x]), n.attr("axis", 1)
    if not -rank <= axis <= rank:
        raise lw.error(f"Flatten axis {axis} out of range for rank {rank}")
    return lw.emit(n.out, "flatten", [x], {"axis": axis + rank if axis < 0 else axis})


def _reshape(lw: _Lowering, n: _OnnxNode) -> str:
    x = lw.tensor(n.inputs[0])
    target = lw.ints(n, 1, "shape")
    try:
        shape = resolve_reshape(lw.shapes[x], target, bool(n.attr("allowzero", 0)))
    except ValueError as e:
        raise lw.error(str(e)) from None
    return lw.emit(n.out, "reshape", [x], {"shape": shape})


def resolve_reshape(shape: Shape, target: Sequence[int], allowzero: bool = False) -> Shape:
    """ONNX Reshape's target made static: 0 copies the input dimension, one -1 takes the rest."""
    if allowzero and 0 in target:
        raise ValueError(f"Reshape target {list(target)} with allowzero=1 makes an empty tensor")
    if any(d < -1 for d in target) or list(target).count(-1) > 1:
        raise ValueError(f"Reshape target {list(target)} may hold one -1 and no other negative size")
    out = []
    for k, d in enumerate(target):
        if d == 0 and k >= len(shape):
            raise ValueError(f"Reshape target {list(target)}: 0 at position {k} has no dimension to copy in {list(shape)}")
        out.append(shape[k] if d == 0 else d)
    if -1 in out:
        known = math.prod(d for d in out if d != -1)
        if known == 0 or math.prod(shape) % known:
            raise ValueError(f"Reshape target {list(target)} does not fit the {math.prod(shape)} elements of {list(shape)}")
        out[out.index(-1)] = math.prod(shape) // known
    return tuple(out)


def _transpose(lw: _Lowering, n: _OnnxNode) -> str:
    x = lw.tensor(n.inputs[0])
    perm = n.attr("perm", tuple(reversed(range(len(lw.shapes[x])))))
    return lw.emit(n.out, "transpose", [x], {"perm": tuple(perm)})


def _concat(lw: _Lowering, n: _OnnxNode) -> str:
    xs = [lw.tensor(v) for v in n.inputs if v]
    return lw.emit(n.out, "concat", xs, {"axis": lw.axis(n.attr("axis", 0), len(lw.shapes[xs[0]]))})


def _slice(lw: _Lowering, n: _OnnxNode) -> str:
    """Slice-1 (attributes) or Slice-10+ (constant inputs); bounds clamped to [-d-1, d],
    which ONNX's own clamping makes an identity (and keeps INT64_MAX out of the IR)."""
    x = lw.tensor(n.inputs[0])
    shape = lw.shapes[x]
    if lw.opset < 10:
        starts, ends = tuple(n.attr("starts", ())), tuple(n.attr("ends", ()))
        axes, steps = n.attr("axes"), (1,) * len(starts)
    else:
        starts, ends = lw.ints(n, 1, "starts"), lw.ints(n, 2, "ends")
        axes = lw.ints(n, 3, "axes") if n.has(3) else None
        steps = lw.ints(n, 4, "steps") if n.has(4) else (1,) * len(starts)
    axes = tuple(lw.axis(a, len(shape)) for a in (range(len(starts)) if axes is None else axes))
    if not len(starts) == len(ends) == len(axes) == len(steps):
        lists = f"starts {list(starts)}, ends {list(ends)}, axes {list(axes)}, steps {list(steps)}"
        raise lw.error(f"Slice {lists} differ in length")
    dims = [shape[a] for a in axes]
    clamp = lambda values: tuple(min(max(v, -d - 1), d) for v, d in zip(values, dims))  # noqa: E731
    attrs = {"starts": clamp(starts), "ends": clamp(ends), "axes": axes, "steps": steps}
    return lw.emit(n.out, "slice", [x], attrs)


def _pad(lw: _Lowering, n: _OnnxNode) -> str:
    """Pad-2 (attributes) or Pad-11+ (constant inputs, Pad-18 axes); negative pads crop first,
    as onnxruntime does, by a slice."""
    x = lw.tensor(n.inputs[0])
    rank = len(lw.shapes[x])
    if lw.opset < 11:
        pads, value = tuple(n.attr("pads", ())), float(n.attr("value", 0.0))
    else:
        pads = lw.ints(n, 1, "pads")
        value = float(lw.constant(n, 2, "constant_value").reshape(-1)[0]) if n.has(2) else 0.0
        if n.has(3):
            pads = _pads_on_axes(lw, pads, lw.ints(n, 3, "axes"), rank)
    if len(pads) != 2 * rank:
        raise lw.error(f"pads {list(pads)} must have 2 * rank = {2 * rank} entries")
    steps: list[tuple[str, Sequence[str], dict[str, Any]]] = []
    if min(pads) < 0:
        crop = {"starts": tuple(max(-p, 0) for p in pads[:rank]), "axes": tuple(range(rank)), "steps": (1,) * rank,
                "ends": tuple(d + min(p, 0) for d, p in zip(lw.shapes[x], pads[rank:]))}
        steps.append(("slice", [x], crop))
        x = PREV
    attrs = {"pads": tuple(max(p, 0) for p in pads), "mode": n.attr("mode", "constant"), "value": value}
    return lw.chain(n, [*steps, ("pad", [x], attrs)])


def _pads_on_axes(lw: _Lowering, pads: Sequence[int], axes: Sequence[int], rank: int) -> tuple[int, ...]:
    """Pad-18's per-axis pads spread to ONNX's full layout."""
    if len(pads) != 2 * len(axes):
        raise lw.error(f"pads {list(pads)} must have 2 * {len(axes)} entries for axes {list(axes)}")
    full = [0] * (2 * rank)
    for k, a in enumerate(axes):
        a = lw.axis(a, rank, "Pad axis")
        full[a], full[a + rank] = pads[k], pads[k + len(axes)]
    return tuple(full)


def _constant(lw: _Lowering, n: _OnnxNode) -> None:
    for key, dtype in (("value", None), ("value_float", np.float32), ("value_floats", np.float32),
                       ("value_int", np.int64), ("value_ints", np.int64)):
        if key in n.attrs:
            lw.static[n.out] = np.asarray(n.attrs[key], dtype=dtype)
            return
    raise lw.error(f"Constant with attribute {sorted(n.attrs)} is not supported (dense tensors and numbers only)")


def _identity(lw: _Lowering, n: _OnnxNode) -> None:
    lw.redirect[n.out] = lw.resolve(n.inputs[0])


def _softmax(lw: _Lowering, n: _OnnxNode) -> str:
    """Softmax-13 normalizes one axis. Softmax-1/11 coerce x to 2-D at `axis` and normalize the
    second factor: that is flatten(axis), softmax over the last axis, reshape back."""
    x = lw.tensor(n.inputs[0])
    shape = lw.shapes[x]
    axis = lw.axis(n.attr("axis", -1 if lw.opset >= 13 else 1), len(shape))
    if lw.opset >= 13 or axis == len(shape) - 1:
        return lw.emit(n.out, "softmax", [x], {"axis": axis})
    return lw.chain(n, [("flatten", [x], {"axis": axis}), ("softmax", [PREV], {"axis": 1}),
                        ("reshape", [PREV], {"shape": shape})])


def _squeeze(lw: _Lowering, n: _OnnxNode) -> str:
    x = lw.tensor(n.inputs[0])
    shape = lw.shapes[x]
    axes = _axes(lw, n)
    if axes is None:
        axes = tuple(k for k, d in enumerate(shape) if d == 1)
    axes = tuple(lw.axis(a, len(shape)) for a in axes)
    if any(shape[a] != 1 for a in axes):
        raise lw.error(f"Squeeze axes {list(axes)} of shape {list(shape)} are not all of size 1")
    return lw.emit(n.out, "reshape", [x], {"shape": tuple(d for k, d in enumerate(shape) if k not in axes)})


def _unsqueeze(lw: _Lowering, n: _OnnxNode) -> str:
    x = lw.tensor(n.inputs[0])
    shape = lw.shapes[x]
    axes = _axes(lw, n) or ()
    rank = len(shape) + len(axes)
    axes = sorted(lw.axis(a, rank) for a in axes)
    if not axes or len(set(axes)) != len(axes):
        raise lw.error(f"Unsqueeze axes {list(axes)} must be given, each once")
    out = list(shape)
    for a in axes:
        out.insert(a, 1)
    return lw.emit(n.out, "reshape", [x], {"shape": tuple(out)})


def _axes(lw: _Lowering, n: _OnnxNode) -> tuple[int, ...] | None:
    """Squeeze/Unsqueeze axes: an attribute before opset 13, a constant input from 13 on."""
    if lw.opset < 13:
        return None if n.attr("axes") is None else tuple(n.attr("axes"))
    return lw.ints(n, 1, "axes") if n.has(1) else None


def _layernorm(lw: _Lowering, n: _OnnxNode) -> str:
    x = lw.tensor(n.inputs[0])
    attrs = {"axis": lw.axis(n.attr("axis", -1), len(lw.shapes[x])), "epsilon": n.attr("epsilon", 1e-5)}
    return lw.emit(n.out, "layernorm", [x, *(lw.tensor(v) for v in n.inputs[1:3] if v)], attrs)


HANDLERS: dict[str, Handler] = {
    "Add": _simple("add"), "Sub": _simple("sub"), "Mul": _simple("mul"), "Div": _simple("div"),
    "Neg": _simple("neg"), "Relu": _simple("relu"), "Sigmoid": _simple("sigmoid"), "Tanh": _simple("tanh"),
    "LeakyRelu": _simple("leaky_relu", alpha=0.01), "MatMul": _simple("matmul"),
    "Gelu": _simple("gelu", approximate="none"), "Gemm": _gemm, "Conv": _conv,
    "MaxPool": _pool("maxpool2d"), "AveragePool": _pool("avgpool2d"), "BatchNormalization": _batchnorm,
    "Flatten": _flatten, "Reshape": _reshape, "Transpose": _transpose, "Concat": _concat, "Slice": _slice,
    "Pad": _pad, "Constant": _constant, "Identity": _identity, "Softmax": _softmax, "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze, "LayerNormalization": _layernorm,
}
SUPPORTED_OPS = tuple(sorted(HANDLERS))
SINCE = {"Gelu": 20, "LayerNormalization": 17}  # ops younger than MIN_OPSET
WINDOW_ATTRIBUTES = ("auto_pad", "dilations", "kernel_shape", "pads", "strides")
# Every attribute each handler honours (or may ignore: momentum, storage_order, stash_type only
# concern training, the unused index output, and internal precision). Any other one is refused
# rather than silently dropped.
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "LeakyRelu": ("alpha",), "Gelu": ("approximate",), "Gemm": ("alpha", "beta", "transA", "transB"),
    "Conv": (*WINDOW_ATTRIBUTES, "group"), "MaxPool": (*WINDOW_ATTRIBUTES, "ceil_mode", "storage_order"),
    "AveragePool": (*WINDOW_ATTRIBUTES, "ceil_mode", "count_include_pad"),
    "BatchNormalization": ("epsilon", "momentum", "spatial", "training_mode"), "Flatten": ("axis",),
    "Reshape": ("allowzero",), "Transpose": ("perm",), "Concat": ("axis",), "Slice": ("starts", "ends", "axes"),
    "Pad": ("mode", "pads", "value"), "Constant": ("value", "value_float", "value_floats", "value_int", "value_ints"),
    "Softmax": ("axis",), "Squeeze": ("axes",), "Unsqueeze": ("axes",),
    "LayerNormalization": ("axis", "epsilon", "stash_type"),
}
