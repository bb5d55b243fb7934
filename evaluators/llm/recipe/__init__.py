"""Pruning recipes on an llm-prune model: what happens around a score metric, as small composable steps.

A recipe (``primitives.recipe.Recipe``: its text form, canonical form and hash) is a score metric
(which weights to drop inside a comparison group), a layer allocation (per-unit sparsities from a
formula over per-unit statistics, their size-weighted mean exactly the target) and a post-mask step
(refine the masks or update the kept weights from calibration statistics).

  allocation  the statistics of each unit (depth, layer kind, outlier ratio, score moments), the
              allocation formula on them, and the spread of its values into sparsities
  owl         OWL's outlier ratio and the spread of per-unit values over [S - lambda, S + lambda]
  dsnot       DSnoT's training-free prune-and-grow swaps inside each row
  swap        greedy swaps inside each row that lower its exact output error d H d^T (no weight update)
  ls          least-squares update of each row's kept weights from H = X^T X ("ls")
  recipe      ``prune_with_recipe`` and ``apply_recipe``: scores, allocation, masks, post-mask step

The post-mask steps read the dense model's input statistics (``stats.InputStatistics``: each input
column's mean and variance, the Gram matrices X^T X), which the operand store gathers in the same
calibration pass as the operands: a recipe runs no pass of its own.
"""
