"""The user's own text (files, folders, JSONL, parquet, saved and cached HF datasets) and the presets."""
from __future__ import annotations

import gzip
import json
import shutil

import pytest

from evaluators.llm.corpora import load_documents

DOCS = ["The first document.", "A second one, longer than the first.", "Third."]


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and text
    return text


def test_text_file_and_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    for i, text in enumerate(DOCS):
        (tmp_path / ("sub" if i == 2 else ".") / f"d{i}.txt").write_text(text)
    (tmp_path / "skip.bin").write_bytes(b"\x00\x01")
    docs = load_documents(f"text:{tmp_path}")
    assert [t for _, t in docs] == DOCS and docs[2][0] == "text/sub/d2.txt"
    assert load_documents(f"text:{tmp_path / 'd1.txt'}") == [("text/d1.txt", DOCS[1])]


@pytest.mark.parametrize("gz", [False, True])
def test_jsonl_field(tmp_path, gz):
    path = tmp_path / ("data.jsonl.gz" if gz else "data.jsonl")
    lines = "".join(json.dumps({"body": t, "n": i}) + "\n" for i, t in enumerate(DOCS + [""]))
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(lines)
    else:
        path.write_text(lines)
    assert [t for _, t in load_documents(f"jsonl:{path}#body")] == DOCS
    with pytest.raises(ValueError, match="no field 'text'") as exc:
        load_documents(f"jsonl:{path}")
    one_line(exc)


def test_parquet_column(tmp_path):
    import pandas as pd

    path = tmp_path / "data.parquet"
    pd.DataFrame({"text": DOCS, "n": [1, 2, 3]}).to_parquet(path)
    assert [t for _, t in load_documents(f"parquet:{path}")] == DOCS
    with pytest.raises(ValueError, match="no column 'body'") as exc:
        load_documents(f"parquet:{path}#body")
    one_line(exc)
    with pytest.raises(ValueError, match="holds int"):
        load_documents(f"parquet:{path}#n")


def test_saved_dataset_and_dataset_dict(tmp_path):
    datasets = pytest.importorskip("datasets")
    single = datasets.Dataset.from_dict({"text": DOCS})
    single.save_to_disk(str(tmp_path / "one"))
    assert [t for _, t in load_documents(f"hf:{tmp_path / 'one'}")] == DOCS
    both = datasets.DatasetDict({"train": single, "test": datasets.Dataset.from_dict({"text": ["held out"]})})
    both.save_to_disk(str(tmp_path / "two"))
    assert [t for _, t in load_documents(f"hf:{tmp_path / 'two'}@test")] == ["held out"]
    with pytest.raises(ValueError, match="name a split") as exc:
        load_documents(f"hf:{tmp_path / 'two'}")
    one_line(exc)


def write_cached_wikitext(cache, rows, split="test"):
    """A WikiText-2 raw split laid out as the datasets library caches a hub dataset."""
    import datasets

    saved = cache.parent / "saved-for-cache"
    data = datasets.Dataset.from_dict({"text": rows})
    data.save_to_disk(str(saved))
    folder = cache / "Salesforce___wikitext" / "wikitext-2-raw-v1" / "0.0.0" / "0123abcd"
    folder.mkdir(parents=True)
    shutil.copy(next(saved.glob("*.arrow")), folder / f"wikitext-{split}.arrow")
    info = data.info
    info.config_name, info.dataset_name = "wikitext-2-raw-v1", "wikitext"
    info.splits = datasets.SplitDict({split: datasets.SplitInfo(split, num_examples=len(rows), dataset_name="wikitext")})
    info.write_to_directory(str(folder))


@pytest.fixture
def datasets_cache(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    cache = tmp_path / "hf-datasets"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    monkeypatch.setenv("METRICFORGE_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "no-hub"))
    return cache


def test_dataset_from_the_local_cache(datasets_cache):
    rows = [" = Title = \n", "", " Some text . \n"]
    write_cached_wikitext(datasets_cache, rows)
    assert [t for _, t in load_documents("hf:Salesforce/wikitext:wikitext-2-raw-v1@test")] == [rows[0], rows[2]]
    with pytest.raises(FileNotFoundError, match="not usable from the local datasets cache") as exc:
        load_documents("hf:nobody/nothing@test")
    one_line(exc)


def test_wikitext2_preset_joins_rows_as_the_papers_do(datasets_cache, tmp_path, monkeypatch):
    rows = [" = Title = \n", "", " Some text . \n"]
    write_cached_wikitext(datasets_cache, rows)
    assert load_documents("wikitext2") == [("wikitext2/test", "\n\n".join(rows))]
    raw = tmp_path / "data" / "wikitext-2-raw"
    raw.mkdir(parents=True)
    (raw / "wiki.test.raw").write_text(" = Title = \n \n Some text . \n")
    monkeypatch.setenv("METRICFORGE_DATA", str(tmp_path / "data"))
    assert load_documents("wikitext2:test") == [("wikitext2/test", "\n\n".join(rows))]


def test_presets_say_what_is_missing(datasets_cache, tmp_path):
    with pytest.raises(FileNotFoundError) as exc:
        load_documents("wikitext2:validation")
    text = one_line(exc)
    assert "wiki.valid.raw" in text and "Salesforce/wikitext" in text
    with pytest.raises(FileNotFoundError) as exc:
        load_documents("c4")
    text = one_line(exc)
    assert "c4-train.00000-of-01024.json.gz" in text and str(tmp_path / "no-data" / "c4") in text


def test_c4_preset_reads_the_shard(tmp_path, monkeypatch):
    folder = tmp_path / "c4"
    folder.mkdir()
    with gzip.open(folder / "c4-train.00000-of-01024.json.gz", "wt", encoding="utf-8") as f:
        for text in DOCS:
            f.write(json.dumps({"text": text, "url": "u", "timestamp": "t"}) + "\n")
    monkeypatch.setenv("METRICFORGE_DATA", str(tmp_path))
    docs = load_documents("c4")
    assert [t for _, t in docs] == DOCS and docs[0][0] == "c4/train/1"


@pytest.mark.parametrize("source, word", [
    ("text:/no/such/folder", "not found"), ("jsonl:", "needs a location"), ("parquet:/nope.parquet", "not found"),
    ("wikitext3", "unknown text source"), ("c4:test", "splits train, validation"),
])
def test_bad_sources_are_one_line(source, word):
    with pytest.raises((FileNotFoundError, ValueError), match=word) as exc:
        load_documents(source)
    one_line(exc)


def test_bad_files_are_one_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\nnot json\n')
    with pytest.raises(ValueError, match="line 2 is not JSON") as exc:
        load_documents(f"jsonl:{bad}")
    one_line(exc)
    with pytest.raises(ValueError, match="not a parquet file") as exc:
        load_documents(f"parquet:{bad}")
    one_line(exc)
