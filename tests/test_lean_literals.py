"""Long parameter literals: `packed_literal` writes a big packed tensor as nested `joinChunks` of short
numerals (Lean reads one long numeral in quadratic time). The text means exactly the number (read
here by a small reader of the three term forms, and in Lean by the kernel), small tensors keep their
single numeral, and a flipped bit in any chunk of an exported parameter makes its example fail.

How long reading takes is measured by `benchmarks/bench_lean.py --literals`, not asserted here."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest

from pytorch2lean.ir import Param, make_node, validate
from pytorch2lean.ir.graph import Graph, Input
from pytorch2lean.lean import export_project, lean_check
from pytorch2lean.lean.build import check_source
from pytorch2lean.lean.encode import CHUNK, FANOUT, LEAF_BITS, list_literal, nat_hex, packed_f32, packed_literal
from pytorch2lean.lean.toolchain import find_toolchain

TOOLCHAIN = find_toolchain()
needs_lean = pytest.mark.skipif(TOOLCHAIN is None, reason="no Lean toolchain (set PYTORCH2LEAN_LEAN or install one)")
_TOKEN = re.compile(r"\s*(joinChunks (\d+) \[|nat_lit 0x([0-9a-f]+)|0x([0-9a-f]+)|,|\])")
# bit lengths: one numeral (up to a leaf's worth), one level of leaves, the edge to two levels, two, three
SIZES = [0, 1, 32, LEAF_BITS - 1, LEAF_BITS, LEAF_BITS + 1, 3 * LEAF_BITS + 5, LEAF_BITS * FANOUT,
         LEAF_BITS * FANOUT + 1, 5 * LEAF_BITS * FANOUT + 77, LEAF_BITS * FANOUT ** 2 + 3]


def read_term(text: str) -> int:
    """The number a `packed_literal` text denotes, by `joinChunks`'s definition
    (`c₀ + c₁ * 2^bits + ...`); checks along the way that every numeral is short and every list
    short enough for the elaborator."""
    tokens = list(_TOKEN.finditer(text))
    assert "".join(m[0] for m in tokens) == text, "text outside the three term forms"
    pos = 0

    def term(top: bool) -> int:
        nonlocal pos
        m = tokens[pos]
        pos += 1
        if m[3] is not None or m[4] is not None:
            digits = m[3] if m[3] is not None else m[4]
            assert (m[4] is not None) == top, "a leaf is `nat_lit`, a lone numeral is plain"
            assert len(digits) <= LEAF_BITS // 4
            return int(digits, 16)
        assert m[2] is not None, f"unexpected {m[0]!r}"
        bits, parts = int(m[2]), [term(False)]
        while tokens[pos][0].strip() == ",":
            pos += 1
            parts.append(term(False))
        assert tokens[pos][0].strip() == "]"
        pos += 1
        assert len(parts) <= min(FANOUT, CHUNK)
        assert all(p < 1 << bits for p in parts), "each chunk below 2^bits"
        return sum(p << (k * bits) for k, p in enumerate(parts))

    value = term(True)
    assert pos == len(tokens)
    return value


@pytest.mark.parametrize("bits", SIZES)
def test_packed_literal_round_trips(bits: int) -> None:
    rng = random.Random(bits)
    for n in {(1 << bits) - 1 if bits else 0, rng.getrandbits(bits), rng.getrandbits(bits) & ~((1 << (bits // 2)) - 1)}:
        assert read_term(packed_literal(n)) == n


def test_small_tensors_keep_one_numeral() -> None:
    n = (1 << LEAF_BITS) - 1
    assert packed_literal(n) == nat_hex(n)
    assert packed_literal(n + 1).startswith(f"joinChunks {LEAF_BITS} [")


def test_packed_tensor_round_trips_through_the_text() -> None:
    """A float32 tensor, packed and written, reads back to its bits (element i in bits 32i..)."""
    a = np.random.default_rng(3).standard_normal((9, 1000)).astype(np.float32)
    n = read_term(packed_literal(packed_f32(a)))
    back = np.frombuffer(n.to_bytes(a.size * 4, "little"), "<f4").reshape(a.shape)
    assert back.tobytes() == a.tobytes()


@needs_lean
def test_lean_reads_the_chunks_as_the_single_numeral(tmp_path: Path) -> None:
    """The kernel's value of the chunked text is the one long numeral (two levels of nesting)."""
    n = random.Random(5).getrandbits(LEAF_BITS * FANOUT + 3 * LEAF_BITS)
    text = ("import Pytorch2Lean\nopen Pytorch2Lean\n\n"
            f"example : Nat.beq ({packed_literal(n)}) {nat_hex(n)} = true := by decide +kernel\n"
            f"example : Nat.beq ({packed_literal(n ^ 1 << (LEAF_BITS * FANOUT))}) {nat_hex(n)} = false := by decide +kernel\n")
    result = check_source(text, tmp_path)
    assert result.ok, result.report()


def test_long_lists_nest_their_chunks() -> None:
    """No list literal of a long list has more than CHUNK entries (Lean elaborates one level of
    recursion per entry); the entries stay in order."""
    items = [str(k) for k in range(CHUNK ** 2 * 3 + 5)]
    text = list_literal(items)
    assert re.findall(r"\d+", text) == items
    depth, widths = 0, []
    for token in re.findall(r"\[|\]|,", text):
        if token == "[":
            depth += 1
            widths.append(1)
        elif token == ",":
            widths[-1] += 1
        else:
            assert widths.pop() <= CHUNK
    assert text.startswith("concatLists [concatLists [[0, 1,")
    assert list_literal(items[:CHUNK * 3]).startswith("concatLists [[0, 1,")


@needs_lean
def test_lean_reads_a_long_nested_list(tmp_path: Path) -> None:
    """A list nested three levels deep elaborates and has all its entries (as a 784x256 weight's
    200k values in `Decoded.lean`, whose 3136 chunks in one list passed Lean's recursion depth)."""
    n = CHUNK ** 2 * 2 + 5
    text = ("import Pytorch2Lean\nopen Pytorch2Lean\n\n"
            f"set_option maxHeartbeats 0 in\ndef long : List Nat := {list_literal([str(k % 7) for k in range(n)])}\n"
            f"example : Nat.beq long.length {n} = true := by decide +kernel\n")
    result = check_source(text, tmp_path)
    assert result.ok, result.report()


def add_graph(name: str, size: int) -> Graph:
    """out = x + c with `c` of `size` float32 values, so every element of `c` shows in the output."""
    c = np.random.default_rng(size).standard_normal(size).astype(np.float32)
    return validate(Graph(name, (Input("x", (size,)),), (Param.of_array("c", c),),
                          (make_node("out", "add", ["x", "c"]),), ("out",)))


BIG = 4200  # two levels: 17 leaves, the first 16 in one `joinChunks`
CHUNKED = 520  # one level: 3 leaves, small enough for an exact example theorem


@pytest.fixture(scope="module")
def library_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "lean-lib"


def test_big_parameter_is_chunked(tmp_path: Path) -> None:
    graph = add_graph("big", BIG)
    text = (export_project(graph, tmp_path / "p", checkpoint_sha256="cd" * 32) / "Big" / "Model.lean").read_text()
    literal = re.search(r"def p0 : Nat := (joinChunks .*?\])\n\n", text, re.S)
    assert literal and literal[1].startswith(f"joinChunks {LEAF_BITS * FANOUT} [\n  joinChunks {LEAF_BITS} [")
    assert len(re.findall(r"nat_lit 0x", literal[1])) == 17
    assert read_term(literal[1]) == packed_f32(graph.params[0].array)


@needs_lean
def test_big_parameter_decodes(tmp_path: Path, library_cache: Path) -> None:
    """`paramsDecode` reads the two-level literal (no example: the kernel's exact evaluation of a
    4200-element add recurses too deeply)."""
    project = export_project(add_graph("big", BIG), tmp_path / "p", checkpoint_sha256="cd" * 32)
    result = lean_check(project, toolchain=TOOLCHAIN, library_cache=library_cache)
    assert result.ok, result.report()
    assert any(t.endswith("paramsDecode") for t in result.axioms)


def export_chunked(out: Path) -> Path:
    return export_project(add_graph("chunked", CHUNKED), out, checkpoint_sha256="cd" * 32,
                          examples=[np.ones(CHUNKED, np.float32)])


@needs_lean
def test_chunked_parameter_checks(tmp_path: Path, library_cache: Path) -> None:
    project = export_chunked(tmp_path / "p")
    assert "def p0 : Nat := joinChunks 8192 [" in (project / "Chunked" / "Model.lean").read_text()
    result = lean_check(project, toolchain=TOOLCHAIN, library_cache=library_cache)
    assert result.ok, result.report()
    assert any(t.endswith("example0") for t in result.axioms)


@needs_lean
@pytest.mark.parametrize("leaf", [0, 1, 2])
def test_flipped_bit_in_any_chunk_fails(tmp_path: Path, library_cache: Path, leaf: int) -> None:
    """The lowest bit of the first element of chunk `leaf` flipped: the example output is wrong."""
    project = export_chunked(tmp_path / "p")
    model = project / "Chunked" / "Model.lean"
    text = model.read_text()
    m = list(re.finditer(r"nat_lit 0x[0-9a-f]*([0-9a-f])", text))[leaf]
    model.write_text(text[:m.start(1)] + format(int(m[1], 16) ^ 1, "x") + text[m.end(1):])
    result = lean_check(project, toolchain=TOOLCHAIN, library_cache=library_cache)
    assert not result.ok
    theorems = (project / "Chunked" / "Theorems.lean").read_text().splitlines()
    start = next(k for k, line in enumerate(theorems, 1) if line.startswith("theorem example0"))
    assert any(e.file.endswith("Theorems.lean") and e.line >= start for e in result.errors), result.report()
