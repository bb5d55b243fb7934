"""CAFE (SIGMOD 2024) embedding compression: the HotSketch that finds hot features to give own rows.

``HotSketch(buckets, slots, hot_rows, threshold).insert(ids, scores)`` reports promotions and
evictions; ``query(ids)`` gives each id's hot row or -1. ``ExactCounter`` is the exact reference.

Embedding modules, drop-ins for ``evaluators.recsys.models.FieldEmbeddings`` (``forward(x, bag)``),
each within a ratio of the full table's memory: ``FullEmbedding``, ``HashEmbedding``,
``QREmbedding``, ``FrequencyEmbedding`` and ``CAFEEmbedding`` (hot rows chosen online by the sketch).

Importance: ``CAFEStepHook(module, importance)`` scores each occurrence by a built-in source
(grad-norm, frequency) or any metric formula over the occurrence operands (``OCCURRENCE_OPERANDS``:
gnorm, freq, enorm, recency, gdot, perr), e.g. ``"mul(gnorm, sqrt(enorm))"``; ``training`` trains a
CTR model with one method through ``evaluators.recsys.train``'s ``before_step`` hook.
"""
import logging

from evaluators.embedding.cafe.base import CompressedEmbedding
from evaluators.embedding.cafe.cafe_embedding import CAFEEmbedding
from evaluators.embedding.cafe.compressed import FrequencyEmbedding, FullEmbedding, HashEmbedding, QREmbedding
from evaluators.embedding.cafe.exact_counter import ExactCounter
from evaluators.embedding.cafe.hashing import SeededHash
from evaluators.embedding.cafe.hotsketch import HotSketch, InsertReport
from evaluators.embedding.cafe.importance import grad_norm_importance
from evaluators.embedding.cafe.layout import FieldLayout
from evaluators.embedding.cafe.methods import DEFAULT_THRESHOLD, METHODS, MethodOptions, build_embedding
from evaluators.embedding.cafe.metric_importance import ImportanceError, MetricImportance, check_importance
from evaluators.embedding.cafe.occurrence import OCCURRENCE_OPERANDS
from evaluators.embedding.cafe.step_hook import IMPORTANCE, CAFEStepHook

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["CAFEEmbedding", "CAFEStepHook", "CompressedEmbedding", "DEFAULT_THRESHOLD", "ExactCounter",
           "FieldLayout", "FrequencyEmbedding", "FullEmbedding", "HashEmbedding", "HotSketch", "IMPORTANCE",
           "ImportanceError", "InsertReport", "METHODS", "MetricImportance", "MethodOptions",
           "OCCURRENCE_OPERANDS", "QREmbedding", "SeededHash", "build_embedding", "check_importance",
           "grad_norm_importance"]
