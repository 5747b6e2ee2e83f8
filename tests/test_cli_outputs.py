"""Output paths are checked before any work starts, and `verify`'s exit status says its verdict.

A path in a missing folder, a folder given for a file, or a file given for a folder is one message
naming the option and the path, exit 1, no traceback, and nothing run (no verification table).
`verify` exits 0 when the property holds, 1 on a user error, 3 violated, 4 unknown, 5 timeout.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytorch2lean.verify import EXIT_CODES
from tests.test_cli import cli

ROOT = Path(__file__).resolve().parents[1]
MLP = ROOT / "examples" / "mlp"
NET = ROOT / "tests" / "fixtures" / "onnx" / "test_small.onnx"
PROP = ROOT / "tests" / "fixtures" / "vnnlib" / "test_tiny.vnnlib"
MODEL = [str(MLP / "model.p2l"), "-c", str(MLP / "weights.npz")]


@pytest.mark.parametrize(("args", "message"), [
    (["graph", *MODEL, "--out", "{missing}/g.svg"], "--out {missing}/g.svg: the folder {missing} does not exist"),
    (["run", *MODEL, "-i", str(MLP / "x.npy"), "-o", "{missing}/y.npz"], "--output {missing}/y.npz: the folder"),
    (["run", *MODEL, "-i", str(MLP / "x.npy"), "--record", "{missing}/r.json"], "--record {missing}/r.json: the folder"),
    (["run", *MODEL, "-i", str(MLP / "x.npy"), "-o", "{tmp}"], "--output {tmp}: is a folder; give a file name"),
    (["verify", str(NET), "--vnnlib", str(PROP), "--method", "bab", "--cert", "{missing}/c.json"],
     "--cert {missing}/c.json: the folder {missing} does not exist"),
    (["export", *MODEL, "--out", "{file}"], "--out {file}: is a file; give a folder"),
    (["vnncomp", "{csv}", "--out", "{file}"], "--out {file}: is a file; give a folder"),
    (["verify", *MODEL, "--input", str(MLP / "x.npy"), "--eps", "0.001", "--label", "3", "--lean", "{file}"],
     "--lean {file}: is a file; give a folder"),  # a box it proves: the theorem was written after the work
    (["verify", *MODEL, "--input", str(MLP / "x.npy"), "--eps", "0.001", "--label", "3", "--lean", "{file}/sub"],
     "--lean {file}/sub: {file} is a file, so no folder can be made in it"),
    (["ir", *MODEL, "--out", "{missing}/g.json"], "--out {missing}/g.json: the folder {missing} does not exist"),
    (["bench", "--quick", "--json", "{missing}/b.json"], "--json {missing}/b.json: the folder {missing} does not exist"),
])
def test_output_paths_are_refused_before_any_work(tmp_path: Path, args: list[str], message: str) -> None:
    places = {"missing": str(tmp_path / "no" / "such"), "tmp": str(tmp_path), "file": str(tmp_path / "taken"),
              "csv": str(tmp_path / "instances.csv")}
    (tmp_path / "taken").write_text("a file\n")
    (tmp_path / "instances.csv").write_text(f"{NET},{PROP},10\n")
    r = cli(*(a.format(**places) for a in args))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stdout + r.stderr
    assert message.format(**places) in r.stderr.replace("\n", " "), r.stderr
    assert "verdict" not in r.stdout and not (tmp_path / "no").exists()


BALL = ["verify", *MODEL, "--input", str(MLP / "x.npy"), "--label", "3"]


@pytest.mark.parametrize(("args", "message"), [
    (BALL + ["--eps", "nan"], "--eps nan: not an exact number"),
    (BALL + ["--eps", "-0.1"], "--eps -0.1: a radius is at least 0"),
    (BALL + ["--eps", "0.001", "--timeout", "nan"], "--timeout nan: give a finite number of seconds, at least 0"),
    (BALL + ["--eps", "0.001", "--timeout", "-1"], "--timeout -1.0: give a finite number of seconds"),
    (BALL + ["--eps", "0.001", "--falsify", "inf"], "--falsify inf: give a finite number of seconds"),
    (BALL[:-1] + ["7", "--eps", "0.001"], "--label 7: the output 'y' has 5 classes; give a label from 0 to 4"),
    (BALL[:-1] + ["-1", "--eps", "0.001"], "--label -1: the output 'y' has 5 classes; give a label from 0 to 4"),
])
def test_verify_numbers_are_refused_before_any_work(args: list[str], message: str) -> None:
    """A NaN timeout was ignored (verify ran without one), an infinite --falsify searched without end."""
    r = cli(*args)
    assert r.returncode == 1 and "Traceback" not in r.stderr and message in r.stderr, r.stdout + r.stderr
    assert "verdict" not in r.stdout


def vnnlib(path: Path, at_least: str) -> Path:
    """test_small's input X_0 in [-1, 1]; unsafe when Y_0 >= at_least."""
    path.write_text(f"(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (>= X_0 -1))\n(assert (<= X_0 1))\n"
                    f"(assert (>= Y_0 {at_least}))\n")
    return path


def test_verify_exit_status_says_the_verdict(tmp_path: Path) -> None:
    assert EXIT_CODES == {"holds": 0, "violated": 3, "unknown": 4, "timeout": 5}
    holds = cli("verify", str(NET), "--vnnlib", str(PROP))
    assert holds.returncode == 0 and "verdict: holds" in holds.stdout, holds.stdout + holds.stderr
    false = vnnlib(tmp_path / "false.vnnlib", "-1000000")  # every output is unsafe
    violated = cli("verify", str(NET), "--vnnlib", str(false), "--falsify", "5")
    assert violated.returncode == 3 and "verdict: violated" in violated.stdout, violated.stdout + violated.stderr
    unknown = cli("verify", str(NET), "--vnnlib", str(false))
    assert unknown.returncode == 4 and "verdict: unknown" in unknown.stdout, unknown.stdout + unknown.stderr
    late = cli("verify", str(NET), "--vnnlib", str(PROP), "--timeout", "0", "--json")
    assert late.returncode == 5 and '"verdict": "timeout"' in late.stdout, late.stdout + late.stderr
