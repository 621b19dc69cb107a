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
"""
from __future__ import annotations

import contextlib
import copy
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .config import DataConfig, LossConfig, ModelConfig, OptimConfig, RunConfig, TrainConfig
from .data import Dataset, get_dataset
from .losses import LOSSES
from .models import MODELS
from .registry import ConfigError
from .train import GAN, build_gan, seed_for, train_step, update_ema

DEFAULT_MODELS = ("mlp", "dcgan")
IMAGE_MODELS = ("dcgan", "infogan", "sndcgan")
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
REFERENCE_LOSSES = ("minimax", "ns", "lsgan", "wgan", "wgan-gp", "hinge", "feature-matching", "dragan",
                    "rsgan", "ragan")
COLUMNS = ["model", "loss", "batch", "device", "threads", "amp", "compile", "channels_last", "cuda_graphs", "n_critic",
           "step_ms", "iqr_ms", "samples_per_s", "reference_ms", "reference_iqr_ms", "overhead_pct",
           "peak_mem_mb", "mem_kind", "status"]


@dataclass(frozen=True)
class BenchOptions:
    batch: int = 64
    device: str = "cpu"
    amp: Optional[str] = None          # None | "bf16" | "fp16"
    compile: bool = False
    channels_last: bool = False
    cuda_graphs: bool = False
    repeats: int = 30
    warmup: int = 5
    image_size: Optional[int] = None   # None: digits 8x8 for image models; else random 3xSxS tensors
    reference: bool = True
    threads: Optional[int] = None      # torch intra-op threads while timing; None: leave torch's setting


# ---------------------------------------------------------------- what can run

def check_options(opts: BenchOptions) -> None:
    """Errors that concern every row: one ConfigError line naming the flag, the value and what is accepted."""
    for key, value, low in (("--batch", opts.batch, 1), ("--repeats", opts.repeats, 1), ("--warmup", opts.warmup, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{key} must be an integer >= {low}, got {value!r}")
    if opts.device not in ("cpu", "cuda"):
        raise ConfigError(f"--device must be cpu or cuda, got {opts.device!r}")
    if opts.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA GPU is available (torch.cuda.is_available() is False); use --device cpu")
    if opts.amp is not None and opts.amp not in AMP_DTYPES:
        raise ConfigError(f"--amp must be one of {', '.join(AMP_DTYPES)}, got {opts.amp!r}")
    if opts.amp == "fp16" and opts.device == "cpu":
        raise ConfigError("--amp fp16 needs --device cuda (CPU autocast runs bf16 only); use --amp bf16")
    if opts.cuda_graphs and opts.device != "cuda":
        raise ConfigError("--cuda-graphs needs --device cuda")
    if opts.cuda_graphs and opts.compile:
        raise ConfigError("--cuda-graphs and --compile together are not supported; "
                          "torch.compile(mode='reduce-overhead') captures CUDA graphs itself")
    if opts.threads is not None and (isinstance(opts.threads, bool) or not isinstance(opts.threads, int)
                                     or opts.threads < 1):
        raise ConfigError(f"--threads must be an integer >= 1, got {opts.threads!r}")
    if opts.image_size is not None and (isinstance(opts.image_size, bool) or not isinstance(opts.image_size, int)
                                        or opts.image_size < 1):
        raise ConfigError(f"--image-size must be a positive integer, got {opts.image_size!r}")


def has_penalty(loss: Any) -> bool:
    """True when the D step takes a gradient of D w.r.t. its input (a double backward)."""
    return loss.own_penalty is not None or loss.r1_gamma > 0 or loss.r2_gamma > 0


def skip_reason(model: str, loss: Any, opts: BenchOptions) -> Optional[str]:
    """Why ``model`` × ``loss`` cannot run under ``opts`` (None: it can)."""
    if opts.channels_last and model not in IMAGE_MODELS:
        return f"--channels-last applies to image models (4-D tensors); {model!r} is not one"
    if has_penalty(loss) and opts.cuda_graphs:
        return f"--cuda-graphs cannot capture the double backward of the gradient penalty of loss {loss.name!r}"
    if has_penalty(loss) and opts.compile:
        return f"torch.compile does not support the double backward of the gradient penalty of loss {loss.name!r}"
    return None


# ---------------------------------------------------------------- data and the GAN for one row

class RandomImages(Dataset):
    """Uniform [-1, 1] tensors of a fixed image shape: timing needs the shape, not the content."""

    def __init__(self, shape: tuple[int, ...]):
        super().__init__("random", {"shape": list(shape)}, shape)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.rand((n, *self.shape), generator=generator, device=generator.device) * 2 - 1


def bench_dataset(model: str, image_size: Optional[int] = None) -> Dataset:
    """ring8 for point models; digits 8x8 for image models, or random 3xSxS tensors for ``image_size`` S."""
    if model not in IMAGE_MODELS:
        return get_dataset("ring8")
    if image_size is None:
        return get_dataset("digits", size=8)
    return RandomImages((3, image_size, image_size))


def bench_run(model: str, loss: str, batch: int, device: str, model_params: dict[str, Any] | None = None,
              loss_params: dict[str, Any] | None = None, seed: int = 0) -> RunConfig:
    return RunConfig(suite="bench", seed=seed, data=DataConfig("bench"),
                     model=ModelConfig(model, dict(model_params or {})), loss=LossConfig(loss, dict(loss_params or {})),
                     optim=OptimConfig(), train=TrainConfig(batch_size=batch, device=device))


def prepare_gan(run: RunConfig, ds: Dataset, opts: BenchOptions) -> GAN:
    """``build_gan`` seeded as ``train`` seeds it, with G and D in channels_last when asked."""
    torch.manual_seed(seed_for(run.seed, "init"))
    gan = build_gan(run, ds)
    if opts.channels_last:
        # Module.to swaps parameter data in place, so the optimisers still hold the same parameters.
        gan.G.to(memory_format=torch.channels_last)
        gan.D.to(memory_format=torch.channels_last)
        sample = gan.sample_real
        gan.sample_real = lambda n, g: sample(n, g).contiguous(memory_format=torch.channels_last)
    return gan


def compile_models(holder: Any) -> None:
    """``torch.compile`` G and D of a GAN or reference loop (attribute access falls through to the module)."""
    holder.G, holder.D = torch.compile(holder.G), torch.compile(holder.D)


# ---------------------------------------------------------------- the hand-written reference

@dataclass
class ReferenceLoop:
    """The same G, D, data, latents and optimiser settings as a ganbench GAN, trained by ``reference_step``."""
    G: torch.nn.Module
    D: torch.nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    sample: Callable[[int, torch.Generator], torch.Tensor]
    gen: torch.Generator
    loss: str
    p: dict[str, Any]
    n_critic: int
    bs: int
    z_dim: int
    uniform: bool
    ones: torch.Tensor
    zeros: torch.Tensor


def reference_loop(gan: GAN) -> ReferenceLoop:
    """A copy of ``gan`` before its first step (same weights, optimiser settings and RNG state)."""
    if gan.loss.name not in REFERENCE_LOSSES:
        raise ConfigError(f"no hand-written reference for loss {gan.loss.name!r}; "
                          f"references exist for: {', '.join(REFERENCE_LOSSES)}")
    G, D = copy.deepcopy(gan.G), copy.deepcopy(gan.D)
    opt_g, opt_d = (type(o)(m.parameters(), **{k: v for k, v in o.param_groups[0].items() if k != "params"})
                    for o, m in ((gan.opt_g, G), (gan.opt_d, D)))
    gen = torch.Generator(device=gan.generator.device)
    gen.set_state(gan.generator.get_state())
    dev, bs = gan.device, gan.batch_size
    return ReferenceLoop(G, D, opt_g, opt_d, gan.sample_real, gen, gan.loss.name, dict(gan.loss.params),
                         gan.n_critic, bs, G.z_dim, G.latent == "uniform",
                         torch.ones(bs, device=dev), torch.zeros(bs, device=dev))


def _input_grad(D: Any, x: torch.Tensor) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    return torch.autograd.grad(D(x).score.sum(), x, create_graph=True)[0].flatten(1)


def reference_step(ref: ReferenceLoop) -> None:
    """One GAN step the way it is usually written: the loss inline, zero_grad / backward / step."""
    G, D, gen, bs, name, p = ref.G, ref.D, ref.gen, ref.bs, ref.loss, ref.p
    bce, ones, zeros = F.binary_cross_entropy_with_logits, ref.ones, ref.zeros
    dev = ones.device

    def z() -> torch.Tensor:
        if ref.uniform:
            return torch.rand(bs, ref.z_dim, generator=gen, device=gen.device).to(dev) * 2 - 1
        return torch.randn(bs, ref.z_dim, generator=gen, device=gen.device).to(dev)

    for _ in range(ref.n_critic):
        real = ref.sample(bs, gen).to(dev)
        with torch.no_grad():
            fake = G(z())
        r, f = D(real).score, D(fake).score
        if name == "lsgan":
            d_loss = 0.5 * ((r - p["b"]) ** 2).mean() + 0.5 * ((f - p["a"]) ** 2).mean()
        elif name in ("wgan", "wgan-gp"):
            d_loss = f.mean() - r.mean()
        elif name == "hinge":
            d_loss = F.relu(1 - r).mean() + F.relu(1 + f).mean()
        elif name == "rsgan":
            d_loss = bce(r - f, ones)
        elif name == "ragan":
            d_loss = bce(r - f.mean(), ones) + bce(f - r.mean(), zeros)
        else:  # minimax, ns, feature-matching, dragan
            d_loss = bce(r, ones) + bce(f, zeros)
        if name == "wgan-gp":
            eps = torch.rand((bs,) + (1,) * (real.dim() - 1), generator=gen, device=gen.device)
            g = _input_grad(D, eps * real + (1 - eps) * fake)
            d_loss = d_loss + p["gp_weight"] * ((g.norm(2, dim=1) - 1) ** 2).mean()
        elif name == "dragan":
            u = torch.rand(real.shape, generator=gen, device=gen.device)
            g = _input_grad(D, real + 0.5 * real.std(correction=0) * u)
            d_loss = d_loss + p["gp_weight"] * ((g.norm(2, dim=1) - 1) ** 2).mean()
        if p.get("r1_gamma"):
            d_loss = d_loss + p["r1_gamma"] / 2 * (_input_grad(D, real) ** 2).sum(1).mean()
        if p.get("r2_gamma"):
            d_loss = d_loss + p["r2_gamma"] / 2 * (_input_grad(D, fake) ** 2).sum(1).mean()
        ref.opt_d.zero_grad()
        d_loss.backward()
        ref.opt_d.step()
        if name == "wgan" and p.get("clip") is not None:
            with torch.no_grad():
                for w in D.parameters():
                    w.clamp_(-p["clip"], p["clip"])
    out = D(G(z()))
    f = out.score
    if name in ("feature-matching", "rsgan", "ragan"):
        out_r = D(ref.sample(bs, gen).to(dev))
    if name == "minimax":
        g_loss = -bce(f, zeros)
    elif name == "lsgan":
        g_loss = 0.5 * ((f - p["c"]) ** 2).mean()
    elif name in ("wgan", "wgan-gp", "hinge"):
        g_loss = -f.mean()
    elif name == "feature-matching":
        g_loss = ((out_r.features.detach().mean(0) - out.features.mean(0)) ** 2).sum()
    elif name == "rsgan":
        g_loss = bce(f - out_r.score, ones)
    elif name == "ragan":
        g_loss = bce(f - out_r.score.mean(), ones) + bce(out_r.score - f.mean(), zeros)
    else:  # ns, dragan
        g_loss = bce(f, ones)
    ref.opt_g.zero_grad()
    g_loss.backward()
    ref.opt_g.step()


# ---------------------------------------------------------------- CUDA graphs: sampling outside, the rest replayed

class StagedStep:
    """``train_step`` split in two: draw every batch and latent first (same generator, same order), then the
    updates on those tensors. Eager on any device; ``capture()`` records the update part as one CUDA graph
    and later calls copy fresh draws into the captured inputs and replay it.
    Losses with gradient penalties are refused (their draws and double backward stay in ``train_step``)."""

    def __init__(self, gan: GAN):
        if has_penalty(gan.loss):
            raise ConfigError(f"StagedStep: loss {gan.loss.name!r} has a gradient penalty; "
                              f"use train_step (CUDA graphs need penalty-free losses)")
        self.gan = gan
        self.graph: Any = None
        self.static: list[torch.Tensor] = []
        self.out: tuple[torch.Tensor, torch.Tensor] | None = None

    def draw(self) -> list[torch.Tensor]:
        gan, bs, gen = self.gan, self.gan.batch_size, self.gan.generator
        out: list[torch.Tensor] = []
        for _ in range(gan.n_critic):  # train_step's order: real, latent per D step; then G's latent, real
            out.append(gan.sample_real(bs, gen).to(gan.device))
            out.append(gan.G.sample_latent(bs, gen).to(gan.device))
        out.append(gan.G.sample_latent(bs, gen).to(gan.device))
        if gan.loss.needs_real_for_g:
            out.append(gan.sample_real(bs, gen).to(gan.device))
        return out

    def updates(self, inputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        gan, G, D, loss = self.gan, self.gan.G, self.gan.D, self.gan.loss
        for i in range(gan.n_critic):
            real, z = inputs[2 * i], inputs[2 * i + 1]
            with torch.no_grad():
                fake = G(z)
            d_real = D(real)
            d_loss = loss.d_loss(d_real, D(fake))
            gan.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            gan.opt_d.step()
            if loss.clip is not None:
                with torch.no_grad():
                    for w in D.parameters():
                        w.clamp_(-loss.clip, loss.clip)
        d_fake_g = D(G(inputs[2 * gan.n_critic]))
        real_g = D(inputs[-1]) if loss.needs_real_for_g else d_real
        g_loss = loss.g_loss(d_fake_g, real_g)
        gan.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        gan.opt_g.step()
        if gan.ema is not None:
            update_ema(gan.ema, G, gan.ema_decay)
        return d_loss.detach(), g_loss.detach()

    def capture(self, warmup: int = 3, amp: Callable[[], Any] = contextlib.nullcontext) -> None:
        """Warm up on a side stream (allocates optimiser state), then record ``updates`` as one CUDA graph."""
        if self.gan.device.type != "cuda":
            raise ConfigError(f"CUDA graphs need a CUDA device, got {self.gan.device}")
        for opt in (self.gan.opt_g, self.gan.opt_d):
            for group in opt.param_groups:
                group["capturable"] = True  # optimiser step counters live on the GPU, read inside the graph
        self.static = self.draw()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side), amp():
            for _ in range(max(1, warmup)):
                self.updates(self.static)
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph), amp():
            self.out = self.updates(self.static)

    def __call__(self, log: bool = False) -> dict[str, float]:
        if self.graph is None:
            d, g = self.updates(self.draw())
        else:
            for s, new in zip(self.static, self.draw()):
                s.copy_(new)
            self.graph.replay()
            d, g = self.out  # type: ignore[misc]
        return {"d_loss": float(d), "g_loss": float(g)}


# ---------------------------------------------------------------- timing and memory

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


# ---------------------------------------------------------------- the benchmark

def amp_context(opts: BenchOptions) -> Callable[[], Any]:
    if opts.amp is None:
        return contextlib.nullcontext
    dtype = AMP_DTYPES[opts.amp]
    # Autocast's weight cache must be off inside CUDA graph capture.
    return lambda: torch.autocast(opts.device, dtype=dtype, cache_enabled=not opts.cuda_graphs)


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


def format_table(df: Any) -> str:
    import pandas as pd
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.max_colwidth", 90,
                           "display.float_format", "{:.4g}".format):
        return df.to_string(index=False)



# ---------------------------------------------------------------- multi-seed batching against sequential seeds

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
    from .batched import BatchedGAN, build_members
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
    from .batched import BatchedGAN, build_members
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
