"""The reconstruction fitness of llm-prune (tiny random Llama, real text): the proxy's value, its Gram
matrices and their cache, exact restores, settings keys and the masks a proxy rung leaves."""
from __future__ import annotations

import pytest
import torch

from evaluators.llm.config import LLMTaskConfig
from evaluators.llm.corpora import PYTHON_DOCS
from evaluators.llm.reconstruction import aggregate
from evaluators.llm.task import LLMPruneTask
from primitives.builtins import BUILTINS, builtin

from .tiny import tiny_model_folder

pytestmark = pytest.mark.skipif(not PYTHON_DOCS.is_dir(), reason="python3.11-doc not installed")
LAYER = "model.layers.1.mlp.down_proj"


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-proxy")
    t = LLMPruneTask(model=tiny_model_folder(root / "model"), calib_source="fortunes:wisdom", calib_windows=3,
                     calib_length=32, eval_tokens=256, eval_length=32, dtype="float32", device="cpu",
                     cache_dir=str(root / "cache"))
    t.prepare()
    return t


@pytest.fixture(scope="module")
def proxy(task):
    return task.variant(fitness="reconstruction")


def intact(task) -> bool:
    return all(torch.equal(layer.module.weight, task.state.dense[layer.name]) for layer in task.state.layers)


def test_dense_model_scores_zero(proxy):
    fit = proxy.score_pruning(lambda task: (0, 1), metric="dense")
    assert fit.ok and fit.value == 0.0 and fit.details["reconstruction"] == 0.0
    assert set(proxy.state.reconstruction().errors().values()) == {0.0}


def test_proxy_grows_with_sparsity(proxy):
    for name in ("magnitude", "wanda"):
        values = [proxy.variant(sparsity=s).score(builtin(name)).value for s in (0.2, 0.4, 0.6, 0.8)]
        assert all(0 < a < b for a, b in zip(values, values[1:])), (name, values)


def test_layer_error_equals_the_output_error_on_captured_inputs(proxy):
    st = proxy.state
    layer = next(l for l in st.layers if l.name == LAYER)
    captured = []
    handle = layer.module.register_forward_hook(lambda m, args, out: captured.append(args[0].detach().clone()))
    try:
        with torch.inference_mode():
            for row in range(st.calib.shape[0]):  # the calibration windows, one per pass, as the Gram pass runs them
                st.model(input_ids=st.calib[row:row + 1], use_cache=False)
    finally:
        handle.remove()
    x = torch.cat([c.reshape(-1, c.shape[-1]) for c in captured]).double()
    dense = layer.weight.double().clone()
    wanda = builtin("wanda")
    with proxy.pruned(wanda):
        pruned = layer.weight.double().clone()
        errors = st.reconstruction().errors()
    direct = float(((x @ (dense - pruned).t()) ** 2).sum() / ((x @ dense.t()) ** 2).sum())
    assert 0 < direct < 1 and errors[LAYER] == pytest.approx(direct, rel=1e-4)
    fit = proxy.score(wanda)
    assert fit.value == pytest.approx(aggregate(errors), rel=1e-12) and fit.details["sparsity"] == 0.5
    assert {"gram_s", "prune_s", "proxy_s", "reconstruction_geomean"} <= set(fit.details)
    assert fit.details["reconstruction_by_role"].keys() == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                                            "up_proj", "down_proj"}


def test_layers_reading_one_input_share_one_gram_matrix(proxy):
    grams = proxy.state.store.grams()
    block = "model.layers.0"
    assert grams[f"{block}.self_attn.q_proj"] is grams[f"{block}.self_attn.k_proj"] is grams[f"{block}.self_attn.v_proj"]
    assert grams[f"{block}.mlp.gate_proj"] is grams[f"{block}.mlp.up_proj"]
    assert grams[f"{block}.self_attn.o_proj"] is not grams[f"{block}.self_attn.q_proj"]
    assert all(g.dtype == torch.float32 for g in grams.values())


def test_dense_weights_are_restored_bit_for_bit_even_when_scoring_fails(proxy, monkeypatch):
    for name in ("magnitude", "ria", "gblm"):
        assert proxy.score(builtin(name)).ok and intact(proxy)
    state = proxy.state.reconstruction()

    def broken():
        raise RuntimeError("no memory")

    monkeypatch.setattr(state, "errors", broken)
    fit = proxy.score(builtin("wanda"))  # pruned, then fails while measuring
    assert not fit.ok and fit.value == float("inf") and fit.reason == "RuntimeError: no memory" and intact(proxy)


def test_gram_matrices_are_cached_on_disk(task, proxy):
    first = proxy.score(builtin("wanda")).value
    again = LLMPruneTask(proxy.config)
    assert again.score(builtin("wanda")).value == first
    store = again.state.store
    assert "XtX" in store.loaded and "XtX" not in store.computed
    grams = store.grams()
    assert grams["model.layers.1.self_attn.q_proj"] is grams["model.layers.1.self_attn.v_proj"]


def test_settings_keys_and_budget_options(task, proxy):
    assert "fitness" not in task.settings()  # the default leaves earlier settings keys as they were
    assert proxy.settings() == {**task.settings(), "fitness": "reconstruction"}
    assert task.proxy_options() == {"fitness": "reconstruction", "proxy_rank": 32,
                                    "proxy_rows": 64}  # per-row group: sampled rows
    assert task.variant(group="layer").proxy_options() == {"fitness": "reconstruction", "proxy_rank": 32}
    assert task.variant(group="2:4").proxy_options()["proxy_rows"] == 64
    with pytest.raises(ValueError, match="already 'reconstruction'"):
        proxy.proxy_options()
    with pytest.raises(ValueError, match="no reduced budget"):
        proxy.budget_options(0.5)
    with pytest.raises(ValueError, match="fitness must be one of"):
        LLMTaskConfig(fitness="loss")


def test_promoted_metric_reuses_the_proxy_rungs_masks(task, proxy):
    ria = builtin("ria")
    fresh = LLMPruneTask(task.config).score(ria)  # a task of its own: nothing screened
    key = task.state.screened.key(ria, task.config)
    assert proxy.score(ria).ok and task.state.screened.get(key) is not None  # the rung kept the masks
    quarter = task.variant(eval_tokens=64).score(ria)
    assert quarter.details["reused_windows"] == 0  # masks reused, no window evaluated before
    promoted = task.score(ria)
    assert promoted.value == fresh.value and promoted.details["reused_windows"] == 2 and intact(task)
    standalone = LLMPruneTask(proxy.config)
    standalone._state = task.state  # not a variant: keeps no masks
    before = len(task.state.screened)
    standalone.score(builtin("magnitude"))
    assert len(task.state.screened) == before


def test_offloaded_blocks_give_the_same_proxy(task, proxy):
    offloaded = LLMPruneTask(proxy.config, offload="blocks", cache_dir=str(task.state.root / "offload"))
    for name in ("magnitude", "wanda"):
        assert offloaded.score(builtin(name)).value == pytest.approx(proxy.score(builtin(name)).value, rel=1e-5)
    assert intact(offloaded)


def test_sampling_every_row_gives_the_full_proxy_without_touching_the_model(task, proxy):
    everything = max(layer.shape[0] for layer in task.state.layers)
    sampled = task.variant(fitness="reconstruction", proxy_rows=everything)
    for name in ("magnitude", "wanda", "ria"):
        full, rows = proxy.score(builtin(name)), sampled.score(builtin(name))
        assert rows.ok and rows.value == pytest.approx(full.value, rel=1e-5), name
        assert rows.details["proxy_rows"] == everything and "prune_s" not in rows.details
    assert intact(task)
    assert "proxy_rows" in sampled.settings() and "proxy_rows" not in proxy.settings()


def test_sampled_rows_are_seeded_and_rank_metrics_like_the_full_proxy(task, proxy):
    few = task.variant(fitness="reconstruction", proxy_rows=8)
    names = ("magnitude", "wanda", "ria", "sparsegpt")
    assert few.score(builtin("wanda")).value == few.score(builtin("wanda")).value
    full = [proxy.score(builtin(n)).value for n in names if n in BUILTINS]
    sampled = [few.score(builtin(n)).value for n in names if n in BUILTINS]
    assert all(v > 0 for v in sampled)
    assert sorted(range(len(full)), key=full.__getitem__)[0] == sorted(range(len(sampled)), key=sampled.__getitem__)[0]


def test_sampled_rows_refuse_groups_that_mask_rows_together(task):
    for options in ({"group": "layer"}, {"mode": "sequential"}, {"fitness": "perplexity"}):
        with pytest.raises(ValueError, match="proxy_rows"):
            LLMTaskConfig(**{"fitness": "reconstruction", "proxy_rows": 4, **options})
    with pytest.raises(ValueError, match="proxy_rows must be >= 0"):
        LLMTaskConfig(fitness="reconstruction", proxy_rows=-1)
    assert LLMTaskConfig(fitness="reconstruction", proxy_rows=4, group="2:4").proxy_rows == 4


@pytest.mark.parametrize("text", ["owl_wanda", "dsnot_wanda", "swap_wanda", "recipe(score=wanda, post=ls)",
                                  "sparsegpt_obs", "recipe(score=magnitude, alloc=abs(zsn(depth)), unit=block, post=dsnot)"])
def test_sampling_every_row_of_a_recipe_gives_its_full_proxy(task, proxy, text):
    # Allocation, masks and post-mask step on the sampled rows are those of the full pruning.
    from primitives.reference import resolve_recipe

    recipe = resolve_recipe(text)
    everything = max(layer.shape[0] for layer in task.state.layers)
    full = proxy.score_recipe(recipe)
    rows = task.variant(fitness="reconstruction", proxy_rows=everything).score_recipe(recipe)
    assert full.ok and rows.ok, (full.reason, rows.reason)
    assert rows.value == pytest.approx(full.value, rel=1e-4)
    assert "prune_s" not in rows.details and rows.details["proxy_rows"] == everything
    few = task.variant(fitness="reconstruction", proxy_rows=8)
    assert few.score_recipe(recipe).value == few.score_recipe(recipe).value > 0
    assert intact(task)


def test_recipe_proxy_errors_name_every_layer_and_fold_into_the_proxy(task, proxy):
    # The per-layer errors a benchmark compares aggregates over: their mean is the proxy's value, and a
    # task without proxy_rows measures every row (the full proxy) without pruning the model.
    from primitives.reference import resolve_recipe

    recipe = resolve_recipe("recipe(score=wanda, alloc=abs(zsn(depth)), unit=layer, post=dsnot)")
    few = task.variant(fitness="reconstruction", proxy_rows=8)
    errors = few.recipe_proxy_errors(recipe)
    assert set(errors) == {layer.name for layer in task.state.layers}
    assert aggregate(errors) == pytest.approx(few.score_recipe(recipe).value)
    everything = task.recipe_proxy_errors(recipe)
    assert aggregate(everything) == pytest.approx(proxy.score_recipe(recipe).value, rel=1e-4)
    assert intact(task)


def test_low_rank_factor_is_seeded_and_exact_at_full_rank():
    from evaluators.llm.reconstruction import low_rank_factor

    x = torch.randn(200, 24, generator=torch.Generator().manual_seed(0)) * torch.linspace(0.1, 5.0, 24)
    gram = x.T @ x
    full = low_rank_factor(gram, 24)
    assert full.shape == (24, 24) and torch.allclose(full @ full.T, gram, rtol=1e-3, atol=1e-2)
    state = torch.random.get_rng_state()
    assert torch.equal(low_rank_factor(gram, 8), low_rank_factor(gram, 8))  # seeded: the same factor again
    assert torch.equal(torch.random.get_rng_state(), state)  # and the global generator untouched
    assert low_rank_factor(gram, 99).shape == (24, 24)  # no rank above the input width
    top = torch.linalg.eigvalsh(gram).flip(0)[:8]  # the best rank-8 approximation keeps the top eigenvalues
    assert torch.allclose(torch.linalg.eigvalsh(low_rank_factor(gram, 8).T @ low_rank_factor(gram, 8)).flip(0),
                          top, rtol=1e-3)


def test_low_rank_proxy_is_exact_at_full_rank_and_below_it_otherwise(task):
    # A rank-r Gram matrix drops only nonnegative terms of tr(D H D^T): each layer's error can only shrink,
    # and the proxy still ranks Wanda above magnitude.
    width = max(layer.shape[1] for layer in task.state.layers)
    exact = task.variant(fitness="reconstruction", proxy_rows=8)
    full_rank = task.variant(fitness="reconstruction", proxy_rows=8, proxy_rank=width)
    low = task.variant(fitness="reconstruction", proxy_rows=8, proxy_rank=4)
    for name in ("magnitude", "wanda"):
        assert full_rank.score(builtin(name)).value == pytest.approx(exact.score(builtin(name)).value, rel=1e-3)
        fit = low.score(builtin(name))
        assert fit.ok and fit.value > 0 and fit.details["proxy_rank"] == 4
    assert low.score(builtin("wanda")).value < low.score(builtin("magnitude")).value
    st = task.state
    assert st.reconstruction(4) is st.reconstruction(4) and st.reconstruction(4) is not st.reconstruction()
    dense_errors = st.reconstruction(4).errors()
    assert set(dense_errors.values()) == {0.0}  # the dense model: no error at any rank
    assert "proxy_rank" in low.settings() and "proxy_rank" not in exact.settings()
    assert intact(task)


def test_proxy_rank_is_checked():
    with pytest.raises(ValueError, match="proxy_rank must be >= 0"):
        LLMTaskConfig(fitness="reconstruction", proxy_rank=-1)
    with pytest.raises(ValueError, match="proxy_rank approximates the reconstruction proxy"):
        LLMTaskConfig(proxy_rank=8)
