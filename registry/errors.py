"""Errors raised by the registry."""
from __future__ import annotations


class RegistryError(Exception):
    """A registry cannot be opened, read or written; the message is one line."""


class NotFoundError(RegistryError, LookupError):
    """No metric, evaluation or run matches the reference."""


class AmbiguousError(RegistryError, LookupError):
    """A reference (hash prefix, leaderboard filter) matches more than one thing."""
