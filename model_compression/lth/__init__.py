"""Lottery tickets for CTR models: iterative pruning by any registry metric, rewinding, distillation.

``run_lth(LTHConfig(...), metric)`` runs, per seed: the dense model, one-shot pruning, IMP with
rewinding, IMP with rewinding + knowledge distillation from the dense teacher, and the random
re-initialisation control, and reports AUC, nonzero parameters, size on disk and inference time.
"""
import logging

from model_compression.lth.distill import KDLoss, kd_loss
from model_compression.lth.experiment import LTHConfig, run_lth
from model_compression.lth.schedule import level_schedule

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["KDLoss", "LTHConfig", "kd_loss", "level_schedule", "run_lth"]
