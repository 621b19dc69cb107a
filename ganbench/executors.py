"""Where the runs of a suite execute: in this process, on a pool of spawned processes, or as Ray tasks.

Every executor calls ``attempt.run_group`` on each group of jobs (``batched.seed_groups``: the seeds of a
configuration with ``train.seeds_batched = true`` form one group, trained as one batched model; every other
run is a group of its own, i.e. ``attempt.run_one``), so skipping, resuming, locking and the files of a run
directory are the same whichever runs it; they differ only in where and how many at once. Finished runs are
skipped here, before anything is dispatched; outcomes come back in suite order.

* ``local``: one run after the other in this process (``threads`` torch/BLAS threads; default: as is).
* ``process``: ``workers`` spawned processes (spawn: no fork of a process holding torch threads), each
  with ``threads`` torch and BLAS threads, by default cores // workers so that the pool does not
  oversubscribe the cores.
* ``ray``: one Ray task per group, asking for ``threads`` CPUs (and one GPU when ``train.device`` is cuda;
  Ray then sets ``CUDA_VISIBLE_DEVICES``, so the run must say ``cuda``, not ``cuda:N``). ``address``
  (``auto``, ``host:port`` or ``ray://host:port``; none: ``$RAY_ADDRESS`` when set) joins a running
  cluster with ganbench installed on its nodes; otherwise a local Ray is started for this suite and
  stopped at the end. Tasks write into the results directory themselves, so on a multi-node cluster it
  must be on a filesystem every node mounts at the same path; a task that cannot see it fails with a
  message saying so. The run travels as its ``config.json`` dictionary and is rebuilt (and its run id
  checked) on the worker, so plugin losses and models named by import path resolve there too, and a
  worker running another ganbench version is caught.

CPU results are bit-identical across executors only at equal torch thread counts: reductions split
over threads round differently (the ci suite trained with 2 threads and with 1 ends with different
FIDs). Each attempt's thread count is recorded in the run's ``runner.json``.
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from .config import RunConfig
from .registry import ConfigError, message_line, one_line
from .version import __version__
from .results import is_finished
from .suite_loader import run_from_dict
from .attempt import RunOutcome, run_group

Job = tuple[RunConfig, Path]
OnDone = Optional[Callable[[RunOutcome], None]]  # called with each outcome as soon as its group ends

__all__ = ["run_local", "run_process_pool", "run_ray", "available_cores", "check_threads", "threads_per_worker",
           "limit_threads"]


def available_cores() -> int:
    """CPU cores this process may use (its affinity mask, which containers and taskset narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def check_threads(value: Any, flag: str = "--threads") -> Optional[int]:
    """A thread count this machine can give (1..its cores), or None for the default. More threads than cores
    only slow torch down, and a typo such as 100000 would fail deep inside thread pools."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{flag} must be a positive integer, got {value!r}")
    cores = available_cores()
    if value > cores:
        raise ConfigError(f"{flag} {value}: this machine gives this process {cores} cores; accepted: 1 to {cores}")
    return value


def threads_per_worker(workers: int, cores: Optional[int] = None) -> int:
    return max(1, (cores or available_cores()) // max(1, workers))


def limit_threads(n: int) -> None:
    """This process's torch, OpenMP and BLAS pools to ``n`` threads each, for good.

    BLAS counts as much as torch: evaluation is numpy/scipy work, and a full-size OpenBLAS pool in every
    worker oversubscribes the cores as surely as torch threads would (measured: evaluation 5x slower).
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)  # read by libraries loaded from now on (scipy's BLAS, scikit-learn's OpenMP)
    import torch
    torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:
        return
    threadpool_limits(n)  # libraries already loaded (numpy's BLAS, torch's OpenMP)


@contextlib.contextmanager
def _threads_meanwhile(n: Optional[int]) -> Iterator[None]:
    """``limit_threads`` for the duration of a block, then back (the local executor runs in the caller)."""
    if not n:
        yield
        return
    import torch
    from . import evaluate  # noqa: F401  loads scipy's BLAS now, so that the limit below covers it
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
        limiter: Any = threadpool_limits(n)
    except ImportError:
        limiter = contextlib.nullcontext()
    try:
        with limiter:
            yield
    finally:
        torch.set_num_threads(before)


def _split_finished(jobs: list[Job]) -> tuple[list[Optional[RunOutcome]], list[int]]:
    """Outcomes of already complete runs, and the indices of the jobs still to dispatch."""
    outcomes: list[Optional[RunOutcome]] = [None] * len(jobs)
    todo = []
    for i, (run, run_dir) in enumerate(jobs):
        if is_finished(run_dir):
            outcomes[i] = RunOutcome(run.run_id, str(run_dir), "skipped")
        else:
            todo.append(i)
    return outcomes, todo


def _bar(total: int, progress: bool, desc: str, **kw: Any) -> Any:
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="run", disable=not (progress and sys.stderr.isatty()), **kw)


def _announce(on_done: OnDone, outcomes: list[Optional[RunOutcome]], group: list[int]) -> None:
    """Hand the outcomes of a group that just ended to ``on_done`` (the progress line of a non-terminal log);
    runs that were complete before the suite started are not news and are left out, whichever executor found them."""
    if on_done is not None:
        for i in group:
            o = outcomes[i]
            if o is not None and o.status != "skipped":
                on_done(o)


def _failed(run: RunConfig, run_dir: Path, e: BaseException, what: str) -> RunOutcome:
    return RunOutcome(run.run_id, str(run_dir), "failed", error=f"{what}: {one_line(e)}")


# ---------------------------------------------------------------- local

def run_local(jobs: list[Job], progress: bool = True, desc: str = "suite",
              threads: Optional[int] = None, on_done: OnDone = None) -> list[RunOutcome]:
    """One group after the other in this process (a seeds_batched group as one batch); ``threads`` limits
    torch and BLAS threads meanwhile."""
    from tqdm.auto import tqdm

    from .batched import seed_groups
    disable = not (progress and sys.stderr.isatty())
    total_steps = sum(r.train.steps for r, d in jobs if not is_finished(d))
    outcomes: list[Optional[RunOutcome]] = [None] * len(jobs)
    with _threads_meanwhile(threads):
        steps_bar = tqdm(total=total_steps, desc="steps", unit="step", disable=disable, position=1, leave=False)
        with _bar(len(jobs), progress, desc, position=0) as bar_runs, steps_bar as bar_steps:
            for group in seed_groups([run for run, _ in jobs]):
                bar_runs.set_postfix_str(jobs[group[0]][0].run_id[:48])
                for i, o in zip(group, run_group([jobs[i] for i in group], progress=bar_steps.update)):
                    outcomes[i] = o
                _announce(on_done, outcomes, group)
                bar_runs.update(len(group))
    return [o for o in outcomes if o is not None]


# ---------------------------------------------------------------- process pool

def _init_worker(threads: int) -> None:
    limit_threads(threads)


def _rebuild(run_dict: dict[str, Any], run_id: str) -> RunConfig:
    run = run_from_dict(run_dict, where=f"run {run_id}")
    if run.run_id != run_id:
        raise ConfigError(f"run {run_id}: this worker computes run id {run.run_id} for the same configuration; "
                          f"is another ganbench version ({__version__}) installed here?")
    return run


def _todo_groups(jobs: list[Job], todo: list[int]) -> list[list[int]]:
    """``seed_groups`` of the jobs still to run, as indices into ``jobs``."""
    from .batched import seed_groups
    return [[todo[k] for k in group] for group in seed_groups([jobs[i][0] for i in todo])]


def _payload(jobs: list[Job], group: list[int]) -> list[tuple[dict[str, Any], str, str]]:
    """A group as plain data: each run travels as its config dictionary (rebuilt and checked on the worker)."""
    return [(jobs[i][0].to_dict(), jobs[i][0].run_id, str(jobs[i][1])) for i in group]


def _pool_job(payload: list[tuple[dict[str, Any], str, str]]) -> list[RunOutcome]:
    return run_group([(_rebuild(run_dict, run_id), run_dir) for run_dict, run_id, run_dir in payload])


def run_process_pool(jobs: list[Job], workers: Optional[int] = None, threads: Optional[int] = None,
                     progress: bool = True, on_done: OnDone = None) -> list[RunOutcome]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    outcomes, todo = _split_finished(jobs)
    if not todo:
        return [o for o in outcomes if o is not None]
    groups = _todo_groups(jobs, todo)
    n = min(workers or available_cores(), len(groups))
    threads = threads or threads_per_worker(n)
    pool = ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(threads,))
    try:
        futures = {pool.submit(_pool_job, _payload(jobs, group)): group for group in groups}
        with _bar(len(jobs), progress, f"runs ({n} workers x {threads} threads)", initial=len(jobs) - len(todo)) as bar:
            for fut in as_completed(futures):
                group = futures[fut]
                try:
                    for i, o in zip(group, fut.result()):
                        outcomes[i] = o
                except Exception as e:  # a worker that died (BrokenProcessPool) or a run that could not be rebuilt
                    for i in group:
                        outcomes[i] = _failed(jobs[i][0], jobs[i][1], e, "process worker")
                _announce(on_done, outcomes, group)
                bar.update(len(group))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [o for o in outcomes if o is not None]


# ---------------------------------------------------------------- Ray

def _ray_job(payload: list[tuple[dict[str, Any], str, str]], threads: int) -> list[RunOutcome]:
    limit_threads(threads)  # Ray sets OMP_NUM_THREADS for its workers; torch and loaded BLAS pools need telling
    results = Path(payload[0][2]).parent  # a group's runs share one results directory
    if not results.is_dir():
        raise FileNotFoundError(f"results directory {results} does not exist on Ray node {socket.gethostname()}; "
                                f"with a multi-node cluster, --out must be on a filesystem every node mounts "
                                f"at the same path")
    return _pool_job(payload)


def _ray_resources(run: RunConfig, threads: int) -> dict[str, Any]:
    device = run.train.device
    if device.startswith("cuda") and device not in ("cuda", "cuda:0"):
        raise ConfigError(f"run {run.run_id}: train.device = {device!r} under --executor ray; use 'cuda' "
                          f"(Ray assigns each task its GPU and makes it the only visible one)")
    return {"num_cpus": threads, "num_gpus": 1 if device.startswith("cuda") else 0}


def _ray_init(ray: Any, address: Optional[str]) -> None:
    if not address:
        # A private local instance sized to this machine ("local": never a cluster that `ray start` left
        # running); a small object store (results are tiny).
        ray.init(address="local", num_cpus=available_cores(), object_store_memory=200 * 1024**2,
                 include_dashboard=False, logging_level=logging.WARNING)
        return
    try:  # joining: the cluster's own resources apply (Ray refuses num_cpus & co. here)
        ray.init(address=address, logging_level=logging.WARNING)
    except (ConnectionError, ValueError) as e:
        raise ConfigError(f"--ray-address {address!r}: cannot join a Ray cluster there "
                          f"({message_line(e)})") from None


def run_ray(jobs: list[Job], address: Optional[str] = None, threads: int = 1,
            progress: bool = True, on_done: OnDone = None) -> list[RunOutcome]:
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray: pip install 'ganbench[ray]'") from None
    outcomes, todo = _split_finished(jobs)
    if not todo:
        return [o for o in outcomes if o is not None]
    groups = _todo_groups(jobs, todo)
    # bad devices fail before Ray starts; a group's runs differ only in their seed, so share one device
    resources = [_ray_resources(jobs[group[0]][0], threads) for group in groups]
    started = not ray.is_initialized()
    if started:
        _ray_init(ray, address or os.environ.get("RAY_ADDRESS"))
    try:
        task = ray.remote(_ray_job)
        refs = {}
        for group, res in zip(groups, resources):
            # max_retries: a task whose worker died is retried and resumes from its last checkpoints
            ref = task.options(name=jobs[group[0]][0].run_id, max_retries=2, **res).remote(_payload(jobs, group), threads)
            refs[ref] = group
        pending = list(refs)
        with _bar(len(jobs), progress, f"runs (ray, {threads} cpus each)", initial=len(jobs) - len(todo)) as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    group = refs[ref]
                    try:
                        for i, o in zip(group, ray.get(ref)):
                            outcomes[i] = o
                    except Exception as e:  # RayTaskError wraps what the task raised; also lost workers
                        cause = getattr(e, "cause", None) or e
                        for i in group:
                            outcomes[i] = _failed(jobs[i][0], jobs[i][1], cause, "ray task")
                    _announce(on_done, outcomes, group)
                    bar.update(len(group))
    finally:
        if started:
            ray.shutdown()
    return [o for o in outcomes if o is not None]
