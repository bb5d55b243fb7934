"""Held-out validation of llm-prune metrics on a tiny random Llama and real text: the settings chosen
away from the search's, registry evaluations under their own keys, reuse, the verdict, the CLI and
the search's [validate] table."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from evaluators.heldout import HeldOutPlan, level_options
from evaluators.llm.corpora import PYTHON_DOCS
from evaluators.llm.heldout import held_out_groups, held_out_sources, overlaps
from evaluators.llm.task import LLMPruneTask
from gp_engine.heldout import validate
from primitives.builtins import builtin
from registry.store import Registry

from .tiny import tiny_model_folder

pytestmark = pytest.mark.skipif(not PYTHON_DOCS.is_dir(), reason="python3.11-doc not installed")


@pytest.fixture(scope="module")
def options(tmp_path_factory):
    root = tmp_path_factory.mktemp("heldout")
    return {"model": tiny_model_folder(root / "model"), "calib_source": "fortunes:wisdom", "calib_windows": 2,
            "calib_length": 32, "eval_tokens": 128, "eval_length": 32, "dtype": "float32", "device": "cpu",
            "cache_dir": str(root / "cache")}


def test_held_out_sources_avoid_every_text_the_search_used():
    assert overlaps("python-docs", "python-docs:howto") and not overlaps("python-docs:howto", "python-docs:library")
    base = {"calib_source": "reviews,python-docs:howto", "eval_source": "python-docs:tutorial"}
    calib, evaluation = held_out_sources(base, HeldOutPlan())
    assert calib == ["python-docs:library"] and evaluation == ["python-docs:reference"]
    with pytest.raises(ValueError, match="not held out: the search used 'python-docs:howto'"):
        held_out_sources(base, HeldOutPlan(calib_sources=("python-docs",)))
    groups = held_out_groups(base, HeldOutPlan(levels=("0.6", "2:4")))
    assert [label for label, _ in groups] == [
        "calib python-docs:library, eval python-docs:reference, 60% row",
        "calib python-docs:library, eval python-docs:reference, 2:4"]
    assert groups[1][1]["group"] == "2:4" and groups[0][1]["sparsity"] == 0.6


def test_held_out_sources_avoid_every_text_of_an_evaluation_set():
    base = {"calib_source": "reviews", "eval_source": "python-docs:tutorial,python-docs:howto"}
    with pytest.raises(ValueError, match="not held out: the search used 'python-docs:howto'"):
        held_out_sources(base, HeldOutPlan(eval_sources=("python-docs:howto",)))
    calib, evaluation = held_out_sources(base, HeldOutPlan())
    assert "python-docs:howto" not in [*calib, *evaluation] and "python-docs:tutorial" not in [*calib, *evaluation]


def test_plan_refuses_bad_levels_and_seeds():
    assert level_options("2:4") == {"group": "2:4"} and level_options("0.7") == {"sparsity": 0.7, "group": "row"}
    for bad in ({"levels": ("x",)}, {"levels": ("1.2",)}, {"levels": ("2:4:8",)}, {"seeds": ()}, {"seeds": (1, 1)},
                {"levels": ()}):
        with pytest.raises(ValueError):
            HeldOutPlan(**bad)


def test_validation_records_each_setting_under_its_own_key_reuses_it_and_gives_a_verdict(options, tmp_path):
    task = LLMPruneTask(**options)
    plan = HeldOutPlan(seeds=(0, 1), levels=("0.5", "2:4"))
    held = task.held_out(plan)
    assert [(h.label, h.seed) for h in held] == [
        ("calib python-docs:howto, eval python-docs:library, 50% row", 0),
        ("calib python-docs:howto, eval python-docs:library, 50% row", 1),
        ("calib python-docs:howto, eval python-docs:library, 2:4", 0),
        ("calib python-docs:howto, eval python-docs:library, 2:4", 1)]
    magnitude, wanda = builtin("magnitude"), builtin("wanda")
    with Registry.open(str(tmp_path / "r.db")) as reg:
        result = validate(task, [magnitude], plan, reg, wanda)
        assert len(result.scores) == 8 and not any(s.reused for s in result.scores)
        keys = {s.settings_key for s in result.scores}
        assert len(keys) == 4  # one registry key per setting and seed
        rows = reg.evaluations(magnitude.hash)
        assert len(rows) == 4 and {r.settings["calib_source"] for r in rows} == {"python-docs:howto"}
        assert {r.settings["eval_source"] for r in rows} == {"python-docs:library"}
        assert {(r.settings["calib_seed"], r.settings["group"]) for r in rows} == {
            (0, "row"), (1, "row"), (0, "2:4"), (1, "2:4")}
        again = validate(task, [magnitude], plan, reg, wanda)
        assert all(s.reused for s in again.scores) and len(reg.evaluations(magnitude.hash)) == 4
    ratio, log_se, pairs = result.versus_baseline(magnitude.hash)
    mine, base = result.values(magnitude.hash), result.values(wanda.hash)
    assert pairs == 4 and ratio == pytest.approx(math.exp(sum(math.log(mine[k] / base[k]) for k in mine) / 4))
    assert result.beats_baseline(magnitude.hash) == (ratio < 1)
    summary = {row["hash"]: row for row in result.summary()}
    assert summary[wanda.hash]["beats_baseline"] is None and summary[magnitude.hash]["failed"] == 0
    mean, se, n = summary[magnitude.hash]["calib python-docs:howto, eval python-docs:library, 2:4"]
    assert n == 2 and mean == pytest.approx((mine[(held[2].label, 0)] + mine[(held[2].label, 1)]) / 2)
    text = result.markdown()
    assert "magnitude" in text and ("does not beat wanda" in text or "beats wanda" in text)


def test_validate_command_and_a_search_with_a_validate_table(options, tmp_path):
    opts = [arg for key, value in options.items() for arg in ("-o", f"{key}={json.dumps(value)}")]
    db = tmp_path / "r.db"
    done = subprocess.run([sys.executable, "-m", "metricforge.cli", "validate", "magnitude", *opts, "--seeds", "0",
                           "--levels", "0.5", "-r", str(db), "--out", str(tmp_path / "v"), "--json"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["settings"] == ["calib python-docs:howto, eval python-docs:library, 50% row"]
    assert (tmp_path / "v" / "validation.md").is_file() and len(data["scores"]) == 2
    bad = subprocess.run([sys.executable, "-m", "metricforge.cli", "validate", "magnitude", *opts,
                          "--calib-source", "fortunes", "-r", str(db)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "not held out: the search used 'fortunes:wisdom'" in bad.stderr.strip().splitlines()[-1]

    from gp_engine.config import SearchConfig
    from gp_engine.loop import Search

    cfg = SearchConfig(task="llm-prune", task_options=dict(options), population=4, generations=0, seed=1,
                       seed_builtins=True, validate={"top": 2, "seeds": [0], "levels": ["0.6"]})
    with Search(cfg, tmp_path / "run", registry=str(db)) as search:
        result = search.run()
    assert result.validation is not None and (tmp_path / "run" / "results" / "validation.md").is_file()
    best = {e.hash for e in result.hall_of_fame[:2]}
    assert set(result.validation.names) == best | {builtin("wanda").hash, builtin("magnitude").hash}
    assert result.validation.labels() == ["calib python-docs:howto, eval python-docs:library, 60% row"]
    rerun = subprocess.run([sys.executable, "-m", "metricforge.cli", "validate", "--run", str(tmp_path / "run"),
                            "--top", "2", "--seeds", "0", "--levels", "0.6", "-r", str(db), "--json"],
                           capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert all(score["reused"] for score in json.loads(rerun.stdout)["scores"])  # every score from the registry
    page = (tmp_path / "run" / "report.html").read_text()
    assert "Held-out validation" in page and 'class="dataframe validation"' in page
