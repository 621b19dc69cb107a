"""ganbench.reference_stats: round trip, the community's formats (pytorch-fid, clean-fid, ADM), provenance,
compatibility checks and the error messages; the ``ganbench stats`` / ``metrics --real-stats`` commands."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ganbench.cli import main
from ganbench.metrics import feature_stats, fid
from ganbench.reference_stats import (PROVENANCE_KEY, UNKNOWN, check_compatible, fid_against, load_reference_stats,
                                      save_reference_stats)
from ganbench.registry import ConfigError

INFO = {"name": "identity", "weights_sha256": None, "input": "raw points", "dim": None}


def features(seed, n=400, d=3, shift=0.0):
    return np.random.default_rng(seed).standard_normal((n, d)) + shift


def test_round_trip_records_provenance_and_gives_the_same_fid(tmp_path):
    real, fake = features(0), features(1, shift=0.5)
    prov = save_reference_stats(tmp_path / "s.npz", real, INFO, "unit test")
    assert prov["n"] == 400 and prov["features"] == "identity" and prov["input"] == "raw points"
    stats = load_reference_stats(tmp_path / "s.npz")
    mu, sigma = feature_stats(real)
    assert stats.format == "ganbench" and stats.provenance == prov and stats.dim == 3
    np.testing.assert_array_equal(stats.mu, mu)
    np.testing.assert_array_equal(stats.sigma, sigma)
    assert fid_against(stats, fake) == pytest.approx(fid(real, fake), rel=1e-12)
    assert stats.record()["provenance"] == "recorded" and UNKNOWN not in stats.summary()


def test_written_file_reads_the_way_pytorch_fid_clean_fid_and_adm_read_it(tmp_path):
    save_reference_stats(tmp_path / "s.npz", features(0), INFO, "unit test")
    with np.load(tmp_path / "s.npz") as f:  # pytorch-fid: f['mu'][:], f['sigma'][:]; clean-fid/ADM: obj["mu"]
        m, s = f["mu"][:], f["sigma"][:]
        assert m.dtype == np.float64 and m.shape == (3,) and s.shape == (3, 3)
        assert json.loads(str(f[PROVENANCE_KEY][()]))["n"] == 400  # no pickle needed for any key


@pytest.mark.parametrize("adm", [False, True])
def test_foreign_files_are_accepted_and_marked_provenance_unknown(tmp_path, adm):
    real = features(0)
    mu, sigma = feature_stats(real)
    extra = {"arr_0": np.zeros((2, 4, 4, 3), np.uint8), "mu_s": mu[:2], "sigma_s": sigma[:2, :2]} if adm else {}
    np.savez(tmp_path / "ref.npz", mu=mu.astype(np.float32), sigma=sigma, **extra)  # float32 μ is read as float64
    stats = load_reference_stats(tmp_path / "ref.npz")
    assert stats.format == ("ADM reference batch" if adm else "pytorch-fid / clean-fid")
    assert stats.provenance is None and stats.record()["provenance"] == UNKNOWN and UNKNOWN in stats.summary()
    check_compatible(stats, INFO, 3)  # nothing to check but the dimension
    assert fid_against(stats, features(1)) == pytest.approx(fid(real, features(1)), rel=1e-6)


def test_bad_files_are_one_line_errors_naming_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope.npz: no such reference statistics file; expected a .npz holding"):
        load_reference_stats(tmp_path / "nope.npz")
    np.savez(tmp_path / "keys.npz", m=np.zeros(2), s=np.eye(2))
    with pytest.raises(ConfigError, match=r"keys.npz: no 'mu' and 'sigma' arrays \(found: m, s\)"):
        load_reference_stats(tmp_path / "keys.npz")
    np.savez(tmp_path / "shape.npz", mu=np.zeros(3), sigma=np.eye(2))
    with pytest.raises(ConfigError, match=r"shape.npz: mu of shape \(3,\) and sigma of shape \(2, 2\); expected"):
        load_reference_stats(tmp_path / "shape.npz")
    np.savez(tmp_path / "asym.npz", mu=np.zeros(2), sigma=np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ConfigError, match=r"asym.npz: sigma must be a symmetric covariance matrix"):
        load_reference_stats(tmp_path / "asym.npz")
    np.savez(tmp_path / "nan.npz", mu=np.array([np.nan, 0.0]), sigma=np.eye(2))
    with pytest.raises(ConfigError, match=r"nan.npz: mu has non-finite values"):
        load_reference_stats(tmp_path / "nan.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(ConfigError, match=r"text.npz: not a readable .npz"):
        load_reference_stats(tmp_path / "text.npz")
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(ConfigError, match=r"one.npy: a single .npy array, not an archive"):
        load_reference_stats(tmp_path / "one.npy")
    np.savez(tmp_path / "obj.npz", mu=np.zeros(2), sigma=np.eye(2), **{PROVENANCE_KEY: np.array("{not json")})
    with pytest.raises(ConfigError, match=r"obj.npz: 'ganbench_provenance' is not JSON"):
        load_reference_stats(tmp_path / "obj.npz")


def test_statistics_of_another_extractor_or_dimension_are_refused(tmp_path):
    save_reference_stats(tmp_path / "s.npz", features(0), {**INFO, "name": "digits-cnn", "weights_sha256": "ab" * 32},
                         "unit test")
    stats = load_reference_stats(tmp_path / "s.npz")
    with pytest.raises(ConfigError, match=r"computed with extractor 'digits-cnn' \(weights sha256 abababababab\), "
                                          r"but this evaluation uses 'identity'"):
        check_compatible(stats, INFO, 3)
    with pytest.raises(ConfigError, match=r"statistics of 3-d features, but extractor 'identity' gives 5-d"):
        check_compatible(stats, INFO, 5)
    check_compatible(stats, {**INFO, "name": "digits-cnn", "weights_sha256": "ab" * 32}, 3)


# ---------------------------------------------------------------- commands

def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err
    return err


def test_stats_make_show_and_metrics_against_them(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "r.npy", rng.normal(size=(500, 2)))
    np.save(tmp_path / "f.npy", rng.normal(size=(500, 2)) + 1.0)
    assert main(["stats", "make", "--real", str(tmp_path / "r.npy"), "--features", "identity",
                 "--out", str(tmp_path / "s.npz")]) == 0
    assert "2-d statistics of 500 samples" in capsys.readouterr().out
    assert main(["stats", "show", str(tmp_path / "s.npz")]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["format"] == "ganbench" and shown["provenance"]["n"] == 500
    assert main(["metrics", "--real", str(tmp_path / "r.npy"), "--fake", str(tmp_path / "f.npy"),
                 "--features", "identity", "--metrics", "fid", "--json"]) == 0
    direct = json.loads(capsys.readouterr().out)["metrics"]["fid"]
    assert main(["metrics", "--real-stats", str(tmp_path / "s.npz"), "--fake", str(tmp_path / "f.npy"),
                 "--features", "identity", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["metrics"]["fid"] == pytest.approx(direct, rel=1e-12)
    assert out["provenance"]["real_stats_file"]["provenance"] == "recorded"
    # a foreign file: accepted, and the result says so
    mu, sigma = feature_stats(np.load(tmp_path / "r.npy"))
    np.savez(tmp_path / "foreign.npz", mu=mu, sigma=sigma)
    assert main(["metrics", "--real-stats", str(tmp_path / "foreign.npz"), "--fake", str(tmp_path / "f.npy"),
                 "--features", "identity"]) == 0
    assert "provenance unknown" in capsys.readouterr().out


def test_metrics_with_real_stats_bad_inputs_exit_2(tmp_path, capsys):
    np.save(tmp_path / "f.npy", np.zeros((10, 2)))
    assert main(["metrics", "--fake", str(tmp_path / "f.npy"), "--features", "identity"]) == 2
    assert "needs --real SAMPLES or --real-stats FILE" in one_line_error(capsys)
    np.savez(tmp_path / "s.npz", mu=np.zeros(2), sigma=np.eye(2))
    assert main(["metrics", "--real-stats", str(tmp_path / "s.npz"), "--fake", str(tmp_path / "f.npy"),
                 "--features", "identity", "--metrics", "fid,kid"]) == 2
    assert "--metrics kid need real samples" in one_line_error(capsys)
    assert main(["metrics", "--real-stats", str(tmp_path / "missing.npz"), "--fake", str(tmp_path / "f.npy"),
                 "--features", "identity"]) == 2
    assert "missing.npz: no such reference statistics file" in one_line_error(capsys)
    assert main(["stats", "make", "--real", str(tmp_path / "f.npy"), "--features", "identity",
                 "--out", str(tmp_path / "s.txt")]) == 2
    assert "statistics are written as .npz" in one_line_error(capsys)


def test_stats_of_a_dataset_and_of_other_weights(tmp_path, capsys):
    assert main(["stats", "make", "--data", "digits", "--n", "120", "--features", "digits-cnn",
                 "--out", str(tmp_path / "digits.npz")]) == 0
    stats = load_reference_stats(tmp_path / "digits.npz")
    assert stats.provenance["source"] == "dataset digits, split test, 120 samples" and stats.dim == 128
    from ganbench.features import get_extractor
    ex = get_extractor("digits-cnn")
    assert stats.provenance["weights_sha256"] == ex.weights_sha256 and stats.provenance["input"] == ex.info()["input"]
    info = {"name": "digits-cnn", "weights_sha256": "0" * 64}
    with pytest.raises(ConfigError, match=r"computed with extractor 'digits-cnn' \(weights sha256 .{12}\), but this "
                                          r"evaluation uses 'digits-cnn' \(weights sha256 000000000000\)"):
        check_compatible(stats, info, 128)  # same extractor, other weights: refused too
