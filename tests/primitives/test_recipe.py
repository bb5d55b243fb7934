"""Recipes in the language: text form, canonical form and hash, errors, built-ins and the resolver."""
from __future__ import annotations

import pytest

from primitives.builtins import BUILTINS, RECIPES, builtin
from primitives.errors import MetricReferenceError
from primitives.grammar import MetricSyntaxError
from primitives.metric import Metric
from primitives.recipe import Recipe, RecipeSyntaxError, builtin_recipe, entry_from_canonical
from primitives.reference import resolve_metric, resolve_recipe


@pytest.mark.parametrize("name", list(BUILTINS))
def test_a_bare_formula_is_a_recipe_with_the_metrics_identity(name: str):
    metric = builtin(name)
    for text in (BUILTINS[name], f"recipe(score={BUILTINS[name]})",
                 f"recipe(post=none, score={BUILTINS[name]}, alloc=uniform)"):
        recipe = Recipe.parse(text)
        assert recipe.is_bare
        assert (recipe.text, recipe.canonical, recipe.hash, recipe.rank_hash) == \
            (metric.text, metric.canonical, metric.hash, metric.rank_hash)
        assert recipe.as_metric() == metric


def test_canonical_text_comes_from_the_parts_canonical_forms():
    a = Recipe.parse("recipe(score=mul(abs(W), X), alloc=mul(depth, add(attn, attn)), unit=layer, post=ls)")
    b = Recipe.parse("recipe( post = ls , unit=layer, alloc=mul(mul(2, attn), depth), score=mul(X, abs(W)) )")
    assert a.canonical == b.canonical == "recipe(score=mul(X, abs(W)), alloc=mul(2, mul(attn, depth)), unit=layer, post=ls)"
    assert a.hash == b.hash != Recipe.parse("recipe(score=mul(abs(W), X), alloc=mul(depth, attn), unit=layer, "
                                            "post=ls)").hash
    assert a.hash != Recipe.parse(a.text.replace("post=ls", "post=obs")).hash
    assert a.hash != Recipe.parse(a.text.replace("unit=layer", "unit=block")).hash
    assert a.rank_hash == a.hash and not a.is_bare
    assert a.parts() == {"score": "mul(X, abs(W))", "score_hash": Metric.parse("mul(abs(W), X)").hash,
                         "alloc": "mul(2, mul(attn, depth))", "unit": "layer", "post": "ls"}
    assert a.operands == ("W", "X", "attn", "depth")


def test_owl_is_the_outlier_ratio_formula_and_names_resolve():
    owl = Recipe.parse("recipe(score=wanda, alloc=owl)")
    assert owl.alloc is not None and owl.alloc.canonical == "outl" and owl.unit == "block"
    assert owl.hash == Recipe.parse("recipe(score=mul(abs(W), X), alloc=outl, unit=block)").hash
    assert owl.score.hash == builtin("wanda").hash
    assert resolve_recipe("owl_wanda") == builtin_recipe("owl_wanda")
    assert builtin_recipe("owl_wanda").hash == owl.hash and builtin_recipe("owl_wanda").name == "owl_wanda"
    assert builtin_recipe("sparsegpt_obs").post == "obs" and builtin_recipe("dsnot_wanda").post == "dsnot"
    assert builtin_recipe("swap_wanda").post == "swap"
    assert set(RECIPES) == {"owl_wanda", "dsnot_wanda", "swap_wanda", "sparsegpt_obs"}


def test_canonical_text_reads_back_as_the_same_recipe():
    for text in ["recipe(score=wanda, alloc=zsn(sub(smean, sstd)), unit=layer, post=dsnot)", "sqrt(mul(W, Hd))",
                 *RECIPES.values()]:
        recipe = Recipe.parse(text)
        again = entry_from_canonical(recipe.canonical)
        assert (again.canonical, again.hash) == (recipe.canonical, recipe.hash)
        assert isinstance(again, Recipe if not recipe.is_bare else Metric)


@pytest.mark.parametrize("text,message", [
    ("recipe(alloc=owl)", "no score"),
    ("recipe(score=W, alloc=W)", "recipe alloc: unknown operand 'W'"),
    ("recipe(score=depth)", "recipe score: unknown operand 'depth'"),
    ("recipe(score=W, post=magic)", "post step must be one of none, dsnot, swap, ls, obs"),
    ("recipe(score=W, unit=row, alloc=depth)", "unit must be one of block, layer"),
    ("recipe(score=W, alocation=owl)", "unknown key 'alocation'"),
    ("recipe(score=W, score=X)", "given twice"),
    ("recipe(score=W", "must end with"),
    ("recipe(score=abs(W)), post=ls)", "unbalanced"),
    ("recipe(score=W,, post=ls)", "expected key=value"),
    ("recipe(score=W, post=)", "post has no value"),
    ("recipe(score=W, alloc=sub(depth, depth))", "reads no statistic"),
    ("recipe(score=W, alloc=nope(depth))", "unknown operator 'nope'"),
    ("recipe(score=W, unit=layer)", "unit applies to an allocation formula"),
])
def test_bad_recipe_text_is_one_clear_error_line(text: str, message: str):
    with pytest.raises(RecipeSyntaxError, match=message) as info:
        Recipe.parse(text)
    assert "\n" not in str(info.value) and isinstance(info.value, MetricSyntaxError)


def test_statistics_are_for_allocations_only():
    with pytest.raises(MetricSyntaxError, match="unknown operand 'outl'"):
        Metric.parse("mul(W, outl)")
    assert Metric.parse("mul(depth, outl)", operands=("depth", "outl")).operands == ("depth", "outl")


def test_resolve_metric_refuses_a_recipe_and_takes_a_bare_one():
    assert resolve_metric("recipe(score=wanda)").hash == builtin("wanda").hash
    with pytest.raises(MetricReferenceError, match="owl_wanda is a recipe"):
        resolve_metric("owl_wanda")
    with pytest.raises(MetricReferenceError, match="is a recipe"):
        resolve_metric("recipe(score=W, post=ls)")
    row = {"text": "recipe(score=W, post=ls)", "hash": Recipe.parse("recipe(score=W, post=ls)").hash, "name": "r"}
    assert resolve_recipe(row).name == "r" and resolve_recipe(row).post == "ls"
    with pytest.raises(ValueError, match="does not match"):
        resolve_recipe({**row, "hash": "0" * 16})
