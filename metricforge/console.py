"""One stderr console for the CLI: log lines and progress share it, so nothing glues onto a bar.

On a terminal, progress is a rich bar per task (with an ETA when the total is known) and log
records go through a RichHandler on the same Console; elsewhere (logs, pipes, CI) both are plain
timestamped lines, and a long task prints a line at least every ``HEARTBEAT_S`` seconds.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any

HEARTBEAT_S = 20.0  # plain mode: a task still running says so at least this often
LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_console: Any = None


def console() -> Any:
    """The process's one rich Console on stderr."""
    global _console
    if _console is None:
        from rich.console import Console

        _console = Console(stderr=True)
    return _console


def configure_logging(level: int) -> None:
    """Rich log lines on a terminal, plain timestamped lines otherwise; alembic kept quiet."""
    root = logging.getLogger()
    if any(getattr(h, "_metricforge", False) for h in root.handlers):
        root.setLevel(level)
        return
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(console=console(), show_path=False, rich_tracebacks=False,
                                               markup=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LINE_FORMAT))
    handler._metricforge = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _eta(done: int, total: int | None, elapsed: float) -> str:
    if not total or done <= 0 or done >= total:
        return ""
    return f", ETA {time.strftime('%H:%M:%S', time.gmtime(elapsed / done * (total - done)))}"


class LineSink:
    """Progress as timestamped lines: start, at most one per ``every`` seconds, heartbeat, end."""

    def __init__(self, stream: Any = None, every: float = 10.0, heartbeat: float = HEARTBEAT_S) -> None:
        self.stream, self.every, self.heartbeat = stream, every, heartbeat
        self._tasks: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._next = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _say(self, text: str) -> None:
        stream = self.stream or sys.stderr
        stream.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} progress {text}\n")
        stream.flush()

    def _line(self, task: dict[str, Any], now: float) -> str:
        total = f"/{task['total']}" if task["total"] else ""
        elapsed = now - task["start"]
        return (f"{task['description']}: {task['done']}{total} ({elapsed:.0f} s"
                f"{_eta(task['done'], task['total'], elapsed)})")

    def start(self, description: str, total: int | None) -> int:
        with self._lock:
            task_id, self._next = self._next, self._next + 1
            now = time.monotonic()
            self._tasks[task_id] = {"description": description, "total": total, "done": 0, "start": now,
                                    "said": now}
            self._say(f"{description}: started" + (f" ({total} steps)" if total else ""))
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="progress-heartbeat", daemon=True)
                self._thread.start()
        return task_id

    def advance(self, task_id: int, amount: int = 1) -> None:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return
            task["done"] += amount
            now = time.monotonic()
            if now - task["said"] >= self.every:
                task["said"] = now
                self._say(self._line(task, now))

    def finish(self, task_id: int) -> None:
        with self._lock:
            task = self._tasks.pop(task_id, None)
            if task is not None:
                steps = f" {task['done']}/{task['total']}" if task["total"] else ""
                self._say(f"{task['description']}: done{steps} in {time.monotonic() - task['start']:.1f} s")

    def _beat(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                now = time.monotonic()
                for task in self._tasks.values():
                    if now - task["said"] >= self.heartbeat:
                        task["said"] = now
                        self._say(self._line(task, now) + " still running")

    def close(self) -> None:
        self._stop.set()


class BarSink:
    """Progress as rich bars on the shared console (elapsed and remaining time); a finished task
    leaves one line saying how long it took."""

    def __init__(self) -> None:
        self.progress: Any = None

    def _live(self) -> Any:
        if self.progress is None:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                     console=console(), transient=True, speed_estimate_period=3600)
            self.progress.start()
        return self.progress

    def start(self, description: str, total: int | None) -> int:
        return int(self._live().add_task(description, total=total))

    def advance(self, task_id: int, amount: int = 1) -> None:
        self._live().advance(task_id, amount)

    def finish(self, task_id: int) -> None:
        progress = self._live()
        task = next((t for t in progress.tasks if t.id == task_id), None)
        if task is None:
            return
        steps = f" {task.completed:g}/{task.total:g}" if task.total else ""
        progress.console.print(f"{time.strftime('%H:%M:%S')} done{steps} in {task.elapsed or 0:.1f} s: "
                               f"{task.description}", markup=False, highlight=False)
        progress.remove_task(task_id)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def make_sink() -> LineSink | BarSink:
    """Bars on a terminal, timestamped lines elsewhere."""
    return BarSink() if sys.stderr.isatty() else LineSink()
