"""Finding plugin objects (import paths, entry points) and registering them from Python (``register_*``).

Everything found goes through ``adapters.adapt`` and is added to the section's registry.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import re
from typing import Any, Callable

from ..data import DATASETS
from ..features import EXTRACTORS
from ..losses import LOSSES
from ..models import MODELS
from ..registry import ConfigError, Registry, did_you_mean, one_line
from .adapters import KINDS, adapt

IMPORT_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
GROUPS = {"loss": "ganbench.losses", "model": "ganbench.models", "data": "ganbench.datasets",
          "features": "ganbench.extractors"}
REGISTRIES: dict[str, Registry[Any]] = {"loss": LOSSES, "model": MODELS, "data": DATASETS, "features": EXTRACTORS}
_loaded_groups: set[str] = set()
_broken: dict[tuple[str, str], str] = {}  # (section, entry-point name) -> why it failed to load


def registry_for(section: str) -> Registry[Any]:
    if section not in REGISTRIES:
        raise ValueError(f"no registry for section {section!r}; accepted: {', '.join(REGISTRIES)}")
    return REGISTRIES[section]


# ---------------------------------------------------------------- finding objects

def import_object(path: str, where: str = "") -> Any:
    """Import ``module.sub:attr.inner``; every failure is a one-line ConfigError."""
    loc = f"{where}: " if where else ""
    if not isinstance(path, str) or not IMPORT_PATH.match(path):
        raise ConfigError(f"{loc}{path!r} is not an import path of the form 'package.module:object'")
    module_name, attr_path = path.split(":", 1)
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        raise ConfigError(f"{loc}cannot import module {module_name!r} for plugin {path!r}: {e}") from None
    except Exception as e:  # a plugin module that fails while importing (SyntaxError, its own errors)
        raise ConfigError(f"{loc}importing module {module_name!r} for plugin {path!r} failed: {one_line(e)}") from None
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            public = [n for n in dir(obj) if not n.startswith("_")]
            raise ConfigError(f"{loc}module {module_name!r} has no attribute {attr_path!r}"
                              f"{did_you_mean(part, public)} (plugin {path!r})")
        obj = getattr(obj, part)
    return obj


def load_entry_points(section: str) -> None:
    """Register every installed entry point of the section's group (once per process).

    A broken entry point does not stop the others: it is listed as broken and using it raises its error.
    Built-in names win over entry points of the same name.
    """
    group = GROUPS[section]
    if group in _loaded_groups:
        return
    _loaded_groups.add(group)
    reg = registry_for(section)
    for ep in importlib.metadata.entry_points(group=group):
        if ep.name in reg:
            continue
        what = f"entry point {ep.name!r} ({ep.value}, group {group!r})"
        try:
            factory = adapt(section, ep.load(), ep.name, what)
        except Exception as e:  # ConfigError from the checks, or anything the package raises on import
            msg = str(e) if isinstance(e, ConfigError) else f"{what} failed to load: {one_line(e)}"
            _broken[(section, ep.name)] = msg
            reg.add(ep.name, _raiser(msg), f"BROKEN: {msg}")
            continue
        reg.add(ep.name, factory, "")


def _raiser(msg: str) -> Callable[..., Any]:
    def broken(**params: Any) -> Any:
        raise ConfigError(msg)
    return broken


def resolve(section: str, name: str, where: str = "") -> None:
    """Make ``name`` known to the section's registry: entry points, then import paths."""
    loc = f"{where}: " if where else ""
    if (section, name) in _broken:
        raise ConfigError(f"{loc}{_broken[(section, name)]}")
    reg = registry_for(section)
    if name in reg:
        return
    load_entry_points(section)
    if (section, name) in _broken:
        raise ConfigError(f"{loc}{_broken[(section, name)]}")
    if name in reg or ":" not in name:
        return  # unknown plain names get the registry's did-you-mean error from the caller
    if section == "model" and name.startswith("external:"):
        raise ConfigError(f"{loc}model {name!r} is an external generator evaluated by 'ganbench eval-generator'; "
                          f"there is no ganbench model to rebuild it from")
    obj = import_object(name, where)
    try:
        factory = adapt(section, obj, name, f"{KINDS[section]} plugin {name!r}")
    except ConfigError as e:
        raise ConfigError(f"{loc}{e}") from None
    reg.add(name, factory, "")


def resolve_missing(reg: Registry[Any], name: str, where: str = "") -> None:
    """Hook for ``Registry.get``: an unknown name may be an import path or an installed entry point."""
    section = next((s for s, r in REGISTRIES.items() if r is reg), None)
    if section is not None:  # other registries (tests, extensions) have nothing to resolve
        resolve(section, name, where)


# ---------------------------------------------------------------- registering from Python

def _register(section: str, name: str, description: str) -> Callable[[Any], Any]:
    if not isinstance(name, str) or not name or ":" in name:
        raise ConfigError(f"{KINDS[section]} name must be a non-empty string without ':' "
                          f"(':' marks import paths), got {name!r}")

    def deco(obj: Any) -> Any:
        reg = registry_for(section)
        if name in reg and getattr(reg.get(name).factory, "__wrapped__", None) is obj:
            return obj  # the same object registered again (module re-imported): nothing to do
        reg.add(name, adapt(section, obj, name, f"{KINDS[section]} {name!r}"), description)
        return obj
    return deco


def register_loss(name: str, description: str = "") -> Callable[[Any], Any]:
    """``@register_loss("focal-ns")`` on a loss factory (see the module docstring for the contract)."""
    return _register("loss", name, description)


def register_model(name: str, description: str = "") -> Callable[[Any], Any]:
    """``@register_model("my-gan")`` on ``factory(data_shape, **params) -> (G, D)``."""
    return _register("model", name, description)


def register_dataset(name: str, description: str = "") -> Callable[[Any], Any]:
    """``@register_dataset("my-data")`` on ``factory(**params) -> Dataset | Tensor | {split: Tensor}``."""
    return _register("data", name, description)


def register_extractor(name: str, description: str = "") -> Callable[[Any], Any]:
    """``@register_extractor("my-features")`` on ``factory(**params) -> Extractor | module | function``."""
    return _register("features", name, description)
