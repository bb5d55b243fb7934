"""Robust fitness: an llm-prune score aggregated over a calibration set (sources x seeded draws)."""
from __future__ import annotations

import math

import pytest
import torch

from evaluators.llm.config import LLMTaskConfig
from evaluators.llm.corpora import PYTHON_DOCS
from evaluators.llm.task import LLMPruneTask
from primitives.builtins import builtin
from primitives.metric import Metric

from .tiny import tiny_model_folder

pytestmark = pytest.mark.skipif(not PYTHON_DOCS.is_dir(), reason="python3.11-doc not installed")
SOURCES = "fortunes:wisdom,python-docs:library"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("calibset")
    return {"model": tiny_model_folder(root / "model"), "calib_windows": 3, "calib_length": 32, "eval_tokens": 256,
            "eval_length": 32, "dtype": "float32", "device": "cpu", "cache_dir": str(root / "cache")}


@pytest.fixture(scope="module")
def robust(tiny):
    task = LLMPruneTask(calib_source=SOURCES, calib_draws=2, **tiny)
    task.prepare()
    return task


def test_config_lists_every_calibration_and_keeps_one_draw_settings_unchanged():
    cfg = LLMTaskConfig(calib_source=["reviews", " python-docs:library", "reviews"], calib_draws=2, calib_seed=3)
    assert cfg.calib_source == "reviews,python-docs:library"  # a list becomes one canonical text, each once
    assert cfg.calibrations() == [("reviews", 3), ("reviews", 4), ("python-docs:library", 3),
                                  ("python-docs:library", 4)]
    singles = cfg.single_calibrations()
    assert [(c.calib_source, c.calib_seed, c.calib_draws) for c in singles] == [
        ("reviews", 3, 1), ("reviews", 4, 1), ("python-docs:library", 3, 1), ("python-docs:library", 4, 1)]
    one = LLMTaskConfig()
    assert not one.calibration_set and one.single_calibrations() == [one]
    assert "calib_draws" not in LLMPruneTask(one).settings()  # registries keyed before calibration sets still match
    settings = LLMPruneTask(cfg).settings()
    assert settings["calib_source"] == "reviews,python-docs:library" and settings["calib_draws"] == 2
    for bad in ({"calib_source": ""}, {"calib_source": "a,,b"}, {"calib_draws": 0}, {"calib_draws": 40}):
        with pytest.raises(ValueError):
            LLMTaskConfig(**bad)


def test_score_is_the_geometric_mean_over_the_set_and_each_calibration_scores_alone(robust, tiny):
    metric = builtin("wanda")
    fit = robust.score(metric)
    assert fit.ok, fit.reason
    parts = fit.details["calibrations"]
    assert list(parts) == ["fortunes:wisdom@0", "fortunes:wisdom@1", "python-docs:library@0",
                           "python-docs:library@1"]
    assert fit.value == pytest.approx(math.exp(sum(math.log(v) for v in parts.values()) / 4), rel=1e-12)
    assert fit.details["aggregate"] == "geometric mean over calibrations"
    alone = LLMPruneTask(calib_source="python-docs:library", calib_seed=1, **tiny).score(metric)
    assert alone.value == pytest.approx(parts["python-docs:library@1"], rel=1e-6)  # same windows, same masks
    assert len({round(v, 6) for v in parts.values()}) > 1  # the calibrations really differ
    states = robust.state.others
    assert len(states) == 3 and all(s.model is robust.state.model for s in states.values())  # one model
    assert all(torch.equal(layer.module.weight, robust.state.dense[layer.name]) for layer in robust.state.layers)


def test_variants_share_the_calibration_states(robust):
    variant = robust.variant(sparsity=0.3)
    before = dict(robust.state.others)
    fit = variant.score(builtin("magnitude"))
    assert fit.ok and robust.state.others == before  # no state rebuilt for the variant
    assert "calib_draws" in variant.settings() and variant.settings()["sparsity"] == 0.3


def test_a_failing_calibration_fails_the_candidate_with_its_name(robust):
    bad = robust.score(Metric.parse("rowsum(abs(W))"))  # constant inside each row: ties decide the mask
    assert not bad.ok and bad.value == math.inf
    assert bad.reason.startswith("calibration fortunes:wisdom@0: ") and "constant scores" in bad.reason


def test_sparsegpt_over_the_set_and_pruning_to_keep_needs_one_calibration(robust):
    fit = robust.sparsegpt_perplexity()
    assert fit.ok and len(fit.details["calibrations"]) == 4
    with pytest.raises(ValueError, match="one calibration"):
        robust.apply(builtin("wanda"))


EVAL_SET = "python-docs:tutorial,fortunes:wisdom"


def test_an_evaluation_set_shares_the_windows_out_and_names_too_few():
    cfg = LLMTaskConfig(eval_source=["python-docs:tutorial", " fortunes:wisdom"], eval_tokens=5 * 512)
    assert cfg.eval_source == EVAL_SET and cfg.eval_sources == ["python-docs:tutorial", "fortunes:wisdom"]
    assert [(s.source, s.count) for s in cfg.eval_specs()] == [("python-docs:tutorial", 3), ("fortunes:wisdom", 2)]
    assert [s.count for s in LLMTaskConfig(eval_source=EVAL_SET, eval_tokens=None).eval_specs()] == [None, None]
    with pytest.raises(ValueError, match="1 window.* fewer than the 2 evaluation texts"):
        LLMPruneTask(eval_source=EVAL_SET, eval_tokens=512).prepare()  # refused before the model loads
    with pytest.raises(ValueError, match="eval_source must name"):
        LLMTaskConfig(eval_source="a,,b")
    assert LLMPruneTask(LLMTaskConfig(eval_source=EVAL_SET)).settings()["eval_source"] == EVAL_SET


def test_an_evaluation_set_interleaves_its_texts_and_keeps_calibration_apart(tiny):
    from evaluators.llm.data import interleave

    both = LLMPruneTask(eval_source=EVAL_SET, calib_source="python-docs", **tiny)
    both.prepare()
    alone = {source: LLMPruneTask(eval_source=source, calib_source="python-docs", **{**tiny, "eval_tokens": 128})
             for source in EVAL_SET.split(",")}
    for task in alone.values():
        task.prepare()
    tutorial, wisdom = (alone[s].state.eval for s in EVAL_SET.split(","))
    assert torch.equal(both.state.eval, interleave([tutorial, wisdom]))  # 8 windows: 4 of each, in turn
    assert torch.equal(both.state.eval[:2], torch.stack([tutorial[0], wisdom[0]]))  # a screen sees both texts
    # the calibration drew no document of the tutorial (python-docs minus every evaluation text)
    assert torch.equal(both.state.calib, alone["python-docs:tutorial"].state.calib)
    fit = both.score(builtin("wanda"))
    assert fit.ok and fit.details["eval_tokens"] == 256
    screen = both.variant(eval_tokens=32)  # one window: a reduced budget takes the set's first window
    assert torch.equal(screen.evaluation_windows(), tutorial[:1]) and screen.score(builtin("wanda")).ok


def test_the_worst_rule_scores_the_largest_ratio_to_wanda_under_the_same_calibration(robust, tiny):
    worst = LLMPruneTask(calib_source=SOURCES, calib_draws=2, calib_aggregate="worst", **tiny)
    worst._state = robust.state  # same model, calibrations and operands
    metric = Metric.parse("mul(abs(W), sqrt(X))")
    fit, mean = worst.score(metric), robust.score(metric)
    assert fit.ok, fit.reason
    wanda = {name: value for name, value in robust.score(builtin("wanda")).details["calibrations"].items()}
    ratios = {name: value / wanda[name] for name, value in mean.details["calibrations"].items()}
    assert fit.details["ratios_to_wanda"] == pytest.approx(ratios, rel=1e-12)
    scale = math.exp(sum(math.log(v) for v in wanda.values()) / len(wanda))
    assert fit.value == pytest.approx(scale * max(ratios.values()), rel=1e-12)
    assert worst.score(builtin("wanda")).value == pytest.approx(scale, rel=1e-12)  # Wanda: ratio 1 everywhere
    assert worst.settings()["calib_aggregate"] == "worst" and "calib_aggregate" not in robust.settings()
    assert "calib_aggregate" not in LLMPruneTask(calib_aggregate="worst").settings()  # one calibration: no set
    with pytest.raises(ValueError, match="calib_aggregate must be one of"):
        LLMTaskConfig(calib_aggregate="median")
