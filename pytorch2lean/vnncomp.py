"""A VNN-COMP runner: every `onnx,vnnlib,timeout` row of an instances CSV, answered and certified.

Per instance, within its timeout: the falsifier first (`verify.first_search_s`: a small slice of
the budget, as `verify` does: many instances are sat and fall to sampling), then the bound method on
every input box (branch and bound by default), then the falsifier again on what the bounds left
open (`verify.counterexample` both times). The answer is written in the competition's format:

    unsat                                  the property holds; a certificate per input box, each
                                           accepted by the exact checker before this is written
    sat\\n((X_0 v) ... (Y_0 v) ...)         a counterexample, re-checked exactly by the falsifier (a
                                           model with an inexact op, whose witnesses could be
                                           float64-checked only, is not searched and never gets sat)
    unknown | timeout                      neither, and why is in results.csv
    error                                  the row's model or property cannot be read (the message
                                           names the CSV line); the other rows still run

The timeout bounds the search (falsifier and branch and bound); the exact check of a certificate
the search found gets CHECK_GRACE more timeouts before it is given up (answer `timeout`), so an
`unsat` may take longer than the timeout (its seconds say so, and the summary counts them): a proof
is not thrown away for being a little late, and a late answer is easy to see.

`out_dir/results.csv` lists `onnx,vnnlib,result,seconds,certificate,reason` (certificate paths
joined by ";"; a row of an older run without a reason is read with it empty). A run resumes: an
instance whose result file exists and whose row agrees with it is skipped,
an `unsat` one only when its certificates on disk are accepted again for the instance's model and
VNN-LIB question (`cert.tree.check_claims`), so an edited certificate is not taken on trust.
With `lean`, every new `unsat` answer is also written as Lean theorems, one per input
box, into the model's Lake project `out_dir/lean/<model>/` (`lean-check` checks it).
With a scheduler, the instances are solved on a Dask cluster (`distributed.py`) and their answers
land in the same store, written here as they arrive; a run that stops resumes the same way.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import math
import os
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from . import memory
from .bounds.falsify import Witness, format_witness
from .cert.tree import check_claims
from .errors import UserError
from .frontends.onnx_import import load_onnx
from .ir import Graph
from .lean.certificate import check_lean_method, export_theorems
from .spec import parse_vnnlib
from .spec.vnnlib import VnnlibSpec
from .verify import METHODS, Watch, counterexample, first_search_s, known_split, prove_box, step_text

FIELDS = ("onnx", "vnnlib", "result", "seconds", "certificate", "reason")
CHECK_GRACE = 2.0  # timeouts the exact check of a found certificate may take beyond the timeout
LAST_SLICE = 0.1  # share of the timeout kept for the falsifier after the bounds
RESULTS = ("unsat", "sat", "unknown", "timeout", "error")  # error: the row's model or property cannot be read


@dataclass(frozen=True)
class Instance:
    """One CSV row, with paths resolved against the CSV's folder."""

    onnx: str
    vnnlib: str
    timeout: float
    onnx_path: Path
    vnnlib_path: Path
    where: str  # csv_path:line, for messages about this row

    @property
    def stem(self) -> str:
        """A file name for this instance's outputs: the two file names without their suffixes."""
        return f"{_bare(self.onnx)}__{_bare(self.vnnlib)}"


@dataclass(frozen=True)
class Outcome:
    """An instance's answer: result, the competition text, certificate texts (unsat), seconds."""

    result: str
    text: str
    certificates: tuple[str, ...]
    seconds: float
    reason: str


def _bare(name: str) -> str:
    base = Path(name).name
    for suffix in (".gz", ".onnx", ".vnnlib"):
        base = base.removesuffix(suffix)
    return base


def read_instances(csv_path: Path, timeout_override: float | None = None) -> list[Instance]:
    """The rows of an instances CSV (no header: onnx,vnnlib,timeout); errors name the line. A
    timeout must be a finite number of seconds, not negative: an infinite (or NaN) one would let an
    instance that is never decided run forever."""
    if timeout_override is not None and not _seconds(timeout_override):
        raise UserError(f"--timeout {timeout_override}: give a finite number of seconds, at least 0")
    rows = []
    for line, row in _csv_rows(csv_path, "instances CSV"):
        if not row or not "".join(row).strip():
            continue
        if len(row) != 3:
            raise UserError(f"{csv_path}:{line}: expected onnx,vnnlib,timeout, got {len(row)} fields")
        onnx, prop, timeout = (c.strip() for c in row)
        if "\0" in onnx + prop:
            raise UserError(f"{csv_path}:{line}: a file name with a NUL character")
        try:
            seconds = float(timeout) if timeout_override is None else timeout_override
        except ValueError:
            raise UserError(f"{csv_path}:{line}: timeout {timeout!r} is not a number") from None
        if not _seconds(seconds):
            raise UserError(f"{csv_path}:{line}: timeout {timeout!r} is not a finite number of seconds, at least 0")
        rows.append(Instance(onnx, prop, seconds, csv_path.parent / onnx, csv_path.parent / prop, f"{csv_path}:{line}"))
    return rows


def _seconds(value: float) -> bool:
    return math.isfinite(value) and value >= 0


def _csv_rows(path: Path, what: str) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) for each row of a CSV file; text that is not UTF-8, or that the csv module
    cannot split, is a user error naming the file and line (a UTF-8 byte order mark is skipped)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UserError(f"{path}: cannot read the {what} ({e.strerror or e})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise UserError(f"{path}:{line}: the {what} is not UTF-8 text (byte {e.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as e:
        raise UserError(f"{path}:{reader.line_num}: {e}") from None


def _resolve(path: Path) -> Path:
    """The path, or its .gz twin when only that exists."""
    zipped = path.with_name(path.name + ".gz")
    if _is_file(path) or not _is_file(zipped):
        return path
    return zipped


def _is_file(path: Path) -> bool:
    """Whether `path` is a file; a name the system will not look up (too long) is none."""
    try:
        return path.is_file()
    except OSError:
        return False


class _Models:
    """Models and specs by path, each loaded once per run (.gz files are decompressed first)."""

    def __init__(self) -> None:
        self.graphs: dict[Path, Graph] = {}
        self.specs: dict[Path, VnnlibSpec] = {}

    def graph(self, path: Path) -> Graph:
        path = _resolve(path)
        if path not in self.graphs:
            if path.suffix == ".gz":
                with tempfile.TemporaryDirectory() as tmp:
                    plain = Path(tmp) / path.stem
                    plain.write_bytes(_gunzip(path, "ONNX file"))
                    self.graphs[path] = load_onnx(plain)
            else:
                self.graphs[path] = load_onnx(path)
        return self.graphs[path]

    def spec(self, path: Path) -> VnnlibSpec:
        path = _resolve(path)
        if path not in self.specs:
            raw = _gunzip(path, "VNN-LIB file") if path.suffix == ".gz" else _bytes(path, "VNN-LIB file")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise UserError(f"{path}: cannot read the VNN-LIB file (not UTF-8 text: byte {e.start})") from None
            self.specs[path] = parse_vnnlib(text, str(path))
        return self.specs[path]


def _bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise UserError(f"{path}: cannot read the {what} ({e.strerror or e})") from None


def _gunzip(path: Path, what: str) -> bytes:
    """The decompressed bytes of a .gz file; a missing, truncated or corrupt one (bad header, CRC,
    deflate stream) is a user error naming it."""
    raw = _bytes(path, what)
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise UserError(f"{path}: cannot read the compressed {what} (not a whole gzip file: {e})") from None


def solve(graph: Graph, spec: VnnlibSpec, timeout: float, method: str = "bab", split: str = "auto",
          workers: int = 1, watch: Watch | None = None) -> Outcome:
    """Answer one instance within `timeout` seconds (see the module docstring); bab splits as `split`
    says and checks its certificates' leaves in `workers` processes; `watch` hears where each box's
    proof stands (branch and bound: leaves proven, pieces open, seconds left). Work that runs out of
    memory (the process's budget, `memory.limit`) is answered `unknown`, saying so: the next
    instance runs."""
    start = time.monotonic()
    try:
        return _search(graph, spec, timeout, method, split, workers, watch)
    except MemoryError as e:
        return Outcome("unknown", "unknown", (), time.monotonic() - start, memory.out_of_memory(e))


def _search(graph: Graph, spec: VnnlibSpec, timeout: float, method: str, split: str, workers: int,
            watch: Watch | None) -> Outcome:
    _known(method)
    known_split(split)
    start = time.monotonic()
    left: Callable[[], float] = lambda: timeout - (time.monotonic() - start)  # noqa: E731
    prop = spec.output_property
    shape = graph.inputs[0].shape
    boxes = [b.reshape(shape) for b in spec.input_boxes]
    witness = counterexample(graph, boxes, prop, first_search_s(timeout))
    if witness is not None:
        return _sat(witness, start)
    certificates, open_boxes, reasons = [], [], []
    for box in boxes:
        if left() <= 0:
            open_boxes.append(box)
            continue
        proof = prove_box(graph, box, prop, method, left() - LAST_SLICE * timeout, start + (1 + CHECK_GRACE) * timeout,
                          split, workers, watch)
        reasons.append(proof.reason)
        certificates.append(proof.certificate)
        open_boxes.extend(proof.open_boxes)
    if not open_boxes and all(certificates):
        return Outcome("unsat", "unsat", tuple(certificates), time.monotonic() - start, "every box is certified")  # type: ignore[arg-type]
    if left() > 0:
        witness = counterexample(graph, open_boxes or boxes, prop, left(), seed=1)
        if witness is not None:
            return _sat(witness, start)
    result = "timeout" if left() <= 0 else "unknown"
    return Outcome(result, result, (), time.monotonic() - start, "; ".join(r for r in reasons if r) or "no time left")


def _solve_row(inst: Instance, models: _Models, method: str, split: str, workers: int,
               watch: Watch | None = None) -> Outcome:
    """The instance's answer; `error`, naming its CSV line, when its model or property cannot be
    read: one bad row does not stop the others."""
    start = time.monotonic()
    try:
        graph, spec = models.graph(inst.onnx_path), models.spec(inst.vnnlib_path)
    except UserError as e:
        return Outcome("error", "error", (), time.monotonic() - start, f"{inst.where}: {e}")
    return solve(graph, spec, inst.timeout, method, split, workers, watch)


def _known(method: str) -> None:
    if method not in METHODS:
        raise UserError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


def _sat(witness: Witness, start: float) -> Outcome:
    return Outcome("sat", "sat\n" + format_witness(witness), (), time.monotonic() - start, f"witness in box {witness.box}")


def _previous(out_dir: Path) -> dict[tuple[str, str], dict[str, str]]:
    """The rows of an earlier run's results.csv by instance. A file that is not one (another header,
    a row with too few or too many fields, seconds that are no number) is refused, naming its line,
    rather than read wrongly or overwritten: it may be someone's other file."""
    path = out_dir / "results.csv"
    if not path.exists():
        return {}
    rows, header = {}, None
    for line, row in _csv_rows(path, "results file"):
        if header is None:
            if row not in (list(FIELDS), list(FIELDS[:-1])):  # an older run's has no reason column
                raise UserError(f"{path}:{line}: not the results.csv of a vnncomp run (header {','.join(row)!r:.80}, "
                                f"expected {','.join(FIELDS)}): move it away or give another --out folder")
            header = row
        elif row:
            rows.update([_previous_row(dict(zip(header, row)), len(row) - len(header), path, line)])
    return rows


def _previous_row(row: dict[str, str], extra: int, path: Path, line: int) -> tuple[tuple[str, str], dict[str, str]]:
    if extra:
        raise UserError(f"{path}:{line}: {len(row) + max(extra, 0)} fields where the header has {len(FIELDS)}")
    try:
        seconds = float(row["seconds"])
    except ValueError:
        seconds = math.nan
    if not _seconds(seconds):
        raise UserError(f"{path}:{line}: seconds {row['seconds']!r} is not a number of seconds")
    return (row["onnx"], row["vnnlib"]), {"reason": "", **row}


def _done(inst: Instance, out_dir: Path, row: dict[str, str] | None, models: _Models, workers: int) -> bool:
    """Whether an earlier run answered `inst`: its result file exists and its row agrees with it,
    and an `unsat` row's certificates, as they are on disk now, prove this instance's question."""
    result_file = out_dir / "results" / f"{inst.stem}.txt"
    if row is None or not result_file.exists():
        return False
    first = result_file.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0]
    paths = [out_dir / p for p in row["certificate"].split(";") if p]
    if first != row["result"] or first == "error" or not all(_is_file(p) for p in paths):
        return False  # an error row runs again: its files may have been fixed
    if first != "unsat":
        return True
    if not paths:
        return False  # an unsat row without its certificates proves nothing: run again
    try:
        graph, spec = models.graph(inst.onnx_path), models.spec(inst.vnnlib_path)
    except UserError:
        return False  # run again: `_solve_row` answers error, naming the row
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in paths]
    return check_claims(graph, texts, spec.input_boxes, spec.output_property, workers).ok


def _write(inst: Instance, out_dir: Path, outcome: Outcome) -> dict[str, str]:
    (out_dir / "results").mkdir(parents=True, exist_ok=True)
    paths = []
    for k, text in enumerate(outcome.certificates):
        rel = Path("certificates") / f"{inst.stem}.{k}.json"
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / rel).write_text(text, encoding="utf-8")
        paths.append(rel.as_posix())
    (out_dir / "results" / f"{inst.stem}.txt").write_text(outcome.text + "\n", encoding="utf-8")
    return {"onnx": inst.onnx, "vnnlib": inst.vnnlib, "result": outcome.result,
            "seconds": f"{outcome.seconds:.3f}", "certificate": ";".join(paths), "reason": outcome.reason}


def _lean_theorems(inst: Instance, out_dir: Path, graph: Graph, certificates: tuple[str, ...]) -> None:
    """The instance's certificates as theorems of the model's Lake project `out_dir/lean/<model>`,
    one per input box, named after the VNN-LIB file (`_k` for box k of several)."""
    sha = hashlib.sha256(_resolve(inst.onnx_path).read_bytes()).hexdigest()
    export_theorems(graph, out_dir / "lean" / _bare(inst.onnx), checkpoint_sha256=sha, name=_bare(inst.vnnlib),
                    certificates=certificates)


def _save(out_dir: Path, rows: dict[tuple[str, str], dict[str, str]], order: dict[tuple[str, str], int]) -> None:
    """results.csv, its rows in the CSV's `order` (answers from a cluster arrive in any order), rows
    of instances the CSV lacks (an earlier run's) after them."""
    part = out_dir / "results.csv.part"
    with open(part, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n", restval="")
        writer.writeheader()
        writer.writerows(row for _, row in sorted(rows.items(), key=lambda kv: order.get(kv[0], len(order))))
    os.replace(part, out_dir / "results.csv")  # a run stopped while writing leaves the last whole file


@dataclass(frozen=True)
class RunSummary:
    """What a run did: every row (old and new), and how many instances it solved afresh."""

    rows: tuple[dict[str, str], ...]
    solved: int
    skipped: int
    errors: tuple[str, ...] = ()  # why each row answered `error` in this run could not be read
    late: int = 0  # unsat rows answered past their timeout (the exact check's grace, CHECK_GRACE)

    def counts(self) -> dict[str, int]:
        return {r: sum(row["result"] == r for row in self.rows) for r in RESULTS}

    def counts_text(self) -> str:
        """The counts, and how many unsat answers came in past their timeout (a competition would
        score those as timeouts)."""
        late = f" ({self.late} of them past the timeout)" if self.late else ""
        return ", ".join(f"{n} {r}" + (late if r == "unsat" else "") for r, n in self.counts().items())


def run_instances(csv_path: str | Path, out_dir: str | Path, *, timeout_override: float | None = None,
                  method: str = "bab", split: str = "auto", progress: bool = True, workers: int = 1,
                  lean: bool = False, scheduler: str | None = None, memory_bytes: int | None = None) -> RunSummary:
    """Answer every instance of `csv_path` into `out_dir` (see the module docstring); resumes. With
    `lean`, each new unsat answer also becomes a Lean theorem (`_lean_theorems`). With `scheduler`
    ("local", or a Dask scheduler's address) the instances are solved on a Dask cluster
    (`distributed.answers`: `workers` local worker processes, each held to `memory_bytes`) and
    land in the same store; without, one at a time in this process."""
    from rich.console import Console
    from rich.progress import Progress

    _known(method)
    known_split(split)
    if lean:
        check_lean_method(method, split)
    if scheduler is not None:
        from .distributed import check_scheduler

        check_scheduler(scheduler)
    csv_path, out_dir = Path(csv_path), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    instances = read_instances(csv_path, timeout_override)
    rows = _previous(out_dir)
    models, solved, skipped, errors = _Models(), 0, 0, []
    console = Console(stderr=True)
    with Progress(console=console, disable=not progress, transient=True) as bar:
        task = bar.add_task("instances", total=len(instances))
        pending: dict[tuple[str, str], Instance] = {}  # a row repeated in the CSV is answered once
        order = {(i.onnx, i.vnnlib): k for k, i in reversed(list(enumerate(instances)))}  # each instance's first row
        for inst in instances:
            bar.update(task, description=f"resuming {inst.stem}")
            if (inst.onnx, inst.vnnlib) in pending or _done(inst, out_dir, rows.get((inst.onnx, inst.vnnlib)), models,
                                                            workers):
                skipped += 1
                bar.advance(task)
            else:
                pending[(inst.onnx, inst.vnnlib)] = inst
        if scheduler is None:
            answered = _one_by_one(list(pending.values()), models, method, split, workers, bar, task)
        else:
            from .distributed import answers

            bar.update(task, description=f"{len(pending)} on the cluster")
            answered = answers(list(pending.values()), scheduler, method=method, split=split, processes=workers,
                               memory_bytes=memory_bytes, models=models, workers=workers)
        for inst, outcome in answered:
            if outcome.result == "error":
                errors.append(outcome.reason)
                console.print(f"error: {outcome.reason}", highlight=False, markup=False, soft_wrap=True)
            rows[(inst.onnx, inst.vnnlib)] = _write(inst, out_dir, outcome)
            _save(out_dir, rows, order)
            if lean and outcome.result == "unsat":
                try:
                    _lean_theorems(inst, out_dir, models.graph(inst.onnx_path), outcome.certificates)
                except UserError as e:  # the answer stands; only its theorem is missing, and why is said
                    console.print(f"no Lean theorem for {inst.stem}: {e}", highlight=False, markup=False,
                                  soft_wrap=True)
            solved += 1
            bar.advance(task)
    ordered = [rows[(i.onnx, i.vnnlib)] for i in instances]
    late = sum(row["result"] == "unsat" and float(row["seconds"]) > inst.timeout for inst, row in zip(instances, ordered))
    summary = RunSummary(tuple(ordered), solved, skipped, tuple(errors), late)
    if progress:
        _table(console, summary)
    return summary


def _one_by_one(instances: list[Instance], models: _Models, method: str, split: str, workers: int, bar: Any,
                task: Any) -> Iterator[tuple[Instance, Outcome]]:
    """Each instance with its answer, solved in this process in CSV order (the bar names the one running)."""
    for inst in instances:
        bar.update(task, description=inst.stem)
        watch = lambda step, stem=inst.stem: bar.update(task, description=f"{stem}: {step_text(step)}")  # noqa: E731
        yield inst, _solve_row(inst, models, method, split, workers, watch)


def _table(console: Any, summary: RunSummary) -> None:
    from rich.table import Table

    table = Table(title="VNN-COMP instances", header_style="bold")
    for col in FIELDS[:4]:
        table.add_column(col)
    for row in summary.rows:
        table.add_row(row["onnx"], row["vnnlib"], row["result"], row["seconds"])
    console.print(table)
    total = sum(float(r["seconds"]) for r in summary.rows)
    console.print(f"{summary.counts_text()}; {total:.1f} s in all; {summary.solved} run now, {summary.skipped} resumed", soft_wrap=True)
