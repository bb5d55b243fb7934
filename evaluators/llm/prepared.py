"""What an llm-prune task builds once and its variants share: model, data, operands, dense copy."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import LLMTaskConfig
from .screening import ScreeningMemo

if TYPE_CHECKING:
    from .reconstruction import Reconstruction

log = logging.getLogger(__name__)


class Prepared:
    """What prepare() builds once and variants of a task share: model, data, operands, dense copy.

    Operands are not computed here: ``operands_for(names)`` computes (or reads from the disk
    cache) only the kinds a metric reads, on first use.
    """

    def __init__(self, cfg: LLMTaskConfig, share: Prepared | None = None) -> None:
        """Load the model and cut the windows of ``cfg``'s (first) calibration; with ``share``, take
        the model, evaluation windows and dense copy of another state and cut only the calibration."""
        from evaluators.progress import stage

        from .data import calibration_and_evaluation
        from .layers import layers_by_block, prunable_layers
        from .model import cache_dir, load_model
        from .offload import compute_blocks, offload_of
        from .operand_store import OperandStore
        from .prune import snapshot

        self.root = Path(cfg.cache_dir) if cfg.cache_dir else cache_dir()
        spec = cfg.calib_spec()
        if share is None:
            cfg.check_eval_windows()
            start = time.perf_counter()
            with stage(f"loading model {cfg.model}"):
                self.model, self.tokenizer = load_model(cfg.model, cfg.dtype, cfg.device, cfg.offload)
            self.offload = offload_of(self.model)  # None, or the blocks kept off the device
            self.device = next(self.model.parameters()).device
            log.info("model %s loaded in %.1f s (%s on %s)", cfg.model, time.perf_counter() - start,
                     str(self.model.dtype).replace("torch.", ""), self.device)
        else:
            self.model, self.tokenizer, self.offload, self.device = share.model, share.tokenizer, share.offload, share.device
        with stage(f"token windows: calibration {spec.source} (seed {spec.seed}), evaluation {cfg.eval_source}"):
            self.calib, evaluation = calibration_and_evaluation(self.tokenizer, spec, cfg.eval_specs(), self.root, cfg.seed)
        if share is None:
            self.eval = evaluation
            self.layers = prunable_layers(self.model)
            self.blocks = compute_blocks(self.model)
            self.block_layers = layers_by_block(self.layers)
            self.dense = snapshot(self.layers)
        else:
            self.eval, self.layers, self.blocks = share.eval, share.layers, share.blocks
            self.block_layers, self.dense = share.block_layers, share.dense
        self.calibration = (spec.source, spec.seed)
        self.store = OperandStore(self.model, self.layers, self.calib, self.root, cfg.grad_dtype,
                                  home="cpu" if self.offload else None)
        self.block_inputs: tuple[list[Any], list[dict]] | None = None
        self.screened = ScreeningMemo()  # masks and window losses of metrics scored on fewer windows
        self.wanda_values: dict[LLMTaskConfig, float] = {}  # Wanda's value per settings: calib_aggregate "worst"
        self._reconstructions: dict[int, Reconstruction] = {}  # Gram rank (0: exact) -> proxy
        self.others: dict[tuple[str, int], Prepared] = {}  # states of the other calibrations of a set

    def for_calibration(self, cfg: LLMTaskConfig) -> Prepared:
        """The state of ``cfg``'s calibration (a one-calibration config): this one when it matches, else
        one sharing this model, built on first use and kept."""
        key = cfg.calibrations()[0]
        if key == self.calibration:
            return self
        if key not in self.others:
            self.others[key] = Prepared(cfg, share=self)
        return self.others[key]

    def operands_for(self, names: Iterable[str]) -> Mapping[str, dict[str, Any]]:
        """layer -> {operand: tensor} of the named operands, computed or loaded on first use (kept in
        CPU memory and moved to the device layer by layer when the blocks are offloaded)."""
        from .offload import DeviceOperands

        ops = self.store.get(names)
        return DeviceOperands(ops, self.device) if self.offload else ops

    @property
    def operands(self) -> Mapping[str, dict[str, Any]]:
        """Every operand of every layer (computes those not computed yet)."""
        from .operand_store import COMPUTED

        return self.operands_for(COMPUTED)

    @property
    def cache_hit(self) -> bool:
        """True when every operand kind in memory was read from the disk cache."""
        return bool(self.store.loaded) and not self.store.computed

    def reconstruction(self, rank: int = 0) -> Reconstruction:
        """The reconstruction proxy of the dense model on its exact Gram matrices (``rank`` 0) or their
        rank-``rank`` factors (the Gram matrices computed, or read from the disk cache, on first use:
        call it before pruning)."""
        if rank not in self._reconstructions:
            from .reconstruction import Reconstruction

            self._reconstructions[rank] = Reconstruction(self.layers, self.dense, self.store.grams(), rank)
        return self._reconstructions[rank]

    def inputs(self) -> tuple[list[Any], list[dict]]:
        """Hidden states entering block 0 for every calibration window (computed once)."""
        from .blocks import capture_block_inputs

        if self.block_inputs is None:
            self.block_inputs = capture_block_inputs(self.model, self.blocks, self.calib)
        return self.block_inputs
