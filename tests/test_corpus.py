"""The corpus of real architectures (examples/corpus/models.py): each lowers through the user's
path (`file.py:factory`), runs on the NumPy runtime, and matches torch eager on random inputs
(images, or token embeddings for the text models) within 1e-4 of the output's scale.

The `hf_*` models need `transformers` (pip install transformers; it needs only torch) and skip
without it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch frontend needs torch (pip install 'pytorch2lean[torch]')")

from pytorch2lean.frontends.torch_export import load_torch  # noqa: E402
from pytorch2lean.runtime import execute  # noqa: E402

MODELS = Path(__file__).resolve().parents[1] / "examples" / "corpus" / "models.py"
_spec = importlib.util.spec_from_file_location("corpus_models", MODELS)
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)

RELATIVE = 1e-4


@pytest.mark.parametrize("name", sorted(corpus.CORPUS))
def test_corpus_model_lowers_runs_and_matches_torch(name: str) -> None:
    if name.startswith("hf_"):
        pytest.importorskip("transformers", reason="the hf_* corpus models need transformers (pip install transformers)")
    graph = load_torch(f"{MODELS}:{name}")
    module = corpus.CORPUS[name]()
    shape = tuple(module.example_input().shape)
    assert [i.shape for i in graph.inputs] == [shape]
    xs = torch.randn((3,) + shape, generator=torch.Generator().manual_seed(1))
    ours = execute(graph, {graph.inputs[0].name: xs.numpy()})[graph.outputs[0]]
    with torch.no_grad():
        theirs = np.stack([module(x).numpy() for x in xs])
    scale = np.abs(theirs).max()
    assert scale > 1e-3 and theirs.std() > 1e-4 * scale  # a real, input-dependent output
    assert np.abs(ours - theirs).max() <= RELATIVE * scale


def test_the_corpus_holds_the_architectures_it_names() -> None:
    assert {"cifar_resnet18", "hf_resnet18", "hf_mobilenet_v2", "hf_efficientnet_b0", "hf_convnext_t", "hf_vit", "hf_swin",
            "hf_bert", "hf_gpt2", "hf_llama"} <= set(corpus.CORPUS)
    resnet = corpus.cifar_resnet18()
    assert sum(p.numel() for p in resnet.parameters()) == 11_173_962  # ResNet-18 on 32x32 images, 10 classes


def test_a_saved_hugging_face_model_folder_binds_to_the_corpus_model(tmp_path: Path) -> None:
    """`save_pretrained` writes the inner model's names; the corpus module holds it as `model`."""
    pytest.importorskip("transformers", reason="the hf_* corpus models need transformers (pip install transformers)")
    from pytorch2lean.checkpoints import read_checkpoint

    trained = corpus.randomized(corpus.hf_resnet18(), seed=1)
    trained.model.save_pretrained(tmp_path)
    loaded = read_checkpoint(load_torch(f"{MODELS}:hf_resnet18"), tmp_path)
    assert "reading model.safetensors" in loaded.note and "without their prefix 'model.'" in loaded.note
    xs = torch.randn((2,) + corpus.IMAGE, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        theirs = np.stack([trained(x).numpy() for x in xs])
    ours = execute(loaded.graph, {loaded.graph.inputs[0].name: xs.numpy()})[loaded.graph.outputs[0]]
    assert np.abs(ours - theirs).max() <= RELATIVE * np.abs(theirs).max()


@pytest.mark.lean
@pytest.mark.parametrize("name", ["hf_vit", "hf_llama"])
def test_corpus_model_checks_in_lean(name: str, tmp_path: Path) -> None:
    """Exported as users would export it, the Lean kernel accepts its well-formedness and output shapes."""
    pytest.importorskip("transformers", reason="the hf_* corpus models need transformers (pip install transformers)")
    from pytorch2lean.lean import export_project, lean_check
    from pytorch2lean.lean.emit import module_name
    from pytorch2lean.lean.toolchain import find_toolchain

    toolchain = find_toolchain()
    if toolchain is None:
        pytest.skip("no Lean toolchain (set PYTORCH2LEAN_LEAN or install one)")
    graph = load_torch(f"{MODELS}:{name}")
    result = lean_check(export_project(graph, tmp_path / name, checkpoint_sha256="random initialisation"), toolchain=toolchain)
    assert result.ok, result.report()
    for theorem in ("wellFormed", "outputShapes"):
        assert f"{module_name(graph.name)}.{theorem}" in result.axioms, result.report()
