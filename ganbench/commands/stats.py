"""``ganbench stats``: write reference statistics (μ, Σ with provenance) and show what a statistics file holds."""
from __future__ import annotations

import argparse
import json
from typing import Any

from ..registry import ConfigError


def register(sub: Any) -> None:
    p = sub.add_parser("stats", help="reference statistics (.npz) for FID: make them, or show a file's provenance")
    actions = p.add_subparsers(dest="stats_action", required=True)
    m = actions.add_parser("make", help="write mu/sigma (+ provenance) of real samples' features, readable by "
                                        "pytorch-fid, clean-fid and ADM's evaluator")
    src = m.add_mutually_exclusive_group(required=True)
    src.add_argument("--real", default=None, help=".npy/.npz array or image folder of real samples")
    src.add_argument("--data", default=None, metavar="NAME", help="a ganbench dataset (see: ganbench ls datasets)")
    m.add_argument("--split", default="test", choices=["train", "test"], help="split of --data (default test)")
    m.add_argument("--n", type=int, default=10000, help="samples of --data (capped by the split; default 10000)")
    m.add_argument("--features", required=True, help="extractor name (see: ganbench ls extractors)")
    m.add_argument("--weights", default=None, metavar="FILE", help="weights file of the extractor")
    m.add_argument("--batch-size", type=int, default=500)
    m.add_argument("--out", required=True, metavar="FILE.npz")
    m.set_defaults(func=cmd_stats_make)
    s = actions.add_parser("show", help="print a statistics file's format, dimension and provenance")
    s.add_argument("file")
    s.set_defaults(func=cmd_stats_show)


def cmd_stats_make(args: argparse.Namespace) -> int:
    from ..features import get_extractor
    from ..reference_stats import save_reference_stats
    from ..sample_sets import load_samples
    from .evaluate import extractor_params
    if not args.out.endswith(".npz"):
        raise ConfigError(f"--out {args.out!r}: statistics are written as .npz (the format pytorch-fid, clean-fid "
                          f"and ADM read); name the file *.npz")
    if args.n < 2:
        raise ConfigError(f"--n {args.n}: statistics need at least 2 samples")
    ex = get_extractor(args.features, **extractor_params(args.features, args.weights, None))
    if args.real is not None:
        x, source = load_samples(args.real, "--real"), f"samples {args.real}"
        feats = ex.extract(x, batch_size=args.batch_size)["features"]
    else:
        from ..data import get_dataset
        from ..evaluate import real_features
        ds = get_dataset(args.data)
        rec = real_features(ds, args.split, ex, args.n, batch_size=args.batch_size)
        feats, source = rec["features"], f"dataset {args.data}, split {args.split}, {rec['n']} samples"
    prov = save_reference_stats(args.out, feats, ex.info(), source)
    print(f"wrote {args.out}: {feats.shape[1]}-d statistics of {prov['n']} samples, features {prov['features']} "
          f"(weights sha256 {str(prov['weights_sha256'])[:12]})")
    return 0


def cmd_stats_show(args: argparse.Namespace) -> int:
    from ..reference_stats import load_reference_stats
    stats = load_reference_stats(args.file)
    print(json.dumps({"file": stats.path, "sha256": stats.sha256, "format": stats.format, "dim": stats.dim,
                      "provenance": stats.provenance or "unknown"}, indent=2, sort_keys=True))
    return 0
