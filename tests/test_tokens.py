"""Models of token ids through the command line: `run` on an int64 .npy, `verify` and `check` of a
robustness claim about the embeddings, and the Lean side (an example theorem evaluates the
lookup in the kernel; a verify theorem is about the network after the lookup).

The model is examples/tokens/model.py (an `nn.Embedding` classifier); a factory without
`example_input()` is exported at the shape and integer type of the array it runs on.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.test_cli import cli

torch = pytest.importorskip("torch", reason="the token models are PyTorch factories")

TOKENS = Path(__file__).resolve().parents[1] / "examples" / "tokens" / "model.py"
MODEL = f"{TOKENS}:classifier"
IDS = np.array([[3, 14, 15, 9, 26, 5, 35, 8]])
NO_EXAMPLE = """
import torch
from torch import nn


class Bag(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 4)
        self.head = nn.Linear(4, 2)

    def forward(self, ids):
        return self.head(self.embed(ids).mean(1))


def bag():
    torch.manual_seed(0)
    return Bag().eval()
"""


def classifier() -> torch.nn.Module:
    import importlib.util

    spec = importlib.util.spec_from_file_location("tokens_model", TOKENS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.classifier()


@pytest.fixture()
def ids(tmp_path: Path) -> Path:
    np.save(tmp_path / "ids.npy", IDS)
    return tmp_path / "ids.npy"


def test_run_takes_int64_ids_and_matches_torch(ids: Path, tmp_path: Path) -> None:
    r = cli("run", MODEL, "-i", str(ids), "-o", str(tmp_path / "y.npz"), "--record", str(tmp_path / "run.json"), "--exact")
    assert r.returncode == 0, r.stderr
    with torch.no_grad():
        want = classifier()(torch.from_numpy(IDS)).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "y.npz")["linear_1"], want, rtol=0, atol=1e-6)
    assert json.loads((tmp_path / "run.json").read_text())["inputs"]["ids"]["dtype"] == "int64"
    assert "max |float32 - exact|" in r.stdout


def test_a_factory_without_an_example_is_exported_with_the_ids_it_runs_on(tmp_path: Path, ids: Path) -> None:
    (tmp_path / "bag.py").write_text(NO_EXAMPLE)
    np.save(tmp_path / "ids.npy", np.array([[1, 19, 0, 7, 7]]))
    r = cli("run", f"{tmp_path / 'bag.py'}:bag", "-i", str(tmp_path / "ids.npy"), "-o", str(tmp_path / "y.npz"))
    assert r.returncode == 0, r.stderr
    spec = __import__("importlib.util").util.spec_from_file_location("bag", tmp_path / "bag.py")
    module = __import__("importlib.util").util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with torch.no_grad():
        want = module.bag()(torch.tensor([[1, 19, 0, 7, 7]])).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "y.npz")["linear"], want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("array, message", [
    (np.array([[3, 14, 15, 9, 26, 5, 50, 8]]), "input 'ids': id 50 at index [0, 0, 6] (batch axis first) is outside "
                                               "the input's id range [0, 50)"),
    (IDS.astype(np.float32), "input 'ids' takes integer token ids; got an array of dtype float32"),
])
def test_bad_ids_are_one_message(tmp_path: Path, array: np.ndarray, message: str) -> None:
    np.save(tmp_path / "bad.npy", array)
    r = cli("run", MODEL, "-i", str(tmp_path / "bad.npy"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert message in " ".join(r.stderr.split()), r.stderr


@pytest.mark.lean
def test_verify_proves_robustness_of_the_embeddings_and_check_and_lean_accept_it(ids: Path, tmp_path: Path) -> None:
    """The ball is around the rows the ids select; the certificate, the check and the Lean theorem
    are about the network after the lookup (its own digest, printed by verify and by check)."""
    from pytorch2lean.lean import lean_check
    from pytorch2lean.lean.toolchain import find_toolchain

    ball = ["--input", str(ids), "--eps", "0.01", "--label", "0"]
    r = cli("verify", MODEL, *ball, "--cert", str(tmp_path / "c.json"), "--lean", str(tmp_path / "lean"))
    assert r.returncode == 0, r.stdout + r.stderr
    note = " ".join(r.stderr.split())
    assert "classifier takes token ids; its questions are asked after the embedding lookup (embedding [1, 8, 8])" in note
    digest = note.split("IR digest ")[1].split()[0]
    assert json.loads((tmp_path / "c.json").read_text())["graph_digest"] == digest
    r = cli("check", MODEL, str(tmp_path / "c.json"), *ball)
    assert r.returncode == 0 and f"IR digest {digest}" in r.stdout and "embedding of shape [1, 8, 8]" in r.stdout, r.stdout
    r = cli("verify", MODEL, *ball[:3], "0.5", "--label", "0")  # a ball too wide to prove
    assert r.returncode == 4, r.stdout
    toolchain = find_toolchain()
    if toolchain is None:
        pytest.skip("no Lean toolchain (set PYTORCH2LEAN_LEAN or install one)")
    result = lean_check(tmp_path / "lean", toolchain=toolchain)
    assert result.ok and "Classifier.Certificates.robust_label0" in result.axioms, result.report()


@pytest.mark.lean
def test_an_example_theorem_evaluates_the_lookup_in_lean(ids: Path, tmp_path: Path) -> None:
    """The token model itself (ids input, `embedding` node) exported with an example: Lean's
    denotation looks the ids up and must give the exact outputs the Python evaluator gives."""
    from pytorch2lean.lean import lean_check
    from pytorch2lean.lean.toolchain import find_toolchain

    toolchain = find_toolchain()
    if toolchain is None:
        pytest.skip("no Lean toolchain (set PYTORCH2LEAN_LEAN or install one)")
    r = cli("export", MODEL, "-e", str(ids), "--out", str(tmp_path / "p"))
    assert r.returncode == 0, r.stderr
    model = (tmp_path / "p" / "Classifier" / "Model.lean").read_text()
    assert "input ids: int64 token ids in [0, 50)" in model and ".embedding" in model
    result = lean_check(tmp_path / "p", toolchain=toolchain)
    assert result.ok and "Classifier.example0" in result.axioms, result.report()
