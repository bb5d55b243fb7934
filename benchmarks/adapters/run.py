"""Evolved metrics used outside metricforge: MetricPruning on plain torch models, Torch-Pruning channels.

    python benchmarks/adapters/run.py [--seeds 0 1 2] [--ratios 0.25 0.5]

1. A short mlp-prune search (seed 0) evolves a metric; a plain ``nn.Sequential`` copy of the digits
   MLP gets its operands from ``collect_operands`` and is pruned layer by layer with
   ``MetricPruning``: the masks are compared bit for bit with the task's own, and so is accuracy
   (one MLP per seed: seed 0 is the search's model, the others were never seen by it).
2. collect_operands on the digits CNN against the cnn-prune task's operands, bit for bit.
3. A short cnn-prune search at filter granularity (seed 0) evolves a channel metric; Torch-Pruning's
   MetaPruner removes channels of the digits CNN (one step, fc2 kept) with ``MetricImportance`` of
   each evolved metric and of Wanda, beside Torch-Pruning's own magnitude and random importance:
   held-out test accuracy and parameter count per CNN seed and channel ratio, no fine-tuning.
Writes results.json and results.md next to this file.
"""
from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch_pruning as tp

from evaluators.adapters import collect_operands
from evaluators.adapters.torch_pruning import MetricImportance
from evaluators.cnn.model import CNNConfig, load_images
from evaluators.cnn.model import load_or_train as load_cnn
from evaluators.cnn.operands import compute_operands as cnn_operands
from evaluators.cnn.operands import prunable_modules
from evaluators.classifier import accuracy, one_thread
from evaluators.digits.model import build_mlp
from evaluators.digits.task import MLPPruneTask
from evaluators.masks import keep_mask
from evaluators.prune_method import metric_prune
from gp_engine.config import SearchConfig
from gp_engine.loop import Search
from primitives.compile import compile_metric
from primitives.metric import Metric

HERE = Path(__file__).resolve().parent


def evolve(task: str, options: dict, population: int, generations: int, work: Path) -> Metric:
    """The best metric of a short seeded search."""
    cfg = SearchConfig(task=task, task_options=options, population=population, generations=generations, seed=0)
    with Search(cfg, work / task, registry=str(work / "registry.db")) as search:
        result = search.run()
    return Metric.parse(result.hall_of_fame[0].canonical)


def batches(data, size: int = 32) -> list:
    return [(data.x_calib[i:i + size], data.y_calib[i:i + size]) for i in range(0, len(data.y_calib), size)]


def mlp_check(metric: Metric, seed: int, sparsity: float) -> dict:
    """MetricPruning on a plain copy of the task's MLP against the task's own masks and accuracy."""
    task = MLPPruneTask(sparsity=sparsity, group="row", seed=seed)
    task.prepare()
    plain = build_mlp(task.cfg)
    plain.load_state_dict(task._model.state_dict())
    with one_thread():
        ops = collect_operands(plain, batches(task.data, task.cfg.calib_batch), ("X", "G"))
    fn, differing, total = compile_metric(metric), 0, 0
    for name in task._pruned:
        layer = dict(plain.named_modules())[name]
        metric_prune(layer, metric=metric, amount=sparsity, group="row",
                     operands={k: v for k, v in ops[name].items() if k in metric.operands})
        expected = keep_mask(fn(task._ops[name]), sparsity, "row")
        differing += int((layer.weight_mask.bool() != expected.bool()).sum())
        total += expected.numel()
    with one_thread():
        acc = accuracy(plain, task.data.x_test, task.data.y_test)
    return {"seed": seed, "weights": total, "differing_mask_bits": differing, "accuracy_plain": acc,
            "accuracy_task": task.score(metric).value}


def cnn_operand_check(seed: int) -> dict:
    """collect_operands on the digits CNN against the cnn-prune task's operands."""
    cfg = CNNConfig(seed=seed)
    data = load_images(cfg)
    model = load_cnn(cfg, data)
    layers = prunable_modules(model, "all")
    with one_thread():
        theirs = cnn_operands(model, data, cfg.calib_batch, layers)
        ours = collect_operands(model, batches(data, cfg.calib_batch), ("W", "G", "X", "Xs", "Y", "Hd"), layers=list(layers))
    equal = all(torch.equal(ours[n][k], theirs[n][k]) for n in theirs for k in theirs[n])
    return {"seed": seed, "layers": list(layers), "operands_equal": equal}


def channel_pruning(importances: dict, seed: int, ratio: float) -> list[dict]:
    """Accuracy and parameters of the digits CNN after Torch-Pruning removes ``ratio`` of channels."""
    cfg = CNNConfig(seed=seed)
    data = load_images(cfg)
    dense = load_cnn(cfg, data)
    example = torch.zeros(1, 1, 8, 8)
    with one_thread():
        ops = collect_operands(dense, batches(data, cfg.calib_batch), ("X", "G", "Xs", "Y", "Hd"))
        dense_acc = accuracy(dense, data.x_test, data.y_test)
        dense_params = tp.utils.count_ops_and_params(dense, example)[1]
        rows = []
        for label, make in importances.items():
            torch.manual_seed(seed)  # random importance
            model = copy.deepcopy(dense)
            pruner = tp.pruner.MetaPruner(model, example, importance=make(model, ops), pruning_ratio=ratio,
                                          ignored_layers=[model.fc2])
            pruner.step()
            macs, params = tp.utils.count_ops_and_params(model, example)
            rows.append({"importance": label, "seed": seed, "ratio": ratio, "accuracy": accuracy(model, data.x_test, data.y_test),
                         "params": int(params), "macs": int(macs), "dense_accuracy": dense_acc,
                         "dense_params": int(dense_params)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--ratios", type=float, nargs="+", default=[0.25, 0.5])
    parser.add_argument("--sparsity", type=float, default=0.9)
    parser.add_argument("--population", type=int, default=24)
    parser.add_argument("--generations", type=int, default=5)
    parser.add_argument("--markdown-only", action="store_true", help="rewrite results.md from results.json")
    args = parser.parse_args()
    if args.markdown_only:
        (HERE / "results.md").write_text(markdown(json.loads((HERE / "results.json").read_text())))
        return
    start, work = time.perf_counter(), Path(tempfile.mkdtemp(prefix="mf-adapters-"))
    mlp_metric = evolve("mlp-prune", {"sparsity": args.sparsity, "group": "row"}, args.population,
                        args.generations, work)
    cnn_metric = evolve("cnn-prune", {"sparsity": 0.5, "granularity": "filter"}, args.population,
                        args.generations, work)
    mlp = [mlp_check(mlp_metric, s, args.sparsity) for s in args.seeds]
    cnn_ops = [cnn_operand_check(s) for s in args.seeds]
    importances = {
        "magnitude (Torch-Pruning, L2)": lambda m, ops: tp.importance.MagnitudeImportance(p=2),
        "random (Torch-Pruning)": lambda m, ops: tp.importance.RandomImportance(),
        "wanda (MetricImportance)": lambda m, ops: MetricImportance("wanda", m, ops),
        f"{mlp_metric.canonical} (MetricImportance)": lambda m, ops: MetricImportance(mlp_metric, m, ops),
        f"{cnn_metric.canonical} (MetricImportance)": lambda m, ops: MetricImportance(cnn_metric, m, ops),
    }
    channels = [row for s in args.seeds for r in args.ratios for row in channel_pruning(importances, s, r)]
    record = {"command": "python benchmarks/adapters/run.py " + " ".join(
                  [f"--seeds {' '.join(map(str, args.seeds))}", f"--ratios {' '.join(map(str, args.ratios))}",
                   f"--sparsity {args.sparsity}", f"--population {args.population}",
                   f"--generations {args.generations}"]),
              "evolved": {"mlp-prune row 0.9": mlp_metric.canonical, "cnn-prune filter 0.5": cnn_metric.canonical},
              "mlp_masks": mlp, "cnn_operands": cnn_ops, "channel_pruning": channels,
              "dtype": "float32", "hardware": {"cpu": platform.processor() or platform.machine(),
                                               "threads": 1, "torch": torch.__version__, "torch_pruning": tp.__version__},
              "wall_s": round(time.perf_counter() - start, 1)}
    (HERE / "results.json").write_text(json.dumps(record, indent=2) + "\n")
    (HERE / "results.md").write_text(markdown(record))
    print((HERE / "results.md").read_text())


def markdown(r: dict) -> str:
    """The record as the results page."""
    lines = ["# Evolved metrics outside metricforge", "", f"Command: `{r['command']}` ({r['wall_s']} s, "
             f"{r['dtype']}, one CPU thread, torch {r['hardware']['torch']}, torch-pruning "
             f"{r['hardware']['torch_pruning']}).", "",
             f"Evolved on mlp-prune (digits MLP, 90% per row, search seed 0): `{r['evolved']['mlp-prune row 0.9']}`; "
             f"on cnn-prune (digits CNN, 50% of filters, search seed 0): `{r['evolved']['cnn-prune filter 0.5']}`.", "",
             "## MetricPruning on a plain torch MLP reproduces metricforge's masks", "",
             "| MLP seed | weights | differing mask bits | accuracy (plain torch) | accuracy (mlp-prune task) |",
             "|---|---|---|---|---|"]
    for m in r["mlp_masks"]:
        lines.append(f"| {m['seed']} | {m['weights']} | {m['differing_mask_bits']} | {m['accuracy_plain']:.4f} | "
                     f"{m['accuracy_task']:.4f} |")
    lines += ["", "collect_operands on the digits CNN (conv1, conv2, fc1) equals the cnn-prune task's W, G, X, Xs, Y, Hd "
              "bit for bit: " + ", ".join(f"seed {c['seed']}: {c['operands_equal']}" for c in r["cnn_operands"]) + ".",
              "", "## Torch-Pruning: channels of the digits CNN", "",
              "One MetaPruner step removes the ratio of channels of every layer but the classifier (dependency groups "
              "of conv1, conv2 and fc1); no fine-tuning. Held-out test accuracy, mean and range over CNN seeds "
              "(seed 0 is the model both searches ran on; the others were never seen by them).", "",
              "| importance | channel ratio | parameters (dense) | accuracy mean | min | max | dense |",
              "|---|---|---|---|---|---|---|"]
    groups: dict[tuple, list] = {}
    for row in r["channel_pruning"]:
        groups.setdefault((row["importance"], row["ratio"]), []).append(row)
    for (label, ratio), rows in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        accs = [x["accuracy"] for x in rows]
        lines.append(f"| `{label}` | {ratio} | {rows[0]['params']} ({rows[0]['dense_params']}) | "
                     f"{statistics.mean(accs):.4f} | {min(accs):.4f} | {max(accs):.4f} | "
                     f"{statistics.mean(x['dense_accuracy'] for x in rows):.4f} |")
    lines += ["", reading(groups)]
    return "\n".join(lines) + "\n"


def reading(groups: dict[tuple, list]) -> str:
    """What the table says, computed from it: each importance's mean accuracy minus magnitude's."""
    parts = []
    for ratio in sorted({r for _, r in groups}):
        base = statistics.mean(x["accuracy"] for x in groups[("magnitude (Torch-Pruning, L2)", ratio)])
        gains = {label: statistics.mean(x["accuracy"] for x in rows) - base
                 for (label, r), rows in groups.items() if r == ratio and not label.startswith("magnitude")}
        best = max(gains, key=gains.get)
        parts.append(f"at {ratio:g} of the channels, mean accuracy minus magnitude's: "
                     + ", ".join(f"`{k.split(' (')[0]}` {v:+.4f}" for k, v in sorted(gains.items(), key=lambda kv: -kv[1]))
                     + f" (best: `{best.split(' (')[0]}`)")
    return ("Reading: " + "; ".join(parts) + ". Three CNN seeds only; the evolved metrics were searched for "
            "masks (mlp-prune rows, cnn-prune filters), not for Torch-Pruning's dependency groups.")


if __name__ == "__main__":
    main()
