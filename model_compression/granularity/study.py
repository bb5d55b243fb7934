"""The granularity study: task x metric x granularity x sparsity -> quality and storage.

``cnn-prune``: test accuracy of the digits CNN (conv layers, or conv + hidden FC), optionally
after a short masked fine-tune, fp32 storage. ``llm-prune``: perplexity of the LLM task's model
with every decoder linear masked at the granularity (``model_compression.granularity.llm``),
storage at the model's dtype. An N:M granularity runs once, at N/M. Each row carries the natural
sparse format's bytes and, for the same mask, element CSR's bytes: their index counts give the
index-saving effect of coarse groups (a third of the indices for 1 x 3 vectors).
"""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from evaluators.granularity import parse_structure
from reporting.figures import metric_label

from .storage import Storage, element_csr, natural_storage

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())
TASKS = ("cnn-prune", "llm-prune")


@dataclass(frozen=True)
class StudyConfig:
    """What one study sweeps."""

    task: str = "cnn-prune"
    granularities: tuple[str, ...] = ("element", "vector", "kernel", "filter")
    sparsities: tuple[float, ...] = (0.5, 0.7, 0.9)
    aggregate: str = "l2"
    fine_tune_steps: int = 0
    layers: str = "conv"  # cnn-prune: "conv", "conv-skip-first" or "all"
    seed: int = 0  # cnn-prune: data split, training, fine-tune batches
    llm: dict[str, Any] = field(default_factory=dict)  # LLMTaskConfig overrides for llm-prune

    def __post_init__(self) -> None:
        """Validate task, granularities and sparsities."""
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        for g in self.granularities:
            if not (self.task == "llm-prune" and g.strip().lower() == "head"):  # head size from the model
                parse_structure(g, self.aggregate)
        for s in self.sparsities:
            if not 0.0 <= float(s) < 1.0:
                raise ValueError(f"sparsities must be in [0, 1), got {s!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return dataclasses.asdict(self)


def points(granularities: tuple[str, ...], sparsities: tuple[float, ...]) -> list[tuple[str, float]]:
    """(granularity, sparsity) pairs; an N:M granularity once, at N/M."""
    out: list[tuple[str, float]] = []
    for g in granularities:
        gran = parse_structure(g).granularity
        out.extend([(g, gran.sparsity)] if gran.sparsity is not None else [(g, float(s)) for s in sparsities])
    return out


def total_storage(parts: list[Storage]) -> dict[str, Any]:
    """Sum of several layers' storage, with the formats used."""
    keys = ("value_bytes", "index_bytes", "indices", "dense_bytes")
    total = {k: sum(getattr(p, k) for p in parts) for k in keys}
    total["total_bytes"] = total["value_bytes"] + total["index_bytes"]
    total["ratio"] = total["total_bytes"] / total["dense_bytes"] if total["dense_bytes"] else float("nan")
    total["format"] = "+".join(sorted({p.format for p in parts}))
    return total


def _row(task: str, metric: Any, g: str, s: float, res: dict[str, Any], dense: float, quality: str) -> dict[str, Any]:
    """One result row (storage summed over layers, index ratio natural / element CSR)."""
    row = {"task": task, "metric": metric_label(metric.name, metric.text, 200), "hash": metric.hash, "granularity": g,
           "dims": parse_structure(g).granularity.dims, "sparsity": s,
           "quality_name": quality, "dense_quality": dense, **{k: res.get(k) for k in ("ok", "reason", "quality",
                                                                                      "actual_sparsity", "wall_s")}}
    if res.get("natural"):
        row["storage"], row["element_csr"] = total_storage(res["natural"]), total_storage(res["csr"])
        row["index_ratio"] = row["storage"]["indices"] / max(row["element_csr"]["indices"], 1)
    return row


def _cnn_rows(cfg: StudyConfig, metrics: list[Any]) -> list[dict[str, Any]]:
    """Every (metric, granularity, sparsity) of cnn-prune."""
    from evaluators.cnn.task import CNNPruneTask

    base = CNNPruneTask(aggregate=cfg.aggregate, layers=cfg.layers, fine_tune_steps=cfg.fine_tune_steps,
                        operands=("W", "G", "X", "Xs", "Y", "Hd"), seed=cfg.seed)
    rows = []
    for metric in metrics:
        for g, s in points(cfg.granularities, cfg.sparsities):
            task, start = base.variant(granularity=g, sparsity=s), time.perf_counter()
            try:
                masks = task.masks(metric)
                acc, actual = task.accuracy_with(masks)
                natural = []
                for name, keep in masks.items():
                    structure, ks = task.layer_structure(name)
                    natural.append(natural_storage(keep, structure.granularity, 4, ks))
                res = {"ok": True, "quality": acc, "actual_sparsity": actual, "natural": natural,
                       "csr": [element_csr(k, 4) for k in masks.values()]}
            except Exception as exc:  # a failed candidate is a row, never a crash
                res = {"ok": False, "reason": f"{type(exc).__name__}: {exc}", "quality": 0.0}
            res["wall_s"] = time.perf_counter() - start
            rows.append(_row(cfg.task, metric, g, s, res, base.state.dense_accuracy, "accuracy"))
            log.info("%s %s %.2f: %s", metric.name or metric.text, g, s, res["quality"])
    return rows


def _llm_rows(cfg: StudyConfig, metrics: list[Any]) -> list[dict[str, Any]]:
    """Every (metric, granularity, sparsity) of llm-prune via the task's layers."""
    from evaluators.llm.task import LLMPruneTask

    from .llm import head_dim_of, llm_candidate

    task = LLMPruneTask(**cfg.llm)
    dense = task.dense_perplexity()
    head_dim = head_dim_of(task.state.model)
    grans = tuple(f"head:{head_dim}" if g.strip().lower() == "head" else g for g in cfg.granularities)
    rows = []
    for metric in metrics:
        for g, s in points(grans, cfg.sparsities):
            res = llm_candidate(task, metric, parse_structure(g, cfg.aggregate), s)
            rows.append(_row(cfg.task, metric, g, s, res, dense, "perplexity"))
            log.info("%s %s %.2f: %s", metric.name or metric.text, g, s, res["quality"])
    return rows


def run_study(cfg: StudyConfig, metrics: list[Any]) -> dict[str, Any]:
    """All rows of the study plus its config."""
    rows = _cnn_rows(cfg, metrics) if cfg.task == "cnn-prune" else _llm_rows(cfg, metrics)
    return {"config": cfg.to_dict(), "metrics": [{"name": m.name, "text": m.text, "hash": m.hash} for m in metrics],
            "rows": rows}
