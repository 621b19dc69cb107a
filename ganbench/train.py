"""Training: the GAN algorithm (``train_step``) and a run's life cycle (``train``).

``train_step`` is, by default (``train.updates = "alternating"``), the loop users know: n_critic discriminator
updates, each on a fresh real batch and fresh latents (penalties and weight clipping as the loss asks), then
one generator update on fresh latents against the updated D. With ``"simultaneous"`` (ALI's ``ali_algorithm``,
which PacGAN trains with) one step takes D's and G's gradients at the current parameters on one real batch and
one set of latents, then applies both updates. ``train`` seeds every source of
randomness from the run seed, logs ``history.csv``, writes checkpoints that
hold everything needed to continue bit-for-bit (models, optimisers, EMA, RNG
states), and records divergence instead of raising.
"""
from __future__ import annotations

import contextlib
import copy
import io
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import torch
from torch import nn

from .batch_norm import PopulationStats, population_stats, refresh, use_pacgan_batch_norm
from .config import OptimConfig, RunConfig, check_updates
from .data import Dataset, get_dataset
from .files import atomic_torch_save, atomic_write_json, atomic_write_text, load_checkpoint
from .losses import Loss, get_loss
from .models import build_models, generate, pack_samples
from .registry import one_line
from .results import (CHECKPOINT, CONFIG, HISTORY, SAMPLES, STATUS, TENSORBOARD, history_to_csv,
                      read_history)

HISTORY_COLUMNS = ["step", "d_loss", "g_loss", "penalty", "d_real", "d_fake", "d_acc_real", "d_acc_fake",
                   "d_grad_norm", "g_grad_norm", "wall_time"]

Evaluator = Callable[[int, nn.Module], dict[str, float]]


def make_optimizer(params: Any, lr: float, optim: OptimConfig) -> torch.optim.Optimizer:
    if optim.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=optim.weight_decay)
    return torch.optim.Adam(params, lr=lr, betas=optim.betas, weight_decay=optim.weight_decay)


def clip_gradients(module: nn.Module, max_norm: Optional[float]) -> None:
    """Scale ``module``'s gradient down to total norm ``max_norm`` (None: leave it). Applied after the norm is
    logged, so history.csv shows the norm the loss produced, not the clipped one."""
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(module.parameters(), max_norm)


@torch.no_grad()
def clip_weights(module: nn.Module, clip: float) -> None:
    """WGAN's weight clipping of D after its update."""
    for p in module.parameters():
        p.clamp_(-clip, clip)


def grad_norm(module: nn.Module) -> float:
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))))


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """``module``'s parameters need no gradient inside the block (autograd still flows through it to its input)."""
    flags = [(p, p.requires_grad) for p in module.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    for pe, p in zip(ema.parameters(), model.parameters()):
        pe.lerp_(p, 1.0 - decay)
    copy_buffers(ema, model)


@torch.no_grad()
def copy_buffers(ema: nn.Module, model: nn.Module) -> None:
    """The EMA generator evaluates with G's own batch-norm statistics."""
    for be, b in zip(ema.buffers(), model.buffers()):
        be.copy_(b)


@dataclass
class GAN:
    """Everything ``train_step`` touches, built once per run."""
    G: nn.Module
    D: nn.Module
    loss: Loss
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    sample_real: Callable[[int, torch.Generator], torch.Tensor]
    generator: torch.Generator
    n_critic: int
    batch_size: int
    ema: Optional[nn.Module] = None
    ema_decay: float = 0.999
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    max_grad_norm: Optional[float] = None  # each network's gradient clipped to this total norm before its step
    pack: int = 1                      # PacGAN: D judges ``pack`` samples at once, so a step draws batch·pack
    updates: str = "alternating"       # or "simultaneous": both gradients at the current parameters (n_critic 1)
    bn_population: Optional[PopulationStats] = None  # PacGAN's update of G's batch-norm statistics, or torch's


def _bn_capture(gan: GAN) -> contextlib.AbstractContextManager[None]:
    """Around the G forward whose batch statistics move G's population statistics (PacGAN's rule)."""
    return gan.bn_population.capture() if gan.bn_population is not None else contextlib.nullcontext()


def _step_stats(loss: Loss, d_loss: torch.Tensor, g_loss: torch.Tensor, penalty: torch.Tensor, d_real: Any,
                d_fake: Any, stats: dict[str, float], log: bool) -> dict[str, float]:
    stats["d_loss"] = float(d_loss.detach())
    stats["g_loss"] = float(g_loss.detach())
    if log:
        stats["penalty"] = float(penalty.detach())
        stats["d_real"] = float(d_real.score.detach().mean())
        stats["d_fake"] = float(d_fake.score.detach().mean())
        # D "accuracy" with the sign of the raw score as its decision (0 is the boundary for every loss here
        # except lsgan, whose boundary is 0.5).
        thr = 0.5 if loss.name == "lsgan" else 0.0
        stats["d_acc_real"] = float((d_real.score > thr).float().mean())
        stats["d_acc_fake"] = float((d_fake.score < thr).float().mean())
    return stats


def _finish_step(gan: GAN) -> None:
    """After both updates: G's population statistics (PacGAN's rule), then the EMA copy."""
    if gan.bn_population is not None:
        gan.bn_population.update()
    if gan.ema is not None:
        update_ema(gan.ema, gan.G, gan.ema_decay)


def train_step(gan: GAN, log: bool = False) -> dict[str, float]:
    """One step of ``gan.updates``: alternating (``n_critic`` D updates, then one G update) or simultaneous.

    Statistics that cost extra work (gradient norms, accuracies) are computed only when ``log``.
    """
    if gan.updates == "simultaneous":
        return _simultaneous_step(gan, log)
    return _alternating_step(gan, log)


def _alternating_step(gan: GAN, log: bool) -> dict[str, float]:
    G, D, loss, gen, m = gan.G, gan.D, gan.loss, gan.generator, gan.pack
    n = gan.batch_size * m  # D sees batch_size inputs of m samples each (packed alike for reals and fakes)
    stats: dict[str, float] = {}
    for _ in range(gan.n_critic):
        real = pack_samples(gan.sample_real(n, gen).to(gan.device, non_blocking=True), m)
        with torch.no_grad():
            fake = pack_samples(generate(G, G.sample_latent(n, gen).to(gan.device), m), m)
        d_real, d_fake = D(real), D(fake)
        d_loss = loss.d_loss(d_real, d_fake)
        penalty = loss.penalty(D, real, fake, generator=gen)
        gan.opt_d.zero_grad(set_to_none=True)
        (d_loss + penalty).backward()
        if log:
            stats["d_grad_norm"] = grad_norm(D)
        clip_gradients(D, gan.max_grad_norm)
        gan.opt_d.step()
        if loss.clip is not None:
            clip_weights(D, loss.clip)
    with frozen(D):  # G's step needs no gradient for D's weights: skipping them saves a third of D's backward
        with _bn_capture(gan):
            fake = pack_samples(generate(G, G.sample_latent(n, gen).to(gan.device), m), m)
        d_fake_g = D(fake)
        if loss.needs_real_for_g:
            real_g = D(pack_samples(gan.sample_real(n, gen).to(gan.device, non_blocking=True), m))
        else:
            real_g = d_real  # unused by the loss; avoids a wasted D forward
        g_loss = loss.g_loss(d_fake_g, real_g)
        gan.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
    if log:
        stats["g_grad_norm"] = grad_norm(G)
    clip_gradients(G, gan.max_grad_norm)
    gan.opt_g.step()
    _finish_step(gan)
    return _step_stats(loss, d_loss, g_loss, penalty, d_real, d_fake, stats, log)


def _simultaneous_step(gan: GAN, log: bool) -> dict[str, float]:
    """ALI's ``ali_algorithm``: one real batch and one set of latents; D's gradient of ``d_loss + penalty`` and G's
    of ``g_loss`` both taken at the current parameters (each loss reaching only its own network's weights), then
    both updates applied."""
    G, D, loss, gen, m = gan.G, gan.D, gan.loss, gan.generator, gan.pack
    n = gan.batch_size * m
    stats: dict[str, float] = {}
    real = pack_samples(gan.sample_real(n, gen).to(gan.device, non_blocking=True), m)
    with _bn_capture(gan):
        fake = pack_samples(generate(G, G.sample_latent(n, gen).to(gan.device), m), m)
    d_real, d_fake = D(real), D(fake)
    d_loss = loss.d_loss(d_real, d_fake)
    penalty = loss.penalty(D, real, fake, generator=gen)  # taken at detached points: D's alone
    g_loss = loss.g_loss(d_fake, d_real)
    gan.opt_d.zero_grad(set_to_none=True)
    gan.opt_g.zero_grad(set_to_none=True)
    (d_loss + penalty).backward(inputs=list(D.parameters()), retain_graph=True)
    g_loss.backward(inputs=list(G.parameters()))
    if log:
        stats["d_grad_norm"] = grad_norm(D)
        stats["g_grad_norm"] = grad_norm(G)
    clip_gradients(D, gan.max_grad_norm)
    clip_gradients(G, gan.max_grad_norm)
    gan.opt_d.step()
    gan.opt_g.step()
    if loss.clip is not None:
        clip_weights(D, loss.clip)
    _finish_step(gan)
    return _step_stats(loss, d_loss, g_loss, penalty, d_real, d_fake, stats, log)


def build_gan(run: RunConfig, dataset: Dataset | None = None) -> GAN:
    """Models, loss and optimisers for ``run``; call after seeding (initialisation uses torch's global RNG)."""
    device = torch.device(run.train.device)
    ds = dataset or get_dataset(run.data.name, **run.data.params)
    G, D = build_models(run.model.name, ds.shape, **run.model.params)
    G, D = G.to(device), D.to(device)
    loss = get_loss(run.loss.name, **run.loss.params)
    check_updates(run.train, loss.n_critic, f"run {run.label!r}")
    if run.train.bn_stats == "pacgan":
        use_pacgan_batch_norm(G)
    opt_g = make_optimizer(G.parameters(), run.optim.lr_g, run.optim)
    opt_d = make_optimizer(D.parameters(), run.optim.lr_d, run.optim)
    gen = torch.Generator(device=device).manual_seed(seed_for(run.seed, "train"))
    ema = None
    if run.train.ema is not None:
        ema = copy.deepcopy(G).eval()
        for p in ema.parameters():
            p.requires_grad_(False)
    return GAN(G=G, D=D, loss=loss, opt_g=opt_g, opt_d=opt_d, sample_real=ds.train_sampler(seed_for(run.seed, "data")),
               generator=gen, n_critic=run.train.n_critic or loss.n_critic, batch_size=run.train.batch_size,
               ema=ema, ema_decay=run.train.ema or 0.999, device=device, pack=getattr(D, "pack", 1),
               max_grad_norm=run.train.max_grad_norm, updates=run.train.updates,
               bn_population=population_stats(G, run.train.bn_stats))  # after the EMA copy: its hooks stay G's


def seed_for(seed: int, purpose: str) -> int:
    """Independent, stable streams per purpose (training, evaluation, ...) from one run seed."""
    salt = {"train": 0, "eval": 1, "init": 2, "data": 3, "bn": 4}[purpose]
    return (seed * 1_000_003 + salt * 7919) % (2**63 - 1)


def refresh_generator(seed: int, step: int, device: torch.device) -> torch.Generator:
    """The latents of the population refresh at ``step``: a stream of their own, so that training draws the same
    whenever (and whether) evaluations refresh."""
    return torch.Generator(device=device).manual_seed((seed_for(seed, "bn") + step) % (2**63 - 1))


def refresh_due(run: RunConfig, step: int, evaluated: bool) -> bool:
    """PacGAN's population refresh comes before every evaluation and at the end of training."""
    return run.train.bn_stats == "pacgan" and (evaluated or step == run.train.steps)


def refresh_population(gan: GAN, seed: int, step: int) -> None:
    """PacGAN's end-of-epoch monitor pass over G's population statistics (``batch_norm.refresh``), copied to the
    EMA generator as a step would."""
    if gan.bn_population is None:
        return
    gen, n = refresh_generator(seed, step, gan.device), gan.batch_size * gan.pack
    refresh(gan.bn_population, gan.G, lambda: generate(gan.G, gan.G.sample_latent(n, gen).to(gan.device), gan.pack))
    if gan.ema is not None:
        copy_buffers(gan.ema, gan.G)


def generator_for_eval(G: nn.Module, ema: Optional[nn.Module]) -> nn.Module:
    return ema if ema is not None else G


# ---------------------------------------------------------------- checkpoints

def state_dict(gan: GAN, step: int, status: str) -> dict[str, Any]:
    return {
        "step": step, "status": status,
        "G": gan.G.state_dict(), "D": gan.D.state_dict(),
        "opt_g": gan.opt_g.state_dict(), "opt_d": gan.opt_d.state_dict(),
        "ema": gan.ema.state_dict() if gan.ema is not None else None,
        "rng_train": gan.generator.get_state(),
        "rng_torch": torch.get_rng_state(),
    }


def load_state(gan: GAN, ckpt: dict[str, Any]) -> int:
    gan.G.load_state_dict(ckpt["G"])
    gan.D.load_state_dict(ckpt["D"])
    gan.opt_g.load_state_dict(ckpt["opt_g"])
    gan.opt_d.load_state_dict(ckpt["opt_d"])
    if gan.ema is not None and ckpt.get("ema") is not None:
        gan.ema.load_state_dict(ckpt["ema"])
    gan.generator.set_state(ckpt["rng_train"])
    torch.set_rng_state(ckpt["rng_torch"])
    return int(ckpt["step"])


def checkpoint_misfit(run: RunConfig, ckpt: dict[str, Any]) -> Optional[str]:
    """Why ``ckpt`` cannot resume ``run`` (weights, optimiser or RNG states missing or of other shapes), or None.

    Found by loading it into freshly built models, as ``train`` would; torch's global RNG is left as it was.
    Errors in building the models themselves are the run's, not the checkpoint's, and propagate.
    """
    with torch.random.fork_rng(devices=[]):
        gan = build_gan(run)
        try:
            load_state(gan, ckpt)
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            return f"does not fit this run's models ({one_line(e)[:300]})"
    return None


def history_until(run_dir: Path, step: int) -> list[dict[str, Any]]:
    """A resumed run's history.csv rows up to its checkpoint's ``step`` (later rows were never saved with it)."""
    return [r for r in read_history(run_dir / HISTORY) if r.get("step") is not None and r["step"] <= step]


# ---------------------------------------------------------------- the run

@dataclass
class TrainResult:
    status: str            # finished | diverged
    steps: int
    wall_time: float
    reason: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)


class RunRecord:
    """One run's record while it trains: history rows, TensorBoard scalars, checkpoint and the closing files.

    ``train`` and the batched trainer both keep their runs' records through it, so a run's files are the same
    whichever trained it.
    """

    def __init__(self, run: RunConfig, run_dir: Path, history: list[dict[str, Any]], wall_before: float = 0.0):
        self.run, self.dir, self.history, self.wall_before = run, run_dir, history, wall_before
        self.tb = _tensorboard(run, run_dir)
        self.t0 = time.perf_counter()

    def wall(self) -> float:
        return self.wall_before + time.perf_counter() - self.t0

    def log_due(self, step: int) -> bool:
        """Whether the step about to be taken (``step`` done so far) logs its statistics."""
        steps = self.run.train.steps
        return (step + 1) % self.run.train.log_every == 0 or step == 0 or step + 1 == steps

    def eval_due(self, step: int, evaluator: Optional[Evaluator]) -> bool:
        return evaluator is not None and bool(self.run.eval.every) and step % self.run.eval.every == 0

    def record(self, step: int, stats: dict[str, float], log: bool,
               metrics: Optional[dict[str, float]] = None) -> None:
        """The step's row: kept when ``log`` or when the evaluator's ``metrics`` are given (timed after them)."""
        if not log and metrics is None:
            return
        row: dict[str, Any] = {"step": step, **stats, **(metrics or {})}
        row["wall_time"] = self.wall()
        self.history.append(row)
        if self.tb is not None:
            for k, v in row.items():
                if k != "step" and isinstance(v, (int, float)):
                    self.tb.add_scalar(k, v, step)

    def divergence(self, step: int, stats: dict[str, float]) -> Optional[str]:
        """None while both losses are finite; else record the step and return the reason to keep with the run."""
        if math.isfinite(stats["d_loss"]) and math.isfinite(stats["g_loss"]):
            return None
        self.history.append({"step": step, **stats, "wall_time": self.wall()})
        return f"non-finite loss at step {step} (d={stats['d_loss']}, g={stats['g_loss']})"

    def save(self, checkpoint: dict[str, Any], reason: str = "") -> None:
        cols = list(HISTORY_COLUMNS)
        for r in self.history:
            cols += [c for c in r if c not in cols]
        atomic_write_text(self.dir / HISTORY, history_to_csv(self.history, cols))
        checkpoint["wall_time"], checkpoint["reason"] = self.wall(), reason
        atomic_torch_save(self.dir / CHECKPOINT, checkpoint)

    def finish(self, status: str, step: int, reason: str, samples: Callable[[], bytes]) -> TrainResult:
        """status.json, then ``samples()`` (the PNG of samples.png) into samples.png and TensorBoard."""
        result = TrainResult(status=status, steps=step, wall_time=self.wall(), reason=reason)
        atomic_write_json(self.dir / STATUS, {"status": status, "steps": step, "wall_time": result.wall_time,
                                                     "reason": reason})
        try:
            png = samples()
            if self.tb is not None:
                _tb_image(self.tb, png, step)
        except Exception as e:  # a figure must never cost a trained run
            atomic_write_text(self.dir / "samples.error.txt", f"{type(e).__name__}: {e}\n")
        if self.tb is not None:
            self.tb.close()
        return result


def evaluate_in_eval_mode(evaluator: Evaluator, step: int, G: nn.Module, ema: Optional[nn.Module]) -> dict[str, float]:
    """``evaluator(step, G)`` on the generator evaluation uses (the EMA copy when kept), in eval mode."""
    G_eval = generator_for_eval(G, ema)
    was_training = G_eval.training
    G_eval.eval()
    try:
        return evaluator(step, G_eval)
    finally:
        G_eval.train(was_training)


def sample_png(G: nn.Module, ema: Optional[nn.Module], ds: Dataset, run_dir: Path, seed: int) -> bytes:
    from .plots import save_samples
    return save_samples(generator_for_eval(G, ema), ds, run_dir / SAMPLES, seed=seed)


def train(run: RunConfig, run_dir: str | Path, evaluator: Optional[Evaluator] = None,
          progress: Optional[Callable[[int], None]] = None) -> TrainResult:
    """Train ``run`` into ``run_dir``; continue from ``checkpoint.pt`` when one is there.

    ``evaluator(step, G)`` (optional) is called every ``run.eval.every`` steps; what it returns is
    added to that step's history row (e.g. FID and modes over training).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(run_dir / CONFIG, run.to_dict())
    torch.manual_seed(seed_for(run.seed, "init"))
    ds = get_dataset(run.data.name, **run.data.params)
    gan = build_gan(run, ds)
    ckpt_path = run_dir / CHECKPOINT
    step, wall_before = 0, 0.0
    status, reason = "finished", ""
    done = False  # a diverged checkpoint is never trained further
    history: list[dict[str, Any]] = []
    if ckpt_path.exists():
        ckpt = load_checkpoint(ckpt_path, map_location=gan.device)
        step = load_state(gan, ckpt)
        wall_before = float(ckpt.get("wall_time", 0.0))
        history = history_until(run_dir, step)
        if ckpt.get("status") == "diverged":
            # rerun after a divergence (e.g. killed before metrics.json): keep the verdict, never step a NaN model
            done, status, reason = True, "diverged", str(ckpt.get("reason", ""))
    record = RunRecord(run, run_dir, history, wall_before)
    gan.G.train(), gan.D.train()
    while not done and step < run.train.steps:
        log = record.log_due(step)
        stats = train_step(gan, log=log)
        step += 1
        if (why := record.divergence(step, stats)) is not None:
            status, reason = "diverged", why
            break
        metrics = None
        evaluated = record.eval_due(step, evaluator)
        if refresh_due(run, step, evaluated):
            refresh_population(gan, run.seed, step)
        if evaluated:
            metrics = evaluate_in_eval_mode(evaluator, step, gan.G, gan.ema)  # type: ignore[arg-type]
        record.record(step, stats, log, metrics)
        if progress is not None:
            progress(1)
        if step % run.train.checkpoint_every == 0 and step < run.train.steps:
            record.save(state_dict(gan, step, "running"), reason)
    record.save(state_dict(gan, step, status), reason)
    return record.finish(status, step, reason, lambda: sample_png(gan.G, gan.ema, ds, run_dir, run.seed))


def _tb_image(tb: Any, png: bytes, step: int) -> None:
    import numpy as np
    from PIL import Image
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    tb.add_image("samples", img, step, dataformats="HWC")


def _tensorboard(run: RunConfig, run_dir: Path) -> Any:
    if not run.train.tensorboard:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        from .registry import ConfigError
        raise ConfigError("train.tensorboard = true needs the tensorboard package: pip install 'ganbench[tensorboard]'") from None
    return SummaryWriter(log_dir=str(run_dir / TENSORBOARD))
