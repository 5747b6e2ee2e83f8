"""Mutations of valid inputs, shared by the fuzz tests of every reader (test_fuzz_readers.py) and of
certificates (test_check_claim.py), and the contract each reader is held to.

The contract (README, errors.py): whatever a user hands a reader, it returns, or raises one
`UserError` whose message names the place. `answered` checks exactly that; any other exception
escapes, and hypothesis reports it with its traceback. Each outcome is a hypothesis event, so
`pytest --hypothesis-show-statistics` prints, per reader, how many cases were read and refused.

Mutations start from a valid file, so most cases get past the first check and reach the deeper
ones (binding, shapes, lowering): bytes (flips, cuts, splices), tokens of a text (deleted, doubled,
swapped, replaced by a troublesome word), or one edit anywhere in a JSON document.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
from typing import Any, Callable, Iterator, Sequence, TypeVar

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st

from pytorch2lean.errors import UserError

T = TypeVar("T")


def fuzz(examples: int) -> settings:
    """Fixed-seed settings for CI: the same `examples` cases every run, no example database, no deadline."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.filter_too_much])


class Hung(BaseException):
    """Raised in a case that ran past its time guard. A BaseException, so that a reader's `except
    Exception` (the ONNX loader has one) cannot take it for a refusal of the input; `within` turns
    it into an AssertionError, which hypothesis reports (and shrinks) like any failed case."""


@contextlib.contextmanager
def within(seconds: float, what: str) -> Iterator[None]:
    """Fail the case (an AssertionError) when the block runs longer than `seconds` (SIGALRM, so in
    the main thread only; a loop inside one C call is not interrupted).

    A reader that loops on some input would otherwise stall the whole suite in CI with no name for
    the case; with the guard, hypothesis reports the case that hung like any other failure."""
    def expire(signum: int, frame: Any) -> None:
        raise Hung(f"{what}: still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except Hung as e:
        raise AssertionError(str(e)) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def answered(reader: str, call: Callable[[], T], *places: str) -> T | None:
    """`call()`'s value, or None when it raised a UserError with a message that names one of
    `places` (when given). Any other exception propagates: that is a traceback a user would see."""
    try:
        value = call()
    except UserError as e:
        message = str(e)
        assert message.strip(), f"{reader}: a UserError without a message"
        assert not places or any(p in message for p in places), f"{reader}: the message names none of {places}: {message}"
        event(f"{reader}: refused")
        return None
    event(f"{reader}: read")
    return value


@st.composite
def mutated_bytes(draw: st.DrawFn, seed: bytes) -> bytes:
    """`seed` after one to four byte edits: a flipped bit, a cut end, a deleted, doubled or random run."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        end = min(len(data), at + draw(st.integers(1, 64)))
        kind = draw(st.sampled_from(["flip", "truncate", "delete", "double", "random", "zero"]))
        if kind == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[at:]
        elif kind == "delete":
            del data[at:end]
        elif kind == "double":
            data[at:at] = data[at:end]
        elif kind == "random":
            data[at:end] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "zero":
            data[at:end] = bytes(end - at)
    return bytes(data)


TOKEN = re.compile(r"\s+|[A-Za-z_][\w.]*|-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|.", re.S)
TROUBLE = ("", " ", "\n", "0", "-1", "-0", "1e309", "1e-400", "nan", "inf", "-inf", "99999999999999999999",
           "0.1", "1/0", "(", ")", "[", "]", ",", ":", "=", "#", ";", "\"", "\\", "é", "\t", "\x00", "1,2")


@st.composite
def mutated_text(draw: st.DrawFn, seed: str, words: Sequence[str] = ()) -> str:
    """`seed` after one to three token edits; replacements come from its own tokens, `words` and
    `TROUBLE` (numbers that overflow, NaN, brackets that unbalance, a NUL)."""
    tokens = TOKEN.findall(seed) or [""]
    vocabulary = sorted(set(tokens) | set(words) | set(TROUBLE))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(tokens) - 1))
        kind = draw(st.sampled_from(["delete", "double", "replace", "insert", "swap"]))
        if kind == "delete" and len(tokens) > 1:
            del tokens[i]
        elif kind == "double":
            tokens.insert(i, tokens[i])
        elif kind == "replace":
            tokens[i] = draw(st.sampled_from(vocabulary))
        elif kind == "insert":
            tokens.insert(i, draw(st.sampled_from(vocabulary)))
        elif kind == "swap":
            j = draw(st.integers(0, len(tokens) - 1))
            tokens[i], tokens[j] = tokens[j], tokens[i]
    return "".join(tokens)


def json_paths(doc: Any, at: tuple = ()) -> list[tuple]:
    """Every place in a JSON document: keys of objects and indices of lists (the first few of each)."""
    found = [at]
    items = doc.items() if isinstance(doc, dict) else enumerate(doc[:3]) if isinstance(doc, list) else ()
    for key, value in items:
        found += json_paths(value, at + (key,))
    return found


JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=4) | st.sampled_from(["1/2", "-1"]),
                    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
                    max_leaves=4)


@st.composite
def json_edit(draw: st.DrawFn, doc: Any, values: st.SearchStrategy[Any] = JSON) -> Any:
    """A copy of `doc` with one place (below the root) deleted or replaced by a value of `values`."""
    doc = json.loads(json.dumps(doc))
    path = draw(st.sampled_from(json_paths(doc)[1:]))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(values)
    return doc
