"""Parameter decoding: `Params.lean` proves `paramsDecode` from one theorem per tensor,
`tensorOk_of_lanes`, whose premise the kernel evaluates with a few big-number operations whatever
the tensor's size (`laneTest` checks every word's exponent field at once; its Python twin is
`lane_test`), and a big model's theorems sit in modules checked side by side. `Theorems.lean`
(well-formedness, shapes) decodes nothing. Big models' times are measured by
`benchmarks/bench_corpus.py --lean`, not here."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytorch2lean.ir import Param, make_node, validate
from pytorch2lean.ir.graph import Graph, Input
from pytorch2lean.lean import encode, export_project, lean_check
from pytorch2lean.lean.build import check_source
from pytorch2lean.lean.encode import ParamLiteral, decode_parts, decode_plan, lane_test, packed_f32, packed_literal
from pytorch2lean.lean.toolchain import find_toolchain

TOOLCHAIN = find_toolchain()
needs_lean = pytest.mark.skipif(TOOLCHAIN is None, reason="no Lean toolchain (set PYTORCH2LEAN_LEAN or install one)")
SIZE = 300
NAN, INF, NEG_INF, MAX, NEG_MAX = 0x7FC00000, 0x7F800000, 0xFF800000, 0x7F7FFFFF, 0xFF7FFFFF
NONFINITE = [NAN, INF, NEG_INF, 0x7F800001, 0xFFFFFFFF, 0xFFC00000]
FINITE = [0, 0x80000000, 1, 0x807FFFFF, 0x00800000, 0x3F800000, 0xBF800000, MAX, NEG_MAX, 0x7F7FFFFE, 0x4B800001]


def graph(size: int = SIZE) -> Graph:
    """out = (x + c) * d: a parameter of `size` values and one of a single value."""
    rng = np.random.default_rng(size)
    c, d = rng.standard_normal(size).astype(np.float32), np.array([0.5], np.float32)
    return validate(Graph("pieces", (Input("x", (size,)),), (Param.of_array("c", c), Param.of_array("d", d)),
                          (make_node("s", "add", ["x", "c"]), make_node("out", "mul", ["s", "d"])), ("out",)))


def pack(words: list[int]) -> int:
    return int.from_bytes(b"".join(struct.pack("<I", w) for w in words), "little")


def finite(word: int) -> bool:
    return (word >> 23) & 0xFF != 0xFF


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1) | st.sampled_from(NONFINITE + FINITE), min_size=0, max_size=40))
def test_lane_test_is_zero_exactly_when_every_word_is_finite(words: list[int]) -> None:
    assert (lane_test(pack(words), len(words)) == 0) == all(finite(w) for w in words)


@pytest.mark.parametrize("bad", NONFINITE)
@pytest.mark.parametrize("count", [1, 2, 7, 1000])
def test_lane_test_finds_a_bad_word_in_the_first_and_last_lane(bad: int, count: int) -> None:
    words = [FINITE[k % len(FINITE)] for k in range(count)]
    assert lane_test(pack(words), count) == 0
    for at in (0, count - 1):
        assert lane_test(pack(words[:at] + [bad] + words[at + 1:]), count) != 0
    # a word past `count` is the high check's business, not the lanes'
    assert lane_test(pack(words + [NAN]), count) == 0 and pack(words + [NAN]) >> (32 * count) != 0


def literal(count: int) -> ParamLiteral:
    return ParamLiteral(1, "c", "p0", (count,), count, "0x0")


def test_one_decode_theorem_per_tensor() -> None:
    plan = decode_plan(literal(2_359_296))  # ResNet-18's biggest conv weight: still one theorem
    assert plan.theorem.name == "p0_ok" and plan.theorem.statement == "tensorOk p0 2359296 = true"
    assert plan.theorem.proof == "tensorOk_of_lanes p0 2359296 (by decide +kernel)"


def test_parts_group_the_theorems_in_order() -> None:
    plans = [decode_plan(literal(n)) for n in (300, 50, 1000, 7)]
    theorems = [p.theorem for p in plans]
    parts = decode_parts(plans, 400)
    assert [t for part in parts for t in part] == theorems
    assert [[t.words for t in part] for part in parts] == [[300, 50], [1000], [7]]
    assert decode_parts(plans) == [theorems]


def export(out: Path, monkeypatch: pytest.MonkeyPatch, part_words: int | None = None) -> Path:
    if part_words:
        monkeypatch.setattr(encode, "PART_WORDS", part_words)
    return export_project(graph(), out, checkpoint_sha256="ef" * 32)


def test_params_module_has_a_theorem_per_tensor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = export(tmp_path / "p", monkeypatch)
    params = (project / "Pieces" / "Params.lean").read_text()
    assert re.findall(r"^theorem (\S+)", params, re.M) == ["p0_ok", "p1_ok", "paramsDecode"]
    assert "theorem p0_ok : tensorOk p0 300 = true :=\n  tensorOk_of_lanes p0 300 (by decide +kernel)" in params
    theorems = (project / "Pieces" / "Theorems.lean").read_text()
    assert "import Pieces.Params" in theorems and "paramsDecode :" not in theorems
    assert "`Pieces.Params, " in (project / "lakefile.lean").read_text()


def test_parts_are_modules_params_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = export(tmp_path / "p", monkeypatch, part_words=200)
    folder = project / "Pieces" / "Params"
    parts = [re.findall(r"^theorem (\S+)", (folder / f"Part{k}.lean").read_text(), re.M) for k in range(2)]
    assert parts == [["p0_ok"], ["p1_ok"]]
    assert sorted(p.name for p in folder.iterdir()) == ["Part0.lean", "Part1.lean"]
    params = (project / "Pieces" / "Params.lean").read_text()
    assert "import Pieces.Model\nimport Pieces.Params.Part0\nimport Pieces.Params.Part1\n\n" in params
    assert re.findall(r"^theorem (\S+)", params, re.M) == ["paramsDecode"]


@pytest.fixture(scope="module")
def library_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "lean-lib"


@needs_lean
def test_lean_lane_test_agrees_and_rejects(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`laneTest` evaluated by the kernel equals its twin, and `tensorOk_of_lanes` fails for a NaN
    or an infinity in the first or the last word, and for a word past the tensor's count."""
    words = [FINITE[k % len(FINITE)] for k in range(37)]
    cases = {"ok": (words, 37), "ok_max": ([MAX, NEG_MAX] * 5, 10),
             "nan_first": ([NAN] + words[1:], 37), "inf_last": (words[:-1] + [INF], 37),
             "neg_inf_first": ([NEG_INF] + words[1:], 37), "nan_last": (words[:-1] + [0xFFFFFFFF], 37),
             "past_count": (words + [FINITE[3]], 37)}
    lines = ["import Pytorch2Lean", "open Pytorch2Lean", ""]
    at = {}
    for name, (ws, n) in cases.items():
        lines.append(f"example : laneTest {pack(ws):#x} {n} = {lane_test(pack(ws), n)} := by decide +kernel")
        at[len(lines) + 1] = name
        lines.append(f"theorem {name} : tensorOk {pack(ws):#x} {n} = true :=")
        lines.append(f"  tensorOk_of_lanes {pack(ws):#x} {n} (by decide +kernel)")
    result = check_source("\n".join(lines) + "\n", tmp_path_factory.getbasetemp() / "lean-lanes", toolchain=TOOLCHAIN)
    failing = {at[line] for line in at for e in result.errors if line <= e.line <= line + 1}
    assert failing == set(cases) - {"ok", "ok_max"}, result.report() + result.output[-3000:]
    assert len(result.errors) == len(failing), result.report()


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
def test_parts_check_and_a_nan_fails_its_tensor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                library_cache: Path) -> None:
    project = export(tmp_path / "p", monkeypatch, part_words=200)  # two part modules, checked side by side
    result = lean_check(project, toolchain=TOOLCHAIN, library_cache=library_cache)
    assert result.ok, result.report()
    assert set(result.axioms["Pieces.paramsDecode"]) <= {"propext", "Quot.sound", "Classical.choice"}
    # a NaN in the last word of `c`: only its decode theorem fails
    bits = graph().params[0].array.copy().view(np.uint32)
    bits[-1] = NAN
    model = project / "Pieces" / "Model.lean"
    text = model.read_text()
    start = text.index("def p0 : Nat := ") + len("def p0 : Nat := ")
    end = text.index("\n\n", start)
    model.write_text(text[:start] + packed_literal(int.from_bytes(bits.astype("<u4").tobytes(), "little")) + text[end:])
    assert int.from_bytes(bits.astype("<u4").tobytes(), "little") != packed_f32(graph().params[0].array)
    result = lean_check(project, toolchain=TOOLCHAIN, library_cache=library_cache)
    assert not result.ok

    def theorem_at(file: str, line: int) -> str:  # the theorem whose statement or proof holds `line`
        lines = Path(file).read_text().splitlines()[:line]
        return next(t.split()[1] for t in reversed(lines) if t.startswith("theorem "))

    assert {theorem_at(e.file, e.line) for e in result.errors} == {"p0_ok"}, result.report()
