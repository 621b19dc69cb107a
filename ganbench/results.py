"""The results layout on disk and the tables read from it.

``results/<suite>/<run_id>/`` holds one run: ``config.json`` (written first),
``history.csv`` and ``checkpoint.pt`` (during training), ``status.json``
(finished / diverged / failed), ``samples.png`` and ``metrics.json`` (last:
a run is complete only when it exists).

``load_results(dir)`` reads every run under ``dir`` into one pandas row;
``summarize(df)`` aggregates over seeds per dataset × model × loss with a
t-distribution 95% confidence interval. A run's ``status`` is one of

* ``finished`` / ``diverged``: ``metrics.json`` exists (its own status);
* ``failed``: ``status.json`` says the run crashed (no metrics);
* ``incomplete``: neither (training or evaluation did not finish);
* ``corrupt``: a file of the run could not be read (only with ``errors="mark"``).

Every run is listed; the summaries average the metrics of ``finished`` and
``diverged`` runs only (the others have none) and count the rest separately,
so nothing disappears silently. A diverged run usually has no final metrics
(its generator produced NaNs): its metrics are then missing, which the
per-metric count ``<metric>_n`` and the ``diverged`` share make visible.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from .config import architecture
from .io import CorruptFileError, atomic_write_bytes, read_json
from .metrics import METRICS as _METRIC_DIRECTIONS

CONFIG, HISTORY, CHECKPOINT, STATUS, METRICS, SAMPLES = (
    "config.json", "history.csv", "checkpoint.pt", "status.json", "metrics.json", "samples.png")

STATUSES = ("finished", "diverged", "failed", "incomplete", "corrupt")
SUMMARY_STATUSES = ("finished", "diverged")  # the runs whose metrics enter summaries

# metric -> higher_is_better. ganbench.metrics owns the sample-quality metrics; the mode
# diagnostics (ganbench.modes) have no such table, so their directions are added here.
DIRECTIONS: dict[str, bool] = {"modes": True, "hq_fraction": True, "reverse_kl": False, "kl": False,
                               "ndb": False, "ndb_over_k": False, **_METRIC_DIRECTIONS}
# Summarised besides the ranked metrics: no direction (spread_ratio is best at 1), but worth a mean ± CI.
EXTRA_SUMMARY = ("spread_ratio", "wall_time")

ID_COLUMNS = ["suite", "dataset", "model", "loss", "loss_name", "seed", "status", "reason", "steps", "wall_time"]
PROVENANCE_COLUMNS = ["features", "weights_sha256", "comparable", "n_real", "n_fake", "split", "device",
                      "git_commit", "ganbench_version", "config_hash", "architecture", "pack", "n_train", "batch_size",
                      "run_id", "run_dir"]
BOOL_COLUMNS = ("diverged", "collapsed", "comparable")
INT_COLUMNS = ("seed", "steps", "n_real", "n_fake", "pack", "n_train", "batch_size")
STR_COLUMNS = ("suite", "dataset", "model", "loss", "loss_name", "status", "reason", "features", "weights_sha256",
               "split", "device", "git_commit", "ganbench_version", "config_hash", "architecture", "run_id", "run_dir")


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


# ---------------------------------------------------------------- one run -> one row

def _dict(obj: Any, path: Path, what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise CorruptFileError(f"{path}: {what} must be a JSON object, got {type(obj).__name__}")
    return obj


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, (bool, int, float, str))


def config_hash(config: dict[str, Any]) -> str:
    """``RunConfig.config_hash`` recomputed from config.json: same hash = same run but for seed and suite."""
    d = {k: v for k, v in config.items() if k not in ("seed", "suite")}
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:8]


def _config_columns(config: dict[str, Any], path: Path) -> dict[str, Any]:
    try:
        loss = config["loss"]["name"]
        model, data, train = config["model"], config["data"], config.get("train") or {}
        return {"suite": config.get("suite"), "dataset": data["name"], "model": model["name"],
                "loss": config.get("name") or loss, "loss_name": loss, "seed": config.get("seed"),
                "config_hash": config_hash(config),
                # what a published row's protocol is checked against (ganbench.published)
                "architecture": architecture(model), "pack": model.get("pack", 1), "n_train": data.get("n_train"),
                "batch_size": train.get("batch_size")}
    except (KeyError, TypeError):
        raise CorruptFileError(f"{path}: config lacks data.name, model.name or loss.name") from None


def _metric_columns(m: dict[str, Any], path: Path) -> dict[str, Any]:
    row: dict[str, Any] = {}
    status = m.get("status", "finished")
    if status not in SUMMARY_STATUSES:
        raise CorruptFileError(f"{path}: status {status!r} is not one of {', '.join(SUMMARY_STATUSES)}")
    row.update(status=status, reason=m.get("reason") or "", steps=m.get("steps"), wall_time=m.get("wall_time"))
    reserved = set(ID_COLUMNS) | set(PROVENANCE_COLUMNS) | set(BOOL_COLUMNS)
    for k, v in _dict(m.get("metrics") or {}, path, "metrics").items():
        if _scalar(v):
            row[k if k not in reserved else f"metric_{k}"] = v  # a metric never overwrites a table column
    diag = _dict(m.get("diagnostics") or {}, path, "diagnostics")
    for k, v in diag.items():
        if k == "collapse_events":
            row["n_collapse_events"] = len(v) if isinstance(v, list) else None
        elif _scalar(v) and k not in ("diverged", "collapsed"):
            row[k if k not in row and k not in reserved else f"diag_{k}"] = v  # nor a diagnostic
    row["diverged"] = bool(diag.get("diverged", False)) or status == "diverged"
    row["collapsed"] = diag.get("collapsed")
    row.update({f"floor_{k}": v for k, v in _dict(m.get("floor") or {}, path, "floor").items() if _scalar(v)})
    prov = _dict(m.get("provenance") or {}, path, "provenance")
    row.update({k: prov.get(k) for k in ("features", "weights_sha256", "comparable", "n_real", "n_fake", "split",
                                          "device", "git_commit")})
    row["ganbench_version"] = (prov.get("versions") or {}).get("ganbench")
    return row


def _run_row(run_dir: Path) -> dict[str, Any]:
    row: dict[str, Any] = {"run_id": run_dir.name, "run_dir": str(run_dir)}
    cfg_path = run_dir / CONFIG
    row.update(_config_columns(_dict(read_json(cfg_path), cfg_path, "config"), cfg_path))
    if (run_dir / METRICS).exists():
        m = _dict(read_json(run_dir / METRICS), run_dir / METRICS, "metrics.json")
        row.update(_metric_columns(m, run_dir / METRICS))
        row["run_id"] = m.get("run_id") or row["run_id"]
        return row
    st = _dict(read_json(run_dir / STATUS), run_dir / STATUS, "status") if (run_dir / STATUS).exists() else {}
    # Training may have finished without an evaluation: only a crash is "failed", anything else is unfinished.
    trained = st.get("status") in SUMMARY_STATUSES
    row["status"] = "failed" if st.get("status") == "failed" else "incomplete"
    row.update(reason=st.get("reason") or (f"trained ({st['status']}) but not evaluated: no {METRICS}" if trained
                                           else ""), steps=st.get("steps"), wall_time=st.get("wall_time"))
    return row


def _corrupt_row(run_dir: Path, err: Exception) -> dict[str, Any]:
    row: dict[str, Any] = {"run_id": run_dir.name, "run_dir": str(run_dir), "status": "corrupt", "reason": str(err)}
    try:  # the config may still be readable when another file is the broken one
        cfg = read_json(run_dir / CONFIG)
        row.update(_config_columns(_dict(cfg, run_dir / CONFIG, "config"), run_dir / CONFIG))
    except CorruptFileError:
        row["suite"] = run_dir.parent.name
    return row


# ---------------------------------------------------------------- the table

def _column_order(columns: Iterable[str]) -> list[str]:
    cols = list(columns)
    metric_order = [c for c in (*DIRECTIONS, *EXTRA_SUMMARY) if c in cols and c not in ID_COLUMNS]
    floor = sorted(c for c in cols if c.startswith("floor_"))
    flags = [c for c in ("diverged", "collapsed", "n_collapse_events") if c in cols]
    fixed = set(ID_COLUMNS) | set(PROVENANCE_COLUMNS) | set(metric_order) | set(floor) | set(flags)
    rest = [c for c in cols if c not in fixed]  # other metrics and diagnostics, in file order
    return [c for c in ID_COLUMNS if c in cols] + metric_order + flags + rest + floor + \
        [c for c in PROVENANCE_COLUMNS if c in cols]


def coerce_types(df: pd.DataFrame) -> pd.DataFrame:
    """The table's dtypes: nullable bool/Int64 flags and counts, ``string`` text, float64 numbers.

    Applied by ``load_results`` and ``read_table`` so that a CSV or Parquet round trip gives back
    the same frame (CSV forgets dtypes; empty columns would come back as float). Empty text is
    missing text (``pd.NA``), because CSV cannot keep the two apart.
    """
    df = df.copy()
    for c in df.columns:
        s = df[c]
        if c in BOOL_COLUMNS:
            df[c] = s.map(_to_bool, na_action="ignore").astype("boolean")
        elif c in INT_COLUMNS:
            df[c] = pd.to_numeric(s).round().astype("Int64")
        elif c in STR_COLUMNS:
            df[c] = s.astype("string").replace("", pd.NA)  # CSV cannot tell "" from missing: both are missing
        else:
            num = pd.to_numeric(s, errors="coerce")
            if num.notna().sum() == s.notna().sum():  # all present values are numbers: float64
                df[c] = num.astype("float64")
            else:
                df[c] = s.astype("string")
    return df


def _to_bool(v: Any) -> Any:
    if isinstance(v, str):
        if v.lower() in ("true", "1"):
            return True
        if v.lower() in ("false", "0"):
            return False
        raise ValueError(f"not a boolean: {v!r}")
    return bool(v)


def load_results(results_dir: str | Path, errors: str = "raise") -> pd.DataFrame:
    """One row per run directory under ``results_dir`` (see the module docstring for ``status``).

    ``errors="raise"``: an unreadable config.json / status.json / metrics.json raises
    ``CorruptFileError`` naming the file; ``errors="mark"``: the run is listed with status
    ``corrupt`` and the error in ``reason``.
    """
    if errors not in ("raise", "mark"):
        raise ValueError(f"errors must be 'raise' or 'mark', got {errors!r}")
    root = Path(results_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"results directory {str(root)!r} does not exist")
    rows = []
    for d in find_run_dirs(root):
        try:
            rows.append(_run_row(d))
        except CorruptFileError as e:
            if errors == "raise":
                raise
            rows.append(_corrupt_row(d, e))
    df = pd.DataFrame(rows)
    # The fixed columns exist even when no run has them (e.g. every run corrupt).
    df = df.reindex(columns=list(dict.fromkeys([*ID_COLUMNS, *df.columns, *PROVENANCE_COLUMNS])))
    df = coerce_types(df[_column_order(df.columns)])
    return df.sort_values(["dataset", "model", "loss", "seed", "run_id"], na_position="last",
                          kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------- summaries over seeds

def mean_ci(values: Any, confidence: float = 0.95) -> dict[str, float]:
    """n, mean, std (ddof 1) and the t-interval mean ± t_{(1+c)/2, n-1}·std/√n of the finite values.

    n = 1 gives std and interval nan (one seed says nothing about the spread); n = 0 gives all nan.
    """
    from scipy import stats  # here, not at import: results.py sits on every command's import path
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    a = np.asarray(values, dtype=np.float64)
    a = a[np.isfinite(a)]
    n = int(a.size)
    mean = float(a.mean()) if n else math.nan
    std = float(a.std(ddof=1)) if n > 1 else math.nan
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * std / math.sqrt(n)) if n > 1 else math.nan
    return {"n": n, "mean": mean, "std": std, "ci": half, "lo": mean - half, "hi": mean + half}


def summary_metrics(df: pd.DataFrame) -> list[str]:
    """The metric columns of ``df`` that ``summarize`` aggregates by default."""
    return [c for c in (*DIRECTIONS, *EXTRA_SUMMARY) if c in df.columns and pd.api.types.is_numeric_dtype(df[c])]


def summarize(df: pd.DataFrame, metrics: list[str] | None = None, by: tuple[str, ...] = ("dataset", "model", "loss"),
              confidence: float = 0.95) -> pd.DataFrame:
    """Per group: run counts by status, ``diverged_share`` / ``collapsed_share``, and per metric ``<m>_n``,
    ``<m>_mean``, ``<m>_std``, ``<m>_ci`` (half-width), ``<m>_lo``, ``<m>_hi``.

    Metrics and shares use the ``finished`` and ``diverged`` runs; ``n_runs`` counts every run
    of the group and ``n_failed`` / ``n_incomplete`` / ``n_corrupt`` the ones left out.
    ``n_configs`` > 1 warns that the group mixes configurations (same label, other settings).
    Rows whose group columns are unknown (a corrupt config) are left out.
    """
    from .stability import seed_failure_rates
    by = list(by)
    missing = [c for c in (*by, "status") if c not in df.columns]
    if missing:
        raise ValueError(f"summarize needs column(s) {', '.join(missing)}; got {', '.join(map(str, df.columns))}")
    metrics = summary_metrics(df) if metrics is None else list(metrics)
    unknown = [m for m in metrics if m not in df.columns]
    if unknown:
        raise ValueError(f"unknown metric column(s) {', '.join(unknown)}; available: {', '.join(summary_metrics(df))}")
    df = df.dropna(subset=by)
    rows = []
    for key, g in df.groupby(by, sort=True):
        used = g[g["status"].isin(SUMMARY_STATUSES)]
        row: dict[str, Any] = dict(zip(by, key))
        row["n_runs"] = len(g)
        row["n"] = len(used)
        for s in ("failed", "incomplete", "corrupt"):
            row[f"n_{s}"] = int((g["status"] == s).sum())
        row["n_configs"] = int(g["config_hash"].nunique()) if "config_hash" in g else 1
        row["diverged_share"] = row["collapsed_share"] = math.nan
        if len(used) and {"diverged", "collapsed"} <= set(used.columns):
            shares = seed_failure_rates(used.assign(_g=0), by=["_g"]).iloc[0]
            row["diverged_share"], row["collapsed_share"] = float(shares["diverged"]), float(shares["collapsed"])
        for m in metrics:
            for k, v in mean_ci(used[m].to_numpy(dtype=np.float64, na_value=np.nan), confidence).items():
                row[f"{m}_{k}"] = v
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- export

def export_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as CSV or Parquet (by the file suffix), atomically."""
    path = Path(path)
    if path.suffix == ".csv":
        atomic_write_bytes(path, df.to_csv(index=False).encode("utf-8"))
    elif path.suffix == ".parquet":
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        atomic_write_bytes(path, buf.getvalue())
    else:
        raise ValueError(f"table file {str(path)!r} must end in .csv or .parquet")
    return path


def read_table(path: str | Path) -> pd.DataFrame:
    """A table written by ``export_table``, with the dtypes of ``load_results`` restored."""
    path = Path(path)
    if path.suffix == ".csv":
        return coerce_types(pd.read_csv(path, keep_default_na=False, na_values=[""]))
    if path.suffix == ".parquet":
        return coerce_types(pd.read_parquet(path))
    raise ValueError(f"table file {str(path)!r} must end in .csv or .parquet")


__all__ = ["run_dir_for", "is_complete", "find_run_dirs", "read_run", "CorruptFileError", "load_results",
           "summarize", "summary_metrics", "mean_ci", "config_hash", "coerce_types", "export_table", "read_table",
           "CONFIG", "HISTORY", "CHECKPOINT", "STATUS", "METRICS", "SAMPLES", "STATUSES", "SUMMARY_STATUSES",
           "DIRECTIONS", "EXTRA_SUMMARY"]
