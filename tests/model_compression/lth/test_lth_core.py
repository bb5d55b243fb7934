"""Masks survive Adam, rewinding is exact, the schedule lands on its targets, KD matches its formula."""
import math

import pytest
import torch

from evaluators.recsys.cache import snapshot
from evaluators.recsys.dense import fit_dense, fresh_model
from evaluators.recsys.pruning import MaskEnforcer, apply_masks
from evaluators.recsys.train import train
from model_compression.lth.distill import KDLoss, kd_loss
from model_compression.lth.imp import full_masks, imp_levels, load_state, next_masks, prunable_layers
from model_compression.lth.schedule import level_schedule
from primitives.builtins import builtin
from primitives.compile import compile_metric

MAGNITUDE = compile_metric(builtin("magnitude"))


def half_masks(layers):
    return {n: torch.rand_like(m.weight) > 0.5 for n, m in layers.items()}


def test_mask_survives_adam_steps_and_regrows_without_it(data, train_cfg, tiny):
    torch.manual_seed(0)
    for enforce in (True, False):
        model = fresh_model(tiny, data, 0)
        layers = prunable_layers(model)
        masks = half_masks(layers)
        apply_masks(layers, masks)
        hook = MaskEnforcer(layers, masks) if enforce else None
        train(model, data.train, train_cfg, after_step=hook, max_steps=15)
        regrown = sum(int((m.weight[~masks[n]] != 0).sum()) for n, m in layers.items())
        if enforce:
            assert regrown == 0
        else:
            assert regrown > 0  # the pitfall the enforcer exists for: Adam's momentum moves zeroed weights


def test_snapshot_at_step_k_is_deterministic(data, train_cfg, tiny):
    k = 7
    _, snaps = fit_dense(data, tiny, train_cfg, snapshot_steps=(0, k))
    again = fresh_model(tiny, data, train_cfg.seed)
    assert all(torch.equal(v, snaps[0][n]) for n, v in again.state_dict().items())
    train(again, data.train, train_cfg, max_steps=k)
    assert all(torch.equal(v, snaps[k][n]) for n, v in again.state_dict().items())


def test_rewinding_restores_exact_values(data, train_cfg, tiny):
    k = 5
    model, snaps = fit_dense(data, tiny, train_cfg, snapshot_steps=(k,))
    trained = snapshot(model)
    layers = prunable_layers(model)
    masks = next_masks(model, layers, full_masks(layers), MAGNITUDE, 0.6, "global", data)
    load_state(model, snaps[k])
    MaskEnforcer(layers, masks)
    for name, value in model.state_dict().items():
        layer = name.rsplit(".", 1)[0]
        expected = snaps[k][name] * masks[layer] if layer in masks and name.endswith("weight") else snaps[k][name]
        assert torch.equal(value, expected), name
    assert not torch.equal(trained["mlp.0.weight"], snaps[k]["mlp.0.weight"])


def test_imp_levels_are_nested_and_exact(data, train_cfg, tiny):
    model, snaps = fit_dense(data, tiny, train_cfg, snapshot_steps=(3,))
    schedule = level_schedule([0.5, 0.8], 0.4)
    previous = None
    levels = list(imp_levels(model, snapshot(model), snaps[3], MAGNITUDE, schedule, data, train_cfg, 3))
    assert [lv.sparsity for lv in levels] == schedule
    for level in levels:
        total = sum(m.numel() for m in level.masks.values())
        kept = sum(int(m.sum()) for m in level.masks.values())
        assert 1 - kept / total == pytest.approx(level.sparsity, abs=1 / total)
        if previous is not None:
            assert all(bool((level.masks[n] <= previous[n]).all()) for n in previous)  # pruned stays pruned
        for name, mask in level.masks.items():
            assert torch.count_nonzero(level.state[f"{name}.weight"][~mask]) == 0
        previous = level.masks


def test_level_schedule_hits_targets_with_bounded_steps():
    levels = level_schedule([0.95, 0.5, 0.8, 0.9], 0.2)
    assert {0.5, 0.8, 0.9, 0.95} <= set(levels) and levels == sorted(levels) and levels[-1] == 0.95
    remaining = 1.0
    for s in levels:
        assert (remaining - (1 - s)) / remaining <= 0.2 + 1e-9
        remaining = 1 - s
    assert level_schedule([0.2]) == [0.2] and len(level_schedule([0.5])) == 4
    with pytest.raises(ValueError):
        level_schedule([1.0])


def test_kd_loss_equals_its_formula():
    s = torch.tensor([0.5, -1.0, 2.0, 0.0])
    t = torch.tensor([1.0, 0.0, -0.5, 3.0])
    y = torch.tensor([1.0, 0.0, 1.0, 0.0])
    alpha, temp = 0.3, 2.0
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    hard = -sum(yi * math.log(sig(si)) + (1 - yi) * math.log(1 - sig(si)) for si, yi in zip(s.tolist(), y.tolist())) / 4
    soft = -sum(sig(ti / temp) * math.log(sig(si / temp)) + (1 - sig(ti / temp)) * math.log(1 - sig(si / temp))
                for si, ti in zip(s.tolist(), t.tolist())) / 4
    expected = (1 - alpha) * hard + alpha * temp ** 2 * soft
    assert kd_loss(s, t, y, alpha, temp).item() == pytest.approx(expected, rel=1e-6)
    assert kd_loss(s, t, y, 0.0, temp).item() == pytest.approx(hard, rel=1e-6)
    with pytest.raises(ValueError):
        kd_loss(s, t, y, 1.5)


def test_kd_loss_gradient_flows_to_student_only(data, tiny):
    teacher, student = fresh_model(tiny, data, 1), fresh_model(tiny, data, 2)
    loss_fn = KDLoss(teacher, 0.5, 2.0)
    batch = data.train.take(slice(0, 64))
    loss_fn(student(*batch.inputs()), batch).backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert student.mlp[0].weight.grad is not None
