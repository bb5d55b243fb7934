"""One group grammar: the element groups of evaluators.masks are the same masks through
evaluators.granularity, and every task takes the granularity text the grammar defines."""
from __future__ import annotations

import pytest
import torch

from evaluators.granularity import keep_masks, parse_granularity, parse_structure
from evaluators.masks import global_keep_masks, keep_mask


@pytest.mark.parametrize("group, sparsity", [("row", 0.5), ("layer", 0.3), ("2:4", 0.5), ("global", 0.6)])
@pytest.mark.parametrize("ties", [False, True])
def test_element_groups_give_the_masks_of_evaluators_masks(group: str, sparsity: float, ties: bool) -> None:
    gen = torch.Generator().manual_seed(1)
    scores = {f"l{i}": torch.randint(0, 4, (8, 16), generator=gen).float() if ties else torch.randn(8, 16, generator=gen)
              for i in range(3)}
    direct = (global_keep_masks(scores, sparsity) if group == "global"
              else {n: keep_mask(s, sparsity, group) for n, s in scores.items()})
    through_grammar = keep_masks(scores, sparsity, group)
    assert all(torch.equal(direct[n], through_grammar[n]) for n in scores)


def test_row_means_one_thing() -> None:
    """``row`` is the per-row comparison of single weights; a whole row is ``filter`` or ``neuron``."""
    assert str(parse_structure("row")) == "row" and parse_structure("row").granularity.kind == "element"
    assert parse_granularity("neuron").kind == parse_granularity("filter").kind == "filter"
    with pytest.raises(ValueError, match="unknown granularity"):
        parse_granularity("row")


def test_mlp_prune_takes_every_granularity() -> None:
    from evaluators.digits.task import MLPPruneTask

    for group in ("row", "2:4", "filter", "vector:4@row", "block:4@global"):
        task = MLPPruneTask(sparsity=0.5, group=group)
        assert task.settings()["granularity"] == str(parse_structure(group))
    with pytest.raises(ValueError, match="unknown granularity"):
        MLPPruneTask(group="rows")
