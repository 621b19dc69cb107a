"""Sample sets from files (ganbench metrics --real/--fake): arrays holding pickled objects are refused unrun."""
from __future__ import annotations

import os

import numpy as np
import pytest

from ganbench.cli import main
from ganbench.registry import ConfigError
from ganbench.sample_sets import load_samples


class _RunsCode:
    """Unpickling this creates ``path``: an object array holding it must be refused, never loaded."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def _evil_array(marker) -> np.ndarray:
    a = np.empty(2, dtype=object)
    a[0], a[1] = _RunsCode(marker), _RunsCode(marker)
    return a


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_array_of_pickled_objects_is_refused_before_the_payload_runs(tmp_path, suffix):
    marker, path = tmp_path / "pwned", tmp_path / f"evil{suffix}"
    if suffix == ".npy":
        np.save(path, _evil_array(marker), allow_pickle=True)
    else:
        np.savez(path, x=_evil_array(marker))
    with pytest.raises(ConfigError, match=rf"--fake .*evil\{suffix}: cannot read the array \(.*allow_pickle"):
        load_samples(path, "--fake")
    assert not marker.exists()


def test_metrics_cli_with_a_malicious_npy_exits_2_and_runs_nothing(tmp_path, capsys):
    marker = tmp_path / "pwned"
    np.save(tmp_path / "real.npy", np.zeros((8, 2)))
    np.save(tmp_path / "evil.npy", _evil_array(marker), allow_pickle=True)
    rc = main(["metrics", "--real", str(tmp_path / "real.npy"), "--fake", str(tmp_path / "evil.npy"),
               "--features", "identity", "--metrics", "fid"])
    assert rc == 2 and not marker.exists()
    assert "evil.npy: cannot read the array" in capsys.readouterr().err


def test_set_metrics_take_metrics_kid_defaults_and_report_the_subset_size_and_fid_inf_ns():
    import torch
    from ganbench import metrics as M
    from ganbench.sample_sets import compute_set_metrics
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(300, 2)), rng.normal(size=(200, 2)) + 0.3
    out = compute_set_metrics(torch.from_numpy(real).float(), torch.from_numpy(fake).float(), "identity",
                              ["fid", "kid", "pr", "fid_inf"])["metrics"]
    r, f = real.astype(np.float32).astype(np.float64), fake.astype(np.float32).astype(np.float64)  # as loaded
    assert (out["kid"], out["kid_std"], out["kid_subset_size"]) == (*M.kid(r, f, subsets=100, subset_size=200), 200)
    assert out["fid_inf_ns"][-1] == 200 and out["fid"] == M.fid(r, f)
    assert list(out) == ["fid", "kid", "kid_std", "kid_subset_size", "precision", "recall", "fid_inf", "fid_inf_ns"]


def test_set_metrics_refuse_k_nn_metrics_on_too_few_samples():
    import torch
    from ganbench.sample_sets import compute_set_metrics
    rng = np.random.default_rng(0)
    real, fake = torch.from_numpy(rng.normal(size=(50, 2))).float(), torch.from_numpy(rng.normal(size=(3, 2))).float()
    with pytest.raises(ConfigError, match=r"fake features needs at least 4 samples"):
        compute_set_metrics(real, fake, "identity", ["fid", "pr"])
    # asked for and undefined at this size: said, never silently left out of the table
    with pytest.raises(ConfigError, match=r"density_coverage needs more than k=5 real samples for k-NN radii, got 5"):
        compute_set_metrics(real[:5], real, "identity", ["fid", "density_coverage"])
    assert set(compute_set_metrics(real[:6], real, "identity", ["fid", "density_coverage"])["metrics"]) == \
        {"fid", "density", "coverage"}
