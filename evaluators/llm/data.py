"""Token windows for calibration and evaluation from disjoint documents, drawn (windows.py) and cached on disk."""
from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from evaluators.progress import stage

from .corpora import Document, load_documents
from .model import cache_dir
from .windows import WindowSpec, draw_windows, select_windows

__all__ = ["WindowSpec", "calibration_and_evaluation", "interleave", "select_windows", "split_disjoint", "token_windows"]

log = logging.getLogger(__name__)
DATA_VERSION = 1


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


def token_windows(tokenizer: Any, spec: WindowSpec, docs: list[Document], root: Path | None = None) -> Any:
    """(count x length) int64 token windows of the documents (drawn as the spec says), cached on disk."""
    import torch
    from safetensors.torch import load_file, save_file

    text = hashlib.sha256()
    for _, body in docs:  # the documents and their boundaries
        text.update(body.encode())
        text.update(b"\0")
    key = json.dumps({"v": DATA_VERSION, "tok": tokenizer_fingerprint(tokenizer), "spec": asdict(spec),
                      "text": text.hexdigest()}, sort_keys=True)
    path = (root or cache_dir()) / "tokens" / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.safetensors"
    if path.is_file():
        return load_file(str(path))["windows"].long()
    with stage(f"windows of {spec.source}"):
        windows = draw_windows(tokenizer, docs, spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    save_file({"windows": windows.to(torch.int32).contiguous()}, str(tmp), metadata={"key": key})
    tmp.replace(path)
    return windows


def calibration_and_evaluation(tokenizer: Any, calib: WindowSpec, evaluation: WindowSpec | Sequence[WindowSpec],
                               root: Path | None = None, split_seed: int | None = None) -> tuple[Any, Any]:
    """Calibration and evaluation windows from disjoint text; a source used for both is split into
    two halves of its documents by ``split_seed`` (default: the calibration seed). Several evaluation
    specs (an evaluation set) give their windows interleaved (a1 b1 a2 b2 ...), so the leading windows
    that a reduced budget evaluates sample every text."""
    seed = calib.seed if split_seed is None else split_seed
    calib_docs = load_documents(calib.source)
    parts = []
    for spec in [evaluation] if isinstance(evaluation, WindowSpec) else evaluation:
        calib_docs, eval_docs = split_disjoint(calib_docs, load_documents(spec.source), seed)
        parts.append(token_windows(tokenizer, spec, eval_docs, root))
    return token_windows(tokenizer, calib, calib_docs, root), interleave(parts)


def interleave(parts: Sequence[Any]) -> Any:
    """Rows of several (n_i x length) window tensors taken in turn: the first of each, the second of each..."""
    import torch

    if len(parts) == 1:
        return parts[0]
    order = [(k, i) for k in range(max(p.shape[0] for p in parts)) for i, p in enumerate(parts) if k < p.shape[0]]
    return torch.stack([parts[i][k] for k, i in order])
