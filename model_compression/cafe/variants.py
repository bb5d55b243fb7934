"""Arms of the CAFE study: a labelled method with its options, which may differ per ratio (tuned settings).

``Variant("cafe-tuned", "cafe", per_ratio=((0.1, MethodOptions(hot_fraction=0.2)), ...))`` runs CAFE
with the options of each ratio (``options`` where a ratio has none); rows carry the label."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from evaluators.embedding.cafe.methods import MethodOptions, check_methods


@dataclass(frozen=True)
class Variant:
    """A labelled method with its default options and per-ratio overrides."""

    label: str
    method: str
    options: MethodOptions = MethodOptions()
    per_ratio: tuple[tuple[float, MethodOptions], ...] = ()

    def __post_init__(self) -> None:
        check_methods((self.method,))
        if not isinstance(self.label, str) or not self.label.strip() or "|" in self.label:
            raise ValueError(f"a variant label must be a non-empty name without '|', got {self.label!r}")
        pairs = tuple((float(r), o if isinstance(o, MethodOptions) else MethodOptions(**o)) for r, o in self.per_ratio)
        object.__setattr__(self, "per_ratio", pairs)
        if not isinstance(self.options, MethodOptions):
            object.__setattr__(self, "options", MethodOptions(**self.options))

    def at(self, ratio: float) -> MethodOptions:
        """The options used at ``ratio``."""
        return dict(self.per_ratio).get(float(ratio), self.options)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (per-ratio options keyed by the ratio's text)."""
        return {"label": self.label, "method": self.method, "options": asdict(self.options),
                "per_ratio": {repr(r): asdict(o) for r, o in self.per_ratio}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Variant":
        """Inverse of ``to_dict``; unknown option names raise TypeError naming them."""
        per_ratio = tuple((float(r), MethodOptions(**o)) for r, o in dict(data.get("per_ratio", {})).items())
        return cls(str(data["label"]), str(data["method"]), MethodOptions(**data.get("options", {})), per_ratio)


def check_labels(variants: tuple[Variant, ...]) -> tuple[Variant, ...]:
    """The variants, each label once; ValueError otherwise."""
    labels = [v.label for v in variants]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ValueError(f"variant labels must be unique, repeated: {', '.join(repeated)}")
    return variants
