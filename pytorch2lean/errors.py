"""User-facing errors.

Every mistake a user can make (bad model text, bad checkpoint, wrong shapes) raises a subclass of
`UserError`. The CLI prints its message and exits non-zero without a traceback; anything else that
escapes is a bug in pytorch2lean and keeps its traceback.
"""

from __future__ import annotations

from typing import TypeVar


class UserError(Exception):
    """A mistake in the user's input: the message names the place (file:line:col, node, parameter)."""


class GraphError(UserError):
    """The graph is not well-formed: a dangling reference, a cycle, a wrong arity or attribute."""


class ShapeError(UserError):
    """Shapes do not fit an op's rule; the message names the node, the op and both shapes."""


class ParseError(UserError):
    """Model or property text does not parse; the message carries file:line:col and the text."""


class CheckpointError(UserError):
    """A checkpoint is unreadable, unsafe, or does not bind to the model's parameters."""


class FrontendError(UserError):
    """A model file uses something a frontend cannot lower (an unsupported op, a dynamic shape)."""


class BackendError(UserError):
    """The requested array backend (e.g. CuPy on a GPU) is not available here."""


E = TypeVar("E", bound=UserError)


def located(cls: type[E], source: str, text: str, line: int, column: int, message: str, width: int = 1) -> E:
    """`cls` with `source:line:col: message`, then that source line with the place underlined.

    The one form every parser here (the model DSL, VNN-LIB) reports a mistake in, so a user sees
    the same thing whichever file they got wrong; the first line alone stays editor-clickable.
    """
    lines = text.splitlines() or [""]
    shown = lines[min(max(line, 1), len(lines)) - 1]
    gutter = f"{line:>4} | "
    caret = " " * (len(gutter) - 2) + "| " + " " * (column - 1) + "^" * max(width, 1)
    return cls(f"{source}:{line}:{column}: {message}\n{gutter}{shown}\n{caret}")
