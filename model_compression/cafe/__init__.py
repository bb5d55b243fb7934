"""CAFE (SIGMOD 2024) embedding compression: the HotSketch that finds hot features to give own rows.

``HotSketch(buckets, slots, hot_rows, threshold).insert(ids, scores)`` reports promotions and
evictions; ``query(ids)`` gives each id's hot row or -1. ``ExactCounter`` is the exact reference.

Embedding modules, drop-ins for ``evaluators.recsys.models.FieldEmbeddings`` (``forward(x, bag)``),
each within a ratio of the full table's memory: ``FullEmbedding``, ``HashEmbedding``,
``QREmbedding``, ``FrequencyEmbedding`` and ``CAFEEmbedding`` (hot rows chosen online by the sketch).

Importance: ``CAFEStepHook(module, importance)`` scores each occurrence by a built-in source
(grad-norm, frequency) or any metric formula over the occurrence operands (``OCCURRENCE_OPERANDS``:
gnorm, freq, enorm, recency, gdot, perr), e.g. ``"mul(gnorm, sqrt(enorm))"``.

The study: ``run_cafe(CAFEConfig(...))`` trains a CTR model with each method (or labelled ``Variant``)
at each memory ratio (CAFE through ``CAFEStepHook``, a ``train(..., before_step=...)`` hook) and reports
AUC, memory and throughput.
"""
import logging

from model_compression.cafe.base import CompressedEmbedding
from model_compression.cafe.cafe_embedding import CAFEEmbedding
from model_compression.cafe.compressed import FrequencyEmbedding, FullEmbedding, HashEmbedding, QREmbedding
from model_compression.cafe.experiment import CAFEConfig, run_cafe
from model_compression.cafe.exact_counter import ExactCounter
from model_compression.cafe.hashing import SeededHash
from model_compression.cafe.hotsketch import HotSketch, InsertReport
from model_compression.cafe.importance import grad_norm_importance
from model_compression.cafe.layout import FieldLayout
from model_compression.cafe.methods import DEFAULT_THRESHOLD, METHODS, MethodOptions, build_embedding
from model_compression.cafe.metric_importance import ImportanceError, MetricImportance, check_importance
from model_compression.cafe.occurrence import OCCURRENCE_OPERANDS
from model_compression.cafe.step_hook import IMPORTANCE, CAFEStepHook
from model_compression.cafe.variants import Variant

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["CAFEConfig", "CAFEEmbedding", "CAFEStepHook", "CompressedEmbedding", "DEFAULT_THRESHOLD", "ExactCounter",
           "FieldLayout", "FrequencyEmbedding", "FullEmbedding", "HashEmbedding", "HotSketch", "IMPORTANCE",
           "ImportanceError", "InsertReport", "METHODS", "MetricImportance",
           "MethodOptions", "OCCURRENCE_OPERANDS", "QREmbedding", "SeededHash", "Variant", "build_embedding",
           "check_importance", "grad_norm_importance", "run_cafe"]
