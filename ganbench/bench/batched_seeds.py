"""Multi-seed batching against sequential seeds: K seeds of an mlp, one ``train_step`` each in turn, timed
interleaved with one step of ``ganbench.batched``'s batched model (``bench_batched``, ``BATCHED_COLUMNS``)."""
from __future__ import annotations

from typing import Any, Optional, Sequence

import torch

from ..data import Dataset, get_dataset
from ..losses import LOSSES
from ..registry import ConfigError
from ..train import train_step
from .gan_setup import bench_run
from .options import BenchOptions, check_options
from .timing import median_iqr, threads_set, time_interleaved


BATCHED_COLUMNS = ["loss", "width", "depth", "seeds", "batch", "threads", "sequential_ms", "sequential_iqr_ms", "batched_ms",
                   "batched_iqr_ms", "speedup", "sequential_steps_per_s", "batched_steps_per_s"]


def bench_batched(seeds: int = 8, widths: Sequence[int] = (64, 128, 400), losses: Sequence[str] | None = None,
                  batch: int = 128, depth: int = 3, repeats: int = 10, warmup: int = 2,
                  device: str = "cpu", threads: Optional[int] = None) -> Any:
    """``seeds`` runs of an mlp on ring8, one ``train_step`` each in turn, against one step of the batched model.

    ``*_ms`` is the time for all seeds to take one step; ``speedup`` = sequential / batched (medians);
    ``*_steps_per_s`` counts member steps (seeds × steps) per second.
    """
    import pandas as pd
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"--batched-seeds must be an integer >= 1, got {seeds!r}")
    check_options(BenchOptions(batch=batch, device=device, repeats=repeats, warmup=warmup, threads=threads))
    losses = list(losses) if losses else ["ns"]
    for name in losses:
        LOSSES.get(name, "--losses")
    ds = get_dataset("ring8")
    rows = []
    with threads_set(threads):
        for loss in losses:
            for width in widths:
                rows.append(_batched_row(ds, loss, width, depth, seeds, batch, repeats, warmup, device))
    return pd.DataFrame(rows, columns=BATCHED_COLUMNS)


def _batched_row(ds: Dataset, loss: str, width: int, depth: int, seeds: int, batch: int, repeats: int,
                 warmup: int, device: str) -> dict[str, Any]:
    from ..batched import BatchedGAN, build_members
    runs = [bench_run("mlp", loss, batch, device, {"hidden": width, "depth": depth}, seed=s) for s in range(seeds)]
    sequential = build_members(runs, ds)[0]
    batched = BatchedGAN(build_members(runs, ds)[0], runs[0])
    times = time_interleaved({"sequential": lambda: [train_step(g) for g in sequential], "batched": batched.step},
                             repeats, warmup, device == "cuda")
    seq, seq_iqr = median_iqr(times["sequential"])
    bat, bat_iqr = median_iqr(times["batched"])
    return {"loss": loss, "width": width, "depth": depth, "seeds": seeds, "batch": batch,
            "threads": torch.get_num_threads(), "sequential_ms": seq, "sequential_iqr_ms": seq_iqr,
            "batched_ms": bat, "batched_iqr_ms": bat_iqr, "speedup": seq / bat,
            "sequential_steps_per_s": seeds / (seq / 1e3), "batched_steps_per_s": seeds / (bat / 1e3)}
