"""Run hostile input through the CLI entry point or the Python API and classify each call.

One call gives: ``accepted`` (exit 0 / no exception), ``rejected`` (a non-zero exit with exactly one
``error:`` line on stderr / one of the library's one-line errors), ``traceback`` (an exception that
escaped, or a traceback or several lines on stderr), and ``executed`` (an audit event or a file
carrying the corpus's CANARY: any sign that input ran as code). Used in-process by ``run_corpus``
and, as a batch worker, in subprocesses: ``python probe.py BATCH.json OUT.json``.
"""
from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
CANARY = "PWNED_CANARY"
WATCHED = ("exec", "compile", "os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "open",
           "pickle.find_class", "ctypes.dlopen")
executed: list[str] = []


def _audit(event: str, args: tuple) -> None:
    if event.startswith(WATCHED):
        try:
            text = repr(args)
        except Exception:  # noqa: BLE001 - never break the audited call
            return
        if CANARY in text:
            executed.append(event)


sys.addaudithook(_audit)


def classify(call: Callable[[], Any], one_line_errors: tuple[type[BaseException], ...]) -> dict[str, Any]:
    """Time a library call; accepted, rejected (one-line library error) or traceback."""
    before, start = len(executed), time.perf_counter()
    try:
        call()
        outcome, detail = "accepted", ""
    except one_line_errors as exc:
        message = str(exc)
        outcome, detail = ("rejected" if message and "\n" not in message else "traceback"), message[:160]
    except BaseException as exc:  # noqa: BLE001 - this is what is being counted
        outcome, detail = "traceback", f"{type(exc).__name__}: {str(exc)[:160]}"
    return {"outcome": outcome, "detail": detail, "seconds": time.perf_counter() - start,
            "executed": len(executed) - before}


def cli_call(argv: list[str]) -> dict[str, Any]:
    """``metricforge.cli.main(argv)`` with its output captured; classified like a process."""
    from metricforge.cli import main

    err, out = io.StringIO(), io.StringIO()
    before, start = len(executed), time.perf_counter()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # noqa: BLE001 - an escaped exception is a traceback
        return {"outcome": "traceback", "detail": f"{type(exc).__name__}: {str(exc)[:160]}",
                "seconds": time.perf_counter() - start, "executed": len(executed) - before}
    return process_outcome(code, err.getvalue(), time.perf_counter() - start, len(executed) - before)


def process_outcome(code: int, stderr: str, seconds: float, executed_n: int) -> dict[str, Any]:
    """Classify an exit code and stderr: rejected means non-zero and one ``error:``/usage line."""
    lines = [l for l in stderr.splitlines() if l.strip()]
    if "Traceback" in stderr:
        outcome = "traceback"
    elif code == 0:
        outcome = "accepted"
    else:
        errors = [l for l in lines if l.startswith("error:") or l.lstrip("│ ").startswith(("Error", "error"))]
        outcome = "rejected" if len(errors) == 1 else "traceback"
    return {"outcome": outcome, "detail": (lines[-1] if lines else "")[:160], "seconds": seconds, "executed": executed_n,
            "code": code}


def main() -> None:
    """Batch worker: each item is an argv list; results in order."""
    batch, out = Path(sys.argv[1]), Path(sys.argv[2])
    import logging

    logging.disable(logging.CRITICAL)
    results = [cli_call(argv) for argv in json.loads(batch.read_text())]
    out.write_text(json.dumps(results))


if __name__ == "__main__":
    main()
