"""Timing the training step: ganbench's ``train_step`` next to a hand-written PyTorch loop of the same GAN.

``bench(models, losses, ...)`` times one full step (n_critic D updates with penalties, one G update) per
model × loss after a warm-up: CUDA events on a GPU (each timed call starts from a synchronised stream),
``time.perf_counter`` elsewhere (CPU ops run synchronously). Each row gives the median and interquartile
range over ``repeats`` calls, samples per second (batch / median step time: a "step" is one G update), the
peak memory, and the same statistics for ``reference_step``, the loop as it is usually written (the formula
inline or BCEWithLogits, zero_grad/backward/step). The two are timed interleaved (ABAB…, BABA…) so that
load from other processes falls on both alike; "overhead %" is ganbench's median over the reference's.

Options apply to both loops: AMP (``torch.autocast``), ``channels_last`` (4-D image models), ``torch.compile``
on G and D. CUDA graphs replay ganbench's step with sampling outside the graph (``StagedStep``); they need
losses without gradient penalties (a double backward) and are compared with the eager reference.
fp16 runs without a GradScaler (``train_step`` has none): its timing is right, its gradients may underflow.
Combinations that cannot run raise ``ConfigError`` for the whole command (no GPU, fp16 on CPU) or give
a row whose status is ``skipped: reason`` (``failed: ...`` if a row raises while it runs).

``bench_batched`` times K seeds of an mlp trained one after another against ``ganbench.batched``'s one
batched model. Interleaving keeps ratios fair on a busy machine; ``threads=1`` keeps OpenMP workers from
spinning against other processes, which made 2-thread steps 10x slower on a loaded 2-core machine.

Modules:

- ``options``: ``BenchOptions``, option checks, skip reasons, the autocast context
- ``gan_setup``: the dataset, ``RunConfig`` and seeded GAN of one row; ``torch.compile`` of G and D
- ``reference``: the hand-written reference loop (``reference_loop``, ``reference_step``)
- ``cuda_graphs``: ``StagedStep``, the step replayed from a CUDA graph
- ``timing``: timers (CUDA events / perf_counter), interleaved timing, median & IQR, peak memory, thread count
- ``step``: the single-step benchmark table (``bench``, ``bench_case``, ``COLUMNS``, ``format_table``)
- ``batched_seeds``: sequential seeds against one batched model (``bench_batched``, ``BATCHED_COLUMNS``)
"""
from __future__ import annotations

from .batched_seeds import BATCHED_COLUMNS, bench_batched
from .cuda_graphs import StagedStep
from .gan_setup import RandomImages, bench_dataset, bench_run, compile_models, prepare_gan
from .options import AMP_DTYPES, IMAGE_MODELS, BenchOptions, amp_context, check_options, has_penalty, skip_reason
from .reference import REFERENCE_LOSSES, ReferenceLoop, reference_loop, reference_step
from .step import COLUMNS, DEFAULT_MODELS, bench, bench_case, format_table
from .timing import median_iqr, peak_memory_mb, reset_peak_memory, threads_set, time_interleaved

__all__ = [
    "AMP_DTYPES", "BATCHED_COLUMNS", "COLUMNS", "DEFAULT_MODELS", "IMAGE_MODELS", "REFERENCE_LOSSES",
    "BenchOptions", "RandomImages", "ReferenceLoop", "StagedStep",
    "amp_context", "bench", "bench_batched", "bench_case", "bench_dataset", "bench_run", "check_options",
    "compile_models", "format_table", "has_penalty", "median_iqr", "peak_memory_mb", "prepare_gan",
    "reference_loop", "reference_step", "reset_peak_memory", "skip_reason", "threads_set", "time_interleaved",
]
