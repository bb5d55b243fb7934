"""The CAFE study: compressed embeddings (``evaluators.embedding.cafe``) compared at memory ratios.

``run_cafe(CAFEConfig(...))`` trains a CTR model with each method (or labelled ``Variant``) at each
memory ratio (CAFE through ``CAFEStepHook``, a ``train(..., before_step=...)`` hook) and reports
AUC, memory and throughput; ``report`` draws the figures and tables.
"""
import logging

from model_compression.cafe.experiment import CAFEConfig, run_cafe
from model_compression.cafe.variants import Variant

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["CAFEConfig", "Variant", "run_cafe"]
