"""The README's report screenshot: a short mlp-prune search, its winners re-checked, the page
rendered in headless chromium.

    python benchmarks/report/screenshot.py [--out docs/report.png]

Search: mlp-prune (digits MLP 64-128-64-10, 90% per row), population 24, 5 generations, seed 0,
float32 on CPU; the top three are re-checked at 80% sparsity and per layer. Everything lives in a
temporary folder except the screenshot.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import metricforge as mf  # noqa: E402
from metricforge.report import browser, write_report  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report.png")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mf-report-"))
    db = str(work / "registry.db")
    result = mf.search(task="mlp-prune", population=24, generations=5, seed=0, sparsity=0.9, group="row",
                       run_dir=work / "runs" / "mlp-prune-demo", registry=db)
    for options in ({"sparsity": 0.8, "group": "row"}, {"sparsity": 0.9, "group": "layer"}):
        mf.evaluate(result.best[:3], task="mlp-prune", registry=db, **options)
    page = write_report(result.run_dir, db)
    dom = browser.render(page, args.out, size=(1200, 1500))
    assert dom.count("data:image/png;base64,") == 2 and 'class="dataframe equations"' in dom
    print(f"{page}\n{args.out}")


if __name__ == "__main__":
    main()
