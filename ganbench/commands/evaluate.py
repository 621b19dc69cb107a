"""``ganbench eval`` (re-evaluate trained runs) and ``ganbench metrics`` (any two sample sets)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..registry import ConfigError


def register(sub: Any) -> None:
    from ..cli import integer  # every integer flag: int64, else a usage error
    e = sub.add_parser("eval", help="(re-)evaluate trained runs: writes metrics.json")
    e.add_argument("path", help="a run directory, or a results directory holding many")
    e.add_argument("--inception-weights", default=None, help="path of weights-inception-2015-12-05-6726825d.pth")
    e.set_defaults(func=cmd_eval)

    m = sub.add_parser("metrics", help="FID/KID/IS/precision/recall between two sample sets")
    m.add_argument("--real", required=True, help=".npy/.npz array (images or points) or an image folder")
    m.add_argument("--fake", required=True, help=".npy/.npz array (images or points) or an image folder")
    m.add_argument("--features", required=True, help="extractor name (see: ganbench ls extractors)")
    m.add_argument("--metrics", default="fid,kid,pr,is", help="comma-separated: fid,kid,pr,is,fid_inf")
    m.add_argument("--inception-weights", default=None)
    m.add_argument("--batch-size", type=integer, default=500)
    m.add_argument("--json", action="store_true", help="print JSON instead of a table")
    m.set_defaults(func=cmd_metrics)


def cmd_eval(args: argparse.Namespace) -> int:
    from ..evaluate import evaluate_run
    from ..results import CHECKPOINT, find_run_dirs
    root = Path(args.path)
    if not root.exists():
        raise ConfigError(f"{root}: no such run or results directory")
    dirs = [d for d in find_run_dirs(root) if (d / CHECKPOINT).exists()]
    if not dirs:
        raise ConfigError(f"{root}: no trained runs found (a run directory holds config.json and checkpoint.pt)")
    for d in dirs:
        r = evaluate_run(d, inception_weights=args.inception_weights)
        shown = {k: v for k, v in r.get("metrics", {}).items() if k in ("fid", "kid", "is", "modes", "hq_fraction")}
        print(f"{d.name}: {r['status']} " + " ".join(f"{k}={v:.4g}" for k, v in shown.items() if v is not None))
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    from ..sample_sets import compute_set_metrics, load_samples
    wanted = [m.strip() for m in args.metrics.split(",") if m.strip()]
    allowed = ("fid", "kid", "pr", "is", "fid_inf")
    for m in wanted:
        if m not in allowed:
            raise ConfigError(f"--metrics: unknown metric {m!r}; accepted: {', '.join(allowed)}")
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be a positive integer, got {args.batch_size}")
    params = {"weights": args.inception_weights} if args.inception_weights and args.features == "inception-v3-compat" else {}
    real = load_samples(args.real, "--real")
    fake = load_samples(args.fake, "--fake")
    out = compute_set_metrics(real, fake, args.features, wanted, batch_size=args.batch_size, **params)
    if args.json:
        from ..io import jsonable
        print(json.dumps(jsonable(out), indent=2, sort_keys=True))
    else:
        for k, v in out["metrics"].items():
            print(f"{k:<12} {v:.6g}" if isinstance(v, float) else f"{k:<12} {v}")
        print(f"features     {out['provenance']['features']} (n_real={out['provenance']['n_real']}, "
              f"n_fake={out['provenance']['n_fake']})")
    return 0
