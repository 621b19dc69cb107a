"""``ganbench bench``: time the training step next to a hand-written loop, or multi-seed batching."""
from __future__ import annotations

import argparse
import sys
import tomllib
from typing import Any

from ..files import atomic_write_text, output_file
from ..registry import ConfigError


def _names(values: list[str] | None) -> list[str] | None:
    """``--models mlp dcgan`` and ``--models mlp,dcgan`` alike."""
    if values is None:
        return None
    return [n for v in values for n in v.split(",") if n]


def _ints(text: str, flag: str) -> list[int]:
    try:
        out = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"{flag} must be comma-separated integers such as 64,128,400, got {text!r}") from None
    if not out or any(x < 1 for x in out):
        raise ConfigError(f"{flag} must be comma-separated positive integers such as 64,128,400, got {text!r}")
    return out


def _model_params(items: list[str]) -> dict[str, dict[str, Any]]:
    """``--model-param mlp.hidden=128`` -> {"mlp": {"hidden": 128}} (values are TOML literals)."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        model, dot, param = key.strip().partition(".")
        if not sep or not dot or not model or not param:
            raise ConfigError(f"--model-param {item!r}: expected MODEL.KEY=VALUE, e.g. mlp.hidden=128")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        out.setdefault(model, {})[param] = value
    return out


def cmd_bench(args: argparse.Namespace) -> int:
    from ..bench import BenchOptions, bench, bench_batched, format_table
    from ..executors import check_threads
    if args.batch is not None and args.batch < 1:
        raise ConfigError(f"--batch must be a positive integer, got {args.batch}")
    check_threads(args.threads)
    if args.out:
        output_file(args.out, "--out")  # before minutes of timing, not after
    losses = _names(args.losses)
    if args.batched_seeds is not None:
        table = bench_batched(seeds=args.batched_seeds, widths=_ints(args.widths, "--widths"), losses=losses,
                              batch=args.batch or 128, depth=args.depth, repeats=args.repeats, warmup=args.warmup,
                              device=args.device, threads=args.threads)
    else:
        opts = BenchOptions(batch=args.batch or 64, device=args.device, amp=args.amp, compile=args.compile,
                            channels_last=args.channels_last, cuda_graphs=args.cuda_graphs, repeats=args.repeats,
                            warmup=args.warmup, image_size=args.image_size, reference=not args.no_reference,
                            threads=args.threads)
        progress = (lambda row: print(f"  {row['model']} {row['loss']}: {row['status']}", file=sys.stderr,
                                      flush=True)) if args.verbose else None
        models, params = _names(args.models) or ["mlp", "dcgan"], _model_params(args.model_param)
        for name in params:
            if name not in models:
                raise ConfigError(f"--model-param: model {name!r} is not among --models ({', '.join(models)})")
        table = bench(models, losses, opts, params, progress=progress)
    print(format_table(table))
    if args.out:
        out = output_file(args.out, "--out")
        atomic_write_text(out, table.to_csv(index=False))
        print(f"saved {out}")
    return 0


def register(sub: Any) -> None:
    from .shared import integer  # every integer flag: int64, else a usage error
    p = sub.add_parser("bench", help="time one training step per model x loss beside a hand-written PyTorch loop",
                       description="Median and IQR of one full training step (n_critic D updates, one G update) "
                                   "after warm-up; CUDA events on a GPU, perf_counter on CPU. With --batched-seeds "
                                   "K: K sequential seeds of an mlp on ring8 against one batched model.")
    p.add_argument("--models", nargs="+", metavar="MODEL", help="models to time (default: mlp dcgan)")
    p.add_argument("--losses", nargs="+", metavar="LOSS", help="losses to time (default: all registered)")
    p.add_argument("--batch", type=integer, default=None, help="batch size (default 64; 128 with --batched-seeds)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--amp", choices=["bf16", "fp16"], default=None, help="torch.autocast dtype")
    p.add_argument("--compile", action="store_true", help="torch.compile G and D")
    p.add_argument("--channels-last", action="store_true", help="channels_last memory format (image models)")
    p.add_argument("--cuda-graphs", action="store_true", help="replay the step from a CUDA graph (penalty-free losses)")
    p.add_argument("--repeats", type=integer, default=30, help="timed steps per row (median and IQR over them)")
    p.add_argument("--warmup", type=integer, default=5, help="untimed steps first")
    p.add_argument("--threads", type=integer, default=None,
                   help="torch intra-op threads while timing (default: torch's); 1 is steadier on a busy machine")
    p.add_argument("--image-size", type=integer, default=None,
                   help="image models: random 3xSxS tensors (default: digits 8x8)")
    p.add_argument("--model-param", action="append", default=[], metavar="MODEL.KEY=VALUE",
                   help="model parameter, e.g. mlp.hidden=128 (repeatable)")
    p.add_argument("--no-reference", action="store_true", help="skip the hand-written reference loop")
    p.add_argument("--batched-seeds", type=integer, default=None, metavar="K",
                   help="compare K sequential seeds of mlp on ring8 with one batched model")
    p.add_argument("--widths", default="64,128,400", help="--batched-seeds: mlp widths (default 64,128,400)")
    p.add_argument("--depth", type=integer, default=3, help="--batched-seeds: mlp depth (default 3)")
    p.add_argument("--out", help="also save the table as CSV")
    p.add_argument("-v", "--verbose", action="store_true", help="print each row's status as it finishes")
    p.set_defaults(func=cmd_bench)
