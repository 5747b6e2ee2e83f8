"""VNN-LIB files to input boxes and an unsafe-region DNF over the outputs.

A VNN-LIB file declares real constants X_0..X_{n-1} (the flattened network input) and
Y_0..Y_{m-1} (the flattened output); the conjunction of all its asserts describes the UNSAFE
region, the counterexamples. A verifier answering "unsat" proves the property. We lower the
asserts to disjunctive normal form and split each term into bounds on the X's (one box) and
linear constraints on the Y's. The result states a union of input boxes and one unsafe DNF
that applies to every box; a file whose output constraints differ between its input boxes is
rejected with the place that couples them, rather than silently merged.

Every literal becomes a Fraction from its decimal text, so "0.1" means exactly 1/10. Every
mistake is a ParseError carrying `file:line:col` and the offending text.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Union

from lark import Lark, Token, Tree, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from ..errors import ParseError, located
from .box import Box
from .property import Conjunction, Disjunction, LinearConstraint, Property

GRAMMAR = Path(__file__).with_name("vnnlib.lark")
MAX_TERMS = 100_000
"""Refuse files whose DNF would have more terms than this (the expansion is exponential)."""

_NAME = re.compile(r"([XY])_(0|[1-9][0-9]*)")
_WORDS = {"SYMBOL": "a name", "NUMBER": "a number", "COMPARE": "`<=` or `>=`", "$END": "end of file"}
_SNIPPET = 60

Var = tuple[str, int]  # ("X", i) or ("Y", j)


@dataclass(frozen=True)
class VnnlibSpec:
    """A parsed VNN-LIB property: unsafe iff x lies in some input box and y in the `unsafe` DNF.

    `input_boxes` are flat (shape (num_inputs,)); reshape them to the model's input shape.
    `unsafe` is a Disjunction of Conjunctions of LinearConstraints over the flat outputs.
    """

    input_boxes: tuple[Box, ...]
    unsafe: Disjunction
    num_inputs: int
    num_outputs: int
    source: str

    @property
    def output_property(self) -> Property:
        """The output property (safe set = complement of `unsafe`) to prove on every input box."""
        return Property(self.unsafe, self.num_outputs, self.source)


def load_vnnlib(path: str | Path) -> VnnlibSpec:
    """Read and parse a .vnnlib file; errors name the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParseError(f"{path}: cannot read VNN-LIB file: {exc}") from None
    return parse_vnnlib(text, str(path))


def parse_vnnlib(text: str, source: str = "<string>") -> VnnlibSpec:
    """Parse VNN-LIB `text`; `source` is the name errors are reported under."""
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text, source) from None
    return _Lowering(text, source).run(tree)


@functools.cache
def _parser() -> Lark:
    return Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr")


def _located(source: str, text: str, at: Token | Tree | None, message: str) -> ParseError:
    """A ParseError `source:line:col: message: `offending text`` (line 1 col 1 when `at` is None).

    A tree is located by its first token (an operator, or the variable or number itself): an
    operator's tree starts at the "(" before it and its text runs to the matching ")".
    """
    if at is None:
        return located(ParseError, source, text, 1, 1, message)
    token = at if isinstance(at, Token) else at.children[0]
    if isinstance(at, Token) or at.data in ("var", "number"):
        start, snippet = token.start_pos, str(token)
    else:
        start = text.rfind("(", 0, token.start_pos)
        snippet = _sexpr(text, start)
    line, column = text.count("\n", 0, start) + 1, start - text.rfind("\n", 0, start)
    return located(ParseError, source, text, line, column, f"{message}: `{snippet}`", len(snippet.split("\n")[0]))


def _sexpr(text: str, start: int) -> str:
    """The parenthesized expression opening at `start`, whitespace collapsed, cut to a readable length."""
    depth = 0
    for end in range(start, min(len(text), start + _SNIPPET)):
        depth += {"(": 1, ")": -1}.get(text[end], 0)
        if depth == 0:
            return " ".join(text[start : end + 1].split())
    return " ".join(text[start : start + _SNIPPET].split()) + " ..."


def _syntax_error(exc: UnexpectedInput, text: str, source: str) -> ParseError:
    if isinstance(exc, UnexpectedCharacters):
        expected = " or ".join(sorted(_describe(name) for name in exc.allowed or ()))
        return located(ParseError, source, text, exc.line, exc.column, f"unexpected character "
                       f"{text[exc.pos_in_stream]!r}" + (f"; expected {expected}" if expected else ""))
    assert isinstance(exc, UnexpectedToken), exc  # the LALR parser raises nothing else
    expected = " or ".join(sorted(_describe(name) for name in exc.expected))
    if exc.token.type == "$END":
        lines = text.split("\n")
        return located(ParseError, source, text, len(lines), len(lines[-1]) + 1,
                       f"unexpected end of file; expected {expected}")
    return located(ParseError, source, text, exc.line, exc.column, f"unexpected `{exc.token.value}`; expected {expected}",
                   len(str(exc.token.value)))


def _describe(terminal: str) -> str:
    if terminal in _WORDS:
        return _WORDS[terminal]
    pattern = _parser().get_terminal(terminal).pattern
    return f"`{pattern.value}`" if isinstance(pattern, PatternStr) else terminal


@dataclass(frozen=True)
class _Linear:
    """sum(coeffs[v] * v) + const, over declared variables."""

    coeffs: dict[Var, Fraction]
    const: Fraction

    def plus(self, other: _Linear) -> _Linear:
        coeffs = dict(self.coeffs)
        for v, c in other.coeffs.items():
            coeffs[v] = coeffs.get(v, Fraction(0)) + c
        return _Linear(coeffs, self.const + other.const)

    def minus(self, other: _Linear) -> _Linear:
        return self.plus(other.scaled(Fraction(-1)))

    def scaled(self, k: Fraction) -> _Linear:
        return _Linear({v: k * c for v, c in self.coeffs.items()}, k * self.const)


@dataclass(frozen=True, eq=False)
class _Bound:
    """X_index <= value (upper) or X_index >= value, and the comparison it came from."""

    index: int
    upper: bool
    value: Fraction
    at: Tree


@dataclass(frozen=True)
class _Output:
    """sum(c * Y_j) <= bound over the (j, c) pairs, sparse until the number of outputs is known."""

    coeffs: tuple[tuple[int, Fraction], ...]
    bound: Fraction


_Atom = Union[_Bound, _Output]
_Dnf = list[tuple[_Atom, ...]]


class _Lowering:
    """Walks the tree in file order (declare before use), then expands and groups the DNF."""

    def __init__(self, text: str, source: str) -> None:
        self.text, self.source = text, source
        self.declared: dict[str, Token] = {}
        self.asserts: list[_Dnf] = []
        self.last: Tree | None = None  # the last assert, where a too-large DNF is reported
        self.mixed: Tree | None = None  # the first assert constraining inputs and outputs together

    def error(self, at: Token | Tree | None, message: str) -> ParseError:
        return _located(self.source, self.text, at, message)

    def run(self, tree: Tree) -> VnnlibSpec:
        for command in tree.children:
            if command.data == "declare":
                self.declare(*command.children)
            else:
                self.assertion(command)
        num_inputs, num_outputs = self.count("X", "inputs"), self.count("Y", "outputs")
        groups: dict[tuple[_Bound, ...], dict[Conjunction, None]] = {}  # by identical bound atoms: fast
        for term in self.product(self.asserts, self.last):
            bounds = tuple(a for a in term if isinstance(a, _Bound))
            outputs = tuple(_constraint(a, num_outputs) for a in term if isinstance(a, _Output))
            groups.setdefault(bounds, {})[Conjunction(outputs)] = None
        cases: dict[Box, dict[Conjunction, None]] = {}  # by box: different texts may bound the same box
        for bounds, unsafe in groups.items():
            cases.setdefault(self.box(bounds, num_inputs), {}).update(unsafe)
        if len({frozenset(unsafe) for unsafe in cases.values()}) > 1:
            raise self.error(self.mixed, "the output constraints differ between input regions; "
                             "only a union of boxes with one shared output property is supported")
        unsafe = Disjunction(tuple(next(iter(cases.values()))))
        return VnnlibSpec(tuple(cases), unsafe, num_inputs, num_outputs, self.source)

    def declare(self, name: Token, sort: Token) -> None:
        if not _NAME.fullmatch(name):
            raise self.error(name, "VNN-LIB variables are inputs X_<i> and outputs Y_<j> (no leading zeros)")
        if name in self.declared:
            first = self.declared[name]
            raise self.error(name, f"{name} is declared twice (first at {first.line}:{first.column})")
        if sort != "Real":
            raise self.error(sort, f"{name} must be declared Real")
        self.declared[name] = name

    def count(self, kind: str, what: str) -> int:
        """How many variables of `kind` are declared, checking they are numbered 0..n-1."""
        tokens = {int(t[2:]): t for t in self.declared.values() if t[0] == kind}
        if not tokens:
            raise self.error(None, f"the file declares no {what} ({kind}_0, {kind}_1, ...)")
        missing = sorted(set(range(max(tokens) + 1)) - set(tokens))
        if missing:
            raise self.error(tokens[max(tokens)], f"{what} must be numbered {kind}_0..{kind}_<n-1>, "
                             f"but {kind}_{missing[0]} is not declared")
        return len(tokens)

    def assertion(self, tree: Tree) -> None:
        dnf = self.formula(tree.children[1])
        kinds = {type(atom) for term in dnf for atom in term}
        if len(kinds) == 2 and self.mixed is None:
            self.mixed = tree
        self.asserts.append(dnf)
        self.last = tree

    def formula(self, tree: Tree) -> _Dnf:
        if tree.data == "compare":
            return [(self.atom(tree),)]
        parts = [self.formula(child) for child in tree.children[1:]]
        if tree.data == "disj":
            return [term for part in parts for term in part]
        return self.product(parts, tree)

    def product(self, dnfs: list[_Dnf], at: Tree | None) -> _Dnf:
        """The DNF of the conjunction of `dnfs` (one-term parts are shared, not multiplied out)."""
        size = math.prod(len(d) for d in dnfs)
        if size > MAX_TERMS:
            raise self.error(at, f"the disjunctive normal form would have {size} terms (at most {MAX_TERMS})")
        shared = tuple(atom for d in dnfs if len(d) == 1 for atom in d[0])
        choices = itertools.product(*(d for d in dnfs if len(d) != 1))
        return [shared + tuple(atom for term in choice for atom in term) for choice in choices]

    def atom(self, tree: Tree) -> _Atom:
        """`(<= a b)` or `(>= a b)` as a bound on one X or a linear constraint on the Y's."""
        op, left, right = tree.children
        a, b = self.term(left), self.term(right)
        diff = a.minus(b) if op == "<=" else b.minus(a)  # the comparison says diff <= 0
        coeffs = {v: c for v, c in diff.coeffs.items() if c}
        kinds = {v[0] for v in coeffs}
        if not kinds:
            raise self.error(tree, "the comparison involves no variable")
        if kinds == {"X", "Y"}:
            raise self.error(tree, "a comparison may constrain inputs X or outputs Y, not both")
        if kinds == {"Y"}:
            return _Output(tuple(sorted((j, c) for (_, j), c in coeffs.items())), -diff.const)
        if len(coeffs) > 1:
            raise self.error(tree, "an input constraint must bound a single X by a constant (inputs form boxes)")
        ((_, index), c), = coeffs.items()
        return _Bound(index, c > 0, -diff.const / c, tree)

    def term(self, tree: Tree) -> _Linear:
        kind, children = tree.data, tree.children
        if kind == "var":
            return self.var(children[0])
        if kind == "number":
            return _Linear({}, Fraction(str(children[0])))
        parts = [self.term(child) for child in children[1:]]
        if kind == "plus":
            return functools.reduce(_Linear.plus, parts)
        if kind == "minus":  # (- a) negates, (- a b c) is a - b - c
            return parts[0].scaled(Fraction(-1)) if len(parts) == 1 else functools.reduce(_Linear.minus, parts)
        constants = [p.const for p in parts if not p.coeffs]
        if len(constants) < len(parts) - 1:
            raise self.error(tree, "nonlinear term: a product may have at most one non-constant factor")
        variable = next((p for p in parts if p.coeffs), _Linear({}, Fraction(1)))
        return variable.scaled(math.prod(constants, start=Fraction(1)))

    def var(self, name: Token) -> _Linear:
        if name not in self.declared:
            raise self.error(name, f"undeclared variable {name}")
        return _Linear({(name[0], int(name[2:])): Fraction(1)}, Fraction(0))

    def box(self, bounds: tuple[_Bound, ...], num_inputs: int) -> Box:
        """The box of one DNF term's bounds: the tightest bound on each side of every X."""
        lower: list[_Bound | None] = [None] * num_inputs
        upper: list[_Bound | None] = [None] * num_inputs
        for b in bounds:
            if b.upper and (upper[b.index] is None or b.value < upper[b.index].value):
                upper[b.index] = b
            elif not b.upper and (lower[b.index] is None or b.value > lower[b.index].value):
                lower[b.index] = b
        for i, (lo, hi) in enumerate(zip(lower, upper)):
            if lo is None or hi is None:
                side = "lower" if lo is None else "upper"
                raise self.error(self.declared[f"X_{i}"], f"input X_{i} has no {side} bound{self.branch_note()}")
            if lo.value > hi.value:
                raise self.error(hi.at, f"X_{i} <= {hi.value} contradicts X_{i} >= {lo.value} "
                                 f"(line {lo.at.children[0].line}): the input region is empty")
        return Box(tuple(b.value for b in lower), tuple(b.value for b in upper), (num_inputs,))  # type: ignore[union-attr]

    def branch_note(self) -> str:
        return " in some branch of an `or`" if any(len(d) > 1 for d in self.asserts) else ""


def _constraint(atom: _Output, num_outputs: int) -> LinearConstraint:
    coeffs = [Fraction(0)] * num_outputs
    for j, c in atom.coeffs:
        coeffs[j] = c
    return LinearConstraint(tuple(coeffs), atom.bound)
