"""One calibration pass per task (tiny random Llama, local text): Hd, the proxy's Gram matrices and the
recipes' post-mask statistics all come from it, and equal what gathering on each dense block's inputs gave."""
from __future__ import annotations

import pytest
import torch

from evaluators.llm.task import LLMPruneTask
from primitives.recipe import Recipe

POSTS = ("ls", "obs", "dsnot")


def count_passes(task: LLMPruneTask, monkeypatch) -> dict[str, int]:
    """Counts of calibration passes (``operands._calibration_pass`` or its block-major twin) and of the
    model's forward calls (every pass over the windows, block-input captures included)."""
    from evaluators.llm import blockwise, operands

    counts = {"passes": 0, "forwards": 0}

    def counted(original):
        def wrapper(*args, **kwargs):
            counts["passes"] += 1
            return original(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(operands, "_calibration_pass", counted(operands._calibration_pass))
    monkeypatch.setattr(blockwise, "calibrate", counted(blockwise.calibrate))
    def forward(module, args):
        counts["forwards"] += 1

    task.state.model.register_forward_pre_hook(forward)
    return counts


def fresh(options: dict, tmp_path, **changes) -> LLMPruneTask:
    """A prepared proxy-fitness task with an empty operand cache (nothing read from another test's)."""
    task = LLMPruneTask(**{**options, "cache_dir": str(tmp_path), **changes}, sparsity=0.6, fitness="reconstruction")
    task.prepare()
    return task


@pytest.mark.parametrize("offload", ["none", "blocks"])
def test_hd_then_the_proxy_then_recipes_run_one_calibration_pass(tiny_llm_options, tmp_path, monkeypatch, offload):
    task = fresh(tiny_llm_options, tmp_path, offload=offload)
    counts = count_passes(task, monkeypatch)
    windows = task.state.calib.shape[0]
    hd = task.state.operands_for(("Hd",))
    assert counts == {"passes": 1, "forwards": windows}
    grams = task.state.store.grams()
    task.state.reconstruction()
    for post in POSTS:
        assert task.score_recipe(Recipe.parse(f"recipe(score=wanda, post={post})")).ok
    assert counts == {"passes": 1, "forwards": windows}  # before: 1 for Hd, 1 for the Grams, 1 for the recipes
    assert set(task.state.store.computed) == {"X", "Xs", "Y", "Hd", "XtX", "moments"}
    again = LLMPruneTask(task.config)  # another process: everything read from the disk cache
    for post in POSTS:
        again.score_recipe(Recipe.parse(f"recipe(score=wanda, post={post})"))
    assert again.state.store.computed == [] and {"XtX", "moments", "X"} <= set(again.state.store.loaded)
    reread = again.state.operands_for(("Hd",))
    name = "model.layers.1.self_attn.q_proj"
    assert torch.equal(reread[name]["Hd"], hd[name]["Hd"]) and torch.equal(again.state.store.grams()[name], grams[name])


def test_the_proxy_then_hd_run_one_pass_and_hd_is_unchanged(tiny_llm_options, tmp_path, monkeypatch):
    from evaluators.llm.operands import _calibration_pass
    from evaluators.llm.stats import collecting

    task = fresh(tiny_llm_options, tmp_path)
    st = task.state
    counts = count_passes(task, monkeypatch)
    st.reconstruction()
    hd = st.operands_for(("Hd", "X"))
    assert counts["passes"] == 1 and "Hd" in st.store.computed
    with collecting(st.layers, hessian=True) as stats, torch.inference_mode():  # each layer's own X^T X
        _calibration_pass(st.model, st.calib, "reference")
    assert all(torch.equal(hd[name]["Hd"], s.operands()["Hd"]) for name, s in stats.items())


def gathered_on_block_inputs(task: LLMPruneTask) -> dict[str, dict[str, torch.Tensor]]:
    """What the recipe gathered before: each dense block run on its inputs, hooks on its layers."""
    from evaluators.llm.blocks import capture_block_inputs, run_block
    from evaluators.llm.stats import collecting

    st = task.state
    hiddens, kwargs_list = capture_block_inputs(st.model, st.blocks, st.calib)
    out = {}
    for layers in st.block_layers:
        with collecting(layers, hessian=True) as stats:
            hiddens = run_block(st.blocks[layers[0].block], hiddens, kwargs_list)
        out.update({name: {"H": s.xtx * (2.0 / s.sequences), "mean": s.mean, "var": s.var}
                    for name, s in stats.items()})
    return out


def close(a: torch.Tensor, b: torch.Tensor, rel: float = 1e-5) -> bool:
    return float((a.double() - b.double()).norm()) <= rel * float(b.double().norm())


def test_recipe_steps_read_the_stores_statistics_equal_to_the_block_gathering(tiny_llm_options, tmp_path, monkeypatch):
    from evaluators.llm import sparsegpt
    from evaluators.llm.recipe import dsnot, ls

    task = fresh(tiny_llm_options, tmp_path)
    st = task.state
    seen: list[tuple[str, object, dict[str, torch.Tensor]]] = []

    def recording(post, original, names):
        def wrapper(*args, **kwargs):
            seen.append((post, args[0], dict(zip(names, args[1:1 + len(names)]))))
            return original(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(ls, "ls_update", recording("ls", ls.ls_update, ("H",)))
    monkeypatch.setattr(sparsegpt, "obs_update", recording("obs", sparsegpt.obs_update, ("H",)))
    monkeypatch.setattr(dsnot, "dsnot_refine", recording("dsnot", dsnot.dsnot_refine, ("keep", "mean", "var")))
    for post in POSTS:
        assert task.score_recipe(Recipe.parse(f"recipe(score=wanda, post={post})")).ok
    reference = gathered_on_block_inputs(task)
    inputs = st.store.inputs
    assert inputs.sequences == st.calib.shape[0] == 4  # one sequence per calibration window
    by_weight = {layer.module.weight.data_ptr(): layer.name for layer in st.layers}
    posts = {post: [(by_weight[w.data_ptr()], got) for p, w, got in seen if p == post] for post in POSTS}
    assert [name for name, _ in posts["ls"]] == [name for name, _ in posts["obs"]] == [l.name for l in st.layers]
    assert posts["dsnot"] and all("self_attn" in name for name, _ in posts["dsnot"])
    for post in ("ls", "obs"):
        for name, got in posts[post]:
            assert torch.equal(got["H"], inputs.grams[name] * (2.0 / inputs.sequences))  # the store's Gram
            assert close(got["H"], reference[name]["H"]), (post, name)
    for name, got in posts["dsnot"]:
        assert torch.equal(got["mean"], inputs.moments[name]["mean"])
        assert close(got["mean"], reference[name]["mean"]) and close(got["var"], reference[name]["var"]), name
