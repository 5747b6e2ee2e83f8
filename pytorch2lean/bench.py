"""`pytorch2lean bench`: our forward pass, bounds and exact replay beside their peers, in one run.

Why one run: on a shared machine the load changes from minute to minute, so numbers taken at
different times do not compare. Here every comparison is measured in the same process with its
repetitions interleaved (ours, peer, ours, peer, ...), and each side's median is reported with
the ratio ours / peer. BLAS and OpenMP (threadpoolctl), torch and onnxruntime are pinned to the
same number of threads, and the pins are reported with the results.

Rows:
- forward: our float32 runtime against onnxruntime and torch eager (where importable) at batch 1
  and 1024, on VNN-COMP 2021 nets (ACAS Xu, mnistfc; from ../shared) and a small conv net built
  here (seeded weights); each peer's outputs are compared with ours before anything is timed;
- ibp / crown / alpha: our float bound pass, its mean output width, and auto_LiRPA's where it
  imports (otherwise the row says why it is missing);
- exact replay: the exact check of the pass's certificate against the bound pass that made it;
- peak memory: tracemalloc's peak of our side (NumPy reports its arrays to it), from a separate,
  untimed run, so the tracing does not slow the timed ones.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple, Sequence, TypeVar

import numpy as np

from .errors import UserError
from .ir import Graph

T = TypeVar("T")
FORMAT = "pytorch2lean.bench.v1"
BATCHES = (1, 1024)
METHODS = ("ibp", "crown", "alpha")
LIRPA = {"ibp": "IBP", "crown": "CROWN", "alpha": "alpha-CROWN"}
VNNCOMP = Path("benchmarks") / "vnncomp2021"


@dataclass
class Row:
    """One comparison: our median seconds, the peer's, and ours / peer; `widths` for bound rows."""

    task: str
    net: str
    ours_s: float | None
    peer: str
    peer_s: float | None
    ratio: float | None
    widths: dict[str, float] | None = None
    peak_mib: float | None = None  # our side's peak traced memory
    note: str = ""
    ours_cpu_s: float | None = None  # CPU seconds of the same calls: steadier under load
    peer_cpu_s: float | None = None

    @staticmethod
    def timed(task: str, net: str, ours: Timing, peer: str, theirs: Timing | None, **extra: Any) -> "Row":
        """A row from the two sides' timings; ratio = ours / peer (wall clock)."""
        return Row(task, net, ours.wall, peer, theirs and theirs.wall, theirs and ours.wall / theirs.wall,
                   ours_cpu_s=ours.cpu, peer_cpu_s=theirs and theirs.cpu, **extra)


@dataclass
class Report:
    """Everything one run measured, and the conditions it ran under."""

    quick: bool
    threads: dict[str, Any]
    versions: dict[str, str]
    rows: list[Row] = field(default_factory=list)
    seconds: float = 0.0
    max_rss_mib: float = 0.0

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **asdict(self)}, indent=1, sort_keys=True)


@dataclass(frozen=True)
class Net:
    """A benchmark net: our graph and its ONNX bytes (batch axis made dynamic for the peers)."""

    name: str
    graph: Graph
    onnx: bytes


def default_shared() -> Path:
    """../shared beside the repository (where the project keeps the VNN-COMP nets)."""
    return Path(__file__).resolve().parents[2] / "shared"


# ---- timing --------------------------------------------------------------------------------

class Timing(NamedTuple):
    """Median seconds per call: wall clock, and CPU time of this process (every peer here runs in
    process), which a loaded machine disturbs much less than the wall clock."""

    wall: float
    cpu: float


def interleaved(runners: dict[str, Callable[[], Any]], reps: int, inner: int = 1) -> dict[str, Timing]:
    """Median seconds per call of each runner; the runners take turns in every repetition, and a
    repetition times `inner` calls in a row (short calls are too short to time one by one).
    Callers run each runner once before (a warm-up: plans compiled, sessions started)."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in runners}
    for _ in range(reps):
        for name, fn in runners.items():
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(inner):
                fn()
            times[name].append(((time.perf_counter() - wall) / inner, (time.process_time() - cpu) / inner))
    return {name: Timing(statistics.median(w for w, _ in ts), statistics.median(c for _, c in ts))
            for name, ts in times.items()}


def traced(fn: Callable[[], T]) -> tuple[T, float]:
    """fn's result and the peak of traced memory (MiB) while it ran: the untimed warm-up run."""
    tracemalloc.start()
    try:
        return fn(), tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@contextlib.contextmanager
def pinned(threads: int) -> Iterator[dict[str, Any]]:
    """BLAS/OpenMP pools and torch limited to `threads`; yields what is pinned, for the report."""
    from threadpoolctl import threadpool_info, threadpool_limits

    torch = _optional("torch")
    before = torch.get_num_threads() if torch else None
    with threadpool_limits(limits=threads):
        if torch:
            torch.set_num_threads(threads)
        try:
            yield {"requested": threads,
                   "pools": [f"{p['internal_api']} ({p.get('prefix', '')}): {p['num_threads']}" for p in threadpool_info()],
                   "torch": torch.get_num_threads() if torch else None, "onnxruntime": threads}
        finally:
            if torch:
                torch.set_num_threads(before)


def _optional(module: str) -> Any:
    """The module, or None when it cannot be imported (a broken install fails in many ways)."""
    try:
        return importlib.import_module(module)
    except Exception:  # noqa: BLE001 - any import failure means "not available here"
        return None


def _why_missing(module: str) -> str:
    try:
        importlib.import_module(module)
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {e}"
    return ""


# ---- nets ----------------------------------------------------------------------------------

def conv_net_onnx(seed: int = 0) -> bytes:
    """A small MNIST conv net as VNN-COMP's conv benchmarks have them: conv 16x4x4 stride 2, relu,
    conv 32x4x4 stride 2, relu, flatten, dense 100, relu, dense 10, with seeded weights."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)

    def weight(name: str, *shape: int) -> Any:
        fan_in = math.prod(shape[1:]) if len(shape) > 1 else shape[0]
        return numpy_helper.from_array((rng.standard_normal(shape) / math.sqrt(fan_in)).astype(np.float32), name)

    inits = [weight("c1w", 16, 1, 4, 4), weight("c1b", 16), weight("c2w", 32, 16, 4, 4), weight("c2b", 32),
             weight("f1w", 100, 1568), weight("f1b", 100), weight("f2w", 10, 100), weight("f2b", 10)]
    conv = {"kernel_shape": [4, 4], "strides": [2, 2], "pads": [1, 1, 1, 1]}
    nodes = [helper.make_node("Conv", ["x", "c1w", "c1b"], ["c1"], **conv), helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "c2w", "c2b"], ["c2"], **conv), helper.make_node("Relu", ["c2"], ["r2"]),
             helper.make_node("Flatten", ["r2"], ["f"]),
             helper.make_node("Gemm", ["f", "f1w", "f1b"], ["d1"], transB=1), helper.make_node("Relu", ["d1"], ["r3"]),
             helper.make_node("Gemm", ["r3", "f2w", "f2b"], ["y"], transB=1)]
    graph = helper.make_graph(nodes, "conv_small", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 28, 28])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _dynamic_batch(onnx_bytes: bytes) -> bytes:
    """The model with its first input and output axis named, so a peer runs a whole batch at once."""
    import onnx

    model = onnx.load_from_string(onnx_bytes)
    for value in list(model.graph.input) + list(model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    del model.graph.value_info[:]
    return model.SerializeToString()


def _load(name: str, onnx_bytes: bytes) -> Net:
    from .frontends.onnx_import import load_onnx

    with tempfile.TemporaryDirectory(prefix="pytorch2lean-bench-") as tmp:
        path = Path(tmp) / f"{name}.onnx"
        path.write_bytes(onnx_bytes)
        graph = load_onnx(path)
    return Net(name, graph, _dynamic_batch(onnx_bytes))


def nets(shared: Path, quick: bool) -> tuple[list[Net], dict[str, str]]:
    """The forward nets, and why each missing one is missing."""
    root, missing = shared / VNNCOMP, {}
    files = [("acasxu_1_1", root / "acasxu" / "ACASXU_run2a_1_1_batch_2000.onnx"),
             ("mnistfc_256x2", root / "mnistfc" / "mnist-net_256x2.onnx")]
    if not quick:
        files.append(("mnistfc_256x4", root / "mnistfc" / "mnist-net_256x4.onnx"))
    out = []
    for name, path in files:
        if path.is_file():
            out.append(_load(name, path.read_bytes()))
        else:
            missing[name] = f"{path} is absent"
    out.append(_load("conv_small", conv_net_onnx()))
    return out, missing


# ---- forward -------------------------------------------------------------------------------

def _ort_runner(net: Net, threads: int) -> tuple[Callable[[np.ndarray], np.ndarray] | None, str]:
    ort = _optional("onnxruntime")
    if ort is None:
        return None, f"onnxruntime not importable ({_why_missing('onnxruntime')})"
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = threads
    session = ort.InferenceSession(net.onnx, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return (lambda x: session.run(None, {name: x})[0]), f"onnxruntime {ort.__version__}"


def _torch_runner(net: Net) -> tuple[Callable[[np.ndarray], np.ndarray] | None, str]:
    """torch eager running the same graph op for op (linear, matmul by a weight, conv2d, relu,
    add/sub/mul, flatten and reshape): what a user of torch would run."""
    torch = _optional("torch")
    if torch is None:
        return None, f"torch not importable ({_why_missing('torch')})"
    import torch.nn.functional as F

    params = {p.name: torch.from_numpy(np.array(p.array)) for p in net.graph.params}

    def lift(t: Any, rank: int) -> Any:  # the runtime's per-sample broadcasting (ops.base.lift)
        return t.reshape((t.shape[0],) + (1,) * (rank - t.dim() + 1) + tuple(t.shape[1:])) if t.dim() - 1 < rank else t

    def binary(fn: Callable[[Any, Any], Any]) -> Callable[..., Any]:
        return lambda node, a, b: fn(lift(a, max(a.dim(), b.dim()) - 1), lift(b, max(a.dim(), b.dim()) - 1))

    def conv(node: Any, x: Any, w: Any, b: Any = None) -> Any:
        a = node.attr
        top, left, bottom, right = a["padding"]
        if (top, left) != (bottom, right):
            raise NotImplementedError("asymmetric padding")
        y = F.conv2d(x.reshape((-1,) + tuple(x.shape[-3:])), w[0], None if b is None else b[0], a["stride"], (top, left),
                     a["dilation"], a["groups"])
        return y.reshape((x.shape[0],) + node.shape)

    def matmul(node: Any, a: Any, b: Any) -> Any:
        if b.shape[0] != 1 or b.dim() != 3:
            raise NotImplementedError("matmul by anything but a weight matrix")
        return a @ b[0]

    table: dict[str, Callable[..., Any]] = {
        "linear": lambda node, x, w, b=None: F.linear(x, w[0], None if b is None else b[0]),
        "matmul": matmul, "conv2d": conv, "relu": lambda node, x: torch.relu(x),
        "add": binary(torch.add), "sub": binary(torch.sub), "mul": binary(torch.mul),
        "flatten": lambda node, x: x.reshape((x.shape[0],) + node.shape),
        "reshape": lambda node, x: x.reshape((x.shape[0],) + node.shape),
    }
    unknown = sorted({n.op for n in net.graph.nodes} - set(table))
    if unknown:
        return None, f"torch: no translation of {', '.join(unknown)} here"
    spec, output = net.graph.inputs[0], net.graph.outputs[0]

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            env = {spec.name: torch.from_numpy(x.reshape((x.shape[0],) + spec.shape))}
            env.update({k: v[None] for k, v in params.items()})
            for node in net.graph.nodes:
                env[node.id] = table[node.op](node, *(env[r] for r in node.inputs))
            return env[output].numpy()

    return run, f"torch {torch.__version__} eager"


def forward_rows(net: Net, threads: int, reps: int) -> list[Row]:
    """Ours against each importable peer at each batch size; a peer whose outputs disagree with
    ours beyond float32 rounding is reported as such, never timed."""
    from .runtime import execute

    spec, output = net.graph.inputs[0], net.graph.outputs[0]
    peers = [("onnxruntime", *_ort_runner(net, threads)), ("torch", *_torch_runner(net))]
    rows = []
    for batch in BATCHES:
        x = np.random.default_rng(batch).standard_normal((batch,) + spec.shape).astype(np.float32)
        peer_x = x.reshape((batch,) + spec.shape[1:]) if spec.shape[:1] == (1,) else x

        def ours() -> np.ndarray:
            return execute(net.graph, {spec.name: x})[output]

        want, memory = traced(ours)
        want = want.reshape(batch, -1)
        runners: dict[str, Callable[[], Any]] = {"ours": ours}
        notes: dict[str, str] = {}  # peer -> why it is not timed
        for peer, run, label in peers:
            if run is None:
                notes[peer] = label
                continue
            try:
                got = np.asarray(run(peer_x)).reshape(batch, -1)
            except Exception as e:  # noqa: BLE001 - a peer that cannot run this net is a row note
                notes[peer] = f"{label} failed: {type(e).__name__}: {e}"
                continue
            scale = max(1.0, float(np.abs(want).max()))
            if not np.allclose(got, want, rtol=1e-4, atol=1e-4 * scale):
                notes[peer] = f"{label} disagrees with ours (max |diff| {float(np.abs(got - want).max()):.3g})"
                continue
            runners[peer] = (lambda run=run: run(peer_x))
        inner = 20 if batch == 1 else 1
        medians = interleaved(runners, reps, inner)
        task = f"forward b={batch}"
        for peer, timing in medians.items():
            if peer != "ours":
                rows.append(Row.timed(task, net.name, medians["ours"], peer, timing, peak_mib=memory))
        for peer, note in notes.items():
            rows.append(Row.timed(task, net.name, medians["ours"], peer, None, peak_mib=memory, note=note))
    return rows


# ---- bounds and exact replay ---------------------------------------------------------------

def bound_instances(shared: Path, quick: bool) -> list[tuple[str, Path, Path]]:
    """(name, onnx, vnnlib) of the bound rows: an ACAS Xu and an mnistfc instance (more when not quick)."""
    root = shared / VNNCOMP
    out = [("acasxu_1_1 prop_2", root / "acasxu" / "ACASXU_run2a_1_1_batch_2000.onnx", root / "acasxu" / "prop_2.vnnlib"),
           ("mnistfc_256x2 prop_0", root / "mnistfc" / "mnist-net_256x2.onnx", root / "mnistfc" / "prop_0_0.03.vnnlib")]
    if not quick:
        out += [("acasxu_2_3 prop_1", root / "acasxu" / "ACASXU_run2a_2_3_batch_2000.onnx", root / "acasxu" / "prop_1.vnnlib"),
                ("mnistfc_256x4 prop_1", root / "mnistfc" / "mnist-net_256x4.onnx", root / "mnistfc" / "prop_1_0.03.vnnlib")]
    return [(name, onnx, vnnlib) for name, onnx, vnnlib in out if onnx.is_file() and vnnlib.is_file()]


def mean_width(certificate: str) -> float:
    """The mean width of the output bounds a certificate states."""
    from .cert.format import loads

    cert = loads(certificate)
    out = dict(cert.bounds)[cert.output]
    return float(sum((hi - lo for lo, hi in zip(out.lower, out.upper)), Fraction(0)) / len(out.lower))


Peer = Callable[[Path, Any], Callable[[str], float]]


def lirpa_runner() -> tuple[Peer | None, str]:
    """auto_LiRPA's bounds as `prepare(onnx, box)(method) -> mean output width`, or None and why
    it is unavailable. Preparing (converting the net, building the bounded module) is done once and
    not timed: only `compute_bounds` is, as only the bound pass is on our side."""
    for module in ("auto_LiRPA", "onnx2pytorch", "torch", "onnx"):
        if _optional(module) is None:
            return None, f"auto_LiRPA not run: {module} not importable ({_why_missing(module)})"
    import auto_LiRPA

    return _lirpa_prepare, f"auto_LiRPA {auto_LiRPA.__version__}"


def _lirpa_prepare(onnx: Path, box: Any) -> Callable[[str], float]:
    """auto_LiRPA on the same net (converted by onnx2pytorch) and box, with its default options
    (its alpha-CROWN also optimises intermediate layers, ours keeps them fixed)."""
    import onnx as onnx_lib
    import torch
    from auto_LiRPA import BoundedModule, BoundedTensor, PerturbationLpNorm
    from onnx2pytorch import ConvertModel

    model = ConvertModel(onnx_lib.load(str(onnx)), experimental=True)
    lo, hi = (torch.tensor(a.astype(np.float32)) for a in box.to_float_arrays())
    bounded = BoundedModule(model, torch.zeros_like(lo))
    x = BoundedTensor((lo + hi) / 2, PerturbationLpNorm(x_L=lo, x_U=hi))

    def bound(method: str) -> float:
        lb, ub = bounded.compute_bounds(x=(x,), method=LIRPA[method])
        return float((ub - lb).mean())

    return bound


def bound_rows(name: str, onnx: Path, vnnlib: Path, reps: int, replay: Sequence[str], replay_reps: int) -> list[Row]:
    """IBP, CROWN and alpha-CROWN on one instance, against auto_LiRPA where it imports; then the
    exact replay of the certificate of each method in `replay` against the bound pass that wrote it."""
    from .bounds import verify
    from .cert import check, loads
    from .frontends.onnx_import import load_onnx
    from .spec import load_vnnlib

    graph = load_onnx(onnx)
    spec = load_vnnlib(vnnlib)
    box = spec.input_boxes[0].reshape(graph.inputs[0].shape)
    prop = spec.output_property
    prepare, status = lirpa_runner()
    peer = None if prepare is None else prepare(onnx, box)
    rows = []
    for method in METHODS:
        runners: dict[str, Callable[[], Any]] = {"ours": lambda: verify(graph, box, prop, method=method, exact=False)}
        result, memory = traced(runners["ours"])
        width = mean_width(result.certificate) if result.certificate else None
        peer_width = None
        if peer is not None:
            runners["peer"] = lambda: peer(method)
            peer_width = peer(method)
        medians = interleaved(runners, reps)
        widths = {"ours": width, **({"peer": peer_width} if peer_width is not None else {})}
        note = f"float verdict {result.verdict}" + ("" if peer is not None else f"; {status}")
        rows.append(Row.timed(method, name, medians["ours"], "auto_LiRPA", medians.get("peer"), widths=widths,
                              peak_mib=memory, note=note))
        if result.certificate is not None and method in replay:
            cert = loads(result.certificate)
            pair = {"bound": runners["ours"], "replay": lambda: check(graph, cert)}
            verdict, replay_memory = traced(pair["replay"])
            timed = interleaved(pair, replay_reps)
            rows.append(Row.timed(f"exact replay ({method})", name, timed["replay"], f"{method} bound pass (ours)",
                                  timed["bound"], peak_mib=replay_memory,
                                  note="ratio = replay / bound time; " + ("certificate accepted" if verdict.ok
                                                                          else f"certificate REJECTED: {verdict.reason}")))
    return rows


# ---- the run and its outputs ---------------------------------------------------------------

def versions() -> dict[str, str]:
    """Versions of Python, NumPy and each peer that imports."""
    out = {"python": sys.version.split()[0], "numpy": np.__version__}
    for module in ("onnxruntime", "torch", "auto_LiRPA"):
        mod = _optional(module)
        if mod is not None:
            out[module] = str(getattr(mod, "__version__", "?"))
    return out


def run_bench(*, quick: bool, shared: Path, threads: int = 1,
              progress: Callable[[str], None] = lambda s: None) -> Report:
    """Every row of the benchmark (fewer nets and repetitions with `quick`)."""
    if _optional("onnx") is None:
        raise UserError("bench reads ONNX nets: pip install 'pytorch2lean[onnx]'")
    start = time.perf_counter()
    reps, replay_reps = (5, 1) if quick else (15, 3)
    replay = ("ibp", "crown") if quick else METHODS
    with pinned(threads) as pins:
        report = Report(quick, pins, versions())
        forward, missing = nets(shared, quick)
        for name, why in missing.items():
            report.rows.append(Row("forward", name, None, "", None, None, note=why))
        for net in forward:
            progress(f"forward: {net.name}")
            report.rows.extend(forward_rows(net, threads, reps))
        instances = bound_instances(shared, quick)
        if not instances:
            report.rows.append(Row("bounds", "vnncomp2021", None, "", None, None, note=f"{shared / VNNCOMP} is absent"))
        for name, onnx, vnnlib in instances:
            progress(f"bounds: {name}")
            report.rows.extend(bound_rows(name, onnx, vnnlib, 3 if quick else 7, replay, replay_reps))
    report.seconds = time.perf_counter() - start
    report.max_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


def _cell(v: float | None, unit: str = "") -> str:
    if v is None:
        return "-"
    if unit == "s":
        return f"{v * 1e3:.3f} ms" if v < 1 else f"{v:.2f} s"
    return f"{v:.3g}{unit}"


def _widths(w: dict[str, float] | None) -> str:
    return "" if not w else ", ".join(f"{k} {v:.4g}" for k, v in w.items())


COLUMNS = ("task", "net", "ours", "peer", "peer time", "ours/peer", "CPU ours/peer", "widths", "peak MiB", "note")


def table_rows(report: Report) -> list[list[str]]:
    """The report's rows as the cells of the printed and Markdown tables."""
    return [[r.task, r.net, _cell(r.ours_s, "s"), r.peer, _cell(r.peer_s, "s"), _cell(r.ratio, "x"),
             _cell(r.ours_cpu_s / r.peer_cpu_s if r.ours_cpu_s and r.peer_cpu_s else None, "x"),
             _widths(r.widths), _cell(r.peak_mib), r.note] for r in report.rows]


def header(report: Report) -> str:
    """What the numbers were measured under: threads, versions, duration, process peak."""
    t = report.threads
    return (f"threads: {t['requested']} requested; pools {'; '.join(t['pools']) or 'none'}; torch {t['torch']}; "
            f"onnxruntime {t['onnxruntime']} | versions: {', '.join(f'{k} {v}' for k, v in report.versions.items())} | "
            f"{report.seconds:.1f} s, process peak RSS {report.max_rss_mib:.0f} MiB"
            + (" | quick" if report.quick else ""))


def markdown(report: Report) -> str:
    """The report as a Markdown table under its header line."""
    lines = [header(report), "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in cells) + " |" for cells in table_rows(report)]
    return "\n".join(lines) + "\n"


def rich_table(report: Report) -> Any:
    """The report as a rich Table, its header line as the caption."""
    from rich.table import Table

    table = Table(*COLUMNS, title="pytorch2lean bench" + (" --quick" if report.quick else ""), caption=header(report),
                  header_style="bold")
    for cells in table_rows(report):
        table.add_row(*cells)
    return table
