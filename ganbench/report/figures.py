"""The report's matplotlib figures as PNG bytes: per-loss metric plot, training curves, sample images."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd

from ..results import DIRECTIONS, HISTORY, SAMPLES, SUMMARY_STATUSES
from .boards import Board, label

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def mpl_text(s: Any) -> str:
    """A label matplotlib shows verbatim: no mathtext from '$', no legend hiding of a leading '_'."""
    s = str(s).replace("$", r"\$")
    return " " + s if s.startswith("_") else s


def to_png(fig) -> bytes:
    from ..plots import figure_png
    return figure_png(fig)


def loss_colors(entries: list[str]) -> dict[str, Any]:
    import matplotlib.pyplot as plt
    cmap = plt.get_cmap("tab10" if len(entries) <= 10 else "tab20")
    return {e: cmap(i % cmap.N) for i, e in enumerate(entries)}


def metric_plot(board: Board, metric: Optional[str] = None) -> Optional[bytes]:
    """Per loss: each seed's value (dots) and the mean with its 95% bootstrap interval (bar); real-data floor
    dashed. A loss whose mean is infinite (an undefined run counted as the worst outcome) shows its seeds only."""
    import matplotlib.pyplot as plt
    metric = metric or board.metric
    used = board.runs[board.runs["status"].isin(SUMMARY_STATUSES)]
    if metric not in used or used[metric].notna().sum() == 0:
        return None
    entries = list(board.rows["loss"])
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(entries) + 1.4), dpi=100)
    colors = loss_colors(entries)
    for i, (loss, row) in enumerate(zip(entries, board.rows.to_dict("records"))):
        seeds = used.loc[used["loss"] == loss, metric].to_numpy(dtype=np.float64, na_value=np.nan)
        ax.plot(seeds, np.full(len(seeds), i), "o", ms=4, alpha=0.5, color=colors[loss])
        mean, lo, hi = row[f"{metric}_mean"], row[f"{metric}_lo"], row[f"{metric}_hi"]
        if np.isfinite(mean):
            err = [[mean - lo], [hi - mean]] if np.isfinite(lo) and np.isfinite(hi) else None
            ax.errorbar(mean, i, xerr=err, fmt="s", color=colors[loss], capsize=4, ms=6)
    floor = used[f"floor_{metric}"].dropna() if f"floor_{metric}" in used else pd.Series(dtype=float)
    if len(floor):
        ax.axvline(float(floor.median()), ls="--", color="#888", lw=1, label="real-data floor")
        ax.legend(fontsize=8, loc="best")
    ax.set_yticks(range(len(entries)), [mpl_text(e) for e in entries])
    ax.invert_yaxis()
    ax.set_xlabel(f"{label(board, metric)} ({'higher' if DIRECTIONS.get(metric) else 'lower'} is better); "
                  "squares: mean and 95% bootstrap interval, dots: seeds", fontsize=8)
    ax.set_title(mpl_text(f"{label(board, metric)} per loss — {board.title}"), fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return to_png(fig)


def _histories(board: Board) -> dict[str, pd.DataFrame]:
    """Per loss: history.csv averaged over seeds at each step (non-finite values as gaps)."""
    out = {}
    for loss in board.rows["loss"]:
        frames = []
        for d in board.runs.loc[board.runs["loss"] == loss, "run_dir"].dropna():
            p = Path(d) / HISTORY
            if p.is_file():
                try:
                    h = pd.read_csv(p).apply(pd.to_numeric, errors="coerce")
                except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
                    continue  # an unreadable history costs its curves, not the report
                if "step" in h:
                    frames.append(h.replace([np.inf, -np.inf], np.nan))
        if frames:
            out[loss] = pd.concat(frames).groupby("step", sort=True).mean()
    return out


def curves_plot(board: Board, columns: list[tuple[str, str]], title: str,
                histories: dict[str, pd.DataFrame]) -> Optional[bytes]:
    """One panel per (column, label) with a line per loss; None when no history has any of the columns."""
    import matplotlib.pyplot as plt
    present = [c for c in columns if any(c[0] in h and h[c[0]].notna().any() for h in histories.values())]
    if not present:
        return None
    colors = loss_colors(list(board.rows["loss"]))
    ncols = 2 if len(present) == 4 else len(present)  # four panels read better as 2 x 2
    nrows = math.ceil(len(present) / ncols)
    n_legend_rows = math.ceil(len(histories) / 5)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows + 0.5 + 0.25 * n_legend_rows), dpi=100,
                             squeeze=False)
    for ax, (col, label) in zip(axes.flat, present):
        for loss, h in histories.items():
            if col in h:
                s = h[col].dropna()
                ax.plot(s.index, s.to_numpy(), color=colors[loss], lw=1.2, label=mpl_text(loss),
                        marker="o" if len(s) <= 12 else None, ms=3)
        _auto_scale(ax, [h[col] for h in histories.values() if col in h])
        ax.set_xlabel("step", fontsize=8)
        ax.set_title(mpl_text(label), fontsize=10)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    legend: dict[str, Any] = {}  # every loss once, whichever panel it appears in
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    ncol = min(len(legend), 5)
    fig.legend(list(legend.values()), list(legend), loc="lower center", ncol=ncol, fontsize=9, frameon=False)
    fig.suptitle(mpl_text(f"{title} — {board.title} (mean over seeds)"), fontsize=11)
    legend_in = 0.25 * math.ceil(len(legend) / ncol) + 0.1  # inches of legend rows below the panels
    fig.tight_layout(rect=(0, legend_in / fig.get_figheight(), 1, 1))
    return to_png(fig)


def _auto_scale(ax, series: list[pd.Series]) -> None:
    """Log (symlog with negatives) only when values span orders of magnitude: WGAN critic losses reach
    hundreds while logit losses stay near 1, gradient norms explode; small ranges stay linear and legible."""
    a = np.concatenate([s.to_numpy(dtype=np.float64, na_value=np.nan) for s in series])
    a = a[np.isfinite(a)]
    if not a.size:
        return
    mag = np.abs(a)
    typical = float(np.median(mag))
    if a.min() > 0 and a.max() > 50 * a.min():
        ax.set_yscale("log")
    elif typical > 0 and mag.max() > 50 * typical:
        ax.set_yscale("symlog", linthresh=typical)


def board_plots(board: Board) -> list[tuple[str, bytes]]:
    """(caption, PNG) of every plot of a board."""
    hist = _histories(board)
    plots = [(f"{label(board, board.metric)} per loss with 95% bootstrap intervals", metric_plot(board)),
             ("Evaluations during training", curves_plot(
                 board, [("fid", "FID"), ("modes", "modes"), ("hq_fraction", "HQ")],
                 "evaluations during training", hist)),
             ("D / G losses and gradient norms", curves_plot(
                 board, [("d_loss", "D loss"), ("g_loss", "G loss"), ("d_grad_norm", "D gradient norm"),
                         ("g_grad_norm", "G gradient norm")],
                 "training curves", hist))]
    return [(c, png) for c, png in plots if png is not None]


def loss_samples(runs: pd.DataFrame, loss: str) -> tuple[str, Optional[bytes]]:
    """(caption, samples.png bytes or None) of a loss: its lowest seed's finished or diverged run among ``runs``."""
    used = runs[(runs["loss"] == loss) & runs["status"].isin(SUMMARY_STATUSES)]
    png, caption = None, f"{loss}: no finished run"
    for r in used.sort_values("seed").itertuples():
        p = Path(r.run_dir) / SAMPLES
        data = p.read_bytes() if p.is_file() else b""
        if data.startswith(PNG_MAGIC):  # only a real PNG is inlined; anything else would show broken
            return f"{loss} (seed {r.seed})", data
        caption = f"{loss}: no samples.png"
    return caption, png


def board_samples(board: Board) -> list[tuple[str, Optional[bytes]]]:
    """(caption, samples.png bytes or None) per loss: the lowest seed's finished run."""
    return [loss_samples(board.runs, loss) for loss in board.rows["loss"]]
