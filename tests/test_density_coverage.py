"""ganbench.density_coverage: hand-computed values and parity with prdc.compute_prdc (the reference)."""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from ganbench.density_coverage import density_coverage


def test_hand_computed_on_a_line():
    # reals 0, 1, 2, 10 with k = 1: radii (nearest other real) 1, 1, 1, 8.
    # fake 0.5: inside balls of 0 and 1 (|0.5-0| < 1, |0.5-1| < 1), not 2 (1.5), not 10 (9.5) → 2
    # fake 5:   inside the ball of 10 only (|5-10| = 5 < 8) → 1;   fake 2.0: inside 1 (1.0 < 1? no), 2 (0 < 1) → 1
    real = np.array([[0.0], [1.0], [2.0], [10.0]])
    fake = np.array([[0.5], [5.0], [2.0]])
    density, coverage = density_coverage(real, fake, k=1)
    assert density == pytest.approx((2 + 1 + 1) / (1 * 3))
    # covered: 0 (by 0.5), 1 (by 0.5), 2 (by 2.0), 10 (by 5) → 4/4
    assert coverage == pytest.approx(1.0)
    # a boundary point is outside (prdc uses <): fake 1.0 has |1-0| = 1 = radius of 0, |1-2| = 1 = radius of 2
    d, c = density_coverage(real, np.array([[1.0]]), k=1)
    assert (d, c) == (pytest.approx(1.0), pytest.approx(0.25))


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("shift", [0.0, 0.7])
def test_matches_prdc_reference(k, shift):
    prdc = pytest.importorskip("prdc")
    rng = np.random.default_rng(k)
    real = rng.standard_normal((300, 16))
    fake = rng.standard_normal((250, 16)) * 1.2 + shift
    with contextlib.redirect_stdout(io.StringIO()):  # compute_prdc prints the set sizes
        ref = prdc.compute_prdc(real, fake, nearest_k=k)
    density, coverage = density_coverage(real, fake, k=k)
    assert density == pytest.approx(ref["density"], rel=1e-12)
    assert coverage == pytest.approx(ref["coverage"], rel=1e-12)


def test_blocks_give_the_same_answer(monkeypatch):
    import ganbench.density_coverage as dc
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((120, 4)), rng.standard_normal((90, 4))
    whole = density_coverage(real, fake)
    monkeypatch.setattr(dc, "BLOCK_ELEMENTS", 500)  # 4 rows per block
    assert density_coverage(real, fake) == whole


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"more than k=5 real samples.*got 5"):
        density_coverage(np.zeros((5, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"k must be an integer >= 1, got 0"):
        density_coverage(np.zeros((5, 2)), np.zeros((3, 2)), k=0)
    with pytest.raises(ValueError, match=r"same feature dimension"):
        density_coverage(np.zeros((9, 2)), np.zeros((3, 3)))
