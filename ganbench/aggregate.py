"""How the per-seed values of one metric become one leaderboard cell: the metric's range and worst
outcome, undefined values counted as that worst outcome, and an interval over seeds that stays inside
the range.

* ``RANGES`` (from ``catalogue``): the values a metric can take (``modes`` in units of K, the number of
  modes). ``WORST``: the outcome a run gets when its value is undefined (reverse KL with no HQ sample,
  any metric of a generator that produced NaNs): +∞ for metrics where lower is better, the bottom of
  the range where higher is better. A run is never left out of a mean, a rank or a test while the seeds
  column counts it.
* ``seed_interval``: the mean over seeds and its 95% percentile-bootstrap interval (resampling seeds,
  ``N_BOOT`` resamples, fixed RNG so a report is reproducible). Means of values inside a range stay
  inside it, so the interval does too, unlike the t-interval (``6 ± 25`` modes of 8 at 2 seeds).
  Quantiles are taken without interpolation (``inverted_cdf``), so an infinite worst outcome gives an
  infinite bound, never ``inf − inf``.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .catalogue import RANGES  # metric -> (lowest, highest) value; "K": the run's number of modes

INTERVAL_METHOD = "mean over seeds, 95% percentile bootstrap over seeds (2,000 resamples)"
N_BOOT = 2000
BOOT_SEED = 0

INF = math.inf
# Why a value is undefined, as the page says it (default: "undefined").
UNDEFINED_BECAUSE = {"reverse_kl": "no HQ samples"}


def worst(metric: str, higher_is_better: bool) -> float:
    """The value an undefined run counts as: the bottom of the range where higher is better, else +∞."""
    return float(RANGES.get(metric, (-INF, INF))[0]) if higher_is_better else INF


def with_worst(values: Any, metric: str, higher_is_better: bool) -> np.ndarray:
    """``values`` (float64) with every non-finite entry replaced by the metric's worst outcome."""
    a = np.array(values, dtype=np.float64)
    a[~np.isfinite(a)] = worst(metric, higher_is_better)
    return a


def seed_interval(values: Any, confidence: float = 0.95) -> dict[str, float]:
    """n, mean, std (ddof 1) and the percentile-bootstrap interval ``lo``..``hi`` of the mean of ``values``.

    ``values`` are taken as they are (fill undefined ones with ``with_worst`` first; a nan left in is an
    error). n = 1: std and interval nan (one seed says nothing about the spread); n = 0: all nan.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    a = np.asarray(values, dtype=np.float64)
    if np.isnan(a).any():
        raise ValueError("seed_interval got nan: count undefined values as the worst outcome (with_worst) first")
    n = int(a.size)
    out = {"n": n, "mean": math.nan, "std": math.nan, "lo": math.nan, "hi": math.nan}
    if n == 0:
        return out
    with np.errstate(invalid="ignore"):  # inf - inf in the std of a group holding infinite worst outcomes
        out["mean"] = float(a.mean())
        if n > 1:
            out["std"] = float(a.std(ddof=1))
            picks = np.random.default_rng(BOOT_SEED).integers(0, n, size=(N_BOOT, n))
            means = a[picks].mean(axis=1)
            tail = (1 - confidence) / 2
            out["lo"], out["hi"] = (float(q) for q in np.quantile(means, [tail, 1 - tail], method="inverted_cdf"))
    return out


__all__ = ["INTERVAL_METHOD", "N_BOOT", "RANGES", "UNDEFINED_BECAUSE", "worst", "with_worst", "seed_interval"]
