"""Operands computed only when a metric reads them, one kind at a time, each cached on disk.

X, Xs and Y come from one forward pass over the calibration windows (Hd adds the input Hessian
to that pass); G needs a backward pass per window. A prune whose metric reads W and X therefore
runs one forward pass and never the gradient pass; later metrics that read G or Hd pay for them
on first use. Each kind is stored as its own safetensors file under a key of the model, the exact
calibration tokens and the settings, so a later process reads it instead of computing it.
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
    LayerOperands,
    activation_operands,
    gradient_operand,
    input_grams,
    load_grams,
    load_operands,
    model_fingerprint,
    operand_key,
    save_grams,
    save_operands,
)
from .stats import PERCDAMP

log = logging.getLogger(__name__)
ACTIVATION = ("X", "Xs", "Y")  # one forward pass; Hd rides on the same pass with the Hessian
COMPUTED = ACTIVATION + ("Hd", "G")


class OperandStore:
    """Every prunable layer's operands (all but W), filled kind by kind on first use."""

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
        self.computed: list[str] = []  # kinds computed by this process, in order
        self.loaded: list[str] = []  # kinds read from the disk cache
        self._grams: dict[str, Any] | None = None

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
        missing = [n for n in missing if n not in self.have()]
        if any(n in missing for n in ACTIVATION + ("Hd",)):
            hessian = "Hd" in missing
            start = time.perf_counter()
            ops = activation_operands(self.model, self.layers, self.calib, hessian=hessian)
            kinds = [k for k in ACTIVATION + (("Hd",) if hessian else ()) if k not in self.have()]
            self._keep(ops, kinds, time.perf_counter() - start)
        if "G" in missing:
            start = time.perf_counter()
            grads = gradient_operand(self.model, self.calib, self.grad_dtype)
            self._keep({name: {"G": g} for name, g in grads.items()}, ["G"], time.perf_counter() - start)
        return {layer: {n: ops[n] for n in wanted if n in ops} for layer, ops in self.values.items()}

    def grams(self) -> dict[str, Any]:
        """layer -> X^T X of its calibration inputs in the dense model (float32, in x in; layers reading
        one input share one tensor), for the reconstruction fitness: one forward pass on first use,
        then read from its own cache file."""
        if self._grams is None:
            path = self.path(GRAM)
            if path.is_file():
                self._grams = load_grams(path, self.home)
                self.loaded.append(GRAM)
            else:
                start = time.perf_counter()
                self._grams = input_grams(self.model, self.layers, self.calib)
                save_grams(path, self._grams, {"key": self.key, "operand": GRAM})
                self.computed.append(GRAM)
                log.info("Gram matrices X^T X computed in %.1f s", time.perf_counter() - start)
        return self._grams

    def _merge(self, ops: LayerOperands, kinds: list[str]) -> None:
        for layer, values in ops.items():
            if layer in self.values:
                self.values[layer].update({k: v for k, v in values.items() if k in kinds})

    def _keep(self, ops: LayerOperands, kinds: list[str], seconds: float) -> None:
        """Take freshly computed kinds into memory and write each to the disk cache."""
        self._merge(ops, kinds)
        for kind in kinds:
            save_operands(self.path(kind), {layer: {kind: v[kind]} for layer, v in ops.items() if kind in v},
                          {"key": self.key, "operand": kind})
            self.computed.append(kind)
        log.info("operands %s computed in %.1f s", ", ".join(kinds), seconds)
