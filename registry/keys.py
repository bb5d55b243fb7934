"""Stable keys derived from evaluation settings."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def canonical_json(value: Any) -> str:
    """JSON text with sorted keys, so equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def settings_key(settings: Mapping[str, Any]) -> str:
    """First 16 hex digits of sha256 over the settings as sorted-key JSON."""
    text = json.dumps(dict(settings), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def budget_text(budget: Any) -> str | None:
    """A budget as one string: kept if text, "k=v,..." (sorted) if a mapping."""
    if budget is None:
        return None
    if isinstance(budget, Mapping):
        return ",".join(f"{k}={budget[k]}" for k in sorted(budget))
    return str(budget)
