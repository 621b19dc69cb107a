"""What every command shares: exit codes, ``UsageError``, the int64 ``integer`` flag type, ``--seeds``
parsing, and the one-line-per-run display of outcomes (``run_line``, ``run_summary``).

Commands import these from here, never from ``cli``, so the import graph runs one way: cli → commands.
"""
from __future__ import annotations

import argparse
import re
from typing import Any

from ..files import CorruptFileError
from ..registry import ConfigError

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT = 0, 1, 2


class UsageError(Exception):
    """Bad command-line input detected by a command (exit 2)."""


INT64_MAX = 2**63 - 1  # torch sizes, seeds and counts are int64: anything larger fails deep inside torch


def integer(text: str) -> int:
    """argparse type of every integer flag: a decimal integer that fits in int64 (else a usage error, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if abs(value) > INT64_MAX:
        raise argparse.ArgumentTypeError(f"{text} is out of range (at most {INT64_MAX} in size)")
    return value


def parse_seeds(text: str | None) -> tuple[int, ...] | None:
    """``--seeds 0,1,2`` or ``--seeds 0-9`` → a tuple of distinct seeds (at most ``MAX_SEEDS`` of them)."""
    from ..config import MAX_SEED, MAX_SEEDS
    if text is None:
        return None
    usage = f"--seeds {text!r}: expected comma-separated seeds or ranges in 0..{MAX_SEED}, e.g. 0,1,2 or 0-9"
    ranges: list[tuple[int, int]] = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if m is None:  # "1-", "-1", "a", "": a range needs both ends
            raise ConfigError(usage)
        lo, hi = int(m[1]), int(m[2] if m[2] is not None else m[1])
        if hi < lo or hi > MAX_SEED:
            raise ConfigError(usage)
        ranges.append((lo, hi))
    count = sum(hi - lo + 1 for lo, hi in ranges)  # counted before expanding: 0-100000000000 must not fill memory
    if count > MAX_SEEDS:
        raise ConfigError(f"--seeds {text!r} names {count} seeds; at most {MAX_SEEDS} are accepted")
    out = [s for lo, hi in ranges for s in range(lo, hi + 1)]
    if len(set(out)) != len(out):
        raise ConfigError(f"--seeds {text!r}: a seed is named twice; expected distinct seeds, e.g. 0,1,2 or 0-9")
    return tuple(out)


HEADLINE = ("fid", "kid", "is", "precision", "recall", "modes", "hq_fraction", "reverse_kl", "kl")


def outcome_row(o: Any) -> dict[str, Any]:
    """A run's id, status, wall time and the headline metrics of its metrics.json."""
    from ..results import read_run
    row: dict[str, Any] = {"run": o.run_id, "status": o.status}
    try:
        info = read_run(o.run_dir)
    except CorruptFileError as e:
        row["error"] = str(e)
        return row
    m = info["metrics"].get("metrics", {})
    st = info["status"]
    row["status"] = st.get("status", o.status) if o.status in ("skipped", "busy") else o.status
    row["time_s"] = round(float(st.get("wall_time") or o.wall_time or 0.0), 1)
    row.update({key: m[key] for key in HEADLINE if m.get(key) is not None})
    return row


def run_line(o: Any) -> str:
    """One line for a log: ``run_id status 12.3s fid=0.0123 modes=8 ...`` (4 significant digits)."""
    row = outcome_row(o)
    parts = [str(row.pop("run")), str(row.pop("status"))]
    if "time_s" in row:
        parts.append(f"{row.pop('time_s'):.1f}s")
    parts += [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()]
    return " ".join(parts)


def run_summary(outcomes: list[Any]) -> str:
    """One line per run: status, wall time and the headline metrics of its metrics.json."""
    import pandas as pd
    df = pd.DataFrame([outcome_row(o) for o in outcomes])
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.max_colwidth", 60,
                           "display.float_format", "{:.4g}".format):
        return df.to_string(index=False)
