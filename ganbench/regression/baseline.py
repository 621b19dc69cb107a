"""Baseline files: made from a results directory (``ganbench baseline``), written, read back and validated."""
from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from ..io import atomic_write_json, read_json
from ..registry import ConfigError
from .measured import _mean, _name_of, _number, _std, collect
from .rules import HIGHER_IS_BETTER

BASELINE_FORMAT, BASELINE_VERSION = "ganbench-baseline", 1


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
