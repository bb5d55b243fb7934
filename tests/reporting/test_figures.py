"""Study figures: compared panels wrap at three per row and share their quality axis; metrics are
named by built-in name or formula, never by hash; the dense model is a line."""
from __future__ import annotations

from reporting.figures import MAX_COLUMNS, dense_line, metric_label, panel_grid


def test_six_panels_wrap_into_rows_sharing_the_y_axis():
    fig, axes = panel_grid(6)
    assert len(axes) == 6
    rows = {round(ax.get_position().y0, 3) for ax in axes}
    assert len(rows) == 6 // MAX_COLUMNS
    axes[0].plot([0, 1], [0.2, 0.9])
    axes[5].plot([0, 1], [0.5, 0.6])
    assert axes[0].get_ylim() == axes[5].get_ylim()


def test_metrics_are_named_never_by_hash():
    assert metric_label("wanda", "mul(abs(W), X)") == "wanda"
    assert metric_label("0cbc1be13139de1a", "mul(sqr(W), G)") == "mul(sqr(W), G)"
    assert metric_label("727474eb44ded456") == "wanda"  # a bare built-in hash resolves to its name
    assert len(metric_label(None, "add(" * 30 + "W" + ")" * 30, 40)) == 40


def test_dense_model_is_a_dashed_line():
    _, (ax,) = panel_grid(1)
    dense_line(ax, 0.97, spread=0.01)
    (line,) = ax.get_lines()
    assert line.get_label() == "dense" and line.get_linestyle() == "--" and list(line.get_ydata()) == [0.97, 0.97]


def test_granularity_plot_names_formulas_and_wraps(tmp_path):
    from model_compression.granularity.report import plot

    names = ["magnitude", "wanda", "ria", "gblm", "pruner_zero", "0cbc1be13139de1a"]
    rows = [{"metric": m, "hash": m if len(m) == 16 else None, "granularity": "element", "quality_name": "accuracy",
             "dense_quality": 0.98, "ok": True, "quality": 0.9 - s, "actual_sparsity": s, "storage": {"ratio": 1 - s}}
            for m in names for s in (0.5, 0.7)]
    result = {"rows": rows, "metrics": [{"name": names[-1], "text": "mul(sqr(W), G)", "hash": names[-1]}]}
    paths = plot(result, tmp_path)
    assert [p.name for p in paths] == ["quality_vs_sparsity.png", "quality_vs_storage.png"]
    from PIL import Image

    width, height = Image.open(paths[0]).size
    assert width < 3 * height  # two rows of three, not six in a row
