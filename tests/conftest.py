"""Shared fixtures: a temporary results directory and tiny suites for fast end-to-end tests."""
from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _deterministic_threads():
    # Tests compare numbers across runs; keep torch's thread count fixed for reproducible reductions.
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)
