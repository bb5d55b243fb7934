"""The llm-prune task on a local model folder and the user's own text files, whole and block-offloaded."""
from __future__ import annotations

import json

import pytest

from evaluators.llm.task import LLMPruneTask
from primitives.builtins import builtin

from .tiny import tiny_model_folder

WORDS = "the quick brown fox jumps over a lazy dog while seven wizards quietly hex every jovial banker".split()


def essay(seed: int, words: int) -> str:
    import random

    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(words)) + "."


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("own")
    model = tiny_model_folder(root / "model")
    with open(root / "calib.jsonl", "w") as f:
        for i in range(12):
            f.write(json.dumps({"body": essay(i, 40)}) + "\n")
    (root / "eval").mkdir()
    for i in range(3):
        (root / "eval" / f"part{i}.txt").write_text(essay(100 + i, 120))
    options = dict(model=model, calib_source=f"jsonl:{root / 'calib.jsonl'}#body", calib_windows=4, calib_length=32,
                   calib_draw="random-spans", eval_source=f"text:{root / 'eval'}", eval_tokens=512, eval_length=64,
                   eval_draw="documents", dtype="float32", device="cpu")
    return root, options


@pytest.mark.parametrize("metric", ["wanda", "gblm"])
def test_offloaded_task_scores_like_the_whole_model(setup, metric):
    root, options = setup
    whole = LLMPruneTask(**options, cache_dir=str(root / "cache-whole"))
    blocks = LLMPruneTask(**options, offload="blocks", cache_dir=str(root / "cache-blocks"))
    assert whole.settings() == blocks.settings() and whole.settings()["calib_draw"] == "random-spans"
    a, b = whole.score(builtin(metric)), blocks.score(builtin(metric))
    assert a.ok and b.ok and b.value == pytest.approx(a.value, rel=1e-5)
    assert whole.state.calib.shape == (4, 32) and whole.state.eval.shape[1] == 64
    assert blocks.dense_perplexity() == pytest.approx(whole.dense_perplexity(), rel=1e-6)


def test_a_missing_source_is_one_line(setup):
    root, options = setup
    task = LLMPruneTask(**{**options, "eval_source": f"parquet:{root / 'missing.parquet'}"},
                        cache_dir=str(root / "cache-missing"))
    with pytest.raises(FileNotFoundError, match="parquet source: .*missing.parquet not found") as exc:
        task.prepare()
    assert "\n" not in str(exc.value)
