"""A small residual MLP GAN for 2-D points, written without any ganbench base class.

The ganbench model contract: ``small_gan(data_shape, **params) -> (G, D)``; G has ``z_dim`` (ganbench
draws its latents, N(0, I), since G has no ``sample_latent``), D returns a plain score tensor ``[N, 1]``.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


class Block(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.fc = nn.Linear(width, width)

    def forward(self, x: Tensor) -> Tensor:
        return x + torch.relu(self.fc(x))


class PointGenerator(nn.Module):
    def __init__(self, z_dim: int, hidden: int, blocks: int, out_dim: int):
        super().__init__()
        self.z_dim = z_dim  # read by ganbench (and kept by torch.jit.script, so eval-generator finds it)
        self.net = nn.Sequential(nn.Linear(z_dim, hidden), *[Block(hidden) for _ in range(blocks)],
                                 nn.Linear(hidden, out_dim))

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class PointCritic(nn.Module):
    def __init__(self, in_dim: int, hidden: int, blocks: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.LeakyReLU(0.2),
                                 *[Block(hidden) for _ in range(blocks)], nn.Linear(hidden, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def small_gan(data_shape: tuple[int, ...], z_dim: int = 2, hidden: int = 64, blocks: int = 2):
    """residual MLP pair for 2-D points (mygan example)"""
    if len(data_shape) != 1:
        raise ValueError(f"small_gan is for points [d], got data shape {tuple(data_shape)}")
    d = data_shape[0]
    return PointGenerator(z_dim, hidden, blocks, d), PointCritic(d, hidden, blocks)
