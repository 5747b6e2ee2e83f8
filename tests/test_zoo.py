"""The model zoo (examples/zoo): PyTorch modules, their checkpoints and their DSL twins.

For every zoo model:
  * the graph of `load_torch`, rebound from the shipped `state_dict.pt` through the torch-free
    reader, computes what torch computes with the same state_dict: `runtime.execute` (float32)
    matches the module's forward within rtol = atol = 1e-4 on random inputs;
  * the DSL twin `model.p2l` is the same graph: bound with the torch graph's values, its digest
    equals the torch graph's digest (structure, names, order, attributes, shapes and bits);
  * the checkpoint binds bit for bit, is small, and `make_checkpoints.py` rewrites it byte for byte;
  * a renamed, missing, transposed or foreign tensor in a state_dict is refused, naming it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the model zoo is PyTorch code (pip install 'pytorch2lean[torch]')")

from pytorch2lean.checkpoints import bind, load_checkpoint, load_tensors  # noqa: E402
from pytorch2lean.errors import CheckpointError  # noqa: E402
from pytorch2lean.frontends.dsl import load_model  # noqa: E402
from pytorch2lean.frontends.torch_export import load_torch  # noqa: E402
from pytorch2lean.ir import Graph, digest  # noqa: E402
from pytorch2lean.runtime import execute  # noqa: E402

ZOO = Path(__file__).resolve().parents[1] / "examples" / "zoo"
NAMES = ("mlp", "cnn", "resnet_block", "vit_block", "gpt_block")
TOL = 1e-4
MAX_CHECKPOINT_BYTES = 200_000


def import_file(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def spec_of(name: str) -> str:
    return f"{ZOO / name / 'model.py'}:{name}"


def checkpoint(name: str) -> Path:
    return ZOO / name / "state_dict.pt"


def torch_model(name: str) -> torch.nn.Module:
    """The zoo module with the shipped state_dict loaded by torch itself."""
    module = getattr(import_file(ZOO / name / "model.py", f"zoo_test_{name}"), name)()
    module.load_state_dict(torch.load(checkpoint(name), weights_only=True))
    return module.eval()


@pytest.fixture(scope="module", params=NAMES)
def zoo(request: pytest.FixtureRequest) -> tuple[str, Graph, Graph]:
    """(name, graph as exported, graph rebound from the shipped state_dict)."""
    graph = load_torch(spec_of(request.param))
    return request.param, graph, load_checkpoint(graph, checkpoint(request.param))[0]


def test_matches_torch_forward_with_the_checkpoint(zoo: tuple[str, Graph, Graph]) -> None:
    name, _, bound = zoo
    module = torch_model(name)
    xs = torch.randn((8,) + bound.inputs[0].shape, generator=torch.Generator().manual_seed(7))
    ours = execute(bound, {bound.inputs[0].name: xs.numpy()})[bound.outputs[0]]
    with torch.no_grad():
        theirs = np.stack([module(x).numpy() for x in xs])
    np.testing.assert_allclose(ours, theirs, rtol=TOL, atol=TOL)


def test_dsl_twin_has_the_same_digest(zoo: tuple[str, Graph, Graph]) -> None:
    name, graph, _ = zoo
    twin = load_model(ZOO / name / "model.p2l")
    assert not twin.bound  # the DSL declares parameters; values come from a checkpoint
    values = {p.name: p.array for p in graph.params}
    assert digest(bind(twin, values, source="torch graph")) == digest(graph)


def test_checkpoint_binds_bit_for_bit(zoo: tuple[str, Graph, Graph]) -> None:
    name, graph, bound = zoo
    tensors = load_tensors(checkpoint(name))
    state = torch.load(checkpoint(name), weights_only=True)
    assert sorted(tensors) == sorted(state)
    constants = set(graph.constants)
    for p in bound.params:
        if p.name in constants:
            assert p.name not in state and p.data == graph.param(p.name).data
        else:
            assert p.data == state[p.name].numpy().astype("<f4").tobytes()
    assert [p.name for p in bound.params] == [p.name for p in graph.params]
    assert bound.params != graph.params  # the checkpoint is not the factory's initialization


def test_checkpoints_are_small_and_reproducible(tmp_path: Path) -> None:
    make = import_file(ZOO / "make_checkpoints.py", "zoo_make_checkpoints")
    assert tuple(make.SEEDS) == NAMES
    for name in NAMES:
        assert checkpoint(name).stat().st_size < MAX_CHECKPOINT_BYTES
        assert make.write_checkpoint(name, tmp_path).read_bytes() == checkpoint(name).read_bytes()


def _renamed(state: dict) -> dict:
    state["net.2.weights"] = state.pop("net.2.weight")
    return state


def _transposed(state: dict) -> dict:
    state["net.0.weight"] = state["net.0.weight"].t().contiguous()
    return state


@pytest.mark.parametrize("mutate, words", [
    (_renamed, r"no tensor for parameter\(s\) \['net.2.weight'\]"),
    (lambda s: {k: v for k, v in s.items() if k != "net.4.bias"}, r"no tensor for parameter\(s\) \['net.4.bias'\]"),
    (_transposed, r"parameter 'net.0.weight': looks transposed: checkpoint has \[8, 32\], model expects \[32, 8\]"),
    (lambda s: {**s, "net.9.weight": torch.zeros(2)}, r"tensor\(s\) \['net.9.weight'\] are not parameters"),
    (lambda s: {**s, "net.0.bias": s["net.0.bias"].double() / 3}, r"'net.0.bias': dtype float64 value .* is not exactly a float32"),
])
def test_mismatched_state_dict_is_refused_naming_the_tensor(tmp_path: Path, mutate, words: str) -> None:
    graph = load_torch(spec_of("mlp"))
    path = tmp_path / "state_dict.pt"
    torch.save(mutate(torch.load(checkpoint("mlp"), weights_only=True)), path)
    with pytest.raises(CheckpointError, match=words):
        load_checkpoint(graph, path)
