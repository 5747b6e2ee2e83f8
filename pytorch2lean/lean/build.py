"""Check an exported Lake project as it is on disk now, trusting no build output shipped with it.

A received project may carry compiled files (`.lake/...`) that do not match its sources: a good
`.olean` beside a source whose weight literal was flipped. So `lean_check` first refuses a project
whose `.lake` folder holds any file (it never writes there itself), then builds from the sources
alone, in a fresh temporary folder: `lake build` on a copy of the project when lake is available,
otherwise `lean` on every module in import order with only that folder on LEAN_PATH. Compiled
modules are reused across checks only from a cache outside the project (`library_cache`, by default
`$XDG_CACHE_HOME/pytorch2lean/lean`), addressed by a sha256 of the toolchain, the module's name and
source bytes and the addresses of the modules it imports: a cached `.olean` is taken only for
exactly the source (and dependencies) it was compiled from, by this code. The result lists each
module's wall and CPU seconds and peak memory, every error with its Lean position, and the axioms `Check.lean` printed; it is `ok`
only when everything compiles and every theorem depends on no axiom beyond propext, Quot.sound and
Classical.choice.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from ..errors import BackendError
from .resources import lean_library_dir
from .toolchain import Toolchain, require_toolchain

ALLOWED_AXIOMS = frozenset({"propext", "Quot.sound", "Classical.choice"})
LAKE_DIR = ".lake"  # where lake keeps build outputs: refused in a project that is checked
_IMPORT = re.compile(r"^\s*import\s+([\w.]+)", re.MULTILINE)
_MESSAGE = re.compile(r"^(?P<file>[^\n:]+\.lean):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning)(?:\([\w.]+\))?: (?P<text>.*)$")
_AXIOMS = re.compile(r"'(?P<name>[^']+)' depends on axioms: \[(?P<axioms>[^\]]*)\]")
_NO_AXIOMS = re.compile(r"'(?P<name>[^']+)' does not depend on any axioms")


@dataclass(frozen=True)
class LeanMessage:
    """An error or warning with its Lean position."""

    file: str
    line: int
    column: int
    severity: str
    text: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.text}"


@dataclass(frozen=True)
class ModuleResult:
    """One module: how long it took (wall seconds; CPU seconds, user and system, and peak resident
    memory of its `lean`, which say what a kernel check costs on a machine that runs other work
    too), whether it compiled, and whether it was up to date."""

    module: str
    seconds: float
    ok: bool
    cached: bool = False
    cpu_seconds: float = 0.0
    peak_mib: float = 0.0

    def cost(self) -> str:
        """`cached`, or wall seconds with CPU seconds and peak memory."""
        if self.cached:
            return "cached"
        return f"{self.seconds:8.2f} s  (CPU {self.cpu_seconds:8.2f} s, {self.peak_mib / 1024:5.2f} GiB)"


@dataclass(frozen=True)
class LeanCheckResult:
    """The outcome of checking a project."""

    project: Path
    tool: str
    version: str
    modules: tuple[ModuleResult, ...]
    messages: tuple[LeanMessage, ...]
    axioms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    output: str = ""

    @property
    def errors(self) -> tuple[LeanMessage, ...]:
        return tuple(m for m in self.messages if m.severity == "error")

    @property
    def bad_axioms(self) -> dict[str, tuple[str, ...]]:
        """Theorems depending on an axiom outside the three standard ones (`sorryAx` included)."""
        return {t: a for t, a in self.axioms.items() if not set(a) <= ALLOWED_AXIOMS}

    @property
    def ok(self) -> bool:
        compiled = all(m.ok for m in self.modules) and not self.errors
        return compiled and not self.bad_axioms and "declaration uses 'sorry'" not in self.output

    def report(self) -> str:
        """A human-readable summary: per-module times, errors, axioms, verdict."""
        lines = [f"{self.project}: {self.tool} ({self.version})"]
        lines += [f"  {m.module:<40} {m.cost()}  {'ok' if m.ok else 'FAILED'}" for m in self.modules]
        lines += [f"  {m}" for m in self.messages]
        lines += [f"  axioms of {t}: {', '.join(a) or 'none'}" for t, a in sorted(self.axioms.items())]
        lines.append("  verdict: " + ("checked" if self.ok else "NOT checked"))
        return "\n".join(lines)


def lean_check(project: str | Path, *, toolchain: Toolchain | None = None, timeout: float = 3600,
               library_cache: str | Path | None = None, jobs: int | None = None) -> LeanCheckResult:
    """Build and check the exported project in `project` from its sources (see the module docstring).

    Without lake, compiled modules are reused from, and added to, the content-addressed cache
    `library_cache` (default: `default_cache()`), never from the project, and up to `jobs` (default:
    one per CPU) modules whose imports are compiled are compiled at once. `timeout` bounds each module.
    """
    root = Path(project).resolve()
    if not (root / "Check.lean").is_file():
        raise BackendError(f"{root}: not an exported pytorch2lean project (no Check.lean)")
    refuse_build_outputs(root)
    tc = toolchain or require_toolchain()
    if tc.lake is not None:
        return _lake_check(root, tc, timeout)
    return _lean_check(root, tc, timeout, Path(library_cache).resolve() if library_cache else default_cache(),
                       max(1, jobs or os.cpu_count() or 1))


def refuse_build_outputs(root: Path) -> None:
    """Refuse a project whose `.lake` holds files: lean-check never writes there, so someone else
    built them, and `lake build` would trust them over the sources."""
    found = sorted(p for p in (root / LAKE_DIR).rglob("*") if not p.is_dir())
    if found:
        raise BackendError(f"{root}: {LAKE_DIR} holds {len(found)} file(s) that lean-check did not produce (e.g. "
                           f"{found[0].relative_to(root)}): build outputs shipped with a project are not trusted; "
                           f"delete {root / LAKE_DIR} and check the sources")


def default_cache() -> Path:
    """The cache of compiled modules shared by checks: `$XDG_CACHE_HOME/pytorch2lean/lean`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pytorch2lean" / "lean"


def check_source(text: str, workdir: str | Path, *, toolchain: Toolchain | None = None) -> LeanCheckResult:
    """Check Lean source `text` (it may `import Pytorch2Lean`) as the `Check` module of `workdir`;
    the library's compiled modules are cached in `workdir/oleans` and reused by the next call."""
    root = Path(workdir)
    root.mkdir(parents=True, exist_ok=True)
    (root / "Check.lean").write_text(text, encoding="utf-8")
    return lean_check(root, toolchain=toolchain, library_cache=root / "oleans")


def _lake_check(root: Path, tc: Toolchain, timeout: float) -> LeanCheckResult:
    """`lake build` and the axioms of `Check.lean`, on a copy of the project's sources (lake's own
    build folder then starts empty and is thrown away)."""
    with tempfile.TemporaryDirectory(prefix="pytorch2lean-lake-") as tmp:
        work = Path(tmp) / root.name
        shutil.copytree(root, work)
        start = time.perf_counter()
        build = _run([str(tc.lake), "build"], work, None, timeout)
        built = time.perf_counter()
        check = _run([str(tc.lake), "env", str(tc.lean), "Check.lean"], work, None, timeout)
    modules = (ModuleResult("lake build", built - start, build.returncode == 0),
               ModuleResult("Check", time.perf_counter() - built, check.returncode == 0))
    output = (build.stdout + build.stderr + check.stdout + check.stderr).replace(str(work), str(root))
    return LeanCheckResult(root, "lake", tc.version, modules, _messages(output), _axioms(output), output)


def _lean_check(root: Path, tc: Toolchain, timeout: float, cache: Path, jobs: int) -> LeanCheckResult:
    """`lean` on every module, each once the modules it imports are compiled, up to `jobs` at a time
    (an export's `Params/Part<k>` modules are independent); after a failure nothing new starts."""
    sources = _sources(root)
    order = _import_order(sources)
    deps = {m: [d for d in _imports(sources[m]) if d in sources] for m in order}
    keys: dict[str, str] = {}
    for module in order:
        keys[module] = _key(tc, module, sources[module], {d: keys[d] for d in deps[module]})
    results: list[ModuleResult] = []
    output = ""
    with tempfile.TemporaryDirectory(prefix="pytorch2lean-build-") as tmp, ThreadPoolExecutor(jobs) as pool:
        build = Path(tmp)
        lean = _Lean(root, dict(os.environ, LEAN_PATH=str(build)), timeout)
        pending, done = list(order), set()
        running: dict[Future[_Compiled], tuple[str, Path]] = {}
        failed = False
        try:
            while pending or running:
                restored = False
                for module in [m for m in pending if all(d in done for d in deps[m])]:
                    if failed or len(running) >= jobs:
                        break
                    pending.remove(module)
                    olean = build / Path(*module.split(".")).with_suffix(".olean")
                    olean.parent.mkdir(parents=True, exist_ok=True)
                    if module != "Check" and _restore(cache, keys[module], olean):
                        results.append(ModuleResult(module, 0.0, True, cached=True))
                        done.add(module)
                        restored = True
                        continue
                    src = sources[module]
                    base = src.parents[len(module.split(".")) - 1]  # the folder the module name is relative to
                    args = [str(tc.lean), "-R", str(base), str(src)]
                    if module != "Check":
                        args[1:1] = ["-o", str(olean), "-i", str(olean.with_suffix(".ilean"))]
                    running[pool.submit(lean.compile, args)] = (module, olean)
                if restored:
                    continue  # a cached module may have made others ready
                if not running:
                    break  # nothing can start: after a failure, or (never) an import cycle
                finished = next(iter(wait(running, return_when=FIRST_COMPLETED).done))
                module, olean = running.pop(finished)
                job = finished.result()
                if job.timed_out:
                    raise BackendError(f"{' '.join(job.args[:2])}: no result after {timeout:.0f} s")
                results.append(ModuleResult(module, job.seconds, job.returncode == 0, cpu_seconds=job.cpu_seconds,
                                            peak_mib=job.peak_mib))
                output += job.output + _killed(sources[module], job.returncode)
                if job.returncode == 0:
                    done.add(module)
                    if module != "Check":
                        _store(cache, keys[module], olean)
                else:
                    failed = True
        finally:
            lean.stop()  # what still runs after an error or an interrupt (the pool then waits for its threads)
    return LeanCheckResult(root, "lean", tc.version, tuple(results), _messages(output), _axioms(output), output)


@dataclass(frozen=True)
class _Compiled:
    """One finished `lean` process: its exit code, wall and CPU seconds, peak memory and output."""

    args: list[str]
    returncode: int
    seconds: float
    cpu_seconds: float
    peak_mib: float
    output: str
    timed_out: bool


class _Lean:
    """The `lean` processes of one check, run from threads: each is waited for with `wait4`, which
    reports that process's own CPU time and peak memory (other modules compile beside it), and is
    killed past `timeout` seconds or when the check stops early."""

    def __init__(self, cwd: Path, env: dict[str, str], timeout: float) -> None:
        self.cwd, self.env, self.timeout = cwd, env, timeout
        self.lock = threading.Lock()
        self.running: set[subprocess.Popen[str]] = set()
        self.expired: set[int] = set()
        self.stopped = False

    def compile(self, args: list[str]) -> _Compiled:
        """Run one `lean` to its end, its output collected in a file (a pipe could fill and stall it)."""
        with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as log:
            start = time.perf_counter()
            with self.lock:
                if self.stopped:
                    return _Compiled(args, -signal.SIGKILL, 0.0, 0.0, 0.0, "", False)
                proc = subprocess.Popen(args, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT, text=True)
                self.running.add(proc)
            timer = threading.Timer(self.timeout, self._expire, (proc,))
            timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
                with self.lock:
                    self.running.discard(proc)
            proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
            log.seek(0)
            return _Compiled(args, proc.returncode, time.perf_counter() - start, usage.ru_utime + usage.ru_stime,
                             usage.ru_maxrss / 1024, log.read(), proc.pid in self.expired)

    def _expire(self, proc: subprocess.Popen[str]) -> None:
        with self.lock:
            if proc in self.running:
                self.expired.add(proc.pid)
                proc.kill()

    def stop(self) -> None:
        """Kill every running `lean` and start no other."""
        with self.lock:
            self.stopped = True
            for proc in self.running:
                proc.kill()


def _killed(src: Path, returncode: int) -> str:
    """An error line for a `lean` that a signal ended (it prints nothing then): which signal, and
    that SIGKILL usually means the machine ran out of memory (the kernel keeps what it evaluates)."""
    if returncode >= 0:
        return ""
    name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else f"signal {-returncode}"
    hint = ": the usual cause is running out of memory" if -returncode == signal.SIGKILL else ""
    return f"\n{src}:1:0: error: lean was ended by {name}{hint}\n"


def _key(tc: Toolchain, module: str, src: Path, deps: dict[str, str]) -> str:
    """The cache address of a compiled module: sha256 of the toolchain, the module's name, its
    source bytes and the addresses of the modules it imports."""
    source = hashlib.sha256(src.read_bytes()).hexdigest()
    text = json.dumps([str(tc.lean), tc.version, module, source, sorted(deps.items())])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _restore(cache: Path, key: str, olean: Path) -> bool:
    """Copy the cached module `key` (.olean and .ilean) to `olean`; False when it is not cached."""
    cached = cache / f"{key}.olean"
    if not cached.is_file():
        return False
    shutil.copyfile(cached, olean)
    if cached.with_suffix(".ilean").is_file():
        shutil.copyfile(cached.with_suffix(".ilean"), olean.with_suffix(".ilean"))
    return True


def _store(cache: Path, key: str, olean: Path) -> None:
    """Add a module this check compiled to the cache; each file appears whole (written aside, then
    renamed), the .olean last: its presence marks the entry."""
    cache.mkdir(parents=True, exist_ok=True)
    for built in (olean.with_suffix(".ilean"), olean):
        if built.is_file():
            aside = cache / f".{key}.{os.getpid()}{built.suffix}"
            shutil.copyfile(built, aside)
            os.replace(aside, cache / f"{key}{built.suffix}")


def _sources(root: Path) -> dict[str, Path]:
    """Module name -> source file for `Check` and everything it imports, looked up in the project
    first, then (for a project that does not vendor it) in the installed library."""
    found: dict[str, Path] = {}
    todo = ["Check"]
    while todo:
        module = todo.pop()
        if module in found:
            continue
        path = _locate(module, root)
        if path is not None:
            found[module] = path
            todo.extend(_imports(path))
    return found


def _locate(module: str, root: Path) -> Path | None:
    """The source of `module` in the project or the library; None for core modules (Init, ...)."""
    rel = Path(*module.split(".")).with_suffix(".lean")
    for base in (root, lean_library_dir()):
        if (base / rel).is_file():
            return base / rel
    return None


def _imports(src: Path) -> list[str]:
    return _IMPORT.findall(src.read_text(encoding="utf-8"))


def _import_order(sources: dict[str, Path]) -> list[str]:
    graph = {m: [d for d in _imports(p) if d in sources] for m, p in sources.items()}
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as e:
        raise BackendError(f"import cycle among Lean modules: {e.args[1]}") from None


def _run(args: list[str], cwd: Path, env: dict[str, str] | None, timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BackendError(f"{' '.join(args[:2])}: no result after {timeout:.0f} s") from None


def _messages(output: str) -> tuple[LeanMessage, ...]:
    out = []
    for line in output.splitlines():
        m = _MESSAGE.match(line)
        if m:
            out.append(LeanMessage(m["file"], int(m["line"]), int(m["col"]), m["severity"], m["text"]))
    return tuple(out)


def _axioms(output: str) -> dict[str, tuple[str, ...]]:
    found = {m["name"]: tuple(a.strip() for a in m["axioms"].split(",") if a.strip()) for m in _AXIOMS.finditer(output)}
    found.update({m["name"]: () for m in _NO_AXIOMS.finditer(output)})
    return found
