"""results.md of the granularity benchmark, from its results payload."""
from __future__ import annotations

from typing import Any

from benchmarks.granularity.summary import LADDER, index_markdown, ordering_markdown
from model_compression.granularity.report import quality_table, storage_table


def _mean_table(means: list[dict[str, Any]], regime: str) -> str:
    """Mean ± std accuracy per (metric, granularity) and sparsity for one regime."""
    rows = [r for r in means if r["regime"] == regime]
    sparsities = sorted({r["sparsity"] for r in rows})
    lines = [f"| metric | granularity | {' | '.join(f'{s:g}' for s in sparsities)} |",
             "|---|---|" + "---|" * len(sparsities)]
    for metric in dict.fromkeys(r["metric"] for r in rows):
        for gran in LADDER + tuple(g for g in dict.fromkeys(r["granularity"] for r in rows) if g not in LADDER):
            cells = {r["sparsity"]: (f"{r['quality']:.3f} ± {r['quality_std']:.3f}" if r["ok"] else "fail")
                     for r in rows if r["metric"] == metric and r["granularity"] == gran}
            if cells:
                lines.append(f"| {metric} | {gran} | " + " | ".join(cells.get(s, "") for s in sparsities) + " |")
    return "\n".join(lines)


def _timing(t: dict[str, Any]) -> str:
    """The masked-vs-shrunk timing table."""
    lines = ["| model | variant | ms (median, 1 thread) |", "|---|---|---|"]
    for name, block in t.items():
        if isinstance(block, dict) and "ms" in block:
            for variant, ms in block["ms"].items():
                lines.append(f"| {name} | {variant} | {ms:.2f} |")
    cnn, pair = t.get("cnn_filter_50pct_all_layers", {}), t.get("smollm2_mlp_pair_50pct_neurons", {})
    extra = []
    if cnn:
        extra.append(f"CNN shrunk to {cnn['shapes']} ({cnn['params']['shrunk']} of {cnn['params']['dense']} "
                     f"parameters), batch {cnn['batch']}, max |masked - shrunk| = {cnn['max_abs_diff']:.2e}.")
    if pair:
        extra.append(f"MLP pair {pair['shape']} on {pair['tokens']} tokens, hidden {pair['shrunk_hidden']} after "
                     f"removing half the neurons, max |masked - shrunk| = {pair['max_abs_diff']:.2e}; element_csr "
                     "is the same 50% unstructured (torch.sparse CSR matmul).")
    return "\n".join(lines) + "\n\n" + "\n".join(extra)


def notes_markdown(p: dict[str, Any]) -> str:
    """The whole results.md."""
    args, cnn = p["args"], p.get("cnn", {})
    out = ["# Sparsity granularity benchmark (Mao et al. 2017)", "",
           "Reproduce: `.venv/bin/python benchmarks/granularity/run.py" + (" --llm" if args.get("llm") == "True" else "")
           + (f" --registry {args['registry']}" if args.get("registry") not in (None, "None") else "")
           + "` (" + f"{p.get('wall_s', 0):.0f} s on {p.get('host', '?')}).", "",
           "Digits CNN (conv 1->16, conv 16->32 3x3, FC 512->64->10; scikit-learn's 8x8 digits, 594 test images); "
           f"layer sets: 'conv' = both convs, 'conv-skip-first' = conv2 only (conv1 dense); per layer, exactly "
           "round(sparsity x groups) groups pruned; group score = L2 norm of "
           f"the metric's scores; seeds {args['seeds']} (split, training, fine-tune batches), means ± std over seeds. "
           f"Metrics: {', '.join(m['name'] or m['text'] for m in p['metrics'])}"
           + (f" (best registry cnn-prune metric: `{p['best_registry_metric']}`)" if p.get("best_registry_metric")
              else " (no cnn-prune metric in the registry)") + ".",
           "", "Dense accuracy per seed: " + ", ".join(f"{k}: {v:.3f}" for k, v in cnn.get("dense", {}).items()) + "."]
    for regime in dict.fromkeys(r["regime"] for r in cnn.get("means", [])):
        out += ["", f"## CNN accuracy, {regime}", "", _mean_table(cnn["means"], regime)]
    if cnn.get("ordering"):
        out += ["", "## Published ordering: fine >= vector > kernel >> filter", "",
                ordering_markdown(cnn["ordering"])]
    if cnn.get("index_saving"):
        out += ["", f"## Index saving ({cnn['index_saving_regime']}, seed 0; the same masks stored as element CSR "
                "for comparison, fp32 values)", "",
                "Vectors are kernel rows (1 x 3): one index for three weights; kernels (3 x 3) one for nine; conv1 "
                "has one input channel, so its kernels are whole filters (dense rows).", "",
                index_markdown(cnn["index_saving"])]
    if p.get("timing"):
        out += ["", "## Masks give no speed-up; removing units does", "", _timing(p["timing"])]
    llm = p.get("llm")
    if llm and "rows" in llm:
        out += ["", f"## SmolLM2-135M at {args.get('llm_sparsities', '0.5')} (perplexity, lower is better)", "",
                f"Dense perplexity {llm['rows'][0]['dense_quality']:.2f}. Metrics: "
                + ", ".join(f"{m['name'] or 'evolved'} `{m['text']}`" for m in llm.get("metrics", [])) + ". "
                f"Calibration 16 x 512 review tokens, evaluation {args.get('llm_eval_tokens')} tutorial tokens, bf16; "
                "every decoder linear pruned per layer ('row' = Wanda's per-row element group, '@row' = groups compared "
                "within each row); heads group the rows of q/k/v and the columns of o, chosen independently per "
                "layer (not coupled across q/k/v/o), MLP layers lose whole rows. 'indices' counts index entries "
                "(N:M: one 2-bit position per kept value).", "",
                quality_table(llm["rows"]), "", storage_table(llm["rows"])]
    elif llm:
        out += ["", "## SmolLM2-135M", "", f"Not run: {llm.get('error')}"]
    return "\n".join(out) + "\n"
