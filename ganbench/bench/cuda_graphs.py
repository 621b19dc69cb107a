"""CUDA graphs for the step: ``StagedStep`` draws batches and latents outside the graph and replays the
updates (penalty-free losses only)."""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Sequence

import torch

from ..registry import ConfigError
from ..train import GAN, update_ema
from .options import has_penalty


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
