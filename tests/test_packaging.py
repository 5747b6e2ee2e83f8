"""The wheel carries everything the package needs at run time: grammars, lean/, templates/, examples/."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    if build.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {build_failure(build.stderr)}")
    (wheel,) = out.glob("*.whl")
    target = out / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(target)  # a wheel is a zip of the installed tree
    return target


def build_failure(stderr: str) -> str:
    """Why pip could not build: its error lines (often first, before pages of log), else its last lines."""
    errors = [line.strip() for line in stderr.splitlines() if "error" in line.lower()]
    return " | ".join(errors)[:1000] or stderr.strip()[-300:]


def test_a_skipped_build_names_its_cause() -> None:
    stderr = "ERROR: invalid command 'bdist_wheel' (is the wheel package installed?)\n" + "  log line\n" * 200
    assert build_failure(stderr) == "ERROR: invalid command 'bdist_wheel' (is the wheel package installed?)"
    assert build_failure("no such thing\n") == "no such thing"


def test_wheel_holds_the_data_folders(installed_wheel: Path) -> None:
    data = installed_wheel / "pytorch2lean" / "_data"
    for path in ("lakefile.lean", "lean-toolchain", "lean/Pytorch2Lean.lean", "templates/Model.lean.j2",
                 "examples/mlp/model.p2l", "examples/mlp/weights.npz", "examples/mlp/x.npy"):
        assert (data / path).is_file(), path
    assert (installed_wheel / "pytorch2lean" / "frontends" / "dsl" / "model.lark").is_file()
    assert (installed_wheel / "pytorch2lean" / "spec" / "vnnlib.lark").is_file()


def test_demo_runs_from_the_wheel(installed_wheel: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(installed_wheel)}
    r = subprocess.run([sys.executable, "-m", "pytorch2lean", "demo"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    assert str(installed_wheel) in r.stdout.replace("\n", "")  # the example came from the wheel, not the checkout
    assert "digest:" in r.stdout and "max |float32 - exact|" in r.stdout
    from pytorch2lean.lean.toolchain import find_toolchain

    if find_toolchain() is not None:
        assert "verdict: checked" in r.stdout, r.stdout
