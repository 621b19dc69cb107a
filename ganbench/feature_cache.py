"""The on-disk cache of real-data features: one ``.npz`` per exact input, never a stale or broken hit.

Entries live in ``$GANBENCH_CACHE/real-features`` (default ``~/.cache/ganbench``; an empty value counts as
unset, as XDG variables do). ``entry_key`` hashes the real samples themselves with their labels, and the
extractor's name and weights hash: images replaced under a folder, or new extractor weights, give another key
whatever the files' names, count, sizes or times. An entry that cannot be read back (truncated, bit-flipped,
wrong arrays) is recomputed and overwritten; a cache folder that cannot be used (a file, read-only, ``/proc``)
is left alone and the evaluation runs uncached. Either way one warning line names the file or the variable.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from .files import atomic_write_bytes

ENV = "GANBENCH_CACHE"
FIELDS = ("features", "logits", "labels", "samples")  # absent ones are stored as empty arrays
_warned: set[str] = set()

__all__ = ["ENV", "FIELDS", "cache_dir", "entry_key", "entry_path", "load_entry", "store_entry"]


def cache_dir() -> Path:
    value = os.environ.get(ENV)
    return (Path(value).expanduser() if value else Path.home() / ".cache" / "ganbench") / "real-features"


def entry_key(x: torch.Tensor, labels: Optional[torch.Tensor], **settings: Any) -> str:
    """16 hex digits of sha256 over the samples' bytes, dtype and shape, the labels, and ``settings``."""
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for t in (x, labels):
        if t is not None:
            a = np.ascontiguousarray(t.detach().cpu().numpy())
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(memoryview(a).cast("B"))
    return h.hexdigest()[:16]


def entry_path(dataset: str, split: str, extractor: str, n: int, key: str) -> Path:
    return cache_dir() / f"{dataset}-{split}-{extractor}-{n}-{key}.npz"


def load_entry(path: Path, n: int) -> Optional[dict[str, Optional[np.ndarray]]]:
    """The entry's arrays (None for absent ones), or None when there is no usable entry."""
    try:
        if not path.is_file():
            return None
    except OSError as e:  # e.g. a GANBENCH_CACHE below a folder this user may not enter
        _unusable(e)
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            rec = {k: z[k] for k in FIELDS}  # reading each array checks its CRC: a flipped bit fails here
        if rec["features"].ndim != 2 or len(rec["features"]) != n or \
                any(rec[k].size and len(rec[k]) != n for k in FIELDS):
            raise ValueError(f"arrays of the wrong length for {n} samples")
    except Exception as e:  # zipfile.BadZipFile, EOFError, KeyError, ValueError, OSError: all mean "recompute"
        _warn(f"real-feature cache entry {path} is unreadable ({type(e).__name__}: {e}); recomputing it")
        return None
    return {k: v if v.size or k == "features" else None for k, v in rec.items()}


def store_entry(path: Path, rec: dict[str, Optional[np.ndarray]]) -> bool:
    """Write the entry atomically; False (after one warning) when the cache folder cannot be written."""
    buf = io.BytesIO()
    np.savez(buf, **{k: rec[k] if rec[k] is not None else np.zeros(0) for k in FIELDS})
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OSError as e:
        _unusable(e)
        return False
    return True


def _unusable(e: OSError) -> None:
    value = os.environ.get(ENV)
    where = f"{ENV}={value!r}" if value else f"{cache_dir().parent} (the default; set {ENV} to move it)"
    _warn(f"{where} cannot hold the real-feature cache ({type(e).__name__}: {e.strerror or e}); "
          f"evaluating without it. Accepted: a folder this user can create and write")


def _warn(message: str) -> None:
    if message not in _warned:  # once per process, not once per run of a suite
        _warned.add(message)
        print(f"ganbench: warning: {message}", file=sys.stderr, flush=True)
