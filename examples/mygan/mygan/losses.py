"""A focal non-saturating GAN loss: the non-saturating loss with focal weights (Lin et al. 2017).

With raw scores r = D(x), f = D(G(z)), σ the sigmoid and sp the softplus (so -log σ(t) = sp(-t)):

    d_loss = E (1 - σ(r))^γ sp(-r) + E σ(f)^γ sp(f)     (easy, confidently right decisions weigh less)
    g_loss = E (1 - σ(f))^γ sp(-f)

γ = 0 is exactly ganbench's built-in "ns" loss. The weights are detached: they rescale each sample's
gradient without adding a gradient of their own (the usual focal-loss implementation keeps them attached;
detaching keeps γ a pure re-weighting and makes the γ = 0 case the ns gradient bit for bit).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


class FocalNS:
    """The ganbench loss contract: d_loss(real, fake), g_loss(fake, real) on DOut(score, features).

    clip, n_critic, needs_real_for_g and penalty are left out: ganbench fills in None, 1, False and no penalty.
    """

    def __init__(self, gamma: float = 2.0):
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not math.isfinite(gamma) or gamma < 0:
            raise ValueError(f"focal_ns: gamma must be a finite number >= 0, got {gamma!r}")
        self.gamma = float(gamma)

    def _weight(self, p: Tensor) -> Tensor:
        return p.detach() ** self.gamma

    def d_loss(self, real, fake) -> Tensor:
        r, f = real.score, fake.score
        return (self._weight(1 - torch.sigmoid(r)) * F.softplus(-r)).mean() + \
            (self._weight(torch.sigmoid(f)) * F.softplus(f)).mean()

    def g_loss(self, fake, real) -> Tensor:
        f = fake.score
        return (self._weight(1 - torch.sigmoid(f)) * F.softplus(-f)).mean()


def focal_ns(gamma: float = 2.0) -> FocalNS:
    """focal non-saturating loss: ns with per-sample weights (1-p)^gamma on the correct-class probability p"""
    return FocalNS(gamma)
