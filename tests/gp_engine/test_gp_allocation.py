"""evolve = "allocation": the search evolves a recipe's layer allocation on the tiny Llama (local text)."""
from __future__ import annotations

import pytest

from gp_engine.config import SearchConfig
from gp_engine.loop import Search
from primitives.recipe import Recipe, builtin_recipe


def _config(options: dict, **changes) -> SearchConfig:
    base = dict(task="llm-prune", task_options={**options, "sparsity": 0.6}, population=6, generations=2, seed=3,
                evolve="allocation", recipe="recipe(score=wanda, post=ls)", max_height=4, init_max_height=2)
    return SearchConfig(**{**base, **changes})


def test_an_allocation_search_scores_recipes_under_their_own_hashes(tmp_path, tiny_llm_options):
    from registry import Registry

    db = str(tmp_path / "r.db")
    cfg = _config(tiny_llm_options, seed_metrics=("recipe(score=wanda, alloc=depth, post=ls)",))
    with Search(cfg, tmp_path / "run", registry=db) as search:
        assert search.mp.operands == ("depth", "attn", "outl", "smean", "sstd")
        result = search.run()
    assert result.counters["evaluated"] >= cfg.population
    owl_ls = builtin_recipe("owl_wanda").with_steps(post="ls")
    with Registry.open(db) as reg:
        rows = reg.evaluations(run_id=result.run_id)
        assert rows and all(r.settings_key == result.settings_key for r in rows)
        scored = [Recipe.parse(reg.get_metric(r.metric_hash).text) for r in rows]
    assert all(r.score.canonical == "mul(X, abs(W))" and r.post == "ls" and r.alloc is not None for r in scored)
    assert {r.hash for r in scored} == {r.metric_hash for r in rows}  # stored against each recipe's own hash
    assert owl_ls.hash in {r.hash for r in scored}  # the built-in seed: OWL's allocation
    assert Recipe.parse("recipe(score=wanda, alloc=depth, post=ls)").hash in {r.hash for r in scored}
    assert all(e.canonical.startswith("recipe(score=mul(X, abs(W)), alloc=") for e in result.hall_of_fame)
    ok = [r for r in rows if r.ok]
    assert ok and all(r.details["sparsity"] == pytest.approx(0.6, abs=0.01) for r in ok)


def test_an_allocation_search_resumes_from_its_checkpoint(tmp_path, tiny_llm_options):
    db = str(tmp_path / "r.db")
    with Search(_config(tiny_llm_options, generations=0), tmp_path / "run", registry=db) as first:
        first.run()
        keys = [ind.key for ind in first.population]
    with Search.resume(tmp_path / "run", registry=db, generations=1) as again:
        result = again.run()
        assert result.generation == 1 and all(isinstance(ind.metric, Recipe) for ind in again.population)
    assert again.genome.recipe is not None and again.genome.recipe.post == "ls" and keys


def test_allocation_searches_need_a_recipe_task_and_matching_seeds(tmp_path, tiny_llm_options):
    with pytest.raises(ValueError, match="scores metrics only"):
        Search(SearchConfig(task="mlp-prune", evolve="allocation"), tmp_path / "a", registry=str(tmp_path / "a.db"))
    cfg = _config(tiny_llm_options, seed_metrics=("dsnot_wanda",), generations=0)
    with Search(cfg, tmp_path / "b", registry=str(tmp_path / "b.db")) as search:
        with pytest.raises(ValueError, match="no allocation formula"):
            search.run()
    cfg = _config(tiny_llm_options, seed_metrics=("owl_wanda",), generations=0)  # its post step is not ls
    with Search(cfg, tmp_path / "c", registry=str(tmp_path / "c.db")) as search:
        with pytest.raises(ValueError, match="differs from the search's recipe"):
            search.run()


def test_a_worker_scores_a_recipe_from_its_canonical_text(tiny_llm_options):
    from evaluators.llm.task import LLMPruneTask
    from gp_engine.maps.base import score_metric, score_text

    task = LLMPruneTask(**tiny_llm_options, sparsity=0.6)
    recipe = Recipe.parse("recipe(score=wanda, alloc=sub(1, depth), unit=layer, post=ls)")
    by_text = score_text(task, recipe.canonical)  # what a pool or Ray worker receives
    assert by_text.ok and by_text.value == task.score_recipe(recipe).value == score_metric(task, recipe).value


def test_the_post_step_evolves_as_a_gene_and_survives_a_resume(tmp_path, tiny_llm_options):
    from registry import Registry

    db = str(tmp_path / "r.db")
    cfg = _config(tiny_llm_options, recipe="wanda", posts=("none", "ls"), mutpb=1.0, cxpb=0.2, generations=1,
                  seed_metrics=("recipe(score=wanda, alloc=depth, post=ls)",))
    with Search(cfg, tmp_path / "run", registry=db) as search:
        result = search.run()
        posts = [ind.post for ind in search.population]
    with Registry.open(db) as reg:
        rows = reg.evaluations(run_id=result.run_id)
        scored = {Recipe.parse(reg.get_metric(r.metric_hash).text).post for r in rows}
        operators = {edge.operator for edge in reg.history(result.run_id).lineage}
    assert scored == {"none", "ls"}
    assert any("mut_post" in op for op in operators)
    with Search.resume(tmp_path / "run", registry=db, generations=2) as again:
        again.run()
        assert all(isinstance(ind.metric, Recipe) and ind.metric.post == (ind.post or "none")
                   for ind in again.population)
    assert set(posts) <= {"none", "ls"}
    with pytest.raises(ValueError, match="posts"):
        SearchConfig(posts=("ls",))  # evolve = "score" has no post step


def test_an_allocation_search_with_the_proxy_rung_warns_and_still_runs(tmp_path, tiny_llm_options, caplog):
    # The reconstruction proxy ranks allocations poorly (benchmarks/discovery/recipe_proxy_*.md): the search
    # says so once, and the proxy rung still screens (its budget is counted).
    import logging

    cfg = _config(tiny_llm_options, generations=0, population=4, fidelity=("proxy",))
    with caplog.at_level(logging.WARNING, logger="gp_engine.loop"):
        with Search(cfg, tmp_path / "run", registry=str(tmp_path / "r.db")) as search:
            result = search.run()
    assert sum("ranks layer allocations poorly" in r.getMessage() for r in caplog.records) == 1
    assert any(label.startswith("fitness=reconstruction") for label in search.budget_counts)
    assert result.counters["evaluated"] >= 4
