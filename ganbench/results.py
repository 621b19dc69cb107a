"""The results layout on disk and the tables read from it.

``results/<suite>/<run_id>/`` holds one run: ``config.json`` (written first),
``history.csv`` and ``checkpoint.pt`` (during training), ``status.json``
(finished / diverged / failed), ``samples.png`` and ``metrics.json`` (last:
a run is complete only when it exists).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .io import CorruptFileError, read_json

CONFIG, HISTORY, CHECKPOINT, STATUS, METRICS, SAMPLES = (
    "config.json", "history.csv", "checkpoint.pt", "status.json", "metrics.json", "samples.png")


def run_dir_for(results_dir: str | Path, run_id: str) -> Path:
    """The directory of ``run_id`` inside ``results_dir``; refuses anything that would land outside it."""
    root = Path(results_dir).resolve()
    d = (root / run_id).resolve()
    if d.parent != root:
        raise ValueError(f"run id {run_id!r} would write outside the results directory {root}")
    return d


def is_complete(run_dir: str | Path) -> bool:
    return (Path(run_dir) / METRICS).is_file()


def find_run_dirs(results_dir: str | Path) -> list[Path]:
    """Every run directory (one holding config.json) under ``results_dir``, sorted."""
    root = Path(results_dir)
    if (root / CONFIG).is_file():
        return [root]
    return sorted(p.parent for p in root.rglob(CONFIG) if p.parent.name != "tensorboard")


def read_run(run_dir: str | Path) -> dict[str, Any]:
    """config, status and metrics of one run (metrics empty when the run is incomplete)."""
    run_dir = Path(run_dir)
    out: dict[str, Any] = {"dir": str(run_dir), "config": read_json(run_dir / CONFIG)}
    out["status"] = read_json(run_dir / STATUS) if (run_dir / STATUS).exists() else {"status": "incomplete"}
    out["metrics"] = read_json(run_dir / METRICS) if (run_dir / METRICS).exists() else {}
    return out


__all__ = ["run_dir_for", "is_complete", "find_run_dirs", "read_run", "CorruptFileError",
           "CONFIG", "HISTORY", "CHECKPOINT", "STATUS", "METRICS", "SAMPLES"]
