"""The trainer: determinism, every loss trains, divergence is recorded, resume continues exactly."""
from __future__ import annotations

import copy
import csv
import dataclasses

import pytest
import torch

from ganbench.suite_loader import parse_suite
from ganbench.files import load_checkpoint
from ganbench.losses import LOSSES
from ganbench.registry import ConfigError
from ganbench.models import generate, pack_samples
from ganbench.train import build_gan, frozen, train, train_step


def suite(**over):
    doc = {
        "suite": {"name": "t", "seeds": [0]},
        "defaults": {
            "data": {"name": "ring8"},
            "model": {"name": "mlp", "hidden": 32, "depth": 2, "z_dim": 2},
            "optim": {"lr_g": 1e-3, "lr_d": 1e-3},
            "train": {"steps": 60, "batch_size": 32, "log_every": 10, "checkpoint_every": 30},
            "eval": {"n_samples": 200},
        },
        "runs": [{"loss": {"name": "ns"}}],
    }
    for k, v in over.items():
        doc["defaults"][k] = {**doc["defaults"].get(k, {}), **v}
    return parse_suite(doc).runs[0]


def history_without_wall(path):
    rows = list(csv.DictReader(open(path)))
    for r in rows:
        r.pop("wall_time")
    return rows


def test_same_run_twice_is_identical(tmp_path):
    run = suite(train={"ema": 0.9})
    train(run, tmp_path / "a")
    train(run, tmp_path / "b")
    assert history_without_wall(tmp_path / "a/history.csv") == history_without_wall(tmp_path / "b/history.csv")
    ca, cb = load_checkpoint(tmp_path / "a/checkpoint.pt"), load_checkpoint(tmp_path / "b/checkpoint.pt")
    for part in ("G", "D", "ema"):
        for k in ca[part]:
            assert torch.equal(ca[part][k], cb[part][k]), (part, k)
    assert (tmp_path / "a/samples.png").stat().st_size > 1000
    assert (tmp_path / "a/config.json").exists() and (tmp_path / "a/status.json").exists()


def test_history_columns_and_rows(tmp_path):
    train(suite(), tmp_path)
    rows = list(csv.DictReader(open(tmp_path / "history.csv")))
    assert [int(r["step"]) for r in rows] == [1, 10, 20, 30, 40, 50, 60]
    for col in ("d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm", "d_acc_real", "wall_time"):
        assert rows[-1][col] != "", col


@pytest.mark.parametrize("loss", LOSSES.names())
def test_every_loss_trains_500_steps_on_ring8(tmp_path, loss):
    run = suite(train={"steps": 500, "log_every": 100, "checkpoint_every": 1000, "n_critic": 1})
    run = type(run)(**{**run.__dict__, "loss": type(run.loss)(name=loss, params={})})
    result = train(run, tmp_path)
    assert result.status == "finished" and result.steps == 500


def test_resume_continues_exactly(tmp_path):
    full = suite(train={"steps": 60})
    train(full, tmp_path / "full")
    half = suite(train={"steps": 30})
    train(half, tmp_path / "resumed")          # stops at 30 with a checkpoint, like a killed run
    train(full, tmp_path / "resumed")          # picks up at step 30
    assert history_without_wall(tmp_path / "full/history.csv") == history_without_wall(tmp_path / "resumed/history.csv")
    a, b = load_checkpoint(tmp_path / "full/checkpoint.pt"), load_checkpoint(tmp_path / "resumed/checkpoint.pt")
    assert all(torch.equal(a["G"][k], b["G"][k]) for k in a["G"])


def test_non_finite_loss_is_recorded_as_diverged(tmp_path, exploding_loss):
    run = suite()
    run = type(run)(**{**run.__dict__, "loss": type(run.loss)(name="test-exploding", params={})})
    result = train(run, tmp_path)
    assert result.status == "diverged" and result.steps == 6
    assert "non-finite" in result.reason
    assert load_checkpoint(tmp_path / "checkpoint.pt")["status"] == "diverged"


def test_wgan_clips_discriminator_weights(tmp_path):
    run = suite()
    run = type(run)(**{**run.__dict__, "loss": type(run.loss)(name="wgan", params={"clip": 0.02})})
    torch.manual_seed(0)
    gan = build_gan(run)
    assert gan.n_critic == 5  # the loss's customary value when the suite leaves n_critic unset
    train_step(gan)
    assert max(float(p.detach().abs().max()) for p in gan.D.parameters()) <= 0.02 + 1e-7


def test_the_generator_step_leaves_the_discriminator_gradients_of_its_own_step():
    """G's update needs no gradient for D's weights: D keeps the gradients of its last update, untouched."""
    run = suite()
    torch.manual_seed(0)
    gan = build_gan(run)
    seen = {}
    step = gan.opt_d.step

    def record(*a, **kw):
        seen.update({n: p.grad.clone() for n, p in gan.D.named_parameters()})
        return step(*a, **kw)
    gan.opt_d.step = record
    train_step(gan)
    for n, p in gan.D.named_parameters():
        assert p.requires_grad
        assert torch.equal(p.grad, seen[n]), n


def test_frozen_restores_each_flag_even_when_the_block_raises():
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    net[1].bias.requires_grad_(False)
    with pytest.raises(RuntimeError, match="boom"):
        with frozen(net):
            assert not any(p.requires_grad for p in net.parameters())
            raise RuntimeError("boom")
    assert [p.requires_grad for p in net.parameters()] == [True, True, True, False]


def test_tensorboard_logging(tmp_path):
    pytest.importorskip("tensorboard")
    train(suite(train={"tensorboard": True, "steps": 20}), tmp_path)
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


@pytest.mark.parametrize("max_norm", [None, 0.05])
def test_max_grad_norm_clips_both_networks_before_their_step(max_norm):
    # train.max_grad_norm was accepted but ignored by this trainer (issue 16): each optimiser step must now see
    # gradients of total norm <= max_grad_norm (and the logged norm stays the unclipped one)
    from ganbench.train import grad_norm
    run = suite(train={"max_grad_norm": max_norm} if max_norm else {})
    gan = build_gan(run)
    seen = {"D": [], "G": []}
    for name, net, opt in (("D", gan.D, gan.opt_d), ("G", gan.G, gan.opt_g)):
        step = opt.step
        opt.step = lambda *a, _s=step, _n=name, _m=net, **k: (seen[_n].append(grad_norm(_m)), _s(*a, **k))[1]
    logged = [train_step(gan, log=True) for _ in range(5)]
    norms = seen["D"] + seen["G"]
    if max_norm is None:
        assert max(norms) > 0.05  # the case is one where clipping bites
    else:
        assert max(norms) <= max_norm * (1 + 1e-5)
        assert max(s["d_grad_norm"] for s in logged) > max_norm  # history shows what the loss produced


@pytest.mark.parametrize("content, message", [
    (b"", r"history\.csv: no 'step' column \(the file is empty\)"),
    (bytes(range(256)), r"history\.csv: not a readable CSV file \('utf-8' codec can't decode"),
    (b'step,d_loss,g_loss\n1,0.5,0.7\n"10,0.4,0.3\n', r"history\.csv: not a readable CSV file \(unexpected end"),
    (b"step,d_loss,g_loss\n1,0.5,0.7\n10,0.4,0.3", r"history\.csv: line 3 is truncated or malformed"),  # cut mid-line
])
def test_broken_history_raises_naming_the_file(tmp_path, content, message):
    from ganbench.files import CorruptFileError
    from ganbench.train import read_history
    (tmp_path / "history.csv").write_bytes(content)
    with pytest.raises(CorruptFileError, match=message):
        read_history(tmp_path / "history.csv")


def test_a_packed_step_draws_batch_times_pack_and_d_sees_them_packed_alike():
    run = suite(model={"pack": 2})
    torch.manual_seed(0)
    gan = build_gan(run)
    assert gan.pack == 2
    drawn, seen = [], []
    sample = gan.sample_real
    gan.sample_real = lambda n, g: drawn.append(sample(n, g)) or drawn[-1]
    gan.D.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].detach()))
    train_step(gan)
    real = drawn[0]
    assert real.shape == (64, 2)  # batch 32 of pairs
    # D's first input is the packed real batch: pair i = (real i, real 32 + i), joined along the features.
    assert torch.equal(seen[0], torch.cat([real[:32], real[32:]], dim=1))
    assert [t.shape for t in seen] == [(32, 4)] * 3  # reals, fakes, then the G step's fakes: packed alike


# ---------------------------------------------------------------- simultaneous updates (ALI / PacGAN)

def simultaneous(loss="ns", loss_params=None, model=None, **train_kw):
    run = suite(model=model or {}, train={"updates": "simultaneous", "n_critic": 1, **train_kw})
    return dataclasses.replace(run, loss=type(run.loss)(name=loss, params=dict(loss_params or {})))


def adam_first_step(p, g, lr):
    # torch's Adam from zero state: m̂ = g, v̂ = g², so p - lr·g / (|g| + eps)
    return p - lr * g / (g.abs() + 1e-8)


@pytest.mark.parametrize("loss, loss_params, model", [
    ("ns", {}, {}),                                          # BN in G
    ("ns", {}, {"pack": 2, "d_maxout": 3, "init": "pacgan"}),  # PacGAN2: G per chunk, D on packed inputs
    ("wgan-gp", {}, {}),                                     # penalty at interpolates (its own draws)
    ("wgan", {"clip": 0.05}, {}),                            # clipping after D's update
    ("feature-matching", {}, {}),                            # D(real)'s features in G's loss
    ("rsgan", {}, {}),                                       # D(real)'s scores in G's loss
    ("hinge", {"r1_gamma": 1.0}, {}),                        # R1 at reals
])
def test_a_simultaneous_step_applies_both_gradients_taken_at_the_initial_parameters(float64, loss, loss_params,
                                                                                    model):
    run = simultaneous(loss, loss_params, model)
    torch.manual_seed(0)
    gan = build_gan(run)
    sample = gan.sample_real
    gan.sample_real = lambda n, g: sample(n, g).double()
    G0, D0, gen = copy.deepcopy(gan.G), copy.deepcopy(gan.D), torch.Generator().set_state(gan.generator.get_state())
    # By hand, with separate autograd: one real batch, one set of latents, both gradients at (G0, D0).
    m, n = gan.pack, run.train.batch_size * gan.pack
    real = pack_samples(gan.sample_real(n, gen), m)
    z = G0.sample_latent(n, gen)
    fake = pack_samples(generate(G0, z, m), m)
    d_real, d_fake = D0(real), D0(fake)
    d_loss = gan.loss.d_loss(d_real, d_fake)
    g_loss = gan.loss.g_loss(d_fake, d_real)
    grad_d = torch.autograd.grad(d_loss + gan.loss.penalty(D0, real, fake, generator=gen), list(D0.parameters()),
                                 retain_graph=True)
    grad_g = torch.autograd.grad(g_loss, list(G0.parameters()))
    seen = {}
    for name, net, opt in (("D", gan.D, gan.opt_d), ("G", gan.G, gan.opt_g)):
        step = opt.step
        opt.step = lambda *a, _s=step, _n=name, _m=net, **k: (
            seen.__setitem__(_n, [p.grad.clone() for p in _m.parameters()]), _s(*a, **k))[1]
    stats = train_step(gan, log=True)
    assert torch.equal(gan.generator.get_state(), gen.get_state())  # the same draws, nothing more
    assert stats["d_loss"] == pytest.approx(float(d_loss.detach()), rel=1e-12)
    assert stats["g_loss"] == pytest.approx(float(g_loss.detach()), rel=1e-12)
    for got, want in zip(seen["D"] + seen["G"], grad_d + grad_g):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    for net0, grads, net, lr in ((D0, grad_d, gan.D, run.optim.lr_d), (G0, grad_g, gan.G, run.optim.lr_g)):
        for p0, g, p in zip(net0.parameters(), grads, net.parameters()):
            want = adam_first_step(p0.detach(), g, lr)
            if net is gan.D and gan.loss.clip is not None:
                want = want.clamp(-gan.loss.clip, gan.loss.clip)
            torch.testing.assert_close(p.detach(), want, rtol=0, atol=1e-12)
    # The test can tell the schemes apart: G's gradient at the updated D (alternating's) is another one.
    fake = pack_samples(generate(G0, z, m), m)
    grad_g_after = torch.autograd.grad(gan.loss.g_loss(gan.D(fake), gan.D(real)), list(G0.parameters()))
    assert max(float((a - b).abs().max()) for a, b in zip(grad_g_after, grad_g)) > 1e-7


@pytest.mark.parametrize("updates", ["simultaneous", "alternating"])
def test_pacgan_batch_norm_moves_the_population_once_a_step_by_the_chunks_averaged_statistics(float64, updates):
    run = simultaneous(model={"pack": 2, "hidden": 3, "depth": 1}, bn_stats="pacgan", ema=0.9, updates=updates)
    torch.manual_seed(0)
    gan = build_gan(run)
    sample = gan.sample_real
    gan.sample_real = lambda n, g: sample(n, g).double()
    bn, linear = gan.G.net[1], copy.deepcopy(gan.G.net[0])
    assert (bn.eps, bn.momentum) == (1e-4, 0.0)
    torch.testing.assert_close((bn.running_var + bn.eps).sqrt(), torch.ones(3), rtol=0, atol=1e-15)  # Blocks' start
    gen, n = torch.Generator().set_state(gan.generator.get_state()), 2 * run.train.batch_size
    gan.sample_real(n, gen)
    z = gan.G.sample_latent(n, gen)
    if updates == "alternating":  # the D step's fakes leave the population alone: the G step's latents count
        z = gan.G.sample_latent(n, gen)
    h = [linear(c).detach() for c in z.chunk(2)]  # batch norm's input, chunk by chunk (PacGAN's m batches)
    mean = (h[0].mean(0) + h[1].mean(0)) / 2
    std = ((h[0].var(0, correction=0) + 1e-4).sqrt() + (h[1].var(0, correction=0) + 1e-4).sqrt()) / 2
    train_step(gan)
    population_std = 0.95 * 1.0 + 0.05 * std
    torch.testing.assert_close(bn.running_mean, 0.95 * 0.0 + 0.05 * mean, rtol=0, atol=1e-15)
    torch.testing.assert_close(bn.running_var, population_std ** 2 - 1e-4, rtol=0, atol=1e-15)
    for key in ("running_mean", "running_var"):  # the EMA generator evaluates with the same population
        assert torch.equal(getattr(gan.ema.net[1], key), getattr(bn, key))
    gan.G.eval()  # inference as Blocks': (x - population mean) / population std, then scale and shift
    x = torch.randn(7, 3)
    torch.testing.assert_close(bn(x), (x - bn.running_mean) / population_std * bn.weight + bn.bias, rtol=0,
                               atol=1e-12)


def test_torch_batch_norm_statistics_are_the_default():
    gan = build_gan(simultaneous(model={"depth": 1}))
    bn = gan.G.net[1]
    assert (bn.eps, bn.momentum, gan.bn_population) == (1e-5, 0.1, None)


def test_build_gan_refuses_a_simultaneous_run_of_several_critic_steps():
    run = simultaneous("wgan-gp")
    run = dataclasses.replace(run, train=dataclasses.replace(run.train, n_critic=None))  # the loss's 5
    with pytest.raises(ConfigError, match=r"run 'wgan-gp': train.updates = 'simultaneous' .* got 5"):
        build_gan(run)


class Killed(Exception):
    pass


def killed_after(steps):
    """A progress callback that stops training after ``steps`` steps, as a killed process would."""
    done = []

    def progress(n):
        done.append(n)
        if sum(done) > steps:
            raise Killed
    return progress


def test_resume_continues_a_simultaneous_run_with_pacgan_batch_norm_exactly(tmp_path):
    run = simultaneous(steps=60, model={"pack": 2}, bn_stats="pacgan", ema=0.9)
    train(run, tmp_path / "full")
    with pytest.raises(Killed):
        train(run, tmp_path / "resumed", progress=killed_after(30))  # the checkpoint of step 30 stays
    assert load_checkpoint(tmp_path / "resumed/checkpoint.pt")["step"] == 30
    train(run, tmp_path / "resumed")
    assert history_without_wall(tmp_path / "full/history.csv") == history_without_wall(tmp_path / "resumed/history.csv")
    a, b = load_checkpoint(tmp_path / "full/checkpoint.pt"), load_checkpoint(tmp_path / "resumed/checkpoint.pt")
    for part in ("G", "D", "ema"):
        assert all(torch.equal(a[part][k], b[part][k]) for k in a[part]), part


@pytest.mark.parametrize("model, params", [("mlp", {"hidden": 8, "depth": 2}), ("dcgan", {"ngf": 4, "ndf": 4}),
                                           ("infogan", {"z_dim": 4}), ("sndcgan", {"z_dim": 4})])
def test_every_model_takes_simultaneous_steps_with_pacgan_batch_norm(model, params):
    data = {"name": "ring8"} if model == "mlp" else {"name": "digits", "size": 8}
    doc = {"suite": {"name": "t", "seeds": [0]},
           "defaults": {"data": data, "model": {"name": model, **params, "pack": 2}, "loss": {"name": "ns"},
                        "train": {"batch_size": 8, "updates": "simultaneous", "bn_stats": "pacgan"}}}
    torch.manual_seed(0)
    gan = build_gan(parse_suite(doc).runs[0])
    bns = [m for m in gan.G.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    before = [bn.running_mean.clone() for bn in bns]
    for _ in range(2):
        stats = train_step(gan, log=True)
    assert all(torch.isfinite(torch.tensor(v)) for v in stats.values())
    assert bns and all(not torch.equal(bn.running_mean, b) for bn, b in zip(bns, before))  # 1d and 2d layers
    assert all(bn.eps == 1e-4 and bn.momentum == 0.0 for bn in bns)


def test_the_population_refresh_is_pacgans_monitor_pass_on_its_own_stream(float64):
    from ganbench.train import refresh_generator, refresh_population
    run = simultaneous(model={"pack": 2, "hidden": 3, "depth": 1}, bn_stats="pacgan", ema=0.9)
    torch.manual_seed(0)
    gan = build_gan(run)
    bn, linear, train_rng = gan.G.net[1], copy.deepcopy(gan.G.net[0]), gan.generator.get_state()
    weights = [p.detach().clone() for p in gan.G.parameters()]
    mean, std = bn.running_mean.clone(), (bn.running_var + bn.eps).sqrt()
    gen = refresh_generator(run.seed, 40, torch.device("cpu"))
    for _ in range(50):  # by hand: 50 batches of 2 x 32 latents, each moving the population by 0.05
        h = [linear(c).detach() for c in gan.G.sample_latent(64, gen).chunk(2)]
        mean = 0.95 * mean + 0.05 * (h[0].mean(0) + h[1].mean(0)) / 2
        std = 0.95 * std + 0.05 * ((h[0].var(0, correction=0) + 1e-4).sqrt() + (h[1].var(0, correction=0) + 1e-4).sqrt()) / 2
    gan.G.eval()
    refresh_population(gan, run.seed, 40)
    assert not gan.G.training  # left as it was
    torch.testing.assert_close(bn.running_mean, mean, rtol=0, atol=1e-13)
    torch.testing.assert_close(bn.running_var, std ** 2 - 1e-4, rtol=0, atol=1e-13)
    assert torch.equal(gan.ema.net[1].running_var, bn.running_var)
    assert all(torch.equal(a, b) for a, b in zip(weights, gan.G.parameters()))
    assert torch.equal(gan.generator.get_state(), train_rng)  # training draws nothing for it


@pytest.mark.parametrize("bn_stats, refreshed", [("pacgan", [20, 40, 60]), ("torch", [])])
def test_the_population_is_refreshed_before_each_evaluation_and_at_the_end(tmp_path, monkeypatch, bn_stats,
                                                                          refreshed):
    import ganbench.train as train_module
    calls = []
    inner = train_module.refresh_population
    monkeypatch.setattr(train_module, "refresh_population", lambda gan, seed, step: (calls.append(step),
                                                                                     inner(gan, seed, step)))
    run = simultaneous(steps=60, bn_stats=bn_stats)
    run = dataclasses.replace(run, eval=dataclasses.replace(run.eval, every=20))
    seen = []
    train(run, tmp_path / "evaluated", evaluator=lambda step, G: seen.append((step, calls[-1:])) or {})
    assert calls == refreshed
    assert seen == [(step, [step] if refreshed else []) for step in (20, 40, 60)]  # each evaluation after its own
    train(run, tmp_path / "plain")  # no evaluator: only the end's refresh
    assert calls == refreshed + refreshed[-1:]
    a, b = load_checkpoint(tmp_path / "evaluated/checkpoint.pt"), load_checkpoint(tmp_path / "plain/checkpoint.pt")
    statistics = ("running_mean", "running_var", "num_batches_tracked")
    assert all(torch.equal(a[part][k], b[part][k]) for part in ("G", "D") for k in a[part]  # training untouched
               if not k.endswith(statistics))
