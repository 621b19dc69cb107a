"""Batch-norm population statistics as PacGAN's code keeps them (``train.bn_stats = "pacgan"``).

torch's batch norm moves its running mean and unbiased variance by momentum 0.1 on every forward in train mode.
PacGAN's code (Blocks' ``BatchNormalization`` and the population updates of ``pacgan_task.py``) keeps a population
mean and a population *standard deviation* and moves them once per training step: the minibatch mean and
standard deviation ``sqrt(biased var + ε)`` of each of G's m applications in the step (one per packed chunk)
are averaged, then ``population ← 0.05·minibatch + 0.95·population``. Blocks' ε is 1e-4, in training and in
inference alike, and inference divides by the population standard deviation, which starts at 1.

PacGAN's metrics are taken after its training monitor has run 50 more batches of 100 latents (m chunks each)
through G in training mode at the end of the epoch, each moving the population so: at every evaluation its
population statistics are essentially those of the current parameters. ``refresh`` is that pass.

Inside torch's layers this is: momentum 0 (a forward leaves the running statistics as they are), ``eps`` 1e-4,
and the population standard deviation s held as ``running_var = s² − ε``, so that torch's inference
``(x − running_mean) / sqrt(running_var + ε)`` is Blocks' ``(x − mean) / s`` and checkpoints keep their keys.
``PopulationStats`` records the statistics of the forwards inside ``capture()`` and applies the update.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import torch
from torch import nn

from .registry import ConfigError

MOMENTUM = 0.05   # pacgan_task.py: population = minibatch·0.05 + population·0.95
EPS = 1e-4        # Blocks' BatchNormalization default
REFRESH_BATCHES = 50  # pacgan_task.py's training monitor: 5,000 examples in batches of 100 after every epoch


def _is_batch_norm(m: nn.Module) -> bool:
    # torch's BatchNorm1d/2d/3d and batched layers alike: running statistics, eps and momentum
    return all(hasattr(m, a) for a in ("running_mean", "running_var", "eps", "momentum")) and \
        isinstance(getattr(m, "running_mean"), torch.Tensor)


def batch_norm_layers(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.modules() if _is_batch_norm(m)]


def use_pacgan_batch_norm(module: nn.Module) -> None:
    """Set ``module``'s batch-norm layers to PacGAN's rule: momentum 0, ε 1e-4, population std 1. Call on a freshly
    built network (its running statistics are overwritten)."""
    for bn in batch_norm_layers(module):
        bn.momentum, bn.eps = 0.0, EPS
        with torch.no_grad():
            bn.running_var.fill_(1.0 - EPS)  # population std sqrt(running_var + ε) = 1, Blocks' start


def _statistics(bn: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, biased variance) of a layer's input over everything but its channels: ``[N, C, ...]`` for torch's
    layers (running mean ``[C]``), ``[K, C, N]`` for batched members (running mean ``[K, C]``)."""
    running_mean = bn.running_mean
    if running_mean.dim() == 1:
        dims = (0, *range(2, x.dim()))
    else:
        dims = tuple(range(running_mean.dim(), x.dim()))
    x = x.detach()
    var, mean = torch.var_mean(x, dim=dims, correction=0)
    if mean.shape != running_mean.shape:
        raise ConfigError(f"train.bn_stats = 'pacgan': cannot read {type(bn).__name__}'s batch statistics from an "
                          f"input of shape {tuple(x.shape)} (running statistics {tuple(running_mean.shape)}); "
                          f"use train.bn_stats = 'torch'")
    return mean, var


class PopulationStats:
    """PacGAN's population update of ``module``'s batch-norm layers (set up by ``use_pacgan_batch_norm``): the
    statistics of the forwards run inside ``capture()`` are averaged and applied by ``update()``."""

    def __init__(self, module: nn.Module):
        self.layers = batch_norm_layers(module)
        self._seen: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {id(bn): [] for bn in self.layers}
        self._capturing = False
        for bn in self.layers:
            bn.register_forward_pre_hook(self._record)

    def _record(self, bn: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        if self._capturing and bn.training:
            self._seen[id(bn)].append(_statistics(bn, inputs[0]))

    @contextlib.contextmanager
    def capture(self) -> Iterator[None]:
        """Record the batch statistics of G's forwards in this block (the m chunks of one step)."""
        self._capturing = True
        try:
            yield
        finally:
            self._capturing = False

    @torch.no_grad()
    def update(self) -> None:
        """population ← 0.05·(mean over the captured forwards) + 0.95·population, for the mean and the std."""
        for bn in self.layers:
            seen = self._seen[id(bn)]
            if not seen:
                continue
            mean = torch.stack([m for m, _ in seen]).mean(0)
            std = torch.stack([(v + bn.eps).sqrt() for _, v in seen]).mean(0)
            population_std = (bn.running_var + bn.eps).sqrt()
            bn.running_mean.lerp_(mean.to(bn.running_mean.dtype), MOMENTUM)
            population_std.lerp_(std.to(population_std.dtype), MOMENTUM)
            bn.running_var.copy_(population_std.square() - bn.eps)
            seen.clear()


@torch.no_grad()
def refresh(population: PopulationStats, module: nn.Module, forward: Callable[[], object]) -> None:
    """PacGAN's end-of-epoch monitor pass: ``REFRESH_BATCHES`` calls of ``forward`` (G on a fresh batch of latents,
    chunk by chunk) with ``module`` in training mode, each moving the population once."""
    was_training = module.training
    module.train()
    try:
        for _ in range(REFRESH_BATCHES):
            with population.capture():
                forward()
            population.update()
    finally:
        module.train(was_training)


def population_stats(module: nn.Module, rule: str) -> PopulationStats | None:
    """The updater of ``module``'s population statistics under ``train.bn_stats = rule`` (None: torch's own)."""
    return PopulationStats(module) if rule == "pacgan" else None
