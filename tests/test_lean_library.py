"""The Lean library on its own: it compiles on core Lean, its theorems use only the standard
axioms, and its float32 decoding and rational arithmetic agree with Python's exact twins."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytorch2lean.lean.build import check_source
from pytorch2lean.lean.encode import q_literal
from pytorch2lean.lean.toolchain import find_toolchain
from pytorch2lean.numeric.float32 import fraction_of_bits

TOOLCHAIN = find_toolchain()
pytestmark = pytest.mark.skipif(TOOLCHAIN is None, reason="no Lean toolchain (set PYTORCH2LEAN_LEAN or install one)")
BATCH = settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
LIBRARY_THEOREMS = ("checkWF_sound", "inferShapes_sound", "inferShapesFast_sound", "inferShapesFast_eq", "denote_exact",
                    "checkExample_sound", "Enclosure.constant_valid", "Safe.run")
SPECIAL_BITS = [0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x00800000, 0x3F800000, 0xBF800000,
                0x7F7FFFFF, 0xFF7FFFFF, 0x3EAAAAAB, 0x4B000000, 0x4B800001, 0x7F800000, 0xFF800000,
                0x7FC00000, 0xFFFFFFFF, 0x100000000]


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for every Lean snippet of the session, so the library is compiled once."""
    return tmp_path_factory.getbasetemp() / "lean-ws"


def lean_ok(workspace: Path, body: str) -> None:
    """Check `body` against the library; fail with Lean's messages otherwise."""
    result = check_source("import Pytorch2Lean\nopen Pytorch2Lean\n\n" + body, workspace, toolchain=TOOLCHAIN)
    assert result.ok, result.report() + "\n" + result.output[-4000:]


def expected_f32(bits: int) -> str:
    if bits >= 2**32 or (bits >> 23) & 0xFF == 0xFF:
        return "none"
    return f"some {q_literal(fraction_of_bits(bits))}"


def test_library_theorems_use_standard_axioms_only(workspace: Path) -> None:
    result = check_source("import Pytorch2Lean\n" + "".join(f"#print axioms Pytorch2Lean.{t}\n" for t in LIBRARY_THEOREMS),
                          workspace, toolchain=TOOLCHAIN)
    assert result.ok, result.report()
    assert set(result.axioms) == {f"Pytorch2Lean.{t}" for t in LIBRARY_THEOREMS}


def test_decode_f32_special_values(workspace: Path) -> None:
    lean_ok(workspace, "".join(f"example : decodeF32 {b:#x} = {expected_f32(b)} := by decide +kernel\n" for b in SPECIAL_BITS))


def test_decode_f32_rejects_a_wrong_value(workspace: Path) -> None:
    result = check_source("import Pytorch2Lean\nopen Pytorch2Lean\nexample : decodeF32 0x3F800000 = some Q.zero := by decide +kernel\n",
                          workspace, toolchain=TOOLCHAIN)
    assert not result.ok and result.errors


@BATCH
@given(st.lists(st.integers(0, 2**32 - 1), min_size=40, max_size=40))
def test_decode_f32_matches_python(workspace: Path, patterns: list[int]) -> None:
    lean_ok(workspace, "".join(f"example : decodeF32 {b:#x} = {expected_f32(b)} := by decide +kernel\n" for b in patterns))


@BATCH
@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=200))
def test_words_unpack_a_packed_tensor(workspace: Path, patterns: list[int]) -> None:
    packed = int.from_bytes(b"".join(struct.pack("<I", b) for b in patterns), "little")
    lean_ok(workspace, f"example : words {packed:#x} {len(patterns)} = {patterns} := by decide +kernel\n"
                       f"example : (List.range {len(patterns)}).map (word {packed:#x}) = {patterns} := by decide +kernel\n")


RATIONALS = st.fractions(max_denominator=10**6).filter(lambda q: abs(q) < 10**9)


@BATCH
@given(st.lists(st.tuples(RATIONALS, RATIONALS), min_size=15, max_size=15))
def test_rational_arithmetic_matches_fractions(workspace: Path, pairs: list[tuple[Fraction, Fraction]]) -> None:
    lines = []
    for a, b in pairs:
        qa, qb = q_literal(a), q_literal(b)
        lines += [f"example : Q.add {qa} {qb} = {q_literal(a + b)} := by decide +kernel",
                  f"example : Q.sub {qa} {qb} = {q_literal(a - b)} := by decide +kernel",
                  f"example : Q.mul {qa} {qb} = {q_literal(a * b)} := by decide +kernel",
                  f"example : Q.neg' {qa} = {q_literal(-a)} := by decide +kernel",
                  f"example : Q.ble {qa} {qb} = {'true' if a <= b else 'false'} := by decide +kernel",
                  f"example : Q.max {qa} {qb} = {q_literal(max(a, b))} := by decide +kernel"]
        if b:
            lines.append(f"example : Q.div {qa} {qb} = {q_literal(a / b)} := by decide +kernel")
    lean_ok(workspace, "\n".join(lines) + "\n")
