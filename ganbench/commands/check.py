"""``ganbench check``: the CI regression gate, a suite's new seeds against a baseline written by
``ganbench baseline`` (commands/baseline.py; API in ganbench/regression/).

Exit codes of ``check``: 0 every gated metric within its rule, 1 a regression or a baseline
configuration missing from the results, 2 unusable input (baseline, rule, provenance mismatch).
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from .. import regression as R
from ..files import input_file
from .shared import UsageError, integer, parse_seeds


def cmd_check(args: argparse.Namespace) -> int:
    if (args.suite is None) == (args.results is None):
        raise UsageError("check needs a SUITE to run or --results DIR to compare, not both and not neither")
    if args.results is not None and (args.set or args.out):
        raise UsageError("--set and --out apply when check runs a SUITE, not with --results")
    if args.results is not None and (args.seeds or args.threads is not None):
        raise UsageError("--seeds and --threads apply when check runs a SUITE, not with --results")
    input_file(args.baseline, "--baseline", "the JSON file written by 'ganbench baseline'")
    R.check_alpha(args.alpha)
    baseline = R.load_baseline(args.baseline)  # bad baseline, rules or seed counts: stop before minutes of training
    rules = R.resolve_rules(R.parse_rules(args.fail) if args.fail else None, baseline)
    results = Path(args.results) if args.results is not None else _run(args, baseline, rules)
    comparison = R.compare_to_baseline(baseline, R.collect(results), rules, args.allow_provenance_mismatch, args.alpha)
    print(R.render_text(comparison))
    for path in R.write_summary(R.render_markdown(comparison, args.baseline), args.summary):
        print(f"summary: {path}")
    return comparison.exit_code


def _run(args: argparse.Namespace, baseline: dict, rules: tuple) -> Path:
    from ..suite_loader import load_suite
    from ..runner import DEFAULT_RESULTS, run_suite
    suite = load_suite(args.suite, overrides=args.set, seeds=parse_seeds(args.seeds))
    R.check_seed_counts(baseline, rules, min(Counter(r.config_hash() for r in suite.runs).values()), args.alpha)
    out = R.check_dir(DEFAULT_RESULTS / f"{suite.name}-check", args.out, [run.run_id for run in suite.runs])
    print(f"suite {suite.name}: {len(suite.runs)} runs -> {out}", flush=True)
    for o in run_suite(suite, out=out, executor=args.executor, workers=args.workers, threads=args.threads):
        if o.status == "failed":  # shown here; the comparison then reports the configuration's seed as missing
            print(f"FAILED {o.run_id}: {o.error} (see {o.run_dir}/error.txt)", file=sys.stderr)
    return out


def register(subparsers: argparse._SubParsersAction) -> None:
    c = subparsers.add_parser("check", help="run a suite (or read results) and test it against a baseline",
                              description="Tests, per configuration and gated metric, whether the new seeds are "
                                          "worse than the baseline's (one-sided exact Mann-Whitney U, Holm-corrected, "
                                          "family-wise false-alarm rate --alpha). Exit 0: no significant "
                                          "worsening; 1: a regression, or a configuration or run missing; "
                                          "2: unusable input. See docs/regression-gate.md.")
    c.add_argument("suite", nargs="?", help="suite to run into a fresh directory (or give --results)")
    c.add_argument("--baseline", required=True, metavar="FILE", help="baseline file from 'ganbench baseline'")
    c.add_argument("--results", metavar="DIR", help="compare the runs already in DIR instead of running a suite")
    c.add_argument("--fail", action="append", metavar="RULES",
                   help=f"metrics to gate, each with an optional margin the new code may lose before the test "
                        f"looks for evidence: fid, fid:10%%, fid:+0.5, fid:1sigma; comma-separated or repeated, "
                        f"one rule per metric (default: {','.join(R.DEFAULT_RULES)})")
    c.add_argument("--alpha", type=float, default=R.DEFAULT_ALPHA,
                   help=f"family-wise false-alarm rate of the whole check (default {R.DEFAULT_ALPHA:g})")
    c.add_argument("--seeds", default=None, help="replace the suite's seeds, e.g. 8-15 (any seeds: the test "
                                                 "compares distributions, not the baseline's own seeds)")
    c.add_argument("--threads", type=integer, default=None, help="torch/BLAS threads per run (default 1)")
    c.add_argument("--out", help="where the suite's runs go; must hold no runs but those an earlier check wrote, "
                                 "which are deleted first (default results/<suite>-check)")
    c.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a key in every run")
    c.add_argument("--summary", metavar="FILE", help="also write the table as Markdown (always appended to "
                                                     "$GITHUB_STEP_SUMMARY when set)")
    c.add_argument("--allow-provenance-mismatch", action="store_true",
                   help="compare even when extractor, weights or sample counts differ from the baseline's")
    c.add_argument("--executor", choices=["local", "process"], default="local")
    c.add_argument("--workers", type=integer, default=None, help="process executor: number of worker processes")
    c.set_defaults(func=cmd_check)
