"""Worker functions for the multi-process registry tests (importable by spawned children)."""
from __future__ import annotations

FORMULAS = ("W", "X", "mul(abs(W), X)", "add(W, X)", "sqr(W)", "mul(W, G)", "abs(G)", "sqrt(abs(W))")


def write_evaluations(url: str, worker: int, count: int, settings: dict) -> int:
    """Open the registry at url and record count evaluations; return how many were written."""
    from primitives.metric import Metric
    from registry import Registry

    metrics = [Metric.parse(text) for text in FORMULAS]  # shared: all workers race to add them
    with Registry.open(url) as reg:
        for i in range(count):
            reg.record_evaluation(metrics[i % len(metrics)], settings, float(worker * 1000 + i),
                                  True, wall_s=0.0, device=f"worker-{worker}")
    return count


def crash_mid_write(url: str, committed: int, settings: dict) -> None:
    """Commit some evaluations, then die (os._exit) inside the next write transaction."""
    import os

    from primitives.metric import Metric
    from registry import Registry
    from registry.writes import insert_evaluation, upsert_metric

    metric = Metric.parse("mul(abs(W), X)")
    reg = Registry.open(url)
    for i in range(committed):
        reg.record_evaluation(metric, settings, float(i), True)

    def die(session):  # type: ignore[no-untyped-def]
        metric_id = upsert_metric(session, Metric.parse("sqr(W)")).id
        insert_evaluation(session, metric_id, settings, -1.0, True, None, None, None, None, None)
        os._exit(3)

    reg._write(die)
