"""How much evaluation and calibration data SmolLM2-135M pruning needs before a ranking of metrics settles.

    python benchmarks/data_efficiency/llm_convergence.py

Ranks 14 metrics (the six published ones, the four best of the full-budget search in
benchmarks/search and four spread down its leaderboard) at 50% per row with
`metricforge converge`: every metric's loss on each of 16 windows of 512 tutorial tokens, then
agreement of the ranking on n windows with the ranking on all 16; and rankings with 4, 8 and 16
calibration windows of review text (two draws each) against the search's own 16 windows (seed 0),
at 2,048 evaluation tokens.
Writes results/llm_convergence/ (convergence.md, JSON, plot) and results/llm_convergence.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BUILTIN_NAMES = ("magnitude", "wanda", "ria", "gblm", "pruner_zero", "sdiv(sqr(W), sqr(Hd))")


def searched_metrics(registry: str, top: int, spread: int) -> list[str]:
    """The best and a spread of the full-budget search's leaderboard (its own settings)."""
    from data_efficiency.metric_set import leaderboard_metrics
    from gp_engine.config import SearchConfig, load_toml
    from evaluators.tasks import TaskSpec, build_task
    from registry import Registry

    cfg = SearchConfig.from_dict(load_toml(ROOT / "configs" / "llm-search-random.toml"))
    task = build_task(TaskSpec(cfg.task, cfg.task_options))
    with Registry.open(registry) as reg:
        return [m.canonical for m in leaderboard_metrics(reg, task.settings(), "min", top, spread)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--registry", default=str(ROOT / "benchmarks" / "search" / "work" / "registry.db"))
    p.add_argument("--eval-tokens", type=int, default=8192)
    p.add_argument("--calib-windows", default="4,8,16")
    p.add_argument("--calib-seeds", default="0,1")
    p.add_argument("--calib-eval-tokens", type=int, default=2048)
    p.add_argument("--out", type=Path, default=HERE / "results" / "llm_convergence")
    args = p.parse_args()
    metrics = list(BUILTIN_NAMES) + searched_metrics(args.registry, 4, 4)
    argv = [sys.executable, "-m", "metricforge.cli", "converge", "--task", "llm-prune",
            "--config", str(ROOT / "configs" / "llm-search-random.toml"), "-o", f"eval_tokens={args.eval_tokens}",
            "--budgets", "1,2,4,8,16", "--calib-windows", args.calib_windows, "--calib-seeds", args.calib_seeds,
            "--calib-eval-tokens", str(args.calib_eval_tokens), "--out", str(args.out)]
    for m in metrics:
        argv += ["-m", m]
    load, start = os.getloadavg(), time.time()
    subprocess.run(argv, check=True)
    import torch
    import transformers

    shown = " ".join(a if " " not in a and "(" not in a else repr(a) for a in argv[1:])
    header = (f"# Data convergence of llm-prune (SmolLM2-135M, 50% per row, bf16)\n\n"
              f"Reproduce: `.venv/bin/python benchmarks/data_efficiency/llm_convergence.py` (runs `python {shown}`).\n"
              f"torch {torch.__version__}, transformers {transformers.__version__}, {platform.platform()}, "
              f"load average at start {load[0]:.2f}, {(time.time() - start) / 60:.1f} min. Evaluation: the first "
              f"{args.eval_tokens:,} tokens of the Python tutorial in 512-token windows; calibration: 16 x 512 review "
              f"tokens (seed 0) unless the calibration table says otherwise. Metric set: the six published metrics "
              f"(SparseGPT's score without its weight update), the four best and four spread down the leaderboard "
              f"of the full-budget search (benchmarks/search/results/llm_search.md).\n\n")
    body = (args.out / "convergence.md").read_text().split("\n", 2)[2].replace("](evaluation.png)",
                                                                            "](llm_convergence/evaluation.png)")
    (HERE / "results" / "llm_convergence.md").write_text(header + body, encoding="utf-8")
    print(header + body)


if __name__ == "__main__":
    main()
