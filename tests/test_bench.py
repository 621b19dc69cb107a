"""The step benchmark: option checks and skips, the hand-written reference (it must be the same algorithm,
or the overhead column means nothing), the staged step behind CUDA graphs, timing statistics, the table
and the CLI. CUDA-only paths are exercised here through their selection logic and error messages."""
from __future__ import annotations

import copy
import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
import torch

from ganbench import bench as B
from ganbench.cli import main
from ganbench.losses import get_loss
from ganbench.registry import ConfigError
from ganbench.train import train_step

TINY = {"mlp": {"hidden": 8, "depth": 2}, "dcgan": {"ngf": 4, "ndf": 4, "z_dim": 8}}
QUICK = B.BenchOptions(batch=8, repeats=3, warmup=1)


def make_gan(model: str, loss: str, batch: int = 8, double: bool = False, opts: B.BenchOptions = QUICK, **lp):
    ds = B.bench_dataset(model)
    gan = B.prepare_gan(B.bench_run(model, loss, batch, "cpu", TINY[model], lp), ds, opts)
    if double:
        gan.sample_real = lambda n, g: ds.sample(n, g).double()
    return gan


def all_params(G, D) -> list[torch.Tensor]:
    return [p.detach() for p in list(G.parameters()) + list(D.parameters())]


# ---------------------------------------------------------------- options, skips and errors

@pytest.mark.parametrize("change,message", [
    ({"batch": 0}, r"--batch must be an integer >= 1, got 0"),
    ({"repeats": 0}, r"--repeats must be an integer >= 1, got 0"),
    ({"warmup": -1}, r"--warmup must be an integer >= 0, got -1"),
    ({"threads": 0}, r"--threads must be an integer >= 1, got 0"),
    ({"device": "tpu"}, r"--device must be cpu or cuda, got 'tpu'"),
    ({"amp": "int8"}, r"--amp must be one of bf16, fp16, got 'int8'"),
    ({"amp": "fp16"}, r"--amp fp16 needs --device cuda \(CPU autocast runs bf16 only\)"),
    ({"cuda_graphs": True}, r"--cuda-graphs needs --device cuda"),
    ({"image_size": 0}, r"--image-size must be a positive integer, got 0"),
])
def test_bad_options_raise_one_line(change, message):
    with pytest.raises(ConfigError, match=message):
        B.check_options(dataclasses.replace(B.BenchOptions(), **change))


def test_cuda_requests_without_a_gpu_and_graphs_with_compile(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"--device cuda: no CUDA GPU is available .* use --device cpu"):
        B.check_options(B.BenchOptions(device="cuda"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # the checks a GPU machine would reach
    B.check_options(B.BenchOptions(device="cuda", amp="fp16", cuda_graphs=True))
    with pytest.raises(ConfigError, match=r"--cuda-graphs and --compile together are not supported"):
        B.check_options(B.BenchOptions(device="cuda", cuda_graphs=True, compile=True))


@pytest.mark.parametrize("model,loss,params,opts,reason", [
    ("mlp", "ns", {}, {"channels_last": True}, r"--channels-last applies to image models .* 'mlp' is not one"),
    ("dcgan", "ns", {}, {"channels_last": True}, None),
    ("dcgan", "wgan-gp", {}, {"cuda_graphs": True}, r"cannot capture the double backward .* loss 'wgan-gp'"),
    ("dcgan", "dragan", {}, {"cuda_graphs": True}, r"loss 'dragan'"),
    ("mlp", "ns", {"r1_gamma": 1.0}, {"cuda_graphs": True}, r"loss 'ns'"),
    ("mlp", "hinge", {}, {"cuda_graphs": True}, None),
    ("mlp", "wgan-gp", {}, {"compile": True}, r"torch.compile does not support the double backward"),
    ("mlp", "wgan", {}, {"compile": True}, None),
])
def test_skip_reasons(model, loss, params, opts, reason):
    got = B.skip_reason(model, get_loss(loss, **params), B.BenchOptions(**opts))
    if reason is None:
        assert got is None
    else:
        assert got is not None and re.search(reason, got), got


def test_datasets_per_model():
    assert B.bench_dataset("mlp").name == "ring8"
    assert B.bench_dataset("dcgan").shape == (1, 8, 8) and B.bench_dataset("dcgan").name == "digits"
    rnd = B.bench_dataset("sndcgan", image_size=16)
    x = rnd.sample(5, torch.Generator().manual_seed(0))
    assert rnd.shape == (3, 16, 16) and x.shape == (5, 3, 16, 16) and x.min() >= -1 and x.max() <= 1


# ---------------------------------------------------------------- the reference is the same algorithm

@pytest.mark.parametrize("model", ["mlp", "dcgan"])
@pytest.mark.parametrize("loss", B.REFERENCE_LOSSES)
def test_reference_loop_takes_the_same_steps_as_train_step(float64, model, loss):
    # float64: BCEWithLogits and softplus round alike, so even parameters whose gradient cancels exactly
    # (the D biases under wgan / ragan, which Adam would blow up from float32 noise) stay equal.
    gan = make_gan(model, loss, double=True)
    ref = B.reference_loop(gan)
    for _ in range(3):
        train_step(gan)
        B.reference_step(ref)
    for a, b in zip(all_params(gan.G, gan.D), all_params(ref.G, ref.D)):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-10)
    assert torch.equal(gan.generator.get_state(), ref.gen.get_state())  # the same draws, in the same order


def test_reference_covers_r1_r2_and_custom_lsgan_targets(float64):
    for loss, params in (("ns", {"r1_gamma": 2.0, "r2_gamma": 0.5}), ("lsgan", {"a": -1.0, "b": 1.0, "c": 0.0})):
        gan = make_gan("mlp", loss, double=True, **params)
        ref = B.reference_loop(gan)
        for _ in range(2):
            train_step(gan)
            B.reference_step(ref)
        for a, b in zip(all_params(gan.G, gan.D), all_params(ref.G, ref.D)):
            torch.testing.assert_close(b, a, rtol=0, atol=1e-10)


def test_no_reference_for_a_plugin_loss():
    gan = make_gan("mlp", "ns")
    gan.loss = dataclasses.replace(gan.loss, name="my-loss")
    with pytest.raises(ConfigError, match=r"no hand-written reference for loss 'my-loss'; references exist for: minimax"):
        B.reference_loop(gan)


# ---------------------------------------------------------------- the staged step behind CUDA graphs

@pytest.mark.parametrize("loss", ["ns", "wgan", "feature-matching", "ragan"])
def test_staged_step_is_train_step_with_the_draws_first(loss):
    a, b = make_gan("mlp", loss), make_gan("mlp", loss)
    for gan in (a, b):  # with an EMA of G, updated inside the staged part
        gan.ema, gan.ema_decay = copy.deepcopy(gan.G).requires_grad_(False), 0.9
    staged = B.StagedStep(b)
    for _ in range(3):
        sa, sb = train_step(a), staged()
        assert sb == {"d_loss": sa["d_loss"], "g_loss": sa["g_loss"]}
    for x, y in zip(all_params(a.G, a.D) + list(a.ema.parameters()), all_params(b.G, b.D) + list(b.ema.parameters())):
        assert torch.equal(x, y)


def test_staged_step_refuses_penalties_and_capture_needs_cuda():
    with pytest.raises(ConfigError, match=r"StagedStep: loss 'wgan-gp' has a gradient penalty"):
        B.StagedStep(make_gan("mlp", "wgan-gp"))
    with pytest.raises(ConfigError, match=r"CUDA graphs need a CUDA device, got cpu"):
        B.StagedStep(make_gan("mlp", "ns")).capture()


# ---------------------------------------------------------------- timing statistics

def test_median_and_iqr_by_hand():
    assert B.median_iqr(np.array([5.0, 1.0, 3.0, 2.0, 4.0])) == (3.0, 2.0)  # q25 = 2, q75 = 4 (linear)
    # positions 0.75 and 2.25 of the sorted values: q25 = 1 + 0.75·(2-1), q75 = 3 + 0.25·(10-3)
    assert B.median_iqr(np.array([1.0, 2.0, 3.0, 10.0])) == (2.5, 4.75 - 1.75)


def test_time_interleaved_alternates_the_order_after_warmup():
    calls: list[str] = []
    times = B.time_interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3, warmup=1)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]
    assert {k: v.shape for k, v in times.items()} == {"a": (3,), "b": (3,)} and all((v >= 0).all() for v in times.values())


def test_threads_are_restored_and_memory_is_read():
    before = torch.get_num_threads()
    with B.threads_set(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    kind = B.reset_peak_memory("cpu")
    assert "RSS" in kind and B.peak_memory_mb("cpu") > 1.0


# ---------------------------------------------------------------- the table and the CLI

def test_bench_table_has_both_loops_side_by_side():
    opts = dataclasses.replace(QUICK, image_size=16)  # dcgan on random 3x16x16 tensors
    df = B.bench(["mlp", "dcgan"], ["ns", "wgan-gp"], opts, TINY)
    assert list(df.columns) == B.COLUMNS and len(df) == 4 and (df.status == "ok").all()
    for _, row in df.iterrows():
        assert row.step_ms > 0 and row.reference_ms > 0 and row.iqr_ms >= 0
        assert row.samples_per_s == pytest.approx(8 / (row.step_ms / 1e3))
        assert row.overhead_pct == pytest.approx(100 * (row.step_ms / row.reference_ms - 1))
        assert row.n_critic == (5 if row.loss == "wgan-gp" else 1)


def test_unsupported_rows_are_marked_not_raised():
    opts = dataclasses.replace(QUICK, image_size=12, channels_last=True)
    df = B.bench(["mlp", "dcgan", "infogan"], ["ns"], opts, TINY)
    status = dict(zip(df.model, df.status))
    assert status["mlp"].startswith("skipped: --channels-last applies to image models")
    assert status["dcgan"].startswith("skipped: model 'dcgan': image size 12x12 is not supported")
    assert status["infogan"] == "ok"  # 12 is a multiple of 4; channels_last applies
    assert df.loc[df.model == "mlp", "step_ms"].isna().all()


def test_bf16_autocast_and_unknown_names():
    df = B.bench(["mlp"], ["hinge"], dataclasses.replace(QUICK, amp="bf16"), TINY)
    assert df.status.tolist() == ["ok"] and df.amp.tolist() == ["bf16"]
    with pytest.raises(ConfigError, match=r"--models: unknown model 'mpl' \(did you mean 'mlp'\?\)"):
        B.bench(["mpl"], ["ns"], QUICK)
    with pytest.raises(ConfigError, match=r"--losses: unknown loss 'hinje'"):
        B.bench(["mlp"], ["hinje"], QUICK)


def test_bench_batched_table():
    df = B.bench_batched(seeds=2, widths=[8, 16], batch=8, depth=2, repeats=2, warmup=1, threads=1)
    assert list(df.columns) == B.BATCHED_COLUMNS and df.width.tolist() == [8, 16]
    assert (df.speedup == df.sequential_ms / df.batched_ms).all() and (df.threads == 1).all()
    assert df.batched_steps_per_s.iloc[0] == pytest.approx(2 / (df.batched_ms.iloc[0] / 1e3))
    with pytest.raises(ConfigError, match=r"--batched-seeds must be an integer >= 1, got 0"):
        B.bench_batched(seeds=0)


def test_cli_prints_and_saves_the_table(tmp_path, capsys):
    out = tmp_path / "bench.csv"
    code = main(["bench", "--models", "mlp,dcgan", "--losses", "ns", "--batch", "8", "--repeats", "2",
                 "--warmup", "1", "--threads", "1", "--model-param", "mlp.hidden=8", "--model-param", "dcgan.ngf=4",
                 "--model-param", "dcgan.ndf=4", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "reference_ms" in printed and "overhead_pct" in printed and f"saved {out}" in printed
    df = pd.read_csv(out)
    assert df.model.tolist() == ["mlp", "dcgan"] and (df.status == "ok").all() and (df.threads == 1).all()


def test_cli_batched_mode(capsys):
    assert main(["bench", "--batched-seeds", "2", "--widths", "8", "--batch", "8", "--depth", "2",
                 "--repeats", "1", "--warmup", "0"]) == 0
    assert "speedup" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["--device", "cuda"], "no CUDA GPU is available"),
    (["--amp", "fp16"], "--amp fp16 needs --device cuda"),
    (["--model-param", "hidden=8"], "--model-param 'hidden=8': expected MODEL.KEY=VALUE"),
    (["--batched-seeds", "2", "--widths", "64,x"], "--widths must be comma-separated integers"),
    (["--models", "mlp", "--model-param", "mlp.hiden=8"], "--model-param: unknown parameter 'hiden' for model 'mlp'"),
    (["--models", "mlp", "--model-param", "dcgan.ngf=8"], "--model-param: model 'dcgan' is not among --models (mlp)"),
])
def test_cli_bad_input_exits_2_with_one_line(argv, message, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["bench", "--losses", "ns", "--repeats", "1", "--warmup", "0", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
