"""Suite files: strict TOML loading into frozen run configurations, names checked against the registries.

A suite is a grid: ``[suite]`` (name, seeds), ``[defaults]`` (one table per
section) and ``[[runs]]`` (each overrides the defaults section by section); an
optional ``[search]`` turns each run into trials drawn from a space (``search_space``).
Every key is checked: unknown tables and keys, wrong types, out-of-range
values and unknown loss/model/dataset names raise ``ConfigError`` naming the
file, the key path, the bad value and what would be accepted.

Merging rule: a run's section is laid over the default section key by key;
when a run names a *different* data/model/loss than the defaults, the default
parameters of that section are dropped (they belong to the other name).

This module sits above the registries (data, losses, models, plugins) that it checks names against;
``config`` below it holds the dataclasses and the checks that need no registry.
"""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import torch

from .config import (MAX_SEEDS, NAMED_SECTIONS, SECTIONS, ConfigError, NamedConfig, RunConfig, SuiteConfig,
                     build_run, check_seeds, check_updates, coerce, named_section)
from .data import DATASETS, get_dataset
from .losses import LOSSES
from .models import MODELS, build_models, split_pack
from .plugins import resolve
from .reference_stats import load_reference_stats
from .registry import did_you_mean
from .search_space import expand_trials, parse_search, run_search

__all__ = ["load_suite", "parse_suite", "parse_override", "find_suite", "run_from_dict", "build_named",
           "SUITES_DIR", "MAX_SUITE_NAME"]

SUITES_DIR = Path(__file__).resolve().parent / "suites"  # package data: found in a wheel install too
MAX_SUITE_NAME = 100     # a suite name is a folder name (results/<suite>), well inside file-system limits
SUITE_NAME = re.compile(r"[A-Za-z0-9+-][A-Za-z0-9._+-]*")  # what config.safe_name leaves unchanged


REGISTRIES = {"data": DATASETS, "model": MODELS, "loss": LOSSES}


def build_named(section: str, table: Any, where: str) -> NamedConfig:
    """A data/model/loss table whose name is registered (or a plugin's import path / entry point, loaded
    here) and whose parameters bind to its factory; a loss is built, so its value checks fail at load."""
    cfg = named_section(section, table, where)
    name, params = cfg.name, cfg.params
    registry = REGISTRIES[section]
    skip = ("data_shape",) if section == "model" else ()
    resolve(section, name, where)  # import paths (module:attr) become registry entries on first use
    checked = params
    if section == "model":  # pack is every model's parameter, handled by build_models (PacGAN packing)
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
    return cfg


def run_from_dict(d: dict[str, Any], where: str = "config.json") -> RunConfig:
    """``RunConfig.from_dict`` with the names checked as a suite's are (a plugin's import path loaded, an
    external generator's config.json refused): how a worker or an evaluation rebuilds a stored run."""
    return RunConfig.from_dict(d, where, named=build_named)


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
    tables = ["suite", "defaults", "runs", "search"]
    for key in doc:
        if key not in tables:
            raise ConfigError(f"{path}: unknown table [{key}]{did_you_mean(key, tables)}; "
                              f"accepted: {', '.join(tables)}")
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
    seeds = coerce(head.get("seeds", [0]), tuple[int, ...], f"{path}: suite.seeds")
    if seeds_override is not None:
        seeds = check_seeds(coerce(list(seeds_override), tuple[int, ...], "--seeds"), "--seeds")
    check_seeds(seeds, f"{path}: suite.seeds")
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
    search = parse_search(doc.get("search"), path)
    out: list[RunConfig] = []
    seen: dict[str, int] = {}
    stats_checked: set[str] = set()  # each statistics file read once, however many runs name it
    for i, run in enumerate(runs):
        where = f"{path}: runs[{i}]"
        run, own_search = run_search(run, search, where)
        for variant in _expand(run, where):
            merged = _apply_overrides(_merge(defaults, variant), parsed_overrides)
            run_seeds = check_seeds(coerce(merged.pop("seeds", seeds), tuple[int, ...], f"{where}.seeds"),
                                     f"{where}.seeds")
            if seeds_override is not None:
                run_seeds = seeds
            trials = expand_trials(search, own_search, merged, where,
                                   lambda d, w: build_run(d, w, suite=name, seed=run_seeds[0], named=build_named))
            if len(out) + len(trials) * len(run_seeds) > MAX_SEEDS:  # before building them all
                raise ConfigError(f"{path}: more than {MAX_SEEDS} runs; at most {MAX_SEEDS} are accepted in one suite")
            for trial, seed in ((t, s) for t in trials for s in run_seeds):
                cfg = build_run(trial, where, suite=name, seed=seed, named=build_named)
                if cfg.eval.real_stats and cfg.eval.real_stats not in stats_checked:
                    try:  # a missing or unreadable statistics file fails at load, not after training
                        load_reference_stats(cfg.eval.real_stats)
                    except ConfigError as e:
                        raise ConfigError(f"{where}: eval.real_stats: {e}") from None
                    stats_checked.add(cfg.eval.real_stats)
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
    missing data folder, an import path that is no dataset) fail here, at load, not in the middle of a suite;
    so does simultaneous training of a loss whose customary n_critic is not 1."""
    shapes: dict[str, tuple[int, ...]] = {}
    built: set[str] = set()
    with torch.random.fork_rng(devices=[]):  # weight initialisation must not move the caller's RNG
        for run in runs:
            if run.train.updates == "simultaneous" and run.train.n_critic is None:
                check_updates(run.train, LOSSES.build(run.loss.name, **run.loss.params).n_critic,
                              f"{path}: run {run.label!r}")
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
