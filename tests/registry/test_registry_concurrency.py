"""Several processes writing to one registry at once lose nothing."""
from __future__ import annotations

import multiprocessing as mp

from registry_workers import FORMULAS, write_evaluations

from registry import Registry, settings_key

WORKERS, EACH = 4, 200
SETTINGS = {"task": "llm-prune", "model": "tiny", "sparsity": 0.5, "budget": "eval=1tok"}


def test_four_processes_write_800_evaluations(registry_url):
    # no Registry is open in the parent: the children race to create and migrate the schema too
    ctx = mp.get_context("spawn")
    with ctx.Pool(WORKERS) as pool:
        done = pool.starmap(write_evaluations,
                            [(registry_url, w, EACH, SETTINGS) for w in range(WORKERS)])
    assert done == [EACH] * WORKERS
    with Registry.open(registry_url) as reg:
        groups = reg.settings_groups("llm-prune")
        assert [(g.settings_key, g.evaluations) for g in groups] == [
            (settings_key(SETTINGS), WORKERS * EACH)]
        assert len(reg.list_metrics(limit=None)) == len(FORMULAS)
        assert len(reg.scored_hashes(settings_key(SETTINGS))) == len(FORMULAS)
        board = reg.best("llm-prune", direction="max", limit=None)
        assert sum(e.evaluations for e in board) == WORKERS * EACH
        assert board[0].score == (WORKERS - 1) * 1000 + EACH - 1
