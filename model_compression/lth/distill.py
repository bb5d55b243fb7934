"""Binary knowledge distillation for CTR models.

    loss = (1 - alpha) * BCE(y, sigmoid(s)) + alpha * T^2 * BCE(sigmoid(t / T), sigmoid(s / T))

where s and t are the student's and the teacher's logits, y the click label, T the temperature
and BCE(p, sigmoid(z)) = -[p log sigmoid(z) + (1 - p) log(1 - sigmoid(z))], averaged over the
batch. The soft target sigmoid(t / T) is the binary analogue of Hinton et al.'s softened softmax;
the T^2 factor keeps the soft term's gradient on the same scale as the hard term's when T changes.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.functional import binary_cross_entropy_with_logits as bce_logits

from evaluators.recsys.data import Split


def kd_loss(student: Tensor, teacher: Tensor, y: Tensor, alpha: float = 0.5, temperature: float = 2.0) -> Tensor:
    """(1 - alpha) * BCE(y, student) + alpha * T^2 * BCE(sigmoid(teacher / T), student / T)."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    hard = bce_logits(student, y)
    soft = bce_logits(student / temperature, torch.sigmoid(teacher.detach() / temperature))
    return (1.0 - alpha) * hard + alpha * temperature ** 2 * soft


@dataclass
class KDLoss:
    """A train() loss_fn distilling from a frozen teacher model (its logits computed per batch)."""

    teacher: nn.Module
    alpha: float = 0.5
    temperature: float = 2.0

    def __post_init__(self) -> None:
        """Freeze the teacher."""
        self.teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)

    def __call__(self, logits: Tensor, batch: Split) -> Tensor:
        """The distillation loss of the student's logits on batch."""
        with torch.no_grad():
            teacher = self.teacher(*batch.inputs())
        return kd_loss(logits, teacher, batch.y, self.alpha, self.temperature)
