"""The Vendi score (Friedman & Dieng 2023): the effective number of distinct samples in a set.

With rows L2-normalised and K = X·Xᵀ (cosine similarity, K_ii = 1), Vendi = exp(H(λ)) where λ are the
eigenvalues of K/N and H is their Shannon entropy. It is 1 when every sample is the same (total collapse)
and N when all are orthogonal, so it counts modes in feature space: a generator that collapses to m modes
scores about m. Same as the reference ``vendi_score.vendi.score_X`` (q = 1, normalize=True); the nonzero
eigenvalues of X·Xᵀ/N equal those of Xᵀ·X/N, so the smaller of the two Gram matrices is decomposed
(the reference's ``score_dual``).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg as sl

from .metrics import check_features


def vendi_score(features: Any) -> float:
    """Vendi score (order q = 1, cosine-similarity kernel) of one feature set, float64, in [1, N]."""
    x = check_features(features, "features", min_n=1)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError(f"vendi_score: {int((norms == 0).sum())} all-zero feature rows; the cosine kernel "
                         f"needs nonzero rows")
    x = x / norms
    n, d = x.shape
    gram = x.T @ x if d < n else x @ x.T  # same nonzero eigenvalues; decompose the smaller
    w = sl.eigvalsh(gram / n, check_finite=False)
    w = w[w > 0]  # eigenvalues are ≥ 0; rounding leaves tiny negatives, and 0·log 0 = 0
    return float(np.exp(-(w * np.log(w)).sum()))
