"""Suite files: frozen run configurations and strict TOML loading.

A suite is a grid: ``[suite]`` (name, seeds), ``[defaults]`` (one table per
section) and ``[[runs]]`` (each overrides the defaults section by section).
Every key is checked: unknown tables and keys, wrong types, out-of-range
values and unknown loss/model/dataset names raise ``ConfigError`` naming the
file, the key path, the bad value and what would be accepted.

Merging rule: a run's section is laid over the default section key by key;
when a run names a *different* data/model/loss than the defaults, the default
parameters of that section are dropped (they belong to the other name).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .catalogue import EVALUATIONS
from .registry import ConfigError, did_you_mean

__all__ = [
    "ConfigError", "DataConfig", "ModelConfig", "LossConfig", "OptimConfig", "TrainConfig",
    "EvalConfig", "RunConfig", "SuiteConfig", "load_suite", "parse_suite", "parse_override",
    "find_suite", "SUITES_DIR", "MAX_SEED", "MAX_SEEDS", "MAX_SUITE_NAME", "check_device",
]

SUITES_DIR = Path(__file__).resolve().parent / "suites"  # package data: found in a wheel install too
MAX_SEED = 2**32 - 1     # seeds are mixed into torch seeds as seed * 1_000_003 + salt, which must stay below 2**63
MAX_SEEDS = 10_000       # seeds per suite or --seeds: a typo such as 0-100000000000 must not fill memory
MAX_SUITE_NAME = 100     # a suite name is a folder name (results/<suite>), well inside file-system limits
SUITE_NAME = re.compile(r"[A-Za-z0-9+-][A-Za-z0-9._+-]*")  # what safe_name leaves unchanged


@dataclass(frozen=True)
class NamedConfig:
    """A registry name plus the keyword parameters of its factory."""
    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.params}


class DataConfig(NamedConfig):
    pass


class ModelConfig(NamedConfig):
    pass


class LossConfig(NamedConfig):
    pass


@dataclass(frozen=True)
class OptimConfig:
    optimizer: str = "adam"            # adam | rmsprop (the original WGAN used RMSprop)
    lr_g: float = 2e-4
    lr_d: float = 2e-4                 # separate rates: TTUR (Heusel et al. 2017)
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 0.0


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1000                  # generator updates
    batch_size: int = 64
    n_critic: Optional[int] = None     # None: the loss's customary value (5 for wgan/wgan-gp, else 1)
    ema: Optional[float] = None        # decay of an EMA copy of G's weights, e.g. 0.999
    log_every: int = 50
    checkpoint_every: int = 1000
    tensorboard: bool = False
    device: str = "cpu"
    seeds_batched: bool = False        # train all seeds of a run as one batched model (see bench)
    max_grad_norm: Optional[float] = None  # clip D's and G's gradients to this total norm each step; None: off


@dataclass(frozen=True)
class EvalConfig:
    n_samples: int = 10000             # generated samples per evaluation
    n_real: Optional[int] = None       # real samples; None: same as n_samples (capped by the split)
    split: str = "test"                # real split compared against: train | test
    features: Optional[str] = None     # None: by data kind (points → identity, digits → digits-cnn, images → inception)
    metrics: tuple[str, ...] = ("fid", "kid", "is", "pr", "modes")
    every: int = 0                     # evaluate during training every k steps (0: only at the end)
    n_samples_during: int = 1000       # samples for evaluations during training (cheaper)
    batch_size: int = 500
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    floor: bool = True                 # also report real-vs-real (two disjoint halves)
    real_stats: Optional[str] = None   # FID against these reference statistics (.npz, see reference_stats)


SECTION_TYPES = {"optim": OptimConfig, "train": TrainConfig, "eval": EvalConfig}
NAMED_SECTIONS = {"data": DataConfig, "model": ModelConfig, "loss": LossConfig}
SECTIONS = ("data", "model", "loss", "optim", "train", "eval")

RANGES: dict[str, tuple[str, Any]] = {
    "optim.lr_g": (">=", 0), "optim.lr_d": (">=", 0), "optim.weight_decay": (">=", 0),
    "train.steps": (">", 0), "train.batch_size": (">", 0), "train.n_critic": (">", 0),
    "train.log_every": (">", 0), "train.checkpoint_every": (">", 0), "train.max_grad_norm": (">", 0),
    "eval.n_samples": (">", 1), "eval.n_real": (">", 1), "eval.every": (">=", 0),
    "eval.n_samples_during": (">", 1), "eval.batch_size": (">", 0), "eval.kid_subsets": (">", 0),
    "eval.kid_subset_size": (">", 1),
}
CHOICES: dict[str, tuple[str, ...]] = {
    "optim.optimizer": ("adam", "rmsprop"),
    "eval.split": ("train", "test"),
    "eval.metrics": EVALUATIONS,  # from the metric catalogue
}


def _eval_dict(cfg: EvalConfig) -> dict[str, Any]:
    d = _plain(dataclasses.asdict(cfg))
    if d["real_stats"] is None:  # unset keys added later stay out, so run ids (config hashes) do not change
        del d["real_stats"]
    return d


@dataclass(frozen=True)
class RunConfig:
    suite: str
    seed: int
    data: DataConfig
    model: ModelConfig
    loss: LossConfig
    optim: OptimConfig = OptimConfig()
    train: TrainConfig = TrainConfig()
    eval: EvalConfig = EvalConfig()
    name: Optional[str] = None         # optional label shown in reports (defaults to the loss name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite, "seed": self.seed, "name": self.name,
            "data": self.data.to_dict(), "model": self.model.to_dict(), "loss": self.loss.to_dict(),
            "optim": _plain(dataclasses.asdict(self.optim)),
            "train": _plain(dataclasses.asdict(self.train)),
            "eval": _eval_dict(self.eval),
        }

    def config_hash(self) -> str:
        """Short hash of everything that defines the run except the seed and the suite name."""
        return config_hash(self.to_dict())

    @property
    def label(self) -> str:
        return self.name or self.loss.name

    @property
    def run_id(self) -> str:
        """Readable and stable: dataset-model-loss-seed plus a short hash of the config."""
        return run_name(self.data.name, self.model.name, self.label, self.seed, self.config_hash())

    @staticmethod
    def from_dict(d: dict[str, Any], where: str = "config.json") -> "RunConfig":
        return _build_run(d, where, suite=d.get("suite", "suite"), seed=d.get("seed", 0))


@dataclass(frozen=True)
class SuiteConfig:
    name: str
    seeds: tuple[int, ...]
    runs: tuple[RunConfig, ...]
    path: Optional[str] = None
    description: str = ""


def config_hash(config: dict[str, Any]) -> str:
    """The one definition of a configuration's hash, computed from ``RunConfig.to_dict()`` or a stored
    config.json alike (no registry lookups): everything but the seed and the suite name. It keys run ids
    and baselines, so every writer and reader calls this function rather than hashing on its own."""
    rest = {k: v for k, v in config.items() if k not in ("seed", "suite")}
    return hashlib.sha256(json.dumps(rest, sort_keys=True, default=str).encode()).hexdigest()[:8]


MAX_NAME = 120  # characters of a run or suite directory name: well inside any file system's limit


def run_name(data: str, model: str, label: str, seed: int, config_hash: str) -> str:
    """``data-model-label-s<seed>-<hash>`` made safe; a long name loses letters of its readable part, never
    of the seed or hash, so that two runs differing only in seed or configuration never share a directory."""
    tail = f"-s{seed}-{config_hash}"
    name = safe_name(f"{data}-{model}-{label}{tail}")
    if name.endswith(tail):  # not cut (nor are names made before this rule, so their directories are found again)
        return name
    return safe_name(f"{data}-{model}-{label}")[:MAX_NAME - len(tail)] + tail


def architecture(model: dict[str, Any]) -> str:
    """A model table (``{"name": ..., params}``) as ``name(key=value, ...)``, keys sorted, ``pack`` left out: the
    networks a published protocol names (packing is the method a published row varies, not the networks)."""
    params = ", ".join(f"{k}={model[k]!r}" for k in sorted(model) if k not in ("name", "pack"))
    return f"{model.get('name')}({params})"


def safe_name(text: str) -> str:
    """A file-system-safe name: no path separators, no dot-dot, printable ASCII only."""
    cleaned = re.sub(r"[^A-Za-z0-9._+-]+", "_", str(text)).strip("._")
    return cleaned[:MAX_NAME] or "run"


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


# ---------------------------------------------------------------- validation

def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return " or ".join(_type_name(a) for a in args) + " (or omitted)"
    if origin is tuple:
        args = typing.get_args(tp)
        inner = _type_name(args[0])
        return f"list of {inner}" + (f" (length {len(args)})" if args[-1] is not Ellipsis else "")
    return {int: "integer", float: "number", str: "string", bool: "true/false"}.get(tp, str(tp))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Return ``value`` converted to ``tp`` or raise ConfigError."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(value, args[0], where)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a {_type_name(tp)}, got {value!r}")
        if args[-1] is Ellipsis:
            return tuple(_coerce(v, args[0], where) for v in value)
        if len(value) != len(args):
            raise ConfigError(f"{where} must be a {_type_name(tp)}, got {value!r}")
        return tuple(_coerce(v, a, where) for v, a in zip(value, args))
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, got {value!r}")
        if abs(value) > 2**63 - 1:  # torch counts and sizes are int64
            raise ConfigError(f"{where} is out of range, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        if not math.isfinite(value):  # TOML has inf and nan; no setting means anything with them
            raise ConfigError(f"{where} must be a finite number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return value
    return value


def _check_range(key: str, value: Any, where: str) -> None:
    if value is None:
        return
    if key in RANGES:
        op, bound = RANGES[key]
        ok = value > bound if op == ">" else value >= bound
        if not ok:
            raise ConfigError(f"{where} must be {op} {bound}, got {value!r}")
    if key in CHOICES:
        allowed = CHOICES[key]
        for v in (value if isinstance(value, tuple) else (value,)):
            if v not in allowed:
                raise ConfigError(f"{where}: {v!r} is not one of {', '.join(allowed)}{did_you_mean(str(v), list(allowed))}")
    if key == "optim.betas" and not all(0 <= b < 1 for b in value):
        raise ConfigError(f"{where} must be two numbers in [0, 1), got {list(value)!r}")
    if key == "train.ema" and not 0 < value < 1:
        raise ConfigError(f"{where} must be in (0, 1), got {value!r}")
    if key == "train.device":
        check_device(value, where)


def check_device(text: str, where: str, present: bool = False) -> str:
    """A device torch understands (cpu, cuda, cuda:1, mps, ...); with ``present``, also one this machine has.
    A suite checks only the name: it may be written on a laptop for a GPU cluster."""
    import torch
    try:
        device = torch.device(text)
    except (RuntimeError, TypeError, ValueError):
        raise ConfigError(f"{where}: {text!r} is not a torch device; accepted: cpu, cuda, cuda:N, mps") from None
    if present:
        usable = {"cpu": True, "mps": torch.backends.mps.is_available(),
                  "cuda": torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count()}
        if not usable.get(device.type, False):
            raise ConfigError(f"{where}: {text!r} is not available on this machine "
                              f"({torch.cuda.device_count()} CUDA GPU(s)); use cpu")
    return text


def _check_seeds(seeds: tuple[int, ...], where: str) -> tuple[int, ...]:
    if not seeds:
        raise ConfigError(f"{where} must list at least one seed")
    bad = [s for s in seeds if not 0 <= s <= MAX_SEED]
    if bad:
        raise ConfigError(f"{where} must be integers in 0..{MAX_SEED}, got {bad[0]!r}")
    if len(seeds) > MAX_SEEDS:
        raise ConfigError(f"{where} lists {len(seeds)} seeds; at most {MAX_SEEDS} are accepted")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{where} names a seed twice, got {list(seeds)!r}")
    return seeds


def _build_section(cls: type, table: Any, where: str, section: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table, got {table!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in table.items():
        if key not in hints:
            raise ConfigError(f"{where}: unknown key {key!r}{did_you_mean(key, names)}; accepted: {', '.join(names)}")
        kwargs[key] = _coerce(value, hints[key], f"{where}.{key}")
        _check_range(f"{section}.{key}", kwargs[key], f"{where}.{key}")
    return cls(**kwargs)


def _registries() -> dict[str, Any]:
    # Imported here so that loading the config module stays cheap and free of cycles.
    from .data import DATASETS
    from .losses import LOSSES
    from .models import MODELS
    return {"data": DATASETS, "model": MODELS, "loss": LOSSES}


def _build_named(section: str, table: Any, where: str) -> NamedConfig:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table like {{ name = \"...\" }}, got {table!r}")
    if "name" not in table:
        raise ConfigError(f"{where}: missing key 'name'")
    name = table["name"]
    if not isinstance(name, str):
        raise ConfigError(f"{where}.name must be a string, got {name!r}")
    params = {k: v for k, v in table.items() if k != "name"}
    for key, value in params.items():  # no factory parameter means anything with inf or nan (TOML has both)
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{where}.{key} must be a finite number, got {value!r}")
    registry = _registries()[section]
    skip = ("data_shape",) if section == "model" else ()
    from .plugins import resolve  # import paths (module:attr) become registry entries on first use
    resolve(section, name, where)
    checked = params
    if section == "model":  # pack is every model's parameter, handled by build_models (PacGAN packing)
        from .models import split_pack
        try:
            _, checked = split_pack(name, params)
        except ConfigError as e:
            raise ConfigError(f"{where}: {e}") from None
    registry.check_params(name, checked, where=where, skip=skip)
    if section == "loss":  # cheap to build: value checks (negative weights, ...) fail at load time, not mid-suite
        try:
            registry.build(name, **params)
        except ConfigError as e:
            raise ConfigError(f"{where}: {e}") from None
    return NAMED_SECTIONS[section](name=name, params=params)


def _build_run(merged: dict[str, Any], where: str, suite: str, seed: int) -> RunConfig:
    allowed = set(SECTIONS) | {"name", "suite", "seed", "seeds"}
    for key in merged:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {key!r}{did_you_mean(key, sorted(allowed))}; accepted: {', '.join(sorted(allowed))}")
    for section in ("data", "model", "loss"):
        if section not in merged:
            raise ConfigError(f"{where}: missing section {section!r} (set it in [defaults] or in the run)")
    name = merged.get("name")
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"{where}.name must be a string, got {name!r}")
    kwargs: dict[str, Any] = {}
    for section in ("data", "model", "loss"):
        kwargs[section] = _build_named(section, merged[section], f"{where}.{section}")
    for section, cls in SECTION_TYPES.items():
        kwargs[section] = _build_section(cls, merged.get(section, {}), f"{where}.{section}", section)
    return RunConfig(suite=suite, seed=seed, name=name, **kwargs)


def _merge(defaults: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in defaults.items()}
    for key, value in run.items():
        base = out.get(key)
        if isinstance(base, dict) and isinstance(value, dict):
            if key in NAMED_SECTIONS and "name" in value and value["name"] != base.get("name"):
                out[key] = dict(value)  # another name: the default's parameters do not apply
            else:
                out[key] = {**base, **value}
        else:
            out[key] = value
    return out


def _expand(run: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """A run whose data/model/loss is a *list* of tables stands for the grid of all combinations."""
    variants: list[dict[str, Any]] = [dict(run)]
    for section in NAMED_SECTIONS:
        value = run.get(section)
        if isinstance(value, list):
            if not value or not all(isinstance(v, dict) for v in value):
                raise ConfigError(f"{where}.{section} must be a table or a non-empty list of tables, got {value!r}")
            variants = [{**v, section: choice} for v in variants for choice in value]
    return variants


def parse_override(text: str) -> tuple[list[str], Any]:
    """``train.steps=200`` → (["train", "steps"], 200). Values are TOML literals; bare words are strings."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. train.steps=200")
    key, raw = text.split("=", 1)
    path = [p for p in key.strip().split(".") if p]
    if len(path) < 2 or path[0] not in SECTIONS:
        raise ConfigError(f"--set {text!r}: key must be SECTION.KEY with SECTION one of {', '.join(SECTIONS)}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return path, value


def _apply_overrides(table: dict[str, Any], overrides: list[tuple[list[str], Any]]) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in table.items()}
    for path, value in overrides:
        section, key = path[0], ".".join(path[1:])
        current = out.get(section, {})
        if not isinstance(current, dict):
            raise ConfigError(f"[{section}] must be a table, got {current!r} (so --set {section}.{key} cannot apply)")
        sec = dict(current)
        if section in NAMED_SECTIONS and key == "name" and value != sec.get("name"):
            sec = {}
        sec[key] = value
        out[section] = sec
    return out


def parse_suite(doc: dict[str, Any], path: str = "<suite>", overrides: list[str] | None = None,
                seeds_override: tuple[int, ...] | None = None) -> SuiteConfig:
    """``seeds_override`` (``--seeds``) replaces the suite's and every run's seeds."""
    for key in doc:
        if key not in ("suite", "defaults", "runs"):
            raise ConfigError(f"{path}: unknown table [{key}]{did_you_mean(key, ['suite', 'defaults', 'runs'])}; accepted: suite, defaults, runs")
    head = doc.get("suite", {})
    if not isinstance(head, dict):
        raise ConfigError(f"{path}: [suite] must be a table")
    for key in head:
        if key not in ("name", "seeds", "description"):
            raise ConfigError(f"{path}: [suite] unknown key {key!r}{did_you_mean(key, ['name', 'seeds', 'description'])}; accepted: name, seeds, description")
    name = head.get("name", Path(path).stem)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{path}: suite.name must be a non-empty string, got {name!r}")
    if len(name) > MAX_SUITE_NAME:
        raise ConfigError(f"{path}: suite.name is {len(name)} characters long; at most {MAX_SUITE_NAME} are accepted")
    if not SUITE_NAME.fullmatch(name):
        raise ConfigError(f"{path}: suite.name {name!r} may use only letters, digits, '.', '_', '+' and '-' "
                          f"(not starting with '.' or '_')")
    seeds = _coerce(head.get("seeds", [0]), tuple[int, ...], f"{path}: suite.seeds")
    if seeds_override is not None:
        seeds = _check_seeds(_coerce(list(seeds_override), tuple[int, ...], "--seeds"), "--seeds")
    _check_seeds(seeds, f"{path}: suite.seeds")
    description = head.get("description", "")
    defaults = doc.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ConfigError(f"{path}: [defaults] must be a table")
    for key in defaults:
        if key not in SECTIONS:
            raise ConfigError(f"{path}: [defaults] unknown section {key!r}{did_you_mean(key, list(SECTIONS))}; accepted: {', '.join(SECTIONS)}")
    runs = doc.get("runs", [{}])
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise ConfigError(f"{path}: runs must be an array of tables ([[runs]])")
    parsed_overrides = [parse_override(o) for o in overrides or []]
    out: list[RunConfig] = []
    seen: dict[str, int] = {}
    for i, run in enumerate(runs):
        where = f"{path}: runs[{i}]"
        for variant in _expand(run, where):
            merged = _apply_overrides(_merge(defaults, variant), parsed_overrides)
            run_seeds = _check_seeds(_coerce(merged.pop("seeds", seeds), tuple[int, ...], f"{where}.seeds"),
                                     f"{where}.seeds")
            if seeds_override is not None:
                run_seeds = seeds
            for seed in run_seeds:
                cfg = _build_run(merged, where, suite=name, seed=seed)
                if cfg.eval.real_stats:  # a missing or unreadable statistics file fails at load, not after training
                    from .reference_stats import load_reference_stats
                    try:
                        load_reference_stats(cfg.eval.real_stats)
                    except ConfigError as e:
                        raise ConfigError(f"{where}: eval.real_stats: {e}") from None
                if cfg.run_id in seen:
                    raise ConfigError(f"{where} duplicates runs[{seen[cfg.run_id]}] (same configuration and seed {seed})")
                seen[cfg.run_id] = i
                out.append(cfg)
    if not out:
        raise ConfigError(f"{path}: no runs; add a [[runs]] table (an empty one runs the defaults)")
    if len(out) > MAX_SEEDS:
        raise ConfigError(f"{path}: {len(out)} runs; at most {MAX_SEEDS} are accepted in one suite")
    _check_buildable(out, path)
    return SuiteConfig(name=name, seeds=seeds, runs=tuple(out), path=path, description=description)


def _check_buildable(runs: list[RunConfig], path: str) -> None:
    """Build each distinct dataset and model once: values only their factories check (a negative width, a
    missing data folder, an import path that is no dataset) fail here, at load, not in the middle of a suite."""
    import torch
    from .data import get_dataset
    from .models import build_models
    shapes: dict[str, tuple[int, ...]] = {}
    built: set[str] = set()
    with torch.random.fork_rng(devices=[]):  # weight initialisation must not move the caller's RNG
        for run in runs:
            data_key = json.dumps(run.data.to_dict(), sort_keys=True, default=str)
            if data_key not in shapes:
                try:
                    shapes[data_key] = tuple(get_dataset(run.data.name, **run.data.params).shape)
                except ConfigError as e:
                    raise ConfigError(f"{path}: {e}") from None
            model_key = json.dumps([run.model.to_dict(), shapes[data_key]], sort_keys=True, default=str)
            if model_key not in built:
                try:
                    build_models(run.model.name, shapes[data_key], **run.model.params)
                except ConfigError as e:
                    raise ConfigError(f"{path}: {e}") from None
                built.add(model_key)


def find_suite(name_or_path: str) -> Path:
    """A suite given as a path, or by name from the bundled ``suites/`` folder."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    if p.is_dir():
        raise ConfigError(f"suite {name_or_path!r} is a folder; give a suite file (.toml) or a bundled suite's name")
    for cand in (SUITES_DIR / f"{name_or_path}.toml", SUITES_DIR / name_or_path):
        if cand.is_file():
            return cand
    known = sorted(x.stem for x in SUITES_DIR.glob("*.toml")) if SUITES_DIR.is_dir() else []
    raise ConfigError(f"suite file {name_or_path!r} not found{did_you_mean(p.stem, known)}; bundled suites: {', '.join(known)}")


def load_suite(name_or_path: str | Path, overrides: list[str] | None = None,
               seeds: tuple[int, ...] | None = None) -> SuiteConfig:
    path = find_suite(str(name_or_path))
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the suite file ({e.strerror})") from None
    return parse_suite(doc, str(path), overrides, seeds)
