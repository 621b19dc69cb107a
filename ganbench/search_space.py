"""Hyperparameter search spaces of suites: a ``[search]`` table expanded into trials, each an ordinary run.

A suite with a search (Lucic et al. 2018's protocol: the same number of trials for every loss, drawn from a
declared space) reads::

    [search]
    trials = 16                 # per loss (per [[runs]] variant): the budget, equal for all
    seed = 2018                 # the sampler's seed: the same suite gives the same trials on any machine
    sampler = "sobol"           # scrambled Sobol (default) or "random" (independent uniform draws)
    "optim.lr_d" = { log_uniform = [3e-5, 3e-2] }
    "optim.lr_g" = { same_as = "optim.lr_d" }
    "optim.beta1" = { uniform = [0.0, 0.99] }
    "train.n_critic" = { choice = [1, 5] }

    [[runs]]
    loss = { name = "wgan-gp" }
    search = { "loss.gp_weight" = { log_uniform = [0.1, 100.0] } }   # this run's additions

A key is ``section.name`` in ``model``, ``loss``, ``optim`` or ``train`` (``optim.beta1`` / ``optim.beta2``
are the two elements of ``optim.betas``); the dotted form ``optim.lr_d = ...`` and sub-tables
``[search.optim]`` mean the same. Distributions: ``uniform = [lo, hi]``, ``log_uniform = [lo, hi]``
(0 < lo), ``int_uniform = [lo, hi]`` (integers, both ends included), ``choice = [a, b, ...]`` (one type,
no repeats), ``same_as = "key"`` (the value of another searched key). A run's ``search`` table adds keys or
replaces the suite's distribution of a key; ``search = false`` runs it once at its fixed setting.

Each trial × seed is an ordinary run: the sampled values are written into its sections, and its
``RunConfig.search`` (``config.SearchTag``) names the search and the trial. The seeds of a trial are the
suite's (``[suite] seeds``, a run's ``seeds``, ``--seeds``): every trial runs on each.

Common points: trial i of every run draws the keys of ``[search]`` from the same point (one sequence in
[0, 1)^d, one dimension per key, ties taking none, in sorted key order), so losses are compared trial by
trial at the same hyperparameters (a paired design: ``budget.compare_losses`` tests the matched
differences, which removes the spread of the metric over the space from the comparison). Keys a run adds
(a penalty weight, a clip) come from a second sequence seeded by those keys, so runs adding the same keys
share those points too. A run that replaces the distribution of a ``[search]`` key maps the same shared
coordinate through its own distribution.

Reproducibility: each sequence comes from a PCG64 generator seeded by the search's ``seed`` and its keys;
the first N trials do not change when ``trials`` grows (both samplers are sequences), so a longer search
reuses the finished runs. Continuous values are rounded to ``SIGNIFICANT_DIGITS`` significant digits (and
kept inside the bounds), which makes them readable and immune to last-bit differences of ``exp`` and ``log``
between machines; Sobol points and PCG64 draws are exact binary fractions.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

import numpy as np

from .config import (MAX_SEED, MAX_SEEDS, OptimConfig, SEARCH_ALIASES, ConfigError, RunConfig,
                     TrainConfig, coerce)
from .registry import did_you_mean

__all__ = ["Distribution", "Search", "parse_search", "run_search", "expand_trials", "sample_unit",
           "KINDS", "SAMPLERS", "SETTINGS", "SIGNIFICANT_DIGITS", "MAX_TRIALS", "MAX_CHOICES", "SEARCHABLE_SECTIONS",
           "SEARCHABLE_FIELDS"]

KINDS = ("uniform", "log_uniform", "int_uniform", "choice", "same_as")
SAMPLERS = ("sobol", "random")
SETTINGS = ("trials", "seed", "sampler")
SIGNIFICANT_DIGITS = 4
MAX_TRIALS = MAX_SEEDS
MAX_CHOICES = 1000
SEARCHABLE_SECTIONS = ("model", "loss", "optim", "train")
# Settings of how a run is logged and where it runs, not of what it learns.
NOT_SEARCHABLE = {"train.log_every", "train.checkpoint_every", "train.tensorboard", "train.device",
                  "train.seeds_batched", "optim.betas"}


def _fields(section: str, cls: type) -> list[str]:
    return [f"{section}.{f.name}" for f in dataclasses.fields(cls) if f"{section}.{f.name}" not in NOT_SEARCHABLE]


SEARCHABLE_FIELDS = [*_fields("optim", OptimConfig), *SEARCH_ALIASES, *_fields("train", TrainConfig)]

Value = Union[bool, int, float, str]


@dataclass(frozen=True)
class Distribution:
    """One searched key's distribution: ``kind`` (one of ``KINDS``) and its arguments (bounds, choices or the
    key it is tied to)."""
    kind: str
    args: tuple[Any, ...]

    @property
    def tie(self) -> Optional[str]:
        return self.args[0] if self.kind == "same_as" else None

    def sample(self, u: float) -> Value:
        """The value at ``u`` in [0, 1): uniform and log-uniform values rounded to ``SIGNIFICANT_DIGITS``."""
        if self.kind == "choice":
            return self.args[min(int(u * len(self.args)), len(self.args) - 1)]
        lo, hi = self.args
        if self.kind == "int_uniform":
            return lo + min(int(u * (hi - lo + 1)), hi - lo)
        if self.kind == "uniform":
            x = lo + u * (hi - lo)
        else:
            x = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
        return min(max(float(f"{x:.{SIGNIFICANT_DIGITS}g}"), lo), hi)

    def extremes(self) -> tuple[Value, ...]:
        """The values whose acceptance implies every draw's: the bounds, or every choice."""
        return self.args if self.kind != "same_as" else ()

    def to_dict(self) -> dict[str, Any]:
        return {self.kind: self.args[0] if self.kind == "same_as" else list(self.args)}


@dataclass(frozen=True)
class Search:
    """A suite's ``[search]``: the budget, the sampler and the distributions every searched run shares."""
    trials: int
    seed: int
    sampler: str
    space: dict[str, Distribution]
    path: str = "<suite>"


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _distribution(key: str, table: dict[str, Any], where: str) -> Distribution:
    kind = next(iter(table))
    arg = table[kind]
    if kind == "same_as":
        if not isinstance(arg, str):
            raise ConfigError(f"{where}: same_as must name another searched key such as \"optim.lr_d\", got {arg!r}")
        if arg == key:
            raise ConfigError(f"{where}: same_as names the key itself")
        return Distribution(kind, (arg,))
    if kind == "choice":
        if not isinstance(arg, list) or not arg:
            raise ConfigError(f"{where}: choice must be a non-empty list of values, got {arg!r}")
        if len(arg) > MAX_CHOICES:  # each choice is checked by building a run with it
            raise ConfigError(f"{where}: choice lists {len(arg)} values; at most {MAX_CHOICES} are accepted")
        kinds = {"number" if _number(v) else type(v).__name__ for v in arg}
        if not kinds <= {"number", "str", "bool"} or len(kinds) > 1:
            raise ConfigError(f"{where}: choice values must be all numbers, all strings or all true/false, "
                              f"got {arg!r}")
        if any(isinstance(v, float) and not math.isfinite(v) for v in arg):
            raise ConfigError(f"{where}: choice values must be finite, got {arg!r}")
        repeated = [v for i, v in enumerate(arg) if v in arg[:i]]
        if repeated:
            raise ConfigError(f"{where}: choice names {repeated[0]!r} twice; list each value once")
        return Distribution(kind, tuple(arg))
    integer = kind == "int_uniform"
    shape = "[lo, hi] of integers" if integer else "[lo, hi] of finite numbers"
    if not isinstance(arg, list) or len(arg) != 2 or not all(
            (isinstance(v, int) and not isinstance(v, bool)) if integer else _number(v) and math.isfinite(v)
            for v in arg):
        raise ConfigError(f"{where}: {kind} must be {shape}, got {arg!r}")
    lo, hi = arg
    if not lo < hi:
        raise ConfigError(f"{where}: {kind} needs lo < hi, got [{lo!r}, {hi!r}]")
    if kind == "log_uniform" and lo <= 0:
        raise ConfigError(f"{where}: log_uniform needs 0 < lo < hi (a log scale), got [{lo!r}, {hi!r}]")
    return Distribution(kind, (lo, hi) if integer else (float(lo), float(hi)))


def _is_leaf(v: Any) -> bool:
    """A table holding no table: a distribution (checked by ``_space``); a table of tables is a level of nesting."""
    return isinstance(v, dict) and not any(isinstance(x, dict) for x in v.values())


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"optim": {"lr_d": {...}}}`` and ``{"optim.lr_d": {...}}`` alike -> ``{"optim.lr_d": {...}}``."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        items = _flatten(v, f"{key}.") if isinstance(v, dict) and v and not _is_leaf(v) else {key: v}
        for kk, vv in items.items():
            if kk in out:
                raise ConfigError(f"search key {kk!r} is given twice")
            out[kk] = vv
    return out


def _check_key(key: str, where: str) -> None:
    section, _, name = key.partition(".")
    if section not in SEARCHABLE_SECTIONS:
        why = " (every trial sees the same data and is evaluated alike)" if section in ("data", "eval") else ""
        raise ConfigError(f"{where}: {key!r} cannot be searched{why}"
                          f"{did_you_mean(section, list(SEARCHABLE_SECTIONS))}; searchable: "
                          f"{', '.join(s + '.*' for s in SEARCHABLE_SECTIONS)}")
    if not name or "." in name:
        raise ConfigError(f"{where}: {key!r} is not a key; write section.name, e.g. \"optim.lr_d\"")
    if name == "name":
        raise ConfigError(f"{where}: {key!r} cannot be searched: compare {section} names as a grid in "
                          f"[[runs]] ({section} = [{{ name = ... }}, ...])")
    if key == "optim.betas":
        raise ConfigError(f"{where}: search Adam's betas one by one as \"optim.beta1\" and \"optim.beta2\"")
    if section in ("optim", "train") and key not in SEARCHABLE_FIELDS:
        raise ConfigError(f"{where}: unknown key {key!r}{did_you_mean(key, SEARCHABLE_FIELDS)}; searchable in "
                          f"{section}: {', '.join(k for k in SEARCHABLE_FIELDS if k.startswith(section + '.'))}")


def _space(table: dict[str, Any], where: str) -> dict[str, Distribution]:
    try:
        flat = _flatten(table)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None
    space: dict[str, Distribution] = {}
    for key, value in flat.items():
        at = f"{where}.\"{key}\""
        _check_key(key, at)
        if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in KINDS:
            kind = next(iter(value)) if isinstance(value, dict) and len(value) == 1 else ""
            got = f"keys {', '.join(map(repr, value))}" if isinstance(value, dict) else repr(value)
            raise ConfigError(f"{at} must be a table with one of {', '.join(KINDS)}{did_you_mean(kind, list(KINDS))}, "
                              f"e.g. {{ log_uniform = [1e-4, 1e-2] }}; got {got}")
        space[key] = _distribution(key, value, at)
    return space


def parse_search(table: Any, path: str) -> Optional[Search]:
    """A suite's ``[search]`` table checked (None when the suite has none)."""
    if table is None:
        return None
    where = f"{path}: [search]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = [k for k in table if k not in SETTINGS and "." not in k and not isinstance(table[k], dict)]
    if unknown:  # a misspelt setting; anything with a dot or a table is a searched key, checked by _space
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}{did_you_mean(unknown[0], list(SETTINGS))}; accepted: "
                          f"{', '.join(SETTINGS)} and searched keys such as \"optim.lr_d\"")
    if "trials" not in table:
        raise ConfigError(f"{where}: missing key 'trials' (the number of trials per loss, the same for every loss)")
    trials = coerce(table["trials"], int, f"{where}.trials")
    if not 1 <= trials <= MAX_TRIALS:
        raise ConfigError(f"{where}.trials must be in 1..{MAX_TRIALS}, got {trials!r}")
    seed = coerce(table.get("seed", 0), int, f"{where}.seed")
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"{where}.seed must be in 0..{MAX_SEED}, got {seed!r}")
    sampler = table.get("sampler", "sobol")
    if sampler not in SAMPLERS:
        raise ConfigError(f"{where}.sampler: {sampler!r} is not one of {', '.join(SAMPLERS)}"
                          f"{did_you_mean(str(sampler), list(SAMPLERS))}")
    space = _space({k: v for k, v in table.items() if k not in SETTINGS}, where)
    return Search(trials, seed, sampler, space, path)


def run_search(run: dict[str, Any], search: Optional[Search], where: str) -> tuple[dict[str, Any], Any]:
    """A ``[[runs]]`` table without its ``search`` key, and that key checked: None (the suite's space), False
    (not searched) or the run's own distributions."""
    if "search" not in run:
        return run, None
    rest = {k: v for k, v in run.items() if k != "search"}
    value = run["search"]
    if value is False:
        return rest, False
    if search is None:
        raise ConfigError(f"{where}.search: the suite has no [search] table (trials, seed); add one, or drop "
                          f"this run's search")
    if not isinstance(value, dict):
        raise ConfigError(f"{where}.search must be a table of searched keys or false, got {value!r}")
    settings = [k for k in value if k in SETTINGS]
    if settings:
        raise ConfigError(f"{where}.search: {settings[0]!r} is set in [search] only (every loss gets the same "
                          f"budget and sampler)")
    return rest, _space(value, f"{where}.search")


def sample_unit(sampler: str, seed: int, n: int, d: int) -> np.ndarray:
    """``n`` points in [0, 1)^d: scrambled Sobol or independent uniform draws, from a PCG64 generator seeded with
    ``seed``; the first rows do not depend on ``n``."""
    rng = np.random.default_rng(seed)
    if d == 0:
        return np.zeros((n, 0))
    if sampler == "random":
        return rng.random((n, d))
    from scipy.stats import qmc
    try:
        sobol = qmc.Sobol(d, scramble=True, rng=rng)
    except TypeError:  # scipy before 1.15 calls it seed (a Generator is used as it is by both)
        sobol = qmc.Sobol(d, scramble=True, seed=rng)
    with warnings.catch_warnings():  # n need not be a power of two: the first n points of the sequence
        warnings.simplefilter("ignore", UserWarning)
        return sobol.random(n)


def _stable_int(*parts: Any) -> int:
    text = json.dumps(parts, sort_keys=True, default=str)
    return int(hashlib.sha256(text.encode()).hexdigest()[:16], 16)


def _resolve_ties(space: dict[str, Distribution], where: str) -> None:
    for key, dist in space.items():
        target = dist.tie
        if target is None:
            continue
        if target not in space:
            raise ConfigError(f"{where}: \"{key}\" = {{ same_as = \"{target}\" }}: {target!r} is not searched "
                              f"here; searched: {', '.join(sorted(space))}")
        if space[target].tie is not None:
            raise ConfigError(f"{where}: \"{key}\" is tied to \"{target}\", itself tied to another key; tie both "
                              f"to \"{space[target].tie}\"")


def _with_values(merged: dict[str, Any], values: dict[str, Value]) -> dict[str, Any]:
    """``merged`` with each searched key set to its value (a copy; ``optim.beta1`` sets one element of betas)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in merged.items()}
    for key, value in values.items():
        if key in SEARCH_ALIASES:
            section, name, index = SEARCH_ALIASES[key]
            table = out.setdefault(section, {})
            pair = list(table.get(name, getattr(OptimConfig(), name)))
            pair[index] = value
            table[name] = pair
        else:
            section, _, name = key.partition(".")
            out.setdefault(section, {})[name] = value
    return out


def _fixed_elsewhere(merged: dict[str, Any], key: str) -> Optional[str]:
    """The key of ``merged`` (defaults, run, --set) that already fixes the searched ``key``, if any."""
    section, _, name = key.partition(".")
    if key in SEARCH_ALIASES:
        section, name, _ = SEARCH_ALIASES[key]
    table = merged.get(section)
    return f"{section}.{name}" if isinstance(table, dict) and name in table else None


def expand_trials(search: Optional[Search], own: Any, merged: dict[str, Any], where: str,
                  check: Callable[[dict[str, Any], str], RunConfig]) -> list[dict[str, Any]]:
    """The merged tables of one run variant, one per trial (the sampled values set, ``search`` the trial's tag);
    ``[merged]`` itself when the variant is not searched. ``check`` builds a run from merged tables (the suite
    loader's, names looked up): the variant and each bound or choice of its space are checked with it, so a
    bad bound fails at load even when no trial draws it."""
    if search is None or own is False:
        return [merged]
    space = {**search.space, **(own or {})}
    if not space:
        raise ConfigError(f"{where}: [search] declares no key to search for this run; add one such as "
                          f"\"optim.lr_d\" = {{ log_uniform = [1e-4, 1e-2] }}")
    _resolve_ties(space, where)
    for key in sorted(space):
        fixed = _fixed_elsewhere(merged, key)
        if fixed:
            raise ConfigError(f"{where}: \"{key}\" is searched but {fixed} is also set (in [defaults], the run or "
                              f"--set); set it in one place (a one-value choice fixes a value inside a search)")
    check(merged, where)
    for key in sorted(space):
        target = space[key].tie or key
        for value in space[target].extremes():
            check(_with_values(merged, {key: value}), f"{where}: search")
    shared = sorted(k for k, d in search.space.items() if d.tie is None)  # the same point for every run
    extra = sorted(k for k, d in space.items() if d.tie is None and k not in shared)
    tied = sorted(k for k, d in space.items() if d.tie is not None)
    identity = {"sampler": search.sampler, "seed": search.seed, "shared": shared,
                "space": {k: space[k].to_dict() for k in sorted(space)}}
    space_id = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:8]
    units = np.hstack([sample_unit(search.sampler, _stable_int(search.seed, keys), search.trials, len(keys))
                       for keys in (shared, extra)])
    log_scale = sorted(k for k in space if space[space[k].tie or k].kind == "log_uniform")
    out = []
    for trial, row in enumerate(units):
        values: dict[str, Value] = {k: space[k].sample(float(u)) for k, u in zip(shared + extra, row)
                                    if space[k].tie is None}  # a run may tie a shared key: its coordinate idles
        values.update({k: values[space[k].tie] for k in tied})
        values = dict(sorted(values.items()))
        point = _with_values(merged, values)
        point["search"] = {"space": space_id, "trial": trial, "values": values, "log_scale": log_scale}
        out.append(point)
    return out
