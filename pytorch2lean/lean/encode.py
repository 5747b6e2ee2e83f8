"""Lean text for IR values: rationals, packed float32 tensors, attributes, nodes, the graph.

Everything here is a pure function of the graph, so the same graph always gives the same text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Sequence

import numpy as np

from .. import ops
from ..errors import UserError
from ..ir.graph import AttrValue, Graph, Shape
from ..numeric.float32 import bits_of

RESERVED_MODULES = {"Pytorch2Lean", "Check", "Lake", "Init", "Std", "Lean"}
CHUNK = 64  # list literals longer than this are written as `concatLists` of chunks
# A packed literal longer than LEAF_BITS is written as nested `joinChunks` of LEAF_BITS-bit chunks
# (2048 hex digits, 256 float32 values), at most FANOUT parts per list: Lean reads one numeral in
# time quadratic in its length (100k hex digits: about 4 s of CPU), a list of short ones in linear
# time. Measured: leaves of 512 to 2048 digits read 1.6M digits fastest (about 1 s of CPU), shorter
# ones cost more per list element, longer ones more per digit (`benchmarks/bench_lean.py`).
LEAF_BITS = 8192
FANOUT = 16
# A parameter is checked to decode (`tensorOk`) in pieces, one theorem each, following the halving
# `allWordsSplit` makes: the kernel keeps what it evaluates for a whole declaration (4 to 9 KB per value
# checked), so one evaluation of ResNet-18's 2.4M-value conv weight would hold some 20 GB; a piece of
# 2^16 values, under 1 GB and about 4 s. Smaller pieces are checked faster per value (the kernel's caches
# stay small: 65536 values take a quarter less CPU in 16 pieces of 4096 than in one), but each piece
# evaluates its tensor's literal again (0.3 s per million values). So a tensor is cut into about
# PIECES pieces, each of at least MIN_PIECE_WORDS and at most PIECE_WORDS values (`piece_limit`).
PIECE_WORDS = 1 << 16
MIN_PIECE_WORDS = 1 << 12
PIECES = 16
# The decode theorems of a model with more values are written into modules `Params/Part<k>.lean` of at
# most PART_WORDS values each (about a minute of kernel time), which `lean-check` compiles side by side.
PART_WORDS = 1 << 20
STR_VALUES = ("constant", "reflect", "edge", "none", "tanh")  # Lean `StrVal`


def module_name(graph_name: str) -> str:
    """A Lean module name for a model name: its alphanumeric words in CamelCase."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", graph_name) if w]
    name = "".join(w[0].upper() + w[1:] for w in words) or "Model"
    if name[0].isdigit():
        name = "M" + name
    return name + "Model" if name in RESERVED_MODULES else name


def camel(name: str) -> str:
    """A Python snake_case name in Lean camelCase (`ceil_mode` -> `ceilMode`)."""
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def q_literal(q: Fraction) -> str:
    """A `Q` literal: `⟨negative, |numerator|, denominator⟩`, in lowest terms (as `Fraction` is)."""
    return f"⟨{'true' if q < 0 else 'false'}, {abs(q.numerator)}, {q.denominator}⟩"


def shape_literal(shape: Shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def packed_f32(array: np.ndarray) -> int:
    """The float32 elements of `array`, row-major, as one natural number: element i in bits 32i.."""
    data = np.ascontiguousarray(array, dtype="<f4")
    if data.size and not np.isfinite(data).all():
        raise UserError("cannot export a tensor holding NaN or Inf")
    return int.from_bytes(data.tobytes(), "little")


def nat_hex(n: int) -> str:
    return f"0x{n:x}"


def packed_literal(n: int) -> str:
    """Lean text for the natural number `n` (a packed tensor) that Lean reads in linear time.

    Up to LEAF_BITS bits: one hexadecimal numeral, as for any number. Longer: `joinChunks size
    [part₀, part₁, ...]` (`Float32.lean`: `part₀ + part₁ * 2^size + ...`) with at most FANOUT
    parts, each below `2^size`, written the same way one level down; leaves are `nat_lit`
    numerals, which skip the `OfNat` instance the elaborator would build for each (most of the
    time a long `0x...` numeral takes; reading its digits is quadratic too, with a smaller
    constant). The nesting keeps the kernel's work small: each `joinChunks` folds at most FANOUT
    parts, where one flat fold over 1568 chunks took 13 s and 4 GB (it builds, and the kernel
    caches, every ever longer partial sum).
    """
    if n.bit_length() <= LEAF_BITS:
        return nat_hex(n)
    return _joined(n, "")


def _joined(n: int, indent: str) -> str:
    """`n ≥ 2^LEAF_BITS` as `joinChunks size [...]`: `size` the least LEAF_BITS * FANOUT^k with at
    most FANOUT parts, one part per line."""
    size = LEAF_BITS
    while n >> (size * FANOUT):
        size *= FANOUT
    parts = []
    while n:
        parts.append(n & ((1 << size) - 1))
        n >>= size
    inner = indent + "  "
    items = [f"nat_lit {nat_hex(p)}" if p.bit_length() <= LEAF_BITS else _joined(p, inner) for p in parts]
    return f"joinChunks {size} [\n{inner}" + f",\n{inner}".join(items) + "]"


def _int(v: int) -> str:
    return f"({v})" if v < 0 else str(v)


def _ints(vs: Iterable[int]) -> str:
    return "[" + ", ".join(_int(v) for v in vs) + "]"


def attr_literal(where: str, kind: str, value: AttrValue) -> str:
    """One `AttrVal`; floats become their float32 bit patterns."""
    if kind == "int":
        return f".int {_int(int(value))}"  # type: ignore[arg-type]
    if kind == "float":
        return f".float {nat_hex(bits_of(float(value)))}"  # type: ignore[arg-type]
    if kind == "bool":
        return f".bool {'true' if value else 'false'}"
    if kind == "str":
        if value not in STR_VALUES:
            raise UserError(f"{where}: string value {value!r} has no Lean counterpart ({', '.join(STR_VALUES)})")
        return f".str .{value}"
    if kind == "ints":
        return f".ints {_ints(value)}"  # type: ignore[arg-type]
    if kind == "floats":
        return ".floats [" + ", ".join(nat_hex(bits_of(float(v))) for v in value) + "]"  # type: ignore[union-attr]
    raise UserError(f"{where}: attribute kind {kind!r} has no Lean counterpart")


def attrs_literal(where: str, op: str, attrs: Iterable[tuple[str, AttrValue]]) -> str:
    """An op's attributes as a Lean `Attrs` list, in the given (canonical, sorted) order."""
    kinds = ops.get(op).attrs
    return "[" + ", ".join(f"(.{camel(name)}, {attr_literal(where, kinds[name].kind, v)})" for name, v in attrs) + "]"


@dataclass(frozen=True)
class Entry:
    """One line of a list literal in the graph term, with its comment."""

    index: int
    term: str
    comment: str


@dataclass(frozen=True)
class ParamLiteral:
    """A parameter as a packed literal: `def {name} : Nat := {literal}` holding `count` floats."""

    index: int
    name: str
    lean_name: str
    shape: Shape
    count: int
    literal: str


def value_table(graph: Graph) -> dict[str, int]:
    """Index of every name in the Lean value table: inputs, then parameters, then nodes."""
    names = [i.name for i in graph.inputs] + [p.name for p in graph.params] + [n.id for n in graph.nodes]
    return {name: k for k, name in enumerate(names)}


def node_entries(graph: Graph) -> list[Entry]:
    """Each node as `⟨.op, [args], [attrs], [shape]⟩`, commented with its id, op and shapes."""
    index = value_table(graph)
    shapes = graph.shapes()
    first = len(graph.inputs) + len(graph.params)
    out = []
    for k, node in enumerate(graph.nodes):
        spec = ops.get(node.op)
        if node.shape is None:
            raise UserError(f"node {node.id!r} has no shape: validate the graph before exporting")
        attrs = attrs_literal(f"node {node.id!r} ({node.op})", node.op, node.attrs)
        args = ", ".join(str(index[r]) for r in node.inputs)
        term = f"⟨.{spec.lean}, [{args}], {attrs}, {shape_literal(node.shape)}⟩"
        operands = ", ".join(f"{r} {list(shapes[r])}" for r in node.inputs)
        out.append(Entry(first + k, term, f"{node.id} = {node.op}({operands}) : {list(node.shape)}"))
    return out


def param_literals(graph: Graph) -> list[ParamLiteral]:
    """Every parameter's float32 bits as one natural number (`packed_literal`)."""
    base = len(graph.inputs)
    out = []
    for k, p in enumerate(graph.params):
        if p.data is None:
            raise UserError(f"parameter {p.name!r} has no value: bind a checkpoint before exporting")
        out.append(ParamLiteral(base + k, p.name, f"p{k}", p.shape, p.size, packed_literal(packed_f32(p.array))))
    return out


def list_literal(items: Sequence[str]) -> str:
    """A Lean list of the given terms; a long one as `concatLists` of chunks, nested so that no list
    literal has more than CHUNK entries: Lean elaborates a list literal one level of recursion per
    entry, and the 3136 chunks of a 784x256 weight's values passed its maximum depth."""
    if len(items) <= CHUNK:
        return "[" + ", ".join(items) + "]"
    size = CHUNK
    while size * CHUNK < len(items):
        size *= CHUNK
    return "concatLists [" + ", ".join(list_literal(items[k:k + size]) for k in range(0, len(items), size)) + "]"


def q_rows(values: Sequence[np.ndarray]) -> list[str]:
    """Each exact array (row-major) as a Lean list of `Q` literals."""
    return [list_literal([q_literal(Fraction(v)) for v in np.asarray(a, dtype=object).reshape(-1)]) for a in values]


@dataclass(frozen=True)
class Theorem:
    """`theorem {name} : {statement} :=\n  {proof}`; `words`: how many float32 values its kernel
    evaluation checks (0 for one that joins others)."""

    name: str
    statement: str
    proof: str
    words: int = 0


@dataclass(frozen=True)
class ParamDecode:
    """How `Params.lean` proves `tensorOk {lean_name} {count}` for one parameter: `leaves`, each one
    kernel evaluation, and for a tensor split into pieces `joined`, which derives `{lean_name}_ok`
    from them (`tensorOk_of` over a tree of `allWordsSplit_halves`) without evaluating anything."""

    lean_name: str
    shape: Shape
    count: int
    leaves: tuple[Theorem, ...]
    joined: Theorem | None


def piece_limit(count: int, limit: int | None = None) -> int:
    """The most words one decode theorem of a tensor of `count` values checks: `limit`, by default
    `count / PIECES` within [MIN_PIECE_WORDS, PIECE_WORDS], at least 64 (`allWordsSplit` does not
    split 64 words or fewer)."""
    default = min(max(count // PIECES, MIN_PIECE_WORDS), PIECE_WORDS)
    return max(default if limit is None else limit, 64)


def decode_plan(p: ParamLiteral, limit: int | None = None) -> ParamDecode:
    """The decode theorems of parameter `p`: one for a tensor of at most `piece_limit` values, else
    the halves `allWordsSplit` splits it into (`lowWords`: the first `n // 2` words, `highWords`: the
    rest), split again until each piece has at most that many. The kernel evaluates `finiteSplitRec`,
    the same function with fewer steps per word."""
    limit = piece_limit(p.count, limit)
    name, n = p.lean_name, p.count
    ok = f"tensorOk {name} {n} = true"
    if n <= limit:
        proof = f"tensorOk_of {name} {n} (by decide +kernel) (allWordsSplit_of_rec (by decide +kernel))"
        return ParamDecode(name, p.shape, n, (Theorem(f"{name}_ok", ok, proof, n),), None)
    leaves = [Theorem(f"{name}_high", f"Nat.beq (Nat.shiftRight {name} (Nat.mul 32 {n})) 0 = true", "by decide +kernel")]

    def split(term: str, count: int, fuel: int, indent: str) -> str:
        if count <= limit:
            piece = Theorem(f"{name}_ok_{len(leaves) - 1}", f"allWordsSplit finiteF32 {fuel} {term} {count} = true",
                            "allWordsSplit_of_rec (by decide +kernel)", count)
            leaves.append(piece)
            return piece.name
        half, inner = count // 2, indent + "  "
        low = split(f"(lowWords {term} {count})", half, fuel - 1, inner)
        high = split(f"(highWords {term} {count})", count - half, fuel - 1, inner)
        return f"(allWordsSplit_halves finiteF32 {fuel - 1} {term} {count} rfl\n{inner}{low}\n{inner}{high})"

    tree = split(name, n, n.bit_length(), "    ")  # fuel `Nat.log2 n + 1`, as `tensorOk` gives it
    return ParamDecode(name, p.shape, n, tuple(leaves), Theorem(f"{name}_ok", ok, f"tensorOk_of {name} {n} {name}_high\n    {tree}"))


def decode_parts(plans: Sequence[ParamDecode], part_words: int | None = None) -> list[list[Theorem]]:
    """The leaf theorems of all parameters, in order, grouped into parts of at most `part_words`
    (default PART_WORDS) checked values each (a bigger leaf alone): one module each, which a build
    can check side by side. One part when everything fits."""
    limit = PART_WORDS if part_words is None else part_words
    parts: list[list[Theorem]] = [[]]
    held = 0
    for leaf in (t for plan in plans for t in plan.leaves):
        if parts[-1] and held + leaf.words > limit:
            parts.append([])
            held = 0
        parts[-1].append(leaf)
        held += leaf.words
    return parts


def piece_words(count: int, limit: int | None = None) -> list[tuple[int, int]]:
    """The Python twin of the halving in `decode_plan`: the `(first word, count)` of each piece, in
    theorem order (they tile `[0, count)`)."""
    limit = piece_limit(count, limit)
    out: list[tuple[int, int]] = []

    def split(lo: int, n: int) -> None:
        if n <= limit:
            out.append((lo, n))
            return
        split(lo, n // 2)
        split(lo + n // 2, n - n // 2)

    split(0, count)
    return out
