"""The runner with ``train.seeds_batched = true``: seeds of a configuration trained as one batch, each run
still skipped, locked, resumed and recorded by itself, with the numbers of sequential runs."""
from __future__ import annotations

from pathlib import Path

import pytest
from filelock import FileLock

from ganbench import batched
from ganbench.suite_loader import parse_suite
from ganbench.files import read_json
from ganbench.results import run_dir_for
from ganbench.runner import ATTEMPTS, LOCK, run_group, run_one, run_suite
from ganbench.train import read_history

SEEDS = (0, 1, 2)


def suite_of(seeds_batched, seeds=SEEDS, steps=30):
    return parse_suite({
        "suite": {"name": "tinyb", "seeds": list(seeds)},
        "defaults": {
            "data": {"name": "ring8"},
            "model": {"name": "mlp", "hidden": 16, "depth": 2, "z_dim": 2},
            "train": {"steps": steps, "batch_size": 32, "log_every": 10, "checkpoint_every": 10,
                      "seeds_batched": seeds_batched},
            "eval": {"n_samples": 200, "metrics": ["fid", "modes"]},
        },
        "runs": [{"loss": [{"name": "ns"}]}],
    })


def quiet_suite(suite, out):
    return run_suite(suite, out=out, progress=False, echo=lambda line: None)


@pytest.fixture
def batches(monkeypatch):
    """The seeds of every train_batched call the runner makes (run_group looks it up at call time)."""
    calls, real = [], batched.train_batched

    def spy(runs, run_dirs, **kw):
        calls.append([r.seed for r in runs])
        return real(runs, run_dirs, **kw)
    monkeypatch.setattr(batched, "train_batched", spy)
    return calls


@pytest.fixture(scope="module")
def sequential(tmp_path_factory):
    """The same suite without batching: what every batched member must reproduce."""
    suite = suite_of(False)
    out = tmp_path_factory.mktemp("seq")
    assert [o.status for o in quiet_suite(suite, out)] == ["finished"] * len(SEEDS)
    return {run.seed: run_dir_for(out, run.run_id) for run in suite.runs}


def assert_matches_sequential(run_dir, seq_dir):
    # Batched kernels round differently from the sequential ones (float32; test_batched pins parameters to
    # 1e-4), so the numbers agree to a tolerance, not bit for bit; undefined metrics (None) stay undefined.
    got, want = read_json(Path(run_dir) / "metrics.json")["metrics"], read_json(seq_dir / "metrics.json")["metrics"]
    assert set(got) == set(want)
    for key, value in want.items():  # measured: FID within 6e-8 relative after 30 steps
        assert got[key] == (value if value is None else pytest.approx(value, rel=1e-4, abs=1e-6)), key
    hb, hs = read_history(Path(run_dir) / "history.csv"), read_history(seq_dir / "history.csv")
    assert [r["step"] for r in hb] == [r["step"] for r in hs] == [1, 10, 20, 30]
    for rb, rs in zip(hb, hs):
        assert rb["d_loss"] == pytest.approx(rs["d_loss"], rel=1e-4)
        assert rb["g_loss"] == pytest.approx(rs["g_loss"], rel=1e-4)


def test_batched_suite_matches_the_sequential_suite_and_a_rerun_skips_it(sequential, batches, tmp_path):
    suite = suite_of(True)
    outcomes = quiet_suite(suite, tmp_path)
    assert batches == [list(SEEDS)]  # one batch for the three seeds
    assert [o.run_id for o in outcomes] == [r.run_id for r in suite.runs]  # suite order
    assert [o.status for o in outcomes] == ["finished"] * 3
    for run, o in zip(suite.runs, outcomes):
        assert Path(o.run_dir) == run_dir_for(tmp_path, run.run_id) and o.resumed_from == 0
        assert_matches_sequential(o.run_dir, sequential[run.seed])
        a = read_json(Path(o.run_dir) / ATTEMPTS)["attempts"]
        assert len(a) == 1 and a[0]["status"] == "finished" and a[0]["resumed_from"] == 0
    again = quiet_suite(suite, tmp_path)
    assert [o.status for o in again] == ["skipped"] * 3 and batches == [list(SEEDS)]
    assert all(len(read_json(Path(o.run_dir) / ATTEMPTS)["attempts"]) == 1 for o in again)


def test_a_group_trains_only_its_unfinished_seeds_and_resumes_them(sequential, batches, tmp_path):
    suite = suite_of(True)
    dirs = [run_dir_for(tmp_path, r.run_id) for r in suite.runs]
    assert run_one(suite.runs[1], dirs[1]).status == "finished"  # seed 1 done earlier (a group of one: run_one)
    short = suite_of(True, steps=10).runs[2]  # seed 2 cut at step 10: checkpoint and history, no metrics
    batched.train_batched([short], [dirs[2]])
    batches.clear()
    outcomes = quiet_suite(suite, tmp_path)
    assert [o.status for o in outcomes] == ["finished", "skipped", "finished"]
    # seeds 0 (step 0) and 2 (step 10) cannot move in lockstep: train_batched continues each on its own
    assert batches == [[0, 2]] and [o.resumed_from for o in outcomes] == [0, 0, 10]
    assert len(read_json(dirs[1] / ATTEMPTS)["attempts"]) == 1
    for run, d in zip(suite.runs, dirs):
        assert_matches_sequential(d, sequential[run.seed])


def test_a_busy_seed_is_left_to_its_holder_and_the_others_train_together(batches, tmp_path):
    suite = suite_of(True, steps=5)
    jobs = [(r, run_dir_for(tmp_path, r.run_id)) for r in suite.runs]
    jobs[0][1].mkdir(parents=True)
    with FileLock(str(jobs[0][1] / LOCK)):
        outcomes = run_group(jobs)
    assert [o.status for o in outcomes] == ["busy", "finished", "finished"] and batches == [[1, 2]]
    assert not (jobs[0][1] / "metrics.json").exists()


def test_a_failing_batch_fails_every_member_releases_the_locks_and_a_rerun_trains_them(monkeypatch, tmp_path):
    suite = suite_of(True, steps=5)
    real = batched.train_batched

    def broken(runs, run_dirs, **kw):
        raise RuntimeError("boom in the batch")
    monkeypatch.setattr(batched, "train_batched", broken)
    outcomes = quiet_suite(suite, tmp_path)
    assert [(o.status, o.error) for o in outcomes] == [("failed", "RuntimeError: boom in the batch")] * 3
    for o in outcomes:
        d = Path(o.run_dir)
        assert read_json(d / "status.json") == {"status": "failed", "reason": "RuntimeError: boom in the batch"}
        assert "in broken" in (d / "error.txt").read_text()  # the traceback of the batch, not of the runner
        assert read_json(d / ATTEMPTS)["attempts"][0]["status"] == "failed"
        FileLock(str(d / LOCK)).acquire(timeout=0)  # released: would raise Timeout otherwise
    monkeypatch.setattr(batched, "train_batched", real)
    assert [o.status for o in quiet_suite(suite, tmp_path)] == ["finished"] * 3


def test_an_interrupted_batch_propagates_and_leaves_no_lock(monkeypatch, tmp_path):
    suite = suite_of(True, steps=5)
    jobs = [(r, run_dir_for(tmp_path, r.run_id)) for r in suite.runs]

    def interrupted(runs, run_dirs, **kw):
        raise KeyboardInterrupt
    monkeypatch.setattr(batched, "train_batched", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_group(jobs)
    for _, d in jobs:
        FileLock(str(d / LOCK)).acquire(timeout=0)
        assert "status" not in read_json(d / ATTEMPTS)["attempts"][0]  # still open: a rerun marks it interrupted


@pytest.mark.slow  # spawning workers that import torch: ~10 s on a busy 2-core machine
def test_process_pool_trains_a_group_as_one_job_like_the_local_executor(sequential, tmp_path):
    suite = suite_of(True)
    outcomes = run_suite(suite, out=tmp_path, executor="process", workers=2, threads=1, progress=False,
                         echo=lambda line: None)
    assert [o.status for o in outcomes] == ["finished"] * 3
    assert len({o.worker for o in outcomes}) == 1  # one job: all three seeds in the same worker process
    for run, o in zip(suite.runs, outcomes):
        assert_matches_sequential(o.run_dir, sequential[run.seed])
