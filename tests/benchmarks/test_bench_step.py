"""pytest-benchmark: one training step (``train_step``: n_critic D updates with penalties, one G update) per
loss on ``mlp`` and ``dcgan``, each beside the hand-written reference loop in the same benchmark group.

The default ``addopts`` pass ``--benchmark-disable``: every body then runs once, as an ordinary test, so CI
checks that each step runs and stays finite. For timings::

    pytest tests/benchmarks --benchmark-enable                      # table per group: ganbench vs reference
    pytest tests/benchmarks --benchmark-enable --benchmark-autosave # then --benchmark-compare=mean:5%

CUDA variants are skipped (with the reason shown by ``-ra``) where no GPU is present.
"""
from __future__ import annotations

import math

import pytest
import torch

from ganbench import bench as B
from ganbench.train import train_step

SIZES = {"mlp": {"hidden": 64, "depth": 3}, "dcgan": {"ngf": 16, "ndf": 16, "z_dim": 32}}
BATCH = 32
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)")


def make_gan(model: str, loss: str, device: str = "cpu", opts: B.BenchOptions = B.BenchOptions()):
    run = B.bench_run(model, loss, BATCH, device, SIZES[model])
    return B.prepare_gan(run, B.bench_dataset(model), opts)


@pytest.mark.parametrize("model", list(SIZES))
@pytest.mark.parametrize("loss", B.REFERENCE_LOSSES)
def test_train_step(benchmark, model, loss):
    gan = make_gan(model, loss)
    benchmark.group = f"{model} {loss} (cpu)"
    stats = benchmark(train_step, gan)
    assert math.isfinite(stats["d_loss"]) and math.isfinite(stats["g_loss"])


@pytest.mark.parametrize("model", list(SIZES))
@pytest.mark.parametrize("loss", B.REFERENCE_LOSSES)
def test_reference_step(benchmark, model, loss):
    ref = B.reference_loop(make_gan(model, loss))
    before = [p.detach().clone() for p in ref.G.parameters()]
    benchmark.group = f"{model} {loss} (cpu)"
    benchmark(B.reference_step, ref)
    after = list(ref.G.parameters())
    assert all(torch.isfinite(p).all() for p in after)
    assert any(not torch.equal(a, b) for a, b in zip(after, before))  # G was updated


def _cuda_step(step):
    def run():
        out = step()
        torch.cuda.synchronize()  # the benchmark's clock must include the queued GPU work
        return out
    return run


@CUDA
@pytest.mark.cuda
@pytest.mark.parametrize("model", list(SIZES))
@pytest.mark.parametrize("loss", ["ns", "hinge", "wgan-gp"])
def test_train_step_cuda(benchmark, model, loss):
    gan = make_gan(model, loss, "cuda")
    benchmark.group = f"{model} {loss} (cuda)"
    stats = benchmark(_cuda_step(lambda: train_step(gan)))
    assert math.isfinite(stats["d_loss"])


@CUDA
@pytest.mark.cuda
@pytest.mark.parametrize("model", list(SIZES))
def test_reference_step_cuda(benchmark, model):
    ref = B.reference_loop(make_gan(model, "ns", "cuda"))
    benchmark.group = f"{model} ns (cuda)"
    benchmark(_cuda_step(lambda: B.reference_step(ref)))


@CUDA
@pytest.mark.cuda
@pytest.mark.parametrize("model", list(SIZES))
def test_cuda_graph_step(benchmark, model):
    staged = B.StagedStep(make_gan(model, "ns", "cuda"))
    staged.capture()
    benchmark.group = f"{model} ns (cuda)"
    stats = benchmark(_cuda_step(staged))
    assert math.isfinite(stats["d_loss"]) and math.isfinite(stats["g_loss"])


@CUDA
@pytest.mark.cuda
def test_bf16_autocast_step_cuda(benchmark):
    gan = make_gan("dcgan", "ns", "cuda")
    benchmark.group = "dcgan ns (cuda)"

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            return train_step(gan)
    assert math.isfinite(benchmark(_cuda_step(step))["d_loss"])
