"""Tests for ganbench.models: every model at every supported size runs forward and backward, outputs have
the contract's shapes, architectures match their papers, spectral norm really applies, errors are exact."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from ganbench.losses import DOut
from ganbench.models import MODELS, Maxout, build_models
from ganbench.registry import ConfigError

SUPPORTED = [
    ("mlp", (2,)),
    ("dcgan", (1, 8, 8)), ("dcgan", (3, 16, 16)), ("dcgan", (3, 32, 32)), ("dcgan", (1, 64, 64)),
    ("infogan", (1, 8, 8)), ("infogan", (1, 16, 16)), ("infogan", (1, 28, 28)), ("infogan", (3, 32, 32)),
    pytest.param("infogan", (3, 64, 64), marks=pytest.mark.slow),  # 67M parameters: ~3 s on one core
    ("sndcgan", (3, 32, 32)), ("sndcgan", (3, 48, 48)), ("sndcgan", (1, 64, 64)), ("sndcgan", (3, 8, 8)),
]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def layers(module: nn.Module, kind) -> list[nn.Module]:
    return [m for m in module.modules() if isinstance(m, kind)]


def test_registry_lists_every_model_with_a_one_line_description():
    assert set(MODELS.names()) == {"mlp", "dcgan", "infogan", "sndcgan"}
    for entry in MODELS.entries():
        assert entry.description and "\n" not in entry.description


def _id(case) -> str:
    name, shape = case.values if hasattr(case, "values") else case
    return f"{name}-{'x'.join(map(str, shape))}"


@pytest.mark.parametrize("name,shape", SUPPORTED, ids=[_id(c) for c in SUPPORTED])
def test_forward_backward_shapes_and_gradients(name, shape):
    torch.manual_seed(0)
    G, D = build_models(name, shape)
    n = 3
    z = G.sample_latent(n, gen())
    assert z.shape == (n, G.z_dim)
    x = G(z)
    assert x.shape == (n, *shape)
    if len(shape) == 3:
        assert x.abs().max() <= 1  # tanh output for images
    out = D(x)
    assert isinstance(out, DOut)
    assert out.score.shape == (n,) and out.features.shape == (n, D.n_features)
    (out.score.sum() + out.features.sum()).backward()
    for net in (G, D):
        missing = [k for k, p in net.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
        assert not missing, f"no gradient for {missing}"


def test_score_is_linear_readout_of_features():
    torch.manual_seed(0)
    _, D = build_models("dcgan", (1, 8, 8))
    out = D(torch.rand(4, 1, 8, 8) * 2 - 1)
    torch.testing.assert_close(out.score, out.features @ D.head.weight[0] + D.head.bias[0])


def test_latents_normal_and_uniform():
    torch.manual_seed(0)
    G, _ = build_models("dcgan", (1, 8, 8), z_dim=16)
    assert G.latent == "normal"
    z = G.sample_latent(20_000, gen(1))
    assert abs(z.mean().item()) < 0.01 and abs(z.std().item() - 1) < 0.01
    assert torch.equal(z, G.sample_latent(20_000, gen(1)))
    G, _ = build_models("infogan", (1, 8, 8))
    assert G.latent == "uniform" and G.z_dim == 64  # Lucic et al.: z 64 ~ U(-1, 1)
    u = G.sample_latent(20_000, gen(1))
    assert u.min() >= -1 and u.max() < 1
    assert abs(u.std().item() - 3 ** -0.5) < 0.01  # std of U(-1, 1) is 1/sqrt(3)
    G, _ = build_models("mlp", (2,), latent="uniform")
    assert G.sample_latent(5, gen()).abs().max() < 1
    with pytest.raises(ValueError, match=r"positive int, got 0"):
        G.sample_latent(0, gen())


def test_init_is_dcgan_and_deterministic():
    torch.manual_seed(0)
    G, D = build_models("dcgan", (3, 32, 32))
    w = layers(G, nn.ConvTranspose2d)[1].weight  # 256 x 128 x 4 x 4 values
    assert abs(w.std().item() - 0.02) < 0.0005 and abs(w.mean().item()) < 0.0005
    bn = layers(G, nn.BatchNorm2d)[0]
    assert abs(bn.weight.mean().item() - 1) < 0.01 and bn.bias.abs().max() == 0
    assert layers(D, nn.Conv2d)[0].bias.abs().max() == 0
    torch.manual_seed(0)
    G2, D2 = build_models("dcgan", (3, 32, 32))
    for a, b in ((G, G2), (D, D2)):
        for (k, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items()):
            assert torch.equal(p, q), k


# ---------------------------------------------------------------- architectures

def test_mlp_pacgan_generator_and_maxout_discriminator():
    G, D = build_models("mlp", (2,), d_hidden=200, d_depth=3, d_maxout=5)
    assert G.z_dim == 2
    assert len(layers(G, nn.BatchNorm1d)) == 4 and len(layers(G, nn.ReLU)) == 4
    assert [m.out_features for m in layers(G, nn.Linear)] == [400, 400, 400, 400, 2]
    assert isinstance(G.net[-1], nn.Linear)  # linear output for points
    maxouts = layers(D, Maxout)
    assert len(maxouts) == 3 and all(m.units == 200 and m.pieces == 5 for m in maxouts)
    assert not layers(D, nn.BatchNorm1d) and D(torch.randn(7, 2)).features.shape == (7, 200)
    G, D = build_models("mlp", (2,), batch_norm=False, hidden=16, depth=2)
    assert not layers(G, nn.BatchNorm1d) and len(layers(D, nn.LeakyReLU)) == 2 and D.n_features == 16


def test_maxout_by_hand():
    m = Maxout(1, 2, 3)
    with torch.no_grad():
        m.linear.weight.copy_(torch.tensor([[1.0], [2.0], [3.0], [-1.0], [-2.0], [-3.0]]))
        m.linear.bias.zero_()
    # unit 0 = max(x, 2x, 3x), unit 1 = max(-x, -2x, -3x)
    assert m(torch.tensor([[1.0], [-1.0]])).tolist() == [[3.0, -1.0], [-1.0, 3.0]]


@pytest.mark.parametrize("side,n_deconv,n_conv", [(8, 2, 1), (32, 4, 3), (64, 5, 4)])
def test_dcgan_depth_follows_size(side, n_deconv, n_conv):
    G, D = build_models("dcgan", (1, side, side))
    deconvs = layers(G, nn.ConvTranspose2d)
    assert len(deconvs) == n_deconv and deconvs[0].kernel_size == (4, 4) and deconvs[0].stride == (1, 1)
    assert deconvs[0].out_channels == 64 * 2 ** (n_deconv - 2) and deconvs[-1].out_channels == 1
    assert len(layers(D, nn.Conv2d)) == n_conv and D.n_features == 64 * 2 ** (n_conv - 1) * 16
    assert len(layers(D, nn.BatchNorm2d)) == n_conv - 1  # none on D's first layer
    _, D = build_models("dcgan", (1, side, side), d_batch_norm=False)
    assert not layers(D, nn.BatchNorm2d)


def test_infogan_matches_lucic_et_al():
    G, D = build_models("infogan", (1, 28, 28))
    assert [m.out_features for m in layers(G, nn.Linear)] == [1024, 128 * 7 * 7]
    assert [(m.in_channels, m.out_channels) for m in layers(G, nn.ConvTranspose2d)] == [(128, 64), (64, 1)]
    assert [(m.out_channels, m.kernel_size, m.stride) for m in layers(D, nn.Conv2d)] == [
        (64, (4, 4), (2, 2)), (128, (4, 4), (2, 2))]
    assert len(layers(D, nn.BatchNorm2d)) == 1 and len(layers(D, nn.BatchNorm1d)) == 1
    assert all(m.negative_slope == 0.2 for m in layers(D, nn.LeakyReLU)) and D.n_features == 1024
    assert [m.out_features for m in layers(D, nn.Linear)] == [1024, 1]


def test_sndcgan_matches_miyato_table_3():
    G, D = build_models("sndcgan", (3, 32, 32))
    assert G.z_dim == 128 and layers(G, nn.Linear)[0].out_features == 4 * 4 * 512
    assert [m.out_channels for m in layers(G, nn.ConvTranspose2d)] == [256, 128, 64]
    last = layers(G, nn.Conv2d)[-1]
    assert last.kernel_size == (3, 3) and last.out_channels == 3
    convs = layers(D, nn.Conv2d)
    assert [(m.out_channels, m.kernel_size[0], m.stride[0]) for m in convs] == [
        (64, 3, 1), (64, 4, 2), (128, 3, 1), (128, 4, 2), (256, 3, 1), (256, 4, 2), (512, 3, 1)]
    assert all(m.negative_slope == 0.1 for m in layers(D, nn.LeakyReLU)) and not layers(D, nn.BatchNorm2d)
    assert D.n_features == 512 * 4 * 4
    assert build_models("sndcgan", (3, 48, 48))[1].n_features == 512 * 6 * 6


# ---------------------------------------------------------------- spectral norm

def test_spectral_norm_option_parametrizes_every_d_layer():
    on = {"spectral_norm": True}
    for name, shape, kw in (("dcgan", (1, 16, 16), on), ("infogan", (1, 16, 16), on),
                            ("mlp", (2,), {**on, "d_maxout": 3}), ("sndcgan", (3, 32, 32), {})):
        G, D = build_models(name, shape, **kw)
        weighted = layers(D, (nn.Conv2d, nn.Linear))
        assert weighted and all(parametrize.is_parametrized(m, "weight") for m in weighted), name
        assert not any(parametrize.is_parametrized(m) for m in G.modules()), name
    _, D = build_models("sndcgan", (3, 32, 32), spectral_norm=False)
    assert not any(parametrize.is_parametrized(m) for m in D.modules())
    _, D = build_models("dcgan", (1, 16, 16))
    assert not any(parametrize.is_parametrized(m) for m in D.modules())


def test_spectral_norm_bounds_the_largest_singular_value():
    torch.manual_seed(0)
    _, D = build_models("mlp", (2,), hidden=32, depth=2, spectral_norm=True)
    for _ in range(30):  # each training-mode forward runs one power iteration
        D(torch.randn(8, 2))
    for m in layers(D, nn.Linear):
        assert abs(torch.linalg.matrix_norm(m.weight.detach(), ord=2).item() - 1) < 1e-3


# ---------------------------------------------------------------- errors

def test_bad_names_params_and_shapes_are_config_errors():
    with pytest.raises(ConfigError, match=r"unknown model 'dcgam' \(did you mean 'dcgan'\?\)"):
        build_models("dcgam", (1, 8, 8))
    with pytest.raises(ConfigError, match=r"unknown parameter 'hiden' for model 'mlp' \(did you mean 'hidden'\?\)"):
        build_models("mlp", (2,), hiden=10)
    with pytest.raises(ConfigError, match=r"model 'dcgan' parameter 'z_dim' must be int, got str"):
        build_models("dcgan", (1, 8, 8), z_dim="big")
    with pytest.raises(ConfigError, match=r"model 'dcgan': z_dim must be an int >= 1, got 0"):
        build_models("dcgan", (1, 8, 8), z_dim=0)
    with pytest.raises(ConfigError, match=r"model 'mlp': d_hidden must be an int >= 1, got 'x'"):
        build_models("mlp", (2,), d_hidden="x")
    with pytest.raises(ConfigError, match=r"d_maxout must be 0 \(LeakyReLU\) or >= 2 pieces, got 1"):
        build_models("mlp", (2,), d_maxout=1)
    with pytest.raises(ConfigError, match=r"latent must be one of normal, uniform, got 'cauchy'"):
        build_models("infogan", (1, 8, 8), latent="cauchy")
    with pytest.raises(ConfigError, match=r"d_batch_norm must be true, false or unset, got 'yes'"):
        build_models("infogan", (1, 8, 8), d_batch_norm="yes")


@pytest.mark.parametrize("name,shape,message", [
    ("dcgan", (1, 28, 28), r"model 'dcgan': image size 28x28 is not supported; accepted square sizes: 8, 16, 32, 64"),
    ("dcgan", (1, 4, 4), r"image size 4x4 is not supported"),
    ("dcgan", (3, 32, 16), r"image size 32x16 is not supported"),
    ("infogan", (1, 30, 30), r"accepted square sizes: multiples of 4 from 8 \(e.g. 8, 16, 28, 32, 64\)"),
    ("sndcgan", (3, 28, 28), r"model 'sndcgan': image size 28x28 .*multiples of 8 \(e.g. 32, 48, 64\)"),
    ("dcgan", (2,), r"model 'dcgan' needs image data \(C, H, W\), got shape \(2,\); use 'mlp' for points"),
    ("mlp", (1, 8, 8), r"model 'mlp' needs flat samples such as 2-D points, got shape \(1, 8, 8\)"),
    ("mlp", (0,), r"model 'mlp': data_shape must be positive ints, got \(0,\)"),
])
def test_unsupported_shapes_name_accepted_values(name, shape, message):
    with pytest.raises(ConfigError, match=message):
        build_models(name, shape)


# ---------------------------------------------------------------- PacGAN packing and initialisation

def test_pack_samples_joins_chunk_i_of_each_batch_along_features():
    from ganbench.models import pack_samples
    x = torch.arange(6.0).view(6, 1)  # two batches of three: [0, 1, 2] and [3, 4, 5]
    assert pack_samples(x, 2).tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    assert pack_samples(x, 3).tolist() == [[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]]
    assert pack_samples(x, 1) is x
    images = torch.arange(4 * 3 * 2 * 2.0).view(4, 3, 2, 2)
    packed = pack_samples(images, 2)  # channels: the three of image i, then the three of image 2 + i
    assert packed.shape == (2, 6, 2, 2)
    assert torch.equal(packed[1], torch.cat([images[1], images[3]], dim=0))
    members = torch.stack([x, x + 10])  # the batched trainer's [K, N, ...]: packed within each member
    assert pack_samples(members, 2, sample_dim=1).tolist()[1] == [[10.0, 13.0], [11.0, 14.0], [12.0, 15.0]]
    with pytest.raises(ValueError, match="cannot pack 6 samples into groups of 4: the number must be a multiple"):
        pack_samples(x, 4)


@pytest.mark.parametrize("name,shape,first", [("mlp", (2,), nn.Linear), ("dcgan", (3, 16, 16), nn.Conv2d),
                                               ("infogan", (1, 8, 8), nn.Conv2d)])
def test_packed_discriminator_takes_m_samples_joined_along_the_first_axis(name, shape, first):
    params = {"ngf": 8, "ndf": 8} if name == "dcgan" else {}
    torch.manual_seed(0)
    G, D = build_models(name, shape, pack=4, **params)
    assert D.pack == 4 and G(G.sample_latent(8, gen())).shape == (8, *shape)  # G still makes single samples
    layer = layers(D, first)[0]
    assert (layer.in_features if first is nn.Linear else layer.in_channels) == 4 * shape[0]
    assert D(torch.zeros(3, 4 * shape[0], *shape[1:])).score.shape == (3,)
    assert build_models(name, shape, **params)[1].pack == 1


@pytest.mark.parametrize("pack", [0, -1, 1.5, True, "2"])
def test_bad_pack_is_a_one_line_error(pack):
    with pytest.raises(ConfigError, match=r"model 'mlp': pack must be an int >= 1 \(samples D judges together"):
        build_models("mlp", (2,), pack=pack)


def test_generate_runs_g_on_each_chunk_so_batch_norm_sees_each_batch_alone():
    from ganbench.models import generate
    torch.manual_seed(0)
    G, _ = build_models("mlp", (2,), hidden=8, depth=2)
    z = torch.randn(6, 2)
    assert torch.equal(generate(G, z, 2), torch.cat([G(z[:3]), G(z[3:])]))
    assert not torch.allclose(generate(G, z, 2), G(z))  # batch statistics over 3, not 6
    zk = torch.stack([z, z.flip(0)])  # [K, N, z]: chunks along the sample axis
    assert generate(lambda t: t * 2, zk, 3, sample_dim=1).shape == (2, 6, 2)


def test_pacgan_init_draws_linear_weights_from_n0_002_with_zero_biases():
    torch.manual_seed(0)
    G, D = build_models("mlp", (2,), hidden=400, depth=4, d_hidden=200, d_depth=3, d_maxout=5, init="pacgan")
    for net in (G, D):
        for lin in layers(net, nn.Linear):
            assert lin.weight.std().item() == pytest.approx(0.02, rel=0.1), lin
            assert abs(lin.weight.mean().item()) < 0.005
            assert lin.bias is None or torch.count_nonzero(lin.bias) == 0
    for bn in layers(G, nn.BatchNorm1d):
        assert torch.equal(bn.weight, torch.ones(400)) and torch.count_nonzero(bn.bias) == 0
    torch.manual_seed(0)
    default = build_models("mlp", (2,), hidden=400, depth=4, d_hidden=200, d_depth=3, d_maxout=5)[1]
    assert layers(default, nn.Linear)[0].weight.std().item() > 0.2  # torch's default: U(±1/√fan_in), fan_in 2
    with pytest.raises(ConfigError, match="model 'mlp': init must be one of torch, pacgan, got 'xavier'"):
        build_models("mlp", (2,), init="xavier")


@pytest.mark.parametrize("latent", ["normal", "uniform"])
def test_sobol_latents_map_a_scrambled_sobol_sequence_to_the_latent_distribution(latent):
    import scipy.stats
    from ganbench.models import sobol_latents
    torch.manual_seed(0)
    G, _ = build_models("mlp", (2,), hidden=8, depth=1, z_dim=5, latent=latent)
    z = sobol_latents(G, 256, seed=7)
    u = torch.quasirandom.SobolEngine(5, scramble=True, seed=7).draw(256, dtype=torch.float64).numpy()
    expected = scipy.stats.norm.ppf(u) if latent == "normal" else 2 * u - 1  # reference: inverse CDF / affine
    np.testing.assert_allclose(z.double().numpy(), expected, rtol=1e-6, atol=1e-6)
    assert torch.isfinite(z).all() and z.shape == (256, 5)
    assert torch.equal(sobol_latents(G, 256, seed=7), z) and not torch.equal(sobol_latents(G, 256, seed=8), z)
    # low discrepancy: each coordinate's 256 points fill the 256 equal-probability cells exactly once
    cells = np.floor(u * 256).astype(int)
    assert all(len(set(cells[:, j])) == 256 for j in range(5))
