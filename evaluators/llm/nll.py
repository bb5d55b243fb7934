"""Next-token negative log-likelihood of window batches, shared by the whole-model and block-by-block paths."""
from __future__ import annotations

from typing import Any


def token_nll(model: Any, ids: Any) -> Any:
    """Next-token NLL of every position of a (batch x length) window batch, float64 (batch x length-1).
    Rows of logits in float32 (cross-entropy over the class dimension of a (N, C, L) view rounds worse)."""
    import torch.nn.functional as F

    logits = model(input_ids=ids, use_cache=False).logits[:, :-1]
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), ids[:, 1:].reshape(-1), reduction="none")
    return nll.view(ids.shape[0], -1).double()
