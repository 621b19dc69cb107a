"""Atomic file writes and guarded reads: a reader never sees half a file.

Every file ganbench writes goes through here (temp file in the same folder,
fsync, ``os.replace``); every file it reads back gives an error naming the
file when it is missing, truncated or corrupt.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from .registry import ConfigError

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_json", "atomic_torch_save",
           "read_json", "sha256_file", "load_checkpoint", "CorruptFileError", "jsonable", "output_dir", "output_file", "input_file"]


class CorruptFileError(ValueError):
    """A file ganbench wrote earlier cannot be read back."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results should be readable like any other file
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def jsonable(obj: Any) -> Any:
    """Plain JSON values; non-finite floats become None (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(jsonable(obj), indent=2, sort_keys=True) + "\n")


def atomic_torch_save(path: str | Path, obj: Any) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


# ---------------------------------------------------------------- paths given by the user

def output_dir(path: str | Path, flag: str) -> Path:
    """``path`` as a folder ganbench may write into, created if missing; anything else is a ConfigError.

    Checked before any work starts, so that a bad ``--out`` costs nothing (not minutes of training).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {str(path)!r} is a file, not a folder; give a folder (it is created if missing)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"{flag} {str(path)!r}: cannot create this folder ({e.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {str(path)!r}: this folder is not writable; give a folder you can write to")
    return path


def output_file(path: str | Path, flag: str) -> Path:
    """``path`` as a file ganbench may (re)write: not a folder, in a folder that exists or can be made."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{flag} {str(path)!r} is a folder; give a file name such as {str(path / 'out.json')!r}")
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise ConfigError(f"{flag} {str(path)!r}: {str(parent)!r} is a file, not a folder")
    output_dir(parent, flag)
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{flag} {str(path)!r}: this file is not writable")
    return path


def input_file(path: str | Path, flag: str, what: str) -> Path:
    """``path`` as an existing, readable file (``what`` says which kind, for the message)."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{flag} {str(path)!r} is a folder; expected {what}")
    if not path.is_file():
        raise ConfigError(f"{flag} {str(path)!r}: no such file; expected {what}")
    if not os.access(path, os.R_OK):
        raise ConfigError(f"{flag} {str(path)!r}: this file is not readable (permission denied)")
    return path


def sha256_file(path: str | Path) -> str:
    """The file's sha256 (hex), read in 1 MiB blocks: weights and generators can be larger than memory wants."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorruptFileError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CorruptFileError(f"{path}: not valid JSON ({e}); delete it to recompute") from None


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint safely (``weights_only=True``: no pickled code runs)."""
    path = Path(path)
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CorruptFileError(f"{path}: checkpoint not found") from None
    except Exception as e:  # truncated zip, bad pickle, foreign object: all mean "unusable"
        raise CorruptFileError(f"{path}: corrupt or truncated checkpoint ({type(e).__name__}); delete it to retrain") from None
    if not isinstance(obj, dict) or "step" not in obj:
        raise CorruptFileError(f"{path}: not a ganbench checkpoint (no 'step' entry)")
    return obj
