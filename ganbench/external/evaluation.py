"""Evaluating an external generator (``evaluate_generator``): its latents drawn exactly as ganbench draws a
trained run's (same seed, same ``sample_latent``, so the same network gives the same numbers), the metrics of
``ganbench.evaluate.measure_generator`` and, given ``out``, an ordinary run directory (``config.json``,
``status.json``, ``samples.png``, ``metrics.json`` last) that ``report``, ``baseline`` and ``check --results``
read like any other.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

import torch
from torch import nn

from ..config import MAX_SEED, EvalConfig, build_section, config_hash, plain, run_name
from ..data import get_dataset
from ..files import atomic_write_json, atomic_write_text
from ..models import device_of
from ..modes import MIN_SPREAD_RATIO
from ..registry import ConfigError, one_line
from ..suite_loader import build_named
from ..results import CONFIG, METRICS, SAMPLES, STATUS, run_dir_for
from .generators import ExternalGenerator, load_external

__all__ = ["evaluate_generator", "external_config", "run_id_for", "DEFAULT_OUT"]

DEFAULT_OUT = Path("results") / "external"


def _check_output(G: ExternalGenerator, ds: Any) -> None:
    """A trial batch on its own RNG: the sample shape must be the data's, images must stay in [-1, 1]."""
    with torch.no_grad():
        x = G(G.sample_latent(4, torch.Generator().manual_seed(0)).to(device_of(G)))
    if tuple(x.shape) != (4, *ds.shape):
        raise ConfigError(f"generator {G.source['name']!r} gives samples of shape {tuple(x.shape[1:])}; "
                          f"dataset {ds.name!r} has shape {tuple(ds.shape)}")
    if ds.kind == "images" and torch.isfinite(x).all() and (x.min() < -1.001 or x.max() > 1.001):
        raise ConfigError(f"generator {G.source['name']!r} gives images in [{float(x.min()):.3g}, "
                          f"{float(x.max()):.3g}]; ganbench compares images scaled to [-1, 1]")


def external_config(G: ExternalGenerator, data: dict[str, Any], eval_cfg: EvalConfig, seed: int,
                    name: Optional[str], suite: str) -> dict[str, Any]:
    """config.json of an external run: the layout of ``RunConfig.to_dict`` with nothing trained."""
    model = {"name": f"external:{G.source['name']}", "format": G.source["format"], "z_dim": G.z_dim,
             "latent": G.latent}
    for key in ("class", "init_args"):
        if key in G.source:
            model[key] = G.source[key]
    return {"suite": suite, "seed": seed, "name": name, "data": data, "model": model,
            "loss": {"name": "external"}, "optim": {}, "train": {}, "eval": plain(eval_cfg.__dict__)}


def run_id_for(config: dict[str, Any]) -> str:
    """As ``RunConfig.run_id``: data-model-label-seed-hash; the file's hash and path stay out of it, so a
    new version of the same generator lands in the same run directory and meets the same baseline row."""
    return run_name(config["data"]["name"], config["model"]["name"], config["name"] or config["loss"]["name"],
                    config["seed"], config_hash(config))


def evaluate_generator(generator: Any, *, data: str | dict[str, Any], features: Optional[str] = None,
                       n: Optional[int] = None, out: str | Path | None = None, seed: int = 0,
                       z_dim: Optional[int] = None, latent: Optional[str] = None, name: Optional[str] = None,
                       cls: Optional[str] = None, init_args: Optional[dict[str, Any]] = None,
                       eval_config: EvalConfig | dict[str, Any] | None = None, suite: str = "external",
                       device: str = "cpu") -> dict[str, Any]:
    """Evaluate an external generator; with ``out``, write the run directory ``out/<run_id>``.

    ``data`` is a dataset name or ``{"name": ..., **params}``; ``features`` the extractor (default: by data
    kind); ``n`` the number of generated samples; ``eval_config`` any other evaluation settings (an
    ``EvalConfig`` or a dict of its keys). ``seed`` picks the latent stream exactly as a trained run's seed
    does. Returns the metrics.json content plus ``run_dir`` (None without ``out``).
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"--seed must be an int in 0..{MAX_SEED}, got {seed!r}")
    if not isinstance(data, (str, Mapping)):
        raise ConfigError(f"data must be a dataset name or a table {{'name': ..., **params}}, got {data!r}")
    data_table = {"name": data} if isinstance(data, str) else dict(data)
    data_cfg = build_named("data", data_table, "--data")
    table = dict(eval_config.__dict__) if isinstance(eval_config, EvalConfig) else dict(eval_config or {})
    if features is not None:
        table["features"] = features
    if n is not None:
        table["n_samples"] = n
    eval_cfg = build_section(EvalConfig, table, "eval", "eval")
    if eval_cfg.features is not None:
        from ..features import EXTRACTORS
        EXTRACTORS.get(eval_cfg.features, "--features")  # unknown names fail before anything is loaded
    ds = get_dataset(data_cfg.name, **data_cfg.params)
    was_training = generator.training if isinstance(generator, nn.Module) else None
    try:
        G = load_external(generator, cls=cls, init_args=init_args, z_dim=z_dim, latent=latent, device=device)
        _check_output(G, ds)
        config = external_config(G, data_cfg.to_dict(), eval_cfg, seed, name, suite)
        run_id = run_id_for(config)
        run_dir = None if out is None else run_dir_for(out, run_id)
        # Nothing is written before the evaluation succeeds: a failed re-evaluation (say, of a new version of the
        # generator) leaves the results of the last good one as they were.
        result = _evaluate(G, ds, eval_cfg, seed, run_id)
        result["config"] = config
        if run_dir is not None:
            _write_run(run_dir, result, G, ds, seed)
    finally:
        if was_training is not None:
            generator.train(was_training)  # a caller's module is left in the mode it came in
    return {**result, "run_dir": None if run_dir is None else str(run_dir)}


def _write_run(run_dir: Path, result: dict[str, Any], G: ExternalGenerator, ds: Any, seed: int) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / METRICS).unlink(missing_ok=True)  # the run is incomplete until the new metrics.json lands
    atomic_write_json(run_dir / CONFIG, result["config"])
    atomic_write_json(run_dir / STATUS, {"status": result["status"], "steps": None,
                                         "wall_time": result["wall_time"], "reason": result["reason"]})
    try:
        from ..plots import save_samples
        save_samples(G, ds, run_dir / SAMPLES, seed=seed, title=G.source["name"])
        (run_dir / "samples.error.txt").unlink(missing_ok=True)  # of an earlier figure that failed
    except Exception as e:  # a figure must never cost an evaluation
        atomic_write_text(run_dir / "samples.error.txt", one_line(e) + "\n")
    atomic_write_json(run_dir / METRICS, result)


def _evaluate(G: ExternalGenerator, ds: Any, cfg: EvalConfig, seed: int, run_id: str) -> dict[str, Any]:
    from .. import evaluate as core
    t0 = time.perf_counter()
    result: dict[str, Any] = {"run_id": run_id, "status": "finished", "steps": None, "reason": ""}
    try:
        result.update(core.measure_generator(G, ds, cfg, seed=seed))
    except FloatingPointError as e:
        size = ds.split_size(cfg.split)
        n_real = min(cfg.n_real or cfg.n_samples, size) if size is not None else cfg.n_real or cfg.n_samples
        result.update({"status": "diverged", "metrics": {}, "floor": {}, "reason": str(e),
                       "provenance": core.provenance(ds, core.extractor_for(ds, cfg), cfg, n_real, cfg.n_samples,
                                                     seed, device_of(G))})
    result["wall_time"] = time.perf_counter() - t0
    result["provenance"]["generator"] = {k: v for k, v in G.source.items()}
    spread = result["metrics"].get("spread_ratio")
    events = [] if spread is None or spread >= MIN_SPREAD_RATIO else [  # as evaluate_run
        {"step": None, "what": "spread", "value": spread, "best": None}]
    result["diagnostics"] = {"diverged": result["status"] == "diverged", "collapse_events": events,
                             "collapsed": bool(events)}
    return result
