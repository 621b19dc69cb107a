"""Training-stability diagnostics: pure functions over a run's history and over many runs.

A history is the DataFrame of ``history.csv``: one row every k steps with ``step``,
``d_loss``, ``g_loss`` (required) and, when logged, ``d_real`` / ``d_fake`` (mean raw D
score on the real / fake batch), ``d_grad_norm`` / ``g_grad_norm`` and per-batch D
accuracies ``d_acc_real`` / ``d_acc_fake``. Statistics are float64; a value that cannot be
computed (column absent, too few finite rows) is ``nan``, never a guess.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

REQUIRED_COLUMNS = ("step", "d_loss", "g_loss")


def _column(history: pd.DataFrame, name: str) -> np.ndarray | None:
    if name not in history.columns:
        return None
    try:
        return history[name].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise ValueError(f"history column {name!r} must be numeric, got dtype {history[name].dtype}") from None


def _finite(a: np.ndarray | None) -> np.ndarray:
    return np.empty(0) if a is None else a[np.isfinite(a)]


def _median_max(a: np.ndarray | None) -> tuple[float, float]:
    """Median of the finite values; max over all non-nan values, so an inf norm shows as inf."""
    if a is None:
        return math.nan, math.nan
    finite, seen = _finite(a), a[~np.isnan(a)]
    return (float(np.median(finite)) if finite.size else math.nan,
            float(np.max(seen)) if seen.size else math.nan)


def stability_summary(history: pd.DataFrame, status: str, tail: float = 0.25,
                      score_threshold: float = 0.0) -> dict[str, Any]:
    """Summarise one run's history.

    * ``diverged``: ``status == "diverged"`` or any non-finite ``d_loss`` / ``g_loss``.
    * ``{d,g}_grad_norm_median`` over finite values; ``..._max`` over non-nan values.
    * ``g_loss_oscillation``: std (1/n) of the first differences of the finite ``g_loss``
      values in the tail window (the last ``ceil(tail * rows)`` rows, rows sorted by step).
      Differencing removes a slow drift, so a steadily falling loss scores 0 and a loss
      flipping between a and b scores |a - b|. It is in the loss's own units: compare it
      across seeds and settings of one loss, not across losses.
    * ``d_acc_real`` / ``d_acc_fake``: the tail mean of the history's ``d_acc_real`` /
      ``d_acc_fake`` columns when present (per-batch shares of real scored above / fake
      below the decision boundary). Otherwise a proxy: the share of tail rows whose mean
      score ``d_real > score_threshold`` / ``d_fake < score_threshold``. The proxy is coarse
      (it sees batch means, not samples) and means something only for losses whose D
      boundary is at ``score_threshold`` (0 for logit losses: minimax, non-saturating,
      hinge; 0.5 for 0/1-target least squares; none for a Wasserstein critic).
    """
    if not isinstance(history, pd.DataFrame):
        raise ValueError(f"history must be a pandas DataFrame, got {type(history).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"history lacks column(s) {', '.join(missing)}; required: {', '.join(REQUIRED_COLUMNS)}")
    if not isinstance(status, str):
        raise ValueError(f"status must be a string such as 'complete' or 'diverged', got {status!r}")
    if isinstance(tail, bool) or not (isinstance(tail, (int, float)) and 0 < tail <= 1):
        raise ValueError(f"tail must be a share in (0, 1], got {tail!r}")

    h = history.sort_values("step", kind="stable").reset_index(drop=True)
    d_loss, g_loss = _column(h, "d_loss"), _column(h, "g_loss")
    diverged = status == "diverged" or not (np.all(np.isfinite(d_loss)) and np.all(np.isfinite(g_loss)))

    n_tail = math.ceil(round(tail * len(h), 9))  # round first: 0.3 * 10 is 3.0000000000000004, not 4 rows
    t = h.iloc[len(h) - n_tail:]

    g_tail = _finite(_column(t, "g_loss"))
    oscillation = float(np.std(np.diff(g_tail))) if g_tail.size >= 2 else math.nan

    def accuracy(acc_col: str, score_col: str, above: bool) -> float:
        acc = _column(t, acc_col)
        if acc is not None:
            acc = _finite(acc)
            return float(acc.mean()) if acc.size else math.nan
        score = _finite(_column(t, score_col))
        if not score.size:
            return math.nan
        return float(np.mean(score > score_threshold if above else score < score_threshold))

    d_med, d_max = _median_max(_column(h, "d_grad_norm"))
    g_med, g_max = _median_max(_column(h, "g_grad_norm"))
    return {
        "diverged": bool(diverged),
        "d_grad_norm_median": d_med,
        "d_grad_norm_max": d_max,
        "g_grad_norm_median": g_med,
        "g_grad_norm_max": g_max,
        "g_loss_oscillation": oscillation,
        "d_acc_real": accuracy("d_acc_real", "d_real", above=True),
        "d_acc_fake": accuracy("d_acc_fake", "d_fake", above=False),
    }


def _as_flags(s: pd.Series) -> pd.Series:
    """True/False/1/0 -> float 1.0/0.0; missing (None, nan) -> nan = not determined."""
    def one(v: Any) -> float:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            return math.nan
        if isinstance(v, (bool, np.bool_)) or (isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1)):
            return float(v)
        raise ValueError(f"column {s.name!r} must hold True/False (or missing), got {v!r}")
    return s.map(one).astype(np.float64)


def seed_failure_rates(df: pd.DataFrame, by: tuple[str, ...] | list[str] = ("dataset", "model", "loss")) -> pd.DataFrame:
    """Share of runs (one row per seed) that diverged / collapsed, per group.

    ``df`` needs the ``by`` columns and boolean ``diverged`` and ``collapsed``; a missing
    flag (None / nan: not determined, e.g. no mode diagnostic for that dataset) is left out
    of that column's share, which is nan when no run of the group is determined.
    Returns one row per group, sorted by ``by``: the ``by`` columns, ``n_seeds`` (rows in
    the group), ``diverged``, ``collapsed`` (shares in [0, 1]).
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    by = [by] if isinstance(by, str) else list(by)
    if not by:
        raise ValueError("by must name at least one column, got none")
    missing = [c for c in (*by, "diverged", "collapsed") if c not in df.columns]
    if missing:
        raise ValueError(f"df lacks column(s) {', '.join(missing)}; needs the by columns "
                         f"({', '.join(by)}) and diverged, collapsed")
    flags = pd.DataFrame({c: df[c] for c in by})
    flags["diverged"] = _as_flags(df["diverged"])
    flags["collapsed"] = _as_flags(df["collapsed"])
    flags["n_seeds"] = 1
    out = flags.groupby(by, sort=True, dropna=False).agg(
        n_seeds=("n_seeds", "sum"), diverged=("diverged", "mean"), collapsed=("collapsed", "mean"))
    return out.reset_index()[[*by, "n_seeds", "diverged", "collapsed"]]
