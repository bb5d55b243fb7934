"""The search settings a tuning study varies, their ranges, and the SearchConfig of one trial.

Our variation is DEAP's ``varAnd`` pattern (crossover on pairs with ``cxpb``, then mutation of
each child with ``mutpb``, independently), so ``cxpb`` and ``mutpb`` need not sum to at most 1
as they would for ``varOr``; each is sampled on its own range.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from gp_engine.config import SearchConfig

PARAMS = ("population", "cxpb", "mutpb", "tournament", "elite")
PROBABILITIES = ("cxpb", "mutpb")


class TuningError(ValueError):
    """An invalid tuning request (bad ranges, budget, study mismatch, missing optuna)."""


@dataclass(frozen=True)
class TuneSpace:
    """Inclusive ranges of the tuned settings; settings not in ``tuned`` keep the base config's value."""

    population: tuple[int, int] = (8, 64)  # sampled on a log scale
    cxpb: tuple[float, float] = (0.0, 1.0)
    mutpb: tuple[float, float] = (0.0, 1.0)
    tournament: tuple[int, int] = (2, 8)
    elite: tuple[int, int] = (0, 4)
    tuned: tuple[str, ...] = PARAMS

    def __post_init__(self) -> None:
        """Check the ranges against each other and against SearchConfig's own limits."""
        object.__setattr__(self, "tuned", tuple(self.tuned))
        unknown = sorted(set(self.tuned) - set(PARAMS))
        if unknown or not self.tuned:
            raise TuningError(f"cannot tune {unknown or 'nothing'}; tunable settings: {', '.join(PARAMS)}")
        for name in PARAMS:
            lo, hi = getattr(self, name)
            if lo > hi:
                raise TuningError(f"{name} range {lo}..{hi} is empty")
            if name in PROBABILITIES and not 0 <= lo <= hi <= 1:
                raise TuningError(f"{name} range must lie in [0, 1], got {lo}..{hi}")
        if self.population[0] < 2 or self.tournament[0] < 1 or self.elite[0] < 0:
            raise TuningError("need population >= 2, tournament >= 1 and elite >= 0")
        if "elite" in self.tuned and self.elite[1] >= self.population[0]:
            raise TuningError(f"elite range {self.elite} must stay below the smallest population "
                              f"{self.population[0]}")

    def suggest(self, trial: Any, base: SearchConfig) -> SearchConfig:
        """The base config with this trial's values of the tuned settings."""
        values: dict[str, Any] = {}
        for name in self.tuned:
            lo, hi = getattr(self, name)
            if name in PROBABILITIES:
                values[name] = trial.suggest_float(name, float(lo), float(hi))
            else:
                values[name] = trial.suggest_int(name, int(lo), int(hi), log=name == "population")
        if "elite" not in self.tuned and base.elite >= values.get("population", base.population):
            raise TuningError(f"base elite {base.elite} is not below population {values['population']}")
        return base.replace(**values)

    def params_of(self, config: SearchConfig) -> dict[str, Any] | None:
        """The tuned settings of a config, or None when one lies outside its range."""
        params = {name: getattr(config, name) for name in self.tuned}
        inside = all(getattr(self, n)[0] <= v <= getattr(self, n)[1] for n, v in params.items())
        return params if inside else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored with the study."""
        return {"tuned": list(self.tuned), **{n: list(getattr(self, n)) for n in PARAMS}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TuneSpace":
        """The inverse of ``to_dict``."""
        return cls(tuned=tuple(data["tuned"]), **{n: tuple(data[n]) for n in PARAMS})
