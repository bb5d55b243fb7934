"""Tuning the search's own settings: a tiny Optuna study on mlp-prune in the registry's database."""
from __future__ import annotations

from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from gp_engine.config import SearchConfig  # noqa: E402
from gp_engine.tuning import TuneRequest, tune  # noqa: E402
from gp_engine.tuning_budget import run_budgeted  # noqa: E402
from gp_engine.tuning_space import TuneSpace, TuningError  # noqa: E402
from metricforge.cli import main  # noqa: E402
from metricforge.cli_search import resolve_config  # noqa: E402
from primitives.metric import Metric  # noqa: E402
from registry import Registry  # noqa: E402
from registry.engine import resolve_url  # noqa: E402

TINY = ["--budget", "12", "--seeds", "0", "--population-range", "4,6", "--elite-range", "0,2",
        "--tournament-range", "2,4"]


def tiny_request(tmp_path: Path, trials: int = 1, **changes) -> TuneRequest:
    """One seed, population 4-6, 12 scored metrics per search."""
    fields = dict(base=SearchConfig(task="mlp-prune", population=5, elite=1), study="tiny", trials=trials,
                  budget=12, seeds=(0,), space=TuneSpace(population=(4, 6), elite=(0, 2), tournament=(2, 4)),
                  runs_dir=tmp_path / "runs", heartbeat_s=None)
    return TuneRequest(**{**fields, **changes})


def study_url(db: Path) -> str:
    return resolve_url(str(db)).render_as_string(hide_password=False)


def test_cli_study_shares_the_registry_file_and_resumes(tmp_path, capsys):
    db, runs = tmp_path / "reg.db", tmp_path / "runs"
    argv = ["tune", "--task", "mlp-prune", *TINY, "--study", "s", "--registry", str(db), "--runs-dir", str(runs)]
    assert main([*argv, "--trials", "2"]) == 0
    first = optuna.load_study(study_name="s", storage=study_url(db)).trials
    assert [t.state.name for t in first] == ["COMPLETE", "COMPLETE"]
    assert main([*argv, "--trials", "2"]) == 0  # nothing left to do: no new trial, no restart
    assert main([*argv, "--trials", "3"]) == 0
    trials = optuna.load_study(study_name="s", storage=study_url(db)).trials
    assert len(trials) == 3 and [(t.params, t.value) for t in trials[:2]] == [(t.params, t.value) for t in first]
    run_ids = {r["run_id"] for t in trials for r in t.user_attrs["runs"]}
    with Registry.open(str(db)) as reg:  # still a registry, holding every trial's run and evaluations
        histories = [reg.history(rid) for rid in run_ids]
    assert {h.run.status for h in histories} == {"finished"} and sum(len(h.evaluations) for h in histories) > 0
    best_file = runs / "s" / "best.toml"
    config = resolve_config(best_file, {}, [])
    best = optuna.load_study(study_name="s", storage=study_url(db)).best_trial
    assert {k: getattr(config, k) for k in best.params} == best.params and config.task == "mlp-prune"
    out = capsys.readouterr().out
    assert "best: trial" in out and str(best_file) in out


@pytest.mark.parametrize("argv, message", [
    (["--trials", "0"], "trials"),
    (["--task", "no-such-task"], "unknown task"),
    (["--budget", "10"], "at least twice the largest population"),
    (["--seeds", "0,x"], "--seeds"),
    (["--tune", "population,foo"], "cannot tune"),
    (["--pruner", "bogus"], "unknown pruner"),
    (["--population-range", "8"], "lo,hi"),
])
def test_cli_bad_input_is_a_clear_error(tmp_path, capsys, argv, message):
    base = ["tune", *TINY, "--registry", str(tmp_path / "r.db"), "--runs-dir", str(tmp_path / "runs")]
    assert main([*base, *argv]) == 2
    assert message in capsys.readouterr().err


def test_resumed_study_must_match_and_study_file_may_come_first(tmp_path):
    db = tmp_path / "study-first.db"
    optuna.create_study(study_name="elsewhere", storage=study_url(db))  # only Optuna's tables
    result = tune(tiny_request(tmp_path), str(db))
    assert result.best is not None and result.baseline is not None  # population 5, elite 1 fit the ranges
    with Registry.open(str(db)) as reg:
        assert reg.evaluations()
    assert set(optuna.get_all_study_names(study_url(db))) == {"elsewhere", "tiny"}
    with pytest.raises(TuningError, match="budget"):
        tune(tiny_request(tmp_path, budget=14), str(db))


def test_registry_first_keeps_its_records(tmp_path):
    db = tmp_path / "reg.db"
    with Registry.open(str(db)) as reg:
        reg.add_metric(Metric.parse("abs(W)"), name="mag")
        result = tune(tiny_request(tmp_path), reg)  # an open Registry is used as is
        assert reg.get_metric("mag").name == "mag"
    assert result.trials[0]["scored"] >= 12


def test_interrupted_trial_is_retried_with_its_settings(tmp_path, monkeypatch):
    import gp_engine.tuning_trial as trial_module

    db, real = str(tmp_path / "r.db"), trial_module.run_budgeted

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(trial_module, "run_budgeted", killed)
    with pytest.raises(KeyboardInterrupt):
        tune(tiny_request(tmp_path), db)
    monkeypatch.setattr(trial_module, "run_budgeted", real)
    result = tune(tiny_request(tmp_path), db)
    failed, retry = result.trials
    assert failed["state"] == "fail" and retry["retry_of"] == failed["number"] and retry["state"] == "complete"
    assert retry["params"] == failed["params"] and retry["baseline"]


def test_budget_counts_registry_hits_and_a_stopped_run_continues(tmp_path):
    from evaluators.tasks import TaskSpec, build_task

    task = build_task(TaskSpec("mlp-prune", {}))
    cfg = SearchConfig(task="mlp-prune", population=6, elite=1, seed=3)
    with Registry.open(str(tmp_path / "r.db")) as reg:
        seen: list[tuple[int, float]] = []
        first = run_budgeted(cfg, tmp_path / "a", budget=20, registry=reg, task=task,
                             on_progress=lambda s, b: seen.append((s, b)))
        assert 20 <= first.scored < 20 + cfg.population and first.from_registry == 0
        assert [s for s, _ in seen] == sorted(s for s, _ in seen)
        again = run_budgeted(cfg, tmp_path / "b", budget=20, registry=reg, task=task)
        assert (again.best, again.scored, again.generation) == (first.best, first.scored, first.generation)
        assert again.evaluated == 0 and again.from_registry == again.scored  # free, but counted
        stopped = run_budgeted(cfg, tmp_path / "c", budget=20, registry=reg, task=task, keep_going=lambda: False)
        assert stopped.stopped and stopped.scored < 20
        resumed = run_budgeted(cfg, tmp_path / "c", budget=20, registry=reg, task=task)
        assert (resumed.best, resumed.scored, resumed.generation) == (first.best, first.scored, first.generation)


def test_space_checks_its_ranges():
    with pytest.raises(TuningError, match="elite"):
        TuneSpace(population=(2, 8), elite=(0, 2))
    with pytest.raises(TuningError, match="cxpb"):
        TuneSpace(cxpb=(0.5, 1.5))
    space = TuneSpace(tuned=("cxpb",))
    assert TuneSpace.from_dict(space.to_dict()) == space
    assert space.params_of(SearchConfig()) == {"cxpb": 0.6}
    from gp_engine.tuning_trial import make_pruner

    assert {type(make_pruner(k, 5)).__name__ for k in ("median", "halving", "none")} == \
        {"MedianPruner", "SuccessiveHalvingPruner", "NopPruner"}


@pytest.mark.postgres
def test_postgres_study_beside_the_registry(tmp_path, postgres_url):
    pg_url = postgres_url
    tune(tiny_request(tmp_path), pg_url)
    result = tune(tiny_request(tmp_path, trials=2), pg_url)  # resumed: one more trial
    assert [t["state"] for t in result.trials] == ["complete", "complete"]
    assert len(optuna.load_study(study_name="tiny", storage=pg_url).trials) == 2
    run_ids = {r["run_id"] for t in result.trials for r in t["runs"]}
    with Registry.open(pg_url) as reg:
        assert {reg.history(rid).run.status for rid in run_ids} == {"finished"} and reg.evaluations()
