"""Configuration of the LLM pruning task."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from evaluators.granularity import Structure, parse_structure
from evaluators.masks import check_sparsity

from .corpora import check_source_name
from .model import DEFAULT_MODEL
from .windows import WindowSpec

MODES = ("oneshot", "sequential")
MAX_CALIBRATIONS = 32


def source_names(value: str | tuple[str, ...] | list[str], field: str) -> list[str]:
    """The sources of a setting ("a", "a,b" or a list), each once, in order."""
    items = value.split(",") if isinstance(value, str) else list(value)
    sources = list(dict.fromkeys(str(item).strip() for item in items))
    if not sources or any(not s for s in sources):
        raise ValueError(f"{field} must name one or more sources, got {value!r}")
    for source in sources:
        check_source_name(source)
    return sources


def calibration_sources(value: str | tuple[str, ...] | list[str]) -> list[str]:
    """The calibration sources of a setting ("a", "a,b" or a list), each once, in order."""
    return source_names(value, "calib_source")


OFFLOADS = ("none", "blocks")
CALIB_AGGREGATES = ("mean", "worst")  # over a calibration set: geometric mean, or worst ratio to Wanda
FITNESSES = ("perplexity", "reconstruction")  # reconstruction: the cheap proxy of reconstruction.py
PROXY_ROWS = 64  # output rows per layer of the proxy rung, where rows are masked on their own
PROXY_RANK = 32  # rank of the Gram matrices of the proxy rung (benchmarks/discovery/proxy_rank.py)


@dataclass(frozen=True)
class LLMTaskConfig:
    """Everything that defines an llm-prune score; for an N:M group the sparsity is N/M."""

    model: str = DEFAULT_MODEL  # "smollm2-135m" or a local Hugging Face folder
    calib_source: str | tuple[str, ...] = "reviews"  # one source, or several ("a,b" or a list): a calibration set
    calib_draws: int = 1  # seeded window draws per calibration source (seeds calib_seed, +1, ...)
    calib_windows: int = 16
    calib_length: int = 512
    calib_draw: str = "joined"  # how windows are cut: "joined", "documents" or "random-spans" (windows.py)
    calib_seed: int | None = None  # seed of the calibration window draw; None: `seed`
    calib_aggregate: str = "mean"  # over a calibration set: "mean" (geometric) or "worst" (ratio to Wanda's)
    eval_source: str | tuple[str, ...] = "python-docs:tutorial"  # one text, or several ("a,b" or a list): an evaluation set
    eval_tokens: int | None = 8192  # None: every window of the evaluation text
    eval_length: int = 512
    eval_select: str = "first"  # "first" windows of the text (standard protocol) or "seeded"
    eval_draw: str = "joined"  # "joined" (standard protocol) or "documents"
    seed: int = 0
    sparsity: float = 0.5
    group: str = "row"  # "row", "layer", "global", "2:4", or a granularity: "vector:4", "head:64@global", ...
    aggregate: str = "l2"  # score of a group of weights from its elements' scores: l1, l2, max, mean
    mode: str = "oneshot"  # "oneshot" (dense operands) or "sequential" (block by block)
    dtype: str = "auto"  # "auto" = bf16 where the hardware runs it natively, else float32
    device: str = "auto"
    offload: str = "none"  # "none": whole model on the device; "blocks": one decoder block there at a time
    grad_dtype: str = "float32"  # dtype of the model copy used for the gradient pass
    eval_batch: int | None = None  # windows per forward pass; None: 1 on the CPU (fastest there), 8 on a GPU
    cache_dir: str | None = None  # default: $METRICFORGE_CACHE or ~/.cache/metricforge
    fitness: str = "perplexity"  # or "reconstruction": layer output error on calibration inputs, no evaluation pass
    proxy_rows: int = 0  # fitness "reconstruction" of a metric or recipe: 0 every row (prunes the model); N: N seeded rows per layer
    proxy_rank: int = 0  # fitness "reconstruction": 0 the exact Gram matrices; r: their best rank-r approximations

    def __post_init__(self) -> None:
        """Validate; an N:M group fixes the sparsity to N/M; a list of sources becomes "a,b"."""
        object.__setattr__(self, "calib_source", ",".join(calibration_sources(self.calib_source)))
        object.__setattr__(self, "eval_source", ",".join(source_names(self.eval_source, "eval_source")))
        structure = parse_structure(self.group, self.aggregate)
        object.__setattr__(self, "group", str(structure))
        object.__setattr__(self, "aggregate", structure.aggregate)
        gran = structure.granularity
        if gran.kind == "nm":
            object.__setattr__(self, "sparsity", gran.sparsity)
        check_sparsity(self.sparsity, str(gran) if gran.kind == "nm" else None)
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.mode == "sequential" and structure.is_global:
            raise ValueError(f"group {self.group!r} ranks all layers at once and needs mode 'oneshot'")
        if self.eval_select not in ("first", "seeded"):
            raise ValueError(f"eval_select must be 'first' or 'seeded', got {self.eval_select!r}")
        if self.eval_draw == "random-spans":
            raise ValueError("eval_draw 'random-spans' may repeat text; evaluate on 'joined' or 'documents' windows")
        if self.offload not in OFFLOADS:
            raise ValueError(f"offload must be one of {OFFLOADS}, got {self.offload!r}")
        if self.calib_aggregate not in CALIB_AGGREGATES:
            raise ValueError(f"calib_aggregate must be one of {CALIB_AGGREGATES}, got {self.calib_aggregate!r}")
        if self.fitness not in FITNESSES:
            raise ValueError(f"fitness must be one of {FITNESSES}, got {self.fitness!r}")
        if self.proxy_rows < 0:
            raise ValueError("proxy_rows must be >= 0 (0: every row)")
        if self.proxy_rows and self.fitness != "reconstruction":
            raise ValueError("proxy_rows samples rows of the reconstruction proxy: it needs fitness 'reconstruction'")
        if self.proxy_rank < 0:
            raise ValueError("proxy_rank must be >= 0 (0: the exact Gram matrices)")
        if self.proxy_rank and self.fitness != "reconstruction":
            raise ValueError("proxy_rank approximates the reconstruction proxy: it needs fitness 'reconstruction'")
        if self.proxy_rows and (self.mode != "oneshot" or not structure.rows_independent):
            raise ValueError(f"proxy_rows needs mode 'oneshot' and a group whose rows are masked on their own "
                             f"(row, N:M), got mode {self.mode!r}, group {self.group!r}")
        for name in ("calib_windows", "calib_draws", "calib_length", "eval_length", "eval_batch", "eval_tokens"):
            if getattr(self, name) is not None and int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1")
        if len(self.calibrations()) > MAX_CALIBRATIONS:
            raise ValueError(f"a calibration set of {len(self.calibrations())} (sources x calib_draws) is more than "
                             f"{MAX_CALIBRATIONS}; each one holds its own operands")
        self.calib_spec(), self.eval_specs()  # validates draws and the evaluation set's windows

    @property
    def eval_windows(self) -> int | None:
        """Number of evaluation windows (None: all)."""
        return None if self.eval_tokens is None else max(1, self.eval_tokens // self.eval_length)

    @property
    def calibration_set(self) -> bool:
        """True when a score is aggregated over several calibrations (sources x draws)."""
        return len(self.calibrations()) > 1

    def calibrations(self) -> list[tuple[str, int]]:
        """(source, seed) of every calibration a score is taken over: each source with ``calib_draws``
        consecutive seeds from calib_seed (default: seed), sources in the order given."""
        first = self.seed if self.calib_seed is None else self.calib_seed
        return [(source, first + k) for source in calibration_sources(self.calib_source)
                for k in range(self.calib_draws)]

    def single_calibrations(self) -> list[LLMTaskConfig]:
        """One config per calibration of the set (itself when there is one), every other field equal."""
        if not self.calibration_set:
            return [self]
        return [replace(self, calib_source=source, calib_seed=seed, calib_draws=1)
                for source, seed in self.calibrations()]

    def calib_spec(self) -> WindowSpec:
        """The calibration windows: calib_windows x calib_length tokens, drawn by calib_draw, seeded
        (the first calibration of a set)."""
        source, seed = self.calibrations()[0]
        return WindowSpec(source, self.calib_length, self.calib_windows, seed, "seeded", self.calib_draw)

    @property
    def eval_sources(self) -> list[str]:
        """The evaluation texts: one, or an evaluation set whose windows are interleaved (eval_source
        is kept as "a,b" by __post_init__)."""
        return self.eval_source.split(",")

    def check_eval_windows(self) -> None:
        """ValueError when eval_tokens gives fewer windows than there are evaluation texts: checked
        where windows are cut (a reduced-budget variant evaluates fewer, the leading ones of a set)."""
        total, texts = self.eval_windows, len(self.eval_sources)
        if total is not None and total < texts:
            raise ValueError(f"eval_tokens {self.eval_tokens} gives {total} window(s) of {self.eval_length} tokens, "
                             f"fewer than the {texts} evaluation texts")

    def eval_specs(self) -> list[WindowSpec]:
        """The evaluation windows of each text: eval_tokens in eval_length windows, the first ones or
        seeded, shared out between the texts of an evaluation set (the earlier texts take the remainder)."""
        sources, total = self.eval_sources, self.eval_windows
        counts = [None if total is None else total // len(sources) + (i < total % len(sources))
                  for i in range(len(sources))]
        return [WindowSpec(source, self.eval_length, count, self.seed, self.eval_select, self.eval_draw)
                for source, count in zip(sources, counts)]

    @property
    def structure(self) -> Structure:
        """The parsed comparison group (granularity, scope, aggregate)."""
        return parse_structure(self.group, self.aggregate)

    @property
    def grouped(self) -> bool:
        """True when whole groups of weights (vectors, blocks, rows, heads) are pruned together."""
        return self.structure.granularity.kind not in ("element", "nm")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field."""
        return asdict(self)
