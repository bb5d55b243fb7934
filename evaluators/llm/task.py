"""LLMPruneTask: perplexity of a causal LM after pruning all its decoder linears with a metric."""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from evaluators.base import Fitness, PreparedTask

from .config import LLMTaskConfig
from .operands import OPERANDS

if TYPE_CHECKING:
    from primitives.metric import Metric

log = logging.getLogger(__name__)


class _Prepared:
    """What prepare() builds once and variants of a task share: model, data, operands, dense copy."""

    def __init__(self, cfg: LLMTaskConfig) -> None:
        from .data import WindowSpec, calibration_and_evaluation
        from .layers import find_blocks, layers_by_block, prunable_layers
        from .model import cache_dir, load_model
        from .prune import snapshot

        self.root = Path(cfg.cache_dir) if cfg.cache_dir else cache_dir()
        self.model, self.tokenizer = load_model(cfg.model, cfg.dtype, cfg.device)
        self.device = next(self.model.parameters()).device
        self.calib, self.eval = calibration_and_evaluation(
            self.tokenizer, WindowSpec(cfg.calib_source, cfg.calib_length, cfg.calib_windows, cfg.seed, "seeded"),
            WindowSpec(cfg.eval_source, cfg.eval_length, cfg.eval_windows, cfg.seed, cfg.eval_select), self.root)
        self.layers = prunable_layers(self.model)
        self.blocks = find_blocks(self.model)[1]
        self.block_layers = layers_by_block(self.layers)
        self.dense = snapshot(self.layers)
        self.operands, self.cache_hit, self.cache_path = self._operands(cfg)
        self.block_inputs: tuple[list[Any], list[dict]] | None = None

    def _operands(self, cfg: LLMTaskConfig) -> tuple[dict, bool, Path]:
        """Load the operands from the disk cache, or compute and store them."""
        from .operands import (
            GRAD_SCALE,
            compute_operands,
            load_operands,
            model_fingerprint,
            operand_key,
            save_operands,
        )
        from .stats import PERCDAMP

        settings = {"dtype": str(self.model.dtype), "device": self.device.type, "grad_dtype": cfg.grad_dtype,
                    "percdamp": PERCDAMP, "grad_scale": GRAD_SCALE}
        key = operand_key(model_fingerprint(self.model), self.calib, settings)
        path = self.root / "operands" / f"{key}.safetensors"
        if path.is_file():
            return load_operands(path, self.device), True, path
        start = time.perf_counter()
        ops = compute_operands(self.model, self.layers, self.calib, cfg.grad_dtype)
        log.info("operands computed in %.1f s", time.perf_counter() - start)
        save_operands(path, ops, {"key": key})
        return ops, False, path

    def inputs(self) -> tuple[list[Any], list[dict]]:
        """Hidden states entering block 0 for every calibration window (computed once)."""
        from .blocks import capture_block_inputs

        if self.block_inputs is None:
            self.block_inputs = capture_block_inputs(self.model, self.blocks, self.calib)
        return self.block_inputs


class LLMPruneTask(PreparedTask):
    """Prune every decoder linear with a metric at a sparsity and group, score perplexity (lower is better)."""

    name = "llm-prune"
    direction = "min"
    operands = OPERANDS

    def __init__(self, config: LLMTaskConfig | None = None, **overrides: Any) -> None:
        """A task for `config` (default LLMTaskConfig()) with keyword overrides of its fields."""
        self.config = dataclasses.replace(config or LLMTaskConfig(), **overrides)
        self._state: _Prepared | None = None

    def settings(self) -> dict[str, Any]:
        """Every setting that changes the score, dtype and device resolved."""
        from .model import pick_device, pick_dtype

        cfg = self.config
        device = pick_device(cfg.device)
        dtype = str(pick_dtype(cfg.dtype, device)).replace("torch.", "")
        skip = {"cache_dir", "eval_batch", "device", "dtype"} | (set() if cfg.grouped else {"aggregate"})
        out = {k: v for k, v in cfg.to_dict().items() if k not in skip}
        return {"task": self.name, **out, "dtype": dtype, "device": device.type}

    def _build_state(self) -> _Prepared:
        """Load model and data, compute (or load cached) operands."""
        return _Prepared(self.config)

    def variant(self, **changes: Any) -> LLMPruneTask:
        """A task with other sparsity, group, mode or fewer leading evaluation tokens sharing this
        one's prepared model and operands."""
        if set(changes) - {"sparsity", "group", "aggregate", "mode", "eval_tokens"}:
            raise ValueError("a variant may change only sparsity, group, aggregate, mode and eval_tokens; "
                             "make a new task otherwise")
        other = LLMPruneTask(self.config, **changes)
        if "eval_tokens" in changes and not self._leading_subset(other.config):
            raise ValueError("a variant shares evaluation windows only as the first windows of this task's "
                             "(eval_select 'first', no more tokens than this task)")
        other._state = self._state
        return other

    def _leading_subset(self, other: LLMTaskConfig) -> bool:
        """True when ``other`` evaluates on the leading windows of this task's evaluation windows."""
        mine, theirs = self.config.eval_windows, other.eval_windows
        return self.config.eval_select == "first" and (mine is None or (theirs is not None and theirs <= mine))

    def budget_options(self, fraction: float) -> dict[str, Any]:
        """Evaluate on the leading ``fraction`` of the evaluation tokens (whole windows, at least one)."""
        cfg = self.config
        if cfg.eval_tokens is None:
            raise ValueError("multi-fidelity needs a fixed eval_tokens (not every window of the text)")
        windows = max(1, round(cfg.eval_tokens * fraction / cfg.eval_length))
        return {"eval_tokens": windows * cfg.eval_length}

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

    def apply(self, metric: Metric) -> tuple[int, int]:
        """Prune the model in place with a metric and keep it pruned (for saving); (pruned, total)."""
        from primitives.compile import compile_metric

        return self._apply(compile_metric(metric), tuple(metric.operands))

    def score(self, metric: Metric) -> Fitness:
        """Scores, masks, evaluation and exact restore; any failure is Fitness(ok=False, inf, reason)."""
        from primitives.compile import compile_metric

        start = time.perf_counter()
        self.prepare()
        unknown = sorted(set(metric.operands) - set(self.operands))
        if unknown:
            return Fitness.failed(self.direction, f"operands not provided by {self.name}: {unknown}")
        try:
            fn = compile_metric(metric)
            return self._run(lambda: self._apply(fn, tuple(metric.operands)), start, metric=metric.text)
        except Exception as exc:  # noqa: BLE001 - any compile error fails the candidate, never the search
            return Fitness.failed(self.direction, f"{type(exc).__name__}: {exc}", time.perf_counter() - start)

    @contextlib.contextmanager
    def pruned(self, metric: Metric) -> Iterator[Any]:
        """The model pruned with a metric for the duration of the block, restored exactly after."""
        from primitives.compile import compile_metric

        from .prune import restore

        try:
            self._apply(compile_metric(metric), tuple(metric.operands))
            yield self.state.model
        finally:
            restore(self.state.layers, self.state.dense)

    def sparsegpt_perplexity(self) -> Fitness:
        """SparseGPT with its weight update (sequential) at this task's sparsity and group; weights restored."""
        from .sparsegpt import sparsegpt_prune

        cfg = self.config
        gran = cfg.structure.granularity
        if gran.kind not in ("element", "nm"):
            raise ValueError(f"SparseGPT prunes single weights or N:M, not group {cfg.group!r}")
        group = str(gran) if gran.kind == "nm" else "layer"
        st = self.state

        def apply() -> tuple[int, int]:
            hiddens, kwargs_list = st.inputs()
            return sparsegpt_prune(st.blocks, st.block_layers, hiddens, kwargs_list, cfg.sparsity, group)

        return self._run(apply, time.perf_counter(), metric="sparsegpt (OBS update)")

    def _apply(self, fn: Any, needs: tuple[str, ...]) -> tuple[int, int]:
        """Zero the pruned weights for the configured mode; (pruned, total)."""
        from .prune import prune_oneshot, prune_sequential

        st, cfg = self.state, self.config
        if cfg.mode == "oneshot":
            return prune_oneshot(fn, st.layers, st.operands, cfg.sparsity, cfg.structure)
        hiddens, kwargs_list = st.inputs()
        return prune_sequential(fn, st.blocks, st.block_layers, st.operands, hiddens, kwargs_list,
                                cfg.sparsity, cfg.structure, needs)

    def _run(self, apply: Any, start: float, **details: Any) -> Fitness:
        """Apply a pruning, measure perplexity, always restore the dense weights."""
        from .prune import ScoreError, restore

        st = self.state
        try:
            pruned, total = apply()
            pruned_at = time.perf_counter()
            ppl = self.perplexity()
            eval_s = time.perf_counter() - pruned_at
        except ScoreError as exc:
            return Fitness.failed(self.direction, str(exc), time.perf_counter() - start, **details)
        except Exception as exc:
            log.debug("candidate failed", exc_info=True)
            return Fitness.failed(self.direction, f"{type(exc).__name__}: {exc}", time.perf_counter() - start, **details)
        finally:
            restore(st.layers, st.dense)
        wall = time.perf_counter() - start
        info = {**details, "sparsity": pruned / max(total, 1), "prune_s": pruned_at - start, "eval_s": eval_s,
                "eval_tokens": int(self.evaluation_windows().numel())}
        if not math.isfinite(ppl):
            return Fitness.failed(self.direction, "perplexity is not finite", wall, **info)
        return Fitness(ppl, True, None, wall, info)
