"""Parameter decoding in pieces: `Params.lean` proves `paramsDecode` from one theorem per tensor, a
tensor of more than `PIECE_WORDS` values from one per piece of the halving `allWordsSplit` makes, so
no kernel evaluation holds more than one piece and `Theorems.lean` (well-formedness, shapes) decodes
nothing. The Python twin of the halving (`piece_words`) says which piece theorem a bad word fails.
Big models' times are measured by `benchmarks/bench_corpus.py --lean`, not here."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from pytorch2lean.ir import Param, make_node, validate
from pytorch2lean.ir.graph import Graph, Input
from pytorch2lean.lean import encode, export_project, lean_check
from pytorch2lean.lean.encode import ParamLiteral, decode_parts, decode_plan, packed_f32, packed_literal, piece_words
from pytorch2lean.lean.toolchain import find_toolchain

TOOLCHAIN = find_toolchain()
needs_lean = pytest.mark.skipif(TOOLCHAIN is None, reason="no Lean toolchain (set PYTORCH2LEAN_LEAN or install one)")
SIZE, LIMIT = 300, 100  # pieces of 75 words: 300 -> 150 + 150 -> 4 x 75


def graph(size: int = SIZE) -> Graph:
    """out = x + c, and a small second parameter d (one theorem, no pieces)."""
    rng = np.random.default_rng(size)
    c, d = rng.standard_normal(size).astype(np.float32), np.array([0.5], np.float32)
    return validate(Graph("pieces", (Input("x", (size,)),), (Param.of_array("c", c), Param.of_array("d", d)),
                          (make_node("s", "add", ["x", "c"]), make_node("out", "mul", ["s", "d"])), ("out",)))


def literal(count: int) -> ParamLiteral:
    return ParamLiteral(1, "c", "p0", (count,), count, "0x0")


@pytest.mark.parametrize("count", [1, 64, 65, 100, 101, 300, 777, 4096, 5000])
@pytest.mark.parametrize("limit", [64, 100, 1000])
def test_pieces_tile_the_tensor_as_the_halving_does(count: int, limit: int) -> None:
    pieces = piece_words(count, limit)
    assert [lo for lo, _ in pieces] == [sum(n for _, n in pieces[:k]) for k in range(len(pieces))]
    assert sum(n for _, n in pieces) == count and all(0 < n <= limit for _, n in pieces)
    plan = decode_plan(literal(count), limit)
    if count <= limit:
        assert [t.name for t in plan.leaves] == ["p0_ok"] and plan.joined is None
    else:
        leaves = plan.leaves[1:]
        assert plan.leaves[0].name == "p0_high" and [t.words for t in leaves] == [n for _, n in pieces]
        # each piece is the path of halves to it; its fuel is what `allWordsSplit` has left there
        for t in leaves:
            fuel, term = re.match(r"allWordsSplit finiteF32 (\d+) (.*) \d+ = true", t.statement).groups()
            assert int(fuel) == count.bit_length() - term.count("Words") >= 1
        assert plan.joined.name == "p0_ok" and plan.joined.proof.count("allWordsSplit_halves") == len(pieces) - 1


def test_parts_group_the_leaves_in_order() -> None:
    plans = [decode_plan(literal(n), 100) for n in (300, 50, 1000, 7)]
    leaves = [t for p in plans for t in p.leaves]
    parts = decode_parts(plans, 200)
    assert [t for part in parts for t in part] == leaves
    assert all(sum(t.words for t in part) <= 200 for part in parts) and len(parts) > 1
    assert decode_parts(plans) == [leaves]


def test_default_pieces_bound_the_kernel_work() -> None:
    """A 2.4M-value conv weight (ResNet-18's biggest) becomes pieces of at most PIECE_WORDS; a
    smaller tensor about PIECES pieces of at least MIN_PIECE_WORDS, a small one a single piece."""
    pieces = piece_words(512 * 512 * 9)
    assert len(pieces) == 64 and max(n for _, n in pieces) <= encode.PIECE_WORDS
    assert [n for _, n in piece_words(65536)] == [encode.MIN_PIECE_WORDS] * encode.PIECES
    assert len(piece_words(262144)) == encode.PIECES
    assert piece_words(5000) == [(0, 2500), (2500, 2500)] and piece_words(4096) == [(0, 4096)]


def export(out: Path, monkeypatch: pytest.MonkeyPatch, part_words: int | None = None) -> Path:
    monkeypatch.setattr(encode, "PIECE_WORDS", LIMIT)
    if part_words:
        monkeypatch.setattr(encode, "PART_WORDS", part_words)
    return export_project(graph(), out, checkpoint_sha256="ef" * 32)


def test_params_module_has_a_theorem_per_piece(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = export(tmp_path / "p", monkeypatch)
    params = (project / "Pieces" / "Params.lean").read_text()
    assert re.findall(r"^theorem (\S+)", params, re.M) == [
        "p0_high", "p0_ok_0", "p0_ok_1", "p0_ok_2", "p0_ok_3", "p1_ok", "p0_ok", "paramsDecode"]
    assert "theorem p0_ok_2 : allWordsSplit finiteF32 7 (lowWords (highWords p0 300) 150) 75 = true" in params
    theorems = (project / "Pieces" / "Theorems.lean").read_text()
    assert "import Pieces.Params" in theorems and "paramsDecode :" not in theorems
    assert "`Pieces.Params, " in (project / "lakefile.lean").read_text()


def test_parts_are_modules_params_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = export(tmp_path / "p", monkeypatch, part_words=160)
    folder = project / "Pieces" / "Params"
    parts = [re.findall(r"^theorem (\S+)", (folder / f"Part{k}.lean").read_text(), re.M) for k in range(2)]
    assert parts == [["p0_high", "p0_ok_0", "p0_ok_1"], ["p0_ok_2", "p0_ok_3", "p1_ok"]]
    assert sorted(p.name for p in folder.iterdir()) == ["Part0.lean", "Part1.lean"]
    params = (project / "Pieces" / "Params.lean").read_text()
    assert "import Pieces.Model\nimport Pieces.Params.Part0\nimport Pieces.Params.Part1\n\n" in params
    assert re.findall(r"^theorem (\S+)", params, re.M) == ["p0_ok", "paramsDecode"]


@pytest.fixture(scope="module")
def library_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "lean-lib"


@needs_lean
def test_many_parameters_join(tmp_path: Path, library_cache: Path) -> None:
    """`paramsDecode` nests one `packedOk_cons` per parameter: 300 of them (EfficientNet-B0 has about
    250) need more than the elaborator's default recursion depth, which the export sets."""
    count = 300
    params = tuple(Param.of_array(f"c{k}", np.array([k / 8], np.float32)) for k in range(count))
    nodes = tuple(make_node(f"s{k}", "add", [f"s{k - 1}" if k else "x", f"c{k}"]) for k in range(count))
    g = validate(Graph("many", (Input("x", (1,)),), params, nodes, (f"s{count - 1}",)))
    result = lean_check(export_project(g, tmp_path / "p", checkpoint_sha256="ef" * 32), toolchain=TOOLCHAIN,
                        library_cache=library_cache)
    assert result.ok, result.report()


@needs_lean
def test_pieces_check_and_a_nan_fails_in_its_piece(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   library_cache: Path) -> None:
    project = export(tmp_path / "p", monkeypatch, part_words=160)  # two part modules, checked side by side
    cache = library_cache
    result = lean_check(project, toolchain=TOOLCHAIN, library_cache=cache)
    assert result.ok, result.report()
    assert set(result.axioms["Pieces.paramsDecode"]) <= {"propext", "Quot.sound", "Classical.choice"}
    # a NaN in word 200: piece_words puts it in the third piece (words 150..224), and only its theorem fails
    c = graph().params[0].array.copy()
    bits = c.view(np.uint32)
    bits[200] = 0x7FC00000
    model = project / "Pieces" / "Model.lean"
    text = model.read_text()
    start = text.index("def p0 : Nat := ") + len("def p0 : Nat := ")
    end = text.index("\n\n", start)
    model.write_text(text[:start] + packed_literal(int.from_bytes(bits.astype("<u4").tobytes(), "little")) + text[end:])
    assert int.from_bytes(bits.astype("<u4").tobytes(), "little") != packed_f32(graph().params[0].array)
    bad = next(k for k, (lo, n) in enumerate(piece_words(SIZE, LIMIT)) if lo <= 200 < lo + n)
    assert bad == 2
    result = lean_check(project, toolchain=TOOLCHAIN, library_cache=cache)
    assert not result.ok

    def theorem_at(file: str, line: int) -> str:  # the theorem whose statement or proof holds `line`
        lines = Path(file).read_text().splitlines()[:line]
        return next(t.split()[1] for t in reversed(lines) if t.startswith("theorem "))

    failing = {theorem_at(e.file, e.line) for e in result.errors}
    assert failing == {f"p0_ok_{bad}"}, result.report()
