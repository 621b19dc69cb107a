"""Run configurations: frozen dataclasses, their one hash, and checks of every key and value.

``RunConfig`` (data, model, loss, optim, train, eval) is what a run is; ``config_hash`` keys run ids and
baselines; ``build_run`` / ``RunConfig.from_dict`` check types, ranges and choices and raise ``ConfigError``
naming the key path, the bad value and what would be accepted. Reading suite files and checking names
against the registries is ``suite_loader``'s: this module imports nothing above ``registry`` and the
metric catalogue, so every module may use it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .catalogue import EVALUATIONS
from .registry import ConfigError, did_you_mean

__all__ = [
    "ConfigError", "DataConfig", "ModelConfig", "LossConfig", "OptimConfig", "TrainConfig",
    "EvalConfig", "RunConfig", "SuiteConfig", "SearchTag", "config_hash", "build_run", "build_section",
    "named_section", "searched_value", "SEARCH_ALIASES", "MAX_SEED", "MAX_SEEDS", "check_device", "check_seeds",
    "check_updates", "UPDATES", "BN_STATS",
]

MAX_SEED = 2**32 - 1     # seeds are mixed into torch seeds as seed * 1_000_003 + salt, which must stay below 2**63
MAX_SEEDS = 10_000       # seeds per suite or --seeds: a typo such as 0-100000000000 must not fill memory


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
    updates: str = "alternating"       # alternating: n_critic D steps, then G against the updated D; simultaneous:
                                       # one step, both gradients at the current parameters (ALI / PacGAN)
    bn_stats: str = "torch"            # G's batch-norm population statistics: torch's running statistics, or
                                       # pacgan (Blocks' per-step update of PacGAN's code, see batch_norm.py)


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

UPDATES = ("alternating", "simultaneous")
BN_STATS = ("torch", "pacgan")
# Keys added after runs were recorded, with the value every earlier run had: left out of config.json while they
# hold it, so that adding them changed no run id (config hash) and no stored result.
UNSET_WHEN = {"train": {"updates": "alternating", "bn_stats": "torch"}, "eval": {"real_stats": None}}

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
    "train.updates": UPDATES,
    "train.bn_stats": BN_STATS,
    "eval.metrics": EVALUATIONS,  # from the metric catalogue
}


# Searched keys that name one element of a tuple field: Adam's two betas are searched (and reported) one by one.
SEARCH_ALIASES: dict[str, tuple[str, str, int]] = {"optim.beta1": ("optim", "betas", 0),
                                                    "optim.beta2": ("optim", "betas", 1)}


@dataclass(frozen=True)
class SearchTag:
    """Where a run sits in a hyperparameter search (``search_space`` expands suites into such runs): ``space``
    identifies the search (its distributions, sampler, sampler seed and the run's label), ``trial`` is the
    trial's index in it, ``values`` the trial's sampled value of every searched key (``optim.lr_d``,
    ``optim.beta1``, ``loss.gp_weight``, ...; the run's sections hold the same values) and ``log_scale`` the
    keys drawn on a log scale. It is part of the configuration, so two trials never share a run id."""
    space: str
    trial: int
    values: dict[str, Any] = field(default_factory=dict)
    log_scale: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"space": self.space, "trial": self.trial, "values": dict(self.values),
                "log_scale": list(self.log_scale)}


def searched_value(config: dict[str, Any], key: str) -> Any:
    """The value of a searched ``key`` (``section.name``, or an alias such as ``optim.beta1``) in a run's
    ``to_dict()`` layout; None where the run does not set it."""
    section, _, name = key.partition(".")
    if key in SEARCH_ALIASES:
        section, name, index = SEARCH_ALIASES[key]
        pair = (config.get(section) or {}).get(name)
        return pair[index] if isinstance(pair, (list, tuple)) and len(pair) > index else None
    table = config.get(section)
    return table.get(name) if isinstance(table, dict) else None


def _section_dict(section: str, cfg: Any) -> dict[str, Any]:
    """A section as config.json holds it: ``UNSET_WHEN``'s keys left out while they keep their old value."""
    d = plain(dataclasses.asdict(cfg))
    for key, old in UNSET_WHEN.get(section, {}).items():
        if d[key] == old:
            del d[key]
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
    search: Optional[SearchTag] = None  # the trial this run belongs to, in a suite with a [search]

    def to_dict(self) -> dict[str, Any]:
        d = {
            "suite": self.suite, "seed": self.seed, "name": self.name,
            "data": self.data.to_dict(), "model": self.model.to_dict(), "loss": self.loss.to_dict(),
            "optim": plain(dataclasses.asdict(self.optim)),
            "train": _section_dict("train", self.train),
            "eval": _section_dict("eval", self.eval),
        }
        if self.search is not None:  # absent outside a search, so the run ids of other suites do not change
            d["search"] = self.search.to_dict()
        return d

    def config_hash(self) -> str:
        """Short hash of everything that defines the run except the seed and the suite name."""
        return config_hash(self.to_dict())

    @property
    def label(self) -> str:
        return self.name or self.loss.name

    @property
    def run_id(self) -> str:
        """Readable and stable: dataset-model-loss-seed plus a short hash of the config (a trial of a search:
        dataset-model-loss-t<trial>-seed)."""
        label = self.label if self.search is None else f"{self.label}-t{self.search.trial}"
        return run_name(self.data.name, self.model.name, label, self.seed, self.config_hash())

    @staticmethod
    def from_dict(d: dict[str, Any], where: str = "config.json",
                  named: Callable[[str, Any, str], NamedConfig] | None = None) -> "RunConfig":
        """A run from ``to_dict``'s layout (config.json, a worker's copy), every key and value checked; the
        data/model/loss names are looked up in their registries only with ``named``
        (``suite_loader.run_from_dict`` passes its ``build_named``)."""
        return build_run(d, where, suite=d.get("suite", "suite"), seed=d.get("seed", 0),
                         named=named or named_section)


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


def plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
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


def coerce(value: Any, tp: Any, where: str) -> Any:
    """Return ``value`` converted to ``tp`` or raise ConfigError."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return coerce(value, args[0], where)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a {_type_name(tp)}, got {value!r}")
        if args[-1] is Ellipsis:
            return tuple(coerce(v, args[0], where) for v in value)
        if len(value) != len(args):
            raise ConfigError(f"{where} must be a {_type_name(tp)}, got {value!r}")
        return tuple(coerce(v, a, where) for v, a in zip(value, args))
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


def check_updates(train: TrainConfig, loss_n_critic: int, where: str) -> None:
    """A simultaneous step takes D's and G's gradients at the same parameters, so D steps once per G step;
    ``loss_n_critic`` is the loss's customary value, used where ``train.n_critic`` is unset."""
    n_critic = train.n_critic or loss_n_critic
    if train.updates == "simultaneous" and n_critic != 1:
        source = "train.n_critic" if train.n_critic else "the loss's customary n_critic"
        raise ConfigError(f"{where}: train.updates = 'simultaneous' takes one D and one G step together and needs "
                          f"n_critic = 1, got {n_critic} ({source}); set train.n_critic = 1 or "
                          f"train.updates = 'alternating'")


def check_seeds(seeds: tuple[int, ...], where: str) -> tuple[int, ...]:
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


def build_section(cls: type, table: Any, where: str, section: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table, got {table!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in table.items():
        if key not in hints:
            raise ConfigError(f"{where}: unknown key {key!r}{did_you_mean(key, names)}; accepted: {', '.join(names)}")
        kwargs[key] = coerce(value, hints[key], f"{where}.{key}")
        _check_range(f"{section}.{key}", kwargs[key], f"{where}.{key}")
    return cls(**kwargs)


def named_section(section: str, table: Any, where: str) -> NamedConfig:
    """A data/model/loss table checked for shape only: a string name and finite parameters. Whether the name
    is registered and the parameters fit its factory is the suite loader's check (``suite_loader``), which
    sits above the registries; this module stays below them."""
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
    return NAMED_SECTIONS[section](name=name, params=params)


def build_run(merged: dict[str, Any], where: str, suite: str, seed: int,
              named: Callable[[str, Any, str], NamedConfig] = named_section) -> RunConfig:
    """One run from its merged tables; ``named`` builds the data/model/loss sections (the suite loader passes
    its registry-checking builder)."""
    allowed = set(SECTIONS) | {"name", "suite", "seed", "seeds", "search"}
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
        kwargs[section] = named(section, merged[section], f"{where}.{section}")
    for section, cls in SECTION_TYPES.items():
        kwargs[section] = build_section(cls, merged.get(section, {}), f"{where}.{section}", section)
    check_updates(kwargs["train"], 1, where)  # an explicit n_critic; the loss's own is checked where it is built
    run = RunConfig(suite=suite, seed=seed, name=name, **kwargs)
    if merged.get("search") is None:
        return run
    tag = _search_tag(merged["search"], f"{where}.search")
    stored = run.to_dict()
    for key, value in tag.values.items():  # the tag repeats the trial's values: they must be the run's
        if searched_value(stored, key) != value:
            raise ConfigError(f"{where}.search.values: {key} = {value!r} but the run has "
                              f"{searched_value(stored, key)!r}")
    return dataclasses.replace(run, search=tag)


MAX_SEARCH_ID = 64  # characters of a search's identity (search_space writes 8 hex digits)


def _search_tag(table: Any, where: str) -> SearchTag:
    """A stored ``search`` entry (config.json) checked: the search's identity, the trial, its values."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table (space, trial, values, log_scale), got {table!r}")
    unknown = sorted(set(table) - {"space", "trial", "values", "log_scale"})
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; accepted: space, trial, values, log_scale")
    space = table.get("space")
    if not isinstance(space, str) or not re.fullmatch(r"[0-9a-f]{1,%d}" % MAX_SEARCH_ID, space):
        raise ConfigError(f"{where}.space must be a hexadecimal string, got {space!r}")
    trial = coerce(table.get("trial"), int, f"{where}.trial")
    if not 0 <= trial < MAX_SEEDS:
        raise ConfigError(f"{where}.trial must be in 0..{MAX_SEEDS - 1}, got {trial!r}")
    values = table.get("values", {})
    if not isinstance(values, dict) or not all(isinstance(k, str) and "." in k for k in values):
        raise ConfigError(f"{where}.values must be a table of searched keys (section.name), got {values!r}")
    for key, value in values.items():
        if isinstance(value, float) and not math.isfinite(value) or not isinstance(value, (bool, int, float, str)):
            raise ConfigError(f"{where}.values.{key} must be a finite number, a string or true/false, got {value!r}")
    log_scale = coerce(table.get("log_scale", []), tuple[str, ...], f"{where}.log_scale")
    if not set(log_scale) <= set(values):
        raise ConfigError(f"{where}.log_scale names keys that are not searched: {sorted(set(log_scale) - set(values))}")
    return SearchTag(space=space, trial=trial, values=dict(values), log_scale=log_scale)


