"""FID from statistics on 10,000 × 2048 features: ganbench vs torch-fidelity vs pytorch-fid's sqrtm.

Timing needs ``--benchmark-enable`` (the suite disables it, so each test then runs once):

    .venv/bin/pytest tests/benchmarks/test_bench_fid.py --benchmark-enable --benchmark-columns=min,mean,max,rounds

Statistics are precomputed once per module, so only the metric from (μ, Σ) pairs is timed.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg as sl
from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_statistics_to_metric

from ganbench.metrics import feature_stats, fid_from_stats

pytestmark = [pytest.mark.slow, pytest.mark.benchmark(group="fid-from-stats-10000x2048")]

N, D = 10_000, 2048


def _features(rng: np.random.Generator, mix: np.ndarray, shift: float) -> np.ndarray:
    # post-ReLU pooled-CNN-like features: correlated, nonnegative, with a decaying spectrum
    z = rng.standard_normal((N, D), dtype=np.float32)
    return np.maximum(z @ mix + shift, 0.0)


@pytest.fixture(scope="module")
def stats():
    rng = np.random.default_rng(0)
    spectrum = ((1.0 + np.arange(D)) ** -0.75).astype(np.float32)  # covariance condition ~1e5
    mix = spectrum[:, None] * rng.standard_normal((D, D), dtype=np.float32) / np.float32(np.sqrt(D))
    perturbed = mix + np.float32(0.05) * spectrum[:, None] * rng.standard_normal((D, D), dtype=np.float32)
    mu1, s1 = feature_stats(_features(rng, mix, 0.0))
    mu2, s2 = feature_stats(_features(rng, perturbed, 0.01))
    return mu1, s1, mu2, s2


@pytest.fixture(scope="module")
def reference(stats):
    mu1, s1, mu2, s2 = stats
    return fid_statistics_to_metric({"mu": mu1, "sigma": s1}, {"mu": mu2, "sigma": s2}, False)[KEY_METRIC_FID]


def _sqrtm_fid(mu1, s1, mu2, s2):
    """pytorch-fid's calculate_frechet_distance in float64 (without its eps retry, not needed here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        covmean = sl.sqrtm(s1 @ s2)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(np.real(covmean)))


def test_ganbench_fid_from_stats(benchmark, stats, reference):
    value = benchmark.pedantic(fid_from_stats, args=stats, rounds=5, iterations=1)
    assert value == pytest.approx(reference, rel=1e-6)


def test_torch_fidelity_fid_statistics_to_metric(benchmark, stats, reference):
    mu1, s1, mu2, s2 = stats

    def run():
        return fid_statistics_to_metric({"mu": mu1, "sigma": s1}, {"mu": mu2, "sigma": s2}, False)[KEY_METRIC_FID]

    assert benchmark.pedantic(run, rounds=3, iterations=1) == pytest.approx(reference, rel=1e-12)


def test_pytorch_fid_sqrtm(benchmark, stats, reference):
    value = benchmark.pedantic(_sqrtm_fid, args=stats, rounds=1, iterations=1)
    assert value == pytest.approx(reference, rel=1e-6)
