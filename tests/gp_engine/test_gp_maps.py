"""Evaluation backends: identical results, dead workers replaced, timeouts, Ray actors."""
from __future__ import annotations

import os

import pytest

from gp_engine.config import SearchConfig
from gp_engine.loop import Search
from gp_engine.maps import make_map
from gp_engine.maps.inprocess import InProcessMap
from gp_engine.maps.pool import PoolMap
from evaluators.tasks import TaskSpec, build_task
from gp_helpers import HERE, ROOT, in_ci
from primitives.metric import Metric
from gp_snapshot import registry_state, run_state

TEXTS = ["abs(W)", "mul(abs(W), X)", "tanh(W)", "mul(sqr(W), G)", "sub(W, W)", "log(mul(W, X))",
         "mul(tanh(X), W)", "sqrt(G)", "div(W, sub(X, X))", "exp(exp(exp(G)))"]
METRICS = [Metric.parse(t) for t in TEXTS]
SPEC = TaskSpec("mlp-prune", {"sparsity": 0.9, "group": "row"})


def outcomes(fits):
    return [(f.value, f.ok, f.reason) for f in fits]


@pytest.fixture(scope="module")
def reference():
    return outcomes(InProcessMap(build_task(SPEC)).evaluate(METRICS))


def test_pool_matches_inprocess(reference):
    seen = []
    with PoolMap(SPEC, "max", workers=2) as pool:
        fits = pool.evaluate(METRICS, on_result=lambda i, f: seen.append(i))
        assert outcomes(fits) == reference
        assert sorted(seen) == list(range(len(METRICS)))
        assert outcomes(pool.evaluate(METRICS[:3])) == reference[:3]  # workers stay prepared


def test_dead_worker_is_replaced(reference):
    spec = TaskSpec("crash", {"crash_on": "tanh(W)"}, target="gp_helpers:CrashTask")
    with PoolMap(spec, "max", workers=2) as pool:
        fits = outcomes(pool.evaluate(METRICS))
        assert pool.restarts >= 1
    for text, got, want in zip(TEXTS, fits, reference):
        if "tanh(W)" in text:
            assert got[:2] == (0.0, False) and "worker died" in got[2]
        else:
            assert got == want


def test_timeout_fails_only_the_slow_candidate(reference):
    spec = TaskSpec("hang", {"hang_on": "tanh(W)", "hang_s": 120}, target="gp_helpers:HangTask")
    with PoolMap(spec, "max", workers=2, timeout_s=1.5) as pool:
        fits = outcomes(pool.evaluate(METRICS[:4]))
    assert fits[2][:2] == (0.0, False) and "timeout" in fits[2][2]
    assert [f for i, f in enumerate(fits) if i != 2] == [r for i, r in enumerate(reference[:4]) if i != 2]


def test_search_identical_inprocess_and_pool(tmp_path):
    cfg = SearchConfig(population=10, generations=2, seed=5)
    for kind in ("inprocess", "pool"):
        with Search(cfg.replace(map=kind), tmp_path / kind, registry=str(tmp_path / f"{kind}.db")) as s:
            s.run()
    assert run_state(tmp_path / "pool") == run_state(tmp_path / "inprocess")
    assert registry_state(str(tmp_path / "pool.db"), tmp_path / "pool") == \
        registry_state(str(tmp_path / "inprocess.db"), tmp_path / "inprocess")


@pytest.fixture(scope="module")
def ray_local(model_cache):
    try:
        import ray
    except ImportError:
        if in_ci():
            pytest.fail("CI=true but ray is not installed (pip install 'metricforge[ray]')")
        pytest.skip("ray is not installed (optional extra 'ray')")
    env = {"PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]), "METRICFORGE_CACHE": str(model_cache)}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    yield ray
    ray.shutdown()


@pytest.mark.ray
def test_ray_matches_inprocess_and_replaces_dead_actors(ray_local, reference, tmp_path):
    ray_map = make_map("ray", build_task(SPEC), SPEC, workers=2)
    try:
        assert outcomes(ray_map.evaluate(METRICS)) == reference
    finally:
        ray_map.close()
    crash = TaskSpec("crash", {"crash_on": "tanh"}, target="gp_helpers:CrashTask")
    ray_map = make_map("ray", build_task(crash), crash, workers=2)
    try:
        fits = outcomes(ray_map.evaluate(METRICS))
        assert ray_map.restarts >= 2
    finally:
        ray_map.close()
    for text, got, want in zip(TEXTS, fits, reference):
        assert (got[:2] == (0.0, False) and "worker died" in got[2]) if "tanh" in text else got == want
    cfg = SearchConfig(population=10, generations=2, seed=5)
    for kind in ("inprocess", "ray"):
        with Search(cfg.replace(map=kind), tmp_path / kind, registry=str(tmp_path / f"{kind}.db")) as s:
            s.run()
    assert run_state(tmp_path / "ray") == run_state(tmp_path / "inprocess")
