"""JSON-safe copies of results: NaN and infinities become None, so the files are standard JSON."""
from __future__ import annotations

import math
from typing import Any


def json_safe(value: Any) -> Any:
    """A copy with every non-finite float as None, through lists, tuples and dicts."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
