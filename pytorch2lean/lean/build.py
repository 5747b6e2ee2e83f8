"""Check an exported Lake project: `lake build` when lake is available, otherwise `lean` on every
module in import order, writing `.olean` files to `<project>/.lake/p2l` and putting that folder
on LEAN_PATH. The result lists each module's time, every error with its Lean position, and the
axioms `Check.lean` printed; it is `ok` only when everything compiles and every theorem depends
on no axiom beyond propext, Quot.sound and Classical.choice.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from ..errors import BackendError
from .resources import lean_library_dir
from .toolchain import Toolchain, require_toolchain

ALLOWED_AXIOMS = frozenset({"propext", "Quot.sound", "Classical.choice"})
BUILD_DIR = Path(".lake") / "p2l"
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
    """One module: how long it took, whether it compiled, and whether it was up to date."""

    module: str
    seconds: float
    ok: bool
    cached: bool = False


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
        lines += [f"  {m.module:<40} {'cached' if m.cached else f'{m.seconds:7.2f} s'}  {'ok' if m.ok else 'FAILED'}"
                  for m in self.modules]
        lines += [f"  {m}" for m in self.messages]
        lines += [f"  axioms of {t}: {', '.join(a) or 'none'}" for t, a in sorted(self.axioms.items())]
        lines.append("  verdict: " + ("checked" if self.ok else "NOT checked"))
        return "\n".join(lines)


def lean_check(project: str | Path, *, toolchain: Toolchain | None = None, timeout: float = 3600,
               library_cache: str | Path | None = None) -> LeanCheckResult:
    """Build and check the exported project in `project`.

    Without lake, the compiled library modules go to `library_cache` when one is given (so that
    many projects share them), else into the project's own build folder.
    """
    root = Path(project).resolve()
    if not (root / "Check.lean").is_file():
        raise BackendError(f"{root}: not an exported pytorch2lean project (no Check.lean)")
    tc = toolchain or require_toolchain()
    if tc.lake is not None:
        return _lake_check(root, tc, timeout)
    return _lean_check(root, tc, timeout, Path(library_cache).resolve() if library_cache else root / BUILD_DIR)


def check_source(text: str, workdir: str | Path, *, toolchain: Toolchain | None = None) -> LeanCheckResult:
    """Check Lean source `text` (it may `import Pytorch2Lean`) as the `Check` module of `workdir`;
    the library's compiled modules stay in `workdir` and are reused by the next call."""
    root = Path(workdir)
    root.mkdir(parents=True, exist_ok=True)
    (root / "Check.lean").write_text(text, encoding="utf-8")
    return lean_check(root, toolchain=toolchain, library_cache=root / BUILD_DIR)


def _lake_check(root: Path, tc: Toolchain, timeout: float) -> LeanCheckResult:
    start = time.perf_counter()
    build = _run([str(tc.lake), "build"], root, None, timeout)
    built = time.perf_counter()
    check = _run([str(tc.lake), "env", str(tc.lean), "Check.lean"], root, None, timeout)
    modules = (ModuleResult("lake build", built - start, build.returncode == 0),
               ModuleResult("Check", time.perf_counter() - built, check.returncode == 0))
    output = build.stdout + build.stderr + check.stdout + check.stderr
    return LeanCheckResult(root, "lake", tc.version, modules, _messages(output), _axioms(output), output)


def _lean_check(root: Path, tc: Toolchain, timeout: float, library_build: Path) -> LeanCheckResult:
    sources = _sources(root)
    project_build = root / BUILD_DIR
    library = lean_library_dir()
    env = dict(os.environ, LEAN_PATH=os.pathsep.join(dict.fromkeys([str(project_build), str(library_build)])))
    results: list[ModuleResult] = []
    output = ""
    for module in _import_order(sources):
        src = sources[module]
        olean = _olean(src, module, library, library_build, project_build)
        deps = [_olean(sources[d], d, library, library_build, project_build) for d in _imports(src) if d in sources]
        if module != "Check" and _up_to_date(olean, src, deps):
            results.append(ModuleResult(module, 0.0, True, cached=True))
            continue
        olean.parent.mkdir(parents=True, exist_ok=True)
        olean.unlink(missing_ok=True)
        base = src.parents[len(module.split(".")) - 1]  # the folder the module name is relative to
        args = [str(tc.lean), "-R", str(base), str(src)]
        if module != "Check":
            args[1:1] = ["-o", str(olean), "-i", str(olean.with_suffix(".ilean"))]
        start = time.perf_counter()
        run = _run(args, root, env, timeout)
        ok = run.returncode == 0
        results.append(ModuleResult(module, time.perf_counter() - start, ok))
        output += run.stdout + run.stderr
        if not ok:
            break
    return LeanCheckResult(root, "lean", tc.version, tuple(results), _messages(output), _axioms(output), output)


def _olean(src: Path, module: str, library: Path, library_build: Path, project_build: Path) -> Path:
    """Where the compiled `module` goes: library modules to the shared folder, the rest to the project's."""
    build = library_build if src.is_relative_to(library) else project_build
    return build / Path(*module.split(".")).with_suffix(".olean")


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


def _up_to_date(olean: Path, src: Path, deps: list[Path]) -> bool:
    if not olean.is_file():
        return False
    stamp = olean.stat().st_mtime
    return all(p.is_file() and p.stat().st_mtime <= stamp for p in [src, *deps])


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
