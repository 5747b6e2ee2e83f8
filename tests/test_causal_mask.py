"""Causality of sequence models: the position-dependency analysis (`Causal.lean`, twin `lean/causal.py`).

* the GPT block passes, in the twin and (through its export, `test_zoo_lean`) in Lean; its
  non-causal variants fail in both: no mask (plain softmax), an upper-triangular mask, the all-ones
  mask, the mask applied to the wrong axis (the transposed scores), and a causal mask in a graph
  that also mixes positions elsewhere (a mean over the sequence axis);
* the Lean checker and the twin compute the same masks and verdicts, on a small causal attention
  block, its variants and random graphs;
* what the Lean side does not prove (that the analysis over-approximates the real dependencies) is
  tested on the runtime: changing the GPT block's inputs at positions > i leaves its float32
  outputs at positions <= i bit-identical, for every i (and not so without the mask), and on random
  graphs of the covered ops every dependency a perturbation probe finds is in the twin's masks.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytorch2lean.frontends.dsl import load_model as load_dsl
from pytorch2lean.ir import Input, Param, make_node, validate
from pytorch2lean.ir.graph import CONSTANTS_KEY, Graph, Node
from pytorch2lean.lean import export_project, lean_check
from pytorch2lean.lean.causal import Contract, causal_deps, causal_masks, dependency_masks, sequence_contract
from pytorch2lean.lean.encode import list_literal, shape_literal
from pytorch2lean.lean.toolchain import find_toolchain
from pytorch2lean.runtime import execute
from tests.test_lean_twins import graph_term, lean_ok, packed_list

TOOLCHAIN = find_toolchain()
needs_lean = pytest.mark.skipif(TOOLCHAIN is None, reason="no Lean toolchain (set PYTORCH2LEAN_LEAN or install one)")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
GPT = EXAMPLES / "zoo" / "gpt_block"
SDPA = "scaled_dot_product_attention"
MASK = f"{SDPA}.mask"
SEQ = Contract(0, 1, 1)


@pytest.fixture(scope="module")
def gpt() -> Graph:
    pytest.importorskip("torch", reason="the GPT block is a PyTorch factory")
    from pytorch2lean.model import load_model

    return load_model(f"{GPT / 'model.py'}:gpt_block", GPT / "state_dict.pt").graph


# ---- graph surgery --------------------------------------------------------------------------

def rebuilt(graph: Graph, nodes: list[Node], params: tuple[Param, ...] | None = None) -> Graph:
    """`graph` with these nodes (shapes re-inferred) and parameters, constants still listed."""
    params = graph.params if params is None else params
    constants = " ".join(c for c in graph.constants if c in {p.name for p in params})
    metadata = tuple((k, v) for k, v in graph.metadata if k != CONSTANTS_KEY) + ((CONSTANTS_KEY, constants),)
    return validate(dataclasses.replace(graph, params=params, metadata=metadata,
                                        nodes=tuple(dataclasses.replace(n, shape=None) for n in nodes)))


def with_mask(graph: Graph, values: Callable[[int], np.ndarray]) -> Graph:
    """The causal mask's values replaced by `values(length)`."""
    mask = causal_masks(graph)[0]
    new = Param.of_array(mask, values(graph.param(mask).shape[0]))
    return dataclasses.replace(graph, params=tuple(new if p.name == mask else p for p in graph.params))


def plain_softmax(graph: Graph, prefix: str = SDPA) -> Graph:
    """The masked softmax replaced by a plain one (the mask dropped)."""
    nodes = [make_node(n.id, "softmax", n.inputs[:1], {"axis": -1}) if n.op == "masked_softmax" else n for n in graph.nodes]
    mask = next(n.inputs[1] for n in graph.nodes if n.op == "masked_softmax")
    return rebuilt(graph, nodes, tuple(p for p in graph.params if p.name != mask))


def wrong_axis(graph: Graph) -> Graph:
    """The masked softmax taken over the query axis (of the transposed scores, transposed back):
    query i then attends to the keys j >= i."""
    nodes = []
    for n in graph.nodes:
        if n.op == "masked_softmax":
            perm = {"perm": (0, 1, 3, 2) if len(n.shape) == 4 else (0, 2, 1)}
            nodes += [make_node(f"{n.id}.t", "transpose", n.inputs[:1], perm),
                      make_node(f"{n.id}.q", "masked_softmax", (f"{n.id}.t", n.inputs[1]))]
            n = make_node(n.id, "transpose", [f"{n.id}.q"], perm)
        nodes.append(n)
    return rebuilt(graph, nodes)


def mean_over_tokens(graph: Graph) -> Graph:
    """A causal mask, but the output also gets the mean over the sequence axis of its input."""
    out = graph.outputs[0]
    length = graph.inputs[0].shape[1]
    x = graph.inputs[0].name
    nodes = list(graph.nodes) + [
        make_node("tokens_t", "transpose", [x], {"perm": (0, 2, 1)}),
        make_node("tokens_mean", "linear", ["tokens_t", "mean_w"]),
        make_node("tokens_back", "transpose", ["tokens_mean"], {"perm": (0, 2, 1)}),
        make_node("mixed", "add", [out, "tokens_back"]),
    ]
    width = graph.shapes()[out][-1]
    mean = Param.of_array("mean_w", np.full((length, length), 1 / length, np.float32))
    graph = dataclasses.replace(graph, outputs=("mixed",))
    if width != graph.inputs[0].shape[2]:  # the GPT block's output has the vocabulary's width
        nodes.insert(-1, make_node("tokens_proj", "linear", ["tokens_back", "mean_p"]))
        nodes[-1] = make_node("mixed", "add", [out, "tokens_proj"])
        proj = Param.of_array("mean_p", np.ones((width, graph.inputs[0].shape[2]), np.float32))
        return rebuilt(graph, nodes, graph.params + (mean, proj))
    return rebuilt(graph, nodes, graph.params + (mean,))


def causal_values(length: int) -> np.ndarray:
    return np.tril(np.ones((length, length), np.float32))


VARIANTS: dict[str, Callable[[Graph], Graph]] = {
    "no_mask": plain_softmax,
    "upper_triangular": lambda g: with_mask(g, lambda n: causal_values(n).T.copy()),
    "all_ones": lambda g: with_mask(g, lambda n: np.ones((n, n), np.float32)),
    "wrong_axis": wrong_axis,
    "mean_over_tokens": mean_over_tokens,
}


# ---- the GPT block in the twin ----------------------------------------------------------------

def test_the_gpt_block_is_causal_position_by_position(gpt: Graph) -> None:
    assert causal_masks(gpt) == (MASK,) and sequence_contract(gpt) == SEQ
    assert causal_deps(gpt, SEQ)
    out = dependency_masks(gpt, 0, 1)[gpt.outputs[0]]
    prefixes = np.array([(2 << i) - 1 for i in range(8)], dtype=object)  # position i: exactly positions 0..i
    assert (out == prefixes[None, :, None]).all()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_non_causal_variants_fail_in_the_twin(gpt: Graph, variant: str) -> None:
    assert not causal_deps(VARIANTS[variant](gpt), SEQ)


def test_the_contract_needs_the_input_and_axes_to_exist(gpt: Graph) -> None:
    assert not causal_deps(gpt, Contract(1, 1, 1)) and not causal_deps(gpt, Contract(0, 3, 1))
    assert not causal_deps(gpt, Contract(0, 1, 3))


# ---- the runtime: what the analysis claims holds bit for bit ----------------------------------

def run(graph: Graph, x: np.ndarray) -> np.ndarray:
    return execute(graph, {graph.inputs[0].name: x[None]})[graph.outputs[0]][0]


def test_later_inputs_leave_earlier_outputs_bit_identical(gpt: Graph) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 8, 32)).astype(np.float32)
    base = run(gpt, x)
    leaky = plain_softmax(gpt)
    leaky_base = run(leaky, x)
    for i in range(7):
        moved = x.copy()
        moved[:, i + 1:] = rng.standard_normal(moved[:, i + 1:].shape) * 10
        assert np.array_equal(run(gpt, moved)[:, :i + 1], base[:, :i + 1]), i
        assert not np.array_equal(run(gpt, moved)[:, i + 1:], base[:, i + 1:]), i
        assert not np.array_equal(run(leaky, moved)[:, :i + 1], leaky_base[:, :i + 1]), i


# ---- random graphs of the covered ops: the twin contains what a perturbation probe finds -------

T, D = 4, 3

STEPS = ("linear", "relu", "gelu", "residual", "product", "softmax_features", "softmax_tokens", "layernorm",
         "attention", "shift", "token_mix", "concat", "reshape", "transpose_tail")


def random_graph(steps: list[str], seed: int) -> Graph:
    """A chain of the given steps on x (1, T, D); random weights and 0/1 masks (no row of a mask is all 0)."""
    rng = np.random.default_rng(seed)
    params: list[Param] = []
    nodes: list[Node] = []
    h, seen = "x", ["x"]

    def param(shape: tuple[int, ...], values: np.ndarray | None = None) -> str:
        name = f"p{len(params)}"
        params.append(Param.of_array(name, rng.standard_normal(shape).astype(np.float32) if values is None else values))
        return name

    def node(op: str, inputs: list[str], attrs: dict | None = None) -> str:
        name = f"n{len(nodes)}"
        nodes.append(make_node(name, op, inputs, attrs or {}))
        return name

    for step in steps:
        if step == "linear":
            h = node("linear", [h, param((D, D)), param((D,))])
        elif step in ("relu", "gelu"):
            h = node(step, [h])
        elif step in ("residual", "product"):
            h = node("add" if step == "residual" else "mul", [h, seen[rng.integers(len(seen))]])
        elif step in ("softmax_features", "softmax_tokens"):
            h = node("softmax", [h], {"axis": -1 if step == "softmax_features" else 1})
        elif step == "layernorm":
            h = node("layernorm", [h, param((D,)), param((D,))])
        elif step == "attention":
            keep = (rng.random((T, T)) < 0.5).astype(np.float32)
            keep[np.arange(T), rng.integers(0, T, T)] = 1
            scores = node("matmul", [h, node("transpose", [h], {"perm": (0, 2, 1)})])
            h = node("matmul", [node("masked_softmax", [scores, param((T, T), keep)]), h])
        elif step == "shift":  # position i gets position i - 1 (a constant at 0)
            cut = node("slice", [h], {"starts": (0,), "ends": (T - 1,), "axes": (1,), "steps": (1,)})
            h = node("pad", [cut], {"pads": (0, 1, 0, 0, 0, 0), "value": 0.5})
        elif step == "token_mix":
            mixed = node("linear", [node("transpose", [h], {"perm": (0, 2, 1)}), param((T, T))])
            h = node("transpose", [mixed], {"perm": (0, 2, 1)})
        elif step == "concat":
            both = node("concat", [h, seen[rng.integers(len(seen))]], {"axis": 2})
            h = node("linear", [both, param((D, 2 * D))])
        elif step == "reshape":
            h = node("reshape", [node("flatten", [h], {"axis": 1})], {"shape": (1, T, D)})
        elif step == "transpose_tail":  # swap within the feature axis order via (1, D, T) and back
            h = node("transpose", [node("transpose", [h], {"perm": (0, 2, 1)})], {"perm": (0, 2, 1)})
        seen.append(h)
    return validate(Graph("random", (Input("x", (1, T, D)),), tuple(params), tuple(nodes), (h,)))


def probed_dependencies(graph: Graph, seed: int) -> np.ndarray:
    """Bit p of entry e: changing the input at position p (only) changed output e, in some of a few trials."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, T, D)).astype(np.float32)
    base = run(graph, x)
    found = np.zeros(base.shape, dtype=object)
    for p in range(T):
        for _ in range(3):
            moved = x.copy()
            moved[:, p] = rng.standard_normal((1, D)) * 3
            found |= np.where(run(graph, moved) != base, 1 << p, 0).astype(object)
    return found


GRAPHS = st.tuples(st.lists(st.sampled_from(STEPS), min_size=1, max_size=6), st.integers(0, 2**16))


@given(GRAPHS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_twin_contains_every_dependency_a_probe_finds(case: tuple[list[str], int]) -> None:
    steps, seed = case
    graph = random_graph(steps, seed)
    masks = dependency_masks(graph, 0, 1)[graph.outputs[0]]
    found = probed_dependencies(graph, seed)
    assert ((found & ~masks) == 0).all(), (steps, found, masks)


def test_the_probe_and_the_twin_see_the_shift_and_the_mask() -> None:
    """Not vacuous: a shift moves each position's dependency one place on, found by both."""
    graph = random_graph(["shift", "linear"], 1)
    masks = dependency_masks(graph, 0, 1)[graph.outputs[0]]
    expected = np.array([0, 1, 2, 4], dtype=object)[None, :, None]
    assert (masks == expected).all() and (probed_dependencies(graph, 1) == expected).all()


# ---- Lean agrees with the twin ----------------------------------------------------------------

def small_block() -> Graph:
    """examples/attention made causal: its softmax becomes a masked softmax with the 4 x 4 lower triangle."""
    graph = load_dsl(EXAMPLES / "attention" / "model.p2l")
    rng = np.random.default_rng(3)
    graph = dataclasses.replace(graph, params=tuple(Param.of_array(p.name, rng.standard_normal(p.shape).astype(np.float32))
                                                    for p in graph.params))
    nodes = [make_node(n.id, "masked_softmax", (n.inputs[0], "attn.mask")) if n.op == "softmax" else n for n in graph.nodes]
    params = graph.params + (Param.of_array("attn.mask", causal_values(4)),)
    return rebuilt(dataclasses.replace(graph, metadata=((CONSTANTS_KEY, "attn.mask"),)), nodes, params)


def lean_case(k: int, graph: Graph) -> list[str]:
    """The Lean checker's masks and verdict on `graph` must be the twin's."""
    masks = dependency_masks(graph, 0, 1)
    outs = "[" + ", ".join(list_literal([str(v) for v in masks[o].reshape(-1)]) for o in graph.outputs) + "]"
    shapes = "[" + ", ".join(shape_literal(masks[o].shape) for o in graph.outputs) + "]"
    verdict = str(causal_deps(graph, SEQ)).lower()
    return [f"namespace C{k}", f"def g : Graph := {graph_term(graph)}",
            f"def P : List (List Q) := {packed_list([p.array for p in graph.params])}",
            f"example : (depOutputs g P 0 1).map (fun l => l.map (fun t => t.2)) = some {outs} := by decide +kernel",
            f"example : (depOutputs g P 0 1).map (fun l => l.map (fun t => t.1)) = some {shapes} := by decide +kernel",
            f"example : checkCausalDeps g P 0 1 1 = {verdict} := by decide +kernel", f"end C{k}"]


@needs_lean
def test_lean_and_the_twin_agree(tmp_path_factory: pytest.TempPathFactory) -> None:
    block = small_block()
    assert causal_deps(block, SEQ) and sequence_contract(block) == SEQ
    graphs = [block] + [VARIANTS[v](block) for v in sorted(VARIANTS)]
    assert [causal_deps(g, SEQ) for g in graphs] == [True] + [False] * len(VARIANTS)
    rng = np.random.default_rng(5)
    graphs += [random_graph(list(rng.choice(STEPS, 4)), k) for k in range(6)] + [random_graph(list(STEPS), 9)]
    body = "\n".join(line for k, g in enumerate(graphs) for line in lean_case(k, g))
    lean_ok(tmp_path_factory.getbasetemp() / "causal-lean-ws", body + "\n")


@needs_lean
def test_lean_refuses_the_gpt_block_with_an_all_ones_mask(gpt: Graph, tmp_path: Path) -> None:
    """Only the causality theorem fails; the export of the causal block is checked by test_zoo_lean."""
    project = export_project(VARIANTS["all_ones"](gpt), tmp_path / "ones", checkpoint_sha256="ab" * 32)
    lines = (project / "GptBlock" / "Theorems.lean").read_text().splitlines()
    statement = lines.index("theorem causalDeps : CausalDeps graph params 0 1 1 :=") + 1
    result = lean_check(project, toolchain=TOOLCHAIN, library_cache=tmp_path / "lib")
    assert not result.ok and "GptBlock.causalDeps" not in result.axioms
    assert {e.line for e in result.errors} <= {statement, statement + 1}, result.report()
