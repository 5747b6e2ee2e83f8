"""Exported Lake projects: they check, a flipped weight bit or a rewired edge makes them fail,
the text is pinned and deterministic, and user mistakes get one clear error."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from pytorch2lean.errors import UserError
from pytorch2lean.ir import Param, make_node, validate
from pytorch2lean.ir.graph import Graph, Input
from pytorch2lean.lean import export_project, lean_check
from pytorch2lean.lean.toolchain import find_toolchain

TOOLCHAIN = find_toolchain()
needs_lean = pytest.mark.skipif(TOOLCHAIN is None, reason="no Lean toolchain (set PYTORCH2LEAN_LEAN or install one)")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SHA = "ab" * 32
THEOREMS = {"wellFormed", "outputShapes", "paramsDecode", "example0"}


def small_graph() -> Graph:
    """y = linear(x); a = relu(y); m = a * c (broadcast); out = m - y."""
    rng = np.random.default_rng(7)
    params = (Param.of_array("w", rng.standard_normal((3, 4)).astype(np.float32)),
              Param.of_array("b", rng.standard_normal(3).astype(np.float32)),
              Param.of_array("c", np.array([0.5, -2.0, 3.25], np.float32)))
    nodes = (make_node("y", "linear", ["x", "w", "b"]), make_node("a", "relu", ["y"]),
             make_node("m", "mul", ["a", "c"]), make_node("out", "sub", ["m", "y"]))
    return validate(Graph("small net", (Input("x", (1, 4)),), params, nodes, ("out",)))


def tiny_graph() -> Graph:
    w = np.array([[1.5, -0.25], [0.0, 2.0]], np.float32)
    return validate(Graph("tiny", (Input("x", (2,)),), (Param.of_array("w", w),),
                          (make_node("h", "matmul", ["w", "x"]), make_node("r", "relu", ["h"])), ("r",)))


@pytest.fixture(scope="module")
def library_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "lean-lib"


def check(project: Path, library_cache: Path):
    return lean_check(project, toolchain=TOOLCHAIN, library_cache=library_cache)


def export_small(out: Path) -> Path:
    return export_project(small_graph(), out, checkpoint_sha256=SHA, examples=[np.ones((1, 4), np.float32)])


def edit(path: Path, pattern: str, replace) -> None:
    """Apply one regex substitution to a file; the pattern must match."""
    text = path.read_text()
    new, count = re.subn(pattern, replace, text, count=1)
    assert count == 1, f"{pattern!r} not found in {path}"
    path.write_text(new)


@needs_lean
def test_small_graph_checks(tmp_path: Path, library_cache: Path) -> None:
    result = check(export_small(tmp_path / "p"), library_cache)
    assert result.ok, result.report()
    assert {t.split(".")[-1] for t in result.axioms} == THEOREMS
    assert all(set(a) <= {"propext", "Quot.sound", "Classical.choice"} for a in result.axioms.values())
    assert "SmallNet.Theorems" in result.report()


def flip_low_bit(m: re.Match) -> str:
    return m[1] + format(int(m[2], 16) ^ 1, "x") + "\n"


MUTATIONS = {
    # element 0 of the weight loses its lowest mantissa bit: the example output changes
    "flipped_weight_bit": (r"(def p0 : Nat := 0x[0-9a-f]*)([0-9a-f])\n", flip_low_bit, "example0"),
    # out = m - y becomes out = y - y: still well-formed, but the example output is wrong
    "rewired_edge": (r"⟨\.sub, \[6, 4\]", "⟨.sub, [4, 4]", "example0"),
    # relu reads node 7, which comes after it: not well-formed (the one structural evaluation fails)
    "edge_to_a_later_node": (r"⟨\.relu, \[4\]", "⟨.relu, [7]", "outputShapes"),
}


def theorem_at(path: Path, line: int) -> str:
    """The theorem whose statement or proof holds `line`."""
    heads = [(k, ln.split()[1]) for k, ln in enumerate(path.read_text().splitlines(), 1) if ln.startswith("theorem ")]
    return max((k, name) for k, name in heads if k <= line)[1]


@needs_lean
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_mutated_export_fails(tmp_path: Path, library_cache: Path, mutation: str) -> None:
    pattern, replacement, theorem = MUTATIONS[mutation]
    project = export_small(tmp_path / "p")
    edit(project / "SmallNet" / "Model.lean", pattern, replacement)
    result = check(project, library_cache)
    assert not result.ok
    theorems = project / "SmallNet" / "Theorems.lean"
    assert theorem in {theorem_at(theorems, e.line) for e in result.errors if e.file.endswith("Theorems.lean")}, result.report()


@needs_lean
@pytest.mark.skipif(not (EXAMPLES / "mlp" / "model.p2l").exists(), reason="examples/mlp not written yet")
def test_mlp_example_checks(tmp_path: Path, library_cache: Path) -> None:
    from pytorch2lean.model import load_model

    loaded = load_model(EXAMPLES / "mlp" / "model.p2l", EXAMPLES / "mlp" / "weights.npz")
    project = export_project(loaded.graph, tmp_path / "mlp", checkpoint_sha256=loaded.checkpoint_sha256 or "",
                             examples=[np.load(EXAMPLES / "mlp" / "x.npy")])
    result = check(project, library_cache)
    assert result.ok, result.report()
    assert loaded.checkpoint_sha256 in (project / "Mlp" / "Model.lean").read_text()


@needs_lean
def test_graph_without_exact_meaning_checks_without_examples(tmp_path: Path, library_cache: Path) -> None:
    g = validate(Graph("soft", (Input("x", (2, 3)),), (), (make_node("s", "softmax", ["x"]),), ("s",)))
    project = export_project(g, tmp_path / "soft", checkpoint_sha256=SHA, examples=[np.zeros((2, 3), np.float32)])
    assert "theorem example" not in (project / "Soft" / "Theorems.lean").read_text()
    result = check(project, library_cache)
    assert result.ok, result.report()


def test_export_is_deterministic(tmp_path: Path) -> None:
    a = export_small(tmp_path / "a")
    b = export_small(tmp_path / "b")
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def test_unbound_graph_is_refused(tmp_path: Path) -> None:
    g = small_graph()
    unbound = Graph(g.name, g.inputs, tuple(Param(p.name, p.shape) for p in g.params), g.nodes, g.outputs)
    with pytest.raises(UserError, match="parameter 'w' has no value"):
        export_project(unbound, tmp_path / "u", checkpoint_sha256=SHA)


def test_example_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"example 0: input 'x' must have shape \[1, 4\], got \[4\]"):
        export_project(small_graph(), tmp_path / "e", checkpoint_sha256=SHA, examples=[np.ones(4, np.float32)])


def test_standalone_project_vendors_the_library(tmp_path: Path) -> None:
    project = export_project(tiny_graph(), tmp_path / "t", checkpoint_sha256=SHA, standalone=True)
    assert (project / "Pytorch2Lean.lean").is_file() and (project / "Pytorch2Lean" / "Denote.lean").is_file()
    assert "require" not in (project / "lakefile.lean").read_text()


GOLDEN_MODEL = '''\
/-
Model `tiny`, exported by pytorch2lean 0.1.0.

IR digest (sha256 of the canonical IR JSON): {digest}
checkpoint sha256:                           {sha}

The value table of the graph lists the inputs, then the parameters, then the nodes; a node names
its operands by their index in it. Each parameter is one natural number holding its float32
bit patterns, element `i` (row-major) in bits `32 i` to `32 i + 31`, exactly as the checkpoint
stores them.
-/
import Pytorch2Lean

namespace Tiny
open Pytorch2Lean

-- Nothing here runs as compiled code: the kernel evaluates these definitions.
noncomputable section

/-- The graph of `tiny`: 1 input(s), 1 parameter(s), 2 node(s). -/
def graph : Graph where
  inputs := [
    [2]  -- 0: input x
  ]
  params := concatLists [
    [
      [2, 2]  -- 1: param w
    ]
  ]
  nodes := concatLists [
    [
      -- 2: h = matmul(w [2, 2], x [2]) : [2]
      ⟨.matmul, [1, 0], [], [2]⟩,
      -- 3: r = relu(h [2]) : [2]
      ⟨.relu, [2], [], [2]⟩
    ]
  ]
  outputs := [3]  -- r

/-- Parameter `w` [2, 2]: 4 float32 values. -/
noncomputable def p0 : Nat := 0x4000000000000000be8000003fc00000

/-- Every parameter literal with its number of elements, in value-table order. -/
def packedParams : List (Nat × Nat) := concatLists [[(p0, 4)]]

/-- The exact parameter values (`paramsDecode`, in `Params.lean`, shows that every literal decodes). -/
def params : List (List Q) := (decodeAll packedParams).getD []

end

end Tiny
'''

GOLDEN_THEOREMS = '''\
/-
Theorems about model `tiny` (IR digest {digest}),
each proved by evaluation in the Lean kernel; `paramsDecode` (every parameter literal decodes) is
in `Params.lean`. `wellFormed` and `outputShapes` read the graph's shapes only, no parameter value.
-/
import Tiny.Model
import Tiny.Params

namespace Tiny
open Pytorch2Lean

noncomputable section

/-- The graph is well-formed and its output shapes are [[2]] (one kernel evaluation, of
`inferShapesFast`: `inferShapes` with the value table as a balanced tree). -/
theorem outputShapes : HasShapes graph [[2]] :=
  inferShapesFast_sound graph _ (by decide +kernel)

/-- The graph is well-formed: operands are earlier values, arities, attributes and shapes fit. -/
theorem wellFormed : WellFormed graph := outputShapes.1

/-- Example 0: the float32 input(s). -/
def input0 : List (List Q) :=
  (decodeAll [(0xc00000003f800000, 2)]).getD []

/-- Example 0: the exact output(s), as computed by `pytorch2lean.runtime.evaluate_exact`. -/
def output0 : List (List Q) := [
  [⟨false, 2, 1⟩, ⟨false, 0, 1⟩]
  ]

/-- Example 0: the network maps `input0` to exactly `output0`. -/
theorem example0 : ∀ E, denote E graph params input0 = some output0 :=
  checkExample_sound graph params input0 output0 (by decide +kernel)

end

end Tiny
'''

GOLDEN_PARAMS = '''\
/-
Parameter decoding for model `tiny` (IR digest {digest}).

`paramsDecode`: every parameter literal of `Model.lean` holds finite float32 values, as many as its
shape has. Each tensor is checked by its own kernel evaluations, a big one in pieces (the halves
`allWordsSplit` makes, joined by `allWordsSplit_halves`), so no evaluation checks more than
4 values. The structural theorems
(`Theorems.lean`) decode nothing.
-/
import Tiny.Model

namespace Tiny
open Pytorch2Lean

-- One declaration at a time: elaborated side by side, each would hold its evaluation's memory.
set_option Elab.async false

theorem p0_ok : tensorOk p0 4 = true :=
  tensorOk_of p0 4 (by decide +kernel) (allWordsSplit_of_rec (by decide +kernel))

-- The proof nests one `packedOk_cons` per parameter: room for the elaborator's recursion.
set_option maxRecDepth 528 in
/-- Every parameter literal holds finite float32 values, as many as its declared shape. -/
theorem paramsDecode : checkParams graph packedParams = true :=
  packedOk_cons [2, 2] p0 4 rfl p0_ok <|
  packedOk_nil

end Tiny
'''


def test_golden_tiny_model(tmp_path: Path) -> None:
    from pytorch2lean.ir import digest

    g = tiny_graph()
    project = export_project(g, tmp_path / "t", checkpoint_sha256=SHA, examples=[np.array([1.0, -2.0], np.float32)],
                             standalone=True)
    fill = {"digest": digest(g), "sha": SHA}
    assert (project / "Tiny" / "Model.lean").read_text() == GOLDEN_MODEL.format(**fill)
    assert (project / "Tiny" / "Params.lean").read_text() == GOLDEN_PARAMS.format(**fill)
    assert (project / "Tiny" / "Theorems.lean").read_text() == GOLDEN_THEOREMS.format(**fill)
    assert (project / "Check.lean").read_text().splitlines()[3:] == [
        f"#print axioms Tiny.{t}" for t in ("wellFormed", "outputShapes", "paramsDecode", "example0")]
    assert (project / "lean-toolchain").read_text() == "leanprover/lean4:v4.35.0\n"
