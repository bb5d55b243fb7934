"""How token windows are cut from a list of documents: the draw, a recorded setting of every figure.

Draws (``WindowSpec.draw``):
  joined        documents joined with a blank line, tokenized once, cut into non-overlapping windows
                (remainder dropped); windows may cross document boundaries. The perplexity protocol.
  documents     each document tokenized alone and cut into non-overlapping windows that never cross
                a document boundary (each document's remainder dropped).
  random-spans  SparseGPT's and Wanda's calibration draw: pick a document at random (seeded, with
                replacement) until one is longer than the window, then a random window inside it.
For "joined" and "documents", ``select`` picks the leading windows ("first") or ``count`` windows at
random by seed ("seeded", kept in text order). Tokens never include special tokens (no BOS).
"""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Any

Document = tuple[str, str]
DRAWS = ("joined", "documents", "random-spans")
SELECTS = ("first", "seeded")
SEPARATOR = "\n\n"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowSpec:
    """Which windows of a source: `count` windows of `length` tokens (None: all), drawn by `draw`, picked by `seed`."""

    source: str
    length: int
    count: int | None
    seed: int = 0
    select: str = "seeded"  # "seeded" (random windows, in text order) or "first" (the leading windows)
    draw: str = "joined"  # one of DRAWS

    def __post_init__(self) -> None:
        if self.draw not in DRAWS:
            raise ValueError(f"window draw must be one of {', '.join(DRAWS)}, got {self.draw!r}")
        if self.select not in SELECTS:
            raise ValueError(f"window select must be one of {', '.join(SELECTS)}, got {self.select!r}")
        if self.draw == "random-spans" and self.count is None:
            raise ValueError("the random-spans draw needs a window count")


def _ids(tokenizer: Any, text: str) -> Any:
    import torch

    return torch.tensor(tokenizer(text, add_special_tokens=False)["input_ids"], dtype=torch.int64)


def select_windows(ids: Any, spec: WindowSpec) -> Any:
    """Non-overlapping windows of one token sequence (remainder dropped), selected by spec."""
    n = ids.numel() // spec.length
    if n == 0:
        raise ValueError(f"{spec.source}: {ids.numel()} tokens are fewer than one window of {spec.length}")
    return pick(ids[: n * spec.length].view(n, spec.length), spec)


def pick(windows: Any, spec: WindowSpec) -> Any:
    """`count` of the candidate windows: the first ones or a seeded choice kept in text order."""
    import torch

    n = windows.shape[0]
    if spec.count is None or spec.count >= n:
        if spec.count is not None and spec.count > n:
            log.warning("%s has only %d windows of %d tokens (%d asked)", spec.source, n, spec.length, spec.count)
        return windows.clone()
    if spec.select == "first":
        return windows[: spec.count].clone()
    gen = torch.Generator().manual_seed(spec.seed)
    chosen = torch.randperm(n, generator=gen)[: spec.count].sort().values
    return windows[chosen].clone()


def document_windows(tokenizer: Any, docs: list[Document], spec: WindowSpec) -> Any:
    """Windows inside each document (never across a boundary), then selected by spec."""
    import torch

    parts = []
    for _, text in docs:
        ids = _ids(tokenizer, text)
        n = ids.numel() // spec.length
        if n:
            parts.append(ids[: n * spec.length].view(n, spec.length))
    if not parts:
        raise ValueError(f"{spec.source}: no document holds a window of {spec.length} tokens")
    return pick(torch.cat(parts), spec)


def random_spans(tokenizer: Any, docs: list[Document], spec: WindowSpec) -> Any:
    """SparseGPT/Wanda calibration: random document longer than the window, random window inside it."""
    import torch

    rng = random.Random(spec.seed)
    lengths: dict[int, Any] = {}
    rows = []
    for _ in range(spec.count or 0):
        for _attempt in range(100 * len(docs) + 100):
            index = rng.randint(0, len(docs) - 1)
            if index not in lengths:
                lengths[index] = _ids(tokenizer, docs[index][1])
            ids = lengths[index]
            if ids.numel() > spec.length:
                break
        else:
            raise ValueError(f"{spec.source}: no document is longer than {spec.length} tokens")
        start = rng.randint(0, ids.numel() - spec.length - 1)
        rows.append(ids[start:start + spec.length])
    return torch.stack(rows)


def draw_windows(tokenizer: Any, docs: list[Document], spec: WindowSpec) -> Any:
    """(count x length) int64 windows of the documents, drawn as the spec says."""
    if spec.draw == "joined":
        return select_windows(_ids(tokenizer, SEPARATOR.join(t for _, t in docs)), spec)
    if spec.draw == "documents":
        return document_windows(tokenizer, docs, spec)
    return random_spans(tokenizer, docs, spec)
