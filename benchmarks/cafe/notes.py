"""The opening notes of results.md: what was run, on what, and how to read the tables."""
from __future__ import annotations

import platform

import torch


def notes(cfgs: dict[str, dict], command: str, started_load: tuple[float, ...], wall_s: float,
          full_floats: int, extra: list[str] = ()) -> str:
    """What was run, on what, and how to read the tables."""
    cfg = next(iter(cfgs.values()))
    epochs = ", ".join(f"{m} {c['epochs']}" for m, c in cfgs.items())
    return "\n".join([
        "# Compressed embeddings on MovieLens-100k (CAFE study)", "",
        f"Reproduce: `nice -n 10 .venv/bin/python {command}` (torch {torch.__version__}, one torch thread, "
        f"{platform.platform()}, load average at start {', '.join(f'{v:.2f}' for v in started_load)}, "
        f"{wall_s / 60:.1f} min of training in these rows).", "",
        f"Data and training as the dense recsys-prune models: {cfg['split']} split, Adam lr {cfg['lr']}, batch "
        f"{cfg['batch_size']}, epochs {epochs}, emb_dim {cfg['emb_dim']}, hidden {tuple(cfg['hidden'])}; only "
        "`model.embeddings` is swapped, every method of a seed sees the same initial MLP and the same batches. "
        "Memory counts the swapped module (parameters, hot-id lists, sketch) against its budget, ratio x the "
        f"full table's {full_floats:,} floats; DeepFM's first-order weights (one float per feature) stay "
        "uncompressed in every method.", "",
        f"CAFE: threshold {cfg['threshold']:g} (benchmarks/cafe/threshold.md), hot fraction {cfg['hot_fraction']} "
        f"(also the frequency baseline's), importance {cfg['importance']}, sketch decay 0.99 per 10 x B x T "
        "inserted score; cafe-ml adds a medium hash table for ids scoring >= 0.2 T. Throughput: training "
        "samples per second on one thread, on the same batches (noisy when the machine is shared; "
        "benchmarks/cafe/throughput.md times the steps interleaved).", "", *extra,
    ])
