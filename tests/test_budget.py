"""The equal-budget analysis: best of k pinned by hand and by enumeration, trials from real run directories,
the loss comparison, sensitivity, the pasteable fragment and budget.csv."""
from __future__ import annotations

import itertools
import json
import math
import textwrap
import tomllib
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from ganbench import budget as B
from ganbench.files import CorruptFileError
from ganbench.results import load_results
from ganbench.search_space import sample_unit
from ganbench.stats import mannwhitney_pvalue, signed_rank_pvalue
from ganbench.suite_loader import parse_suite

# ---------------------------------------------------------------- best of k, exactly


@pytest.mark.parametrize("k, median, lo, hi", [(1, 2, 1, 4), (2, 1, 1, 3), (3, 1, 1, 2), (4, 1, 1, 1)])
def test_best_of_k_by_hand(k, median, lo, hi):
    """Trials 1 < 2 < 3 < 4 (lower is better). k = 2: the best is 1 in 3 of the 6 pairs, 2 in 2, 3 in 1, so the
    median is 1 (P(best <= 1) = 1/2) and the 97.5% point is 3; k = 1: each value 1/4, median 2."""
    assert B.best_of_k_quantiles([3, 1, 4, 2], k, False) == [lo, median, hi]
    # higher is better: the same answer in order of merit
    assert B.best_of_k_quantiles([-3, -1, -4, -2], k, True) == [-lo, -median, -hi]


def test_best_of_two_distribution_by_hand():
    d = B.best_of_k([4.0, 2.0, 1.0, 3.0], 2, False)
    assert d["value"].tolist() == [1.0, 2.0, 3.0]
    assert d["probability"].tolist() == [3 / 6, 2 / 6, 1 / 6]
    d = B.best_of_k([4.0, 2.0, 1.0, 3.0], 2, True)  # the best of two is the larger
    assert d["value"].tolist() == [4.0, 3.0, 2.0] and d["probability"].tolist() == [3 / 6, 2 / 6, 1 / 6]


@pytest.mark.parametrize("hib", [False, True])
def test_best_of_k_equals_the_enumeration_of_every_draw(hib):
    rng = np.random.default_rng(3)
    for n in (1, 2, 5, 7, 9):
        values = np.round(rng.normal(size=n), 1)  # ties included
        values[rng.random(n) < 0.2] = -math.inf if hib else math.inf  # worst outcomes
        for k in range(1, n + 1):
            bests = np.array([max(c) if hib else min(c) for c in itertools.combinations(values, k)])
            merit = -bests if hib else bests  # quantiles in order of merit
            expected = [(-1 if hib else 1) * np.quantile(merit, q, method="inverted_cdf")
                        for q in (0.025, 0.5, 0.975)]
            assert B.best_of_k_quantiles(values, k, hib) == expected, (n, k)
            dist = B.best_of_k(values, k, hib)
            counts = pd.Series(bests).value_counts()
            for v, p in zip(dist["value"], dist["probability"]):
                assert p == pytest.approx(counts[v] / len(bests), abs=1e-15)
            assert dist["probability"].sum() == pytest.approx(1.0)


def test_best_of_k_refuses_bad_budgets_and_nan():
    with pytest.raises(ValueError, match=r"budget k must be an integer in 1\.\.3"):
        B.best_of_k_quantiles([1, 2, 3], 4, False)
    with pytest.raises(ValueError, match=r"budget k"):
        B.best_of_k([1, 2, 3], 0, False)
    with pytest.raises(ValueError, match="nan"):
        B.best_of_k_quantiles([1, math.nan], 1, False)


def trials_frame(values: dict[str, list[float]], metric: str = "fid", paired: bool = True) -> pd.DataFrame:
    """A trial table; ``paired``: trial t of every loss drew the same learning rate (one search's shared points)."""
    rows = [{"dataset": "ring8", "model": "mlp", "loss": loss, "trial": t, "search_space": "ab", "n_seeds": 2,
             "n_undefined": 0, "n_missing": 0, metric: v, "search_log_scale": "optim.lr_d",
             "optim.lr_d": 1e-3 * (t + 1) * (1 if paired else 1 + i)}
            for i, (loss, vs) in enumerate(values.items()) for t, v in enumerate(vs)]
    return pd.DataFrame(rows)


def test_budget_curve_and_table():
    trials = trials_frame({"ns": [4.0, 1.0, 3.0, 2.0], "hinge": list(range(12, 0, -1))})
    curve = B.budget_curve(trials)
    ns = curve[curve["loss"] == "ns"]
    assert ns["budget"].tolist() == [1, 2, 3, 4] and set(ns["n_trials"]) == {4}
    assert ns["fid_median"].tolist() == [2, 1, 1, 1] and ns["fid_lo"].tolist() == [1, 1, 1, 1]
    assert ns["fid_hi"].tolist() == [4, 3, 2, 1]
    hinge = curve[curve["loss"] == "hinge"]
    assert (np.diff(hinge["fid_median"]) <= 0).all()  # more trials never make the median best worse
    table = B.budget_table(curve)
    assert table[table["loss"] == "hinge"]["budget"].tolist() == [1, 5, 10, 12]
    assert table[table["loss"] == "ns"]["budget"].tolist() == [1, 4]
    assert table["whole_search"].tolist() == [False, False, False, True, False, True]
    modes = B.budget_curve(trials_frame({"ns": [6.0, 8.0, 7.0]}, "modes"))  # higher is better
    assert modes["modes_median"].tolist() == [7.0, 8.0, 8.0] and modes["modes_lo"].tolist() == [6.0, 7.0, 8.0]


def test_budget_csv_has_the_documented_columns(tmp_path):
    curve = B.budget_curve(trials_frame({"ns": [4.0, 1.0], "hinge": [2.0, 3.0]}))
    path = B.write_budget_csv(curve, tmp_path / "budget.csv")
    back = pd.read_csv(path)
    assert back.columns.tolist() == ["loss", "budget", "fid_median", "fid_lo", "fid_hi"]
    assert back.iloc[0].tolist() == ["hinge", 1, 2.0, 2.0, 3.0]
    two = pd.concat([curve, curve.assign(dataset="grid25")])
    assert pd.read_csv(B.write_budget_csv(two, tmp_path / "b2.csv")).columns[:3].tolist() == ["dataset", "model",
                                                                                            "loss"]


# ---------------------------------------------------------------- losses against each other

def test_compare_losses_pairs_trials_of_one_search():
    """Trial t of each loss drew the same point: signed-rank on the matched values. a is better than c by 0.5 at
    every one of the 8 points: p = 2 / 2^8, where Mann-Whitney on the two sets would see no difference."""
    trials = trials_frame({"a": [1.0, 2, 3, 4, 5, 6, 7, 8], "b": [9.0, 10, 11, 12, 13, 14, 15, 16],
                           "c": [1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5]})
    table = B.compare_losses(trials).set_index(["a", "b"])
    assert set(table["test"]) == {B.PAIRED}
    assert table["p"].tolist() == [2 / 2**8] * 3 and table["p_holm"].tolist() == [3 * 2 / 2**8] * 3
    assert table.loc[("a", "c"), "better"] == "a" and table.loc[("a", "c"), "p_a_better"] == 1.0
    assert table.loc[("b", "c"), "better"] == "c" and table.loc[("b", "c"), "p_a_better"] == 0.0
    assert table.loc[("a", "c"), "fid_median_a"] == 4.0  # the lower median (inverted cdf)
    assert mannwhitney_pvalue(range(1, 9), np.arange(1.5, 9)) > 0.5


def test_compare_losses_without_matched_trials_uses_mann_whitney_with_holm():
    trials = trials_frame({"a": [1.0, 2, 3, 4, 5, 6, 7, 8], "b": [9.0, 10, 11, 12, 13, 14, 15, 16],
                           "c": [1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5]}, paired=False)
    table = B.compare_losses(trials).set_index(["a", "b"])
    assert set(table["test"]) == {B.UNPAIRED}
    separated = 2 / math.comb(16, 8)
    assert table.loc[("a", "b"), "p"] == pytest.approx(separated)
    assert table.loc[("a", "b"), "p_a_better"] == 1.0 and table.loc[("a", "b"), "better"] == "a"
    assert table.loc[("b", "c"), "better"] == "c" and table.loc[("b", "c"), "p_a_better"] == 0.0
    assert table.loc[("a", "c"), "p"] == pytest.approx(mannwhitney_pvalue(range(1, 9), np.arange(1.5, 9)))
    assert table.loc[("a", "c"), "better"] == ""
    assert table.loc[("a", "b"), "p_holm"] == pytest.approx(3 * separated)  # the smallest of three pairs


def test_compare_losses_counts_an_undefined_trial_as_the_worst():
    trials = trials_frame({"a": [1.0, 2.0, math.inf], "b": [3.0, 4.0, 5.0]}, paired=False)
    row = B.compare_losses(trials).iloc[0]
    assert row["p_a_better"] == pytest.approx(6 / 9) and row["fid_median_a"] == 2.0
    row = B.compare_losses(trials_frame({"a": [1.0, 2.0, math.inf], "b": [3.0, 4.0, 5.0]})).iloc[0]
    assert row["test"] == B.PAIRED and row["p_a_better"] == pytest.approx(2 / 3)


def _surface(u: np.ndarray) -> np.ndarray:
    """A loss-like landscape: a valley in log lr, a slope in beta1, a step in n_critic."""
    return (u[:, 0] - 0.6) ** 2 * 8 + 0.5 * u[:, 1] + 0.2 * (u[:, 2] > 0.5)


def _rejections(reps: int, shift: float, design: str) -> float:
    """Two losses, 16 trials each, seed noise of a 2-seed mean; b worse by ``shift`` everywhere."""
    rng = np.random.default_rng(0)
    hits = 0
    for rep in range(reps):
        sampler = "random" if design == "iid" else "sobol"
        ua = sample_unit(sampler, 2 * rep, 16, 3)
        ub = ua if design == "paired" else sample_unit(sampler, 2 * rep + 1, 16, 3)
        a = _surface(ua) + rng.normal(0, 0.3, 16) / np.sqrt(2)
        b = _surface(ub) + shift + rng.normal(0, 0.3, 16) / np.sqrt(2)
        p = signed_rank_pvalue(a, b) if design == "paired" else mannwhitney_pvalue(a, b)
        hits += p < 0.05
    return hits / reps


def test_matched_trials_keep_the_level_and_gain_power():
    """The simulation behind the paired design: two identical losses (1,000 searches each), then b worse by 0.5
    (200 searches). Sobol trials drawn independently per loss make Mann-Whitney reject almost never (level far
    below 5%, little power); shared points and the signed-rank test hold the level and detect the shift."""
    assert _rejections(1000, 0.0, "paired") <= 0.05
    assert _rejections(1000, 0.0, "iid") <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / 1000)
    assert _rejections(1000, 0.0, "sobol") <= 0.01  # conservative: why the search shares its points
    assert _rejections(200, 0.5, "paired") >= 0.95 > 0.6 >= _rejections(200, 0.5, "sobol")


# ---------------------------------------------------------------- from run directories

SUITE = """
[suite]
name = "s"
seeds = [0, 1]

[search]
trials = 3
seed = 1
"optim.lr_d" = { log_uniform = [1e-4, 1e-2] }
"optim.lr_g" = { same_as = "optim.lr_d" }
"optim.optimizer" = { choice = ["adam", "rmsprop"] }

[defaults]
data  = { name = "ring8" }
model = { name = "mlp", hidden = 16, depth = 2, z_dim = 2 }
train = { steps = 20, batch_size = 16 }
eval  = { n_samples = 100 }

[[runs]]
loss = { name = "ns" }

[[runs]]
loss = { name = "wgan-gp" }
search = { "loss.gp_weight" = { log_uniform = [0.1, 100.0] } }
"""


def write_search(root, fids):
    """Run directories of SUITE's runs as the trainer writes them (config.json from the run itself);
    ``fids[(loss, trial, seed)]``: a number, None (undefined) or "failed"."""
    suite = parse_suite(tomllib.loads(textwrap.dedent(SUITE)), "s.toml")
    for run in suite.runs:
        d = root / run.run_id
        d.mkdir(parents=True)
        (d / "config.json").write_text(json.dumps(run.to_dict()))
        fid = fids.get((run.loss.name, run.search.trial, run.seed), 1.0)
        if fid == "failed":
            (d / "status.json").write_text(json.dumps({"status": "failed", "reason": "boom"}))
            continue
        (d / "status.json").write_text(json.dumps({"status": "finished"}))
        (d / "metrics.json").write_text(json.dumps({"run_id": run.run_id, "status": "finished", "steps": 20,
                                                    "metrics": {"fid": fid}, "config": run.to_dict()}))
    return suite


def test_trials_from_run_directories(tmp_path):
    suite = write_search(tmp_path, {("ns", 0, 0): 2.0, ("ns", 0, 1): 4.0, ("ns", 1, 1): None,
                                    ("ns", 2, 0): "failed", ("wgan-gp", 2, 0): 0.5, ("wgan-gp", 2, 1): 0.25})
    df = load_results(tmp_path)
    assert str(df["trial"].dtype) == "Int64" and str(df["search_space"].dtype) == "string"
    assert df["optim.lr_d"].dtype == np.float64 and str(df["optim.optimizer"].dtype) == "string"
    trials = B.trial_table(df)
    ns = trials[trials["loss"] == "ns"].set_index("trial")
    assert ns.loc[0, "fid"] == 3.0 and ns.loc[1, "fid"] == math.inf and ns.loc[1, "n_undefined"] == 1
    assert ns.loc[2, "fid"] == 1.0 and ns.loc[2, "n_seeds"] == 1 and ns.loc[2, "n_missing"] == 1
    run = next(r for r in suite.runs if r.loss.name == "ns" and r.search.trial == 2)
    assert ns.loc[2, "optim.lr_d"] == run.optim.lr_d and ns.loc[2, "optim.optimizer"] == run.optim.optimizer
    dist = B.trial_distribution(trials).set_index("loss")
    assert dist.loc["ns", "n_trials"] == 3 and dist.loc["ns", "n_undefined"] == 1
    assert dist.loc["ns", "fid_best"] == 1.0 and dist.loc["ns", "fid_worst"] == math.inf
    best = B.best_trials(trials).set_index("loss")
    assert best.loc["wgan-gp", "trial"] == 2 and best.loc["wgan-gp", "fid"] == 0.375
    assert math.isnan(best.loc["ns", "loss.gp_weight"]) and best.loc["wgan-gp", "loss.gp_weight"] > 0


@pytest.mark.parametrize("field, value", [("trial", "x"), ("trial", -1), ("trial", 2**70), ("space", 3),
                                          ("values", [1]), ("log_scale", "optim.lr_d")])
def test_a_damaged_search_entry_is_a_corrupt_run(tmp_path, field, value):
    write_search(tmp_path, {})
    path = sorted(tmp_path.glob("*/config.json"))[0]
    config = json.loads(path.read_text())
    config["search"][field] = value
    path.write_text(json.dumps(config))
    with pytest.raises(CorruptFileError, match=rf"config\.json: search"):
        load_results(tmp_path)
    marked = load_results(tmp_path, errors="mark")
    assert (marked["status"] == "corrupt").sum() == 1 and len(B.trial_table(marked)) == 6


def test_sensitivity_lists_every_trial_and_key(tmp_path):
    write_search(tmp_path, {})
    sens = B.hyperparameter_sensitivity(B.trial_table(load_results(tmp_path)))
    ns = sens[sens["loss"] == "ns"]
    assert sorted(set(ns["key"])) == ["optim.lr_d", "optim.lr_g", "optim.optimizer"] and len(ns) == 9
    assert len(sens[sens["loss"] == "wgan-gp"]) == 12
    lr = ns[ns["key"] == "optim.lr_d"]
    assert lr["log_scale"].all() and lr["value"].between(1e-4, 1e-2).all()
    opt = ns[ns["key"] == "optim.optimizer"]
    assert opt["value"].isna().all() and set(opt["label"]) <= {"adam", "rmsprop"} and not opt["log_scale"].any()


def test_the_fragment_trains_the_best_trial_again(tmp_path):
    suite = write_search(tmp_path, {("ns", 1, 0): 0.1, ("ns", 1, 1): 0.2, ("wgan-gp", 0, 0): 0.3})
    text = B.suite_fragment(load_results(tmp_path))
    pasted = parse_suite(tomllib.loads(text), "again.toml")
    assert [r.loss.name for r in pasted.runs] == ["ns", "wgan-gp"] and all(r.search is None for r in pasted.runs)
    for again in pasted.runs:
        trial = 1 if again.loss.name == "ns" else 0
        best = next(r for r in suite.runs if r.loss.name == again.loss.name and r.search.trial == trial)
        expected = {k: v for k, v in best.to_dict().items() if k not in ("search", "suite")}
        assert {k: v for k, v in again.to_dict().items() if k != "suite"} == expected
    assert "# \"ns\" on \"ring8\" · \"mlp\": best of 3 trials is trial 1, FID 0.15 (mean over 2 seeds)" in text
    # pasted into the search's own suite, it runs once at its setting beside the trials
    own = parse_suite(tomllib.loads(textwrap.dedent(SUITE) + "\n" + text), "s.toml")
    assert sum(r.search is None for r in own.runs) == 4


def test_the_analysis_refuses_tables_it_cannot_read(tmp_path):
    with pytest.raises(ValueError, match=r"not the results of a search: no column\(s\) trial"):
        B.trial_table(pd.DataFrame({"dataset": ["r"], "model": ["m"], "loss": ["ns"], "status": ["finished"]}))
    write_search(tmp_path, {})
    df = load_results(tmp_path)
    with pytest.raises(ValueError, match="'nope' has no known direction"):
        B.trial_table(df, "nope")
    with pytest.raises(ValueError, match="no run of the search has a value of 'kid'"):
        B.trial_table(df, "kid")
    mixed = df.copy()
    mixed.loc[0, "search_space"] = "ffff"
    with pytest.raises(ValueError, match=r"ring8 · mlp · ns mixes 2 searches"):
        B.trial_table(mixed)


def test_quantiles_are_exact_fractions_at_the_boundaries():
    """40 trials, k = 1: the 2.5% point is the best trial itself (1/40 of the mass), as numpy's inverted cdf."""
    values = np.arange(40.0)
    assert B.best_of_k_quantiles(values, 1, False, (0.025,)) == [0.0]
    assert np.quantile(values, 0.025, method="inverted_cdf") == 0.0
    assert Fraction(repr(0.025)) == Fraction(1, 40)


@pytest.mark.slow
def test_a_search_trains_resumes_and_reads_back(tmp_path):
    """End to end on a tiny ring: 2 losses x 2 trials x 2 batched seeds train, a rerun skips all 8, a grown
    search trains only its new trials, and the analysis reads the run directories."""
    from ganbench.runner import run_suite
    text = textwrap.dedent(SUITE).replace("trials = 3", "trials = 2").replace(
        "train = { steps = 20, batch_size = 16 }", "train = { steps = 10, batch_size = 16, seeds_batched = true }"
    ).replace("eval  = { n_samples = 100 }", 'eval  = { n_samples = 100, metrics = ["fid"], floor = false }')
    suite = parse_suite(tomllib.loads(text), "s.toml")
    out = tmp_path / "res"
    assert {o.status for o in run_suite(suite, out, progress=False)} <= {"finished", "diverged"}
    assert {o.status for o in run_suite(suite, out, progress=False)} == {"skipped"}
    grown = parse_suite(tomllib.loads(text.replace("trials = 2", "trials = 3")), "s.toml")
    statuses = [o.status for o in run_suite(grown, out, progress=False)]
    assert statuses.count("skipped") == 8 and len(statuses) == 12
    trials = B.trial_table(load_results(out))
    assert len(trials) == 6 and (trials["n_seeds"] == 2).all()
    assert len(B.budget_curve(trials)) == 6 and B.compare_losses(trials)["test"].tolist() == [B.PAIRED]
