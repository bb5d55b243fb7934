"""A local process pool (spawn): one prepared task per worker, dead workers replaced, timeouts.

At most one candidate per worker is in flight, and each worker reports when it starts one, so
a timeout counts only that candidate's own time. A worker that dies breaks the pool: it is
rebuilt, the candidates in flight are retried one at a time (so the culprit is known) and a
candidate that kills its worker more than ``retries`` times is marked failed.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, Sequence

from evaluators.base import Fitness
from gp_engine.maps.base import EvalMap, ResultCallback, failed, score_text, to_fitness
from gp_engine.maps.round import Round
from evaluators.tasks import TaskSpec, build_task
from primitives.recipe import Entry

if TYPE_CHECKING:
    from evaluators.base import Task

log = logging.getLogger(__name__)

_TASK: Task | None = None
_STARTED: Any = None


def _init_worker(spec: TaskSpec, started: Any, threads: int) -> None:
    """Build and prepare this worker's task once, on its share of the CPU cores."""
    global _TASK, _STARTED
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    _STARTED = started
    _TASK = build_task(spec)
    if "torch" in sys.modules:  # workers x threads = cores: no oversubscription
        sys.modules["torch"].set_num_threads(threads)
    _TASK.prepare()


def _score(token: int, text: str) -> Fitness:
    """Tell the parent this candidate started, then score it."""
    _STARTED.put(token)
    assert _TASK is not None, "worker not initialised"
    return score_text(_TASK, text)


class PoolMap(EvalMap):
    """Spawned worker processes, each with its own prepared task built from a TaskSpec."""

    def __init__(self, spec: TaskSpec, direction: str, workers: int = 2,
                 timeout_s: float | None = None, retries: int = 1, poll_s: float = 0.2) -> None:
        self.spec, self.direction, self.workers = spec, direction, max(1, int(workers))
        self.timeout_s, self.retries, self.poll_s = timeout_s, retries, poll_s
        self._ctx = mp.get_context("spawn")
        self._pool: ProcessPoolExecutor | None = None
        self._started: Any = None
        self._token = 0
        self._pool_started = False
        self._startup_failures = 0
        self.restarts = 0

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._started = self._ctx.SimpleQueue()  # synchronous put: survives os._exit
            self._pool_started = False
            self._pool = ProcessPoolExecutor(self.workers, mp_context=self._ctx, initializer=_init_worker,
                                             initargs=(self.spec, self._started, max(1, (os.cpu_count() or 1) // self.workers)))
        return self._pool

    def _kill_pool(self) -> None:
        """Terminate every worker now (hung or dead pools) and forget the pool."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        for proc in list(getattr(pool, "_processes", {}).values()):
            try:
                proc.kill()
            except Exception:  # already gone
                pass
        pool.shutdown(wait=True, cancel_futures=True)
        self.restarts += 1

    def _drain_starts(self, starts: dict[int, float]) -> None:
        while True:
            try:
                if self._started.empty():
                    return
                token = self._started.get()
            except (OSError, ValueError, EOFError):
                return
            starts[token] = time.monotonic()  # parent clock, within one poll of the real start
            self._pool_started = True

    def evaluate(self, metrics: Sequence[Entry], on_result: ResultCallback | None = None) -> list[Fitness]:
        """Score all metrics; results in input order whatever the completion order."""
        job = Round([m.canonical for m in metrics], on_result)
        while job.todo or job.inflight:
            pool = self._ensure_pool()
            while job.todo and len(job.inflight) < self.workers and job.may_start(job.todo[0]):
                i = job.todo.popleft()
                self._token += 1
                job.inflight[pool.submit(_score, self._token, job.texts[i])] = (i, self._token)
            done, _ = wait(list(job.inflight), timeout=self.poll_s, return_when=FIRST_COMPLETED)
            self._drain_starts(job.starts)
            broken: list[int] = []
            for fut in done:
                i, token = job.inflight.pop(fut)
                job.starts.pop(token, None)
                try:
                    job.finish(i, to_fitness(self.direction, fut.result()))
                except BrokenProcessPool:
                    broken.append(i)
                except Exception as exc:  # pickling or other transport errors
                    job.finish(i, failed(self.direction, f"worker error: {type(exc).__name__}: {exc}"))
            if broken:
                self._on_broken(job, broken + job.take_inflight())
            elif self.timeout_s is not None:
                self._on_timeouts(job)
        return job.results  # type: ignore[return-value]

    def _on_broken(self, job: Round, broken: list[int]) -> None:
        """A worker died: rebuild the pool; retry its candidates alone, fail repeat offenders."""
        started = self._pool_started
        self._kill_pool()
        if not started:  # no worker ever began a candidate: the task itself cannot start
            self._startup_failures += 1
            if self._startup_failures >= 2:
                raise RuntimeError(f"worker processes for task {self.spec.name!r} die before "
                                   "scoring anything (task build or prepare fails; see the log)")
            job.todo.extendleft(sorted(set(broken), reverse=True))
            return
        for i in sorted(set(broken), reverse=True):
            job.deaths[i] += 1
            if job.deaths[i] > self.retries:
                log.warning("candidate %s killed its worker %d times: failed", job.texts[i], job.deaths[i])
                job.finish(i, failed(self.direction, f"worker died ({job.deaths[i]} times)"))
            else:
                job.suspects.add(i)
                job.todo.appendleft(i)

    def _on_timeouts(self, job: Round) -> None:
        """Fail candidates past the timeout; kill the pool (hung workers) and requeue the others."""
        now, limit = time.monotonic(), float(self.timeout_s)  # type: ignore[arg-type]
        late = [i for i, tok in job.inflight.values() if tok in job.starts and now - job.starts[tok] > limit]
        if not late:
            return
        others = [i for i in job.take_inflight() if i not in late]
        self._kill_pool()
        for i in late:
            log.warning("candidate %s timed out after %.1f s", job.texts[i], limit)
            job.finish(i, failed(self.direction, f"timeout after {limit:g} s", limit))
        job.todo.extendleft(sorted(others, reverse=True))

    def close(self) -> None:
        """Shut the pool down."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def describe(self) -> dict[str, Any]:
        """Kind, workers, timeout."""
        return {"kind": "pool", "workers": self.workers, "timeout_s": self.timeout_s, "retries": self.retries}
