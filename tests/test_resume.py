"""Crash safety with real processes: kill -9 mid-suite then resume, cut writes, stale locks, two suites at once."""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from filelock import FileLock

from ganbench.suite_loader import load_suite
from ganbench.files import load_checkpoint, read_json
from ganbench.results import HISTORY
from ganbench.runner import ATTEMPTS, LOCK

SUITE = """
[suite]
name = "crash"
seeds = [0]
[defaults]
data = {{ name = "ring8" }}
model = {{ name = "mlp", hidden = 16, depth = 2, z_dim = 2 }}
train = {{ steps = {steps}, batch_size = 32, log_every = 20, checkpoint_every = {every}, ema = 0.99 }}
eval = {{ n_samples = 200, metrics = ["fid", "modes"], every = {eval_every}, n_samples_during = 200 }}
[[runs]]
loss = [{losses}]
"""


def write_suite(tmp_path, steps, every, losses=("ns", "hinge"), seeds=(0,), eval_every=0):
    text = SUITE.format(steps=steps, every=every, eval_every=eval_every,
                        losses=", ".join(f'{{ name = "{n}" }}' for n in losses))
    text = text.replace("seeds = [0]", f"seeds = {list(seeds)}")
    path = tmp_path / "crash.toml"
    path.write_text(text)
    return path, load_suite(path)


def env():
    # One thread each: the same arithmetic in every process, and no oversubscription of the shared cores.
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


def cli(suite_path, out, **kw):
    return subprocess.Popen([sys.executable, "-m", "ganbench.cli", "run", str(suite_path), "--out", str(out)],
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def finish(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out, err


def history_without_wall(path):
    rows = list(csv.DictReader(open(path)))
    for r in rows:
        r.pop("wall_time")
    return rows


@pytest.mark.slow  # three suite processes (~1 min on a busy 2-core machine); the in-process variant is in test_runner
def test_kill_9_mid_suite_then_rerun_gives_the_uninterrupted_numbers(tmp_path):
    suite_path, suite = write_suite(tmp_path, steps=400, every=10, eval_every=100)  # FID rows during training too
    first, second = (r.run_id for r in suite.runs)
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    reference = cli(suite_path, clean)

    proc = cli(suite_path, killed)
    target = killed / second / "checkpoint.pt"  # the first run is finished by then: skip and resume both tested
    deadline = time.monotonic() + 240
    while not target.exists():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finish(reference)

    # The crash left a consistent directory: finished first run, a loadable mid-run checkpoint, no metrics yet.
    assert (killed / first / "metrics.json").exists()
    ckpt = load_checkpoint(target)
    assert 0 < ckpt["step"] < 400 and ckpt["status"] == "running"
    assert not (killed / second / "metrics.json").exists()
    for f in killed.rglob("*.json"):
        read_json(f)  # every JSON file parses: nothing half-written
    open_attempt = read_json(killed / second / ATTEMPTS)["attempts"][-1]
    assert open_attempt["worker"].endswith(f":{proc.pid}") and "status" not in open_attempt

    rerun = cli(suite_path, killed)
    finish(rerun)
    for run_id in (first, second):
        a, b = read_json(clean / run_id / "metrics.json"), read_json(killed / run_id / "metrics.json")
        assert a["metrics"] == b["metrics"] and a["diagnostics"] == b["diagnostics"], run_id
        ca, cb = load_checkpoint(clean / run_id / "checkpoint.pt"), load_checkpoint(killed / run_id / "checkpoint.pt")
        for part in ("G", "D", "ema"):
            assert all(torch.equal(ca[part][k], cb[part][k]) for k in ca[part]), (run_id, part)
        assert history_without_wall(clean / run_id / HISTORY) == history_without_wall(killed / run_id / HISTORY)
    attempts = read_json(killed / second / ATTEMPTS)["attempts"]
    assert [a["status"] for a in attempts] == ["interrupted", "finished"]
    assert attempts[1]["resumed_from"] == ckpt["step"] and attempts[1]["worker"].endswith(f":{rerun.pid}")
    assert len(read_json(killed / first / ATTEMPTS)["attempts"]) == 1  # finished run skipped, not retrained


WRITER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from ganbench.files import atomic_write_bytes
    target, ready = Path(sys.argv[1]), Path(sys.argv[2])
    atomic_write_bytes(target, b"old complete content")
    def stall(fd):
        ready.touch()
        time.sleep(120)   # killed here: the new bytes are in the temp file, not yet renamed
    os.fsync = stall
    atomic_write_bytes(target, b"new" * 1_000_000)
""")


def test_a_write_killed_midway_leaves_the_old_file_intact(tmp_path):
    target, ready = tmp_path / "metrics.json", tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target), str(ready)], env=env())
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert target.read_bytes() == b"old complete content"
    leftovers = list(tmp_path.glob(".metrics.json.*.tmp"))
    assert len(leftovers) == 1  # the orphan the runner deletes under the run's lock (see test_runner)


HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from filelock import FileLock
    lock = FileLock(sys.argv[1])
    lock.acquire()
    Path(sys.argv[2]).touch()
    time.sleep(120)
""")


def test_lock_of_a_killed_process_does_not_block(tmp_path):
    lock_path, ready = tmp_path / LOCK, tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock_path), str(ready)], env=env())
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    from filelock import Timeout
    with pytest.raises(Timeout):  # held while the process lives
        FileLock(str(lock_path)).acquire(timeout=0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert lock_path.exists()  # the file stays behind ...
    lock = FileLock(str(lock_path))
    lock.acquire(timeout=0)   # ... but flock died with its process
    lock.release()


@pytest.mark.slow  # two suite processes; the in-process busy test is in test_runner
def test_two_suite_processes_on_one_directory_train_each_run_once(tmp_path):
    suite_path, suite = write_suite(tmp_path, steps=150, every=50, seeds=(0, 1))
    out = tmp_path / "shared"
    procs = [cli(suite_path, out), cli(suite_path, out)]
    logs = [finish(p) for p in procs]
    pids = {f"{p.pid}" for p in procs}
    trained_by = {}
    for run in suite.runs:
        d = out / run.run_id
        attempts = read_json(d / ATTEMPTS)["attempts"]
        assert len(attempts) == 1 and attempts[0]["status"] == "finished", (run.run_id, attempts)
        assert attempts[0]["worker"].rsplit(":", 1)[1] in pids
        trained_by[run.run_id] = attempts[0]["worker"]
        steps = [int(r["step"]) for r in csv.DictReader(open(d / "history.csv"))]
        assert steps == sorted(set(steps)) and steps[-1] == 150
        assert read_json(d / "status.json")["status"] == "finished"
        assert read_json(d / "metrics.json")["status"] == "finished"
    for (stdout, stderr) in logs:
        for run in suite.runs:
            assert run.run_id in stdout  # every run reported by both processes
        for line in stderr.splitlines():
            if line.startswith("busy: "):
                run_id = line.split()[1]
                assert run_id in trained_by
                if " by " in line:  # the holder is named once it has recorded its attempt (right after locking)
                    assert f"by {trained_by[run_id]} " in line
    print("trained by:", trained_by)
