"""Granularity and task-group text forms."""
from __future__ import annotations

import pytest

from evaluators.granularity import Granularity, parse_granularity, parse_structure


@pytest.mark.parametrize("text,kind,a,b,canonical", [
    ("element", "element", 0, 0, "element"), ("Unstructured", "element", 0, 0, "element"),
    ("vector:4", "vector", 1, 4, "vector:4"), ("1x3", "vector", 1, 3, "vector:3"), ("vector", "vector", 0, 0, "vector"),
    ("block:4", "block", 4, 4, "block:4"), ("block:2x8", "block", 2, 8, "block:2x8"), ("4x4", "block", 4, 4, "block:4"),
    ("kernel", "kernel", 0, 0, "kernel"), ("kernel:3", "block", 3, 3, "block:3"),
    ("filter", "filter", 0, 0, "filter"), ("neuron", "filter", 0, 0, "filter"),
    ("head:64", "head", 64, 0, "head:64"), ("2:4", "nm", 2, 4, "2:4"), (" 4 : 8 ", "nm", 4, 8, "4:8"),
])
def test_parse_granularity(text: str, kind: str, a: int, b: int, canonical: str) -> None:
    gran = parse_granularity(text)
    assert gran == Granularity(kind, a, b)
    assert str(gran) == canonical and parse_granularity(canonical) == gran


@pytest.mark.parametrize("bad", ["", "vectors", "vector:0", "block:0", "head", "head:4x4", "4:2", "0:4", "2:2", 3, None])
def test_bad_granularities_raise_value_error(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_granularity(bad)  # type: ignore[arg-type]


def test_dims_follow_mao_et_al() -> None:
    dims = {t: parse_granularity(t).dims for t in ("element", "vector", "2:4", "kernel", "block:4", "filter", "head:8")}
    assert dims == {"element": 0, "vector": 1, "2:4": 1, "kernel": 2, "block:4": 2, "filter": 3, "head:8": 3}


@pytest.mark.parametrize("text,gran,scope,canonical", [
    ("row", "element", "row", "row"), ("layer", "element", "layer", "layer"), ("global", "element", "global", "global"),
    ("2:4", "2:4", "layer", "2:4"), ("vector:4", "vector:4", "layer", "vector:4"),
    ("vector:4@row", "vector:4", "row", "vector:4@row"), ("element@global", "element", "global", "global"),
    ("neuron", "filter", "layer", "filter"), ("head:64@global", "head:64", "global", "head:64@global"),
])
def test_parse_structure_keeps_masks_groups(text: str, gran: str, scope: str, canonical: str) -> None:
    structure = parse_structure(text, aggregate="L1")
    assert str(structure.granularity) == gran and structure.scope == scope and structure.aggregate == "l1"
    assert str(structure) == canonical and parse_structure(canonical) == parse_structure(text)


@pytest.mark.parametrize("bad", ["vector:4@rows", "2:4@row", "filter@", "x"])
def test_bad_structures(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_structure(bad)


def test_bad_aggregate() -> None:
    with pytest.raises(ValueError, match="aggregate"):
        parse_structure("vector:4", aggregate="median")


@pytest.mark.parametrize("group,view", [("row", (6, 1, 16)), ("2:4", (6, 4, 4)), ("layer", (1, 1, 96)),
                                        ("vector:4@row", (1, 1, 96))])
def test_group_range_is_each_comparison_groups_min_and_max(group: str, view: tuple[int, int, int]) -> None:
    import torch

    scores = torch.randn(6, 16)
    scores[1, 3] = float("nan")
    low, high = parse_structure(group).group_range(scores)
    groups = scores.reshape(view)
    expected_low, expected_high = torch.aminmax(groups, dim=2)
    assert torch.equal(low.reshape(-1).nan_to_num(), expected_low.reshape(-1).nan_to_num())
    assert torch.equal(high.reshape(-1).nan_to_num(), expected_high.reshape(-1).nan_to_num())
    assert low.reshape(-1).isnan().any() and high.reshape(-1).isnan().any()  # NaN reaches the failure check
