"""The search configuration: one flat dataclass, loadable from TOML, recorded as JSON."""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from gp_engine.heldout import ValidationSettings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEDUP_MODES = ("auto", "hash", "rank")
EVOLVE = ("score", "allocation", "recipe")  # gp_engine.genome: what the trees are
POST_STEPS = ("none", "dsnot", "swap", "ls", "obs")  # primitives.recipe.POST_STEPS
MAP_KINDS = ("inprocess", "pool", "ray")
MUTATIONS = ("uniform", "node", "shrink", "insert")
PROXY = "proxy"  # the fidelity rung scored with the task's cheap proxy (``Task.proxy_options``)


class ConfigError(ValueError):
    """An invalid search configuration value."""


@dataclass
class SearchConfig:
    """Everything that determines a search (task options live in ``task_options``)."""

    task: str = "mlp-prune"
    task_options: dict[str, Any] = field(default_factory=dict)
    population: int = 32
    generations: int = 10
    seed: int = 0
    cxpb: float = 0.6
    mutpb: float = 0.4
    tournament: int = 3
    novelty_retries: int = 4  # extra mutations for a child that repeats a scored metric
    elite: int = 2
    init_min_height: int = 1
    init_max_height: int = 4
    max_height: int = 8
    max_size: int = 40
    mutations: tuple[str, ...] = ("uniform", "node", "shrink")
    operators: tuple[str, ...] | None = None  # None: every operator of the language
    pow_exponents: tuple[float, ...] = ()
    constants: tuple[float, ...] = ()
    seed_builtins: bool = True
    seed_metrics: tuple[str, ...] = ()  # registry names/hashes or formula text
    dedup: str = "auto"  # "hash", "rank" (within-layer groups) or "auto"
    hall_of_fame: int = 10
    map: str = "inprocess"
    workers: int = 2
    timeout_s: float | None = None
    gpus_per_worker: float = 0.0  # Ray actors: e.g. 1.0 to give each actor a GPU
    fidelity: tuple[float | str, ...] = ()  # rungs tried first: "proxy", then increasing fractions of the budget
    eta: float = 3.0  # successive halving: the best 1/eta of each reduced budget go on to the next
    validate: dict[str, Any] = field(default_factory=dict)  # [validate] table: held-out re-scoring after the search
    evolve: str = "score"  # "score": metric formulas; "allocation": a recipe's layer allocation formula;
    # "recipe": both formulas of a recipe (a score tree and an allocation tree per individual)
    recipe: str = "wanda"  # the recipe (reference) whose parts stay: its score, unit and post step with
    # evolve = "allocation", its unit and post step with evolve = "recipe"; its formulas are seeds (with an
    # allocation formula, e.g. alloc=owl, unit=layer: that formula is a seed too)
    posts: tuple[str, ...] = ()  # evolve = "allocation" or "recipe": post steps each individual may carry
    # (a "post" mutation)

    def __post_init__(self) -> None:
        """Normalise sequences to tuples and check ranges."""
        for name in ("mutations", "pow_exponents", "constants", "seed_metrics", "posts"):
            setattr(self, name, tuple(getattr(self, name)))
        if self.operators is not None:
            self.operators = tuple(self.operators)
        self.task_options = dict(self.task_options)
        checks = (
            (self.population >= 2, "population", "at least 2"),
            (self.generations >= 0, "generations", "0 or more"),
            (0 <= self.elite < self.population, "elite", f"in [0, population = {self.population})"),
            (0 <= self.cxpb <= 1, "cxpb", "a probability in [0, 1]"),
            (0 <= self.mutpb <= 1, "mutpb", "a probability in [0, 1]"),
            (self.tournament >= 1, "tournament", "1 or more"),
            (0 <= self.init_min_height <= self.init_max_height, "init_min_height",
             f"in [0, init_max_height = {self.init_max_height}]"),
            (self.init_max_height <= self.max_height, "init_max_height", f"at most max_height = {self.max_height}"),
            (self.dedup in DEDUP_MODES, "dedup", f"one of {', '.join(DEDUP_MODES)}"),
            (self.map in MAP_KINDS, "map", f"one of {', '.join(MAP_KINDS)}"),
            (bool(self.mutations) and set(self.mutations) <= set(MUTATIONS), "mutations",
             f"a non-empty list of {', '.join(MUTATIONS)}"),
            (self.workers >= 1, "workers", "1 or more"),
            (self.evolve in EVOLVE, "evolve", f"one of {', '.join(EVOLVE)}"),
            (set(self.posts) <= set(POST_STEPS) and (not self.posts or self.evolve != "score"), "posts",
             f"a list of {', '.join(POST_STEPS)}, with evolve = 'allocation' or 'recipe'"),
        )
        for ok, name, allowed in checks:
            if not ok:
                raise ConfigError(f"search setting {name} = {getattr(self, name)!r}: must be {allowed}")
        self._check_fidelity()
        self.validation_settings()

    def _check_fidelity(self) -> None:
        """Rungs: "proxy" (optional, first), then increasing fractions in (0, 1) of the task's budget
        ("proxy,0.25" as text too); eta > 1 so each rung promotes fewer."""
        given = self.fidelity
        rungs = given.split(",") if isinstance(given, str) else given
        allowed = "'proxy' (optional, first) then increasing fractions in (0, 1) of the task's budget"
        try:
            self.fidelity = tuple(_rung(r) for r in rungs)
        except (TypeError, ValueError):
            raise ConfigError(f"search setting fidelity = {given!r}: must be a list of {allowed}") from None
        fractions = [float(f) for f in self.fidelity if f != PROXY]
        if PROXY in self.fidelity[1:] or any(not 0 < f < 1 for f in fractions) or fractions != sorted(set(fractions)):
            raise ConfigError(f"search setting fidelity = {list(self.fidelity)}: must be {allowed}")
        if not float(self.eta) > 1:
            raise ConfigError(f"search setting eta = {self.eta!r}: must be > 1 (the best 1/eta of a budget "
                              "are promoted)")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SearchConfig":
        """Build from a mapping; an unknown key or a value of the wrong type is a ConfigError naming it."""
        from gp_engine.validation import SettingsError, validate_settings

        try:
            return cls(**validate_settings(cls, data, "search setting"))
        except SettingsError as exc:
            raise ConfigError(str(exc)) from None

    def replace(self, **changes: Any) -> "SearchConfig":
        """A copy with some fields changed (None values are ignored)."""
        merged = self.to_dict()
        merged.update({k: v for k, v in changes.items() if v is not None})
        return SearchConfig.from_dict(merged)

    def validation_settings(self) -> "ValidationSettings | None":
        """The ``[validate]`` table as settings (checked), or None when validation is off."""
        from gp_engine.heldout import ValidationSettings
        from gp_engine.validation import SettingsError, validate_settings

        if not self.validate:
            return None
        if not isinstance(self.validate, Mapping):
            raise ConfigError(f"search setting validate = {self.validate!r}: must be a table")
        try:
            settings = ValidationSettings(**validate_settings(ValidationSettings, self.validate, "validate setting"))
        except SettingsError as exc:
            raise ConfigError(str(exc)) from None
        except ValueError as exc:
            raise ConfigError(str(exc) if str(exc).startswith("validate setting") else f"validate: {exc}") from None
        return settings if settings.top > 0 else None

    def search_identity(self) -> dict[str, Any]:
        """The fields a resumed run must share with its checkpoint (generations may grow; validation
        happens after the search and may change)."""
        data = self.to_dict()
        for free in ("generations", "map", "workers", "timeout_s", "gpus_per_worker", "validate"):
            data.pop(free)
        return data


def _rung(value: Any) -> float | str:
    """One fidelity rung: "proxy" or a number (numeric text too); TypeError or ValueError otherwise."""
    if isinstance(value, str) and value.strip().lower() == PROXY:
        return PROXY
    if isinstance(value, bool):
        raise TypeError("a fidelity rung is not true or false")
    return float(value)


def load_toml(path: str | Path) -> dict[str, Any]:
    """A config file as a flat dict: top-level keys plus an optional [task_options] table."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    search = dict(data.pop("search", {}))
    search.update(data)
    return search
