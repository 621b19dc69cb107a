"""Search spaces in suites: trials expanded into ordinary runs, reproducible to the bit, strictly validated."""
from __future__ import annotations

import math
import textwrap
import tomllib

import numpy as np
import pytest

from ganbench.config import ConfigError
from ganbench.search_space import Distribution, sample_unit
from ganbench.suite_loader import load_suite, parse_suite, run_from_dict

SUITE = """
[suite]
name = "s"
seeds = [0, 1]

[search]
trials = 4
seed = 7
"optim.lr_d" = { log_uniform = [1e-4, 1e-2] }
"optim.lr_g" = { same_as = "optim.lr_d" }
"optim.beta1" = { uniform = [0.0, 0.9] }
"train.n_critic" = { choice = [1, 5] }

[defaults]
data  = { name = "ring8" }
model = { name = "mlp", hidden = 16, depth = 2, z_dim = 2 }
train = { steps = 20, batch_size = 16 }
eval  = { n_samples = 100 }

[[runs]]
loss = [{ name = "ns" }, { name = "hinge" }]

[[runs]]
loss = { name = "wgan-gp" }
search = { "loss.gp_weight" = { log_uniform = [0.1, 100.0] } }
"""


def parse(text: str, path: str = "s.toml", **kw):
    return parse_suite(tomllib.loads(textwrap.dedent(text)), path, **kw)


def test_each_trial_and_seed_is_an_ordinary_run_with_its_sampled_values():
    s = parse(SUITE)
    assert len(s.runs) == 3 * 4 * 2
    ns = [r for r in s.runs if r.loss.name == "ns"]
    assert [(r.search.trial, r.seed) for r in ns] == [(t, seed) for t in range(4) for seed in (0, 1)]
    for r in s.runs:
        v = r.search.values
        assert r.optim.lr_d == r.optim.lr_g == v["optim.lr_d"] == v["optim.lr_g"]  # the tie
        assert 1e-4 <= r.optim.lr_d <= 1e-2 and r.optim.betas == (v["optim.beta1"], 0.999)
        assert r.train.n_critic == v["train.n_critic"] in (1, 5)
        assert r.run_id.startswith(f"ring8-mlp-{r.loss.name}-t{r.search.trial}-s{r.seed}-")
        assert r.search.log_scale == (("loss.gp_weight",) if r.loss.name == "wgan-gp" else ()) + (
            "optim.lr_d", "optim.lr_g")
    gp = [r for r in s.runs if r.loss.name == "wgan-gp"]
    assert all(0.1 <= r.loss.params["gp_weight"] == r.search.values["loss.gp_weight"] <= 100 for r in gp)
    assert len({r.run_id for r in s.runs}) == len(s.runs)
    # one identity per space (ns and hinge search the same one); the two seeds of a trial share the
    # configuration (they batch together)
    hinge = [r for r in s.runs if r.loss.name == "hinge"]
    assert len({r.search.space for r in ns + hinge}) == 1 and ns[0].search.space != gp[0].search.space
    assert ns[0].config_hash() == ns[1].config_hash() != ns[2].config_hash()


def test_every_loss_draws_the_shared_keys_at_the_same_points():
    """Trial t of every run has the same values of the [search] keys (losses compared at the same
    hyperparameters); keys a run adds come from their own sequence, shared by runs adding the same keys."""
    text = SUITE.replace('loss = { name = "wgan-gp" }', 'loss = [{ name = "wgan-gp" }, { name = "dragan" }]')
    s = parse(text)
    shared = ("optim.lr_d", "optim.lr_g", "optim.beta1", "train.n_critic")
    points = {}
    for r in s.runs:
        points.setdefault(r.search.trial, set()).add(tuple(r.search.values[k] for k in shared))
    assert all(len(p) == 1 for p in points.values()) and len(points) == 4
    gp = {(r.loss.name, r.search.trial): r.loss.params["gp_weight"] for r in s.runs if "gp_weight" in r.loss.params}
    assert all(gp[("wgan-gp", t)] == gp[("dragan", t)] for t in range(4))
    assert len({gp[("dragan", t)] for t in range(4)}) == 4
    # a run that replaces a shared distribution maps the same coordinate through its own
    wide = text.replace('search = { "loss.gp_weight"', 'search = { "optim.beta1" = { uniform = [0.0, 0.45] }, '
                                                       '"loss.gp_weight"')
    halves = {(r.loss.name, r.search.trial): r.optim.betas[0] for r in parse(wide).runs}
    assert all(halves[("wgan-gp", t)] == pytest.approx(halves[("ns", t)] / 2, abs=1e-4) for t in range(4))


def test_the_committed_spaces_give_these_trials_on_any_machine():
    """Values written by hand from the bundled suites: a change of sampler, seeding or rounding shows here."""
    wide = load_suite("ring8-search-wide")
    first = {(r.loss.name, r.search.trial): r.search.values for r in wide.runs if r.seed == 0}
    assert first[("minimax", 0)] == {"optim.beta1": 0.6486, "optim.lr_d": 0.0005403, "optim.lr_g": 0.0005403,
                                     "train.n_critic": 1}
    assert first[("minimax", 1)] == {"optim.beta1": 0.1973, "optim.lr_d": 0.002346, "optim.lr_g": 0.002346,
                                     "train.n_critic": 5}
    assert first[("minimax", 2)] == {"optim.beta1": 0.3064, "optim.lr_d": 0.0001659, "optim.lr_g": 0.0001659,
                                     "train.n_critic": 1}
    assert first[("wgan", 0)] == {"loss.clip": 0.02189, **first[("minimax", 0)]}
    assert first[("wgan", 1)] == {"loss.clip": 0.07135, **first[("minimax", 1)]}
    assert first[("wgan-gp", 0)] == first[("dragan", 0)] == {"loss.gp_weight": 0.5237, **first[("ns", 0)]}
    narrow = load_suite("ring8-search-narrow")
    lrs = [r.optim.lr_d for r in narrow.runs if r.loss.name == "minimax" and r.seed == 0]
    assert lrs[:3] == [0.00138, 0.0006049, 0.0004291]
    clips = [r.loss.params["clip"] for r in narrow.runs if r.loss.name == "wgan" and r.seed == 0]
    assert clips[:2] == [0.07825, 0.172]
    for suite in (wide, narrow):
        losses = {r.loss.name for r in suite.runs}
        assert len(losses) == 10
        for loss in losses:  # equal budget: 16 trials x 2 seeds for every loss
            assert sum(r.loss.name == loss for r in suite.runs) == 32


def test_the_same_suite_gives_the_same_runs_and_another_seed_other_trials():
    a, b = parse(SUITE), parse(SUITE)
    assert [r.run_id for r in a.runs] == [r.run_id for r in b.runs]
    other = parse(SUITE.replace("seed = 7", "seed = 8"))
    assert [r.search.values for r in other.runs] != [r.search.values for r in a.runs]


@pytest.mark.parametrize("sampler", ["sobol", "random"])
def test_more_trials_keep_the_first_ones(sampler):
    """A search grown from 4 to 8 trials reuses the 4 finished runs: same values, same run ids."""
    text = SUITE.replace("seed = 7", f"seed = 7\nsampler = \"{sampler}\"")
    four = parse(text)
    eight = parse(text.replace("trials = 4", "trials = 8"))
    ids8 = {r.run_id for r in eight.runs}
    assert {r.run_id for r in four.runs} <= ids8 and len(ids8) == 2 * len(four.runs)


def test_a_stored_trial_reads_back_as_the_same_run_and_a_tampered_one_is_refused():
    s = parse(SUITE)
    for r in s.runs[:3] + s.runs[-3:]:
        again = run_from_dict(r.to_dict())
        assert again == r and again.run_id == r.run_id
    d = s.runs[0].to_dict()
    d["search"]["values"]["optim.lr_d"] = 0.5
    with pytest.raises(ConfigError, match=r"search\.values: optim\.lr_d = 0\.5 but the run has"):
        run_from_dict(d)
    d = s.runs[0].to_dict()
    d["search"]["trial"] = -1
    with pytest.raises(ConfigError, match=r"search\.trial must be in 0\.\."):
        run_from_dict(d)


def test_a_suite_without_search_and_a_run_with_search_false_keep_their_run_ids():
    plain = SUITE.split("[search]")[0] + "[defaults]" + SUITE.split("[defaults]")[1]
    plain = plain.replace('search = { "loss.gp_weight" = { log_uniform = [0.1, 100.0] } }', "")
    fixed = SUITE.replace('search = { "loss.gp_weight" = { log_uniform = [0.1, 100.0] } }', "search = false")
    base = [r for r in parse(plain).runs if r.loss.name == "wgan-gp"]
    kept = [r for r in parse(fixed).runs if r.loss.name == "wgan-gp"]
    assert [r.run_id for r in kept] == [r.run_id for r in base] and all(r.search is None for r in kept)
    assert "search" not in kept[0].to_dict()


def test_quoted_dotted_and_sub_table_keys_are_the_same_search():
    dotted = SUITE.replace('"optim.beta1" = { uniform', "optim.beta1 = { uniform")
    table = SUITE.replace('"optim.beta1" = { uniform = [0.0, 0.9] }\n', "").replace(
        "[defaults]", "[search.optim]\nbeta1 = { uniform = [0.0, 0.9] }\n\n[defaults]")
    ids = [r.run_id for r in parse(SUITE).runs]
    assert [r.run_id for r in parse(dotted).runs] == ids
    assert [r.run_id for r in parse(table).runs] == ids


def test_sobol_trials_spread_evenly():
    """16 scrambled Sobol points: exactly one in each sixteenth of every axis (a (0, 4, 1)-net per axis)."""
    u = sample_unit("sobol", 123, 16, 3)
    for axis in u.T:
        assert sorted(np.floor(axis * 16).astype(int)) == list(range(16))
    assert (u >= 0).all() and (u < 1).all()


def test_distributions_map_the_unit_interval_onto_their_values():
    assert Distribution("uniform", (0.0, 0.9)).sample(0.5) == 0.45
    assert Distribution("log_uniform", (1e-4, 1e-2)).sample(0.5) == 0.001  # 10^-3, rounded to 4 digits
    assert Distribution("log_uniform", (1e-4, 1e-2)).sample(0.123456789) == 0.0001766
    assert [Distribution("int_uniform", (1, 3)).sample(u) for u in (0.0, 0.34, 0.67, 0.9999)] == [1, 2, 3, 3]
    assert [Distribution("choice", ("adam", "rmsprop")).sample(u) for u in (0.0, 0.49, 0.5)] == \
        ["adam", "adam", "rmsprop"]
    high = Distribution("uniform", (0.0, 0.99)).sample(1 - 2**-30)  # rounding never leaves the bounds
    assert high == 0.99
    for u in np.linspace(0, 1, 50, endpoint=False):
        x = Distribution("log_uniform", (3e-5, 3e-2)).sample(float(u))
        assert 3e-5 <= x <= 3e-2 and float(f"{x:.4g}") == x


def test_a_run_may_replace_a_distribution_of_the_suite():
    text = SUITE.replace('search = { "loss.gp_weight"',
                         'search = { "train.n_critic" = { choice = [3] }, "loss.gp_weight"')
    gp = [r for r in parse(text).runs if r.loss.name == "wgan-gp"]
    assert {r.train.n_critic for r in gp} == {3}


@pytest.mark.parametrize("old, new, match", [
    ("log_uniform = [1e-4, 1e-2]", "log_uniform = [0.0, 1e-2]", r'"optim\.lr_d": log_uniform needs 0 < lo < hi'),
    ("log_uniform = [1e-4, 1e-2]", "log_uniform = [1e-2, 1e-4]", r'"optim\.lr_d": log_uniform needs lo < hi'),
    ("uniform = [0.0, 0.9]", "uniform = [0.5, 0.5]", r'"optim\.beta1": uniform needs lo < hi'),
    ("uniform = [0.0, 0.9]", "uniform = [0.0, 1.0]", r"search\.optim\.betas must be two numbers in \[0, 1\)"),
    ("log_uniform = [1e-4, 1e-2]", "uniform = [-1.0, 1e-2]", r"search\.optim\.lr_d must be >= 0, got -1\.0"),
    ("log_uniform = [1e-4, 1e-2]", "log_uniform = [1e-4, nan]", r"log_uniform must be \[lo, hi\] of finite"),
    ('"optim.lr_d" = { log', '"optim.lr_dd" = { log', r"unknown key 'optim\.lr_dd' \(did you mean 'optim\.lr_d'\?\)"),
    ("{ log_uniform = [1e-4", "{ loguniform = [1e-4", r"one of uniform, .*\(did you mean 'log_uniform'\?\)"),
    ("choice = [1, 5]", "choice = [1, 5.5]", r"search\.train\.n_critic must be an integer, got 5\.5"),
    ("choice = [1, 5]", 'choice = [1, "5"]', r"choice values must be all numbers, all strings or all true/false"),
    ("choice = [1, 5]", "choice = [1, 1]", r"choice names 1 twice"),
    ("choice = [1, 5]", "choice = []", r"choice must be a non-empty list"),
    ("choice = [1, 5]", f"choice = {list(range(1, 1002))}", r"choice lists 1001 values; at most 1000 are accepted"),
    ('"train.n_critic"', '"data.std"', r"'data\.std' cannot be searched \(every trial sees the same data"),
    ('"train.n_critic"', '"loss.name"', r"'loss\.name' cannot be searched: compare loss names as a grid"),
    ('"train.n_critic"', '"optim.betas"', r'search Adam.s betas one by one as "optim\.beta1"'),
    ('"train.n_critic"', '"train.device"', r"unknown key 'train\.device'"),
    ('"train.n_critic" = { choice = [1, 5] }', '"loss.gp_weight" = { uniform = [1.0, 2.0] }',
     r"runs\[0\]: search\.loss: unknown parameter 'gp_weight' for loss 'ns'"),
    ('{ same_as = "optim.lr_d" }', '{ same_as = "optim.lr_x" }', r"'optim\.lr_x' is not searched here"),
    ("trials = 4", "trails = 4", r"\[search\]: unknown key 'trails' \(did you mean 'trials'\?\)"),
    ("trials = 4", "trials = 0", r"\[search\]\.trials must be in 1\.\.10000, got 0"),
    ("trials = 4", "trials = 4.5", r"\[search\]\.trials must be an integer"),
    ("seed = 7", 'sampler = "halton"', r"sampler: 'halton' is not one of sobol, random"),
    ("train = { steps = 20,", "train = { n_critic = 1, steps = 20,",
     r'"train\.n_critic" is searched but train\.n_critic is also set'),
    ("eval  = {", "optim = { betas = [0.5, 0.9] }\neval  = {",
     r'"optim\.beta1" is searched but optim\.betas is also set'),
    ('search = { "loss.gp_weight"', 'search = { trials = 3, "loss.gp_weight"', r"'trials' is set in \[search\] only"),
    ('search = { "loss.gp_weight" = { log_uniform = [0.1, 100.0] } }', 'search = 3', r"must be a table of searched"),
])
def test_bad_searches_give_one_line_errors_naming_file_and_key(old, new, match):
    assert old in SUITE, old
    with pytest.raises(ConfigError, match=match) as e:
        parse(SUITE.replace(old, new, 1), path="dir/suite.toml")
    assert "\n" not in str(e.value) and str(e.value).startswith("dir/suite.toml: ")


def test_a_run_search_needs_a_suite_search_and_an_override_of_a_searched_key_is_refused():
    no_search = SUITE.split("[search]")[0] + "[defaults]" + SUITE.split("[defaults]")[1]
    with pytest.raises(ConfigError, match=r"runs\[1\]\.search: the suite has no \[search\] table"):
        parse(no_search)
    with pytest.raises(ConfigError, match=r'"optim\.lr_d" is searched but optim\.lr_d is also set .*--set'):
        parse(SUITE, overrides=["optim.lr_d=1e-3"])
    assert len(parse(SUITE, seeds_override=(5,)).runs) == 3 * 4  # --seeds: the seeds of every trial


def test_a_search_with_nothing_to_search_is_refused():
    text = SUITE.replace('"optim.lr_d" = { log_uniform = [1e-4, 1e-2] }\n"optim.lr_g" = { same_as = "optim.lr_d" }\n'
                         '"optim.beta1" = { uniform = [0.0, 0.9] }\n"train.n_critic" = { choice = [1, 5] }\n', "")
    with pytest.raises(ConfigError, match=r"runs\[0\]: \[search\] declares no key to search"):
        parse(text)


def test_trial_values_have_four_significant_digits():
    for r in parse(SUITE).runs:
        for key, v in r.search.values.items():
            if isinstance(v, float) and v:
                assert float(f"{v:.4g}") == v, (key, v)
                assert math.isfinite(v)
