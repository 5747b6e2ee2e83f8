"""`lean-check` checks the project as it is on disk now: build outputs shipped with a project are
refused, and compiled modules are reused only from a cache addressed by their sources.

The forged project: the MLP example exported with an example theorem, one weight literal flipped
in Model.lean, and the good (unflipped) Model.olean and Theorems.olean shipped in `.lake`, newer
than the sources, where a driver that trusts modification times would take them and print
"verdict: checked".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pytorch2lean.errors import BackendError
from pytorch2lean.lean import export_project, lean_check
from pytorch2lean.lean.toolchain import find_toolchain
from pytorch2lean.model import load_model

TOOLCHAIN = find_toolchain()
pytestmark = pytest.mark.skipif(TOOLCHAIN is None, reason="no Lean toolchain (set PYTORCH2LEAN_LEAN or install one)")
MLP = Path(__file__).resolve().parents[1] / "examples" / "mlp"


def flip_first_weight(project: Path) -> None:
    """Change one mantissa digit of the first parameter literal in Model.lean."""
    model = project / "Mlp" / "Model.lean"
    text = model.read_text()
    at = text.index("def p0 : Nat := 0x") + len("def p0 : Nat := 0x") + 7
    model.write_text(text[:at] + ("1" if text[at] != "1" else "2") + text[at + 1:])


def cached_modules(cache: Path) -> dict[str, list[Path]]:
    """The cache's compiled modules by name (read from their .ilean files), each a list of .olean paths."""
    found: dict[str, list[Path]] = {}
    for ilean in sorted(cache.glob("*.ilean")):
        found.setdefault(json.loads(ilean.read_text())["module"], []).append(ilean.with_suffix(".olean"))
    return found


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The MLP project, exported and checked once: (project, cache)."""
    base = tmp_path_factory.mktemp("build")
    loaded = load_model(MLP / "model.p2l", MLP / "weights.npz")
    project = export_project(loaded.graph, base / "mlp", checkpoint_sha256=loaded.checkpoint_sha256 or "",
                             examples=[np.load(MLP / "x.npy")])
    result = lean_check(project, toolchain=TOOLCHAIN, library_cache=base / "cache")
    assert result.ok, result.report()
    assert not (project / ".lake").exists()  # the check wrote nothing into the project
    return project, base / "cache"


def test_a_project_shipped_with_build_outputs_is_refused(checked: tuple[Path, Path], tmp_path: Path) -> None:
    project, cache = checked
    forged = tmp_path / "mlp"
    shutil.copytree(project, forged)
    flip_first_weight(forged)
    good = cached_modules(cache)
    for module in ("Model", "Theorems"):
        (olean,) = good[f"Mlp.{module}"]
        shipped = forged / ".lake" / "p2l" / "Mlp" / f"{module}.olean"
        shipped.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(olean, shipped)  # the olean of the unflipped source, newer than the flipped one
    with pytest.raises(BackendError, match=r"\.lake holds 2 file\(s\) that lean-check did not produce"):
        lean_check(forged, toolchain=TOOLCHAIN, library_cache=cache)
    env = dict(os.environ, PYTORCH2LEAN_LEAN=str(TOOLCHAIN.lean), XDG_CACHE_HOME=str(tmp_path / "xdg"))
    r = subprocess.run([sys.executable, "-m", "pytorch2lean", "lean-check", str(forged)], capture_output=True,
                       text=True, timeout=600, env=env)
    assert r.returncode == 1 and "Traceback" not in r.stderr and "verdict: checked" not in r.stdout
    assert "did not produce (e.g. .lake/p2l/Mlp/Model.olean)" in r.stderr.replace("\n", " "), r.stderr
    shutil.rmtree(forged / ".lake")
    result = lean_check(forged, toolchain=TOOLCHAIN, library_cache=cache)  # from the sources: the example fails
    assert not result.ok and "verdict: NOT checked" in result.report()
    model = next(m for m in result.modules if m.module == "Mlp.Model")
    assert not model.cached and len(cached_modules(cache)["Mlp.Model"]) == 2  # compiled afresh, cached beside


def test_modules_are_reused_only_for_the_same_sources(checked: tuple[Path, Path]) -> None:
    project, cache = checked
    again = lean_check(project, toolchain=TOOLCHAIN, library_cache=cache)
    assert again.ok
    assert all(m.cached for m in again.modules if m.module != "Check")
    assert not next(m for m in again.modules if m.module == "Check").cached  # its axioms are printed every time
    assert again.axioms == lean_check(project, toolchain=TOOLCHAIN, library_cache=cache).axioms


def test_a_lean_ended_by_a_signal_says_so(tmp_path: Path) -> None:
    """A `lean` the machine kills (out of memory: SIGKILL) prints nothing; the check names the signal."""
    from pytorch2lean.lean.toolchain import Toolchain

    loaded = load_model(MLP / "model.p2l", MLP / "weights.npz")
    project = export_project(loaded.graph, tmp_path / "p", checkpoint_sha256="0" * 64)
    killed = tmp_path / "lean"
    killed.write_text("#!/bin/sh\nkill -9 $$\n")
    killed.chmod(0o755)
    result = lean_check(project, toolchain=Toolchain(killed, "killed", None), library_cache=tmp_path / "cache")
    assert not result.ok
    assert any("lean was ended by SIGKILL: the usual cause is running out of memory" in e.text for e in result.errors)


def test_each_compiled_module_reports_its_own_cpu_time_and_memory(checked: tuple[Path, Path]) -> None:
    """A module `lean` compiled states its wall and CPU seconds and peak memory, read for that process
    alone (wait4): a kernel check's cost stays readable while other work shares the machine. (`Check`
    is compiled on every check, the rest comes from the cache.)"""
    project, cache = checked
    result = lean_check(project, toolchain=TOOLCHAIN, library_cache=cache, jobs=2)
    assert result.ok, result.report()
    (check,) = [m for m in result.modules if not m.cached]
    assert check.module == "Check" and 0 < check.cpu_seconds and 10 < check.peak_mib < 64 * 1024 and check.seconds > 0
    assert f"Check{' ' * 36}{check.seconds:8.2f} s  (CPU {check.cpu_seconds:8.2f} s, {check.peak_mib / 1024:5.2f} GiB)  ok" \
        in result.report()


def test_a_module_past_the_timeout_is_named_and_nothing_is_left_running(tmp_path: Path) -> None:
    """A `lean` that runs past the timeout ends the check with an error naming it, and neither it nor
    the modules compiling beside it outlive the check."""
    from pytorch2lean.lean.toolchain import Toolchain

    loaded = load_model(MLP / "model.p2l", MLP / "weights.npz")
    project = export_project(loaded.graph, tmp_path / "p", checkpoint_sha256="0" * 64)
    marker = tmp_path / "pids"
    slow = tmp_path / "lean"
    slow.write_text(f"#!/bin/sh\necho $$ >> {marker}\nexec sleep 30\n")
    slow.chmod(0o755)
    with pytest.raises(BackendError, match=r"no result after 1 s"):
        lean_check(project, toolchain=Toolchain(slow, "slow", None), library_cache=tmp_path / "cache", timeout=1, jobs=2)
    for pid in marker.read_text().split():
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)


def test_lean_check_jobs_below_one_is_a_user_error(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "pytorch2lean", "lean-check", str(tmp_path), "--jobs", "0"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "--jobs 0: give at least 1" in r.stderr + r.stdout and "Traceback" not in r.stderr
