"""The causal attention-mask contract: the GPT block's export proves `CausalAttention` in Lean, the
Python twin agrees, and a non-causal mask or a mask added after the softmax makes both refuse."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytorch2lean.ir import Param, make_node, validate
from pytorch2lean.ir.graph import Graph
from pytorch2lean.lean import export_project, lean_check
from pytorch2lean.lean.causal import MASK_FLOOR, causal_attention, causal_mask_ok, causal_masks, mask_feeds_scores
from pytorch2lean.lean.toolchain import find_toolchain

TOOLCHAIN = find_toolchain()
needs_lean = pytest.mark.skipif(TOOLCHAIN is None, reason="no Lean toolchain (set PYTORCH2LEAN_LEAN or install one)")
ZOO = Path(__file__).resolve().parents[1] / "examples" / "zoo" / "gpt_block"
MASK = "scaled_dot_product_attention.mask"


def causal(length: int) -> np.ndarray:
    return np.where(np.triu(np.ones((length, length), dtype=bool), k=1), MASK_FLOOR, 0.0).astype(np.float32)


@pytest.fixture(scope="module")
def gpt() -> Graph:
    pytest.importorskip("torch", reason="the GPT block is a PyTorch factory")
    from pytorch2lean.model import load_model

    return load_model(f"{ZOO / 'model.py'}:gpt_block", ZOO / "state_dict.pt").graph


@pytest.fixture(scope="module")
def library_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "causal-lean-lib"


def with_mask(graph: Graph, values: np.ndarray) -> Graph:
    params = tuple(Param.of_array(MASK, values) if p.name == MASK else p for p in graph.params)
    return dataclasses.replace(graph, params=params)


def softmax_first(graph: Graph) -> Graph:
    """The mask added to the attention weights after the softmax instead of to the scores."""
    prefix = MASK.removesuffix(".mask")
    swap = {f"{prefix}.masked": make_node(f"{prefix}.weights", "softmax", [f"{prefix}.scaled"], {"axis": -1}),
            f"{prefix}.weights": make_node(f"{prefix}.masked", "add", [f"{prefix}.weights", MASK]),
            prefix: make_node(prefix, "matmul", [f"{prefix}.masked", "transpose_2"])}
    nodes = tuple(swap.get(n.id, n) for n in graph.nodes)
    return validate(dataclasses.replace(graph, nodes=tuple(dataclasses.replace(n, shape=None) for n in nodes)))


def test_the_gpt_block_has_one_causal_mask_and_the_twin_accepts_it(gpt: Graph) -> None:
    assert causal_masks(gpt) == (MASK,)
    assert causal_attention(gpt, MASK)


@given(st.integers(1, 9), st.data())
@settings(max_examples=40, deadline=None)
def test_any_changed_entry_breaks_the_mask(length: int, data: st.DataObject) -> None:
    mask = causal(length)
    assert causal_mask_ok(mask)
    i, j = data.draw(st.integers(0, length - 1)), data.draw(st.integers(0, length - 1))
    mask[i, j] = np.float32(-1.0) if j <= i else np.float32(-9.99e8)
    assert not causal_mask_ok(mask)


def test_the_twin_refuses_the_broken_variants(gpt: Graph) -> None:
    leaky = causal(8)
    leaky[2, 5] = 0.0
    assert not causal_attention(with_mask(gpt, leaky), MASK)
    assert not causal_attention(with_mask(gpt, np.zeros((8, 8), np.float32)), MASK)
    moved = softmax_first(gpt)
    assert causal_mask_ok(moved.param(MASK).array) and not mask_feeds_scores(moved, MASK)


@needs_lean
@pytest.mark.parametrize("variant", ["causal", "leaky", "after_softmax"])
def test_lean_proves_causal_attention_only_for_the_causal_mask(gpt: Graph, variant: str, tmp_path: Path,
                                                               library_cache: Path) -> None:
    leaky = causal(8)
    leaky[0, 7] = 0.0
    graph = {"causal": gpt, "leaky": with_mask(gpt, leaky), "after_softmax": softmax_first(gpt)}[variant]
    project = export_project(graph, tmp_path / variant, checkpoint_sha256="ab" * 32)
    lines = (project / "GptBlock" / "Theorems.lean").read_text().splitlines()
    statement = lines.index("theorem causalMask0 : CausalAttention graph params 16 8 :=") + 1
    result = lean_check(project, toolchain=TOOLCHAIN, library_cache=library_cache)
    assert result.ok == (variant == "causal"), result.report()
    assert ("GptBlock.causalMask0" in result.axioms) == (variant == "causal")
    assert {e.line for e in result.errors} <= {statement, statement + 1}, result.report()  # only this theorem fails
