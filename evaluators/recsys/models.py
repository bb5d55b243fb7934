"""DeepFM and DLRM for CTR data: per-field embedding tables plus MLPs; forward(x, bag, dense) -> logits.

Both models expose ``mlp_layers()`` (the Linear layers a pruning task prunes, by module name) and
``embedding_tables()`` (the per-field tables). DeepFM's first-order weights (``linear.*``) are
neither: they are one number per feature.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

MODELS = ("deepfm", "dlrm")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture: kind, embedding width, MLP widths (DLRM: bottom over dense features, top)."""

    kind: str = "deepfm"
    emb_dim: int = 16
    hidden: tuple[int, ...] = (256, 128)
    bottom: tuple[int, ...] = (64,)
    dropout: float = 0.0
    emb_std: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def mlp(sizes: tuple[int, ...], dropout: float = 0.0, last_relu: bool = False) -> nn.Sequential:
    """Linear layers of the given widths with ReLU (and dropout) between them."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or last_relu:
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class FieldEmbeddings(nn.Module):
    """One table per categorical field, plus a mean-pooled bag (multi-hot genres) when present."""

    def __init__(self, fields: tuple[str, ...], cardinalities: tuple[int, ...], bag_cardinality: int,
                 dim: int, std: float) -> None:
        """Tables of shape (cardinality x dim), initialised N(0, std)."""
        super().__init__()
        self.tables = nn.ModuleDict({f: nn.Embedding(c, dim) for f, c in zip(fields, cardinalities)})
        self.bag = nn.Embedding(bag_cardinality, dim, padding_idx=0) if bag_cardinality else None
        for table in self.tables.values():
            nn.init.normal_(table.weight, std=std)
        if self.bag is not None:
            nn.init.normal_(self.bag.weight, std=std)
            with torch.no_grad():
                self.bag.weight[0].zero_()

    @property
    def count(self) -> int:
        """Number of embedded vectors per row."""
        return len(self.tables) + (self.bag is not None)

    def forward(self, x: Tensor, bag: Tensor) -> Tensor:
        """(n x count x dim) embeddings."""
        vectors = [table(x[:, i]) for i, table in enumerate(self.tables.values())]
        if self.bag is not None:
            present = (bag > 0).sum(dim=1, keepdim=True).clamp_min(1)
            vectors.append(self.bag(bag).sum(dim=1) / present)
        return torch.stack(vectors, dim=1)


class CTRModel(nn.Module):
    """Shared parts: the embeddings and the named lists of prunable layers."""

    embeddings: FieldEmbeddings

    def mlp_layers(self) -> dict[str, nn.Linear]:
        """The MLP Linear layers by module name, in forward order."""
        return {n: m for n, m in self.named_modules() if isinstance(m, nn.Linear)}

    def embedding_tables(self) -> dict[str, nn.Embedding]:
        """The per-field embedding tables (and the bag) by module name."""
        return {f"embeddings.{n}": m for n, m in self.embeddings.named_modules() if isinstance(m, nn.Embedding)}


class DeepFM(CTRModel):
    """logit = bias + first-order terms + FM pairwise term + deep MLP over [embeddings, dense]."""

    def __init__(self, cfg: ModelConfig, fields: tuple[str, ...], cardinalities: tuple[int, ...],
                 bag_cardinality: int, n_dense: int) -> None:
        """Build from the data's field layout."""
        super().__init__()
        self.embeddings = FieldEmbeddings(fields, cardinalities, bag_cardinality, cfg.emb_dim, cfg.emb_std)
        self.linear = FieldEmbeddings(fields, cardinalities, bag_cardinality, 1, cfg.emb_std)
        self.bias = nn.Parameter(torch.zeros(1))
        self.dense_weight = nn.Parameter(torch.zeros(n_dense))
        width = self.embeddings.count * cfg.emb_dim + n_dense
        self.mlp = mlp((width, *cfg.hidden, 1), cfg.dropout)

    def forward(self, x: Tensor, bag: Tensor, dense: Tensor) -> Tensor:
        """Logits (n)."""
        emb = self.embeddings(x, bag)
        first = self.linear(x, bag).sum(dim=(1, 2)) + dense @ self.dense_weight + self.bias
        fm = 0.5 * (emb.sum(dim=1).pow(2) - emb.pow(2).sum(dim=1)).sum(dim=1)
        deep = self.mlp(torch.cat([emb.flatten(1), dense], dim=1)).squeeze(1)
        return first + fm + deep


class DLRM(CTRModel):
    """Bottom MLP over dense features, pairwise dot interactions with the embeddings, top MLP."""

    def __init__(self, cfg: ModelConfig, fields: tuple[str, ...], cardinalities: tuple[int, ...],
                 bag_cardinality: int, n_dense: int) -> None:
        """Build from the data's field layout; the bottom MLP ends at the embedding width."""
        super().__init__()
        self.embeddings = FieldEmbeddings(fields, cardinalities, bag_cardinality, cfg.emb_dim, cfg.emb_std)
        self.bottom = mlp((n_dense, *cfg.bottom, cfg.emb_dim), cfg.dropout, last_relu=True)
        vectors = self.embeddings.count + 1
        rows, cols = torch.tril_indices(vectors, vectors, offset=-1)
        self.register_buffer("pair_rows", rows, persistent=False)
        self.register_buffer("pair_cols", cols, persistent=False)
        self.top = mlp((cfg.emb_dim + len(rows), *cfg.hidden, 1), cfg.dropout)

    def forward(self, x: Tensor, bag: Tensor, dense: Tensor) -> Tensor:
        """Logits (n)."""
        z = self.bottom(dense)
        t = torch.cat([z.unsqueeze(1), self.embeddings(x, bag)], dim=1)
        dots = torch.bmm(t, t.transpose(1, 2))[:, self.pair_rows, self.pair_cols]
        return self.top(torch.cat([z, dots], dim=1)).squeeze(1)


def build_model(cfg: ModelConfig, data: Any) -> CTRModel:
    """A fresh model for a CTRData's field layout (initialised from torch's current RNG state)."""
    kinds = {"deepfm": DeepFM, "dlrm": DLRM}
    if cfg.kind not in kinds:
        raise ValueError(f"unknown model {cfg.kind!r}: expected one of {', '.join(MODELS)}")
    return kinds[cfg.kind](cfg, data.fields, data.cardinalities, data.bag_cardinality, len(data.dense_names))
