"""Every zoo model, loaded from its PyTorch factory and checkpoint, exports to a Lake project the
Lean kernel accepts, with its well-formedness and output-shape theorems on no extra axioms (and, for the GPT block, the
causal dependency theorem `causalDeps`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytorch2lean.lean import export_project, lean_check
from pytorch2lean.lean.toolchain import find_toolchain

pytest.importorskip("torch", reason="the zoo's factories are PyTorch modules")

from pytorch2lean.lean.emit import module_name  # noqa: E402
from pytorch2lean.model import load_model  # noqa: E402

TOOLCHAIN = find_toolchain()
ZOO = Path(__file__).resolve().parents[1] / "examples" / "zoo"
MODELS = ("mlp", "cnn", "resnet_block", "vit_block", "gpt_block")
CAUSAL = {"gpt_block": ("causalDeps",)}
pytestmark = pytest.mark.skipif(TOOLCHAIN is None, reason="no Lean toolchain (set PYTORCH2LEAN_LEAN or install one)")


@pytest.fixture(scope="module")
def library_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build of the Lean library, shared by every model's check."""
    return tmp_path_factory.getbasetemp() / "zoo-lean-lib"


@pytest.mark.parametrize("name", MODELS)
def test_zoo_model_checks_in_lean(name: str, tmp_path: Path, library_cache: Path) -> None:
    loaded = load_model(f"{ZOO / name / 'model.py'}:{name}", ZOO / name / "state_dict.pt")
    assert loaded.checkpoint_sha256
    project = export_project(loaded.graph, tmp_path / name, checkpoint_sha256=loaded.checkpoint_sha256)
    result = lean_check(project, toolchain=TOOLCHAIN, library_cache=library_cache)
    assert result.ok, result.report()
    module = module_name(loaded.graph.name)
    for theorem in ("wellFormed", "outputShapes", "paramsDecode") + CAUSAL.get(name, ()):
        assert f"{module}.{theorem}" in result.axioms, result.report()
