"""Render a report in headless chromium (Debian's ``chromium``): the rendered DOM and a screenshot.

Used by the report's tests and by ``benchmarks/report/screenshot.py``; chromium runs with a
throwaway profile and every network feature off, so a page that needed the network would show it.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars")


def chromium() -> str | None:
    """The chromium executable on PATH, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def render(page: Path, screenshot: Path | None = None, size: tuple[int, int] = (1200, 2000),
           timeout_s: float = 120.0) -> str:
    """The DOM chromium builds from ``page`` (and a PNG screenshot of its top, if asked)."""
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="mf-chromium-") as profile:
        args = [exe, *FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}", "--dump-dom"]
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            args.append(f"--screenshot={screenshot.resolve()}")
        done = subprocess.run([*args, page.resolve().as_uri()], capture_output=True, text=True,
                              timeout=timeout_s, check=False)
    if done.returncode != 0 or "<html" not in done.stdout:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    return done.stdout
