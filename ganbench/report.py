"""Leaderboards (Markdown, one self-contained HTML file), plots and pairwise significance between losses.

One leaderboard per dataset × model: the losses ranked by the mean of one metric (FID by
default; each metric's direction comes from ``results.DIRECTIONS``), mean ± 95% t-interval
over seeds, and a win / tie / loss matrix from pairwise tests across seeds:

* default: Mann–Whitney U, two-sided, *exact* for up to ``EXACT_MAX_N`` pooled runs (the
  permutation distribution of the mid-rank sum, so ties — common in integer metrics such as
  modes — are handled exactly; scipy's "auto" would switch to a normal approximation that
  reports p-values below what the permutation test can reach); normal approximation beyond.
  It assumes no distribution, and seeds that fail make FID skewed.
* ``test="welch"``: Welch's unequal-variance t-test (scipy).

p-values are Holm-adjusted across the testable pairs of a leaderboard. A pair is *not
testable* (``n/a``) when either loss has fewer than ``MIN_SEEDS`` runs with the metric, or when
the smallest p-value the test can produce at those sizes (Mann–Whitney: 2 / C(n₁+n₂, n₁),
e.g. 0.33 at 2 vs 2 and 0.1 at 3 vs 3 seeds) is not below alpha. When no pair can reach an
adjusted p below alpha, the leaderboard says "too few seeds" instead of ranking on noise;
its rows are still listed in order of the mean.

Everything that comes from files is escaped: ``html.escape`` in HTML, ``md_escape`` in
Markdown. The HTML has no scripts and a Content-Security-Policy that forbids them and any
network access; images are inlined as ``data:`` PNGs.
"""
from __future__ import annotations

import base64
import html
import math
import re
import warnings
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np
import pandas as pd

from . import __version__
from .config import safe_name
from .io import atomic_write_text
from .published import Published, published_for
from .results import DIRECTIONS, HISTORY, SAMPLES, SUMMARY_STATUSES, export_table, load_results, summarize

TESTS = ("mannwhitney", "welch")
FORMATS = ("md", "html", "csv", "parquet")
MIN_SEEDS = 3        # below this a spread across seeds is a guess, whatever the test says
EXACT_MAX_N = 60     # pooled runs up to which Mann–Whitney is exact
LABELS = {"fid": "FID", "kid": "KID", "is": "IS", "precision": "precision", "recall": "recall", "modes": "modes",
          "hq_fraction": "HQ", "reverse_kl": "rev-KL", "kl": "KL", "ndb": "NDB", "fid_inf": "FID∞"}
SHOWN = ("fid", "kid", "is", "precision", "recall", "modes", "hq_fraction", "reverse_kl", "kl", "ndb")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- significance

def mannwhitney_pvalue(x: Any, y: Any) -> float:
    """Two-sided Mann–Whitney U p-value: exact (with ties) for up to ``EXACT_MAX_N`` values, else normal."""
    from scipy import stats
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n1, n = len(x), len(x) + len(y)
    if n > EXACT_MAX_N:
        return float(stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic").pvalue)
    r2 = np.rint(2 * stats.rankdata(np.concatenate([x, y]))).astype(np.int64)  # doubled mid-ranks: integers
    total = int(r2.sum())
    counts = np.zeros((n1 + 1, total + 1))  # counts[k, s]: k-subsets of the pooled runs with doubled rank sum s
    counts[0, 0] = 1.0
    for r in r2:
        counts[1:, r:] = counts[1:, r:] + counts[:-1, :total + 1 - r]  # RHS first: each run used at most once
    dist = counts[n1] / counts[n1].sum()
    s = int(r2[:n1].sum())
    return float(min(1.0, 2 * min(dist[:s + 1].sum(), dist[s:].sum())))


def min_pvalue(n1: int, n2: int, test: str = "mannwhitney") -> float:
    """The smallest two-sided p-value ``test`` can give at sizes n1, n2 (0: no bound below alpha)."""
    if test == "mannwhitney":
        return 2 / math.comb(n1 + n2, n1) if n1 + n2 <= EXACT_MAX_N else 0.0
    return 0.0 if min(n1, n2) >= 2 else 1.0


def compare(x: Any, y: Any, test: str = "mannwhitney") -> tuple[float, int]:
    """(two-sided p, direction): direction +1 when ``x`` tends to be larger than ``y``, -1 smaller, 0 neither."""
    from scipy import stats
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if test == "mannwhitney":
        u1 = stats.rankdata(np.concatenate([x, y]))[:len(x)].sum() - len(x) * (len(x) + 1) / 2
        return mannwhitney_pvalue(x, y), int(np.sign(u1 - len(x) * len(y) / 2))
    if test == "welch":
        with warnings.catch_warnings():  # constant groups warn about precision; their nan p is handled below
            warnings.simplefilter("ignore", RuntimeWarning)
            p = float(stats.ttest_ind(x, y, equal_var=False).pvalue)
        return (1.0 if math.isnan(p) else p), int(np.sign(x.mean() - y.mean()))  # nan: two constant, equal groups
    raise ValueError(f"test must be one of {', '.join(TESTS)}, got {test!r}")


def holm(pvalues: Iterable[float]) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (step-down, monotone, capped at 1), in the input order."""
    p = np.asarray(list(pvalues), dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


@dataclass
class Comparison:
    """Pairwise outcomes for ``entries`` (row vs column): 'win', 'tie', 'loss', 'n/a', '' on the diagonal."""
    entries: list[str]
    outcome: dict[tuple[str, str], str]
    p_adj: dict[tuple[str, str], float]
    verdict: str       # 'significant' | 'not significant' | 'too few seeds' | 'no data'
    explanation: str

    def record(self, entry: str) -> Optional[tuple[int, int, int]]:
        """(wins, ties, losses) of ``entry`` over its testable pairs; None when none is testable."""
        cells = [self.outcome[(entry, o)] for o in self.entries if o != entry]
        tested = [c for c in cells if c != "n/a"]
        return (tested.count("win"), tested.count("tie"), tested.count("loss")) if tested else None


def pairwise(values: dict[str, Any], higher_is_better: bool, test: str = "mannwhitney", alpha: float = 0.05,
             metric: str = "fid") -> Comparison:
    """Test every pair of ``values`` (entry -> per-seed values; non-finite ones are dropped)."""
    if test not in TESTS:
        raise ValueError(f"test must be one of {', '.join(TESTS)}, got {test!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    vals = {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}
    vals = {k: v[np.isfinite(v)] for k, v in vals.items()}
    entries = list(values)
    outcome = {(a, a): "" for a in entries}
    p_adj: dict[tuple[str, str], float] = {}
    testable, raw, signs, bounds = [], [], [], []
    for a, b in combinations(entries, 2):
        na, nb = len(vals[a]), len(vals[b])
        if min(na, nb) < MIN_SEEDS or min_pvalue(na, nb, test) >= alpha:  # p < alpha is out of reach
            outcome[(a, b)] = outcome[(b, a)] = "n/a"
            continue
        p, sign = compare(vals[a], vals[b], test)
        testable.append((a, b))
        raw.append(p)
        signs.append(sign)
        bounds.append(min_pvalue(na, nb, test))
    for (a, b), p, sign in zip(testable, holm(raw), signs):
        p_adj[(a, b)] = p_adj[(b, a)] = float(p)
        better_a = sign > 0 if higher_is_better else sign < 0
        if p < alpha and sign != 0:
            outcome[(a, b)], outcome[(b, a)] = ("win", "loss") if better_a else ("loss", "win")
        else:
            outcome[(a, b)] = outcome[(b, a)] = "tie"
    if len(entries) < 2:
        return Comparison(entries, outcome, p_adj, "no data", "Only one loss: nothing to compare.")
    if not any(len(v) for v in vals.values()):
        return Comparison(entries, outcome, p_adj, "no data", f"No {LABELS.get(metric, metric)} values to compare.")
    name = "Mann–Whitney U (two-sided)" if test == "mannwhitney" else "Welch's t-test (two-sided)"
    m, pairs = len(testable), len(entries) * (len(entries) - 1) // 2
    if not testable or min(m * b for b in bounds) >= alpha:  # Holm multiplies the smallest p by m
        outcome = {k: ("" if k[0] == k[1] else "n/a") for k in outcome}  # a tie here would only mean "too few"
        ns = [len(v) for v in vals.values()]
        seeds = f"{min(ns)}" if min(ns) == max(ns) else f"{min(ns)} to {max(ns)}"
        need = (f"{name} at α = {alpha:g} needs ≥ {_seeds_needed(alpha, pairs, test)} seeds per loss"
                + (f" across {pairs} Holm-corrected pairs" if pairs > 1 else ""))
        return Comparison(entries, outcome, p_adj, "too few seeds", f"{LABELS.get(metric, metric)} values per "
                          f"loss: {seeds} seeds; {need}. The order below is by mean only.")
    n_sig = sum(c == "win" for c in outcome.values())
    text = f"{name}, Holm-corrected over {m} pairs, α = {alpha:g}: {n_sig} of {m} pairs differ significantly"
    text += f" ({pairs - m} pairs with too few seeds)." if pairs > m else "."
    return Comparison(entries, outcome, p_adj, "significant" if n_sig else "not significant", text)


def _seeds_needed(alpha: float, m: int, test: str) -> int:
    n = MIN_SEEDS
    while test == "mannwhitney" and m * min_pvalue(n, n, test) >= alpha and 2 * n <= EXACT_MAX_N:
        n += 1
    return n


# ---------------------------------------------------------------- leaderboards

@dataclass
class Board:
    """One leaderboard: the losses of one dataset × model, with everything the renderers show."""
    dataset: str
    model: str
    metric: str
    rows: pd.DataFrame                  # summary rows, best first
    runs: pd.DataFrame                  # every run of the board (all statuses)
    comparison: Comparison
    shown: list[str]                    # metric columns with at least one value
    floor: dict[str, str] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)
    published: list[Published] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.dataset} · {self.model}"

    @property
    def anchor(self) -> str:
        return safe_name(f"board-{self.dataset}-{self.model}")


def _distinct(s: pd.Series) -> list[Any]:
    return sorted({v for v in s.dropna().tolist()}, key=str)


def _joined(s: pd.Series, fmt=str) -> str:
    vals = _distinct(s)
    return ", ".join(fmt(v) for v in vals) if vals else "—"


def build_boards(df: pd.DataFrame, metric: str = "fid", test: str = "mannwhitney",
                 alpha: float = 0.05) -> list[Board]:
    """The leaderboards of a ``load_results`` table, one per dataset × model, sorted by name."""
    if metric not in DIRECTIONS:
        raise ValueError(f"metric {metric!r} has no known direction; rankable: {', '.join(sorted(DIRECTIONS))}")
    summary = summarize(df)  # 95% intervals, as every caption says
    boards = []
    groups = summary.groupby(["dataset", "model"], sort=True) if len(summary) else []
    for (dataset, model), rows in groups:
        runs = df[(df["dataset"] == dataset) & (df["model"] == model)]
        used = runs[runs["status"].isin(SUMMARY_STATUSES)]
        key = f"{metric}_mean"
        if key in rows:
            rows = rows.sort_values(key, ascending=not DIRECTIONS[metric], na_position="last", kind="stable")
        values = {loss: (used.loc[used["loss"] == loss, metric] if metric in used else pd.Series(dtype=float))
                  .to_numpy(dtype=np.float64, na_value=np.nan) for loss in rows["loss"]}
        comparison = pairwise(values, DIRECTIONS[metric], test, alpha, metric)
        shown = [m for m in SHOWN if f"{m}_mean" in rows and rows[f"{m}_mean"].notna().any()]
        protocol = {c: (_distinct(used[c])[0] if c in used and len(_distinct(used[c])) == 1 else None)
                    for c in ("model", "features", "comparable", "split", "n_real", "n_fake")}
        boards.append(Board(str(dataset), str(model), metric, rows.reset_index(drop=True), runs, comparison, shown,
                            _floor(used), _provenance(runs, used), published_for(str(dataset), protocol)))
    return boards


def _floor(used: pd.DataFrame) -> dict[str, str]:
    out = {}
    for m in ("fid", "kid", "is", "precision", "recall"):
        if f"floor_{m}" in used:
            vals = _distinct(used[f"floor_{m}"])
            if vals:  # the same real set gives one value; several mean the boards mixes protocols
                out[LABELS[m]] = " to ".join(f"{v:.4g}" for v in (vals if len(vals) == 1 else [min(vals), max(vals)]))
    if out and "floor_n_each" in used:
        out["N each"] = _joined(used["floor_n_each"], lambda v: f"{v:g}")
    return out


def _provenance(runs: pd.DataFrame, used: pd.DataFrame) -> dict[str, str]:
    def col(c: str, fmt=str) -> str:
        return _joined(used[c], fmt) if c in used else "—"
    comparable = _distinct(used["comparable"]) if "comparable" in used else []
    return {"suite": _joined(runs["suite"]), "features": col("features"), "weights sha256": col("weights_sha256"),
            "N real": col("n_real"), "N fake": col("n_fake"),
            "comparable": {(True,): "yes", (False,): "no"}.get(tuple(comparable), "mixed" if comparable else "—"),
            "device": col("device"), "git commit": col("git_commit", lambda v: str(v)[:10]),
            "ganbench": col("ganbench_version")}


def fmt_value(mean: float, ci: Optional[float]) -> str:
    """'mean ± half-width', both to the interval's second significant digit (digits beyond it are noise);
    the mean to 4 significant digits when the interval is unknown (one seed) or zero."""
    if mean is None or not np.isfinite(mean):
        return "—"
    if ci is None or not np.isfinite(ci):
        return f"{mean:.4g}"
    decimals = 1 - math.floor(math.log10(ci)) if ci > 0 else None
    if decimals is None or decimals > 8:  # no spread at all, or one too small to print in fixed point
        return f"{mean:.4g} ± {ci:.2g}"
    decimals = max(decimals, 0)
    return f"{mean:.{decimals}f} ± {ci:.{decimals}f}"


def fmt_published(value: float, err: Optional[float]) -> str:
    """A published number as the paper printed it."""
    return f"{value:g}" if err is None else f"{value:g} ± {err:g}"


def _cells(board: Board, row: dict[str, Any], rank: int) -> list[str]:
    """The leaderboard cells of one loss, as plain text (the renderers escape them)."""
    rec = board.comparison.record(row["loss"])
    extra = ", ".join(f"{row[f'n_{s}']} {s}" for s in ("failed", "incomplete", "corrupt") if row[f"n_{s}"])
    seeds = f"{row['n']}" + (f" (+{extra})" if extra else "") + (" ⚠ mixed configs" if row["n_configs"] > 1 else "")
    share = row["diverged_share"]
    n_div = "—" if not np.isfinite(share) else f"{round(share * row['n'])}/{row['n']}"
    ranked = np.isfinite(row.get(f"{board.metric}_mean", np.nan))  # a loss without the metric has no rank
    values = [fmt_value(row[f"{m}_mean"], row[f"{m}_ci"]) for m in board.shown]
    return ([str(rank) if ranked else "—", str(row["loss"])] + values
            + [n_div, seeds, "n/a" if rec is None else "/".join(map(str, rec))])


def _header(board: Board) -> list[str]:
    n_modes = _distinct(board.runs["n_modes"]) if "n_modes" in board.runs else []
    of = {"modes": f" (of {n_modes[0]:g})"} if len(n_modes) == 1 else {}
    arrows = [f"{LABELS[m]}{of.get(m, '')} {'↑' if DIRECTIONS[m] else '↓'}" for m in board.shown]
    return ["#", "loss"] + arrows + ["diverged", "seeds", "W/T/L"]


def _published_cells(board: Board) -> tuple[list[str], list[list[str]]]:
    metrics = [m for m in SHOWN if any(m in p.values for p in board.published)]
    head = ["method"] + [LABELS[m] for m in metrics] + ["source"]
    rows = []
    for p in board.published:
        vals = [fmt_published(*p.values[m]) if m in p.values else "—" for m in metrics]
        rows.append([p.method + " (published)"] + vals + [f"{p.source.cite} ({p.source.error})"
                                                          + (f"; {p.note}" if p.note else "")])
    return head, rows


def _verdict_line(board: Board) -> str:
    direction = "higher" if DIRECTIONS[board.metric] else "lower"
    v = board.comparison.verdict
    status = {"too few seeds": "not significant / too few seeds", "not significant": "not significant",
              "significant": "significant differences", "no data": "none"}[v]
    return (f"Ranked by {LABELS[board.metric]} ({direction} is better): mean ± 95% CI (t) over seeds. "
            f"Ranking: {status}. {board.comparison.explanation}")


def _excluded(board: Board) -> list[str]:
    bad = board.runs[~board.runs["status"].isin(SUMMARY_STATUSES)]
    return [f"{r.run_id}: {r.status}" + (f" ({r.reason})" if isinstance(r.reason, str) and r.reason else "")
            for r in bad.itertuples()]


# ---------------------------------------------------------------- Markdown

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|])")


def md_escape(text: Any) -> str:
    """Text for a Markdown table cell: one line, ``|`` and Markdown syntax escaped, HTML-special chars as entities."""
    s = re.sub(r"\r\n|\r|\n", " ", str(text))
    return html.escape(_MD_SPECIAL.sub(r"\\\1", s), quote=False)  # quotes are plain text in Markdown


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(md_escape(h) for h in head) + " |", "|" + "---|" * len(head)]
    return out + ["| " + " | ".join(md_escape(c) for c in r) + " |" for r in rows]


def markdown(boards: list[Board], title: str = "ganbench leaderboard") -> str:
    lines = [f"# {md_escape(title)}", ""]
    for b in boards:
        lines += [f"## {md_escape(b.title)}", "", md_escape(_verdict_line(b)), ""]
        lines += _md_table(_header(b), [_cells(b, r, i + 1) for i, r in enumerate(b.rows.to_dict("records"))])
        if b.floor:
            lines += ["", "Real-data floor (two disjoint halves of the real samples): "
                      + md_escape(", ".join(f"{k} {v}" for k, v in b.floor.items()))]
        lines += ["", "Provenance: " + md_escape("; ".join(f"{k} {v}" for k, v in b.provenance.items()))]
        if b.provenance["comparable"] != "yes":
            lines += ["", "**Not comparable with published numbers** (features or weights not the standard ones)."]
        if b.published:
            lines += ["", "Published reference rows (not ganbench runs):", ""] + _md_table(*_published_cells(b))
        ex = _excluded(b)
        if ex:
            lines += ["", "Not in the summaries: " + md_escape("; ".join(ex))]
        lines.append("")
    if not boards:
        lines += ["No finished runs.", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- plots

def _mpl_text(s: Any) -> str:
    """A label matplotlib shows verbatim: no mathtext from '$', no legend hiding of a leading '_'."""
    s = str(s).replace("$", r"\$")
    return " " + s if s.startswith("_") else s


def _png(fig) -> bytes:
    from .plots import figure_png
    return figure_png(fig)


def _colors(entries: list[str]) -> dict[str, Any]:
    import matplotlib.pyplot as plt
    cmap = plt.get_cmap("tab10" if len(entries) <= 10 else "tab20")
    return {e: cmap(i % cmap.N) for i, e in enumerate(entries)}


def metric_plot(board: Board, metric: Optional[str] = None) -> Optional[bytes]:
    """Per loss: each seed's value (dots) and the mean with its 95% CI (bar); real-data floor dashed."""
    import matplotlib.pyplot as plt
    metric = metric or board.metric
    used = board.runs[board.runs["status"].isin(SUMMARY_STATUSES)]
    if metric not in used or used[metric].notna().sum() == 0:
        return None
    entries = list(board.rows["loss"])
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(entries) + 1.4), dpi=100)
    colors = _colors(entries)
    for i, (loss, row) in enumerate(zip(entries, board.rows.to_dict("records"))):
        seeds = used.loc[used["loss"] == loss, metric].to_numpy(dtype=np.float64, na_value=np.nan)
        ax.plot(seeds, np.full(len(seeds), i), "o", ms=4, alpha=0.5, color=colors[loss])
        if np.isfinite(row[f"{metric}_mean"]):
            err = row[f"{metric}_ci"] if np.isfinite(row[f"{metric}_ci"]) else None
            ax.errorbar(row[f"{metric}_mean"], i, xerr=err, fmt="s", color=colors[loss], capsize=4, ms=6)
    floor = used[f"floor_{metric}"].dropna() if f"floor_{metric}" in used else pd.Series(dtype=float)
    if len(floor):
        ax.axvline(float(floor.median()), ls="--", color="#888", lw=1, label="real-data floor")
        ax.legend(fontsize=8, loc="best")
    ax.set_yticks(range(len(entries)), [_mpl_text(e) for e in entries])
    ax.invert_yaxis()
    ax.set_xlabel(f"{LABELS.get(metric, metric)} ({'higher' if DIRECTIONS.get(metric) else 'lower'} is better); "
                  "squares: mean ± 95% CI, dots: seeds", fontsize=8)
    ax.set_title(_mpl_text(f"{LABELS.get(metric, metric)} per loss — {board.title}"), fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _png(fig)


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
    colors = _colors(list(board.rows["loss"]))
    ncols = 2 if len(present) == 4 else len(present)  # four panels read better as 2 x 2
    nrows = math.ceil(len(present) / ncols)
    n_legend_rows = math.ceil(len(histories) / 5)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows + 0.5 + 0.25 * n_legend_rows), dpi=100,
                             squeeze=False)
    for ax, (col, label) in zip(axes.flat, present):
        for loss, h in histories.items():
            if col in h:
                s = h[col].dropna()
                ax.plot(s.index, s.to_numpy(), color=colors[loss], lw=1.2, label=_mpl_text(loss),
                        marker="o" if len(s) <= 12 else None, ms=3)
        _auto_scale(ax, [h[col] for h in histories.values() if col in h])
        ax.set_xlabel("step", fontsize=8)
        ax.set_title(_mpl_text(label), fontsize=10)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    legend: dict[str, Any] = {}  # every loss once, whichever panel it appears in
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    ncol = min(len(legend), 5)
    fig.legend(list(legend.values()), list(legend), loc="lower center", ncol=ncol, fontsize=9, frameon=False)
    fig.suptitle(_mpl_text(f"{title} — {board.title} (mean over seeds)"), fontsize=11)
    legend_in = 0.25 * math.ceil(len(legend) / ncol) + 0.1  # inches of legend rows below the panels
    fig.tight_layout(rect=(0, legend_in / fig.get_figheight(), 1, 1))
    return _png(fig)


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
    plots = [(f"{LABELS.get(board.metric, board.metric)} per loss with 95% CIs", metric_plot(board)),
             ("Evaluations during training", curves_plot(
                 board, [("fid", "FID"), ("modes", "modes"), ("hq_fraction", "HQ")],
                 "evaluations during training", hist)),
             ("D / G losses and gradient norms", curves_plot(
                 board, [("d_loss", "D loss"), ("g_loss", "G loss"), ("d_grad_norm", "D gradient norm"),
                         ("g_grad_norm", "G gradient norm")],
                 "training curves", hist))]
    return [(c, png) for c, png in plots if png is not None]


def board_samples(board: Board) -> list[tuple[str, Optional[bytes]]]:
    """(caption, samples.png bytes or None) per loss: the lowest seed's finished run."""
    out = []
    for loss in board.rows["loss"]:
        runs = board.runs[(board.runs["loss"] == loss) & board.runs["status"].isin(SUMMARY_STATUSES)]
        png, caption = None, f"{loss}: no finished run"
        for r in runs.sort_values("seed").itertuples():
            p = Path(r.run_dir) / SAMPLES
            data = p.read_bytes() if p.is_file() else b""
            if data.startswith(PNG_MAGIC):  # only a real PNG is inlined; anything else would show broken
                png, caption = data, f"{loss} (seed {r.seed})"
                break
            caption = f"{loss}: no samples.png"
        out.append((caption, png))
    return out


# ---------------------------------------------------------------- HTML

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1320px;
color:#1d1d1f;padding:0 16px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:20px;border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:40px}
h3{font-size:15px;margin:22px 0 8px}.meta,.note{color:#555;font-size:13px}
.scroll{overflow-x:auto}table{border-collapse:collapse;margin:6px 0;font-size:13px}
th,td{border:1px solid #d0d0d0;padding:4px 7px;text-align:right}
th{background:#f3f3f5}
td.name,th.name{text-align:left;white-space:normal;min-width:6em;max-width:380px;overflow-wrap:break-word}
tbody tr:nth-child(even){background:#fafafa}
.verdict{padding:6px 10px;border-left:4px solid #999;background:#f6f6f6}
.verdict.significant{border-color:#2a9d3a}.verdict.too-few{border-color:#d98c00;background:#fff8e8}
td.win{background:#d8f3dc;color:#145a20}td.loss{background:#fde2e1;color:#8a1c13}td.tie{background:#eee}
td.na{color:#999}td.diag{background:#fff}td.win small,td.loss small,td.tie small{color:#555}
.badge{display:inline-block;font-size:11px;padding:0 5px;border-radius:3px;background:#e8eefc;color:#234}
figure{margin:8px 0}img{max-width:100%;height:auto}figcaption{font-size:12px;color:#555}
.samples{display:flex;flex-wrap:wrap;gap:10px}.samples figure{width:230px;margin:0}.samples img{width:230px}
.missing{width:230px;height:230px;display:flex;align-items:center;justify-content:center;background:#f3f3f3;
color:#888;font-size:12px}
"""
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _img(png: bytes, alt: str) -> str:
    return f'<img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" alt="{_e(alt)}">'


def _cell(text: Any) -> str:
    """Escaped cell text that wraps only between words: a value, its ± and its interval stay together."""
    return re.sub(r" ([±↑↓]) ?", lambda m: "&nbsp;" + m.group(1) + ("&nbsp;" if m.group(0).endswith(" ") else ""),
                  _e(text))


def _html_table(head: list[str], rows: list[list[str]], cls: str, left: Iterable[int] = (0, 1)) -> str:
    """A table of plain-text cells (all escaped); columns in ``left`` hold names and are left-aligned."""
    left = {i % len(head) for i in left}
    th = "".join(f'<th{" class=name" if i in left else ""}>{_cell(h)}</th>' for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f'<td{" class=name" if i in left else ""}>{_cell(c)}</td>'
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f'<div class="scroll"><table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>'


def _matrix_html(board: Board) -> str:
    c = board.comparison
    head = "".join(f'<th class="name">{_e(e)}</th>' for e in c.entries)
    rows = []
    for a in c.entries:
        cells = []
        for b in c.entries:
            o = c.outcome[(a, b)]
            if a == b:
                cells.append('<td class="diag">—</td>')
            elif o == "n/a":
                cells.append('<td class="na">n/a</td>')
            else:
                cells.append(f'<td class="{o}">{o} <small>p={c.p_adj[(a, b)]:.2g}</small></td>')
        rows.append(f'<tr><th class="name">{_e(a)}</th>{"".join(cells)}</tr>')
    return (f'<div class="scroll"><table class="matrix"><thead><tr><th class="name">row vs column</th>{head}</tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table></div>')


def _board_html(b: Board, with_plots: bool) -> str:
    c = b.comparison
    cls = {"significant": "significant", "too few seeds": "too-few"}.get(c.verdict, "")
    parts = [f'<section id="{_e(b.anchor)}"><h2>{_e(b.title)}</h2>',
             f'<p class="verdict {cls}">{_e(_verdict_line(b))}</p>',
             _html_table(_header(b), [_cells(b, r, i + 1) for i, r in enumerate(b.rows.to_dict("records"))],
                         "leaderboard")]
    if b.floor:
        parts.append('<p class="note">Real-data floor (two disjoint halves of the real samples): '
                     + _e(", ".join(f"{k} {v}" for k, v in b.floor.items())) + "</p>")
    parts.append('<p class="note">Provenance: ' + _e("; ".join(f"{k} {v}" for k, v in b.provenance.items())) + "</p>")
    if b.provenance["comparable"] != "yes":
        parts.append('<p class="note"><strong>Not comparable with published numbers</strong> '
                     "(features or weights not the standard ones).</p>")
    ex = _excluded(b)
    if ex:
        parts.append('<p class="note">Not in the summaries: ' + _e("; ".join(ex)) + "</p>")
    parts += [f"<h3>Pairwise: win / tie / loss on {_e(LABELS.get(b.metric, b.metric))}</h3>",
              '<p class="note">Row vs column; win = the row is significantly better '
              "(Holm-adjusted p &lt; α); n/a = too few seeds to test.</p>", _matrix_html(b)]
    if b.published:
        head, rows = _published_cells(b)
        protocols = {p.source.cite: p.source.protocol for p in b.published}
        parts += ['<h3>Published reference <span class="badge">published</span></h3>',
                  _html_table(head, rows, "published", left=(0, -1))]
        parts += [f'<p class="note">{_e(k)}: {_e(v)}</p>' for k, v in protocols.items()]
    if with_plots:
        parts.append("<h3>Plots</h3>")
        parts += [f"<figure>{_img(png, cap)}<figcaption>{_e(cap)}</figcaption></figure>" for cap, png in board_plots(b)]
        parts.append('<h3>Samples</h3><div class="samples">')
        for cap, png in board_samples(b):
            inner = _img(png, cap) if png else f'<div class="missing">{_e(cap)}</div>'
            parts.append(f"<figure>{inner}<figcaption>{_e(cap)}</figcaption></figure>")
        parts.append("</div>")
    parts.append("</section>")
    return "\n".join(parts)


def html_report(boards: list[Board], df: pd.DataFrame, title: str = "ganbench report", with_plots: bool = True) -> str:
    """One self-contained HTML page: no scripts, no network, images inlined."""
    counts = df["status"].value_counts() if len(df) else pd.Series(dtype=int)
    status = ", ".join(f"{int(counts.get(s, 0))} {s}" for s in ("finished", "diverged", "failed", "incomplete",
                                                                  "corrupt") if counts.get(s, 0))
    toc = "".join(f'<li><a href="#{_e(b.anchor)}">{_e(b.title)}</a></li>' for b in boards)
    runs_cols = [c for c in ("run_id", "status", "dataset", "model", "loss", "seed", "steps", "fid", "reason")
                 if c in df]
    runs_rows = [["—" if pd.isna(v) else (f"{v:.4g}" if isinstance(v, float) else str(v)) for v in r]
                 for r in df[runs_cols].itertuples(index=False)]
    runs_table = _html_table([c.replace("_", " ") for c in runs_cols], runs_rows, "runs", (0, 1, 2, 3, 4, -1))
    body = "\n".join(_board_html(b, with_plots) for b in boards) or "<p>No finished runs.</p>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{CSS}</style></head>
<body><h1>{_e(title)}</h1>
<p class="meta">{len(df)} runs ({_e(status or "none")}); ganbench {_e(__version__)}.
Mean ± 95% confidence interval (t distribution) over seeds; metrics of finished and diverged runs.</p>
<ul>{toc}<li><a href="#all-runs">all runs</a></li></ul>
{body}
<section id="all-runs"><h2>All runs</h2>{runs_table}
</section></body></html>
"""


# ---------------------------------------------------------------- entry point

@dataclass
class Report:
    markdown: str
    files: dict[str, Path]   # format -> main file written


def write_report(results_dir: str | Path, out: str | Path | None = None, formats: Iterable[str] = ("md", "html"),
                 metric: str = "fid", test: str = "mannwhitney", alpha: float = 0.05,
                 errors: str = "raise") -> Report:
    """Load ``results_dir``, write the requested formats into ``out`` (default RESULTS_DIR/report)."""
    formats = list(formats)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(f"format(s) {', '.join(bad) or '(none)'} not known; accepted: {', '.join(FORMATS)}")
    df = load_results(results_dir, errors=errors)
    if not len(df):
        raise FileNotFoundError(f"no run directories (holding config.json) under {str(results_dir)!r}")
    out = Path(out) if out is not None else Path(results_dir) / "report"
    boards = build_boards(df, metric=metric, test=test, alpha=alpha)
    title = f"ganbench leaderboard — {Path(results_dir).resolve().name}"
    md = markdown(boards, title)
    files: dict[str, Path] = {}
    if "md" in formats:
        atomic_write_text(out / "leaderboard.md", md)
        files["md"] = out / "leaderboard.md"
    for fmt in ("csv", "parquet"):
        if fmt in formats:
            files[fmt] = export_table(df, out / f"runs.{fmt}")
            export_table(summarize(df), out / f"summary.{fmt}")
    if "html" in formats:
        atomic_write_text(out / "report.html", html_report(boards, df, title.replace("leaderboard", "report")))
        files["html"] = out / "report.html"
    return Report(md, files)


__all__ = ["TESTS", "FORMATS", "MIN_SEEDS", "mannwhitney_pvalue", "min_pvalue", "compare", "holm", "Comparison",
           "pairwise", "Board", "build_boards", "fmt_value", "fmt_published", "md_escape", "markdown",
           "metric_plot", "curves_plot", "board_plots", "board_samples", "html_report", "Report", "write_report"]
