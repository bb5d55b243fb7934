"""JSON from outside the process, read defensively: size, nesting, numbers and keys checked.

``json.loads`` recurses once per nesting level (a RecursionError on deep input), turns ``1e400``
into ``inf`` and keeps the last of duplicate keys. ``loads`` here measures the nesting with a loop
before parsing, refuses non-finite and out-of-range numbers, ``NaN``/``Infinity`` and duplicate
keys, and raises ``JSONInputError`` with one line naming the problem.
"""
from __future__ import annotations

import json
import re
from typing import Any

from primitives.grammar import MAX_DEPTH

MAX_JSON_BYTES = 16 * 1024 * 1024  # a registry export of ~100k evaluations fits
MAX_JSON_DEPTH = 2 * MAX_DEPTH + 4  # a tree level is two JSON levels ({"op", "args": [...]}), plus the envelope
MAX_INT = 2**63 - 1  # what every SQL backend stores in a BIGINT
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class JSONInputError(ValueError):
    """JSON text that is too large, too deep, malformed, or holds numbers or keys we refuse."""


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects, counted without recursion (strings skipped)."""
    depth = deepest = 0
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise JSONInputError(f"number {text[:40]} is outside the float range")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > 19 or abs(int(text)) > MAX_INT:
        raise JSONInputError(f"integer {text[:40]}{'...' if len(text) > 40 else ''} is outside the 64-bit range")
    return int(text)


def _constant(name: str) -> Any:
    raise JSONInputError(f"{name} is not a JSON number")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise JSONInputError(f"duplicate key {key[:60]!r} in a JSON object")
        result[key] = value
    return result


def loads(text: str | bytes, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse untrusted JSON text within the limits; JSONInputError (one line) otherwise."""
    if isinstance(text, bytes):
        if len(text) > max_bytes:
            raise JSONInputError(f"JSON input is {len(text)} bytes; the limit is {max_bytes}")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONInputError(f"JSON input is not UTF-8 text (byte {exc.start})") from None
    if not isinstance(text, str):
        raise JSONInputError("JSON input must be text")
    if len(text) > max_bytes:
        raise JSONInputError(f"JSON input is {len(text)} characters; the limit is {max_bytes}")
    depth = nesting_depth(text)
    if depth > max_depth:
        raise JSONInputError(f"JSON nests {depth} levels deep; the limit is {max_depth}")
    try:
        return json.loads(text, parse_float=_float, parse_int=_int, parse_constant=_constant,
                          object_pairs_hook=_object)
    except JSONInputError:
        raise
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise JSONInputError(f"not valid JSON: {str(exc).splitlines()[0][:200]}") from None
