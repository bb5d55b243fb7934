"""Small synthetic CTR data and a tiny DeepFM for fast lottery-ticket tests."""
import pytest

from evaluators.recsys.data import make_splits
from evaluators.recsys.models import ModelConfig
from evaluators.recsys.synthetic import synthetic_table
from evaluators.recsys.train import TrainConfig

TINY = ModelConfig("deepfm", emb_dim=4, hidden=(16, 8))


@pytest.fixture(scope="session")
def data():
    return make_splits(synthetic_table(rows=1500, seed=0), "random", "multi", seed=0, calib_rows=256)


@pytest.fixture
def tiny():
    return TINY


@pytest.fixture
def train_cfg():
    return TrainConfig(epochs=2, batch_size=128, lr=1e-2, seed=0)
