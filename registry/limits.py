"""Size limits and name rules of the registry, checked in code before any write on every backend.

SQLite ignores column lengths, so without these a 50 MB name is stored as is and slows every
listing. The limits:

| field | limit |
|---|---|
| metric name | 1-128 characters: printable, no control or format characters, no surrounding spaces, not 6-16 hex digits (those look up hashes) |
| formula text, canonical form | 20,000 characters (the grammar's ``MAX_LENGTH``) |
| run id, run name, host | 64 / 255 / 255 characters |
| evaluation reason | 2,000 characters (longer reasons are cut, marked with "...") |
| settings, versions, run config (JSON) | 64 KiB each |
| an import file | 16 MiB, nesting 132 JSON levels: a tree 64 levels deep (``primitives.safe_json``) |
"""
from __future__ import annotations

import re
import unicodedata

from primitives.grammar import MAX_LENGTH
from registry.errors import RegistryError

MAX_NAME = 128
MAX_FORMULA = MAX_LENGTH
MAX_RUN_ID = 64
MAX_LABEL = 255
MAX_REASON = 2_000
MAX_JSON_FIELD = 64 * 1024
_HASH_LIKE = re.compile(r"[0-9a-fA-F]{6,16}")


class LimitError(RegistryError, ValueError):
    """A value breaks a registry size limit or name rule; the message names which."""


def check_name(name: object) -> str:
    """A metric name that follows the rules (see the module docstring), else LimitError."""
    if not isinstance(name, str):
        raise LimitError(f"a metric name must be text, not {type(name).__name__}")
    if not name or len(name) > MAX_NAME:
        raise LimitError(f"a metric name must be 1-{MAX_NAME} characters, got {len(name)}")
    bad = next((c for c in name if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")), None)
    if bad is not None:
        raise LimitError(f"a metric name may not contain the control or format character {bad!r}")
    if name != name.strip():
        raise LimitError("a metric name may not start or end with spaces")
    if _HASH_LIKE.fullmatch(name):
        raise LimitError(f"a metric name may not be 6-16 hex digits ({name!r} would shadow hash look-ups)")
    return name


def check_length(what: str, value: str | None, limit: int) -> str | None:
    """The value if it fits the limit, else LimitError naming the field."""
    if value is not None and len(value) > limit:
        raise LimitError(f"{what} is {len(value)} characters; the limit is {limit}")
    return value


def cut(value: str | None, limit: int = MAX_REASON) -> str | None:
    """A free-text field cut to its limit (the end marked with "...")."""
    if value is None or len(value) <= limit:
        return value
    return value[: limit - 3] + "..."
