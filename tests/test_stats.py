"""The shared rank tests: exact Mann–Whitney U (one- and two-sided, with ties), the exact signed-rank test of
matched pairs, Holm, worst-value mapping."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from ganbench.stats import holm, mannwhitney_pvalue, min_pvalue, signed_rank_pvalue, worst_first


def _brute_force(x, y, alternative):
    """Enumerate every split of the pooled values: the definition of the exact permutation p-value."""
    pooled = np.concatenate([x, y])
    ranks = stats.rankdata(pooled)
    observed = ranks[:len(x)].sum()
    sums = [ranks[list(c)].sum() for c in itertools.combinations(range(len(pooled)), len(x))]
    sums = np.array(sums)
    upper, lower = np.mean(sums >= observed - 1e-9), np.mean(sums <= observed + 1e-9)
    return {"greater": upper, "less": lower, "two-sided": min(1.0, 2 * min(upper, lower))}[alternative]


@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
@pytest.mark.parametrize("seed", range(6))
def test_exact_p_matches_scipy_without_ties(seed, alternative):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=6), rng.normal(0.7, size=7)
    expected = stats.mannwhitneyu(x, y, alternative=alternative, method="exact").pvalue
    assert mannwhitney_pvalue(x, y, alternative) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
def test_exact_p_with_ties_is_the_permutation_distribution(alternative):
    x, y = [8, 8, 7, 8, 6], [8, 7, 7, 5, 8, 6]  # mode counts: many ties
    assert mannwhitney_pvalue(x, y, alternative) == pytest.approx(_brute_force(np.array(x, float),
                                                                               np.array(y, float), alternative))


def test_hand_computed_values():
    # 3 vs 3 completely separated: 1 of C(6, 3) = 20 splits is as extreme
    assert mannwhitney_pvalue([4, 5, 6], [1, 2, 3], "greater") == pytest.approx(1 / 20)
    assert mannwhitney_pvalue([4, 5, 6], [1, 2, 3], "less") == pytest.approx(1.0)
    assert mannwhitney_pvalue([4, 5, 6], [1, 2, 3]) == pytest.approx(2 / 20)
    assert mannwhitney_pvalue([1, 1], [1, 1], "greater") == 1.0  # all tied: no evidence either way
    assert min_pvalue(8, 8, "greater") == 1 / 12870 and min_pvalue(8, 8) == 2 / 12870


def test_infinities_rank_as_extremes_and_nan_is_refused():
    assert mannwhitney_pvalue([math.inf] * 3, [1, 2, 3], "greater") == pytest.approx(1 / 20)
    with pytest.raises(ValueError, match="NaN values; map undefined outcomes to a worst value first"):
        mannwhitney_pvalue([math.nan, 1], [1, 2])
    with pytest.raises(ValueError, match="alternative must be one of two-sided, greater, less"):
        mannwhitney_pvalue([1], [2], "bigger")


def test_large_samples_use_the_normal_approximation():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=40), rng.normal(0.3, size=40)
    x[0] = math.inf
    expected = stats.mannwhitneyu(stats.rankdata(np.r_[x, y])[:40], stats.rankdata(np.r_[x, y])[40:],
                                  alternative="less", method="asymptotic").pvalue
    assert mannwhitney_pvalue(x, y, "less") == pytest.approx(expected)


def test_holm_by_hand():
    # sorted p 0.01, 0.02, 0.04 -> 3*0.01, max(0.03, 2*0.02), max(0.04, 0.04)
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_worst_first():
    assert list(worst_first([1.0, None, math.nan], higher_is_better=False)) == [1.0, math.inf, math.inf]
    assert list(worst_first([1, None], higher_is_better=True)) == [1.0, -math.inf]


@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
@pytest.mark.parametrize("seed", range(5))
def test_signed_rank_matches_scipy_without_ties(seed, alternative):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=12), rng.normal(0.4, size=12)
    expected = stats.wilcoxon(x, y, alternative=alternative, method="exact").pvalue
    assert signed_rank_pvalue(x, y, alternative) == pytest.approx(expected, abs=1e-12)


def _signed_rank_brute_force(x, y, alternative):
    """Every assignment of signs to the nonzero differences: the definition of the exact p-value."""
    d = np.asarray(x, float) - np.asarray(y, float)
    d = d[d != 0]
    ranks = stats.rankdata(np.abs(d))
    observed = ranks[d > 0].sum()
    sums = np.array([ranks[list(s)].sum() for k in range(len(d) + 1) for s in itertools.combinations(range(len(d)), k)])
    upper, lower = np.mean(sums >= observed - 1e-9), np.mean(sums <= observed + 1e-9)
    return {"greater": upper, "less": lower, "two-sided": min(1.0, 2 * min(upper, lower))}[alternative]


@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
def test_signed_rank_with_ties_and_zeros_is_the_sign_flip_distribution(alternative):
    x = [1.0, 2.0, 2.0, 5.0, 3.0, 4.0, 7.0, 1.0, 0.5]
    y = [0.0, 1.0, 3.0, 3.0, 3.0, 2.0, 5.0, 2.0, 0.5]  # |d| ties (1, 1, 1, 2, 2, 2) and two zero differences
    assert signed_rank_pvalue(x, y, alternative) == pytest.approx(_signed_rank_brute_force(x, y, alternative))


def test_signed_rank_by_hand_and_worst_outcomes():
    # three positive differences of ranks 1, 2, 3: P(sum = 6) = 1/8 one-sided, 1/4 two-sided
    assert signed_rank_pvalue([2.0, 3.0, 4.0], [1.0, 1.0, 1.0], "greater") == 1 / 8
    assert signed_rank_pvalue([2.0, 3.0, 4.0], [1.0, 1.0, 1.0]) == 1 / 4
    # an infinite worst outcome is the largest difference; two of them are equal (dropped)
    assert signed_rank_pvalue([math.inf, 3.0, math.inf], [1.0, 1.0, math.inf], "greater") == 1 / 4
    assert signed_rank_pvalue([1.0, 2.0], [1.0, 2.0]) == 1.0
    with pytest.raises(ValueError, match="matched"):
        signed_rank_pvalue([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        signed_rank_pvalue([math.nan], [1.0])
