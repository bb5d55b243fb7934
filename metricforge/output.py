"""Printing for the CLI: rich tables on a terminal, JSON on request."""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any, Iterable, Sequence


def to_plain(value: Any) -> Any:
    """Records, datetimes and tuples to JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    return value


def print_json(value: Any) -> None:
    print(json.dumps(to_plain(value), indent=2))


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A table with one row per record (wraps on narrow terminals, plain in pipes)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v)) for v in row))
    Console(width=None if Console().is_terminal else 200).print(table)
