"""Baseline files: made from a results directory (``ganbench baseline``), written, read back and validated.

Version 2 stores each configuration's per-seed outcomes (``values``; ``null`` for a seed that
diverged or could not define the metric, which the test counts as the worst outcome), because the
check compares distributions over seeds. Version 1 files (means and σ of two seeds) cannot
support that test and are refused with the command that refreshes them.
"""
from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from ..files import atomic_write_json, read_json
from ..registry import ConfigError
from .comparison import RECOMMENDED_SEEDS
from ..results import finite_or_none
from .measured import Measured, collect, exact_mean, name_of_key, sample_std
from .rules import HIGHER_IS_BETTER

BASELINE_FORMAT, BASELINE_VERSION = "ganbench-baseline", 2
MIN_BASELINE_SEEDS = 1  # recorded with a note below RECOMMENDED_SEEDS: check refuses to run what could never fail


def make_baseline(results_dir: str | Path) -> tuple[dict[str, Any], list[str]]:
    """The baseline of a results directory (every run finished or diverged), and notes for people."""
    return baseline_of(collect(results_dir), results_dir)


def baseline_of(measured: dict[str, Measured], results_dir: str | Path) -> tuple[dict[str, Any], list[str]]:
    """The baseline of configurations already read (``collect``), e.g. a subset of their seeds."""
    notes: list[str] = []
    configs: dict[str, Any] = {}
    for key, m in sorted(measured.items()):
        for seed, why in sorted(m.problems.items()):
            raise ConfigError(f"{results_dir}: cannot make a baseline: {key} seed {seed} is {why}; "
                              f"a baseline needs every run finished (rerun it, or drop it from the suite)")
        seeds = sorted(set(m.seeds) | m.diverged)
        if len(seeds) < RECOMMENDED_SEEDS:
            notes.append(f"{key}: {len(seeds)} seed{'s' if len(seeds) > 1 else ''}; the gate compares distributions "
                         f"over seeds and needs about {RECOMMENDED_SEEDS} (--seeds 0-7): with fewer it may be unable "
                         f"to detect anything, and check refuses to run where it could never fail")
        if m.diverged:
            notes.append(f"{key}: seed {', '.join(map(str, sorted(m.diverged)))} diverged: recorded as the worst "
                         f"outcome of every metric")
        metrics: dict[str, Any] = {}
        for name in sorted({n for s in m.seeds.values() for n in s}):
            values = [None if s in m.diverged else m.seeds[s].get(name) for s in seeds]
            finite = [v for v in values if v is not None]
            undefined = [s for s, v in zip(seeds, values) if v is None and s not in m.diverged]
            if undefined:
                notes.append(f"{key}: {name} undefined for seed {', '.join(map(str, undefined))}: recorded as "
                             f"the worst outcome")
            metrics[name] = {"values": values, "n": len(values), "n_defined": len(finite),
                             "mean": exact_mean(finite) if finite else None, "std": sample_std(finite)}
        configs[key] = {"dataset": m.config["data"]["name"], "model": m.config["model"]["name"],
                        "label": name_of_key(key).split("/", 2)[2], "config_hash": key.rsplit("@", 1)[1],
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


REFRESH = "refresh it: 'ganbench run SUITE --out DIR' (≥ 8 seeds), then 'ganbench baseline DIR --out {path}'"


def _bad(path: Any, what: str) -> ConfigError:
    return ConfigError(f"{path}: not a usable ganbench baseline: {what}; recreate it with 'ganbench baseline'")


def load_baseline(path: str | Path) -> dict[str, Any]:
    """Read and check a baseline file; anything unusable raises ``ConfigError``/``CorruptFileError`` naming it."""
    if Path(path).is_dir():
        raise ConfigError(f"--baseline {path}: is a folder; give the baseline file written by 'ganbench baseline' "
                          f"(e.g. results/baselines/ci.json)")
    b = read_json(path)
    if not isinstance(b, dict) or b.get("format") != BASELINE_FORMAT:
        raise _bad(path, f"'format' is not {BASELINE_FORMAT!r}")
    if b.get("version") == 1:
        raise ConfigError(f"{path}: a version-1 baseline (means of a few seeds); this ganbench tests distributions "
                          f"over seeds, so {REFRESH.format(path=path)}")
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
            values = s.get("values") if isinstance(s, dict) else None
            ok = isinstance(values, list) and len(values) == len(c["seeds"]) >= MIN_BASELINE_SEEDS \
                and all(v is None or finite_or_none(v) is not None for v in values) \
                and (s.get("std") is None or finite_or_none(s["std"]) is not None)
            if not ok:
                raise _bad(path, f"configs[{key!r}].metrics[{name!r}] needs 'values': one finite number or null per "
                                 f"seed, ≥ {MIN_BASELINE_SEEDS} seeds")
            if name not in directions:
                raise _bad(path, f"metric {name!r} has no entry in 'directions'")
    for name, d in directions.items():
        expected = None if name not in HIGHER_IS_BETTER else "higher" if HIGHER_IS_BETTER[name] else "lower"
        if d != expected:
            raise _bad(path, f"direction of {name!r} is {d!r}, ganbench says {expected!r}")
    return b
