"""Mode-collapse diagnostics pinned on constructed samples whose answers are known."""
import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import torch

from ganbench.modes import (
    COVER_SHARE, failed_to_cover, perfect_generator,
    classifier_modes,
    detect_collapse,
    mixture_modes,
    ndb,
    spread,
    spread_ratio,
    stacked_labels,
    two_proportion_z,
)

# PacGAN geometry (REFERENCES.md): ring of 8 on radius 1, std 0.01; grid of 25, std 0.05.
RING = np.stack([np.cos(2 * np.pi * np.arange(8) / 8), np.sin(2 * np.pi * np.arange(8) / 8)], axis=1)
RING_STD = 0.01
GRID = np.array([(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)], dtype=float)
GRID_STD = 0.05


def around(centers, per_mode, std, seed=0):
    """per_mode[j] samples at centre j plus N(0, (std/2)^2) noise: all within 3 std (6 sigma)."""
    rng = np.random.default_rng(seed)
    idx = np.repeat(np.arange(len(centers)), per_mode)
    return centers[idx] + rng.normal(scale=std / 2, size=(len(idx), 2))


def pacgan_reference(x, centers, std, thr=3.0):
    """PacGAN extensions.py's loop (per-mode std, strict <), with scipy's entropy for rev-KL."""
    hist = np.zeros(len(centers))
    for p in x:
        d = [math.sqrt(np.sum((p - c) ** 2 / s ** 2)) for c, s in zip(centers, std)]
        j = int(np.argmin(d))
        if d[j] < thr:
            hist[j] += 1
    p = hist / hist.sum()
    return int(np.count_nonzero(hist)), hist.sum() / len(x), math.log(len(centers)) - scipy.stats.entropy(p)


# ---- mixture_modes ---------------------------------------------------------------------

def test_ring_all_eight_modes_equal_shares():
    r = mixture_modes(around(RING, [300] * 8, RING_STD), RING, RING_STD)
    assert r["modes"] == 8
    assert r["hq_fraction"] == 1.0
    assert r["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
    assert r["mode_histogram"] == [300] * 8


def test_ring_three_of_eight_equal_shares():
    r = mixture_modes(around(RING, [100, 0, 0, 100, 0, 100, 0, 0], RING_STD), RING, RING_STD)
    assert r["modes"] == 3
    assert r["hq_fraction"] == 1.0
    assert r["reverse_kl"] == pytest.approx(math.log(8) - math.log(3), rel=1e-12)


def test_ring_one_mode_only():
    r = mixture_modes(around(RING, [500, 0, 0, 0, 0, 0, 0, 0], RING_STD), RING, RING_STD)
    assert (r["modes"], r["hq_fraction"]) == (1, 1.0)
    assert r["reverse_kl"] == pytest.approx(math.log(8), rel=1e-12)


def test_unequal_shares_hand_computed():
    # p = (1/2, 1/4, 1/4): H = 1.5 log 2, so rev-KL = log 8 - 1.5 log 2 = 1.5 log 2
    r = mixture_modes(around(RING, [200, 100, 100, 0, 0, 0, 0, 0], RING_STD), RING, RING_STD)
    assert r["reverse_kl"] == pytest.approx(1.5 * math.log(2), rel=1e-12)


def test_all_off_mode_gives_zero_modes_and_nan_reverse_kl():
    # the ring's centre is 1 / 0.01 = 100 std from every mode
    r = mixture_modes(np.zeros((50, 2)), RING, RING_STD)
    assert (r["modes"], r["hq_fraction"]) == (0, 0.0)
    assert math.isnan(r["reverse_kl"])
    assert r["mode_histogram"] == [0] * 8


def test_hq_fraction_counts_off_mode_samples_in_denominator():
    x = np.concatenate([around(RING, [150, 0, 0, 0, 0, 0, 0, 50], RING_STD), np.zeros((200, 2))])
    r = mixture_modes(x, RING, RING_STD)
    assert (r["modes"], r["hq_fraction"]) == (2, 0.5)
    assert r["mode_histogram"] == [150, 0, 0, 0, 0, 0, 0, 50]


def test_grid25_all_modes_and_seventeen():
    r = mixture_modes(around(GRID, [40] * 25, GRID_STD), GRID, GRID_STD)
    assert (r["modes"], r["hq_fraction"]) == (25, 1.0)
    assert r["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
    per_mode = [40] * 17 + [0] * 8
    r = mixture_modes(around(GRID, per_mode, GRID_STD, seed=1), GRID, GRID_STD)
    assert r["modes"] == 17
    assert r["reverse_kl"] == pytest.approx(math.log(25) - math.log(17), rel=1e-12)
    # a point between two grid modes (1 unit = 20 std away) is not HQ
    assert mixture_modes(np.array([[1.0, 0.0]]), GRID, GRID_STD)["hq_fraction"] == 0.0


def test_hq_radius_is_strictly_below_three_std():
    c = np.zeros((1, 2))
    assert mixture_modes(np.array([[1.5, 0.0]]), c, 0.5)["hq_fraction"] == 0.0  # exactly 3 std
    assert mixture_modes(np.array([[1.49, 0.0]]), c, 0.5)["hq_fraction"] == 1.0
    assert mixture_modes(np.array([[1.5, 0.0]]), c, 0.5, threshold=3.5)["hq_fraction"] == 1.0


def test_per_mode_std_measures_nearest_in_std_units():
    centers = np.array([[0.0, 0.0], [10.0, 0.0]])
    std = np.array([1.0, 0.1])
    # (7, 0) is Euclidean-nearer mode 1, but 7 std from mode 0 vs 30 std from mode 1: not HQ, and
    # (2, 0) is 2 std from mode 0, (9.8, 0) is 2 std from mode 1: both HQ
    x = np.array([[7.0, 0.0], [2.0, 0.0], [9.8, 0.0]])
    r = mixture_modes(x, centers, std)
    assert r["mode_histogram"] == [1, 1]
    assert r["hq_fraction"] == pytest.approx(2 / 3)


def test_matches_pacgan_reference_loop_on_random_samples():
    rng = np.random.default_rng(3)
    std = rng.uniform(0.02, 0.2, size=8)
    x = RING[rng.integers(0, 8, 400)] * rng.uniform(0.8, 1.2, (400, 1)) + rng.normal(scale=0.05, size=(400, 2))
    r = mixture_modes(x, RING, std)
    modes, hq, rkl = pacgan_reference(x, RING, std)
    assert r["modes"] == modes
    assert r["hq_fraction"] == pytest.approx(hq, rel=1e-12)
    assert r["reverse_kl"] == pytest.approx(rkl, rel=1e-10)
    assert 0 < hq < 1  # the case actually mixes HQ and off-mode samples


def test_non_finite_samples_are_never_hq():
    x = np.concatenate([around(RING, [1, 1, 0, 0, 0, 0, 0, 0], RING_STD), [[np.nan, 0.0], [np.inf, np.inf]]])
    r = mixture_modes(x, RING, RING_STD)
    assert (r["modes"], r["hq_fraction"]) == (2, 0.5)


def test_torch_input_matches_numpy():
    x = around(RING, [20] * 8, RING_STD)
    assert mixture_modes(torch.tensor(x, dtype=torch.float32), torch.tensor(RING), RING_STD) == \
        mixture_modes(x.astype(np.float32).astype(np.float64), RING, RING_STD)


@pytest.mark.parametrize("samples, centers, std, match", [
    (np.zeros((5, 3)), RING, 0.01, r"samples are 3-D but centers are 2-D"),
    (np.zeros(5), RING, 0.01, r"samples must be 2-D \[N, D\] with N >= 1, got shape \(5,\)"),
    (np.zeros((0, 2)), RING, 0.01, r"samples must be 2-D .* got shape \(0, 2\)"),
    (np.zeros((5, 2)), RING, np.ones(3), r"std must be a scalar or one value per mode \[8\], got shape \(3,\)"),
    (np.zeros((5, 2)), RING, 0.0, r"std must be finite and > 0"),
    (np.zeros((5, 2)), RING, "wide", r"std must be numeric"),
])
def test_mixture_modes_rejects_bad_input(samples, centers, std, match):
    with pytest.raises(ValueError, match=match):
        mixture_modes(samples, centers, std)


# ---- classifier_modes / stacked_labels ---------------------------------------------------

def test_all_thousand_modes_uniform_gives_zero_kl():
    r = classifier_modes(np.repeat(np.arange(1000), 26), 1000)  # 26,000 samples, as VEEGAN
    assert r["modes"] == 1000
    assert r["kl"] == pytest.approx(0.0, abs=1e-12)


def test_one_mode_gives_log_thousand():
    r = classifier_modes(np.full(26000, 417), 1000)
    assert r["modes"] == 1
    assert r["kl"] == pytest.approx(math.log(1000), rel=1e-12)


def test_kl_hand_computed_and_against_scipy():
    # p = (1/2, 1/4, 1/4, 0) vs uniform 1/4: 0.5 log 2 + 0 + 0, the empty bin adds 0
    r = classifier_modes([0, 0, 1, 2], 4)
    assert (r["modes"], r["mode_histogram"]) == (3, [2, 1, 1, 0])
    assert r["kl"] == pytest.approx(0.5 * math.log(2), rel=1e-12)
    labels = np.random.default_rng(0).integers(0, 10, 300) ** 2 % 37  # skewed, some bins empty
    ref = scipy.stats.entropy(np.bincount(labels, minlength=37) / 300, np.full(37, 1 / 37))
    assert classifier_modes(labels, 37)["kl"] == pytest.approx(ref, rel=1e-12)


def test_kl_against_real_histogram():
    real = [0, 1, 1, 2]  # q = (1/4, 1/2, 1/4, 0)
    # p = (1/2, 1/2, 0, 0): 0.5 log 2 + 0.5 log 1
    assert classifier_modes([0, 1], 4, real_labels=real)["kl"] == pytest.approx(0.5 * math.log(2), rel=1e-12)
    # generated mass on a label the real data never shows: the true KL is infinite
    assert classifier_modes([3], 4, real_labels=real)["kl"] == math.inf
    # additive smoothing: real counts (2, 3, 2, 1) / 8, so KL(delta_3 || q) = log 8
    assert classifier_modes([3], 4, real_labels=real, eps=1.0)["kl"] == pytest.approx(math.log(8), rel=1e-12)


def test_classifier_modes_accepts_torch_and_integral_floats():
    a = classifier_modes(torch.tensor([0, 0, 5]), 10)
    assert a == classifier_modes(np.array([0.0, 0.0, 5.0]), 10)
    assert a["modes"] == 2


@pytest.mark.parametrize("labels, n_modes, kw, match", [
    ([0, 1000], 1000, {}, r"labels must lie in 0\.\.999, got values in 0\.\.1000"),
    ([-1, 2], 10, {}, r"labels must lie in 0\.\.9"),
    ([0.5], 10, {}, r"labels must hold integer labels"),
    ([[0, 1]], 10, {}, r"labels must be 1-D \[N\], got shape \(1, 2\)"),
    ([], 10, {}, r"labels must hold at least one generated sample"),
    ([0], 0, {}, r"n_modes must be an int >= 1, got 0"),
    ([0], 10, {"eps": -1.0}, r"eps must be a finite number >= 0, got -1\.0"),
    ([0], 10, {"real_labels": [11]}, r"real_labels must lie in 0\.\.9"),
])
def test_classifier_modes_rejects_bad_input(labels, n_modes, kw, match):
    with pytest.raises(ValueError, match=match):
        classifier_modes(labels, n_modes, **kw)


def test_stacked_labels():
    got = stacked_labels(np.array([[1, 2, 3], [0, 0, 0], [9, 9, 9], [0, 4, 0]]))
    assert got.tolist() == [123, 0, 999, 40]
    assert got.dtype == np.int64
    with pytest.raises(ValueError, match=r"channel_labels must be \[N, 3\].*got shape \(2, 2\)"):
        stacked_labels(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"channel_labels\[:, 1\] must lie in 0\.\.9, got values in 10\.\.10"):
        stacked_labels(np.array([[1, 10, 3]]))


# ---- NDB --------------------------------------------------------------------------------

def test_two_proportion_z_hand_computed():
    # pooled p = 0.25, se = sqrt(0.25 * 0.75 * (1/100 + 1/100)) = sqrt(0.00375)
    assert two_proportion_z(0.3, 100, 0.2, 100) == pytest.approx(0.1 / math.sqrt(0.00375), rel=1e-12)
    # unequal sizes: p = (0.5*40 + 0.25*120) / 160 = 0.3125
    se = math.sqrt(0.3125 * 0.6875 * (1 / 40 + 1 / 120))
    assert two_proportion_z(0.5, 40, 0.25, 120) == pytest.approx(0.25 / se, rel=1e-12)
    # pooled share 0 (bin empty in both): equal shares, z = 0 rather than 0/0
    assert two_proportion_z(np.array([0.0, 1.0]), 10, np.array([0.0, 1.0]), 20).tolist() == [0.0, 0.0]


def test_ndb_two_bins_by_hand():
    real = np.concatenate([np.zeros((60, 1)), np.full((40, 1), 10.0)])
    fake = np.concatenate([np.zeros((30, 1)), np.full((70, 1), 10.0)])
    r = ndb(real, fake, k=2)
    # bins are {0} and {10}; shares 0.6 vs 0.3 and 0.4 vs 0.7; pooled 0.45 resp. 0.55
    z = 0.3 / math.sqrt(0.45 * 0.55 * 0.02)
    assert sorted(r["z"]) == pytest.approx([-z, z], rel=1e-12)
    assert (r["ndb"], r["k"], r["ndb_over_k"], r["different_bins"]) == (2, 2, 1.0, [0, 1])
    # two-sided p = 2 * sf(4.26) ~ 2.0e-5: different at alpha 1e-4, not at 1e-5
    p = 2 * scipy.stats.norm.sf(z)
    assert 1e-5 < p < 1e-4
    assert ndb(real, fake, k=2, alpha=1e-4)["ndb"] == 2
    assert ndb(real, fake, k=2, alpha=1e-5)["ndb"] == 0


def test_ndb_same_distribution_has_few_different_bins():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(4000, 5)), rng.normal(size=(4000, 5))
    r = ndb(real, fake, k=20)
    assert r["ndb"] <= 3  # alpha * k = 1 expected by chance
    assert r == ndb(real, fake, k=20)  # deterministic for a fixed seed


def test_ndb_disjoint_distribution_makes_every_bin_different():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(2000, 4))
    fake = rng.normal(size=(2000, 4)) + 100.0
    r = ndb(real, fake)
    assert r["k"] == 50  # default min(50, 2000 // 20)
    assert r["ndb"] == 50 and r["ndb_over_k"] == 1.0


def test_ndb_whitening_removes_the_scale_of_a_dimension():
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(800, 3)), rng.normal(size=(800, 3)) * 1.3
    scale = np.array([1.0, 1000.0, 0.001])
    a = ndb(real, fake, k=10, whiten=True)
    b = ndb(real * scale, fake * scale, k=10, whiten=True)
    assert a["different_bins"] == b["different_bins"]
    assert a["z"] == pytest.approx(b["z"], rel=1e-9)


@pytest.mark.parametrize("real, fake, kw, match", [
    (np.zeros((39, 2)), np.zeros((10, 2)), {}, r"ndb needs >= 40 real samples .* got n_real=39; pass k explicitly"),
    (np.zeros((10, 2)), np.zeros((10, 2)), {"k": 11}, r"k must be an int in 2\.\.n_real=10, got 11"),
    (np.zeros((10, 2)), np.zeros((10, 3)), {"k": 2}, r"real_feats are 2-D but fake_feats are 3-D"),
    (np.zeros((10, 2)), np.zeros((10, 2)), {"k": 2, "alpha": 1.5}, r"alpha must be in \(0, 1\), got 1\.5"),
    (np.zeros((10, 2)), np.full((10, 2), np.nan), {"k": 2}, r"must be finite; got nan or inf"),
])
def test_ndb_rejects_bad_input(real, fake, kw, match):
    with pytest.raises(ValueError, match=match):
        ndb(real, fake, **kw)


# ---- spread -----------------------------------------------------------------------------

def test_spread_hand_computed_and_properties():
    square = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    assert spread(square) == pytest.approx(math.sqrt(2), rel=1e-15)  # every corner sqrt(2) from (1, 1)
    x = np.random.default_rng(0).normal(size=(500, 6))
    assert spread(x) == pytest.approx(math.sqrt(np.trace(np.cov(x.T, bias=True))), rel=1e-12)
    assert spread(-3.0 * x + 7.0) == pytest.approx(3.0 * spread(x), rel=1e-12)
    assert spread(np.ones((1, 4))) == 0.0
    assert spread(np.tile([[5.0, -1.0]], (100, 1))) == 0.0


def test_spread_ratio():
    x = np.random.default_rng(0).normal(size=(300, 3))
    assert spread_ratio(x, 0.5 * x) == pytest.approx(0.5, rel=1e-12)
    assert spread_ratio(x, np.zeros((10, 3))) == 0.0
    with pytest.raises(ValueError, match=r"real_feats have spread 0\.0"):
        spread_ratio(np.ones((5, 3)), x)
    with pytest.raises(ValueError, match=r"feats must be 2-D \[N, D\]"):
        spread(np.zeros(3))


# ---- detect_collapse --------------------------------------------------------------------

def rows(key, values):
    return [{"step": 100 * i, key: v} for i, v in enumerate(values)]


def test_mode_drop_onsets_and_relapse():
    # best 8: threshold 8 * 0.75 = 6; 5 starts a collapse, the repeat is the same one, 8 recovers, 4 relapses
    ev = detect_collapse(rows("modes", [8, 8, 7, 5, 5, 8, 4]))
    assert ev == [{"step": 300, "what": "modes", "value": 5.0, "best": 8.0},
                  {"step": 600, "what": "modes", "value": 4.0, "best": 8.0}]


def test_mode_drop_of_exactly_the_share_is_not_collapse():
    assert detect_collapse(rows("modes", [8, 6])) == []  # 25 % drop, not more than 25 %
    assert detect_collapse(rows("modes", [8, 6]), mode_drop=0.2)[0]["value"] == 6.0


def test_best_is_running_maximum():
    # 4 is no drop from best-so-far 4; the later best 10 makes 7 (< 7.5) a collapse
    ev = detect_collapse(rows("modes", [4, 4, 10, 7]))
    assert ev == [{"step": 300, "what": "modes", "value": 7.0, "best": 10.0}]


def test_spread_ratio_below_floor():
    ev = detect_collapse(rows("spread_ratio", [1.0, 0.5, 0.2, 0.1, 0.3, 0.24]))
    assert ev == [{"step": 200, "what": "spread", "value": 0.2, "best": 1.0},
                  {"step": 500, "what": "spread", "value": 0.24, "best": 1.0}]
    assert detect_collapse(rows("spread_ratio", [1.0, 0.4]), min_spread_ratio=0.5)[0]["step"] == 100


def test_missing_values_are_skipped_and_both_diagnostics_reported():
    hist = [{"step": 0, "modes": 25, "spread_ratio": 0.9},
            {"step": 10},
            {"step": 20, "modes": None, "spread_ratio": float("nan")},
            {"step": 30, "modes": 12, "spread_ratio": 0.1}]
    ev = detect_collapse(hist)
    assert [(e["step"], e["what"]) for e in ev] == [(30, "modes"), (30, "spread")]
    assert detect_collapse(pd.DataFrame(hist)) == ev
    assert detect_collapse([]) == []


@pytest.mark.parametrize("hist, kw, match", [
    ([{"step": 5}, {"step": 5}], {}, r"history steps must increase strictly, got 5 after 5"),
    ([{"modes": 3}], {}, r"each history row must be a mapping with a 'step' key"),
    ([{"step": 0, "modes": "many"}], {}, r"history row at step 0: modes must be a number, got 'many'"),
    ([], {"mode_drop": 1.0}, r"mode_drop must be a share in \(0, 1\), got 1\.0"),
    ([], {"min_spread_ratio": -0.1}, r"min_spread_ratio must be a finite number >= 0, got -0\.1"),
])
def test_detect_collapse_rejects_bad_input(hist, kw, match):
    with pytest.raises(ValueError, match=match):
        detect_collapse(hist, **kw)


# ---------------------------------------------------------------- coverage: failed to cover, sample-size floor

def test_failed_to_cover_is_fewer_than_half_the_modes():
    assert COVER_SHARE == 0.5
    assert failed_to_cover(3, 8) and not failed_to_cover(4, 8) and failed_to_cover(1, 8)
    assert failed_to_cover(0, 25) and failed_to_cover(12, 25) and not failed_to_cover(13, 25)


def test_perfect_generator_by_hand():
    # 8 HQ samples uniform over 8 modes: E[modes] = 8 (1 - (7/8)^8) = 5.25 (issue 15: "5.3 of 8")
    assert perfect_generator(8, 8)["modes"] == pytest.approx(8 * (1 - (7 / 8) ** 8), rel=1e-14)
    one = perfect_generator(1, 8)
    assert one["modes"] == 1.0 and one["reverse_kl"] == pytest.approx(math.log(8), rel=1e-14)
    # two samples: same mode (1/8) -> KL log 8; two modes (7/8) -> log 8 - log 2
    two = perfect_generator(2, 8)
    assert two["modes"] == pytest.approx(1 + 7 / 8, rel=1e-14)
    assert two["reverse_kl"] == pytest.approx(math.log(8) / 8 + (math.log(8) - math.log(2)) * 7 / 8, rel=1e-12)
    zero = perfect_generator(0, 8)
    assert zero["modes"] == 0.0 and math.isnan(zero["reverse_kl"])
    assert perfect_generator(2500, 8)["modes"] == pytest.approx(8.0, abs=1e-12)
    assert perfect_generator(5, 1) == {"modes": 1.0, "reverse_kl": 0.0}


def test_perfect_generator_matches_a_simulation():
    rng = np.random.default_rng(3)
    counts = rng.multinomial(20, [1 / 8] * 8, size=200_000)  # 20 HQ samples from a perfect generator
    p = counts / 20
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = math.log(8) + np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
    exact = perfect_generator(20, 8)
    assert exact["modes"] == pytest.approx((counts > 0).sum(axis=1).mean(), abs=0.01)
    assert exact["reverse_kl"] == pytest.approx(kl.mean(), abs=0.003)


@pytest.mark.parametrize("n_hq, n_modes, match", [
    (-1, 8, r"perfect_generator n_hq must be an int >= 0, got -1"),
    (2.5, 8, r"perfect_generator n_hq must be an int >= 0, got 2.5"),
    (3, 0, r"perfect_generator n_modes must be an int >= 1, got 0"),
])
def test_perfect_generator_rejects_bad_input(n_hq, n_modes, match):
    with pytest.raises(ValueError, match=match):
        perfect_generator(n_hq, n_modes)


# ---------------------------------------------------------------- the uniform-KL floor of Stacked MNIST

def test_uniform_kl_floor_by_hand_and_against_simulation():
    from ganbench.modes import uniform_kl_floor
    # 2 draws, 2 modes: counts (2,0) or (0,2) with probability 1/2 give KL log 2; (1,1) gives 0.
    assert uniform_kl_floor(2, 2) == pytest.approx(0.5 * math.log(2), rel=1e-12)
    assert uniform_kl_floor(5, 1) == 0.0
    rng = np.random.default_rng(0)
    sims = [classifier_modes(rng.integers(0, 1000, 26000), 1000)["kl"] for _ in range(300)]
    floor = uniform_kl_floor(26000, 1000)
    assert floor == pytest.approx(np.mean(sims), rel=0.01)
    assert floor == pytest.approx(999 / (2 * 26000), rel=0.03)  # ≈ 0.019: PacGAN's protocol, 26,000 samples
    # Against the histogram of 26,000 real labels instead (the old reference), the floor doubles (≈ 0.038).
    real = [classifier_modes(rng.integers(0, 1000, 26000), 1000, real_labels=rng.integers(0, 1000, 26000),
                             eps=0.5)["kl"] for _ in range(20)]
    assert np.mean(real) == pytest.approx(2 * floor, rel=0.1)
    with pytest.raises(ValueError, match="n_samples must be an int >= 1, got 0"):
        uniform_kl_floor(0, 10)
