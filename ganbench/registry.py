"""A small generic registry: names -> factories, with did-you-mean errors.

Every pluggable thing in ganbench (losses, models, datasets, feature
extractors) lives in one ``Registry``; the suite loader validates names and
parameters against it before any training starts.
"""
from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """Bad user input (suite file, CLI flag, plugin). The message is one line for people."""


def one_line(e: BaseException) -> str:
    """``TypeName: message`` on one line: how an error raised by someone else's code enters a message of ours."""
    return " ".join(f"{type(e).__name__}: {e}".split())


def message_line(e: BaseException) -> str:
    """An error's message on one line, without its type: for our own errors (written for people) and for
    messages whose type the surrounding text already says."""
    return " ".join(str(e).split())


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    factory: Callable[..., T]
    description: str


def did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


# Resolvers of names a registry does not hold: ``(registry, name, where) -> None``, adding an entry when
# they can. ganbench's package root installs the plugin resolver (import paths, entry points), so that this
# module, at the bottom of the import graph, knows nothing of plugins (which import every registry).
RESOLVERS: list[Callable[["Registry[Any]", str, str], None]] = []


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind  # "loss", "model", ... used in messages
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, description: str = "") -> Callable[[Callable[..., T]], Callable[..., T]]:
        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            self.add(name, factory, description)
            return factory

        return deco

    def add(self, name: str, factory: Callable[..., T], description: str = "") -> None:
        if name in self._entries and self._entries[name].factory is not factory:
            raise ConfigError(f"{self.kind} {name!r} is already registered")
        doc = description or (inspect.getdoc(factory) or "").split("\n")[0]
        self._entries[name] = Entry(name, factory, doc)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def entries(self) -> list[Entry[T]]:
        return [self._entries[n] for n in self.names()]

    def get(self, name: str, where: str = "") -> Entry[T]:
        if name not in self._entries:
            # An unknown name may be an import path ("pkg.mod:obj") or an installed entry point: resolving
            # here lets get_loss/build_models/get_dataset/get_extractor and worker processes find plugins.
            for resolver in RESOLVERS:
                resolver(self, name, where)
        if name not in self._entries:
            loc = f"{where}: " if where else ""
            raise ConfigError(
                f"{loc}unknown {self.kind} {name!r}{did_you_mean(name, self.names())}; "
                f"choose one of: {', '.join(self.names())}"
            )
        return self._entries[name]

    def check_params(self, name: str, params: dict[str, Any], where: str = "", skip: tuple[str, ...] = ()) -> None:
        """Raise ConfigError unless ``params`` bind to the factory's keyword arguments."""
        factory = self.get(name, where).factory
        check_signature(factory, params, f"{self.kind} {name!r}", where, skip)

    def build(self, name: str, /, *args: Any, **params: Any) -> T:
        return self.get(name).factory(*args, **params)


def check_signature(fn: Callable[..., Any], params: dict[str, Any], what: str, where: str = "",
                    skip: tuple[str, ...] = ()) -> None:
    """Check that ``params`` are accepted by ``fn`` as keywords (positional ``skip`` names are supplied by ganbench)."""
    loc = f"{where}: " if where else ""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    accepts_kwargs = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    allowed = [n for n, p in sig.parameters.items()
               if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in skip]
    if not accepts_kwargs:
        for key in params:
            if key not in allowed:
                raise ConfigError(
                    f"{loc}unknown parameter {key!r} for {what}{did_you_mean(key, allowed)}; "
                    f"accepted: {', '.join(allowed) or 'none'}"
                )
    missing = [n for n, p in sig.parameters.items()
               if n not in skip and p.default is p.empty
               and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in params]
    if missing:
        raise ConfigError(f"{loc}{what} needs parameter(s): {', '.join(missing)}")
    for key, value in params.items():
        p = sig.parameters.get(key)
        if p is None or p.default is p.empty or p.default is None or value is None:
            continue
        expected = type(p.default)
        ok = isinstance(value, expected) or (expected is float and isinstance(value, int) and not isinstance(value, bool))
        if expected is int and isinstance(value, bool):
            ok = False
        if expected in (tuple, list) and isinstance(value, (tuple, list)):
            ok = True
        if not ok:
            raise ConfigError(
                f"{loc}{what} parameter {key!r} must be {expected.__name__}, got {type(value).__name__} {value!r}"
            )
