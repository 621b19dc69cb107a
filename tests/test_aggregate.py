"""Per-seed values -> one cell: worst outcomes for undefined values, percentile-bootstrap intervals inside the range."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ganbench.aggregate import N_BOOT, RANGES, seed_interval, with_worst, worst
from ganbench.results import DIRECTIONS


def test_worst_outcome_by_direction_and_range():
    assert worst("fid", False) == math.inf and worst("reverse_kl", False) == math.inf
    assert worst("hq_fraction", True) == 0.0 and worst("modes", True) == 0.0 and worst("is", True) == 1.0
    assert worst("recall", True) == 0.0
    assert set(DIRECTIONS) <= set(RANGES)  # every ranked metric has a range, hence a worst outcome
    np.testing.assert_array_equal(with_worst([0.5, np.nan, 0.25], "hq_fraction", True), [0.5, 0.0, 0.25])
    np.testing.assert_array_equal(with_worst([1.5, np.nan], "reverse_kl", False), [1.5, np.inf])


def test_seed_interval_by_hand():
    r = seed_interval([1.0, 2.0, 4.0])
    assert r["n"] == 3 and r["mean"] == pytest.approx(7 / 3, rel=1e-15)
    assert r["std"] == pytest.approx(math.sqrt(7 / 3), rel=1e-14)
    # resampled means of three values lie in [1, 4]; P(mean = 1) = P(mean = 4) = 1/27 > 2.5%: the bounds are exact
    assert (r["lo"], r["hi"]) == (1.0, 4.0)
    # two values: means 0, 1/2, 1 with probabilities 1/4, 1/2, 1/4
    assert seed_interval([0.0, 1.0])[("lo")] == 0.0 and seed_interval([0.0, 1.0])["hi"] == 1.0
    assert seed_interval([0.3, 0.3, 0.3])["lo"] == seed_interval([0.3, 0.3, 0.3])["hi"] == pytest.approx(0.3)
    one = seed_interval([5.0])
    assert one["n"] == 1 and one["mean"] == 5.0 and math.isnan(one["std"]) and math.isnan(one["lo"])
    assert math.isnan(seed_interval([])["mean"])


def test_seed_interval_matches_scipy_percentile_bootstrap():
    x = np.array([0.61, 0.72, 0.80, 0.83, 0.85, 0.86, 0.87, 0.90])
    ref = stats.bootstrap((x,), np.mean, method="percentile", n_resamples=20_000, random_state=1)
    r = seed_interval(x)
    # Monte-Carlo error of a 2.5% quantile from 2,000 resamples: well under 0.01 here
    assert r["lo"] == pytest.approx(ref.confidence_interval.low, abs=0.01)
    assert r["hi"] == pytest.approx(ref.confidence_interval.high, abs=0.01)
    assert N_BOOT == 2000


def test_bounded_metrics_stay_inside_their_range_where_the_t_interval_does_not():
    modes = [8.0, 1.0]  # two seeds, as the old quick suite: the t-interval was 4.5 ± 44
    half = stats.t.ppf(0.975, 1) * np.std(modes, ddof=1) / math.sqrt(2)
    assert 4.5 - half < 0 and 4.5 + half > 8
    r = seed_interval(modes)
    assert 0 <= r["lo"] <= r["mean"] <= r["hi"] <= 8
    hq = seed_interval([0.0, 0.0, 0.01, 0.98])
    assert 0.0 <= hq["lo"] and hq["hi"] <= 1.0


def test_infinite_worst_outcomes_give_infinite_bounds_not_nan():
    r = seed_interval([1.0, 2.0, np.inf])
    assert r["mean"] == math.inf and r["hi"] == math.inf
    assert r["lo"] == 1.0  # P(resample = {1, 1, 1}) = 1/27 > 2.5%


def test_seed_interval_refuses_nan_and_bad_confidence():
    with pytest.raises(ValueError, match=r"seed_interval got nan: count undefined values as the worst outcome"):
        seed_interval([1.0, float("nan")])
    with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\), got 95"):
        seed_interval([1.0], confidence=95)
