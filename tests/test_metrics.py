"""ganbench.metrics: closed forms, a float64 scipy.linalg.sqrtm reference, parity with
torch-fidelity's feature-level functions, and the error messages."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg as sl
import torch
from torch_fidelity.metric_fid import fid_statistics_to_metric
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric

from ganbench import metrics as M
from ganbench.metrics import (METRICS, feature_stats, fid, fid_from_stats, fid_infinity,
                              inception_score, kid, precision_recall)


def sqrtm_fid(mu1, s1, mu2, s2):
    """pytorch-fid's formula with scipy.linalg.sqrtm in float64: the reference."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sqrtm warns on singular products; the value is still the reference
        covmean = sl.sqrtm(s1 @ s2)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(np.real(covmean)))


def random_cov(rng, eigenvalues):
    q, _ = np.linalg.qr(rng.standard_normal((len(eigenvalues), len(eigenvalues))))
    s = (q * eigenvalues) @ q.T
    return (s + s.T) / 2


def test_metrics_table_says_which_way_is_better():
    assert METRICS == {"fid": False, "kid": False, "is": True, "precision": True, "recall": True, "fid_inf": False,
                       "density": True, "coverage": True, "cmmd": False, "vendi": True}
    assert METRICS[M.KEY_FID] is False and METRICS[M.KEY_IS] is True


# ---------------------------------------------------------------- FID closed forms

def test_fid_diagonal_gaussians_hand_computed():
    # ‖μ‖² = 1+4+4 = 9; Tr Σ1 + Tr Σ2 = 14 + 14; (Σ1Σ2)^½ = diag(2, 2, 9) → FID = 9 + 28 − 26 = 11
    value = fid_from_stats(np.zeros(3), np.diag([1.0, 4.0, 9.0]), np.array([1.0, 2.0, 2.0]), np.diag([4.0, 1.0, 9.0]))
    assert value == pytest.approx(11.0, rel=1e-12)


def test_fid_commuting_rotated_gaussians_hand_computed():
    # Σ1 = Q diag(1, 4) Qᵀ, Σ2 = Q diag(9, 16) Qᵀ with Q a 45° rotation: FID = ‖Δμ‖² + Σ(√a − √b)² = 25 + 4 + 4
    s1 = np.array([[2.5, -1.5], [-1.5, 2.5]])
    s2 = np.array([[12.5, -3.5], [-3.5, 12.5]])
    assert fid_from_stats(np.zeros(2), s1, np.array([3.0, 4.0]), s2) == pytest.approx(33.0, rel=1e-12)


def test_fid_singular_covariances_hand_computed():
    # both singular (Cholesky fails on both, eigh fallback): Σ1Σ2 = diag(0, 0, 4) → 5 + 10 − 2·2 = 11
    assert fid_from_stats(np.zeros(3), np.diag([1.0, 0.0, 4.0]), np.zeros(3), np.diag([0.0, 9.0, 1.0])) \
        == pytest.approx(11.0, rel=1e-12)
    # only Σ1 singular (factor Σ2 instead): Σ1Σ2 = diag(1, 0, 4) → 5 + 11 − 2·3 = 10
    assert fid_from_stats(np.zeros(3), np.diag([1.0, 0.0, 4.0]), np.zeros(3), np.diag([1.0, 9.0, 1.0])) \
        == pytest.approx(10.0, rel=1e-12)


def test_feature_stats_match_numpy_cov():
    x = np.random.default_rng(0).standard_normal((300, 20)) @ np.diag(np.arange(1.0, 21.0))
    mu, sigma = feature_stats(x)
    np.testing.assert_allclose(mu, x.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(sigma, np.cov(x, rowvar=False), rtol=1e-12)
    assert mu.dtype == sigma.dtype == np.float64 and np.array_equal(sigma, sigma.T)


@pytest.mark.parametrize("n", [500, 40])  # covariance path (n > d) and nuclear-norm path (n < d)
def test_fid_of_a_set_with_itself_is_zero(n):
    x = np.random.default_rng(n).standard_normal((n, 64)) * 3.0 + 1.0
    value = fid(x, x)
    assert 0.0 <= value <= 1e-8
    assert 0.0 <= fid_from_stats(*feature_stats(x), *feature_stats(x)) <= 1e-8


def test_fid_accepts_torch_and_computes_in_float64():
    x = torch.randn(200, 8, generator=torch.Generator().manual_seed(0))
    y = torch.randn(200, 8, generator=torch.Generator().manual_seed(1)) + 0.5
    assert fid(x, y) == fid(x.double().numpy(), y.double().numpy())


# ---------------------------------------------------------------- FID against sqrtm (float64)

def _cases():
    rng = np.random.default_rng(1)
    d = 32
    low_rank = np.r_[rng.uniform(0.5, 2.0, d - 10), np.zeros(10)]
    return {
        "well-conditioned": (random_cov(rng, rng.uniform(0.5, 2.0, d)), random_cov(rng, rng.uniform(0.5, 2.0, d))),
        "condition-1e10": (random_cov(rng, np.logspace(0, -10, d)), random_cov(rng, np.logspace(0, -10, d))),
        "rank-deficient-both": (random_cov(rng, low_rank), random_cov(rng, low_rank)),
        "rank-deficient-one": (random_cov(rng, low_rank), random_cov(rng, rng.uniform(0.5, 2.0, d))),
    }


@pytest.mark.parametrize("case", list(_cases()))
def test_fid_from_stats_matches_sqrtm_reference(case):
    s1, s2 = _cases()[case]
    rng = np.random.default_rng(2)
    mu1, mu2 = rng.standard_normal(32) * 0.1, rng.standard_normal(32) * 0.1
    assert fid_from_stats(mu1, s1, mu2, s2) == pytest.approx(sqrtm_fid(mu1, s1, mu2, s2), rel=1e-6)


@pytest.mark.parametrize("n1,n2", [(12, 15), (20, 200), (200, 20)])  # fewer samples than dimensions on a side
def test_fid_with_fewer_samples_than_dims_matches_sqrtm(n1, n2):
    rng = np.random.default_rng(n1 + n2)
    x = rng.standard_normal((n1, 48))
    y = rng.standard_normal((n2, 48)) * 1.3 + 0.2
    ref = sqrtm_fid(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    assert fid(x, y) == pytest.approx(ref, rel=1e-6)
    assert fid_from_stats(*feature_stats(x), *feature_stats(y)) == pytest.approx(ref, rel=1e-6)


def test_fid_with_dead_features_matches_sqrtm():
    # zero-variance features on both sides (dead units): exact zero rows/columns in both covariances
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((300, 20)), rng.standard_normal((250, 20)) * 0.9 + 0.1
    x[:, [2, 7]] = 0.0
    y[:, [7, 11]] = 0.5
    ref = sqrtm_fid(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    assert fid(x, y) == pytest.approx(ref, rel=1e-6)


# ---------------------------------------------------------------- parity with torch-fidelity

def test_fid_matches_torch_fidelity():
    rng = np.random.default_rng(3)
    mix = rng.standard_normal((40, 40)) / 6.0
    x = np.maximum(rng.standard_normal((600, 40)) @ mix, 0.0)  # correlated, post-ReLU-like features
    y = np.maximum(rng.standard_normal((500, 40)) @ (mix * 1.1) + 0.05, 0.0)
    (m1, s1), (m2, s2) = feature_stats(x), feature_stats(y)
    ref = fid_statistics_to_metric({"mu": m1, "sigma": s1}, {"mu": m2, "sigma": s2}, False)
    assert fid(x, y) == pytest.approx(ref["frechet_inception_distance"], rel=1e-10)


def _tf_kid(x, y, **kw):
    out = kid_features_to_metric(torch.from_numpy(x), torch.from_numpy(y), verbose=False, **kw)
    return out["kernel_inception_distance_mean"], out["kernel_inception_distance_std"]


def test_kid_matches_torch_fidelity_with_the_same_subsets(monkeypatch):
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((120, 16)), rng.standard_normal((90, 16)) * 1.2 + 0.1
    ref = _tf_kid(x, y, kid_subsets=7, kid_subset_size=50, rng_seed=11)
    # torch-fidelity draws subsets from RandomState(seed); hand ganbench the same generator, same draw order
    monkeypatch.setattr(np.random, "default_rng", np.random.RandomState)
    assert kid(x, y, subsets=7, subset_size=50, seed=11) == pytest.approx(ref, rel=1e-10)


def test_kid_with_whole_sets_matches_torch_fidelity():
    # subset_size = n: every subset is the whole set permuted, so the estimator sees the same numbers
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((60, 10)), rng.standard_normal((60, 10)) + 0.3
    mean, std = kid(x, y, subsets=3, subset_size=60)
    ref_mean, ref_std = _tf_kid(x, y, kid_subsets=3, kid_subset_size=60)
    assert mean == pytest.approx(ref_mean, rel=1e-10)
    assert std == pytest.approx(0.0, abs=1e-12) and ref_std == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("n,splits", [(1000, 10), (1003, 7), (50, 1)])  # 1003/7: uneven splits
def test_inception_score_matches_torch_fidelity(n, splits):
    logits = np.random.default_rng(n).standard_normal((n, 12)) * 3.0
    ref = isc_features_to_metric(torch.from_numpy(logits), splits=splits, shuffle=False)
    assert inception_score(logits, splits) == pytest.approx(
        (ref["inception_score_mean"], ref["inception_score_std"]), rel=1e-12)
    # torch-fidelity shuffles by default; permuting the rows the same way gives its default numbers
    shuffled = isc_features_to_metric(torch.from_numpy(logits), splits=splits, shuffle=True, rng_seed=2020)
    perm = np.random.RandomState(2020).permutation(n)
    assert inception_score(logits[perm], splits) == pytest.approx(
        (shuffled["inception_score_mean"], shuffled["inception_score_std"]), rel=1e-12)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_precision_recall_matches_torch_fidelity(k):
    rng = np.random.default_rng(k)
    real = rng.standard_normal((400, 16))
    fake = rng.standard_normal((300, 16)) * 0.8 + 0.4  # overlapping clouds: both values strictly in (0, 1)
    ref = prc_features_to_metric(torch.from_numpy(fake), torch.from_numpy(real), prc_neighborhood=k,
                                 prc_batch_size=10000, save_cpu_ram=False, verbose=False)
    precision, recall = precision_recall(real, fake, k=k)
    assert 0.0 < precision < 1.0 and 0.0 < recall < 1.0
    # torch-fidelity averages in float32; 1e-6 relative still means the same counts out of 300 and 400
    assert (precision, recall) == pytest.approx((ref["precision"], ref["recall"]), rel=1e-6)


def test_precision_recall_blocks_do_not_change_the_result(monkeypatch):
    rng = np.random.default_rng(6)
    real, fake = rng.standard_normal((257, 8)), rng.standard_normal((131, 8)) + 0.3
    whole = precision_recall(real, fake)
    monkeypatch.setattr(M, "BLOCK_ELEMENTS", 1000)  # a few rows per block, ragged last block
    assert precision_recall(real, fake) == whole


# ---------------------------------------------------------------- IS / KID / PR by hand

def test_inception_score_confident_uniform_predictions_equals_class_count():
    logits = 60.0 * np.eye(10)[np.arange(1000) % 10]  # each split holds every class 10 times
    mean, std = inception_score(logits, splits=10)
    assert mean == pytest.approx(10.0, abs=1e-9) and std == pytest.approx(0.0, abs=1e-9)


def test_inception_score_identical_predictions_is_one():
    logits = np.tile(np.random.default_rng(7).standard_normal(5), (100, 1))
    mean, std = inception_score(logits, splits=4)
    assert mean == pytest.approx(1.0, abs=1e-12) and std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_two_samples_hand_computed():
    # p1 = (3/4, 1/4), p2 = (1/4, 3/4), p(y) = (1/2, 1/2): KL = ¾ ln 1.5 + ¼ ln 0.5 for both
    logits = np.log([[0.75, 0.25], [0.25, 0.75]])
    mean, std = inception_score(logits, splits=1)
    assert mean == pytest.approx(1.5 ** 0.75 * 0.5 ** 0.25, rel=1e-12) and std == 0.0


def test_inception_score_class_missing_from_a_split_is_not_nan():
    # softmax underflows to exact 0 and split 1 never predicts class 1: 0·log 0 counts as 0
    # (torch-fidelity returns NaN here)
    logits = np.zeros((4, 2))
    logits[:2, 0] = logits[2:, 1] = 1000.0
    assert inception_score(logits, splits=2) == (1.0, 0.0)
    assert inception_score(logits, splits=1) == pytest.approx((2.0, 0.0))


def test_kid_tiny_example_hand_computed():
    # k(a, b) = (aᵀb/2 + 1)³. XX off-diagonal: k = 1 → mean 1; YY off-diagonal: k = 1 → mean 1;
    # XY: 3.375, 1, 3.375, 1 → mean 2.1875. Unbiased MMD² = 1 + 1 − 2·2.1875 = −2.375
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([[1.0, 1.0], [0.0, 0.0]])
    mean, std = kid(x, y, subsets=4, subset_size=2)
    assert mean == pytest.approx(-2.375, rel=1e-12) and std == pytest.approx(0.0, abs=1e-12)


def test_kid_of_identical_sets_is_near_zero_against_a_shift():
    x = np.random.default_rng(8).standard_normal((1000, 8))
    same, _ = kid(x, x, subsets=20, subset_size=200)
    shifted, _ = kid(x, x + 0.5, subsets=20, subset_size=200)
    assert abs(same) < 0.05 * shifted


def test_kid_is_deterministic_in_its_seed():
    rng = np.random.default_rng(9)
    x, y = rng.standard_normal((100, 4)), rng.standard_normal((100, 4))
    assert kid(x, y, subsets=5, subset_size=30, seed=1) == kid(x, y, subsets=5, subset_size=30, seed=1)
    assert kid(x, y, subsets=5, subset_size=30, seed=1) != kid(x, y, subsets=5, subset_size=30, seed=2)


def test_precision_recall_identical_and_disjoint_sets():
    x = np.random.default_rng(10).standard_normal((200, 6))
    assert precision_recall(x, x) == (1.0, 1.0)
    assert precision_recall(x, x + 1000.0) == (0.0, 0.0)


def test_precision_recall_one_dimensional_hand_computed():
    # k=1 radii. real 0,1,2,3,10 → 1,1,1,1,7; fake −1.5,2.5,5,21,22 → 4,2.5,2.5,1,1.
    # precision: 2.5 (near 2, 3) and 5 (|5−10| ≤ 7) are in → 2/5; recall: 0..3 are in, 10 is not → 4/5
    real = np.array([[0.0], [1.0], [2.0], [3.0], [10.0]])
    fake = np.array([[-1.5], [2.5], [5.0], [21.0], [22.0]])
    assert precision_recall(real, fake, k=1) == (0.4, 0.8)
    # the ball's boundary is inside: −1 lies exactly at radius 1 of the real point 0
    assert precision_recall(real, np.array([[-1.0], [-1.0001]]), k=1)[0] == 0.5


# ---------------------------------------------------------------- FID∞

def test_no_bootstrap_of_fid_over_samples():
    # resampling with replacement duplicates samples and inflates FID (issue 15: interval [5.45, 5.93] around a
    # true 3.20); FID's noise is an interval over seeds (ganbench.aggregate), so the bootstrap is gone for good
    assert not hasattr(M, "fid_bootstrap")


def test_fid_infinity_fits_the_fids_of_its_subsets():
    rng = np.random.default_rng(11)
    real, fake = rng.standard_normal((400, 6)), rng.standard_normal((300, 6)) * 1.1
    out = fid_infinity(real, fake, seed=3)
    assert out["ns"] == sorted(set(out["ns"])) and out["ns"][0] == 60 and out["ns"][-1] == 300
    draw = np.random.default_rng(3)
    expected = [fid(real, fake[draw.choice(300, n, replace=False)]) for n in out["ns"]]
    np.testing.assert_allclose(out["fids"], expected, rtol=1e-10)
    slope, intercept = np.polyfit(1.0 / np.array(out["ns"]), expected, 1)
    assert out["fid_inf"] == pytest.approx(intercept, rel=1e-10) and out["slope"] == pytest.approx(slope, rel=1e-10)


def test_fid_infinity_removes_the_small_sample_bias():
    rng = np.random.default_rng(12)
    # same distribution: FID_N ≈ 0 + b/N with b > 0 (fixed real statistics add only ~d/20000)
    real, fake = rng.standard_normal((20000, 8)), rng.standard_normal((2000, 8))
    out = fid_infinity(real, fake, ns=[100, 200, 400, 800, 1600, 2000])
    assert out["slope"] > 0 and abs(out["fid_inf"]) < 0.1 * out["fids"][0]


@pytest.mark.parametrize("n_real,n_fake", [(30, 50), (300, 40)])  # singular real side / singular subsets
def test_fid_infinity_with_fewer_samples_than_dims(n_real, n_fake):
    rng = np.random.default_rng(n_real)
    real, fake = rng.standard_normal((n_real, 40)), rng.standard_normal((n_fake, 40)) + 0.1
    out = fid_infinity(real, fake, ns=[10, 25, n_fake], seed=0)
    draw = np.random.default_rng(0)
    expected = [fid(real, fake[draw.choice(n_fake, n, replace=False)]) for n in out["ns"]]
    np.testing.assert_allclose(out["fids"], expected, rtol=1e-8)


def test_fid_infinity_with_a_singular_real_covariance():
    rng = np.random.default_rng(13)
    real = rng.standard_normal((200, 5))
    real[:, 2] = 1.0  # constant feature: Cholesky fails, the eigh factor takes over
    fake = rng.standard_normal((150, 5))
    out = fid_infinity(real, fake, ns=[50, 100, 150], seed=4)
    draw = np.random.default_rng(4)
    expected = [fid(real, fake[draw.choice(150, n, replace=False)]) for n in out["ns"]]
    np.testing.assert_allclose(out["fids"], expected, rtol=1e-8)


# ---------------------------------------------------------------- bad input

X = np.zeros((10, 3))


@pytest.mark.parametrize("call,match", [
    (lambda: fid(np.zeros(5), X), r"real features must be a 2-D array \(samples, features\), got shape \(5,\)"),
    (lambda: fid(X, np.zeros((10, 4))), r"same feature dimension, got real shape \(10, 3\) and fake shape \(10, 4\)"),
    (lambda: fid(X, np.full((10, 3), np.nan)), r"fake features has 30 non-finite values .* shape \(10, 3\)"),
    (lambda: fid(np.zeros((1, 3)), X), r"real features needs at least 2 samples .* got shape \(1, 3\)"),
    (lambda: fid(X, [["a", "b", "c"]] * 2), r"fake features must be a numeric array or tensor, got list"),
    (lambda: fid_from_stats(np.zeros(3), np.eye(3), np.zeros(2), np.eye(3)),
     r"statistics shapes disagree: mu1 \(3,\), sigma1 \(3, 3\), mu2 \(2,\), sigma2 \(3, 3\)"),
    (lambda: fid_from_stats(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), np.eye(2)),
     r"sigma1 must be a symmetric covariance matrix, got max \|S - S\^T\| = 0.5"),
    (lambda: fid_from_stats(np.zeros(2), np.eye(2), np.zeros(2), np.diag([1.0, -1.0])),
     r"sigma2 must be positive semi-definite, got a negative variance -1 on its diagonal"),
    (lambda: fid_from_stats(np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]]), np.zeros(2), np.ones((2, 2))),
     r"sigma1 must be positive semi-definite, got smallest eigenvalue -1 against largest 3"),
    (lambda: fid_from_stats(np.zeros(2), np.array([[np.inf, 0.0], [0.0, 1.0]]), np.zeros(2), np.eye(2)), r"sigma1 has non-finite"),
    (lambda: kid(np.zeros((40, 3)), np.zeros((30, 3)), subset_size=50),
     r"kid subset_size=50 is larger than a feature set \(real: 40 samples, fake: 30 samples\); "
     r"use subset_size <= 30"),
    (lambda: kid(X, X, subsets=0), r"kid subsets must be an integer >= 1, got 0"),
    (lambda: inception_score(np.zeros((5, 3)), splits=10), r"logits needs at least 10 samples .* got shape \(5, 3\)"),
    (lambda: inception_score(np.zeros((5, 3)), splits=2.0), r"inception_score splits must be an integer >= 1, got 2.0"),
    (lambda: precision_recall(X, np.zeros((3, 3)), k=3), r"fake features needs at least 4 samples .* \(3, 3\)"),
    (lambda: precision_recall(X, X, k=True), r"precision_recall k must be an integer >= 1, got True"),
    (lambda: fid_infinity(X, X, ns=[5, 5]), r"fid_infinity ns must hold at least 2 distinct sample counts "
                                            r"in \[2, 10\] \(the number of fakes\), got \[5, 5\]"),
    (lambda: fid_infinity(X, X, ns=[5, 11]), r"in \[2, 10\] .* got \[5, 11\]"),
])
def test_bad_input_messages(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("d", [1, 2, 7, 16])
def test_kid_kernel_sums_without_the_matrix_equal_the_matrix_sums(d, monkeypatch):
    # Small feature sizes use the cubic kernel's explicit feature map; it must be the same estimator.
    rng = np.random.default_rng(d)
    a, b = rng.normal(size=(400, d)), rng.normal(0.3, 1.2, size=(300, d))
    expanded = M.kid(a, b, subsets=3, subset_size=200)
    monkeypatch.setattr(M, "EXPANDED_MAX_DIM", 0)
    assert expanded == pytest.approx(M.kid(a, b, subsets=3, subset_size=200), rel=1e-9, abs=1e-12)


def test_fid_infinity_uses_the_reference_n_schedule_where_sample_counts_allow():
    from ganbench.metrics import fid_infinity_ns
    assert fid_infinity_ns(50000) == np.linspace(5000, 50000, 15).astype(int).tolist()  # mchong6: 5k..50k
    assert fid_infinity_ns(50000)[:3] == [5000, 8214, 11428]
    ten = fid_infinity_ns(10000)
    assert ten[0] == 5000 and ten[-1] == 10000 and len(ten) == 15
    assert fid_infinity_ns(2500) == np.unique(np.linspace(500, 2500, 15).astype(int)).tolist()  # too few for 5k
