"""Suite loading: the grid, merging, overrides, and one-line errors for every kind of bad input."""
from __future__ import annotations

import textwrap

import pytest

from ganbench.config import ConfigError, safe_name
from ganbench.suite_loader import load_suite, parse_override, parse_suite

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


def test_bundled_suites_all_load(tmp_path, monkeypatch):
    from test_data import fake_cifar, fake_mnist
    fake_mnist(tmp_path), fake_mnist(tmp_path, "FashionMNIST"), fake_cifar(tmp_path)
    monkeypatch.setenv("GANBENCH_DATA", str(tmp_path))  # the loader builds each dataset: it must be on disk
    for name in ["quick", "ring8", "grid25", "digits", "stacked-digits", "mnist", "fashion-mnist", "cifar10", "ci",
                 "ring8-search-wide", "ring8-search-narrow"]:
        s = load_suite(name)
        assert s.runs, name


def test_a_suite_whose_data_is_missing_stops_at_load(tmp_path, monkeypatch):
    monkeypatch.setenv("GANBENCH_DATA", str(tmp_path))
    with pytest.raises(ConfigError, match=r"mnist.toml: dataset .mnist.: missing train-images"):
        load_suite("mnist")


def test_quick_suite_trains_every_loss_with_eight_batched_seeds_on_one_board():
    from ganbench.losses import LOSSES
    from ganbench.published import published_for
    s = load_suite("quick")
    assert {(r.data.name, r.model.name) for r in s.runs} == {("ring8-wide", "mlp")}  # one board
    for loss in LOSSES.names():
        runs = [r for r in s.runs if r.loss.name == loss]
        assert len({r.seed for r in runs}) >= 8 and all(r.train.seeds_batched for r in runs), loss
        assert len({r.config_hash() for r in runs}) == 1, loss  # one batched group per loss
    assert published_for("ring8-wide") == []  # no published protocol matches the quick ring


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


def _long_named(steps=5, hidden=8, seeds=(0,)):
    return parse_suite({"suite": {"name": "long", "seeds": list(seeds)},
                        "defaults": {"data": {"name": "ring8"}, "model": {"name": "mlp", "hidden": hidden},
                                     "train": {"steps": steps}},
                        "runs": [{"name": "A" * 200, "loss": {"name": "ns"}}]})


def test_issue16_long_run_names_keep_seed_and_hash():
    short, other = _long_named().runs[0], _long_named(steps=40, hidden=16).runs[0]
    assert short.run_id != other.run_id
    for run in (short, other):
        assert len(run.run_id) == 120 and run.run_id.startswith("ring8-mlp-AAAA")
        assert run.run_id.endswith(f"-s0-{run.config_hash()}")
    seeds = _long_named(seeds=(0, 1)).runs  # was: "runs[0] duplicates runs[0]"
    assert [r.run_id[-11:] for r in seeds] == [f"s0-{seeds[0].config_hash()}", f"s1-{seeds[0].config_hash()}"]


def test_short_run_ids_are_unchanged():
    run = _long_named().runs[0].__class__.from_dict({**_long_named().runs[0].to_dict(), "name": "ns"})
    assert run.run_id == f"ring8-mlp-ns-s0-{run.config_hash()}"


# ---------------------------------------------------------------- checked at load (issue 16)

def suite_doc(**changes):
    doc = {"suite": {"name": "s", "seeds": [0]},
           "defaults": {"data": {"name": "ring8"}, "model": {"name": "mlp", "hidden": 8, "depth": 1},
                        "loss": {"name": "ns"}, "train": {"steps": 5}},
           "runs": [{}]}
    for path, value in changes.items():
        section, _, key = path.partition("__")
        if key:
            doc["defaults"].setdefault(section, {})[key] = value
        else:
            doc[section] = value
    return doc


@pytest.mark.parametrize("changes, message", [
    ({"model__hidden": -5}, r"s.toml: model 'mlp': hidden must be an int >= 1, got -5"),
    ({"train__device": "junk"}, r"train.device: 'junk' is not a torch device; accepted: cpu, cuda, cuda:N, mps"),
    ({"suite": {"name": "s", "seeds": [2**63 - 1]}}, r"suite.seeds must be integers in 0..4294967295"),
    ({"runs": [{"seeds": [-1]}]}, r"runs\[0\].seeds must be integers in 0..4294967295, got -1"),
    ({"runs": []}, r"s.toml: no runs; add a \[\[runs\]\] table"),
    ({"runs": [{"seeds": []}]}, r"runs\[0\].seeds must list at least one seed"),
    ({"optim__lr_g": float("inf")}, r"optim.lr_g must be a finite number, got inf"),
    ({"optim__weight_decay": float("inf")}, r"optim.weight_decay must be a finite number, got inf"),
    ({"train__max_grad_norm": -1.0}, r"train.max_grad_norm must be > 0, got -1.0"),
    ({"train__steps": 10**20}, r"train.steps is out of range"),
    ({"suite": {"name": "A" * 5000}}, r"suite.name is 5000 characters long; at most 100 are accepted"),
])
def test_values_that_used_to_fail_later_fail_at_load(changes, message):
    with pytest.raises(ConfigError, match=message):
        parse_suite(suite_doc(**changes), "s.toml")


def test_data_that_cannot_be_built_fails_at_load(tmp_path):
    doc = suite_doc()
    doc["defaults"]["data"] = {"name": "os:getcwd"}  # an import path, but no dataset
    with pytest.raises(ConfigError, match=r"s.toml: dataset plugin 'os:getcwd' returned a str"):
        parse_suite(doc, "s.toml")
    doc["defaults"]["data"] = {"name": "folder", "root": str(tmp_path / "nope")}
    with pytest.raises(ConfigError, match=r"s.toml: dataset 'folder': root .*nope' is not a directory"):
        parse_suite(doc, "s.toml")
    doc["defaults"]["data"] = {"name": "ring8", "std": float("nan")}
    with pytest.raises(ConfigError, match=r"runs\[0\].data.std must be a finite number, got nan"):
        parse_suite(doc, "s.toml")


def test_a_suite_folder_is_not_a_missing_suite(tmp_path):
    with pytest.raises(ConfigError, match=r"is a folder; give a suite file \(.toml\)"):
        load_suite(tmp_path)


def test_loading_does_not_move_the_global_rng():
    import torch
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    parse_suite(suite_doc(), "s.toml")  # builds the models once to check them
    assert torch.equal(torch.rand(1), expected)


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


def test_every_writer_and_reader_agrees_on_the_config_hash(tmp_path):
    """One function hashes a configuration: run ids (trainer, external generators), the results table and the
    regression gate's keys all meet on it, computed from the RunConfig or from config.json as stored."""
    from ganbench.config import config_hash
    from ganbench.external import run_id_for
    from ganbench.files import atomic_write_json, read_json
    from ganbench.regression import collect
    from ganbench.results import load_results

    run = load_suite("ci").runs[0]
    h = run.config_hash()
    d = tmp_path / run.run_id
    atomic_write_json(d / "config.json", run.to_dict())
    stored = read_json(d / "config.json")  # tuples come back as lists
    atomic_write_json(d / "status.json", {"status": "finished"})
    atomic_write_json(d / "metrics.json", {"run_id": run.run_id, "status": "finished", "metrics": {"fid": 1.0},
                                           "provenance": {}, "config": stored})
    assert config_hash(stored) == config_hash(run.to_dict()) == h and run.run_id.endswith(f"-{h}")
    assert run_id_for(stored) == run.run_id
    assert load_results(tmp_path)["config_hash"].tolist() == [h]
    assert [k.rsplit("@", 1)[1] for k in collect(tmp_path)] == [h]


def test_update_scheme_and_batch_norm_rule_stay_out_of_config_json_at_their_old_values(tmp_path):
    # Run ids recorded before train.updates and train.bn_stats existed: the defaults must not move them.
    s = load_suite(write(tmp_path, BASE))
    assert [r.run_id for r in s.runs] == ["ring8-mlp-ns-s0-46f5d302", "ring8-mlp-ns-s1-46f5d302",
                                          "ring8-mlp-wgan-gp-s0-d0df9050", "ring8-mlp-wgan-gp-s1-d0df9050"]
    stored = s.runs[0].to_dict()["train"]
    assert "updates" not in stored and "bn_stats" not in stored
    explicit = load_suite(write(tmp_path, BASE.replace("n_critic = 1 }", 'n_critic = 1, updates = "alternating", '
                                                       'bn_stats = "torch" }'), "explicit.toml"))
    assert explicit.runs[0].run_id == s.runs[0].run_id  # the old values written out are the same configuration
    new = load_suite(write(tmp_path, BASE, "new.toml"), overrides=["train.updates=simultaneous",
                                                                    "train.bn_stats=pacgan", "train.n_critic=1"])
    assert new.runs[0].train.updates == "simultaneous" and new.runs[0].train.bn_stats == "pacgan"
    assert {k: new.runs[0].to_dict()["train"][k] for k in ("updates", "bn_stats")} == {
        "updates": "simultaneous", "bn_stats": "pacgan"}
    assert new.runs[0].run_id != s.runs[0].run_id
    with pytest.raises(ConfigError, match=r"train\.updates: 'simultanous' is not one of alternating, simultaneous "
                                          r"\(did you mean 'simultaneous'\?\)"):
        load_suite(write(tmp_path, BASE, "typo.toml"), overrides=["train.updates=simultanous"])
    with pytest.raises(ConfigError, match=r"train\.bn_stats: 'blocks' is not one of torch, pacgan"):
        load_suite(write(tmp_path, BASE, "typo2.toml"), overrides=["train.bn_stats=blocks"])


def test_simultaneous_updates_refuse_more_than_one_critic_step_when_the_suite_loads(tmp_path):
    # wgan-gp's run sets n_critic = 5 itself
    with pytest.raises(ConfigError, match=r"runs\[1\]: train.updates = 'simultaneous' takes one D and one G step "
                                          r"together and needs n_critic = 1, got 5 \(train.n_critic\)"):
        load_suite(write(tmp_path, BASE), overrides=["train.updates=simultaneous"])
    # the loss's customary 5, with n_critic unset
    text = BASE.replace("n_critic = 1 }", 'updates = "simultaneous" }').replace("train = { n_critic = 5 }", "")
    with pytest.raises(ConfigError, match=r"run 'wgan-gp': train.updates = 'simultaneous' .* got 5 \(the loss's "
                                          r"customary n_critic\); set train.n_critic = 1 or train.updates"):
        load_suite(write(tmp_path, text))
    ok = load_suite(write(tmp_path, text.replace('updates = "simultaneous" }', 'updates = "simultaneous", '
                                                 'n_critic = 1 }'), "ok.toml"))
    assert {r.train.n_critic for r in ok.runs} == {1}
