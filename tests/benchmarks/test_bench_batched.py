"""pytest-benchmark: 8 seeds of an mlp on ring8, one ``train_step`` each in turn, against one step of the
seed-batched model (``ganbench.batched``). Same group, so ``--benchmark-enable`` shows the speed-up as the
ratio of the two means; with the default ``--benchmark-disable`` each body runs once as a test.

    pytest tests/benchmarks/test_bench_batched.py --benchmark-enable
"""
from __future__ import annotations

import math

import pytest
import torch

from ganbench import bench as B
from ganbench.batched import BatchedGAN, build_members
from ganbench.data import get_dataset
from ganbench.train import train_step

SEEDS, BATCH, DEPTH = 8, 128, 3
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)")


def runs_for(width: int, loss: str, device: str = "cpu"):
    return [B.bench_run("mlp", loss, BATCH, device, {"hidden": width, "depth": DEPTH}, seed=s) for s in range(SEEDS)]


@pytest.mark.parametrize("loss", ["ns", "wgan-gp"])
@pytest.mark.parametrize("width", [64, 128])
def test_sequential_seeds(benchmark, width, loss):
    gans = build_members(runs_for(width, loss), get_dataset("ring8"))[0]
    benchmark.group = f"{SEEDS} seeds mlp {width} {loss} (cpu)"
    stats = benchmark(lambda: [train_step(g) for g in gans])
    assert len(stats) == SEEDS and all(math.isfinite(s["d_loss"]) for s in stats)


@pytest.mark.parametrize("loss", ["ns", "wgan-gp"])
@pytest.mark.parametrize("width", [64, 128])
def test_batched_seeds(benchmark, width, loss):
    runs = runs_for(width, loss)
    bgan = BatchedGAN(build_members(runs, get_dataset("ring8"))[0], runs[0])
    benchmark.group = f"{SEEDS} seeds mlp {width} {loss} (cpu)"
    stats = benchmark(bgan.step)
    assert len(stats["d_loss"]) == SEEDS and all(math.isfinite(v) for v in stats["g_loss"])


@CUDA
@pytest.mark.cuda
@pytest.mark.parametrize("batched", [False, True])
def test_seeds_cuda(benchmark, batched):
    runs = runs_for(128, "ns", "cuda")
    members = build_members(runs, get_dataset("ring8"))[0]
    step = BatchedGAN(members, runs[0]).step if batched else (lambda: [train_step(g) for g in members])
    benchmark.group = f"{SEEDS} seeds mlp 128 ns (cuda)"

    def run():
        out = step()
        torch.cuda.synchronize()
        return out
    benchmark(run)
