"""Small command-line promises: --version, unreadable .npy files, outputs written as shown, the IR
JSON writer, a demo that leaves no temporary folder behind, and the Lean toolchain looked for only
where the README says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from pytorch2lean import __version__
from pytorch2lean.ir import digest
from pytorch2lean.model import load_model
from tests.test_cli import cli

MLP = Path(__file__).resolve().parents[1] / "examples" / "mlp"
MODEL = [str(MLP / "model.p2l"), "-c", str(MLP / "weights.npz")]


def test_version() -> None:
    r = cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"pytorch2lean {__version__}", r.stdout + r.stderr


def test_an_empty_or_truncated_npy_is_one_message(tmp_path: Path) -> None:
    """np.load raises EOFError on an empty file, which click would turn into a bare "Aborted."."""
    (tmp_path / "empty.npy").write_bytes(b"")
    np.save(tmp_path / "x.npy", np.ones((1, 5), np.float32))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "x.npy").read_bytes()[:100])
    for name in ("empty.npy", "cut.npy"):
        for args in (["run", *MODEL, "-i", str(tmp_path / name)],
                     ["verify", *MODEL, "--input", str(tmp_path / name), "--eps", "0.1", "--label", "0"]):
            r = cli(*args)
            assert r.returncode == 1 and "Aborted" not in r.stdout + r.stderr and "Traceback" not in r.stderr
            assert f"{tmp_path / name}: cannot read a .npy array" in r.stderr.replace("\n", ""), r.stderr
    np.save(tmp_path / "none.npy", np.ones((0, 1, 5), np.float32))  # a batch of no samples: --exact had a traceback
    for extra in ([], ["--exact"]):
        r = cli("run", *MODEL, "-i", str(tmp_path / "none.npy"), *extra)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stdout + r.stderr
        assert f"{tmp_path / 'none.npy'}: a batch of 0 samples (shape [0, 1, 5])" in r.stderr.replace("\n", ""), r.stderr


def test_run_writes_one_sample_as_it_shows_it(tmp_path: Path) -> None:
    x = np.load(MLP / "x.npy")  # one sample, no batch axis
    r = cli("run", *MODEL, "-i", str(MLP / "x.npy"), "-o", str(tmp_path / "y.npz"))
    assert r.returncode == 0, r.stderr
    graph = load_model(MLP / "model.p2l", MLP / "weights.npz").graph
    shape = graph.shapes()[graph.outputs[0]]
    assert f"y {list(shape)}" in r.stdout and np.load(tmp_path / "y.npz")["y"].shape == shape
    assert x.shape == graph.inputs[0].shape


def test_ir_writes_the_json_that_json_models_read(tmp_path: Path) -> None:
    out = tmp_path / "mlp.json"
    r = cli("ir", *MODEL, "--out", str(out))
    assert r.returncode == 0, r.stderr
    graph = load_model(MLP / "model.p2l", MLP / "weights.npz").graph
    assert json.loads(out.read_text())["format"] == "pytorch2lean.ir.v1"
    assert digest(load_model(out).graph) == digest(graph) and digest(graph) in r.stdout
    r = cli("run", str(out), "-i", str(MLP / "x.npy"))
    assert r.returncode == 0, r.stderr


def test_the_demo_leaves_no_temporary_folder(tmp_path: Path) -> None:
    env = dict(os.environ, TMPDIR=str(tmp_path))
    r = subprocess.run([sys.executable, "-m", "pytorch2lean", "demo"], capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert list(tmp_path.iterdir()) == []


def test_vnncomp_runs_every_row_then_names_the_bad_one(tmp_path: Path) -> None:
    fixtures = Path(__file__).resolve().parent / "fixtures"
    (tmp_path / "instances.csv").write_text(f"missing.onnx,{fixtures / 'vnnlib' / 'test_nano.vnnlib'},10\n"
                                            f"{fixtures / 'onnx' / 'test_nano.onnx'},{fixtures / 'vnnlib' / 'test_nano.vnnlib'},10\n")
    r = cli("vnncomp", str(tmp_path / "instances.csv"), "--out", str(tmp_path / "out"), "--quiet")
    assert r.returncode == 1 and "Traceback" not in r.stderr and "1 unsat" in r.stdout, r.stdout + r.stderr
    assert f"{tmp_path / 'instances.csv'}:1: {tmp_path / 'missing.onnx'}: no such ONNX file" in r.stderr.replace("\n", "")


def test_export_refuses_examples_it_cannot_state(tmp_path: Path) -> None:
    """softmax has no exact rational value: an example theorem for the attention model cannot be
    written, so --example is refused before anything is written (it used to be dropped silently)."""
    attention = MLP.parent / "attention"
    r = cli("export", str(attention / "model.p2l"), "-c", str(attention / "weights.npz"), "-e", str(attention / "x.npy"),
            "--out", str(tmp_path / "p"))
    assert r.returncode == 1 and "Traceback" not in r.stderr and not (tmp_path / "p").exists()
    assert "--example: the model has ops without an exact rational meaning (" in r.stderr.replace("\n", " ")
    assert "softmax" in r.stderr


def test_the_readme_names_every_place_lean_is_looked_for_in_order() -> None:
    """A toolchain was found in a place no document named: the README lists the lookup, in order."""
    from pytorch2lean.lean.toolchain import ENV_VAR, FALLBACKS

    readme = (MLP.parents[1] / "README.md").read_text(encoding="utf-8")
    places = [f"`{ENV_VAR}`", "`lean` on `PATH`"] + [f"`{str(p).replace(str(Path.home()), '~')}`" for p in FALLBACKS]
    at = [readme.find(p) for p in places]
    assert -1 not in at and at == sorted(at), list(zip(places, at))
