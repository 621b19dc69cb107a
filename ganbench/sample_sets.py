"""Sample sets given as files: ``.npy`` / ``.npz`` arrays or image folders, checked and normalised.

Images come back as float32 ``[N, C, H, W]`` in [-1, 1] (uint8 arrays are scaled, channel-last
arrays are transposed); points as float32 ``[N, d]``. Anything else is a one-line error naming
the file, what was found and what is accepted.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .catalogue import SET_EVALUATIONS
from .data.local_files import IMAGE_SUFFIXES
from .evaluations import Protocol, run_evaluations
from .registry import ConfigError, message_line


def _from_array(a: np.ndarray, where: str) -> torch.Tensor:
    if a.dtype.kind not in "uif":
        raise ConfigError(f"{where}: dtype {a.dtype} is not numeric; accepted: uint8 images or float arrays")
    if a.ndim == 2:
        if a.dtype.kind != "f":
            a = a.astype(np.float32)
        if not np.isfinite(a).all():
            raise ConfigError(f"{where}: the points contain NaN or infinity")
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    if a.ndim == 3:
        a = a[:, None]  # [N, H, W] grayscale
    if a.ndim != 4:
        raise ConfigError(f"{where}: array of shape {a.shape}; accepted: [N, d] points or [N, C, H, W] / [N, H, W, C] / [N, H, W] images")
    if a.shape[1] not in (1, 3) and a.shape[-1] in (1, 3):
        a = a.transpose(0, 3, 1, 2)
    if a.shape[1] not in (1, 3):
        raise ConfigError(f"{where}: images with {a.shape[1]} channels (shape {a.shape}); accepted: 1 or 3 channels")
    if a.dtype == np.uint8:
        x = a.astype(np.float32) / 127.5 - 1.0
    elif a.dtype.kind == "f":
        x = a.astype(np.float32)
        if not np.isfinite(x).all():
            raise ConfigError(f"{where}: the images contain NaN or infinity")
        lo, hi = float(x.min()), float(x.max())
        if lo < -1.0001 or hi > 1.0001:
            raise ConfigError(f"{where}: float images must lie in [-1, 1], found values in [{lo:.4g}, {hi:.4g}] "
                              "(scale them, or save uint8 0..255)")
    else:
        raise ConfigError(f"{where}: integer images must be uint8 (0..255), got {a.dtype}")
    return torch.from_numpy(np.ascontiguousarray(x))


def load_samples(path: str | Path, where: str = "") -> torch.Tensor:
    """Load a sample set from ``.npy``, ``.npz`` (first array, or 'x'/'images'/'samples') or an image folder."""
    p = Path(path)
    label = f"{where} {p}" if where else str(p)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ConfigError(f"{label}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        from PIL import Image
        arrays = [np.asarray(Image.open(f).convert("RGB")) for f in files]
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ConfigError(f"{label}: images of different sizes {sorted(shapes)[:3]}; resize them to one size first")
        return _from_array(np.stack(arrays), label)
    if not p.is_file():
        raise ConfigError(f"{label}: no such file or folder")
    try:
        if p.suffix == ".npy":
            a = np.load(p, allow_pickle=False)
        elif p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                key = next((k for k in ("x", "images", "samples") if k in z.files), z.files[0] if z.files else None)
                if key is None:
                    raise ConfigError(f"{label}: the .npz archive holds no arrays")
                a = z[key]
        else:
            raise ConfigError(f"{label}: unknown format {p.suffix!r}; accepted: .npy, .npz or an image folder")
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:  # truncated, garbage or not an array at all
        raise ConfigError(f"{label}: cannot read the array ({message_line(e)})") from None
    return _from_array(a, label)


def compute_set_metrics(real: torch.Tensor | None, fake: torch.Tensor, features: str, metrics: list[str],
                        batch_size: int = 500, real_stats: Any = None, **extractor_params: Any) -> dict[str, Any]:
    """Metrics between two sample sets; with ``real_stats`` (a ``ReferenceStats``) FID is taken against those
    statistics, and ``real`` may be None when FID is all that is asked."""
    from .features import get_extractor
    from .reference_stats import check_compatible
    if real is not None and real.shape[1:] != fake.shape[1:]:
        raise ConfigError(f"real samples have shape {tuple(real.shape[1:])} but fake samples {tuple(fake.shape[1:])}; they must match")
    if real is None and (real_stats is None or set(metrics) - {"fid"}):
        raise ConfigError("real samples are needed for every metric but FID against reference statistics")
    for label, x in (("--real", real), ("--fake", fake)):
        if x is not None and len(x) < 2:  # no metric is defined on fewer (a covariance needs two)
            raise ConfigError(f"{label} holds {len(x)} sample(s); the metrics need at least 2")
    ex = get_extractor(features, **extractor_params)
    f = ex.extract(fake, batch_size=batch_size)
    r = ex.extract(real, batch_size=batch_size) if real is not None else None
    if real_stats is not None:
        check_compatible(real_stats, ex.info(), f["features"].shape[1])
    try:
        return _set_metrics(r, f, len(fake), ex, metrics, real_stats)
    except ValueError as e:  # the sets are the user's input: "needs at least 4 samples" and the like
        raise ConfigError(message_line(e)) from None


def _set_metrics(r: dict[str, Any] | None, f: dict[str, Any], n_fake: int, ex: Any, metrics: list[str],
                 real_stats: Any) -> dict[str, Any]:
    from .evaluate import sample_count_warnings, versions
    # KID as metrics.kid's defaults (100 subsets of at most 1,000); too few samples for precision/recall is an error
    protocol = Protocol(real_stats=real_stats, strict=True)
    out = run_evaluations([e for e in SET_EVALUATIONS if e in metrics], r, f, protocol)
    n_real = len(r["features"]) if r is not None else (real_stats.provenance or {}).get("n")
    prov = {"features": ex.name, "extractor": ex.info(), "weights_sha256": ex.weights_sha256, "n_real": n_real,
            "n_fake": n_fake, "versions": versions()}
    if real_stats is not None:  # every result from a foreign file says "provenance unknown"
        prov["real_stats"], prov["real_stats_file"] = real_stats.summary(), real_stats.record()
    return {"metrics": out, "warnings": sample_count_warnings(out, n_real or n_fake, n_fake), "provenance": prov}
