"""ganbench.cmmd: hand-computed values and parity with google-research's reference estimator."""
from __future__ import annotations

import numpy as np
import pytest

from ganbench.cmmd import SCALE, SIGMA, cmmd


def reference_mmd(x, y):
    """google-research/cmmd distance.py ``mmd`` transcribed from jax.numpy to numpy (same operations)."""
    x_sqnorms = np.diag(x @ x.T)
    y_sqnorms = np.diag(y @ y.T)
    gamma = 1 / (2 * SIGMA ** 2)
    k_xx = np.mean(np.exp(-gamma * (-2 * (x @ x.T) + x_sqnorms[:, None] + x_sqnorms[None, :])))
    k_xy = np.mean(np.exp(-gamma * (-2 * (x @ y.T) + x_sqnorms[:, None] + y_sqnorms[None, :])))
    k_yy = np.mean(np.exp(-gamma * (-2 * (y @ y.T) + y_sqnorms[:, None] + y_sqnorms[None, :])))
    return SCALE * (k_xx + k_yy - 2 * k_xy)


def test_hand_computed_two_unit_vectors():
    # x = e1, y = e2: ‖x − y‖² = 2, k_xx = k_yy = 1, k_xy = exp(−2/200) → 1000·(2 − 2·e^(−0.01))
    assert cmmd([[1.0, 0.0]], [[0.0, 1.0]]) == pytest.approx(1000 * (2 - 2 * np.exp(-0.01)), rel=1e-12)
    # rows are L2-normalised first, as the reference's embeddings are: scaling changes nothing
    assert cmmd([[3.0, 0.0]], [[0.0, 0.5]]) == pytest.approx(1000 * (2 - 2 * np.exp(-0.01)), rel=1e-12)


def test_identical_sets_give_zero_and_the_estimator_is_biased():
    x = np.eye(3)
    assert cmmd(x, x) == pytest.approx(0.0, abs=1e-12)
    # V-statistic: {e1} against {e1, e2} is not 0 although e1 is in both: 1000·(1 + (2+2k)/4 − 2·(1+k)/2), k = e^(−0.01)
    k = np.exp(-0.01)
    assert cmmd(x[:1], x[:2]) == pytest.approx(1000 * (1 + (2 + 2 * k) / 4 - (1 + k)), rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_reference_on_random_embeddings(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((200, 32))
    y = rng.standard_normal((150, 32)) + 0.3
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    assert cmmd(x, y) == pytest.approx(reference_mmd(x, y), rel=1e-9)


def test_blocks_give_the_same_answer(monkeypatch):
    import ganbench.cmmd as c
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((70, 5)), rng.standard_normal((60, 5))
    whole = cmmd(x, y)
    monkeypatch.setattr(c, "BLOCK_ELEMENTS", 100)
    assert cmmd(x, y) == pytest.approx(whole, rel=1e-12)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"real features has 1 all-zero embeddings"):
        cmmd([[0.0, 0.0], [1.0, 0.0]], [[1.0, 1.0]])
    with pytest.raises(ValueError, match=r"sigma must be a positive finite number, got -1"):
        cmmd([[1.0]], [[1.0]], sigma=-1)
