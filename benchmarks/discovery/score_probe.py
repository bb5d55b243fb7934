"""Can a per-weight score that reads the whole input Hessian or the loss beat Wanda at 50% per row, on every calibration?

    PYTHONPATH=. .venv/bin/python benchmarks/discovery/score_probe.py   # writes results/score_probe.{jsonl,md}

A probe for the "score formula alone" target, outside the search language: each weight's contribution
w_ij x_j is compared with its row's output y_i on the calibration tokens (uncentred correlation
rho_ij = w_ij (W H)_ij / (|w_ij| sqrt(H_jj) ||y_i||), H = X^T X), and the score is Wanda's
|w_ij| ||x_j|| (1 + lam rho_ij) for a few lam, next to the mean-field cost of a random half-pruned row,
w^2 H_jj + lam w (W H) (unbounded), and the cost of pruning a weight given the rest of Wanda's pruned set R
of its row, w^2 H_jj + 2 lam w (R H - R diag H) (one damped linearised step from Wanda's mask), and Wanda's
score with the token-level Fisher sum_t (dL/dy_i x_j)^2 in place of (or beside) ||x_j||^2. Search-side settings only (calibration from the reviews and the
Python library reference, perplexity on the Python tutorial): no held-out text is read, so nothing
chosen here is fitted to the held-out table. One row per (calibration, seed, score) in the .jsonl.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
RESULTS = HERE / "results" / "score_probe.jsonl"
SOURCES = ("reviews", "python-docs:library")
LAMBDAS = (-0.5, -0.3, -0.2, -0.1, 0.1, 0.3)
RESIDUAL_LAMBDAS = (0.01, 0.03, 0.1, 0.25, 0.5)
FISHER_POWERS = (0.5, 1.0)
SETTINGS = {"eval_source": "python-docs:tutorial", "eval_tokens": 2048, "calib_windows": 16, "calib_length": 512,
            "sparsity": 0.5, "group": "row"}


def wanda(ops: dict[str, Any]) -> Any:
    return ops["W"].abs() * ops["H"].diagonal().clamp_min(0).sqrt()


def correlated(lam: float) -> Callable[[dict[str, Any]], Any]:
    """Wanda's score scaled by (1 + lam rho), rho the correlation of the weight's contribution with its row's output."""
    def score(ops: dict[str, Any]) -> Any:
        w, h = ops["W"], ops["H"]
        diag = h.diagonal().clamp_min(1e-12)
        cross = w * (w @ h)  # w_ij (W H)_ij: the contribution's inner product with the row's output
        output = cross.sum(dim=1, keepdim=True).clamp_min(1e-12)  # ||y_i||^2
        rho = cross / (w.abs() * diag.sqrt() * output.sqrt()).clamp_min(1e-20)
        return w.abs() * diag.sqrt() * (1 + lam * rho.clamp(-1, 1))
    return score


def mean_field(lam: float) -> Callable[[dict[str, Any]], Any]:
    """w^2 H_jj + lam w (W H): the expected cost of pruning a weight when the rest of its row is pruned at random."""
    def score(ops: dict[str, Any]) -> Any:
        w, h = ops["W"], ops["H"]
        return w * w * h.diagonal() + lam * w * (w @ h)
    return score


def residual(lam: float) -> Callable[[dict[str, Any]], Any]:
    """w^2 H_jj + 2 lam w (R H)_j: the cost of pruning a weight given the rest of Wanda's pruned set R of its row.

    One linearised step from Wanda's mask: a weight whose contribution cancels the error Wanda's mask
    leaves scores low. lam damps the step, since all rows' weights move at once.
    """
    def score(ops: dict[str, Any]) -> Any:
        import torch

        w, h = ops["W"], ops["H"]
        base = wanda(ops)
        wanda_pruned = base <= base.kthvalue(round(w.shape[1] * SETTINGS["sparsity"]), dim=1, keepdim=True).values
        pruned = torch.where(wanda_pruned, w, torch.zeros_like(w))
        diag = h.diagonal()
        others = pruned @ h - pruned * diag  # sum over the other pruned weights k of w_k H_kj
        return w * w * diag + 2 * lam * w * others
    return score


def fisher(power: float) -> Callable[[dict[str, Any]], Any]:
    """|w| H_jj^((1 - power) / 2) F_ij^(power / 2): Wanda's column norm traded for the token-level Fisher.

    F_ij = sum over tokens of (dL/dy_i x_j)^2 weighs each token by how much the row's output matters to
    the loss there; Wanda weighs every token alike (power 0).
    """
    def score(ops: dict[str, Any]) -> Any:
        w, h, f = ops["W"], ops["H"], ops["F"]
        return w.abs() * h.diagonal().clamp_min(0).pow((1 - power) / 2) * f.clamp_min(0).pow(power / 2)
    return score


def token_fisher(model: Any, layers: list[Any], windows: Any) -> dict[str, Any]:
    """F = sum over calibration tokens of (dL/dy)^2 (x)^2, out x in per layer, from per-token gradients."""
    import torch

    acc = {layer.name: torch.zeros(layer.shape, dtype=torch.float32) for layer in layers}
    handles = []

    def watch(name: str) -> Callable[..., None]:
        def forward(module: Any, inputs: tuple[Any, ...], output: Any) -> None:
            x2 = inputs[0].detach().float().reshape(-1, inputs[0].shape[-1]).square()

            def backward(grad: Any) -> None:
                acc[name].addmm_(grad.float().reshape(-1, grad.shape[-1]).square().t(), x2)
            output.register_hook(backward)
        return forward

    for layer in layers:
        handles.append(layer.module.register_forward_hook(watch(layer.name)))
    embed = model.get_input_embeddings()
    handles.append(embed.register_forward_hook(lambda module, inputs, output: output.requires_grad_(True)))
    try:
        with torch.enable_grad():
            for row in range(windows.shape[0]):
                ids = windows[row:row + 1]
                model(input_ids=ids, labels=ids, use_cache=False).loss.backward()
    finally:
        for handle in handles:
            handle.remove()
    return acc


def scores() -> dict[str, Callable[[dict[str, Any]], Any]]:
    out: dict[str, Callable[[dict[str, Any]], Any]] = {"wanda": wanda}
    out.update({f"rho lam={lam:+.1f}": correlated(lam) for lam in LAMBDAS})
    out["mean-field lam=+0.05"] = mean_field(0.05)
    out.update({f"residual lam={lam:.2f}": residual(lam) for lam in RESIDUAL_LAMBDAS})
    out.update({f"fisher power={power:.2f}": fisher(power) for power in FISHER_POWERS})
    return out


def measure(seeds: list[int], dtype: str, path: Path) -> None:
    """Every missing (dtype, source, seed, score) row, appended as soon as it is measured: a score is
    compared with Wanda only in the same dtype, so each dtype has its own Wanda rows."""
    from evaluators.llm.prune import prune_oneshot, restore
    from evaluators.llm.task import LLMPruneTask
    from gp_engine.env import hardware, library_versions

    resolved = LLMPruneTask(**SETTINGS, dtype=dtype).settings()["dtype"]  # "auto" as the task resolves it
    done = {key(r) for r in load(path)}
    path.parent.mkdir(parents=True, exist_ok=True)
    for source in SOURCES:
        for seed in seeds:
            todo = [name for name in scores() if (resolved, source, seed, name) not in done]
            if not todo:
                continue
            task = LLMPruneTask(**SETTINGS, calib_source=source, calib_seed=seed, dtype=resolved)
            task.prepare()
            state = task.state
            grams = state.store.grams()
            ops = {layer.name: {"H": grams[layer.name]} for layer in state.layers}
            if any(name.startswith("fisher") for name in todo):
                for layer, f in token_fisher(state.model, state.layers, state.calib).items():
                    ops[layer]["F"] = f
            for name in todo:
                start = time.time()
                prune_oneshot(scores()[name], state.layers, ops, task.config.sparsity, task.config.structure)
                ppl = task.perplexity()
                restore(state.layers, state.dense)
                row = {"source": source, "seed": seed, "score": name, "ppl": ppl, "wall_s": time.time() - start,
                       "settings": task.settings(), "hardware": hardware(), "versions": library_versions(),
                       "date": time.strftime("%Y-%m-%d %H:%M:%S")}
                with path.open("a") as sink:
                    sink.write(json.dumps(row, default=str) + "\n")
                print(f"{source:22s} seed {seed} {name:22s} ppl {ppl:12.3f}", flush=True)


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def key(row: dict) -> tuple[str, str, int, str]:
    return row["settings"]["dtype"], row["source"], row["seed"], row["score"]


def report(path: Path) -> str:
    """Per dtype, perplexity per calibration draw and its ratio to Wanda on the same draw and dtype."""
    rows = load(path)
    lines = ["# A score reading the whole Hessian or the loss, per calibration source", "",
             "Command: `PYTHONPATH=. .venv/bin/python benchmarks/discovery/score_probe.py --seeds 0,1` "
             f"(`--dtype` to choose one; rows in `{path.name}`). SmolLM2-135M on cpu, 50% per row, one-shot; "
             "calibration 16 x 512 tokens of each source (one draw per seed), perplexity on the first 2,048 "
             "tokens of python-docs:tutorial (the searches' text, not the held-out one). One table per dtype, "
             "each against its own Wanda rows.", ""]
    for dtype in sorted({r["settings"]["dtype"] for r in rows}):
        lines += table([r for r in rows if r["settings"]["dtype"] == dtype], dtype)
    return "\n".join(lines) + "\n"


def table(rows: list[dict], dtype: str) -> list[str]:
    wanda_of = {(r["source"], r["seed"]): r["ppl"] for r in rows if r["score"] == "wanda"}
    hosts = sorted({json.dumps(r["hardware"], sort_keys=True) for r in rows})
    lines = [f"## {dtype}", "", f"Hardware: {'; '.join(hosts)}.", "",
             "| score | " + " | ".join(f"{s} seed {d}" for s, d in sorted(wanda_of)) + " |",
             "|---|" + "---|" * len(wanda_of)]
    for name in scores():
        cells = []
        for draw in sorted(wanda_of):
            ppl = next((r["ppl"] for r in rows if (r["source"], r["seed"], r["score"]) == (*draw, name)), None)
            if ppl is None:
                cells.append("")
            elif not math.isfinite(ppl) or ppl > 1e4:
                cells.append(f"{ppl:.3g} (broken)")
            else:
                cells.append(f"{ppl:.2f} ({ppl / wanda_of[draw]:.3f}x)")
        if any(cells):
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines + [""]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0", help="calibration draws per source")
    p.add_argument("--dtype", default="auto", help="model dtype (auto: bf16 where the CPU runs it natively)")
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--report", action="store_true", help="only rewrite the .md from the stored rows")
    args = p.parse_args()
    if not args.report:
        measure([int(s) for s in args.seeds.split(",")], args.dtype, args.results)
    args.results.with_suffix(".md").write_text(report(args.results))
    print(args.results.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
