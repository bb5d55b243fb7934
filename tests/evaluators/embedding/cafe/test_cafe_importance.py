"""CAFE importance from metric formulas: operands by hand, equality with the built-in grad-norm, failures,
registry look-up, and the sketch saved in the module's state_dict."""
from __future__ import annotations

import pytest
import torch

from evaluators.recsys.models import DeepFM
from evaluators.recsys.train import TrainConfig, bce_loss, train
from evaluators.embedding.cafe import CAFEEmbedding, CAFEStepHook, FieldLayout, ImportanceError, grad_norm_importance
from evaluators.embedding.cafe.metric_importance import MetricImportance, check_importance, resolve_importance
from evaluators.embedding.cafe.occurrence import Recency

TRAIN = TrainConfig(epochs=1, batch_size=128, lr=1e-2, seed=0)


def cafe_model(data, tiny, seed: int = 0, **kw) -> tuple[DeepFM, CAFEEmbedding]:
    """A tiny DeepFM whose embeddings are CAFE at ratio 0.5 (threshold 5 unless given)."""
    torch.manual_seed(seed)
    model = DeepFM(tiny, data.fields, data.cardinalities, data.bag_cardinality, len(data.dense_names))
    kw = {"ratio": 0.5, "threshold": 5.0, "seed": seed, **kw}
    model.embeddings = emb = CAFEEmbedding(data.fields, data.cardinalities, data.bag_cardinality, tiny.emb_dim, **kw)
    return model, emb


def one_backward(model, data, rows: int = 64):
    """Forward and backward of the first rows of the training split; returns the batch."""
    batch = data.train.take(slice(0, rows))
    model.zero_grad(set_to_none=True)
    bce_loss(model(*batch.inputs()), batch).backward()
    return batch


def test_grad_norm_formula_equals_the_built_in(data, tiny):
    model, emb = cafe_model(data, tiny)
    one_backward(model, data)
    lookup = emb.last_lookup
    built_in = grad_norm_importance(lookup.emb, lookup.valid)
    assert torch.allclose(MetricImportance("gnorm", emb.num_features)(lookup), built_in, rtol=1e-6, atol=0)
    runs = []
    for source in ("grad-norm", "gnorm"):  # a whole short training, sketch state compared at the end
        model, emb = cafe_model(data, tiny)
        hook = CAFEStepHook(emb, source)
        train(model, data.train, TRAIN, before_step=hook, max_steps=6)
        runs.append((emb.hot_ids().sort().values, emb.sketch.scores.clone(), hook.promotions))
    assert torch.equal(runs[0][0], runs[1][0]) and runs[0][2] == runs[1][2] > 0
    assert torch.allclose(runs[0][1], runs[1][1], rtol=1e-5)


def test_every_operand_by_hand(data, tiny):
    model, emb = cafe_model(data, tiny)
    counts = FieldLayout(data.fields, data.cardinalities, data.bag_cardinality).counts(data.train.x, data.train.bag)
    batch = one_backward(model, data)
    lookup = emb.last_lookup
    grad, vec = lookup.emb.grad[lookup.valid], lookup.emb.detach()[lookup.valid]
    prob = torch.sigmoid(model(*batch.inputs()).detach())
    rows = lookup.valid.nonzero()[:, 0]
    expected = {"enorm": vec.norm(dim=-1), "gdot": (grad * vec).sum(-1).abs(), "freq": counts[lookup.ids].float(),
                "perr": (prob - batch.y).abs()[rows], "recency": torch.unique(lookup.ids, return_inverse=True,
                                                                               return_counts=True)[2].float()}
    expected["recency"] = expected["recency"][torch.unique(lookup.ids, return_inverse=True)[1]]
    for name, want in expected.items():
        one_backward(model, data)  # a fresh forward (perr needs the model's output of it)
        scorer = MetricImportance(name, emb.num_features, model=model, counts=counts)
        if name == "perr":
            one_backward(model, data)
        got = scorer(emb.last_lookup)
        assert torch.allclose(got, want / want.mean(), rtol=1e-4, atol=1e-6), name
        scorer.close()


def test_recency_decays_per_step_and_adds_occurrences():
    rec = Recency(5, decay=0.5)
    assert rec.update(torch.tensor([1, 1, 2])).tolist() == [2.0, 2.0, 1.0]
    rec.update(torch.tensor([3]))
    assert rec.update(torch.tensor([1, 4])).tolist() == [2.0 * 0.25 + 1, 1.0]


@pytest.mark.parametrize("formula, match", [("mul(W, gnorm)", "unknown operand"), ("add(1, 2)", "no operand"),
                                            ("sub(gnorm, gnorm)", "no operand"), ("hessian", "unknown operand")])
def test_bad_formulas_are_refused_before_training(formula, match):
    with pytest.raises(ValueError, match=match):
        check_importance(formula)


def test_non_finite_scores_raise_and_negative_scores_count_by_magnitude(data, tiny):
    model, emb = cafe_model(data, tiny)
    one_backward(model, data)
    with pytest.raises(ImportanceError, match="non-finite"):
        MetricImportance("sqr(exp(mul(gnorm, 100)))", emb.num_features)(emb.last_lookup)
    neg, pos = (MetricImportance(f, emb.num_features)(emb.last_lookup) for f in ("neg(gnorm)", "gnorm"))
    assert torch.allclose(neg, pos)


def test_constant_and_stateful_operands_need_their_inputs(data, tiny):
    model, emb = cafe_model(data, tiny)
    with pytest.raises(ValueError, match="freq needs"):
        CAFEStepHook(emb, "freq")
    with pytest.raises(ValueError, match="perr needs"):
        CAFEStepHook(emb, "perr")
    hook = CAFEStepHook(emb, "tanh(mul(freq, 1000))", counts=torch.ones(emb.num_features))
    train(model, data.train, TRAIN, before_step=hook, max_steps=3)
    assert hook.constant_steps == hook.steps == 3


def test_registry_names_resolve_to_their_formula(tmp_path):
    from primitives.metric import Metric
    from registry import Registry

    with Registry.open(tmp_path / "r.db") as reg:
        row = reg.add_metric(Metric.parse("mul(gnorm, sqrt(enorm))"), name="evolved-importance")
        assert resolve_importance("evolved-importance", reg) == row.text
        assert resolve_importance(row.hash[:8], reg) == row.text
        assert resolve_importance("grad-norm", reg) == "grad-norm"
        with pytest.raises(ValueError, match="not in the registry"):
            resolve_importance("no-such-metric", reg)


def test_state_dict_keeps_the_sketch_and_hot_mapping(data, tiny):
    model, emb = cafe_model(data, tiny, threshold=2.0)
    train(model, data.train, TRAIN, before_step=CAFEStepHook(emb, "mul(gnorm, enorm)"), max_steps=5)
    state = model.state_dict()
    assert {"embeddings.sketch_ids", "embeddings.sketch_scores", "embeddings.sketch_hot",
            "embeddings.sketch_since_decay"} <= set(state) and len(emb.hot_ids()) > 0
    again, emb2 = cafe_model(data, tiny, threshold=2.0)  # same seed: same hash functions
    assert len(emb2.hot_ids()) == 0
    again.load_state_dict(state)
    assert torch.equal(emb2.hot_ids(), emb.hot_ids()) and torch.equal(emb2.sketch.scores, emb.sketch.scores)
    batch = data.test.take(slice(0, 200))
    with torch.no_grad():
        assert torch.equal(again(*batch.inputs()), model(*batch.inputs()))
    emb2.to(torch.device("cpu"))  # .to() keeps the sketch on the module's buffers
    emb2.update_importance(emb.hot_ids(), torch.full((len(emb.hot_ids()),), 3.0))
    assert torch.equal(emb2.sketch_scores, emb2.sketch.scores) and not torch.equal(emb2.sketch_scores, emb.sketch.scores)
