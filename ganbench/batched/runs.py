"""The batched runs: which runs may be trained together (``check_runs``, ``seed_groups``), their members built as
``train`` builds them (``build_members``), and ``train_batched``, which trains them and writes each run's files."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import torch

from ..config import RunConfig
from ..data import Dataset, get_dataset
from ..files import atomic_write_json, load_checkpoint
from ..registry import ConfigError
from ..results import CHECKPOINT, CONFIG
from ..train import (GAN, Evaluator, RunRecord, TrainResult, build_gan, evaluate_in_eval_mode, load_state,
                     history_until, refresh_due, sample_png, seed_for, state_dict, train)
from .gan import BatchedGAN


def check_runs(runs: Sequence[RunConfig], run_dirs: Sequence[Any]) -> None:
    """Runs batched together must differ only in their seed (and suite name)."""
    if not runs:
        raise ConfigError("train_batched needs at least one run")
    if len(runs) != len(run_dirs):
        raise ConfigError(f"train_batched: {len(runs)} runs but {len(run_dirs)} run directories")
    seeds = [r.seed for r in runs]
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"train_batched: runs must have distinct seeds, got {seeds}")
    for r in runs[1:]:
        if r.config_hash() != runs[0].config_hash():
            raise ConfigError(f"train_batched: run {r.run_id!r} differs from {runs[0].run_id!r} in more than "
                              f"the seed; only seeds of one configuration can be batched")
    if runs[0].train.max_grad_norm is not None:
        raise ConfigError("train.max_grad_norm is not supported with train.seeds_batched = true")


def seed_groups(runs: Sequence[RunConfig]) -> list[list[int]]:
    """Indices of the runs to train together, in order of first appearance: the seeds of one configuration
    whose ``train.seeds_batched`` is true form one group; every other run is a group of its own."""
    groups: list[list[int]] = []
    by_config: dict[str, list[int]] = {}
    for i, run in enumerate(runs):
        if not run.train.seeds_batched:
            groups.append([i])
            continue
        key = run.config_hash()
        if key not in by_config:
            by_config[key] = []
            groups.append(by_config[key])
        if run.seed in {runs[j].seed for j in by_config[key]}:
            groups.append([i])  # the same seed twice (another suite name): train it on its own
        else:
            by_config[key].append(i)
    return groups


def build_members(runs: Sequence[RunConfig], ds: Dataset) -> tuple[list[GAN], list[torch.Tensor]]:
    """Each member built exactly as ``train`` builds it, and the global RNG state that run would be left with."""
    members, rng = [], []
    for run in runs:
        torch.manual_seed(seed_for(run.seed, "init"))
        members.append(build_gan(run, ds))
        rng.append(torch.get_rng_state())
    return members, rng


def train_batched(runs: Sequence[RunConfig], run_dirs: Sequence[str | Path],
                  evaluators: Optional[Sequence[Optional[Evaluator]]] = None,
                  progress: Optional[Callable[[int], None]] = None) -> list[TrainResult]:
    """Train ``runs`` (seeds of one configuration) together; each run directory ends as ``train`` leaves it.

    Resumes from the runs' checkpoints when they all stopped at the same step; when they did not, each run
    is continued on its own by ``train``. ``evaluators[k](step, G)`` is called like ``train``'s evaluator.
    """
    check_runs(runs, run_dirs)
    dirs = [Path(d) for d in run_dirs]
    evaluators = list(evaluators) if evaluators is not None else [None] * len(runs)
    ckpts: list[Optional[dict[str, Any]]] = []
    for run, d in zip(runs, dirs):
        d.mkdir(parents=True, exist_ok=True)
        atomic_write_json(d / CONFIG, run.to_dict())
        ckpts.append(load_checkpoint(d / CHECKPOINT) if (d / CHECKPOINT).exists() else None)
    starts = [0 if c is None else int(c["step"]) for c in ckpts]
    diverged = any(c is not None and c.get("status") == "diverged" for c in ckpts)
    if len(set(starts)) > 1 or diverged:  # cannot move in lockstep: each run goes on (or stays stopped) by itself
        return [train(r, d, evaluator=e, progress=progress) for r, d, e in zip(runs, dirs, evaluators)]
    run0 = runs[0]
    ds = get_dataset(run0.data.name, **run0.data.params)
    members, rng = build_members(runs, ds)
    walls = [0.0] * len(runs)
    histories: list[list[dict[str, Any]]] = [[] for _ in runs]
    if starts[0] > 0:  # every run has a checkpoint at that step, read above (load_state_dict moves it to the device)
        for k, (m, d, ckpt) in enumerate(zip(members, dirs, ckpts)):
            load_state(m, ckpt)  # type: ignore[arg-type]
            rng[k], walls[k] = torch.get_rng_state(), float(ckpt.get("wall_time", 0.0))  # type: ignore[union-attr]
            histories[k] = history_until(d, starts[0])
    for m in members:
        m.G.train(), m.D.train()
    bgan = BatchedGAN(members, run0)
    return _loop(bgan, runs, dirs, ds, evaluators, progress, starts[0], walls, histories, rng)


def _loop(bgan: BatchedGAN, runs: Sequence[RunConfig], dirs: list[Path], ds: Dataset,
          evaluators: list[Optional[Evaluator]], progress: Optional[Callable[[int], None]], step: int,
          walls: list[float], histories: list[list[dict[str, Any]]], rng: list[torch.Tensor]) -> list[TrainResult]:
    cfg, K = runs[0].train, len(runs)
    records = [RunRecord(run, d, h, w) for run, d, h, w in zip(runs, dirs, histories, walls)]
    results: list[Optional[TrainResult]] = [None] * K

    def with_rng(k: int, fn: Callable[[], Any]) -> Any:
        # Member k's global RNG stream, as in its own process: whatever fn draws from it stays with member k.
        torch.set_rng_state(rng[k])
        try:
            return fn()
        finally:
            rng[k] = torch.get_rng_state()

    def save(k: int, status: str, reason: str = "") -> None:
        ck = state_dict(bgan.sync_member(k), step, status)
        ck["rng_torch"] = rng[k]
        records[k].save(ck, reason)

    def finish(k: int, status: str, reason: str) -> None:
        save(k, status, reason)
        m = bgan.members[k]
        results[k] = records[k].finish(status, step, reason,
                                       lambda: with_rng(k, lambda: sample_png(m.G, m.ema, ds, dirs[k], runs[k].seed)))

    def evaluated(k: int) -> dict[str, float]:
        m = bgan.sync_member(k, optimizers=False)
        return with_rng(k, lambda: evaluate_in_eval_mode(evaluators[k], step, m.G, m.ema))  # type: ignore[arg-type]

    while step < cfg.steps and any(r is None for r in results):
        log = records[0].log_due(step)  # members share the training configuration
        stats = bgan.step(log=log)
        step += 1
        active = [k for k in range(K) if results[k] is None]
        member_stats = {k: {key: v[k] for key, v in stats.items()} for k in active}
        for k in active:
            if (why := records[k].divergence(step, member_stats[k])) is not None:
                finish(k, "diverged", why)
        live = [k for k in active if results[k] is None]
        due = {k: records[k].eval_due(step, evaluators[k]) for k in live}
        if any(refresh_due(runs[k], step, due[k]) for k in live):  # before the evaluations, as train's
            bgan.refresh_population([run.seed for run in runs], step)
        for k in live:
            records[k].record(step, member_stats[k], log, evaluated(k) if due[k] else None)
        if progress is not None:
            progress(len(active))
        if step % cfg.checkpoint_every == 0 and step < cfg.steps:
            for k in range(K):
                if results[k] is None:
                    save(k, "running")
    for k in range(K):
        if results[k] is None:
            finish(k, "finished", "")
    return [r for r in results if r is not None]
