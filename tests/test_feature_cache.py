"""The real-feature cache: keyed by the samples themselves, damaged entries recomputed, unusable folders skipped."""
from __future__ import annotations

import os

import numpy as np
import pytest

from ganbench import feature_cache
from ganbench.cli import main
from ganbench.data import get_dataset
from ganbench.evaluate import real_features
from ganbench.features import get_extractor
from ganbench.files import read_json
from ganbench.results import find_run_dirs

GEN_MODULE = '''
import torch


def gray(z):
    return torch.tanh(z[:, :1, None, None].expand(len(z), 1, 8, 8) * 0.5)
'''


@pytest.fixture(autouse=True)
def fresh_warnings():
    feature_cache._warned.clear()  # each test sees its own warnings


def write_images(folder, n, seed):
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(folder / f"{i:03d}.png")


def eval_folder(tmp_path, data, out):
    rc = main(["eval-generator", "--generator", "gbt_cache_gen:gray", "--z-dim", "2", "--data", "folder",
               "--features", "digits-cnn", "--n", "48", "--out", str(out), "--set", f"data.root={data}",
               "--set", "data.size=8", "--set", "data.channels=1", "--set", "eval.n_real=48",
               "--set", "eval.floor=false", "--set", "eval.split=train"])
    assert rc == 0
    return read_json(find_run_dirs(out)[0] / "metrics.json")["metrics"]["fid"]


def test_issue16_replaced_images_never_hit_a_stale_entry(tmp_path, monkeypatch):
    # eval-generator --data folder; replace the images in DIR keeping the count; run again
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "gbt_cache_gen.py").write_text(GEN_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "data"
    write_images(data, 48, seed=0)
    before = eval_folder(tmp_path, data, tmp_path / "out1")
    write_images(data, 48, seed=1)
    stamp = 1_600_000_000
    for p in data.iterdir():  # same names, count, sizes and times: only the content tells them apart
        os.utime(p, (stamp, stamp))
    after = eval_folder(tmp_path, data, tmp_path / "out2")
    assert len(list((tmp_path / "cache" / "real-features").iterdir())) == 2
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "fresh-cache"))
    assert after == eval_folder(tmp_path, data, tmp_path / "out3") and after != before


def test_same_samples_hit_and_changed_weights_miss(tmp_path, monkeypatch):
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    ds, ex = get_dataset("ring8"), get_extractor("identity")
    first = real_features(ds, "test", ex, 64)
    again = real_features(ds, "test", ex, 64)
    assert again["cache"] == first["cache"] and np.array_equal(again["features"], first["features"])
    ex.weights_sha256 = "0" * 64  # other weights: another entry
    assert real_features(ds, "test", ex, 64)["cache"] != first["cache"]
    assert real_features(get_dataset("ring8", std=0.05), "test", get_extractor("identity"), 64)["cache"] \
        != first["cache"]


@pytest.mark.parametrize("damage", ["truncated", "bit-flipped", "wrong-length", "garbage"])
def test_issue16_damaged_entry_is_recomputed_naming_the_file(tmp_path, monkeypatch, capsys, damage):
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    ds, ex = get_dataset("ring8"), get_extractor("identity")
    first = real_features(ds, "test", ex, 64)
    path = feature_cache.Path(first["cache"])
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "bit-flipped":
        i = data.index(b"\x93NUMPY") + 200  # inside the features array: the zip's CRC no longer matches
        path.write_bytes(data[:i] + bytes([data[i] ^ 0x10]) + data[i + 1:])
    elif damage == "wrong-length":
        np.savez(path, features=np.zeros((3, 2)), logits=np.zeros(0), labels=np.zeros(0), samples=np.zeros(0))
    else:
        path.write_bytes(b"\x00garbage")
    capsys.readouterr()
    again = real_features(ds, "test", ex, 64)
    err = capsys.readouterr().err
    assert err.startswith(f"ganbench: warning: real-feature cache entry {path} is unreadable (") and \
        err.endswith("); recomputing it\n") and err.count("\n") == 1
    assert np.array_equal(again["features"], first["features"]) and again["cache"] == first["cache"]
    assert path.read_bytes() == data  # overwritten with a good entry: the next run hits it, silently
    real_features(ds, "test", ex, 64)
    assert capsys.readouterr().err == ""


def unusable_values(tmp_path):
    (tmp_path / "a-file").write_text("x")
    ro = tmp_path / "read-only"
    ro.mkdir()
    ro.chmod(0o500)
    values = {"file": str(tmp_path / "a-file"), "proc": "/proc/x", "below-a-file": str(tmp_path / "a-file" / "c")}
    if os.geteuid() != 0:  # root writes anywhere
        values["read-only"] = str(ro)
    return values


def test_issue16_unusable_cache_folder_runs_uncached_with_one_warning(tmp_path, monkeypatch, capsys):
    ds, ex = get_dataset("ring8"), get_extractor("identity")
    reference = real_features(ds, "test", ex, 64, use_cache=False)["features"]
    for what, value in unusable_values(tmp_path).items():
        monkeypatch.setenv("GANBENCH_CACHE", value)
        feature_cache._warned.clear()
        for _ in range(2):
            out = real_features(ds, "test", ex, 64)
            assert out["cache"] is None and np.array_equal(out["features"], reference), what
        err = capsys.readouterr().err
        assert err.startswith(f"ganbench: warning: GANBENCH_CACHE={value!r} cannot hold the real-feature cache ("), \
            (what, err)
        assert err.endswith("evaluating without it. Accepted: a folder this user can create and write\n")
        assert err.count("\n") == 1, (what, err)  # once per process, not once per evaluation


def test_issue16_eval_generator_with_a_file_as_cache_exits_0_without_traceback(tmp_path, monkeypatch, capsys):
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "gbt_cache_gen2.py").write_text("def points(z):\n    return z\n")
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    (tmp_path / "a-file").write_text("x")
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "a-file"))
    rc = main(["eval-generator", "--generator", "gbt_cache_gen2:points", "--z-dim", "2", "--data", "ring8",
               "--features", "identity", "--n", "64", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 0 and "Traceback" not in err and "GANBENCH_CACHE=" in err


def test_empty_cache_variable_means_the_default_folder_not_the_current_one(tmp_path, monkeypatch):
    monkeypatch.setenv("GANBENCH_CACHE", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    out = real_features(get_dataset("ring8"), "test", get_extractor("identity"), 64)
    assert out["cache"].startswith(str(tmp_path / "home" / ".cache" / "ganbench" / "real-features"))
    assert not (tmp_path / "real-features").exists()
