"""The prepared state of cnn-prune (data, trained model, operands, dense copy) and its helpers."""
from __future__ import annotations

import dataclasses

from evaluators.granularity import Structure, parse_structure

from .finetune import snapshot
from .model import CNNConfig, accuracy, load_images, load_or_train, one_thread
from .operands import compute_operands, prunable_modules

_LINEAR = {"element": "element", "vector": "vector:4", "kernel": "block:4", "filter": "filter", "head": "filter"}


def linear_counterpart(structure: Structure) -> Structure:
    """The linear-layer granularity of a conv one: vector (kernel row) -> 1x4, kernel -> 4x4 block, ..."""
    gran = structure.granularity
    if (gran.kind == "vector" and gran.b) or gran.kind in ("block", "nm"):
        return structure
    return dataclasses.replace(structure, granularity=parse_structure(_LINEAR[gran.kind]).granularity)


class State:
    """What prepare() builds once and variants share: data, model, operands, dense copy."""

    def __init__(self, cfg: CNNConfig, layers: str) -> None:
        self.data = load_images(cfg)
        self.model = load_or_train(cfg, self.data)
        self.modules = prunable_modules(self.model, layers)
        self.ops = compute_operands(self.model, self.data, cfg.calib_batch, self.modules)
        self.dense = snapshot(self.model)
        with one_thread():
            self.dense_accuracy = accuracy(self.model, self.data.x_test, self.data.y_test)
