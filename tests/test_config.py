"""Suite loading: the grid, merging, overrides, and one-line errors for every kind of bad input."""
from __future__ import annotations

import textwrap

import pytest

from ganbench.config import ConfigError, load_suite, parse_override, parse_suite, safe_name

BASE = """
[suite]
name = "t"
seeds = [0, 1]

[defaults]
data  = { name = "ring8" }
model = { name = "mlp", hidden = 32, depth = 2, z_dim = 2 }
optim = { lr_g = 1e-4, lr_d = 1e-4, betas = [0.5, 0.999] }
train = { steps = 50, batch_size = 16, n_critic = 1 }
eval  = { n_samples = 100 }

[[runs]]
loss = { name = "ns" }

[[runs]]
loss  = { name = "wgan-gp", gp_weight = 10.0 }
train = { n_critic = 5 }
"""


def write(tmp_path, text, name="suite.toml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_grid_expands_runs_times_seeds(tmp_path):
    s = load_suite(write(tmp_path, BASE))
    assert s.name == "t" and len(s.runs) == 4
    gp = [r for r in s.runs if r.loss.name == "wgan-gp"]
    assert [r.seed for r in gp] == [0, 1]
    assert gp[0].train.n_critic == 5 and gp[0].train.steps == 50  # run table laid over defaults key by key
    assert gp[0].loss.params == {"gp_weight": 10.0}
    assert s.runs[0].optim.betas == (0.5, 0.999)


def test_run_ids_are_readable_stable_and_distinct(tmp_path):
    a = load_suite(write(tmp_path, BASE))
    b = load_suite(write(tmp_path, BASE, "again.toml"))
    assert [r.run_id for r in a.runs] == [r.run_id for r in b.runs]
    assert a.runs[0].run_id.startswith("ring8-mlp-ns-s0-")
    assert len({r.run_id for r in a.runs}) == 4


def test_list_of_losses_is_a_grid(tmp_path):
    text = BASE.replace('loss = { name = "ns" }', 'loss = [{ name = "ns" }, { name = "hinge" }]')
    s = load_suite(write(tmp_path, text))
    assert sorted({r.loss.name for r in s.runs}) == ["hinge", "ns", "wgan-gp"]
    assert len(s.runs) == 6


def test_other_model_name_drops_default_params(tmp_path):
    text = BASE + '\n[[runs]]\ndata = { name = "digits" }\nmodel = { name = "dcgan", z_dim = 8, ngf = 8, ndf = 8 }\nloss = { name = "ns" }\n'
    s = load_suite(write(tmp_path, text))
    r = s.runs[-1]
    assert r.model.name == "dcgan" and "hidden" not in r.model.params


def test_overrides_apply_to_every_run(tmp_path):
    s = load_suite(write(tmp_path, BASE), overrides=["train.steps=7", "eval.n_samples=30", "optim.betas=[0.0, 0.9]"])
    assert {r.train.steps for r in s.runs} == {7}
    assert {r.eval.n_samples for r in s.runs} == {30}
    assert s.runs[0].optim.betas == (0.0, 0.9)


def test_parse_override_values():
    assert parse_override("train.steps=200") == (["train", "steps"], 200)
    assert parse_override("loss.name=hinge") == (["loss", "name"], "hinge")
    assert parse_override("train.ema=0.999") == (["train", "ema"], 0.999)
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_override("train.steps")
    with pytest.raises(ConfigError, match="SECTION one of"):
        parse_override("trian.steps=3")


@pytest.mark.parametrize("bad, match", [
    (("train = { steps = 50,", "train = { stpes = 50,"), r"runs\[0\]\.train: unknown key 'stpes' \(did you mean 'steps'\?\)"),
    (("steps = 50", 'steps = "many"'), r"train\.steps must be an integer, got 'many'"),
    (("steps = 50", "steps = -5"), r"train\.steps must be > 0, got -5"),
    (('name = "ns"', 'name = "hing"'), r"unknown loss 'hing' \(did you mean 'hinge'\?\)"),
    (('name = "ring8"', 'name = "ring9"'), r"unknown dataset 'ring9' \(did you mean 'ring8'\?\)"),
    (("hidden = 32", "hiden = 32"), r"unknown parameter 'hiden' for model 'mlp' \(did you mean 'hidden'\?\)"),
    (("gp_weight = 10.0", "gp_weight = -1.0"), r"gp_weight"),
    (("betas = [0.5, 0.999]", "betas = [0.5, 1.5]"), r"optim\.betas must be two numbers in \[0, 1\)"),
    (("[defaults]", "[defaults]\n[extra]"), r"unknown table \[extra\]"),
    (("[defaults]", "[default]"), r"unknown table \[default\] \(did you mean 'defaults'\?\)"),
])
def test_bad_suites_give_one_line_errors(tmp_path, bad, match):
    old, new = bad
    assert old in BASE
    p = write(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(ConfigError, match=match) as e:
        load_suite(p)
    assert "\n" not in str(e.value)
    assert str(p) in str(e.value) or "loss" in str(e.value)


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="suite file 'nope.toml' not found"):
        load_suite("nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_suite(write(tmp_path, "[suite\nname="))


def test_bundled_suites_all_load():
    for name in ["quick", "ring8", "grid25", "digits", "stacked-digits", "mnist", "fashion-mnist", "cifar10", "ci"]:
        s = load_suite(name)
        assert s.runs, name


def test_quick_suite_covers_every_loss_on_ring8_with_two_seeds_and_digits():
    from ganbench.losses import LOSSES
    s = load_suite("quick")
    for loss in LOSSES.names():
        ring = [r for r in s.runs if r.data.name == "ring8" and r.loss.name == loss]
        digits = [r for r in s.runs if r.data.name == "digits" and r.loss.name == loss]
        assert len(ring) >= 2 and len(digits) >= 1, loss


def test_suite_name_cannot_escape_results_dir(tmp_path):
    with pytest.raises(ConfigError, match="may use only letters"):
        load_suite(write(tmp_path, BASE.replace('name = "t"', 'name = "../../etc"')))
    assert safe_name("../../x/y") == "x_y"
    assert "/" not in safe_name("<script>alert(1)</script>")


def test_run_config_round_trips_through_dict(tmp_path):
    from ganbench.config import RunConfig
    r = load_suite(write(tmp_path, BASE)).runs[3]
    again = RunConfig.from_dict(r.to_dict())
    assert again == r and again.run_id == r.run_id


def test_seeds_override_replaces_suite_and_run_seeds(tmp_path):
    text = BASE + '\n[[runs]]\nseeds = [7]\nloss = { name = "hinge" }\n'
    s = load_suite(write(tmp_path, text), seeds=(3, 4))
    assert {r.seed for r in s.runs} == {3, 4} and len(s.runs) == 6


def test_cli_seed_parsing():
    from ganbench.cli import parse_seeds
    assert parse_seeds("0,2") == (0, 2) and parse_seeds("0-3") == (0, 1, 2, 3) and parse_seeds(None) is None
    for bad in ("a", "1,1", "-1", ""):
        with pytest.raises(ConfigError, match="--seeds"):
            parse_seeds(bad)


def test_model_pack_is_checked_when_the_suite_loads():
    doc = {"suite": {"name": "t"}, "defaults": {"data": {"name": "ring8"}, "loss": {"name": "ns"},
                                               "model": {"name": "mlp", "pack": 0}}}
    with pytest.raises(ConfigError, match=r"<suite>: runs\[0\]\.model: model 'mlp': pack must be an int >= 1"):
        parse_suite(doc)
    doc["defaults"]["model"]["pack"] = 4
    assert parse_suite(doc).runs[0].model.params["pack"] == 4
    doc["defaults"]["model"] = {"name": "mlp", "pakc": 2}
    with pytest.raises(ConfigError, match=r"unknown parameter 'pakc'"):
        parse_suite(doc)
