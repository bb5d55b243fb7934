"""Stable keys derived from evaluation settings."""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any


def finite_json(value: Any) -> Any:
    """A copy with NaN and infinities as None (through dicts, lists, tuples), so the text is standard JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    return value


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
