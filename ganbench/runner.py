"""Running a suite: every run trained then evaluated, finished runs skipped.

A run directory with ``metrics.json`` is finished and is never trained again;
one with a checkpoint continues from it. A per-run file lock keeps two suite
processes on the same results directory from training the same run twice.
A run that raises is recorded as ``failed`` and the suite goes on.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from filelock import FileLock, Timeout

from .config import RunConfig, SuiteConfig
from .io import atomic_write_json, atomic_write_text
from .results import METRICS, STATUS, is_complete, run_dir_for

DEFAULT_RESULTS = Path("results")


@dataclass
class RunOutcome:
    run_id: str
    run_dir: str
    status: str        # finished | diverged | failed | skipped (already complete) | busy (locked elsewhere)
    wall_time: float = 0.0
    error: str = ""


def results_dir_for(suite: SuiteConfig, out: str | Path | None) -> Path:
    return Path(out) if out is not None else DEFAULT_RESULTS / suite.name


def run_one(run: RunConfig, run_dir: str | Path, progress: Optional[Callable[[int], None]] = None) -> RunOutcome:
    """Train and evaluate one run in ``run_dir`` (skip when complete, resume when a checkpoint exists)."""
    from .evaluate import evaluate_run, make_training_evaluator
    from .train import train
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if is_complete(run_dir):
        return RunOutcome(run.run_id, str(run_dir), "skipped")
    lock = FileLock(str(run_dir / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return RunOutcome(run.run_id, str(run_dir), "busy")
    t0 = time.perf_counter()
    try:
        if is_complete(run_dir):  # finished by another process while we waited for the lock
            return RunOutcome(run.run_id, str(run_dir), "skipped")
        evaluator = make_training_evaluator(run) if run.eval.every else None
        result = train(run, run_dir, evaluator=evaluator, progress=progress)
        evaluate_run(run_dir, run=run, train_status=result.status)
        return RunOutcome(run.run_id, str(run_dir), result.status, time.perf_counter() - t0)
    except KeyboardInterrupt:
        raise
    except Exception as e:
        msg = f"{type(e).__name__}: {e}"
        atomic_write_json(run_dir / STATUS, {"status": "failed", "reason": msg})
        atomic_write_text(run_dir / "error.txt", traceback.format_exc())
        return RunOutcome(run.run_id, str(run_dir), "failed", time.perf_counter() - t0, msg)
    finally:
        lock.release()


def run_suite(suite: SuiteConfig, out: str | Path | None = None, executor: str = "local",
              workers: int | None = None, ray_address: str | None = None, progress: bool = True,
              ) -> list[RunOutcome]:
    results = results_dir_for(suite, out)
    results.mkdir(parents=True, exist_ok=True)
    jobs = [(run, run_dir_for(results, run.run_id)) for run in suite.runs]
    if executor == "local":
        return _run_local(suite, jobs, progress)
    if executor == "process":
        from .executors import run_process_pool
        return run_process_pool(jobs, workers=workers)
    if executor == "ray":
        from .executors import run_ray
        return run_ray(jobs, address=ray_address)
    raise ValueError(f"unknown executor {executor!r}; choose one of: local, process, ray")


def _run_local(suite: SuiteConfig, jobs: list[tuple[RunConfig, Path]], progress: bool) -> list[RunOutcome]:
    from tqdm.auto import tqdm
    import sys
    disable = not (progress and sys.stderr.isatty())
    total_steps = sum(r.train.steps for r, d in jobs if not (d / METRICS).exists())
    outcomes = []
    with tqdm(total=len(jobs), desc=f"suite {suite.name}", unit="run", disable=disable, position=0) as bar_runs, \
            tqdm(total=total_steps, desc="steps", unit="step", disable=disable, position=1, leave=False) as bar_steps:
        for run, run_dir in jobs:
            bar_runs.set_postfix_str(run.run_id[:48])
            outcomes.append(run_one(run, run_dir, progress=bar_steps.update))
            bar_runs.update(1)
    return outcomes


def outcome_rows(outcomes: list[RunOutcome]) -> list[dict[str, Any]]:
    return [o.__dict__ for o in outcomes]
