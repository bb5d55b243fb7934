"""Embedding-importance evaluators: the ``embedding-importance`` task scores a metric as CAFE's importance."""
import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())
