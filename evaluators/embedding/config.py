"""Settings of the embedding-importance task: every one of them changes its score."""
from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass
from typing import Any

from evaluators.recsys.config import DataConfig, EVAL_SPLITS
from evaluators.recsys.models import MODELS, ModelConfig
from evaluators.recsys.train import TrainConfig
from evaluators.embedding.cafe.budget import check_ratio
from evaluators.embedding.cafe.cafe_embedding import CAFEEmbedding
from evaluators.embedding.cafe.methods import DEFAULT_THRESHOLD, MethodOptions
from evaluators.embedding.cafe.occurrence import OCCURRENCE_OPERANDS

# CAFEEmbedding's construction defaults the task relies on: recorded so that changing one changes the key.
_DEFAULTS = inspect.signature(CAFEEmbedding.__init__).parameters
SKETCH = {k: _DEFAULTS[k].default for k in ("slots", "sketch_slots_per_row", "decay", "medium_level",
                                             "medium_fraction")}


@dataclass(frozen=True)
class EmbeddingTaskConfig:
    """CAFE at one compression ratio on MovieLens-100k, trained ``epochs`` (or ``max_steps``) per seed;
    fitness = mean ``eval_split`` AUC over ``seeds``."""

    model: str = "deepfm"
    method: str = "cafe"
    ratio: float = 0.1
    threshold: float = DEFAULT_THRESHOLD
    hot_fraction: float = 0.5
    decay_every: float | None = None
    recency_decay: float = 0.99
    seeds: tuple[int, ...] = (0,)
    eval_split: str = "valid"
    split: str = "random"
    genres: str = "first"
    epochs: int = 3
    max_steps: int | None = None
    batch_size: int = 512
    lr: float = 1e-3
    emb_dim: int = 16
    hidden: tuple[int, ...] = (256, 128)
    operands: tuple[str, ...] | None = None  # None: every occurrence operand; e.g. only the batch-local ones

    def __post_init__(self) -> None:
        """Normalise tuples and validate, so a bad setting fails before any training."""
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if self.operands is not None:
            object.__setattr__(self, "operands", tuple(dict.fromkeys(self.operands)))
            unknown = [o for o in self.operands if o not in OCCURRENCE_OPERANDS]
            if unknown or not self.operands:
                raise ValueError(f"operands must be among {', '.join(OCCURRENCE_OPERANDS)}, got {self.operands}")
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        object.__setattr__(self, "ratio", check_ratio(self.ratio))
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        if self.method not in ("cafe", "cafe-ml"):
            raise ValueError(f"method must be cafe or cafe-ml, got {self.method!r}")
        if self.eval_split not in EVAL_SPLITS:
            raise ValueError(f"eval_split must be one of {', '.join(EVAL_SPLITS)}, got {self.eval_split!r}")
        if not self.seeds or self.epochs < 1 or (self.max_steps is not None and self.max_steps < 1):
            raise ValueError("need at least one seed, epochs >= 1 and max_steps >= 1 (or None)")
        self.options("grad-norm")
        self.data_config(self.seeds[0])

    def options(self, importance: str) -> MethodOptions:
        """CAFE's options with this importance source."""
        return MethodOptions(self.threshold, self.hot_fraction, importance, self.decay_every)

    def data_config(self, seed: int) -> DataConfig:
        """The seeded MovieLens-100k split."""
        return DataConfig(self.split, self.genres, seed)

    def model_config(self) -> ModelConfig:
        """The CTR architecture."""
        return ModelConfig(self.model, self.emb_dim, self.hidden)

    def train_config(self, seed: int) -> TrainConfig:
        """Adam, BCE, the seeded batch order."""
        return TrainConfig(self.epochs, self.batch_size, self.lr, 0.0, seed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with the full architecture and the sketch's construction settings."""
        out = asdict(self)
        out["seeds"], out["hidden"] = list(self.seeds), list(self.hidden)
        if self.operands is None:
            del out["operands"]  # every operand: the key of searches made before the option existed
        else:
            out["operands"] = list(self.operands)
        return {**out, "architecture": self.model_config().to_dict(), "sketch": dict(SKETCH),
                "dataset": "movielens-100k"}
