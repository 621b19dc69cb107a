"""The hand-written reference: a copy of a ganbench GAN (``reference_loop``) trained by ``reference_step``, the
loop as it is usually written (the loss inline or BCEWithLogits, zero_grad / backward / step)."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F

from ..registry import ConfigError
from ..train import GAN

REFERENCE_LOSSES = ("minimax", "ns", "lsgan", "wgan", "wgan-gp", "hinge", "feature-matching", "dragan",
                    "rsgan", "ragan")


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
            alpha = torch.rand((bs,) + (1,) * (real.dim() - 1), generator=gen, device=gen.device)
            g = _input_grad(D, real + alpha * (0.5 * real.std(correction=0) * u))  # x + α(x_p - x)
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
