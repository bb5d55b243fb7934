"""The compiled tree and the exported Python source compute the same scores."""
import types

import pytest
import torch

from primitives.builtins import BUILTINS, builtin
from primitives.compile import compile_metric
from primitives.metric import Metric
from registry.exporters import FORMATS, export


def _operands(out: int = 12, inp: int = 20, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"W": torch.randn(out, inp, generator=g), "G": torch.rand(out, inp, generator=g),
            "X": torch.rand(1, inp, generator=g), "Xs": torch.rand(1, inp, generator=g),
            "Hd": torch.rand(1, inp, generator=g), "Y": torch.rand(out, 1, generator=g)}


def _load_exported(metric: Metric):
    module = types.ModuleType("exported_metric")
    # Our own generated source, produced in this process: the only code this test executes.
    exec(compile(export(metric, "python"), "<exported>", "exec"), module.__dict__)  # noqa: S102
    return module.metric


@pytest.mark.parametrize("name", list(BUILTINS))
def test_exported_python_matches_compiled_tree(name):
    metric = builtin(name)
    operands = _operands()
    expected = compile_metric(metric)(operands)
    got = _load_exported(metric)(**{k: operands[k] for k in ("W",) + tuple(o for o in metric.operands if o != "W")})
    assert got.shape == operands["W"].shape
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_wanda_scores_match_the_paper_formula():
    operands = _operands()
    scores = compile_metric(builtin("wanda"))(operands)
    torch.testing.assert_close(scores, operands["W"].abs() * operands["X"])


def test_protections_keep_scores_finite():
    operands = _operands()
    operands["W"][0, 0] = 0.0
    for text in ("log(W)", "sdiv(W, sub(W, W))", "exp(mul(1000, abs(W)))", "div(W, sub(W, W))", "mms(sub(W, W))"):
        scores = compile_metric(Metric.parse(text))(operands)
        assert torch.isfinite(scores).all(), text


def test_shared_subtrees_are_computed_once():
    calls = []
    metric = builtin("ria")
    from primitives import compile as compile_module
    program = compile_module._program(metric.canonical_tree)
    calls = [step for step in program if step[0] == "call" and step[1].__name__ == "op_abs"]
    assert len(calls) == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_exports(fmt):
    text = export(builtin("gblm"), fmt)
    assert text.strip()


RECIPE = "recipe(score=ria, alloc=zsn(mul(add(outl, sstd), sub(1, depth))), unit=layer, post=ls)"


def test_an_exported_recipe_computes_its_score_and_allocation_like_the_compiled_trees():
    import numpy as np

    from primitives.compile import compile_tree
    from primitives.recipe import Recipe

    recipe = Recipe.parse(RECIPE)
    stats = {name: torch.rand(7, dtype=torch.float64, generator=torch.Generator().manual_seed(i))
             for i, name in enumerate(("depth", "outl", "sstd"))}
    want = compile_tree(recipe.alloc.canonical_tree, like="depth", dtype=torch.float64)(stats)
    for fmt in ("python", "numpy"):
        module = types.ModuleType("exported_recipe")
        exec(compile(export(recipe, fmt), "<exported>", "exec"), module.__dict__)  # noqa: S102 - our own source
        args = {k: (v if fmt == "python" else v.numpy()) for k, v in stats.items()}
        assert np.allclose(np.asarray(module.allocation(**args)), want.numpy(), rtol=1e-12)
        ops = _operands()
        scores = module.metric(**{k: (ops[k] if fmt == "python" else ops[k].numpy()) for k in ("W", "X")})
        assert np.allclose(np.asarray(scores), compile_metric(recipe.score)(ops).numpy(), rtol=1e-5)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_exports_a_recipes_parts(fmt):
    from primitives.recipe import Recipe

    text = export(Recipe.parse(RECIPE), fmt)
    assert "post" in text and ("outl" in text or r"\mathrm{outl}" in text)
    assert export(Recipe.parse("recipe(score=wanda)"), fmt) == export(builtin("wanda"), fmt)  # bare: the metric's
