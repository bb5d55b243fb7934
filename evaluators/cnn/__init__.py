"""``cnn-prune``: a small CNN on scikit-learn's digits, pruned at any sparsity granularity."""
