"""Finding a Lean toolchain: `lean` (always needed) and `lake` (used when present).

Lookup order for `lean`: the `PYTORCH2LEAN_LEAN` environment variable, `lean` on PATH, the
offline toolchain at /tmp/lean-toolchain (built by ../shared/lean-toolchain/install.sh), then
elan's default ~/.elan/bin/lean. `lake` is taken from PATH or from next to the `lean` found.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import BackendError

ENV_VAR = "PYTORCH2LEAN_LEAN"
FALLBACKS = (Path("/tmp/lean-toolchain/bin/lean"), Path.home() / ".elan" / "bin" / "lean")


@dataclass(frozen=True)
class Toolchain:
    """A usable `lean` executable, its version line, and `lake` if one sits beside it."""

    lean: Path
    version: str
    lake: Path | None


def _candidates() -> list[Path]:
    found: list[Path] = []
    if os.environ.get(ENV_VAR):
        found.append(Path(os.environ[ENV_VAR]))
    on_path = shutil.which("lean")
    if on_path:
        found.append(Path(on_path))
    found.extend(FALLBACKS)
    return found


def _version(lean: Path) -> str | None:
    try:
        run = subprocess.run([str(lean), "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return run.stdout.strip() if run.returncode == 0 else None


def find_toolchain() -> Toolchain | None:
    """The first working `lean` in lookup order, or None when there is none."""
    for lean in _candidates():
        if not lean.is_file():
            continue
        version = _version(lean)
        if version is None:
            continue
        beside = lean.parent / "lake"
        lake = shutil.which("lake") or (str(beside) if beside.is_file() else None)
        return Toolchain(lean.resolve(), version, Path(lake) if lake else None)
    return None


def require_toolchain() -> Toolchain:
    """The toolchain, or a BackendError that says how to get one."""
    tc = find_toolchain()
    if tc is None:
        looked = ", ".join(str(p) for p in _candidates())
        raise BackendError(
            f"no Lean toolchain found (looked at ${ENV_VAR}, PATH and {looked}); install Lean 4.35 with elan, "
            f"or run ../shared/lean-toolchain/install.sh /tmp/lean-toolchain, or set {ENV_VAR} to a lean binary"
        )
    return tc
