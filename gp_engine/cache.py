"""The per-run fitness cache: one entry per metric hash (``key``), the ranking classes seen, JSON round-trip.

Checkpoints written before scores were keyed by hash may key an entry by a ranking hash while it
holds another member's score; such an entry is never reused for a different metric
(``FitnessCache.get_for``)."""
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
    rank_hash: str | None = None  # the metric's ranking class (None: invalid, or an older checkpoint)

    @property
    def full(self) -> bool:
        """Scored at the task's full budget (only such entries are ranked against each other)."""
        return self.budget is None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite values as strings)."""
        data = asdict(self)
        data["value"] = encode_float(self.value)
        data["wall_s"] = encode_float(self.wall_s)
        if self.rank_hash is None:
            del data["rank_hash"]
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
                        budget=None if data.get("budget") is None else str(data["budget"]),
                        rank_hash=None if data.get("rank_hash") is None else str(data["rank_hash"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"bad cache entry in checkpoint: {exc}") from None
        if entry.source not in SOURCES:
            raise CheckpointError(f"bad cache entry source {entry.source!r}")
        return entry


class FitnessCache:
    """Entries by key, in insertion order."""

    def __init__(self) -> None:
        self._entries: dict[str, CacheEntry] = {}
        self._classes: set[str] = set()

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __getitem__(self, key: str) -> CacheEntry:
        return self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[CacheEntry]:
        return iter(self._entries.values())

    def add(self, entry: CacheEntry) -> None:
        """Insert (first writer wins: a metric's entry never changes once known; an older checkpoint's
        entry under this key that holds another member's score gives way)."""
        known = self._entries.get(entry.key)
        if known is None or known.hash != entry.hash:
            self._entries[entry.key] = entry
        self._classes.update(k for k in (entry.hash, entry.rank_hash) if k)

    def get_for(self, key: str, metric_hash: str) -> CacheEntry | None:
        """The entry under ``key`` if it was scored from the metric ``metric_hash`` itself, else None."""
        entry = self._entries.get(key)
        return entry if entry is not None and entry.hash == metric_hash else None

    def has_class(self, class_key: str) -> bool:
        """True when a metric of this ranking class (or hash) has been scored by the run."""
        return class_key in self._classes

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
