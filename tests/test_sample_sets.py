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
