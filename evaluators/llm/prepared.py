"""What an llm-prune task builds once and its variants share: model, data, operands, dense copy."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from .config import LLMTaskConfig
from .screening import ScreeningMemo

log = logging.getLogger(__name__)


class Prepared:
    """What prepare() builds once and variants of a task share: model, data, operands, dense copy."""

    def __init__(self, cfg: LLMTaskConfig) -> None:
        from .data import calibration_and_evaluation
        from .layers import layers_by_block, prunable_layers
        from .model import cache_dir, load_model
        from .offload import compute_blocks, offload_of
        from .prune import snapshot

        self.root = Path(cfg.cache_dir) if cfg.cache_dir else cache_dir()
        self.model, self.tokenizer = load_model(cfg.model, cfg.dtype, cfg.device, cfg.offload)
        self.offload = offload_of(self.model)  # None, or the blocks kept off the device
        self.device = next(self.model.parameters()).device
        self.calib, self.eval = calibration_and_evaluation(self.tokenizer, cfg.calib_spec(), cfg.eval_spec(),
                                                           self.root, cfg.seed)
        self.layers = prunable_layers(self.model)
        self.blocks = compute_blocks(self.model)
        self.block_layers = layers_by_block(self.layers)
        self.dense = snapshot(self.layers)
        self.operands, self.cache_hit, self.cache_path = self._operands(cfg)
        self.block_inputs: tuple[list[Any], list[dict]] | None = None
        self.screened = ScreeningMemo()  # masks and window losses of metrics scored on fewer windows

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
        from .offload import DeviceOperands
        from .stats import PERCDAMP

        settings = {"dtype": str(self.model.dtype), "device": self.device.type, "grad_dtype": cfg.grad_dtype,
                    "percdamp": PERCDAMP, "grad_scale": GRAD_SCALE}
        key = operand_key(model_fingerprint(self.model), self.calib, settings)
        path = self.root / "operands" / f"{key}.safetensors"
        if path.is_file():
            ops = load_operands(path, "cpu" if self.offload else self.device)
            return (DeviceOperands(ops, self.device) if self.offload else ops), True, path
        start = time.perf_counter()
        ops = compute_operands(self.model, self.layers, self.calib, cfg.grad_dtype)
        log.info("operands computed in %.1f s", time.perf_counter() - start)
        save_operands(path, ops, {"key": key})
        return (DeviceOperands(ops, self.device) if self.offload else ops), False, path

    def inputs(self) -> tuple[list[Any], list[dict]]:
        """Hidden states entering block 0 for every calibration window (computed once)."""
        from .blocks import capture_block_inputs

        if self.block_inputs is None:
            self.block_inputs = capture_block_inputs(self.model, self.blocks, self.calib)
        return self.block_inputs
