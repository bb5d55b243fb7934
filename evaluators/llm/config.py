"""Configuration of the LLM pruning task."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from evaluators.masks import check_sparsity, parse_group

from .model import DEFAULT_MODEL

MODES = ("oneshot", "sequential")


@dataclass(frozen=True)
class LLMTaskConfig:
    """Everything that defines an llm-prune score; for an N:M group the sparsity is N/M."""

    model: str = DEFAULT_MODEL  # "smollm2-135m" or a local Hugging Face folder
    calib_source: str = "reviews"
    calib_windows: int = 16
    calib_length: int = 512
    eval_source: str = "python-docs:tutorial"
    eval_tokens: int | None = 8192  # None: every window of the evaluation text
    eval_length: int = 512
    eval_select: str = "first"  # "first" windows of the text (standard protocol) or "seeded"
    seed: int = 0
    sparsity: float = 0.5
    group: str = "row"  # "row", "layer", "global", "2:4", "4:8", ...
    mode: str = "oneshot"  # "oneshot" (dense operands) or "sequential" (block by block)
    dtype: str = "auto"  # "auto" = bf16 where the hardware runs it natively, else float32
    device: str = "auto"
    grad_dtype: str = "float32"  # dtype of the model copy used for the gradient pass
    eval_batch: int = 4
    cache_dir: str | None = None  # default: $METRICFORGE_CACHE or ~/.cache/metricforge

    def __post_init__(self) -> None:
        """Validate; an N:M group fixes the sparsity to N/M."""
        parsed = parse_group(self.group)
        object.__setattr__(self, "group", str(parsed))
        if parsed.kind == "nm":
            object.__setattr__(self, "sparsity", parsed.n / parsed.m)
        check_sparsity(self.sparsity, parsed)
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.mode == "sequential" and parsed.kind == "global":
            raise ValueError("group 'global' needs mode 'oneshot'")
        if self.eval_select not in ("first", "seeded"):
            raise ValueError(f"eval_select must be 'first' or 'seeded', got {self.eval_select!r}")
        for name in ("calib_windows", "calib_length", "eval_length", "eval_batch"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1")

    @property
    def eval_windows(self) -> int | None:
        """Number of evaluation windows (None: all)."""
        return None if self.eval_tokens is None else max(1, self.eval_tokens // self.eval_length)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field."""
        return asdict(self)
