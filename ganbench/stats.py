"""Rank tests over seeds, shared by the leaderboard's pairwise verdicts and the regression gate, and the
signed-rank test of matched trials that the equal-budget analysis (``budget``) uses.

Mann–Whitney U is computed exactly from the permutation distribution of the rank sum, ties
included (mid-ranks), so p-values are right for the small seed counts GAN comparisons have (8 vs 8
seeds: 12,870 equally likely splits). Undefined outcomes are never dropped: the callers turn them
into the worst value (``worst_first``) before ranking, so a run with no value counts against its
side instead of vanishing from the test.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

EXACT_MAX_N = 60      # pooled values up to which Mann–Whitney is exact; above, the normal approximation
ALTERNATIVES = ("two-sided", "greater", "less")


def _rank_sum_distribution(pooled: np.ndarray, n1: int) -> tuple[np.ndarray, np.ndarray]:
    """Doubled mid-ranks of ``pooled`` and the exact distribution of the doubled rank sum of n1 of them."""
    from scipy import stats
    r2 = np.rint(2 * stats.rankdata(pooled)).astype(np.int64)  # doubled mid-ranks: integers, ties included
    total = int(r2.sum())
    counts = np.zeros((n1 + 1, total + 1))  # counts[k, s]: k-subsets of the pooled values with doubled rank sum s
    counts[0, 0] = 1.0
    for r in r2:
        counts[1:, r:] = counts[1:, r:] + counts[:-1, :total + 1 - r]  # RHS first: each value used at most once
    return r2, counts[n1] / counts[n1].sum()


def mannwhitney_pvalue(x: Any, y: Any, alternative: str = "two-sided") -> float:
    """Mann–Whitney U p-value of ``x`` against ``y``: exact (with ties) up to ``EXACT_MAX_N`` values, else normal.

    ``greater``: the alternative is that ``x`` tends to be larger than ``y``; ``less``: smaller.
    Infinite values rank as the largest or smallest; NaN is refused (decide first what it means).
    """
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {', '.join(ALTERNATIVES)}, got {alternative!r}")
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if np.isnan(x).any() or np.isnan(y).any():
        raise ValueError("mannwhitney_pvalue: NaN values; map undefined outcomes to a worst value first")
    if len(x) == 0 or len(y) == 0:
        raise ValueError(f"mannwhitney_pvalue: needs values on both sides, got {len(x)} and {len(y)}")
    n1, n = len(x), len(x) + len(y)
    if n > EXACT_MAX_N:
        from scipy import stats
        fx, fy = _finite_ranks(x, y)
        return float(stats.mannwhitneyu(fx, fy, alternative=alternative, method="asymptotic").pvalue)
    r2, dist = _rank_sum_distribution(np.concatenate([x, y]), n1)
    return _tail_pvalue(dist, int(r2[:n1].sum()), alternative)


def _tail_pvalue(dist: np.ndarray, s: int, alternative: str) -> float:
    """The p-value of an observed statistic ``s`` under its exact null distribution ``dist`` (P of each value):
    the upper tail for ``greater``, the lower for ``less``, twice the smaller for ``two-sided`` (capped at 1)."""
    upper, lower = float(dist[s:].sum()), float(dist[:s + 1].sum())
    if alternative == "greater":
        return min(1.0, upper)
    if alternative == "less":
        return min(1.0, lower)
    return min(1.0, 2 * min(upper, lower))


def signed_rank_pvalue(x: Any, y: Any, alternative: str = "two-sided") -> float:
    """Wilcoxon signed-rank p-value of matched pairs ``x[i]``, ``y[i]``, exact for any count (ties included).

    The differences x − y are ranked by magnitude (mid-ranks); a pair whose values are equal, infinite ones
    included (both the worst outcome), carries no sign and is dropped (Wilcoxon's rule). Under the null each
    remaining sign is + or − with probability ½, independently; the exact distribution of the rank sum of
    the positive differences is built value by value. ``greater``: x tends to exceed its partner y.
    """
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {', '.join(ALTERNATIVES)}, got {alternative!r}")
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"signed_rank_pvalue: needs two sequences of matched values, got shapes {x.shape}, {y.shape}")
    if np.isnan(x).any() or np.isnan(y).any():
        raise ValueError("signed_rank_pvalue: NaN values; map undefined outcomes to a worst value first")
    keep = x != y
    if not keep.any():
        return 1.0
    d = np.where(np.isinf(x[keep]) | np.isinf(y[keep]), np.where(x[keep] > y[keep], np.inf, -np.inf),
                 x[keep] - y[keep])
    from scipy import stats
    r2 = np.rint(2 * stats.rankdata(np.abs(d))).astype(np.int64)  # doubled mid-ranks: integers
    dist = np.zeros(int(r2.sum()) + 1)  # dist[s]: probability that the positive doubled ranks sum to s
    dist[0] = 1.0
    for r in r2:
        dist[r:] = 0.5 * dist[r:] + 0.5 * dist[:len(dist) - r]  # the right side is evaluated first
        dist[:r] *= 0.5
    return _tail_pvalue(dist, int(r2[d > 0].sum()), alternative)


def _finite_ranks(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pooled ranks split back into x and y: the same test on finite numbers (scipy refuses infinities)."""
    from scipy import stats
    r = stats.rankdata(np.concatenate([x, y]))
    return r[:len(x)], r[len(x):]


def min_pvalue(n1: int, n2: int, alternative: str = "two-sided") -> float:
    """The smallest Mann–Whitney p-value at sizes n1, n2 (complete separation); 0 where no exact bound applies."""
    if n1 + n2 > EXACT_MAX_N:
        return 0.0
    one_sided = 1 / math.comb(n1 + n2, n1)
    return min(1.0, 2 * one_sided) if alternative == "two-sided" else one_sided


def signed_rank_min_pvalue(n: int, alternative: str = "two-sided") -> float:
    """The smallest signed-rank p-value of ``n`` matched pairs (every difference of one sign, no ties)."""
    one_sided = 0.5 ** n if n > 0 else 1.0
    return min(1.0, 2 * one_sided) if alternative == "two-sided" else one_sided


def holm(pvalues: Iterable[float]) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (step-down, monotone, capped at 1), in the input order."""
    p = np.asarray(list(pvalues), dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def worst_first(values: Iterable[Any], higher_is_better: bool) -> np.ndarray:
    """``values`` as float64 with every undefined one (None, NaN) replaced by the worst possible value."""
    worst = -math.inf if higher_is_better else math.inf
    out = [worst if v is None or (isinstance(v, float) and math.isnan(v)) else float(v) for v in values]
    return np.asarray(out, dtype=np.float64)
