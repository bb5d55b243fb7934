"""``metricforge evaluate`` and ``prune`` with recipes on the tiny random Llama (local text, nothing downloaded)."""
import json

import pytest

pytest.importorskip("transformers")


def _options(opts: dict) -> list[str]:
    return [arg for key, value in opts.items() for arg in ("-o", f"{key}={value}")]


def test_evaluate_scores_recipes_under_their_own_hash(cli, tiny_llm_options):
    from primitives.builtins import builtin
    from primitives.recipe import Recipe, builtin_recipe

    ls = "recipe(score=wanda, post=ls)"
    done = cli("evaluate", "wanda", "owl_wanda", ls, *_options(tiny_llm_options), "--json",
               "--registry", str(cli.db), timeout=300)
    assert done.code == 0, done.err
    wanda, owl, least = json.loads(done.out)["results"]
    assert wanda["hash"] == builtin("wanda").hash and owl["hash"] == builtin_recipe("owl_wanda").hash
    assert least["hash"] == Recipe.parse(ls).hash and all(r["ok"] for r in (wanda, owl, least))
    shown = json.loads(cli("registry", "show", "owl_wanda", "--json").out)
    assert shown["metric"]["hash"] == owl["hash"] and shown["evaluations"][0]["score"] == owl["score"]


def test_prune_saves_a_recipes_updated_weights(cli, tiny_llm_options, tmp_path):
    import torch
    from safetensors.torch import load_file

    out = tmp_path / "ls"
    done = cli("prune", "recipe(score=wanda, post=ls)", "--sparsity", "0.6", "--out", str(out),
               *_options(tiny_llm_options), "--no-evaluate", timeout=300)
    assert done.code == 0, done.err
    info = json.loads((out / "metricforge.json").read_text())
    assert info["recipe"]["post"] == "ls" and abs(info["achieved_sparsity"] - 0.6) < 0.01
    up = load_file(str(out / "model.safetensors"))["model.layers.0.mlp.up_proj.weight"]
    dense = load_file(f"{tiny_llm_options['model']}/model.safetensors")["model.layers.0.mlp.up_proj.weight"]
    assert float((up == 0).float().mean()) == pytest.approx(0.6, abs=0.01)
    kept = up != 0
    assert not torch.equal(up[kept], dense[kept])  # the kept weights were updated, not only masked


def test_prune_method_swap_refines_the_masks_and_keeps_the_weights(cli, tiny_llm_options, tmp_path):
    import torch
    from safetensors.torch import load_file

    out = tmp_path / "swap"
    done = cli("prune", "wanda", "--method", "swap", "--sparsity", "0.5", "--out", str(out),
               *_options(tiny_llm_options), "--no-evaluate", timeout=300)
    assert done.code == 0, done.err
    info = json.loads((out / "metricforge.json").read_text())
    assert info["recipe"]["post"] == "swap" and abs(info["achieved_sparsity"] - 0.5) < 0.01
    name = "model.layers.0.mlp.down_proj.weight"
    down = load_file(str(out / "model.safetensors"))[name]
    dense = load_file(f"{tiny_llm_options['model']}/model.safetensors")[name]
    kept = down != 0
    assert torch.equal(down[kept], dense[kept])  # masks only: no kept weight changed value
    assert len(set(kept.sum(dim=1).tolist())) == 1  # every row keeps as many


def test_prune_with_a_method_on_a_recipe_is_a_clear_error(cli, tiny_llm_options, tmp_path):
    done = cli("prune", "owl_wanda", "--method", "dsnot", "--out", str(tmp_path / "x"), *_options(tiny_llm_options))
    assert done.code != 0 and "is a recipe already" in done.err and "Traceback" not in done.err


def test_registry_add_show_list_export_and_import_a_recipe(cli, tmp_path):
    from primitives.recipe import Recipe

    text = "recipe(score=wanda, alloc=mul(outl, sub(1, depth)), unit=layer, post=ls)"
    recipe = Recipe.parse(text)
    added = cli("registry", "add", text, "--name", "owl_depth_ls")
    assert added.code == 0, added.err
    assert added.out.startswith(recipe.hash)
    shown = cli("registry", "show", "owl_depth_ls")
    assert "allocation  mul(outl, sub(1, depth))" in shown.out and "post        ls" in shown.out
    assert "unit        layer" in shown.out and "score_hash" in shown.out
    listed = cli("registry", "list")
    assert "alloc mul(outl, sub(1, depth)) per layer, post ls" in " ".join(listed.out.split())
    python = cli("registry", "export", "owl_depth_ls", "--format", "python")
    assert "def metric(W: torch.Tensor, X: torch.Tensor)" in python.out
    assert "def allocation(depth: torch.Tensor, outl: torch.Tensor)" in python.out and "post: ls" in python.out
    exported = cli("registry", "export", "owl_depth_ls", "--format", "json", "--out", str(tmp_path / "r.json"))
    assert exported.code == 0, exported.err
    other = tmp_path / "other.db"
    done = cli("registry", "import", str(tmp_path / "r.json"), "--registry", str(other), registry=False)
    assert done.code == 0, done.err
    assert done.out.startswith(recipe.hash)
    bad = cli("registry", "add", "recipe(score=wanda, alloc=W)")
    assert bad.code != 0 and "recipe alloc: unknown operand 'W'" in bad.err and "Traceback" not in bad.err
