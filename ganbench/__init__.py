"""ganbench: compare GAN loss functions with evidence.

Train standard GAN configurations under each loss, evaluate them (IS, FID,
KID, precision/recall, mode collapse, stability), tabulate, report, and gate
CI on regressions. See docs/architecture.md for the module map.
"""
from .registry import RESOLVERS
from .version import __version__

# Public helpers, imported lazily so that ``import ganbench`` stays cheap (no torch until needed).
_LAZY = {"evaluate_generator": "external", "register_loss": "plugins", "register_model": "plugins",
         "register_dataset": "plugins", "register_extractor": "plugins"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'ganbench' has no attribute {name!r}")


def _resolve_plugin(registry, name: str, where: str) -> None:
    # The package root sits above every module, so wiring the plugin loader into the registries here keeps
    # the import graph one-way (registry <- data, losses, models, features <- plugins); plugins load on first use.
    from .plugins import resolve_missing
    resolve_missing(registry, name, where)


if _resolve_plugin not in RESOLVERS:
    RESOLVERS.append(_resolve_plugin)
