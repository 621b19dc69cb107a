"""The single-step benchmark: ganbench's ``train_step`` per model × loss (with AMP, compile, channels_last or
CUDA graphs) timed against the hand-written reference, one row each (``bench_case``), the table (``bench``,
``COLUMNS``) and ``format_table``, which prints this table or the batched-seeds one."""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import torch

from ..losses import LOSSES
from ..models import MODELS
from ..registry import ConfigError
from ..train import GAN, train_step
from .cuda_graphs import StagedStep
from .gan_setup import bench_dataset, bench_run, compile_models, prepare_gan
from .options import BenchOptions, amp_context, check_options, skip_reason
from .reference import REFERENCE_LOSSES, reference_loop, reference_step
from .timing import median_iqr, peak_memory_mb, reset_peak_memory, threads_set, time_interleaved

DEFAULT_MODELS = ("mlp", "dcgan")
COLUMNS = ["model", "loss", "batch", "device", "threads", "amp", "compile", "channels_last", "cuda_graphs", "n_critic",
           "step_ms", "iqr_ms", "samples_per_s", "reference_ms", "reference_iqr_ms", "overhead_pct",
           "peak_mem_mb", "mem_kind", "status"]


def bench_case(model: str, loss: str, opts: BenchOptions, model_params: dict[str, Any] | None = None,
               loss_params: dict[str, Any] | None = None) -> dict[str, Any]:
    """One row of the table (status "ok" or "skipped: reason")."""
    row: dict[str, Any] = {"model": model, "loss": loss, "batch": opts.batch, "device": opts.device,
                           "threads": torch.get_num_threads(),
                           "amp": opts.amp or "", "compile": opts.compile, "channels_last": opts.channels_last,
                           "cuda_graphs": opts.cuda_graphs}
    try:
        ds = bench_dataset(model, opts.image_size)
        run = bench_run(model, loss, opts.batch, opts.device, model_params, loss_params)
        mem_kind = reset_peak_memory(opts.device)
        gan = prepare_gan(run, ds, opts)
    except ConfigError as e:  # e.g. an image size this model does not accept
        return {**row, "status": f"skipped: {e}"}
    row["n_critic"] = gan.n_critic
    reason = skip_reason(model, gan.loss, opts)
    if reason:
        return {**row, "status": f"skipped: {reason}"}
    try:
        return _timed_row(row, gan, loss, opts, mem_kind)
    except Exception as e:  # e.g. torch.compile without a C++ compiler: the other rows still run
        first = (str(e).strip().splitlines() or [""])[0]
        return {**row, "status": f"failed: {type(e).__name__}: {first}"}


def _timed_row(row: dict[str, Any], gan: GAN, loss: str, opts: BenchOptions, mem_kind: str) -> dict[str, Any]:
    amp = amp_context(opts)
    ref = reference_loop(gan) if opts.reference and loss in REFERENCE_LOSSES else None
    if opts.compile:
        for holder in (gan, ref):
            if holder is not None:
                compile_models(holder)
    step: Callable[[], Any] = lambda: train_step(gan)  # noqa: E731
    if opts.cuda_graphs:
        staged = StagedStep(gan)
        staged.capture(warmup=opts.warmup, amp=amp)
        step = staged

    def ganbench_step() -> None:
        with amp():
            step()

    def ref_step() -> None:
        with amp():
            reference_step(ref)  # type: ignore[arg-type]

    cuda = opts.device == "cuda"
    for _ in range(opts.warmup):  # the peak is that of ganbench's step (compile happens here too)
        ganbench_step()
    row["peak_mem_mb"], row["mem_kind"] = peak_memory_mb(opts.device), mem_kind
    fns = {"ganbench": ganbench_step, **({"reference": ref_step} if ref is not None else {})}
    times = time_interleaved(fns, opts.repeats, opts.warmup if ref is not None else 0, cuda)
    row["step_ms"], row["iqr_ms"] = median_iqr(times["ganbench"])
    row["samples_per_s"] = opts.batch / (row["step_ms"] / 1e3)
    if ref is not None:
        row["reference_ms"], row["reference_iqr_ms"] = median_iqr(times["reference"])
        row["overhead_pct"] = 100.0 * (row["step_ms"] / row["reference_ms"] - 1.0)
    row["status"] = "ok"
    return row


def bench(models: Sequence[str] = DEFAULT_MODELS, losses: Sequence[str] | None = None,
          opts: BenchOptions = BenchOptions(), model_params: dict[str, dict[str, Any]] | None = None,
          progress: Optional[Callable[[dict[str, Any]], None]] = None) -> Any:
    """The table (a pandas DataFrame with ``COLUMNS``) of every model × loss; ``losses`` None: all registered."""
    import pandas as pd
    check_options(opts)
    losses = list(losses) if losses is not None else LOSSES.names()
    for name in models:
        MODELS.get(name, "--models")
    for name in losses:
        LOSSES.get(name, "--losses")
    for name in models:  # bad parameters fail the command; a shape a model cannot take only skips its rows
        MODELS.check_params(name, (model_params or {}).get(name, {}), where="--model-param", skip=("data_shape",))
    rows = []
    with threads_set(opts.threads):
        for model in models:
            for loss in losses:
                row = bench_case(model, loss, opts, (model_params or {}).get(model))
                rows.append(row)
                if progress is not None:
                    progress(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def format_table(df: Any) -> str:
    import pandas as pd
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.max_colwidth", 90,
                           "display.float_format", "{:.4g}".format):
        return df.to_string(index=False)
