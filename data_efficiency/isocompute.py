"""IsoCompute sweep: model size x training data at a fixed training-compute budget, on MovieLens-100k.

Training compute = 3 x forward matmul FLOPs per sample (torch's FlopCounterMode; backward ~ 2x
forward; embedding lookups and elementwise terms are not counted) x samples seen. For a budget each
size gets budget / (FLOPs per sample) samples: one pass over that share of the training rows when
it is below one epoch, else every row for as many (fractional) epochs as the budget buys.
"""
from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import asdict, dataclass
from typing import Any

import torch

from data_efficiency.downsample import uniform
from data_efficiency.recsys_rows import load_rows
from evaluators.recsys.data import CTRData
from evaluators.recsys.dense import fresh_model
from evaluators.recsys.models import MODELS, ModelConfig
from evaluators.recsys.train import TrainConfig, evaluate, train

log = logging.getLogger(__name__)

SIZES = {"xs": (4, (32, 16)), "s": (8, (64, 32)), "m": (16, (128, 64)), "l": (16, (256, 128)),
         "xl": (32, (512, 256))}
_SPEC = re.compile(r"(\d+)x(\d+(?:-\d+)*)")


def parse_size(text: str) -> tuple[str, int, tuple[int, ...]]:
    """A preset name (xs, s, m, l, xl) or ``EMBxH1-H2...`` (e.g. 16x256-128) -> (label, emb_dim, hidden)."""
    text = text.strip()
    if text in SIZES:
        return text, *SIZES[text]
    match = _SPEC.fullmatch(text)
    if not match or min(int(v) for v in re.findall(r"\d+", text)) < 1:
        raise ValueError(f"bad model size {text!r}: expected one of {', '.join(SIZES)} or EMBxH1-H2 (e.g. 16x256-128)")
    return text, int(match.group(1)), tuple(int(h) for h in match.group(2).split("-"))


def train_flops_per_sample(model: torch.nn.Module, data: CTRData, rows: int = 256) -> float:
    """3 x the forward matmul FLOPs of one training row (measured on the first ``rows`` rows)."""
    from torch.utils.flop_counter import FlopCounterMode

    batch = data.train.take(slice(0, rows))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(*batch.inputs())
    return 3.0 * counter.get_total_flops() / len(batch)


@dataclass(frozen=True)
class Plan:
    """What a budget buys one model size: rows used, epochs (config), optimizer steps and samples seen."""

    rows: int
    epochs: int
    steps: int
    samples: int
    compute: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def plan(budget: float, flops_per_sample: float, train_rows: int, batch_size: int = 512) -> Plan:
    """Rows, epochs and steps whose samples seen x flops_per_sample is closest to budget (within half a batch)."""
    wanted = budget / flops_per_sample
    if wanted < 1:
        raise ValueError(f"budget {budget:g} buys less than one training sample ({flops_per_sample:g} FLOPs each)")
    if wanted <= train_rows:
        rows = max(1, round(wanted))
        return Plan(rows, 1, math.ceil(rows / batch_size), rows, rows * flops_per_sample)
    per_epoch = math.ceil(train_rows / batch_size)
    full, rest = divmod(wanted, train_rows)
    steps = int(full) * per_epoch + min(per_epoch, round(rest / batch_size))
    done, extra = divmod(steps, per_epoch)
    samples = done * train_rows + min(extra * batch_size, train_rows)
    return Plan(train_rows, math.ceil(steps / per_epoch), steps, samples, samples * flops_per_sample)


def run_one(data: CTRData, cfg: ModelConfig, label: str, budget: float, seed: int, batch_size: int = 512,
            lr: float = 1e-3) -> dict[str, Any]:
    """Train one size at one budget with one seed; validation and test AUC at the end of the budget."""
    model = fresh_model(cfg, data, seed)
    fps = train_flops_per_sample(model, data)
    p = plan(budget, fps, len(data.train), batch_size)
    rows = data.train if p.rows == len(data.train) else data.train.take(
        torch.from_numpy(uniform(len(data.train), p.rows / len(data.train), seed).index))
    start = time.perf_counter()
    train(model, rows, TrainConfig(epochs=p.epochs, batch_size=batch_size, lr=lr, seed=seed), max_steps=p.steps)
    valid, test = evaluate(model, data.valid), evaluate(model, data.test)
    row = {"size": label, "model": cfg.kind, "emb_dim": cfg.emb_dim, "hidden": list(cfg.hidden), "seed": seed,
           "params": sum(t.numel() for t in model.parameters()), "flops_per_sample": fps, "budget": budget,
           **p.to_dict(), "fraction": p.rows / len(data.train), "epochs_seen": p.samples / p.rows,
           "auc": valid["auc"], "logloss": valid["logloss"], "test_auc": test["auc"],
           "train_s": time.perf_counter() - start}
    log.info("isocompute %s %s budget %.3g seed %d: %.1f%% of rows x %.2f epochs, valid AUC %.4f", cfg.kind, label,
             budget, seed, 100 * row["fraction"], row["epochs_seen"], row["auc"])
    return row


def isocompute(budgets: list[float], sizes: list[str], seeds: list[int], model: str = "deepfm",
               split: str = "random", batch_size: int = 512, lr: float = 1e-3) -> list[dict[str, Any]]:
    """One row per (budget, size, seed): the plan, its realised compute and the AUCs; inputs checked first."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}: expected one of {', '.join(MODELS)}")
    if not budgets or not sizes or not seeds or min(budgets) <= 0:
        raise ValueError("need positive budgets, at least one size and one seed")
    parsed = [parse_size(s) for s in sizes]
    data, _ = load_rows(split, seeds[0])
    for label, emb, hidden in parsed:  # a budget too small for a size fails here, before any training
        fps = train_flops_per_sample(fresh_model(ModelConfig(model, emb, hidden), data, 0), data)
        for budget in budgets:
            log.info("size %s: %.3g training FLOPs per sample; budget %.3g -> %s", label, fps, budget,
                     plan(budget, fps, len(data.train), batch_size))
    rows = []
    for seed in seeds:
        data, _ = load_rows(split, seed)
        for budget in sorted(budgets):
            for label, emb, hidden in parsed:
                rows.append(run_one(data, ModelConfig(model, emb, hidden), label, budget, seed, batch_size, lr))
    return rows
