"""The rule grammar of ``--fail``: ``fid:10%``, ``fid:+2.0``, ``fid:3sigma``, each metric's direction, the defaults."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from ..metrics import METRICS as FEATURE_METRICS
from ..registry import ConfigError, did_you_mean

# metric -> higher_is_better; metrics.METRICS covers the feature metrics, the mode diagnostics are added here.
HIGHER_IS_BETTER: dict[str, bool] = {**FEATURE_METRICS, "modes": True, "hq_fraction": True,
                                     "reverse_kl": False, "kl": False, "ndb": False, "ndb_over_k": False}
DEFAULT_RULES = ("fid:3sigma", "fid:10%", "modes:3sigma", "modes:10%", "hq_fraction:3sigma", "hq_fraction:10%")
FORMS = ("METRIC:10% (relative to the baseline mean), METRIC:+2.0 (absolute), "
         "METRIC:3sigma (multiples of the baseline's seed std)")

_RULE = re.compile(r"(?P<metric>[A-Za-z_][A-Za-z0-9_]*):(?P<sign>[+-]?)"
                   r"(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?P<unit>%|sigma)?")


@dataclass(frozen=True)
class Rule:
    metric: str
    kind: str       # relative | absolute | sigma
    amount: float   # percent, metric units, or multiples of the std
    text: str

    @property
    def short(self) -> str:
        unit = {"relative": "%", "absolute": "", "sigma": "sigma"}[self.kind]
        return f"{'+' if self.kind == 'absolute' else ''}{self.amount:g}{unit}"

    def tolerance(self, mean: float, std: Optional[float]) -> float:
        """How much worse than ``mean`` this rule allows; no std (one seed) allows nothing."""
        if self.kind == "relative":
            return self.amount / 100.0 * abs(mean)
        if self.kind == "absolute":
            return self.amount
        return self.amount * (std or 0.0)


def parse_rule(text: str) -> Rule:
    text = text.strip()
    if not text:
        raise ConfigError(f"empty rule in --fail; accepted forms: {FORMS}")
    m = _RULE.fullmatch(text)
    if m is None:
        raise ConfigError(f"bad rule {text!r}; accepted forms: {FORMS}")
    metric, amount = m["metric"], float(m["num"])
    if metric not in HIGHER_IS_BETTER:
        known = sorted(HIGHER_IS_BETTER)
        raise ConfigError(f"bad rule {text!r}: unknown metric {metric!r}{did_you_mean(metric, known)}; "
                          f"metrics with a direction: {', '.join(known)}")
    if m["sign"] == "-":
        raise ConfigError(f"bad rule {text!r}: a tolerance cannot be negative (the metric's direction decides "
                          f"what is worse); accepted forms: {FORMS}")
    if not math.isfinite(amount):
        raise ConfigError(f"bad rule {text!r}: the tolerance must be a finite number; accepted forms: {FORMS}")
    kind = {"%": "relative", "sigma": "sigma", None: "absolute"}[m["unit"]]
    return Rule(metric, kind, amount, text)


def parse_rules(texts: Iterable[str]) -> tuple[Rule, ...]:
    """Rules from ``--fail`` values; each value may hold several, comma-separated."""
    return tuple(parse_rule(part) for text in texts for part in text.split(","))


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
