"""Multi-seed batching: every member of a batched run is the sequential run of its seed.

The exactness tests run in float64, where both paths round alike to ~1e-16, so any difference in the
algorithm (a draw out of order, a statistic shared across members) would show as a large gap; in float32
the batched kernels round differently and GAN training amplifies that, so float32 is checked on a short,
well-conditioned run and on the files that ``train_batched`` writes.
"""
from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch
from torch import nn

from ganbench.batched import (BatchedBatchNorm1d, BatchedGAN, BatchedLinear, BatchedMaxout, build_members,
                              seed_groups, stack_modules, stack_optimizer_state, stack_state, train_batched,
                              unstack_optimizer_state, unstack_state)
from ganbench.config import DataConfig, EvalConfig, LossConfig, ModelConfig, OptimConfig, RunConfig, TrainConfig
from ganbench.data import get_dataset
from ganbench.files import load_checkpoint
from ganbench.models import Maxout, build_models
from ganbench.registry import ConfigError
from ganbench.train import build_gan, load_state, read_history, seed_for, train, train_step

SEEDS = (0, 1, 2)


def run_cfg(seed: int, loss: str = "ns", steps: int = 50, batch: int = 16, model: dict | None = None,
            loss_params: dict | None = None, data: dict | None = None, **train_kw) -> RunConfig:
    params = {"hidden": 16, "depth": 2, **(model or {})}
    return RunConfig(suite="t", seed=seed, data=DataConfig("ring8", dict(data or {})), model=ModelConfig("mlp", params),
                     loss=LossConfig(loss, dict(loss_params or {})), optim=OptimConfig(),
                     train=TrainConfig(steps=steps, batch_size=batch, **train_kw))


def params_of(gan) -> list[tuple[str, torch.Tensor]]:
    return [(f"G.{k}", v) for k, v in gan.G.state_dict().items()] + [(f"D.{k}", v) for k, v in gan.D.state_dict().items()]


def _in_double(sample):
    return lambda n, g: sample(n, g).double()


def sequential_and_batched(runs, steps, double=False, log_every=0, vmapped_loss=False):
    ds = get_dataset("ring8", **runs[0].data.params)
    seq, seq_stats = [], []
    for run in runs:
        torch.manual_seed(seed_for(run.seed, "init"))
        gan = build_gan(run, ds)
        if double:  # each run's own sampler (a fixed training set with n_train), in float64
            gan.sample_real = _in_double(gan.sample_real)
        seq_stats.append([train_step(gan, log=bool(log_every) and i % log_every == 0) for i in range(steps)])
        seq.append(gan)
    members, _ = build_members(runs, ds)
    for m in members:
        if double:
            m.sample_real = _in_double(m.sample_real)
    bgan = BatchedGAN(members, runs[0])
    if vmapped_loss:  # as a plugin's scalar formulas: member losses through torch.vmap
        bgan.loss = dataclasses.replace(bgan.loss, member_axis=False)
    b_stats = [bgan.step(log=bool(log_every) and i % log_every == 0) for i in range(steps)]
    return seq, seq_stats, bgan, b_stats


def assert_members_are_the_sequential_runs(seq, seq_stats, bgan, b_stats):
    """Weights, running statistics, EMA, generator states and every logged statistic, member by member."""
    for k, gan in enumerate(seq):
        member = bgan.sync_member(k)
        pairs = zip(params_of(gan), params_of(member))
        if gan.ema is not None:
            pairs = [*pairs, *zip(gan.ema.state_dict().items(), member.ema.state_dict().items())]
        for (name, a), (_, b) in pairs:
            torch.testing.assert_close(b.double(), a.double(), rtol=0, atol=1e-9, msg=f"seed {k} {name}")
        assert torch.equal(gan.generator.get_state(), member.generator.get_state())  # the same draws, in order
        for i, (s, b) in enumerate(zip(seq_stats[k], b_stats)):
            assert set(b) == set(s), i
            for key, value in s.items():
                assert b[key][k] == pytest.approx(value, rel=1e-9, abs=1e-9), (i, key)


# ---------------------------------------------------------------- layers and state

def test_batched_layers_equal_each_member_in_train_and_eval_mode(float64):
    torch.manual_seed(0)
    lin = [nn.Linear(3, 4) for _ in range(3)]
    bns = [nn.BatchNorm1d(4) for _ in range(3)]
    mxs = [Maxout(3, 2, 3) for _ in range(3)]
    for bn in bns:
        nn.init.normal_(bn.weight), nn.init.normal_(bn.bias)
    x = torch.randn(3, 5, 3)  # [K, N, features]
    b_lin, b_bn, b_mx = stack_modules(lin), stack_modules(bns), stack_modules(mxs)
    assert isinstance(b_lin, BatchedLinear) and isinstance(b_bn, BatchedBatchNorm1d) and isinstance(b_mx, BatchedMaxout)
    xt = x.transpose(1, 2)  # batched layers work feature-major, [K, C, N]
    h = b_lin(xt)
    for k in range(3):
        torch.testing.assert_close(h[k].T, lin[k](x[k]), rtol=0, atol=1e-12)
        torch.testing.assert_close(b_mx(xt)[k].T, mxs[k](x[k]), rtol=0, atol=1e-12)
    for mode in ("train", "eval"):
        b_bn.train(mode == "train")
        y = b_bn(h)
        for k in range(3):
            bns[k].train(mode == "train")
            torch.testing.assert_close(y[k].T, bns[k](h[k].T.detach()), rtol=0, atol=1e-12)
    for k in range(3):  # running statistics moved per member, exactly as each BatchNorm1d's
        torch.testing.assert_close(b_bn.running_mean[k], bns[k].running_mean, rtol=0, atol=1e-12)
        torch.testing.assert_close(b_bn.running_var[k], bns[k].running_var, rtol=0, atol=1e-12)
        assert int(b_bn.num_batches_tracked[k]) == int(bns[k].num_batches_tracked) == 1


def test_state_dicts_keep_the_original_keys_and_round_trip():
    torch.manual_seed(0)
    pairs = [build_models("mlp", (2,), hidden=8, depth=2, d_maxout=2) for _ in range(3)]
    G = stack_modules([g for g, _ in pairs])
    D = stack_modules([d for _, d in pairs])
    assert list(G.state_dict()) == list(pairs[0][0].state_dict())
    assert list(D.state_dict()) == list(pairs[0][1].state_dict())
    for k in range(3):
        for key, value in unstack_state(G.state_dict(), k).items():
            assert torch.equal(value, pairs[k][0].state_dict()[key]) and value.shape == pairs[k][0].state_dict()[key].shape
    assert torch.equal(stack_state([g.state_dict() for g, _ in pairs])["net.0.weight"], G.net[0].weight.detach())


def test_optimizer_state_stacks_and_unstacks_exactly():
    torch.manual_seed(0)
    nets = [nn.Linear(2, 3) for _ in range(2)]
    opts = [torch.optim.Adam(n.parameters(), lr=0.1) for n in nets]
    for n, o in zip(nets, opts):
        n(torch.randn(4, 2)).sum().backward()
        o.step()
    stacked = stack_optimizer_state([o.state_dict() for o in opts])
    assert stacked["state"][0]["exp_avg"].shape == (2, 3, 2) and stacked["state"][0]["step"].dim() == 0
    for k in range(2):
        back = unstack_optimizer_state(stacked, k)
        for idx, entry in opts[k].state_dict()["state"].items():
            for key, value in entry.items():
                assert torch.equal(back["state"][idx][key], value)
    opts[1].step()  # members one step apart cannot be batched
    with pytest.raises(ConfigError, match="optimiser state 'step' differs"):
        stack_optimizer_state([o.state_dict() for o in opts])


def test_unsupported_models_losses_and_runs_raise_one_line_errors():
    from ganbench.batched import check_loss
    from ganbench.losses import get_loss
    with pytest.raises(ConfigError, match=r"loss 'my-gp' has its own penalty, which cannot be batched"):
        check_loss(dataclasses.replace(get_loss("wgan-gp"), name="my-gp"))
    ds = get_dataset("digits")
    with pytest.raises(ConfigError, match=r"layer (Unflatten|ConvTranspose2d) cannot be batched over seeds.*mlp"):
        stack_modules([build_models("dcgan", ds.shape, ngf=8, ndf=8)[0] for _ in range(2)], "model 'dcgan'")
    with pytest.raises(ConfigError, match="parametrized layers .*spectral_norm"):
        stack_modules([build_models("mlp", (2,), hidden=8, spectral_norm=True)[1] for _ in range(2)])
    with pytest.raises(ConfigError, match="distinct seeds"):
        train_batched([run_cfg(0), run_cfg(0)], ["a", "b"])
    with pytest.raises(ConfigError, match="differs from .* in more than the seed"):
        train_batched([run_cfg(0), run_cfg(1, loss="hinge")], ["a", "b"])
    with pytest.raises(ConfigError, match="2 runs but 1 run directories"):
        train_batched([run_cfg(0), run_cfg(1)], ["a"])
    with pytest.raises(ConfigError, match="max_grad_norm is not supported"):
        train_batched([run_cfg(0, max_grad_norm=1.0), run_cfg(1, max_grad_norm=1.0)], ["a", "b"])


# ---------------------------------------------------------------- members are the sequential runs

@pytest.mark.parametrize("loss,model,params,data", [
    ("wgan-gp", {}, {}, {}),                               # penalty at interpolates, 5 critic steps, BN in G
    ("ns", {"d_maxout": 3}, {}, {}),                       # maxout D
    ("dragan", {"batch_norm": False}, {}, {}),             # penalty around perturbed reals, per-member std
    ("feature-matching", {}, {}, {}),                      # D(real) in the G step, features [K, N, F]
    ("hinge", {}, {"r1_gamma": 1.0, "r2_gamma": 0.5}, {}),  # R1 and R2
    ("ns", {"pack": 2, "d_maxout": 5, "init": "pacgan"}, {}, {"n_train": 500}),  # PacGAN2 protocol, BN per chunk
    ("dragan", {"pack": 3}, {}, {}),                       # penalty on packed inputs, one α per packed input
    ("wgan-gp", {"pack": 2}, {}, {}),                      # interpolates between packed reals and fakes
    ("feature-matching", {"pack": 2}, {}, {}),             # packed D(real) in the G step
])
def test_members_match_sequential_runs_in_float64(float64, loss, model, params, data):
    runs = [run_cfg(s, loss, model=model, loss_params=params, data=data) for s in SEEDS]
    assert_members_are_the_sequential_runs(*sequential_and_batched(runs, 50, double=True, log_every=10))


@pytest.mark.parametrize("loss, model, params, train_kw", [
    ("ns", {"pack": 2, "d_maxout": 5, "init": "pacgan"}, {}, {"bn_stats": "pacgan", "ema": 0.9}),  # PacGAN's protocol
    ("wgan-gp", {}, {}, {}),                                # penalty at interpolates, drawn after the latents
    ("dragan", {"pack": 2, "batch_norm": False}, {}, {}),   # penalty on packed reals
    ("feature-matching", {"pack": 2}, {}, {}),              # D(real)'s features in G's loss
    ("rsgan", {}, {}, {"bn_stats": "pacgan"}),              # D(real)'s scores in G's loss
    ("wgan", {}, {"r1_gamma": 1.0, "r2_gamma": 0.5}, {}),   # clipping; R1, R2
    ("ns", {"pack": 2}, {}, {"updates": "alternating", "bn_stats": "pacgan"}),  # PacGAN's statistics, alternating
])
def test_simultaneous_members_match_sequential_runs_in_float64(float64, loss, model, params, train_kw):
    kw = {"updates": "simultaneous", "n_critic": 1, **train_kw}
    runs = [run_cfg(s, loss, model=model, loss_params=params, data={"n_train": 500}, **kw) for s in SEEDS]
    seq, seq_stats, bgan, b_stats = sequential_and_batched(runs, 30, double=True, log_every=10)
    assert bgan.updates == runs[0].train.updates
    assert_members_are_the_sequential_runs(seq, seq_stats, bgan, b_stats)


def test_batched_population_refresh_equals_each_members_own(float64):
    from ganbench.train import refresh_population
    kw = {"updates": "simultaneous", "n_critic": 1, "bn_stats": "pacgan", "ema": 0.9}
    runs = [run_cfg(s, model={"pack": 2}, **kw) for s in SEEDS]
    seq, _, bgan, _ = sequential_and_batched(runs, 3, double=True)
    for run, gan in zip(runs, seq):
        refresh_population(gan, run.seed, 7)
    bgan.refresh_population([run.seed for run in runs], 7)
    for k, gan in enumerate(seq):
        member = bgan.sync_member(k)
        for (name, a), (_, b) in zip(list(gan.G.state_dict().items()) + list(gan.ema.state_dict().items()),
                                     list(member.G.state_dict().items()) + list(member.ema.state_dict().items())):
            torch.testing.assert_close(b.double(), a.double(), rtol=0, atol=1e-12, msg=f"seed {k} {name}")


def test_members_of_a_vmapped_loss_match_sequential_runs(float64):
    # ragan's batch means must stay within each member on the vmap path too.
    runs = [run_cfg(s, "ragan") for s in SEEDS]
    seq, seq_stats, bgan, b_stats = sequential_and_batched(runs, 30, double=True, vmapped_loss=True)
    assert not bgan.loss.member_axis
    for k, gan in enumerate(seq):
        for (name, a), (_, b) in zip(params_of(gan), params_of(bgan.sync_member(k))):
            torch.testing.assert_close(b.double(), a.double(), rtol=0, atol=1e-9, msg=f"seed {k} {name}")
        for s, b in zip(seq_stats[k], b_stats):
            assert b["d_loss"][k] == pytest.approx(s["d_loss"], rel=1e-9)


def test_members_match_sequential_runs_in_float32():
    runs = [run_cfg(s, "ns") for s in SEEDS]
    seq, seq_stats, bgan, b_stats = sequential_and_batched(runs, 50)
    for k, gan in enumerate(seq):
        for (name, a), (_, b) in zip(params_of(gan), params_of(bgan.sync_member(k))):
            torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5, msg=f"seed {k} {name}")
        for s, b in zip(seq_stats[k], b_stats):
            assert b["d_loss"][k] == pytest.approx(s["d_loss"], rel=1e-4)
            assert b["g_loss"][k] == pytest.approx(s["g_loss"], rel=1e-4)


def test_weight_clipping_and_ema_are_per_member(float64):
    runs = [run_cfg(s, "wgan", steps=10, ema=0.9) for s in SEEDS[:2]]
    seq, _, bgan, _ = sequential_and_batched(runs, 10, double=True)
    for k, gan in enumerate(seq):
        member = bgan.sync_member(k)
        assert max(float(p.detach().abs().max()) for p in member.D.parameters()) <= 0.01
        for a, b in zip(gan.ema.state_dict().values(), member.ema.state_dict().values()):
            torch.testing.assert_close(b.double(), a.double(), rtol=0, atol=1e-9)


# ---------------------------------------------------------------- train_batched writes ordinary run directories

def test_train_batched_writes_the_files_of_sequential_runs(tmp_path):
    runs = [run_cfg(s, steps=12, log_every=4, checkpoint_every=6) for s in SEEDS[:2]]
    seq_dirs = [tmp_path / f"seq{s}" for s in SEEDS[:2]]
    bat_dirs = [tmp_path / f"bat{s}" for s in SEEDS[:2]]
    seq_results = [train(r, d) for r, d in zip(runs, seq_dirs)]
    steps_seen = []
    results = train_batched(runs, bat_dirs, progress=steps_seen.append)
    assert [r.status for r in results] == [r.status for r in seq_results] == ["finished", "finished"]
    assert sum(steps_seen) == 24 and [r.steps for r in results] == [12, 12]
    for s, b in zip(seq_dirs, bat_dirs):
        assert (b / "config.json").read_bytes() == (s / "config.json").read_bytes()
        assert (b / "samples.png").stat().st_size > 0
        st = json.loads((b / "status.json").read_text())
        assert st["status"] == "finished" and st["steps"] == 12 and st["reason"] == ""
        hs, hb = read_history(s / "history.csv"), read_history(b / "history.csv")
        assert (b / "history.csv").read_text().splitlines()[0] == (s / "history.csv").read_text().splitlines()[0]
        assert [r["step"] for r in hb] == [r["step"] for r in hs] == [1, 4, 8, 12]
        for rs, rb in zip(hs, hb):
            for key in ("d_loss", "g_loss", "d_real", "d_acc_real", "d_grad_norm", "g_grad_norm"):
                assert rb[key] == pytest.approx(rs[key], rel=1e-4, abs=1e-6), key
        cs, cb = load_checkpoint(s / "checkpoint.pt"), load_checkpoint(b / "checkpoint.pt")
        assert set(cb) == set(cs) and cb["step"] == 12 and cb["status"] == "finished"
        assert torch.equal(cb["rng_train"], cs["rng_train"]) and torch.equal(cb["rng_torch"], cs["rng_torch"])
        for part in ("G", "D"):
            for key, value in cs[part].items():
                torch.testing.assert_close(cb[part][key], value, rtol=1e-4, atol=1e-5)
        assert cb["opt_g"]["param_groups"] == cs["opt_g"]["param_groups"]  # the member's own flags, not foreach
        for idx, entry in cs["opt_d"]["state"].items():
            for key, value in entry.items():
                torch.testing.assert_close(cb["opt_d"]["state"][idx][key], value, rtol=1e-4, atol=1e-6)
        gan = build_gan(runs[0], get_dataset("ring8"))
        assert load_state(gan, cb) == 12  # loads as a normal run


def test_resuming_batched_equals_an_uninterrupted_batched_run_and_train_continues_it(tmp_path):
    full = [run_cfg(s, steps=10, log_every=5) for s in SEEDS[:2]]
    half = [run_cfg(s, steps=5, log_every=5) for s in SEEDS[:2]]
    a_dirs = [tmp_path / f"a{s}" for s in SEEDS[:2]]
    b_dirs = [tmp_path / f"b{s}" for s in SEEDS[:2]]
    train_batched(full, a_dirs)
    train_batched(half, b_dirs)
    train_batched(full, b_dirs)  # continues both from step 5 with their optimiser state stacked again
    for a, b in zip(a_dirs, b_dirs):
        ca, cb = load_checkpoint(a / "checkpoint.pt"), load_checkpoint(b / "checkpoint.pt")
        for part in ("G", "D"):
            for key, value in ca[part].items():
                assert torch.equal(cb[part][key], value), (part, key)
        assert [r["step"] for r in read_history(b / "history.csv")] == [1, 5, 10]
    longer = run_cfg(0, steps=12, log_every=5)
    assert train(longer, a_dirs[0]).steps == 12  # the sequential trainer continues a batched run


def test_a_killed_batched_simultaneous_run_resumes_exactly(tmp_path):
    kw = {"steps": 10, "log_every": 5, "checkpoint_every": 5, "updates": "simultaneous", "n_critic": 1,
          "bn_stats": "pacgan", "ema": 0.9}
    runs = [run_cfg(s, **kw) for s in SEEDS[:2]]
    a_dirs, b_dirs = [tmp_path / f"a{s}" for s in SEEDS[:2]], [tmp_path / f"b{s}" for s in SEEDS[:2]]
    train_batched(runs, a_dirs)

    def kill_after_5(n, done=[]):  # noqa: B006  one list for the one run below
        done.append(n)
        if sum(done) > 2 * 5:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        train_batched(runs, b_dirs, progress=kill_after_5)
    assert {load_checkpoint(d / "checkpoint.pt")["step"] for d in b_dirs} == {5}
    train_batched(runs, b_dirs)
    for a, b in zip(a_dirs, b_dirs):
        ca, cb = load_checkpoint(a / "checkpoint.pt"), load_checkpoint(b / "checkpoint.pt")
        for part in ("G", "D", "ema"):
            for key, value in ca[part].items():
                assert torch.equal(cb[part][key], value), (part, key)


def test_runs_at_different_steps_continue_one_by_one(tmp_path):
    dirs = [tmp_path / "r0", tmp_path / "r1"]
    train(run_cfg(0, steps=3), dirs[0])
    results = train_batched([run_cfg(0, steps=6), run_cfg(1, steps=6)], dirs)
    assert [r.steps for r in results] == [6, 6]
    assert load_checkpoint(dirs[0] / "checkpoint.pt")["step"] == 6


def test_a_diverged_member_stops_alone_and_the_others_are_untouched(tmp_path, monkeypatch):
    bad_seed = seed_for(1, "train")

    class Poisoned:
        """ring8 whose batches are NaN for the member of seed 1 only."""

        def __init__(self, ds):
            self.ds, self.shape, self.kind = ds, ds.shape, ds.kind

        def sample(self, n, generator):
            x = self.ds.sample(n, generator)
            return x * math.nan if generator.initial_seed() == bad_seed else x

        def train_sampler(self, seed):
            return self.sample

        def real(self, *a, **kw):
            return self.ds.real(*a, **kw)

    import ganbench.batched.runs as batched_mod  # train_batched reads get_dataset there
    monkeypatch.setattr(batched_mod, "get_dataset", lambda name, **p: Poisoned(get_dataset(name, **p)))
    runs = [run_cfg(s, steps=8, log_every=4) for s in SEEDS]
    dirs = [tmp_path / f"r{s}" for s in SEEDS]
    results = train_batched(runs, dirs)
    assert [r.status for r in results] == ["finished", "diverged", "finished"]
    assert results[1].steps == 1 and "non-finite loss at step 1" in results[1].reason
    assert json.loads((dirs[1] / "status.json").read_text())["status"] == "diverged"
    assert load_checkpoint(dirs[1] / "checkpoint.pt")["status"] == "diverged"
    again = train_batched(runs, dirs)  # a rerun keeps the verdict and never steps the NaN member
    assert [(r.status, r.steps) for r in again] == [("finished", 8), ("diverged", 1), ("finished", 8)]
    assert again[1].reason == results[1].reason
    for s in (0, 2):  # the NaN member shares no reduction with the others
        ref = tmp_path / f"seq{s}"
        train(runs[s], ref)
        for key, value in load_checkpoint(ref / "checkpoint.pt")["G"].items():
            torch.testing.assert_close(load_checkpoint(dirs[s] / "checkpoint.pt")["G"][key], value,
                                       rtol=1e-4, atol=1e-5)


def test_evaluator_sees_each_members_generator(tmp_path):
    z = torch.linspace(-1, 1, 8).view(4, 2)
    calls = []

    def make_eval(tag):
        def evaluate(step, G):
            assert not G.training
            calls.append((tag, step))
            with torch.no_grad():
                return {"g_mean": float(G(z).mean())}
        return evaluate

    runs = [dataclasses.replace(run_cfg(s, steps=6, log_every=3), eval=EvalConfig(every=3)) for s in SEEDS[:2]]
    seq_dirs, bat_dirs = [tmp_path / f"s{s}" for s in SEEDS[:2]], [tmp_path / f"b{s}" for s in SEEDS[:2]]
    for r, d in zip(runs, seq_dirs):
        train(r, d, evaluator=make_eval(("seq", r.seed)))
    train_batched(runs, bat_dirs, evaluators=[make_eval(("bat", r.seed)) for r in runs])
    assert [c for c in calls if c[0][0] == "bat"] == [(("bat", 0), 3), (("bat", 1), 3), (("bat", 0), 6),
                                                      (("bat", 1), 6)]
    for s, b in zip(seq_dirs, bat_dirs):
        hs, hb = read_history(s / "history.csv"), read_history(b / "history.csv")
        assert [r["step"] for r in hb if r.get("g_mean") is not None] == [3, 6]
        assert [r["g_mean"] for r in hb if r.get("g_mean") is not None] == pytest.approx(
            [r["g_mean"] for r in hs if r.get("g_mean") is not None], rel=1e-4, abs=1e-6)


def test_resumed_batched_optimisers_keep_their_fast_implementation():
    runs = [run_cfg(s, steps=2) for s in SEEDS[:2]]
    ds = get_dataset("ring8")
    members, _ = build_members(runs, ds)
    for m in members:
        train_step(m)
    bgan = BatchedGAN(members, runs[0])
    assert all(g["fused"] and not g["foreach"] for o in (bgan.opt_g, bgan.opt_d) for g in o.param_groups)
    assert int(bgan.opt_g.state_dict()["state"][0]["step"]) == 1


def test_rmsprop_members_use_foreach_and_a_discriminator_with_batch_norm_sees_real_and_fake_apart():
    runs = [run_cfg(s, steps=2) for s in SEEDS[:2]]
    runs = [dataclasses.replace(r, optim=dataclasses.replace(r.optim, optimizer="rmsprop")) for r in runs]
    members, _ = build_members(runs, get_dataset("ring8"))
    bgan = BatchedGAN(members, runs[0])
    assert all(g["foreach"] and not g["fused"] for o in (bgan.opt_g, bgan.opt_d) for g in o.param_groups)
    assert bgan._d_per_sample  # mlp's D: real and fake go through as one joined batch
    for m in members:  # a D whose batch statistics couple samples must see each batch on its own
        m.D.body = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.LeakyReLU(0.2))
    bgan = BatchedGAN(members, runs[0])
    assert not bgan._d_per_sample
    real, fake = torch.randn(2, 5, 2), torch.randn(2, 5, 2)
    pair = bgan._d_pair(real, fake)
    assert torch.equal(pair[0].score, bgan.D(real).score) and torch.equal(pair[1].score, bgan.D(fake).score)


def test_seed_groups_batch_only_seeds_of_one_configuration_that_ask_for_it():
    runs = [run_cfg(0, seeds_batched=True), run_cfg(0, "hinge", seeds_batched=True), run_cfg(1, seeds_batched=True),
            run_cfg(2), run_cfg(1, "hinge", seeds_batched=True), run_cfg(3),
            dataclasses.replace(run_cfg(0, seeds_batched=True), suite="other")]
    assert seed_groups(runs) == [[0, 2], [1, 4], [3], [5], [6]]  # a repeated seed is never batched with itself
