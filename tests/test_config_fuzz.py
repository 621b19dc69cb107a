"""Property tests of the suite loader: any input gives a valid SuiteConfig or a ConfigError, nothing else.

Documents are drawn two ways: near-valid suites with a few keys replaced by arbitrary TOML values (deep
coverage of every check), and free-form nested tables over the suite's vocabulary. Text inputs go
through ``load_suite`` from a file. A valid result must also be usable downstream: every run id is a
safe directory name, and the run survives ``config.json`` (JSON) and the executors' rebuild unchanged.
"""
from __future__ import annotations

import datetime
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganbench.config import ConfigError, RunConfig, SuiteConfig, safe_name
from ganbench.suite_loader import load_suite, parse_suite
from ganbench.files import jsonable

NAMES = ["ring8", "grid25", "digits", "stacked-digits", "folder", "mlp", "dcgan", "infogan", "sndcgan", "ns",
         "hinge", "wgan", "wgan-gp", "lsgan", "dragan", "adam", "rmsprop", "test", "train", "fid", "kid", "pr",
         "modes", "cpu", "cuda", "identity", "normal", "uniform", ""]
KEYS = ["suite", "defaults", "runs", "name", "seeds", "description", "data", "model", "loss", "optim", "train",
        "eval", "steps", "batch_size", "n_critic", "ema", "log_every", "checkpoint_every", "tensorboard",
        "device", "seeds_batched", "max_grad_norm", "lr_g", "lr_d", "betas", "optimizer", "weight_decay",
        "n_samples", "n_real", "split", "features", "metrics", "every", "n_samples_during", "kid_subsets",
        "kid_subset_size", "floor", "hidden", "depth", "z_dim", "gp_weight", "clip", "r1_gamma", "radius",
        "std", "n_modes", "size", "latent", "batch_norm", "a", "b", "c"]

# TOML's value types (tomllib returns exactly these), with the awkward corners of each.
toml_scalars = st.one_of(
    st.booleans(), st.integers(), st.integers(-3, 3), st.floats(), st.floats(-2, 2), st.text(max_size=10),
    st.sampled_from(NAMES), st.datetimes(), st.dates(), st.times(),
)
toml_keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=6))
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(toml_keys, inner, max_size=4)),
    max_leaves=12,
)


def base_doc():
    return {
        "suite": {"name": "fuzz", "seeds": [0, 1], "description": "d"},
        "defaults": {
            "data": {"name": "ring8", "std": 0.02},
            "model": {"name": "mlp", "hidden": 16, "depth": 2, "z_dim": 2},
            "loss": {"name": "ns"},
            "optim": {"lr_g": 1e-3, "lr_d": 1e-3, "betas": [0.5, 0.999], "optimizer": "adam"},
            "train": {"steps": 10, "batch_size": 8, "log_every": 5, "n_critic": 1, "ema": 0.9},
            "eval": {"n_samples": 100, "metrics": ["fid", "modes"], "every": 0, "split": "test"},
        },
        "runs": [{"loss": [{"name": "ns"}, {"name": "wgan-gp", "gp_weight": 1.0}]},
                 {"name": "second", "data": {"name": "grid25"}, "seeds": [3]}],
    }


def _paths(node, prefix=()):
    """Every key path of a nested document (list items addressed by index)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        yield prefix + (k,)
        yield from _paths(v, prefix + (k,))


@st.composite
def near_valid_docs(draw):
    doc = base_doc()
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete" and isinstance(parent, dict):
            parent.pop(path[-1], None)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(toml_keys)] = draw(toml_values)
        else:
            parent[path[-1]] = draw(toml_values)
    return doc


free_docs = st.dictionaries(st.sampled_from(["suite", "defaults", "runs"]) | st.text(max_size=5), toml_values,
                            max_size=3)


def check_valid(suite: SuiteConfig) -> None:
    assert isinstance(suite, SuiteConfig) and suite.runs  # a suite without runs is a ConfigError ("no runs")
    assert safe_name(suite.name) == suite.name
    for run in suite.runs:
        assert safe_name(run.run_id) == run.run_id and run.run_id not in (".", "..")
        assert RunConfig.from_dict(run.to_dict()) == run  # what process / Ray workers rebuild


def parse_or_config_error(doc):
    try:
        suite = parse_suite(doc, "fuzz.toml")
    except ConfigError as e:
        assert str(e).startswith("fuzz.toml")  # names the file (a raw key with a newline can break the line)
        return None
    check_valid(suite)
    return suite


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_valid_docs())
def test_near_valid_suites_parse_or_raise_config_error(doc):
    parse_or_config_error(doc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(free_docs)
def test_arbitrary_tables_parse_or_raise_config_error(doc):
    parse_or_config_error(doc)


@settings(max_examples=150, deadline=None)
@given(near_valid_docs(), st.lists(st.sampled_from(
    ["train.steps=5", "train.steps=-1", "eval.metrics=['fid']", "loss.name=hinge", "model.hidden=abc", "train=1",
     "data.name=nope", "optim.betas=[0.5]", "x.y=1", "eval.split=val", "train.ema=1.5", "noequals"]), max_size=3))
def test_overrides_parse_or_raise_config_error(doc, overrides):
    try:
        parse_suite(doc, "fuzz.toml", overrides=overrides)
    except ConfigError:
        pass


def _toml_line(key, value):
    return f"{key} = {value}"


toml_text = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(
        st.sampled_from(["[suite]", "[defaults]", "[[runs]]", "[defaults.train]", "[suite.x]", "[[runs.loss]]", ""]),
        st.builds(_toml_line, st.sampled_from(KEYS), st.one_of(
            st.sampled_from(['"ring8"', '"mlp"', '"ns"', "[0, 1]", "{ name = \"ns\" }", "1e400", "nan", "-inf",
                             "1979-05-27", "true", "[]", "{}", "0x1F", '"../x"', "'<script>'"]),
            st.integers().map(str), st.text(max_size=8).map(json.dumps))),
    ), max_size=14).map("\n".join),
)


@settings(max_examples=300, deadline=None)
@given(toml_text)
def test_load_suite_on_arbitrary_text(text):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "suite.toml"
        path.write_text(text, encoding="utf-8")
        try:
            check_valid(load_suite(path))
        except ConfigError as e:
            assert str(path) in str(e) or "suite" in str(e)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_load_suite_on_arbitrary_bytes(data):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "suite.toml"
        path.write_bytes(data)
        try:
            check_valid(load_suite(path))
        except ConfigError:
            pass


def test_valid_suite_round_trips_through_config_json():
    suite = parse_suite(base_doc(), "fuzz.toml")
    for run in suite.runs:
        assert RunConfig.from_dict(json.loads(json.dumps(jsonable(run.to_dict())))) == run


@pytest.mark.parametrize("bad, message", [
    ({"suite": {"name": "x", "seeds": [0]}, "defaults": {"data": {"name": "ring8"}, "model": {"name": "mlp"},
                                                          "loss": {"name": "wgan-gp", "gp_weight": "ten"}}},
     r"fuzz.toml: runs\[0\].loss"),
    ({"suite": {"name": "x", "seeds": [0]}, "defaults": {"data": {"name": "ring8"}, "model": {"name": "mlp"},
                                                          "loss": {"name": "lsgan", "a": datetime.date(2020, 1, 1)}}},
     r"fuzz.toml: runs\[0\].loss"),
])
def test_loss_parameters_of_the_wrong_type_are_config_errors(bad, message):
    with pytest.raises(ConfigError, match=message):
        parse_suite(bad, "fuzz.toml")
