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
