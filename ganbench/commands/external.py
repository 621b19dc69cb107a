"""``ganbench eval-generator``: evaluate a generator ganbench did not train (see ganbench/external/)."""
from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    from .shared import integer  # every integer flag: int64, else a usage error
    p = subparsers.add_parser(
        "eval-generator", help="evaluate an external generator (TorchScript, .pt2, ONNX, state dict, callable)",
        description="Evaluate a generator ganbench did not train and write a run directory that report, "
                    "baseline and check read like any other.")
    p.add_argument("--generator", required=True, metavar="PATH|module:function",
                   help="a TorchScript .pt, torch.export .pt2 or ONNX .onnx file; a state dict with --class; "
                        "or an import path of a module / function taking a latent batch [n, z_dim]")
    p.add_argument("--data", required=True, metavar="NAME", help="dataset to compare with (see: ganbench ls datasets)")
    p.add_argument("--features", required=True, metavar="NAME",
                   help="feature extractor, e.g. identity, digits-cnn, inception-v3-compat (see: ganbench ls extractors)")
    p.add_argument("--n", type=integer, default=None, metavar="N", help="generated samples (default: eval.n_samples)")
    p.add_argument("--z-dim", type=integer, default=None, metavar="D",
                   help="latent size (default: the network's z_dim attribute, or the ONNX/.pt2 input size)")
    p.add_argument("--latent", choices=["normal", "uniform"], default=None,
                   help="latent distribution: N(0, I) or U(-1, 1) (default: the network's 'latent', else normal)")
    p.add_argument("--class", dest="cls", default=None, metavar="module:Class",
                   help="the torch.nn.Module class of a state-dict --generator (loaded with weights_only=True)")
    p.add_argument("--init-args", default=None, metavar="JSON", help='keyword arguments of --class, e.g. \'{"z_dim": 64}\'')
    p.add_argument("--out", default=None, metavar="DIR", help="results directory (default results/external)")
    p.add_argument("--seed", type=integer, default=0, help="latent stream seed, as a trained run's seed (default 0)")
    p.add_argument("--name", default=None, metavar="LABEL", help="label in reports (default 'external')")
    p.add_argument("--suite", default="external", help="suite name recorded in config.json (default external)")
    p.add_argument("--device", default="cpu", help="device the generator runs on (default cpu)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="data parameters and evaluation settings, e.g. --set data.size=32 --set eval.n_real=5000")
    p.set_defaults(func=cmd_eval_generator)


def _settings(pairs: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    from ..suite_loader import parse_override
    from ganbench.registry import ConfigError
    data: dict[str, Any] = {}
    eval_: dict[str, Any] = {}
    for text in pairs:
        path, value = parse_override(text)
        if path[0] not in ("data", "eval") or len(path) != 2 or path[1] == "name":
            raise ConfigError(f"--set {text!r}: eval-generator accepts data.PARAM and eval.KEY only "
                              f"(the dataset itself is --data)")
        (data if path[0] == "data" else eval_)[path[1]] = value
    return data, eval_


def cmd_eval_generator(args: argparse.Namespace) -> int:
    from .shared import EXIT_FAIL, EXIT_OK, run_summary
    from ganbench.external import DEFAULT_OUT, evaluate_generator
    from ganbench.registry import ConfigError
    from ganbench.runner import RunOutcome
    from ganbench.config import check_device
    init_args = None
    if args.init_args is not None:
        try:
            init_args = json.loads(args.init_args)
        except json.JSONDecodeError as e:
            raise ConfigError(f"--init-args is not valid JSON ({e}): {args.init_args!r}") from None
        if not isinstance(init_args, dict):
            raise ConfigError(f"--init-args must be a JSON object of keyword arguments such as '{{\"z_dim\": 64}}', "
                              f"got {args.init_args!r}")
    check_device(args.device, "--device", present=True)
    data_params, eval_settings = _settings(args.set)
    result = evaluate_generator(
        args.generator, data={"name": args.data, **data_params}, features=args.features, n=args.n,
        out=args.out or DEFAULT_OUT, seed=args.seed, z_dim=args.z_dim, latent=args.latent, name=args.name,
        cls=args.cls, init_args=init_args, eval_config=eval_settings, suite=args.suite, device=args.device)
    print(run_summary([RunOutcome(result["run_id"], result["run_dir"], result["status"], result["wall_time"])]))
    print(f"run directory: {result['run_dir']}")
    return EXIT_OK if result["status"] == "finished" else EXIT_FAIL
