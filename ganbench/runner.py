"""Running a suite: every run trained then evaluated; finished runs skipped, unfinished ones resumed.

Rules a rerun relies on (all of them hold whichever executor runs the suite):

* A run directory with a readable ``metrics.json`` is complete and never trained again. An unreadable
  one (truncated, not JSON) is moved aside to ``metrics.json.corrupt`` and the run counts as incomplete:
  it is re-evaluated from its final checkpoint, without retraining. A complete run whose ``config.json``
  is missing or unreadable gets it written again from the suite (the unreadable one kept as ``.corrupt``).
* A run with ``checkpoint.pt`` continues from it (models, optimisers, EMA and RNG states), so an
  interrupted and resumed run ends with the same numbers as an uninterrupted one on CPU. A checkpoint or
  ``history.csv`` that cannot be read, or a checkpoint that does not fit the run's models, is moved aside (``*.corrupt``) and the run is retrained from scratch:
  training is deterministic, so this costs time but never correctness, and the damaged file stays for
  inspection. Leftover temp files of writes cut short by a crash are deleted.
* A per-run lock (``.lock``, ``flock``: the kernel releases it when its process dies, so a killed suite
  leaves no stale lock) keeps two suite processes on one results directory from training the same run;
  the process that finds a run locked reports it as ``busy`` and goes on.
* ``runner.json`` in the run directory records every attempt: which process (host:pid, torch threads)
  trained the run, from which step, when, and how it ended (``interrupted``: the process died). A run
  that raises is recorded as ``failed`` (``status.json``, ``error.txt``) and the suite goes on; a rerun
  tries it again, from its last checkpoint.
* Seeds of one configuration with ``train.seeds_batched = true`` (``batched.seed_groups``) are trained as
  one batched model by ``run_group``, whichever executor runs the suite: each run of the group is still
  skipped, locked, resumed and recorded by itself, and its files are those a sequential run writes (its
  numbers match one to float32 tolerance, not bit for bit).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional

from . import executors
from .attempt import RunOutcome, run_group, run_one, worker_id  # noqa: F401  one run's attempt, re-exported
from .config import RunConfig, SuiteConfig, safe_name
from .files import CorruptFileError, output_dir, read_json
from .registry import ConfigError
from .results import ATTEMPTS, CONFIG, LOCK, is_finished, run_dir_for  # noqa: F401  ATTEMPTS, LOCK re-exported

DEFAULT_RESULTS = Path("results")
EXECUTORS = ("local", "process", "ray")

__all__ = ["RunOutcome", "run_one", "run_group", "run_suite", "is_finished", "results_dir_for", "outcome_rows", "worker_id",
           "DEFAULT_RESULTS", "EXECUTORS", "LOCK", "ATTEMPTS"]


def results_dir_for(suite: SuiteConfig, out: str | Path | None) -> Path:
    if out is not None:
        return Path(out)
    # parse_suite already refuses such names; this guards suites built in code
    if not suite.name or safe_name(suite.name) != suite.name:
        raise ConfigError(f"suite name {suite.name!r} is not a safe directory name; "
                          f"use only letters, digits, '.', '_', '+' and '-'")
    return DEFAULT_RESULTS / suite.name


# ---------------------------------------------------------------- a suite

def run_suite(suite: SuiteConfig, out: str | Path | None = None, executor: str = "local",
              workers: int | None = None, ray_address: str | None = None, progress: bool = True,
              threads: int | None = None, echo: Optional[Callable[[str], None]] = None,
              on_done: Optional[Callable[[RunOutcome], None]] = None) -> list[RunOutcome]:
    """Run every run of ``suite`` into ``out`` (default ``results/<suite>``); outcomes in suite order.

    ``executor``: ``local`` (in this process, with ``threads`` torch threads if given), ``process``
    (``workers`` spawned processes, default one per core, ``threads`` torch threads each, default
    cores // workers) or ``ray`` (one Ray task per run with ``threads`` CPUs, default 1, and a GPU when
    ``train.device`` is cuda; ``ray_address`` joins a cluster, none starts a local one). Busy runs and
    files moved aside are reported through ``echo`` (stderr). ``on_done(outcome)`` is called for each run
    as soon as it (or its batched group) ends, whichever executor runs it; runs that were already complete
    (``skipped``) are not announced.
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; choose one of: {', '.join(EXECUTORS)}")
    if workers is not None and executor != "process":
        raise ConfigError(f"--workers {workers} applies only to --executor process, not {executor!r}")
    if ray_address is not None and executor != "ray":
        raise ConfigError(f"--ray-address {ray_address!r} applies only to --executor ray, not {executor!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ConfigError(f"--workers must be a positive integer, got {workers!r}")  # more than runs: capped by the pool
    if executor == "ray" and ray_address is not None:  # threads are CPUs of the cluster's nodes, not of this one
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ConfigError(f"--threads must be a positive integer, got {threads!r}")
    else:
        executors.check_threads(threads)
    results = output_dir(results_dir_for(suite, out), "--out")
    jobs = [(run, run_dir_for(results, run.run_id)) for run in suite.runs]
    _check_run_dirs(suite, jobs)
    if executor == "local":
        # One torch thread per run unless asked otherwise: the bundled GAN models are small, and measured on
        # 2 cores two threads were 8-30x slower per step under any other load (and results depend on the
        # thread count, so a fixed default keeps baselines reproducible across machines).
        outcomes = executors.run_local(jobs, progress=progress, desc=f"suite {suite.name}",
                                       threads=threads or 1, on_done=on_done)
    elif executor == "process":
        outcomes = executors.run_process_pool(jobs, workers=workers, threads=threads, progress=progress,
                                               on_done=on_done)
    else:
        outcomes = executors.run_ray(jobs, address=ray_address, threads=threads or 1, progress=progress,
                                      on_done=on_done)
    _report(outcomes, echo or (lambda line: print(line, file=sys.stderr, flush=True)))
    return outcomes


def _check_run_dirs(suite: SuiteConfig, jobs: list[tuple[RunConfig, Path]]) -> None:
    """Before any training: every run folder already there must be writable (unless finished: it is only read),
    and must belong to this suite.

    The run id leaves the suite name out (the same configuration is the same run), so without this check a
    suite run into another suite's folder would adopt that suite's finished runs without a word.
    """
    for run, run_dir in jobs:
        if not run_dir.exists():
            continue
        if not run_dir.is_dir() or (not os.access(run_dir, os.W_OK | os.X_OK) and not is_finished(run_dir)):
            raise ConfigError(f"run folder {str(run_dir)!r} is not a writable folder; fix its permissions or "
                              f"choose another --out")
        try:
            other = read_json(run_dir / CONFIG).get("suite")
        except (CorruptFileError, AttributeError):
            continue  # missing or unreadable config.json: the run rewrites it
        if isinstance(other, str) and other != suite.name:
            raise ConfigError(f"{str(run_dir.parent)!r} holds runs of suite {other!r} ({run_dir.name}); suite "
                              f"{suite.name!r} would take them as its own: choose another --out")


def _report(outcomes: list[RunOutcome], echo: Callable[[str], None]) -> None:
    for o in outcomes:
        for note in o.notes:
            echo(f"note: {o.run_id}: {note}")
        if o.status == "busy":
            who = f" by {o.worker}" if o.worker else ""
            echo(f"busy: {o.run_id} is being trained{who} (locked); skipped here, rerun the suite later to pick it up")


def outcome_rows(outcomes: list[RunOutcome]) -> list[dict[str, Any]]:
    return [dict(o.__dict__) for o in outcomes]
