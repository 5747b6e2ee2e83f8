"""Text to syntax tree: the grammar (`model.lark`), positions, and readable syntax errors.

The tree keeps every name and literal with its source span, so that the lowering can point
each semantic error (unknown name, wrong attribute, bad shape) at the exact text that caused it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Iterator, Union

from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedToken
from lark.lexer import PatternStr

from ...errors import ParseError, UserError, located
from ...ir.graph import AttrValue, Shape

GRAMMAR = Path(__file__).with_name("model.lark")
KEYWORDS = frozenset({"model", "input", "param", "output", "meta", "true", "false"})
_OPEN, _CLOSE = frozenset({"LPAR", "LSQB"}), frozenset({"RPAR", "RSQB"})
_TERMINAL_WORDS = {
    "NAME": "a name",
    "QNAME": "a `quoted name`",
    "INT": "an integer",
    "FLOAT": "a float",
    "STRING": 'a "string"',
    "_NL": "end of line",
    "$END": "end of file",
}


@dataclass(frozen=True)
class Span:
    """Where a piece of text sits: 1-based line and column, and its width in characters."""

    line: int
    column: int
    width: int = 1


@dataclass(frozen=True)
class Name:
    """A name as written (backticks removed) and where."""

    text: str
    span: Span


@dataclass(frozen=True)
class Literal:
    """An attribute value and its DSL kind: int, float, bool, str, ints or floats."""

    value: AttrValue
    kind: str
    span: Span


@dataclass(frozen=True)
class Decl:
    """`input NAME: [shape]` or `param NAME: [shape]`."""

    keyword: str
    name: Name
    shape: Shape


@dataclass(frozen=True)
class Kwarg:
    """`name=value` inside an op application."""

    name: Name
    value: Literal


@dataclass(frozen=True)
class Apply:
    """`target[: shape] = op(arg, ..., key=value, ...)`; `args` keeps the written order."""

    target: Name
    shape: Shape | None
    op: Name
    args: tuple[Union[Name, Kwarg], ...]


@dataclass(frozen=True)
class Outputs:
    """`output a, b`."""

    names: tuple[Name, ...]


@dataclass(frozen=True)
class Meta:
    """`meta key = "value"`: a metadata entry of the graph."""

    key: Name
    value: str


Statement = Union[Decl, Apply, Outputs, Meta]


@dataclass(frozen=True)
class Module:
    """A whole model file: its name and statements in order."""

    name: Name
    statements: tuple[Statement, ...]


@dataclass(frozen=True)
class Source:
    """A model text and the name it is reported under; turns spans into error messages."""

    name: str
    text: str

    def error(self, cls: type[UserError], span: Span | None, message: str) -> UserError:
        """`cls` with `file:line:col: message` and the source line with the span underlined."""
        if span is None:
            return cls(f"{self.name}: {message}")
        return located(cls, self.name, self.text, span.line, span.column, message, span.width)

    def end(self) -> Span:
        """The span just past the last character, for 'unexpected end of file'."""
        lines = self.text.splitlines() or [""]
        return Span(len(lines), len(lines[-1]) + 1)


class _BracketNewlines:
    """Post-lexer: newlines inside (...) or [...] continue the statement instead of ending it."""

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = 0
        for token in stream:
            if token.type in _OPEN:
                depth += 1
            elif token.type in _CLOSE:
                depth = max(depth - 1, 0)
            elif token.type == "_NL" and depth:
                continue
            yield token


@cache
def _parser() -> Lark:
    return Lark(
        GRAMMAR.read_text(encoding="utf-8"),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        postlex=_BracketNewlines(),
    )


def _span(token: Token) -> Span:
    return Span(token.line, token.column, len(token.value))


def _present(children: list) -> list:
    """Children without bracket tokens and the None placeholders of absent optional parts."""
    return [c for c in children if c is not None and not (isinstance(c, Token) and c.type in _OPEN | _CLOSE)]


class _ToAst(Transformer):
    """Lark tree -> the dataclasses above (no checks: those belong to the lowering)."""

    def start(self, children: list) -> Module:
        return Module(children[0], tuple(children[1:]))

    def header(self, children: list) -> Name:
        return children[0]

    def name(self, children: list) -> Name:
        token = children[0]
        text = token.value[1:-1] if token.type == "QNAME" else token.value
        return Name(text, _span(token))

    def shape(self, children: list) -> Shape:
        return tuple(int(t) for t in _present(children))

    def input_decl(self, children: list) -> Decl:
        return Decl("input", children[0], children[1])

    def param_decl(self, children: list) -> Decl:
        return Decl("param", children[0], children[1])

    def apply(self, children: list) -> Apply:
        target, shape, op, *rest = children
        return Apply(target, shape, Name(op.value, _span(op)), tuple(_present(rest)))

    def kwarg(self, children: list) -> Kwarg:
        return Kwarg(children[0], children[1])

    def output_stmt(self, children: list) -> Outputs:
        return Outputs(tuple(_present(children)))

    def meta_stmt(self, children: list) -> Meta:
        return Meta(children[0], json.loads(children[1].value))

    def integer(self, children: list) -> Literal:
        return Literal(int(children[0]), "int", _span(children[0]))

    def real(self, children: list) -> Literal:
        return Literal(float(children[0]), "float", _span(children[0]))

    def string(self, children: list) -> Literal:
        return Literal(json.loads(children[0].value), "str", _span(children[0]))

    def boolean(self, children: list) -> Literal:
        return Literal(children[0].value == "true", "bool", _span(children[0]))

    def array(self, children: list) -> Literal:
        open_bracket, items = children[0], _present(children)
        kind = "floats" if any(i.kind == "float" for i in items) else "ints"
        width = children[-1].end_pos - open_bracket.start_pos
        return Literal(tuple(i.value for i in items), kind, Span(open_bracket.line, open_bracket.column, width))


def parse_syntax(source: Source) -> Module:
    """The syntax tree of a model text; a syntax error is a ParseError at the offending token."""
    try:
        tree = _parser().parse(source.text)
    except (UnexpectedToken, UnexpectedCharacters) as e:
        raise _syntax_error(source, e) from None
    return _ToAst().transform(tree)


def _syntax_error(source: Source, e: UnexpectedToken | UnexpectedCharacters) -> UserError:
    if isinstance(e, UnexpectedToken):
        token, expected = e.token, _expected(e.interactive_parser.accepts() or e.expected)
        if token.type == "$END":
            return source.error(ParseError, source.end(), f"unexpected end of file; expected {expected}")
        shown = "end of line" if token.type == "_NL" else repr(token.value)
        width = 1 if token.type == "_NL" else len(token.value)
        return source.error(ParseError, Span(token.line, token.column, width), f"unexpected {shown}; expected {expected}")
    if e.char == '"':
        return source.error(ParseError, Span(e.line, e.column), "malformed string: a string is JSON text on one line "
                            r'(escapes \" \\ \/ \b \f \n \r \t \uXXXX)')
    return source.error(ParseError, Span(e.line, e.column), f"unexpected character {e.char!r}; expected {_expected(e.allowed)}")


def _expected(terminals: set[str]) -> str:
    """The expected terminals in words; the end of a line or file only when nothing else would do."""
    ends = {"_NL", "$END"}
    wanted = (set(terminals) - ends) or ({"_NL"} & set(terminals)) or set(terminals)
    words = sorted({_describe(t) for t in wanted})
    return words[0] if len(words) == 1 else "one of " + ", ".join(words)


def _describe(terminal: str) -> str:
    if terminal in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[terminal]
    pattern = _parser().get_terminal(terminal).pattern
    return repr(pattern.value) if isinstance(pattern, PatternStr) else terminal
