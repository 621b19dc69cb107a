"""The ``ganbench`` command: parse arguments, build configs, call the API, print.

Exit codes: 0 ok, 1 a failure (a failed run, a regression), 2 bad input
(one line on stderr, no traceback).
"""
from __future__ import annotations

import argparse
import os
import sys

# The pieces every command shares live with the commands (cli -> commands, never back); their names stay
# importable from here.
from .commands.shared import (EXIT_BAD_INPUT, EXIT_FAIL, EXIT_OK, HEADLINE, INT64_MAX,  # noqa: F401
                              UsageError, integer, outcome_row, parse_seeds, run_line, run_summary)
from .files import CorruptFileError
from .registry import ConfigError, message_line, one_line

# ---------------------------------------------------------------- commands

def cmd_run(args: argparse.Namespace) -> int:
    from .suite_loader import load_suite
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


def cmd_ls(args: argparse.Namespace) -> int:
    from .suite_loader import SUITES_DIR
    from .plugins import load_entry_points, registry_for
    what = args.what
    if what == "suites":
        import tomllib
        paths = sorted(SUITES_DIR.glob("*.toml"))
        width = max([16, *(len(p.stem) for p in paths)])  # the names stay one column
        for p in paths:
            desc = tomllib.loads(p.read_text()).get("suite", {}).get("description", "")
            print(f"{p.stem:<{width}} {desc}")
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
        print(f"ganbench: error: {message_line(e)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as e:  # a path the user gave: unreadable, read-only, a folder where a file belongs, ...
        where = " -> ".join(str(f) for f in (e.filename, e.filename2) if f is not None)
        print(f"ganbench: error: {where + ': ' if where else ''}{e.strerror or message_line(e)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("ganbench: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug: one line still, the traceback on request
        if os.environ.get("GANBENCH_DEBUG"):
            raise
        print(f"ganbench: internal error: {one_line(e)} "
              f"(a bug in ganbench; GANBENCH_DEBUG=1 shows the traceback)", file=sys.stderr)
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
