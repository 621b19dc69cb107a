"""The ``ganbench`` command: parse arguments, build configs, call the API, print.

Exit codes: 0 ok, 1 a failure (a failed run, a regression), 2 bad input
(one line on stderr, no traceback).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

from .io import CorruptFileError
from .registry import ConfigError

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


# ---------------------------------------------------------------- commands

def cmd_run(args: argparse.Namespace) -> int:
    from .config import load_suite
    from .runner import results_dir_for, run_suite
    suite = load_suite(args.suite, overrides=args.set, seeds=parse_seeds(args.seeds))
    out = results_dir_for(suite, args.out)
    print(f"suite {suite.name}: {len(suite.runs)} runs -> {out}", flush=True)
    # A log (CI, a pipe) gets no progress bars, so it gets one line per run as each one ends instead.
    on_done = None if sys.stdout.isatty() else (lambda o: print(run_line(o), flush=True))
    outcomes = run_suite(suite, out=out, executor=args.executor, workers=args.workers, threads=args.threads,
                         ray_address=args.ray_address, on_done=on_done)
    print(run_summary(outcomes))
    failed = [o for o in outcomes if o.status == "failed"]
    for o in failed:
        print(f"FAILED {o.run_id}: {o.error} (see {o.run_dir}/error.txt)", file=sys.stderr)
    return EXIT_FAIL if failed else EXIT_OK


def parse_seeds(text: str | None) -> tuple[int, ...] | None:
    """``--seeds 0,1,2`` or ``--seeds 0-9`` → a tuple of distinct seeds (at most ``MAX_SEEDS`` of them)."""
    from .config import MAX_SEED, MAX_SEEDS
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
    from .results import read_run
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


def cmd_ls(args: argparse.Namespace) -> int:
    from .config import SUITES_DIR
    from .plugins import load_entry_points, registry_for
    what = args.what
    if what == "suites":
        import tomllib
        for p in sorted(SUITES_DIR.glob("*.toml")):
            desc = tomllib.loads(p.read_text()).get("suite", {}).get("description", "")
            print(f"{p.stem:<16} {desc}")
        return EXIT_OK
    section = {"losses": "loss", "models": "model", "datasets": "data", "extractors": "features"}[what]
    load_entry_points(section)
    for entry in registry_for(section).entries():
        print(f"{entry.name:<20} {entry.description}")
    return EXIT_OK


# ---------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ganbench", description="Compare GAN losses with evidence.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("run", help="train and evaluate every run of a suite")
    r.add_argument("suite", help="suite file, or the name of a bundled suite (see: ganbench ls suites)")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key in every run, e.g. --set train.steps=200")
    r.add_argument("--out", help="results directory (default results/<suite name>)")
    r.add_argument("--seeds", default=None, help="replace the suite's seeds, e.g. 0,1,2 or 0-9")
    r.add_argument("--executor", choices=["local", "process", "ray"], default="local")
    r.add_argument("--workers", type=integer, default=None, help="process executor: number of worker processes")
    r.add_argument("--threads", type=integer, default=None,
                   help="torch/BLAS threads per run (default: 1 locally, cores // workers in a pool)")
    r.add_argument("--ray-address", default=None, help="ray executor: 'auto' or 'ray://host:port' (none: start a local Ray)")
    r.set_defaults(func=cmd_run)

    ls = sub.add_parser("ls", help="list losses, models, datasets, extractors or suites")
    ls.add_argument("what", choices=["losses", "models", "datasets", "extractors", "suites"])
    ls.set_defaults(func=cmd_ls)

    from .commands import registrars
    for register in registrars():
        register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, CorruptFileError, UsageError, FileNotFoundError) as e:
        print(f"ganbench: error: {one_line(e)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as e:  # a path the user gave: unreadable, read-only, a folder where a file belongs, ...
        where = " -> ".join(str(f) for f in (e.filename, e.filename2) if f is not None)
        print(f"ganbench: error: {where + ': ' if where else ''}{e.strerror or one_line(e)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("ganbench: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug: one line still, the traceback on request
        if os.environ.get("GANBENCH_DEBUG"):
            raise
        print(f"ganbench: internal error: {type(e).__name__}: {one_line(e)} "
              f"(a bug in ganbench; GANBENCH_DEBUG=1 shows the traceback)", file=sys.stderr)
        return EXIT_FAIL


def one_line(e: BaseException) -> str:
    return " ".join(str(e).split())


if __name__ == "__main__":
    sys.exit(main())
