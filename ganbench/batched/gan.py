"""The batched GAN (``BatchedGAN``): K member GANs stacked into one, with ``train_step`` for all members at
once (per-member losses, penalties and gradient norms), and the check of which losses it supports."""
from __future__ import annotations

import contextlib
from typing import Sequence

import torch
from torch import nn

from ..batch_norm import population_stats, refresh
from ..config import RunConfig
from ..losses import DOut, Loss
from ..models import generate, pack_samples
from ..registry import ConfigError
from ..train import GAN, clip_weights, copy_buffers, frozen, make_optimizer, refresh_generator, update_ema
from .layers import BatchedBatchNorm1d, stack_modules, stack_optimizer_state, unstack_optimizer_state, unstack_state

PENALTIES = ("wgan-gp", "dragan")


def _member_grad_norm(module: nn.Module, k: int) -> torch.Tensor:
    """``train.grad_norm`` per member: the 2-norm over all of a member's gradient entries, ``[K]``."""
    norms = [p.grad.flatten(1).norm(2, dim=1) for p in module.parameters() if p.grad is not None]
    if not norms:
        return torch.zeros(k)
    return torch.linalg.vector_norm(torch.stack(norms), dim=0)


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
        self.n_critic, self.bs, self.device, self.pack = m0.n_critic, m0.batch_size, m0.device, m0.pack
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
        self.updates = m0.updates
        self.bn_population = population_stats(self.G, run.train.bn_stats)  # the members' layers are set up alike
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

    # --- per-member draws, in train_step's order for each member's generator; batch·pack samples, packed
    def _reals(self) -> torch.Tensor:
        n = self.bs * self.pack
        return pack_samples(torch.stack([m.sample_real(n, m.generator).to(self.device) for m in self.members]),
                            self.pack, sample_dim=1)

    def _latents(self) -> torch.Tensor:
        return torch.stack([m.G.sample_latent(self.bs * self.pack, m.generator).to(self.device)
                            for m in self.members])

    def _fakes(self, z: torch.Tensor) -> torch.Tensor:
        return pack_samples(generate(self.G, z, self.pack, sample_dim=1), self.pack, sample_dim=1)

    def _penalty_points(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | None:
        if self.loss.own_penalty is None:
            return None
        r, f = real.detach(), fake.detach()
        if self.loss.name == "wgan-gp":  # losses._interpolates: one ε per sample
            shape = (r.shape[1],) + (1,) * (r.dim() - 2)
            eps = torch.stack([torch.rand(shape, generator=m.generator, device=r.device, dtype=r.dtype)
                               for m in self.members])
            return eps * r + (1 - eps) * f
        # losses._dragan_points: x + α(x_p - x), x_p = x + ½·std(x)·u, std over each member's whole batch;
        # each member draws u, then its α, from its own generator, as the sequential run does
        u, alpha = [], []
        for m in self.members:
            u.append(torch.rand(r.shape[1:], generator=m.generator, device=r.device, dtype=r.dtype))
            alpha.append(torch.rand((r.shape[1],) + (1,) * (r.dim() - 2), generator=m.generator, device=r.device,
                                    dtype=r.dtype))
        std = r.flatten(1).std(dim=1, correction=0).view(-1, *([1] * (r.dim() - 1)))
        perturbed = r + 0.5 * std * torch.stack(u)
        return r + torch.stack(alpha) * (perturbed - r)

    def _penalty(self, real: torch.Tensor, fake: torch.Tensor, points: torch.Tensor | None) -> torch.Tensor:
        loss, total = self.loss, torch.zeros(self.K, device=real.device, dtype=real.dtype)
        if points is not None:
            total = total + loss.params["gp_weight"] * ((_input_grad(self.D, points).norm(2, dim=2) - 1) ** 2).mean(1)
        if loss.r1_gamma > 0:
            total = total + loss.r1_gamma / 2 * (_input_grad(self.D, real) ** 2).sum(2).mean(1)
        if loss.r2_gamma > 0:
            total = total + loss.r2_gamma / 2 * (_input_grad(self.D, fake) ** 2).sum(2).mean(1)
        return total

    def _d_terms(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[DOut, DOut, torch.Tensor, torch.Tensor]:
        """D's outputs, its members' losses and penalties; the penalty's noise drawn before D runs."""
        points = self._penalty_points(real, fake)
        d_real, d_fake = self._d_pair(real, fake)
        return d_real, d_fake, self.loss.member_d_loss(d_real, d_fake), self._penalty(real, fake, points)

    def _bn_capture(self) -> contextlib.AbstractContextManager[None]:
        return self.bn_population.capture() if self.bn_population is not None else contextlib.nullcontext()

    def _finish(self) -> None:
        if self.bn_population is not None:
            self.bn_population.update()
        if self.ema is not None:
            update_ema(self.ema, self.G, self.members[0].ema_decay)

    def step(self, log: bool = False) -> dict[str, list[float]]:
        """``train_step`` for all members at once: per-member statistics as lists of length K."""
        if self.updates == "simultaneous":
            return self._simultaneous_step(log)
        G, D, loss = self.G, self.D, self.loss
        stats: dict[str, torch.Tensor] = {}
        for i in range(self.n_critic):
            real, z = self._reals(), self._latents()
            with torch.no_grad():
                fake = self._fakes(z)
            d_real, d_fake, d_loss, penalty = self._d_terms(real, fake)
            self.opt_d.zero_grad(set_to_none=True)
            (d_loss + penalty).sum().backward()  # disjoint parameters: each member gets its own gradient
            if log and i == self.n_critic - 1:
                stats["d_grad_norm"] = _member_grad_norm(D, self.K)
            self.opt_d.step()
            if loss.clip is not None:
                clip_weights(D, loss.clip)
        with frozen(D):
            with self._bn_capture():
                fake_g = self._fakes(self._latents())
            d_fake_g = D(fake_g)
            real_g = D(self._reals()) if loss.needs_real_for_g else d_real
            g_loss = loss.member_g_loss(d_fake_g, real_g)
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.sum().backward()
        if log:
            stats["g_grad_norm"] = _member_grad_norm(G, self.K)
        self.opt_g.step()
        self._finish()
        return self._stats(stats, d_loss, g_loss, penalty, d_real, d_fake, log)

    def _simultaneous_step(self, log: bool) -> dict[str, list[float]]:
        """``train_step``'s simultaneous step for all members: both gradients at the current parameters."""
        G, D, loss = self.G, self.D, self.loss
        stats: dict[str, torch.Tensor] = {}
        real, z = self._reals(), self._latents()
        with self._bn_capture():
            fake = self._fakes(z)
        d_real, d_fake, d_loss, penalty = self._d_terms(real, fake)
        g_loss = loss.member_g_loss(d_fake, d_real)
        self.opt_d.zero_grad(set_to_none=True)
        self.opt_g.zero_grad(set_to_none=True)
        # disjoint parameters: each member's loss reaches its own weights, each loss its own network's
        (d_loss + penalty).sum().backward(inputs=list(D.parameters()), retain_graph=True)
        g_loss.sum().backward(inputs=list(G.parameters()))
        if log:
            stats["d_grad_norm"], stats["g_grad_norm"] = _member_grad_norm(D, self.K), _member_grad_norm(G, self.K)
        self.opt_d.step()
        self.opt_g.step()
        if loss.clip is not None:
            clip_weights(D, loss.clip)
        self._finish()
        return self._stats(stats, d_loss, g_loss, penalty, d_real, d_fake, log)

    def _stats(self, stats: dict[str, torch.Tensor], d_loss: torch.Tensor, g_loss: torch.Tensor,
               penalty: torch.Tensor, d_real: DOut, d_fake: DOut, log: bool) -> dict[str, list[float]]:
        loss = self.loss
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

    def refresh_population(self, seeds: Sequence[int], step: int) -> None:
        """``train.refresh_population`` for every member at once, each from its own refresh stream."""
        if self.bn_population is None:
            return
        gens, n = [refresh_generator(seed, step, self.device) for seed in seeds], self.bs * self.pack
        refresh(self.bn_population, self.G, lambda: generate(
            self.G, torch.stack([m.G.sample_latent(n, g).to(self.device) for m, g in zip(self.members, gens)]),
            self.pack, sample_dim=1))
        if self.ema is not None:
            copy_buffers(self.ema, self.G)

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
