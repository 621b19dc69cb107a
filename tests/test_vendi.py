"""ganbench.vendi: hand-computed values and parity with the vendi-score package (the reference)."""
from __future__ import annotations

import numpy as np
import pytest

from ganbench.vendi import vendi_score


def test_hand_computed():
    # m orthogonal directions, n/m copies each: K/n is block-constant with m eigenvalues 1/m → exp(log m) = m
    x = np.repeat(np.eye(4), 5, axis=0)
    assert vendi_score(x) == pytest.approx(4.0, rel=1e-12)
    assert vendi_score(np.ones((7, 3))) == pytest.approx(1.0, rel=1e-12)  # total collapse
    # two unit vectors at cosine c: eigenvalues (1 ± c)/2 → exp(H); c = 0.6 gives (0.8, 0.2)
    x = np.array([[1.0, 0.0], [0.6, 0.8]])
    h = -(0.8 * np.log(0.8) + 0.2 * np.log(0.2))
    assert vendi_score(x) == pytest.approx(np.exp(h), rel=1e-12)


@pytest.mark.parametrize("n,d", [(50, 8), (30, 64)])  # both branches: Xᵀ·X (d < n) and X·Xᵀ
def test_matches_vendi_score_package(n, d):
    vendi = pytest.importorskip("vendi_score.vendi")
    x = np.random.default_rng(n).standard_normal((n, d))
    assert vendi_score(x) == pytest.approx(vendi.score_X(x, q=1, normalize=True), rel=1e-9)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"1 all-zero feature rows"):
        vendi_score([[0.0, 0.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match=r"2-D array"):
        vendi_score([1.0, 2.0])
