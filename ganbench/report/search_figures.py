"""The equal-budget comparison's figures as PNG bytes: the metric over trials per loss (box and trials), the best
at budget k (median and band), and the metric against each searched key (one panel per loss).

Every statistic comes from ``budget``'s frames on the ``SearchBoard``; the plots only draw them. Undefined trial
values (the worst outcome, ±∞) are drawn as crosses on the edge of the axis they fall off."""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from .. import budget
from .figures import loss_colors, mpl_text, to_png
from .searches import SearchBoard, tied_keys

INF_MARK = dict(marker="x", color="#c0392b", ms=6, mew=1.5, ls="none")


def _limits(values: np.ndarray, log: bool) -> tuple[float, float]:
    """Axis limits around the finite values, with room at both ends for the crosses of infinite ones."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return (0.0, 1.0)
    lo, hi = float(finite.min()), float(finite.max())
    if log:
        return lo / 1.6, hi * 1.6
    pad = (hi - lo) * 0.08 or max(abs(hi), 1.0) * 0.1
    return lo - pad, hi + pad


def _log_scale(values: np.ndarray) -> bool:
    """Log where the finite values are positive and span more than a factor of 50 (FID over a wide space)."""
    finite = values[np.isfinite(values)]
    return bool(finite.size and finite.min() > 0 and finite.max() > 50 * finite.min())


def _clipped(values: np.ndarray, limits: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Values with ±∞ put on the axis' edge, and the mask of those that were infinite."""
    inf = np.isinf(values)
    return np.where(values == np.inf, limits[1], np.where(values == -np.inf, limits[0], values)), inf


def _metric_axis(sb: SearchBoard) -> str:
    return f"{sb.label} ({'higher' if sb.higher_is_better else 'lower'} is better)"


def distribution_plot(sb: SearchBoard) -> Optional[bytes]:
    """Per loss, a box of the trial values (quartiles from ``trial_distribution``, whiskers to the best and the
    worst trial) with every trial as a dot; the best first, as the table."""
    import matplotlib.pyplot as plt
    m, losses = sb.metric, [loss for loss in sb.losses if _n_trials(sb, loss)]
    if not losses:
        return None
    values = sb.trials[sb.trials["n_seeds"] > 0][m].to_numpy(dtype=np.float64)
    log = _log_scale(values)
    limits = _limits(values, log)
    dist = sb.distribution.set_index("loss")
    colors = loss_colors(sb.losses)
    fig, ax = plt.subplots(figsize=(6.4, 0.42 * len(losses) + 1.5), dpi=100)
    stats = []
    for loss in losses:
        d = dist.loc[loss]
        ends = sorted(_clipped(np.array([d[f"{m}_best"], d[f"{m}_worst"]], dtype=np.float64), limits)[0])
        q = _clipped(np.array([d[f"{m}_q1"], d[f"{m}_median"], d[f"{m}_q3"]], dtype=np.float64), limits)[0]
        stats.append({"med": q[1], "q1": min(q[0], q[2]), "q3": max(q[0], q[2]), "whislo": ends[0], "whishi": ends[1],
                      "label": mpl_text(loss)})
    ax.bxp(stats, positions=range(len(losses)), orientation="horizontal", showfliers=False, widths=0.55, patch_artist=True,
           boxprops={"facecolor": "#f1f1f4", "edgecolor": "#666"}, medianprops={"color": "#222", "lw": 1.6})
    rng = np.random.default_rng(0)  # the jitter only spreads the dots: fixed, so the figure is reproducible
    for i, loss in enumerate(losses):
        v = sb.trials[(sb.trials["loss"] == loss) & (sb.trials["n_seeds"] > 0)][m].to_numpy(dtype=np.float64)
        x, inf = _clipped(v, limits)
        y = i + rng.uniform(-0.16, 0.16, len(v))
        ax.plot(x[~inf], y[~inf], "o", ms=4, alpha=0.75, color=colors[loss], zorder=3)
        if inf.any():
            ax.plot(x[inf], y[inf], **INF_MARK, zorder=4)
    if _floor(ax, sb, "x"):
        ax.legend(fontsize=8, loc="lower right", frameon=False)
    if log:
        ax.set_xscale("log")
    ax.set_xlim(*limits)
    ax.set_yticks(range(len(losses)), [mpl_text(loss) for loss in losses])
    ax.invert_yaxis()
    ax.set_xlabel(f"{_metric_axis(sb)} of each trial (mean over its seeds)", fontsize=8)
    ax.set_title(mpl_text(f"{sb.label} over the trials of each loss — {sb.title}"), fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.tick_params(labelsize=8)
    fig.tight_layout()
    return to_png(fig)


def budget_plot(sb: SearchBoard) -> Optional[bytes]:
    """Per loss, the median best of k trials against k, with its band shaded."""
    import matplotlib.pyplot as plt
    m = sb.metric
    if not len(sb.curve):
        return None
    cols = [f"{m}_median", f"{m}_lo", f"{m}_hi"]
    values = sb.curve[cols].to_numpy(dtype=np.float64).ravel()
    log = _log_scale(values)
    limits = _limits(values, log)
    colors = loss_colors(sb.losses)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    for loss in sb.losses:
        c = sb.curve[sb.curve["loss"] == loss]
        if not len(c):
            continue
        k = c["budget"].to_numpy()
        med, lo, hi = (_clipped(c[col].to_numpy(dtype=np.float64), limits)[0] for col in cols)
        ax.fill_between(k, lo, hi, color=colors[loss], alpha=0.13, lw=0, step=None)
        ax.plot(k, med, "-o", ms=3, lw=1.6, color=colors[loss], label=mpl_text(loss))
        inf = np.isinf(c[f"{m}_median"].to_numpy(dtype=np.float64))
        if inf.any():
            ax.plot(k[inf], med[inf], **INF_MARK)
    _floor(ax, sb, "y")
    if log:
        ax.set_yscale("log")
    ax.set_ylim(*limits)
    n_max = int(sb.curve["budget"].max())
    ax.set_xlim(0.7, n_max + 0.3)
    ax.set_xticks(range(1, n_max + 1) if n_max <= 16 else sorted({1, *budget.TABLE_BUDGETS, n_max}))
    ax.set_xlabel("budget k (trials run)", fontsize=8)
    ax.set_ylabel(f"best {_metric_axis(sb)} among k trials", fontsize=8)
    ax.set_title(mpl_text(f"Best {sb.label} at budget k — {sb.title}"), fontsize=10)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=8, ncol=2 if len(sb.losses) > 5 else 1, loc="best", frameon=False)
    fig.tight_layout()
    return to_png(fig)


def sensitivity_plots(sb: SearchBoard, per_row: int = 5) -> list[tuple[str, bytes]]:
    """One figure per searched key (tied keys once): the metric of each trial against the key's value, one
    panel per loss that searched it, log axes for keys drawn on a log scale; the loss's best trial starred."""
    import matplotlib.pyplot as plt
    m, s = sb.metric, sb.sensitivity
    if not len(s):
        return []
    values = s[m].to_numpy(dtype=np.float64)
    log_y = _log_scale(values)
    limits = _limits(values, log_y)
    colors = loss_colors(sb.losses)
    best = dict(zip(sb.best["loss"], sb.best["trial"])) if len(sb.best) else {}
    out = []
    groups = tied_keys(sb.trials)
    searched_by = {lead: s.loc[s["key"] == lead, "loss"].nunique() for lead in groups}
    for lead in sorted(groups, key=lambda k: (-searched_by[k], k)):  # the keys every loss searched first
        group, rows = groups[lead], s[s["key"] == lead]
        losses = [loss for loss in sb.losses if (rows["loss"] == loss).any()]
        if not losses:
            continue
        numeric = rows["value"].notna().all()
        categories = sorted(rows["label"].unique(), key=str) if not numeric else []
        ncols = min(per_row, len(losses))
        nrows = math.ceil(len(losses) / ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(max(2.5 * ncols + 0.6, 4.6), 2.3 * nrows + 0.6), dpi=100,
                                 squeeze=False, sharex=True, sharey=True)
        for ax, loss in zip(axes.flat, losses):
            r = rows[rows["loss"] == loss]
            x = (r["value"].to_numpy(dtype=np.float64) if numeric
                 else np.array([categories.index(v) for v in r["label"]], dtype=np.float64))
            y, inf = _clipped(r[m].to_numpy(dtype=np.float64), limits)
            ax.plot(x[~inf], y[~inf], "o", ms=4, alpha=0.8, color=colors[loss])
            if inf.any():
                ax.plot(x[inf], y[inf], **INF_MARK)
            top = (r["trial"] == best.get(loss)).to_numpy()
            ax.plot(x[top], y[top], "*", ms=12, color=colors[loss], mec="#222", mew=0.8)
            ax.set_title(mpl_text(loss), fontsize=9)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
        for ax in list(axes.flat)[len(losses):]:
            ax.set_visible(False)
        ax0 = axes.flat[0]
        if bool(rows["log_scale"].any()) and numeric:
            ax0.set_xscale("log")
        if categories:
            ax0.set_xticks(range(len(categories)), [mpl_text(c) for c in categories])
            ax0.set_xlim(-0.5, len(categories) - 0.5)
        elif numeric and rows["value"].nunique() <= 6:
            ax0.set_xticks(sorted(rows["value"].unique()))
        if log_y:
            ax0.set_yscale("log")
        ax0.set_ylim(*limits)
        name = " = ".join(group)
        for ax in axes[-1]:
            ax.set_xlabel(mpl_text(name), fontsize=8)
        for ax in axes[:, 0]:
            ax.set_ylabel(mpl_text(sb.label), fontsize=8)
        fig.suptitle(mpl_text(f"{sb.label} against {name} — {sb.title}"), fontsize=10)
        fig.tight_layout()
        out.append((f"{sb.label} of each trial against {name}" + (" (log axis)" if rows["log_scale"].any() else ""),
                    to_png(fig)))
    return out


def _n_trials(sb: SearchBoard, loss: str) -> int:
    d = sb.distribution[sb.distribution["loss"] == loss]
    return int(d["n_trials"].iloc[0]) if len(d) else 0


def _floor(ax: Any, sb: SearchBoard, axis: str) -> bool:
    """The real-data floor (two halves of the real set) as a dashed line, where the runs measured it."""
    col = f"floor_{sb.metric}"
    floor = sb.runs[col].dropna() if col in sb.runs else []
    if len(floor):
        line = ax.axvline if axis == "x" else ax.axhline
        line(float(np.median(floor)), ls="--", color="#888", lw=1, label="real-data floor")
    return bool(len(floor))


def search_plots(sb: SearchBoard) -> list[tuple[str, bytes]]:
    """(caption, PNG) of the distribution and budget figures of a search (the sensitivity ones apart)."""
    plots = [(f"{sb.label} over trials: box = quartiles, whiskers = best and worst trial, dots = trials "
              "(a trial = the mean over its seeds; × = a trial with an undefined seed, counted as the worst)",
              distribution_plot(sb)),
             (f"Best {sb.label} at budget k: median of the best among k trials drawn from the N (line) and the "
              f"central {budget.CONFIDENCE:.0%} band of that draw (shaded), exact", budget_plot(sb))]
    return [(c, p) for c, p in plots if p is not None]


__all__ = ["distribution_plot", "budget_plot", "sensitivity_plots", "search_plots"]
