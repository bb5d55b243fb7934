"""Recipes scored on an llm-prune task (tiny random Llama, local text): every step, restore, refusals."""
from __future__ import annotations

import pytest
import torch

from evaluators.base import Fitness, Task, score_entry
from evaluators.llm.task import LLMPruneTask
from primitives.builtins import builtin
from primitives.recipe import Recipe, builtin_recipe


@pytest.fixture(scope="module")
def task(tiny_llm_options):
    t = LLMPruneTask(**tiny_llm_options, sparsity=0.6)
    t.prepare()
    return t


@pytest.mark.parametrize("ref", ["owl_wanda", "dsnot_wanda", "swap_wanda", "sparsegpt_obs", "recipe(score=wanda, post=ls)",
                                 "recipe(score=magnitude, alloc=zsn(sub(outl, depth)), unit=layer, post=ls)"])
def test_a_recipe_scores_at_the_target_and_the_dense_weights_come_back(task, ref):
    recipe = builtin_recipe(ref) if "(" not in ref else Recipe.parse(ref)
    dense = {layer.name: layer.weight.clone() for layer in task.state.layers}
    fit = task.score_recipe(recipe)
    assert fit.ok, fit.reason
    assert fit.details["sparsity"] == pytest.approx(0.6, abs=0.01) and fit.details["metric"] == recipe.text
    assert all(torch.equal(layer.weight, dense[layer.name]) for layer in task.state.layers)


def test_a_bare_recipe_scores_as_its_metric_and_score_entry_dispatches(task):
    wanda = builtin("wanda")
    assert task.score_recipe(Recipe.of(wanda)).value == task.score(wanda).value
    assert score_entry(task, wanda).value == task.score(wanda).value
    assert score_entry(task, builtin_recipe("owl_wanda")).value == task.score_recipe(builtin_recipe("owl_wanda")).value


def test_the_ls_step_keeps_the_model_closer_than_masks_alone(task):
    masked = task.score(builtin("wanda")).value
    assert task.score_recipe(Recipe.parse("recipe(score=wanda, post=ls)")).value < masked


def test_the_swap_step_lowers_the_layers_output_error_also_on_an_nm_pattern(task):
    for group in ("row", "2:4"):
        t = task.variant(group=group, fitness="reconstruction", **({"sparsity": 0.5} if group == "row" else {}))
        masked = t.score(builtin("wanda")).value
        swapped = t.score_recipe(builtin_recipe("swap_wanda"))
        assert swapped.ok and swapped.value < 0.95 * masked, group


def test_recipes_that_cannot_run_fail_with_one_reason(task):
    sequential = task.variant(mode="sequential")
    fit = sequential.score_recipe(builtin_recipe("owl_wanda"))
    assert not fit.ok and "one-shot" in fit.reason
    fit = task.variant(group="global").score_recipe(Recipe.parse("recipe(score=wanda, post=ls)"))
    assert not fit.ok and "layer by layer" in fit.reason
    fit = task.variant(group="2:4").score_recipe(builtin_recipe("owl_wanda"))
    assert not fit.ok and "element groups" in fit.reason
    fit = task.variant(group="2:4").score_recipe(builtin_recipe("dsnot_wanda"))
    assert not fit.ok and "2:4 pattern" in fit.reason


class MetricsOnly(Task):
    name, direction, operands = "metrics-only", "max", ("W",)

    def settings(self):
        return {"task": self.name}

    def prepare(self):
        pass

    def score(self, metric):
        return Fitness(0.5)


def test_a_task_without_recipes_scores_bare_ones_and_fails_the_others():
    task = MetricsOnly()
    assert not task.takes_recipes and score_entry(task, Recipe.parse("recipe(score=W)").as_entry()).value == 0.5
    assert task.score_recipe(Recipe.parse("recipe(score=W)")).ok
    fit = task.score_recipe(builtin_recipe("dsnot_wanda"))
    assert not fit.ok and fit.value == 0.0 and "scores metrics, not recipes" in fit.reason
