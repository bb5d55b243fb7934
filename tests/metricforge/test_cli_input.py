"""Bad input to the command line: one ``error:`` line naming the key, the value and what is allowed,
exit code 2, no traceback, and no run folder left behind by a start that failed."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON_TERMS = ("__init__", "TypeError", "not supported between", "Traceback")


def one_error(result, *needles: str) -> str:
    lines = [line for line in result.err.splitlines() if line.strip() and " INFO " not in line and " progress " not in line]
    assert result.code == 2, result.err
    assert not any(term in result.err for term in PYTHON_TERMS), result.err
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("line, needles", [
    ('seed = "abc"', ("seed", "'abc'", "an integer")),
    ("population = 6.5", ("population", "6.5", "an integer")),
    ("generations = 1.5", ("generations", "1.5", "an integer")),
    ('seed_builtins = "no"', ("seed_builtins", "'no'", "true or false")),
    ("populaton = 4", ("populaton", "did you mean 'population'")),
    ("population = 1", ("population", "1", "at least 2")),
    ("cxpb = 1.5", ("cxpb", "1.5", "[0, 1]")),
    ('map = "cluster"', ("map", "'cluster'", "inprocess, pool, ray")),
    ("[task_options]\nsparsty = 0.5", ("sparsty", "did you mean 'sparsity'", "mlp-prune option")),
    ('[task_options]\nsparsity = "half"', ("sparsity", "'half'", "a number")),
    ("[task_options]\nepochs = true", ("epochs", "True", "an integer")),
])
def test_config_values_name_key_value_and_what_is_allowed(cli, tmp_path, line, needles):
    (tmp_path / "c.toml").write_text(f'task = "mlp-prune"\n{line}\n')
    one_error(cli("search", "--config", "c.toml"), *needles)
    assert not (tmp_path / "runs").exists()


def test_task_options_on_the_command_line_are_checked_the_same_way(cli, tmp_path):
    one_error(cli("search", "--task", "mlp-prune", "-o", "sparsity=lots"), "sparsity", "'lots'", "a number")
    one_error(cli("search", "--task", "mlp-prune", "-o", "eval_fractoin=0.5"), "did you mean 'eval_fraction'")
    assert not (tmp_path / "runs").exists()


def test_option_without_equals_is_a_usage_error(cli):
    done = cli("search", "--task", "mlp-prune", "-o", "sparsity")
    assert done.code == 2 and done.err.startswith("Usage: metricforge search")
    assert "error: Invalid value for '-o' / '--option': expected KEY=VALUE, got 'sparsity'" in done.err


def test_missing_config_file(cli):
    one_error(cli("search", "--config", "nope.toml"), "config file nope.toml does not exist")
    one_error(cli("converge", "--task", "mlp-prune", "--config", "nope.toml"), "nope.toml does not exist")


def test_runs_dir_that_refuses_writes(cli, tmp_path):
    if os.geteuid() == 0:  # root writes through permission bits: /sys refuses new folders
        runs = "/sys/metricforge-runs"
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
        runs = str(locked / "runs")
    one_error(cli("search", "--task", "mlp-prune", "--population", "4", "--generations", "0", "--runs-dir", runs),
              runs.split("/")[1])


def test_model_folder_with_corrupt_config_fails_cleanly_and_leaves_no_run(cli, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama", broken')
    one_error(cli("prune", "wanda", "--out", "pruned", "-o", f"model={model}", "-r", "r.db", timeout=300),
              "config.json", "not a valid JSON")
    one_error(cli("search", "--task", "llm-prune", "-o", f"model={model}", "--population", "4",
                  "--generations", "0", "--runs-dir", "runs", "-r", "r.db", timeout=300), "not a valid JSON")
    assert not (tmp_path / "pruned").exists() and list((tmp_path / "runs").glob("*")) == []


def test_ray_map_without_ray_names_the_extra_and_leaves_no_run(tmp_path):
    fake = tmp_path / "fake"
    (fake / "ray").mkdir(parents=True)
    (fake / "ray" / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    env = {**os.environ, "PYTHONPATH": f"{fake}{os.pathsep}{ROOT}"}
    done = subprocess.run([sys.executable, "-m", "metricforge.cli", "search", "--task", "mlp-prune", "--map", "ray",
                           "--population", "4", "--generations", "0", "-r", "r.db"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(errors) == 1 and "pip install -e '.[ray]'" in errors[0]
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []


def test_a_formula_starting_with_a_dash_goes_after_double_dash(cli):
    passed = cli("parse", "--", "-W")
    assert passed.code == 2 and "unexpected character '-' at position 0" in passed.err  # the parser saw it
    assert cli("parse", "--", "mul(W, X)").code == 0


def test_run_folders_are_written_with_the_umask(tmp_path):
    done = subprocess.run([sys.executable, "-m", "metricforge.cli", "search", "--task", "mlp-prune",
                           "--population", "4", "--generations", "0", "-r", "r.db", "--run", "shared"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, preexec_fn=lambda: os.umask(0o022))
    assert done.returncode == 0, done.stderr
    files = [p for p in (tmp_path / "runs" / "shared").rglob("*") if p.is_file()]
    assert {"config.json", "checkpoint.json", "search.log"} <= {p.name for p in files}
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {"0o644"}


def test_study_options_are_checked_against_the_study_settings(cli, tmp_path):
    one_error(cli("lth", "-o", "rewind_stp=20", "--out", "lth"), "lth setting", "did you mean 'rewind_step'")
    one_error(cli("cafe", "-o", "max_steps=abc", "--out", "cafe"), "max_steps", "'abc'", "an integer")
    one_error(cli("granularity", "--task", "llm-prune", "-o", "calib_windws=4", "--out", "g"),
              "did you mean 'calib_windows'")
    assert not any((tmp_path / name).exists() for name in ("lth", "cafe", "g"))


def test_fidelity_rungs_are_checked_in_one_line(cli, tmp_path):
    allowed = "'proxy' (optional, first) then increasing fractions in (0, 1)"
    one_error(cli("search", "--task", "mlp-prune", "--fidelity", "0.25,proxy"), "fidelity", allowed)
    one_error(cli("search", "--task", "mlp-prune", "--fidelity", "proxy,half"), "fidelity", "'half'", allowed)
    (tmp_path / "c.toml").write_text('task = "mlp-prune"\nfidelity = ["proxy", 0.5, 0.25]\n')
    one_error(cli("search", "--config", "c.toml"), "fidelity", allowed)
    one_error(cli("search", "--task", "mlp-prune", "--fidelity", "proxy,0.25", "--population", "4",
                  "--generations", "0", "-r", "r.db"), "task 'mlp-prune' has no proxy fitness")
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []
