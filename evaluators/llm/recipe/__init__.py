"""Pruning recipes: what happens around a score metric, as small composable steps.

A recipe is a score metric (which weights to drop inside a comparison group), a layer allocation
(per-layer sparsities from per-layer statistics, their size-weighted mean exactly the target) and
a post-mask step (refine the masks or update the kept weights from calibration statistics).

  allocation  uniform and OWL's outlier-weighted layerwise sparsity (``owl``)
  dsnot       DSnoT's training-free prune-and-grow swaps inside each row
  moments     per-layer input moments (mean, variance, optionally X^T X) over calibration tokens
  recipe      ``Recipe`` and ``prune_with_recipe``: scores, allocation, masks, post-mask step
"""
