"""`verify --lean`: a proven query becomes a Lean theorem in the model's Lake project, and `lean-check` checks it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytorch2lean.lean.toolchain import find_toolchain
from tests.test_cli import cli

MLP = Path(__file__).resolve().parents[1] / "examples" / "mlp"
needs_lean = pytest.mark.skipif(find_toolchain() is None, reason="no Lean toolchain (set PYTORCH2LEAN_LEAN or install one)")


def verify_mlp(out: Path, eps: str, *extra: str):
    return cli("verify", str(MLP / "model.p2l"), "-c", str(MLP / "weights.npz"), "--input", str(MLP / "x.npy"),
               "--eps", eps, "--label", "3", "--lean", str(out), *extra)


@needs_lean
def test_verify_writes_a_theorem_that_lean_checks(tmp_path: Path) -> None:
    run = verify_mlp(tmp_path / "p", "0.001", "--method", "ibp")
    assert run.returncode == 0, run.stderr
    assert "robust_label3" in run.stderr and "lean-check" in run.stderr
    source = (tmp_path / "p" / "Mlp" / "Certificates" / "robust_label3.lean").read_text()
    assert "theorem robust_label3 : Safe graph params" in source
    assert "(fun ys => ArgmaxIs 3 5 (nthD ys 0 []))" in source  # the corollary, stated plainly
    check = cli("lean-check", str(tmp_path / "p"))
    assert check.returncode == 0, check.stdout + check.stderr
    for theorem in ("robust_label3", "robust_label3_argmax"):
        assert f"axioms of Mlp.Certificates.{theorem}: propext" in check.stdout


def test_unproven_box_writes_no_theorem(tmp_path: Path) -> None:
    run = verify_mlp(tmp_path / "p", "0.05", "--method", "ibp")
    assert "no box was proven: no Lean theorem written" in run.stderr
    assert not (tmp_path / "p").exists()


def test_lean_refuses_relu_split_trees_before_any_work(tmp_path: Path) -> None:
    run = verify_mlp(tmp_path / "p", "0.001", "--method", "bab", "--split", "relu")
    assert run.returncode == 1
    assert "ReLU-split trees are not read by the Lean checkers yet: use --split input" in run.stderr + run.stdout
    assert "Traceback" not in run.stderr and not (tmp_path / "p").exists()
    run = verify_mlp(tmp_path / "p", "0.001", "--method", "relu")
    assert run.returncode == 1 and "use --method ibp, crown, alpha or bab (not 'relu')" in run.stderr + run.stdout


def test_verify_bab_writes_a_split_tree_theorem(tmp_path: Path) -> None:
    """eps 0.2: CROWN alone cannot prove it, input splitting can (kernel-checked in test_lean_bab)."""
    run = verify_mlp(tmp_path / "p", "0.2", "--method", "bab", "--split", "input")
    assert run.returncode == 0, run.stderr
    source = (tmp_path / "p" / "Mlp" / "Certificates" / "robust_label3.lean").read_text()
    assert "(safe_split _ 0" in source and "theorem robust_label3_leaf1_checks" in source
    assert "theorem robust_label3_argmax : Safe graph params" in source
    assert "robust_of_safe (by decide) robust_label3_tree" in source


def test_vnncomp_lean_refuses_relu_split_trees_before_any_work(tmp_path: Path) -> None:
    csv = tmp_path / "instances.csv"
    csv.write_text("m.onnx,p.vnnlib,60\n")
    run = cli("vnncomp", str(csv), "--out", str(tmp_path / "out"), "--lean", "--split", "relu")
    assert run.returncode == 1
    assert "ReLU-split trees are not read by the Lean checkers yet" in run.stderr + run.stdout
    assert not (tmp_path / "out").exists()
