"""Operands computed only when a metric reads them, one kind at a time, each cached on disk.

X, Xs and Y come from one forward pass over the calibration windows, which also sums each layer's
input columns (their mean and variance: DSnoT's statistics) and, when asked, its Gram matrix X^T X
(the reconstruction proxy's, OBS's and LS's). Hd is read off the Gram matrices, so a task that
needs Hd, the proxy and a recipe's weight update runs one pass; G needs a backward pass per window.
A prune whose metric reads W and X therefore runs one forward pass without X^T X and never the
gradient pass; later metrics that read G or Hd pay for them on first use. Each kind is stored as its
own safetensors file under a key of the model, the exact calibration tokens and the settings, so a
later process reads it instead of computing it. Gathered once, the Gram matrices stay in memory on
``home`` (one in x in float32 matrix per distinct layer input) and on disk.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .layers import PrunableLayer
from .operands import (
    GRAD_SCALE,
    GRAM,
    MOMENTS,
    LayerOperands,
    calibrate,
    gradient_operand,
    hessian_diagonals,
    load_grams,
    load_operands,
    model_fingerprint,
    operand_key,
    save_grams,
    save_operands,
)
from .stats import PERCDAMP, InputStatistics

log = logging.getLogger(__name__)
ACTIVATION = ("X", "Xs", "Y")  # one forward pass; Hd comes from the Gram matrices, gathered by the same pass
COMPUTED = ACTIVATION + ("Hd", "G")


class OperandStore:
    """Every prunable layer's operands (all but W) and input statistics, filled kind by kind on first use."""

    def __init__(self, model: Any, layers: list[PrunableLayer], calib: Any, root: Path, grad_dtype: str,
                 home: Any = None) -> None:
        """``home``: where operands are kept (default: the model's device; "cpu" for offloaded blocks)."""
        self.model, self.layers, self.calib, self.grad_dtype = model, layers, calib, grad_dtype
        self.device = next(model.parameters()).device
        self.home = home or self.device
        settings = {"dtype": str(model.dtype), "device": self.device.type, "grad_dtype": grad_dtype,
                    "percdamp": PERCDAMP, "grad_scale": GRAD_SCALE}
        self.key = operand_key(model_fingerprint(model), calib, settings)  # of the dense model
        self.folder = root / "operands"
        self.values: LayerOperands = {layer.name: {} for layer in layers}
        self.inputs = InputStatistics(calib.shape[0])  # moments and Gram matrices, filled on first use
        self.computed: list[str] = []  # kinds computed by this process, in order
        self.loaded: list[str] = []  # kinds read from the disk cache

    def path(self, kind: str) -> Path:
        """The cache file of one operand kind."""
        return self.folder / f"{self.key}-{kind}.safetensors"

    def have(self) -> set[str]:
        """Kinds in memory."""
        return set(self.computed) | set(self.loaded)

    def get(self, names: Iterable[str]) -> LayerOperands:
        """layer -> {name: tensor} for the requested names (W is the weight itself and never stored)."""
        wanted = [n for n in dict.fromkeys(names) if n in COMPUTED]
        missing = [n for n in wanted if n not in self.have()]
        for kind in [n for n in missing if self.path(n).is_file()]:
            self._merge(load_operands(self.path(kind), self.home), [kind])
            self.loaded.append(kind)
        if "Hd" in missing and "Hd" not in self.have():
            self.grams()  # read, or one pass that also gives X, Xs and Y
            start = time.perf_counter()
            self._keep(hessian_diagonals(self.inputs, self.device), ["Hd"])
            log.info("operand Hd computed from the Gram matrices in %.1f s", time.perf_counter() - start)
        if any(n in missing and n not in self.have() for n in ACTIVATION):
            self._calibrate(gram=False)
        if "G" in missing and "G" not in self.have():
            start = time.perf_counter()
            grads = gradient_operand(self.model, self.calib, self.grad_dtype)
            self._keep({name: {"G": g} for name, g in grads.items()}, ["G"])
            log.info("operand G computed in %.1f s", time.perf_counter() - start)
        return {layer: {n: ops[n] for n in wanted if n in ops} for layer, ops in self.values.items()}

    def grams(self) -> dict[str, Any]:
        """layer -> X^T X of its calibration inputs in the dense model (float32, in x in; layers reading
        one input share one tensor), for the reconstruction fitness, Hd and the recipes' updates: read
        from its own cache file, or one forward pass that also keeps X, Xs, Y and the input moments."""
        if GRAM not in self.have():
            if self.path(GRAM).is_file():
                self.inputs.grams = load_grams(self.path(GRAM), self.home)
                self.loaded.append(GRAM)
            else:
                self._calibrate(gram=True)
        return self.inputs.grams

    def moments(self) -> LayerOperands:
        """layer -> {"mean", "var"} of its input columns over the calibration tokens of the dense model
        (float32), for DSnoT: read from their cache file, or one forward pass that also keeps X, Xs, Y."""
        if MOMENTS not in self.have():
            if self.path(MOMENTS).is_file():
                self.inputs.moments = load_operands(self.path(MOMENTS), self.home)
                self.loaded.append(MOMENTS)
            else:
                self._calibrate(gram=False)
        return self.inputs.moments

    def statistics(self, grams: bool = False, moments: bool = False) -> InputStatistics:
        """The input statistics with the Gram matrices and/or the moments in memory (one pass for both
        when neither is cached)."""
        if grams:
            self.grams()
        if moments:
            self.moments()
        return self.inputs

    def _calibrate(self, gram: bool) -> None:
        """One calibration pass; keep (and cache) every kind it gives that is not in memory yet."""
        start = time.perf_counter()
        ops, inputs = calibrate(self.model, self.layers, self.calib, gram)
        kinds = [k for k in ACTIVATION if k not in self.have()]
        self._keep(ops, kinds)
        if MOMENTS not in self.have():
            self.inputs.moments = inputs.moments
            save_operands(self.path(MOMENTS), inputs.moments, {"key": self.key, "operand": MOMENTS})
            self.computed.append(MOMENTS)
            kinds.append(MOMENTS)
        if gram and GRAM not in self.have():
            self.inputs.grams = inputs.grams
            save_grams(self.path(GRAM), inputs.grams, {"key": self.key, "operand": GRAM})
            self.computed.append(GRAM)
            kinds.append(GRAM)
        log.info("one calibration pass: %s computed in %.1f s", ", ".join(kinds) or "nothing new",
                 time.perf_counter() - start)

    def _merge(self, ops: LayerOperands, kinds: list[str]) -> None:
        for layer, values in ops.items():
            if layer in self.values:
                self.values[layer].update({k: v for k, v in values.items() if k in kinds})

    def _keep(self, ops: LayerOperands, kinds: list[str]) -> None:
        """Take freshly computed kinds into memory and write each to the disk cache."""
        self._merge(ops, kinds)
        for kind in kinds:
            save_operands(self.path(kind), {layer: {kind: v[kind]} for layer, v in ops.items() if kind in v},
                          {"key": self.key, "operand": kind})
            self.computed.append(kind)
