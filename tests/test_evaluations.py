"""ganbench.evaluations: one function per catalogue evaluation, each passing its protocol to its metric."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganbench import catalogue
from ganbench import metrics as M
from ganbench.data import get_dataset
from ganbench.evaluations import EVALUATIONS, PR_K, Protocol, is_splits, run_evaluations
from ganbench.modes import classifier_modes, mixture_modes
from ganbench.reference_stats import ReferenceStats, fid_against


def ring8_records(n_real: int = 200, n_fake: int = 150):
    """Real and generated ring8 points with (made-up) class logits, and the protocol of a run on them."""
    ds = get_dataset("ring8")
    real = ds.real(n_real, "test", torch.Generator().manual_seed(0)).numpy().astype(np.float64)
    fake = ds.sample(n_fake, torch.Generator().manual_seed(1)).numpy().astype(np.float64) * 1.1
    rng = np.random.default_rng(2)
    return ({"features": real, "logits": rng.normal(size=(n_real, 8))},
            {"features": fake, "logits": rng.normal(size=(n_fake, 8))},
            Protocol(kid_subsets=4, kid_subset_size=100, dataset=ds, fake_samples=fake))


def digits_records(n: int = 120):
    """Digits-like records: 10-class logits and real labels, what the classifier mode diagnostics read."""
    rng = np.random.default_rng(3)
    real = {"features": rng.normal(size=(n, 4)), "logits": rng.normal(size=(n, 10)), "labels": rng.integers(0, 10, n)}
    fake = {"features": rng.normal(size=(n, 4)), "logits": rng.normal(size=(n, 10))}
    return real, fake, Protocol(dataset=get_dataset("digits"))


def test_the_table_holds_one_function_per_catalogue_evaluation():
    assert tuple(EVALUATIONS) == catalogue.EVALUATIONS


def test_every_catalogue_metric_is_among_the_keys_its_evaluation_returns():
    points, classes = ring8_records(), digits_records()
    for m in catalogue.CATALOGUE:
        returned = set(EVALUATIONS[m.evaluation](*points)) | set(EVALUATIONS[m.evaluation](*classes))
        assert m.name in returned, (m.name, m.evaluation, returned)


def test_needs_logits_says_which_metrics_logits_decide():
    real, fake, p = ring8_records()
    wanted = catalogue.EVALUATIONS
    with_logits = run_evaluations(wanted, real, fake, p)
    without = run_evaluations(wanted, real, {"features": fake["features"]}, p)
    needs = {m.name for m in catalogue.CATALOGUE if m.needs_logits}
    assert needs == {"is", "kl"}
    assert "is" in with_logits and not needs & set(without)  # ring8 counts its modes from the points: no kl
    assert set(with_logits) - set(without) == {"is", "is_std"}
    real, fake, p = digits_records()
    assert "kl" in EVALUATIONS["modes"](real, fake, p)
    assert EVALUATIONS["modes"](real, {"features": fake["features"]}, p) == {}


def test_fid_through_the_table_hand_computed():
    # a set and its copy shifted by (1, 1): equal covariances, so FID = ‖μ1 − μ2‖² = 2 exactly
    x = np.random.default_rng(0).normal(size=(50, 2))
    assert EVALUATIONS["fid"]({"features": x}, {"features": x + 1.0}, Protocol())["fid"] == pytest.approx(2.0, abs=1e-9)


def test_fid_against_reference_statistics_when_the_protocol_has_them():
    _, fake, _ = ring8_records()
    mu, sigma = M.feature_stats(fake["features"])  # the fakes' own statistics, the mean shifted by (1, 1): FID 2
    stats = ReferenceStats(mu=mu + 1.0, sigma=sigma, path="ref.npz", sha256="0" * 64, format="ganbench",
                           provenance=None)
    out = EVALUATIONS["fid"](None, fake, Protocol(real_stats=stats))  # no real features needed
    assert out == {"fid": fid_against(stats, fake["features"])} and out["fid"] == pytest.approx(2.0, abs=1e-9)


def test_kid_takes_the_protocols_subsets_capped_by_the_smaller_set():
    real, fake, p = ring8_records(n_real=200, n_fake=80)
    out = EVALUATIONS["kid"](real, fake, p)
    assert out["kid_subset_size"] == 80  # min(100, 200, 80)
    assert (out["kid"], out["kid_std"]) == M.kid(real["features"], fake["features"], subsets=4, subset_size=80, seed=0)
    default = EVALUATIONS["kid"](real, fake, Protocol())  # ganbench metrics: metrics.kid's 100 subsets of <= 1,000
    assert (default["kid"], default["kid_std"]) == M.kid(real["features"], fake["features"], subset_size=80)


def test_inception_score_splits_follow_the_number_of_generated_logits():
    real, fake, p = ring8_records(n_fake=250)
    out = EVALUATIONS["is"](real, fake, p)
    assert is_splits(250) == 2
    assert (out["is"], out["is_std"]) == M.inception_score(fake["logits"], splits=2)


def test_precision_recall_left_out_on_too_few_samples_unless_strict():
    real, fake, p = ring8_records()
    few = {"features": fake["features"][:PR_K]}
    assert EVALUATIONS["pr"](real, few, p) == {}
    with pytest.raises(ValueError, match=r"fake features needs at least 4 samples"):
        EVALUATIONS["pr"](real, few, Protocol(strict=True))
    out = EVALUATIONS["pr"](real, fake, p)
    assert (out["precision"], out["recall"]) == M.precision_recall(real["features"], fake["features"], k=PR_K)


def test_density_coverage_needs_more_reals_than_neighbours():
    real, fake, p = ring8_records()
    assert EVALUATIONS["density_coverage"]({"features": real["features"][:5]}, fake, p) == {}
    assert set(EVALUATIONS["density_coverage"](real, fake, p)) == {"density", "coverage"}


def test_fid_infinity_on_the_sobol_fakes_when_given():
    real, fake, p = ring8_records()
    sobol = {"features": fake["features"][::-1] + 0.5}
    out = EVALUATIONS["fid_inf"](real, fake, Protocol(fake_sobol=sobol))
    ref = M.fid_infinity(real["features"], sobol["features"])
    assert out == {"fid_inf": ref["fid_inf"], "fid_inf_ns": ref["ns"]}
    on_fakes = M.fid_infinity(real["features"], fake["features"])["fid_inf"]
    assert EVALUATIONS["fid_inf"](real, fake, p)["fid_inf"] == on_fakes


def test_mode_diagnostics_of_points_and_of_classes():
    real, fake, p = ring8_records()
    ds = p.dataset
    ref = mixture_modes(fake["features"], ds.centers.numpy(), ds.std)
    assert EVALUATIONS["modes"](real, fake, p) == {"modes": ref["modes"], "n_modes": 8,
                                                   "hq_fraction": ref["hq_fraction"], "reverse_kl": ref["reverse_kl"]}
    real, fake, p = digits_records()
    ref = classifier_modes(fake["logits"].argmax(1), 10, real_labels=real["labels"])
    assert EVALUATIONS["modes"](real, fake, p) == {"modes": ref["modes"], "n_modes": 10, "kl": ref["kl"]}


def test_run_evaluations_keeps_the_order_asked_and_only_what_was_asked():
    real, fake, p = ring8_records()
    assert list(run_evaluations(["vendi", "fid"], real, fake, p)) == ["vendi", "fid"]
    assert run_evaluations([], real, fake, p) == {}
