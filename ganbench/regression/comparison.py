"""Checking results against a baseline: pairing configurations, refusing provenance mismatches, verdicts, exit code."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ..registry import ConfigError
from .measured import COMPARABLE, ENVIRONMENT, Measured, _mean, _name_of
from .rules import Rule, resolve_rules

NOISE_ABS, NOISE_REL = 1e-12, 1e-9  # float noise: the least tolerance any rule gets


class ProvenanceMismatch(ConfigError):
    """Baseline and results were measured differently (extractor, weights, sample counts)."""


@dataclass(frozen=True)
class Row:
    config: str
    metric: str
    baseline: float
    baseline_std: Optional[float]
    n: int
    now: Optional[float]
    allowed: Optional[float]   # tolerance in metric units; None when not gated
    rule: str
    verdict: str

    @property
    def delta(self) -> Optional[float]:
        return None if self.now is None else self.now - self.baseline


@dataclass
class Comparison:
    rows: list[Row]
    notes: list[str]

    def count(self, verdict: str) -> int:
        return sum(r.verdict == verdict for r in self.rows)

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
        same_b = [x for x in left_b if _name_of(x) == _name_of(k)]
        same_m = [x for x in left_m if _name_of(x) == _name_of(k)]
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


def compare(baseline: dict[str, Any], measured: dict[str, Measured], rules: Optional[tuple[Rule, ...]] = None,
            allow_provenance_mismatch: bool = False) -> Comparison:
    """Every baseline configuration and metric against the mean over the same seeds in ``measured``."""
    rules = resolve_rules(rules, baseline)
    pairs, notes = match_configs(baseline, measured)
    env_notes: set[str] = set()
    rows: list[Row] = []
    for key, b in sorted(baseline["configs"].items()):
        m = measured.get(pairs.get(key, ""))
        seeds = [int(s) for s in b["seeds"]]
        absent = []
        if m is None:
            notes.append(f"{key}: missing from the results")
        else:
            if m.seeds:
                _check_provenance(key, b["provenance"], m.provenance, allow_provenance_mismatch, notes)
                env_notes.update(f"{f} {b['provenance'][f]} (baseline) vs {m.provenance[f]} (now)" for f in ENVIRONMENT
                                 if None not in (b["provenance"].get(f), m.provenance.get(f))
                                 and b["provenance"][f] != m.provenance[f])
            absent = [s for s in seeds if s not in m.seeds]
            for s in absent:
                notes.append(f"{key}: seed {s} {m.problems.get(s, 'was not run')}")
        order = [r.metric for r in rules]
        names = sorted(b["metrics"], key=lambda n: (order.index(n) if n in order else len(order), n))
        for name in names:
            s = b["metrics"][name]
            mine = [r for r in rules if r.metric == name]
            now = None
            if m is not None and not absent:
                values = [m.seeds[seed].get(name) for seed in seeds]
                now = None if any(v is None for v in values) else _mean(values)  # type: ignore[arg-type]
            higher = baseline["directions"][name] == "higher"
            rows.append(_row(key, name, s, now, mine, higher, m is None or bool(absent)))
            if mine and s.get("std") is None and any(r.kind == "sigma" for r in mine):
                notes.append(f"{key}: {name} baseline has one seed, so its sigma rule allows no change")
    notes.extend(f"environment differs: {e}" for e in sorted(env_notes))
    return Comparison(rows, notes)


def _row(key: str, name: str, s: dict[str, Any], now: Optional[float], rules: list[Rule], higher: bool,
         run_missing: bool) -> Row:
    base, std, n = float(s["mean"]), s.get("std"), int(s["n"])
    if not rules:
        return Row(key, name, base, std, n, now, None, "-", "missing" if run_missing else "not gated")
    rule = rules[0].short if len(rules) == 1 else f"max({', '.join(r.short for r in rules)})"
    allowed = max(max(r.tolerance(base, std) for r in rules), NOISE_ABS + NOISE_REL * abs(base))
    if run_missing or now is None:
        return Row(key, name, base, std, n, now, allowed, rule, "missing")
    worse_by = (base - now) if higher else (now - base)
    verdict = "REGRESSION" if worse_by > allowed else "improved" if -worse_by > allowed else "ok"
    return Row(key, name, base, std, n, now, allowed, rule, verdict)
