"""Settings of the recsys-prune task and of the dense model it prunes."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from evaluators.granularity import parse_structure
from evaluators.recsys.data import GENRES, SPLITS
from evaluators.recsys.models import MODELS, ModelConfig
from evaluators.recsys.train import TrainConfig

EVAL_SPLITS = ("valid", "test")
# Epochs where the dense model's validation AUC peaks (seed 0, random split, Adam 1e-3, batch 512).
DEFAULT_EPOCHS = {"deepfm": 7, "dlrm": 5}


@dataclass(frozen=True)
class DataConfig:
    """Which MovieLens-100k rows and features: split kind, genre encoding, seed, fractions."""

    split: str = "random"
    genres: str = "first"
    seed: int = 0
    test_frac: float = 0.2
    valid_frac: float = 0.1
    calib_rows: int = 4096
    drop_neutral: bool = False

    def __post_init__(self) -> None:
        """Validate the choices."""
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {self.split!r}")
        if self.genres not in GENRES:
            raise ValueError(f"genres must be one of {', '.join(GENRES)}, got {self.genres!r}")


@dataclass(frozen=True)
class RecsysTaskConfig:
    """Everything that changes a recsys-prune score (cache_dir excepted)."""

    model: str = "deepfm"
    sparsity: float = 0.9
    group: str = "layer"
    prune_embeddings: bool = False
    finetune_steps: int = 0
    eval_split: str = "test"
    seed: int = 0
    split: str = "random"
    genres: str = "first"
    epochs: int | None = None  # None: DEFAULT_EPOCHS[model]
    batch_size: int = 512
    lr: float = 1e-3
    emb_dim: int = 16
    hidden: tuple[int, ...] = (256, 128)
    calib_rows: int = 4096
    drop_neutral: bool = False
    cache_dir: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        """Validate and normalise (hidden to a tuple), so a bad setting fails before any training."""
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        parse_structure(self.group).check_sparsity(self.sparsity)  # every granularity of the one grammar
        if self.eval_split not in EVAL_SPLITS:
            raise ValueError(f"eval_split must be one of {', '.join(EVAL_SPLITS)}, got {self.eval_split!r}")
        if self.finetune_steps < 0:
            raise ValueError("finetune_steps must be >= 0")
        self.data_config()

    def data_config(self) -> DataConfig:
        """The data part."""
        return DataConfig(self.split, self.genres, self.seed, calib_rows=self.calib_rows,
                          drop_neutral=self.drop_neutral)

    def model_config(self) -> ModelConfig:
        """The architecture part."""
        return ModelConfig(self.model, self.emb_dim, self.hidden)

    @property
    def resolved_epochs(self) -> int:
        """epochs, or the model's DEFAULT_EPOCHS when it is None."""
        return DEFAULT_EPOCHS[self.model] if self.epochs is None else int(self.epochs)

    def train_config(self) -> TrainConfig:
        """The optimisation part."""
        return TrainConfig(self.resolved_epochs, self.batch_size, self.lr, 0.0, self.seed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (hidden as a list)."""
        out = asdict(self)
        out["hidden"], out["epochs"] = list(self.hidden), self.resolved_epochs
        return out
