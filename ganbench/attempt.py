"""One run's attempt: skip when complete, lock, resume from a usable checkpoint, train and evaluate, record.

``run_one`` runs one run, ``run_group`` the seeds of one batched configuration; both return ``RunOutcome``.
The rules a rerun relies on (locks, ``runner.json``, damaged files moved aside) are listed in ``runner``,
which runs a whole suite through ``executors``; executors call this module, never ``runner``.
"""
from __future__ import annotations

import datetime
import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import torch
from filelock import FileLock, Timeout

from .config import RunConfig
from .files import CorruptFileError, atomic_write_json, atomic_write_text, load_checkpoint, read_json
from .registry import one_line
from .results import ATTEMPTS, CHECKPOINT, CONFIG, ERROR, HISTORY, LOCK, METRICS, STATUS, read_history, read_metrics

__all__ = ["RunOutcome", "run_one", "run_group", "worker_id"]


@dataclass
class RunOutcome:
    run_id: str
    run_dir: str
    status: str        # finished | diverged | failed | skipped (already complete) | busy (locked elsewhere)
    wall_time: float = 0.0
    error: str = ""
    worker: str = ""   # host:pid that trained the run (for busy: the holder of the lock, when known)
    resumed_from: int = 0  # checkpoint step the run continued from (0: from scratch)
    notes: list[str] = field(default_factory=list)  # e.g. corrupt files moved aside


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# ---------------------------------------------------------------- one run

def run_one(run: RunConfig, run_dir: str | Path, progress: Optional[Callable[[int], None]] = None) -> RunOutcome:
    """Train and evaluate one run in ``run_dir`` (skip when complete, resume when a checkpoint exists)."""
    from .evaluate import git_commit, make_training_evaluator
    from .train import train
    git_commit()  # the trained code's commit, read before anything trains (cached for the process)
    a = _begin(run, Path(run_dir))
    if isinstance(a, RunOutcome):
        return a
    try:
        evaluator = make_training_evaluator(run)
        result: Any = train(run, a.run_dir, evaluator=evaluator, progress=progress)
    except Exception as e:
        result = e
    except BaseException:  # KeyboardInterrupt: the attempt stays open in runner.json (a rerun marks it interrupted)
        _unlock(a)
        raise
    return _end(a, result)


def run_group(jobs: list[tuple[RunConfig, str | Path]],
              progress: Optional[Callable[[int], None]] = None) -> list[RunOutcome]:
    """Seeds of one configuration (a ``batched.seed_groups`` group) trained together by
    ``batched.train_batched``, then evaluated one by one; outcomes in the order of ``jobs``.

    Each run is skipped, found busy, resumed and recorded exactly as by ``run_one``; only the runs that
    still need work join the batch. An exception in the shared training fails every run of the batch (each
    recorded as ``failed``; a rerun tries them again from their checkpoints); one in a run's evaluation
    fails that run only. A group of one run is ``run_one``.
    """
    if len(jobs) == 1:
        return [run_one(jobs[0][0], jobs[0][1], progress=progress)]
    from .batched import train_batched
    from .evaluate import git_commit, make_training_evaluator
    git_commit()  # as in run_one: before anything trains
    outcomes: dict[int, RunOutcome] = {}
    begun: list[tuple[int, _Attempt]] = []
    try:
        for i, (run, run_dir) in enumerate(jobs):
            a = _begin(run, Path(run_dir))
            if isinstance(a, RunOutcome):
                outcomes[i] = a
            else:
                begun.append((i, a))
        results: list[Any] = []
        if begun:
            try:
                evaluators = [make_training_evaluator(a.run) for _, a in begun]
                results = list(train_batched([a.run for _, a in begun], [a.run_dir for _, a in begun],
                                             evaluators=evaluators, progress=progress))
            except Exception as e:
                results = [e] * len(begun)
        for (i, a), result in zip(begun, results):
            outcomes[i] = _end(a, result)
    except BaseException:  # KeyboardInterrupt (or a failure recording a failure): no lock outlives the group
        for _, a in begun:
            _unlock(a)
        raise
    return [outcomes[i] for i in range(len(jobs))]


@dataclass
class _Attempt:
    """A run whose lock this process holds and whose attempt is recorded in ``runner.json``."""
    run: RunConfig
    run_dir: Path
    lock: FileLock
    t0: float
    worker: str
    notes: list[str]
    resumed_from: int = 0
    recorded: bool = False
    locked: bool = True


def _unlock(a: _Attempt) -> None:
    if a.locked:  # exactly once: a run group may reach here from _end and from its interrupt handler
        a.locked = False
        a.lock.release()


def _begin(run: RunConfig, run_dir: Path) -> RunOutcome | _Attempt:
    """Everything before training: skip a complete run, lock, clean up, find the checkpoint, record the
    attempt. Returns the outcome when there is nothing to train (skipped, busy, failed), else the attempt."""
    run_dir.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    if _complete(run_dir, notes, quarantine=False) and _config_readable(run_dir):
        return RunOutcome(run.run_id, str(run_dir), "skipped", notes=notes)
    lock = FileLock(str(run_dir / LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return RunOutcome(run.run_id, str(run_dir), "busy", worker=_current_holder(run_dir),
                          error="locked by another process")
    a = _Attempt(run, run_dir, lock, time.perf_counter(), worker_id(), notes)
    try:
        if _complete(run_dir, notes, quarantine=True):  # finished (perhaps by another process before we got the lock)
            _restore_config(run, run_dir, notes)
            _unlock(a)
            return RunOutcome(run.run_id, str(run_dir), "skipped", notes=notes)
        _remove_stale_temp_files(run_dir)
        (run_dir / ERROR).unlink(missing_ok=True)  # of an earlier failed attempt; runner.json keeps its reason
        a.resumed_from = _usable_checkpoint_step(run, run_dir, notes)
        _record_attempt(run_dir, {"worker": a.worker, "started": _now(), "resumed_from": a.resumed_from,
                                  "threads": torch.get_num_threads()})
        a.recorded = True
        return a
    except Exception as e:
        return _end(a, e)
    except BaseException:
        _unlock(a)
        raise


def _end(a: _Attempt, result: Any) -> RunOutcome:
    """Everything after training: evaluate and record the ``TrainResult``, or record the exception training
    raised as ``failed``; the run's lock is released either way."""
    from .evaluate import evaluate_run
    try:
        if isinstance(result, Exception):
            return _failed(a, result)
        try:
            evaluate_run(a.run_dir, run=a.run, train_status=result.status)
            _record_attempt(a.run_dir, {"ended": _now(), "status": result.status}, update=True)
        except Exception as e:
            return _failed(a, e)
        return RunOutcome(a.run.run_id, str(a.run_dir), result.status, time.perf_counter() - a.t0, worker=a.worker,
                          resumed_from=a.resumed_from, notes=a.notes)
    finally:
        _unlock(a)


def _failed(a: _Attempt, e: Exception) -> RunOutcome:
    msg = one_line(e)
    atomic_write_json(a.run_dir / STATUS, {"status": "failed", "reason": msg})
    atomic_write_text(a.run_dir / ERROR, "".join(traceback.format_exception(type(e), e, e.__traceback__)))
    entry = {"ended": _now(), "status": "failed", "reason": msg}
    _record_attempt(a.run_dir, entry if a.recorded else {"worker": a.worker, "started": entry["ended"], **entry},
                    update=a.recorded)
    return RunOutcome(a.run.run_id, str(a.run_dir), "failed", time.perf_counter() - a.t0, msg, worker=a.worker,
                      resumed_from=a.resumed_from, notes=a.notes)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _complete(run_dir: Path, notes: list[str], quarantine: bool) -> bool:
    """``metrics.json`` exists and reads back; an unreadable one is moved aside (only under the lock)."""
    path = run_dir / METRICS
    if not path.is_file():
        return False
    try:
        read_metrics(run_dir)  # "fid": "garbage" is as unusable as a truncated file
        return True
    except CorruptFileError as e:
        if quarantine:
            notes.append(f"{e}; moved to {_move_aside(path).name}, re-evaluating")
        return False


def _config_readable(run_dir: Path) -> bool:
    try:
        return isinstance(read_json(run_dir / CONFIG), dict)
    except CorruptFileError:
        return False


def _restore_config(run: RunConfig, run_dir: Path, notes: list[str]) -> None:
    """A complete run's config.json, when missing or unreadable, is written again from the suite: report,
    baseline and eval need it, and the directory name (config hash) says the suite's run is this one."""
    path = run_dir / CONFIG
    if _config_readable(run_dir):
        return
    what = f"unreadable, moved to {_move_aside(path).name}" if path.exists() else "missing"
    atomic_write_json(path, run.to_dict())
    notes.append(f"{path.name} was {what}; rewritten from the suite")


def _usable_checkpoint_step(run: RunConfig, run_dir: Path, notes: list[str]) -> int:
    """Step of a checkpoint the trainer can continue from; unreadable ones, and ones that do not fit the run's
    models (other keys or shapes), are moved aside (retrain) rather than failing the run on every rerun."""
    from .train import checkpoint_misfit
    ckpt_path, hist_path = run_dir / CHECKPOINT, run_dir / HISTORY
    if not ckpt_path.exists():
        return 0
    try:
        # Loaded once more by train(): for the small models of a suite that is cheap, and it lets a corrupt
        # checkpoint be told apart from other CorruptFileErrors (extractor weights, ...) raised in training.
        ckpt = load_checkpoint(ckpt_path)
        step = int(ckpt["step"])
        if not hist_path.is_file():
            raise CorruptFileError(f"{hist_path}: missing beside {ckpt_path.name}")
        read_history(hist_path)
    except (CorruptFileError, KeyError, TypeError, ValueError) as e:
        return _retrain(str(e), ckpt_path, hist_path, notes)
    misfit = checkpoint_misfit(run, ckpt)  # outside the try: errors building the models are not the checkpoint's
    if misfit is not None:
        return _retrain(f"{ckpt_path}: {misfit}", ckpt_path, hist_path, notes)
    return step


def _retrain(why: str, ckpt_path: Path, hist_path: Path, notes: list[str]) -> int:
    moved = [_move_aside(p).name for p in (ckpt_path, hist_path) if p.exists()]
    notes.append(f"{why}; moved {', '.join(moved)} aside, retraining from scratch")
    return 0


def _move_aside(path: Path) -> Path:
    dest = path.with_name(path.name + ".corrupt")
    os.replace(path, dest)
    return dest


def _remove_stale_temp_files(run_dir: Path) -> None:
    # ganbench.files writes ".<name>.<random>.tmp" then renames it; a process killed in between leaves the temp
    # file behind. Only the lock holder writes in a run directory, so any such file here is an orphan.
    for p in run_dir.glob(".*.tmp"):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def _attempts(run_dir: Path) -> list[dict[str, Any]]:
    try:
        doc = read_json(run_dir / ATTEMPTS)
        return list(doc["attempts"]) if isinstance(doc, dict) and isinstance(doc.get("attempts"), list) else []
    except CorruptFileError:  # missing or damaged: the record restarts (it is informational only)
        return []


def _record_attempt(run_dir: Path, entry: dict[str, Any], update: bool = False) -> None:
    """Append an attempt to ``runner.json`` (or update the last one); called only under the run's lock."""
    attempts = _attempts(run_dir)
    if update and attempts:
        attempts[-1].update(entry)
    else:
        for a in attempts:  # an attempt still open when a new one starts was killed (we hold the lock now)
            a.setdefault("status", "interrupted")
        attempts.append(entry)
    atomic_write_json(run_dir / ATTEMPTS, {"attempts": attempts})


def _current_holder(run_dir: Path) -> str:
    attempts = _attempts(run_dir)
    return str(attempts[-1].get("worker", "")) if attempts and "status" not in attempts[-1] else ""
