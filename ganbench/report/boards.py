"""Leaderboards: ``Board`` (one per dataset × model), ``build_boards`` from a ``load_results`` table, and the
plain-text cells, headers and captions that the Markdown and HTML renderers share (they escape them)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd

from ..aggregate import INTERVAL_METHOD, UNDEFINED_BECAUSE, with_worst, worst
from ..catalogue import SHOWN  # the leaderboard's metric columns, in order
from ..config import safe_name
from ..feature_spaces import metric_label
from ..metrics import MIN_SAMPLES
from ..published import BEST_OF_SEARCH, SINGLE_SETTING, Published, published_excluded, published_for
from ..results import DIRECTIONS, SUMMARY_STATUSES, summarize
from .columns import SAMPLE_SIZE_SLACK
from .significance import LABELS, LossComparison, pairwise

FIXED = "one setting per loss"                      # a board of runs that are not part of a search
BEST_TRIAL = "best trial of each loss"              # the seeds of each loss's best trial, chosen after the search
KINDS = {FIXED: SINGLE_SETTING, BEST_TRIAL: BEST_OF_SEARCH}  # what a published row's protocol must match


@dataclass
class Board:
    """One leaderboard: the losses of one dataset × model, with everything the renderers show."""
    dataset: str
    model: str
    metric: str
    rows: pd.DataFrame                  # summary rows, best first
    runs: pd.DataFrame                  # every run of the board (all statuses)
    comparison: LossComparison
    shown: list[str]                    # metric columns with at least one value
    floor: dict[str, str] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)
    published: list[Published] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # published rows kept out and why; floors of mode KL
    kind: str = FIXED

    @property
    def title(self) -> str:
        return f"{self.dataset} · {self.model}"

    @property
    def heading(self) -> str:
        """The title and what the board is: one setting per loss, or each loss's best trial of a search."""
        return f"{self.title} — {self.kind}" + (" (chosen after the search)" if self.kind == BEST_TRIAL else "")

    @property
    def tested(self) -> bool:
        """Whether the losses are tested against each other (not after choosing each one's best trial)."""
        return self.kind == FIXED

    @property
    def anchor(self) -> str:
        return safe_name(f"board-{self.dataset}-{self.model}" if self.kind == FIXED
                         else f"best-trials-{self.dataset}-{self.model}")


def _distinct(s: pd.Series) -> list[Any]:
    return sorted({v for v in s.dropna().tolist()}, key=str)


def _joined(s: pd.Series, fmt=str) -> str:
    vals = _distinct(s)
    return ", ".join(fmt(v) for v in vals) if vals else "—"


def in_search(df: pd.DataFrame) -> pd.Series:
    """True for the runs that are trials of a search (``load_results``' ``trial`` column holds a value)."""
    if "trial" not in df:
        return pd.Series(False, index=df.index)
    return df["trial"].notna().astype(bool)


def build_boards(df: pd.DataFrame, metric: str = "fid", test: str = "mannwhitney",
                 alpha: float = 0.05) -> list[Board]:
    """The fixed-setting leaderboards of a ``load_results`` table, one per dataset × model, sorted by name.

    Trials of a search are left out: pooling a loss's trials as if they were its seeds would mix settings
    (``report.searches`` compares them at equal budget and boards each loss's best trial)."""
    return _boards(df[~in_search(df)], metric, test, alpha, FIXED)


def best_trial_boards(runs: pd.DataFrame, metric: str = "fid") -> list[Board]:
    """Boards of the seeds of each loss's best trial (``runs`` holds those runs only): every column of a
    leaderboard, untested (the choice of the best trial used these very values)."""
    return _boards(runs, metric, "mannwhitney", 0.05, BEST_TRIAL)


def _boards(df: pd.DataFrame, metric: str, test: str, alpha: float, kind: str) -> list[Board]:
    if metric not in DIRECTIONS:
        raise ValueError(f"metric {metric!r} has no known direction; rankable: {', '.join(sorted(DIRECTIONS))}")
    summary = summarize(df)  # 95% percentile-bootstrap intervals, as every caption says
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
        features = _distinct(runs["features"]) if "features" in runs else []
        space = features[0] if len(features) == 1 else None
        if any(np.isfinite(v).any() for v in values.values()):  # the board measures it: undefined = worst
            values = {loss: with_worst(v, metric, DIRECTIONS[metric]) for loss, v in values.items()}
        comparison = pairwise(values, DIRECTIONS[metric], test, alpha, metric,
                              metric_label(metric, LABELS.get(metric, metric), space))
        if kind != FIXED:
            comparison = _untested(list(rows["loss"]))
        shown = [m for m in SHOWN if f"{m}_mean" in rows and rows[f"{m}_mean"].notna().any()]
        protocol = {**_protocol(used, rows), "search": KINDS[kind]}
        boards.append(Board(str(dataset), str(model), metric, rows.reset_index(drop=True), runs, comparison, shown,
                            _floor(used, space), _provenance(runs, used), published_for(str(dataset), protocol),
                            _published_notes(str(dataset), protocol) + _kl_floor_note(used), kind))
    return boards


def _untested(losses: list[str]) -> LossComparison:
    return LossComparison(losses, {(a, b): ("" if a == b else "n/a") for a in losses for b in losses}, {},
                          "not tested", "Not tested against each other: each loss's best trial was chosen on these "
                          "values, so they are the optimistic end of its search; the equal-budget comparison is "
                          "the test.")


def _protocol(used: pd.DataFrame, rows: pd.DataFrame) -> dict[str, Any]:
    """What a published row is checked against: each column's value where every run of the board shares it
    (None where they differ), the least steps trained, one setting per loss, and the rows' means."""
    shared = {c: (_distinct(used[c])[0] if c in used and len(_distinct(used[c])) == 1 else None)
              for c in ("model", "architecture", "n_train", "batch_size", "features", "comparable", "split",
                        "n_real", "n_fake")}
    steps = used["steps"].dropna() if "steps" in used else pd.Series(dtype=float)
    means = {str(r["loss"]): {c[:-5]: r[c] for c in rows.columns if c.endswith("_mean") and pd.notna(r[c])}
             for _, r in rows.iterrows()}
    return {**shared, "steps": int(steps.min()) if len(steps) else None, "rows": means}


def _published_notes(dataset: str, protocol: dict[str, Any]) -> list[str]:
    """One line per source: the published rows this board's protocol keeps out, and why."""
    by_source: dict[str, list[Published]] = {}
    for p, _ in published_excluded(dataset, protocol):
        by_source.setdefault(p.source.cite, []).append(p)
    lines = []
    for cite, rows in by_source.items():
        shared = list(dict.fromkeys(why for p in rows for why in p.protocol_mismatches(protocol)))
        if shared:  # the protocol differs for every row of the source: the schedule is beside the point
            lines.append(f"Not shown beside this board, the protocol differs: {cite} "
                         f"({', '.join(p.method for p in rows)}): {'; '.join(shared)}.")
        else:
            lines.append(f"Not shown beside this board, too short a schedule: {cite}: "
                         + "; ".join(f"{p.method}: {p.schedule_mismatch(protocol)}" for p in rows) + ".")
    return lines


def _kl_floor_note(used: pd.DataFrame) -> list[str]:
    """The expected mode KL of a perfect generator at the board's sample count (``modes.uniform_kl_floor``)."""
    floors = _distinct(used["kl_floor"]) if "kl_floor" in used else []
    if not floors:
        return []
    value = " to ".join(f"{v:.3g}" for v in (floors if len(floors) == 1 else [min(floors), max(floors)]))
    n_fake = _joined(used["n_fake"], lambda v: f"{v:g}") if "n_fake" in used else "—"
    return [f"Mode KL against uniform: a perfect generator scores {value} at N fake = {n_fake} (its expected KL)."]


def _floor(used: pd.DataFrame, features: Optional[str]) -> dict[str, str]:
    out = {}
    for m in ("fid", "kid", "is", "precision", "recall"):
        if f"floor_{m}" in used:
            vals = _distinct(used[f"floor_{m}"])
            if vals:  # the same real set gives one value; several mean the boards mixes protocols
                out[metric_label(m, LABELS[m], features)] = " to ".join(f"{v:.4g}" for v in (vals if len(vals) == 1 else [min(vals), max(vals)]))
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
            "ganbench": col("ganbench_version"),
            # FID against a statistics file: which one, and "provenance unknown" when it is a foreign file
            **({"real stats": col("real_stats")} if "real_stats" in used and used["real_stats"].notna().any() else {})}


def _num(v: float) -> str:
    return "∞" if v == np.inf else "-∞" if v == -np.inf else f"{v:.4g}"


def fmt_interval(mean: float, lo: Optional[float], hi: Optional[float]) -> str:
    """'mean (lo to hi)', all to the interval width's second significant digit (digits beyond it are noise);
    the mean alone, to 4 significant digits, when there is no interval (one seed) or it has no width."""
    if mean is None or np.isnan(mean):
        return "—"
    if lo is None or hi is None or np.isnan(lo) or np.isnan(hi) or lo == hi:
        return _num(mean)
    width = hi - lo
    if not np.isfinite(mean) or not np.isfinite(width) or 1 - math.floor(math.log10(width)) > 8:
        return f"{_num(mean)} ({_num(lo)} to {_num(hi)})"
    d = max(1 - math.floor(math.log10(width)), 0)
    return f"{mean:.{d}f} ({lo:.{d}f} to {hi:.{d}f})"


def fmt_metric(row: dict[str, Any], metric: str) -> str:
    """A metric's cell: its interval, and how many runs were undefined and what they counted as."""
    text = fmt_interval(row[f"{metric}_mean"], row.get(f"{metric}_lo"), row.get(f"{metric}_hi"))
    undefined = int(row.get(f"{metric}_undefined") or 0)
    if undefined:
        because = UNDEFINED_BECAUSE.get(metric, "undefined")
        text += f" · {undefined} of {row[f'{metric}_n']} {because} → {_num(worst(metric, DIRECTIONS[metric]))}"
    return text


def fmt_published(value: float, err: Optional[float]) -> str:
    """A published number as the paper printed it."""
    return f"{value:g}" if err is None else f"{value:g} ± {err:g}"


def row_cells(board: Board, row: dict[str, Any], rank: int) -> list[str]:
    """The leaderboard cells of one loss, as plain text (the renderers escape them)."""
    rec = board.comparison.record(row["loss"])
    extra = ", ".join(f"{row[f'n_{s}']} {s}" for s in ("failed", "incomplete", "corrupt") if row[f"n_{s}"])
    seeds = f"{row['n']}" + (f" (+{extra})" if extra else "") + (" ⚠ mixed configs" if row["n_configs"] > 1 else "")
    ranked = not np.isnan(row.get(f"{board.metric}_mean", np.nan))  # a loss without the metric has no rank
    values = [fmt_metric(row, m) for m in board.shown]
    if _has_perfect(board):
        m, r = row["modes_perfect_mean"], row["reverse_kl_perfect_mean"]
        values.append(f"{'—' if np.isnan(m) else f'{m:.1f}'} · {'—' if np.isnan(r) else f'{r:.2g}'}")
    shares = [_share(row, s) for s in _share_columns(board)]
    record = ["n/a" if rec is None else "/".join(map(str, rec))] if board.tested else []
    return [str(rank) if ranked else "—", str(row["loss"])] + values + shares + [seeds] + record


_SHARES = {"diverged": "diverged_share", "collapsed": "collapsed_share", "failed to cover": "failed_to_cover_share"}


def _share_columns(board: Board) -> list[str]:
    """diverged and collapsed always; failed to cover on boards that count modes."""
    return [c for c in _SHARES if c != "failed to cover" or board.rows[_SHARES[c]].notna().any()]


def _share(row: dict[str, Any], column: str) -> str:
    share = row.get(_SHARES[column], np.nan)
    return "—" if not np.isfinite(share) else f"{round(share * row['n'])}/{row['n']}"


def _has_perfect(board: Board) -> bool:
    return "modes_perfect_mean" in board.rows and board.rows["modes_perfect_mean"].notna().any()


def sample_size_note(board: Board) -> str:
    """The losses whose mode count and reverse KL are limited by their number of HQ samples, or ''."""
    if not _has_perfect(board) or "n_modes" not in board.runs:
        return ""
    ks = _distinct(board.runs["n_modes"])
    if len(ks) != 1:
        return ""
    k = float(ks[0])
    limited = [r for r in board.rows.to_dict("records")
               if np.isfinite(r["modes_perfect_mean"]) and r["modes_perfect_mean"] < k - SAMPLE_SIZE_SLACK]
    if not limited:
        return (f"Sample size: every loss has enough HQ samples for a perfect generator to cover all {k:g} modes "
                f"(within {SAMPLE_SIZE_SLACK:g}); mode counts measure coverage.")
    names = ", ".join(f"{r['loss']} ({r['modes_perfect_mean']:.1f} of {k:g})" for r in limited)
    return (f"Sample size: with their few HQ samples even a perfect generator covers fewer than all modes for "
            f"{names}; differences in modes and rev-KL up to that floor are sample size, not coverage.")


def runs_label(runs: pd.DataFrame, metric: str) -> str:
    """The metric's display name on a board of these runs: FID on DINOv2 features is headed ``FD_DINOv2-L``."""
    features = _distinct(runs["features"]) if "features" in runs else []
    return metric_label(metric, LABELS.get(metric, metric), features[0] if len(features) == 1 else None)


def of_images(runs: pd.DataFrame) -> bool:
    """Whether the runs generate images (features from an image extractor) rather than points (``identity``):
    their sample grids need a larger thumbnail to be read."""
    features = _distinct(runs["features"]) if "features" in runs else []
    return bool(features) and features != ["identity"]


def label(board: Board, metric: str) -> str:
    """The metric's display name on this board."""
    return runs_label(board.runs, metric)


def sample_warnings(board: Board) -> list[str]:
    """One line per shown metric computed on fewer samples than its protocol uses (``metrics.MIN_SAMPLES``)."""
    out = []
    for m in board.shown:
        need = MIN_SAMPLES.get(m)
        counts = [n for c in ("n_real", "n_fake") if c in board.runs for n in _distinct(board.runs[c])]
        if need and counts and min(counts) < need:
            out.append(f"{label(board, m)} from {min(counts):g} samples; its protocol uses {need:,} real and "
                       f"{need:,} generated, and fewer give noisier, biased values")
    return out


def header_cells(board: Board) -> list[str]:
    n_modes = _distinct(board.runs["n_modes"]) if "n_modes" in board.runs else []
    of = {"modes": f" (of {n_modes[0]:g})"} if len(n_modes) == 1 else {}
    arrows = [f"{label(board, m)}{of.get(m, '')} {'↑' if DIRECTIONS[m] else '↓'}" for m in board.shown]
    perfect = ["perfect G modes · rev-KL"] if _has_perfect(board) else []
    return ["#", "loss"] + arrows + perfect + _share_columns(board) + ["seeds"] + (["W/T/L"] if board.tested else [])


def published_cells(board: Board) -> tuple[list[str], list[list[str]]]:
    metrics = [m for m in SHOWN if any(m in p.values for p in board.published)]
    head = ["method"] + [LABELS[m] for m in metrics] + ["like-for-like ganbench run", "source"]
    rows = []
    for p in board.published:
        vals = [fmt_published(*p.values[m]) if m in p.values else "—" for m in metrics]
        rows.append([p.method + " (published)"] + vals + [p.config or "none"]
                    + [f"{p.source.cite} ({p.source.error}; {p.source.selection})" + (f"; {p.note}" if p.note else "")])
    return head, rows


def verdict_line(board: Board) -> str:
    direction = "higher" if DIRECTIONS[board.metric] else "lower"
    v = board.comparison.verdict
    if v == "not tested":
        return (f"Each loss at its best trial of the search (the best mean {label(board, board.metric)} over its "
                f"seeds; {direction} is better); {INTERVAL_METHOD}. {board.comparison.explanation}")
    status = {"too few seeds": "not significant / too few seeds", "not significant": "not significant",
              "significant": "significant differences", "no data": "none"}[v]
    return (f"Ranked by {label(board, board.metric)} ({direction} is better); {INTERVAL_METHOD}. "
            f"Ranking: {status}. {board.comparison.explanation}")


def excluded_runs(board: Board) -> list[str]:
    bad = board.runs[~board.runs["status"].isin(SUMMARY_STATUSES)]
    return [f"{r.run_id}: {r.status}" + (f" ({r.reason})" if isinstance(r.reason, str) and r.reason else "")
            for r in bad.itertuples()]
