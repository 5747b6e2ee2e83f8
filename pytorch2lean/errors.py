"""User-facing errors.

Every mistake a user can make (bad model text, bad checkpoint, wrong shapes) raises a subclass of
`UserError`. The CLI prints its message and exits non-zero without a traceback; anything else that
escapes is a bug in pytorch2lean and keeps its traceback.
"""

from __future__ import annotations


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
