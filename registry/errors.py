"""Errors raised by the registry."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy.exc import DBAPIError, IntegrityError

from primitives.errors import MetricNotFound


class RegistryError(Exception):
    """A registry cannot be opened, read or written; the message is one line."""


class NotFoundError(RegistryError, MetricNotFound):
    """No metric, evaluation or run matches the reference."""


class AmbiguousError(RegistryError, LookupError):
    """A reference (hash prefix, leaderboard filter) matches more than one thing."""


@contextlib.contextmanager
def database_errors(what: str, where: str) -> Iterator[None]:
    """Turn driver errors into a one-line RegistryError naming the (password-less) URL."""
    try:
        yield
    except DBAPIError as exc:
        detail = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
        kind = "write refused" if isinstance(exc, IntegrityError) else what
        raise RegistryError(f"{kind} ({where}): {detail}") from None
