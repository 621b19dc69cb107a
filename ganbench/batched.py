"""Multi-seed batching: K seeds of one configuration trained at once as one batched model.

Every parameter and buffer of the K members is stacked on a leading axis ``[K, ...]``; linear layers run as
``torch.baddbmm``, batch norm as one ``F.batch_norm`` over ``[N, K·C]`` (each member's channel is its own
channel, so statistics never mix members), and the losses are ``torch.vmap``-ed over the member axis.
One optimiser over the stacked parameters is per-member exact: Adam and RMSprop (with weight decay) are
elementwise and share only the step count, which is the same for every member (Adam runs fused, within an
ulp of the for-loop; RMSprop as foreach, bit for bit). The members' losses are summed before ``backward``;
as no parameter is shared, each member receives exactly its own gradient. When no layer of D couples
samples, real and fake go through D as one joined batch; G's update skips D's weight gradients.

Each member is exactly an independent run: it is built as ``train`` builds it (``torch.manual_seed(
seed_for(seed, "init"))`` then ``build_gan``), then stacked, and it draws its real batches, latents and
penalty noise from its own ``torch.Generator`` in the order ``train_step`` does. Members therefore match
sequential runs to float tolerance (the batched kernels round differently). A member whose loss turns
non-finite is recorded as diverged at that step, as ``train`` would, while the others go on.

``train_batched(runs, run_dirs)`` writes each run's usual files (config.json, history.csv, checkpoint.pt in
the per-run format, status.json, samples.png); ``wall_time`` is the elapsed time of the whole batch.
Supported: models made of Linear, BatchNorm1d, Maxout and elementwise activations (``mlp`` without
spectral norm); losses from the zoo, including the wgan-gp and dragan penalties and R1/R2.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from .config import RunConfig
from .data import Dataset, get_dataset
from .io import atomic_write_json, load_checkpoint
from .losses import DOut, Loss
from .models import Discriminator, Generator, Maxout
from .registry import ConfigError
from .train import (GAN, Evaluator, RunRecord, TrainResult, build_gan, evaluate_in_eval_mode, frozen, load_state,
                    make_optimizer, read_history, sample_png, seed_for, state_dict, train, update_ema)

ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.ELU, nn.GELU, nn.SiLU, nn.Softplus, nn.Identity)
PENALTIES = ("wgan-gp", "dragan")


# ---------------------------------------------------------------- batched layers (parameter names as the originals)
# Inside a batched network activations are feature-major, [K, C, N]: a linear layer is then bmm(W [K, out, in],
# x [K, in, N]) with the weights as stored, and batch norm is F.batch_norm on the free view [1, K·C, N], so no
# layer needs a transpose or a copy. Data enter and leave as [K, N, ...].

class BatchedLinear(nn.Module):
    """K linear layers: ``x [K, in, N] -> [K, out, N]``."""

    def __init__(self, k: int, d_in: int, d_out: int, bias: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(k, d_out, d_in))
        self.bias = nn.Parameter(torch.empty(k, d_out)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is None:
            return torch.bmm(self.weight, x)
        return torch.baddbmm(self.bias.unsqueeze(2), self.weight, x)


class BatchedBatchNorm1d(nn.Module):
    """K BatchNorm1d layers on ``[K, C, N]``: statistics per member and channel over the N samples."""

    def __init__(self, k: int, bn: nn.BatchNorm1d):
        super().__init__()
        c = bn.num_features
        self.momentum, self.eps = bn.momentum, bn.eps
        self.weight = nn.Parameter(torch.empty(k, c)) if bn.affine else None
        self.bias = nn.Parameter(torch.empty(k, c)) if bn.affine else None
        self.track = bn.track_running_stats
        if self.track:
            self.register_buffer("running_mean", torch.zeros(k, c))
            self.register_buffer("running_var", torch.ones(k, c))
            self.register_buffer("num_batches_tracked", torch.zeros(k, dtype=torch.long))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, c, n = x.shape
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track:
            self.num_batches_tracked.add_(1)  # type: ignore[union-attr]
            if self.momentum is None:  # cumulative average, as nn.BatchNorm1d
                factor = 1.0 / float(self.num_batches_tracked[0])  # type: ignore[index]
        flat = lambda t: None if t is None else t.view(-1)  # noqa: E731  views: the running stats update in place
        y = F.batch_norm(x.reshape(1, k * c, n), flat(self.running_mean), flat(self.running_var),
                         flat(self.weight), flat(self.bias), self.training or not self.track, factor, self.eps)
        return y.view(k, c, n)


class BatchedMaxout(nn.Module):
    def __init__(self, k: int, m: Maxout):
        super().__init__()
        self.units, self.pieces = m.units, m.pieces
        self.linear = BatchedLinear(k, m.linear.in_features, m.linear.out_features, m.linear.bias is not None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.linear(x)  # output row u·pieces + p is piece p of unit u, as in Maxout
        return y.view(y.shape[0], self.units, self.pieces, y.shape[2]).amax(2)


class BatchedGenerator(nn.Module):
    def __init__(self, net: nn.Module, template: Generator):
        super().__init__()
        self.net, self.z_dim, self.latent, self.out_shape = net, template.z_dim, template.latent, template.out_shape

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.transpose(1, 2)).transpose(1, 2)  # [K, N, z] -> [K, N, dim]


class BatchedDiscriminator(nn.Module):
    def __init__(self, body: nn.Module, head: nn.Module):
        super().__init__()
        self.body, self.head = body, head

    def forward(self, x: torch.Tensor) -> DOut:
        features = self.body(x.flatten(2).transpose(1, 2))  # [K, F, N]
        return DOut(self.head(features).squeeze(1), features.transpose(1, 2))


def _structure(m: nn.Module, k: int, where: str) -> nn.Module:
    if parametrize.is_parametrized(m):
        raise ConfigError(f"{where}: parametrized layers (e.g. spectral_norm = true) cannot be batched over seeds; "
                          f"set train.seeds_batched = false")
    if isinstance(m, Generator):
        return BatchedGenerator(_structure(m.net, k, where), m)
    if isinstance(m, Discriminator):
        return BatchedDiscriminator(_structure(m.body, k, where), _structure(m.head, k, where))
    if isinstance(m, nn.Sequential):
        return nn.Sequential(*(_structure(c, k, where) for c in m))
    if type(m) is nn.Linear:
        return BatchedLinear(k, m.in_features, m.out_features, m.bias is not None)
    if type(m) is nn.BatchNorm1d:
        return BatchedBatchNorm1d(k, m)
    if type(m) is Maxout:
        return BatchedMaxout(k, m)
    if isinstance(m, ELEMENTWISE):
        return m
    raise ConfigError(f"{where}: layer {type(m).__name__} cannot be batched over seeds (supported: Linear, "
                      f"BatchNorm1d, Maxout, elementwise activations, i.e. model 'mlp'); set train.seeds_batched = false")


def stack_state(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {key: torch.stack([s[key] for s in states]) for key in states[0]}


def unstack_state(state: dict[str, torch.Tensor], k: int) -> dict[str, torch.Tensor]:
    return {key: value[k].clone() for key, value in state.items()}


def stack_modules(modules: Sequence[nn.Module], where: str = "model") -> nn.Module:
    """One batched module holding ``modules`` (same architecture) stacked; state-dict keys are the originals'."""
    batched = _structure(modules[0], len(modules), where)
    p0 = next(modules[0].parameters())
    batched.to(device=p0.device, dtype=p0.dtype)  # floating tensors only: num_batches_tracked stays long
    batched.load_state_dict(stack_state([m.state_dict() for m in modules]))
    return batched


def stack_optimizer_state(states: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Members' optimiser state dicts -> one for the stacked parameters (0-d entries such as ``step`` are shared)."""
    stacked: dict[int, dict[str, Any]] = {}
    for idx, entry in states[0]["state"].items():
        stacked[idx] = {}
        for key, value in entry.items():
            values = [s["state"][idx][key] for s in states]
            if isinstance(value, torch.Tensor) and value.dim() > 0:
                stacked[idx][key] = torch.stack(values)
            elif all(torch.equal(torch.as_tensor(v), torch.as_tensor(value)) for v in values):
                stacked[idx][key] = value
            else:
                raise ConfigError(f"members' optimiser state {key!r} differs ({values!r}); they cannot be batched")
    return {"state": stacked, "param_groups": states[0]["param_groups"]}


def unstack_optimizer_state(state: dict[str, Any], k: int,
                            param_groups: Optional[list[dict[str, Any]]] = None) -> dict[str, Any]:
    """Member ``k``'s optimiser state dict; ``param_groups`` (the member's own) keep its implementation flags."""
    out = {idx: {key: (v[k].clone() if isinstance(v, torch.Tensor) and v.dim() > 0 else
                       (v.clone() if isinstance(v, torch.Tensor) else v)) for key, v in entry.items()}
           for idx, entry in state["state"].items()}
    return {"state": out, "param_groups": [dict(g) for g in (param_groups or state["param_groups"])]}


# ---------------------------------------------------------------- the batched GAN and its step

def _member_grad_norm(module: nn.Module, k: int) -> torch.Tensor:
    """``train.grad_norm`` per member: the 2-norm over all of a member's gradient entries, ``[K]``."""
    norms = [p.grad.flatten(1).norm(2, dim=1) for p in module.parameters() if p.grad is not None]
    if not norms:
        return torch.zeros(k)
    return torch.linalg.vector_norm(torch.stack(norms), dim=0)


def _in_dims(out: DOut) -> DOut:
    return DOut(0, None if out.features is None else 0)  # type: ignore[arg-type]


def _vmap_loss(fn: Callable[[DOut, DOut], torch.Tensor], a: DOut, b: DOut) -> torch.Tensor:
    return torch.vmap(fn, in_dims=(_in_dims(a), _in_dims(b)))(a, b)


def _input_grad(D: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Per-sample ∇_x D(x) for every member, ``[K, N, dims]``: member k's score depends on x[k] only."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).score.sum(), x, create_graph=True)
    return grad.flatten(2)


class BatchedGAN:
    """K member GANs (built by ``build_gan``) trained as one; ``members`` keep their own generators."""

    def __init__(self, members: Sequence[GAN], run: RunConfig):
        m0 = members[0]
        check_loss(m0.loss)
        self.members, self.K, self.loss = list(members), len(members), m0.loss
        self.n_critic, self.bs, self.device = m0.n_critic, m0.batch_size, m0.device
        self.G = stack_modules([m.G for m in members], f"model {run.model.name!r} (generator)")
        self.D = stack_modules([m.D for m in members], f"model {run.model.name!r} (discriminator)")
        self.G.train(m0.G.training), self.D.train(m0.D.training)
        self.opt_g = make_optimizer(self.G.parameters(), run.optim.lr_g, run.optim)
        self.opt_d = make_optimizer(self.D.parameters(), run.optim.lr_d, run.optim)
        if m0.opt_g.state:  # resumed members: carry their optimiser state over
            self.opt_g.load_state_dict(stack_optimizer_state([m.opt_g.state_dict() for m in members]))
            self.opt_d.load_state_dict(stack_optimizer_state([m.opt_d.state_dict() for m in members]))
        for opt in (self.opt_g, self.opt_d):
            for group in opt.param_groups:
                # Adam: the fused kernel, one pass over memory instead of about ten (a sixth of a width-128 step
                # on a CPU); it rounds within an ulp of the for-loop. Others: foreach, the for-loop bit for bit.
                fused = isinstance(opt, torch.optim.Adam)
                group["fused"], group["foreach"] = fused, not fused
        self._d_per_sample = not any(isinstance(m, BatchedBatchNorm1d) for m in self.D.modules())
        self.ema = None
        if m0.ema is not None:
            self.ema = stack_modules([m.ema for m in members]).eval()  # type: ignore[union-attr]
            for p in self.ema.parameters():
                p.requires_grad_(False)

    def _d_pair(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[DOut, DOut]:
        """``D(real), D(fake)``; as one call on the joined batch when no layer of D couples samples (half the
        calls, twice-as-wide matmuls; the same numbers up to rounding)."""
        if not self._d_per_sample:
            return self.D(real), self.D(fake)
        out, n = self.D(torch.cat([real, fake], dim=1)), real.shape[1]
        split = lambda t: (None, None) if t is None else (t[:, :n], t[:, n:])  # noqa: E731
        (sr, sf), (fr, ff) = split(out.score), split(out.features)
        return DOut(sr, fr), DOut(sf, ff)

    # --- per-member draws, in train_step's order for each member's generator
    def _reals(self) -> torch.Tensor:
        return torch.stack([m.sample_real(self.bs, m.generator).to(self.device) for m in self.members])

    def _latents(self) -> torch.Tensor:
        return torch.stack([m.G.sample_latent(self.bs, m.generator).to(self.device) for m in self.members])

    def _penalty_points(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | None:
        if self.loss.own_penalty is None:
            return None
        r, f = real.detach(), fake.detach()
        if self.loss.name == "wgan-gp":  # losses._interpolates: one ε per sample
            shape = (self.bs,) + (1,) * (r.dim() - 2)
            eps = torch.stack([torch.rand(shape, generator=m.generator, device=r.device, dtype=r.dtype)
                               for m in self.members])
            return eps * r + (1 - eps) * f
        # losses._dragan_points: x + ½·std(x)·u, std over each member's whole batch
        u = torch.stack([torch.rand(r.shape[1:], generator=m.generator, device=r.device, dtype=r.dtype)
                         for m in self.members])
        std = r.flatten(1).std(dim=1, correction=0).view(-1, *([1] * (r.dim() - 1)))
        return r + 0.5 * std * u

    def _penalty(self, real: torch.Tensor, fake: torch.Tensor, points: torch.Tensor | None) -> torch.Tensor:
        loss, total = self.loss, torch.zeros(self.K, device=real.device, dtype=real.dtype)
        if points is not None:
            total = total + loss.params["gp_weight"] * ((_input_grad(self.D, points).norm(2, dim=2) - 1) ** 2).mean(1)
        if loss.r1_gamma > 0:
            total = total + loss.r1_gamma / 2 * (_input_grad(self.D, real) ** 2).sum(2).mean(1)
        if loss.r2_gamma > 0:
            total = total + loss.r2_gamma / 2 * (_input_grad(self.D, fake) ** 2).sum(2).mean(1)
        return total

    def step(self, log: bool = False) -> dict[str, list[float]]:
        """``train_step`` for all members at once: per-member statistics as lists of length K."""
        G, D, loss = self.G, self.D, self.loss
        stats: dict[str, torch.Tensor] = {}
        for i in range(self.n_critic):
            real, z = self._reals(), self._latents()
            with torch.no_grad():
                fake = G(z)
            points = self._penalty_points(real, fake)
            d_real, d_fake = self._d_pair(real, fake)
            d_loss = _vmap_loss(loss.d_loss, d_real, d_fake)
            penalty = self._penalty(real, fake, points)
            self.opt_d.zero_grad(set_to_none=True)
            (d_loss + penalty).sum().backward()  # disjoint parameters: each member gets its own gradient
            if log and i == self.n_critic - 1:
                stats["d_grad_norm"] = _member_grad_norm(D, self.K)
            self.opt_d.step()
            if loss.clip is not None:
                with torch.no_grad():
                    for p in D.parameters():
                        p.clamp_(-loss.clip, loss.clip)
        with frozen(D):
            d_fake_g = D(G(self._latents()))
            real_g = D(self._reals()) if loss.needs_real_for_g else d_real
            g_loss = _vmap_loss(loss.g_loss, d_fake_g, real_g)
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.sum().backward()
        if log:
            stats["g_grad_norm"] = _member_grad_norm(G, self.K)
        self.opt_g.step()
        if self.ema is not None:
            update_ema(self.ema, G, self.members[0].ema_decay)
        stats["d_loss"], stats["g_loss"] = d_loss.detach(), g_loss.detach()
        if log:
            thr = 0.5 if loss.name == "lsgan" else 0.0  # as train_step
            stats["penalty"] = penalty.detach()
            stats["d_real"], stats["d_fake"] = d_real.score.detach().mean(1), d_fake.score.detach().mean(1)
            stats["d_acc_real"] = (d_real.score > thr).float().mean(1)
            stats["d_acc_fake"] = (d_fake.score < thr).float().mean(1)
        keys = list(stats)
        values = torch.stack([stats[k].double() for k in keys]).tolist()  # one transfer for all statistics
        return dict(zip(keys, values))

    def sync_member(self, k: int, optimizers: bool = True) -> GAN:
        """Copy member ``k``'s slice of the batched models (and optimisers) into its own GAN and return it."""
        m = self.members[k]
        m.G.load_state_dict(unstack_state(self.G.state_dict(), k))
        m.D.load_state_dict(unstack_state(self.D.state_dict(), k))
        if self.ema is not None and m.ema is not None:
            m.ema.load_state_dict(unstack_state(self.ema.state_dict(), k))
        if not optimizers:
            return m
        for mine, batched in ((m.opt_g, self.opt_g), (m.opt_d, self.opt_d)):
            mine.load_state_dict(unstack_optimizer_state(batched.state_dict(), k, mine.state_dict()["param_groups"]))
        return m


def check_loss(loss: Loss) -> None:
    if loss.own_penalty is not None and loss.name not in PENALTIES:
        raise ConfigError(f"loss {loss.name!r} has its own penalty, which cannot be batched over seeds "
                          f"(batched penalties: {', '.join(PENALTIES)}, r1_gamma, r2_gamma); set train.seeds_batched = false")


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


# ---------------------------------------------------------------- the runs

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
    starts, diverged = [], False
    for run, d in zip(runs, dirs):
        d.mkdir(parents=True, exist_ok=True)
        atomic_write_json(d / "config.json", run.to_dict())
        ckpt = load_checkpoint(d / "checkpoint.pt") if (d / "checkpoint.pt").exists() else {"step": 0}
        starts.append(int(ckpt["step"]))
        diverged = diverged or ckpt.get("status") == "diverged"
    if len(set(starts)) > 1 or diverged:  # cannot move in lockstep: each run goes on (or stays stopped) by itself
        return [train(r, d, evaluator=e, progress=progress) for r, d, e in zip(runs, dirs, evaluators)]
    run0 = runs[0]
    ds = get_dataset(run0.data.name, **run0.data.params)
    members, rng = build_members(runs, ds)
    walls = [0.0] * len(runs)
    histories: list[list[dict[str, Any]]] = [[] for _ in runs]
    if starts[0] > 0:
        for k, (m, d) in enumerate(zip(members, dirs)):
            ckpt = load_checkpoint(d / "checkpoint.pt", map_location=m.device)
            load_state(m, ckpt)
            rng[k], walls[k] = torch.get_rng_state(), float(ckpt.get("wall_time", 0.0))
            histories[k] = [r for r in read_history(d / "history.csv") if r.get("step") is not None and r["step"] <= starts[0]]
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
        log = (step + 1) % cfg.log_every == 0 or step == 0 or step + 1 == cfg.steps
        stats = bgan.step(log=log)
        step += 1
        active = [k for k in range(K) if results[k] is None]
        for k in active:
            s = {key: v[k] for key, v in stats.items()}
            if not (math.isfinite(s["d_loss"]) and math.isfinite(s["g_loss"])):
                finish(k, "diverged", records[k].diverged(step, s))
                continue
            due = records[k].eval_due(step, evaluators[k])
            records[k].record(step, s, log, (lambda k=k: evaluated(k)) if due else None)
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
