"""``ganbench extractor train DATASET``: train a feature classifier on a labelled dataset.

The shipped digits weights are reproduced by ``ganbench extractor train digits --out digits-cnn.pt``
(seed 0, one thread, default epochs); the command says whether the result matches them byte for byte.
The weights are then usable as ``get_extractor("classifier", path="my.pt")`` / ``features = "classifier"``.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from ..files import output_file
from ..registry import ConfigError


def _data_params(items: list[str]) -> dict[str, Any]:
    from ..suite_loader import parse_override

    params: dict[str, Any] = {}
    for text in items:
        if "=" not in text:
            raise ConfigError(f"--data {text!r}: expected KEY=VALUE, e.g. root=~/images")
        path, value = parse_override(f"data.{text}")  # TOML literal values, like --set
        if len(path) != 2:
            raise ConfigError(f"--data {text!r}: KEY must be a plain dataset parameter name")
        params[path[1]] = value
    return params


def cmd_train(args: argparse.Namespace) -> int:
    from ..features import DIGITS_WEIGHTS, recorded_sha256, train_extractor

    from ..executors import check_threads
    check_threads(args.threads)
    out = output_file(args.out or f"{args.dataset}-cnn.pt", "--out")
    result = train_extractor(args.dataset, out, epochs=args.epochs, seed=args.seed, threads=args.threads,
                             progress=lambda line: print(line, file=sys.stderr, flush=True),
                             **_data_params(args.data))
    print(f"{result['path']}: test accuracy {result['accuracy']:.4f}, {result['epochs']} epochs, "
          f"sha256 {result['sha256']}")
    if args.dataset == "digits" and not args.data:
        expected = recorded_sha256(DIGITS_WEIGHTS)
        same = "identical to" if result["sha256"] == expected else "different from"
        print(f"{same} the shipped {DIGITS_WEIGHTS.name} (sha256 {expected})")
    print(f"use it with: features = \"classifier\" and path = \"{result['path']}\"")
    return 0


def register(subparsers: Any) -> None:
    from .shared import integer  # every integer flag: int64, else a usage error
    p = subparsers.add_parser("extractor", help="train feature extractors (domain FID without Inception weights)")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    t = sub.add_parser("train", help="train the ganbench classifier on a labelled dataset")
    t.add_argument("dataset", help="digits, mnist, fashion-mnist, cifar10, folder, ... (see: ganbench ls datasets)")
    t.add_argument("--out", help="weights file (default ./DATASET-cnn.pt; .sha256 and .json are written beside it)")
    t.add_argument("--epochs", type=integer, default=None, help="default: enough to see 50,000 samples (2 to 50)")
    t.add_argument("--seed", type=integer, default=0)
    t.add_argument("--threads", type=integer, default=1, help="CPU threads; the weights' bytes depend on it (default 1)")
    t.add_argument("--data", action="append", default=[], metavar="KEY=VALUE",
                   help="dataset parameter, e.g. --data root=~/imgs --data test_fraction=0.2")
    t.set_defaults(func=cmd_train)
