"""Reading a results directory: each configuration's key, provenance and per-seed metrics (``collect``)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..config import config_hash
from ..registry import ConfigError, one_line
from ..results import find_run_dirs, finite_or_none, read_run
from .rules import HIGHER_IS_BETTER

COMPARABLE = ("extractor", "weights_sha256", "n_real", "n_fake", "split")  # differ: numbers not comparable
ENVIRONMENT = ("ganbench", "torch", "device", "torch_threads")            # differ: worth a note, not a refusal


def config_key(config: dict[str, Any]) -> str:
    label = config.get("name") or config["loss"]["name"]
    return f"{config['data']['name']}/{config['model']['name']}/{label}@{config_hash(config)}"


def name_of_key(key: str) -> str:
    return key.rsplit("@", 1)[0]


def exact_mean(values: list[float]) -> float:
    return math.fsum(values) / len(values)  # exactly rounded: baseline and check agree to the bit


def sample_std(values: list[float]) -> Optional[float]:
    if len(values) < 2:
        return None
    mu = exact_mean(values)
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
    diverged: set[int] = field(default_factory=set)                             # seeds whose training diverged
    run_ids: dict[int, str] = field(default_factory=dict)

    def only(self, seeds: set[int]) -> "Measured":
        """The same configuration restricted to ``seeds`` (calibration: disjoint seed sets as other machines)."""
        return Measured(self.key, self.config, self.suite, self.provenance,
                        {s: v for s, v in self.seeds.items() if s in seeds},
                        {s: v for s, v in self.problems.items() if s in seeds},
                        {s for s in self.diverged if s in seeds}, {s: v for s, v in self.run_ids.items() if s in seeds})


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
            raise ConfigError(f"{d / 'config.json'}: not a ganbench run config ({one_line(e)})") from None
        m = out.setdefault(key, Measured(key, {k: v for k, v in cfg.items() if k not in ("seed", "suite")},
                                         str(cfg.get("suite"))))
        if seed in m.run_ids:
            raise ConfigError(f"{root}: two runs of {key} with seed {seed} ({m.run_ids[seed]}, {d.name}); "
                              f"compare one suite's results at a time")
        m.run_ids[seed] = d.name
        mj = info["metrics"]
        status = (mj or info["status"]).get("status", "incomplete")
        if mj and status == "diverged":  # a training outcome, the worst one: the gate counts it, never drops it
            m.diverged.add(seed)
            continue
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
        m.seeds[seed] = {k: finite_or_none(v) for k, v in mj["metrics"].items() if k in HIGHER_IS_BETTER}
    return out
