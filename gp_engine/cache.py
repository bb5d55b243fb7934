"""The per-run fitness cache: one entry per dedup key (hash or rank_hash), JSON round-trip."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterator

from gp_engine.checkpoint import CheckpointError, decode_float, encode_float

SOURCES = ("evaluated", "registry", "constant", "invalid")


@dataclass
class CacheEntry:
    """What the run knows about one metric class: its representative, score and provenance."""

    key: str
    hash: str
    canonical: str
    complexity: int
    value: float
    ok: bool
    reason: str | None
    wall_s: float | None
    source: str  # "evaluated" by this run, "registry" (scored before), "constant", "invalid"
    generation: int
    budget: str | None = None  # None: the full budget; else the reduced budget it stopped at

    @property
    def full(self) -> bool:
        """Scored at the task's full budget (only such entries are ranked against each other)."""
        return self.budget is None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite values as strings)."""
        data = asdict(self)
        data["value"] = encode_float(self.value)
        data["wall_s"] = encode_float(self.wall_s)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "CacheEntry":
        """Validate field types (the file may come from elsewhere)."""
        try:
            entry = cls(key=str(data["key"]), hash=str(data["hash"]), canonical=str(data["canonical"]),
                        complexity=int(data["complexity"]),
                        value=float(decode_float(data["value"])),  # type: ignore[arg-type]
                        ok=bool(data["ok"]), reason=None if data["reason"] is None else str(data["reason"]),
                        wall_s=decode_float(data["wall_s"]), source=str(data["source"]),
                        generation=int(data["generation"]),
                        budget=None if data.get("budget") is None else str(data["budget"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"bad cache entry in checkpoint: {exc}") from None
        if entry.source not in SOURCES:
            raise CheckpointError(f"bad cache entry source {entry.source!r}")
        return entry


class FitnessCache:
    """Entries by key, in insertion order."""

    def __init__(self) -> None:
        self._entries: dict[str, CacheEntry] = {}

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __getitem__(self, key: str) -> CacheEntry:
        return self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[CacheEntry]:
        return iter(self._entries.values())

    def add(self, entry: CacheEntry) -> None:
        """Insert (first writer wins: an entry never changes once known)."""
        self._entries.setdefault(entry.key, entry)

    def full(self) -> list[CacheEntry]:
        """The entries scored at the full budget: the only ones results and rankings use."""
        return [e for e in self._entries.values() if e.full]

    def to_json(self) -> list[dict[str, Any]]:
        """Entries as a JSON list."""
        return [e.to_json() for e in self._entries.values()]

    @classmethod
    def from_json(cls, data: Any) -> "FitnessCache":
        """Rebuild from ``to_json`` output."""
        if not isinstance(data, list):
            raise CheckpointError("checkpoint cache must be a list")
        cache = cls()
        for item in data:
            if not isinstance(item, dict):
                raise CheckpointError("checkpoint cache entries must be objects")
            cache.add(CacheEntry.from_json(item))
        return cache
