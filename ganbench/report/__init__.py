"""Leaderboards (Markdown, one self-contained HTML file), plots and pairwise significance between losses.

Runs that are trials of a search (``[search]`` in the suite) get the equal-budget comparison of ``budget``
first (``searches``: per loss the metric over trials, the best at budget k, paired tests with Holm, sensitivity,
the best trials as a suite fragment), and a board of each loss's best trial (untested: chosen on those values).

One fixed-setting leaderboard per dataset × model: the losses ranked by the mean of one metric (FID by
default; each metric's direction comes from ``results.DIRECTIONS``), the mean and a 95%
percentile-bootstrap interval over seeds (``aggregate``: inside the metric's range; undefined
values count as the worst outcome), and a win / tie / loss matrix from pairwise tests across seeds.
Each column is defined once per page (``columns.DEFINITIONS``). The tests:

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

Modules: ``significance`` (tests, Holm, ``pairwise`` -> ``LossComparison``), ``boards`` (``Board``, ``build_boards``,
``best_trial_boards``, formatting), ``searches`` (``SearchBoard``, ``build_searches``: the equal-budget analysis and
its cells), ``findings`` (what the tests found, in words, for the top of the page), ``columns`` (what each column
means), ``markdown``, ``figures`` and ``search_figures`` (matplotlib), ``html``; this one holds the entry point
(``write_report``) and re-exports the public names, so ``from ganbench.report import X`` keeps working.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd

from ..budget import write_budget_csv
from ..files import atomic_write_text
from ..results import export_table, load_results, summarize
# SHOWN, PNG_MAGIC, CSS, CSP, LABELS and EXACT_MAX_N are not in __all__, but the single-file module had them,
# so they stay importable from here.
from .boards import SHOWN, Board, best_trial_boards, build_boards, fmt_interval, fmt_published, in_search
from .figures import PNG_MAGIC, board_plots, board_samples, curves_plot, metric_plot
from .html import CSP, CSS, html_report
from .markdown import markdown, md_escape
from .searches import SearchBoard, best_trial_runs, build_searches
from .significance import (EXACT_MAX_N, LABELS, MIN_SEEDS, TESTS, LossComparison, compare_seeds, holm,
                           pairwise, smallest_pvalue)

FORMATS = ("md", "html", "csv", "parquet")


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
    searches = build_searches(df, metric=metric, alpha=alpha)
    boards = build_boards(df, metric=metric, test=test, alpha=alpha)
    best = best_trial_runs(searches)
    boards += best_trial_boards(best, metric=metric) if len(best) else []
    title = f"ganbench leaderboard — {Path(results_dir).resolve().name}"
    md = markdown(boards, title, searches)
    files: dict[str, Path] = {}
    if "md" in formats:
        atomic_write_text(out / "leaderboard.md", md)
        files["md"] = out / "leaderboard.md"
    for fmt in ("csv", "parquet"):
        if fmt in formats:
            files[fmt] = export_table(df, out / f"runs.{fmt}")
            export_table(summary_table(df), out / f"summary.{fmt}")
            curves = [sb.curve for sb in searches if len(sb.curve)]
            if curves:
                write_budget_csv(pd.concat(curves, ignore_index=True), out / f"budget.{fmt}", metric)
    if "html" in formats:
        atomic_write_text(out / "report.html",
                          html_report(boards, df, title.replace("leaderboard", "report"), searches=searches))
        files["html"] = out / "report.html"
    return Report(md, files)


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """``summary.csv``: one row per configuration, as ``results.summarize`` computes it: per loss for runs at
    one setting, per loss and trial for the runs of a search (a trial's seeds, never pooled across trials)."""
    searched = in_search(df)
    parts = [summarize(df[~searched])] if (~searched).any() or not searched.any() else []
    if searched.any():
        parts.append(summarize(df[searched], by=("dataset", "model", "loss", "trial")))
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


__all__ = ["TESTS", "FORMATS", "MIN_SEEDS", "smallest_pvalue", "compare_seeds", "holm",
           "LossComparison", "pairwise", "Board", "build_boards", "best_trial_boards", "SearchBoard", "build_searches",
           "best_trial_runs", "fmt_interval", "fmt_published", "md_escape", "markdown", "metric_plot", "curves_plot",
           "board_plots", "board_samples", "html_report", "summary_table", "Report", "write_report"]
