"""Multi-fidelity search: reduced budgets first, successive halving, budgets never mixed."""
from __future__ import annotations

import json
from collections import defaultdict

import pytest

from evaluators.base import Task
from evaluators.digits.task import MLPPruneTask
from gp_engine.config import ConfigError, SearchConfig
from gp_engine.loop import Search
from gp_engine.variation import Fitness
from registry import Registry, settings_key

MF = dict(population=12, generations=3, seed=5, fidelity=(0.25,), eta=3.0)


def _run(tmp_path, registry_url, **changes):
    with Search(SearchConfig(**{**MF, **changes}), tmp_path / "run", registry=registry_url) as search:
        result = search.run()
    return search, result


def test_reduced_budget_screens_and_only_survivors_reach_the_full_budget(tmp_path, registry_url):
    search, result = _run(tmp_path, registry_url)
    full_key = settings_key(MLPPruneTask().settings())
    reduced_key = search.scorer.reduced[0].key
    assert reduced_key != full_key
    with Registry.open(registry_url) as reg:
        full = {r.metric_hash: r for r in reg.evaluations(key=full_key, run_id=result.run_id)}
        reduced = {r.metric_hash: r for r in reg.evaluations(key=reduced_key, run_id=result.run_id)}
        groups = {g.settings_key: g.settings for g in reg.settings_groups("mlp-prune")}
    assert groups[reduced_key]["budget"]["eval_fraction"] == 0.25 and "eval_fraction" not in groups[full_key]["budget"]
    counts = result.counters
    spent = json.loads((tmp_path / "run" / "results" / "summary.json").read_text())["budget_counts"]
    assert spent["full"]["evaluated"] < spent["eval_fraction=0.25"]["evaluated"]
    assert sum(v["evaluated"] for v in spent.values()) == counts["evaluated"] - sum(
        1 for e in search.cache if e.source == "constant")
    # every metric scored in full was screened first (the seeds included), never the other way round
    assert set(full) - {h for h, r in full.items() if r.reason and "constant" in r.reason} <= set(reduced)
    # results rank full-budget scores only, and those are the registry's full-budget values
    assert result.hall_of_fame and all(e.full for e in result.hall_of_fame)
    for e in result.hall_of_fame:
        assert full[e.hash].score == pytest.approx(e.value)
    # within a generation, everything promoted scored at least as well as everything stopped
    by_gen: dict[int, dict[str, list[float]]] = defaultdict(lambda: {"full": [], "stopped": []})
    for e in search.cache:
        if e.source == "evaluated" and e.ok and e.hash in reduced and reduced[e.hash].ok:
            by_gen[e.generation]["full" if e.full else "stopped"].append(reduced[e.hash].score)
    for gen, split in by_gen.items():
        if split["full"] and split["stopped"]:
            assert min(split["full"]) >= max(split["stopped"]), f"generation {gen} promoted a worse candidate"


def test_leaderboards_never_mix_budgets(tmp_path, registry_url):
    _run(tmp_path, registry_url, generations=1)
    with Registry.open(registry_url) as reg:
        with pytest.raises(Exception, match="budget"):
            reg.best("mlp-prune", direction="max")
        board = reg.best(settings=MLPPruneTask().settings(), direction="max", limit=None)
    task = MLPPruneTask()
    from primitives.metric import Metric
    for entry in board[:3]:  # leaderboard values are what the full task gives, not the reduced one
        assert task.score(Metric.parse(entry.canonical)).value == pytest.approx(entry.score)


def test_resumed_multi_fidelity_run_matches_an_uninterrupted_one(tmp_path):
    with Search(SearchConfig(**MF), tmp_path / "whole", registry=str(tmp_path / "a.db")) as s:
        whole = s.run()
    with Search(SearchConfig(**{**MF, "generations": 1}), tmp_path / "parts", registry=str(tmp_path / "b.db")) as s:
        s.run()
    with Search.resume(tmp_path / "parts", generations=MF["generations"]) as s:
        parts = s.run()
    assert [e.hash for e in parts.hall_of_fame] == [e.hash for e in whole.hall_of_fame]
    load = lambda p: json.loads((p / "results" / "summary.json").read_text())  # noqa: E731
    spent = [{k: v["evaluated"] for k, v in load(tmp_path / run)["budget_counts"].items()} for run in ("parts", "whole")]
    assert spent[0] == spent[1] and set(spent[0]) == {"full", "eval_fraction=0.25"}


class _NoBudgetTask(MLPPruneTask):
    budget_options = Task.budget_options


class _OneBudgetTask(MLPPruneTask):
    def budget_options(self, fraction):
        return {"eval_fraction": 0.5}  # every fraction rounds to the same budget


def test_fidelity_needs_a_task_with_budgets_and_valid_fractions(tmp_path, registry_url):
    with pytest.raises(ValueError, match="no reduced evaluation budget"):
        with Search(SearchConfig(**MF), tmp_path / "r", registry=registry_url, task=_NoBudgetTask()) as s:
            s.run()
    with pytest.raises(ConfigError, match="increasing fractions"):
        SearchConfig(fidelity=(0.5, 0.25))
    with pytest.raises(ValueError, match="same evaluation budget"):
        with Search(SearchConfig(**{**MF, "fidelity": (0.2, 0.4)}), tmp_path / "r2", registry=registry_url,
                    task=_OneBudgetTask()) as s:
            s.run()


def test_a_higher_budget_always_wins_selection():
    assert Fitness("min", (1.0, 500.0)) > Fitness("min", (0.0, 10.0))
    assert Fitness("min", (0.0, 10.0)) > Fitness("min", (0.0, 20.0))
    assert Fitness("max", (1.0, 0.1)) > Fitness("max", (0.0, 0.9))


def test_proxy_rung_is_first_at_most_once_and_each_bad_value_is_one_line():
    assert SearchConfig(fidelity=["proxy", 0.25]).fidelity == ("proxy", 0.25)
    assert SearchConfig(fidelity="Proxy, 0.125,0.5").fidelity == ("proxy", 0.125, 0.5)  # text as the CLI gives it
    assert SearchConfig(fidelity=("proxy",)).fidelity == ("proxy",)
    assert SearchConfig.from_dict({"fidelity": ["proxy", 0.25]}).fidelity == ("proxy", 0.25)  # as TOML gives it
    for bad in ((0.25, "proxy"), ("proxy", "proxy"), ("proxi", 0.25), ("proxy", 1.5), (True,), ("proxy", 0.5, 0.25)):
        with pytest.raises(ConfigError) as info:
            SearchConfig(fidelity=bad)
        message = str(info.value)
        assert "\n" not in message and message.startswith("search setting fidelity = ")
        assert "'proxy' (optional, first) then increasing fractions in (0, 1)" in message


def test_a_task_without_a_proxy_says_so(tmp_path, registry_url):
    with pytest.raises(ValueError, match="task 'mlp-prune' has no proxy fitness") as info:
        with Search(SearchConfig(**{**MF, "fidelity": ("proxy", 0.25)}), tmp_path / "r", registry=registry_url) as s:
            s.run()
    assert "\n" not in str(info.value)
