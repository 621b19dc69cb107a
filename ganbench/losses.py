"""The GAN loss zoo: every formula written once, here, with one sign convention.

D minimises ``d_loss``, G minimises ``g_loss``. ``r = D(x)`` are raw scores on
reals, ``f = D(G(z))`` raw scores on fakes (no sigmoid inside D), E is the mean
over the batch, ``sp(t) = softplus(t) = log(1 + e^t)``, so that
``-log σ(t) = sp(-t)`` and ``-log(1 - σ(t)) = sp(t)``.

=================  ==========================================  ==========================================
loss               d_loss                                      g_loss
=================  ==========================================  ==========================================
minimax            E sp(-r) + E sp(f)                           -E sp(f)          (= E log(1-σ(f)), saturating)
ns                 as minimax                                   E sp(-f)          (= -E log σ(f))
lsgan              ½E (r-b)² + ½E (f-a)²                        ½E (f-c)²         (a=0, b=1, c=1)
wgan               E f - E r                                    -E f              (clip D weights to ±clip)
wgan-gp            as wgan                                      as wgan
hinge              E relu(1-r) + E relu(1+f)                    -E f
feature-matching   as ns                                        ‖E feat(x) - E feat(G(z))‖²  (sum over features)
dragan             as ns                                        as ns
rsgan              E sp(-(r-f))   (pairs r_i with f_i)          E sp(-(f-r))
ragan              E sp(-(r-E f)) + E sp(f-E r)                 E sp(-(f-E r)) + E sp(r-E f)
=================  ==========================================  ==========================================

E reduces over the sample axis only (the last axis of scores, the one before last of features), so
each formula also takes the scores of K member runs stacked as ``[K, N]`` and returns their K losses;
``Loss.member_d_loss`` and ``member_g_loss`` are the entry points for that (the batched trainer's).

Penalties (added to d_loss by the trainer; ``g(x) = ∇_x D(x)`` per sample):

- wgan-gp: gp_weight · E (‖g(x̂)‖₂ - 1)², x̂ = εx + (1-ε)x̃, ε ~ U[0,1] per sample
  (Gulrajani et al. 2017).
- dragan:  gp_weight · E (‖g(x̂)‖₂ - 1)², x̂ = x + α(x_p - x), x_p = x + ½·std(x)·u, u ~ U[0,1]
  elementwise, α ~ U[0,1] one per sample, std the population std of the whole real batch: the DRAGAN
  authors' notebook (kodalinaveen3/DRAGAN, ``get_perturbed_batch`` then ``X + alpha*(X_p - X)``);
  u is drawn before α, as there (x_p is made in numpy before the graph draws α).
- any loss: r1_gamma/2 · E ‖g(x)‖² at reals, r2_gamma/2 · E ‖g(x̃)‖² at fakes
  (Mescheder et al. 2018).

Gradients are taken with ``create_graph=True`` so the penalties train D. They
assume D scores samples independently (BatchNorm in D couples them).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ganbench.registry import ConfigError, Registry

__all__ = ["DOut", "Loss", "LOSSES", "get_loss"]


class DOut(NamedTuple):
    """What a discriminator returns: raw scores ``[N]`` and optional penultimate features ``[N, F]``."""

    score: Tensor
    features: Tensor | None = None


# --- the formulas -----------------------------------------------------------------------------
# Each takes (real, fake) DOuts for D and (fake, real) for G, matching Loss.d_loss / Loss.g_loss.

def _scores(*outs: DOut) -> list[Tensor]:
    return [o.score for o in outs]


def _E(t: Tensor) -> Tensor:
    """The mean over the batch: over the last (sample) axis, so ``[K, N]`` gives one value per member."""
    return t.mean(-1)


def _check_scores(outs: tuple[DOut | None, ...], dims: int, shape: str) -> None:
    # An [N, 1] score would silently broadcast to [N, N] in the relativistic losses.
    for o in outs:
        if o is not None and o.score.dim() != dims:
            raise ValueError(f"DOut.score must have shape {shape}, got {tuple(o.score.shape)}")


def _gan_d(real: DOut, fake: DOut) -> Tensor:
    r, f = _scores(real, fake)
    return _E(F.softplus(-r)) + _E(F.softplus(f))


def _minimax_g(fake: DOut, real: DOut) -> Tensor:
    (f,) = _scores(fake)
    return -_E(F.softplus(f))


def _ns_g(fake: DOut, real: DOut) -> Tensor:
    (f,) = _scores(fake)
    return _E(F.softplus(-f))


def _wgan_d(real: DOut, fake: DOut) -> Tensor:
    r, f = _scores(real, fake)
    return _E(f) - _E(r)


def _wgan_g(fake: DOut, real: DOut) -> Tensor:
    (f,) = _scores(fake)
    return -_E(f)


def _hinge_d(real: DOut, fake: DOut) -> Tensor:
    r, f = _scores(real, fake)
    return _E(F.relu(1 - r)) + _E(F.relu(1 + f))


def _lsgan(a: float, b: float, c: float) -> tuple[Callable[[DOut, DOut], Tensor], Callable[[DOut, DOut], Tensor]]:
    def d(real: DOut, fake: DOut) -> Tensor:
        r, f = _scores(real, fake)
        return 0.5 * _E((r - b) ** 2) + 0.5 * _E((f - a) ** 2)

    def g(fake: DOut, real: DOut) -> Tensor:
        (f,) = _scores(fake)
        return 0.5 * _E((f - c) ** 2)

    return d, g


def _feature_matching_g(fake: DOut, real: DOut) -> Tensor:
    if fake.features is None or real.features is None:
        raise ValueError("loss 'feature-matching' needs DOut.features from the discriminator, got None")
    # Real features are a fixed target for G; detaching keeps D's graph out of the G step.
    diff = real.features.detach().mean(-2) - fake.features.mean(-2)  # features [..., N, F]
    return (diff ** 2).sum(-1)


def _paired(real: DOut, fake: DOut) -> tuple[Tensor, Tensor]:
    r, f = _scores(real, fake)
    if r.shape != f.shape:
        raise ValueError(f"rsgan pairs real and fake scores one to one; got shapes {tuple(r.shape)} and {tuple(f.shape)}")
    return r, f


def _rsgan_d(real: DOut, fake: DOut) -> Tensor:
    r, f = _paired(real, fake)
    return _E(F.softplus(-(r - f)))


def _rsgan_g(fake: DOut, real: DOut) -> Tensor:
    r, f = _paired(real, fake)
    return _E(F.softplus(-(f - r)))


def _ragan_d(real: DOut, fake: DOut) -> Tensor:
    r, f = _scores(real, fake)
    return _E(F.softplus(-(r - _E(f).unsqueeze(-1)))) + _E(F.softplus(f - _E(r).unsqueeze(-1)))


def _ragan_g(fake: DOut, real: DOut) -> Tensor:
    return _ragan_d(fake, real)  # the same expression with the roles of real and fake swapped


# --- penalties --------------------------------------------------------------------------------

def _grad_at(D: Callable[[Tensor], DOut], x: Tensor) -> Tensor:
    """Per-sample ∇_x D(x), flattened to [N, dims]; differentiable w.r.t. D's parameters."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).score.sum(), x, create_graph=True)
    return grad.flatten(1)


def _unit_norm_penalty(D: Callable[[Tensor], DOut], x: Tensor) -> Tensor:
    return ((_grad_at(D, x).norm(2, dim=1) - 1) ** 2).mean()


def _interpolates(real_x: Tensor, fake_x: Tensor, generator: torch.Generator | None) -> Tensor:
    if real_x.shape != fake_x.shape:
        raise ValueError(f"gradient penalty interpolates need equal shapes, got {tuple(real_x.shape)} and {tuple(fake_x.shape)}")
    shape = (real_x.shape[0],) + (1,) * (real_x.dim() - 1)  # one ε per sample, broadcast over the rest
    eps = torch.rand(shape, generator=generator, device=real_x.device, dtype=real_x.dtype)
    return eps * real_x.detach() + (1 - eps) * fake_x.detach()


def _dragan_points(real_x: Tensor, generator: torch.Generator | None) -> Tensor:
    x = real_x.detach()
    u = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    perturbed = x + 0.5 * x.std(correction=0) * u
    alpha = torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), generator=generator, device=x.device, dtype=x.dtype)
    return x + alpha * (perturbed - x)


def _wgan_gp_penalty(weight: float) -> Callable[..., Tensor]:
    def pen(D: Callable[[Tensor], DOut], real_x: Tensor, fake_x: Tensor, generator: torch.Generator | None) -> Tensor:
        return weight * _unit_norm_penalty(D, _interpolates(real_x, fake_x, generator))

    return pen


def _dragan_penalty(weight: float) -> Callable[..., Tensor]:
    def pen(D: Callable[[Tensor], DOut], real_x: Tensor, fake_x: Tensor, generator: torch.Generator | None) -> Tensor:
        return weight * _unit_norm_penalty(D, _dragan_points(real_x, generator))

    return pen


# --- the Loss object --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Loss:
    """A configured GAN loss. Build it with ``get_loss``; the fields are read by the trainer and for provenance."""

    name: str
    params: dict[str, Any]
    d_fn: Callable[[DOut, DOut], Tensor] = field(repr=False)
    g_fn: Callable[[DOut, DOut], Tensor] = field(repr=False)
    own_penalty: Callable[..., Tensor] | None = field(default=None, repr=False)
    clip: float | None = None
    n_critic: int = 1
    needs_real_for_g: bool = False
    r1_gamma: float = 0.0
    r2_gamma: float = 0.0
    # The formulas reduce over the sample axis only (as this module's do), so [K, N] scores give K losses in
    # one call; otherwise (a plugin's scalar formulas) member_*_loss maps them over the members with torch.vmap.
    member_axis: bool = False

    def d_loss(self, real: DOut, fake: DOut) -> Tensor:
        _check_scores((real, fake), 1, "[N]")
        return self.d_fn(real, fake)

    def g_loss(self, fake: DOut, real: DOut | None = None) -> Tensor:
        _check_scores((fake, real), 1, "[N]")
        if real is None and self.needs_real_for_g:
            raise ValueError(f"loss {self.name!r} needs D(real) in the generator step, got real=None")
        return self.g_fn(fake, real)  # type: ignore[arg-type]

    def member_d_loss(self, real: DOut, fake: DOut) -> Tensor:
        """``d_loss`` of K member runs at once: scores ``[K, N]`` (features ``[K, N, F]``) -> losses ``[K]``."""
        _check_scores((real, fake), 2, "[K, N] (K members)")
        return self.d_fn(real, fake) if self.member_axis else _vmap_members(self.d_loss, real, fake)

    def member_g_loss(self, fake: DOut, real: DOut) -> Tensor:
        """``g_loss`` of K member runs at once, as ``member_d_loss``."""
        _check_scores((fake, real), 2, "[K, N] (K members)")
        return self.g_fn(fake, real) if self.member_axis else _vmap_members(self.g_loss, fake, real)

    def penalty(self, D: Callable[[Tensor], DOut], real_x: Tensor, fake_x: Tensor,
                generator: torch.Generator | None = None) -> Tensor:
        """The loss's own penalty plus R1/R2; a scalar ``torch.zeros(())`` when there is none."""
        total = torch.zeros((), device=real_x.device, dtype=real_x.dtype)
        if self.own_penalty is not None:
            total = total + self.own_penalty(D, real_x, fake_x, generator)
        if self.r1_gamma > 0:
            total = total + self.r1_gamma / 2 * (_grad_at(D, real_x) ** 2).sum(1).mean()
        if self.r2_gamma > 0:
            total = total + self.r2_gamma / 2 * (_grad_at(D, fake_x) ** 2).sum(1).mean()
        return total


def _vmap_members(fn: Callable[[DOut, DOut], Tensor], a: DOut, b: DOut) -> Tensor:
    dims = lambda o: DOut(0, None if o.features is None else 0)  # type: ignore[arg-type]  # noqa: E731
    return torch.vmap(fn, in_dims=(dims(a), dims(b)))(a, b)


LOSSES: Registry[Loss] = Registry("loss")


def _check(loss: str, key: str, value: float, *, positive: bool = False, allow_negative: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and not allow_negative:
        ok = value > 0 if positive else value >= 0
    if not ok:
        need = "a finite number" if allow_negative else ("a finite number > 0" if positive else "a finite number >= 0")
        raise ConfigError(f"loss {loss!r} parameter {key!r} must be {need}, got {value!r}")
    return float(value)


def _make(name: str, d_fn: Callable[[DOut, DOut], Tensor], g_fn: Callable[[DOut, DOut], Tensor],
          r1_gamma: float, r2_gamma: float, params: dict[str, Any] | None = None, **fields: Any) -> Loss:
    r1 = _check(name, "r1_gamma", r1_gamma)
    r2 = _check(name, "r2_gamma", r2_gamma)
    all_params = {**(params or {}), "r1_gamma": r1, "r2_gamma": r2}
    return Loss(name, all_params, d_fn, g_fn, r1_gamma=r1, r2_gamma=r2, member_axis=True, **fields)


@LOSSES.register("minimax", "original GAN (Goodfellow 2014), saturating G loss E log(1-σ(D(G(z))))")
def _minimax(r1_gamma: float = 0.0, r2_gamma: float = 0.0) -> Loss:
    return _make("minimax", _gan_d, _minimax_g, r1_gamma, r2_gamma)


@LOSSES.register("ns", "non-saturating GAN: G minimises -E log σ(D(G(z)))")
def _ns(r1_gamma: float = 0.0, r2_gamma: float = 0.0) -> Loss:
    return _make("ns", _gan_d, _ns_g, r1_gamma, r2_gamma)


@LOSSES.register("lsgan", "least squares GAN (Mao et al. 2017), targets a (fake), b (real), c (G)")
def _lsgan_factory(a: float = 0.0, b: float = 1.0, c: float = 1.0, r1_gamma: float = 0.0, r2_gamma: float = 0.0) -> Loss:
    a, b, c = (_check("lsgan", k, v, allow_negative=True) for k, v in (("a", a), ("b", b), ("c", c)))
    if a == b:
        raise ConfigError(f"loss 'lsgan' targets a (fake) and b (real) must differ, got a = b = {a!r}")
    d, g = _lsgan(a, b, c)
    return _make("lsgan", d, g, r1_gamma, r2_gamma, {"a": a, "b": b, "c": c})


@LOSSES.register("wgan", "Wasserstein GAN (Arjovsky et al. 2017) with weight clipping, 5 critic steps")
def _wgan(clip: float | None = 0.01, r1_gamma: float = 0.0, r2_gamma: float = 0.0) -> Loss:
    clip = None if clip is None else _check("wgan", "clip", clip, positive=True)
    return _make("wgan", _wgan_d, _wgan_g, r1_gamma, r2_gamma, {"clip": clip}, clip=clip, n_critic=5)


@LOSSES.register("wgan-gp", "Wasserstein GAN with gradient penalty at interpolates (Gulrajani et al. 2017)")
def _wgan_gp(gp_weight: float = 10.0, r1_gamma: float = 0.0, r2_gamma: float = 0.0) -> Loss:
    w = _check("wgan-gp", "gp_weight", gp_weight)
    return _make("wgan-gp", _wgan_d, _wgan_g, r1_gamma, r2_gamma, {"gp_weight": w},
                 own_penalty=_wgan_gp_penalty(w), n_critic=5)


@LOSSES.register("hinge", "hinge loss (Lim & Ye 2017; Miyato et al. 2018), G maximises E D(G(z))")
def _hinge(r1_gamma: float = 0.0, r2_gamma: float = 0.0) -> Loss:
    return _make("hinge", _hinge_d, _wgan_g, r1_gamma, r2_gamma)


@LOSSES.register("feature-matching", "ns D loss; G matches mean D features of reals (Salimans et al. 2016)")
def _feature_matching(r1_gamma: float = 0.0, r2_gamma: float = 0.0) -> Loss:
    return _make("feature-matching", _gan_d, _feature_matching_g, r1_gamma, r2_gamma, needs_real_for_g=True)


@LOSSES.register("dragan", "ns GAN with a gradient penalty around perturbed reals (Kodali et al. 2017)")
def _dragan(gp_weight: float = 10.0, r1_gamma: float = 0.0, r2_gamma: float = 0.0) -> Loss:
    w = _check("dragan", "gp_weight", gp_weight)
    return _make("dragan", _gan_d, _ns_g, r1_gamma, r2_gamma, {"gp_weight": w}, own_penalty=_dragan_penalty(w))


@LOSSES.register("rsgan", "relativistic standard GAN on paired scores D(x)-D(G(z)) (Jolicoeur-Martineau 2018)")
def _rsgan(r1_gamma: float = 0.0, r2_gamma: float = 0.0) -> Loss:
    return _make("rsgan", _rsgan_d, _rsgan_g, r1_gamma, r2_gamma, needs_real_for_g=True)


@LOSSES.register("ragan", "relativistic average standard GAN (Jolicoeur-Martineau 2018)")
def _ragan(r1_gamma: float = 0.0, r2_gamma: float = 0.0) -> Loss:
    return _make("ragan", _ragan_d, _ragan_g, r1_gamma, r2_gamma, needs_real_for_g=True)


def get_loss(name: str, /, **params: Any) -> Loss:
    """Build a registered loss; unknown names and bad parameters raise ``ConfigError``."""
    LOSSES.check_params(name, params)
    return LOSSES.build(name, **params)
