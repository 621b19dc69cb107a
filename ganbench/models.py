"""Generator / discriminator pairs by name: ``build_models(name, data_shape, **params) -> (G, D)``.

Every G has ``z_dim``, ``latent`` ("normal": N(0, I); "uniform": U(-1, 1)) and ``sample_latent(n, generator)``
(drawn on the generator's device); ``G(z)`` is ``[n, *data_shape]``, tanh-squashed for images and linear for
points. Every D returns ``DOut(score [n] raw, features [n, F])`` where ``features`` are the flattened
penultimate activations and ``score`` a linear read-out of them (the 4x4 "conv to 1" of DCGAN is exactly a
linear layer on the flattened 4x4 map, so it is written as one).

Initialisation draws from torch's global RNG (the trainer seeds it): conv models use the DCGAN scheme
(conv/linear weights N(0, 0.02), batch-norm scales N(1, 0.02), biases 0); ``mlp`` keeps torch's defaults
unless ``init = "pacgan"`` (PacGAN's code: every linear weight N(0, 0.02²), biases 0, batch norm 1 and 0).

``pack = m`` (any model, PacGAN, Lin et al. 2018): D judges m samples at once, joined along their first
axis (features of points, channels of images), so D is built for shape ``(m·d0, d1, ...)``; ``pack_samples``
joins a batch of m·n samples into n packed inputs and ``generate`` applies G chunk by chunk, as PacGAN's
code applies its decoder to each of the m latent batches. ``D.pack`` tells the trainer m.
``spectral_norm=true`` wraps every conv/linear layer of D in ``torch.nn.utils.parametrizations.spectral_norm``
(after initialisation, so the init is that of the unnormalised weight).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from .losses import DOut
from .registry import ConfigError, Registry

MODELS: Registry[tuple["Generator", "Discriminator"]] = Registry("model")
LATENTS = ("normal", "uniform")
MLP_INITS = ("torch", "pacgan")


def build_models(name: str, data_shape: Sequence[int], **params: Any) -> tuple["Generator", "Discriminator"]:
    """Build the (G, D) pair ``name`` for samples of shape ``data_shape``; bad names/params raise ConfigError.

    ``pack`` (default 1), a parameter of every model, builds D for m packed samples and sets ``D.pack``.
    """
    pack, params = split_pack(name, params)
    MODELS.check_params(name, params, skip=("data_shape",))
    shape = tuple(data_shape)
    if not shape or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape):
        raise ConfigError(f"model {name!r}: data_shape must be positive ints, got {data_shape!r}")
    G, D = MODELS.build(name, shape, **params)
    if pack > 1:  # the same factory for m samples joined along the first axis; its G is not used
        _, D = MODELS.build(name, (shape[0] * pack, *shape[1:]), **params)
    D.pack = pack
    return G, D


def split_pack(name: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(m, the other parameters) of a model's parameters; ``pack`` must be an int >= 1 (1: no packing)."""
    rest = dict(params)
    pack = rest.pop("pack", 1)
    if isinstance(pack, bool) or not isinstance(pack, int) or pack < 1:
        raise ConfigError(f"model {name!r}: pack must be an int >= 1 (samples D judges together; 1: no packing), "
                          f"got {pack!r}")
    return pack, rest


def pack_samples(x: torch.Tensor, m: int, sample_dim: int = 0) -> torch.Tensor:
    """m·n samples -> n packed inputs: packed input i joins samples i, n+i, ..., (m-1)n+i (chunk j of the batch
    is the j-th of PacGAN's m batches) along the axis after ``sample_dim`` (features / channels)."""
    if m == 1:
        return x
    n = x.shape[sample_dim]
    if n % m:
        raise ValueError(f"cannot pack {n} samples into groups of {m}: the number must be a multiple of pack")
    lead, rest = x.shape[:sample_dim], x.shape[sample_dim + 1:]
    chunks = x.reshape(*lead, m, n // m, *rest).transpose(sample_dim, sample_dim + 1)
    return chunks.reshape(*lead, n // m, m * rest[0], *rest[1:])


def generate(G: nn.Module, z: torch.Tensor, m: int, sample_dim: int = 0) -> torch.Tensor:
    """``G(z)`` for the m chunks of ``z`` one by one (batch norm in G sees each of PacGAN's m batches alone)."""
    if m == 1:
        return G(z)
    return torch.cat([G(c) for c in z.chunk(m, dim=sample_dim)], dim=sample_dim)


def device_of(module: nn.Module) -> torch.device:
    """Where a module's parameters live (CPU for a parameter-free wrapper)."""
    first = next(iter(module.parameters()), None)
    return first.device if first is not None else torch.device("cpu")


def sobol_latents(G: nn.Module, n: int, seed: int) -> torch.Tensor:
    """``[n, z_dim]`` quasi-random latents: a scrambled Sobol sequence (``torch.quasirandom.SobolEngine``, seeded)
    mapped to G's latent distribution, N(0, I) by the inverse normal CDF, U(-1, 1) by 2u - 1. As the FID∞
    reference (mchong6/FID_IS_infinity, botorch's NormalQMCEngine): u is squeezed by one float64 eps towards
    ½ first, so that a point on the cube's face maps to a finite z."""
    u = torch.quasirandom.SobolEngine(G.z_dim, scramble=True, seed=seed).draw(n, dtype=torch.float64)
    if G.latent == "uniform":
        z = 2 * u - 1
    else:
        v = 0.5 + (1 - torch.finfo(torch.float64).eps) * (u - 0.5)
        z = torch.erfinv(2 * v - 1) * math.sqrt(2)
    return z.to(torch.get_default_dtype())


class Generator(nn.Module):
    def __init__(self, net: nn.Module, z_dim: int, latent: str, out_shape: tuple[int, ...]):
        super().__init__()
        self.net, self.z_dim, self.latent, self.out_shape = net, z_dim, latent, out_shape

    def sample_latent(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``[n, z_dim]`` latents on ``generator``'s device."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"number of latents must be a positive int, got {n!r}")
        kw = {"generator": generator, "device": generator.device}
        if self.latent == "uniform":
            return torch.rand(n, self.z_dim, **kw) * 2 - 1
        return torch.randn(n, self.z_dim, **kw)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    def __init__(self, body: nn.Module, n_features: int):
        super().__init__()
        self.body, self.n_features = body, n_features
        self.head = nn.Linear(n_features, 1)

    def forward(self, x: torch.Tensor) -> DOut:
        features = self.body(x).flatten(1)
        return DOut(self.head(features).squeeze(1), features)


class Maxout(nn.Module):
    """Linear layer to ``units * pieces`` outputs, then the max over each unit's pieces (Goodfellow et al. 2013)."""

    def __init__(self, d_in: int, units: int, pieces: int):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(d_in, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(x.shape[0], self.units, self.pieces).amax(-1)


# ---------------------------------------------------------------- shared checks and finishing touches

def _check_int(model: str, key: str, value: int, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"model {model!r}: {key} must be an int >= {minimum}, got {value!r}")
    return value


def _check_latent(model: str, latent: str) -> str:
    if latent not in LATENTS:
        raise ConfigError(f"model {model!r}: latent must be one of {', '.join(LATENTS)}, got {latent!r}")
    return latent


def _d_batch_norm(model: str, batch_norm: bool, d_batch_norm: Any) -> bool:
    if d_batch_norm is None:
        return batch_norm
    if not isinstance(d_batch_norm, bool):
        raise ConfigError(f"model {model!r}: d_batch_norm must be true, false or unset, got {d_batch_norm!r}")
    return d_batch_norm


def _image_shape(model: str, shape: tuple[int, ...], ok: Any, accepted: str) -> tuple[int, int]:
    """(channels, side) of a square image shape whose side passes ``ok``."""
    if len(shape) != 3:
        raise ConfigError(f"model {model!r} needs image data (C, H, W), got shape {shape}; use 'mlp' for points")
    c, h, w = shape
    if h != w or not ok(h):
        raise ConfigError(f"model {model!r}: image size {h}x{w} is not supported; accepted square sizes: {accepted}")
    return c, h


def _dcgan_init(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def _pacgan_init(module: nn.Module) -> None:
    # PacGAN's blocks code: IsotropicGaussian(0.02) weights and Constant(0) biases on every linear map (the
    # maxout pieces included); its batch norms start at scale 1, shift 0, torch's default too.
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _apply_spectral_norm(D: nn.Module) -> None:
    for m in list(D.modules()):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            _spectral_norm(m)


def _finish(G: Generator, D: Discriminator, dcgan_init: bool, spectral_norm: bool) -> tuple[Generator, Discriminator]:
    if dcgan_init:
        _dcgan_init(G)
        _dcgan_init(D)
    if spectral_norm:
        _apply_spectral_norm(D)
    return G, D


def _bn2d(on: bool, ch: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(ch)] if on else []


def _bn1d(on: bool, ch: int) -> list[nn.Module]:
    return [nn.BatchNorm1d(ch)] if on else []


# ---------------------------------------------------------------- models

@MODELS.register("mlp", "MLP pair for 2-D points (PacGAN: G 4x400 ReLU+BN; optional maxout D)")
def mlp(data_shape: tuple[int, ...], hidden: int = 400, depth: int = 4, z_dim: int = 2, batch_norm: bool = True,
        d_hidden: int | None = None, d_depth: int | None = None, d_maxout: int = 0, spectral_norm: bool = False,
        latent: str = "normal", init: str = "torch") -> tuple[Generator, Discriminator]:
    """G: ``depth`` x [Linear(hidden), BN, ReLU] then a linear output; D: ``d_depth`` x [Linear, LeakyReLU 0.2]
    (or maxout with ``d_maxout`` pieces) then a linear score. D has no batch norm (per-sample penalties need
    per-sample outputs). PacGAN's exact setting: ``d_hidden=200, d_depth=3, d_maxout=5, init="pacgan"``.
    ``init``: "torch" (PyTorch's defaults) or "pacgan" (weights N(0, 0.02²), biases 0).
    """
    if init not in MLP_INITS:
        raise ConfigError(f"model 'mlp': init must be one of {', '.join(MLP_INITS)}, got {init!r}")
    if len(data_shape) != 1:
        raise ConfigError(f"model 'mlp' needs flat samples such as 2-D points, got shape {data_shape}")
    dim = data_shape[0]
    for key, value in (("hidden", hidden), ("depth", depth), ("z_dim", z_dim)):
        _check_int("mlp", key, value)
    d_hidden = _check_int("mlp", "d_hidden", hidden if d_hidden is None else d_hidden)
    d_depth = _check_int("mlp", "d_depth", depth if d_depth is None else d_depth)
    if d_maxout == 1 or d_maxout < 0:
        raise ConfigError(f"model 'mlp': d_maxout must be 0 (LeakyReLU) or >= 2 pieces, got {d_maxout!r}")
    g_layers: list[nn.Module] = []
    width = z_dim
    for _ in range(depth):
        # PacGAN drops the bias before batch norm: BN's shift makes it redundant.
        g_layers += [nn.Linear(width, hidden, bias=not batch_norm), *_bn1d(batch_norm, hidden), nn.ReLU()]
        width = hidden
    g_layers.append(nn.Linear(width, dim))
    d_layers: list[nn.Module] = []
    width = dim
    for _ in range(d_depth):
        d_layers += [Maxout(width, d_hidden, d_maxout)] if d_maxout else [nn.Linear(width, d_hidden), nn.LeakyReLU(0.2)]
        width = d_hidden
    G = Generator(nn.Sequential(*g_layers), z_dim, _check_latent("mlp", latent), data_shape)
    D = Discriminator(nn.Sequential(*d_layers), d_hidden)
    if init == "pacgan":
        _pacgan_init(G)
        _pacgan_init(D)
    return _finish(G, D, False, spectral_norm)


@MODELS.register("dcgan", "DCGAN (Radford et al. 2016) for square power-of-two images >= 8x8, any channels")
def dcgan(data_shape: tuple[int, ...], z_dim: int = 100, ngf: int = 64, ndf: int = 64, batch_norm: bool = True,
          d_batch_norm: bool | None = None, spectral_norm: bool = False,
          latent: str = "normal") -> tuple[Generator, Discriminator]:
    """G: z -> 4x4 (deconv 4, stride 1), then deconv 4/2 doubling the side and halving channels down to ``ngf``,
    last deconv to C and tanh; D mirrors it with conv 4/2 and LeakyReLU 0.2 down to 4x4 (no BN on the first).
    ``d_batch_norm`` defaults to ``batch_norm``; turn it off for gradient-penalty losses.
    """
    c, side = _image_shape("dcgan", data_shape, lambda s: s >= 8 and s & (s - 1) == 0, "8, 16, 32, 64, 128, ...")
    for key, value in (("z_dim", z_dim), ("ngf", ngf), ("ndf", ndf)):
        _check_int("dcgan", key, value)
    d_bn = _d_batch_norm("dcgan", batch_norm, d_batch_norm)
    n_up = side.bit_length() - 3  # doublings from 4x4 to side x side
    ch = ngf * 2 ** (n_up - 1)
    g_layers: list[nn.Module] = [nn.Unflatten(1, (z_dim, 1, 1)),
                                 nn.ConvTranspose2d(z_dim, ch, 4, 1, 0, bias=not batch_norm),
                                 *_bn2d(batch_norm, ch), nn.ReLU()]
    for _ in range(n_up - 1):
        g_layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=not batch_norm), *_bn2d(batch_norm, ch // 2),
                     nn.ReLU()]
        ch //= 2
    g_layers += [nn.ConvTranspose2d(ch, c, 4, 2, 1), nn.Tanh()]
    d_layers: list[nn.Module] = [nn.Conv2d(c, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
    ch = ndf
    for _ in range(n_up - 1):
        d_layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=not d_bn), *_bn2d(d_bn, ch * 2), nn.LeakyReLU(0.2)]
        ch *= 2
    G = Generator(nn.Sequential(*g_layers), z_dim, _check_latent("dcgan", latent), data_shape)
    return _finish(G, Discriminator(nn.Sequential(*d_layers), ch * 16), True, spectral_norm)


@MODELS.register("infogan", "InfoGAN-style pair of Lucic et al. 2018 (z 64 ~ U(-1,1)), sides divisible by 4")
def infogan(data_shape: tuple[int, ...], z_dim: int = 64, batch_norm: bool = True, d_batch_norm: bool | None = None,
            spectral_norm: bool = False, latent: str = "uniform") -> tuple[Generator, Discriminator]:
    """G: FC1024-BN-ReLU, FC 128·(h/4)·(w/4)-BN-ReLU, deconv 64 (4/2)-BN-ReLU, deconv C (4/2), tanh.
    D: conv 64 (4/2)-LReLU, conv 128 (4/2)-BN-LReLU, FC1024-BN-LReLU (the features), FC1; LeakyReLU 0.2.
    BN after FC1024 follows compare_gan's ``d_bn3``; note compare_gan's G uses LeakyReLU where the paper
    says ReLU (ReLU here). ``d_batch_norm`` (default ``batch_norm``) switches D's batch norms.
    """
    c, side = _image_shape("infogan", data_shape, lambda s: s >= 8 and s % 4 == 0,
                           "multiples of 4 from 8 (e.g. 8, 16, 28, 32, 64)")
    _check_int("infogan", "z_dim", z_dim)
    d_bn = _d_batch_norm("infogan", batch_norm, d_batch_norm)
    q = side // 4
    G = Generator(nn.Sequential(
        nn.Linear(z_dim, 1024, bias=not batch_norm), *_bn1d(batch_norm, 1024), nn.ReLU(),
        nn.Linear(1024, 128 * q * q, bias=not batch_norm), *_bn1d(batch_norm, 128 * q * q), nn.ReLU(),
        nn.Unflatten(1, (128, q, q)),
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=not batch_norm), *_bn2d(batch_norm, 64), nn.ReLU(),
        nn.ConvTranspose2d(64, c, 4, 2, 1), nn.Tanh(),
    ), z_dim, _check_latent("infogan", latent), data_shape)
    body = nn.Sequential(
        nn.Conv2d(c, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1, bias=not d_bn), *_bn2d(d_bn, 128), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(128 * q * q, 1024, bias=not d_bn), *_bn1d(d_bn, 1024), nn.LeakyReLU(0.2),
    )
    return _finish(G, Discriminator(body, 1024), True, spectral_norm)


@MODELS.register("sndcgan", "standard CNN of Miyato et al. 2018 (SN-GAN), spectral norm on D, sides multiple of 8")
def sndcgan(data_shape: tuple[int, ...], z_dim: int = 128, batch_norm: bool = True, spectral_norm: bool = True,
            latent: str = "normal") -> tuple[Generator, Discriminator]:
    """Table 3 of Miyato et al. with the 4x4 start generalised to side/8 (32 -> 4, 48 -> 6, 64 -> 8).
    G: dense -> (side/8)²·512 (BN, ReLU as in chainer-gan-lib), deconv 4/2 256, 128, 64 (BN, ReLU), conv 3x3 -> C,
    tanh. D: conv 3/1 64, 4/2 64, 3/1 128, 4/2 128, 3/1 256, 4/2 256, 3/1 512 (LeakyReLU 0.1), dense -> 1.
    """
    c, side = _image_shape("sndcgan", data_shape, lambda s: s >= 8 and s % 8 == 0,
                           "multiples of 8 (e.g. 32, 48, 64)")
    _check_int("sndcgan", "z_dim", z_dim)
    m = side // 8
    g_layers: list[nn.Module] = [nn.Linear(z_dim, m * m * 512, bias=not batch_norm),
                                 *_bn1d(batch_norm, m * m * 512), nn.ReLU(), nn.Unflatten(1, (512, m, m))]
    for ch_in, ch_out in ((512, 256), (256, 128), (128, 64)):
        g_layers += [nn.ConvTranspose2d(ch_in, ch_out, 4, 2, 1, bias=not batch_norm), *_bn2d(batch_norm, ch_out),
                     nn.ReLU()]
    g_layers += [nn.Conv2d(64, c, 3, 1, 1), nn.Tanh()]
    d_layers: list[nn.Module] = []
    plan = ((c, 64, 3, 1), (64, 64, 4, 2), (64, 128, 3, 1), (128, 128, 4, 2), (128, 256, 3, 1), (256, 256, 4, 2),
            (256, 512, 3, 1))
    for ch_in, ch_out, k, stride in plan:
        d_layers += [nn.Conv2d(ch_in, ch_out, k, stride, 1), nn.LeakyReLU(0.1)]
    G = Generator(nn.Sequential(*g_layers), z_dim, _check_latent("sndcgan", latent), data_shape)
    return _finish(G, Discriminator(nn.Sequential(*d_layers), 512 * m * m), True, spectral_norm)
