"""Run the real ``metricforge`` command in a subprocess against a temporary registry."""
import subprocess
import sys
from dataclasses import dataclass

import pytest


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(tmp_path):
    db = tmp_path / "registry.db"

    def run(*args: str, stdin: str | None = None, registry: bool = True, timeout: float = 120) -> Result:
        argv = [sys.executable, "-m", "metricforge.cli", *args]
        if registry and args and args[0] == "registry":
            argv += ["--registry", str(db)]
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout, cwd=tmp_path)
        return Result(done.returncode, done.stdout, done.stderr)

    run.db = db
    return run
