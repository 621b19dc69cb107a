"""Density and coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative Models").

With real features X₁..X_N, fakes Y₁..Y_M and B(Xᵢ) the ball around Xᵢ whose radius is the distance to its
k-th nearest other real (NND_k):

    density  = 1/(k·M) · Σ_j Σ_i 1[Y_j ∈ B(Xᵢ)]        (≈ 1 when fakes follow the reals; may exceed 1)
    coverage = 1/N · Σ_i 1[∃ j: Y_j ∈ B(Xᵢ)]            (in [0, 1])

Both use only real-centred balls, so a few outlying reals or fakes cannot inflate them the way they inflate
precision and recall. Conventions follow the reference ``prdc.compute_prdc`` (v0.2): the radius is the
(k+1)-th smallest distance within the reals (the point itself is the first) and "in the ball" is strict
(``<``). Distances are float64, computed in blocks so memory stays bounded for 50k×2048 features.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .metrics import BLOCK_ELEMENTS, check_int, kth_radius_sq, check_feature_pair, squared_distances

DEFAULT_K = 5  # the paper's choice (Sec. 4: k = 5 with 10,000 real and fake samples)


def density_coverage(real: Any, fake: Any, k: int = DEFAULT_K) -> tuple[float, float]:
    """(density, coverage) of ``fake`` against ``real`` features with k-NN balls around the reals."""
    k = check_int("density_coverage k", k, 1)
    a, b = check_feature_pair(real, fake, min_n=1)
    if a.shape[0] <= k:
        raise ValueError(f"density_coverage needs more than k={k} real samples for k-NN radii, got {a.shape[0]}")
    a_sq = np.einsum("ij,ij->i", a, a)
    rows = max(1, BLOCK_ELEMENTS // a.shape[0])
    radius_sq = kth_radius_sq(a, a_sq, k, rows)
    inside = 0  # Σ_j Σ_i 1[Y_j ∈ B(Xᵢ)]
    nearest_fake_sq = np.full(a.shape[0], np.inf)
    for lo in range(0, b.shape[0], rows):  # fake×real blocks: one pass serves both sums
        d2 = squared_distances(b[lo:lo + rows], a, a_sq)
        inside += int((d2 < radius_sq[None, :]).sum())
        np.minimum(nearest_fake_sq, d2.min(axis=0), out=nearest_fake_sq)
    return inside / (k * b.shape[0]), float((nearest_fake_sq < radius_sq).mean())
