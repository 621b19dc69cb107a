"""Plugins: losses, models, datasets and extractors by import path, entry point and decorator.

Pinned here: a hand-written ns loss named by import path trains bit for bit like the built-in ``ns``; the
adapters fill in the documented defaults; a custom loss, model and dataset train and evaluate through a
suite; an installed package's entry points are listed by ``ganbench ls`` and usable in suites; every bad
plugin fails at suite load (or at build, for what a factory returns) with one line naming it.
"""
from __future__ import annotations

import csv
import math
import textwrap

import pytest
import torch

from ganbench import plugins
from ganbench.cli import main
from ganbench.suite_loader import parse_suite
from ganbench.data import DATASETS, get_dataset
from ganbench.features import EXTRACTORS, get_extractor
from ganbench.files import read_json
from ganbench.losses import LOSSES, DOut, Loss, get_loss
from ganbench.models import MODELS, Generator, build_models
from ganbench.registry import ConfigError
from ganbench.runner import run_one
from ganbench.train import train

PLUGIN_MODULE = '''
"""Plugins written the way a user would: plain torch, no ganbench base classes."""
import torch
import torch.nn.functional as F
from torch import nn

NUMBER = 3


class NS:
    """hand-written non-saturating loss"""
    def __init__(self, scale=1.0):
        self.scale = scale

    def d_loss(self, real, fake):
        return F.softplus(-real.score).mean() + F.softplus(fake.score).mean()

    def g_loss(self, fake, real):
        return F.softplus(-fake.score).mean()


def ns_like(scale: float = 1.0):
    """the ns loss, by hand"""
    return NS(scale)


class Critic:
    n_critic = 2
    clip = 0.5
    needs_real_for_g = True

    def d_loss(self, real, fake):
        return fake.score.mean() - real.score.mean()

    def g_loss(self, fake, real):
        return real.score.mean() - fake.score.mean()

    def penalty(self, D, real_x, fake_x, generator=None):
        return torch.rand((), generator=generator)


class FixedPenalty(NS):
    def penalty(self, D, real_x, fake_x):
        return torch.tensor(0.25)


def critic():
    return Critic()


def fixed_penalty():
    return FixedPenalty()


def vector_loss():
    class V(NS):
        def d_loss(self, real, fake):
            return F.softplus(-real.score)
    return V()


ns_instance = NS()


def needs_arg(gamma):
    return NS()


def raising(gamma: float = 1.0):
    raise ValueError("gamma too big")


def bad_loss():
    return object()


class PlainG(nn.Module):
    def __init__(self, z_dim, hidden, out):
        super().__init__()
        self.z_dim = z_dim
        self.net = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, out))

    def forward(self, z):
        return self.net(z)


def small_gan(shape, z_dim: int = 3, hidden: int = 16):
    """plain G and a D returning [N, 1] scores"""
    return PlainG(z_dim, hidden, shape[0]), nn.Sequential(nn.Linear(shape[0], hidden), nn.ReLU(), nn.Linear(hidden, 1))


class FeatD(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.body, self.head = nn.Linear(d, 4), nn.Linear(4, 1)

    def forward(self, x):
        h = self.body(x)
        return self.head(h), h


def feature_gan(shape):
    return PlainG(2, 8, shape[0]), FeatD(shape[0])


class Pair(nn.Module):
    def __init__(self, data_shape, z_dim=2):
        super().__init__()
        self.G, self.D = small_gan(data_shape, z_dim)


def uniform_gan(shape):
    G, D = small_gan(shape)
    G.latent = "uniform"
    return G, D


def one_module(shape):
    return nn.Linear(2, 2)


def no_zdim(shape):
    G, D = small_gan(shape)
    del G.z_dim
    return G, D


def bad_shape(shape):
    return PlainG(2, 8, 3), nn.Linear(3, 1)


def bad_d(shape):
    class D(nn.Module):
        def forward(self, x):
            return "yes"
    return PlainG(2, 8, shape[0]), D()


def keyword_only(*, z_dim=2):
    return small_gan((2,), z_dim)


def blobs(n: int = 64, seed: int = 0):
    """two Gaussian blobs, train and test"""
    g = torch.Generator().manual_seed(seed)
    def draw():
        c = torch.tensor([[-2.0, 0.0], [2.0, 0.0]])[torch.randint(2, (n,), generator=g)]
        return c + 0.1 * torch.randn(n, 2, generator=g)
    return {"train": draw(), "test": draw()}


def tiny_images(n: int = 8):
    return torch.linspace(-1, 1, n * 64).reshape(n, 1, 8, 8)


def too_bright():
    return torch.ones(4, 1, 8, 8) * 3


def not_data():
    return [1, 2, 3]


def sums(scale: float = 1.0):
    return lambda x: scale * torch.stack([x.sum(1), x.prod(1)], 1)
'''

BROKEN_MODULE = 'raise RuntimeError("boom at import")\n'


@pytest.fixture(autouse=True)
def isolated_registries():
    """Plugins register into the global registries: each test starts from and leaves the built-ins only."""
    regs = [LOSSES, MODELS, DATASETS, EXTRACTORS]
    saved = [dict(r._entries) for r in regs]
    groups, broken = set(plugins.loading._loaded_groups), dict(plugins.loading._broken)
    yield
    for r, s in zip(regs, saved):
        r._entries.clear()
        r._entries.update(s)
    plugins.loading._loaded_groups.clear()
    plugins.loading._loaded_groups.update(groups)
    plugins.loading._broken.clear()
    plugins.loading._broken.update(broken)


@pytest.fixture(autouse=True)
def plugin_path(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.getbasetemp() / "plugin_modules"
    if not root.exists():
        root.mkdir()
        (root / "gbt_plugins.py").write_text(PLUGIN_MODULE)
        (root / "gbt_broken_import.py").write_text(BROKEN_MODULE)
    monkeypatch.syspath_prepend(str(root))
    return root


def suite(loss=None, model=None, data=None, **sections):
    doc = {"suite": {"name": "p", "seeds": [0]},
           "defaults": {"data": data or {"name": "ring8"},
                        "model": model or {"name": "mlp", "hidden": 16, "depth": 2, "z_dim": 2},
                        "loss": loss or {"name": "ns"},
                        "optim": {"lr_g": 1e-3, "lr_d": 1e-3},
                        "train": {"steps": 20, "batch_size": 32, "log_every": 5},
                        "eval": {"n_samples": 200, "metrics": ["fid", "kid", "pr", "modes"], "kid_subsets": 5,
                                 "kid_subset_size": 50},
                        **sections}}
    return parse_suite(doc, "p.toml").runs[0]


def losses_of(path):
    return [(r["step"], r["d_loss"], r["g_loss"]) for r in csv.DictReader(open(path))]


# ---------------------------------------------------------------- trained through a suite

def test_import_path_loss_trains_bit_for_bit_like_builtin_ns(tmp_path):
    train(suite(loss={"name": "ns"}), tmp_path / "builtin")
    train(suite(loss={"name": "gbt_plugins:ns_like", "scale": 2.0}), tmp_path / "plugin")
    assert losses_of(tmp_path / "plugin/history.csv") == losses_of(tmp_path / "builtin/history.csv")
    a = torch.load(tmp_path / "builtin/checkpoint.pt", weights_only=True)["G"]
    b = torch.load(tmp_path / "plugin/checkpoint.pt", weights_only=True)["G"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_custom_loss_model_and_dataset_train_and_evaluate_through_a_suite(tmp_path):
    run = suite(loss={"name": "gbt_plugins:critic"}, model={"name": "gbt_plugins:small_gan", "hidden": 8},
                data={"name": "gbt_plugins:blobs", "n": 128})
    out = run_one(run, tmp_path)
    assert out.status == "finished", out.error
    m = read_json(tmp_path / "metrics.json")
    assert m["status"] == "finished" and math.isfinite(m["metrics"]["fid"]) and m["metrics"]["fid"] > 0
    assert m["provenance"]["dataset"]["name"] == "gbt_plugins:blobs"
    assert m["provenance"]["n_real"] == 128  # the whole finite test split
    cfg = read_json(tmp_path / "config.json")
    assert (cfg["loss"], cfg["model"]["name"], cfg["data"]) == (
        {"name": "gbt_plugins:critic"}, "gbt_plugins:small_gan", {"name": "gbt_plugins:blobs", "n": 128})
    # Critic asks for 2 D steps, clipping at 0.5 and D(real) in the G step: the trainer honoured all three.
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert max(float(v.abs().max()) for k, v in ckpt["D"].items() if k.startswith("net.")) <= 0.5
    assert len(ckpt["opt_d"]["state"]) and ckpt["opt_d"]["state"][0]["step"].item() == 2 * 20


# ---------------------------------------------------------------- the loss adapter

def test_loss_adapter_fills_defaults_and_computes_the_plugins_formula():
    loss = get_loss("gbt_plugins:ns_like")  # resolved by Registry.get: no suite needed
    assert isinstance(loss, Loss) and loss.name == "gbt_plugins:ns_like"
    assert (loss.clip, loss.n_critic, loss.needs_real_for_g, loss.params) == (None, 1, False, {})
    real, fake = DOut(torch.tensor([0.0, math.log(3)])), DOut(torch.tensor([0.0, -math.log(3)]))
    # softplus(0) = log 2, softplus(-log 3) = log(4/3): d = 2 * mean(log 2, log 4/3), g = mean(log 2, log 4)
    assert loss.d_loss(real, fake).item() == pytest.approx(math.log(2) + math.log(4 / 3), abs=1e-6)
    assert loss.g_loss(fake, real).item() == pytest.approx((math.log(2) + math.log(4)) / 2, abs=1e-6)
    x = torch.zeros(2, 2)
    assert loss.penalty(lambda t: DOut(t.sum(1)), x, x).item() == 0.0
    assert get_loss("gbt_plugins:ns_instance").g_loss(fake, real).item() == pytest.approx(math.log(8) / 2, abs=1e-6)


def test_loss_adapter_keeps_the_plugins_attributes_and_penalties():
    c = get_loss("gbt_plugins:critic")
    assert (c.clip, c.n_critic, c.needs_real_for_g) == (0.5, 2, True)
    x = torch.zeros(3, 2)
    D = lambda t: DOut(t.sum(1))  # noqa: E731
    draws = [c.penalty(D, x, x, generator=torch.Generator().manual_seed(5)).item() for _ in range(2)]
    assert draws[0] == draws[1] == torch.rand((), generator=torch.Generator().manual_seed(5)).item()
    assert get_loss("gbt_plugins:fixed_penalty").penalty(D, x, x, generator=torch.Generator()).item() == 0.25
    with pytest.raises(ValueError, match=r"loss plugin 'gbt_plugins:vector_loss': d_loss must return a scalar tensor, got shape \(2,\)"):
        get_loss("gbt_plugins:vector_loss").d_loss(DOut(torch.zeros(2)), DOut(torch.zeros(2)))


# ---------------------------------------------------------------- the model and dataset adapters

def test_model_adapter_adds_latents_and_dout():
    G, D = build_models("gbt_plugins:small_gan", (2,), z_dim=3)
    assert isinstance(G, Generator) and G.z_dim == 3 and G.latent == "normal"
    assert torch.equal(G.sample_latent(5, torch.Generator().manual_seed(1)),
                       torch.randn(5, 3, generator=torch.Generator().manual_seed(1)))
    out = D(G(G.sample_latent(5, torch.Generator())))
    assert isinstance(out, DOut) and out.score.shape == (5,) and out.features is None
    G2, D2 = build_models("gbt_plugins:feature_gan", (2,))
    out2 = D2(torch.zeros(3, 2))
    assert out2.score.shape == (3,) and out2.features.shape == (3, 4)
    G3, _ = build_models("gbt_plugins:Pair", (2,), z_dim=4)  # an nn.Module with attributes G and D
    assert G3.z_dim == 4
    G4, _ = build_models("gbt_plugins:uniform_gan", (2,))
    z = G4.sample_latent(1000, torch.Generator().manual_seed(0))
    assert G4.latent == "uniform" and z.min() >= -1 and z.max() <= 1 and z.min() < -0.99


def test_dataset_adapter_wraps_tensors_as_a_finite_dataset():
    ds = get_dataset("gbt_plugins:blobs", n=64)
    assert (ds.kind, ds.shape, ds.splits, ds.split_size("test")) == ("points", (2,), ("train", "test"), 64)
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    idx = torch.randint(64, (10,), generator=g())
    assert torch.equal(ds.sample(10, g()), ds.data("train")[idx])  # with replacement, like the built-in sets
    assert torch.equal(ds.real(1000, "test", g()), ds.data("test"))  # n >= size: the whole split, in order
    part = ds.real(5, "test", g())
    assert torch.equal(part, ds.data("test")[torch.randperm(64, generator=g())[:5]])
    other = get_dataset("gbt_plugins:blobs", n=64, seed=1)
    assert ds.params["content_sha256"] != other.params["content_sha256"]  # keys the real-feature cache
    imgs = get_dataset("gbt_plugins:tiny_images")
    assert (imgs.kind, imgs.shape, imgs.splits) == ("images", (1, 8, 8), ("train",))
    with pytest.raises(ConfigError, match="has no split 'test'; accepted: train"):
        imgs.real(4, "test", g())


def test_extractor_plugin_from_a_function():
    ex = get_extractor("gbt_plugins:sums", scale=2.0)
    out = ex.extract(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert out["features"].tolist() == [[6.0, 4.0], [14.0, 24.0]] and out["logits"] is None
    assert ex.name == "gbt_plugins:sums" and ex.comparable is False


# ---------------------------------------------------------------- registering from Python and entry points

def test_register_decorators_and_ls(capsys):
    @plugins.register_loss("gbt-ns", "hand-written ns")
    def my_ns():
        import gbt_plugins
        return gbt_plugins.NS()

    @plugins.register_model("gbt-small")
    def my_model(data_shape, z_dim: int = 2):
        import gbt_plugins
        return gbt_plugins.small_gan(data_shape, z_dim)

    @plugins.register_dataset("gbt-blobs")
    def my_data(n: int = 32):
        import gbt_plugins
        return gbt_plugins.blobs(n)

    @plugins.register_extractor("gbt-sums")
    def my_features():
        import gbt_plugins
        return gbt_plugins.sums()

    assert my_ns().__class__.__name__ == "NS"  # the decorator hands back the user's function unchanged
    plugins.register_loss("gbt-ns")(my_ns)  # registering the same object again is harmless
    run = suite(loss={"name": "gbt-ns"}, model={"name": "gbt-small", "z_dim": 3}, data={"name": "gbt-blobs"})
    assert (run.loss.name, run.model.params, run.data.name) == ("gbt-ns", {"z_dim": 3}, "gbt-blobs")
    assert get_extractor("gbt-sums").extract(torch.ones(1, 2))["features"].tolist() == [[2.0, 1.0]]
    assert main(["ls", "losses"]) == 0
    assert "gbt-ns" in capsys.readouterr().out and "hand-written ns" in "\n".join(
        f"{e.name} {e.description}" for e in LOSSES.entries())
    with pytest.raises(ConfigError, match="loss 'gbt-ns' is already registered"):
        plugins.register_loss("gbt-ns")(lambda: None)
    with pytest.raises(ConfigError, match=r"without ':' \(':' marks import paths\), got 'a:b'"):
        plugins.register_loss("a:b")


def _install_dist(root, name, entry_points, module_text):
    """A minimal installed distribution: importlib.metadata reads *.dist-info folders on sys.path."""
    info = root / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    (root / f"{name}.py").write_text(module_text)


def test_entry_points_of_an_installed_package(tmp_path, monkeypatch, capsys):
    _install_dist(tmp_path, "gbt_ep_pkg", """
        [ganbench.losses]
        gbt-ep-ns = gbt_plugins:ns_like
        gbt-ep-broken = gbt_ep_missing:nothing
        [ganbench.models]
        gbt-ep-small = gbt_plugins:small_gan
        [ganbench.datasets]
        gbt-ep-blobs = gbt_plugins:blobs
        [ganbench.extractors]
        gbt-ep-sums = gbt_ep_pkg:sums
        """, "from gbt_plugins import sums\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins.loading._loaded_groups.clear()
    for what, name in (("losses", "gbt-ep-ns"), ("models", "gbt-ep-small"), ("datasets", "gbt-ep-blobs"),
                       ("extractors", "gbt-ep-sums")):
        assert main(["ls", what]) == 0
        assert name in capsys.readouterr().out
    main(["ls", "losses"])
    listing = capsys.readouterr().out
    assert "gbt-ep-broken" in listing and "BROKEN: entry point 'gbt-ep-broken'" in listing
    run = suite(loss={"name": "gbt-ep-ns"}, model={"name": "gbt-ep-small"}, data={"name": "gbt-ep-blobs"})
    assert run.loss.name == "gbt-ep-ns" and get_loss("gbt-ep-ns").name == "gbt-ep-ns"
    with pytest.raises(ConfigError) as e:
        suite(loss={"name": "gbt-ep-broken"})
    assert "\n" not in str(e.value)
    assert str(e.value).startswith("p.toml: runs[0].loss: entry point 'gbt-ep-broken' (gbt_ep_missing:nothing, "
                                   "group 'ganbench.losses') failed to load: ModuleNotFoundError")


def test_plugins_resolve_without_a_suite_as_in_a_worker_process():
    # A worker process gets pickled RunConfigs, not the suite: the registries must find plugins themselves.
    run = suite(loss={"name": "gbt_plugins:ns_like"}, model={"name": "gbt_plugins:small_gan"})
    for reg in (LOSSES, MODELS):
        reg._entries = {k: v for k, v in reg._entries.items() if ":" not in k}
    G, D = build_models(run.model.name, (2,), **run.model.params)
    assert G.z_dim == 3 and get_loss(run.loss.name).name == "gbt_plugins:ns_like"


# ---------------------------------------------------------------- bad plugins: one line, naming the plugin

BAD_AT_LOAD = [
    ("missing module", "loss", {"name": "gbt_nope.losses:focal"},
     r"cannot import module 'gbt_nope.losses' for plugin 'gbt_nope.losses:focal': No module named 'gbt_nope'"),
    ("module fails on import", "loss", {"name": "gbt_broken_import:x"},
     r"importing module 'gbt_broken_import' for plugin 'gbt_broken_import:x' failed: RuntimeError: boom at import"),
    ("missing attribute", "loss", {"name": "gbt_plugins:ns_lik"},
     r"module 'gbt_plugins' has no attribute 'ns_lik' \(did you mean 'ns_like'\?\) \(plugin 'gbt_plugins:ns_lik'\)"),
    ("not an import path", "loss", {"name": "gbt_plugins:"},
     r"'gbt_plugins:' is not an import path of the form 'package.module:object'"),
    ("wrong kind: not callable", "model", {"name": "gbt_plugins:NUMBER"},
     r"model plugin 'gbt_plugins:NUMBER' is a int, not a class or function"),
    ("wrong kind: loss without d_loss", "loss", {"name": "gbt_plugins:bad_loss"},
     r"loss plugin 'gbt_plugins:bad_loss' returned a object without d_loss and g_loss"),
    ("wrong kind: model without data_shape", "model", {"name": "gbt_plugins:keyword_only"},
     r"model plugin 'gbt_plugins:keyword_only' must take the data shape as its first positional parameter"),
    ("bad parameter name", "loss", {"name": "gbt_plugins:ns_like", "scal": 2.0},
     r"unknown parameter 'scal' for loss 'gbt_plugins:ns_like' \(did you mean 'scale'\?\); accepted: scale"),
    ("missing parameter", "loss", {"name": "gbt_plugins:needs_arg"},
     r"loss 'gbt_plugins:needs_arg' needs parameter\(s\): gamma"),
    ("bad parameter type", "model", {"name": "gbt_plugins:small_gan", "hidden": "wide"},
     r"model 'gbt_plugins:small_gan' parameter 'hidden' must be int, got str 'wide'"),
    ("factory raises", "loss", {"name": "gbt_plugins:raising"},
     r"loss plugin 'gbt_plugins:raising' raised ValueError: gamma too big"),
    ("external generator name", "model", {"name": "external:g.pt"},
     r"model 'external:g.pt' is an external generator evaluated by 'ganbench eval-generator'"),
]


@pytest.mark.parametrize("why, section, table, match", BAD_AT_LOAD, ids=[b[0] for b in BAD_AT_LOAD])
def test_bad_plugin_fails_at_suite_load_with_one_line(why, section, table, match):
    with pytest.raises(ConfigError, match=match) as e:
        suite(**{section: table})
    assert "\n" not in str(e.value) and str(e.value).startswith(f"p.toml: runs[0].{section}")


BAD_AT_BUILD = [
    ("a single module", lambda: build_models("gbt_plugins:one_module", (2,)),
     r"model plugin 'gbt_plugins:one_module' returned a Linear; a model plugin returns a pair \(G, D\)"),
    ("G without z_dim", lambda: build_models("gbt_plugins:no_zdim", (2,)),
     r"model plugin 'gbt_plugins:no_zdim': G must have an int attribute z_dim >= 1 \(the latent size\), got None"),
    ("G of the wrong shape", lambda: build_models("gbt_plugins:bad_shape", (2,)),
     r"model plugin 'gbt_plugins:bad_shape': G\(z\) gave shape \(2, 3\) for 2 latents; the data needs \(2, 2\)"),
    ("D returning a string", lambda: build_models("gbt_plugins:bad_d", (2,)),
     r"model plugin 'gbt_plugins:bad_d': D must return a DOut, a score tensor or \(score, features\), got str"),
    ("data of the wrong kind", lambda: get_dataset("gbt_plugins:not_data"),
     r"dataset plugin 'gbt_plugins:not_data' returned a list; a dataset plugin returns a ganbench.data.Dataset"),
    ("images out of range", lambda: get_dataset("gbt_plugins:too_bright"),
     r"dataset plugin 'gbt_plugins:too_bright': images must lie in \[-1, 1\], split 'train' spans \[3, 3\]"),
]


@pytest.mark.parametrize("why, build, match", BAD_AT_BUILD, ids=[b[0] for b in BAD_AT_BUILD])
def test_bad_plugin_product_fails_at_build_with_one_line(why, build, match):
    with pytest.raises(ConfigError, match=match) as e:
        build()
    assert "\n" not in str(e.value)


def test_a_model_plugins_wrong_product_stops_the_suite_at_load_and_fails_only_its_run_later(tmp_path):
    # the loader builds every model once, so a suite never starts with it (issue 16: every key checked at load)
    with pytest.raises(ConfigError, match=r"p.toml: model plugin 'gbt_plugins:bad_shape': G\(z\) gave shape \(2, 3\)"):
        suite(model={"name": "gbt_plugins:bad_shape"})
    # a run rebuilt from its config.json (a rerun after the plugin changed) skips that check: it fails alone
    from ganbench.config import RunConfig
    run = RunConfig.from_dict({**suite().to_dict(), "model": {"name": "gbt_plugins:bad_shape"}})
    out = run_one(run, tmp_path)
    assert out.status == "failed" and "G(z) gave shape (2, 3)" in out.error
