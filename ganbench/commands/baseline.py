"""``ganbench baseline RESULTS_DIR``: record a results directory's per-seed metrics as the regression gate's
baseline (API in ganbench/regression/; the gate itself is ``ganbench check``, commands/check.py)."""
from __future__ import annotations

import argparse

from .. import regression as R
from ..files import output_file
from .shared import UsageError


def cmd_baseline(args: argparse.Namespace) -> int:
    if args.out is not None:
        output_file(args.out, "--out")  # checked before the results are read
    baseline, notes = R.make_baseline(args.results)
    out = args.out
    if out is None:
        suites = sorted({c["suite"] for c in baseline["configs"].values()})
        if len(suites) != 1:
            raise UsageError(f"{args.results} holds runs of suites {', '.join(suites)}; name the file with --out")
        from ..runner import DEFAULT_RESULTS
        out = DEFAULT_RESULTS / "baselines" / f"{suites[0]}.json"
    R.write_baseline(baseline, output_file(out, "--out"))
    for note in notes:
        print(f"note: {note}")
    n_runs = sum(len(c["seeds"]) for c in baseline["configs"].values())
    print(f"wrote {out}: {len(baseline['configs'])} configurations, {n_runs} runs")
    for key, c in sorted(baseline["configs"].items()):
        shown = ", ".join(f"{n} {s['mean']:.4g}" for n, s in sorted(c["metrics"].items()) if n in ("fid", "modes"))
        print(f"  {key}: {shown}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    b = subparsers.add_parser("baseline", help="record a results directory's metrics as a regression baseline")
    b.add_argument("results", metavar="RESULTS_DIR", help="results of a suite run (e.g. results/ci)")
    b.add_argument("--out", help="baseline file (default results/baselines/<suite>.json)")
    b.set_defaults(func=cmd_baseline)
