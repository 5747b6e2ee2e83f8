"""The corpus of real architectures (examples/corpus/models.py): each lowers through the user's
path (`file.py:factory`), runs on the NumPy runtime, and matches torch eager on random inputs
(images; token ids, or token embeddings, for the text models) within 1e-4 of the output's scale.

The `hf_*` models need `transformers` (pip install transformers; it needs only torch) and skip
without it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch frontend needs torch (pip install 'pytorch2lean[torch]')")

from pytorch2lean.frontends.torch_export import load_torch  # noqa: E402
from pytorch2lean.ir import Graph  # noqa: E402
from pytorch2lean.runtime import execute  # noqa: E402

MODELS = Path(__file__).resolve().parents[1] / "examples" / "corpus" / "models.py"
_spec = importlib.util.spec_from_file_location("corpus_models", MODELS)
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)

RELATIVE = 1e-4
TOKENS = ["hf_bert_tokens", "hf_distilbert_tokens", "hf_gpt2_tokens", "hf_llama_tokens"]


def random_inputs(graph: Graph, count: int, seed: int) -> Any:
    """`count` random samples of the model's input: normal floats, or token ids drawn from its whole id range."""
    spec, g = graph.inputs[0], torch.Generator().manual_seed(seed)
    if spec.ids:
        return torch.randint(*spec.id_range, (count,) + spec.shape, generator=g)
    return torch.randn((count,) + spec.shape, generator=g)


@pytest.mark.parametrize("name", sorted(corpus.CORPUS))
def test_corpus_model_lowers_runs_and_matches_torch(name: str) -> None:
    if name.startswith("hf_"):
        pytest.importorskip("transformers", reason="the hf_* corpus models need transformers (pip install transformers)")
    graph = load_torch(f"{MODELS}:{name}")
    module = corpus.CORPUS[name]()
    example = module.example_input()
    assert [(i.shape, i.dtype) for i in graph.inputs] == [(tuple(example.shape), str(example.dtype).removeprefix("torch."))]
    xs = random_inputs(graph, 3, 1)
    ours = execute(graph, {graph.inputs[0].name: xs.numpy()})[graph.outputs[0]]
    with torch.no_grad():
        theirs = np.stack([module(x).numpy() for x in xs])
    scale = np.abs(theirs).max()
    assert scale > 1e-3 and theirs.std() > 1e-4 * scale  # a real, input-dependent output
    assert np.abs(ours - theirs).max() <= RELATIVE * scale


def test_the_corpus_holds_the_architectures_it_names() -> None:
    assert {"cifar_resnet18", "densenet121", "mobilenet_v3_small", "hf_resnet18", "hf_mobilenet_v2",
            "hf_efficientnet_b0", "hf_convnext_t", "hf_vit", "hf_swin", "hf_bert", "hf_gpt2", "hf_llama",
            *TOKENS} <= set(corpus.CORPUS)


def test_the_torchvision_definitions_at_full_size_have_torchvision_s_parameter_counts() -> None:
    """Written out by hand (the torchvision wheel does not load here), DenseNet and MobileNetV3 at
    torchvision's own settings and 1000 classes have the parameter counts torchvision documents for
    densenet121 and mobilenet_v3_small: one layer too many or a width rounded otherwise would change them."""
    def count(module: Any) -> int:
        return sum(p.numel() for p in module.parameters())

    assert count(corpus.DenseNet(classes=1000)) == 7_978_856
    assert count(corpus.MobileNetV3(corpus.MOBILENET_V3_SMALL, classes=1000)) == 2_542_856


@pytest.mark.parametrize("name", TOKENS)
def test_text_models_from_token_ids_are_their_lookup_then_the_model_from_embeddings(name: str) -> None:
    """The ids input has the vocabulary as its range and feeds one lookup of the word table; after
    the lookup the graph computes what the same weights compute from `inputs_embeds`."""
    pytest.importorskip("transformers", reason="the hf_* corpus models need transformers (pip install transformers)")
    from pytorch2lean.ir.embeddings import after_lookups, lookup_nodes, lookups

    graph = load_torch(f"{MODELS}:{name}")
    embeddings = corpus.CORPUS[name.removesuffix("_tokens")]()
    vocab = embeddings.model.config.vocab_size
    assert [(i.dtype, i.id_range) for i in graph.inputs] == [("int64", (0, vocab))]
    assert [n.op for n in lookup_nodes(graph)] == ["embedding"]
    ids = random_inputs(graph, 2, 3).numpy()
    rest, point = after_lookups(graph), lookups(graph, {"ids": ids})
    np.testing.assert_array_equal(point[lookup_nodes(graph)[0].id], embeddings.model.get_input_embeddings()(
        torch.from_numpy(ids)).detach().numpy())
    ours = execute(rest, point)[rest.outputs[0]]
    with torch.no_grad():
        theirs = np.stack([embeddings(torch.from_numpy(e)).numpy() for e in point[rest.inputs[0].name]])
    assert np.abs(ours - theirs).max() <= RELATIVE * np.abs(theirs).max()
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


@pytest.mark.parametrize("name", ["hf_gpt2_tokens", "hf_llama_tokens"])
def test_later_token_ids_leave_earlier_outputs_bit_identical(name: str) -> None:
    """What `causalDeps` of these exports rests on, tested (TRUST.md): the analysis' claim that
    output position i depends on no id after i, on the runtime, for every i."""
    pytest.importorskip("transformers", reason="the hf_* corpus models need transformers (pip install transformers)")
    from pytorch2lean.lean.causal import causal_deps, sequence_contract

    graph = load_torch(f"{MODELS}:{name}")
    assert sequence_contract(graph) is not None and causal_deps(graph, sequence_contract(graph))
    ids = random_inputs(graph, 1, 4).numpy()
    base = execute(graph, {"ids": ids})[graph.outputs[0]]
    length = graph.inputs[0].shape[-1]
    for i in range(length - 1):
        changed = ids.copy()
        changed[..., i + 1:] = (changed[..., i + 1:] + 1 + i) % graph.inputs[0].id_range[1]
        out = execute(graph, {"ids": changed})[graph.outputs[0]]
        assert np.array_equal(out[:, :, :i + 1], base[:, :, :i + 1]) and not np.array_equal(out, base)


@pytest.mark.lean
@pytest.mark.parametrize("name", ["hf_vit", "hf_bert_tokens", "hf_gpt2_tokens", "hf_llama_tokens"])
def test_corpus_model_checks_in_lean(name: str, tmp_path: Path) -> None:
    """Exported as users would export it, the Lean kernel accepts its well-formedness and output shapes;
    GPT-2 and Llama (their boolean masks are the lower triangle) also their position dependencies."""
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
    causal = ("causalDeps",) if name in ("hf_gpt2_tokens", "hf_llama_tokens") else ()
    for theorem in ("wellFormed", "outputShapes", *causal):
        assert f"{module_name(graph.name)}.{theorem}" in result.axioms, result.report()
    assert any(a.endswith(".causalDeps") for a in result.axioms) == bool(causal)
