"""CAFE (SIGMOD 2024) embedding compression: the HotSketch that finds hot features to give own rows.

``HotSketch(buckets, slots, hot_rows, threshold).insert(ids, scores)`` reports promotions and
evictions; ``query(ids)`` gives each id's hot row or -1. ``ExactCounter`` is the exact reference.

Embedding modules, drop-ins for ``evaluators.recsys.models.FieldEmbeddings`` (``forward(x, bag)``),
each within a ratio of the full table's memory: ``FullEmbedding``, ``HashEmbedding``,
``QREmbedding``, ``FrequencyEmbedding`` and ``CAFEEmbedding`` (hot rows chosen online by the sketch).
"""
from model_compression.cafe.base import CompressedEmbedding
from model_compression.cafe.cafe_embedding import CAFEEmbedding
from model_compression.cafe.compressed import FrequencyEmbedding, FullEmbedding, HashEmbedding, QREmbedding
from model_compression.cafe.hashing import SeededHash
from model_compression.cafe.hotsketch import ExactCounter, HotSketch, InsertReport
from model_compression.cafe.importance import grad_norm_importance
from model_compression.cafe.layout import FieldLayout

__all__ = ["CAFEEmbedding", "CompressedEmbedding", "ExactCounter", "FieldLayout", "FrequencyEmbedding",
           "FullEmbedding", "HashEmbedding", "HotSketch", "InsertReport", "QREmbedding", "SeededHash",
           "grad_norm_importance"]
