"""Token windows for calibration and evaluation: join once, tokenize once, cut, select by seed, cache."""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .corpora import Document, load_documents
from .model import cache_dir

log = logging.getLogger(__name__)
DATA_VERSION = 1
SEPARATOR = "\n\n"


@dataclass(frozen=True)
class WindowSpec:
    """Which windows of a source: `count` windows of `length` tokens (None: all), picked by `seed`."""

    source: str
    length: int
    count: int | None
    seed: int = 0
    select: str = "seeded"  # "seeded" (random windows, sorted) or "first" (the leading windows)


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """A short hash identifying a tokenizer's vocabulary and rules."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    text = backend.to_str() if backend is not None else f"{type(tokenizer).__name__}:{tokenizer.name_or_path}:{len(tokenizer)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def split_disjoint(calib: list[Document], evaluation: list[Document], seed: int) -> tuple[list[Document], list[Document]]:
    """Make calibration documents disjoint from evaluation ones (same source: a seeded half split)."""
    if [d[0] for d in calib] == [d[0] for d in evaluation]:
        import random

        order = list(range(len(calib)))
        random.Random(seed).shuffle(order)
        half = set(order[: len(order) // 2])
        return [d for i, d in enumerate(calib) if i not in half], [d for i, d in enumerate(evaluation) if i in half]
    eval_ids = {d[0] for d in evaluation}
    kept = [d for d in calib if d[0] not in eval_ids]
    if not kept:
        raise ValueError("calibration source lies entirely inside the evaluation source; pick another one")
    return kept, evaluation


def select_windows(ids: Any, spec: WindowSpec) -> Any:
    """Non-overlapping windows (remainder dropped), `count` of them chosen by seed, in text order."""
    import torch

    n = ids.numel() // spec.length
    if n == 0:
        raise ValueError(f"{spec.source}: {ids.numel()} tokens are fewer than one window of {spec.length}")
    windows = ids[: n * spec.length].view(n, spec.length)
    if spec.count is None or spec.count >= n:
        if spec.count is not None and spec.count > n:
            log.warning("%s has only %d windows of %d tokens (%d asked)", spec.source, n, spec.length, spec.count)
        return windows.clone()
    if spec.select == "first":
        return windows[: spec.count].clone()
    gen = torch.Generator().manual_seed(spec.seed)
    pick = torch.randperm(n, generator=gen)[: spec.count].sort().values
    return windows[pick].clone()


def token_windows(tokenizer: Any, spec: WindowSpec, docs: list[Document], root: Path | None = None) -> Any:
    """(count x length) int64 token windows of the joined documents, cached on disk."""
    import torch
    from safetensors.torch import load_file, save_file

    text = SEPARATOR.join(t for _, t in docs)
    key = json.dumps({"v": DATA_VERSION, "tok": tokenizer_fingerprint(tokenizer), "spec": asdict(spec),
                      "text": hashlib.sha256(text.encode()).hexdigest()}, sort_keys=True)
    path = (root or cache_dir()) / "tokens" / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.safetensors"
    if path.is_file():
        return load_file(str(path))["windows"].long()
    ids = torch.tensor(tokenizer(text, add_special_tokens=False)["input_ids"], dtype=torch.int64)
    windows = select_windows(ids, spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    save_file({"windows": windows.to(torch.int32).contiguous()}, str(tmp), metadata={"key": key})
    tmp.replace(path)
    return windows


def calibration_and_evaluation(tokenizer: Any, calib: WindowSpec, evaluation: WindowSpec,
                               root: Path | None = None) -> tuple[Any, Any]:
    """Calibration and evaluation windows from disjoint text."""
    calib_docs, eval_docs = split_disjoint(load_documents(calib.source), load_documents(evaluation.source), calib.seed)
    return token_windows(tokenizer, calib, calib_docs, root), token_windows(tokenizer, evaluation, eval_docs, root)
