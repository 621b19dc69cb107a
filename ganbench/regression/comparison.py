"""Checking results against a baseline: pairing configurations, refusing provenance mismatches, the test, verdicts.

The rule (docs/regression-gate.md): for each configuration and gated metric, a one-sided exact
Mann–Whitney U test of the new seeds' values against the baseline's, after moving the new values
by the rule's margin in the better direction; Holm's step-down correction over every gated
(configuration, metric) pair keeps the chance of any false alarm at most ``alpha`` when nothing
changed. Trained numbers are never expected to repeat: another CPU, BLAS or thread count is
another draw from the same distribution of outcomes, and the test is built for exactly that.
A diverged seed, or a metric a seed could not define, counts as that side's worst outcome.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..registry import ConfigError
from ..stats import holm, mannwhitney_pvalue, min_pvalue, worst_first
from .measured import COMPARABLE, ENVIRONMENT, Measured, name_of_key
from .rules import Rule, resolve_rules

DEFAULT_ALPHA = 0.01   # family-wise false-alarm rate of one check, over all its gated tests
RECOMMENDED_SEEDS = 8  # per side: 8 vs 8 reaches p = 1/12870, enough for α = 0.01 over dozens of tests
TEST_NAME = "one-sided Mann–Whitney U (exact), Holm-corrected"


class ProvenanceMismatch(ConfigError):
    """Baseline and results were measured differently (extractor, weights, sample counts)."""


@dataclass(frozen=True)
class Row:
    config: str
    metric: str
    baseline: tuple[float, ...]   # per-seed values, undefined ones as the worst value (±inf)
    now: tuple[float, ...]        # () when the configuration is missing from the results
    margin: Optional[float]       # in metric units; None when not gated
    rule: str
    p: Optional[float]            # Holm-adjusted one-sided p that the new code is worse; None when not tested
    verdict: str                  # ok | REGRESSION | improved | missing | not gated

    @staticmethod
    def _median(v: tuple[float, ...]) -> Optional[float]:
        return float(np.median(v)) if v else None

    @property
    def baseline_median(self) -> Optional[float]:
        return self._median(self.baseline)

    @property
    def now_median(self) -> Optional[float]:
        return self._median(self.now)

    @property
    def delta(self) -> Optional[float]:
        b, n = self.baseline_median, self.now_median
        return None if b is None or n is None else n - b


@dataclass
class GateResult:
    """The outcome of ``ganbench check``: one ``Row`` per baseline configuration and metric, notes, exit code."""
    rows: list[Row]
    notes: list[str]
    alpha: float = DEFAULT_ALPHA

    def count(self, verdict: str) -> int:
        return sum(r.verdict == verdict for r in self.rows)

    @property
    def n_tests(self) -> int:
        return sum(r.p is not None for r in self.rows)

    @property
    def exit_code(self) -> int:
        return 1 if self.count("REGRESSION") or self.count("missing") else 0


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def config_diff(a: dict[str, Any], b: dict[str, Any], limit: int = 4) -> str:
    fa, fb = _flat(a), _flat(b)
    diffs = [f"{k} {fa.get(k)!r} -> {fb.get(k)!r}" for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]
    return "; ".join(diffs[:limit]) + (f"; +{len(diffs) - limit} more" if len(diffs) > limit else "")


def match_configs(baseline: dict[str, Any], measured: dict[str, Measured]) -> tuple[dict[str, str], list[str]]:
    """baseline key -> results key. Exact keys first; then by dataset/model/label where that pairs one with one
    (a configuration changed on purpose, e.g. ``--set``: compared, with the difference in the notes)."""
    pairs = {k: k for k in baseline["configs"] if k in measured}
    notes = []
    left_b = [k for k in baseline["configs"] if k not in pairs]
    left_m = [k for k in measured if k not in pairs.values()]
    for k in left_b:
        same_b = [x for x in left_b if name_of_key(x) == name_of_key(k)]
        same_m = [x for x in left_m if name_of_key(x) == name_of_key(k)]
        if len(same_b) == 1 and len(same_m) == 1:
            pairs[k] = same_m[0]
            diff = config_diff(baseline["configs"][k]["config"], measured[same_m[0]].config)
            notes.append(f"{k} compared with {same_m[0]}: configuration differs ({diff})")
    for k in left_m:
        if k not in pairs.values():
            notes.append(f"{k}: not in the baseline, not compared")
    return pairs, notes


def _check_provenance(key: str, base: dict[str, Any], now: dict[str, Any], allow: bool, notes: list[str]) -> None:
    bad = [f"{f} {base.get(f)!r} (baseline) vs {now.get(f)!r} (now)" for f in COMPARABLE if base.get(f) != now.get(f)]
    if bad and not allow:
        more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
        raise ProvenanceMismatch(f"provenance mismatch for {key}: {bad[0]}{more}; the numbers are not comparable: "
                                 f"refresh the baseline, or pass --allow-provenance-mismatch")
    notes.extend(f"{key}: provenance mismatch allowed: {b}" for b in bad)


def _now_values(m: Measured, name: str, higher: bool) -> tuple[float, ...]:
    """Every finished or diverged seed's value of ``name``; a diverged seed or an undefined value is the worst."""
    seeds = sorted(set(m.seeds) | m.diverged)
    return tuple(worst_first([None if s in m.diverged else m.seeds[s].get(name) for s in seeds], higher))


def _p_worse(base: tuple[float, ...], now: tuple[float, ...], margin: float, higher: bool) -> tuple[float, float]:
    """One-sided p-values (worse, better) of ``now`` against ``base``, the worse one after forgiving ``margin``."""
    b, n = np.asarray(base), np.asarray(now)
    worse = mannwhitney_pvalue(n + margin if higher else n - margin, b, "less" if higher else "greater")
    better = mannwhitney_pvalue(n - margin if higher else n + margin, b, "greater" if higher else "less")
    return worse, better


def check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:  # also refuses nan
        raise ConfigError(f"--alpha {alpha!r}: expected a false-alarm rate between 0 and 1, e.g. 0.01")


def check_seed_counts(baseline: dict[str, Any], rules: tuple[Rule, ...], n_now: int, alpha: float) -> None:
    """Before training: could a check of ``n_now`` new seeds a configuration against ``baseline`` fail at all?"""
    n_base = min(len(c["seeds"]) for c in baseline["configs"].values())
    n_tests = sum(r.metric in c["metrics"] for c in baseline["configs"].values() for r in rules)
    check_reachable(n_base, n_now, n_tests, alpha)


def check_reachable(n_base: int, n_now: int, n_tests: int, alpha: float) -> None:
    """Refuse a check that could never fail: Holm's first step needs the smallest p below alpha / n_tests."""
    smallest = min_pvalue(n_base, n_now, "greater")  # complete separation of the two sides
    if n_tests * smallest >= alpha:
        raise ConfigError(f"{n_base} baseline seeds against {n_now} new seeds: the smallest possible p-value "
                          f"{smallest:.3g} is not below α/{n_tests} = {alpha / n_tests:.3g}, so this check could "
                          f"never fail; use ≥ {RECOMMENDED_SEEDS} seeds on each side (docs/regression-gate.md)")


def compare_to_baseline(baseline: dict[str, Any], measured: dict[str, Measured],
                        rules: Optional[tuple[Rule, ...]] = None, allow_provenance_mismatch: bool = False,
                        alpha: float = DEFAULT_ALPHA) -> GateResult:
    """Every baseline configuration and metric against the seeds of the same configuration in ``measured``."""
    check_alpha(alpha)
    rules = resolve_rules(rules, baseline)
    by_metric = {r.metric: r for r in rules}
    pairs, notes = match_configs(baseline, measured)
    env_notes: set[str] = set()
    pending: list[dict[str, Any]] = []
    for key, b in sorted(baseline["configs"].items()):
        m = measured.get(pairs.get(key, ""))
        missing = m is None or bool(m.problems)  # a failed seed is a code failure, not an outcome to rank
        if m is None:
            notes.append(f"{key}: missing from the results")
        else:
            if m.seeds:
                _check_provenance(key, b["provenance"], m.provenance, allow_provenance_mismatch, notes)
                env_notes.update(f"{f} {b['provenance'][f]} (baseline) vs {m.provenance[f]} (now)" for f in ENVIRONMENT
                                 if None not in (b["provenance"].get(f), m.provenance.get(f))
                                 and b["provenance"][f] != m.provenance[f])
            notes.extend(f"{key}: seed {s} {m.problems[s]}" for s in sorted(m.problems))
            notes.extend(f"{key}: seed {s} diverged: counted as the worst outcome of every metric"
                         for s in sorted(m.diverged))
        order = [r.metric for r in rules]
        for name in sorted(b["metrics"], key=lambda n: (order.index(n) if n in order else len(order), n)):
            higher = baseline["directions"][name] == "higher"
            s = b["metrics"][name]
            base = tuple(worst_first(s["values"], higher))
            now = () if missing else _now_values(m, name, higher)
            rule = by_metric.get(name)
            margin = None if rule is None else rule.margin(float(np.median(base)), s.get("std"))
            pending.append({"config": key, "metric": name, "baseline": base, "now": now, "rule": rule,
                            "margin": margin, "higher": higher, "missing": missing})
    rows = _verdicts(pending, alpha)
    tested = [r for r in rows if r.p is not None]
    if tested:
        n_base, n_now = max(((len(r.baseline), len(r.now)) for r in tested),
                            key=lambda n: min_pvalue(n[0], n[1], "greater"))
        check_reachable(n_base, n_now, len(tested), alpha)
    notes.extend(f"environment differs: {e}" for e in sorted(env_notes))
    if tested:
        notes.append(f"test: {TEST_NAME} over {len(tested)} tests, family-wise α = {alpha:g}")
    return GateResult(rows, notes, alpha)


def _verdicts(pending: list[dict[str, Any]], alpha: float) -> list[Row]:
    """Rows with Holm-adjusted p-values over every gated, measured (configuration, metric)."""
    testable = [i for i, p in enumerate(pending) if p["rule"] is not None and not p["missing"]]
    worse, better = [], []
    for i in testable:
        p = pending[i]
        w, b = _p_worse(p["baseline"], p["now"], p["margin"], p["higher"])
        worse.append(w)
        better.append(b)
    adj_worse = dict(zip(testable, holm(worse))) if testable else {}
    adj_better = dict(zip(testable, holm(better))) if testable else {}
    rows = []
    for i, p in enumerate(pending):
        rule = p["rule"]
        text = "-" if rule is None else rule.short
        if p["missing"]:
            verdict = "missing" if rule is not None else "not gated"
            rows.append(Row(p["config"], p["metric"], p["baseline"], p["now"], p["margin"], text, None, verdict))
            continue
        if rule is None:
            rows.append(Row(p["config"], p["metric"], p["baseline"], p["now"], None, text, None, "not gated"))
            continue
        pw = float(adj_worse[i])
        verdict = "REGRESSION" if pw < alpha else "improved" if adj_better[i] < alpha else "ok"
        rows.append(Row(p["config"], p["metric"], p["baseline"], p["now"], p["margin"], text, pw, verdict))
    return rows
