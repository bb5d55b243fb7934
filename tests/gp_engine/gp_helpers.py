"""Test tasks built on mlp-prune: counting, crashing, hanging, raising and slow variants."""
from __future__ import annotations

import os
import time
from pathlib import Path

from evaluators.digits.task import MLPPruneTask
from gp_engine.maps.inprocess import InProcessMap

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def in_ci() -> bool:
    """CI=true: optional extras that are installed must be tested, not skipped."""
    return os.environ.get("CI", "").strip().lower() == "true"


class CountingTask(MLPPruneTask):
    """Counts score calls (in-process only) and the canonical texts it scored."""

    def __init__(self, **options):
        super().__init__(**options)
        self.calls: list[str] = []

    def score(self, metric):
        self.calls.append(metric.canonical)
        return super().score(metric)


class RaisingTask(MLPPruneTask):
    """Raises inside score for any metric using G; returns NaN accuracy for any using tanh."""

    def score(self, metric):
        if "G" in metric.operands:
            raise RuntimeError("boom")
        fit = super().score(metric)
        if "tanh" in metric.canonical:
            return type(fit)(float("nan"), True, None, fit.wall_s, {})
        return fit


class CrashTask(MLPPruneTask):
    """Kills its own process (os._exit) when asked to score a metric whose text contains ``crash_on``."""

    def __init__(self, crash_on: str = "tanh", **options):
        super().__init__(**options)
        self.crash_on = crash_on

    def score(self, metric):
        if self.crash_on in metric.canonical:
            os._exit(13)
        return super().score(metric)


class HangTask(MLPPruneTask):
    """Sleeps ``hang_s`` on metrics whose text contains ``hang_on``."""

    def __init__(self, hang_on: str = "tanh", hang_s: float = 60.0, **options):
        super().__init__(**options)
        self.hang_on, self.hang_s = hang_on, hang_s

    def score(self, metric):
        if self.hang_on in metric.canonical:
            time.sleep(self.hang_s)
        return super().score(metric)


class SlowTask(MLPPruneTask):
    """mlp-prune taking ``delay_s`` more per candidate (so a kill lands mid-generation)."""

    def __init__(self, delay_s: float = 0.05, **options):
        super().__init__(**options)
        self.delay_s = delay_s

    def score(self, metric):
        time.sleep(self.delay_s)
        return super().score(metric)


class CrashAfter(InProcessMap):
    """Dies (raises SystemExit) after ``n`` candidates were scored and recorded."""

    def __init__(self, task, n):
        super().__init__(task)
        self.left = n

    def evaluate(self, metrics, on_result=None):
        def record(i, fit):
            on_result(i, fit)
            self.left -= 1
            if self.left == 0:
                raise SystemExit("simulated crash")
        return super().evaluate(metrics, record)
