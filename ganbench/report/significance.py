"""Pairwise significance between the losses of a leaderboard: Mann–Whitney U (exact) or Welch's t-test,
Holm-adjusted, with the "too few seeds" verdict when no pair can reach significance.

``LABELS``, the display names of metrics the verdicts print, come from ``ganbench.catalogue``.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from .. import stats as stats_
from ..catalogue import LABELS  # display names of the metrics

if TYPE_CHECKING:
    import pandas as pd

TESTS = ("mannwhitney", "welch")
MIN_SEEDS = 3        # below this a spread across seeds is a guess, whatever the test says
EXACT_MAX_N = stats_.EXACT_MAX_N  # pooled runs up to which Mann–Whitney is exact


def smallest_pvalue(n1: int, n2: int, test: str = "mannwhitney") -> float:
    """The smallest two-sided p-value ``test`` can give at sizes n1, n2 (0: no bound below alpha)."""
    if test == "mannwhitney":
        return stats_.min_pvalue(n1, n2, "two-sided")
    return 0.0 if min(n1, n2) >= 2 else 1.0


def compare_seeds(x: Any, y: Any, test: str = "mannwhitney") -> tuple[float, int]:
    """Two entries' per-seed values ``x`` and ``y``: (two-sided p, direction); direction +1 when ``x`` tends to
    be larger than ``y``, -1 smaller, 0 neither."""
    from scipy import stats
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if test == "mannwhitney":
        u1 = stats.rankdata(np.concatenate([x, y]))[:len(x)].sum() - len(x) * (len(x) + 1) / 2
        return stats_.mannwhitney_pvalue(x, y, "two-sided"), int(np.sign(u1 - len(x) * len(y) / 2))
    if test == "welch":
        with warnings.catch_warnings():  # constant groups warn about precision; their nan p is handled below
            warnings.simplefilter("ignore", RuntimeWarning)
            p = float(stats.ttest_ind(x, y, equal_var=False).pvalue)
        return (1.0 if math.isnan(p) else p), int(np.sign(x.mean() - y.mean()))  # nan: two constant, equal groups
    raise ValueError(f"test must be one of {', '.join(TESTS)}, got {test!r}")


holm = stats_.holm  # one implementation, shared with the regression gate


@dataclass
class LossComparison:
    """Pairwise outcomes for ``entries`` (row vs column): 'win', 'tie', 'loss', 'n/a', '' on the diagonal."""
    entries: list[str]
    outcome: dict[tuple[str, str], str]
    p_adj: dict[tuple[str, str], float]
    verdict: str       # 'significant' | 'not significant' | 'too few seeds' | 'no data' | 'not tested'
    explanation: str

    def matrix(self) -> "pd.DataFrame":
        """The win / tie / loss matrix as a DataFrame: row entry vs column entry ('' on the diagonal)."""
        import pandas as pd
        return pd.DataFrame([[self.outcome[(a, b)] for b in self.entries] for a in self.entries],
                            index=pd.Index(self.entries, name="row"), columns=pd.Index(self.entries, name="column"))

    def table(self) -> "pd.DataFrame":
        """One row per pair of entries (each pair once): ``a``, ``b``, ``outcome`` (for ``a``) and the
        Holm-adjusted ``p_adj`` (nan where the pair was not testable)."""
        import pandas as pd
        rows = [{"a": a, "b": b, "outcome": self.outcome[(a, b)], "p_adj": self.p_adj.get((a, b), math.nan)}
                for i, a in enumerate(self.entries) for b in self.entries[i + 1:]]
        return pd.DataFrame(rows, columns=["a", "b", "outcome", "p_adj"])

    def record(self, entry: str) -> Optional[tuple[int, int, int]]:
        """(wins, ties, losses) of ``entry`` over its testable pairs; None when none is testable."""
        cells = [self.outcome[(entry, o)] for o in self.entries if o != entry]
        tested = [c for c in cells if c != "n/a"]
        return (tested.count("win"), tested.count("tie"), tested.count("loss")) if tested else None


def pairwise(values: dict[str, Any], higher_is_better: bool, test: str = "mannwhitney", alpha: float = 0.05,
             metric: str = "fid", label: str | None = None) -> LossComparison:
    """Test every pair of ``values`` (entry -> per-seed values); ``label`` names the metric in the explanation
    (default ``LABELS``; boards pass ``FD_DINOv2-L`` for FID on DINOv2 features).

    Every value counts: a nan (undefined: no HQ sample, a diverged generator) is the worst outcome, +∞ where
    lower is better and −∞ where higher is better, so a rank test puts it below every defined value (pass
    ``aggregate.with_worst`` values to use the metric's own worst instead). Welch's test gives no verdict on
    a group holding an infinite value (its mean is infinite): such pairs read as ties.
    """
    metric_name = label or LABELS.get(metric, metric)
    if test not in TESTS:
        raise ValueError(f"test must be one of {', '.join(TESTS)}, got {test!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    vals = {k: np.array(v, dtype=np.float64) for k, v in values.items()}
    for v in vals.values():
        v[np.isnan(v)] = -np.inf if higher_is_better else np.inf
    entries = list(values)
    outcome = {(a, a): "" for a in entries}
    p_adj: dict[tuple[str, str], float] = {}
    testable, raw, signs, bounds = [], [], [], []
    for a, b in combinations(entries, 2):
        na, nb = len(vals[a]), len(vals[b])
        if min(na, nb) < MIN_SEEDS or smallest_pvalue(na, nb, test) >= alpha:  # p < alpha is out of reach
            outcome[(a, b)] = outcome[(b, a)] = "n/a"
            continue
        p, sign = compare_seeds(vals[a], vals[b], test)
        testable.append((a, b))
        raw.append(p)
        signs.append(sign)
        bounds.append(smallest_pvalue(na, nb, test))
    for (a, b), p, sign in zip(testable, holm(raw), signs):
        p_adj[(a, b)] = p_adj[(b, a)] = float(p)
        better_a = sign > 0 if higher_is_better else sign < 0
        if p < alpha and sign != 0:
            outcome[(a, b)], outcome[(b, a)] = ("win", "loss") if better_a else ("loss", "win")
        else:
            outcome[(a, b)] = outcome[(b, a)] = "tie"
    if len(entries) < 2:
        return LossComparison(entries, outcome, p_adj, "no data", "Only one loss: nothing to compare.")
    if not any(len(v) for v in vals.values()):
        return LossComparison(entries, outcome, p_adj, "no data", f"No {metric_name} values to compare.")
    name = "Mann–Whitney U (two-sided)" if test == "mannwhitney" else "Welch's t-test (two-sided)"
    m, pairs = len(testable), len(entries) * (len(entries) - 1) // 2
    if not testable or min(m * b for b in bounds) >= alpha:  # Holm multiplies the smallest p by m
        outcome = {k: ("" if k[0] == k[1] else "n/a") for k in outcome}  # a tie here would only mean "too few"
        ns = [len(v) for v in vals.values()]
        seeds = f"{min(ns)}" if min(ns) == max(ns) else f"{min(ns)} to {max(ns)}"
        need = (f"{name} at α = {alpha:g} needs ≥ {_seeds_needed(alpha, pairs, test)} seeds per loss"
                + (f" across {pairs} Holm-corrected pairs" if pairs > 1 else ""))
        return LossComparison(entries, outcome, p_adj, "too few seeds", f"{metric_name} values per "
                          f"loss: {seeds} seeds; {need}. The order below is by mean only.")
    n_sig = sum(c == "win" for c in outcome.values())
    text = f"{name}, Holm-corrected over {m} pairs, α = {alpha:g}: {n_sig} of {m} pairs differ significantly"
    text += f" ({pairs - m} pairs with too few seeds)." if pairs > m else "."
    return LossComparison(entries, outcome, p_adj, "significant" if n_sig else "not significant", text)


def _seeds_needed(alpha: float, m: int, test: str) -> int:
    n = MIN_SEEDS
    while test == "mannwhitney" and m * smallest_pvalue(n, n, test) >= alpha and 2 * n <= EXACT_MAX_N:
        n += 1
    return n
