"""Recommender (CTR) evaluators: MovieLens-100k data, DeepFM and DLRM, the recsys-prune task."""
import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())
