"""The `pytorch2lean` command line: inspect, run, graph, export, lean-check, verify, check, vnncomp, bench, demo.

A user's mistake (any `UserError`) prints one message and exits 1, without a traceback.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import time
import tokenize
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .errors import UserError
from .memory import from_option
from .model import LoadedModel, is_torch_spec, load_model
from .numeric.float32 import require_finite

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0], pretty_exceptions_enable=False)
console = Console(emoji=False)  # user text such as "zoo.py:factory:" prints as written, never as an emoji
err = Console(stderr=True, emoji=False)

MODEL = typer.Argument(..., help="Model: .p2l (DSL), .onnx, .json (pytorch2lean IR), or model.py:factory (PyTorch).")
INPUT_SHAPE = typer.Option(None, "--input-shape", help="For a PyTorch factory: the input shape, e.g. 1,3,32,32.")
CHECKPOINT = typer.Option(None, "--checkpoint", "-c", help="Parameters: .npz, .safetensors, .pt/.pth/.bin, or a sharded *.index.json; wrappers such as {'state_dict': ...} and module. prefixes are found (read without executing code).")
JOBS = typer.Option(None, "--jobs", "-j", help="Processes that check a split tree's leaves (default: one per CPU).")
MEMORY = typer.Option(None, "--memory", help="Memory budget per solving process, e.g. 8G (default: 3/4 of RAM, shared "
                     "by local workers); work past it is answered unknown.")


def _version(show: bool) -> None:
    if show:
        from . import __version__

        console.print(f"pytorch2lean {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")) -> None:
    """Options before any command (--version); the commands follow."""


@app.command()
def inspect(model: str = MODEL, checkpoint: Optional[Path] = CHECKPOINT, input_shape: Optional[str] = INPUT_SHAPE,
            as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """Show nodes, shapes, parameter counts and the IR digest."""
    loaded = load(model, checkpoint, input_shape)
    summary = inspect_summary(loaded)
    if as_json:
        console.print_json(json.dumps(summary, sort_keys=True))
        return
    print_summary(summary)


def inspect_summary(loaded: LoadedModel) -> dict[str, Any]:
    """The facts `inspect` shows, as JSON-ready data."""
    from .ir import digest

    g = loaded.graph
    sizes = {p.name: p.size for p in g.params}
    return {
        "model": g.name,
        "source": str(loaded.source),
        "digest": digest(g),
        "checkpoint": None if loaded.checkpoint is None else str(loaded.checkpoint),
        "checkpoint_sha256": loaded.checkpoint_sha256,
        "bound": g.bound,
        "inputs": [{"name": i.name, "shape": list(i.shape), "dtype": i.dtype,
                    **({"range": list(i.id_range)} if i.id_range else {})} for i in g.inputs],
        "outputs": list(g.outputs),
        "param_count": g.param_count(),
        "nodes": [
            {"id": n.id, "op": n.op, "inputs": list(n.inputs), "shape": list(n.shape or ()),
             "attrs": {k: list(v) if isinstance(v, tuple) else v for k, v in n.attrs},
             "params": sum(sizes.get(r, 0) for r in n.inputs)}
            for n in g.nodes
        ],
    }


def print_summary(s: dict[str, Any]) -> None:
    table = Table(title=f"{s['model']}  ({s['source']})", header_style="bold")
    for col in ("node", "op", "inputs", "shape", "params"):
        table.add_column(col, justify="right" if col == "params" else "left")
    for i in s["inputs"]:
        kind = f"input (ids in [{i['range'][0]}, {i['range'][1]}))" if "range" in i else "input"
        table.add_row(i["name"], kind, "", _shape(i["shape"]), "")
    for n in s["nodes"]:
        table.add_row(n["id"], n["op"], ", ".join(n["inputs"]), _shape(n["shape"]), f"{n['params']:,}" if n["params"] else "")
    console.print(table)
    console.print(f"outputs: {', '.join(s['outputs'])}")
    console.print(f"parameters: {s['param_count']:,} ({'bound' if s['bound'] else 'not bound: give --checkpoint'})")
    if s["checkpoint_sha256"]:
        console.print(f"checkpoint sha256: {s['checkpoint_sha256']}", soft_wrap=True)
    console.print(f"digest: {s['digest']}", soft_wrap=True)


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    """`--input-shape 1,3,32,32` as a tuple of positive ints."""
    if text is None:
        return None
    try:
        shape = tuple(int(d) for d in text.replace("x", ",").split(","))
    except ValueError:
        raise UserError(f"--input-shape {text!r}: expected positive integers separated by commas, e.g. 1,3,32,32") from None
    if not shape or min(shape) < 1:
        raise UserError(f"--input-shape {text!r}: every dimension must be a positive integer")
    return shape


def load(model: str, checkpoint: Path | None, input_shape: str | None, inputs: Sequence[str] = ()) -> LoadedModel:
    """`load_model` for a command. A PyTorch factory's input shape is --input-shape, else its
    example_input(), else the shape of the one --input array (`x.npy` or `NAME=x.npy`). When the
    checkpoint held the parameters under a wrapper key or prefix, a note on stderr says which."""
    fallback, ids = None, False
    if is_torch_spec(model) and input_shape is None and len(inputs) == 1:
        array = _read_npy(Path(inputs[0].rpartition("=")[2]))
        fallback, ids = tuple(array.shape), np.issubdtype(array.dtype, np.integer)
    loaded = load_model(model, checkpoint, input_shape=parse_shape(input_shape), fallback_shape=fallback, fallback_ids=ids)
    if loaded.checkpoint_note:
        err.print(f"note: {loaded.checkpoint_note}", highlight=False, markup=False, soft_wrap=True)
    return loaded


def _shape(shape: list[int]) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


@app.command()
def run(
    model: str = MODEL,
    checkpoint: Optional[Path] = CHECKPOINT,
    inputs: list[str] = typer.Option(..., "--input", "-i", help="x.npy for a one-input model, or NAME=x.npy; shape [*input] or [B, *input]."),
    device: str = typer.Option("cpu", "--device", help="cpu (NumPy) or cuda (CuPy)."),
    record: Optional[Path] = typer.Option(None, "--record", help="Write a run record (JSON) here."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the outputs to this .npz."),
    exact: bool = typer.Option(False, "--exact", help="Also evaluate exactly over rationals and report the float32 error."),
    input_shape: Optional[str] = INPUT_SHAPE,
) -> None:
    """Run a model on the NumPy or CuPy runtime."""
    from .ir import digest
    from .runtime import array_module, execute
    from .runtime.backend import device_name, to_numpy
    from .runtime.record import RunRecord, TensorDigest, versions

    output_file(output, "--output")
    output_file(record, "--record")
    loaded = load(model, checkpoint, input_shape, inputs)
    g = loaded.graph
    feeds, single = read_inputs(g, inputs, "--exact needs finite inputs" if exact else None)
    xp = array_module(device)
    start = time.perf_counter()
    with np.errstate(all="ignore"):  # NaN and inf propagate as in onnxruntime and torch, without warnings
        outs = {k: to_numpy(xp, v) for k, v in execute(g, feeds, xp=xp).items()}
    seconds = time.perf_counter() - start
    for name, value in outs.items():
        shown = value[0] if single else value
        console.print(f"[bold]{escape(name)}[/bold] {list(shown.shape)}")
        # not markup: rich would take "[nan nan ...]" or "[inf ...]" for a style tag and print nothing
        console.print(np.array2string(shown, precision=6, max_line_width=120), markup=False)
    if exact:
        report_exact_error(g, feeds, outs)
    if output:
        np.savez(output, **{name: value[0] if single else value for name, value in outs.items()})
        console.print(f"outputs written to {output}", markup=False)
    if record:
        rec = RunRecord(
            ir_digest=digest(g), checkpoint_sha256=loaded.checkpoint_sha256,
            backend="numpy" if device == "cpu" else "cupy", device=device_name(xp), dtype="float32",
            batch=int(next(iter(feeds.values())).shape[0]),
            inputs={i.name: TensorDigest.of(np.asarray(feeds[i.name], dtype=np.int64 if i.ids else np.float32))
                    for i in g.inputs},
            outputs={k: TensorDigest.of(v) for k, v in outs.items()}, versions=versions(xp), seconds=seconds,
        )
        record.write_text(rec.to_json(), encoding="utf-8")
        console.print(f"run record written to {record}", markup=False)


def read_inputs(g: Any, specs: list[str], finite: str | None = None) -> tuple[dict[str, np.ndarray], bool]:
    """Load `--input` arrays; a single sample without batch axis gets one (returns single=True).
    With `finite` (why), an array with NaN or inf (after rounding to float32) is refused."""
    named: dict[str, str] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            if len(g.inputs) != 1:
                raise UserError(f"the model has {len(g.inputs)} inputs; give each as NAME=file.npy")
            name, path = g.inputs[0].name, spec
        named[name] = path
    feeds: dict[str, np.ndarray] = {}
    single = False
    by_name = {i.name: i for i in g.inputs}
    for name, path in named.items():
        if name not in by_name:
            raise UserError(f"{name!r} is not an input of the model (inputs: {', '.join(by_name)})")
        arr = _read_npy(Path(path))
        if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
            raise UserError(f"{path}: dtype {arr.dtype} is not numeric")
        if not by_name[name].ids:
            arr = _as_float32(arr, path)
        if finite:
            require_finite(arr, path, finite)
        if tuple(arr.shape) == by_name[name].shape:
            arr, single = arr[None], True
        if arr.ndim and arr.shape[0] == 0:
            raise UserError(f"{path}: a batch of 0 samples (shape {list(arr.shape)}): nothing to run")
        feeds[name] = arr
    return feeds, single


def _as_float32(arr: np.ndarray, path: str) -> np.ndarray:
    """The array as the model's float32 inputs, saying so when that rounds values (a float64 or large
    integer .npy): the runtime and the exact evaluation then both see the float32 values that ran."""
    f32 = arr.astype(np.float32)
    if arr.dtype != np.float32:
        with np.errstate(all="ignore"):
            moved = ~((f32 == arr) | (np.isnan(f32) & np.isnan(arr.astype(np.float64))))
        if moved.any():
            change = np.abs(f32.astype(np.float64) - arr.astype(np.float64))[moved]
            err.print(f"note: {path}: {arr.dtype} values rounded to float32, the model's input type ({int(moved.sum())} "
                      f"of {arr.size} changed, the largest by {change.max():.3g})",
                      highlight=False, markup=False, soft_wrap=True)
    return f32


def report_exact_error(g: Any, feeds: dict[str, np.ndarray], outs: dict[str, np.ndarray]) -> None:
    from .runtime import evaluate_exact

    exact = evaluate_exact(g, feeds)
    for name, value in outs.items():
        diff = np.abs(value.astype(np.float64) - exact[name].astype(np.float64))
        console.print(f"{name}: max |float32 - exact| = {diff.max():.3e}", markup=False)


@app.command()
def graph(model: str = MODEL, out: Path = typer.Option(..., "--out", help="g.svg (drawing) or g.dot (Graphviz)."),
          checkpoint: Optional[Path] = CHECKPOINT, input_shape: Optional[str] = INPUT_SHAPE) -> None:
    """Draw the model's graph as SVG or write it as DOT."""
    from .ir.view import write_drawing

    output_file(out, "--out")
    write_drawing(load(model, checkpoint, input_shape).graph, out)
    console.print(f"wrote {out}", markup=False)


@app.command()
def ir(model: str = MODEL, out: Path = typer.Option(..., "--out", help="The IR JSON file to write (a .json model input)."),
       checkpoint: Optional[Path] = CHECKPOINT, input_shape: Optional[str] = INPUT_SHAPE) -> None:
    """Write the model's canonical IR JSON (pytorch2lean.ir.v1, parameters included), readable as MODEL."""
    from .ir import digest, dumps

    output_file(out, "--out")
    g = load(model, checkpoint, input_shape).graph
    out.write_text(dumps(g), encoding="utf-8")
    console.print(f"wrote {out} (digest {digest(g)})", highlight=False, soft_wrap=True)


@app.command()
def export(
    model: str = MODEL,
    out: Path = typer.Option(..., "--out", help="Folder of the Lake project to write."),
    checkpoint: Optional[Path] = CHECKPOINT,
    examples: list[Path] = typer.Option([], "--example", "-e", help="An input .npy; its exact output becomes a theorem. Repeatable."),
    standalone: bool = typer.Option(False, "--standalone", help="Vendor the Lean library instead of a path dependency."),
    input_shape: Optional[str] = INPUT_SHAPE,
) -> None:
    """Write a Lake project stating well-formedness, output shapes and exact example outputs."""
    from .lean.emit import export_project

    output_folder(out, "--out")
    loaded = load(model, checkpoint, input_shape)
    if examples:
        _exact_examples(loaded.graph)
    arrays = [_read_npy(p) for p in examples]
    sha = loaded.checkpoint_sha256 or "none (parameters came with the model file)"
    export_project(loaded.graph, out, checkpoint_sha256=sha, examples=arrays, standalone=standalone)
    console.print(f"wrote Lake project {out}: check it with `pytorch2lean lean-check {out}` or `lake build`")


def _exact_examples(g: Any) -> None:
    """An example theorem states the exact output, which only a graph of exact ops has: refuse
    --example for any other rather than write a project without the theorems asked for."""
    from . import ops

    inexact = sorted({n.op for n in g.nodes if not ops.get(n.op).exact})
    if inexact:
        raise UserError(f"--example: the model has ops without an exact rational meaning ({', '.join(inexact)}), so no "
                        f"example theorem can state its output; export without --example")


def output_file(path: Path | None, option: str) -> None:
    """An output file's path, checked before any work is done: its folder exists and it is no folder."""
    if path is None:
        return
    if _looked_up(path, option, path.is_dir):
        raise UserError(f"{option} {path}: is a folder; give a file name")
    if not _looked_up(path, option, path.parent.is_dir):
        raise UserError(f"{option} {path}: the folder {path.parent} does not exist")


def seconds_option(value: float | None, option: str) -> None:
    """A number of seconds given as an option: finite and at least 0 (NaN would be ignored by every
    comparison, and an infinite search never ends), as vnncomp asks of its timeouts."""
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise UserError(f"{option} {value}: give a finite number of seconds, at least 0")


def output_folder(path: Path, option: str) -> None:
    """An output folder's path, checked before any work is done: it is not an existing file, and the
    nearest folder above it that exists is a folder (not a file), so the missing ones can be made."""
    if _looked_up(path, option, path.exists) and not path.is_dir():
        raise UserError(f"{option} {path}: is a file; give a folder (it is created when missing)")
    above = next(p for p in path.absolute().parents if _looked_up(path, option, p.exists))
    if not above.is_dir():
        raise UserError(f"{option} {path}: {above} is a file, so no folder can be made in it")


def _looked_up(path: Path, option: str, test: Callable[[], bool]) -> bool:
    """`test()` (exists, is_dir), where the system's refusal to look the path up at all (a name
    longer than the file system allows, a loop of links) is a user error naming the option."""
    try:
        return test()
    except OSError as e:
        raise UserError(f"{option} {path}: {e.strerror or e}") from None


def _read_npy(path: Path) -> np.ndarray:
    """A .npy array; an unreadable, truncated or empty file (EOFError), or a header that does not
    parse (NumPy's tokenizer raises TokenError on an unclosed bracket), is a user error."""
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, SyntaxError, tokenize.TokenError) as e:
        raise UserError(f"{path}: cannot read a .npy array ({e or type(e).__name__})") from None


@app.command("lean-check")
def lean_check_cmd(project: Path = typer.Argument(..., help="An exported project folder."),
                   jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Modules compiled at once (default: "
                                                      "one per CPU; a big certificate's kernel check can take GBs).")
                   ) -> None:
    """Check an exported project with Lean, built from its sources (a shipped .lake is refused); prints
    each module's wall and CPU seconds and peak memory."""
    from .lean.build import lean_check

    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs {jobs}: give at least 1")
    result = lean_check(project, jobs=jobs)
    console.print(result.report(), highlight=False, markup=False)
    if not result.ok:
        raise typer.Exit(1)


VNNLIB = typer.Option(None, "--vnnlib", help="A VNN-LIB property (input boxes and unsafe outputs).")
BOX = typer.Option(None, "--box", help="LO.npy HI.npy: bound the outputs on this input box.")
CENTER = typer.Option(None, "--input", help="x.npy: robustness around this input (with --eps, --label).")
EPS = typer.Option(None, "--eps", help="L∞ radius, an exact decimal such as 0.03.")
LABEL = typer.Option(None, "--label", help="The class that must stay the argmax.")
QUESTION = "--vnnlib P, --box LO.npy HI.npy, or --input x.npy --eps E --label L"


def read_query(g: Any, vnnlib: Path | None, box: tuple[Path, Path] | None, center: Path | np.ndarray | None,
               eps: str | None, label: int | None) -> Any:
    """The question asked by --vnnlib, --box or --input with --eps and --label (spec/query.py), or
    None when none is given; `center` is the file given, or the array it stands for (`at_embeddings`)."""
    from .spec import query as q
    from .spec.numbers import exact

    chosen = [name for name, given in (("--vnnlib", vnnlib), ("--box", box), ("--input", center)) if given is not None]
    if len(chosen) > 1:
        raise UserError(f"{' and '.join(chosen)}: give only one of {QUESTION}")
    if (eps is not None or label is not None) and center is None:
        raise UserError("--eps and --label go with --input x.npy")
    if vnnlib:
        return q.vnnlib_query(g, vnnlib)
    if box:
        return q.box_query(g, _read_finite(box[0]), _read_finite(box[1]))
    if center is None:
        return None
    if eps is None or label is None:
        raise UserError("--input needs --eps and --label")
    try:
        radius = exact(eps)
    except UserError:
        raise UserError(f"--eps {eps}: not an exact number (give a decimal such as 0.01, or p/q)") from None
    if radius < 0:
        raise UserError(f"--eps {eps}: a radius is at least 0")
    return q.robustness_query(g, center if isinstance(center, np.ndarray) else _read_finite(center), eps, label)


def at_embeddings(loaded: LoadedModel, center: Path | None) -> tuple[LoadedModel, Path | np.ndarray | None]:
    """A model taking token ids is asked about after its embedding lookups (`ir.embeddings`): the
    rest of the network, whose input is the embedding; --input ids.npy then names the ball's center
    there, the rows those ids select. Boxes (--box, --vnnlib) are over the embedding too. Any other
    model and center are returned as they are."""
    from dataclasses import replace

    from .ir import digest
    from .ir.embeddings import after_lookups, lookup_nodes, lookups

    g = loaded.graph
    if not any(i.ids for i in g.inputs):
        return loaded, center
    rest = after_lookups(g)
    shown = ", ".join(f"{n.id} {_shape(list(n.shape or ()))}" for n in lookup_nodes(g))
    err.print(f"note: {g.name} takes token ids; its questions are asked after the embedding lookup ({shown}): "
              f"the network from embeddings, IR digest {digest(rest)}", highlight=False, markup=False, soft_wrap=True)
    if center is None:
        return replace(loaded, graph=rest), None
    ids = [i for i in g.inputs if i.ids]
    if len(ids) != 1 or len(rest.inputs) != 1:
        raise UserError(f"--input: verification needs a one-input model; after its embedding lookups this one has "
                        f"{len(rest.inputs)} inputs")
    point = lookups(g, {ids[0].name: _read_npy(center)})
    return replace(loaded, graph=rest), next(iter(point.values()))[0]


def _read_finite(path: Path) -> np.ndarray:
    """A .npy array of a box or ball: finite, as an exact question needs."""
    arr = _read_npy(path)
    if np.issubdtype(arr.dtype, np.floating):
        require_finite(arr.astype(np.float32), str(path), "an input box needs finite bounds")
    return arr


@app.command()
def verify(
    model: str = MODEL,
    checkpoint: Optional[Path] = CHECKPOINT,
    vnnlib: Optional[Path] = VNNLIB,
    box: Optional[tuple[Path, Path]] = BOX,
    center: Optional[Path] = CENTER,
    eps: Optional[str] = EPS,
    label: Optional[int] = LABEL,
    method: str = typer.Option("ibp", "--method", help="Bounding method: ibp, crown, alpha, or bab (branch and bound, see --split)."),
    split: str = typer.Option("auto", "--split", help="How bab splits: input, relu (neurons), or auto (by input size)."),
    falsify: float = typer.Option(0.0, "--falsify", help="Seconds of search for a counterexample per box: with bab, a "
                                  "short search first (at most 2 s), the rest on the pieces it leaves open; else after "
                                  "the bounds. A counterexample is re-checked in exact arithmetic before it is reported."),
    exact_witness: bool = typer.Option(False, "--exact-witness", help="Print a counterexample's exact values too, not "
                                       "only float32 ones (--json: input_exact, output_exact as p/q)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Seconds; boxes left after it are answered timeout."),
    cert: Optional[Path] = typer.Option(None, "--cert", help="Write the certificate here (one file per input box: NAME.K.json)."),
    lean: Optional[Path] = typer.Option(None, "--lean", help="Write the model's Lake project here with one Lean theorem "
                                        "per proven box (--method ibp, crown, alpha, or bab splitting inputs); check it with lean-check."),
    input_shape: Optional[str] = INPUT_SHAPE,
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON (exact numbers as 'p/q' text)."),
    jobs: Optional[int] = JOBS,
    memory: Optional[str] = MEMORY,
) -> None:
    """Bound the outputs on an input box and prove a property, writing an exact certificate.

    Exit status: 0 holds, 1 a user error, 3 violated (a counterexample), 4 unknown, 5 timeout."""
    from . import verify as v
    from .lean.certificate import check_lean_method

    if lean is not None:
        check_lean_method(method, split)
        output_folder(lean, "--lean")
    output_file(cert, "--cert")
    seconds_option(timeout, "--timeout")
    seconds_option(falsify, "--falsify")
    loaded, center = at_embeddings(load(model, checkpoint, input_shape, [str(center)] if center else []), center)
    g = loaded.graph
    query = read_query(g, vnnlib, box, center, eps, label)
    if query is None:
        raise UserError(f"give exactly one of {QUESTION}")
    from_option(memory, here=True)
    with _verify_progress() as watch:
        results = v.run_query(g, query, method, timeout, falsify_s=falsify, split=split, workers=_workers(jobs),
                              progress=watch)
    _write_certificates(results, cert)
    if lean is not None:
        name = vnnlib.stem if vnnlib else f"robust_label{label}" if center is not None else "box"
        _write_theorems(loaded, results, lean, name)
    if as_json:
        console.print_json(json.dumps(v.results_json(g, query, method, results, exact_witness), sort_keys=True))
    else:
        _print_results(g, query, method, results, exact_witness)
    raise typer.Exit(v.EXIT_CODES[v.overall(results)])


@contextmanager
def _verify_progress() -> Iterator[Callable[[Any], None] | None]:
    """A live line on stderr saying what verify does (in branch and bound: leaves proven, pieces
    open, seconds left, over a bar of its time), only when stderr is a terminal: a log or a pipe
    would keep every redraw. stdout, the table or --json, is never written by it."""
    if not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .verify import step_text

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("verify", total=None)
        budgets: dict[int, float] = {}  # per box, its branch and bound's seconds (the first report's time left)

        def watch(step: Any) -> None:
            if step.bab is None:
                bar.update(task, description=step_text(step), total=None)
                return
            total = budgets.setdefault(step.box, max(step.bab.seconds_left, 1e-9))
            bar.update(task, description=step_text(step), total=total, completed=total - step.bab.seconds_left)

        yield watch


def _print_results(g: Any, query: Any, method: str, results: list[Any], exact_witness: bool = False) -> None:
    """The verify table: each box's verdict, margin, output bounds and time, then the reasons, and a
    counterexample's values as float32 (`verify.witness_lines`; exact ones with `exact_witness`)."""
    from . import verify as v

    table = Table(title=f"{g.name}: {query.description}, method {method}", header_style="bold")
    for col in ("box", "verdict", "margin", "output bounds", "seconds"):
        table.add_column(col)
    for r in results:
        bounds = ", ".join(f"[{float(lo):.6g}, {float(hi):.6g}]" for lo, hi in zip(r.lower, r.upper))
        margin = "" if r.margin is None else f"{float(r.margin):.6g}"
        table.add_row(str(r.index), r.verdict, margin, bounds, f"{r.seconds:.3f}")
    console.print(table)
    for r in results:
        console.print(f"box {r.index}: {r.reason}", highlight=False, markup=False)
        if r.witness is not None:
            rounded = "" if exact_witness else ", outputs rounded to float32; --exact-witness gives exact values"
            console.print(f"  counterexample (float32{rounded}):", highlight=False, markup=False, soft_wrap=True)
            for line in v.witness_lines(r.witness, exact_witness):
                console.print(f"    {line}", highlight=False, markup=False, soft_wrap=True)
    console.print(f"verdict: {v.overall(results)}")


def _workers(jobs: int | None) -> int:
    """The --jobs value, checked; by default one worker per CPU."""
    from .cert.tree import default_jobs

    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs {jobs}: give at least 1")
    return default_jobs() if jobs is None else jobs


def _write_certificates(results: list[Any], cert: Path | None) -> None:
    """One certificate per box: CERT itself for one box, CERT with .K before the suffix for several."""
    for r in results:
        if cert and r.certificate:
            path = cert if len(results) == 1 else cert.with_suffix(f".{r.index}{cert.suffix or '.json'}")
            path.write_text(r.certificate, encoding="utf-8")
            err.print(f"certificate written to {path}", highlight=False)


def _write_theorems(loaded: Any, results: list[Any], out: Path, name: str) -> None:
    """The Lake project with a theorem per proven box (NAME, or NAME_K for several boxes)."""
    from .lean.certificate import export_theorems

    proven = [r.certificate if r.verdict == "holds" else None for r in sorted(results, key=lambda r: r.index)]
    if not any(proven):
        err.print("no box was proven: no Lean theorem written", highlight=False)
        return
    names = export_theorems(loaded.graph, out, checkpoint_sha256=loaded.checkpoint_sha256 or "", name=name,
                            certificates=proven)
    err.print(f"Lean theorem(s) {', '.join(names)} written to {out}: check with `pytorch2lean lean-check {out}`",
              highlight=False, markup=False)


@app.command()
def check(model: str = MODEL,
          certificates: list[Path] = typer.Argument(..., help="Certificate files (cert.v1 or bab.v1): one per input "
                                                    "box asked about, or one whose box contains them all."),
          checkpoint: Optional[Path] = CHECKPOINT, input_shape: Optional[str] = INPUT_SHAPE,
          vnnlib: Optional[Path] = VNNLIB, box: Optional[tuple[Path, Path]] = BOX, center: Optional[Path] = CENTER,
          eps: Optional[str] = EPS, label: Optional[int] = LABEL, jobs: Optional[int] = JOBS) -> None:
    """Check certificates exactly against the question asked (--vnnlib, --box, or --input with --eps and
    --label), or, without one, against their own statement; exit 1 if they do not prove it."""
    from .cert.tree import check_claims
    from .ir import digest

    loaded, center = at_embeddings(load(model, checkpoint, input_shape), center)
    g = loaded.graph
    query = read_query(g, vnnlib, box, center, eps, label)
    texts = [_read_text(path) for path in certificates]
    result = check_claims(g, texts, None if query is None else query.boxes, None if query is None else query.prop,
                          _workers(jobs), names=[str(path) for path in certificates])
    console.print(("accepted: " if result.ok else "REJECTED: ") + result.reason, highlight=False, markup=False,
                  soft_wrap=True)
    if not result.ok:
        raise typer.Exit(1)
    console.print(f"model {g.name}, IR digest {digest(g)}", highlight=False, markup=False, soft_wrap=True)
    for line in _proven_lines(g, query, result.statements):
        console.print(line, highlight=False, markup=False, soft_wrap=True)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from None


def _proven_lines(g: Any, query: Any, statements: Any) -> list[str]:
    """What was proven, for the reader: the question asked, or else the certificates' own statements."""
    from .cert.claim import describe_boxes, describe_claim

    output = g.outputs[0]
    if query is None:
        lines = ["no question given (--vnnlib, --box or --input): checked each certificate's own statement"]
        for s in statements:
            lines += describe_boxes(s.boxes) + describe_claim(s.claim, s.output)
        return lines
    inputs = {i.name: i.shape for i in g.inputs}
    lines = [f"question: {query.description}"]
    for k, b in enumerate(query.boxes):
        lines += ([f"input box {k} of {len(query.boxes)}:"] if len(query.boxes) > 1 else []) + \
            describe_boxes({name: b.reshape(shape) for name, shape in inputs.items()})
    if query.prop is not None:
        return lines + describe_claim(query.prop, output)
    lines.append("no property asked: the certificates' own claims are proven on it")
    for s in statements:
        lines += describe_claim(s.claim, s.output)
    return lines


@app.command()
def vnncomp(
    instances: Path = typer.Argument(..., help="A VNN-COMP instances CSV (onnx,vnnlib,timeout; paths relative to it)."),
    out: Path = typer.Option(..., "--out", help="Results folder: results.csv, results/*.txt, certificates/*.json."),
    method: str = typer.Option("bab", "--method", help="Bounding method: bab (default), ibp, crown or alpha."),
    split: str = typer.Option("auto", "--split", help="How bab splits: input, relu (neurons), or auto (by input size)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Seconds per instance, instead of the CSV's."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar or summary table."),
    lean: bool = typer.Option(False, "--lean", help="Also write each unsat answer as Lean theorems into OUT/lean/<model> "
                              "(interval, CROWN and input-split certificates); check them with lean-check."),
    jobs: Optional[int] = JOBS,
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Solve on a Dask cluster: local (--jobs worker "
                                            "processes) or a scheduler address tcp://HOST:PORT."),
    memory: Optional[str] = MEMORY,
) -> None:
    """Run VNN-COMP instances: sat (exact witness), unsat (checked certificate), unknown or timeout; resumes."""
    from .vnncomp import run_instances

    if not _looked_up(instances, "INSTANCES", instances.is_file):
        raise UserError(f"{instances}: no such instances CSV")
    output_folder(out, "--out")
    budget = from_option(memory, here=scheduler is None)
    summary = run_instances(instances, out, timeout_override=timeout, method=method, split=split, progress=not quiet,
                            workers=_workers(jobs), lean=lean, scheduler=scheduler, memory_bytes=budget)
    if quiet:  # otherwise run_instances has printed its table and summary
        console.print(summary.counts_text(), highlight=False)
    if summary.errors:
        raise UserError(f"{len(summary.errors)} row(s) could not be run (answered error), the first: {summary.errors[0]}")


@app.command()
def bench(
    quick: bool = typer.Option(False, "--quick", help="Fewer nets and repetitions (about a minute on 2 cores)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the rows as JSON here."),
    markdown_out: Optional[Path] = typer.Option(None, "--markdown", help="Write the table as Markdown here."),
    threads: int = typer.Option(1, "--threads", min=1, help="Threads for BLAS, torch and onnxruntime alike."),
    shared: Optional[Path] = typer.Option(None, "--shared", help="The folder holding benchmarks/vnncomp2021 "
                                          "(default: ../shared beside the repository)."),
) -> None:
    """Forward pass, bounds and exact replay beside onnxruntime, torch and auto_LiRPA: interleaved medians, ratios."""
    from .bench import default_shared, markdown, rich_table, run_bench

    output_file(json_out, "--json")
    output_file(markdown_out, "--markdown")
    report = run_bench(quick=quick, shared=shared or default_shared(), threads=threads,
                       progress=lambda s: err.print(f"bench: {s}", highlight=False))
    Console(width=max(console.width, 180)).print(rich_table(report))
    if json_out is not None:
        json_out.write_text(report.to_json() + "\n", encoding="utf-8")
    if markdown_out is not None:
        markdown_out.write_text(markdown(report), encoding="utf-8")


@app.command()
def demo() -> None:
    """Inspect, run, export and Lean-check the built-in MLP example."""
    from .resources import example_dir

    d = example_dir("mlp")
    console.rule("pytorch2lean demo: the MLP example")
    loaded = load_model(d / "model.p2l", d / "weights.npz")
    print_summary(inspect_summary(loaded))
    console.rule("run on NumPy, exact check")
    run(str(d / "model.p2l"), d / "weights.npz", [str(d / "x.npy")], "cpu", None, None, True, None)
    console.rule("export to Lean and check it with the Lean kernel")
    from .lean.toolchain import find_toolchain

    if find_toolchain() is None:
        console.print("no Lean toolchain found (set PYTORCH2LEAN_LEAN or put `lean` on PATH): skipping the Lean check")
        return
    with tempfile.TemporaryDirectory(prefix="pytorch2lean-demo-") as tmp:
        out = Path(tmp) / "mlp"
        export(str(d / "model.p2l"), out, d / "weights.npz", [d / "x.npy"], False, None)
        lean_check_cmd(out, None)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one message and exit status 1."""
    from .memory import reuse_freed_memory

    reuse_freed_memory()
    try:
        app(args=argv, standalone_mode=True)
    except UserError as e:
        err.print(f"[bold red]error:[/bold red] {escape(str(e))}", highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
