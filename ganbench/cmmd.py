"""CMMD (Jayasumana et al. 2024, "Rethinking FID: Towards a Better Evaluation Metric for Image Generation").

MMD² between CLIP image embeddings with the Gaussian RBF kernel k(x, y) = exp(−‖x − y‖² / (2σ²)), σ = 10,
reported ×1000. The estimator is the one of google-research's reference (``cmmd/distance.py``): the
*biased* V-statistic

    CMMD = 1000 · (mean_{i,i'} k(xᵢ, xᵢ') + mean_{j,j'} k(yⱼ, yⱼ') − 2 · mean_{i,j} k(xᵢ, yⱼ))

with the diagonal terms k(x, x) = 1 included, so CMMD ≥ 0 (0 for identical sets) and it is biased upward
by O(1/N): two N-samples of one distribution score about 1000·(2 − 2·E k(x, x'))/N on average, not 0.
The reference feeds L2-normalised embeddings (``embedding.py`` divides by the norm), so rows are normalised
here too (a no-op when they already are).
Kernel means are taken in float64 blocks, so N = 30,000 needs no N×N matrix.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .metrics import BLOCK_ELEMENTS, check_feature_pair, squared_distances

SIGMA = 10.0    # the reference's _SIGMA
SCALE = 1000.0  # the reference's _SCALE


def _unit_rows(x: np.ndarray, name: str) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError(f"cmmd: {name} has {int((norms == 0).sum())} all-zero embeddings; "
                         f"CLIP embeddings must be nonzero to be L2-normalised")
    return x / norms


def _rbf_mean(x: np.ndarray, y: np.ndarray, gamma: float) -> float:
    """mean_{i,j} exp(−γ‖xᵢ − yⱼ‖²), in row blocks of at most 2²³ entries."""
    y_sq = np.einsum("ij,ij->i", y, y)
    rows = max(1, BLOCK_ELEMENTS // y.shape[0])
    total = 0.0
    for lo in range(0, x.shape[0], rows):
        d2 = squared_distances(x[lo:lo + rows], y, y_sq)
        d2 *= -gamma
        total += float(np.exp(d2, out=d2).sum())
    return total / (x.shape[0] * y.shape[0])


def cmmd(real: Any, fake: Any, sigma: float = SIGMA, scale: float = SCALE) -> float:
    """CMMD between real and fake CLIP embeddings (rows L2-normalised first), float64, ≥ 0."""
    a, b = check_feature_pair(real, fake, min_n=1)
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"cmmd sigma must be a positive finite number, got {sigma!r}")
    a, b = _unit_rows(a, "real features"), _unit_rows(b, "fake features")
    gamma = 1.0 / (2.0 * sigma ** 2)
    value = _rbf_mean(a, a, gamma) + _rbf_mean(b, b, gamma) - 2.0 * _rbf_mean(a, b, gamma)
    return scale * max(value, 0.0)  # a V-statistic is ≥ 0; rounding may dip a hair below
