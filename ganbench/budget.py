"""The equal-budget analysis of a hyperparameter search (Lucic et al. 2018), as DataFrames.

It reads ``load_results``' table of a suite with a ``[search]`` (``search_space``): each run carries its
``trial``, its ``search_space`` and one column per searched key. Per dataset × model × loss:

* ``trial_table``: one row per trial. **A trial's value is the mean of the metric over its seeds**, a seed
  whose value is undefined (a diverged generator, reverse KL without HQ samples) counting as the metric's
  worst outcome (``aggregate.with_worst``: +∞ where lower is better), as every other table of the project
  counts it; seeds that crashed or did not finish are left out and counted (``n_missing``), and a trial with
  no finished seed has no value. ``trial_distribution`` summarises the values over trials.
* ``budget_curve``: for k = 1 … N, the distribution of the best value among k trials drawn without
  replacement from the N (the best-of-k a user would get by running k trials of this space), its median and
  central 95% band. It is computed exactly, not by bootstrap: the best of k is the trial of smallest rank (in
  order of merit) among the k, and P(smallest rank = r) = C(N − r, k − 1) / C(N, k). Quantiles are those of
  ``numpy.quantile(..., method="inverted_cdf")`` over all C(N, k) draws, taken in order of merit, so a
  metric where higher is better gets the same answer as its negative. The band describes the spread of the
  draws of k from these N trials; it is not a confidence interval for the space's true best-of-k.
  ``budget_table`` picks k = 1, 5, 10 and N; ``write_budget_csv`` writes ``budget.csv``.
* ``compare_losses``: which losses differ at equal budget. The unit is the trial (seeds within a trial are
  not independent replicates of the loss). Every loss of a search draws its trials at the same points of
  the shared keys (``search_space``), so two losses are compared trial by trial: the two-sided exact
  Wilcoxon signed-rank test of the matched trial values (``stats.signed_rank_pvalue``), Holm-corrected over
  the pairs of a dataset × model. It asks whether, at the same hyperparameters, one loss tends to score
  better than the other, over the whole space rather than at its best point. Pairs whose trials are not
  matched get the exact Mann–Whitney U test of the two sets. Why paired: with scrambled Sobol trials drawn
  independently per loss, Mann–Whitney on the trial values is very conservative (in a simulation of two
  identical losses, 0 false alarms in 1,000 at α = 0.05; 48 with independent uniform draws) and loses power,
  because the spread of the metric over the space dominates both samples; matched differences remove it
  (``tests/test_budget.py`` holds both simulations).
* ``hyperparameter_sensitivity``: the metric against each searched key, one row per trial and key (ready for a
  plot per loss).
* ``best_trials`` and ``suite_fragment``: the best trial of each loss, and its configuration as ``[[runs]]``
  tables a user can paste into a suite to train it again.

Directions (higher or lower is better) come from the metric catalogue.
"""
from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .aggregate import with_worst
from .catalogue import BY_NAME, LABELS
from .config import RunConfig
from .files import read_json
from .results import APPLIES_WITH, CONFIG, SUMMARY_STATUSES, export_table
from .search_space import SEARCHABLE_SECTIONS
from .stats import holm, mannwhitney_pvalue, signed_rank_pvalue

__all__ = ["BOARD", "TABLE_BUDGETS", "CONFIDENCE", "higher_is_better", "searched_keys", "trial_table",
           "trial_distribution", "best_of_k", "best_of_k_quantiles", "budget_curve", "budget_table",
           "write_budget_csv", "compare_losses", "hyperparameter_sensitivity", "value_label", "best_trials",
           "suite_fragment"]

BOARD = ["dataset", "model"]          # one comparison per dataset × model, as the leaderboards
GROUP = [*BOARD, "loss"]
TABLE_BUDGETS = (1, 5, 10)            # and N, the whole search
CONFIDENCE = 0.95


def higher_is_better(metric: str) -> bool:
    """The metric's direction from the catalogue; ValueError for a metric it does not rank."""
    if metric not in BY_NAME:
        raise ValueError(f"metric {metric!r} has no known direction; rankable: {', '.join(BY_NAME)}")
    return BY_NAME[metric].higher_is_better


def searched_keys(df: pd.DataFrame) -> list[str]:
    """The searched-key columns (``optim.lr_d``, ``loss.gp_weight``, ...) that hold a value in ``df``."""
    return sorted(c for c in df.columns if c.partition(".")[0] in SEARCHABLE_SECTIONS and "." in c
                  and df[c].notna().any())


def _search_runs(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    need = [c for c in (*GROUP, "trial", "status", "search_space") if c not in df.columns]
    if need:
        raise ValueError(f"not the results of a search: no column(s) {', '.join(need)} (a suite with a [search] "
                         f"table writes them)")
    runs = df[df["trial"].notna()].dropna(subset=GROUP)
    if not len(runs):
        raise ValueError("no run of a search in this table (no trial column values)")
    spaces = runs.groupby(GROUP)["search_space"].nunique()
    mixed = spaces[spaces > 1]
    if len(mixed):
        key = mixed.index[0]
        ids = sorted(runs.set_index(GROUP).loc[[key], "search_space"].dropna().unique())
        raise ValueError(f"{' · '.join(map(str, key))} mixes {len(ids)} searches ({', '.join(ids)}); analyse one at "
                         f"a time, e.g. df[df['search_space'] == {ids[0]!r}]")
    used = runs[runs["status"].isin(SUMMARY_STATUSES)]
    applies = set()
    for board, g in used.groupby(BOARD):  # as the leaderboards: a metric applies where some run has it
        cols = [c for c in (metric, APPLIES_WITH.get(metric)) if c and c in g]
        if any(np.isfinite(g[c].to_numpy(dtype=np.float64, na_value=np.nan)).any() for c in cols):
            applies.add(board)
    if not applies:
        raise ValueError(f"no run of the search has a value of {metric!r}")
    return runs[[tuple(b) in applies for b in runs[BOARD].itertuples(index=False)]]


def trial_table(df: pd.DataFrame, metric: str = "fid") -> pd.DataFrame:
    """One row per trial of a ``load_results`` table: dataset, model, loss, trial, search_space, ``n_seeds``
    (finished or diverged seeds), ``n_undefined`` (of those, seeds counted as the worst outcome),
    ``n_missing`` (seeds that crashed, did not finish or could not be read), ``<metric>`` (the mean over
    ``n_seeds``; nan when it is 0), ``search_log_scale`` and the trial's searched values."""
    hib = higher_is_better(metric)
    runs = _search_runs(df, metric)
    keys = searched_keys(runs)
    rows = []
    for (dataset, model, loss, trial), g in runs.groupby([*GROUP, "trial"], sort=True):
        used = g[g["status"].isin(SUMMARY_STATUSES)]
        raw = (used[metric].to_numpy(dtype=np.float64, na_value=np.nan) if metric in used
               else np.full(len(used), np.nan))
        values = with_worst(raw, metric, hib)
        first = g.iloc[0]
        row = {"dataset": dataset, "model": model, "loss": loss, "trial": int(trial),
               "search_space": first["search_space"], "n_seeds": len(used),
               "n_undefined": int((~np.isfinite(raw)).sum()),
               "n_missing": len(g) - len(used), metric: float(values.mean()) if len(values) else math.nan,
               "search_log_scale": first.get("search_log_scale")}
        row.update({k: first[k] for k in keys})
        rows.append(row)
    out = pd.DataFrame(rows)
    return out.astype({"trial": "int64", "n_seeds": "int64", "n_undefined": "int64", "n_missing": "int64",
                       metric: "float64"})


def _measured(trials: pd.DataFrame) -> pd.DataFrame:
    return trials[trials["n_seeds"] > 0]


def _metric_of(trials: pd.DataFrame, metric: str | None) -> str:
    if metric is not None:
        if metric not in trials:
            raise ValueError(f"the trial table has no column {metric!r}")
        return metric
    named = [c for c in trials.columns if c in BY_NAME]
    if len(named) != 1:
        raise ValueError(f"say which metric: the trial table has {', '.join(named) or 'none'}")
    return named[0]


def trial_distribution(trials: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """Per dataset × model × loss, the metric over trials: ``n_trials`` (with a value), ``n_unmeasured``
    (trials with no finished seed), ``n_undefined`` (trials holding a worst outcome), the best, the lower
    quartile, the median, the upper quartile and the worst trial value (quantiles in order of merit)."""
    metric = _metric_of(trials, metric)
    hib = higher_is_better(metric)
    rows = []
    for key, g in trials.groupby(GROUP, sort=True):
        v = _measured(g)[metric].to_numpy(dtype=np.float64)
        q = _merit_quantiles(v, [Fraction(1, 4), Fraction(1, 2), Fraction(3, 4)], hib) if len(v) else [math.nan] * 3
        rows.append({**dict(zip(GROUP, key)), "n_trials": len(v), "n_unmeasured": int((g["n_seeds"] == 0).sum()),
                     "n_undefined": int((g["n_undefined"] > 0).sum()),
                     f"{metric}_best": _best(v, hib), f"{metric}_q1": q[0], f"{metric}_median": q[1],
                     f"{metric}_q3": q[2], f"{metric}_worst": _best(v, not hib)})
    return pd.DataFrame(rows)


def _best(v: np.ndarray, hib: bool) -> float:
    if not len(v):
        return math.nan
    return float(v.max() if hib else v.min())


# ---------------------------------------------------------------- best of k trials, exactly

def _merit(values: Any, hib: bool) -> np.ndarray:
    """Values turned so that smaller is better (negated where higher is better)."""
    v = np.asarray(values, dtype=np.float64)
    if np.isnan(v).any():
        raise ValueError("trial values hold nan: count undefined values as the worst outcome first (with_worst)")
    return -v if hib else v


def _inverted_cdf(sorted_values: np.ndarray, weights: Sequence[int], q: Fraction) -> float:
    """The smallest value whose cumulative weight reaches the fraction ``q`` of the total (exact integers)."""
    total = sum(weights)
    cum = 0
    for value, w in zip(sorted_values, weights):
        cum += w
        if cum * q.denominator >= q.numerator * total and w:
            return float(value)
    return float(sorted_values[-1])


def _best_weights(n: int, k: int) -> list[int]:
    """Number of k-subsets of n ranked trials whose best is the trial of rank r, for r = 1 … n."""
    return [math.comb(n - r, k - 1) for r in range(1, n + 1)]


def best_of_k(values: Any, k: int, higher_is_better: bool) -> pd.DataFrame:
    """The exact distribution of the best of ``k`` values drawn without replacement from ``values``: one row
    per distinct attainable best, ``value`` and ``probability`` (float64; they sum to 1), best first."""
    m = np.sort(_merit(values, higher_is_better), kind="stable")
    n = len(m)
    _check_k(k, n)
    total = math.comb(n, k)
    probs: dict[float, Fraction] = {}
    for value, w in zip(m, _best_weights(n, k)):
        if w:
            probs[float(value)] = probs.get(float(value), Fraction(0)) + Fraction(w, total)
    sign = -1.0 if higher_is_better else 1.0
    return pd.DataFrame({"value": [sign * v for v in probs], "probability": [float(p) for p in probs.values()]})


def _check_k(k: int, n: int) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ValueError(f"budget k must be an integer in 1..{n} (the number of trials), got {k!r}")


def _merit_quantiles(values: np.ndarray, qs: Iterable[Fraction], hib: bool, k: int = 1) -> list[float]:
    m = np.sort(_merit(values, hib), kind="stable")
    weights = _best_weights(len(m), k)
    sign = -1.0 if hib else 1.0
    return [sign * _inverted_cdf(m, weights, q) for q in qs]


def best_of_k_quantiles(values: Any, k: int, higher_is_better: bool,
                        quantiles: Sequence[float] = (0.025, 0.5, 0.975)) -> list[float]:
    """Quantiles of the best of ``k`` drawn without replacement from ``values``, taken in order of merit (the
    0.025 quantile is the better end of a 95% band, whatever the direction): exactly what
    ``numpy.quantile(bests, q, method="inverted_cdf")`` gives over the bests of all C(N, k) draws."""
    v = np.asarray(values, dtype=np.float64)
    _check_k(k, len(v))
    qs = [Fraction(repr(float(q))) for q in quantiles]  # exact decimals: 0.025 is 1/40, as numpy's float test
    if not all(0 <= q <= 1 for q in qs):
        raise ValueError(f"quantiles must be in [0, 1], got {list(quantiles)!r}")
    return _merit_quantiles(v, qs, higher_is_better, k)


def budget_curve(trials: pd.DataFrame, metric: str | None = None, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Per dataset × model × loss and budget k = 1 … N (its trials with a value): ``n_trials``,
    ``<metric>_median``, ``<metric>_lo`` and ``<metric>_hi`` (the central ``confidence`` band of the best of k;
    ``lo`` ≤ ``hi`` on the metric's own axis)."""
    metric = _metric_of(trials, metric)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    hib = higher_is_better(metric)
    tail = (1 - Fraction(repr(float(confidence)))) / 2
    rows = []
    for key, g in trials.groupby(GROUP, sort=True):
        v = _measured(g)[metric].to_numpy(dtype=np.float64)
        for k in range(1, len(v) + 1):
            better, median, worse = _merit_quantiles(v, (tail, Fraction(1, 2), 1 - tail), hib, k)
            rows.append({**dict(zip(GROUP, key)), "budget": k, "n_trials": len(v), f"{metric}_median": median,
                         f"{metric}_lo": min(better, worse), f"{metric}_hi": max(better, worse)})
    columns = [*GROUP, "budget", "n_trials", f"{metric}_median", f"{metric}_lo", f"{metric}_hi"]
    return pd.DataFrame(rows, columns=columns)


def budget_table(curve: pd.DataFrame, budgets: Sequence[int] = TABLE_BUDGETS) -> pd.DataFrame:
    """The curve at the given budgets (those within each loss's N) and at N itself (``whole_search`` True)."""
    at = curve["budget"].isin(list(budgets)) | (curve["budget"] == curve["n_trials"])
    out = curve[at].copy()
    out["whole_search"] = out["budget"] == out["n_trials"]
    return out.reset_index(drop=True)


def write_budget_csv(curve: pd.DataFrame, path: str | Path, metric: str | None = None) -> Path:
    """``budget.csv``: columns ``loss, budget, <metric>_median, <metric>_lo, <metric>_hi`` (``dataset`` and
    ``model`` first when the curve spans more than one dataset × model)."""
    metric = metric or next((c[:-len("_median")] for c in curve.columns if c.endswith("_median")), None)
    cols = ["loss", "budget", f"{metric}_median", f"{metric}_lo", f"{metric}_hi"]
    missing = [c for c in cols if c not in curve.columns]
    if missing:
        raise ValueError(f"not a budget curve of {metric!r}: no column(s) {', '.join(missing)}")
    several = len(curve.drop_duplicates(BOARD)) > 1 if len(curve) else False
    return export_table(curve[BOARD + cols] if several else curve[cols], path)


# ---------------------------------------------------------------- losses against each other

PAIRED, UNPAIRED = "signed-rank, paired by trial", "mann-whitney"


def _paired(a: pd.DataFrame, b: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The matched values of two losses' trials when trial i of both drew the same values of every key they
    both search (a suite's shared points, ``search_space``); None when some value differs or none is shared."""
    common = [k for k in searched_keys(a) if k in set(searched_keys(b))]
    if not common:
        return None
    both = a.merge(b, on="trial", suffixes=("_a", "_b"))
    if not len(both) or any((both[f"{k}_a"] != both[f"{k}_b"]).any() for k in common):
        return None
    return both[f"{metric}_a"].to_numpy(dtype=np.float64), both[f"{metric}_b"].to_numpy(dtype=np.float64)


def compare_losses(trials: pd.DataFrame, metric: str | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Every pair of losses of a dataset × model, tested on their trial values, Holm-corrected over the
    board's pairs. Losses whose trial i drew the same values of the keys they share (every loss of one
    ``[search]``) are compared trial by trial: the exact Wilcoxon signed-rank test of the matched values
    (``test`` = ``PAIRED``, ``n_a`` = ``n_b`` = pairs with both measured); otherwise the exact Mann–Whitney U test
    of the two sets (``UNPAIRED``). Columns: the median trial values, ``p_a_better`` (the chance that a trial
    of ``a`` beats one of ``b``, its matched trial where paired, ties counting half), the two-sided ``p``,
    ``p_holm`` and ``better``: the loss that wins where ``p_holm`` < ``alpha``, else empty."""
    metric = _metric_of(trials, metric)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    hib = higher_is_better(metric)
    rows = []
    for board, g in _measured(trials).groupby(BOARD, sort=True):
        by_loss = dict(tuple(g.groupby("loss", sort=True)))
        losses = list(by_loss)
        board_rows = []
        for i, a in enumerate(losses):
            for b in losses[i + 1:]:
                matched = _paired(by_loss[a], by_loss[b], metric)
                if matched is not None:
                    xa, xb = matched
                    ma, mb = _merit(xa, hib), _merit(xb, hib)
                    superior = float(((ma < mb) + 0.5 * (ma == mb)).mean()) if len(ma) else 0.5
                    p, test = signed_rank_pvalue(xa, xb), PAIRED
                else:
                    xa, xb = (by_loss[x][metric].to_numpy(dtype=np.float64) for x in (a, b))
                    ma, mb = _merit(xa, hib), _merit(xb, hib)
                    superior = float(((ma[:, None] < mb[None, :]) + 0.5 * (ma[:, None] == mb[None, :])).mean())
                    p, test = mannwhitney_pvalue(xa, xb), UNPAIRED
                med = [_merit_quantiles(x, [Fraction(1, 2)], hib)[0] for x in (xa, xb)]
                board_rows.append({**dict(zip(BOARD, board)), "a": a, "b": b, "test": test, "n_a": len(xa),
                                   "n_b": len(xb), f"{metric}_median_a": med[0], f"{metric}_median_b": med[1],
                                   "p_a_better": superior, "p": p})
        for row, p_adj in zip(board_rows, holm([r["p"] for r in board_rows]) if board_rows else []):
            row["p_holm"] = float(p_adj)
            row["better"] = ((row["a"] if row["p_a_better"] > 0.5 else row["b"])
                             if p_adj < alpha and row["p_a_better"] != 0.5 else "")
        rows += board_rows
    columns = [*BOARD, "a", "b", "test", "n_a", "n_b", f"{metric}_median_a", f"{metric}_median_b", "p_a_better",
               "p", "p_holm", "better"]
    return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------- hyperparameters

def hyperparameter_sensitivity(trials: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """The metric against each searched key: one row per measured trial and key with ``key``, ``value``
    (float64; nan for a choice of strings), ``label`` (the value as text), ``log_scale`` (drawn on a log
    scale) and ``<metric>`` (the trial's value)."""
    metric = _metric_of(trials, metric)
    rows = []
    for key, g in _measured(trials).groupby(GROUP, sort=True):
        for name in searched_keys(g):
            for _, t in g[g[name].notna()].iterrows():
                value = t[name]
                number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
                log = name in str(t.get("search_log_scale") or "").split(";")
                rows.append({**dict(zip(GROUP, key)), "trial": int(t["trial"]), "key": name,
                             "value": float(value) if number else math.nan, "label": value_label(value),
                             "log_scale": log, metric: float(t[metric])})
    columns = [*GROUP, "trial", "key", "value", "label", "log_scale", metric]
    return pd.DataFrame(rows, columns=columns).astype({"value": "float64", "log_scale": "bool"})


def value_label(value: Any) -> str:
    """A searched value as text: floats to 4 significant digits (the precision the sampler rounds to)."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


def best_trials(trials: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """The best measured trial of each dataset × model × loss (the lower trial index on a tie), with
    ``n_trials`` and its searched values."""
    metric = _metric_of(trials, metric)
    hib = higher_is_better(metric)
    rows = []
    for _, g in _measured(trials).groupby(GROUP, sort=True):
        order = g.assign(_m=_merit(g[metric], hib)).sort_values(["_m", "trial"], kind="stable")
        best = order.iloc[0].drop("_m")
        rows.append({**best.to_dict(), "n_trials": len(g)})
    return pd.DataFrame(rows)


BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml(value: Any) -> str:
    """A TOML literal of a JSON-read value (None has none: callers leave such keys out)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string (\uXXXX escapes included)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return _inline({k: v for k, v in value.items() if v is not None})
    raise ValueError(f"no TOML form for {value!r}")


def _inline(table: dict[str, Any]) -> str:
    keys = (k if BARE_KEY.fullmatch(k) else json.dumps(k) for k in table)
    return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in zip(keys, table.values())) + " }"


def suite_fragment(df: pd.DataFrame, metric: str = "fid") -> str:
    """TOML ``[[runs]]`` tables, one per loss, each the configuration of its best trial (read from that
    trial's config.json and checked), with ``search = false``: pasted into a suite (the search's own, or one
    without a search) it trains that trial again, with the suite's seeds."""
    trials = trial_table(df, metric)
    best = best_trials(trials, metric)
    label = LABELS.get(metric, metric)
    runs = df[df["trial"].notna()]
    blocks = []
    for _, b in best.iterrows():
        of_trial = runs[(runs["dataset"] == b["dataset"]) & (runs["model"] == b["model"])
                        & (runs["loss"] == b["loss"]) & (runs["trial"] == b["trial"])
                        & runs["status"].isin(SUMMARY_STATUSES)]
        path = Path(str(of_trial.iloc[0]["run_dir"])) / CONFIG
        config = RunConfig.from_dict(read_json(path), where=str(path)).to_dict()
        searched = ", ".join(f"{k} = {_toml(v)}" for k, v in (config.get("search") or {}).get("values", {}).items())
        lines = [f"# {json.dumps(str(b['loss']))} on {json.dumps(str(b['dataset']))} · {json.dumps(str(b['model']))}: "
                 f"best of {int(b['n_trials'])} trials is trial {int(b['trial'])}, {label} {b[metric]:.6g} "
                 f"(mean over {int(b['n_seeds'])} seeds)",
                 f"# searched: {searched}", "[[runs]]"]
        if config.get("name") is not None:
            lines.append(f"name = {_toml(config['name'])}")
        for section in ("data", "model", "loss", "optim", "train", "eval"):
            lines.append(f"{section} = {_toml(config[section])}")
        lines.append("search = false")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
