"""The results layout on disk and the tables read from it.

``results/<suite>/<run_id>/`` holds one run: ``config.json`` (written first),
``history.csv`` and ``checkpoint.pt`` (during training), ``status.json``
(finished / diverged / failed), ``samples.png`` and ``metrics.json`` (last:
a run is complete only when it exists).

``load_results(dir)`` reads every run under ``dir`` into one pandas row;
``summarize(df)`` aggregates over seeds per dataset × model × loss: the mean and a
95% percentile-bootstrap interval over seeds (``aggregate``), which stays inside the
metric's range. A run's ``status`` is one of

* ``finished`` / ``diverged``: ``metrics.json`` exists (its own status);
* ``failed``: ``status.json`` says the run crashed (no metrics);
* ``incomplete``: neither (training or evaluation did not finish);
* ``corrupt``: a file of the run could not be read (only with ``errors="mark"``).

Every run is listed; the summaries average the metrics of ``finished`` and
``diverged`` runs only (the others have none) and count the rest separately,
so nothing disappears silently. Among those runs, one whose ranked metric is
undefined (reverse KL with no HQ sample; every metric of a generator that
produced NaNs) counts as that metric's worst outcome (``aggregate.WORST``:
+∞ where lower is better), in the mean, the interval and the tests alike;
``<metric>_undefined`` says how many, ``<metric>_n`` counts them with the rest.

Derived per run from its metrics (definitions in ``modes``): ``failed_to_cover``
(fewer than half of the K modes at the end) and, for mixtures, ``modes_perfect``
and ``reverse_kl_perfect``: what a perfect generator scores with the same number
of HQ samples (hq_fraction × n_fake), the sample-size floor of those two columns.
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np
import pandas as pd

from .aggregate import seed_interval, with_worst
from .catalogue import directions
from .config import architecture, config_hash
from .files import CorruptFileError, atomic_write_bytes, read_json
from .modes import failed_to_cover, perfect_generator
from .registry import message_line

CONFIG, HISTORY, CHECKPOINT, STATUS, METRICS, SAMPLES = (
    "config.json", "history.csv", "checkpoint.pt", "status.json", "metrics.json", "samples.png")
LOCK, ATTEMPTS = ".lock", "runner.json"  # the runner's: its per-run lock and the record of every attempt
ERROR, TENSORBOARD = "error.txt", "tensorboard"  # a failed attempt's traceback; the trainer's event folder

STATUSES = ("finished", "diverged", "failed", "incomplete", "corrupt")
SUMMARY_STATUSES = ("finished", "diverged")  # the runs whose metrics enter summaries

# metric -> higher_is_better, from the metric catalogue; the mode diagnostics first, as the table's columns have
# always been ordered.
DIRECTIONS: dict[str, bool] = {**directions("modes"), **directions("features")}
# Summarised besides the ranked metrics (no direction: spread_ratio is best at 1; the perfect-generator floors
# are references), over the runs that have them.
EXTRA_SUMMARY = ("modes_perfect", "reverse_kl_perfect", "spread_ratio", "wall_time")
# A ranked metric applies to a board when some run of it has a value, or has the value it is defined with:
# reverse KL is undefined exactly when a run has no HQ sample, so hq_fraction says the board measures it.
APPLIES_WITH = {"reverse_kl": "hq_fraction"}

ID_COLUMNS = ["suite", "dataset", "model", "loss", "loss_name", "seed", "status", "reason", "steps", "wall_time"]
# Runs of a search (config.SearchTag) only: the trial, the search's identity, the keys drawn on a log scale
# (";"-joined), then one column per searched key named by the key (``optim.lr_d``) holding the trial's value.
SEARCH_COLUMNS = ["trial", "search_space", "search_log_scale"]
PROVENANCE_COLUMNS = ["features", "weights_sha256", "comparable", "n_real", "n_fake", "split", "device",
                      "git_commit", "ganbench_version", "config_hash", "architecture", "pack", "n_train", "batch_size",
                      "run_id", "run_dir"]
BOOL_COLUMNS = ("diverged", "collapsed", "failed_to_cover", "comparable")
INT_COLUMNS = ("seed", "steps", "n_real", "n_fake", "pack", "n_train", "batch_size", "trial")
STR_COLUMNS = ("suite", "dataset", "model", "loss", "loss_name", "status", "reason", "features", "weights_sha256",
               "split", "device", "git_commit", "ganbench_version", "config_hash", "architecture", "run_id", "run_dir",
               "real_stats", "search_space", "search_log_scale")


def run_dir_for(results_dir: str | Path, run_id: str) -> Path:
    """The directory of ``run_id`` inside ``results_dir``; refuses anything that would land outside it."""
    root = Path(results_dir).resolve()
    d = (root / run_id).resolve()
    if d.parent != root:
        raise ValueError(f"run id {run_id!r} would write outside the results directory {root}")
    return d


def read_metrics(run_dir: str | Path) -> dict[str, Any]:
    """A run's ``metrics.json``, checked; one that is cut, or not a ganbench metrics file (no 'metrics' table,
    ``"fid": "garbage"``), raises CorruptFileError naming it."""
    path = Path(run_dir) / METRICS
    doc = read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("metrics"), dict):
        raise CorruptFileError(f"{path}: not a ganbench metrics file (no 'metrics' table)")
    return check_metrics_doc(doc, path)


def is_finished(run_dir: str | Path) -> bool:
    """The run's ``metrics.json`` exists and reads back (the runner moves a damaged one aside and re-evaluates)."""
    if not (Path(run_dir) / METRICS).is_file():
        return False
    try:
        read_metrics(run_dir)
        return True
    except CorruptFileError:
        return False


RUN_FILES = (CONFIG, STATUS, METRICS)  # any one marks a run directory: a run whose config.json is lost still counts


def find_run_dirs(results_dir: str | Path) -> list[Path]:
    """Every run directory (one holding config.json, status.json or metrics.json) under ``results_dir``, sorted."""
    root = Path(results_dir)
    if any((root / name).is_file() for name in RUN_FILES):
        return [root]
    return sorted({p.parent for name in RUN_FILES for p in root.rglob(name)
                   if p.is_file() and p.parent.name != TENSORBOARD})


def read_run(run_dir: str | Path) -> dict[str, Any]:
    """config, status and metrics of one run (metrics empty when the run is incomplete)."""
    run_dir = Path(run_dir)
    out: dict[str, Any] = {"dir": str(run_dir), "config": read_json(run_dir / CONFIG)}
    out["status"] = read_json(run_dir / STATUS) if (run_dir / STATUS).exists() else {"status": "incomplete"}
    out["metrics"] = read_json(run_dir / METRICS) if (run_dir / METRICS).exists() else {}
    return out


# ---------------------------------------------------------------- history.csv

def history_to_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _fmt(r.get(k)) for k in columns})
    return buf.getvalue()


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return repr(v)  # shortest round-trip form: identical runs give identical bytes
    return "" if v is None else v


def read_history(path: Path) -> list[dict[str, Any]]:
    """Rows of ``history.csv``; a truncated or garbled file raises CorruptFileError naming it."""
    if not path.exists():
        return []
    try:
        text = path.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):  # written whole, newline last: anything else was cut mid-line
            raise CorruptFileError(f"{path}: line {text.count(chr(10)) + 1} is truncated or malformed (cut off before "
                                   f"its newline); delete it to retrain")
        reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)  # strict: an open quote is an error
        rows = list(reader)
        header = reader.fieldnames or []
    except (UnicodeDecodeError, csv.Error) as e:
        raise CorruptFileError(f"{path}: not a readable CSV file ({message_line(e)}); "
                               f"delete it to retrain") from None
    if "step" not in header:
        raise CorruptFileError(f"{path}: no 'step' column{' (the file is empty)' if not text else ''}; "
                               f"delete it to retrain")
    for i, row in enumerate(rows):
        # DictReader pads short rows with None and collects extra cells under None: both mean a cut or mangled line
        if None in row or any(v is None for v in row.values()) or not str(row["step"]).isdigit():
            raise CorruptFileError(f"{path}: line {i + 2} is truncated or malformed; delete it to retrain")
    return [{k: _parse(v) for k, v in row.items()} for row in rows]


def _parse(v: str) -> Any:
    if v == "":
        return None
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v


# ---------------------------------------------------------------- one run -> one row

def _dict(obj: Any, path: Path, what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise CorruptFileError(f"{path}: {what} must be a JSON object, got {type(obj).__name__}")
    return obj


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, (bool, int, float, str))


def _config_columns(config: dict[str, Any], path: Path) -> dict[str, Any]:
    try:
        loss = config["loss"]["name"]
        model, data, train = config["model"], config["data"], config.get("train") or {}
        row = {"suite": config.get("suite"), "dataset": data["name"], "model": model["name"],
               "loss": config.get("name") or loss, "loss_name": loss, "seed": config.get("seed"),
               "config_hash": config_hash(config),
               # what a published row's protocol is checked against (ganbench.published)
               "architecture": architecture(model), "pack": model.get("pack", 1), "n_train": data.get("n_train"),
               "batch_size": train.get("batch_size")}
    except (KeyError, TypeError):
        raise CorruptFileError(f"{path}: config lacks data.name, model.name or loss.name") from None
    return {**row, **_search_columns(config.get("search"), path)}


def _search_columns(search: Any, path: Path) -> dict[str, Any]:
    """A search run's trial, search identity and searched values (see ``SEARCH_COLUMNS``); nothing otherwise."""
    if search is None:
        return {}
    search = _dict(search, path, "its 'search' entry")
    values = _dict(search.get("values") or {}, path, "search.values")
    log_scale = search.get("log_scale") or []
    if not isinstance(log_scale, list) or not all(isinstance(k, str) for k in log_scale):
        raise CorruptFileError(f"{path}: search.log_scale must be a list of keys, got {log_scale!r}")
    trial, space = search.get("trial"), search.get("space")
    if isinstance(trial, bool) or not isinstance(trial, int) or not 0 <= trial < 2**31:
        raise CorruptFileError(f"{path}: search.trial must be a trial index (an integer >= 0), got {trial!r}")
    if not isinstance(space, str):
        raise CorruptFileError(f"{path}: search.space must be the search's identity (a string), got {space!r}")
    row = {"trial": trial, "search_space": space, "search_log_scale": ";".join(log_scale)}
    row.update({k: v for k, v in values.items() if "." in k and _scalar(v)})  # dotted: never a metric's name
    return row


def check_metrics_doc(doc: Any, path: Path) -> dict[str, Any]:
    """``doc`` (metrics.json read back) as ganbench writes it: a ``metrics`` table in which every metric that
    tables rank or summarise is a number (or null: not computable); else CorruptFileError naming file and key."""
    m = _dict(doc, path, "metrics.json")
    metrics = _dict(m.get("metrics") or {}, path, "its 'metrics' entry")
    for k, v in metrics.items():
        if k in (*DIRECTIONS, *EXTRA_SUMMARY) and (isinstance(v, bool) or not (v is None or isinstance(v, (int, float)))):
            raise CorruptFileError(f"{path}: metrics.{k} is {v!r}, not a number; delete the file to re-evaluate")
    return m


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
                                          "device", "git_commit", "real_stats")})
    row["ganbench_version"] = (prov.get("versions") or {}).get("ganbench")
    row.update(_coverage_columns(row))
    return row


def finite_or_none(v: Any) -> Optional[float]:
    """A metric value read from JSON as a float, or None where it is not a finite number (JSON null is how a
    non-finite metric is written)."""
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def _coverage_columns(row: dict[str, Any]) -> dict[str, Any]:
    """``failed_to_cover`` and the perfect-generator floors of one run (absent where they do not apply)."""
    out: dict[str, Any] = {}
    modes, k = finite_or_none(row.get("modes")), finite_or_none(row.get("n_modes"))
    if modes is not None and k is not None and k >= 1:
        out["failed_to_cover"] = failed_to_cover(modes, k)
    hq, n_fake = finite_or_none(row.get("hq_fraction")), finite_or_none(row.get("n_fake"))
    if hq is not None and n_fake is not None and k is not None and k >= 1:
        perfect = perfect_generator(int(round(hq * n_fake)), int(k))
        out["modes_perfect"], out["reverse_kl_perfect"] = perfect["modes"], perfect["reverse_kl"]
    return out


def _run_row(run_dir: Path) -> dict[str, Any]:
    row: dict[str, Any] = {"run_id": run_dir.name, "run_dir": str(run_dir)}
    cfg_path = run_dir / CONFIG
    if not cfg_path.exists():  # a run is never left out silently: its row needs the configuration
        raise CorruptFileError(f"{cfg_path}: missing; rerun its suite ('ganbench run') to rewrite it")
    row.update(_config_columns(_dict(read_json(cfg_path), cfg_path, "config"), cfg_path))
    if (run_dir / METRICS).exists():
        m = check_metrics_doc(read_json(run_dir / METRICS), run_dir / METRICS)
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
    flags = [c for c in ("diverged", "collapsed", "failed_to_cover", "n_collapse_events") if c in cols]
    search = [c for c in SEARCH_COLUMNS if c in cols] + sorted(c for c in cols if "." in c)
    fixed = set(ID_COLUMNS) | set(PROVENANCE_COLUMNS) | set(metric_order) | set(floor) | set(flags) | set(search)
    rest = [c for c in cols if c not in fixed]  # other metrics and diagnostics, in file order
    return [c for c in ID_COLUMNS if c in cols] + search + metric_order + flags + rest + floor + \
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
    if root.exists() and not root.is_dir():
        raise FileNotFoundError(f"{str(root)!r} is a file; give the results folder that holds the run folders")
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
    order = ["dataset", "model", "loss", *(["trial"] if "trial" in df else []), "seed", "run_id"]
    return df.sort_values(order, na_position="last", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------- summaries over seeds

def summary_metrics(df: pd.DataFrame) -> list[str]:
    """The metric columns of ``df`` that ``summarize`` aggregates by default."""
    return [c for c in (*DIRECTIONS, *EXTRA_SUMMARY) if c in df.columns and pd.api.types.is_numeric_dtype(df[c])]


def summarize(df: pd.DataFrame, metrics: list[str] | None = None, by: tuple[str, ...] = ("dataset", "model", "loss"),
              confidence: float = 0.95) -> pd.DataFrame:
    """Per group: run counts by status, ``diverged_share`` / ``collapsed_share`` / ``failed_to_cover_share``,
    and per metric ``<m>_n``, ``<m>_undefined``, ``<m>_mean``, ``<m>_std``, ``<m>_lo``, ``<m>_hi``
    (``aggregate.seed_interval``: percentile bootstrap over seeds).

    Metrics and shares use the ``finished`` and ``diverged`` runs; ``n_runs`` counts every run
    of the group and ``n_failed`` / ``n_incomplete`` / ``n_corrupt`` the ones left out.
    A ranked metric (one of ``DIRECTIONS``) that applies to the group's board (the ``by`` columns but
    the last; see ``APPLIES_WITH``) counts every such run: an undefined value is the metric's worst
    outcome and is counted in ``<m>_undefined``. A run without a final mode count on a board that
    counts modes failed to cover. The other metrics average the runs that have them (``<m>_n``).
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
    applies = _applicable(df[df["status"].isin(SUMMARY_STATUSES)], by[:-1], [*metrics, "modes"])
    rows = []
    for key, g in df.groupby(by, sort=True):
        used = g[g["status"].isin(SUMMARY_STATUSES)]
        row: dict[str, Any] = dict(zip(by, key))
        board = applies.get(tuple(key[:-1]), set())
        row["n_runs"] = len(g)
        row["n"] = len(used)
        for s in ("failed", "incomplete", "corrupt"):
            row[f"n_{s}"] = int((g["status"] == s).sum())
        row["n_configs"] = int(g["config_hash"].nunique()) if "config_hash" in g else 1
        row["diverged_share"] = row["collapsed_share"] = row["failed_to_cover_share"] = math.nan
        if len(used) and {"diverged", "collapsed"} <= set(used.columns):
            shares = seed_failure_rates(used.assign(_g=0), by=["_g"]).iloc[0]
            row["diverged_share"], row["collapsed_share"] = float(shares["diverged"]), float(shares["collapsed"])
        if len(used) and "modes" in board:
            flags = used["failed_to_cover"] if "failed_to_cover" in used else pd.Series(pd.NA, index=used.index)
            row["failed_to_cover_share"] = float(flags.astype("boolean").fillna(True).astype(bool).mean())
        for m in metrics:
            values = used[m].to_numpy(dtype=np.float64, na_value=np.nan)
            if m in DIRECTIONS and m in board:
                row[f"{m}_undefined"] = int((~np.isfinite(values)).sum())
                stats = seed_interval(with_worst(values, m, DIRECTIONS[m]), confidence)
            else:
                row[f"{m}_undefined"] = 0
                stats = seed_interval(values[np.isfinite(values)], confidence)
            row.update({f"{m}_{k}": v for k, v in stats.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def _applicable(used: pd.DataFrame, board_by: list[str], metrics: list[str]) -> dict[tuple, set[str]]:
    """Board key (values of ``board_by``) -> the metrics some run of that board has a value for."""
    out: dict[tuple, set[str]] = {}
    groups = used.groupby(board_by, sort=False) if board_by else [((), used)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        have = set()
        for m in metrics:
            for c in (m, APPLIES_WITH.get(m)):
                if c in g and np.isfinite(g[c].to_numpy(dtype=np.float64, na_value=np.nan)).any():
                    have.add(m)
        out[key] = have
    return out


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


__all__ = ["run_dir_for", "is_finished", "read_metrics", "read_history", "history_to_csv", "check_metrics_doc",
           "find_run_dirs", "read_run", "CorruptFileError", "load_results",
           "summarize", "summary_metrics", "config_hash", "coerce_types", "export_table", "read_table",
           "CONFIG", "HISTORY", "CHECKPOINT", "STATUS", "METRICS", "SAMPLES", "LOCK", "ATTEMPTS", "ERROR", "TENSORBOARD", "STATUSES",
           "SUMMARY_STATUSES", "DIRECTIONS", "EXTRA_SUMMARY", "SEARCH_COLUMNS"]
