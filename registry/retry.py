"""Retry a write transaction when the database is momentarily locked or deadlocked."""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)
T = TypeVar("T")

LOCKED_TEXT = ("database is locked", "database table is locked", "database is busy")
RETRY_SQLSTATES = {"40001", "40P01"}  # PostgreSQL serialization failure, deadlock


def is_transient(exc: DBAPIError) -> bool:
    """True for SQLite lock errors and PostgreSQL serialization failures or deadlocks."""
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state in RETRY_SQLSTATES or any(t in str(orig).lower() for t in LOCKED_TEXT)


def with_retry(fn: Callable[[], T], attempts: int = 8, base_s: float = 0.05) -> T:
    """Call fn, retrying transient lock errors with jittered exponential backoff."""
    for attempt in range(attempts):
        try:
            return fn()
        except DBAPIError as exc:
            if attempt == attempts - 1 or not is_transient(exc):
                raise
            delay = min(2.0, base_s * 2**attempt) * random.uniform(0.5, 1.5)
            log.debug("transient database error (%s); retry %d in %.2fs", exc.orig, attempt + 1, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")
