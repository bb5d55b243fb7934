"""Progress of long library work (model load, operand passes, evaluations) without touching output.

Library code wraps its loops in ``track(...)`` or opens a ``stage(...)``; what the user sees is
decided by the front end, which installs a ``ProgressSink`` with ``use_sink``. With no sink
installed every call is a no-op, so the library never prints.
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import Iterable, Iterator, Protocol, TypeVar

T = TypeVar("T")


class ProgressSink(Protocol):
    """Receives progress of named tasks; a front end renders it (bars, timestamped lines)."""

    def start(self, description: str, total: int | None) -> int:
        """A new task; returns its id."""

    def advance(self, task_id: int, amount: int = 1) -> None:
        """``amount`` more units of the task are done."""

    def finish(self, task_id: int) -> None:
        """The task is over (completed or abandoned)."""


_sink: contextvars.ContextVar[ProgressSink | None] = contextvars.ContextVar("metricforge_progress_sink", default=None)


@contextlib.contextmanager
def use_sink(sink: ProgressSink | None) -> Iterator[None]:
    """Send progress to ``sink`` inside the block (None: nowhere)."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)


class _Stage:
    def __init__(self, sink: ProgressSink | None, task_id: int) -> None:
        self._sink, self._id = sink, task_id

    def advance(self, amount: int = 1) -> None:
        if self._sink is not None:
            self._sink.advance(self._id, amount)


@contextlib.contextmanager
def stage(description: str, total: int | None = None) -> Iterator[_Stage]:
    """A unit of work of ``total`` steps (None: unknown); call ``advance`` as steps finish."""
    sink = _sink.get()
    task_id = sink.start(description, total) if sink is not None else -1
    try:
        yield _Stage(sink, task_id)
    finally:
        if sink is not None:
            sink.finish(task_id)


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Yield ``items``, reporting one step per item to the current sink."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with stage(description, total) as progress:
        for item in items:
            yield item
            progress.advance()
