"""Reference statistics (μ, Σ of real features) in the community's npz formats: FID without the real images.

Read: pytorch-fid's ``.npz`` (``mu``, ``sigma``), clean-fid's custom statistics (the same two arrays, written
by ``make_custom_stats``), ADM / guided-diffusion reference batches (``mu``, ``sigma`` next to ``arr_0`` and
the spatial ``mu_s`` / ``sigma_s``, which are not read), and ganbench's own files. Written: one ``.npz`` that
every one of those readers accepts — ``mu`` (d,) and ``sigma`` (d, d) in float64 — plus a JSON string under
``ganbench_provenance`` (extractor, weights sha256, preprocessing, N, source) that the other tools ignore.

A file without that key is "foreign": it is accepted, since papers publish statistics without provenance,
and every result that uses it records ``provenance unknown``. A ganbench file whose extractor or weights
differ from the evaluation's is refused: a Fréchet distance across feature spaces is meaningless.
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .files import atomic_write_bytes
from .metrics import check_stats_pair, feature_stats, fid_from_stats
from .registry import ConfigError
from .version import __version__

PROVENANCE_KEY = "ganbench_provenance"
FORMAT_VERSION = "ganbench-reference-stats/1"
UNKNOWN = "provenance unknown"
ACCEPTED = ("a .npz holding 'mu' (d,) and 'sigma' (d, d): pytorch-fid statistics, clean-fid custom statistics, "
            "an ADM reference batch or a file written by 'ganbench stats'")


@dataclass(frozen=True)
class ReferenceStats:
    mu: np.ndarray
    sigma: np.ndarray
    path: str
    sha256: str
    format: str                          # "ganbench" | "ADM reference batch" | "pytorch-fid / clean-fid"
    provenance: Optional[dict[str, Any]]  # None for a foreign file

    @property
    def dim(self) -> int:
        return int(self.mu.shape[0])

    def record(self) -> dict[str, Any]:
        """What a result that used these statistics records about them."""
        prov = self.provenance or {}
        return {"path": self.path, "sha256": self.sha256, "format": self.format,
                "provenance": "recorded" if self.provenance else UNKNOWN, "n": prov.get("n"),
                "features": prov.get("features"), "weights_sha256": prov.get("weights_sha256")}

    def summary(self) -> str:
        """One line for tables: the file and whether its provenance is known."""
        return f"{Path(self.path).name} (sha256 {self.sha256[:12]}, {self.format}" + \
            ("" if self.provenance else f", {UNKNOWN}") + ")"


def _format_of(keys: list[str]) -> str:
    if PROVENANCE_KEY in keys:
        return "ganbench"
    if "arr_0" in keys or "mu_s" in keys:
        return "ADM reference batch"
    return "pytorch-fid / clean-fid"


def load_reference_stats(path: str | Path) -> ReferenceStats:
    """Read and check a statistics file; any problem is one ConfigError naming the file and what is accepted."""
    from .features import sha256_file
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: no such reference statistics file; expected {ACCEPTED}")
    try:
        loaded = np.load(p, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ConfigError(f"{p}: a single .npy array, not an archive; expected {ACCEPTED}")
        with loaded as z:
            keys = list(z.files)
            if "mu" not in keys or "sigma" not in keys:
                raise ConfigError(f"{p}: no 'mu' and 'sigma' arrays (found: {', '.join(keys) or 'none'}); "
                                  f"expected {ACCEPTED}")
            mu, sigma = z["mu"], z["sigma"]  # only these are read: an ADM batch's images stay on disk
            raw_prov = str(z[PROVENANCE_KEY][()]) if PROVENANCE_KEY in keys else None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise ConfigError(f"{p}: not a readable .npz ({type(e).__name__}: {str(e)[:120]}); expected {ACCEPTED}") \
            from None
    if mu.ndim != 1 or mu.size == 0 or sigma.shape != (mu.size, mu.size):
        raise ConfigError(f"{p}: mu of shape {mu.shape} and sigma of shape {sigma.shape}; expected mu (d,) and "
                          f"sigma (d, d) with d >= 1")
    try:  # the checks fid_from_stats makes: numeric, finite, symmetric, no negative variance
        mu, sigma, _, _ = check_stats_pair(mu, sigma, mu, sigma)
    except ValueError as e:
        raise ConfigError(f"{p}: {str(e).replace('mu1', 'mu').replace('sigma1', 'sigma')}") from None
    prov = None
    if raw_prov is not None:
        try:
            prov = json.loads(raw_prov)
        except json.JSONDecodeError:
            raise ConfigError(f"{p}: '{PROVENANCE_KEY}' is not JSON; rewrite the file with 'ganbench stats'") from None
        if not isinstance(prov, dict):
            raise ConfigError(f"{p}: '{PROVENANCE_KEY}' must be a JSON object, got {type(prov).__name__}")
    return ReferenceStats(mu, sigma, str(p), sha256_file(p), _format_of(keys), prov)


def stats_provenance(extractor_info: dict[str, Any], n: int, source: str) -> dict[str, Any]:
    """The provenance a ganbench statistics file records: extractor, weights sha256, preprocessing, N, source."""
    return {"format": FORMAT_VERSION, "features": extractor_info.get("name"), "extractor": extractor_info,
            "weights_sha256": extractor_info.get("weights_sha256"), "input": extractor_info.get("input"),
            "n": int(n), "source": source, "ganbench": __version__}


def save_reference_stats(path: str | Path, features: Any, extractor_info: dict[str, Any], source: str) -> dict:
    """Write μ and Σ (float64, unbiased covariance) of ``features`` with their provenance, atomically."""
    mu, sigma = feature_stats(features)
    prov = stats_provenance(extractor_info, len(features), source)
    buf = io.BytesIO()
    np.savez(buf, mu=mu, sigma=sigma, **{PROVENANCE_KEY: np.array(json.dumps(prov, sort_keys=True))})
    atomic_write_bytes(path, buf.getvalue())
    return prov


def check_compatible(stats: ReferenceStats, extractor_info: dict[str, Any], dim: int) -> None:
    """Refuse statistics of another dimension, extractor or weights than the features they are compared with."""
    name = extractor_info.get("name")
    if stats.dim != dim:
        raise ConfigError(f"{stats.path}: statistics of {stats.dim}-d features, but extractor {name!r} gives "
                          f"{dim}-d features; use statistics computed with the same extractor")
    if stats.provenance is None:
        return  # foreign: accepted, and every result records "provenance unknown"
    theirs, their_sha = stats.provenance.get("features"), stats.provenance.get("weights_sha256")
    if theirs != name or their_sha != extractor_info.get("weights_sha256"):
        raise ConfigError(f"{stats.path}: computed with extractor {theirs!r} (weights sha256 {str(their_sha)[:12]}), "
                          f"but this evaluation uses {name!r} (weights sha256 "
                          f"{str(extractor_info.get('weights_sha256'))[:12]}); a Fréchet distance across feature "
                          f"spaces is meaningless: use statistics of the same extractor and weights")


def fid_against(stats: ReferenceStats, fake_features: Any) -> float:
    """Fréchet distance between the reference statistics and the generated features' mean and covariance."""
    return fid_from_stats(stats.mu, stats.sigma, *feature_stats(fake_features))
