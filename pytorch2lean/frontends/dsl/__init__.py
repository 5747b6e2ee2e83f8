"""The model DSL (`.p2l` files): a small text language that lowers to the graph IR.

    model mlp
    input x: [1, 5]
    param fc1.weight: [16, 5]
    param fc1.bias: [16]
    h = linear(x, fc1.weight, fc1.bias)
    y = leaky_relu(h, alpha=0.1)
    output y

`parse_model` returns a validated graph whose parameters are declared but not bound; a
checkpoint binds them by name. `format_model` writes any graph back as DSL text.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import FrontendError, ParseError
from ...ir.graph import Graph
from .format import format_model
from .lower import lower
from .syntax import Source, parse_syntax


def parse_model(text: str, source: str = "<string>") -> Graph:
    """The validated graph of a model text; `source` names it in error messages."""
    src = Source(source, text)
    return lower(parse_syntax(src), src)


def load_model(path: str | Path) -> Graph:
    """The validated graph of a `.p2l` file."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise FrontendError(f"cannot read model file {str(path)!r}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ParseError(f"{path}: not UTF-8 text (byte {e.start})") from None
    return parse_model(text, str(path))


__all__ = ["format_model", "load_model", "parse_model"]
