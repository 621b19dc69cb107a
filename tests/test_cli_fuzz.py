"""The command line never shows a Python traceback, whatever argument it is given.

Property: every command, given one argument from a fuzzed set in an otherwise valid command line (paths that
are files, folders, missing, read-only, empty, binary or below a file; numbers 0, -1, huge, inf and nan), exits
0 (the argument was usable), 1 (a failed run or check, said in a line) or 2 (bad input: one line
``ganbench: error: ...``, or argparse's usage and error), and never prints a traceback or an internal error.
The real entry point ``ganbench.cli.main`` runs in process, so the whole set takes seconds.
"""
from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest
import torch

from ganbench.cli import build_parser, main

SUITE = """
[suite]
name = "fuzz"
seeds = [0]
[defaults]
data  = { name = "ring8" }
model = { name = "mlp", hidden = 8, depth = 1, z_dim = 2 }
train = { steps = 2, batch_size = 16, log_every = 1 }
eval  = { n_samples = 64, metrics = ["fid", "modes"], floor = false }
[[runs]]
loss = { name = "ns" }
"""

PATH_KINDS = ("file", "folder", "missing", "read-only", "empty", "binary", "dev-null", "below-a-file")
NUMBERS = ("0", "-1", "99999999999999999999", "inf", "nan")


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """What the command lines refer to and no case changes: a suite, a finished run, its baseline, arrays and a
    generator's weights."""
    root = tmp_path_factory.mktemp("cli-fuzz")
    (root / "suite.toml").write_text(SUITE)
    cwd = os.getcwd()
    os.chdir(root)  # default output folders (results/...) land here, not in the checkout
    try:
        assert main(["run", str(root / "suite.toml"), "--out", str(root / "res")]) == 0
        assert main(["baseline", str(root / "res"), "--out", str(root / "bl.json")]) == 0
    finally:
        os.chdir(cwd)
    np.save(root / "pts.npy", np.random.default_rng(0).normal(size=(50, 2)))
    torch.save(torch.nn.Linear(2, 2).state_dict(), root / "gen.pt")
    return root


@pytest.fixture
def fuzz_paths(tmp_path):
    """One path of each kind, made afresh for every case (a case may write where it is allowed to)."""
    paths = {"file": tmp_path / "text.txt", "folder": tmp_path / "folder", "missing": tmp_path / "missing" / "x",
             "read-only": tmp_path / "read-only", "empty": tmp_path / "empty.json", "binary": tmp_path / "binary.npy",
             "dev-null": "/dev/null", "below-a-file": tmp_path / "text.txt" / "x"}
    paths["file"].write_text("hello\n")
    paths["folder"].mkdir()
    paths["read-only"].mkdir()
    paths["read-only"].chmod(stat.S_IRUSR | stat.S_IXUSR)  # read-only for users other than root
    paths["empty"].write_bytes(b"")
    paths["binary"].write_bytes(bytes(range(256)) * 4)
    yield {k: str(v) for k, v in paths.items()}
    paths["read-only"].chmod(stat.S_IRWXU)


GEN = ["eval-generator", "--generator", "{root}/gen.pt", "--class", "torch.nn:Linear",
       "--init-args", '{{"in_features": 2, "out_features": 2}}', "--z-dim", "2", "--data", "ring8",
       "--features", "identity", "--n", "64", "--set", "eval.floor=false", "--out", "{tmp}/ext"]
BENCH = ["bench", "--models", "mlp", "--losses", "ns", "--repeats", "1", "--warmup", "0", "--no-reference",
         "--model-param", "mlp.hidden=8", "--batch", "8"]


def with_slot(base: list[str], flag: str) -> list[str]:
    """``base`` with ``flag``'s value replaced by the slot ``{}`` (appended when ``base`` lacks the flag)."""
    if flag in base:
        i = base.index(flag)
        return base[:i + 1] + ["{}"] + base[i + 2:]
    return base + [flag, "{}"]


# (command line with one slot "{}", what fills the slot)
CASES = [
    (["run", "{}"], "path"),
    (["run", "{root}/suite.toml", "--out", "{}"], "path"),
    (["run", "{root}/suite.toml", "--out", "{tmp}/runs", "--seeds", "{}"], "number"),
    (["run", "{root}/suite.toml", "--out", "{tmp}/runs", "--threads", "{}"], "number"),
    (["run", "{root}/suite.toml", "--out", "{tmp}/runs", "--set", "train.steps={}"], "number"),
    (["run", "{root}/suite.toml", "--out", "{tmp}/runs", "--set", "optim.lr_g={}"], "number"),
    (["eval", "{}"], "path"),
    (["metrics", "--real", "{}", "--fake", "{root}/pts.npy", "--features", "identity"], "path"),
    (["metrics", "--real", "{root}/pts.npy", "--fake", "{}", "--features", "identity"], "path"),
    (["metrics", "--real", "{root}/pts.npy", "--fake", "{root}/pts.npy", "--features", "identity",
      "--batch-size", "{}"], "number"),
    (["report", "{}"], "path"),
    (["report", "{root}/res", "--out", "{}"], "path"),
    (["report", "{root}/res", "--out", "{tmp}/rep", "--alpha", "{}"], "number"),
    (["baseline", "{}", "--out", "{tmp}/bl2.json"], "path"),
    (["baseline", "{root}/res", "--out", "{}"], "path"),
    (["check", "--results", "{root}/res", "--baseline", "{}"], "path"),
    (["check", "--results", "{}", "--baseline", "{root}/bl.json"], "path"),
    (["check", "--results", "{root}/res", "--baseline", "{root}/bl.json", "--summary", "{}"], "path"),
    (["check", "--results", "{root}/res", "--baseline", "{root}/bl.json", "--fail", "fid:{}%"], "number"),
    (["check", "--results", "{root}/res", "--baseline", "{root}/bl.json", "--fail", "fid:+{}"], "number"),
    *[(with_slot(BENCH, flag), "number") for flag in ("--batch", "--repeats", "--warmup", "--threads",
                                                        "--batched-seeds", "--depth")],
    (BENCH + ["--out", "{}"], "path"),
    (["extractor", "train", "digits", "--epochs", "1", "--out", "{}"], "path"),
    *[(with_slot(["extractor", "train", "digits", "--epochs", "1", "--out", "{tmp}/x.pt"], flag), "number")
      for flag in ("--epochs", "--seed", "--threads")],
    (with_slot(GEN, "--generator"), "path"),
    (with_slot(GEN, "--out"), "path"),
    *[(with_slot(GEN, flag), "number") for flag in ("--n", "--z-dim", "--seed")],
    (GEN + ["--set", "data.std={}"], "number"),
]


def cases():
    for template, kind in CASES:
        for value in (PATH_KINDS if kind == "path" else NUMBERS):
            slot = next(part for part in template if "{}" in part)
            before = template[template.index(slot) - 1]
            yield pytest.param(template, kind, value, id=f"{template[0]} {before} {slot}={value}")


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse: --help (0) or a malformed command line (2)
        rc = e.code if isinstance(e.code, int) else 2
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.mark.timeout(60)
@pytest.mark.parametrize("template, kind, value", list(cases()))
def test_no_argument_gives_a_traceback(ws, fuzz_paths, tmp_path, template, kind, value, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    filled = fuzz_paths[value] if kind == "path" else value
    argv = [part.replace("{}", filled) if "{}" in part else part.format(root=ws, tmp=tmp_path) for part in template]
    rc, out, err = run_cli(argv, capsys)
    assert "Traceback" not in out + err, err[-2000:]
    assert "internal error" not in err, err
    assert rc in (0, 1, 2), (rc, err)
    lines = err.strip().splitlines()
    if rc == 2 and not err.startswith("usage:"):  # our own bad-input message: exactly one line
        assert len(lines) == 1 and lines[0].startswith("ganbench: error: "), err


def commands(parser) -> list[list[str]]:
    """Every (sub)command path of the parser, e.g. ["extractor", "train"]."""
    import argparse
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out.append([name])
                out += [[name, *rest] for rest in commands(sub)]
    return out


@pytest.mark.parametrize("command", [[]] + commands(build_parser()), ids=lambda c: " ".join(c) or "ganbench")
def test_help_of_every_command(command, capsys):
    rc, out, err = run_cli([*command, "--help"], capsys)
    assert rc == 0 and "usage: ganbench" in out and not err, err
