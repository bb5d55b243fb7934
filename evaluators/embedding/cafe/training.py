"""Train a CTR model whose embeddings are one compressed method: the shared step of the study and the task.

The seed fixes the MLP initialisation (drawn first, so every method of a seed starts from the same
MLP), the embedding initialisation, the batch order and the hash functions."""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from evaluators.recsys.data import CTRData
from evaluators.recsys.models import CTRModel, ModelConfig, build_model
from evaluators.recsys.train import TrainConfig, seed_everything, train
from evaluators.embedding.cafe.base import CompressedEmbedding
from evaluators.embedding.cafe.cafe_embedding import CAFEEmbedding
from evaluators.embedding.cafe.methods import MethodOptions, build_embedding
from evaluators.embedding.cafe.step_hook import CAFEStepHook


class Unavailable(ValueError):
    """The method cannot exist at this ratio (its budget is too small for it)."""


@dataclass
class TrainedRun:
    """A trained model, its embedding module, CAFE's hook (None for other methods), steps and seconds."""

    model: CTRModel
    embedding: CompressedEmbedding
    hook: CAFEStepHook | None
    steps: int
    train_s: float


def build(method: str, options: MethodOptions, data: CTRData, model_cfg: ModelConfig, ratio: float,
          seed: int, counts: torch.Tensor | None = None) -> tuple[CTRModel, CompressedEmbedding]:
    """The seeded model with the method's embeddings swapped in; ``Unavailable`` when the method cannot exist."""
    seed_everything(seed)
    model = build_model(model_cfg, data)  # the same MLP initialisation for every method
    try:
        emb = build_embedding(method, data, model_cfg.emb_dim, model_cfg.emb_std, ratio, seed, options, counts)
    except ValueError as exc:
        raise Unavailable(str(exc)) from exc
    model.embeddings = emb
    return model, emb


def train_method(method: str, options: MethodOptions, data: CTRData, model_cfg: ModelConfig,
                 train_cfg: TrainConfig, ratio: float, seed: int, counts: torch.Tensor | None = None,
                 max_steps: int | None = None, watch: Callable[[CAFEStepHook], None] | None = None,
                 recency_decay: float = 0.99) -> TrainedRun:
    """Build and train; CAFE methods score occurrences with ``options.importance`` through ``CAFEStepHook``
    (``counts``: training occurrences per feature, for ``freq``). Errors of the importance propagate."""
    model, emb = build(method, options, data, model_cfg, ratio, seed, counts)
    hook = None
    if isinstance(emb, CAFEEmbedding):
        hook = CAFEStepHook(emb, options.importance, watch=watch, model=model, counts=counts,
                            recency_decay=recency_decay)
    start = time.perf_counter()
    try:
        steps = train(model, data.train, train_cfg, before_step=hook, max_steps=max_steps)
    finally:
        if hook is not None:
            hook.close()
    return TrainedRun(model, emb, hook, steps, time.perf_counter() - start)


def rows_seen(steps: int, rows: int, batch_size: int) -> int:
    """Training rows processed by ``steps`` mini-batches of an epoch of ``rows`` (the last batch is short)."""
    per_epoch = math.ceil(rows / batch_size)
    full_epochs, rest = divmod(steps, per_epoch)
    return full_epochs * rows + min(rest * batch_size, rows)


def warm_up(data: CTRData, model_cfg: ModelConfig, train_cfg: TrainConfig) -> None:
    """A few untimed training steps, so the first timed run does not pay one-time costs in its throughput."""
    train(build_model(model_cfg, data), data.train, train_cfg, max_steps=5)
