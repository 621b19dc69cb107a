"""Evaluation of trained runs: metrics.json contents, provenance, cached real features, floors."""
from __future__ import annotations

import json

import pandas as pd
import numpy as np
import pytest
import torch

from ganbench.config import parse_suite
from ganbench.evaluate import cache_dir, evaluate_run, make_training_evaluator
from ganbench.io import jsonable
from ganbench.runner import run_one
from ganbench.train import train


def tiny_run(data="ring8", **eval_over):
    model = {"name": "mlp", "hidden": 16, "depth": 2, "z_dim": 2} if data == "ring8" else \
        {"name": "dcgan", "z_dim": 8, "ngf": 8, "ndf": 8}
    doc = {"suite": {"name": "t", "seeds": [0]},
           "defaults": {"data": {"name": data}, "model": model,
                        "train": {"steps": 20, "batch_size": 32, "log_every": 10},
                        "eval": {"n_samples": 400, "kid_subsets": 5, **eval_over}},
           "runs": [{"loss": {"name": "ns"}}]}
    return parse_suite(doc).runs[0]


def test_ring8_metrics_json_has_metrics_floor_diagnostics_provenance(tmp_path):
    run = tiny_run()
    assert run_one(run, tmp_path).status == "finished"
    m = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("fid", "kid", "kid_std", "precision", "recall", "modes", "hq_fraction", "reverse_kl", "spread_ratio"):
        assert key in m["metrics"], key
    assert 0 <= m["metrics"]["modes"] <= 8 and m["metrics"]["n_modes"] == 8
    assert 0 <= m["floor"]["fid"] < 0.1 and m["floor"]["n_each"] == 200  # two halves of one real draw: noise only
    p = m["provenance"]
    assert p["features"] == "identity" and p["n_fake"] == 400 and p["n_real"] == 400 and p["comparable"]
    assert {"torch", "numpy", "scipy", "ganbench"} <= set(p["versions"]) and p["seed"] == 0
    assert "diverged" in m["diagnostics"] and "collapse_events" in m["diagnostics"]
    assert m["config"]["loss"]["name"] == "ns"


def test_reevaluation_is_identical_and_uses_the_cache(tmp_path):
    run = tiny_run()
    run_one(run, tmp_path)
    first = json.loads((tmp_path / "metrics.json").read_text())["metrics"]
    cached = list(cache_dir().glob("ring8-test-identity-400-*.npz"))
    assert cached
    again = jsonable(evaluate_run(tmp_path)["metrics"])  # as written to JSON: nan becomes null
    assert again == first


def test_digits_gets_is_and_class_modes(tmp_path):
    run = tiny_run("digits", n_samples=300)
    assert run_one(run, tmp_path).status == "finished"
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["provenance"]["features"] == "digits-cnn" and m["provenance"]["weights_sha256"]
    assert {"fid", "kid", "is", "modes", "kl"} <= set(m["metrics"])
    assert m["metrics"]["n_modes"] == 10 and 1 <= m["metrics"]["is"] <= 10
    assert m["floor"]["is"] > 5  # real digits are confidently and evenly classified


def test_eval_every_adds_fid_and_modes_to_history(tmp_path):
    run = tiny_run(every=10, n_samples_during=300)
    train(run, tmp_path, evaluator=make_training_evaluator(run))
    h = pd.read_csv(tmp_path / "history.csv")
    evaluated = h.dropna(subset=["fid"])
    assert list(evaluated["step"]) == [10, 20]
    assert {"modes", "hq_fraction", "spread_ratio"} <= set(h.columns)


def test_no_training_evaluator_when_the_run_asks_for_none():
    assert make_training_evaluator(tiny_run(every=0)) is None


def test_git_commit_is_read_once_when_ganbench_evaluate_is_imported():
    """A commit made while a long suite runs must not be recorded for runs trained by the code before it."""
    import subprocess
    from pathlib import Path

    from ganbench.evaluate import git_commit
    assert git_commit.cache_info().currsize == 1  # read at import, before any run was evaluated
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True)
    if head.returncode != 0:  # not a git checkout (e.g. an sdist): nothing to record
        assert git_commit() is None
        return
    assert git_commit() is not None and git_commit().split("-")[0] == head.stdout.strip()


def test_stacked_digits_mode_kl_is_against_uniform_with_the_perfect_generator_floor():
    from ganbench.data import get_dataset
    from ganbench.evaluate import mode_metrics
    from ganbench.modes import classifier_modes, uniform_kl_floor
    ds = get_dataset("stacked-digits")
    labels = np.random.default_rng(0).integers(0, 1000, 2600)
    logits = np.full((2600, 1000), -5.0)
    logits[np.arange(2600), labels] = 5.0
    skewed_real = np.repeat(np.arange(1000), np.arange(1000) % 3 + 1)  # a real histogram far from uniform
    out = mode_metrics(ds, None, {"logits": logits}, None, {"labels": skewed_real})
    assert out["kl"] == pytest.approx(classifier_modes(labels, 1000)["kl"], rel=1e-12)  # uniform reference
    assert out["kl_floor"] == pytest.approx(uniform_kl_floor(2600, 1000), rel=1e-12)
    assert out["n_modes"] == 1000  # (at 2.6 samples a mode the floor, 0.213, is above the (K-1)/2N = 0.192 limit)
    digits = get_dataset("digits")  # classes of a labelled set keep the real histogram as reference
    ten = mode_metrics(digits, None, {"logits": logits[:, :10]}, None, {"labels": skewed_real[:100] % 10})
    assert "kl_floor" not in ten


def test_fid_inf_is_taken_on_fakes_of_sobol_latents():
    from ganbench.config import EvalConfig
    from ganbench.data import get_dataset
    from ganbench.evaluate import evaluate_generator, generated_features
    from ganbench.features import get_extractor
    from ganbench.models import Generator, sobol_latents
    G = Generator(torch.nn.Identity(), 2, "normal", (2,))  # echoes its latents: features = the latents
    feats = generated_features(G, get_extractor("identity"), 300, seed=4, batch_size=128, quasi_random=True)
    np.testing.assert_array_equal(feats["features"], sobol_latents(G, 300, 4 * 1_000_003 + 7_777).numpy())
    out = evaluate_generator(G, get_dataset("ring8"), EvalConfig(n_samples=400, metrics=("fid", "fid_inf")), seed=4)
    assert out["metrics"]["fid_inf_ns"][0] == 80 and out["metrics"]["fid_inf_ns"][-1] == 400
    assert out["provenance"]["fid_inf_latents"].startswith("scrambled Sobol")
