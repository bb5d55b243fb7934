"""Comma-separated option values (``--sparsities 0.5,0.9``), with errors that name the option."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def names(text: str, what: str) -> tuple[str, ...]:
    """Comma-separated words; ValueError naming the option when empty."""
    words = tuple(w.strip() for w in text.split(",") if w.strip())
    if not words:
        raise ValueError(f"{what} is empty")
    return words


def _converted(text: str, what: str, convert: Callable[[str], T], kind: str) -> tuple[T, ...]:
    words = names(text, what)
    try:
        return tuple(convert(w) for w in words)
    except ValueError:
        raise ValueError(f"{what} must be comma-separated {kind}, got {text!r}") from None


def floats(text: str, what: str) -> tuple[float, ...]:
    """Comma-separated numbers."""
    return _converted(text, what, float, "numbers")


def ints(text: str, what: str) -> tuple[int, ...]:
    """Comma-separated integers."""
    return _converted(text, what, int, "integers")
