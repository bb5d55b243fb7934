"""The study's arms beyond the plain methods: settings tuned on validation (tuned[_MODEL].json from tune.py)
and CAFE with an evolved importance formula."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evaluators.embedding.cafe.methods import MethodOptions
from model_compression.cafe.variants import Variant

HERE = Path(__file__).resolve().parent


def tuned_path(model: str) -> Path:
    """Where tune.py writes the chosen settings of a model."""
    return HERE / ("tuned.json" if model == "deepfm" else f"tuned_{model}.json")


def load_tuned(model: str) -> dict[str, Any]:
    """The tuning record of a model; FileNotFoundError telling how to make it."""
    path = tuned_path(model)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run benchmarks/cafe/tune.py --model {model} first")
    return json.loads(path.read_text())


def per_ratio(tuned: dict[str, Any], method: str, importance: str = "grad-norm") -> tuple[tuple[float, MethodOptions], ...]:
    """The chosen options of a method at each tuned ratio, with the given importance source."""
    out = []
    for ratio, chosen in tuned["chosen"].items():
        got = chosen.get(method)
        if got is not None:
            out.append((float(ratio), MethodOptions(got["threshold"], got["hot_fraction"], importance,
                                                    got.get("decay_every"))))
    return tuple(out)


def parse_evolved(values: list[str] | None) -> dict[str, str]:
    """``--evolved`` values as {label: reference}: ``REF`` is labelled cafe-evolved, ``LABEL=REF`` keeps its label."""
    out = {}
    for value in values or []:
        label, sep, ref = value.partition("=")
        label, ref = (label.strip(), ref.strip()) if sep else ("cafe-evolved", value.strip())
        if label in out:
            raise ValueError(f"--evolved label {label!r} given twice")
        out[label] = ref
    return out


def arms(model: str, tuned: bool, evolved: dict[str, str]) -> tuple[Variant, ...]:
    """frequency-tuned and cafe-tuned (with --tuned), then CAFE with each evolved importance {label: formula}
    (with the tuned settings of each ratio when --tuned)."""
    record = load_tuned(model) if tuned else None
    out: list[Variant] = []
    if record is not None:
        out += [Variant("frequency-tuned", "frequency", per_ratio=per_ratio(record, "frequency")),
                Variant("cafe-tuned", "cafe", per_ratio=per_ratio(record, "cafe"))]
    for label, formula in evolved.items():
        pairs = per_ratio(record, "cafe", formula) if record is not None else ()
        out.append(Variant(label, "cafe", MethodOptions(importance=formula), pairs))
    return tuple(out)


def tuning_protocol(model: str) -> list[str]:
    """Markdown lines stating how a model's tuned arms were chosen."""
    record = load_tuned(model)
    grid = record["grid"]
    lines = [f"Tuning ({model}): on the VALIDATION split of seeds {', '.join(map(str, record['tuning_seeds']))} "
             "(disjoint from the reported seeds), per ratio, the hot fraction x T of the grid "
             f"{list(grid['hot_fraction'])} x {list(grid['threshold'])} with the highest mean validation AUC "
             "(CAFE's coupled decay), then sketch decay periods decoupled from T "
             f"{list(grid['decay_every'])} at that setting, kept only when better; the frequency baseline's "
             "hot fraction on the same grid. Test AUC was never read while tuning "
             f"(`benchmarks/cafe/tune.py --model {model}`, {tuned_path(model).name}). Chosen:", ""]
    for ratio, c in record["chosen"].items():
        cafe, freq = c.get("cafe") or {}, c.get("frequency") or {}
        lines.append(f"- ratio {ratio}: cafe-tuned hot {cafe.get('hot_fraction')}, T {cafe.get('threshold')}, "
                     f"decay every {cafe.get('decay_every') or '10 x B x T'} (valid AUC "
                     f"{cafe.get('valid_auc', float('nan')):.4f}); frequency-tuned hot {freq.get('hot_fraction')} "
                     f"({freq.get('valid_auc', float('nan')):.4f}); hash {c['hash_valid_auc']:.4f}")
    return lines + [""]


def evolved_protocol(evolved: dict[str, str], refs: dict[str, str], tuned: bool) -> list[str]:
    """Markdown lines naming each evolved importance and where it came from."""
    lines = []
    for label, formula in evolved.items():
        ref = refs.get(label)
        lines += [f"{label}: importance `{formula}`" + (f" (registry `{ref}`)" if ref and ref != formula else "")
                  + (", with the cafe-tuned settings of each ratio" if tuned else "")
                  + "; evolved by `metricforge search --task embedding-importance` (benchmarks/cafe/search*.md).", ""]
    return lines
