"""Window draws (joined text, inside documents, random spans), their seeds and the settings key."""
from __future__ import annotations

import pytest
import torch

from evaluators.llm.config import LLMTaskConfig
from evaluators.llm.data import token_windows
from evaluators.llm.windows import WindowSpec, draw_windows


class CharTokenizer:
    """One token per character (its code point): token positions map back to the text."""

    name_or_path = "chars"

    def __len__(self) -> int:
        return 0x110000

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict:
        return {"input_ids": [ord(c) for c in text]}


DOCS = [(f"d{i}", chr(ord("a") + i) * n) for i, n in enumerate([25, 7, 40, 12, 33])]


def test_joined_windows_cross_documents():
    windows = draw_windows(CharTokenizer(), DOCS, WindowSpec("s", 10, None, draw="joined"))
    text = "\n\n".join(t for _, t in DOCS)
    assert windows.shape == (len(text) // 10, 10)
    assert "".join(map(chr, windows.flatten().tolist())) == text[: windows.numel()]


def test_document_windows_never_cross_a_boundary():
    windows = draw_windows(CharTokenizer(), DOCS, WindowSpec("s", 10, None, draw="documents"))
    assert windows.shape == (2 + 0 + 4 + 1 + 3, 10)
    assert all(len(set(row.tolist())) == 1 for row in windows)  # one document's letter per window
    seeded = draw_windows(CharTokenizer(), DOCS, WindowSpec("s", 10, 4, seed=1, draw="documents"))
    assert seeded.shape == (4, 10) and all(any(torch.equal(r, w) for w in windows) for r in seeded)


def test_random_spans_follow_the_seed_and_skip_short_documents():
    spec = WindowSpec("s", 20, 6, seed=0, draw="random-spans")
    a = draw_windows(CharTokenizer(), DOCS, spec)
    assert a.shape == (6, 20) and torch.equal(a, draw_windows(CharTokenizer(), DOCS, spec))
    assert set(chr(int(r[0])) for r in a) <= {"a", "c", "e"}  # only documents longer than 20 tokens
    b = draw_windows(CharTokenizer(), DOCS, WindowSpec("s", 20, 6, seed=1, draw="random-spans"))
    assert not torch.equal(a, b)
    with pytest.raises(ValueError, match="longer than 50 tokens"):
        draw_windows(CharTokenizer(), DOCS, WindowSpec("s", 50, 2, draw="random-spans"))


def test_draws_are_cached_apart(tmp_path):
    joined = token_windows(CharTokenizer(), WindowSpec("s", 10, 3, draw="joined"), DOCS, tmp_path)
    inside = token_windows(CharTokenizer(), WindowSpec("s", 10, 3, draw="documents"), DOCS, tmp_path)
    assert len(list((tmp_path / "tokens").iterdir())) == 2 and not torch.equal(joined, inside)
    assert torch.equal(inside, token_windows(CharTokenizer(), WindowSpec("s", 10, 3, draw="documents"), DOCS, tmp_path))


def test_bad_draws_are_named():
    with pytest.raises(ValueError, match="window draw must be one of"):
        WindowSpec("s", 10, 3, draw="sliding")
    with pytest.raises(ValueError, match="needs a window count"):
        WindowSpec("s", 10, None, draw="random-spans")
    with pytest.raises(ValueError, match="eval_draw 'random-spans'"):
        LLMTaskConfig(eval_draw="random-spans")
    with pytest.raises(ValueError, match="window draw"):
        LLMTaskConfig(calib_draw="sliding")


def test_the_draw_and_its_seed_are_task_settings():
    from evaluators.llm.task import LLMPruneTask

    cfg = LLMTaskConfig(seed=2, calib_draw="random-spans", calib_seed=7)
    assert cfg.calib_spec() == WindowSpec("reviews", 512, 16, 7, "seeded", "random-spans")
    assert LLMTaskConfig(seed=2).calib_spec().seed == 2
    settings = LLMPruneTask(cfg).settings()
    assert settings["calib_draw"] == "random-spans" and settings["calib_seed"] == 7 and settings["eval_draw"] == "joined"
    assert "offload" not in settings  # where blocks live does not change a score
