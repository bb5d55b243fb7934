"""Data-efficient search and training: evaluation sized by convergence, multi-fidelity, downsampling.

Convergence tests (how much evaluation or training data before a ranking or a metric settles),
downsampling strategies for recommender training and IsoCompute sweeps of model size x data size.
"""
import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())
