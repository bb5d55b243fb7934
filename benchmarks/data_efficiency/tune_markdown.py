"""Render tune_results.json (from tune_search.py) as tune_results.md."""
from __future__ import annotations

import json
import sys
from pathlib import Path

PARAMS = ("population", "cxpb", "mutpb", "tournament", "elite")


def _settings(s: dict) -> str:
    return ", ".join(f"{k}={s[k]:.3g}" if isinstance(s[k], float) else f"{k}={s[k]}" for k in PARAMS if k in s)


def _task(t: dict, args: dict) -> list[str]:
    tuned, default, paired = t["tuned"], t["default"], t["paired"]
    trials = t["trials"]
    states = {s: sum(r["state"] == s for r in trials) for s in ("complete", "pruned", "fail")}
    scored = sum(r["scored"] for r in trials)
    from_reg = sum(r["from_registry"] for r in trials)
    best, base = t["best_trial"], t["baseline_trial"]
    lines = [f"## {t['task']} ({', '.join(f'{k}={v}' for k, v in t['task_options'].items())}; "
             f"fitness = test accuracy, {t['direction']})", "",
             f"Tuning: {len(trials)} trials ({states['complete']} complete, {states['pruned']} pruned, "
             f"{states['fail']} failed) in {t['tune_s']} s; {scored} metrics scored by the trials' searches, "
             f"{from_reg} of them ({100 * from_reg / max(scored, 1):.0f}%) found in the registry (scored by an "
             "earlier trial or seed: counted against the budget, but not evaluated again).", "",
             f"- best trial {best['number']}: {best['value']:.4f} on the tuning seeds: {_settings(best['params'])}",
             f"- default settings (trial {base['number']}): {base['value']:.4f}: {_settings(base['params'])}"
             if base else "- default settings: not a trial (outside the ranges)", "",
             f"Fresh seeds {args['eval_seeds']}, {args['budget']} scored metrics per search "
             f"({t['eval_s']} s):", "",
             "| settings | " + " | ".join(f"seed {s}" for s in args["eval_seeds"]) + " | mean ± std |",
             "|---|" + "---|" * len(args["eval_seeds"]) + "---|"]
    for label, res in (("tuned: " + _settings(tuned["settings"]), tuned),
                       ("default: " + _settings(default["settings"]), default)):
        cells = " | ".join(f"{r['best']:.4f}" for r in res["runs"])
        lines.append(f"| {label} | {cells} | {res['mean']:.4f} ± {res['std']:.4f} |")
    n = len(args["eval_seeds"])
    lines += ["", f"Paired difference tuned − default over the same seeds: {paired['mean']:+.4f} ± "
              f"{paired['std']:.4f}; tuned better on {paired['wins']} of {n} seeds, tied on {paired['ties']}.",
              "", _reading(t, args), "",
              "<details><summary>every trial</summary>", "",
              "| # | state | value | " + " | ".join(PARAMS) + " | scored | from registry | wall s |",
              "|---|---|---|" + "---|" * len(PARAMS) + "---|---|---|"]
    for r in trials:
        value = "" if r["value"] is None else f"{r['value']:.4f}"
        params = " | ".join(f"{r['params'].get(p):.3g}" if isinstance(r["params"].get(p), float)
                            else str(r["params"].get(p, "")) for p in PARAMS)
        note = " (default)" if r["baseline"] else ""
        lines.append(f"| {r['number']}{note} | {r['state']} | {value} | {params} | {r['scored']} | "
                     f"{r['from_registry']} | {r['wall_s']} |")
    return lines + ["", "</details>", ""]


def _reading(t: dict, args: dict) -> str:
    """A paired t statistic and what it allows one to say, plus the optimism of the best trial."""
    from scipy import stats

    paired, n = t["paired"], len(args["eval_seeds"])
    sign = 1 if t["direction"] == "max" else -1
    stat = paired["mean"] / (paired["std"] / n ** 0.5) if paired["std"] > 0 else 0.0
    limit = stats.t.ppf(0.975, n - 1) if n > 1 else float("inf")
    verdict = ("not distinguishable from the defaults" if abs(stat) < limit
               else ("better than" if sign * stat > 0 else "worse than") + " the defaults")
    return (f"Reading: paired t = {stat:+.2f} (5% two-sided threshold {limit:.2f} with {n} seeds): on fresh "
            f"seeds the tuned settings are {verdict}. The best trial scored {t['best_trial']['value']:.4f} on the "
            f"tuning seeds but {t['tuned']['mean']:.4f} on fresh ones: picking the best of {len(t['trials'])} "
            f"trials on {len(args['tune_seeds'])} seeds also picks luck.")


def markdown(report: dict) -> str:
    """The whole results page."""
    args = report["args"]
    lines = ["# Tuning the search's own settings with Optuna", "",
             "Optuna (TPE sampler, median pruner) tunes population, crossover and mutation probabilities, "
             "tournament size and elite count. Every trial runs one search per tuning seed, each held to the "
             f"same budget of {args['budget']} scored metrics (a bigger population buys fewer generations), and "
             "scores the mean best fitness; the study lives in the same SQLite file as the registry. The best "
             "settings and the defaults are then compared on fresh seeds, at the same budget.", ""]
    for t in report["tasks"]:
        lines += _task(t, args)
    v = report["versions"]
    lines += ["## Reproduce", "", "```",
              "python benchmarks/data_efficiency/tune_search.py --tasks " + " ".join(t["task"] for t in report["tasks"])
              + f" --trials {args['trials']} --budget {args['budget']} --tune-seeds "
              + " ".join(map(str, args["tune_seeds"])) + " --eval-seeds " + " ".join(map(str, args["eval_seeds"])),
              "# or, for one task: metricforge tune --task mlp-prune -o sparsity=0.9 --trials "
              f"{args['trials']} --budget {args['budget']} --seeds {','.join(map(str, args['tune_seeds']))}",
              "```", "",
              f"Run on {report['date']}: {report['wall_s']} s in all, {report['cpus']} CPUs shared with other jobs "
              f"(load average {report['load_before']} before, {report['load_after']} after), torch "
              f"{report['torch_threads']} thread, {report['platform']}.", "",
              "Versions: " + ", ".join(f"{k} {v[k]}" for k in sorted(v)) + ".", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    data = json.loads((here / "tune_results.json").read_text())
    (here / "tune_results.md").write_text(markdown(data))
    sys.stdout.write(markdown(data))
