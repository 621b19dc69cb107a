"""``ganbench eval`` (re-evaluate trained runs) and ``ganbench metrics`` (any two sample sets)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..catalogue import SET_EVALUATIONS
from ..registry import ConfigError

SET_METRICS = SET_EVALUATIONS  # what `ganbench metrics` computes on sample sets, from the metric catalogue


def register(sub: Any) -> None:
    from .shared import integer  # every integer flag: int64, else a usage error
    e = sub.add_parser("eval", help="(re-)evaluate trained runs: writes metrics.json")
    e.add_argument("path", help="a run directory, or a results directory holding many")
    e.add_argument("--inception-weights", default=None, help="path of weights-inception-2015-12-05-6726825d.pth")
    e.set_defaults(func=cmd_eval)

    m = sub.add_parser("metrics", help="FID/KID/IS/precision/recall/density/coverage/CMMD/Vendi between two sample sets")
    m.add_argument("--real", default=None, help=".npy/.npz array (images or points) or an image folder")
    m.add_argument("--real-stats", default=None, metavar="FILE",
                   help="reference statistics .npz (pytorch-fid, clean-fid, ADM or 'ganbench stats'): FID against "
                        "them instead of --real samples")
    m.add_argument("--fake", required=True, help=".npy/.npz array (images or points) or an image folder")
    m.add_argument("--features", required=True, help="extractor name (see: ganbench ls extractors)")
    m.add_argument("--metrics", default=None,
                   help=f"comma-separated: {','.join(SET_METRICS)} (default fid,kid,pr,is; fid with --real-stats "
                        f"alone)")
    m.add_argument("--inception-weights", default=None)
    m.add_argument("--weights", default=None, metavar="FILE",
                   help="weights file of the extractor (DINOv2, CLIP; for inception-v3-compat: --inception-weights)")
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


def extractor_params(features: str, weights: str | None, inception_weights: str | None) -> dict[str, Any]:
    """The ``weights`` parameter of the extractor, from --weights or (Inception) --inception-weights."""
    if features == "inception-v3-compat" and (inception_weights or weights):
        return {"weights": inception_weights or weights}
    return {"weights": weights} if weights else {}


def cmd_metrics(args: argparse.Namespace) -> int:
    from ..feature_spaces import metric_label
    from ..reference_stats import load_reference_stats
    from ..sample_sets import compute_set_metrics, load_samples
    if args.real is None and args.real_stats is None:
        raise ConfigError("ganbench metrics needs --real SAMPLES or --real-stats FILE (or both)")
    default = "fid" if args.real is None else "fid,kid,pr,is"
    wanted = [m.strip() for m in (args.metrics or default).split(",") if m.strip()]
    for m in wanted:
        if m not in SET_METRICS:
            raise ConfigError(f"--metrics: unknown metric {m!r}; accepted: {', '.join(SET_METRICS)}")
    if args.real is None and set(wanted) - {"fid"}:
        raise ConfigError(f"--metrics {','.join(sorted(set(wanted) - {'fid'}))} need real samples: --real-stats "
                          f"gives FID only; add --real SAMPLES")
    stats = load_reference_stats(args.real_stats) if args.real_stats else None  # fail before extracting
    params = extractor_params(args.features, args.weights, args.inception_weights)
    real = load_samples(args.real, "--real") if args.real is not None else None
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be a positive integer, got {args.batch_size}")
    fake = load_samples(args.fake, "--fake")
    out = compute_set_metrics(real, fake, args.features, wanted, batch_size=args.batch_size, real_stats=stats,
                              **params)
    if args.json:
        from ..files import jsonable
        print(json.dumps(jsonable(out), indent=2, sort_keys=True))
    else:
        prov = out["provenance"]
        rows = [(metric_label(k, k, args.features), f"{v:.6g}" if isinstance(v, float) else str(v))  # FD_DINOv2-L
                for k, v in out["metrics"].items()]
        rows.append(("features", f"{prov['features']} (n_real={prov['n_real']}, n_fake={prov['n_fake']})"))
        if stats is not None:
            rows.append(("real stats", str(prov["real_stats"])))
        rows += [("warning", w) for w in out["warnings"]]
        width = max(12, *(len(label) for label, _ in rows))  # kid_subset_size and FD_DINOv2-L keep the column
        for label, text in rows:
            print(f"{label:<{width}} {text}")
    return 0
