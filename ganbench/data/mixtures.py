"""2-D Gaussian mixtures: the ``Mixture`` dataset, the PacGAN / VEEGAN ``ring8`` and ``grid25`` sets, and
``ring8-wide``, the quick suite's ring (no published numbers use it, so no published row stands beside it)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from ..registry import ConfigError
from .base import DATASETS, Dataset, check_generator, check_n


class Mixture(Dataset):
    """Equal-weight isotropic Gaussian mixture in 2-D.

    ``n_train`` (None: fresh draws every step) fixes the training set as PacGAN does (100,000 points drawn
    once): ``train_sampler(seed)`` draws that many points once from ``seed`` and batches are drawn uniformly,
    with replacement, from them. Evaluation (``real``) always draws afresh from the mixture itself.
    """

    kind = "points"

    def __init__(self, name: str, params: dict[str, Any], centers: np.ndarray, std: float,
                 n_train: int | None = None):
        super().__init__(name, params, (2,))
        self.centers = torch.as_tensor(centers, dtype=torch.float64)
        self.std = float(std)
        self.n_modes = self.n_classes = len(centers)
        self.n_train = n_train

    def train_sampler(self, seed: int) -> Callable[[int, torch.Generator], torch.Tensor]:
        if self.n_train is None:
            return self.sample
        fixed = self._draw(self.n_train, torch.Generator().manual_seed(seed))[0]
        on_device: dict[torch.device, torch.Tensor] = {}

        def sample_fixed(n: int, generator: torch.Generator) -> torch.Tensor:
            g = check_generator(generator)
            if g.device not in on_device:  # moved once, not every step
                on_device[g.device] = fixed.to(g.device)
            return on_device[g.device][torch.randint(self.n_train, (check_n(n),), generator=g, device=g.device)]

        return sample_fixed

    def _draw(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        g = check_generator(generator)
        modes = torch.randint(self.n_modes, (check_n(n),), generator=g, device=g.device)
        noise = torch.randn(n, 2, generator=g, dtype=torch.float64, device=g.device)
        return (self.centers.to(g.device)[modes] + self.std * noise).float(), modes

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self._draw(n, generator)[0]

    def real_with_labels(self, n: int, split: str, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_split(split)
        return self._draw(n, generator)

    def info(self) -> dict[str, Any]:
        return {**super().info(), "centers": self.centers.tolist(), "std": self.std}


def _positive(name: str, key: str, value: float) -> float:
    if not value > 0:
        raise ConfigError(f"dataset {name!r}: {key} must be > 0, got {value!r}")
    return value


def _n_train(name: str, n_train: Any) -> int | None:
    if n_train is not None and (isinstance(n_train, bool) or not isinstance(n_train, int) or n_train < 1):
        raise ConfigError(f"dataset {name!r}: n_train must be an int >= 1 (a fixed training set per seed, "
                          f"PacGAN: 100000) or unset (fresh draws every step), got {n_train!r}")
    return n_train


def _params(params: dict[str, Any], n_train: int | None) -> dict[str, Any]:
    return params if n_train is None else {**params, "n_train": n_train}  # unset stays out of info() and caches


@DATASETS.register("ring8", "8 Gaussians on a circle (PacGAN ring: radius 1, std 0.01), 2-D points")
def ring8(radius: float = 1.0, std: float = 0.01, n_modes: int = 8, n_train: int | None = None) -> Mixture:
    return _ring("ring8", radius, std, n_modes, n_train)


def _ring(name: str, radius: float, std: float, n_modes: int, n_train: int | None) -> Mixture:
    for key, value in (("radius", radius), ("std", std), ("n_modes", n_modes)):
        _positive(name, key, value)
    n_train = _n_train(name, n_train)
    angles = 2 * np.pi * np.arange(n_modes) / n_modes  # mode k at angle 2πk/n_modes, starting on the +x axis
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return Mixture(name, _params({"radius": radius, "std": std, "n_modes": n_modes}, n_train), centers, std, n_train)


@DATASETS.register("ring8-wide", "8 Gaussians on a circle of radius 2, std 0.05 (Metz et al. 2017's ring, widened "
                                "from std 0.02 to converge in 2,000 CPU steps; the quick suite), 2-D points")
def ring8_wide(radius: float = 2.0, std: float = 0.05, n_modes: int = 8, n_train: int | None = None) -> Mixture:
    return _ring("ring8-wide", radius, std, n_modes, n_train)  # ring8's geometry under its own name: no PacGAN row


@DATASETS.register("grid25", "25 Gaussians on a 5x5 grid at {-4,-2,0,2,4}^2 (PacGAN grid: std 0.05), 2-D points")
def grid25(spacing: float = 2.0, std: float = 0.05, n_train: int | None = None) -> Mixture:
    for key, value in (("spacing", spacing), ("std", std)):
        _positive("grid25", key, value)
    n_train = _n_train("grid25", n_train)
    axis = spacing * np.arange(-2, 3)
    centers = np.array([(x, y) for x in axis for y in axis])  # mode 5i+j at (axis[i], axis[j])
    return Mixture("grid25", _params({"spacing": spacing, "std": std}, n_train), centers, std, n_train)
