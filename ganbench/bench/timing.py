"""Timing primitives: one call timed by CUDA events or ``time.perf_counter``, interleaved timing of several
functions, median and IQR, peak memory (CUDA allocator or process RSS) and the torch thread count while timing."""
from __future__ import annotations

import contextlib
import resource
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch


def _time_ms(fn: Callable[[], Any], cuda: bool) -> float:
    if cuda:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()  # the timed call starts on an idle stream
        start.record()
        fn()
        end.record()
        end.synchronize()
        return float(start.elapsed_time(end))
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def time_interleaved(fns: dict[str, Callable[[], Any]], repeats: int, warmup: int,
                     cuda: bool = False) -> dict[str, np.ndarray]:
    """Milliseconds per call of each function: warm-up calls, then ``repeats`` rounds alternating the order."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    names = list(fns)
    times: dict[str, list[float]] = {k: [] for k in names}
    for i in range(repeats):
        for k in (names if i % 2 == 0 else names[::-1]):
            times[k].append(_time_ms(fns[k], cuda))
    return {k: np.asarray(v, dtype=np.float64) for k, v in times.items()}


def median_iqr(ms: np.ndarray) -> tuple[float, float]:
    q25, q50, q75 = np.percentile(np.asarray(ms, dtype=np.float64), [25, 50, 75])
    return float(q50), float(q75 - q25)


def reset_peak_memory(device: str) -> str:
    """Start a fresh peak; returns how the peak is measured (the table's ``mem_kind``)."""
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        return "cuda max_memory_allocated"
    try:  # Linux: writing 5 resets the process's peak RSS (VmHWM) to its current RSS
        Path("/proc/self/clear_refs").write_text("5")
        return "peak RSS since row start"
    except OSError:
        return "peak RSS of the process"


def peak_memory_mb(device: str) -> float:
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


@contextlib.contextmanager
def threads_set(n: Optional[int]) -> Any:
    """torch's intra-op thread count set to ``n`` for the block. On a loaded machine one thread per process
    avoids OpenMP workers spinning against other processes (10x slower steps were seen with 2 on 2 busy cores)."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
