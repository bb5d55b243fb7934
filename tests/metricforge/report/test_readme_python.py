"""The README's "From Python" section runs as written."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def from_python_code() -> str:
    """The python block of the README's "## From Python" section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## From Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the section holds one python block"
    return blocks[0]


def test_from_python_section_runs(tmp_path):
    script = tmp_path / "from_python.py"
    script.write_text(from_python_code(), encoding="utf-8")  # the repository's own README, not outside input
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    env.setdefault("METRICFORGE_CACHE", str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "0.5" in done.stdout and "wanda" in done.stdout
    run = tmp_path / "runs" / "from-python"
    for name in ("history.csv", "fitness.png", "pareto.png", "equations.csv"):
        assert (run / "results" / name).exists(), name
    assert (run / "report.html").exists()
