"""LLMPruneTask: perplexity of a causal LM after pruning all its decoder linears with a metric (or, with
fitness "reconstruction", the layers' output error on calibration inputs: reconstruction.py)."""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator

from evaluators.base import Fitness, PreparedTask

from .config import LLMTaskConfig
from .operands import OPERANDS

if TYPE_CHECKING:
    from evaluators.heldout import HeldOut, HeldOutPlan
    from primitives.metric import Metric
    from primitives.recipe import Recipe

    from .prepared import Prepared
    from .reconstruction import Reconstruction
    from .screening import Screened

log = logging.getLogger(__name__)


class LLMPruneTask(PreparedTask):
    """Prune every decoder linear with a metric at a sparsity and group, score perplexity (lower is better)."""

    name = "llm-prune"
    config_class = LLMTaskConfig
    direction = "min"
    operands = OPERANDS
    takes_recipes = True

    def __init__(self, config: LLMTaskConfig | None = None, **overrides: Any) -> None:
        """A task for `config` (default LLMTaskConfig()) with keyword overrides of its fields."""
        self.config = dataclasses.replace(config or LLMTaskConfig(), **overrides)
        self._state: Prepared | None = None
        self._shared = False  # True for a variant scoring on another task's prepared state

    def settings(self) -> dict[str, Any]:
        """Every setting that changes the score, dtype and device resolved."""
        from .model import pick_device, pick_dtype

        cfg = self.config
        device = pick_device(cfg.device)
        dtype = str(pick_dtype(cfg.dtype, device)).replace("torch.", "")
        skip = ({"cache_dir", "eval_batch", "device", "dtype", "offload"} | (set() if cfg.grouped else {"aggregate"})
                | (set() if cfg.calib_draws > 1 else {"calib_draws"})  # keys of one-draw settings unchanged
                | (set() if cfg.calibration_set and cfg.calib_aggregate != "mean" else {"calib_aggregate"})
                | ({"fitness"} if cfg.fitness == "perplexity" else set())  # the default keeps earlier keys
                | (set() if cfg.proxy_rows else {"proxy_rows"}) | (set() if cfg.proxy_rank else {"proxy_rank"}))
        out = {k: v for k, v in cfg.to_dict().items() if k not in skip}
        return {"task": self.name, **out, "dtype": dtype, "device": device.type}

    def _build_state(self) -> Prepared:
        """Load model and data, compute (or load cached) operands."""
        from .prepared import Prepared

        return Prepared(self.config)

    def variant(self, **changes: Any) -> LLMPruneTask:
        """A task with other sparsity, group, mode, fitness or fewer leading evaluation tokens sharing
        this one's prepared model and operands."""
        if set(changes) - {"sparsity", "group", "aggregate", "mode", "eval_tokens", "fitness", "proxy_rows",
                           "proxy_rank"}:
            raise ValueError("a variant may change only sparsity, group, aggregate, mode, eval_tokens, fitness, "
                             "proxy_rows and proxy_rank; make a new task otherwise")
        other = LLMPruneTask(self.config, **changes)
        if "eval_tokens" in changes and not self._leading_subset(other.config):
            raise ValueError("a variant shares evaluation windows only as the first windows of this task's "
                             "(eval_select 'first', no more tokens than this task)")
        other._state = self.state  # prepared now, or the variant would prepare a state of its own
        other._shared = True
        return other

    def _leading_subset(self, other: LLMTaskConfig) -> bool:
        """True when ``other`` evaluates on the leading windows of this task's evaluation windows."""
        mine, theirs = self.config.eval_windows, other.eval_windows
        return self.config.eval_select == "first" and (mine is None or (theirs is not None and theirs <= mine))

    def budget_options(self, fraction: float) -> dict[str, Any]:
        """Evaluate on the leading ``fraction`` of the evaluation tokens (whole windows, at least one)."""
        cfg = self.config
        if cfg.fitness != "perplexity":
            raise ValueError(f"fitness {cfg.fitness!r} evaluates no windows: it has no reduced budget")
        if cfg.eval_tokens is None:
            raise ValueError("multi-fidelity needs a fixed eval_tokens (not every window of the text)")
        windows = max(1, round(cfg.eval_tokens * fraction / cfg.eval_length))
        return {"eval_tokens": windows * cfg.eval_length}

    def held_out(self, plan: HeldOutPlan) -> list[HeldOut]:
        """Tasks under held-out calibrations, evaluation texts and levels (``heldout.held_out_tasks``)."""
        from .heldout import held_out_tasks

        return held_out_tasks(self, plan)

    def proxy_options(self) -> dict[str, Any]:
        """The proxy rung of multi-fidelity search: the reconstruction error (no evaluation pass) on
        rank-PROXY_RANK Gram matrices, on PROXY_ROWS seeded rows per layer where rows are masked on
        their own (per row, N:M; one-shot)."""
        from .config import PROXY_RANK, PROXY_ROWS

        cfg = self.config
        if cfg.fitness != "perplexity":
            raise ValueError(f"this task's fitness is already {cfg.fitness!r}: it has no cheaper proxy")
        sampled = cfg.structure.rows_independent and cfg.mode == "oneshot"
        return {"fitness": "reconstruction", "proxy_rank": PROXY_RANK, **({"proxy_rows": PROXY_ROWS} if sampled else {})}

    def evaluation_windows(self) -> Any:
        """The token windows this task evaluates on (the leading ones of a shared state)."""
        return self.state.eval[: self.config.eval_windows]

    def perplexity(self) -> float:
        """Perplexity of the model as it is now on the evaluation windows."""
        from .perplexity import perplexity

        return perplexity(self.state.model, self.evaluation_windows(), self.config.eval_batch)

    def dense_perplexity(self) -> float:
        """Perplexity of the unpruned model."""
        return self.perplexity()

    def _single_calibration(self, what: str) -> None:
        """Refuse a calibration set where one pruned model is kept or one pruning is given."""
        self.prepare()
        if self.config.calibration_set:
            raise ValueError(f"{what} uses one calibration; this task has a calibration set of "
                             f"{len(self.config.calibrations())} (calib_source {self.config.calib_source!r}, "
                             f"calib_draws {self.config.calib_draws}): give one source and calib_draws = 1")

    def apply(self, metric: Metric) -> tuple[int, int]:
        """Prune the model in place with a metric and keep it pruned (for saving); (pruned, total)."""
        from primitives.compile import compile_metric

        self._single_calibration("pruning a model to keep")
        return self._apply(compile_metric(metric), tuple(metric.operands))

    def score(self, metric: Metric) -> Fitness:
        """Scores, masks, evaluation and exact restore; a failure follows ``Fitness.guarded``'s rule.
        With a calibration set, the aggregate over its calibrations (``over_calibrations``)."""
        self.prepare()
        return self.over_calibrations(lambda task, start: task._score(metric, start), metric=metric.text)

    def calibration_tasks(self) -> list[LLMPruneTask]:
        """One task per calibration of the set (this task when it has one), sharing the model."""
        configs = self.config.single_calibrations()
        if len(configs) == 1:
            return [self]
        tasks = []
        for cfg in configs:
            task = LLMPruneTask(cfg)
            task._state, task._shared = self.state.for_calibration(cfg), self._shared
            tasks.append(task)
        return tasks

    def over_calibrations(self, body: Any, **details: Any) -> Fitness:
        """``body(task, start) -> Fitness`` on every calibration of the set, under the one failure rule.

        The value over a set is the geometric mean of the perplexities, i.e. the dense perplexity
        times exp(mean log ratio to dense): every calibration is evaluated on the same windows, so
        a metric is rewarded for holding across calibrations, not for fitting one. With
        calib_aggregate "worst" it is Wanda's geometric mean times the largest ratio of the candidate
        to Wanda under the same calibration: a large gain under one calibration cannot hide a loss
        under another. One failed calibration fails the candidate with that calibration's reason.
        """
        self.prepare()
        tasks = self.calibration_tasks()
        what = details.get("metric", "pruning")
        if len(tasks) == 1:
            return Fitness.guarded(self.direction, lambda start: body(self, start), what, **details)

        def aggregate(start: float) -> Fitness:
            from evaluators.base import ScoreError

            parts = []
            for task in tasks:
                fit = Fitness.guarded(self.direction, lambda begin, task=task: body(task, begin), what, **details)
                source, seed = task.config.calibrations()[0]
                if not fit.ok:
                    raise ScoreError(f"calibration {source}@{seed}: {fit.reason}")
                parts.append((f"{source}@{seed}", fit))
            values = [fit.value for _, fit in parts]
            if self.config.calib_aggregate == "worst":
                return self._worst_over(tasks, parts, start, details)
            if min(values) <= 0.0:  # a proxy can be 0 (nothing pruned): no logarithm, the plain mean
                return Fitness(sum(values) / len(values), True, None, time.perf_counter() - start,
                               {**details, "aggregate": "mean over calibrations",
                                "calibrations": {name: fit.value for name, fit in parts}})
            logs = [math.log(v) for v in values]
            info = {**details, "aggregate": "geometric mean over calibrations",
                    "calibrations": {name: fit.value for name, fit in parts},
                    "log_spread": max(logs) - min(logs),
                    "sparsity": sum(fit.details.get("sparsity", 0.0) for _, fit in parts) / len(parts)}
            for phase in ("prune_s", "eval_s"):
                info[phase] = sum(float(fit.details.get(phase, 0.0)) for _, fit in parts)
            return Fitness(math.exp(sum(logs) / len(logs)), True, None, time.perf_counter() - start, info)

        return Fitness.guarded(self.direction, aggregate, what, **details)

    def _worst_over(self, tasks: list[LLMPruneTask], parts: list[tuple[str, Fitness]], start: float,
                    details: dict[str, Any]) -> Fitness:
        """The "worst" rule over a calibration set: Wanda's geometric mean times the candidate's
        largest ratio to Wanda under the same calibration (Wanda scored once per calibration)."""
        from evaluators.base import ScoreError

        baselines = [task.wanda_value() for task in tasks]
        if min(baselines) <= 0.0:
            raise ScoreError("Wanda's value is not positive under some calibration: no ratio to it")
        ratios = {name: fit.value / base for (name, fit), base in zip(parts, baselines)}
        scale = math.exp(sum(math.log(b) for b in baselines) / len(baselines))
        info = {**details, "aggregate": "worst ratio to wanda over calibrations",
                "calibrations": {name: fit.value for name, fit in parts}, "ratios_to_wanda": ratios,
                "sparsity": sum(fit.details.get("sparsity", 0.0) for _, fit in parts) / len(parts)}
        return Fitness(scale * max(ratios.values()), True, None, time.perf_counter() - start, info)

    def wanda_value(self) -> float:
        """Wanda's value (perplexity or proxy) under this one-calibration task's settings, scored once
        per prepared state and settings (the reference of the "worst" calibration rule)."""
        from primitives.builtins import builtin

        from evaluators.base import ScoreError

        memo = self.state.wanda_values
        if self.config not in memo:
            fit = Fitness.guarded(self.direction, lambda start: self._score(builtin("wanda"), start), "wanda")
            if not fit.ok:
                raise ScoreError(f"Wanda, the reference of calib_aggregate 'worst', failed: {fit.reason}")
            memo[self.config] = fit.value
        return memo[self.config]

    def _score(self, metric: Metric, start: float) -> Fitness:
        """The body of score: operands checked, compiled, pruned (or screened masks reused), evaluated."""
        from primitives.compile import compile_metric

        from evaluators.failure import check_operands

        check_operands(metric.operands, self.operands, self.name)
        fn = compile_metric(metric)
        if self.config.proxy_rows:
            cfg, needs = self.config, tuple(metric.operands)
            return self._run_sampled(lambda proxy: proxy.sampled_errors(
                fn, self.state.operands_for(needs), cfg.sparsity, cfg.structure, cfg.proxy_rows, cfg.seed),
                start, metric=metric.text)
        key = self.state.screened.key(metric, self.config)
        screened = self.state.screened.get(key)
        if screened is not None:  # scored on fewer windows before: same masks, same leading windows
            return self._run(lambda: screened.apply(self.state.layers), start, key, screened, metric=metric.text)
        return self._run(lambda: self._apply(fn, tuple(metric.operands)), start, key, metric=metric.text)

    def score_recipe(self, recipe: Recipe) -> Fitness:
        """Perplexity after a recipe (layer allocation, masks, post-mask step; one-shot, statistics of
        the dense model), over the calibration set when there is one; a bare recipe is scored as its metric."""
        from .recipe.recipe import apply_recipe  # checks operands, mode and group first

        if recipe.is_bare:
            return self.score(recipe.as_metric())
        if self.config.proxy_rows:
            return self.over_calibrations(lambda task, start: task._sampled_recipe(recipe, start), metric=recipe.text)
        return self.score_pruning(lambda task: apply_recipe(task, recipe), metric=recipe.text)

    def _sampled_recipe(self, recipe: Recipe, start: float) -> Fitness:
        """The sampled reconstruction proxy of a recipe (``recipe.sampled_recipe_errors``): nothing pruned."""
        return self._run_sampled(lambda proxy: self.recipe_proxy_errors(recipe, proxy), start, metric=recipe.text)

    def recipe_proxy_errors(self, recipe: Recipe, proxy: Reconstruction | None = None) -> dict[str, float]:
        """layer -> a recipe's relative reconstruction error on ``proxy_rows`` seeded rows per layer (every
        row when proxy_rows is 0), from the dense model's statistics; nothing is pruned."""
        from .recipe.recipe import check_task, input_needs, sampled_recipe_errors, task_operands

        check_task(self, recipe)
        st, cfg = self.state, self.config
        inputs = st.store.statistics(**input_needs(recipe))  # first: a pass it runs also gives X, Xs and Y
        operands = st.operands_for(task_operands(recipe))
        rows = cfg.proxy_rows or max(layer.shape[0] for layer in st.layers)
        return sampled_recipe_errors(recipe, proxy or st.reconstruction(cfg.proxy_rank), st.block_layers, operands, inputs,
                                     cfg.sparsity, cfg.structure, rows, cfg.seed)

    def apply_recipe(self, recipe: Recipe) -> tuple[int, int]:
        """Prune the model in place with a recipe and keep it pruned (for saving); (pruned, total)."""
        from .recipe.recipe import apply_recipe

        if recipe.is_bare:
            return self.apply(recipe.as_metric())
        self._single_calibration("pruning a model to keep")
        return apply_recipe(self, recipe)

    @contextlib.contextmanager
    def pruned(self, metric: Metric) -> Iterator[Any]:
        """The model pruned with a metric for the duration of the block, restored exactly after."""
        from primitives.compile import compile_metric

        from .prune import restore

        self._single_calibration("a pruned model")
        try:
            self._apply(compile_metric(metric), tuple(metric.operands))
            yield self.state.model
        finally:
            restore(self.state.layers, self.state.dense)

    def apply_sparsegpt(self, variant: str | None = None, percdamp: float | None = None) -> tuple[int, int]:
        """Prune with SparseGPT and its weight update (sequential, computed in float32) and keep the
        model pruned (for saving); variant "block" (one threshold per 128 columns, the authors') or
        "row" (each row inside each block), by default "row" for group row and "block" otherwise;
        ``percdamp``: the damping, by default the paper's (``stats.PERCDAMP``)."""
        from .sparsegpt import sparsegpt_prune

        self._single_calibration("SparseGPT pruning a model to keep")
        cfg, st = self.config, self.state
        gran = self._check_sparsegpt_group()
        group = str(gran) if gran.kind == "nm" else "layer"
        variant = variant or ("row" if cfg.structure.scope == "row" else "block")
        hiddens, kwargs_list = st.inputs()
        damping = {} if percdamp is None else {"percdamp": percdamp}
        return sparsegpt_prune(st.blocks, st.block_layers, hiddens, kwargs_list, cfg.sparsity, group, variant, **damping)

    def _check_sparsegpt_group(self) -> Any:
        """The granularity, when SparseGPT can prune this task's group (ValueError otherwise)."""
        cfg = self.config
        gran = cfg.structure.granularity
        if gran.kind not in ("element", "nm"):
            raise ValueError(f"SparseGPT prunes single weights or N:M, not group {cfg.group!r}")
        if cfg.structure.is_global:
            raise ValueError("SparseGPT chooses its mask per 128-column block, not globally")
        return gran

    def sparsegpt_perplexity(self, variant: str | None = None) -> Fitness:
        """Perplexity after SparseGPT (see apply_sparsegpt) at this task's sparsity and group, over the
        calibration set when there is one; weights restored."""
        self._check_sparsegpt_group()  # a group SparseGPT cannot prune is a usage error, not a failed score
        return self.score_pruning(lambda task: task.apply_sparsegpt(variant),
                                  metric=f"sparsegpt (OBS update, {variant or 'auto'})")

    def score_pruning(self, apply: Callable[[LLMPruneTask], tuple[int, int]], **details: Any) -> Fitness:
        """Prune with ``apply(task) -> (pruned, total)``, measure perplexity, restore the dense weights,
        over the calibration set when there is one (``apply`` is called with each calibration's task);
        a failure follows ``Fitness.guarded``'s rule and keeps ``details``."""
        return self.over_calibrations(lambda task, start: task._run(lambda: apply(task), start, **details), **details)

    def _apply(self, fn: Any, needs: tuple[str, ...]) -> tuple[int, int]:
        """Zero the pruned weights for the configured mode; (pruned, total)."""
        from .prune import prune_oneshot, prune_sequential

        st, cfg = self.state, self.config
        if cfg.mode == "oneshot" and st.offload is not None:  # one block on the device at a time
            from .blockwise import prune_oneshot as prune_blockwise

            return prune_blockwise(st.offload, fn, st.layers, st.operands_for(needs), cfg.sparsity, cfg.structure)
        if cfg.mode == "oneshot":
            return prune_oneshot(fn, st.layers, st.operands_for(needs), cfg.sparsity, cfg.structure)
        dense = st.operands_for(("G",) if "G" in needs else ())  # the rest is re-measured block by block
        hiddens, kwargs_list = st.inputs()
        return prune_sequential(fn, st.blocks, st.block_layers, dense, hiddens, kwargs_list,
                                cfg.sparsity, cfg.structure, needs)

    def _run(self, apply: Any, start: float, key: tuple | None = None, screened: Screened | None = None,
             **details: Any) -> Fitness:
        """Apply a pruning, measure perplexity (or the reconstruction proxy), always restore the dense
        weights (errors reach ``Fitness.guarded``). With a memo key, an evaluation on fewer windows than the prepared ones
        is kept for a later, larger one."""
        from .perplexity import perplexity_of, window_nll_sums
        from .prune import restore
        from .screening import Screened, nonzero_patterns

        if self.config.fitness == "reconstruction":
            return self._run_reconstruction(apply, start, key, screened, **details)
        st, windows = self.state, self.evaluation_windows()
        keep = key is not None and windows.shape[0] < st.eval.shape[0]
        try:
            pruned, total = apply()
            pruned_at = time.perf_counter()
            patterns = (screened.patterns if screened else nonzero_patterns(st.layers)) if keep else None
            known = screened.nll_sums if screened else ()
            sums = window_nll_sums(st.model, windows, self.config.eval_batch, known)
            ppl = perplexity_of(sums, windows.shape[1] - 1)
            eval_s = time.perf_counter() - pruned_at
        finally:
            restore(st.layers, st.dense)
        if keep:
            st.screened.put(key, Screened(patterns, tuple(sums)))
        wall = time.perf_counter() - start
        info = {**details, "sparsity": pruned / max(total, 1), "prune_s": pruned_at - start, "eval_s": eval_s,
                "eval_tokens": int(windows.numel())}
        if screened is not None:
            info["reused_windows"] = min(len(screened.nll_sums), windows.shape[0])
        return Fitness(ppl, True, None, wall, info)

    def _run_sampled(self, errors_of: Callable[[Reconstruction], dict[str, float]], start: float,
                     **details: Any) -> Fitness:
        """The reconstruction proxy on ``proxy_rows`` seeded rows per layer, from the dense weights and
        operands: ``errors_of(proxy)`` gives layer -> error; nothing is pruned, nothing to restore."""
        from .reconstruction import aggregate, summary

        st, cfg, gram_from = self.state, self.config, time.perf_counter()
        proxy = st.reconstruction(cfg.proxy_rank)
        ready = time.perf_counter()
        errors = errors_of(proxy)
        value = aggregate(errors)
        info = {**details, "fitness": "reconstruction", "reconstruction": value, **summary(errors),
                "proxy_rows": cfg.proxy_rows, "proxy_rank": cfg.proxy_rank, "sparsity": cfg.sparsity, "gram_s": ready - gram_from,
                "proxy_s": time.perf_counter() - ready}
        return Fitness(value, True, None, time.perf_counter() - start, info)

    def _run_reconstruction(self, apply: Any, start: float, key: tuple | None = None,
                            screened: Screened | None = None, **details: Any) -> Fitness:
        """Apply a pruning, measure the reconstruction proxy, always restore the dense weights. A
        screening rung (a variant on a shared state) keeps the masks for a metric promoted later."""
        from .prune import restore
        from .reconstruction import aggregate, summary
        from .screening import Screened, nonzero_patterns

        st, gram_from = self.state, time.perf_counter()
        proxy = st.reconstruction(self.config.proxy_rank)  # Gram matrices of the dense model: before pruning
        gram_at = time.perf_counter()
        keep = key is not None and screened is None and self._shared
        try:
            pruned, total = apply()
            pruned_at = time.perf_counter()
            patterns = nonzero_patterns(st.layers) if keep else None
            errors = proxy.errors()
            proxy_s = time.perf_counter() - pruned_at
        finally:
            restore(st.layers, st.dense)
        if keep:  # the masks only: no window has been evaluated
            st.screened.put(key, Screened(patterns, ()))
        value = aggregate(errors)
        info = {**details, "fitness": "reconstruction", "reconstruction": value, **summary(errors),
                "sparsity": pruned / max(total, 1), "gram_s": gram_at - gram_from, "prune_s": pruned_at - gram_at,
                "proxy_s": proxy_s}
        return Fitness(value, True, None, time.perf_counter() - start, info)
