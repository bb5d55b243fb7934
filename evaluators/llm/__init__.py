"""LLM pruning task: perplexity of a causal LM after pruning its linear layers with a metric."""
import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())
