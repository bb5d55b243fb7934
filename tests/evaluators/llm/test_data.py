"""Corpora and token windows: non-overlapping, seeded, disjoint calibration/evaluation text."""
from __future__ import annotations

import pytest
import torch

from evaluators.llm.corpora import PYTHON_DOCS, load_documents
from evaluators.llm.data import WindowSpec, select_windows, split_disjoint


def test_windows_are_non_overlapping_and_drop_the_remainder():
    ids = torch.arange(1000)
    every = select_windows(ids, WindowSpec("x", 64, None))
    assert every.shape == (15, 64) and torch.equal(every.flatten(), ids[:960])
    first = select_windows(ids, WindowSpec("x", 64, 4, select="first"))
    assert torch.equal(first, every[:4])


def test_seeded_windows_are_reproducible_and_depend_on_the_seed():
    ids = torch.arange(10_000)
    a = select_windows(ids, WindowSpec("x", 100, 8, seed=0))
    assert torch.equal(a, select_windows(ids, WindowSpec("x", 100, 8, seed=0)))
    assert not torch.equal(a, select_windows(ids, WindowSpec("x", 100, 8, seed=1)))
    starts = a[:, 0]
    assert (starts % 100 == 0).all() and (starts.diff() > 0).all()  # whole windows, in text order


def test_too_short_text_is_a_clear_error():
    with pytest.raises(ValueError, match="fewer than one window"):
        select_windows(torch.arange(10), WindowSpec("x", 64, 1))


def test_same_source_is_split_into_disjoint_documents():
    docs = [(f"d{i}", f"text {i}") for i in range(10)]
    calib, evaluation = split_disjoint(docs, docs, seed=3)
    assert {d[0] for d in calib}.isdisjoint({d[0] for d in evaluation})
    assert len(calib) + len(evaluation) == 10
    assert split_disjoint(docs, docs, seed=3) == (calib, evaluation)


def test_overlapping_sources_drop_the_evaluation_documents_from_calibration():
    docs = [(f"d{i}", "t") for i in range(10)]
    calib, evaluation = split_disjoint(docs, docs[:3], seed=0)
    assert evaluation == docs[:3] and calib == docs[3:]
    with pytest.raises(ValueError, match="entirely inside"):
        split_disjoint(docs[:3], docs, seed=0)


def test_unknown_source_is_named():
    with pytest.raises(ValueError, match="unknown text source 'wikitext'"):
        load_documents("wikitext")


@pytest.mark.skipif(not PYTHON_DOCS.is_dir(), reason="python3.11-doc not installed")
def test_python_docs_subset():
    docs = load_documents("python-docs:tutorial")
    assert docs and all(d[0].startswith("python-docs/tutorial/") for d in docs)
    with pytest.raises(FileNotFoundError, match="python3.11-doc"):
        load_documents("python-docs:no-such-folder")
