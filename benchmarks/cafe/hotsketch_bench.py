"""HotSketch (CAFE) on a seeded Zipf stream: top-k recall against exact counting, speed, memory.

    nice -n 10 .venv/bin/python benchmarks/cafe/hotsketch_bench.py            # 10M ids, three sizes
    nice -n 10 .venv/bin/python benchmarks/cafe/hotsketch_bench.py --quick    # 1M ids, smoke run

Writes hotsketch_results.json and hotsketch_results.md next to this file (``--out`` moves them).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from evaluators.embedding.cafe import HotSketch  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--features", type=int, default=1_000_000, help="distinct features of the Zipf law")
    p.add_argument("--stream", type=int, default=10_000_000, help="ids in the stream")
    p.add_argument("--exponent", type=float, default=1.05)
    p.add_argument("--batch", type=int, default=65_536)
    p.add_argument("--buckets", default="4096,16384,65536", help="sketch sizes, comma-separated")
    p.add_argument("--slots", type=int, default=4)
    p.add_argument("--hot-rows", type=int, default=10_000)
    p.add_argument("--threshold", type=float, default=20.0, help="hot threshold T (unit scores: counts)")
    p.add_argument("--ks", default="1000,10000")
    p.add_argument("--sequential-buckets", type=int, default=16384,
                   help="also run per-occurrence Space-Saving in plain Python at this B (0: skip)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: no spin-waiting on a loaded box)")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    p.add_argument("--quick", action="store_true", help="1M ids, 100k features")
    return p.parse_args(argv)


def zipf_stream(n: int, features: int, exponent: float, seed: int) -> np.ndarray:
    """n ids drawn by inverse CDF from P(rank r) ~ r^-exponent over exactly ``features`` ranks,
    ranks remapped to ids by a seeded permutation (so id order says nothing about frequency)."""
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(np.arange(1, features + 1, dtype=np.float64) ** -exponent)
    cdf /= cdf[-1]
    ranks = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), features - 1)
    return rng.permutation(features)[ranks].astype(np.int64)


def true_topk(counts: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    """The k ids of highest count (ties: lower id) and the k-th count."""
    order = np.lexsort((np.arange(counts.size), -counts))[:k]
    return order, float(counts[order[-1]])


def run_one(stream: np.ndarray, counts: np.ndarray, buckets: int, args: argparse.Namespace) -> dict:
    """Insert the stream in batches (timed), then score the sketch's top-k against exact counts."""
    sk = HotSketch(buckets, args.slots, args.hot_rows, args.threshold, seed=args.seed)
    ids = torch.from_numpy(stream)
    ones = torch.ones(args.batch, dtype=torch.float32)
    promoted = evicted = decays = 0
    dropped = 0.0
    t0 = time.perf_counter()
    for start in range(0, ids.numel(), args.batch):
        chunk = ids[start:start + args.batch]
        rep = sk.insert(chunk, ones[:chunk.numel()])
        promoted, evicted = promoted + rep.promoted_ids.numel(), evicted + rep.evicted_ids.numel()
        decays, dropped = decays + rep.decays, dropped + rep.dropped_score
    wall = time.perf_counter() - t0
    row = {"buckets": buckets, "slots": args.slots, "slots_total": buckets * args.slots,
           "insert_s": round(wall, 3), "inserts_per_s": round(ids.numel() / wall),
           "sketch_bytes": sk.memory_bytes(), "decays": decays, "promotions": promoted,
           "evictions": evicted, "hot_now": int((sk.hot >= 0).sum()),
           "dropped_score_frac": round(dropped / ids.numel(), 5)}
    for k in [int(x) for x in args.ks.split(",")]:
        top, kth = true_topk(counts, k)
        mine = sk.topk(k)[0].numpy()
        row[f"recall@{k}"] = round(len(np.intersect1d(mine, top)) / k, 4)
        row[f"recall_ties@{k}"] = round(float((counts[mine] >= kth).sum()) / k, 4)  # ties with the k-th count
    hot_ids = sk.ids[sk.hot >= 0].numpy()
    top_h = true_topk(counts, args.hot_rows)[0] if args.hot_rows else hot_ids[:0]
    row["hot_in_true_top_H"] = round(len(np.intersect1d(hot_ids, top_h)) / max(hot_ids.size, 1), 4)
    return row


def recalls(mine: np.ndarray, counts: np.ndarray, ks: list[int]) -> dict:
    """recall@k of ``mine`` (ids, best first) against the exact top-k."""
    return {f"recall@{k}": round(len(np.intersect1d(mine[:k], true_topk(counts, k)[0])) / k, 4) for k in ks}


def sequential_check(stream: np.ndarray, counts: np.ndarray, buckets: int, args: argparse.Namespace) -> dict:
    """Does batching cost recall? Plain per-occurrence Space-Saving on the same buckets (free slot,
    else the lowest slot), against HotSketch batches; both without hot rows or decay."""
    ks = [int(x) for x in args.ks.split(",")]
    sk = HotSketch(buckets, args.slots, 0, 1e30, seed=args.seed)
    ids = torch.from_numpy(stream)
    for start in range(0, ids.numel(), args.batch):
        chunk = ids[start:start + args.batch]
        sk.insert(chunk, torch.ones(chunk.numel()))
    bucket = sk.bucket_of(torch.arange(args.features)).tolist()
    slot_ids = [[-1] * args.slots for _ in range(buckets)]
    slot_sc = [[0.0] * args.slots for _ in range(buckets)]
    t0 = time.perf_counter()
    for x in stream.tolist():
        row, sc = slot_ids[bucket[x]], slot_sc[bucket[x]]
        if x in row:
            sc[row.index(x)] += 1.0
            continue
        j = row.index(-1) if -1 in row else min(range(args.slots), key=sc.__getitem__)
        row[j] = x
        sc[j] += 1.0
    seq_s = time.perf_counter() - t0
    flat_ids = np.array([i for r in slot_ids for i in r])
    order = np.argsort(-np.array([v for r in slot_sc for v in r]), kind="stable")
    return {"buckets": buckets, "sequential": recalls(flat_ids[order], counts, ks),
            "sequential_s": round(seq_s, 1), "batched": recalls(sk.topk(max(ks))[0].numpy(), counts, ks)}


def write_md(res: dict, path: Path) -> None:
    """Markdown summary of the results."""
    c = res["config"]
    ks = [int(x) for x in c["ks"].split(",")]
    lines = ["# HotSketch (CAFE) benchmark", "",
             f"Reproduce: `nice -n 10 .venv/bin/python benchmarks/cafe/hotsketch_bench.py` "
             f"(torch {res['torch']}, torch threads: {res['torch_threads']}, {res['platform']}, "
             f"load average at start {res['loadavg_start']}).", "",
             f"Stream: {c['stream']:,} ids, Zipf exponent {c['exponent']} over exactly {c['features']:,} "
             f"features (inverse CDF, ids permuted), seed {c['seed']}, {res['distinct_seen']:,} distinct "
             f"ids seen; unit scores; batches of {c['batch']:,}. Sketch: S = {c['slots']} slots, "
             f"H = {c['hot_rows']:,} hot rows, T = {c['threshold']}, decay 0.99 per 10*B*T inserted score.",
             "", f"Exact counter: {res['exact_bytes']:,} B as (int64 id + float32 score) per distinct id seen "
             f"(no hash-table overhead), {res['bincount_bytes']:,} B as a dense int64 bincount. "
             f"Stream generation {res['gen_s']} s (not timed below).", "",
             "| B | slots | memory (B) | vs exact | " + " | ".join(f"recall@{k} (tie-aware)" for k in ks)
             + " | inserts/s | insert s | decays | hot in true top-H | dropped score |",
             "|---" * (9 + len(ks)) + "|"]
    for r in res["rows"]:
        lines.append(f"| {r['buckets']:,} | {r['slots_total']:,} | {r['sketch_bytes']:,} | "
                     f"{r['sketch_bytes'] / res['exact_bytes']:.3f} | "
                     + " | ".join(f"{r[f'recall@{k}']:.4f} ({r[f'recall_ties@{k}']:.4f})" for k in ks)
                     + f" | {r['inserts_per_s']:,} | {r['insert_s']} | {r['decays']} | "
                     f"{r['hot_in_true_top_H']:.4f} | {r['dropped_score_frac']:.5f} |")
    if res.get("sequential_check"):
        q = res["sequential_check"]
        lines += ["", f"Batching check at B = {q['buckets']:,}, no hot rows, no decay: per-occurrence "
                  f"Space-Saving in plain Python ({q['sequential_s']} s) "
                  + ", ".join(f"{k} {v:.4f}" for k, v in q["sequential"].items()) + "; HotSketch in batches "
                  + ", ".join(f"{k} {v:.4f}" for k, v in q["batched"].items()) + "."]
    lines += ["", "dropped score = share of the inserted score whose newcomer found no slot (every slot of "
              "its bucket hot, or more than `rounds` = S newcomers in its bucket in one batch); hot ids are "
              "never replaced, so when H is a large share of B*S (" + ", ".join(
                  f"B = {r['buckets']:,}: {r['hot_now'] / r['slots_total']:.0%} of slots hot at the end"
                  for r in res["rows"]) + ") newcomers are dropped."]
    lines += ["", "recall@k = |sketch top-k ∩ true top-k| / k, true top-k by exact count with ties broken by "
              "id; tie-aware counts a sketch id as right when its true count reaches the k-th true count. "
              "'hot in true top-H' = share of the hot ids at the end that are in the true top-H.", ""]
    path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> dict:
    """Generate the stream once, run every sketch size and the batching check, write the results."""
    args = parse_args(argv)
    if args.quick:
        args.stream, args.features = 1_000_000, 100_000
    load = [round(x, 2) for x in os.getloadavg()]
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    stream = zipf_stream(args.stream, args.features, args.exponent, args.seed)
    counts = np.bincount(stream, minlength=args.features)
    exact_bytes = 12 * int((counts > 0).sum())
    gen_s = round(time.perf_counter() - t0, 2)
    rows = []
    for b in [int(x) for x in args.buckets.split(",")]:
        rows.append(run_one(stream, counts, b, args))
        print(json.dumps(rows[-1]), flush=True)
    seq = sequential_check(stream, counts, args.sequential_buckets, args) if args.sequential_buckets else None
    if seq:
        print(json.dumps(seq), flush=True)
    cfg = {k: v for k, v in vars(args).items() if k != "out"}
    res = {"config": cfg, "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
           "platform": platform.platform(), "loadavg_start": load, "gen_s": gen_s,
           "distinct_seen": int((counts > 0).sum()), "exact_bytes": exact_bytes,
           "bincount_bytes": counts.nbytes, "rows": rows,
           "sequential_check": seq}
    if not args.quick:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "hotsketch_results.json").write_text(json.dumps(res, indent=2) + "\n")
        write_md(res, args.out / "hotsketch_results.md")
    return res


if __name__ == "__main__":
    main()
