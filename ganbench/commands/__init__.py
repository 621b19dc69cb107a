"""One module per subcommand group (eval, report, check, bench, ...).

Each module defines ``register(subparsers)``, which adds its parsers with a
``func`` default; ``cli.main`` calls every ``register`` found here. Commands
parse arguments and call the API, nothing else.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Callable


SHARED = "shared"  # the helpers every command uses (exit codes, flag types): not a command group


def registrars() -> list[Callable[[Any], None]]:
    out = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name == SHARED:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        out.append(module.register)
    return out
