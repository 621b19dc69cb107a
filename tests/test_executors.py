"""Executors: a process pool and Ray give the same results directory as the in-process executor."""
from __future__ import annotations

import os
import sys

import pytest
import torch

from ganbench.config import ConfigError
from ganbench.suite_loader import load_suite, parse_suite
from ganbench.executors import _ray_resources, _rebuild, run_ray, threads_per_worker
from ganbench.files import load_checkpoint, read_json
from ganbench.runner import ATTEMPTS, run_suite


def tiny_suite(losses=("ns", "hinge"), device=None):
    doc = {
        "suite": {"name": "tiny", "seeds": [0]},
        "defaults": {
            "data": {"name": "ring8"},
            "model": {"name": "mlp", "hidden": 16, "depth": 2, "z_dim": 2},
            "train": {"steps": 40, "batch_size": 32, "log_every": 10, "checkpoint_every": 20},
            "eval": {"n_samples": 200, "metrics": ["fid", "modes"]},
        },
        "runs": [{"loss": [{"name": n} for n in losses]}],
    }
    if device:
        doc["defaults"]["train"]["device"] = device
    return parse_suite(doc)


def same_results(suite, a, b):
    for run in suite.runs:
        ma, mb = read_json(a / run.run_id / "metrics.json"), read_json(b / run.run_id / "metrics.json")
        assert ma["metrics"] == mb["metrics"] and ma["status"] == mb["status"], run.run_id
        ca, cb = load_checkpoint(a / run.run_id / "checkpoint.pt"), load_checkpoint(b / run.run_id / "checkpoint.pt")
        assert all(torch.equal(ca["G"][k], cb["G"][k]) for k in ca["G"]), run.run_id


@pytest.mark.parametrize("workers, cores, expected", [(1, 16, 16), (2, 16, 8), (3, 16, 5), (2, 2, 1), (4, 2, 1)])
def test_threads_are_divided_so_cores_are_not_oversubscribed(workers, cores, expected):
    assert threads_per_worker(workers, cores) == expected


LIMITED = """
import json, sys
from ganbench.executors import limit_threads
limit_threads(1)
import scipy.linalg, torch  # scipy: its own OpenBLAS, loaded after the limit
from threadpoolctl import threadpool_info
print(json.dumps([torch.get_num_threads()] + [p["num_threads"] for p in threadpool_info()]))
"""


def test_limit_threads_covers_torch_and_every_blas_and_openmp_pool():
    import json
    import subprocess
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", LIMITED], env=env, capture_output=True, text=True, check=True)
    counts = json.loads(out.stdout)
    assert len(counts) >= 4 and set(counts) == {1}, counts  # torch, its OpenMP, numpy and scipy OpenBLAS


@pytest.mark.slow  # spawning workers that import torch: ~10 s each on a busy 2-core machine
def test_process_pool_matches_local(tmp_path):
    suite = tiny_suite()
    local = run_suite(suite, out=tmp_path / "local", progress=False)
    announced = []
    pooled = run_suite(suite, out=tmp_path / "pool", executor="process", workers=2, progress=False,
                       on_done=announced.append)
    assert [o.status for o in local] == [o.status for o in pooled] == ["finished", "finished"]
    assert sorted(o.run_id for o in announced) == sorted(o.run_id for o in pooled)  # each run, as it ends
    same_results(suite, tmp_path / "local", tmp_path / "pool")
    for o in pooled:  # trained in the workers, with the cores divided between them
        attempt = read_json(tmp_path / "pool" / o.run_id / ATTEMPTS)["attempts"][0]
        assert o.worker == attempt["worker"] and not o.worker.endswith(f":{os.getpid()}")
        assert attempt["threads"] == threads_per_worker(2)
    again = run_suite(suite, out=tmp_path / "pool", executor="process", workers=2, progress=False,
                      on_done=announced.append)
    assert [o.status for o in again] == ["skipped", "skipped"]  # decided here: no pool started
    assert len(announced) == 2  # complete runs are not news


def test_worker_rebuild_checks_the_run_id():
    run = tiny_suite().runs[0]
    assert _rebuild(run.to_dict(), run.run_id) == run
    with pytest.raises(ConfigError, match="this worker computes run id .* is another ganbench version"):
        _rebuild(run.to_dict(), "ring8-mlp-ns-s0-00000000")


def test_ray_resources_follow_the_device():
    assert _ray_resources(tiny_suite().runs[0], 3) == {"num_cpus": 3, "num_gpus": 0}
    assert _ray_resources(tiny_suite(device="cuda").runs[0], 1) == {"num_cpus": 1, "num_gpus": 1}
    with pytest.raises(ConfigError, match=r"train.device = 'cuda:1' under --executor ray; use 'cuda'"):
        _ray_resources(tiny_suite(device="cuda:1").runs[0], 1)


def test_ray_missing_is_a_config_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    suite = tiny_suite()
    with pytest.raises(ConfigError, match=r"--executor ray needs Ray: pip install 'ganbench\[ray\]'"):
        run_ray([(suite.runs[0], tmp_path / suite.runs[0].run_id)])


@pytest.mark.slow
def test_ci_suite_on_local_ray_matches_local_executor(tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'ganbench[ray]'")
    suite = load_suite("ci", overrides=["train.steps=100", "eval.n_samples=500"], seeds=(0, 1))
    local = run_suite(suite, out=tmp_path / "local", progress=False)
    assert not ray.is_initialized()
    remote = run_suite(suite, out=tmp_path / "ray", executor="ray", progress=False)
    assert not ray.is_initialized()  # the local instance it started is stopped again
    assert [o.status for o in local] == [o.status for o in remote] == ["finished"] * 4
    same_results(suite, tmp_path / "local", tmp_path / "ray")
    workers = {o.worker for o in remote}
    assert all(not w.endswith(f":{os.getpid()}") for w in workers)  # each run was a Ray task in a worker
    assert sorted(p.name for p in (tmp_path / "ray").iterdir()) == sorted(r.run_id for r in suite.runs)


class FakeRay:
    """Stands in for the ray module to pin how ``run_ray`` starts or joins a cluster (no Ray needed)."""

    def __init__(self, fail=None):
        self.calls, self.fail = [], fail

    def is_initialized(self):
        return False

    def init(self, **kwargs):
        self.calls.append(kwargs)
        if self.fail:
            raise self.fail


@pytest.mark.parametrize("address, env", [(None, None), ("auto", None), (None, "10.0.0.1:6379")])
def test_ray_starts_a_local_instance_or_joins_without_resource_arguments(monkeypatch, tmp_path, address, env):
    fake = FakeRay(fail=ConnectionError("Could not find any running Ray instance"))
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    if env:
        monkeypatch.setenv("RAY_ADDRESS", env)
    run = tiny_suite().runs[0]
    with pytest.raises(ConnectionError if not (address or env) else ConfigError):
        run_ray([(run, tmp_path / run.run_id)], address=address)
    (call,) = fake.calls
    if address or env:  # joining: Ray refuses num_cpus / object_store_memory for an existing cluster
        assert call["address"] == (address or env) and "num_cpus" not in call and "object_store_memory" not in call
    else:
        assert call["address"] == "local" and call["num_cpus"] >= 1 and call["include_dashboard"] is False


def test_unreachable_ray_address_is_a_config_error_naming_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", FakeRay(fail=ConnectionError("Could not find any running Ray\ninstance")))
    run = tiny_suite().runs[0]
    with pytest.raises(ConfigError, match=r"--ray-address 'ray://head:10001': cannot join a Ray cluster there "
                                          r"\(Could not find any running Ray instance\)"):
        run_ray([(run, tmp_path / run.run_id)], address="ray://head:10001")
