"""The equal-budget comparison of a search (``budget``) as the report shows it: ``SearchBoard`` (one per dataset ×
model), ``build_searches`` from a ``load_results`` table, and the plain-text cells and captions that the Markdown
and HTML renderers share (they escape them). Every number comes from ``budget``; nothing here recomputes it."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd

from .. import budget
from ..files import CorruptFileError
from ..stats import min_pvalue, signed_rank_min_pvalue
from .boards import in_search, runs_label
from .significance import LossComparison

# How the report names budget's tests: what each compares, in words a caption can use.
TEST_WORDS = {budget.PAIRED: "exact two-sided Wilcoxon signed-rank test of the matched trials (trial i of both "
                             "losses drew the same hyperparameters)",
              budget.UNPAIRED: "exact two-sided Mann–Whitney U test of the two sets of trial values (trials not "
                               "matched)"}
SHORT_TEST = {budget.PAIRED: "signed-rank, matched trials", budget.UNPAIRED: "Mann–Whitney U"}


@dataclass
class SearchBoard:
    """The equal-budget analysis of one dataset × model: every frame as ``budget`` computes it."""
    dataset: str
    model: str
    metric: str
    label: str                          # the metric's display name (FD_DINOv2-L on DINOv2 features)
    runs: pd.DataFrame                  # every run of the search on this board (all statuses)
    losses: list[str] = field(default_factory=list)   # best trial first
    trials: pd.DataFrame = field(default_factory=pd.DataFrame)        # budget.trial_table
    distribution: pd.DataFrame = field(default_factory=pd.DataFrame)  # budget.trial_distribution
    curve: pd.DataFrame = field(default_factory=pd.DataFrame)         # budget.budget_curve
    table: pd.DataFrame = field(default_factory=pd.DataFrame)         # budget.budget_table
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)         # budget.compare_losses
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)   # budget.hyperparameter_sensitivity
    best: pd.DataFrame = field(default_factory=pd.DataFrame)          # budget.best_trials
    fragment: str = ""                  # budget.suite_fragment: the best trials as [[runs]] tables
    comparison: Optional[LossComparison] = None
    alpha: float = 0.05
    problem: str = ""                   # why there is no analysis (no value of the metric, mixed searches)

    @property
    def title(self) -> str:
        return f"{self.dataset} · {self.model}"

    @property
    def heading(self) -> str:
        return f"{self.title} — equal budget: {budget_sizes(self)}"

    @property
    def anchor(self) -> str:
        from ..config import safe_name
        return safe_name(f"search-{self.dataset}-{self.model}")

    @property
    def higher_is_better(self) -> bool:
        return budget.higher_is_better(self.metric)


def build_searches(df: pd.DataFrame, metric: str = "fid", alpha: float = 0.05) -> list[SearchBoard]:
    """One ``SearchBoard`` per dataset × model holding trials of a search, sorted by name."""
    runs = df[in_search(df)].dropna(subset=budget.BOARD)
    out = []
    for (dataset, model), g in runs.groupby(budget.BOARD, sort=True):
        sb = SearchBoard(str(dataset), str(model), metric, runs_label(g, metric), g, alpha=alpha)
        try:
            _analyse(sb, g, metric, alpha)
        except (ValueError, CorruptFileError) as e:  # a search without the metric, or two searches mixed
            sb.problem = str(e)
        out.append(sb)
    return out


def best_trial_runs(searches: list[SearchBoard]) -> pd.DataFrame:
    """Every run (each seed, any status) of each loss's best trial, for ``boards.best_trial_boards``."""
    parts = []
    for sb in searches:
        if len(sb.best):
            key = sb.best[["loss", "trial"]].astype({"trial": "int64"})
            runs = sb.runs.astype({"trial": "int64"})
            parts.append(runs.merge(key, on=["loss", "trial"]))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _analyse(sb: SearchBoard, runs: pd.DataFrame, metric: str, alpha: float) -> None:
    sb.trials = budget.trial_table(runs, metric)
    sb.distribution = budget.trial_distribution(sb.trials, metric)
    sb.curve = budget.budget_curve(sb.trials, metric)
    sb.table = budget.budget_table(sb.curve)
    sb.pairs = budget.compare_losses(sb.trials, metric, alpha)
    sb.sensitivity = budget.hyperparameter_sensitivity(sb.trials, metric)
    sb.best = budget.best_trials(sb.trials, metric)
    sb.losses = _order(sb)
    sb.comparison = _comparison(sb, alpha)
    if len(sb.best):
        try:
            sb.fragment = budget.suite_fragment(runs, metric)
        except (ValueError, OSError) as e:  # a best trial's config.json changed or vanished since it was read
            sb.fragment = f"# no fragment: {' '.join(str(e).split())}\n"


def _order(sb: SearchBoard) -> list[str]:
    """Losses by their best trial (the best at the whole budget), then by their median trial; unmeasured last."""
    m = sb.metric
    sign = -1.0 if sb.higher_is_better else 1.0
    dist = sb.distribution.set_index("loss")
    key = {loss: (sign * r[f"{m}_best"], sign * r[f"{m}_median"]) if r["n_trials"] else (math.inf, math.inf)
           for loss, r in dist.iterrows()}
    return sorted(key, key=lambda loss: (np.nan_to_num(key[loss][0], nan=math.inf),
                                         np.nan_to_num(key[loss][1], nan=math.inf), str(loss)))


def _comparison(sb: SearchBoard, alpha: float) -> LossComparison:
    """``compare_losses``' verdicts as the win / tie / loss matrix the fixed-setting boards use."""
    losses = sb.losses
    outcome = {(a, b): ("" if a == b else "n/a") for a in losses for b in losses}
    p_adj: dict[tuple[str, str], float] = {}
    bounds = []
    for r in sb.pairs.itertuples(index=False):
        p_adj[(r.a, r.b)] = p_adj[(r.b, r.a)] = float(r.p_holm)
        if r.better:
            loser = r.b if r.better == r.a else r.a
            outcome[(r.better, loser)], outcome[(loser, r.better)] = "win", "loss"
        else:
            outcome[(r.a, r.b)] = outcome[(r.b, r.a)] = "tie"
        bounds.append(signed_rank_min_pvalue(int(r.n_a)) if r.test == budget.PAIRED else min_pvalue(int(r.n_a),
                                                                                                    int(r.n_b)))
    m = len(sb.pairs)
    if len(losses) < 2 or not m:
        return LossComparison(losses, outcome, p_adj, "no data", "Fewer than two losses with measured trials: "
                              "nothing to compare.")
    name = " and ".join(TEST_WORDS[t] for t in _tests(sb))
    n_sig = int((sb.pairs["better"] != "").sum())
    if not n_sig and m * min(bounds) >= alpha:  # Holm multiplies the smallest p by m: out of reach
        n = int(sb.pairs["n_a"].min())
        return LossComparison(losses, {k: ("" if k[0] == k[1] else "n/a") for k in outcome}, p_adj, "too few seeds",
                              f"Too few trials to tell losses apart: the {name} cannot reach α = {alpha:g} across "
                              f"{m} Holm-corrected pairs with {n} trials per loss.")
    return LossComparison(losses, outcome, p_adj, "significant" if n_sig else "not significant",
                          f"The {name}, Holm-corrected over {m} pairs, α = {alpha:g}: {n_sig} of {m} pairs differ.")


# ---------------------------------------------------------------- cells and captions (plain text)

def fmt_value(v: Any) -> str:
    """A trial value to 3 significant digits (trial values of a search span decades); ∞ for an undefined one."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    v = float(v)
    return "∞" if v == math.inf else "-∞" if v == -math.inf else f"{v:.3g}"


def fmt_band(median: float, lo: float, hi: float) -> str:
    """'median (lo to hi)'; the median alone where the band has no width."""
    if lo == hi or any(isinstance(x, float) and math.isnan(x) for x in (lo, hi)):
        return fmt_value(median)
    return f"{fmt_value(median)} ({fmt_value(lo)} to {fmt_value(hi)})"


def budget_sizes(sb: SearchBoard) -> str:
    """'8 trials × 2 seeds per loss' (ranges where losses differ)."""
    def span(values: list[int]) -> str:
        return f"{min(values)}" if min(values) == max(values) else f"{min(values)} to {max(values)}"
    if not len(sb.trials):
        return f"{sb.runs['trial'].nunique()} trials per loss"
    per_loss = sb.trials.groupby("loss")["trial"].nunique().tolist()
    seeds = sb.runs.groupby(["loss", "trial"]).size().tolist()
    return f"{span(per_loss)} trials × {span(seeds)} seed{'s' if max(seeds) > 1 else ''} per loss"


def table_budgets(sb: SearchBoard) -> list[int]:
    """The budgets k of the table's columns: 1, 5, 10 where some loss has that many trials (N is its own)."""
    n_max = int(sb.distribution["n_trials"].max()) if len(sb.distribution) else 0
    return [k for k in budget.TABLE_BUDGETS if k < n_max]


def budget_header_cells(sb: SearchBoard) -> list[str]:
    ks = table_budgets(sb)
    return (["#", "loss", "trials", f"{sb.label} over trials: median (quartiles)"]
            + [f"best of {k}" for k in ks] + ["best trial (of N)", "W/T/L"])


def budget_row_cells(sb: SearchBoard, loss: str, rank: int) -> list[str]:
    m = sb.metric
    d = sb.distribution.set_index("loss").loc[loss]
    n = int(d["n_trials"])
    notes = [f"{int(d['n_undefined'])} with an undefined seed"] if d["n_undefined"] else []
    notes += [f"{int(d['n_unmeasured'])} unmeasured"] if d["n_unmeasured"] else []
    trials = f"{n}" + (f" ({', '.join(notes)})" if notes else "")
    if not n:
        return [str(rank), loss, trials, "—"] + ["—"] * len(table_budgets(sb)) + ["—", "n/a"]
    q1, q3 = sorted([d[f"{m}_q1"], d[f"{m}_q3"]])  # budget's quartiles run in order of merit
    spread = f"{fmt_value(d[f'{m}_median'])} ({fmt_value(q1)} to {fmt_value(q3)})"
    at = sb.table[sb.table["loss"] == loss].set_index("budget")
    cells = [fmt_band(*at.loc[k, [f"{m}_median", f"{m}_lo", f"{m}_hi"]]) if k in at.index and k <= n else "—"
             for k in table_budgets(sb)]
    best = sb.best.set_index("loss").loc[loss]
    rec = sb.comparison.record(loss) if sb.comparison else None
    return ([str(rank), loss, trials, spread] + cells
            + [f"{fmt_value(best[m])} (trial {int(best['trial'])} of {n})", "n/a" if rec is None else
               "/".join(map(str, rec))])


def budget_verdict(sb: SearchBoard) -> str:
    direction = "higher" if sb.higher_is_better else "lower"
    return (f"Equal budget on {sb.label} ({direction} is better), {budget_sizes(sb)}. "
            f"{sb.comparison.explanation if sb.comparison else ''}").strip()


def budget_caption(sb: SearchBoard) -> str:
    """What a trial's value, the band, the order and the test are."""
    ks = ", ".join(map(str, table_budgets(sb) + ["N"]))
    tests = ", ".join(SHORT_TEST[t] for t in _tests(sb)) or "no test"
    return (f"A trial's value is the mean of {sb.label} over its seeds; a seed whose value is undefined (a diverged "
            f"generator) counts as the worst outcome, so one such seed makes the trial's value the worst. "
            f"Quartiles are over the trials. Best of k (k = {ks}): the best trial value among k trials drawn "
            f"without replacement from the loss's N trials, median ({budget.CONFIDENCE:.0%} band), computed "
            f"exactly over all C(N, k) draws; the band is the luck of the draw among these N trials, not a "
            f"confidence interval for the space's best. Rows are ordered by the best trial. W/T/L: pairwise wins, "
            f"ties and losses over the whole space ({tests}; Holm-corrected), not at the best points.")


def _tests(sb: SearchBoard) -> list[str]:
    """The tests ``compare_losses`` used on this board (paired where trials are matched)."""
    return [t for t in TEST_WORDS if len(sb.pairs) and (sb.pairs["test"] == t).any()]


def tied_keys(trials: pd.DataFrame) -> dict[str, list[str]]:
    """Searched keys whose values are the same in every trial (``same_as`` ties: lr_g = lr_d) merged: the
    first of each group -> the group."""
    keys = budget.searched_keys(trials)
    groups: dict[str, list[str]] = {}
    for k in keys:
        same = [g for g in groups if trials[g].isna().equals(trials[k].isna())
                and (trials[g].dropna() == trials[k].dropna()).all()]
        if same:
            groups[same[0]].append(k)
        else:
            groups[k] = [k]
    return groups


def space_note(sb: SearchBoard) -> str:
    """What the search space assumed, from the values its trials drew, and the keys only some losses search."""
    if not len(sb.trials):
        return ""
    parts = []
    log = {k for v in sb.trials["search_log_scale"].dropna() for k in str(v).split(";") if k}
    by_loss = {loss: set(budget.searched_keys(g)) for loss, g in sb.trials.groupby("loss")}
    shared = set.intersection(*by_loss.values()) if by_loss else set()
    for lead, group in tied_keys(sb.trials).items():
        values = sb.trials[lead].dropna()
        name = " = ".join(group)
        distinct = sorted(values.unique(), key=str)
        if len(distinct) <= 6 and len(distinct) < len(values):
            parts.append(f"{name} ∈ {{{', '.join(budget.value_label(v) for v in distinct)}}}")
        else:
            parts.append(f"{name} {fmt_value(values.min())} to {fmt_value(values.max())}"
                         + (" (log scale)" if lead in log else ""))
    extra = {loss: sorted(keys - shared) for loss, keys in by_loss.items() if keys - shared}
    text = f"The space, as its trials drew it: {'; '.join(parts)}."
    if extra:
        own = "; ".join(f"{loss} ({', '.join(k)})" for loss, k in extra.items())
        text += f" Searched by some losses only: {own} — more knobs at the same budget."
    steps = sorted({int(s) for s in sb.runs["steps"].dropna()}) if "steps" in sb.runs else []
    if steps:
        text += f" Each trial trained {steps[0] if len(steps) == 1 else f'{steps[0]} to {steps[-1]}'} steps."
    return (text + " The space is an assumption: a loss can win on a space designed for it (a range of learning "
            "rates where one loss is stable and another is not decides the comparison before it starts).")


def pair_cells(sb: SearchBoard) -> tuple[list[str], list[list[str]]]:
    """Every tested pair: the medians of the compared trial values, how often a beats b, p and Holm p."""
    head = ["a", "b", "test", "trials", f"median {sb.label} a", f"median {sb.label} b", "a better on",
            "p", "Holm p", "verdict"]
    rows = []
    for r in sb.pairs.itertuples(index=False):
        rows.append([r.a, r.b, SHORT_TEST.get(r.test, r.test), f"{r.n_a}" if r.n_a == r.n_b else f"{r.n_a} vs {r.n_b}",
                     fmt_value(getattr(r, f"{sb.metric}_median_a")), fmt_value(getattr(r, f"{sb.metric}_median_b")),
                     f"{r.p_a_better:.0%}", f"{r.p:.2g}", f"{r.p_holm:.2g}",
                     f"{r.better} better" if r.better else "no difference"])
    return head, rows


def best_cells(sb: SearchBoard) -> tuple[list[str], list[list[str]]]:
    """The best trial of each loss and its searched values (tied keys once)."""
    groups = tied_keys(sb.trials) if len(sb.trials) else {}
    head = ["loss", "trial", sb.label, "seeds"] + [" = ".join(g) for g in groups.values()]
    best = sb.best.set_index("loss") if len(sb.best) else pd.DataFrame()
    rows = []
    for loss in sb.losses:
        if loss not in best.index:
            continue
        b = best.loc[loss]
        rows.append([loss, str(int(b["trial"])), fmt_value(b[sb.metric]), str(int(b["n_seeds"]))]
                    + ["—" if pd.isna(b.get(k)) else budget.value_label(b[k]) for k in groups])
    return head, rows


__all__ = ["SearchBoard", "build_searches", "best_trial_runs", "TEST_WORDS", "fmt_value", "fmt_band", "budget_sizes",
           "budget_header_cells", "budget_row_cells", "budget_verdict", "budget_caption", "space_note", "tied_keys",
           "pair_cells", "best_cells", "table_budgets"]
