"""What an llm-prune task builds once and its variants share: model, data, operands, dense copy."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .config import LLMTaskConfig
from .screening import ScreeningMemo

log = logging.getLogger(__name__)


class Prepared:
    """What prepare() builds once and variants of a task share: model, data, operands, dense copy.

    Operands are not computed here: ``operands_for(names)`` computes (or reads from the disk
    cache) only the kinds a metric reads, on first use.
    """

    def __init__(self, cfg: LLMTaskConfig) -> None:
        from evaluators.progress import stage

        from .data import WindowSpec, calibration_and_evaluation
        from .layers import find_blocks, layers_by_block, prunable_layers
        from .model import cache_dir, load_model
        from .operand_store import OperandStore
        from .prune import snapshot

        self.root = Path(cfg.cache_dir) if cfg.cache_dir else cache_dir()
        start = time.perf_counter()
        with stage(f"loading model {cfg.model}"):
            self.model, self.tokenizer = load_model(cfg.model, cfg.dtype, cfg.device)
        self.device = next(self.model.parameters()).device
        log.info("model %s loaded in %.1f s (%s on %s)", cfg.model, time.perf_counter() - start,
                 str(self.model.dtype).replace("torch.", ""), self.device)
        with stage(f"token windows: calibration {cfg.calib_source}, evaluation {cfg.eval_source}"):
            self.calib, self.eval = calibration_and_evaluation(
                self.tokenizer, WindowSpec(cfg.calib_source, cfg.calib_length, cfg.calib_windows, cfg.seed, "seeded"),
                WindowSpec(cfg.eval_source, cfg.eval_length, cfg.eval_windows, cfg.seed, cfg.eval_select), self.root)
        self.layers = prunable_layers(self.model)
        self.blocks = find_blocks(self.model)[1]
        self.block_layers = layers_by_block(self.layers)
        self.dense = snapshot(self.layers)
        self.store = OperandStore(self.model, self.layers, self.calib, self.root, cfg.grad_dtype)
        self.block_inputs: tuple[list[Any], list[dict]] | None = None
        self.screened = ScreeningMemo()  # masks and window losses of metrics scored on fewer windows

    def operands_for(self, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        """layer -> {operand: tensor} of the named operands, computed or loaded on first use."""
        return self.store.get(names)

    @property
    def operands(self) -> dict[str, dict[str, Any]]:
        """Every operand of every layer (computes those not computed yet)."""
        from .operand_store import COMPUTED

        return self.store.get(COMPUTED)

    def inputs(self) -> tuple[list[Any], list[dict]]:
        """Hidden states entering block 0 for every calibration window (computed once)."""
        from .blocks import capture_block_inputs

        if self.block_inputs is None:
            self.block_inputs = capture_block_inputs(self.model, self.blocks, self.calib)
        return self.block_inputs
