"""CLI config resolution (defaults < file < flags), example configs, task registry."""
from __future__ import annotations

import pytest

from gp_engine.config import ConfigError, SearchConfig
from evaluators.tasks import TaskSpec, UnknownTaskError, build_task
from gp_helpers import ROOT
from metricforge.cli_search import default_run_name, parse_option, resolve_config


def test_flags_override_file_and_task_options_merge(tmp_path):
    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text('population = 20\nseed = 3\n[task_options]\nsparsity = 0.8\nlayers = "all"\n')
    cfg = resolve_config(cfg_file, {"population": 8, "seed": None, "sparsity": 0.7, "group": None},
                         ["operands=[\"W\", \"X\"]", "epochs=50", "layers=hidden"])
    assert cfg.population == 8 and cfg.seed == 3
    assert cfg.task_options == {"sparsity": 0.7, "layers": "hidden", "operands": ["W", "X"], "epochs": 50}


def test_parse_option_values():
    assert parse_option("a=1") == ("a", 1)
    assert parse_option("b=row") == ("b", "row")
    assert parse_option("c=true") == ("c", True)
    with pytest.raises(Exception):
        parse_option("novalue")


def test_example_configs_load():
    for path in sorted((ROOT / "configs").glob("*.toml")):
        cfg = resolve_config(path, {}, [])
        spec = TaskSpec(cfg.task, cfg.task_options)
        assert cfg.task_options and build_task(spec).settings()["task"] == cfg.task, path.name


def test_granularity_flag_is_the_group_option():
    import typer

    cfg = resolve_config(None, {"task": "cnn-prune", "granularity": "kernel"}, [])
    assert cfg.task_options == {"group": "kernel"}
    with pytest.raises(typer.BadParameter, match="disagree"):
        resolve_config(None, {"group": "row", "granularity": "filter"}, [])


def test_search_at_a_granularity_records_it(tmp_path):
    pytest.importorskip("sklearn")
    from gp_engine.loop import Search
    from registry.store import Registry

    cfg = resolve_config(None, {"task": "cnn-prune", "granularity": "filter", "population": 4, "generations": 0,
                                "sparsity": 0.5}, [])
    with Search(cfg, tmp_path / "run", registry=str(tmp_path / "r.db")) as search:
        result = search.run()
    assert result.counters["evaluated"] >= 1
    with Registry.open(str(tmp_path / "r.db")) as reg:
        rows = reg.evaluations(key=result.settings_key)
    assert rows and {r.granularity for r in rows} == {"filter"}


def test_run_name_is_stable_and_ignores_generations():
    a = SearchConfig(seed=1, generations=3)
    assert default_run_name(a) == default_run_name(a.replace(generations=9))
    assert default_run_name(a) != default_run_name(a.replace(seed=2))


def test_bad_settings_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown search setting .populaton.; did you mean .population."):
        SearchConfig.from_dict({"populaton": 3})
    with pytest.raises(ConfigError):
        SearchConfig(elite=40, population=10)
    with pytest.raises(UnknownTaskError, match="known: .*llm-prune"):
        build_task(TaskSpec("nope"))
    with pytest.raises(ValueError, match="bad mlp-prune options"):
        build_task(TaskSpec("mlp-prune", {"sparsty": 0.5}))
    with pytest.raises(ValueError, match="unknown llm-prune option.*: sparsty"):
        build_task(TaskSpec("llm-prune", {"sparsty": 0.5}))


def test_llm_task_builds_a_primitive_set_without_loading_the_model(tmp_path):
    pytest.importorskip("transformers")
    from gp_engine.loop import Search

    with Search(SearchConfig(task="llm-prune", task_options={"sparsity": 0.5, "group": "2:4"}),
                tmp_path / "run", registry=str(tmp_path / "r.db")) as search:
        assert search.task.direction == "min"
        assert search.dedup == "rank"
        assert set(search.mp.operands) == set(search.task.operands)
        assert search.settings["group"] == "2:4"
