"""Export a trained run's generator as TorchScript: ``python -m mygan.export RUN_DIR OUT.pt``.

The file is what a deployment would ship; ``ganbench eval-generator --generator OUT.pt`` evaluates it
without the training code and, with the same seed and evaluation settings, gives the run's own numbers.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import torch

from ganbench.config import RunConfig
from ganbench.data import get_dataset
from ganbench.evaluate import load_generator
from ganbench.files import read_json


def export(run_dir: str | Path, out: str | Path) -> Path:
    run_dir = Path(run_dir)
    run = RunConfig.from_dict(read_json(run_dir / "config.json"), where=str(run_dir / "config.json"))
    G, _ = load_generator(run_dir, run, get_dataset(run.data.name, **run.data.params))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated in favour of torch.export
        scripted = torch.jit.script(G.eval())  # script, not trace: keeps z_dim and the eval-mode logic
        torch.jit.save(scripted, str(out))
    return Path(out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m mygan.export RUN_DIR OUT.pt")
    print(export(sys.argv[1], sys.argv[2]))
