"""The literature's texts, read from local copies only: WikiText-2 raw (perplexity) and C4 (calibration).

Wanda and SparseGPT evaluate on WikiText-2 raw test text joined as "\\n\\n".join(rows) (empty rows
included) and calibrate on random 512-token spans of documents of the first C4 English training
shard. Nothing is downloaded: each preset looks in a fixed list of places and, when none holds the
files, says exactly which paths it tried and what to put there.

  wikitext2[:test|validation|train]  $METRICFORGE_DATA/wikitext-2-raw/wiki.<split>.raw (the original
                                     release), a save_to_disk folder $METRICFORGE_DATA/wikitext-2-raw-v1,
                                     or the local datasets cache (Salesforce/wikitext, wikitext-2-raw-v1)
  c4[:train|validation]              c4-train.00000-of-01024.json.gz (c4-validation.00000-of-00008.json.gz)
                                     in $METRICFORGE_DATA/c4 or in the Hugging Face hub cache (allenai/c4)
$METRICFORGE_DATA defaults to <metricforge cache>/data.
"""
from __future__ import annotations

import os
from pathlib import Path

from .model import cache_dir
from .sources import Document, hf_documents, jsonl_documents

PRESETS = ("wikitext2", "c4")
WIKITEXT_SPLITS = ("test", "validation", "train")
WIKITEXT_RAW = {"test": "wiki.test.raw", "validation": "wiki.valid.raw", "train": "wiki.train.raw"}
C4_FILES = {"train": "c4-train.00000-of-01024.json.gz", "validation": "c4-validation.00000-of-00008.json.gz"}


def data_dir() -> Path:
    """Where local copies of public datasets live: $METRICFORGE_DATA or <cache>/data."""
    return Path(os.environ.get("METRICFORGE_DATA") or cache_dir() / "data")


def _hub_cache() -> Path:
    """The Hugging Face hub cache folder (HF_HUB_CACHE, HF_HOME/hub or ~/.cache/huggingface/hub)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    return Path(home) / "hub"


def _wikitext(split: str) -> list[Document]:
    """WikiText-2 raw rows of a split joined as the papers join them, as one document."""
    if split not in WIKITEXT_SPLITS:
        raise ValueError(f"wikitext2 has splits {', '.join(WIKITEXT_SPLITS)}, not {split!r}")
    raw = data_dir() / "wikitext-2-raw" / WIKITEXT_RAW[split]
    saved = data_dir() / "wikitext-2-raw-v1"
    tried = [str(raw), f"{saved} (save_to_disk)"]
    if raw.is_file():  # the dataset's rows: the file's lines, newline kept, blank lines as ""
        rows = [line if line.strip() else "" for line in raw.read_text(encoding="utf-8").splitlines(keepends=True)]
    elif saved.is_dir():
        rows = [text for _, text in hf_documents(f"{saved}@{split}")]
    else:
        rows = None
        for name in ("Salesforce/wikitext", "wikitext"):
            tried.append(f"datasets cache {name}:wikitext-2-raw-v1@{split}")
            try:
                rows = _cached_rows(name, split)
                break
            except FileNotFoundError:
                continue
        if rows is None:
            raise FileNotFoundError(f"wikitext2 ({split}) not found locally; looked at: {'; '.join(tried)}")
    return [(f"wikitext2/{split}", "\n\n".join(rows))]


def _cached_rows(name: str, split: str) -> list[str]:
    """Every row (empty ones too) of WikiText-2 raw from the local datasets cache."""
    from .sources import _datasets

    datasets = _datasets()
    try:
        data = datasets.load_dataset(name, "wikitext-2-raw-v1", split=split)
    except Exception as exc:  # noqa: BLE001 - not cached: the caller tries the next place
        raise FileNotFoundError(str(exc)) from None
    return list(data["text"])


def _c4(split: str) -> list[Document]:
    """Documents of the first C4 English shard of a split (gzip JSON lines, field "text")."""
    if split not in C4_FILES:
        raise ValueError(f"c4 has splits {', '.join(C4_FILES)}, not {split!r}")
    name = C4_FILES[split]
    places = [data_dir() / "c4" / name, data_dir() / "c4" / "en" / name]
    places += sorted((_hub_cache() / "datasets--allenai--c4" / "snapshots").glob(f"*/en/{name}"))
    for path in places:
        if path.is_file():
            return [(f"c4/{split}/{doc_id.rpartition('#')[2]}", text) for doc_id, text in jsonl_documents(str(path))]
    where = "; ".join(str(p) for p in places[:2]) + f"; {_hub_cache()}/datasets--allenai--c4/snapshots/*/en/{name}"
    raise FileNotFoundError(f"c4 ({split}) not found locally: put allenai/c4 en/{name} at one of: {where}")


def preset_documents(name: str, split: str) -> list[Document]:
    """Documents of a preset ("wikitext2" or "c4") and split ("" for its default)."""
    if name == "wikitext2":
        return _wikitext(split or "test")
    return _c4(split or "train")
