"""Compressed embeddings (full, hash, QR, frequency, CAFE): drop-in shapes, hashing, budgets, migration, training."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from evaluators.recsys.models import DLRM, DeepFM, FieldEmbeddings
from evaluators.embedding.cafe import (CAFEEmbedding, FieldLayout, FrequencyEmbedding, FullEmbedding, HashEmbedding,
                                    QREmbedding, SeededHash, grad_norm_importance)
from evaluators.embedding.cafe.compressed import qr_rows

ML_FIELDS = ("user_id", "item_id", "age", "gender", "occupation", "zip", "year", "genre")
ML_CARDS = (944, 1683, 8, 3, 22, 112, 12, 20)  # MovieLens-100k, genres="first"
LAYOUTS = {  # name -> (fields, cardinalities, bag_cardinality)
    "movielens": (ML_FIELDS, ML_CARDS, 0),
    "movielens-multi": (ML_FIELDS[:-1], ML_CARDS[:-1], 20),
    "large": (("a", "b"), (600_000, 400_000), 0),
}
RATIOS = (0.5, 0.1, 0.02, 0.01)


def counts_for(layout: tuple) -> torch.Tensor:
    """Zipf-like occurrence counts of every global id of a layout."""
    n = FieldLayout(*layout).num_features
    return torch.from_numpy(np.random.default_rng(0).zipf(1.5, size=n).clip(max=10**6)) - 1


def build(cls, layout: tuple, dim: int = 16, ratio: float = 0.5, **kw):
    """One module of each kind for a layout (frequency counts made up when not given)."""
    if cls is FullEmbedding:
        return cls(*layout, dim)
    if cls is FrequencyEmbedding and "counts" not in kw:
        kw["counts"] = counts_for(layout)
    return cls(*layout, dim, ratio=ratio, **kw)


KINDS = [FullEmbedding, HashEmbedding, QREmbedding, FrequencyEmbedding, CAFEEmbedding]


@pytest.mark.parametrize("cls", KINDS)
def test_shapes_match_field_embeddings(cls, data):
    layout = (data.fields, data.cardinalities, data.bag_cardinality)
    batch = data.train.take(slice(0, 64))
    want = FieldEmbeddings(*layout, 4, 0.05)(batch.x, batch.bag)
    module = build(cls, layout, dim=4, ratio=0.5)
    assert module(batch.x, batch.bag).shape == want.shape and module.count == 4
    plain = build(cls, (data.fields, data.cardinalities, 0), dim=4, ratio=0.5)
    assert plain(batch.x, batch.bag[:, :0]).shape == (64, 3, 4)
    assert module.lookup(torch.tensor([[0, 5], [7, 90]])).shape == (2, 2, 4)


def test_full_embedding_equals_field_embeddings_with_the_same_weights(data):
    layout = (data.fields, data.cardinalities, data.bag_cardinality)
    reference, full = FieldEmbeddings(*layout, 4, 0.05), FullEmbedding(*layout, 4)
    with torch.no_grad():
        full.table.weight.copy_(torch.cat([*(t.weight for t in reference.tables.values()), reference.bag.weight]))
    batch = data.train.take(slice(0, 200))
    assert torch.allclose(full(batch.x, batch.bag), reference(batch.x, batch.bag), atol=1e-7)


def test_hashing_is_seeded_and_deterministic():
    ids = torch.arange(0, 2**40, 2**40 // 5000)
    a, b, c = SeededHash(97, 3), SeededHash(97, 3), SeededHash(97, 4)
    assert torch.equal(a(ids), b(ids)) and not torch.equal(a(ids), c(ids))
    assert int(a(ids).min()) >= 0 and int(a(ids).max()) < 97
    assert len(torch.unique(a(ids))) == 97  # spreads over every row
    layout = LAYOUTS["movielens"]
    torch.manual_seed(0)
    one = HashEmbedding(*layout, 8, ratio=0.1, seed=5)
    torch.manual_seed(0)
    two = HashEmbedding(*layout, 8, ratio=0.1, seed=5)
    ids = torch.arange(one.num_features)
    assert torch.equal(one.lookup(ids), two.lookup(ids))
    assert not torch.equal(one.hash(ids), HashEmbedding(*layout, 8, ratio=0.1, seed=6).hash(ids))


@pytest.mark.parametrize("ratio", [0.5, 0.1, 0.05])
def test_qr_pairs_are_unique_so_embeddings_are_distinct(ratio):
    module = QREmbedding(*LAYOUTS["movielens"], 8, ratio=ratio)
    ids, r = torch.arange(module.num_features), module.remainder_rows
    assert len(torch.unique(torch.stack([ids // r, ids % r], 1), dim=0)) == module.num_features
    assert module.quotient.num_embeddings == -(-module.num_features // r)
    assert len(torch.unique(module.lookup(ids), dim=0)) == module.num_features


def test_qr_rows_is_the_largest_remainder_that_fits():
    for features, rows in [(2804, 106), (2804, 700), (10, 11), (1, 2), (100, 20)]:
        r = qr_rows(features, rows)
        assert -(-features // r) + r <= rows and (r == features or -(-features // (r + 1)) + r + 1 > rows)
    with pytest.raises(ValueError, match="at least 20 for 100"):
        qr_rows(100, 19)


def test_frequency_gives_the_top_k_ids_own_rows(data):
    layout = FieldLayout(data.fields, data.cardinalities, data.bag_cardinality)
    counts = layout.counts(data.train.x, data.train.bag)
    module = FrequencyEmbedding(data.fields, data.cardinalities, data.bag_cardinality, 4, ratio=0.5,
                                counts=counts, hot_rows=8)
    top = torch.argsort(counts, descending=True, stable=True)[:8]
    rows = module.hot_row(top)
    assert bool((rows >= 0).all()) and len(set(rows.tolist())) == 8
    rest = torch.tensor(sorted(set(range(layout.num_features)) - set(top.tolist())))
    assert bool((module.hot_row(rest) == -1).all())
    assert torch.equal(module.lookup(top), module.hot.weight[rows])
    assert torch.equal(module.lookup(rest), module.table.weight[module.hash(rest)])
    auto = FrequencyEmbedding(*LAYOUTS["movielens"], 16, ratio=0.1, counts=counts_for(LAYOUTS["movielens"]))
    assert auto.hot.num_embeddings == int(0.5 * auto.budget_floats) // 18  # half the budget, id included


def small_cafe(**kw) -> CAFEEmbedding:
    """A CAFE table of 1000 ids with threshold 1 and no decay unless asked."""
    kw = {"ratio": 0.2, "threshold": 1.0, "decay_every": 1e9, **kw}
    return CAFEEmbedding(("f",), (1000,), 0, 8, **kw)


@pytest.mark.parametrize("multi_level", [False, True])
def test_cafe_migration_keeps_the_embedding_value(multi_level):
    module = small_cafe(multi_level=multi_level, sketch_slots_per_row=8)
    ids = torch.arange(0, 1000, 50)
    module.update_importance(ids, torch.full((ids.numel(),), 0.5))  # medium (>= 0.2), not hot
    if multi_level:
        assert bool(module.is_medium(ids).all())
        shared = module.table(module.hash(ids)) + module.medium(module.medium_hash(ids))
        assert torch.equal(module.lookup(ids), shared)
    ids = torch.cat([ids, torch.tensor([999])])  # 999 is cold: promoted without passing the medium level
    before = module.lookup(ids).detach().clone()
    report = module.update_importance(ids[-6:], torch.tensor([0.75] * 5 + [2.0]))
    assert sorted(report.promoted_ids.tolist()) == ids[-6:].tolist()
    assert bool((module.sketch.query(ids[-6:]) >= 0).all())
    assert torch.equal(module.lookup(ids).detach(), before)  # nothing moved, promoted ids included
    position = {int(i): k for k, i in enumerate(ids)}
    for i, row in zip(report.promoted_ids.tolist(), report.promoted_rows.tolist()):
        assert torch.equal(module.hot.weight[row], before[position[i]])


def test_cafe_evicted_rows_are_freed_and_reused():
    module = small_cafe(decay=0.5, decay_every=10.0)
    a, b = torch.tensor([3]), torch.tensor([500])
    rep = module.update_importance(a, torch.tensor([1.0]))
    assert rep.promoted_ids.tolist() == [3] and rep.promoted_rows.tolist() == [0]
    with torch.no_grad():
        module.hot.weight[0] += 1.0  # trained away from its hash value
    b_before = module.lookup(b).detach().clone()
    rep = module.update_importance(b, torch.tensor([9.5]))  # 10.5 inserted: one decay halves a to 0.5
    assert rep.evicted_ids.tolist() == [3] and rep.evicted_rows.tolist() == [0]
    assert rep.promoted_ids.tolist() == [500] and rep.promoted_rows.tolist() == [0]  # the freed row reused
    assert torch.equal(module.lookup(b), b_before)
    assert torch.equal(module.lookup(a), module.shared(a))  # back on its hash row
    assert module.migrated_rows.tolist() == [0]
    rep = module.update_importance(torch.tensor([7]), torch.tensor([9.5]))  # one more decay: 500 at 2.375 stays
    assert rep.decays == 1 and module.sketch.query(b).item() == 0 and rep.evicted_ids.numel() == 0
    module = small_cafe(decay=0.5, decay_every=2.0)
    module.update_importance(a, torch.tensor([1.5]))
    rep = module.update_importance(torch.tensor([9]), torch.tensor([0.5]))  # decay: a at 1.0 * 0.5 evicted
    assert rep.evicted_rows.tolist() == [0] and rep.promoted_ids.numel() == 0
    assert bool(module.sketch.free[0]) and bool((module.hot.weight[0] == 0).all())


def test_reused_hot_row_keeps_its_copied_value_through_an_adam_step():
    for reset in (True, False):
        module = small_cafe(decay=0.5, decay_every=10.0)
        optimizer = torch.optim.Adam(module.parameters(), lr=0.1)
        a, b, c = torch.tensor([3]), torch.tensor([500]), torch.tensor([7])  # c stays hot throughout
        module.update_importance(torch.cat([a, c]), torch.tensor([1.0, 5.0]))  # c row 0, a row 1
        for _ in range(3):  # a's hot row gathers Adam moments
            optimizer.zero_grad()
            module.lookup(torch.cat([a, c])).sum().backward()
            optimizer.step()
        optimizer.zero_grad()
        module.lookup(torch.cat([b, c])).sum().backward()  # the hot table has a gradient (c's)
        rep = module.update_importance(b, torch.tensor([9.5]))  # a evicted, b takes its row 1
        assert rep.evicted_rows.tolist() == [1] == rep.promoted_rows.tolist()
        if reset:
            module.reset_optimizer_rows(optimizer)
        copied = module.hot.weight[1].detach().clone()
        optimizer.step()
        assert torch.equal(module.hot.weight[1], copied) == reset  # a's moments would move b's fresh row


@pytest.mark.parametrize("name", list(LAYOUTS))
@pytest.mark.parametrize("cls", KINDS[1:])
def test_memory_never_exceeds_the_budget(cls, name):
    layout, full_floats = LAYOUTS[name], FieldLayout(*LAYOUTS[name]).num_features * 16
    kws = [{}, {"multi_level": True}] if cls is CAFEEmbedding else [{}]
    for ratio in RATIOS:
        for kw in kws:
            budget = int(full_floats * ratio)
            if cls is QREmbedding and budget // 16 < 2 * np.sqrt(full_floats // 16):
                with pytest.raises(ValueError, match="too small for quotient-remainder"):
                    build(cls, layout, ratio=ratio)
                continue
            module = build(cls, layout, ratio=ratio, **kw)
            assert module.budget_floats == budget
            assert module.memory_floats() <= budget and module.memory_bytes() <= 4 * budget
            assert module.memory_floats() >= 0.9 * budget or budget < 500  # the budget is used
            if cls is CAFEEmbedding:
                ids = torch.randint(0, module.num_features, (4096,))
                module.update_importance(ids, torch.full((4096,), 500.0))
                assert len(module.hot_ids()) > 0 and module.memory_floats() <= budget


def test_grad_norm_importance_equals_a_hand_computation():
    emb = torch.zeros(2, 2, 3, requires_grad=True)
    weights = torch.tensor([[[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]], [[1.0, 2.0, 2.0], [0.0, 0.0, 0.0]]])
    (emb * weights).sum().backward()
    norms = torch.tensor([5.0, 1.0, 3.0, 0.0])
    assert torch.allclose(grad_norm_importance(emb), norms / norms.mean())
    valid = torch.tensor([[True, True], [True, False]])
    assert torch.allclose(grad_norm_importance(emb, valid), torch.tensor([5.0, 1.0, 3.0]) / 3.0)
    zero = torch.zeros(2, 3, requires_grad=True)
    (zero * 0).sum().backward()
    assert torch.equal(grad_norm_importance(zero), torch.zeros(2))
    with pytest.raises(ValueError, match="retain_grad"):
        grad_norm_importance(torch.zeros(2, 3))


def test_cafe_default_scores_are_the_normalised_gradient_norms(data):
    layout = (data.fields, data.cardinalities, data.bag_cardinality)
    batch = data.train.take(slice(0, 32))
    one, two = (CAFEEmbedding(*layout, 4, ratio=0.5, threshold=1e6, seed=1) for _ in range(2))
    out = one(batch.x, batch.bag)
    (out * torch.randn_like(out)).sum().backward()
    ids, valid = FieldLayout(*layout).global_ids(batch.x, batch.bag)
    norms = one._last.emb.grad.norm(dim=-1)[valid]
    one.update_importance()
    two.update_importance(ids[valid], norms / norms.mean())
    assert torch.equal(one.sketch.ids, two.sketch.ids) and torch.allclose(one.sketch.scores, two.sketch.scores)
    assert (valid.sum() < valid.numel()) and one._last is None  # bag padding was left out


@pytest.mark.parametrize("model_cls", [DeepFM, DLRM])
def test_short_training_makes_features_hot(model_cls, data, tiny):
    torch.manual_seed(0)
    model = model_cls(tiny, data.fields, data.cardinalities, data.bag_cardinality, len(data.dense_names))
    model.embeddings = emb = CAFEEmbedding(data.fields, data.cardinalities, data.bag_cardinality, tiny.emb_dim,
                                           ratio=0.5, threshold=20.0, multi_level=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    promoted = 0
    for step, batch in enumerate(data.train.batches(128)):
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(*batch.inputs()), batch.y)
        loss.backward()
        report = emb.update_importance()
        emb.reset_optimizer_rows(optimizer)
        copied = emb.hot.weight[report.promoted_rows].detach().clone()
        optimizer.step()
        assert torch.equal(emb.hot.weight[report.promoted_rows], copied)  # Adam left fresh rows alone
        promoted += report.promoted_ids.numel()
        assert bool(torch.isfinite(loss))
        if step == 8:
            break
    assert promoted > 0 and len(emb.hot_ids()) > 0
    assert set(model.embedding_tables()) >= {"embeddings.hot", "embeddings.table"}
    with torch.no_grad():
        assert model(*data.test.inputs()).shape == (len(data.test),) and emb._last is None


@pytest.mark.parametrize("cls", KINDS[1:])
@pytest.mark.parametrize("ratio", [0, 0.0, 1.5, -0.1, True, float("nan")])
def test_bad_ratio_raises(cls, ratio):
    with pytest.raises(ValueError, match="ratio"):
        build(cls, LAYOUTS["movielens"], ratio=ratio)


@pytest.mark.parametrize("cls", KINDS)
def test_bad_ids_raise(cls, data):
    module = build(cls, (data.fields, data.cardinalities, data.bag_cardinality), dim=4)
    batch = data.train.take(slice(0, 4))
    with pytest.raises(ValueError, match=">= 0"):
        module.lookup(torch.tensor([1, -2]))
    x = batch.x.clone()
    x[1, 2] = -1
    with pytest.raises(ValueError, match=">= 0"):
        module(x, batch.bag)
    with pytest.raises(ValueError, match="out of range"):
        module(batch.x + 50, batch.bag)
    with pytest.raises(ValueError, match="out of range"):
        module.lookup(torch.tensor([module.num_features]))
    with pytest.raises(ValueError, match="integer"):
        module.lookup(torch.tensor([0.5]))


@pytest.mark.parametrize("cls", KINDS[1:])
def test_budget_too_small_raises(cls):
    with pytest.raises(ValueError, match="too small"):
        build(cls, (("f",), (10,), 0), dim=16, ratio=0.05)  # 8 floats: not one row
    one_row = (("f",), (100,), 0)  # ratio 0.015: 24 floats, one row of 16
    if cls in (QREmbedding, CAFEEmbedding):  # two tables, or hot rows + sketch + hash rows
        with pytest.raises(ValueError, match="too small"):
            build(cls, one_row, dim=16, ratio=0.015)
    else:
        assert build(cls, one_row, dim=16, ratio=0.015).memory_floats() <= 24
