"""The command line as a user meets it: commands, outputs, and one-line errors without tracebacks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pytorch2lean.ir import digest, loads
from pytorch2lean.model import load_model

ROOT = Path(__file__).resolve().parents[1]
MLP = ROOT / "examples" / "mlp"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytorch2lean", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_inspect_prints_the_digest() -> None:
    r = cli("inspect", str(MLP / "model.p2l"), "--checkpoint", str(MLP / "weights.npz"))
    assert r.returncode == 0, r.stderr
    found = re.search(r"digest: ([0-9a-f]{64})\b", r.stdout)
    assert found, r.stdout
    assert found.group(1) == digest(load_model(MLP / "model.p2l", MLP / "weights.npz").graph)
    assert "linear" in r.stdout and "1,413" in r.stdout


def test_inspect_json() -> None:
    r = cli("inspect", str(MLP / "model.p2l"), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["bound"] is False and data["param_count"] == 1413
    assert [n["op"] for n in data["nodes"]] == ["linear", "relu", "linear", "relu", "linear"]
    assert re.fullmatch(r"[0-9a-f]{64}", data["digest"])


def test_run_writes_outputs_and_a_record(tmp_path: Path) -> None:
    x = np.random.default_rng(0).standard_normal((4, 1, 5)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    r = cli("run", str(MLP / "model.p2l"), "-c", str(MLP / "weights.npz"), "--input", str(tmp_path / "x.npy"),
            "--record", str(tmp_path / "rec.json"), "--output", str(tmp_path / "y.npz"), "--exact")
    assert r.returncode == 0, r.stderr
    assert "max |float32 - exact|" in r.stdout
    loaded = load_model(MLP / "model.p2l", MLP / "weights.npz")
    from pytorch2lean.runtime import execute

    y = np.load(tmp_path / "y.npz")["y"]
    np.testing.assert_array_equal(y, execute(loaded.graph, {"x": x})["y"])
    rec = json.loads((tmp_path / "rec.json").read_text())
    assert rec["ir_digest"] == digest(loaded.graph) and rec["checkpoint_sha256"] == loaded.checkpoint_sha256
    assert rec["batch"] == 4 and rec["backend"] == "numpy" and rec["outputs"]["y"]["shape"] == [4, 1, 5]


def test_graph_svg_and_dot(tmp_path: Path) -> None:
    for name in ("g.svg", "g.dot"):
        r = cli("graph", str(ROOT / "examples" / "residual" / "model.p2l"), "--out", str(tmp_path / name))
        assert r.returncode == 0, r.stderr
    assert "<svg" in (tmp_path / "g.svg").read_text()
    assert "digraph" in (tmp_path / "g.dot").read_text()


def test_demo() -> None:
    r = cli("demo")
    assert r.returncode == 0, r.stderr
    assert re.search(r"digest: [0-9a-f]{64}", r.stdout) and "max |float32 - exact|" in r.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["inspect", "missing.p2l"], "missing.p2l: no such model file"),
        (["inspect", "{model}", "--checkpoint", "{bad}"], "{bad}"),
        (["run", "{model}", "--input", "{x}"], "has no value: give a checkpoint"),
        (["run", "{model}", "-c", "{ckpt}", "--input", "{x}", "--device", "cuda"], "cuda"),
        (["graph", "{model}", "--out", "g.png"], "unknown drawing format '.png'"),
        (["inspect", "{broken}"], "broken.p2l:3:1: unexpected 'output'"),
    ],
)
def test_user_errors_are_one_line_without_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    (tmp_path / "broken.p2l").write_text("model m\ninput x: [1, 5\noutput x\n")
    np.save(tmp_path / "x.npy", np.zeros((1, 5), np.float32))
    subst = {"model": str(MLP / "model.p2l"), "ckpt": str(MLP / "weights.npz"), "bad": str(tmp_path / "bad.npz"),
             "x": str(tmp_path / "x.npy"), "broken": str(tmp_path / "broken.p2l")}
    r = cli(*(a.format(**subst) for a in args), cwd=tmp_path)
    if "cuda" in args and r.returncode == 0:
        pytest.skip("a CUDA device is available here")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "error:" in r.stderr
    assert message.format(**subst) in r.stderr.replace("\n", "")


def test_ir_json_is_a_model_format(tmp_path: Path) -> None:
    from pytorch2lean.ir import dumps

    g = load_model(MLP / "model.p2l", MLP / "weights.npz").graph
    (tmp_path / "mlp.json").write_text(dumps(g))
    r = cli("inspect", str(tmp_path / "mlp.json"), "--json")
    assert json.loads(r.stdout)["digest"] == digest(g) == digest(loads((tmp_path / "mlp.json").read_text()))


def test_pytorch_factory_spec_with_a_state_dict() -> None:
    pytest.importorskip("torch", reason="PyTorch factories need torch (pip install 'pytorch2lean[torch]')")
    zoo = ROOT / "examples" / "zoo" / "cnn"
    r = cli("inspect", f"{zoo / 'model.py'}:cnn", "-c", str(zoo / "state_dict.pt"), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["bound"] and "batchnorm" in {n["op"] for n in data["nodes"]}
    assert data["checkpoint_sha256"] and re.fullmatch(r"[0-9a-f]{64}", data["digest"])


NO_EXAMPLE = """\
import torch
from torch import nn

class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x)

def factory():
    return Head()

def broken():
    raise ValueError("no such width")
"""


def test_run_rounds_other_inputs_to_float32_and_says_so(tmp_path: Path) -> None:
    """A float64 (or integer) .npy runs as the float32 it rounds to, the runtime and the exact
    evaluation alike (so the reported error is the network's, not the input's rounding), with a note
    naming the file and how many values moved; float32 input, or float64 that is exactly float32, runs
    without one."""
    x = np.array([[0.1, 0.5, -2.0, 3.0, 1e-3]])
    np.save(tmp_path / "x64.npy", x)
    np.save(tmp_path / "x32.npy", x.astype(np.float32))
    np.save(tmp_path / "exact64.npy", x.astype(np.float32).astype(np.float64))
    runs = {n: cli("run", str(MLP / "model.p2l"), "-c", str(MLP / "weights.npz"), "-i", str(tmp_path / f"{n}.npy"), "--exact",
                   "-o", str(tmp_path / f"{n}.npz")) for n in ("x64", "x32", "exact64")}
    assert all(r.returncode == 0 for r in runs.values()), [r.stderr for r in runs.values()]
    assert "x64.npy: float64 values rounded to float32, the model's input type (2 of 5 changed, the largest by" \
        in runs["x64"].stderr
    assert "note" not in runs["x32"].stderr and "note" not in runs["exact64"].stderr
    shown = {r.stdout.split("outputs written to")[0] for r in runs.values()}
    assert len(shown) == 1 and "max |float32 - exact|" in shown.pop()  # the same float32 run, the same exact error
    y = [np.load(tmp_path / f"{n}.npz")["y"] for n in runs]
    assert all(np.array_equal(y[0], other) for other in y[1:])


def test_run_and_verify_take_the_input_shape_from_the_input(tmp_path: Path) -> None:
    """A factory without example_input() and no --input-shape: the shape of --input serves."""
    pytest.importorskip("torch", reason="PyTorch factories need torch (pip install 'pytorch2lean[torch]')")
    (tmp_path / "zoo.py").write_text(NO_EXAMPLE)
    np.save(tmp_path / "x.npy", np.ones((2, 4), np.float32))
    r = cli("run", f"{tmp_path / 'zoo.py'}:factory", "-i", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npz"))
    assert r.returncode == 0, r.stderr
    assert np.load(tmp_path / "y.npz")["linear"].shape == (2, 3)  # one sample: written as shown, no batch axis
    r = cli("verify", f"{tmp_path / 'zoo.py'}:factory", "--input", str(tmp_path / "x.npy"), "--eps", "0.01", "--label", "0")
    assert r.returncode in (0, 4) and "verdict:" in r.stdout, r.stderr  # holds or unknown: no user error
    r = cli("inspect", f"{tmp_path / 'zoo.py'}:factory")
    assert r.returncode == 1 and "give input_shape (--input-shape)" in r.stderr


def test_messages_print_colons_as_written(tmp_path: Path) -> None:
    """`zoo.py:factory:` is rich's :factory: emoji code; messages must not turn it into one."""
    (tmp_path / "zoo.py").write_text(NO_EXAMPLE)
    r = cli("inspect", f"{tmp_path / 'zoo.py'}:broken", "--input-shape", "1,4")
    if "needs torch" in r.stderr:
        pytest.skip("PyTorch factories need torch")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "zoo.py:broken: building the module failed" in r.stderr.replace("\n", "")
    r = cli("inspect", f"{tmp_path / 'zoo.py'}:factory:", "--input-shape", "1,4")
    assert r.returncode == 1 and "zoo.py:factory:" in r.stderr.replace("\n", "") and "\N{FACTORY}" not in r.stderr


def test_the_checkpoint_wrapper_chosen_is_named(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="PyTorch factories need torch (pip install 'pytorch2lean[torch]')")
    (tmp_path / "zoo.py").write_text(NO_EXAMPLE)
    weights = {f"module.fc.{k}": torch.ones(v) for k, v in (("weight", (3, 4)), ("bias", (3,)))}
    torch.save({"epoch": 3, "state_dict": weights}, tmp_path / "ckpt.pth")
    np.save(tmp_path / "x.npy", np.ones((1, 4), np.float32))
    r = cli("run", f"{tmp_path / 'zoo.py'}:factory", "-c", str(tmp_path / "ckpt.pth"), "-i", str(tmp_path / "x.npy"),
            "-o", str(tmp_path / "y.npz"))
    assert r.returncode == 0, r.stderr
    assert "note: " in r.stderr and "'state_dict.module.'" in r.stderr.replace("\n", "")
    assert np.array_equal(np.load(tmp_path / "y.npz")["linear"], np.full((1, 3), 5, np.float32))


def test_bad_input_shape_is_a_user_error() -> None:
    r = cli("inspect", "model.py:make", "--input-shape", "1,three")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "--input-shape '1,three': expected positive integers" in r.stderr


def test_export_and_lean_check(tmp_path: Path) -> None:
    from pytorch2lean.lean.toolchain import find_toolchain

    if find_toolchain() is None:
        pytest.skip("no Lean toolchain found (set PYTORCH2LEAN_LEAN; CI installs ../shared/lean-toolchain)")
    out = tmp_path / "mlp"
    r = cli("export", str(MLP / "model.p2l"), "-c", str(MLP / "weights.npz"), "-e", str(MLP / "x.npy"), "--out", str(out))
    assert r.returncode == 0, r.stderr
    r = cli("lean-check", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verdict: checked" in r.stdout and "Mlp.example0" in r.stdout
    model = out / "Mlp" / "Model.lean"
    text = model.read_text()
    at = text.index("def p0 : Nat := 0x") + len("def p0 : Nat := 0x") + 7  # a mantissa digit of the first weight
    model.write_text(text[:at] + ("1" if text[at] != "1" else "2") + text[at + 1:])
    r = cli("lean-check", str(out))
    assert r.returncode == 1 and "NOT checked" in r.stdout and "Traceback" not in r.stderr


FIXTURES = ROOT / "tests" / "fixtures"


def test_verify_vnnlib_and_check_the_certificate(tmp_path: Path) -> None:
    net, prop = FIXTURES / "onnx" / "test_tiny.onnx", FIXTURES / "vnnlib" / "test_tiny.vnnlib"
    cert = tmp_path / "c.json"
    r = cli("verify", str(net), "--vnnlib", str(prop), "--cert", str(cert), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["verdict"] == "holds" and data["boxes"][0]["verdict"] == "holds"
    assert data["boxes"][0]["margin"] is not None and not data["boxes"][0]["margin"].startswith("-")
    r = cli("check", str(net), str(cert))
    assert r.returncode == 0 and r.stdout.startswith("accepted"), r.stdout + r.stderr
    text = json.loads(cert.read_text())
    text["bounds"][next(iter(text["bounds"]))]["upper"][0] = "-1000000"  # one stated bound made false
    cert.write_text(json.dumps(text))
    r = cli("check", str(net), str(cert))
    assert r.returncode == 1 and "REJECTED" in r.stdout and "Traceback" not in r.stderr


def test_verify_robustness_and_box(tmp_path: Path) -> None:
    x = np.load(MLP / "x.npy")
    loaded = load_model(MLP / "model.p2l", MLP / "weights.npz")
    from pytorch2lean.runtime import execute

    label = int(np.argmax(execute(loaded.graph, {"x": x[None]})["y"]))
    r = cli("verify", str(MLP / "model.p2l"), "-c", str(MLP / "weights.npz"), "--input", str(MLP / "x.npy"),
            "--eps", "0.001", "--label", str(label), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["verdict"] == "holds"
    wrong = (label + 1) % 5
    r = cli("verify", str(MLP / "model.p2l"), "-c", str(MLP / "weights.npz"), "--input", str(MLP / "x.npy"),
            "--eps", "0.001", "--label", str(wrong), "--json")
    assert json.loads(r.stdout)["verdict"] == "unknown"
    np.save(tmp_path / "lo.npy", x - 0.01)
    np.save(tmp_path / "hi.npy", x + 0.01)
    r = cli("verify", str(MLP / "model.p2l"), "-c", str(MLP / "weights.npz"), "--box", str(tmp_path / "lo.npy"),
            str(tmp_path / "hi.npy"), "--cert", str(tmp_path / "b.json"))
    assert r.returncode == 0 and "verdict: holds" in r.stdout, r.stdout + r.stderr
    assert json.loads((tmp_path / "b.json").read_text())["method"] == "ibp"


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "give exactly one of --vnnlib"),
        (["--input", "{x}", "--eps", "0.1"], "--input needs --eps and --label"),
        (["--input", "{x}", "--eps", "0.1", "--label", "0", "--method", "magic"], "--method magic: available methods are"),
        (["--vnnlib", "{prop}"], "the property declares 1 inputs, the model's input has 5"),
    ],
)
def test_verify_user_errors(extra: list[str], message: str) -> None:
    subst = {"x": str(MLP / "x.npy"), "prop": str(FIXTURES / "vnnlib" / "test_tiny.vnnlib")}
    r = cli("verify", str(MLP / "model.p2l"), "-c", str(MLP / "weights.npz"), *(a.format(**subst) for a in extra))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert message in r.stderr.replace("\n", " "), r.stderr


@pytest.mark.parametrize("method", ["crown", "alpha", "bab"])
def test_verify_with_every_method_and_check(tmp_path: Path, method: str) -> None:
    net, prop = FIXTURES / "onnx" / "test_small.onnx", FIXTURES / "vnnlib" / "test_tiny.vnnlib"
    cert = tmp_path / "c.json"
    r = cli("verify", str(net), "--vnnlib", str(prop), "--method", method, "--cert", str(cert), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["verdict"] == "holds"
    r = cli("check", str(net), str(cert))
    assert r.returncode == 0 and r.stdout.startswith("accepted"), r.stdout + r.stderr


def test_check_jobs(tmp_path: Path) -> None:
    """--jobs sets the leaf-check processes; below 1 is a user error. Worker processes import the
    main module again, so importing `pytorch2lean.__main__` must not run the command line."""
    net, prop = FIXTURES / "onnx" / "test_small.onnx", FIXTURES / "vnnlib" / "test_tiny.vnnlib"
    cert = tmp_path / "c.json"
    assert cli("verify", str(net), "--vnnlib", str(prop), "--method", "bab", "--cert", str(cert), "--jobs", "2").returncode == 0
    r = cli("check", str(net), str(cert), "--jobs", "2")
    assert r.returncode == 0 and r.stdout.startswith("accepted"), r.stdout + r.stderr
    r = cli("check", str(net), str(cert), "--jobs", "0")
    assert r.returncode == 1 and "--jobs 0: give at least 1" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-c", "import pytorch2lean.__main__"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", r.stdout + r.stderr


def test_vnncomp_runs_and_resumes(tmp_path: Path) -> None:
    for name in ("test_nano", "test_tiny"):
        (tmp_path / f"{name}.onnx").write_bytes((FIXTURES / "onnx" / f"{name}.onnx").read_bytes())
        (tmp_path / f"{name}.vnnlib").write_bytes((FIXTURES / "vnnlib" / f"{name}.vnnlib").read_bytes())
    (tmp_path / "instances.csv").write_text("test_nano.onnx,test_nano.vnnlib,30\ntest_tiny.onnx,test_tiny.vnnlib,30\n")
    r = cli("vnncomp", str(tmp_path / "instances.csv"), "--out", str(tmp_path / "out"), "--quiet")
    assert r.returncode == 0, r.stderr
    assert "2 unsat" in r.stdout
    rows = (tmp_path / "out" / "results.csv").read_text().splitlines()
    assert rows[0] == "onnx,vnnlib,result,seconds,certificate,reason" and all(",unsat," in row for row in rows[1:])
    r = cli("vnncomp", str(tmp_path / "instances.csv"), "--out", str(tmp_path / "out"))
    assert r.returncode == 0 and "0 run now, 2 resumed" in (r.stdout + r.stderr).replace("\n", " "), r.stderr
