"""A cnn-prune task trained for a few epochs in a temporary cache, shared by the module's tests."""
from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def cnn_task(tmp_path_factory: pytest.TempPathFactory):
    """A prepared CNNPruneTask (3 training epochs, 64 calibration images) in its own cache folder."""
    cache = tmp_path_factory.mktemp("cnn-cache")
    old = os.environ.get("METRICFORGE_CACHE")
    os.environ["METRICFORGE_CACHE"] = str(cache)
    try:
        from evaluators.cnn.task import CNNPruneTask

        task = CNNPruneTask(sparsity=0.5, epochs=3, calib_samples=64, operands=("W", "G", "X", "Xs", "Y", "Hd"))
        task.prepare()
    finally:
        if old is None:
            os.environ.pop("METRICFORGE_CACHE", None)
        else:
            os.environ["METRICFORGE_CACHE"] = old
    return task
