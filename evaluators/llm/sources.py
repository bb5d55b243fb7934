"""The user's own text: local files, folders, JSONL or parquet columns, and Hugging Face datasets.

Source strings (documents keep the order of the file, folder listing or dataset rows):
  text:PATH                     a text file (one document) or a folder (every .txt/.md/.rst/.raw file, sorted)
  jsonl:PATH[#field]            one document per line of a .jsonl (or .jsonl.gz / .json.gz) file; field "text"
  parquet:PATH[#column]         one document per row of a column; column "text"
  hf:PATH[@split][#column]      a dataset written by ``save_to_disk`` (a DatasetDict needs the split)
  hf:NAME[:CONFIG][@split][#column]  a dataset in the local Hugging Face datasets cache (never downloaded)
Empty rows are dropped. Every problem is one FileNotFoundError or ValueError naming the source.
"""
from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

Document = tuple[str, str]  # (stable document id, text)
KINDS = ("text", "jsonl", "parquet", "hf")
TEXT_SUFFIXES = (".txt", ".md", ".rst", ".raw")


def _split_column(spec: str, default: str = "text") -> tuple[str, str]:
    """("path", "column") from "path#column"."""
    path, sep, column = spec.rpartition("#")
    return (path, column) if sep and column else (spec, default)


def _existing(path: str, kind: str) -> Path:
    """The path, or a FileNotFoundError that names the source kind."""
    found = Path(path).expanduser()
    if not path or not found.exists():
        raise FileNotFoundError(f"{kind} source: {found} not found")
    return found


def text_documents(path: str) -> list[Document]:
    """A text file as one document, or every text file under a folder (sorted by path), one each."""
    root = _existing(path, "text")
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"text source: no {'/'.join(TEXT_SUFFIXES)} files under {root}")
    base = root.parent if root.is_file() else root
    return [(f"text/{p.relative_to(base).as_posix()}", p.read_text(encoding="utf-8", errors="replace")) for p in files]


def jsonl_documents(spec: str) -> list[Document]:
    """One document per JSON line (gzip when the name ends in .gz), from a string field."""
    path, field = _split_column(spec)
    file = _existing(path, "jsonl")
    opener = gzip.open if file.suffix == ".gz" else open
    docs: list[Document] = []
    with opener(file, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"jsonl source {file}: line {number} is not JSON ({exc.msg})") from None
            if not isinstance(row, dict) or field not in row:
                raise ValueError(f"jsonl source {file}: line {number} has no field {field!r}")
            text = row[field]
            if isinstance(text, str) and text.strip():
                docs.append((f"jsonl/{file.name}#{number}", text))
    return docs


def _column_documents(rows: Any, column: str, where: str, label: str) -> list[Document]:
    """Documents of a column given as a sequence of values; non-strings are an error."""
    docs = []
    for i, text in enumerate(rows):
        if text is None:
            continue
        if not isinstance(text, str):
            raise ValueError(f"{where}: column {column!r} holds {type(text).__name__}, not text")
        if text.strip():
            docs.append((f"{label}#{i}", text))
    return docs


def parquet_documents(spec: str) -> list[Document]:
    """One document per row of a parquet column."""
    import pyarrow.parquet as pq

    path, column = _split_column(spec)
    file = _existing(path, "parquet")
    try:
        names = pq.read_schema(file).names
    except Exception as exc:  # noqa: BLE001 - any reader error is one line about this file
        raise ValueError(f"parquet source {file}: not a parquet file ({type(exc).__name__})") from None
    if column not in names:
        raise ValueError(f"parquet source {file}: no column {column!r} (columns: {', '.join(names)})")
    rows = pq.read_table(file, columns=[column]).column(column).to_pylist()
    return _column_documents(rows, column, f"parquet source {file}", f"parquet/{file.name}")


def _datasets() -> Any:
    """The `datasets` package switched to offline mode, also when imported before (nothing is ever
    fetched from the hub; a dataset not in the local cache is an error at once, not after retries)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    try:
        import datasets
        from huggingface_hub import constants
    except ImportError:
        raise FileNotFoundError("hf sources need the `datasets` package: pip install 'metricforge[data]'") from None
    constants.HF_HUB_OFFLINE = datasets.config.HF_HUB_OFFLINE = datasets.config.HF_DATASETS_OFFLINE = True
    return datasets


def hf_documents(spec: str) -> list[Document]:
    """Rows of a saved (save_to_disk) dataset folder, or of a dataset in the local datasets cache."""
    rest, column = _split_column(spec)
    name, sep, split = rest.rpartition("@")
    name, split = (name, split) if sep else (rest, "")
    datasets = _datasets()
    if Path(name).expanduser().is_dir():
        data = datasets.load_from_disk(str(Path(name).expanduser()))
        if isinstance(data, datasets.DatasetDict):
            if split not in data:
                raise ValueError(f"hf source {name}: name a split with @SPLIT (splits: {', '.join(data)})")
            data = data[split]
    else:
        dataset, _, config = name.partition(":")
        try:
            data = datasets.load_dataset(dataset, config or None, split=split or "train")
        except Exception as exc:  # noqa: BLE001 - not cached, unknown split, ...: one line
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise FileNotFoundError(f"hf source {name!r}: not a saved dataset folder and not usable from the "
                                    f"local datasets cache ({reason})") from None
    if column not in data.column_names:
        raise ValueError(f"hf source {name}: no column {column!r} (columns: {', '.join(data.column_names)})")
    return _column_documents(data[column], column, f"hf source {name}", f"hf/{Path(name).name}@{split}")


def local_documents(kind: str, spec: str) -> list[Document]:
    """Documents of a local source of one of KINDS."""
    loaders = {"text": text_documents, "jsonl": jsonl_documents, "parquet": parquet_documents, "hf": hf_documents}
    if not spec:
        raise ValueError(f"{kind} source needs a location: {kind}:PATH")
    return loaders[kind](spec)
