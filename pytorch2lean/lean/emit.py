"""Export a bound, validated graph as a Lake project whose theorems the Lean kernel checks.

The project holds `lakefile.lean`, `lean-toolchain`, `<Module>/Model.lean` (the graph term and one
packed float32 literal per parameter, headed by the IR digest and the checkpoint's sha256),
`<Module>/Params.lean` (`paramsDecode`: every literal holds finite float32 values, from one
theorem per tensor, or per piece of a big one, see `encode.decode_plan`; a big model's pieces in
modules `<Module>/Params/Part<k>.lean`, which lean-check compiles side by side),
`<Module>/Theorems.lean` (well-formedness and output shapes, which read no parameter value, one exact
input/output theorem per example, the output computed by `evaluate_exact`, and for a graph with
a causal attention mask the `CausalDeps` theorem of its sequence axis, see `causal.py`),
`<Module>/Certificates/<name>.lean` (one theorem per accepted certificate, see `certificate.py`;
certificates written into the project earlier are kept), `<Module>/Decoded.lean` when a CROWN
certificate is among them (the parameters' exact values written out, `decodedParams_eq`: its
stages read them instead of decoding the literals in each kernel evaluation, and `weightPreps`: each
matmul/linear weight's rows checked and packed once, see `_weight_preps`) and `Check.lean`
(`#print axioms` for every theorem). With `standalone=True` the Lean library is copied in;
otherwise the lakefile requires it from this installation. Rendering is a pure function of its
arguments: exporting twice writes the same bytes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence, Union

import jinja2
import numpy as np

from .. import __version__, ops
from ..errors import UserError
from ..ir.graph import Graph, Input, Param
from ..ir.serialize import digest
from ..runtime import evaluate_exact
from ..runtime.plan import token_ids
from .causal import sequence_contract
from .encode import (CHUNK, Entry, decode_parts, decode_plan, list_literal, module_name, nat_hex, node_entries, packed_f32,
                     param_literals, q_literal, q_rows, shape_literal, value_table)
from .resources import lean_library_dir, templates_dir

if TYPE_CHECKING:
    from .certificate import CertificateTheorem

TOOLCHAIN = "leanprover/lean4:v4.35.0"
Example = Union[np.ndarray, Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class ExampleTerm:
    """One example: its packed float32 inputs `(literal, count)` and exact output rows."""

    index: int
    inputs: list[tuple[str, int]]
    outputs: list[str]


def export_project(graph: Graph, out_dir: str | Path, *, checkpoint_sha256: str,
                   examples: Sequence[Example] = (), standalone: bool = False,
                   certificates: Sequence["CertificateTheorem"] = ()) -> Path:
    """Write the Lake project of `graph` into `out_dir` (created if needed); returns `out_dir`.

    `examples` are model inputs: an array of the input's shape (with or without a leading batch
    axis of 1) for a one-input model, or a mapping from input name to array. `certificates` are
    theorems of accepted certificates (`certificate.certificate_theorem`), added to those the
    project already holds.
    """
    _check_exportable(graph)
    out = Path(out_dir)
    module = module_name(graph.name)
    context = _context(graph, module, checkpoint_sha256, examples, standalone)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False)
    for cert in certificates:
        _write(out / module / "Certificates" / f"{cert.name}.lean",
               env.get_template("Certificate.lean.j2").render(context, c=cert))
    context["certificates"] = _certificate_modules(out / module / "Certificates")
    context["decoded"] = any(f"import {module}.Decoded" in c["text"] for c in context["certificates"])
    if context["decoded"]:
        _write(out / module / "Decoded.lean",
               env.get_template("Decoded.lean.j2").render(context, values=_decoded_params(graph),
                                                          preps=_weight_preps(graph)))
    files = {
        "lakefile.lean": "lakefile.lean.j2",
        "lean-toolchain": "lean-toolchain.j2",
        f"{module}/Model.lean": "Model.lean.j2",
        f"{module}/Params.lean": "Params.lean.j2",
        f"{module}/Theorems.lean": "Theorems.lean.j2",
        "Check.lean": "Check.lean.j2",
    }
    for target, template in files.items():
        _write(out / target, env.get_template(template).render(context))
    if len(context["parts"]) > 1:
        for k, part in enumerate(context["parts"]):
            _write(out / module / "Params" / f"Part{k}.lean",
                   env.get_template("ParamsPart.lean.j2").render(context, part=part, part_index=k))
    if standalone:
        _vendor_library(out)
    return out


def _certificate_modules(folder: Path) -> list[dict[str, object]]:
    """The certificate modules in the project (written now or by an earlier export), each with the
    theorems it states, for the lakefile and `Check.lean`."""
    texts = {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.lean"))}
    return [{"module": m, "theorems": _THEOREM.findall(t), "text": t} for m, t in texts.items()]


_THEOREM = re.compile(r"^theorem (\S+)", re.MULTILINE)


@dataclass(frozen=True)
class DecodedParam:
    """A parameter's exact values as a Lean list of `Q` literals, for `Decoded.lean`."""

    index: int  # in the value table
    name: str
    shape: tuple[int, ...]
    values: str


def _decoded_params(graph: Graph) -> list[DecodedParam]:
    """Every parameter's float32 values as exact rationals (`Decoded.lean`, written when a CROWN
    certificate reads them): what `decodeAll` gives, which the module proves."""
    base = len(graph.inputs)
    return [DecodedParam(base + k, p.name, tuple(p.shape), list_literal([q_literal(q) for q in _exact_values(p)]))
            for k, p in enumerate(graph.params)]


def _exact_values(p: Param) -> list[Fraction]:
    """A parameter's float32 values, row-major, as exact rationals."""
    return [Fraction(float(v)) for v in np.asarray(p.array, np.float32).reshape(-1)]


@dataclass(frozen=True)
class WeightPrep:
    """A weight prepared for the CROWN back steps through it (`Prep` in `CheckCROWN.lean`): the
    digits of its rows (`prepRows`) over their common denominator, which `Packed.ofDigits` packs."""

    index: int  # in the value table
    name: str
    mm: bool  # read by matmul (its columns are the rows) or by linear (its rows)
    kk: int  # the operand's length
    nn: int  # the output's length
    param: int  # its index in decodedParams
    packed: str  # the `Packed` term


def _weight_preps(graph: Graph) -> list[WeightPrep]:
    """Every parameter that a matmul (a 2-D weight) or linear node reads as its weight, prepared:
    the rows a back step reads (`prepRows`: the columns of a matmul weight, the rows of a linear
    one), their common denominator `S` and largest digit `maxd` exactly as `packRows` takes them
    (`maxOf`: the largest denominator, at least 1; the largest magnitude over `S`, at least 0),
    and each row's positive and negative parts as digits. `prepCheck` proves in the kernel that
    this is what `packRows` computes, once per model; a wrong digit fails that theorem."""
    base = len(graph.inputs)
    where = {p.name: k for k, p in enumerate(graph.params)}
    uses: dict[tuple[int, bool], WeightPrep] = {}
    for node in graph.nodes:
        if node.op not in ("matmul", "linear") or len(node.inputs) < 2 or node.inputs[1] not in where:
            continue
        k = where[node.inputs[1]]
        p = graph.params[k]
        shape = tuple(p.shape)
        mm = node.op == "matmul"
        if (k, mm) in uses or mm and len(shape) != 2 or not shape:
            continue
        kk, nn = shape if mm else (shape[-1], shape[0])
        if math.prod(shape) != kk * nn:
            continue
        w = _exact_values(p)
        rows = ([[w[i * nn + o] for i in range(kk)] for o in range(nn)] if mm
                else [w[o * kk:(o + 1) * kk] for o in range(nn)])
        S = max([1] + [q.denominator for r in rows for q in r])
        maxd = max([0] + [abs(q.numerator) * (S // q.denominator) for r in rows for q in r])
        def digits(r: list[Fraction], neg: bool) -> str:
            return list_literal([str(abs(q.numerator) * (S // q.denominator) if (q < 0) == neg else 0) for q in r])
        packed = (f"Packed.ofDigits {maxd} {S} {list_literal([digits(r, False) for r in rows])} "
                  f"{list_literal([digits(r, True) for r in rows])}")
        uses[(k, mm)] = WeightPrep(base + k, p.name, mm, kk, nn, k, packed)
    return sorted(uses.values(), key=lambda u: (u.index, not u.mm))


def _check_exportable(graph: Graph) -> None:
    if not graph.bound:
        unbound = next(p.name for p in graph.params if not p.bound)
        raise UserError(f"parameter {unbound!r} has no value: bind a checkpoint before exporting")
    if any(n.shape is None for n in graph.nodes):
        raise UserError("the graph has nodes without shapes: validate it before exporting")


def _write(path: Path, text: str) -> None:
    """Write `text`, leaving an identical file untouched (so its compiled module stays fresh)."""
    data = text.encode("utf-8")
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _vendor_library(out: Path) -> None:
    """Copy the Lean library's sources next to the model (no build outputs)."""
    src = lean_library_dir()
    for rel in sorted(p.relative_to(src) for p in src.rglob("*.lean")):
        _write(out / rel, (src / rel).read_text(encoding="utf-8"))


def _context(graph: Graph, module: str, sha: str, examples: Sequence[Example], standalone: bool) -> dict:
    index = value_table(graph)
    inexact = sorted({n.op for n in graph.nodes if not ops.get(n.op).exact})
    example_terms = [] if inexact else [_example(graph, k, ex) for k, ex in enumerate(examples)]
    shapes = graph.shapes()
    causal = sequence_contract(graph)
    literals = param_literals(graph)
    decodes = [decode_plan(p) for p in literals]
    theorems = (["wellFormed", "outputShapes", "paramsDecode"] + (["causalDeps"] if causal else [])
                + [f"example{e.index}" for e in example_terms])
    return {
        "version": __version__,
        "model": graph.name,
        "module": module,
        "package": module.lower(),
        "digest": digest(graph),
        "checkpoint_sha256": sha,
        "standalone": standalone,
        "library_root": str(lean_library_dir().parent) if not standalone else "",
        "toolchain": TOOLCHAIN,
        "chunk": CHUNK,
        "inputs": [Entry(index[i.name], shape_literal(i.shape), _input_note(i)) for i in graph.inputs],
        "param_entries": [Entry(index[p.name], shape_literal(p.shape), f"param {p.name}") for p in graph.params],
        "params": literals,
        "decodes": decodes,
        "parts": decode_parts(decodes),
        "piece_words": max((t.words for d in decodes for t in d.leaves), default=0),
        "nodes": node_entries(graph),
        "outputs": [Entry(index[o], str(index[o]), o) for o in graph.outputs],
        "output_shapes": "[" + ", ".join(shape_literal(shapes[o]) for o in graph.outputs) + "]",
        "examples": example_terms,
        "causal": causal,
        "causal_input": graph.inputs[causal.input].name if causal else "",
        "exact": not inexact,
        "inexact": ", ".join(inexact),
        "theorems": theorems,
    }


def _input_note(i: Input) -> str:
    """The comment beside an input's shape; token ids name their range (Lean reads them as rationals,
    and `embedding` selects nothing for an id outside the table)."""
    if i.id_range is None:
        return f"input {i.name}"
    return f"input {i.name}: int64 token ids in [{i.id_range[0]}, {i.id_range[1]})"


def _example(graph: Graph, k: int, example: Example) -> ExampleTerm:
    """Pack one example's inputs as float32 and compute its exact outputs."""
    arrays = _example_arrays(graph, k, example)
    exact = evaluate_exact(graph, {name: a[None] for name, a in arrays.items()})
    inputs = [(nat_hex(packed_f32(arrays[i.name])), int(np.prod(i.shape, dtype=np.int64))) for i in graph.inputs]
    return ExampleTerm(k, inputs, q_rows([exact[o][0] for o in graph.outputs]))


def _example_arrays(graph: Graph, k: int, example: Example) -> dict[str, np.ndarray]:
    if not isinstance(example, Mapping):
        if len(graph.inputs) != 1:
            raise UserError(f"example {k}: the model has {len(graph.inputs)} inputs; give a mapping from input name to array")
        example = {graph.inputs[0].name: example}
    out = {}
    for spec in graph.inputs:
        if spec.name not in example:
            raise UserError(f"example {k}: no value for input {spec.name!r}")
        a = np.asarray(example[spec.name]) if spec.ids else np.asarray(example[spec.name], dtype=np.float32)
        if a.shape == (1,) + spec.shape:
            a = a[0]
        if a.shape != spec.shape:
            raise UserError(f"example {k}: input {spec.name!r} must have shape {list(spec.shape)}, got {list(a.shape)}")
        out[spec.name] = token_ids(spec, a) if spec.ids else a  # ids below 2**24: exact as the float32 Lean reads
    return out
