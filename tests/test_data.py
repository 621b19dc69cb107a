"""Tests for ganbench.data: geometry of the mixtures, the fixed digits split, Stacked digits labels,
local MNIST / CIFAR-10 files (fake ones written in the exact on-disk formats) and image folders."""
from __future__ import annotations

import gzip
import hashlib
import json
import math
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

from ganbench import data as gdata
from ganbench.data import DATASETS, get_dataset
from ganbench.registry import ConfigError


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- registry and errors

def test_registry_lists_every_dataset_with_a_one_line_description():
    expected = {"ring8", "ring8-wide", "grid25", "digits", "stacked-digits", "mnist", "fashion-mnist", "cifar10", "folder"}
    assert {n for n in DATASETS.names() if ":" not in n} == expected  # import paths resolved by other tests aside
    for entry in (e for e in DATASETS.entries() if ":" not in e.name):
        assert entry.description and "\n" not in entry.description


def test_unknown_name_and_bad_params_are_config_errors():
    with pytest.raises(ConfigError, match=r"unknown dataset 'ring9' \(did you mean 'ring8'\?\)"):
        get_dataset("ring9")
    with pytest.raises(ConfigError, match=r"unknown parameter 'raduis' .*did you mean 'radius'"):
        get_dataset("ring8", raduis=2.0)
    with pytest.raises(ConfigError, match=r"parameter 'std' must be float, got str"):
        get_dataset("grid25", std="wide")
    with pytest.raises(ConfigError, match=r"dataset 'ring8': std must be > 0, got 0.0"):
        get_dataset("ring8", std=0.0)
    with pytest.raises(ConfigError, match=r"dataset 'digits': size 12 is not supported; accepted: 8, 16, 32"):
        get_dataset("digits", size=12)


def test_split_n_and_generator_are_checked():
    ds = get_dataset("ring8")
    with pytest.raises(ConfigError, match=r"dataset 'ring8' has no split 'valid'; accepted: train, test"):
        ds.real(10, "valid", gen())
    with pytest.raises(ValueError, match=r"positive int, got 0"):
        ds.sample(0, gen())
    with pytest.raises(ValueError, match=r"must be a torch.Generator, got 0"):
        ds.sample(3, 0)


def test_import_reads_nothing_and_loads_no_heavy_optional_module():
    code = ("import sys, ganbench.data as d; "
            "print(sorted(m for m in ('sklearn', 'torchvision', 'PIL') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ---------------------------------------------------------------- 2-D mixtures

def test_ring8_centers_by_hand():
    ds = get_dataset("ring8")
    r = math.sqrt(0.5)
    expected = [[1, 0], [r, r], [0, 1], [-r, r], [-1, 0], [-r, -r], [0, -1], [r, -r]]
    assert ds.kind == "points" and ds.shape == (2,) and ds.n_modes == 8 and ds.std == 0.01
    torch.testing.assert_close(ds.centers, torch.tensor(expected, dtype=torch.float64), atol=1e-15, rtol=0)
    small = get_dataset("ring8", radius=2.0, std=0.1, n_modes=4)
    torch.testing.assert_close(small.centers, torch.tensor([[2.0, 0], [0, 2], [-2, 0], [0, -2]], dtype=torch.float64),
                               atol=1e-15, rtol=0)


def test_ring8_wide_is_the_radius_2_ring_under_its_own_name():
    ds = get_dataset("ring8-wide")
    assert ds.name == "ring8-wide" and ds.std == 0.05 and ds.n_modes == 8
    assert ds.params == {"radius": 2.0, "std": 0.05, "n_modes": 8}
    torch.testing.assert_close(ds.centers, 2 * get_dataset("ring8").centers, atol=1e-15, rtol=0)
    torch.testing.assert_close(ds.sample(64, gen(3)), get_dataset("ring8", radius=2.0, std=0.05).sample(64, gen(3)))
    with pytest.raises(ConfigError, match=r"dataset 'ring8-wide': std must be > 0, got -1"):
        get_dataset("ring8-wide", std=-1)


def test_grid25_centers_by_hand():
    ds = get_dataset("grid25")
    assert ds.n_modes == 25 and ds.std == 0.05
    got = {tuple(c) for c in ds.centers.tolist()}
    assert got == {(x, y) for x in (-4.0, -2.0, 0.0, 2.0, 4.0) for y in (-4.0, -2.0, 0.0, 2.0, 4.0)}
    assert ds.centers[0].tolist() == [-4.0, -4.0] and ds.centers[1].tolist() == [-4.0, -2.0]  # mode 5i + j


@pytest.mark.parametrize("name,std", [("ring8", 0.01), ("ring8-wide", 0.05), ("grid25", 0.05)])
def test_mixture_empirical_std_mode_shares_and_labels(name, std):
    ds = get_dataset(name)
    n = 200_000
    x, modes = ds.real_with_labels(n, "test", gen(1))
    assert x.dtype == torch.float32 and x.shape == (n, 2)
    resid = x.double() - ds.centers[modes]
    # Per-coordinate std of N(0, σ²) from 400k values: relative standard error ≈ 1/sqrt(2·400k) ≈ 0.11%.
    assert abs(resid.std().item() / std - 1) < 0.01
    assert resid.mean(0).abs().max().item() < 5 * std / math.sqrt(n / ds.n_modes)
    shares = torch.bincount(modes, minlength=ds.n_modes).double() / n
    assert (shares - 1 / ds.n_modes).abs().max().item() < 0.01
    nearest = torch.cdist(x.double(), ds.centers).argmin(1)
    assert torch.equal(nearest, modes)  # modes are 10+ std apart, so the label is the nearest centre


def test_mixture_determinism():
    ds = get_dataset("grid25")
    assert torch.equal(ds.sample(50, gen(3)), ds.sample(50, gen(3)))
    assert not torch.equal(ds.sample(50, gen(3)), ds.sample(50, gen(4)))
    assert ds.data("train") is None and ds.labels("test") is None and ds.split_size("train") is None
    assert ds.n_classes == 25


# ---------------------------------------------------------------- digits

def test_digits_split_is_fixed_and_stratified():
    from sklearn.datasets import load_digits

    ds = get_dataset("digits")
    assert ds.kind == "images" and ds.shape == (1, 8, 8) and ds.n_classes == 10
    assert ds.split_size("train") == 1346 and ds.split_size("test") == 451
    # round-half-up(0.25 · class count) per class; counts 178 182 177 183 181 182 181 179 174 180.
    assert torch.bincount(ds.labels("test")).tolist() == [45, 46, 44, 46, 45, 46, 45, 45, 44, 45]
    y = load_digits().target
    train, test = gdata.images.stratified_split(y, 0.25)
    assert hashlib.sha256(test.astype("<i8").tobytes()).hexdigest() == (
        "70a619239214155a76b7f7c3093372ba5df3ee88533b987c93e4b428e9431185")  # shipped weights depend on it
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == 1797
    assert torch.equal(ds.labels("train"), torch.as_tensor(y[train]))


def test_digits_values_scaled_to_minus_one_one_exactly():
    from sklearn.datasets import load_digits

    ds = get_dataset("digits")
    train, _ = gdata.images.stratified_split(load_digits().target, 0.25)
    raw = torch.as_tensor(load_digits().images[train], dtype=torch.float32).unsqueeze(1)
    x = ds.data("train")
    assert x.dtype == torch.float32
    torch.testing.assert_close(x, raw / 8 - 1, atol=0, rtol=0)  # 0 -> -1, 8 -> 0, 16 -> 1
    assert x.min().item() == -1.0 and x.max().item() == 1.0


def test_digits_real_without_replacement_and_whole_split():
    ds = get_dataset("digits")
    x, y = ds.real_with_labels(5000, "test", gen())
    assert torch.equal(x, ds.data("test")) and torch.equal(y, ds.labels("test"))  # n >= size: all, in order
    x, y = ds.real_with_labels(200, "test", gen(7))
    idx = torch.randperm(451, generator=gen(7))[:200]  # distinct indices: no replacement
    assert len(idx.unique()) == 200
    assert torch.equal(x, ds.data("test")[idx]) and torch.equal(y, ds.labels("test")[idx])
    assert torch.equal(x, ds.real(200, "test", gen(7)))


def test_digits_sample_draws_train_images_deterministically():
    ds = get_dataset("digits")
    x = ds.sample(64, gen(5))
    assert x.shape == (64, 1, 8, 8) and torch.equal(x, ds.sample(64, gen(5)))
    train_rows = {r.numpy().tobytes() for r in ds.data("train")}
    assert all(r.numpy().tobytes() in train_rows for r in x)


def test_digits_resized_keeps_range_and_constants():
    ds = get_dataset("digits", size=16)
    x = ds.data("train")
    assert x.shape == (1346, 1, 16, 16) and x.min() >= -1 and x.max() <= 1
    assert "bilinear" in ds.info()["transform"]
    const = ds._prepare(torch.full((1, 1, 8, 8), 4, dtype=torch.uint8))
    torch.testing.assert_close(const, torch.full((1, 1, 16, 16), -0.5))


# ---------------------------------------------------------------- stacked digits

def test_stacked_digits_labels_match_channel_digits():
    ds = get_dataset("stacked-digits")
    assert ds.shape == (3, 8, 8) and ds.n_modes == 1000 and ds.n_classes == 1000
    base = get_dataset("digits")
    for split, n in (("test", 300), ("train", 300)):
        x, labels = ds.real_with_labels(n, split, gen(2))
        lookup: dict[bytes, set[int]] = {}
        for img, lab in zip(base.data(split), base.labels(split)):
            lookup.setdefault(img.numpy().tobytes(), set()).add(int(lab))
        for img, lab in zip(x, labels):
            digits = (int(lab) // 100, int(lab) // 10 % 10, int(lab) % 10)
            for c in range(3):
                assert digits[c] in lookup[img[c:c + 1].numpy().tobytes()]  # each channel from that split
    assert torch.equal(ds.sample(20, gen(9)), ds.sample(20, gen(9)))
    assert ds.data("train") is None and ds.labels("train") is None


def test_stacked_digits_mode_labels_by_hand_and_coverage():
    from ganbench.data import StackedDigits

    assert StackedDigits.mode_labels(torch.tensor([[1, 2, 3], [0, 0, 7], [9, 9, 9]])).tolist() == [123, 7, 999]
    _, labels = get_dataset("stacked-digits").real_with_labels(20_000, "train", gen(0))
    # 20k uniform draws over 1000 modes: expected uncovered ≈ 1000·e^-20 ≈ 0.
    assert labels.min() >= 0 and labels.max() <= 999 and len(labels.unique()) == 1000


# ---------------------------------------------------------------- MNIST-format files

def write_idx(path, arr: np.ndarray) -> None:
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    payload = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape) + arr.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)


def fake_mnist(root, folder="MNIST", gz=False):
    rng = np.random.default_rng(0)
    arrays = {"train": (rng.integers(0, 256, (6, 28, 28)), np.arange(6) % 10),
              "test": (rng.integers(0, 256, (4, 28, 28)), np.array([9, 8, 7, 6]))}
    arrays["train"][0][0, 0] = 255  # a white first row and a black second row pin both ends of the range
    arrays["train"][0][0, 1] = 0
    ext = ".gz" if gz else ""
    for split, prefix in (("train", "train"), ("test", "t10k")):
        imgs, labs = arrays[split]
        write_idx(root / folder / "raw" / f"{prefix}-images-idx3-ubyte{ext}", imgs)
        write_idx(root / folder / "raw" / f"{prefix}-labels-idx1-ubyte{ext}", labs)
    return arrays


def test_mnist_missing_files_names_folder_and_files(tmp_path, monkeypatch):
    monkeypatch.setattr(gdata.local_files, "_download", lambda *a: pytest.fail("no download without download=true"))
    with pytest.raises(ConfigError, match=r"dataset 'mnist': missing train-images-idx3-ubyte\(\.gz\), "
                                          r"train-labels-idx1-ubyte\(\.gz\), t10k-images.* in .*MNIST/raw"):
        get_dataset("mnist", root=str(tmp_path))
    monkeypatch.setenv("GANBENCH_DATA", str(tmp_path / "envroot"))
    with pytest.raises(ConfigError, match=r"envroot/FashionMNIST/raw; put the idx files there or set download"):
        get_dataset("fashion-mnist")


@pytest.mark.parametrize("gz", [False, True])
def test_fake_mnist_loads_with_exact_values(tmp_path, gz):
    arrays = fake_mnist(tmp_path, gz=gz)
    ds = get_dataset("mnist", root=str(tmp_path))
    assert ds.shape == (1, 28, 28) and ds.split_size("train") == 6 and ds.split_size("test") == 4
    expected = torch.as_tensor(arrays["train"][0], dtype=torch.float32).unsqueeze(1) / 255 * 2 - 1
    torch.testing.assert_close(ds.data("train"), expected, atol=1e-6, rtol=0)
    assert ds.labels("test").tolist() == [9, 8, 7, 6]
    assert ds.data("train")[0, 0, 0].tolist() == [1.0] * 28 and ds.data("train")[0, 0, 1].tolist() == [-1.0] * 28
    if not gz:  # torchvision's own idx reader is the reference implementation
        from torchvision.datasets.mnist import read_image_file, read_label_file

        raw = tmp_path / "MNIST" / "raw"
        images = raw / "t10k-images-idx3-ubyte"
        assert torch.equal(gdata.local_files._read_idx(images, 3), read_image_file(str(images)))
        assert torch.equal(gdata.local_files._read_idx(raw / "t10k-labels-idx1-ubyte", 1).long(),
                           read_label_file(str(raw / "t10k-labels-idx1-ubyte")))


def test_fake_mnist_padded_to_32_and_fashion_folder(tmp_path):
    fake_mnist(tmp_path, folder="FashionMNIST")
    ds28 = get_dataset("fashion-mnist", root=str(tmp_path))
    ds32 = get_dataset("fashion-mnist", root=str(tmp_path), size=32)
    x28, x32 = ds28.data("test"), ds32.data("test")
    assert x32.shape == (4, 1, 32, 32)
    assert torch.equal(x32[:, :, 2:30, 2:30], x28)  # padding leaves the strokes untouched
    border = torch.ones(32, 32, dtype=torch.bool)
    border[2:30, 2:30] = False
    assert (x32[:, :, border] == -1).all()
    assert get_dataset("fashion-mnist", root=str(tmp_path), size=64).data("train").shape == (6, 1, 64, 64)


def test_corrupt_idx_is_a_config_error(tmp_path):
    fake_mnist(tmp_path)
    (tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x0d\x03" + bytes(12))
    with pytest.raises(ConfigError, match=r"t10k-images-idx3-ubyte: not a uint8 idx file with 3 dimension"):
        get_dataset("mnist", root=str(tmp_path))


def test_download_true_goes_through_torchvision(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    calls = []

    def fake_download(root, train, download):
        calls.append((root, train, download))
        fake_mnist(tmp_path)

    monkeypatch.setattr(tvd, "MNIST", fake_download)
    ds = get_dataset("mnist", root=str(tmp_path), download=True)
    assert calls == [(str(tmp_path), True, True)] and ds.split_size("train") == 6


# ---------------------------------------------------------------- CIFAR-10 python batches

def fake_cifar(root, per_batch=2):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        imgs = np.zeros((per_batch, 3, 32, 32), dtype=np.uint8)
        imgs[:, 0] = 255  # pure red: R -> 1, G, B -> -1
        imgs[:, 2, 0, 0] = i  # tag each batch in the blue channel's first pixel
        entry = {"batch_label": name, "labels": [i] * per_batch, "data": imgs.reshape(per_batch, -1),
                 "filenames": [f"{name}_{j}.png" for j in range(per_batch)]}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f)


def test_cifar_missing_files(tmp_path):
    with pytest.raises(ConfigError, match=r"dataset 'cifar10': missing data_batch_1, .*test_batch in "
                                          r".*cifar-10-batches-py; put the CIFAR-10 python batches there"):
        get_dataset("cifar10", root=str(tmp_path))


def test_fake_cifar_loads_channels_first_in_batch_order(tmp_path):
    fake_cifar(tmp_path)
    ds = get_dataset("cifar10", root=str(tmp_path))
    assert ds.shape == (3, 32, 32) and ds.split_size("train") == 10 and ds.split_size("test") == 2
    x = ds.data("train")
    assert (x[:, 0] == 1).all() and (x[:, 1] == -1).all()
    assert ds.labels("train").tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4] and ds.labels("test").tolist() == [5, 5]
    torch.testing.assert_close(x[::2, 2, 0, 0], torch.arange(5) / 255 * 2 - 1)
    assert get_dataset("cifar10", root=str(tmp_path), size=16).data("test").shape == (2, 3, 16, 16)
    with pytest.raises(ConfigError, match=r"size 28 is not supported; accepted: 16, 32, 64"):
        get_dataset("cifar10", root=str(tmp_path), size=28)


# ---------------------------------------------------------------- image folders

def write_png(path, color, size=(10, 6), mode="RGB"):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)


def test_folder_with_class_subfolders(tmp_path):
    write_png(tmp_path / "cat" / "a.png", (255, 0, 0))
    write_png(tmp_path / "cat" / "deep" / "b.PNG", (255, 0, 0), size=(5, 9))
    write_png(tmp_path / "dog" / "c.png", (0, 0, 255))
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    ds = get_dataset("folder", root=str(tmp_path), size=4)
    assert ds.shape == (3, 4, 4) and ds.split_size("train") == 3 and ds.n_classes == 2
    assert ds.labels("train").tolist() == [0, 0, 1]  # sorted paths; cat = 0, dog = 1
    x = ds.data("train")
    assert (x[:2, 0] == 1).all() and (x[:2, 1:] == -1).all() and (x[2, 2] == 1).all()
    info = ds.info()
    assert info["class_names"] == ["cat", "dog"] and "bilinear" in info["resize"]
    json.dumps(info)
    with pytest.raises(ConfigError, match=r"dataset 'folder' has no split 'test'; accepted: train"):
        ds.real(2, "test", gen())


def test_folder_flat_grayscale_and_test_fraction(tmp_path):
    for i in range(4):
        write_png(tmp_path / f"{i}.png", 128 + i, mode="L")
    ds = get_dataset("folder", root=str(tmp_path), size=8, channels=1, test_fraction=0.5)
    assert ds.shape == (1, 8, 8) and ds.labels("train") is None and ds.n_classes is None
    assert ds.split_size("train") == 2 and ds.split_size("test") == 2
    values = sorted(ds.data("train")[:, 0, 0, 0].tolist() + ds.data("test")[:, 0, 0, 0].tolist())
    torch.testing.assert_close(torch.tensor(values), (torch.arange(128, 132) / 255 * 2 - 1))


def test_folder_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"dataset 'folder': root '.*nowhere' is not a directory"):
        get_dataset("folder", root=str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match=r"dataset 'folder': no .png/.jpg/.jpeg/.bmp/.webp images under"):
        get_dataset("folder", root=str(tmp_path))
    with pytest.raises(ConfigError, match=r"dataset 'folder' needs parameter\(s\): root"):
        get_dataset("folder")
    with pytest.raises(ConfigError, match=r"channels must be 1 or 3, got 2"):
        get_dataset("folder", root=str(tmp_path), channels=2)
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ConfigError, match=r"cannot read image .*broken.jpg"):
        get_dataset("folder", root=str(tmp_path))


# ---------------------------------------------------------------- provenance

def test_info_is_json_and_records_params_and_sizes():
    for name in ("ring8", "grid25", "digits", "stacked-digits"):
        info = get_dataset(name).info()
        json.dumps(info)
        assert info["name"] == name and isinstance(info["params"], dict)
    assert get_dataset("digits").info()["sizes"] == {"train": 1346, "test": 451}
    assert get_dataset("ring8").info()["params"] == {"radius": 1.0, "std": 0.01, "n_modes": 8}


class _RunsCode:
    """Unpickled by plain ``pickle.load``, this creates ``path``: a CIFAR batch holding it must not run it."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        import os
        return (os.system, (f"touch {self.path}",))


@pytest.mark.parametrize("where", ["whole", "inside"])
def test_issue16_cifar_batch_that_runs_code_is_refused_before_the_payload_runs(tmp_path, where):
    fake_cifar(tmp_path)
    marker = tmp_path / "pwned"
    payload = _RunsCode(marker)
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_1"
    with open(batch, "wb") as f:
        pickle.dump(payload if where == "whole" else {"data": np.zeros((1, 3072), np.uint8), "labels": [payload]}, f)
    with pytest.raises(ConfigError, match=r"data_batch_1: not a CIFAR-10 batch \(UnpicklingError: it names "
                                          r"(posix|os)\.system, which a CIFAR-10 batch never holds\)"):
        get_dataset("cifar10", root=str(tmp_path))
    assert not marker.exists()


def test_issue16_cifar_eval_generator_with_a_malicious_batch_exits_2_and_runs_nothing(tmp_path, capsys):
    from ganbench.cli import main
    fake_cifar(tmp_path)
    marker = tmp_path / "pwned"
    for name in ("data_batch_1", "test_batch"):
        with open(tmp_path / "cifar-10-batches-py" / name, "wb") as f:
            pickle.dump(_RunsCode(marker), f)
    rc = main(["eval-generator", "--generator", "x.pt", "--data", "cifar10", "--features", "identity",
               "--set", f"data.root={tmp_path}", "--out", str(tmp_path / "out")])
    assert rc == 2 and not marker.exists()
    assert "not a CIFAR-10 batch" in capsys.readouterr().err


@pytest.mark.parametrize("protocol", [2, 5])
def test_cifar_batches_pickled_with_numpy_arrays_still_load(tmp_path, protocol):
    # The restricted unpickler must still read what the real batches hold: protocol 2 (numpy's _reconstruct,
    # bytes through _codecs.encode) and 5 (numpy's _frombuffer).
    fake_cifar(tmp_path)
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        entry = {"batch_label": "x", "labels": [i, i], "data": np.full((2, 3072), 10 * i, np.uint8),
                 "filenames": ["a.png", "b.png"]}
        (tmp_path / "cifar-10-batches-py" / name).write_bytes(pickle.dumps(entry, protocol=protocol))
    ds = get_dataset("cifar10", root=str(tmp_path))
    assert ds.labels("train").tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    torch.testing.assert_close(ds.data("test"), torch.full((2, 3, 32, 32), 50 / 255 * 2 - 1))


@pytest.mark.parametrize("entry, match", [
    ({"data": np.zeros((2, 100), np.uint8), "labels": [0, 0]}, r"'data' a uint8 array \[N, 3072\]"),
    ({"data": np.zeros((2, 3072), np.uint8), "labels": [0]}, r"'data' .* and 'labels' a list of N ints\)"),
    ({"data": [1, 2], "labels": [0, 0]}, r"'data' a uint8 array"),
])
def test_cifar_batch_with_wrong_contents_is_named(tmp_path, entry, match):
    fake_cifar(tmp_path)
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "wb") as f:
        pickle.dump(entry, f)
    with pytest.raises(ConfigError, match=r"test_batch: not a CIFAR-10 batch \(expected " + match):
        get_dataset("cifar10", root=str(tmp_path))


# ---------------------------------------------------------------- PacGAN's fixed training set

@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_n_train_fixes_the_training_set_once_per_seed(name):
    ds = get_dataset(name, n_train=300)
    fixed = ds._draw(300, torch.Generator().manual_seed(5))[0]  # what train_sampler(5) draws once
    sample = ds.train_sampler(5)
    g = torch.Generator().manual_seed(0)
    batches = torch.cat([sample(100, g) for _ in range(20)])
    # every training point is one of the 300, and 2,000 draws reach nearly all of them
    matches = (batches[:, None, :] == fixed[None, :, :]).all(-1)
    assert matches.any(1).all()
    assert matches.any(0).sum() > 280
    assert torch.equal(ds.train_sampler(5)(7, torch.Generator().manual_seed(1)),
                       ds.train_sampler(5)(7, torch.Generator().manual_seed(1)))
    other = ds.train_sampler(6)(7, torch.Generator().manual_seed(1))
    assert not (other[:, None, :] == fixed[None, :, :]).all(-1).any()  # another seed, another set
    assert ds.info()["params"]["n_train"] == 300


def test_without_n_train_training_draws_afresh():
    ds = get_dataset("ring8")
    assert ds.train_sampler(5) == ds.sample and "n_train" not in ds.info()["params"]


@pytest.mark.parametrize("bad", [0, -5])
def test_bad_n_train_is_a_one_line_error(bad):
    with pytest.raises(ConfigError, match=rf"dataset 'grid25': n_train must be an int >= 1 .*got {bad}"):
        get_dataset("grid25", n_train=bad)
