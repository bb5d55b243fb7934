"""evolve = "recipe": each individual holds a score tree and an allocation tree (and a post-step gene),
scored as one recipe on the tiny Llama (local text)."""
from __future__ import annotations

import json

import pytest

from gp_engine.config import ConfigError, SearchConfig
from gp_engine.genome import Genome
from gp_engine.loop import Search
from gp_helpers import CrashAfter
from gp_snapshot import assert_no_duplicates, registry_state, run_state
from primitives.grammar import parse
from primitives.language import ALLOCATION_OPERANDS
from primitives.recipe import Recipe, builtin_recipe, is_recipe_text
from primitives.reference import resolve_recipe

RECIPE = "recipe(score=wanda, alloc=owl)"


def _config(options: dict, **changes) -> SearchConfig:
    base = dict(task="llm-prune", task_options={**options, "sparsity": 0.6}, population=8, generations=2, seed=3,
                evolve="recipe", recipe=RECIPE, posts=("none", "ls"), max_height=4, init_max_height=2)
    return SearchConfig(**{**base, **changes})


def test_a_recipe_search_evolves_the_score_and_the_allocation_together(tmp_path, tiny_llm_options):
    from registry import Registry

    db = str(tmp_path / "r.db")
    cfg = _config(tiny_llm_options)
    with Search(cfg, tmp_path / "run", registry=db) as search:
        assert search.variation.parts == ("score", "alloc")
        assert search.psets["score"].operands == tuple(search.task.operands)
        assert search.psets["alloc"].operands == ("depth", "attn", "outl", "smean", "sstd")
        result = search.run()
    assert result.counters["evaluated"] >= cfg.population
    with Registry.open(db) as reg:
        rows = reg.evaluations(run_id=result.run_id)
        stored = [reg.get_metric(r.metric_hash) for r in rows]
        operators = {edge.operator for edge in reg.history(result.run_id).lineage}
    assert rows and all(r.settings_key == result.settings_key for r in rows)
    assert all(is_recipe_text(m.canonical) and m.allocation != "uniform" and m.unit == "block" for m in stored)
    scored = [Recipe.parse(m.canonical) for m in stored]
    assert [r.hash for r in scored] == [m.hash for m in stored]  # canonical text parses back to its hash
    assert {r.post for r in scored} <= {"none", "ls"}
    assert len({r.score.hash for r in scored}) >= 2 and len({r.alloc.hash for r in scored if r.alloc}) >= 2
    hashes = {r.hash for r in scored}
    assert resolve_recipe(RECIPE).hash in hashes  # the recipe setting (= owl_wanda) is a seed
    assert builtin_recipe("owl_wanda").hash in hashes
    assert Recipe.parse("recipe(score=magnitude, alloc=owl)").hash in hashes  # a built-in metric as the score
    assert {"seed:builtin:recipe", "seed:builtin:magnitude"} <= operators
    steps = {step for op in operators if not op.startswith("seed:") for step in op.split("+")}
    changed = {step.split(":")[1] for step in steps if step.startswith(("crossover", "mut_")) and step != "mut_post"}
    assert changed == {"score", "alloc"}  # crossover and mutation name the part they changed
    assert all(e.canonical.startswith("recipe(score=") for e in result.hall_of_fame)
    assert_no_duplicates(db, tmp_path / "run")


def test_equal_recipes_are_one_candidate_and_scored_once(tmp_path, tiny_llm_options):
    genome = Genome("recipe", resolve_recipe(RECIPE))
    one = genome.entry((parse("mul(abs(W), X)"), parse("sub(1, depth)", ALLOCATION_OPERANDS)))
    other = genome.entry((parse("mul(X, neg(neg(abs(W))))"), parse("sub(1, mul(depth, 1))", ALLOCATION_OPERANDS)),
                         "none")  # other trees, the same recipe (the setting's post step is none)
    assert one.hash == other.hash and one.canonical == other.canonical
    seeds = ("recipe(score=mul(abs(W), X), alloc=neg(depth))", "recipe(score=mul(X, abs(W)), alloc=neg(depth))")
    cfg = _config(tiny_llm_options, population=4, generations=1, seed_builtins=False, seed_metrics=seeds)
    with Search(cfg, tmp_path / "run", registry=str(tmp_path / "r.db")) as search:
        result = search.run()
    history = search.history
    assert history[0]["unique"] == 4  # the second seed repeats the first: a random individual takes its place
    assert result.counters["skipped_cache"] > 0  # copies and elites are not scored again
    assert_no_duplicates(str(tmp_path / "r.db"), tmp_path / "run")


def test_a_recipe_search_resumes_after_a_crash_exactly(tmp_path, tiny_llm_options):
    from evaluators.llm.task import LLMPruneTask

    cfg = _config(tiny_llm_options, population=6)
    whole = tmp_path / "whole"
    with Search(cfg, whole, registry=str(tmp_path / "whole.db")) as search:
        search.run()
    run, url = tmp_path / "crashed", str(tmp_path / "crashed.db")
    task = LLMPruneTask(**cfg.task_options)
    with Search(cfg, run, registry=url, task=task, eval_map=CrashAfter(task, 8)) as search:
        with pytest.raises(SystemExit):
            search.run()
        crashed_at = search.generation
    with Search.resume(run) as again:
        again.run()
        assert all(isinstance(ind.metric, Recipe) and len(ind.trees) == 2 for ind in again.population)
    assert 0 <= crashed_at < cfg.generations
    assert again.history[crashed_at + 1]["restored"] > 0, "the crash should land mid-generation"
    assert run_state(run) == run_state(whole)
    assert registry_state(url, run) == registry_state(str(tmp_path / "whole.db"), whole)
    assert_no_duplicates(url, run)
    population = json.loads((run / "checkpoint.json").read_text())["population"]
    assert all(set(item["trees"]) == {"score", "alloc"} for item in population)


def test_recipe_seeds_fit_the_recipe_setting():
    genome = Genome("recipe", resolve_recipe("recipe(score=wanda, alloc=owl, post=ls)"), ("none", "ls"))
    names = [name for name, _, _ in genome.builtin_seeds()]
    assert names[0] == "recipe" and "owl_wanda" in names and "magnitude" in names
    assert "dsnot_wanda" not in names and "sparsegpt_obs" not in names  # no allocation formula
    (score, alloc), post = genome.trees(resolve_recipe("ria"))  # a formula: the score, with the setting's allocation
    assert (genome.entry((score, alloc), post).canonical ==
            Recipe.parse("recipe(score=ria, alloc=owl, post=ls)").canonical)
    trees, post = genome.trees(resolve_recipe("recipe(score=magnitude, alloc=depth, post=none)"))
    assert post == "none" and genome.entry(trees, post).alloc.canonical == "depth"
    bare = Genome("recipe", resolve_recipe("wanda"))
    assert [name for name, _, _ in bare.builtin_seeds()][:2] == ["recipe+owl", "owl_wanda"]
    with pytest.raises(ValueError, match=r"ria has no allocation formula and neither has the search's recipe mul"):
        bare.trees(resolve_recipe("ria"))
    with pytest.raises(ValueError, match="no allocation formula to seed a recipe search"):
        genome.trees(resolve_recipe("dsnot_wanda"))
    with pytest.raises(ValueError, match="in its unit or post step"):
        genome.trees(resolve_recipe("recipe(score=wanda, alloc=depth, unit=layer)"))
    with pytest.raises(ValueError, match="in its unit or post step"):
        genome.trees(resolve_recipe("recipe(score=wanda, alloc=depth, post=obs)"))


def test_bad_recipe_search_settings_are_one_clear_error(tmp_path, tiny_llm_options):
    assert SearchConfig(evolve="recipe", posts=("none", "ls")).posts == ("none", "ls")
    with pytest.raises(ConfigError, match="evolve = 'genes': must be one of score, allocation, recipe"):
        SearchConfig(evolve="genes")
    with pytest.raises(ConfigError, match="posts = .*with evolve = 'allocation' or 'recipe'"):
        SearchConfig(posts=("none", "ls"))
    with pytest.raises(ValueError, match="evolve = 'recipe' scores recipes; task mlp-prune scores metrics only"):
        Search(SearchConfig(task="mlp-prune", evolve="recipe"), tmp_path / "a", registry=str(tmp_path / "a.db"))
    with pytest.raises(ValueError, match=r"posts \['none', 'dsnot'\] must include the recipe's post step \(ls\)"):
        Search(_config(tiny_llm_options, recipe="recipe(score=wanda, post=ls)", posts=("none", "dsnot")),
               tmp_path / "b", registry=str(tmp_path / "b.db"))
    cfg = _config(tiny_llm_options, seed_metrics=("recipe(score=wanda, alloc=depth, unit=layer)",), generations=0)
    with Search(cfg, tmp_path / "c", registry=str(tmp_path / "c.db")) as search:
        with pytest.raises(ValueError, match="seed .*differs from the search's recipe .* in its unit or post step"):
            search.run()
