"""The Ray backend: actors that keep a prepared task loaded, one per CPU (or GPU).

Each actor holds at most one candidate, so a dead actor names its candidate: the actor is
replaced and the candidate retried ``retries`` times before it is marked failed; a candidate
running past ``timeout_s`` is failed and its actor replaced.
"""
from __future__ import annotations

import logging
import os
import time
from collections import deque
from typing import Any, Sequence

from evaluators.base import Fitness
from gp_engine.maps.base import EvalMap, ResultCallback, failed, score_text, to_fitness
from gp_engine.maps.round import Round
from evaluators.tasks import TaskSpec, build_task
from primitives.recipe import Entry

log = logging.getLogger(__name__)
MISSING_RAY = ("the ray map needs the ray extra: pip install -e '.[ray]' "
               "(or EXTRAS=torch,postgres,tune,ray bash scripts/setup.sh)")


class MissingExtraError(ImportError):
    """An optional engine whose extra is not installed."""


class _Scorer:
    """The actor body: builds and prepares its task once."""

    def __init__(self, spec: TaskSpec) -> None:
        self.task = build_task(spec)
        self.task.prepare()

    def ready(self) -> bool:
        return True

    def score(self, text: str) -> Fitness:
        return score_text(self.task, text)


class RayMap(EvalMap):
    """Ray actors (``ray.init`` is called if Ray is not running: ``address`` or a local instance)."""

    def __init__(self, spec: TaskSpec, direction: str, workers: int = 2, timeout_s: float | None = None,
                 retries: int = 1, num_gpus: float = 0.0, num_cpus: float = 1.0,
                 address: str | None = None, poll_s: float = 0.2) -> None:
        try:
            import ray
        except ImportError:
            raise MissingExtraError(MISSING_RAY) from None

        self.ray = ray
        if not ray.is_initialized():
            address = address or os.environ.get("RAY_ADDRESS")
            kwargs: dict[str, Any] = {"address": address} if address else {"num_cpus": max(workers, 1)}
            ray.init(include_dashboard=False, log_to_driver=False, **kwargs)
        self.spec, self.direction, self.workers = spec, direction, max(1, int(workers))
        self.timeout_s, self.retries, self.poll_s = timeout_s, retries, poll_s
        self._cls: Any = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus)(_Scorer)
        self._actors: list[Any] = []
        self.restarts = 0

    def _new_actor(self) -> Any:
        actor = self._cls.remote(self.spec)
        self.ray.get(actor.ready.remote())  # wait for prepare(): timeouts count scoring only
        return actor

    def _replace(self, slot: int) -> None:
        self.ray.kill(self._actors[slot], no_restart=True)
        self._actors[slot] = self._new_actor()
        self.restarts += 1

    def evaluate(self, metrics: Sequence[Entry], on_result: ResultCallback | None = None) -> list[Fitness]:
        """Score all metrics on the actors; results in input order."""
        ray = self.ray
        while len(self._actors) < self.workers:
            self._actors.append(self._new_actor())
        job = Round([m.canonical for m in metrics], on_result)
        busy: dict[Any, tuple[int, int, float]] = {}  # ref -> (index, actor slot, start)
        free = deque(range(self.workers))
        while job.todo or busy:
            while job.todo and free:
                i, slot = job.todo.popleft(), free.popleft()
                busy[self._actors[slot].score.remote(job.texts[i])] = (i, slot, time.monotonic())
            done, _ = ray.wait(list(busy), num_returns=1, timeout=self.poll_s)
            for ref in done:
                i, slot, _ = busy.pop(ref)
                try:
                    job.finish(i, to_fitness(self.direction, ray.get(ref)))
                except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as exc:
                    job.deaths[i] += 1
                    self._replace(slot)
                    if job.deaths[i] > self.retries:
                        reason = f"worker died ({job.deaths[i]} times): {type(exc).__name__}"
                        job.finish(i, failed(self.direction, reason))
                    else:
                        job.todo.appendleft(i)
                except ray.exceptions.RayError as exc:
                    job.finish(i, failed(self.direction, f"worker error: {type(exc).__name__}: {exc}"))
                free.append(slot)
            if self.timeout_s is not None:
                now = time.monotonic()
                for ref, (i, slot, start) in list(busy.items()):
                    if now - start > self.timeout_s:
                        del busy[ref]
                        self._replace(slot)
                        job.finish(i, failed(self.direction, f"timeout after {self.timeout_s:g} s", self.timeout_s))
                        free.append(slot)
        return job.results  # type: ignore[return-value]

    def close(self) -> None:
        """Kill the actors (Ray itself stays up for the caller)."""
        for actor in self._actors:
            try:
                self.ray.kill(actor, no_restart=True)
            except Exception:
                pass
        self._actors = []

    def describe(self) -> dict[str, Any]:
        """Kind, workers, timeout."""
        return {"kind": "ray", "workers": self.workers, "timeout_s": self.timeout_s, "retries": self.retries}
