"""``ganbench report RESULTS_DIR``: leaderboards (Markdown, HTML) and tables (CSV, Parquet).

Prints the Markdown leaderboard, then the path of the HTML report (or of the output folder
when no HTML was asked for) on the last line.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .shared import EXIT_OK, UsageError
from ..files import output_dir


def parse_formats(text: str) -> list[str]:
    from ..report import FORMATS
    formats = [f.strip() for f in text.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise UsageError(f"--format {text!r}: unknown format(s) {', '.join(bad) or '(none given)'}; "
                         f"accepted: a comma-separated list of {', '.join(FORMATS)}")
    return list(dict.fromkeys(formats))


def cmd_report(args: argparse.Namespace) -> int:
    from ..report import write_report
    from ..results import DIRECTIONS
    formats = parse_formats(args.format)
    if args.metric not in DIRECTIONS:
        raise UsageError(f"--metric {args.metric!r} cannot rank; accepted: {', '.join(sorted(DIRECTIONS))}")
    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha {args.alpha!r} must be in (0, 1), e.g. 0.05")
    if args.out is not None:
        output_dir(args.out, "--out")
    report = write_report(args.results_dir, out=args.out, formats=formats, metric=args.metric, test=args.test,
                          alpha=args.alpha, errors=args.errors)
    print(report.markdown)
    last = report.files.get("html") or next(iter(report.files.values()), None)
    print(Path(last).resolve() if "html" in report.files else Path(last).resolve().parent)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    from ..report import TESTS
    p = sub.add_parser("report", help="leaderboards (Markdown, HTML) and tables (CSV, Parquet) of a results folder")
    p.add_argument("results_dir", help="a results folder, e.g. results/quick (every run below it is read)")
    p.add_argument("--format", default="md,html,csv",
                   help="comma-separated: md (leaderboard.md), html (report.html), csv / parquet "
                        "(runs.* and summary.*); default md,html,csv")
    p.add_argument("--out", help="output folder (default RESULTS_DIR/report)")
    p.add_argument("--metric", default="fid", help="metric that ranks the losses (default fid)")
    p.add_argument("--test", choices=TESTS, default="mannwhitney",
                   help="pairwise test across seeds, Holm-corrected (default mannwhitney: exact Mann-Whitney U)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    p.add_argument("--errors", choices=("raise", "mark"), default="raise",
                   help="a corrupt run file: stop with its name (raise, default) or list the run as corrupt (mark)")
    p.set_defaults(func=cmd_report)
