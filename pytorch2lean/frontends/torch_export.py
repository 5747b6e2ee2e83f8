"""PyTorch frontend: `torch.export` captures an `nn.Module`, each ATen node lowers to catalog ops.

    graph = load_torch("examples/zoo/mlp/model.py:mlp")          # or "package.module:factory"
    graph = load_torch("my_model.py:Net", input_shape=(1, 3, 32, 32))

The spec names a callable (a factory function or the module class itself) that takes no
arguments and returns an `nn.Module`. The example input that fixes every shape comes from
`input_shape` when given (a zero tensor of that shape, the model's only input), else from the
module's `example_input()` method, which returns one float32 tensor or a tuple of them, one per
argument of `forward` (an int64 tensor for token ids), else from the array the CLI runs it on
(zeros of its shape, int64 when it holds integers). Shapes are static and include the batch
dimension of the example: an example of shape (1, 8) gives the IR input shape (1, 8). Loading
runs the user's file (it is Python code), like any `import`.

What the graph holds:
  * inputs are named after `forward`'s arguments, float32, or int64 token ids (an int64 or int32
    example) whose id range is [0, rows of the smallest table they index): ids are read only by
    lookups, `embedding(weight, ids)`, `weight[ids]` and `index_select(weight, 0, ids)` of a
    parameter table (the catalog's `embedding`), after reshapes of the ids (`ids.view(-1)`, the
    rows then reshaped) and `ids.long()`; any other use of ids is refused, naming the line;
  * node ids are torch.export's node names
    (`linear`, `relu_1`, ...), so the IR can be read side by side with `ExportedProgram.graph`;
    the extra nodes of a multi-node lowering are `<node>.<part>`;
  * parameters and buffers keep their `state_dict` names (from the exported program's graph
    signature), in `state_dict` order, bound to the module's own float32 values bit for bit;
    a checkpoint rebinds them by name (`pytorch2lean.checkpoints.load_checkpoint`, torch-free);
  * values the model's code fixes rather than learns become parameters too, after the module's:
    a Python scalar operand `x * 0.5` is `<node>.const` holding float32(0.5) — exactly the value
    torch computes with, as torch casts a scalar operand to the float32 tensor's type; an
    attention's scale `<node>.scale`; a causal keep-mask `<node>.mask` (a boolean one
    `<node>.keep`); the unit scale of a norm without affine weights; non-persistent buffers and
    tensor constants under their own names; values folded at lowering time (below).
    A `state_dict` lacks these, so the graph lists them in its metadata entry `constants`.

Scaled dot-product attention is decomposed as torch's math reference defines it:
    softmax(q @ k^T * scale + mask) @ v,   scale = 1/sqrt(E) unless given.
A causal mask (`is_causal=True`) and a boolean `attn_mask` hide keys rather than add to their
scores: they lower to `masked_softmax(q @ k^T * scale, keep) @ v`, where `keep` is a 0/1
parameter: for `is_causal`, `<node>.mask`, the (L, S) lower triangle with the diagonal, aligned
top-left as torch aligns it (the exporter proves the causal theorem for each such constant); for a
boolean mask, `<node>.keep`, 1 where it is True. A masked key's weight is
then exactly 0 in every semantics, as torch's -inf makes it, so output position i provably
depends on no later position (`pytorch2lean.lean.causal`). A row with every key masked gives
zeros where torch gives NaN. A float `attn_mask` stays additive: `softmax(scores + attn_mask)`,
except that one the code fixes hides its -inf keys by a keep-mask (`nn.Transformer`'s causal mask).
The decomposition is mathematically torch's, not bit-identical to its fused kernels.

Other ops that become several catalog ops, each exactly unless said:
  * moves: `stack` (reshape each, concat), `select`/`unbind` (slice, reshape), `expand` (concat
    copies along each broadcast axis), `flip` (a slice of step -1), `roll` (two slices, a
    concat), `upsample_nearest2d` by whole factors (concatenated copies), `pad` (torch's
    last-axis-first pad list in ONNX's layout; constant, reflect, replicate);
  * `index` by one integer index the code fixes, `embedding` at code-fixed ids (position and
    token type ids): a matmul by the constant 0/1 selection matrix, each result one element
    plus zeros (exact for finite values);
  * reductions, the reduced axes laid out as rows: `mean` (avgpool2d), `sum` (a matmul by
    ones), `amax`/`max` (maxpool2d); `adaptive_avg_pool2d`/`1d` (avgpool2d when sizes divide);
    an average pool whose window is larger than its padded input, which torch clips to it in
    ceil mode, is that clipped window;
  * selections: `maximum`/`minimum` and `max`/`min` of two tensors (a 1x2 max pool over the
    pairs), `clamp`/`hardtanh`/`relu6` (max(x, c) as a 1x2 max pool of x beside the constant
    c; min is -max(-x));
  * `upsample_bilinear2d` (not antialiased): rows @ x @ cols^T, the weight matrices computed
    by torch's own kernel on identities (exact in the denotation, float32 order differs);
  * arithmetic: `reciprocal` (div of a constant 1), `pow` by 1, 2, 3 (products, as torch
    computes them), `addmm`/`mm` of a transposed 2-D parameter (linear, as core ATen spells a
    linear layer), `linear` of a computed weight (x @ W^T, nn.MultiheadAttention's slices of
    its packed projection); by torch's own formulas `silu` (x * sigmoid(x)), `hardsigmoid`, `hardswish`;
  * norms (not exact, through layernorm): `group_norm` (layernorm over each group laid out as
    one row, then the per-channel affine); RMS normalization, `rms_norm` and Llama's
    `x * rsqrt(mean(x ** 2, -1) + eps)`, as the first half of a layernorm of [x, -x], whose
    mean is 0 and variance mean(x ** 2) (no other rsqrt is supported).

Values the model's code fixes without reading an input, a parameter or a persistent buffer
(`torch.arange`, `torch.ones`, a non-persistent buffer such as rotary `inv_freq`, and any op on
them: position ids, rotary cos/sin tables, causal masks) are computed by torch at lowering time
and enter the graph as constants named after their FX node (listed in `constants`), so masks
and position tables need no ops of their own. What a checkpoint can change is never folded;
random and uninitialized tensors never fold. A folded boolean attention mask that keeps every
key is no mask. Nodes no output reads (max's unread indices) are not lowered.

In-place ops (`out += shortcut(x)`, `nn.ReLU(inplace=True)`, writes through a view) are made
functional by torch before lowering (`functional`): the node ids are then those of the
functionalized program. A write to an input is dropped (the caller's side effect, not an
output); a write to a parameter or buffer is refused, as each call would depend on the last.

An ATen op outside `supported_ops()` is a FrontendError naming the op and the line of the
user's source that produced it (from the node's recorded stack trace), and the module path.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import math
import operator
import re
import sys
import traceback
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .. import ops
from ..errors import FrontendError, ShapeError
from ..ir.graph import CONSTANTS_KEY, IDS, Graph, Input, Node, Param, Shape
from ..ir.validate import make_node, validate
from ..numeric.float32 import exact_float32

# BatchNorm's training-step counter: an int64 scalar in every state_dict, never read in eval mode.
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in [^\n]*\n\s*(?P<code>[^\n]*)')


# ---- loading a module and exporting it ---------------------------------------------------------

def load_torch(spec: str, *, input_shape: tuple[int, ...] | None = None,
               fallback_shape: tuple[int, ...] | None = None, fallback_ids: bool = False) -> Graph:
    """The validated, bound graph of the module built by `spec` (`file.py:factory` or `pkg.mod:factory`).

    `fallback_shape` is the input shape used when neither `input_shape` nor the module's
    `example_input()` gives one (the CLI passes the shape of the array the user runs it on);
    `fallback_ids`: that array holds integers, so the example is int64 zeros (token ids) first,
    and float32 zeros, as for any other array, when the module does not export with ids.
    """
    torch = _torch()
    factory = _resolve(spec)
    module = _call_user(spec, "building the module", factory)
    if not isinstance(module, torch.nn.Module):
        raise FrontendError(f"{spec}: the factory returned a {type(module).__name__}, not a torch.nn.Module")
    module.eval()
    example = _example(torch, spec, module, input_shape, fallback_shape)
    ids = fallback_ids and input_shape is None and not callable(getattr(module, "example_input", None))
    try:
        program = _export(torch, spec, module, tuple(x.long() for x in example) if ids else example)
    except FrontendError:
        if not ids:
            raise
        program = _export(torch, spec, module, example)
    return lower_program(program, name=spec.rpartition(":")[2], order=list(module.state_dict()))


def _export(torch: Any, spec: str, module: Any, example: tuple[Any, ...]) -> Any:
    """torch.export of the module at `example`; a failure is one FrontendError (with a hint when
    float32 zeros reached an embedding, which takes integer ids)."""
    try:
        return torch.export.export(module, example)
    except Exception as e:  # export rejects data-dependent control flow etc. with many error types
        first = (str(e).strip().splitlines() or [""])[0]
        hint = ""
        if "indices" in first and "Long" in first and any(x.is_floating_point() for x in example):
            hint = ("; the model takes integer token ids: define example_input() returning an int64 tensor, "
                    "or run it on an integer .npy array")
        raise FrontendError(f"{spec}: torch.export could not capture the module ({type(e).__name__}: {first}){hint}") from e


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise FrontendError("loading a PyTorch model needs torch (pip install 'pytorch2lean[torch]')") from None
    return torch


def _resolve(spec: str) -> Callable[[], Any]:
    """The callable a spec names; a file path is imported as a fresh module, its folder on sys.path."""
    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr.isidentifier():
        raise FrontendError(f"{spec!r}: expected 'path/to/model.py:factory' or 'package.module:factory'")
    if where.endswith(".py") or Path(where).is_file():
        module = _import_file(spec, Path(where))
    else:
        module = _call_user(spec, f"importing {where}", importlib.import_module, where)
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise FrontendError(f"{spec}: {where} defines no callable {attr!r}")
    return factory


def _import_file(spec: str, path: Path) -> Any:
    if not path.is_file():
        raise FrontendError(f"{spec}: no such file {str(path)!r}")
    name = f"pytorch2lean_user_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]}"
    loader = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(loader)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    sys.path.insert(0, str(path.parent.resolve()))  # the model may import its neighbours
    try:
        _call_user(spec, f"importing {path}", loader.loader.exec_module, module)
    finally:
        sys.path.remove(str(path.parent.resolve()))
    return module


def _call_user(spec: str, doing: str, fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args), user code: an exception becomes a FrontendError naming the user's failing line."""
    try:
        return fn(*args)
    except FrontendError:
        raise
    except Exception as e:
        frame = _user_frame([(f.filename, f.lineno, f.line or "") for f in traceback.extract_tb(e.__traceback__)])
        at = f" at {frame[0]}:{frame[1]}" if frame else ""
        raise FrontendError(f"{spec}: {doing} failed{at}: {type(e).__name__}: {e}") from e


def _example(torch: Any, spec: str, module: Any, input_shape: tuple[int, ...] | None,
             fallback_shape: tuple[int, ...] | None = None) -> tuple[Any, ...]:
    """The example inputs: zeros of `input_shape`, else what `module.example_input()` returns,
    else zeros of `fallback_shape`."""
    if input_shape is None and not callable(getattr(module, "example_input", None)):
        input_shape = fallback_shape
    if input_shape is not None:
        if not all(isinstance(d, int) and d >= 1 for d in input_shape):
            raise FrontendError(f"{spec}: input_shape {list(input_shape)} must list positive integers")
        return (torch.zeros(tuple(input_shape), dtype=torch.float32),)
    if not callable(getattr(module, "example_input", None)):
        raise FrontendError(
            f"{spec}: give input_shape (--input-shape), or define a method example_input() on {type(module).__name__} "
            "returning the example input tensor (or a tuple of them, one per forward argument)"
        )
    example = _call_user(spec, "calling example_input()", module.example_input)
    example = example if isinstance(example, tuple) else (example,)
    for k, x in enumerate(example):
        if not isinstance(x, torch.Tensor) or x.dtype not in (torch.float32, torch.int64, torch.int32):
            raise FrontendError(f"{spec}: example_input() item {k} is {_describe(x)}, not a float32 tensor "
                                "(or an int64 tensor of token ids)")
    return example


def _describe(x: Any) -> str:
    dtype = getattr(x, "dtype", None)
    return f"a tensor of dtype {dtype}" if dtype is not None else f"a {type(x).__name__}"


# ---- checkpoints --------------------------------------------------------------------------------

# ---- lowering an ExportedProgram ----------------------------------------------------------------

def lower_program(program: Any, *, name: str, order: Sequence[str] = ()) -> Graph:
    """The validated graph of an `ExportedProgram` (pre-dispatch or core ATen), parameters bound.

    Module tensors are listed in `order` (the module's state_dict keys), else in the program's.
    """
    return _Lowering(functional(program, name), name, list(order) or list(program.state_dict)).run()


def functional(program: Any, name: str) -> Any:
    """The program with its in-place ops (`add_`, `relu_`, writes through a view) made functional.

    torch's functionalization rewrites each write into a fresh value and re-derives every view
    that saw it, so aliasing is resolved by torch, not guessed here. A program without writes is
    returned as it is, keeping its node names those of `torch.export`.
    """
    if not any(getattr(getattr(n.target, "_schema", None), "is_mutable", False) for n in program.graph.nodes):
        return program
    try:
        with warnings.catch_warnings():  # torch's own deprecation notices while re-tracing, not the user's
            warnings.simplefilter("ignore", FutureWarning)
            return program.run_decompositions({})  # an empty table: functionalize, decompose nothing
    except Exception as e:  # torch raises many error types while re-tracing
        first = (str(e).strip().splitlines() or [""])[0]
        raise FrontendError(f"model {name!r}: torch could not make its in-place ops functional ({type(e).__name__}: {first})") from e


@dataclass
class _Pieces:
    """A node with several results (split, batch norm's statistics): getitem k calls pieces[k]."""

    pieces: tuple[Callable[[Any], str], ...]


@dataclass(frozen=True)
class _IdsView:
    """A reshape of an int64 input (`ids.view(-1, L)`): no IR value of its own. An embedding of it
    is the embedding of the input, reshaped (`_lookup`); any other use is refused."""

    ids: str
    shape: Shape


@dataclass
class _RmsScale:
    """rsqrt(mean(x ** 2, -1) + eps), which only RMS normalization's x * rsqrt(...) may use (`_rms_norm`)."""

    x: str
    eps: float


Value = str | _Pieces | _RmsScale | _IdsView


@dataclass
class _Lowering:
    program: Any
    name: str
    order: list[str]
    env: dict[str, Value] = field(default_factory=dict)
    shapes: dict[str, Shape] = field(default_factory=dict)
    params: dict[str, Param] = field(default_factory=dict)
    constants: list[str] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    inputs: list[Input] = field(default_factory=list)
    transposed: dict[str, str] = field(default_factory=dict)  # node id -> 2-D parameter it transposes
    module_tensors: dict[str, Any] = field(default_factory=dict)  # placeholder -> its input spec
    static: dict[str, Any] = field(default_factory=dict)  # FX node -> its value, fixed by the code alone (`_folds`)
    ids: dict[str, int | None] = field(default_factory=dict)  # int64 input -> rows of the smallest table it indexes

    def run(self) -> Graph:
        specs = {s.arg.name: s for s in self.program.graph_signature.input_specs}
        outputs: list[str] = []
        for n in self.program.graph.nodes:
            if n.op == "placeholder":
                self._placeholder(n, specs[n.name])
            elif n.op == "call_function":
                self._call(n)
            elif n.op == "output":
                outputs = self._outputs(n)
            else:
                raise self.error(n, f"unsupported FX node kind {n.op!r}")
        if len(set(outputs)) != len(outputs):
            raise FrontendError(f"model {self.name!r}: the same value is returned twice ({outputs})")
        return validate(self._graph(outputs))

    # -- names, inputs, parameters --

    def _placeholder(self, n: Any, spec: Any) -> None:
        kind = spec.kind.name
        if kind == "USER_INPUT":
            val = n.meta["val"]
            if str(val.dtype) in ("torch.int64", "torch.int32"):
                self.ids[n.name] = None  # token ids: typed once an embedding shows their range (`_graph`)
            elif str(val.dtype) != "torch.float32":
                raise self.error(n, f"input {n.name!r} has dtype {val.dtype}; model inputs must be float32 "
                                    "(or int64 token ids)")
            self.inputs.append(Input(n.name, _shape(val), IDS if n.name in self.ids else "float32"))
            self.shapes[n.name] = _shape(val)
            self.env[n.name] = n.name
        elif kind in ("PARAMETER", "BUFFER", "CONSTANT_TENSOR"):
            self.module_tensors[n.name] = spec
        else:
            raise self.error(n, f"unsupported exported input kind {kind} ({spec.target})")

    def _tensor_param(self, use: Any, spec: Any) -> str:
        """The parameter of a module tensor, created at its first use (unused ones never appear)."""
        target = spec.target
        if target not in self.params:
            persistent = spec.kind.name == "PARAMETER" or (spec.kind.name == "BUFFER" and spec.persistent)
            value = (self.program.state_dict if persistent else self.program.constants)[target]
            if str(value.dtype) != "torch.float32":
                raise self.error(use, f"tensor {target!r} has dtype {value.dtype}; pytorch2lean models are float32 (call .float())")
            self._add_param(use, Param.of_array(target, value.detach().cpu().numpy()), constant=not persistent)
        return target

    def _add_param(self, use: Any, param: Param, *, constant: bool) -> str:
        if not np.isfinite(param.array).all():
            raise self.error(use, f"parameter {param.name!r} holds NaN or Inf; parameters must be finite")
        self._claim(use, param.name)
        self.params[param.name] = param
        self.shapes[param.name] = param.shape
        if constant:
            self.constants.append(param.name)
        return param.name

    def constant(self, n: Any, part: str, value: Any) -> str:
        """A parameter `<node>.<part>` holding a value the model's code fixes (a scalar, a mask)."""
        array = np.asarray(value, dtype=np.float32)
        return self._add_param(n, Param.of_array(f"{n.name}.{part}", array), constant=True)

    def ref(self, n: Any, arg: Any) -> str:
        """The IR name of an operand: a node's value, a module tensor, or a Python scalar."""
        if isinstance(arg, (int, float)) and not isinstance(arg, bool):
            return self.constant(n, "const", arg)
        if not hasattr(arg, "op"):
            raise self.error(n, f"operand {arg!r} is neither a tensor nor a number")
        if arg.name in self.module_tensors:
            return self._tensor_param(n, self.module_tensors[arg.name])
        if arg.name in self.static:
            return self._static_param(n, arg.name)
        value = self.env[arg.name]
        if isinstance(value, _Pieces):
            raise self.error(n, f"uses the multi-result {arg.name!r} directly")
        if isinstance(value, _IdsView) or (isinstance(value, str) and value in self.ids):
            raise self.error(n, f"reads the token ids {arg.name!r} as numbers ({_op_name(n)}); integer inputs are "
                                "supported only as the ids of an embedding lookup")
        if isinstance(value, _RmsScale):
            raise self.error(n, f"uses {arg.name!r}: rsqrt is supported as RMS normalization's x * rsqrt(mean(x ** 2, -1) + eps) only")
        return value

    def _static_param(self, use: Any, name: str) -> str:
        """The constant parameter holding a folded value, named after its FX node (created at first use).

        An integer or boolean value becomes float32 only when every element converts exactly, as
        torch's type promotion converts it when a float32 tensor meets it."""
        if name not in self.params:
            array = self.static[name].detach().cpu().numpy()
            try:
                value = _float32_values(array)
            except ValueError as e:
                raise self.error(use, f"the value {name!r} that the model's code computes is not float32: {e}") from None
            self._add_param(use, Param.of_array(name, value), constant=True)
        return name

    def token_ids(self, arg: Any) -> _IdsView | None:
        """The int64 input (and the shape it is viewed as) that `arg` is, else None."""
        value = self.env.get(getattr(arg, "name", None))
        if isinstance(value, _IdsView):
            return value
        return _IdsView(value, self.shapes[value]) if isinstance(value, str) and value in self.ids else None

    def concrete(self, arg: Any) -> Any | None:
        """The torch value of an operand fixed without the inputs (a module tensor or a folded node), else None."""
        if arg.name in self.static:
            return self.static[arg.name]
        spec = self.module_tensors.get(arg.name)
        if spec is None:
            return None
        return (self.program.state_dict if spec.target in self.program.state_dict else self.program.constants)[spec.target]

    def _folds(self, n: Any) -> bool:
        """Whether n's value is fixed by the model's code alone: every tensor it reads is folded or a
        constant the code makes (a lifted tensor, a non-persistent buffer), never an input, parameter or
        persistent buffer, so a checkpoint cannot change it. Random and uninitialized tensors never fold."""
        name = n.target._schema.name
        if _torch().Tag.nondeterministic_seeded in n.target.tags or name.startswith(("aten::empty", "aten::new_empty")):
            return False
        reads = [a for a in _flat([n.args, list(n.kwargs.values())]) if hasattr(a, "op")]
        return all(a.name in self.static or self._code_constant(a.name) for a in reads)

    def _code_constant(self, name: str) -> bool:
        spec = self.module_tensors.get(name)
        return spec is not None and (spec.kind.name == "CONSTANT_TENSOR" or (spec.kind.name == "BUFFER" and not spec.persistent))

    def _fold(self, n: Any) -> Any:
        """n's value, computed by torch from the folded values it reads."""
        torch = _torch()
        args, kwargs = torch.fx.node.map_arg((n.args, n.kwargs), self.concrete)
        try:
            with torch.no_grad():
                return n.target(*args, **kwargs)
        except Exception as e:  # torch.export traced it on fake tensors; real values can still fail
            raise self.error(n, f"computing its value, fixed by the model's code, failed ({type(e).__name__}: {e})") from None

    def _claim(self, n: Any, name: str) -> None:
        if name in self.shapes:
            raise self.error(n, f"the name {name!r} is taken twice (by a parameter, an input or a node); rename one")

    # -- emitting nodes --

    def emit(self, n: Any, op: str, inputs: Sequence[str], attrs: dict[str, Any] | None = None, part: str | None = None) -> str:
        """Append an IR node `<n>` (or `<n>.<part>`), its operands and shape checked against the op."""
        node = make_node(n.name if part is None else f"{n.name}.{part}", op, inputs, attrs)
        spec = ops.get(op)
        for k, ref in enumerate(inputs):
            if spec.operand(k).param and ref not in self.params:
                raise self.error(n, f"{op} needs its {spec.operand(k).name} to be a module parameter, got a computed tensor")
        try:
            shape = tuple(spec.shape(node.attr, [self.shapes[r] for r in inputs]))
        except ShapeError as e:
            raise self.error(n, f"{op}: {e}") from None
        self._claim(n, node.id)
        self.nodes.append(node)
        self.shapes[node.id] = shape
        return node.id

    def error(self, n: Any, message: str) -> FrontendError:
        return FrontendError(f"model {self.name!r}, node {n.name!r}: {message}{_origin(n)}")

    # -- one FX node --

    def _call(self, n: Any) -> None:
        if not n.users:  # dead (an unused statistic, max's unread indices): no output depends on it
            return
        if n.target is operator.getitem:
            source, index = n.args
            if source.name in self.static:
                self.static[n.name] = self.static[source.name][index]
                return
            pieces = self.env[source.name]
            if not isinstance(pieces, _Pieces):
                raise self.error(n, f"indexes the single tensor {source.name!r}")
            self.env[n.name] = pieces.pieces[index](n)
            return
        key = getattr(getattr(n.target, "_schema", None), "name", "")
        if key.startswith("aten::_assert"):  # runtime checks of dtype and shape: static here
            return
        if key and self._folds(n):
            self.static[n.name] = self._fold(n)
            return
        handler = HANDLERS.get(key)
        if handler is None:
            raise self.error(n, f"unsupported op {_op_name(n)}")
        value = handler(self, n, _bind_args(n))
        self.env[n.name] = value
        if isinstance(value, str) and value not in self.params:
            self._check_shape(n, value)

    def _check_shape(self, n: Any, value: str) -> None:
        """The lowering's shape must be torch's: a mismatch is a bug in a handler, not the user's."""
        want = _shape(n.meta["val"])
        if self.shapes[value] != want:
            raise RuntimeError(f"node {n.name!r} ({_op_name(n)}) lowered to shape {self.shapes[value]}, torch says {want}")

    def _outputs(self, n: Any) -> list[str]:
        """The values `forward` returns. A functional program also returns what the forward wrote in
        place: a write to an input is the caller's side effect, not an output, and is left out; a
        write to a parameter or buffer makes each call depend on the calls before, and is refused."""
        outputs = []
        for spec, arg in zip(self.program.graph_signature.output_specs, _flat(n.args[0]), strict=True):
            kind = spec.kind.name
            if kind == "USER_OUTPUT":
                outputs.append(self._output(n, arg))
            elif kind != "USER_INPUT_MUTATION":
                what = f"writes to the module's tensor {spec.target!r} in place" if spec.target else f"has a {kind} output"
                raise self.error(arg if hasattr(arg, "meta") else n, f"{what}; only a stateless forward lowers (export in eval mode)")
        return outputs

    def _output(self, n: Any, arg: Any) -> str:
        name = self.ref(n, arg)
        if name in self.params:
            raise self.error(n, f"returns the parameter {name!r} itself; outputs must be computed from inputs")
        return name

    # -- the graph --

    def _graph(self, outputs: list[str]) -> Graph:
        """The graph of the nodes the outputs depend on, parameters in state_dict order, then constants."""
        nodes = _live(self.nodes, outputs)
        used = {r for node in nodes for r in node.inputs}
        rank = {k: i for i, k in enumerate(self.order)}
        learned = sorted((k for k in self.params if k not in self.constants), key=lambda k: rank.get(k, len(rank)))
        order = learned + self.constants
        params = tuple(self.params[k] for k in order if k in used)
        constants = [k for k in self.constants if k in used]
        return Graph(
            name=self.name,
            inputs=tuple(self._typed(i) for i in self.inputs),
            params=params,
            nodes=tuple(nodes),
            outputs=tuple(outputs),
            metadata=((CONSTANTS_KEY, " ".join(constants)),) if constants else (),
        )


    def _typed(self, i: Input) -> Input:
        """An int64 input with its id range [0, rows of the smallest table it indexes)."""
        if not i.ids:
            return i
        rows = self.ids[i.name]
        if rows is None:
            raise FrontendError(f"model {self.name!r}: the integer input {i.name!r} is read by no embedding lookup; "
                                "integer inputs are supported only as token ids")
        return replace(i, id_range=(0, rows))


def _float32_values(array: np.ndarray) -> np.ndarray:
    """A computed constant as float32 when every element converts exactly; integers are taken up to
    2**24 in magnitude, where float32 holds every one (torch's promotion would round beyond)."""
    if array.dtype.kind in "biu":
        beyond = np.abs(array.astype(np.int64) if array.dtype.kind == "b" else array) > 2**24
        if beyond.any():
            index = [int(i) for i in np.argwhere(beyond)[0]]
            raise ValueError(f"{array.dtype} value {array[tuple(index)]} at index {index} is beyond 2**24, "
                             "where float32 does not hold every integer")
        return array.astype(np.float32)
    return exact_float32(array)


def _live(nodes: list[Node], outputs: Iterable[str]) -> list[Node]:
    """The nodes some output depends on, in order (a transpose folded into linear drops out)."""
    needed = set(outputs)
    live = []
    for node in reversed(nodes):
        if node.id in needed:
            live.append(node)
            needed.update(node.inputs)
    return live[::-1]


# ---- FX helpers -----------------------------------------------------------------------------------

def _flat(x: Any) -> list[Any]:
    return [y for item in x for y in _flat(item)] if isinstance(x, (list, tuple)) else [x]


def _shape(val: Any) -> Shape:
    try:
        return tuple(int(d) for d in val.shape)
    except TypeError:  # a SymInt without a value
        raise FrontendError(f"dynamic shape {list(val.shape)}: pytorch2lean needs static shapes") from None


def _shape_of(n: Any) -> Shape:
    return _shape(n.meta["val"])


def _op_name(n: Any) -> str:
    return str(n.target) if hasattr(n.target, "_schema") else getattr(n.target, "__name__", repr(n.target))


def _bind_args(n: Any) -> dict[str, Any]:
    """The node's arguments by schema name, defaults filled in."""
    bound = {}
    for k, arg in enumerate(n.target._schema.arguments):
        if k < len(n.args) and not arg.kwarg_only:
            bound[arg.name] = n.args[k]
        elif arg.name in n.kwargs:
            bound[arg.name] = n.kwargs[arg.name]
        else:
            bound[arg.name] = arg.default_value if arg.has_default_value() else None
    return bound


def _origin(n: Any) -> str:
    """' at file:line (code) in module ...': the innermost user frame of the node's stack trace."""
    frames = [(m["file"], int(m["line"]), m["code"]) for m in _FRAME.finditer(n.meta.get("stack_trace") or "")]
    frame = _user_frame(frames)
    where = f" at {frame[0]}:{frame[1]} ({frame[2].strip()})" if frame else " (source line unknown)"
    stack = n.meta.get("nn_module_stack") or {}
    if stack:
        path, cls = list(stack.values())[-1]
        where += f" in module {path or '<root>'!r} ({cls.rpartition('.')[2] if isinstance(cls, str) else cls.__name__})"
    return where


def _user_frame(frames: Sequence[tuple[str, int, str]]) -> tuple[str, int, str] | None:
    """The innermost (file, line, code) outside torch, Python's import machinery and this module."""
    skip = (str(Path(sys.modules["torch"].__file__).parent), "<frozen ", __file__)
    user = [f for f in frames if not f[0].startswith(skip)]
    return user[-1] if user else None


def _pair(v: Any) -> tuple[int, int]:
    v = [v] if isinstance(v, int) else list(v)
    return (v[0], v[0]) if len(v) == 1 else (v[0], v[1])


def _axis(d: int, rank: int) -> int:
    return d % rank if rank else 0


# ---- handlers: (lowering, fx node, args by name) -> Value -----------------------------------------

Handler = Callable[[_Lowering, Any, dict[str, Any]], Value]
HANDLERS: dict[str, Handler] = {}


def handles(*names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for name in names:
            HANDLERS[f"aten::{name}"] = fn
        return fn
    return register


def supported_ops() -> list[str]:
    """The ATen op names this frontend lowers (any overload), sorted."""
    return sorted(HANDLERS)


@handles("clone", "contiguous", "alias", "detach", "lift_fresh_copy", "_to_copy", "to")
def _alias(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """Copies and same-dtype conversions carry the value unchanged (token ids stay ids: `ids.long()`)."""
    x = next(iter(a.values()))
    ids = lw.token_ids(x)
    if ids is not None and str(n.meta["val"].dtype) in ("torch.int64", "torch.int32"):
        return lw.env[x.name]
    if str(n.meta["val"].dtype) != "torch.float32":
        raise lw.error(n, f"converts to {n.meta['val'].dtype}; pytorch2lean models are float32")
    return lw.ref(n, x)


@handles("dropout", "feature_dropout", "alpha_dropout", "feature_alpha_dropout")
def _dropout(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    if a["train"]:
        raise lw.error(n, "dropout in training mode; export the module in eval mode")
    return lw.ref(n, a["input"])


def _binary(op: str, swap: bool = False) -> Handler:
    def lower(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
        if a.get("alpha", 1) != 1:
            raise lw.error(n, f"alpha={a['alpha']} is not supported; write the scaling as its own multiplication")
        if a.get("rounding_mode") is not None:
            raise lw.error(n, f"division with rounding_mode={a['rounding_mode']!r} is not supported")
        if op == "mul":
            rms = _rms_pair(lw, n, a["self"], a["other"]) or _rms_pair(lw, n, a["other"], a["self"])
            if rms is not None:
                return _rms_norm(lw, n, rms.x, rms.eps)
        x, y = lw.ref(n, a["self"]), lw.ref(n, a["other"])
        return lw.emit(n, op, [y, x] if swap else [x, y])
    return lower


def _rms_pair(lw: _Lowering, n: Any, x: Any, scale: Any) -> _RmsScale | None:
    """The RMS scale of `x` when `scale` is rsqrt(mean(x ** 2, -1) + eps) of that same x."""
    value = lw.env.get(getattr(scale, "name", None))
    if isinstance(value, _RmsScale) and hasattr(x, "op") and lw.ref(n, x) == value.x:
        return value
    return None


for _name, _op in (("add", "add"), ("sub", "sub"), ("mul", "mul"), ("div", "div")):
    HANDLERS[f"aten::{_name}"] = _binary(_op)
HANDLERS["aten::rsub"] = _binary("sub", swap=True)


@handles("reciprocal")
def _reciprocal(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    return lw.emit(n, "div", [lw.constant(n, "one", 1.0), lw.ref(n, a["self"])])


def _unary(op: str, **attrs: str) -> Handler:
    """An op whose attributes are the node's arguments renamed: {ir attr: aten argument}."""
    def lower(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
        return lw.emit(n, op, [lw.ref(n, a["self"])], {k: a[v] for k, v in attrs.items()})
    return lower


HANDLERS.update({
    "aten::neg": _unary("neg"),
    "aten::relu": _unary("relu"),
    "aten::sigmoid": _unary("sigmoid"),
    "aten::tanh": _unary("tanh"),
    "aten::gelu": _unary("gelu", approximate="approximate"),
    "aten::leaky_relu": _unary("leaky_relu", alpha="negative_slope"),
})


# -- activations lowered into several catalog ops --

Step = tuple[str, dict[str, Any], list[str]]  # (op, attributes, operands after the running value)


def _chain(lw: _Lowering, n: Any, x: str, steps: Sequence[Step], tag: str) -> str:
    """x through `steps` in order: the last is the FX node's own IR node, the others `<node>.<tag><k>`."""
    for k, (op, attrs, rest) in enumerate(steps):
        x = lw.emit(n, op, [x, *rest], attrs, part=None if k == len(steps) - 1 else f"{tag}{k}")
    return x


def _at_least(shape: Shape, value: float) -> list[Step]:
    """Steps computing max(x, value) exactly: each element beside the constant (a pad), the larger
    kept by a 1x2 max pool. The catalog has no max of two tensors, and max pooling picks a value
    rather than computing one, so this is exact where x - relu(x - value) would round. The
    elements are laid out as channels of 1x1 images: Lean's shape check recurses along an
    image's height, and a height of one element per row hit its depth limit (MobileNetV1)."""
    size = math.prod(shape)
    return [("reshape", {"shape": (size, 1, 1)}, []),
            ("pad", {"pads": (0, 0, 0, 0, 0, 1), "value": value}, []),
            ("maxpool2d", {"kernel": (1, 2), "stride": (1, 2)}, []),
            ("reshape", {"shape": shape}, [])]


def _clamp_steps(shape: Shape, lo: float | None, hi: float | None) -> list[Step]:
    """Steps computing min(max(x, lo), hi), torch's clamp; max(x, 0) is a relu, min(x, hi) is -max(-x, -hi)."""
    steps: list[Step] = []
    if lo is not None:
        steps += [("relu", {}, [])] if lo == 0 else _at_least(shape, lo)
    if hi is not None:
        steps += [("neg", {}, [])] + _at_least(shape, -hi) + [("neg", {}, [])]
    return steps


@handles("hardtanh", "relu6", "clamp", "clamp_min", "clamp_max")
def _clamp(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """Clamping to number bounds (hardtanh's min_val/max_val, relu6's 0 and 6, clamp's min/max)."""
    x = lw.ref(n, a["self"])
    op = n.target._schema.name
    lo = {"aten::hardtanh": a.get("min_val"), "aten::relu6": 0.0}.get(op, a.get("min"))
    hi = {"aten::hardtanh": a.get("max_val"), "aten::relu6": 6.0}.get(op, a.get("max"))
    for bound in (lo, hi):
        if bound is not None and not isinstance(bound, (int, float)):
            raise lw.error(n, "clamping to tensor bounds is not supported (only numbers)")
    if lo is None and hi is None:
        return x
    return _chain(lw, n, x, _clamp_steps(lw.shapes[x], lo, hi), "clamp")


@handles("hardsigmoid", "hardswish")
def _hard(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """torch's formulas: hardsigmoid(x) = min(max(x + 3, 0), 6) / 6, hardswish(x) = x * min(max(x + 3, 0), 6) / 6."""
    x = lw.ref(n, a["self"])
    steps: list[Step] = [("add", {}, [lw.constant(n, "three", 3.0)]), *_clamp_steps(lw.shapes[x], 0.0, 6.0)]
    if n.target._schema.name == "aten::hardswish":
        steps.append(("mul", {}, [x]))
    return _chain(lw, n, x, steps + [("div", {}, [lw.constant(n, "six", 6.0)])], "hard")


@handles("silu")
def _silu(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """x * sigmoid(x)."""
    x = lw.ref(n, a["self"])
    return lw.emit(n, "mul", [x, lw.emit(n, "sigmoid", [x], part="sigmoid")])


@handles("mean", "sum", "amax", "max", "min", "maximum", "minimum")
def _reduce(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """Reductions over axes laid out as rows of K cells (`_rows`): mean is an average pool (sum / K,
    exact), max a max pool, sum a matmul by a column of ones (exact), each then torch's shape.
    `max`/`min` of two tensors (and `maximum`/`minimum`) pair their elements instead (`_pairwise`);
    min is -max(-x)."""
    op = n.target._schema.name.removeprefix("aten::")
    if a.get("dtype") not in (None, _torch().float32):
        raise lw.error(n, f"{op} with a dtype conversion is not supported")
    x = lw.ref(n, a["self"])
    if "other" in a:
        return _pairwise(lw, n, x, lw.ref(n, a["other"]), op.startswith("max"))
    if op == "min":
        raise lw.error(n, "min over axes is not supported (max is)")
    value = _shape(n.meta["val"][0]) if isinstance(n.meta["val"], (tuple, list)) else _shape_of(n)
    steps, width = _rows(lw.shapes[x], a.get("dim"))
    window = {"kernel": (1, width), "stride": (1, width)}
    steps += [{"mean": ("avgpool2d", window, []), "sum": ("matmul", {}, [lw.constant(n, "ones", np.ones((width, 1)))])}
              .get(op, ("maxpool2d", window, [])), ("reshape", {"shape": value}, [])]
    if not isinstance(n.meta["val"], (tuple, list)):
        return _chain(lw, n, x, steps, op)
    return _Pieces((lambda use: _chain(lw, use, x, steps, op),
                    lambda use: _refuse(lw, use, f"the indices of {op} are not supported")))


def _rows(shape: Shape, dims: Any) -> tuple[list[Step], int]:
    """Steps laying the axes `dims` (all when None or empty) out as rows: (P, 1, K), K their size."""
    dims = [dims] if isinstance(dims, int) else list(dims or range(len(shape)))
    dims = sorted({_axis(d, len(shape)) for d in dims})
    kept = [d for d in range(len(shape)) if d not in dims]
    width = math.prod(shape[d] for d in dims)
    steps: list[Step] = [] if kept + dims == sorted(kept + dims) else [("transpose", {"perm": tuple(kept + dims)}, [])]
    return steps + [("reshape", {"shape": (math.prod(shape[d] for d in kept), 1, width)}, [])], width


def _pairwise(lw: _Lowering, n: Any, x: str, y: str, larger: bool) -> str:
    """max(x, y) elementwise as a 1x2 max pool over the two side by side (exact); min through neg."""
    shape = lw.shapes[x]
    if lw.shapes[y] != shape:
        raise lw.error(n, f"elementwise max/min of shapes {list(shape)} and {list(lw.shapes[y])}: only equal shapes are supported")
    column = (math.prod(shape), 1, 1)
    sides = []
    for k, v in enumerate((x, y)):
        v = v if larger else lw.emit(n, "neg", [v], part=f"neg{k}")
        sides.append(lw.emit(n, "reshape", [v], {"shape": column}, part=f"side{k}"))
    pairs = lw.emit(n, "concat", sides, {"axis": -1}, part="pairs")
    steps: list[Step] = [("maxpool2d", {"kernel": (1, 2), "stride": (1, 2)}, []), ("reshape", {"shape": shape}, [])]
    return _chain(lw, n, pairs, steps + ([] if larger else [("neg", {}, [])]), "pick")


@handles("pow")
def _pow(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """x ** 1, 2, 3 as products, as torch computes them (x * x, x * x * x)."""
    exponent = a.get("exponent")
    if not (isinstance(exponent, (int, float)) and exponent in (1, 2, 3)) or "self" not in a:
        raise lw.error(n, f"pow with exponent {exponent!r} is not supported (only the numbers 1, 2, 3)")
    x = lw.ref(n, a["self"])
    steps: list[Step] = [("mul", {}, [x])] * (int(exponent) - 1)
    return _chain(lw, n, x, steps, "pow") if steps else x


@handles("rsqrt")
def _rsqrt(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """rsqrt(mean(x ** 2, -1, keepdim) + eps) or of mean(x * x, ...): RMS normalization's scale,
    held until the x * scale that uses it (`_rms_norm`); any other rsqrt is refused."""
    total = a["self"]
    if _aten(total) != "aten::add" or len(total.args) != 2 or not isinstance(total.args[1], (int, float)):
        raise lw.error(n, "rsqrt is supported as RMS normalization's x * rsqrt(mean(x ** 2, -1) + eps) only")
    mean = total.args[0]
    bound = _bind_args(mean) if _aten(mean) == "aten::mean" else {}
    square, dims, keep = bound.get("self"), list(bound.get("dim") or []), bound.get("keepdim")
    squared = square is not None and ((_aten(square) == "aten::pow" and square.args[1] == 2) or
                                      (_aten(square) == "aten::mul" and square.args[0] is square.args[1]))
    rank = len(_shape_of(mean))
    if not (squared and keep and [_axis(d, rank) for d in dims] == [rank - 1]):
        raise lw.error(n, "rsqrt is supported as RMS normalization's x * rsqrt(mean(x ** 2, -1) + eps) only")
    return _RmsScale(lw.ref(n, square.args[0]), float(total.args[1]))


@handles("rms_norm")
def _rms_norm_op(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """torch's rms_norm over the last axis: `_rms_norm`, then the weight."""
    if len(a["normalized_shape"]) != 1:
        raise lw.error(n, f"rms_norm over {list(a['normalized_shape'])}: only the last axis is supported")
    eps = a["eps"] if a["eps"] is not None else float(np.finfo(np.float32).eps)
    x = lw.ref(n, a["input"])
    if a["weight"] is None:
        return _rms_norm(lw, n, x, eps)
    return lw.emit(n, "mul", [_rms_norm(lw, n, x, eps, part="normalized"), lw.ref(n, a["weight"])])


def _rms_norm(lw: _Lowering, n: Any, x: str, eps: float, part: str | None = None) -> str:
    """x / sqrt(mean(x ** 2, -1) + eps) as a layernorm of [x, -x]: that row's mean is 0 and its
    variance mean(x ** 2), so its first half is exactly RMS normalization of x."""
    width = lw.shapes[x][-1]
    both = lw.emit(n, "concat", [x, lw.emit(n, "neg", [x], part="rms_neg")], {"axis": -1}, part="rms_both")
    ones = lw.constant(n, "rms_scale", np.ones(2 * width))
    normed = lw.emit(n, "layernorm", [both, ones], {"axis": -1, "epsilon": eps}, part="rms_normalized")
    attrs = {"starts": (0,), "ends": (width,), "axes": (len(lw.shapes[x]) - 1,), "steps": (1,)}
    return lw.emit(n, "slice", [normed], attrs, part=part)


def _aten(node: Any) -> str:
    """The ATen op name of an FX node ('' for anything else)."""
    return getattr(getattr(getattr(node, "target", None), "_schema", None), "name", "")


# -- dense products --

@handles("linear")
def _linear(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """A linear layer; a computed weight (a slice of nn.MultiheadAttention's packed in_proj_weight)
    is x @ W^T (+ b) instead, as the catalog's linear takes its weight from the parameters."""
    x, weight = lw.ref(n, a["input"]), lw.ref(n, a["weight"])
    bias = lw.ref(n, a["bias"]) if a["bias"] is not None else None
    if weight in lw.params and (bias is None or bias in lw.params):
        return lw.emit(n, "linear", [x, weight] + ([bias] if bias else []))
    rank = len(lw.shapes[weight])
    perm = tuple(range(rank - 2)) + (rank - 1, rank - 2) if rank > 1 else (0,)
    return _product(lw, n, x, lw.emit(n, "transpose", [weight], {"perm": perm}, part="weight_t"), bias)


@handles("mm", "bmm", "matmul")
def _matmul(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    x, y = lw.ref(n, a["self"]), lw.ref(n, a.get("mat2", a.get("other")))
    return _product(lw, n, x, y, None)


@handles("addmm")
def _addmm(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """beta * self + alpha * (mat1 @ mat2), the core-ATen form of a linear layer (mat2 = weight^T)."""
    if a["beta"] != 1 or a["alpha"] != 1:
        raise lw.error(n, f"addmm with beta={a['beta']}, alpha={a['alpha']} is not supported (only 1, 1)")
    return _product(lw, n, lw.ref(n, a["mat1"]), lw.ref(n, a["mat2"]), lw.ref(n, a["self"]))


def _product(lw: _Lowering, n: Any, x: str, y: str, bias: str | None) -> str:
    """x @ y (+ bias): a linear layer when y transposes a 2-D weight, else matmul (then add)."""
    weight = lw.transposed.get(y)
    out = lw.shapes[y][-1:] if len(lw.shapes[y]) > 1 else ()
    if weight is not None and x not in lw.params and (bias is None or (bias in lw.params and lw.shapes[bias] == out)):
        return lw.emit(n, "linear", [x, weight] + ([bias] if bias else []))
    if bias is None:
        return lw.emit(n, "matmul", [x, y])
    return lw.emit(n, "add", [lw.emit(n, "matmul", [x, y], part="matmul"), bias])


@handles("conv2d", "convolution")
def _conv2d(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    if a.get("transposed"):
        raise lw.error(n, "transposed convolution is not supported")
    if len(_shape_of(a["weight"])) != 4:
        raise lw.error(n, f"only 2-D convolution is supported (weight shape {list(_shape_of(a['weight']))})")
    kernel = _shape_of(a["weight"])[2:]
    dilation = _pair(a["dilation"])
    attrs = {"stride": _pair(a["stride"]), "dilation": dilation, "groups": a["groups"],
             "padding": _conv_padding(lw, n, a["padding"], kernel, dilation)}
    inputs = [lw.ref(n, a["input"]), lw.ref(n, a["weight"])] + ([lw.ref(n, a["bias"])] if a["bias"] is not None else [])
    return lw.emit(n, "conv2d", inputs, attrs)


def _conv_padding(lw: _Lowering, n: Any, padding: Any, kernel: Shape, dilation: tuple[int, int]) -> tuple[int, ...]:
    """[top, left, bottom, right] from torch's symmetric pair, 'valid' or 'same' (extra on the far side)."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        total = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return (total[0] // 2, total[1] // 2, total[0] - total[0] // 2, total[1] - total[1] // 2)
    if isinstance(padding, str):
        raise lw.error(n, f"padding {padding!r} is not supported")
    ph, pw = _pair(padding)
    return (ph, pw, ph, pw)


# -- pooling --

def _window(a: dict[str, Any]) -> dict[str, Any]:
    kernel = _pair(a["kernel_size"])
    stride = _pair(a["stride"]) if list(a["stride"] or []) else kernel
    ph, pw = _pair(a["padding"])
    return {"kernel": kernel, "stride": stride, "padding": (ph, pw, ph, pw), "ceil_mode": a["ceil_mode"]}


@handles("max_pool2d", "max_pool2d_with_indices")
def _maxpool(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    attrs = {**_window(a), "dilation": _pair(a["dilation"])}
    if n.target._schema.name.endswith("with_indices"):
        return _Pieces((lambda use: lw.emit(use, "maxpool2d", [lw.ref(n, a["self"])], attrs),
                        lambda use: _refuse(lw, use, "max pooling indices are not supported")))
    return lw.emit(n, "maxpool2d", [lw.ref(n, a["self"])], attrs)


@handles("avg_pool2d")
def _avgpool(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    if a["divisor_override"] is not None:
        raise lw.error(n, f"avg_pool2d divisor_override={a['divisor_override']} is not supported")
    x = lw.ref(n, a["self"])
    attrs = {**_window(a), "count_include_pad": a["count_include_pad"]}
    return lw.emit(n, "avgpool2d", [x], {**attrs, "kernel": _clipped(attrs, lw.shapes[x][-2:], _shape_of(n)[-2:])})


def _clipped(attrs: dict[str, Any], size: Shape, out: Shape) -> tuple[int, ...]:
    """The kernel, clipped to the padded input along an axis where it is larger and torch (in ceil
    mode) takes one window: torch clips that window to the padded input, so it IS a window of that
    size (EfficientNet's pooler is an AvgPool2d(1280, ceil_mode=True) over a 1x1 map)."""
    pads = attrs["padding"]
    return tuple(min(k, d + pads[i] + pads[i + 2]) if o == 1 else k
                 for i, (k, d, o) in enumerate(zip(attrs["kernel"], size, out)))


@handles("adaptive_avg_pool2d", "_adaptive_avg_pool2d", "adaptive_avg_pool1d")
def _adaptive_avgpool(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """An average pool with fixed windows when the output size divides the input size (a 1-D pool
    is a 2-D one over rows of height 1)."""
    x = lw.ref(n, a["self"])
    flat = n.target._schema.name.endswith("1d")
    (h, w), (oh, ow) = ((1,) + lw.shapes[x][-1:], (1,) + _shape_of(n)[-1:]) if flat else (lw.shapes[x][-2:], _shape_of(n)[-2:])
    if h % oh or w % ow:
        raise lw.error(n, f"adaptive average pooling from {h}x{w} to {oh}x{ow}: only output sizes dividing the input are supported")
    if (h, w) == (oh, ow):
        return x
    kernel = (h // oh, w // ow)
    if not flat:
        return lw.emit(n, "avgpool2d", [x], {"kernel": kernel, "stride": kernel})
    rows = lw.shapes[x][:-1] + (1, w)
    return _chain(lw, n, x, [("reshape", {"shape": rows}, []), ("avgpool2d", {"kernel": kernel, "stride": kernel}, []),
                             ("reshape", {"shape": _shape_of(n)}, [])], "pool")


def _refuse(lw: _Lowering, n: Any, message: str) -> str:
    raise lw.error(n, message)


# -- normalization, softmax, attention --

@handles("batch_norm", "_native_batch_norm_legit_no_training")
def _batchnorm(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    if a.get("training"):
        raise lw.error(n, "batch norm in training mode; export the module in eval mode")
    if a["running_mean"] is None or a["running_var"] is None:
        raise lw.error(n, "batch norm without running statistics (track_running_stats=False) is not supported")

    def emit(use: Any) -> str:
        c = lw.shapes[lw.ref(n, a["input"])][1]
        scale = lw.ref(n, a["weight"]) if a["weight"] is not None else lw.constant(n, "scale", np.ones(c))
        bias = lw.ref(n, a["bias"]) if a["bias"] is not None else lw.constant(n, "bias", np.zeros(c))
        stats = [lw.ref(n, a["running_mean"]), lw.ref(n, a["running_var"])]
        return lw.emit(use, "batchnorm", [lw.ref(n, a["input"]), scale, bias, *stats], {"epsilon": a["eps"]})

    if "training" in a:
        return emit(n)
    return _Pieces((emit,) + (lambda use: _refuse(lw, use, "batch norm statistics outputs are not supported"),) * 2)


@handles("layer_norm", "native_layer_norm")
def _layernorm(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    normalized = tuple(a["normalized_shape"])

    def emit(use: Any) -> str:
        scale = lw.ref(n, a["weight"]) if a["weight"] is not None else lw.constant(n, "scale", np.ones(normalized))
        bias = [lw.ref(n, a["bias"])] if a["bias"] is not None else []
        return lw.emit(use, "layernorm", [lw.ref(n, a["input"]), scale, *bias], {"axis": -len(normalized), "epsilon": a["eps"]})

    if "cudnn_enable" in a:
        return emit(n)
    return _Pieces((emit,) + (lambda use: _refuse(lw, use, "layer norm statistics outputs are not supported"),) * 2)


@handles("group_norm", "native_group_norm")
def _groupnorm(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """torch's group norm: each sample's channels in `groups` groups, each group normalized over its
    channels and positions (a layernorm over the group laid out as one row), then the per-channel
    scale and shift."""
    x = lw.ref(n, a["input"])
    shape = lw.shapes[x]
    groups, channels = a["group" if "group" in a else "num_groups"], shape[1]
    row = math.prod(shape[1:]) // groups
    eps = a["eps"]

    def emit(use: Any) -> str:
        grouped = lw.emit(use, "reshape", [x], {"shape": (shape[0], groups, row)}, part="groups")
        ones = lw.constant(n, "scale", np.ones(row))
        normed = lw.emit(use, "layernorm", [grouped, ones], {"axis": -1, "epsilon": eps}, part="normalized")
        steps: list[Step] = [("reshape", {"shape": shape}, [])]
        per_channel = (channels,) + (1,) * (len(shape) - 2)
        for k, (arg, op) in enumerate(((a["weight"], "mul"), (a["bias"], "add"))):
            if arg is not None:
                steps.append((op, {}, [lw.emit(use, "reshape", [lw.ref(n, arg)], {"shape": per_channel}, part=f"{op}_by")]))
        return _chain(lw, use, normed, steps, "affine")

    if "cudnn_enabled" in a:
        return emit(n)
    return _Pieces((emit,) + (lambda use: _refuse(lw, use, "group norm statistics outputs are not supported"),) * 2)


@handles("softmax", "_softmax")
def _softmax(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    if a.get("dtype") not in (None, _torch().float32) or a.get("half_to_float"):
        raise lw.error(n, "softmax with a dtype conversion is not supported")
    return lw.emit(n, "softmax", [lw.ref(n, a["self"])], {"axis": a["dim"]})


@handles("scaled_dot_product_attention")
def _attention(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """softmax(q k^T * scale + mask) v, as the module doc states (a keep-mask through masked_softmax)."""
    if a["dropout_p"] != 0:
        raise lw.error(n, f"attention dropout_p={a['dropout_p']} is not supported (export in eval mode with dropout 0)")
    if a["enable_gqa"]:
        raise lw.error(n, "grouped-query attention (enable_gqa=True) is not supported")
    q, k, v = (lw.ref(n, a[x]) for x in ("query", "key", "value"))
    rank, (length, width), keys = len(lw.shapes[k]), lw.shapes[q][-2:], lw.shapes[k][-2]
    perm = tuple(range(rank - 2)) + (rank - 1, rank - 2)
    scores = lw.emit(n, "matmul", [q, lw.emit(n, "transpose", [k], {"perm": perm}, part="keys_t")], part="scores")
    scale = a["scale"] if a["scale"] is not None else 1 / math.sqrt(width)
    scores = lw.emit(n, "mul", [scores, lw.constant(n, "scale", scale)], part="scaled")
    mask = a["attn_mask"]
    keep, additive = None, None
    if a["is_causal"] or (mask is not None and str(mask.meta["val"].dtype) == "torch.bool"):
        keep = _keep_mask(lw, n, a, length, keys)
    elif mask is not None:
        keep, additive = _float_mask(lw, n, mask)
    if additive is not None:
        scores = lw.emit(n, "add", [scores, additive], part="masked")
    weights = lw.emit(n, "masked_softmax", [scores, keep], part="weights") if keep else \
        lw.emit(n, "softmax", [scores], {"axis": -1}, part="weights")
    return lw.emit(n, "matmul", [weights, v])


def _float_mask(lw: _Lowering, n: Any, mask: Any) -> tuple[str | None, str | None]:
    """(keep-mask, additive part) of a float attention mask. A mask the code fixes with -inf entries
    (`nn.Transformer.generate_square_subsequent_mask`) hides those keys, as a keep-mask, and adds its
    finite entries; any other float mask is added as it is."""
    value = lw.concrete(mask)
    if value is None or bool(value.isfinite().all()):
        return None, lw.ref(n, mask)
    array = value.detach().cpu().numpy()
    hidden = array == -np.inf
    if not (np.isfinite(array) | hidden).all():
        raise lw.error(n, f"the attention mask {mask.name!r} holds +inf or NaN; only -inf hides a key")
    finite = np.where(hidden, 0, array)
    return lw.constant(n, "keep", (~hidden).astype(np.float32)), (lw.constant(n, "bias", finite) if finite.any() else None)


def _keep_mask(lw: _Lowering, n: Any, a: dict[str, Any], length: int, keys: int) -> str | None:
    """The 0/1 keep-mask parameter of a causal or boolean mask; None when a boolean mask keeps every key."""
    mask = a["attn_mask"]
    if a["is_causal"] and mask is not None:
        raise lw.error(n, "attention with both is_causal and attn_mask is not supported")
    if a["is_causal"]:
        return lw.constant(n, "mask", np.tril(np.ones((length, keys))))
    value = lw.concrete(mask)
    if value is None:  # no supported op computes a boolean tensor from the inputs
        raise lw.error(n, f"the boolean attention mask {mask.name!r} depends on the inputs, which is not supported")
    keep = value.detach().cpu().numpy()
    return None if keep.all() else lw.constant(n, "keep", keep.astype(np.float32))


# -- shapes and layout --

@handles("view", "reshape", "_unsafe_view", "squeeze", "unsqueeze", "flatten", "unflatten", "view_as", "reshape_as")
def _reshape(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """To torch's static result shape; `flatten(x, 1)` of rank >= 3 stays ONNX-style flatten. A
    reshape of token ids is held as a view until the embedding that reads it (`_lookup`)."""
    source = a["self"] if "self" in a else a["input"]
    ids = lw.token_ids(source)
    if ids is not None:
        return ids.ids if _shape_of(n) == lw.shapes[ids.ids] else _IdsView(ids.ids, _shape_of(n))
    x = lw.ref(n, source)
    src, dst = lw.shapes[x], _shape_of(n)
    if src == dst:
        return x
    if n.target._schema.name == "aten::flatten" and len(dst) == 2 and dst == (src[0], math.prod(src[1:])):
        return lw.emit(n, "flatten", [x], {"axis": 1})
    return lw.emit(n, "reshape", [x], {"shape": dst})


PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}


@handles("pad", "constant_pad_nd", "reflection_pad1d", "reflection_pad2d", "replication_pad1d", "replication_pad2d")
def _pad(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """torch's pad list runs from the last axis backwards, (begin, end) per axis: ONNX pad's layout
    is all begins, then all ends, from the first axis."""
    x = lw.ref(n, a["self"])
    rank = len(lw.shapes[x])
    name = n.target._schema.name
    mode = a.get("mode") or ("reflect" if "reflection" in name else "replicate" if "replication" in name else "constant")
    if mode not in PAD_MODES:
        raise lw.error(n, f"pad mode {mode!r} is not supported (only {', '.join(PAD_MODES)})")
    widths = list(a["pad" if "pad" in a else "padding"])
    if any(w < 0 for w in widths):
        raise lw.error(n, f"negative padding {widths} (cropping) is not supported")
    pairs = [(widths[2 * k], widths[2 * k + 1]) for k in range(len(widths) // 2)][::-1]
    pairs = [(0, 0)] * (rank - len(pairs)) + pairs
    attrs = {"pads": tuple(b for b, _ in pairs) + tuple(e for _, e in pairs), "mode": PAD_MODES[mode]}
    if mode == "constant":
        attrs["value"] = float(a["value"] or 0.0)
    return lw.emit(n, "pad", [x], attrs)


@handles("permute", "transpose", "t", "mT", "numpy_T", "swapaxes", "swapdims")
def _transpose(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    x = lw.ref(n, a["self"])
    perm = _permutation(n.target._schema.name, a, len(lw.shapes[x]))
    if perm == tuple(range(len(perm))):
        return x
    out = lw.emit(n, "transpose", [x], {"perm": perm})
    if x in lw.params and perm == (1, 0):
        lw.transposed[out] = x
    return out


def _permutation(op: str, a: dict[str, Any], rank: int) -> tuple[int, ...]:
    if op == "aten::permute":
        return tuple(_axis(d, rank) for d in a["dims"])
    if op in ("aten::t", "aten::numpy_T"):
        return tuple(range(rank))[::-1]
    d0, d1 = (-2, -1) if op == "aten::mT" else (a.get("dim0", a.get("axis0")), a.get("dim1", a.get("axis1")))
    perm = list(range(rank))
    perm[_axis(d0, rank)], perm[_axis(d1, rank)] = perm[_axis(d1, rank)], perm[_axis(d0, rank)]
    return tuple(perm)


@handles("cat", "concat", "concatenate")
def _cat(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """Empty pieces (an empty key/value cache, which torch's cat skips) are left out."""
    parts = [lw.ref(n, t) for t in a["tensors"] if math.prod(_shape_of(t))]
    if len(parts) == 1:
        return parts[0]
    return lw.emit(n, "concat", parts, {"axis": _axis(a["dim"], len(_shape_of(n)))})


@handles("stack")
def _stack(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """Each tensor reshaped to hold the new axis, then concatenated along it."""
    out = _shape_of(n)
    axis = _axis(a["dim"], len(out))
    piece = out[:axis] + (1,) + out[axis + 1:]
    parts = [lw.emit(n, "reshape", [lw.ref(n, t)], {"shape": piece}, part=str(k)) for k, t in enumerate(a["tensors"])]
    return lw.emit(n, "concat", parts, {"axis": axis})


@handles("expand", "expand_as")
def _expand(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """Broadcast to torch's static shape: size-1 axes repeat by concatenating copies (exact)."""
    x = lw.ref(n, a["self"])
    out = _shape_of(n)
    src = (1,) * (len(out) - len(lw.shapes[x])) + lw.shapes[x]
    steps = [("reshape", {"shape": src}, 1)] if src != lw.shapes[x] else []
    steps += [("concat", {"axis": axis}, d) for axis, (s, d) in enumerate(zip(src, out)) if s != d]
    for k, (op, attrs, copies) in enumerate(steps):
        x = lw.emit(n, op, [x] * copies, attrs, part=None if k == len(steps) - 1 else f"{k}")
    return x


def _slice(lw: _Lowering, n: Any, x: str, dim: int, kept: range, part: str | None = None) -> str:
    """x restricted to indices `kept` along `dim` (the whole axis: x itself)."""
    size = lw.shapes[x][dim]
    if kept == range(size):
        return x
    attrs = {"starts": (kept.start,), "ends": (kept.stop,), "axes": (dim,), "steps": (kept.step,)}
    return lw.emit(n, "slice", [x], attrs, part=part)


@handles("slice")
def _slice_op(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    x = lw.ref(n, a["self"])
    dim = _axis(a["dim"], len(lw.shapes[x]))
    return _slice(lw, n, x, dim, range(*slice(a["start"], a["end"], a["step"]).indices(lw.shapes[x][dim])))


@handles("narrow")
def _narrow(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    x = lw.ref(n, a["self"])
    dim = _axis(a["dim"], len(lw.shapes[x]))
    start = a["start"] % lw.shapes[x][dim]
    return _slice(lw, n, x, dim, range(start, start + a["length"]))


@handles("select")
def _select(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """One index of an axis: a slice of width 1, then a reshape dropping the axis."""
    x = lw.ref(n, a["self"])
    dim = _axis(a["dim"], len(lw.shapes[x]))
    index = a["index"] % lw.shapes[x][dim]
    return _take(lw, n, x, dim, index, 1, drop=True)


def _take(lw: _Lowering, n: Any, x: str, dim: int, start: int, size: int, *, drop: bool) -> str:
    """Indices [start, start + size) of `dim`, the axis removed when `drop` (select, unbind)."""
    if not drop:
        return _slice(lw, n, x, dim, range(start, start + size))
    sliced = _slice(lw, n, x, dim, range(start, start + size), part="slice")
    shape = lw.shapes[sliced]
    return lw.emit(n, "reshape", [sliced], {"shape": shape[:dim] + shape[dim + 1:]})


@handles("flip")
def _flip(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """One slice walking each flipped axis backwards (step -1, from the last index past the first)."""
    x = lw.ref(n, a["self"])
    shape = lw.shapes[x]
    axes = sorted({_axis(d, len(shape)) for d in a["dims"]})
    if not axes:
        return x
    attrs = {"starts": (-1,) * len(axes), "ends": tuple(-(shape[d] + 1) for d in axes), "axes": tuple(axes),
             "steps": (-1,) * len(axes)}
    return lw.emit(n, "slice", [x], attrs)


@handles("roll")
def _roll(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """Each rolled axis as its last `shift` entries followed by the others (two slices, a concat)."""
    x = lw.ref(n, a["self"])
    shifts, dims = list(a["shifts"]), list(a["dims"] or [])
    if len(dims) != len(shifts):
        raise lw.error(n, f"roll of the flattened tensor (shifts {shifts} without dims) is not supported")
    for k, (shift, dim) in enumerate(zip(shifts, dims)):
        dim = _axis(dim, len(lw.shapes[x]))
        size = lw.shapes[x][dim]
        cut = size - shift % size
        if cut == size:
            continue
        parts = [_slice(lw, n, x, dim, r, part=f"{k}.{j}") for j, r in enumerate((range(cut, size), range(cut)))]
        x = lw.emit(n, "concat", parts, {"axis": dim}, part=None if k == len(shifts) - 1 else str(k))
    return x


@handles("index")
def _index(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """x[..., idx, ...] with one integer index fixed by the code (a relative-position table read by
    a constant index buffer): `_gather`; `weight[ids]`, a table's rows at token ids: `_lookup`.
    Index tensors computed from the inputs are refused."""
    given = [(d, t) for d, t in enumerate(a["indices"]) if t is not None]
    if len(given) == 1 and given[0][0] == 0 and lw.token_ids(given[0][1]) is not None:
        return _lookup(lw, n, a["self"], given[0][1])
    x = lw.ref(n, a["self"])
    if len(given) != 1 or lw.concrete(given[0][1]) is None:
        raise lw.error(n, "indexing is supported with one index tensor fixed by the model's code (not by the inputs), "
                          "or a table's rows at token ids (table[ids])")
    return _gather(lw, n, x, given[0][0], given[0][1])


@handles("index_select")
def _index_select(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """index_select(x, dim, index): rows of a table at token ids (dim 0), else at code-fixed integers (`_gather`)."""
    if lw.token_ids(a["index"]) is not None and a["dim"] in (0, -len(_shape_of(a["self"]))):
        return _lookup(lw, n, a["self"], a["index"])
    if lw.concrete(a["index"]) is None:
        raise lw.error(n, "index_select is supported at indices fixed by the model's code, or along axis 0 at token ids")
    x = lw.ref(n, a["self"])
    return _gather(lw, n, x, _axis(a["dim"], len(lw.shapes[x])), a["index"])


@handles("embedding")
def _embedding(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """Rows of the table at token ids (a model input): `_lookup`; at ids the code fixes (position
    ids, token type ids): `_gather`, as a constant selection."""
    if lw.token_ids(a["indices"]) is not None:
        return _lookup(lw, n, a["weight"], a["indices"])
    if lw.concrete(a["indices"]) is None:
        raise lw.error(n, "an embedding lookup is supported at token ids (an int64 model input) or at ids the model's "
                          "code fixes, not at ids computed from the inputs")
    return _gather(lw, n, lw.ref(n, a["weight"]), 0, a["indices"])


def _lookup(lw: _Lowering, n: Any, table: Any, indices: Any) -> str:
    """The catalog's `embedding` of a parameter table at an int64 input's ids. The input's id range
    becomes [0, rows of the smallest table it indexes); ids viewed in another shape are looked up
    as they are and the rows reshaped (the same values in the same order)."""
    view = lw.token_ids(indices)
    weight = lw.ref(n, table)
    if weight not in lw.params:
        raise lw.error(n, f"looks up token ids in {table.name!r}, which is computed; the table must be a module parameter")
    rows = lw.shapes[weight][0]
    lw.ids[view.ids] = rows if lw.ids[view.ids] is None else min(rows, lw.ids[view.ids])
    if view.shape == lw.shapes[view.ids]:
        return lw.emit(n, "embedding", [view.ids, weight])
    looked = lw.emit(n, "embedding", [view.ids, weight], part="lookup")
    return lw.emit(n, "reshape", [looked], {"shape": view.shape + lw.shapes[weight][1:]})


def _gather(lw: _Lowering, n: Any, x: str, dim: int, index: Any) -> str:
    """x's entries along `dim` at the code-fixed integers of `index`, as torch's advanced indexing
    places them: a matmul by the constant 0/1 selection matrix, exact, as each result is one
    element plus zeros (finite values)."""
    shape, rank = lw.shapes[x], len(lw.shapes[x])
    idx = lw.concrete(index).detach().cpu().numpy()
    if idx.dtype.kind not in "iu" or not ((-shape[dim] <= idx) & (idx < shape[dim])).all():
        raise lw.error(n, f"index {index.name!r} must hold integers in [-{shape[dim]}, {shape[dim]}) for axis {dim} of {list(shape)}")
    select = np.eye(shape[dim], dtype=np.float32)[(idx % shape[dim]).reshape(-1)].T  # (size of the axis, entries)
    rest = [d for d in range(rank) if d != dim]
    steps: list[Step] = [] if dim == rank - 1 else [("transpose", {"perm": tuple(rest) + (dim,)}, [])]
    kept = tuple(shape[d] for d in rest)
    steps += [("matmul", {}, [lw.constant(n, "select", select)]), ("reshape", {"shape": kept + idx.shape}, [])]
    order = list(range(len(kept) + idx.ndim))
    perm = tuple(order[:dim] + order[len(kept):] + order[dim:len(kept)])
    if perm != tuple(order):
        steps.append(("transpose", {"perm": perm}, []))
    return _chain(lw, n, x, steps, "index")


@handles("upsample_nearest2d")
def _upsample_nearest(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """Nearest upsampling by whole factors: each row and column repeated (concatenated copies), exact."""
    x = lw.ref(n, a["input"])
    *lead, h, w = lw.shapes[x]
    oh, ow = _shape_of(n)[-2:]
    if oh % h or ow % w:
        raise lw.error(n, f"nearest upsampling from {h}x{w} to {oh}x{ow}: only whole factors are supported")
    y = lw.emit(n, "reshape", [x], {"shape": (*lead, h, 1, w, 1)}, part="cells")
    y = lw.emit(n, "concat", [y] * (oh // h), {"axis": -3}, part="rows")
    y = lw.emit(n, "concat", [y] * (ow // w), {"axis": -1}, part="columns")
    return lw.emit(n, "reshape", [y], {"shape": _shape_of(n)})


@handles("upsample_bilinear2d")
def _upsample_bilinear(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """Bilinear interpolation is separable: rows @ x @ cols^T, with the (out, in) weight matrices
    torch's own kernel gives when it interpolates an identity along one axis (so its source-index
    rule, align_corners and scale factors are torch's, not re-derived here)."""
    x = lw.ref(n, a["input" if "input" in a else "self"])
    (h, w), (oh, ow) = lw.shapes[x][-2:], _shape_of(n)[-2:]
    scales = a.get("scale_factors") or [a.get("scales_h"), a.get("scales_w")]
    rows = _interpolation(h, oh, a["align_corners"], scales[0])
    cols = _interpolation(w, ow, a["align_corners"], scales[1])
    wide = lw.emit(n, "matmul", [x, lw.constant(n, "columns", cols.T)], part="wide")
    return lw.emit(n, "matmul", [lw.constant(n, "rows", rows), wide])


def _interpolation(size: int, out: int, align_corners: bool, scale: float | None) -> np.ndarray:
    """The (out, size) weights of torch's bilinear upsampling along one axis."""
    torch = _torch()
    eye = torch.eye(size).reshape(1, 1, size, size)
    scales = None if scale is None else [float(scale), 1.0]
    with torch.no_grad():
        weights = torch.ops.aten.upsample_bilinear2d.vec(eye, None if scales else [out, size], align_corners, scales)
    return weights[0, 0].numpy()


@handles("split", "split_with_sizes", "chunk", "unbind", "tensor_split")
def _split(lw: _Lowering, n: Any, a: dict[str, Any]) -> Value:
    """Consecutive pieces along one axis, each lowered when a getitem uses it."""
    x = lw.ref(n, a["self"])
    dim = _axis(a["dim"], len(lw.shapes[x]))
    drop = n.target._schema.name == "aten::unbind"
    sizes = [1 if drop else _shape(v)[dim] for v in n.meta["val"]]
    starts = [sum(sizes[:k]) for k in range(len(sizes))]
    return _Pieces(tuple(
        (lambda use, s=s, z=z: _take(lw, use, x, dim, s, z, drop=drop)) for s, z in zip(starts, sizes)
    ))
