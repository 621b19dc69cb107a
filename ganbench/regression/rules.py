"""Which metrics the gate tests, and with what margin: the ``--fail`` grammar, each metric's direction, defaults.

A rule names a metric and, optionally, a *margin*: how much worse the new code may be before the
gate looks for evidence. ``fid`` (margin 0) tests whether FID got worse at all; ``fid:10%``
whether it got worse by more than 10 % of the baseline median; ``fid:+0.5`` by more than 0.5;
``fid:1sigma`` by more than one baseline seed standard deviation. The test itself lives in
``comparison``: a rule only says what to test.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from ..catalogue import directions
from ..registry import ConfigError, did_you_mean

# metric -> higher_is_better of every metric in the catalogue.
HIGHER_IS_BETTER: dict[str, bool] = directions()
# FID sees quality and coverage; on mixtures modes and HQ see what FID of 2-D points cannot (docs/regression-gate.md).
DEFAULT_RULES = ("fid", "modes", "hq_fraction")
FORMS = ("METRIC (any worsening), METRIC:10% (worse by more than 10% of the baseline median), "
         "METRIC:+2.0 (worse by more than 2.0), METRIC:1sigma (worse by more than the baseline's seed std)")

_RULE = re.compile(r"(?P<metric>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<sign>[+-]?)"
                   r"(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?P<unit>%|sigma)?)?")


@dataclass(frozen=True)
class Rule:
    metric: str
    kind: str       # none | relative | absolute | sigma
    amount: float   # percent, metric units, or multiples of the std (0 for none)
    text: str

    @property
    def short(self) -> str:
        if self.kind == "none":
            return "0"
        unit = {"relative": "%", "absolute": "", "sigma": "sigma"}[self.kind]
        return f"{'+' if self.kind == 'absolute' else ''}{self.amount:g}{unit}"

    def margin(self, median: float, std: Optional[float]) -> float:
        """How much worse than the baseline this rule lets a metric get before testing for it, in its units."""
        if self.kind == "relative":
            return self.amount / 100.0 * abs(median)
        if self.kind == "absolute":
            return self.amount
        if self.kind == "sigma":
            return self.amount * (std or 0.0)
        return 0.0


def parse_rule(text: str) -> Rule:
    text = text.strip()
    if not text:
        raise ConfigError(f"empty rule in --fail; accepted forms: {FORMS}")
    m = _RULE.fullmatch(text)
    if m is None:
        raise ConfigError(f"bad rule {text!r}; accepted forms: {FORMS}")
    metric = m["metric"]
    if metric not in HIGHER_IS_BETTER:
        known = sorted(HIGHER_IS_BETTER)
        raise ConfigError(f"bad rule {text!r}: unknown metric {metric!r}{did_you_mean(metric, known)}; "
                          f"metrics with a direction: {', '.join(known)}")
    if m["num"] is None:
        return Rule(metric, "none", 0.0, text)
    amount = float(m["num"])
    if m["sign"] == "-":
        raise ConfigError(f"bad rule {text!r}: a margin cannot be negative (the metric's direction decides "
                          f"what is worse); accepted forms: {FORMS}")
    if not math.isfinite(amount):
        raise ConfigError(f"bad rule {text!r}: the margin must be a finite number; accepted forms: {FORMS}")
    kind = {"%": "relative", "sigma": "sigma", None: "absolute"}[m["unit"]]
    return Rule(metric, kind, amount, text)


def parse_rules(texts: Iterable[str]) -> tuple[Rule, ...]:
    """Rules from ``--fail`` values; each value may hold several, comma-separated; one rule per metric."""
    rules = tuple(parse_rule(part) for text in texts for part in text.split(","))
    seen: dict[str, str] = {}
    for r in rules:
        if r.metric in seen:
            raise ConfigError(f"--fail: two rules for {r.metric!r} ({seen[r.metric]!r}, {r.text!r}); "
                              f"give one rule per metric")
        seen[r.metric] = r.text
    return rules


def resolve_rules(rules: Optional[tuple[Rule, ...]], baseline: dict[str, Any]) -> tuple[Rule, ...]:
    """The rules to apply: ``rules`` as given, or the defaults when ``None``.

    A given rule on a metric the baseline never measured would silently check nothing: refused.
    Default rules apply where their metric exists.
    """
    measured = {n for c in baseline["configs"].values() for n in c["metrics"]}
    if rules is None:
        return tuple(r for r in parse_rules(DEFAULT_RULES) if r.metric in measured)
    for r in rules:
        if r.metric not in measured:
            raise ConfigError(f"rule {r.text!r}: the baseline has no metric {r.metric!r}; "
                              f"it has: {', '.join(sorted(measured))}")
    return rules
