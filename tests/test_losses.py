"""Pin every GAN loss, penalty and factory check of ganbench.losses to hand-computed values.

Shared scores: r = D(x) = [2.0, 0.5], f = D(G(z)) = [-2.0, 0.5]; sp(t) = log(1 + e^t).
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganbench.losses import LOSSES, DOut, Loss, get_loss
from ganbench.registry import ConfigError

ALL = ["dragan", "feature-matching", "hinge", "lsgan", "minimax", "ns", "ragan", "rsgan", "wgan", "wgan-gp"]
R = [2.0, 0.5]
Fk = [-2.0, 0.5]


def sp(t: float) -> float:
    return math.log(1 + math.exp(t))


def sig(t: float) -> float:
    return 1 / (1 + math.exp(-t))


def dout(scores, features=None) -> DOut:
    return DOut(torch.tensor(scores, dtype=torch.float64),
                None if features is None else torch.tensor(features, dtype=torch.float64))


def d_and_g(name: str, **params) -> tuple[float, float]:
    loss = get_loss(name, **params)
    real, fake = dout(R, [[1.0, 2.0], [3.0, 4.0]]), dout(Fk, [[0.0, 0.0], [2.0, -2.0]])
    d, g = loss.d_loss(real, fake), loss.g_loss(fake, real)
    assert d.shape == () and g.shape == ()
    return d.item(), g.item()


# --- hand values ------------------------------------------------------------------------------

GAN_D = (sp(-2.0) + sp(-0.5)) / 2 + (sp(-2.0) + sp(0.5)) / 2  # E sp(-r) + E sp(f)

HAND = {
    # minimax G: E log(1 - σ(f)) written with the sigmoid, to tie -sp(f) to the textbook form.
    "minimax": (GAN_D, (math.log(1 - sig(-2.0)) + math.log(1 - sig(0.5))) / 2),
    "ns": (GAN_D, (sp(2.0) + sp(-0.5)) / 2),  # -E log σ(f) = E sp(-f)
    # ½·((2-1)² + (0.5-1)²)/2 + ½·((-2)² + 0.5²)/2 = 0.3125 + 1.0625;  G: ½·((-3)² + (-0.5)²)/2
    "lsgan": (0.3125 + 1.0625, 0.5 * (9 + 0.25) / 2),
    "wgan": ((-2.0 + 0.5) / 2 - (2.0 + 0.5) / 2, -(-2.0 + 0.5) / 2),  # -0.75 - 1.25 = -2; G 0.75
    "wgan-gp": (-2.0, 0.75),
    # relu(1-2)=0, relu(1-0.5)=0.5 → 0.25;  relu(1-2)=0, relu(1+0.5)=1.5 → 0.75;  G = -E f = 0.75
    "hinge": (0.25 + 0.75, 0.75),
    # E feat(x) = [2, 3], E feat(G(z)) = [1, -1]: (2-1)² + (3+1)² = 17
    "feature-matching": (GAN_D, 17.0),
    "dragan": (GAN_D, (sp(2.0) + sp(-0.5)) / 2),
    # r - f = [4, 0]
    "rsgan": ((sp(-4.0) + sp(0.0)) / 2, (sp(4.0) + sp(0.0)) / 2),
    # E r = 1.25, E f = -0.75: r - E f = [2.75, 1.25], f - E r = [-3.25, -0.75]
    "ragan": ((sp(-2.75) + sp(-1.25)) / 2 + (sp(-3.25) + sp(-0.75)) / 2,
              (sp(3.25) + sp(0.75)) / 2 + (sp(2.75) + sp(1.25)) / 2),
}


def test_registry_holds_exactly_the_zoo_with_one_line_descriptions():
    assert LOSSES.names() == ALL
    for entry in LOSSES.entries():
        assert entry.description and "\n" not in entry.description


@pytest.mark.parametrize("name", ALL)
def test_d_and_g_losses_match_hand_values(name):
    d, g = d_and_g(name)
    assert d == pytest.approx(HAND[name][0], rel=1e-12)
    assert g == pytest.approx(HAND[name][1], rel=1e-12)


def test_lsgan_custom_targets():
    # a=-1, b=1, c=0: ½·E(r-1)² + ½·E(f+1)² = 0.3125 + ½·((-1)² + 1.5²)/2 = 0.3125 + 0.8125; G = ½·E f² = ½·(4+0.25)/2
    d, g = d_and_g("lsgan", a=-1.0, b=1.0, c=0.0)
    assert (d, g) == (pytest.approx(1.125), pytest.approx(1.0625))


def test_feature_matching_needs_features_and_real():
    loss = get_loss("feature-matching")
    with pytest.raises(ValueError, match="feature-matching.*features.*None"):
        loss.g_loss(dout(Fk), dout(R))
    with pytest.raises(ValueError, match="feature-matching.*real=None"):
        loss.g_loss(dout(Fk, [[0.0], [1.0]]), None)


def test_scores_must_be_one_dimensional():
    # An [N, 1] score would broadcast to [N, N] against [N] in the relativistic losses.
    with pytest.raises(ValueError, match=r"shape \[N\], got \(2, 1\)"):
        get_loss("rsgan").d_loss(DOut(torch.zeros(2, 1)), DOut(torch.zeros(2)))


# --- minimax vs non-saturating, hinge, sign conventions ---------------------------------------

def g_grad(name: str, fake_scores: list[float]) -> torch.Tensor:
    f = torch.tensor(fake_scores, dtype=torch.float64, requires_grad=True)
    get_loss(name).g_loss(DOut(f), dout(R)).backward()
    return f.grad


def test_minimax_and_ns_generator_gradients_differ():
    # d/df of -sp(f) is -σ(f); of sp(-f) is -σ(-f); each divided by N = 2.
    mm, ns = g_grad("minimax", Fk), g_grad("ns", Fk)
    assert mm.tolist() == pytest.approx([-sig(-2.0) / 2, -sig(0.5) / 2])
    assert ns.tolist() == pytest.approx([-sig(2.0) / 2, -sig(-0.5) / 2])
    assert not torch.allclose(mm, ns)


def test_minimax_saturates_where_ns_does_not():
    # D confidently rejects the fake (f = -10): minimax gives G almost nothing to follow, ns nearly -1.
    mm, ns = g_grad("minimax", [-10.0]).item(), g_grad("ns", [-10.0]).item()
    assert mm == pytest.approx(-1 / (1 + math.exp(10)))  # ≈ -4.5e-5
    assert abs(mm) < 1e-4
    assert ns == pytest.approx(-1 / (1 + math.exp(-10)))  # ≈ -0.99995
    assert ns < -0.99


def test_hinge_zero_beyond_margins_and_sign_convention():
    hinge = get_loss("hinge")
    assert hinge.d_loss(dout([1.0, 3.0]), dout([-1.0, -5.0])).item() == 0.0
    assert hinge.d_loss(dout([0.9, 3.0]), dout([-1.0, -5.0])).item() == pytest.approx(0.1 / 2)
    assert hinge.d_loss(dout([1.0, 3.0]), dout([-0.8, -5.0])).item() == pytest.approx(0.2 / 2)
    # D is penalised for scoring fakes high and rewarded for scoring reals high; G wants high fake scores.
    assert hinge.d_loss(dout([0.0]), dout([0.5])) > hinge.d_loss(dout([0.0]), dout([0.0]))
    assert hinge.d_loss(dout([0.5]), dout([0.0])) < hinge.d_loss(dout([0.0]), dout([0.0]))
    assert hinge.g_loss(dout([0.5]), dout([0.0])) < hinge.g_loss(dout([0.0]), dout([0.0]))


def test_wgan_sign_convention():
    wgan = get_loss("wgan")
    assert wgan.d_loss(dout([1.0]), dout([0.0])).item() == -1.0  # critic scores reals higher → lower loss
    assert wgan.g_loss(dout([1.0]), dout([0.0])).item() == -1.0  # G wants higher critic scores


def test_customary_fields():
    for name in ALL:
        loss = get_loss(name)
        assert isinstance(loss, Loss) and loss.name == name
        assert loss.n_critic == (5 if name in ("wgan", "wgan-gp") else 1)
        assert loss.clip == (0.01 if name == "wgan" else None)
        assert loss.needs_real_for_g == (name in ("rsgan", "ragan", "feature-matching"))
        assert loss.params["r1_gamma"] == 0.0 and loss.params["r2_gamma"] == 0.0
    assert get_loss("wgan-gp", gp_weight=5).params == {"gp_weight": 5.0, "r1_gamma": 0.0, "r2_gamma": 0.0}
    assert get_loss("wgan", clip=0.05).clip == 0.05
    assert get_loss("wgan", clip=None).clip is None


# --- penalties --------------------------------------------------------------------------------

class SquareD(nn.Module):
    """D(x) = Σ x², so ∇D(x) = 2x and ‖∇D(x)‖ = 2‖x‖ depends on where it is taken."""

    def forward(self, x):
        return DOut((x ** 2).flatten(1).sum(1))


class LinearD(nn.Module):
    """D(x) = x·w with w = [3, 4]: ∇D = w everywhere, ‖w‖ = 5."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([3.0, 4.0], dtype=torch.float64))

    def forward(self, x):
        return DOut(x @ self.w)


REAL_X = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
FAKE_X = torch.tensor([[3.0, 0.0], [0.0, -1.0]], dtype=torch.float64)


def gen(seed=0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_wgan_gp_penalty_taken_at_interpolates():
    eps = torch.rand(2, 1, generator=gen(), dtype=torch.float64)  # the same draw the loss makes: one ε per sample
    e0, e1 = eps[0, 0].item(), eps[1, 0].item()
    # x̂0 = e0·[1,0] + (1-e0)·[3,0] = [3-2e0, 0]; x̂1 = e1·[0,1] + (1-e1)·[0,-1] = [0, 2e1-1]
    n0, n1 = 2 * abs(3 - 2 * e0), 2 * abs(2 * e1 - 1)
    hand = 10 * ((n0 - 1) ** 2 + (n1 - 1) ** 2) / 2
    got = get_loss("wgan-gp").penalty(SquareD(), REAL_X, FAKE_X, generator=gen()).item()
    assert got == pytest.approx(hand, rel=1e-12)
    at_reals = 10 * ((2 - 1) ** 2 + (2 - 1) ** 2) / 2  # ‖∇‖ = 2 at both reals → 10
    at_fakes = 10 * ((6 - 1) ** 2 + (2 - 1) ** 2) / 2  # ‖∇‖ = 6, 2 at the fakes → 130
    assert got != pytest.approx(at_reals) and got != pytest.approx(at_fakes)
    # Deterministic given the generator, different for another seed.
    assert get_loss("wgan-gp").penalty(SquareD(), REAL_X, FAKE_X, generator=gen()).item() == got
    assert get_loss("wgan-gp").penalty(SquareD(), REAL_X, FAKE_X, generator=gen(1)).item() != got


def test_wgan_gp_penalty_backpropagates_into_d():
    D = LinearD()
    pen = get_loss("wgan-gp", gp_weight=10.0).penalty(D, REAL_X, FAKE_X, generator=gen())
    assert pen.item() == pytest.approx(10 * (5 - 1) ** 2)  # 160 wherever it is taken
    pen.backward()
    # d/dw 10(‖w‖-1)² = 20(‖w‖-1)·w/‖w‖ = 20·4·[3,4]/5
    assert D.w.grad.tolist() == pytest.approx([48.0, 64.0])


def test_wgan_gp_interpolation_broadcasts_over_image_dims():
    real, fake = torch.zeros(3, 2, 4, 4, dtype=torch.float64), torch.ones(3, 2, 4, 4, dtype=torch.float64)
    eps = torch.rand(3, 1, 1, 1, generator=gen(), dtype=torch.float64)
    # x̂ = 1-ε in every pixel: ‖∇‖ = 2·(1-ε)·√32
    hand = 10 * ((2 * (1 - eps.flatten()) * math.sqrt(32) - 1) ** 2).mean().item()
    assert get_loss("wgan-gp").penalty(SquareD(), real, fake, generator=gen()).item() == pytest.approx(hand)


def test_dragan_penalty_between_reals_and_perturbed_reals():
    # The DRAGAN authors' notebook: X_p = X + 0.5·X.std()·U[0,1) (numpy: population std of the whole batch),
    # then the penalty at X + α(X_p - X) with one α ~ U[0,1] per sample; u is drawn first, then α.
    g = gen()
    u = torch.rand(2, 2, generator=g, dtype=torch.float64)
    alpha = torch.rand(2, 1, generator=g, dtype=torch.float64)
    # Elements of REAL_X are {1, 0, 0, 1}: mean 0.5, population std 0.5, so x_p - x = ½·0.5·u = 0.25u.
    x_hat = REAL_X + alpha * (0.25 * u)
    hand = 10 * ((2 * x_hat.norm(dim=1) - 1) ** 2).mean().item()
    dragan = get_loss("dragan")
    got = dragan.penalty(SquareD(), REAL_X, FAKE_X, generator=gen()).item()
    assert got == pytest.approx(hand, rel=1e-12)
    at_perturbed = 10 * ((2 * (REAL_X + 0.25 * u).norm(dim=1) - 1) ** 2).mean().item()
    assert got != pytest.approx(at_perturbed)  # the old point, x_p itself
    # Fakes play no part.
    assert dragan.penalty(SquareD(), REAL_X, -FAKE_X, generator=gen()).item() == pytest.approx(hand, rel=1e-12)
    assert get_loss("dragan", gp_weight=1.0).penalty(SquareD(), REAL_X, FAKE_X, generator=gen()).item() \
        == pytest.approx(hand / 10)


def test_dragan_mean_perturbation_is_an_eighth_of_the_batch_std():
    # E[α]·½·std·E[u] = ½·½·std·½ = std/8 (x + ½·std·u alone would give std/4, twice as far).
    from ganbench.losses import _dragan_points
    x = torch.randn(4000, 2, generator=gen(3), dtype=torch.float64)
    delta = _dragan_points(x, gen(4)) - x
    assert delta.mean().item() == pytest.approx(x.std(correction=0).item() / 8, rel=0.03)
    per_sample = delta / delta[:, :1]  # one α per sample scales both coordinates of its u alike
    u = torch.rand(4000, 2, generator=gen(4), dtype=torch.float64)
    torch.testing.assert_close(per_sample[:, 1], u[:, 1] / u[:, 0])


def test_dragan_alpha_is_per_sample_over_image_dims():
    from ganbench.losses import _dragan_points
    x = torch.rand(3, 2, 4, 4, generator=gen(5), dtype=torch.float64)
    g = gen(6)
    u = torch.rand(x.shape, generator=g, dtype=torch.float64)
    alpha = torch.rand(3, 1, 1, 1, generator=g, dtype=torch.float64)
    torch.testing.assert_close(_dragan_points(x, gen(6)), x + alpha * 0.5 * x.std(correction=0) * u)


@pytest.mark.parametrize("name", ["minimax", "ns", "lsgan", "wgan", "hinge", "feature-matching", "rsgan", "ragan"])
def test_penalty_is_zero_without_one(name):
    pen = get_loss(name).penalty(SquareD(), REAL_X, FAKE_X, generator=gen())
    assert pen.shape == () and pen.item() == 0.0


def test_r1_and_r2_by_hand():
    # ‖∇D‖² = 4‖x‖²: reals 4, 4 → E = 4; fakes 36, 4 → E = 20.
    assert get_loss("ns", r1_gamma=2.0).penalty(SquareD(), REAL_X, FAKE_X).item() == pytest.approx(2 / 2 * 4)
    assert get_loss("ns", r2_gamma=0.5).penalty(SquareD(), REAL_X, FAKE_X).item() == pytest.approx(0.5 / 2 * 20)
    assert get_loss("hinge", r1_gamma=2.0, r2_gamma=0.5).penalty(SquareD(), REAL_X, FAKE_X).item() \
        == pytest.approx(4 + 5)


def test_r1_adds_to_the_loss_own_penalty_and_trains_d():
    D = LinearD()
    pen = get_loss("wgan-gp", r1_gamma=2.0).penalty(D, REAL_X, FAKE_X, generator=gen())
    assert pen.item() == pytest.approx(160 + 2 / 2 * 25)  # gp 10·(5-1)² plus γ/2·‖w‖²
    pen.backward()
    assert D.w.grad.tolist() == pytest.approx([48.0 + 2 * 3, 64.0 + 2 * 4])  # + γ·w


# --- configuration errors ---------------------------------------------------------------------

@pytest.mark.parametrize("typo, right", [("wgan_gp", "wgan-gp"), ("hing", "hinge")])
def test_unknown_name_did_you_mean(typo, right):
    with pytest.raises(ConfigError, match=f"unknown loss '{typo}' \\(did you mean '{right}'\\?\\); choose one of: dragan"):
        get_loss(typo)


def test_bad_params():
    with pytest.raises(ConfigError, match=r"unknown parameter 'gp_weight' for loss 'hinge'"):
        get_loss("hinge", gp_weight=10.0)
    with pytest.raises(ConfigError, match=r"unknown parameter 'gp_weigth'.*did you mean 'gp_weight'"):
        get_loss("wgan-gp", gp_weigth=10.0)
    with pytest.raises(ConfigError, match=r"parameter 'gp_weight' must be float, got str 'ten'"):
        get_loss("wgan-gp", gp_weight="ten")
    with pytest.raises(ConfigError, match=r"loss 'wgan-gp' parameter 'gp_weight' must be a finite number >= 0, got -1.0"):
        get_loss("wgan-gp", gp_weight=-1.0)
    with pytest.raises(ConfigError, match=r"loss 'dragan' parameter 'gp_weight' must be a finite number >= 0, got nan"):
        get_loss("dragan", gp_weight=float("nan"))
    with pytest.raises(ConfigError, match=r"loss 'wgan' parameter 'clip' must be a finite number > 0, got 0.0"):
        get_loss("wgan", clip=0.0)
    with pytest.raises(ConfigError, match=r"loss 'lsgan' targets a \(fake\) and b \(real\) must differ, got a = b = 1.0"):
        get_loss("lsgan", a=1.0)


@pytest.mark.parametrize("name", ALL)
def test_every_loss_accepts_and_validates_r1_r2(name):
    loss = get_loss(name, r1_gamma=1.0, r2_gamma=0.5)
    assert (loss.r1_gamma, loss.r2_gamma) == (1.0, 0.5)
    assert loss.params["r1_gamma"] == 1.0 and loss.params["r2_gamma"] == 0.5
    with pytest.raises(ConfigError, match=f"loss '{name}' parameter 'r1_gamma' must be a finite number >= 0, got -0.5"):
        get_loss(name, r1_gamma=-0.5)
    with pytest.raises(ConfigError, match=f"loss '{name}' parameter 'r2_gamma' must be a finite number >= 0, got -2"):
        get_loss(name, r2_gamma=-2)


# --- every loss trains a tiny 2-D GAN ---------------------------------------------------------

class TinyG(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))

    def forward(self, z):
        return self.net(z)


class TinyD(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2))
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        h = self.body(x)
        return DOut(self.head(h).squeeze(1), h)


@pytest.mark.parametrize("name", ALL)
def test_every_loss_trains_a_tiny_mlp_gan(name):
    torch.manual_seed(0)  # parameter initialisation
    g = gen(0)
    loss = get_loss(name, r1_gamma=0.1)  # r1 on top checks that penalties compose in a real step
    G, D = TinyG(), TinyD()
    opt_g, opt_d = torch.optim.Adam(G.parameters(), 1e-3), torch.optim.Adam(D.parameters(), 1e-3)
    for _ in range(20):
        x = torch.randn(32, 2, generator=g) * 0.1 + 1.0
        fake = G(torch.randn(32, 2, generator=g)).detach()
        d = loss.d_loss(D(x), D(fake)) + loss.penalty(D, x, fake, generator=g)
        opt_d.zero_grad()
        d.backward()
        opt_d.step()
        if loss.clip is not None:
            with torch.no_grad():
                for p in D.parameters():
                    p.clamp_(-loss.clip, loss.clip)
        fake = G(torch.randn(32, 2, generator=g))
        real_out = D(x) if loss.needs_real_for_g else None
        gl = loss.g_loss(D(fake), real_out)
        opt_g.zero_grad()
        gl.backward()
        opt_g.step()
        assert math.isfinite(d.item()) and math.isfinite(gl.item())
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in G.parameters())
    if loss.clip is not None:
        assert all(p.abs().max() <= loss.clip for p in D.parameters())


def test_shape_mismatches_are_named():
    with pytest.raises(ValueError, match=r"rsgan pairs real and fake scores one to one; got shapes \(2,\) and \(3,\)"):
        get_loss("rsgan").g_loss(DOut(torch.zeros(3)), DOut(torch.zeros(2)))
    with pytest.raises(ValueError, match=r"interpolates need equal shapes, got \(2, 2\) and \(3, 2\)"):
        get_loss("wgan-gp").penalty(SquareD(), REAL_X, torch.zeros(3, 2, dtype=torch.float64))


# --- K member runs at once: scores [K, N] -> K losses (the batched trainer's entry points) -----------------

@pytest.mark.parametrize("name", ALL)
def test_member_losses_equal_each_members_own_loss(name):
    # The formulas reduce over the sample axis only, so stacked members give exactly their own losses.
    gen = torch.Generator().manual_seed(3)
    k, n, f = 3, 5, 4
    real = DOut(torch.randn(k, n, generator=gen, dtype=torch.float64), torch.randn(k, n, f, generator=gen, dtype=torch.float64))
    fake = DOut(torch.randn(k, n, generator=gen, dtype=torch.float64), torch.randn(k, n, f, generator=gen, dtype=torch.float64))
    loss = get_loss(name)
    assert loss.member_axis
    member = lambda o, i: DOut(o.score[i], o.features[i])  # noqa: E731
    d = loss.member_d_loss(real, fake)
    g = loss.member_g_loss(fake, real)
    assert d.shape == g.shape == (k,)
    for i in range(k):
        assert d[i].item() == loss.d_loss(member(real, i), member(fake, i)).item()
        assert g[i].item() == loss.g_loss(member(fake, i), member(real, i)).item()


def test_member_losses_of_scalar_formulas_are_vmapped():
    # A plugin's formulas may reduce over everything (.mean()); they are mapped over the members instead.
    scalar = Loss("scalar", {}, lambda r, f: F.softplus(-r.score).mean() + f.score.mean() ** 2,
                  lambda f, r: -f.score.mean())
    assert not scalar.member_axis
    real, fake = DOut(torch.tensor([[1.0, 2.0], [3.0, -1.0]])), DOut(torch.tensor([[0.5, 0.0], [-2.0, 4.0]]))
    expect = [F.softplus(-real.score[i]).mean() + fake.score[i].mean() ** 2 for i in range(2)]
    assert scalar.member_d_loss(real, fake).tolist() == pytest.approx([e.item() for e in expect])
    assert scalar.member_g_loss(fake, real).tolist() == pytest.approx([-0.25, -1.0])


def test_member_losses_need_a_member_axis():
    with pytest.raises(ValueError, match=r"shape \[K, N\] \(K members\), got \(4,\)"):
        get_loss("ns").member_d_loss(DOut(torch.zeros(4)), DOut(torch.zeros(4)))
