"""Shared test set-up: one torch thread (small models run faster and reductions are reproducible)."""
from __future__ import annotations

import os

import pytest
import torch
from hypothesis import settings

# In CI the property tests replay a fixed set of examples, so a run never fails on luck alone;
# locally they explore new examples each time.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

os.environ.setdefault("MPLBACKEND", "Agg")
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    # Real-feature caches of one test must not leak into another (or into ~/.cache).
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def exploding_loss():
    """Registers loss "test-exploding": ns whose D loss turns NaN from the 6th call (divergence tests)."""
    from ganbench.losses import LOSSES, get_loss

    class Exploding:
        clip, n_critic, needs_real_for_g, name = None, 1, False, "ns"

        def __init__(self):
            self.inner, self.calls = get_loss("ns"), 0

        def d_loss(self, real, fake):
            self.calls += 1
            out = self.inner.d_loss(real, fake)
            return out * float("nan") if self.calls > 5 else out

        def g_loss(self, fake, real=None):
            return self.inner.g_loss(fake, real)

        def penalty(self, *a, **k):
            return torch.zeros(())

    LOSSES.add("test-exploding", lambda: Exploding(), "test only")
    yield "test-exploding"
    LOSSES._entries.pop("test-exploding")
