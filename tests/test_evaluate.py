"""Evaluation of trained runs: metrics.json contents, provenance, cached real features, floors."""
from __future__ import annotations

import json

import pandas as pd
import numpy as np
import pytest
import torch

from ganbench.suite_loader import parse_suite
from ganbench.evaluate import evaluate_run, make_training_evaluator
from ganbench.feature_cache import cache_dir
from ganbench.files import jsonable
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


def test_git_commit_is_read_once_before_a_run_trains_not_at_import(tmp_path, monkeypatch):
    """A commit made while a long suite runs must not be recorded for runs trained by the code before it;
    importing ganbench.evaluate runs no subprocess."""
    import subprocess
    import sys
    from pathlib import Path

    from ganbench import evaluate, runner, train as train_mod
    from ganbench.suite_loader import load_suite
    from ganbench.evaluate import git_commit
    probe = "import ganbench.evaluate as e; print(e.git_commit.cache_info().currsize)"
    fresh = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert fresh.stdout.strip() == "0"
    git_commit.cache_clear()
    seen = []
    monkeypatch.setattr(evaluate, "make_training_evaluator", lambda run: None)
    monkeypatch.setattr(train_mod, "train", lambda *a, **k: seen.append(git_commit.cache_info().currsize) or 1 / 0)
    assert runner.run_one(load_suite("ci").runs[0], tmp_path / "run").status == "failed"
    assert seen == [1]  # read before training began
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True)
    if head.returncode != 0:  # not a git checkout (e.g. an sdist): nothing to record
        assert git_commit() is None
        return
    assert git_commit() is not None and git_commit().split("-")[0] == head.stdout.strip()


@pytest.mark.parametrize("content", [b"", bytes(range(256)), b'step,d_loss\n"1,0.5\n', b"CUT"])
def test_eval_of_a_run_with_a_broken_history_is_one_line_exit_2(tmp_path, capsys, content):
    # ganbench eval R used to give a pandas traceback (empty, binary, open quote) or accept a cut file silently
    from ganbench.cli import main
    run = tiny_run()
    train(run, tmp_path)
    history = tmp_path / "history.csv"
    history.write_bytes(history.read_bytes()[:-3] if content == b"CUT" else content)
    assert main(["eval", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"ganbench: error: {history}: ") and "\n" not in err
    assert not (tmp_path / "metrics.json").exists()


def test_new_metrics_land_in_metrics_json_with_sample_count_warnings(tmp_path):
    run = tiny_run(metrics=["fid", "density_coverage", "cmmd", "vendi"])
    assert run_one(run, tmp_path).status == "finished"
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert {"fid", "density", "coverage", "cmmd", "vendi"} <= set(m["metrics"])
    assert 0 <= m["metrics"]["coverage"] <= 1 and 1 <= m["metrics"]["vendi"] <= 400 and m["metrics"]["cmmd"] >= 0
    warned = " ".join(m["warnings"])  # 400 samples: under every protocol's count
    for name in ("density", "coverage", "cmmd", "vendi"):
        assert f"{name} from 400 samples" in warned


def test_eval_real_stats_gives_fid_against_the_file_and_records_it(tmp_path):
    import numpy as np
    from ganbench.data import get_dataset
    from ganbench.evaluate import REAL_SEED
    import torch
    reals = get_dataset("ring8").real(400, "test", torch.Generator().manual_seed(REAL_SEED)).numpy()
    from ganbench.metrics import feature_stats
    mu, sigma = feature_stats(reals)
    np.savez(tmp_path / "ring8.npz", mu=mu, sigma=sigma)  # a foreign file: no provenance
    plain, with_stats = tmp_path / "plain", tmp_path / "stats"
    run_one(tiny_run(metrics=["fid"]), plain)
    run = tiny_run(metrics=["fid"], real_stats=str(tmp_path / "ring8.npz"))
    assert run.run_id != tiny_run(metrics=["fid"]).run_id  # the statistics are part of the configuration
    assert "real_stats" not in tiny_run().to_dict()["eval"]  # unset: old run ids unchanged
    run_one(run, with_stats)
    a = json.loads((plain / "metrics.json").read_text())
    b = json.loads((with_stats / "metrics.json").read_text())
    assert b["metrics"]["fid"] == pytest.approx(a["metrics"]["fid"], rel=1e-9)  # same reals, same statistics
    assert b["provenance"]["real_stats_file"]["provenance"] == "provenance unknown"
    assert "provenance unknown" in b["provenance"]["real_stats"]
    from ganbench.results import load_results
    assert "provenance unknown" in load_results(with_stats.parent).dropna(subset=["real_stats"])["real_stats"].iloc[0]


def test_eval_real_stats_missing_file_fails_when_the_suite_loads(tmp_path):
    from ganbench.registry import ConfigError
    with pytest.raises(ConfigError, match=r"runs\[0\]: eval.real_stats: .*nope.npz: no such reference statistics file"):
        tiny_run(real_stats=str(tmp_path / "nope.npz"))


def test_stacked_digits_mode_kl_is_against_uniform_with_the_perfect_generator_floor():
    from ganbench.data import get_dataset
    from ganbench.evaluations import mode_metrics
    from ganbench.modes import classifier_modes, uniform_kl_floor
    ds = get_dataset("stacked-digits")
    labels = np.random.default_rng(0).integers(0, 1000, 2600)
    logits = np.full((2600, 1000), -5.0)
    logits[np.arange(2600), labels] = 5.0
    skewed_real = np.repeat(np.arange(1000), np.arange(1000) % 3 + 1)  # a real histogram far from uniform
    out = mode_metrics(ds, {"logits": logits}, None, {"labels": skewed_real})
    assert out["kl"] == pytest.approx(classifier_modes(labels, 1000)["kl"], rel=1e-12)  # uniform reference
    assert out["kl_floor"] == pytest.approx(uniform_kl_floor(2600, 1000), rel=1e-12)
    assert out["n_modes"] == 1000  # (at 2.6 samples a mode the floor, 0.213, is above the (K-1)/2N = 0.192 limit)
    digits = get_dataset("digits")  # classes of a labelled set keep the real histogram as reference
    ten = mode_metrics(digits, {"logits": logits[:, :10]}, None, {"labels": skewed_real[:100] % 10})
    assert "kl_floor" not in ten


def test_fid_inf_is_taken_on_fakes_of_sobol_latents():
    from ganbench.config import EvalConfig
    from ganbench.data import get_dataset
    from ganbench.evaluate import generated_features, measure_generator
    from ganbench.features import get_extractor
    from ganbench.models import Generator, sobol_latents
    G = Generator(torch.nn.Identity(), 2, "normal", (2,))  # echoes its latents: features = the latents
    feats = generated_features(G, get_extractor("identity"), 300, seed=4, batch_size=128, quasi_random=True)
    np.testing.assert_array_equal(feats["features"], sobol_latents(G, 300, 4 * 1_000_003 + 7_777).numpy())
    out = measure_generator(G, get_dataset("ring8"), EvalConfig(n_samples=400, metrics=("fid", "fid_inf")), seed=4)
    assert out["metrics"]["fid_inf_ns"][0] == 80 and out["metrics"]["fid_inf_ns"][-1] == 400
    assert out["provenance"]["fid_inf_latents"].startswith("scrambled Sobol")


def test_protocol_constants_of_precision_recall_and_is():
    from ganbench.evaluations import PR_K, is_splits
    assert PR_K == 3
    assert [is_splits(n) for n in (1, 99, 100, 250, 999, 1000, 50_000)] == [1, 1, 1, 2, 9, 10, 10]


def test_real_floor_compares_two_halves_and_takes_is_on_every_real_logit():
    from ganbench import metrics as M
    from ganbench.config import EvalConfig
    from ganbench.evaluate import real_floor
    rng = np.random.default_rng(0)
    real = {"features": rng.normal(size=(401, 3)), "logits": rng.normal(size=(401, 10))}  # odd: the last is left out
    cfg = EvalConfig(metrics=("fid", "kid", "is", "pr", "modes", "vendi"), kid_subsets=3, kid_subset_size=1000)
    floor = real_floor(real, cfg)
    a, b = real["features"][:200], real["features"][200:400]
    assert set(floor) == {"n_each", "fid", "kid", "kid_std", "is", "is_std", "precision", "recall"}  # no subset size
    assert floor["n_each"] == 200 and floor["fid"] == M.fid(a, b)
    assert (floor["kid"], floor["kid_std"]) == M.kid(a, b, subsets=3, subset_size=200, seed=0)
    assert (floor["precision"], floor["recall"]) == M.precision_recall(a, b, k=3)
    assert (floor["is"], floor["is_std"]) == M.inception_score(real["logits"], splits=4)  # all 401: 4 splits
    assert set(real_floor({"features": real["features"]}, cfg)) == {"n_each", "fid", "kid", "kid_std", "precision",
                                                                   "recall"}  # no logits, no IS
    assert real_floor({"features": real["features"][:7]}, cfg) == {}  # halves of 3: too few for a floor


def test_a_suite_reads_its_statistics_file_once_however_many_runs_name_it(tmp_path, monkeypatch):
    import numpy as np
    from ganbench import suite_loader
    np.savez(tmp_path / "s.npz", mu=np.zeros(2), sigma=np.eye(2))
    reads = []
    real_load = suite_loader.load_reference_stats
    monkeypatch.setattr(suite_loader, "load_reference_stats", lambda p: reads.append(p) or real_load(p))
    doc = {"suite": {"name": "t", "seeds": [0, 1, 2]},
           "defaults": {"data": {"name": "ring8"}, "model": {"name": "mlp", "hidden": 16, "depth": 2},
                        "eval": {"real_stats": str(tmp_path / "s.npz")}},
           "runs": [{"loss": [{"name": "ns"}, {"name": "hinge"}]}]}
    assert len(parse_suite(doc).runs) == 6 and reads == [str(tmp_path / "s.npz")]
