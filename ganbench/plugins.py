"""User-defined losses, models, datasets and extractors, by import path or entry point.

A suite may name ``"mypkg.losses:focal_ns"`` wherever a registered name is
accepted; the object is imported (never evaluated as text), checked for the
right kind and added to the registry under that exact string. Installed
packages can also register under the ``ganbench.losses``, ``ganbench.models``,
``ganbench.datasets`` and ``ganbench.extractors`` entry-point groups.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import re
from typing import Any

from .registry import ConfigError, Registry

IMPORT_PATH = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")
GROUPS = {"loss": "ganbench.losses", "model": "ganbench.models", "data": "ganbench.datasets",
          "features": "ganbench.extractors"}
_loaded_groups: set[str] = set()


def registry_for(section: str) -> Registry[Any]:
    if section == "loss":
        from .losses import LOSSES as reg
    elif section == "model":
        from .models import MODELS as reg
    elif section == "data":
        from .data import DATASETS as reg
    elif section == "features":
        from .features import EXTRACTORS as reg
    else:
        raise ValueError(f"no registry for section {section!r}")
    return reg


def import_object(path: str, where: str = "") -> Any:
    """Import ``module.sub:attr.inner``; every failure is a one-line ConfigError."""
    loc = f"{where}: " if where else ""
    if not IMPORT_PATH.match(path):
        raise ConfigError(f"{loc}{path!r} is not an import path of the form 'package.module:object'")
    module_name, attr_path = path.split(":", 1)
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise ConfigError(f"{loc}cannot import module {module_name!r} for plugin {path!r}: {e}") from None
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"{loc}module {module_name!r} has no attribute {attr_path!r} (plugin {path!r})") from None
    return obj


def load_entry_points(section: str) -> None:
    """Register every installed entry point of the section's group (once per process)."""
    group = GROUPS[section]
    if group in _loaded_groups:
        return
    _loaded_groups.add(group)
    reg = registry_for(section)
    for ep in importlib.metadata.entry_points(group=group):
        if ep.name in reg:
            continue
        try:
            obj = ep.load()
        except Exception as e:  # a broken third-party package must not break ganbench ls
            raise ConfigError(f"entry point {ep.name!r} in group {group!r} ({ep.value}) failed to load: {e}") from None
        reg.add(ep.name, _checked(section, obj, f"entry point {ep.name!r}"), "")


def _checked(section: str, obj: Any, what: str) -> Any:
    if not callable(obj):
        raise ConfigError(f"{what} is a {type(obj).__name__}, not a class or function ({section} plugins must be callable)")
    return obj


def resolve(section: str, name: str, where: str = "") -> None:
    """Make ``name`` known to the section's registry: entry points, then import paths."""
    reg = registry_for(section)
    if name in reg:
        return
    load_entry_points(section)
    if name in reg or ":" not in name:
        return  # unknown plain names get the registry's did-you-mean error from the caller
    obj = import_object(name, where)
    reg.add(name, _checked(section, obj, f"{where}: plugin {name!r}" if where else f"plugin {name!r}"), "")
