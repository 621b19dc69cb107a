"""Feature extractors: shipped weights and their hash, accuracy, shapes, batch invariance, reproducible
training, the Inception loading path (offline, random weights), torch-fidelity registration."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import numpy as np
import pytest
import torch
from scipy import linalg

from ganbench import cli
from ganbench.data import get_dataset
from ganbench.features import (DIGITS_WEIGHTS, EXTRACTORS, INCEPTION_ENV, INCEPTION_FILE, ClassifierExtractor,
                               classify_channels, default_extractor_for, find_inception_weights, get_extractor,
                               recorded_sha256, register_with_torch_fidelity, sha256_file, train_extractor)
from ganbench.files import CorruptFileError
from ganbench.registry import ConfigError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def digits_cnn() -> ClassifierExtractor:
    return get_extractor("digits-cnn")


@pytest.fixture(scope="module")
def digits():
    return get_dataset("digits")


# ---------------------------------------------------------------- registry, identity, defaults

def test_registry_lists_the_builtin_extractors_with_descriptions():
    assert EXTRACTORS.names() == ["classifier", "clip-vit-b32", "clip-vit-l14", "clip-vit-l14-336", "digits-cnn",
                                  "dinov2-vit-b14", "dinov2-vit-l14", "dinov2-vit-s14", "identity",
                                  "inception-v3-compat"]
    assert all(e.description for e in EXTRACTORS.entries())
    with pytest.raises(ConfigError, match=r"unknown feature extractor 'digit-cnn' \(did you mean 'digits-cnn'\?\)"):
        get_extractor("digit-cnn")
    with pytest.raises(ConfigError, match=r"unknown parameter 'weight' for feature extractor 'digits-cnn'"):
        get_extractor("digits-cnn", weight="x.pt")


def test_identity_returns_the_points_as_float64():
    x = torch.tensor([[1.0, -2.0], [0.5, 3.25], [0.0, 0.0]])
    ext = get_extractor("identity")
    out = ext(x)
    assert out["logits"] is None and not ext.has_logits and ext.weights_sha256 is None and ext.comparable
    assert out["features"].dtype == torch.float64 and torch.equal(out["features"], x.double())
    arrays = ext.extract(x, batch_size=2)
    assert arrays["logits"] is None and arrays["features"].dtype == np.float64
    np.testing.assert_array_equal(arrays["features"], x.double().numpy())
    with pytest.raises(ValueError, match=r"extractor 'identity' expects points \[N, d\], got shape \(3, 1, 2\)"):
        ext(x[:, None])


def test_default_extractor_for_each_kind_of_data(digits):
    assert default_extractor_for(get_dataset("ring8")) == "identity"
    assert default_extractor_for(digits) == "digits-cnn"
    assert default_extractor_for(get_dataset("stacked-digits")) == "digits-cnn"
    assert default_extractor_for(SimpleNamespace(name="cifar10", kind="images")) == "inception-v3-compat"
    with pytest.raises(ValueError, match="default_extractor_for needs a ganbench Dataset"):
        default_extractor_for("digits")


def test_extract_rejects_bad_batch_sizes_and_empty_input(digits_cnn):
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        digits_cnn.extract(torch.zeros(2, 1, 8, 8), batch_size=0)
    with pytest.raises(ValueError, match=r"expected a non-empty batch \[N, ...\], got shape \(0, 1, 8, 8\)"):
        digits_cnn.extract(torch.zeros(0, 1, 8, 8))


# ---------------------------------------------------------------- shipped digits-cnn

def test_shipped_weights_hash_is_verified_and_recorded(digits_cnn):
    sha = sha256_file(DIGITS_WEIGHTS)
    assert recorded_sha256(DIGITS_WEIGHTS) == sha == digits_cnn.weights_sha256
    assert digits_cnn.comparable and digits_cnn.info()["weights_sha256"] == sha
    record = json.loads(DIGITS_WEIGHTS.with_suffix(".json").read_text())
    assert record["sha256"] == sha and record["dataset"] == "digits" and record["seed"] == 0
    obj = torch.load(DIGITS_WEIGHTS, weights_only=True)  # plain tensors and metadata, no pickled code
    assert obj["format"] == "ganbench-classifier-v1" and obj["meta"]["accuracy"] == record["accuracy"]
    assert DIGITS_WEIGHTS.stat().st_size < 1_000_000


def test_shipped_weights_reach_97_percent_on_the_digits_test_split(digits_cnn, digits):
    y = digits.labels("test")
    pred = digits_cnn.classify_channels(digits.data("test"))
    assert pred.shape == (451, 1) and pred.dtype == torch.long
    accuracy = (pred[:, 0] == y).double().mean().item()
    assert accuracy >= 0.97
    assert accuracy == pytest.approx(digits_cnn.meta["accuracy"], abs=1e-12)  # the number shipped in the file


def test_hash_mismatch_names_the_file(tmp_path):
    path = tmp_path / "digits-cnn.pt"
    shutil.copy(DIGITS_WEIGHTS, path)
    (tmp_path / "digits-cnn.sha256").write_text("0" * 64 + "  digits-cnn.pt\n")
    with pytest.raises(CorruptFileError, match=rf"{path}: sha256 {sha256_file(path)} does not match the expected 0{{64}}"):
        get_extractor("digits-cnn", weights=str(path))
    with pytest.raises(CorruptFileError, match=rf"{path}: sha256 .* does not match the expected f{{64}}"):
        get_extractor("classifier", path=str(path), sha256="f" * 64)
    with pytest.raises(ConfigError, match="sha256 must be 64 lowercase hex digits, got 'abc'"):
        get_extractor("classifier", path=str(path), sha256="abc")
    with pytest.raises(ConfigError, match=r"classifier weights '.*nope.pt' not found; train them with"):
        get_extractor("classifier", path=str(tmp_path / "nope.pt"))
    (tmp_path / "junk.pt").write_bytes(b"not a zip file")
    with pytest.raises(CorruptFileError, match=rf"{tmp_path / 'junk.pt'}: not a ganbench classifier"):
        get_extractor("classifier", path=str(tmp_path / "junk.pt"))


def test_feature_shapes_dtypes_and_float64_extraction(digits_cnn, digits):
    x = digits.data("test")[:20]
    out = digits_cnn(x)
    assert digits_cnn.dim == 128 and digits_cnn.has_logits
    assert out["features"].shape == (20, 128) and out["logits"].shape == (20, 10)
    assert out["features"].dtype == torch.float32 and not out["features"].requires_grad
    arrays = digits_cnn.extract(x)
    assert arrays["features"].dtype == np.float64 and arrays["logits"].dtype == np.float64
    np.testing.assert_array_equal(arrays["features"], out["features"].double().numpy())
    with pytest.raises(ValueError, match=r"extractor 'digits-cnn' expects images \[N, C, H, W\], got shape \(20, 64\)"):
        digits_cnn(x.reshape(20, 64))


def test_streaming_in_batches_gives_exactly_the_one_batch_features(digits_cnn, digits):
    x = digits.data("test")
    whole = digits_cnn.extract(x, batch_size=len(x))
    for batch_size in (3, 7, 64, 100):  # small batches take other CPU kernels than large ones
        part = digits_cnn.extract(x[:130], batch_size=batch_size)
        np.testing.assert_array_equal(part["features"], whole["features"][:130])
        np.testing.assert_array_equal(part["logits"], whole["logits"][:130])
    assert np.linalg.matrix_rank(np.cov(whole["features"].T)) == 128  # pre-activation layer: no dead unit


def test_larger_digits_are_resized_to_8x8(digits_cnn):
    ds = get_dataset("digits", size=16)
    pred = digits_cnn.classify_channels(ds.data("test"))[:, 0]
    assert (pred == ds.labels("test")).double().mean().item() >= 0.95  # measured 0.965
    assert "resized bilinear" in digits_cnn.info()["input"]


def test_stacked_digits_channels_are_classified_one_by_one(digits_cnn):
    ds = get_dataset("stacked-digits")
    x, modes = ds.real_with_labels(1500, "test", torch.Generator().manual_seed(0))
    truth = torch.stack([modes // 100, modes // 10 % 10, modes % 10], dim=1)
    pred = classify_channels(x)
    assert pred.shape == (1500, 3) and pred.dtype == torch.long
    assert (pred == truth).double().mean().item() >= 0.95  # measured 0.986 per digit, 0.958 per stack
    out = digits_cnn(x[:4])
    assert out["features"].shape == (4, 384) and out["logits"].shape == (4, 1000)
    # channel c's features are the single-channel features of that channel, concatenated in order
    one = digits_cnn(x[:4, 1:2])
    torch.testing.assert_close(out["features"][:, 128:256], one["features"], rtol=0, atol=1e-6)
    # joint logits: log p(d0) + log p(d1) + log p(d2) at index 100*d0 + 10*d1 + d2 (the dataset's mode label)
    logp = [torch.log_softmax(digits_cnn(x[:4, c:c + 1])["logits"], 1) for c in range(3)]
    for a, b, c in ((0, 0, 0), (3, 7, 9), (9, 1, 4)):
        torch.testing.assert_close(out["logits"][:, 100 * a + 10 * b + c], logp[0][:, a] + logp[1][:, b] + logp[2][:, c])
    torch.testing.assert_close(out["logits"].logsumexp(1), torch.zeros(4), rtol=0, atol=1e-5)
    assert torch.equal(out["logits"].argmax(1), ds.mode_labels(digits_cnn.classify_channels(x[:4])))


# ---------------------------------------------------------------- training

def test_training_is_reproducible_and_usable_as_classifier(tmp_path):
    a = train_extractor("digits", tmp_path / "a.pt", epochs=1, seed=0)
    b = train_extractor("digits", tmp_path / "b.pt", epochs=1, seed=0)
    c = train_extractor("digits", tmp_path / "c.pt", epochs=1, seed=1)
    assert a["sha256"] == b["sha256"] != c["sha256"]
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    assert a["sha256"] == hashlib.sha256((tmp_path / "a.pt").read_bytes()).hexdigest() == recorded_sha256(tmp_path / "a.pt")
    record = json.loads((tmp_path / "a.json").read_text())
    assert record["accuracy"] == a["accuracy"] and record["shape"] == [1, 8, 8] and record["n_classes"] == 10
    ext = get_extractor("classifier", path=str(tmp_path / "a.pt"))
    assert not ext.comparable and ext.weights_sha256 == a["sha256"] and ext.dim == 128
    ds = get_dataset("digits")
    acc = (ext.classify_channels(ds.data("test"))[:, 0] == ds.labels("test")).double().mean().item()
    assert acc == pytest.approx(a["accuracy"], abs=1e-12) and acc > 0.5  # one epoch already learns something


def test_training_is_independent_of_the_callers_thread_count(tmp_path):
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    a = train_extractor("digits", tmp_path / "a.pt", epochs=1)
    torch.set_num_threads(1)
    b = train_extractor("digits", tmp_path / "b.pt", epochs=1)
    assert a["sha256"] == b["sha256"] and torch.get_num_threads() == 1
    torch.set_num_threads(before)


def test_training_rejects_bad_input(tmp_path):
    with pytest.raises(ConfigError, match="extractor train: epochs must be an int >= 1, got 0"):
        train_extractor("digits", tmp_path / "a.pt", epochs=0)
    with pytest.raises(ConfigError, match="would clash with its own .sha256/.json files"):
        train_extractor("digits", tmp_path / "a.json", epochs=1)
    with pytest.raises(ConfigError, match="dataset 'ring8' has points, not images"):
        train_extractor("ring8", tmp_path / "a.pt", epochs=1)
    with pytest.raises(ConfigError, match=r"images must be \[C, H, W\] with H, W >= 8"):
        from ganbench.features import classifier_arch
        classifier_arch((1, 4, 4), 10)


def test_cli_trains_digits(tmp_path, capsys):
    out = tmp_path / "tmp.pt"
    assert cli.main(["extractor", "train", "digits", "--epochs", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    sha = sha256_file(out)
    assert f"sha256 {sha}" in printed and "different from the shipped digits-cnn.pt" in printed
    assert recorded_sha256(out) == sha
    assert cli.main(["extractor", "train", "digits", "--epochs", "0", "--out", str(out)]) == 2
    assert "epochs must be an int >= 1, got 0" in capsys.readouterr().err
    assert cli.main(["extractor", "train", "digits", "--data", "size=5", "--out", str(out)]) == 2
    assert "size 5 is not supported" in capsys.readouterr().err


def test_cli_trains_on_an_image_folder_with_class_subfolders(tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, (lo, hi) in {"dark": (0, 90), "light": (160, 255)}.items():
        (tmp_path / "imgs" / label).mkdir(parents=True)
        for i in range(12):
            Image.fromarray(rng.integers(lo, hi, (20, 20, 3), dtype=np.uint8)).save(tmp_path / "imgs" / label / f"{i}.png")
    out = tmp_path / "folder.pt"
    argv = ["extractor", "train", "folder", "--epochs", "3", "--out", str(out), "--data", f"root={tmp_path / 'imgs'}",
            "--data", "size=16", "--data", "test_fraction=0.25"]
    assert cli.main(argv) == 0, capsys.readouterr().err
    ext = get_extractor("classifier", path=str(out))
    assert ext.info()["trained_on"] == "folder" and ext.n_classes == 2 and ext.size == (16, 16) and ext.channels == 3
    assert len(ext.net.body) == 2 * 7  # 16 px: two conv blocks (16 -> 8 -> 4)
    assert ext(torch.zeros(5, 3, 16, 16))["features"].shape == (5, 128)
    with pytest.raises(ValueError, match=r"extractor 'classifier' expects 3 channel\(s\), got 1"):
        ext(torch.zeros(5, 1, 16, 16))
    assert cli.main(argv[:-2]) == 2  # no test split
    assert "has no 'test' split to measure accuracy on (for 'folder' set test_fraction" in capsys.readouterr().err


# ---------------------------------------------------------------- InceptionV3

def test_missing_inception_weights_fail_fast_with_the_file_and_places(tmp_path, monkeypatch):
    monkeypatch.delenv(INCEPTION_ENV, raising=False)
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    start = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        get_extractor("inception-v3-compat")
    assert time.perf_counter() - start < 1.0
    message = str(err.value)
    assert "\n" not in message and f"put {INCEPTION_FILE}" in message
    assert str(tmp_path / "hub" / "checkpoints" / INCEPTION_FILE) in message and f"${INCEPTION_ENV}" in message
    monkeypatch.setenv(INCEPTION_ENV, str(tmp_path / "env.pth"))
    with pytest.raises(ConfigError, match=rf"\${INCEPTION_ENV}: {tmp_path / 'env.pth'}"):
        get_extractor("inception-v3-compat")
    with pytest.raises(ConfigError, match=rf"searched weights parameter / --inception-weights: {tmp_path / 'x.pth'}\)$"):
        get_extractor("inception-v3-compat", weights=str(tmp_path / "x.pth"))  # an explicit path never falls back


def test_inception_weights_search_order(tmp_path, monkeypatch):
    hub = tmp_path / "hub" / "checkpoints" / INCEPTION_FILE
    hub.parent.mkdir(parents=True)
    hub.write_bytes(b"x")
    env = tmp_path / "env.pth"
    env.write_bytes(b"x")
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    monkeypatch.delenv(INCEPTION_ENV, raising=False)
    assert find_inception_weights() == hub
    monkeypatch.setenv(INCEPTION_ENV, str(env))
    assert find_inception_weights() == env
    assert find_inception_weights(str(hub)) == hub
    with pytest.raises(CorruptFileError, match=rf"{env}: not a plain InceptionV3 state dict"):
        get_extractor("inception-v3-compat")


def _random_inception_weights(path: Path) -> None:
    """torch-fidelity's InceptionV3 with random weights, BatchNorm statistics set from one batch."""
    import torch_fidelity.feature_extractor_inceptionv3 as tfi

    torch.manual_seed(0)  # the module's default init draws from the global generator
    # Without a path the constructor fetches the weights: hand it an empty dict and skip loading it.
    with mock.patch.object(tfi, "load_state_dict_from_url", return_value={}), \
            mock.patch.object(tfi.FeatureExtractorInceptionV3, "load_state_dict", return_value=None):
        net = tfi.FeatureExtractorInceptionV3("random", ["2048"], feature_extractor_weights_path=None)
    net.train()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = 1.0  # running stats := this batch's: without it every feature collapses
    with torch.no_grad():
        net(torch.randint(0, 256, (2, 3, 16, 16), generator=torch.Generator().manual_seed(0), dtype=torch.uint8))
    torch.save(net.state_dict(), path)


def test_inception_loads_local_weights_and_flags_nonstandard_ones(tmp_path, monkeypatch):
    import torch_fidelity.feature_extractor_inceptionv3 as tfi

    weights = tmp_path / "random-inception.pth"
    _random_inception_weights(weights)
    monkeypatch.setenv(INCEPTION_ENV, str(weights))
    with mock.patch.object(tfi, "load_state_dict_from_url", side_effect=AssertionError("no downloads")):
        ext = get_extractor("inception-v3-compat")
    assert ext.weights_sha256 == sha256_file(weights) and not ext.weights_sha256.startswith("6726825d")
    assert not ext.comparable and not ext.info()["comparable"] and ext.info()["weights"] == str(weights)
    x = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(1)) * 2 - 1
    out = ext(x)
    assert out["features"].shape == (3, 2048) and out["logits"].shape == (3, 1008)
    assert (out["features"].std(0) > 0).double().mean() > 0.9  # calibrated BatchNorm: features do not collapse
    # [-1, 1] -> round((x + 1) * 127.5) as uint8, grey repeated to RGB, then torch-fidelity's own forward
    u8 = ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).repeat(1, 3, 1, 1)
    with torch.no_grad():
        feats, logits = ext.net(u8)
    torch.testing.assert_close(out["features"], feats, rtol=0, atol=0)
    torch.testing.assert_close(out["logits"], logits, rtol=0, atol=0)


# ---------------------------------------------------------------- torch-fidelity

def test_torch_fidelity_registration_is_idempotent_and_obeys_feature_order(digits_cnn, digits):
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    names = register_with_torch_fidelity()
    assert register_with_torch_fidelity() == names
    assert names == ["ganbench-identity", "ganbench-digits-cnn", "ganbench-classifier", "ganbench-inception-v3-compat"]
    cls = FEATURE_EXTRACTORS_REGISTRY["ganbench-digits-cnn"]
    assert cls.get_default_feature_layer_for_metric("isc") == "logits"
    assert cls.get_default_feature_layer_for_metric("fid") == "features"
    x = digits.data("test")[:10]
    u8 = ((x + 1) * 127.5).round().to(torch.uint8)  # torch-fidelity hands over uint8 images
    expected = digits_cnn(u8.float() / 127.5 - 1)
    for order in (["features", "logits"], ["logits", "features"]):
        out = cls("ganbench-digits-cnn", order)(u8)
        for key, value in zip(order, out):
            torch.testing.assert_close(value, expected[key], rtol=0, atol=0)
    with_path = FEATURE_EXTRACTORS_REGISTRY["ganbench-classifier"]("ganbench-classifier", ["features"],
                                                                    feature_extractor_weights_path=str(DIGITS_WEIGHTS))
    assert with_path.extractor.weights_sha256 == digits_cnn.weights_sha256


FIDELITY_SCRIPT = """
import json, torch, torch_fidelity
from ganbench.data import get_dataset
from ganbench.features import register_with_torch_fidelity

class Images(torch.utils.data.Dataset):
    def __init__(self, x): self.x = ((x + 1) * 127.5).round().to(torch.uint8)
    def __len__(self): return len(self.x)
    def __getitem__(self, i): return self.x[i]

register_with_torch_fidelity()
ds = get_dataset("digits")
m = torch_fidelity.calculate_metrics(
    input1=Images(ds.data("test")), input2=Images(ds.data("train")[:451]), feature_extractor="ganbench-digits-cnn",
    isc=True, fid=True, kid=True, kid_subsets=10, kid_subset_size=200, cuda=False, cache=False, verbose=False,
    save_cpu_ram=True, batch_size=200)
layers = set(); layers.add("logits"); layers.add("features")  # what torch-fidelity does with the metric layers
print(json.dumps({"order": list(layers), "metrics": m}))
"""


def _fid(a: np.ndarray, b: np.ndarray) -> float:
    mu1, mu2, s1, s2 = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


@pytest.mark.slow  # two fresh interpreters importing torch and torch-fidelity: ~15 s
def test_torch_fidelity_metrics_do_not_depend_on_the_hash_seed(digits_cnn, digits):
    results = []
    for seed in ("1", "2"):  # hash seeds under which the set of layers iterates in different orders
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}
        proc = subprocess.run([sys.executable, "-c", FIDELITY_SCRIPT], env=env, capture_output=True, text=True,
                              timeout=300, cwd=REPO)
        assert proc.returncode == 0, proc.stderr[-2000:]
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert results[0]["order"] != results[1]["order"]  # the test would catch an order bug
    assert results[0]["metrics"] == results[1]["metrics"]
    m = results[0]["metrics"]
    # torch-fidelity's FID is the FID of ganbench's own features of the same uint8 images
    to_u8 = lambda x: ((x + 1) * 127.5).round() / 127.5 - 1  # noqa: E731
    real = digits_cnn.extract(to_u8(digits.data("test")))["features"]
    fake = digits_cnn.extract(to_u8(digits.data("train")[:451]))["features"]
    assert m["frechet_inception_distance"] == pytest.approx(_fid(real, fake), rel=1e-4)
    assert 1.0 < m["inception_score_mean"] <= 10.0
