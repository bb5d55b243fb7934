"""``mlp-prune``: a cheap real pruning task on scikit-learn's bundled digits (tests, CI, examples)."""
