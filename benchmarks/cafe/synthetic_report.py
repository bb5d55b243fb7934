"""The synthetic-scale CAFE study's outputs: synthetic_scale.{json,md,png} from its rows and run record."""
from __future__ import annotations

import json
import logging
import platform
from pathlib import Path

from model_compression.cafe.report import aggregate, markdown_tables, plot, versus_hash

log = logging.getLogger("benchmarks.cafe.synthetic_scale")


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (the platform's machine name elsewhere)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.machine()


def write(rows: list[dict], meta: dict, out: Path) -> None:
    """synthetic_scale.json (meta, aggregate, versus hash, rows), .md (settings, tables) and .png (AUC vs ratio)."""
    agg, diffs = aggregate(rows), versus_hash(rows)
    (out / "synthetic_scale.json").write_text(json.dumps({"meta": meta, "aggregate": agg, "versus_hash": diffs,
                                                          "rows": rows}, indent=2, default=str))
    plot(agg, out / "synthetic_scale.png")
    (out / "synthetic_scale.md").write_text(notes(meta) + "\n" + markdown_tables(agg, diffs))
    log.info("wrote %s", out / "synthetic_scale.md")


def notes(meta: dict) -> str:
    """The opening of synthetic_scale.md: data, protocol, tuning choices, machine and time."""
    s, t, worlds = meta["setup"], meta["tuning"], meta["worlds"]
    spec = s["spec"]
    per = lambda key, fmt: ", ".join(format(w[key], fmt) for w in worlds)  # noqa: E731
    hot = "; ".join(f"{m} " + ", ".join(f"{float(r):g}: {v['chosen']:g}" for r, v in t[m].items())
                    for m in ("frequency", "cafe") if m in t)
    lrs = ", ".join(f"{lr:g}: {auc:.4f}" for lr, auc in t["lr"]["valid_auc"].items())
    return "\n".join([
        "# Compressed embeddings at scale on synthetic data (CAFE study)", "",
        f"Reproduce: `nohup env OMP_NUM_THREADS=1 .venv/bin/python {meta['command']} > work_synth.log 2>&1 &` "
        f"(one torch thread, {meta['cpu']}, torch {meta['torch']}, load average at start "
        f"{', '.join(f'{v:.2f}' for v in meta['load_average_at_start'])}; training: "
        f"{meta['train_minutes_main']:.1f} min in these rows, {meta['train_minutes_tuning']:.1f} min of tuning).", "",
        "**The data are synthetic** (shared/assets.md: no Criteo-scale data installs offline; a seeded Zipf id "
        f"stream instead): `zipf_ctr(ZipfCTRSpec(...))`, {spec['rows']:,} rows, {len(spec['cardinalities'])} fields "
        f"x {spec['cardinalities'][0] - 1:,} ids, Zipf exponent {spec['exponent']}, ranks relabelled at random; "
        f"click logit = per-id effects N(0, {spec['effect_std']}) + a rank-{spec['interaction_rank']} interaction of "
        f"fields 0 and 1 (std {spec['interaction_std']}) + {spec['n_dense']} dense features, base rate "
        f"{spec['positive_rate']}. One world per seed (seeds {', '.join(map(str, meta['seeds']))}), split at random "
        f"70/10/20. Ids seen in training: {per('ids_seen_in_train', ',')}; ids seen >= 100 times: "
        f"{per('ids_seen_100', ',')}, carrying {per('share_on_ids_seen_100', '.2f')} of the occurrences. The planted "
        f"logit's test AUC (the ceiling): {per('oracle_test_auc', '.4f')}.", "",
        f"Training: {s['model']}, {s['epochs']} epoch, batch {s['batch_size']}, Adam lr {s['lr']:g}, the study harness "
        "(`run_seed`: every arm of a seed starts from the same MLP and sees the same batches). CAFE: grad-norm "
        "importance, T 100, decay x0.99 per 10 x B x T inserted score, hot fraction 0.5 (also frequency's). "
        f"Tuned on the validation split of a separate world (seed {t['world_seed']}), never on test: lr by hash at "
        f"ratio {t['lr']['ratio']:g} ({lrs}; chose {t['lr']['chosen']:g})"
        + (f"; hot fraction per ratio ({hot})." if hot else "."),
        "", "Memory counts the swapped module (parameters, hot-id lists, sketch) against ratio x the full table. "
        "qr cannot exist below about 2 sqrt(N) rows (skipped rows say so).", ""])
