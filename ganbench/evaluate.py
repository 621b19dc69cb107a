"""Evaluating a generator: samples → features → metrics and mode diagnostics → ``metrics.json``.

Real-data features are cached on disk, keyed by everything that determines
them (the real samples themselves, split, extractor and its weights hash),
and reused across runs (``feature_cache``). Features are
extracted in batches, so memory stays bounded whatever the sample count.
Every number carries its provenance.
"""
from __future__ import annotations

import functools
import platform
import subprocess
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch
from torch import nn

from . import feature_cache
from . import metrics as M
from . import modes as modes_mod
from .catalogue import CATALOGUE, EVALUATIONS, FLOOR_EVALUATIONS
from .config import EvalConfig, RunConfig
from .data import Dataset, get_dataset
from .evaluations import Protocol, run_evaluations
from .files import CorruptFileError, atomic_write_json, load_checkpoint, read_json
from .models import build_models, device_of, sobol_latents
from .registry import one_line
from .version import __version__
from .suite_loader import run_from_dict
from .results import CHECKPOINT, CONFIG, HISTORY, METRICS, STATUS, read_history

REAL_SEED = 20_171_110  # real samples are one fixed draw, the same for every run that compares against them
FAKE_SALT = 7_777       # generated samples: a stream of their own, from the run seed


def extractor_for(ds: Dataset, cfg: EvalConfig, weights: Optional[str] = None):
    from .features import default_extractor_for, get_extractor
    name = cfg.features or default_extractor_for(ds)
    params = {"weights": weights} if weights and name == "inception-v3-compat" else {}
    return get_extractor(name, **params)


# ---------------------------------------------------------------- samples and features

@torch.no_grad()
def generated_features(G: nn.Module, extractor: Any, n: int, seed: int, batch_size: int = 500,
                       keep_samples: bool = False, quasi_random: bool = False) -> dict[str, Any]:
    """Features (and logits) of ``n`` generator samples, streamed in batches of ``batch_size``; with
    ``quasi_random`` their latents are ``sobol_latents`` (FID∞'s protocol) instead of pseudo-random draws."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + FAKE_SALT)
    sobol = sobol_latents(G, n, seed * 1_000_003 + FAKE_SALT) if quasi_random else None
    device = device_of(G)
    was_training = G.training
    G.eval()
    feats, logits, samples = [], [], []
    try:
        for start in range(0, n, batch_size):
            m = min(batch_size, n - start)
            z = (G.sample_latent(m, gen) if sobol is None else sobol[start:start + m]).to(device)
            x = G(z).float().cpu()
            if not torch.isfinite(x).all():
                raise FloatingPointError("the generator produced non-finite samples")
            out = extractor.extract(x, batch_size=batch_size)
            feats.append(out["features"])
            if out.get("logits") is not None:
                logits.append(out["logits"])
            if keep_samples:
                samples.append(x.numpy())
    finally:
        G.train(was_training)
    return {"features": np.concatenate(feats), "logits": np.concatenate(logits) if logits else None,
            "samples": np.concatenate(samples) if keep_samples else None}


def real_features(ds: Dataset, split: str, extractor: Any, n: int, batch_size: int = 500,
                  use_cache: bool = True) -> dict[str, Any]:
    """Features, logits, labels and raw samples (points only) of ``n`` real samples (cached on disk, keyed by
    the samples themselves: see ``feature_cache``)."""
    size = ds.split_size(split)
    n = min(n, size) if size is not None else n
    x, labels = ds.real_with_labels(n, split, torch.Generator().manual_seed(REAL_SEED))
    path = None
    if use_cache:
        key = feature_cache.entry_key(x, labels, dataset=ds.name, params=ds.info().get("params"), split=split,
                                      extractor=extractor.name, sha256=extractor.weights_sha256, seed=REAL_SEED)
        path = feature_cache.entry_path(ds.name, split, extractor.name, n, key)
        cached = feature_cache.load_entry(path, n)
        if cached is not None:
            return cached | {"n": n, "cache": str(path)}
    out = extractor.extract(x, batch_size=batch_size)
    rec = {"features": np.asarray(out["features"], dtype=np.float64),
           "logits": None if out.get("logits") is None else np.asarray(out["logits"], dtype=np.float64),
           "labels": None if labels is None else labels.cpu().numpy(),
           "samples": x.cpu().numpy().astype(np.float64) if ds.kind == "points" else None}
    stored = path is not None and feature_cache.store_entry(path, rec)
    return rec | {"n": n, "cache": str(path) if stored else None}


# ---------------------------------------------------------------- metrics

def compute_metrics(real: dict[str, Any], fake: dict[str, Any], ds: Dataset, cfg: EvalConfig,
                    fake_samples: Optional[np.ndarray] = None,
                    fake_sobol: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Every evaluation in ``cfg.metrics`` that applies to this data; keys are flat names. FID∞ is taken on
    ``fake_sobol`` (fakes of quasi-random latents, the reference protocol) when given, else on ``fake``."""
    rf, ff = real["features"], fake["features"]
    protocol = Protocol(kid_subsets=cfg.kid_subsets, kid_subset_size=cfg.kid_subset_size, fake_sobol=fake_sobol,
                        dataset=ds, fake_samples=fake_samples)
    out = run_evaluations([e for e in EVALUATIONS if e in cfg.metrics], real, fake, protocol)
    if len(rf) > 1 and len(ff) > 1 and modes_mod.spread(rf) > 0:
        out["spread_ratio"] = modes_mod.spread_ratio(rf, ff)
    return out


def sample_count_warnings(values: dict[str, Any], n_real: int, n_fake: int) -> list[str]:
    """One line per computed metric whose protocol uses more samples than it got (``metrics.MIN_SAMPLES``)."""
    return [f"{name} from {min(n_real, n_fake)} samples (real {n_real}, generated {n_fake}); its protocol uses "
            f"{need:,} of each" for name, need in M.MIN_SAMPLES.items() if name in values and min(n_real, n_fake) < need]


# The floor records each metric and its spread over subsets or splits; not protocol details such as
# kid_subset_size (there min(eval.kid_subset_size, n_each)).
_FLOOR_KEYS = frozenset(k for m in CATALOGUE if m.floor for k in (m.name, f"{m.name}_std"))


def real_floor(real: dict[str, Any], cfg: EvalConfig) -> dict[str, Any]:
    """The same metrics between two disjoint halves of the real set: the best a generator can hope for at N/2.
    IS compares no two sets: its floor is the IS of every real sample."""
    rf = real["features"]
    h = len(rf) // 2
    if h < 4:
        return {}
    # the second half carries every real logit: IS (of one set) is taken on all of them, as before the halves
    first, second = {"features": rf[:h]}, {"features": rf[h:2 * h], "logits": real.get("logits")}
    protocol = Protocol(kid_subsets=cfg.kid_subsets, kid_subset_size=cfg.kid_subset_size)
    values = run_evaluations([e for e in FLOOR_EVALUATIONS if e in cfg.metrics], first, second, protocol)
    return {"n_each": h} | {k: v for k, v in values.items() if k in _FLOOR_KEYS}


# ---------------------------------------------------------------- provenance

@functools.cache
def git_commit() -> Optional[str]:
    """The commit of the code this process runs, ``-dirty`` when tracked files differ from it.

    Read once per process (cached), not at import: the runner reads it before anything trains
    (``runner.run_one`` / ``run_group``), so that a commit made while a long suite runs is not recorded
    for runs trained by code that came before it.
    """
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=Path(__file__).parent, capture_output=True, text=True,
                              timeout=5).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        if not commit:
            return None
        return commit + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict[str, str]:
    import scipy
    v = {"ganbench": __version__, "torch": torch.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
         "python": platform.python_version()}
    try:
        import torch_fidelity
        v["torch_fidelity"] = torch_fidelity.__version__
    except ImportError:
        pass
    return v


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()})"


def provenance(ds: Dataset, extractor: Any, cfg: EvalConfig, n_real: int, n_fake: int, seed: int,
               device: torch.device) -> dict[str, Any]:
    return {"extractor": extractor.info(), "features": extractor.name, "weights_sha256": extractor.weights_sha256,
            "comparable": bool(getattr(extractor, "comparable", True)), "n_real": n_real, "n_fake": n_fake,
            "split": cfg.split, "dataset": {k: v for k, v in ds.info().items() if k != "centers"},
            "versions": versions(), "device": device_name(device), "torch_threads": torch.get_num_threads(),
            "seed": seed, "real_seed": REAL_SEED,
            "git_commit": git_commit()}


# ---------------------------------------------------------------- entry points

def measure_generator(G: nn.Module, ds: Dataset, cfg: EvalConfig, seed: int = 0,
                      inception_weights: Optional[str] = None) -> dict[str, Any]:
    """Metrics, real-data floor and provenance for any generator with ``sample_latent`` and ``__call__``."""
    from .reference_stats import check_compatible, fid_against, load_reference_stats
    stats = load_reference_stats(cfg.real_stats) if cfg.real_stats else None  # a bad file fails before sampling
    extractor = extractor_for(ds, cfg, inception_weights)
    n_real = cfg.n_real or cfg.n_samples
    real = real_features(ds, cfg.split, extractor, n_real, batch_size=cfg.batch_size)
    fake = generated_features(G, extractor, cfg.n_samples, seed, cfg.batch_size, keep_samples=ds.kind == "points")
    sobol = (generated_features(G, extractor, cfg.n_samples, seed, cfg.batch_size, quasi_random=True)
             if "fid_inf" in cfg.metrics else None)
    values = compute_metrics(real, fake, ds, cfg, fake_samples=fake["samples"], fake_sobol=sobol)
    prov = provenance(ds, extractor, cfg, real["n"], cfg.n_samples, seed, device_of(G))
    if sobol is not None:
        prov["fid_inf_latents"] = "scrambled Sobol (torch.quasirandom.SobolEngine), inverse normal CDF / affine"
    if stats is not None and "fid" in cfg.metrics:  # FID against the reference statistics, not the sampled reals
        check_compatible(stats, extractor.info(), fake["features"].shape[1])
        values["fid"] = fid_against(stats, fake["features"])
        prov["real_stats"], prov["real_stats_file"] = stats.summary(), stats.record()
    return {"metrics": values, "floor": real_floor(real, cfg) if cfg.floor else {}, "provenance": prov,
            "warnings": sample_count_warnings(values, real["n"], cfg.n_samples)}


def make_training_evaluator(run: RunConfig) -> Optional[Callable[[int, nn.Module], dict[str, float]]]:
    """``(step, G) -> {fid, modes, hq_fraction, spread_ratio, ...}`` for evaluations during training; None when
    the run asks for none (``eval.every = 0``)."""
    if not run.eval.every:
        return None
    ds = get_dataset(run.data.name, **run.data.params)
    cfg = run.eval
    extractor = extractor_for(ds, cfg)
    real = real_features(ds, cfg.split, extractor, cfg.n_real or cfg.n_samples_during, batch_size=cfg.batch_size)
    small = EvalConfig(**{**cfg.__dict__, "metrics": tuple(m for m in cfg.metrics if m in ("fid", "modes")),
                          "kid_subsets": 1})

    def evaluate_now(step: int, G: nn.Module) -> dict[str, float]:
        try:
            fake = generated_features(G, extractor, cfg.n_samples_during, run.seed + step, cfg.batch_size,
                                      keep_samples=ds.kind == "points")
        except FloatingPointError:
            return {"fid": float("nan")}
        vals = compute_metrics(real, fake, ds, small, fake_samples=fake["samples"])
        return {k: float(v) for k, v in vals.items() if k in ("fid", "modes", "hq_fraction", "reverse_kl", "kl",
                                                           "spread_ratio") and v is not None}
    return evaluate_now


def load_generator(run_dir: Path, run: RunConfig, ds: Dataset) -> tuple[nn.Module, dict[str, Any]]:
    """The trained generator of a run (EMA weights when the run kept them)."""
    path = run_dir / CHECKPOINT
    ckpt = load_checkpoint(path)
    G, _ = build_models(run.model.name, ds.shape, **run.model.params)
    try:
        G.load_state_dict(ckpt.get("ema") or ckpt["G"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:  # other keys or shapes than the run's generator
        raise CorruptFileError(f"{path}: does not fit the run's generator "
                               f"({one_line(e)[:300]}); delete it and metrics.json, "
                               f"then rerun the suite to retrain the run") from None
    return G.eval(), ckpt


def evaluate_run(run_dir: str | Path, run: Optional[RunConfig] = None, train_status: Optional[str] = None,
                 inception_weights: Optional[str] = None) -> dict[str, Any]:
    """Evaluate a trained run and write its ``metrics.json`` (last, atomically: the run is then complete)."""
    import pandas as pd
    from .stability import stability_summary
    run_dir = Path(run_dir)
    run = run or run_from_dict(read_json(run_dir / CONFIG), where=str(run_dir / CONFIG))
    status = read_json(run_dir / STATUS) if (run_dir / STATUS).exists() else {}
    train_status = train_status or status.get("status", "finished")
    ds = get_dataset(run.data.name, **run.data.params)
    G, ckpt = load_generator(run_dir, run, ds)
    result: dict[str, Any] = {"run_id": run.run_id, "status": train_status, "steps": int(ckpt["step"]),
                              "wall_time": status.get("wall_time"), "reason": status.get("reason", "")}
    try:
        result.update(measure_generator(G, ds, run.eval, seed=run.seed, inception_weights=inception_weights))
    except FloatingPointError as e:
        result.update({"status": "diverged", "metrics": {}, "floor": {}, "reason": str(e)})
    history = pd.DataFrame(read_history(run_dir / HISTORY)).apply(pd.to_numeric, errors="coerce")  # as read_csv
    diag = stability_summary(history, result["status"]) if len(history) else {"diverged": result["status"] == "diverged"}
    events = []
    if len(history) and ({"modes", "spread_ratio"} & set(history.columns)):
        events = modes_mod.detect_collapse(history[[c for c in ("step", "modes", "spread_ratio") if c in history]])
    final = result.get("metrics", {})
    if final.get("spread_ratio") is not None and final["spread_ratio"] < modes_mod.MIN_SPREAD_RATIO:
        events.append({"step": result["steps"], "what": "spread", "value": final["spread_ratio"], "best": None})
    diag["collapse_events"] = events
    diag["collapsed"] = bool(events)
    result["diagnostics"] = diag
    result["config"] = run.to_dict()
    atomic_write_json(run_dir / METRICS, result)
    return result
