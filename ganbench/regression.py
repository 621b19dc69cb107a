"""Baselines and the regression gate: record a suite's metrics, then fail CI when new code does worse.

A *baseline* holds, per configuration, each metric's mean, std (over seeds, ddof=1), n and the
per-seed values, with the provenance that makes numbers comparable. A configuration is keyed
``dataset/model/label@hash``: label is the run's ``name`` or its loss, hash is
``RunConfig.config_hash()`` (everything but seed and suite name), so the key is stable for as
long as the configuration is.

Rules reuse pytest-benchmark's ``--benchmark-compare-fail`` grammar, one metric each:
``fid:10%`` (relative to the baseline mean), ``fid:+2.0`` (absolute; the ``+`` is optional and
means "worse by", the metric's direction says which way is worse) and ``fid:3sigma`` (multiples
of the baseline's seed std). Several rules on one metric combine into one tolerance, the
largest: ``fid:3sigma,fid:10%`` allows max(3σ, 10% of the mean). A sigma estimated from a few
seeds can be tiny by chance (or 0 for agreeing seeds), and a relative tolerance vanishes near 0;
each is only useful with the other as a floor. Every tolerance is at least float noise, so a
deterministic baseline (σ = 0) fails on any real worsening and passes identical numbers.
The mean over the baseline's seeds is compared with the baseline mean.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from .io import atomic_write_json, atomic_write_text, read_json
from .metrics import METRICS as FEATURE_METRICS
from .registry import ConfigError, did_you_mean
from .results import find_run_dirs, read_run

BASELINE_FORMAT, BASELINE_VERSION = "ganbench-baseline", 1

# metric -> higher_is_better; metrics.METRICS covers the feature metrics, the mode diagnostics are added here.
HIGHER_IS_BETTER: dict[str, bool] = {**FEATURE_METRICS, "modes": True, "hq_fraction": True,
                                     "reverse_kl": False, "kl": False, "ndb": False, "ndb_over_k": False}
DEFAULT_RULES = ("fid:3sigma", "fid:10%", "modes:3sigma", "modes:10%", "hq_fraction:3sigma", "hq_fraction:10%")
COMPARABLE = ("extractor", "weights_sha256", "n_real", "n_fake", "split")  # differ: numbers not comparable
ENVIRONMENT = ("ganbench", "torch", "device", "torch_threads")            # differ: worth a note, not a refusal
NOISE_ABS, NOISE_REL = 1e-12, 1e-9  # float noise: the least tolerance any rule gets
FORMS = ("METRIC:10% (relative to the baseline mean), METRIC:+2.0 (absolute), "
         "METRIC:3sigma (multiples of the baseline's seed std)")

_RULE = re.compile(r"(?P<metric>[A-Za-z_][A-Za-z0-9_]*):(?P<sign>[+-]?)"
                   r"(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?P<unit>%|sigma)?")


class ProvenanceMismatch(ConfigError):
    """Baseline and results were measured differently (extractor, weights, sample counts)."""


# ---------------------------------------------------------------- rules

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


# ---------------------------------------------------------------- reading results

def config_hash(config: dict[str, Any]) -> str:
    """``RunConfig.config_hash()`` computed from a stored config.json (no registry lookups needed)."""
    d = {k: v for k, v in config.items() if k not in ("seed", "suite")}
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:8]


def config_key(config: dict[str, Any]) -> str:
    label = config.get("name") or config["loss"]["name"]
    return f"{config['data']['name']}/{config['model']['name']}/{label}@{config_hash(config)}"


def _name_of(key: str) -> str:
    return key.rsplit("@", 1)[0]


def _number(v: Any) -> Optional[float]:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None  # JSON null is how a non-finite metric was written
    return float(v)


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values)  # exactly rounded: baseline and check agree to the bit


def _std(values: list[float]) -> Optional[float]:
    if len(values) < 2:
        return None
    mu = _mean(values)
    return math.sqrt(math.fsum((v - mu) ** 2 for v in values) / (len(values) - 1))


def _provenance(p: dict[str, Any]) -> dict[str, Any]:
    versions = p.get("versions") or {}
    extractor = p.get("features") or (p.get("extractor") or {}).get("name")
    return {"extractor": extractor, "weights_sha256": p.get("weights_sha256"), "n_real": p.get("n_real"),
            "n_fake": p.get("n_fake"), "split": p.get("split"), "ganbench": versions.get("ganbench"),
            "torch": versions.get("torch"), "device": p.get("device"), "git_commit": p.get("git_commit"),
            "torch_threads": p.get("torch_threads")}  # recorded by evaluate where it knows it; None otherwise


@dataclass
class Measured:
    """One configuration's runs in a results directory."""
    key: str
    config: dict[str, Any]                                               # without seed and suite
    suite: str
    provenance: dict[str, Any] = field(default_factory=dict)
    seeds: dict[int, dict[str, Optional[float]]] = field(default_factory=dict)  # seed -> metric -> value
    problems: dict[int, str] = field(default_factory=dict)                      # seed -> why it has no metrics
    run_ids: dict[int, str] = field(default_factory=dict)


def collect(results_dir: str | Path) -> dict[str, Measured]:
    """Every configuration in ``results_dir`` with the directional metrics of each seed."""
    root = Path(results_dir)
    dirs = find_run_dirs(root) if root.is_dir() else []
    if not dirs:
        raise ConfigError(f"{root}: no runs found (no config.json below it); run a suite into it first")
    out: dict[str, Measured] = {}
    for d in dirs:
        info = read_run(d)
        cfg = info["config"]
        try:
            key, seed = config_key(cfg), int(cfg["seed"])
        except (KeyError, TypeError, ValueError) as e:
            raise ConfigError(f"{d / 'config.json'}: not a ganbench run config ({type(e).__name__}: {e})") from None
        m = out.setdefault(key, Measured(key, {k: v for k, v in cfg.items() if k not in ("seed", "suite")},
                                         str(cfg.get("suite"))))
        if seed in m.run_ids:
            raise ConfigError(f"{root}: two runs of {key} with seed {seed} ({m.run_ids[seed]}, {d.name}); "
                              f"compare one suite's results at a time")
        m.run_ids[seed] = d.name
        mj = info["metrics"]
        status = (mj or info["status"]).get("status", "incomplete")
        if not mj or status != "finished" or not mj.get("metrics"):
            reason = (mj or info["status"]).get("reason") or ("without metrics" if status == "finished" else "")
            m.problems[seed] = f"{status}{': ' + reason if reason else ''}"
            continue
        if not isinstance(mj["metrics"], dict):
            raise ConfigError(f"{d / 'metrics.json'}: 'metrics' is not a table; delete the file to re-evaluate")
        prov = _provenance(mj.get("provenance") or {})
        differ = [f for f in COMPARABLE if m.provenance and m.provenance[f] != prov[f]]
        if differ:
            f = differ[0]
            raise ConfigError(f"{root}: seeds of {key} were evaluated differently ({f} {m.provenance[f]!r} vs "
                              f"{prov[f]!r} in {d.name}); rerun them")
        m.provenance = m.provenance or prov
        m.seeds[seed] = {k: _number(v) for k, v in mj["metrics"].items() if k in HIGHER_IS_BETTER}
    return out


# ---------------------------------------------------------------- baselines

def make_baseline(results_dir: str | Path) -> tuple[dict[str, Any], list[str]]:
    """The baseline of a results directory (every run must be finished), and notes for people."""
    notes: list[str] = []
    configs: dict[str, Any] = {}
    for key, m in sorted(collect(results_dir).items()):
        for seed, why in sorted(m.problems.items()):
            raise ConfigError(f"{results_dir}: cannot make a baseline: {key} seed {seed} is {why}; "
                              f"a baseline needs every run finished (rerun it, or drop it from the suite)")
        seeds = sorted(m.seeds)
        metrics: dict[str, Any] = {}
        for name in sorted({n for s in seeds for n in m.seeds[s]}):
            values = [m.seeds[s].get(name) for s in seeds]
            if any(v is None for v in values):
                bad = [s for s, v in zip(seeds, values) if v is None]
                notes.append(f"{key}: {name} left out (missing or not finite for seed {', '.join(map(str, bad))})")
                continue
            metrics[name] = {"mean": _mean(values), "std": _std(values), "n": len(values), "values": values}
        configs[key] = {"dataset": m.config["data"]["name"], "model": m.config["model"]["name"],
                        "label": _name_of(key).split("/", 2)[2], "config_hash": key.rsplit("@", 1)[1],
                        "suite": m.suite, "config": m.config, "provenance": m.provenance, "seeds": seeds,
                        "run_ids": [m.run_ids[s] for s in seeds], "metrics": metrics}
    used = sorted({n for c in configs.values() for n in c["metrics"]})
    baseline = {"format": BASELINE_FORMAT, "version": BASELINE_VERSION,
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "source": str(results_dir),
                "directions": {n: "higher" if HIGHER_IS_BETTER[n] else "lower" for n in used},
                "configs": configs}
    return baseline, notes


def write_baseline(baseline: dict[str, Any], path: str | Path) -> None:
    atomic_write_json(path, baseline)


def _bad(path: Any, what: str) -> ConfigError:
    return ConfigError(f"{path}: not a usable ganbench baseline: {what}; recreate it with 'ganbench baseline'")


def load_baseline(path: str | Path) -> dict[str, Any]:
    """Read and check a baseline file; anything unusable raises ``ConfigError``/``CorruptFileError`` naming it."""
    b = read_json(path)
    if not isinstance(b, dict) or b.get("format") != BASELINE_FORMAT:
        raise _bad(path, f"'format' is not {BASELINE_FORMAT!r}")
    if b.get("version") != BASELINE_VERSION:
        raise _bad(path, f"version {b.get('version')!r}, this ganbench reads version {BASELINE_VERSION}")
    configs, directions = b.get("configs"), b.get("directions")
    if not isinstance(configs, dict) or not configs or not isinstance(directions, dict):
        raise _bad(path, "it needs non-empty 'configs' and 'directions' tables")
    for key, c in configs.items():
        if not isinstance(c, dict) or not isinstance(c.get("metrics"), dict) or not isinstance(c.get("seeds"), list) \
                or not isinstance(c.get("provenance"), dict):
            raise _bad(path, f"configs[{key!r}] lacks metrics, seeds or provenance")
        for name, s in c["metrics"].items():
            ok = isinstance(s, dict) and _number(s.get("mean")) is not None and s.get("n") == len(c["seeds"]) \
                and (s.get("std") is None or _number(s["std"]) is not None)
            if not ok:
                raise _bad(path, f"configs[{key!r}].metrics[{name!r}] needs a finite mean, a std and "
                                 f"n = number of seeds")
            if name not in directions:
                raise _bad(path, f"metric {name!r} has no entry in 'directions'")
    for name, d in directions.items():
        expected = None if name not in HIGHER_IS_BETTER else "higher" if HIGHER_IS_BETTER[name] else "lower"
        if d != expected:
            raise _bad(path, f"direction of {name!r} is {d!r}, ganbench says {expected!r}")
    return b


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


# ---------------------------------------------------------------- comparison

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


# ---------------------------------------------------------------- output

HEADER = ("configuration", "metric", "baseline", "now", "delta", "allowed", "rule", "verdict")


def _g(x: Optional[float]) -> str:
    return "-" if x is None else f"{x:.4g}"


def _cells(r: Row) -> tuple[str, ...]:
    spread = f" ± {_g(r.baseline_std)}" if r.baseline_std is not None else ""
    base = f"{_g(r.baseline)}{spread} (n={r.n})"
    delta = "-"
    if r.delta is not None:
        delta = f"{r.delta:+.4g}" + (f" ({100 * r.delta / abs(r.baseline):+.3g}%)" if r.baseline else "")
    return (r.config, r.metric, base, _g(r.now), delta, _g(r.allowed), r.rule, r.verdict)


def headline(c: Comparison) -> str:
    counts = ", ".join(f"{c.count(v)} {v}" for v in ("ok", "REGRESSION", "improved", "missing"))
    return f"{'FAILED' if c.exit_code else 'PASSED'}: {counts}"


def render_text(c: Comparison) -> str:
    table = [HEADER] + [_cells(r) for r in c.rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    lines += [f"note: {n}" for n in c.notes] + [f"regression gate {headline(c)}"]
    if c.count("improved"):
        lines.append("some metrics improved beyond their tolerance: refresh the baseline on purpose "
                     "(docs/regression-gate.md) to keep the gate tight")
    return "\n".join(lines)


def render_markdown(c: Comparison, baseline_path: str = "") -> str:
    esc = lambda s: s.replace("|", "\\|")  # noqa: E731 - a cell may hold 'max(a, b)' but never a pipe
    out = [f"### ganbench regression gate: {headline(c)}", ""]
    if baseline_path:
        out += [f"Baseline: `{baseline_path}`", ""]
    out += ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in c.rows:
        cells = list(_cells(r))
        if r.verdict in ("REGRESSION", "missing"):
            cells[-1] = f"**{r.verdict}**"
        out.append("| " + " | ".join(esc(x) for x in cells) + " |")
    if c.notes:
        out += [""] + [f"- {esc(n)}" for n in c.notes]
    return "\n".join(out) + "\n"


def write_summary(markdown: str, path: Optional[str | Path] = None) -> list[str]:
    """Write ``markdown`` to ``path`` (atomically) and append it to ``$GITHUB_STEP_SUMMARY`` when set."""
    written = []
    if path:
        atomic_write_text(path, markdown)
        written.append(str(path))
    step = os.environ.get("GITHUB_STEP_SUMMARY")
    if step:
        with open(step, "a", encoding="utf-8") as f:  # GitHub collects every step's appends: never overwrite
            f.write(markdown + "\n")
        written.append(step)
    return written


# ---------------------------------------------------------------- where `check SUITE` runs

CHECK_MARKER = ".ganbench-check"  # marks a directory `check` owns, so it may clear it on the next check


def check_dir(default: Path, out: Optional[str | Path]) -> Path:
    """A results directory without finished runs: a gate must measure the current code, not reuse old runs.

    A directory an earlier ``check`` wrote (it holds the marker file; the default ``results/<suite>-check``
    always qualifies) is cleared of run directories. Any other directory must hold no runs: clearing it
    could delete results nobody meant to lose.
    """
    d = Path(out) if out is not None else default
    owned = out is None or (d / CHECK_MARKER).is_file()
    if d.is_dir() and owned:
        for run_dir in find_run_dirs(d):
            shutil.rmtree(run_dir)
    elif d.is_dir() and find_run_dirs(d):
        raise ConfigError(f"--out {d}: holds runs that 'ganbench check' did not write; a gate must measure the "
                          f"current code, so give a new or empty directory (or compare those runs with --results {d})")
    atomic_write_text(d / CHECK_MARKER, "written by 'ganbench check': its runs are deleted by the next check\n")
    return d


__all__ = ["HIGHER_IS_BETTER", "DEFAULT_RULES", "Rule", "parse_rule", "parse_rules", "config_key", "config_hash",
           "Measured", "collect", "make_baseline", "write_baseline", "load_baseline", "resolve_rules", "Row",
           "Comparison", "compare", "match_configs", "render_text", "render_markdown", "write_summary",
           "check_dir", "CHECK_MARKER", "ProvenanceMismatch", "headline"]
