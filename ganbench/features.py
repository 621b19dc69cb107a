"""Feature extractors by name: what FID, KID, precision/recall and IS are computed on.

``get_extractor(name, **params)`` returns an :class:`Extractor`; ``extractor(x)`` maps a batch to
``{"features": Tensor[N, F], "logits": Tensor[N, C] | None}`` and ``extractor.extract(x)`` streams a
large tensor through it in batches and returns float64 numpy arrays. Registered extractors:

* ``identity`` — 2-D points (any ``[N, d]``): the points are their own features; no logits.
* ``digits-cnn`` — a small CNN trained by ganbench on the digits train split and shipped in
  ``ganbench/weights/digits-cnn.pt`` (sha256 checked on every load). Features: the 128-d penultimate
  layer *before* its ReLU (no unit is constantly zero, so feature covariances stay full rank), standardised
  per unit with the training split statistics (KID's cubic kernel needs features of order one); logits: 10.
  Reproduce the file byte for byte with ``ganbench extractor train digits --out digits-cnn.pt`` on CPU
  (defaults: seed 0, one thread, 38 epochs = enough to see 50,000 samples; same torch version and CPU kind).
* ``classifier`` — the same architecture trained by the user on any labelled dataset
  (``ganbench extractor train DATASET --out my.pt``), loaded with ``get_extractor("classifier", path=...)``:
  domain-specific FID without Inception weights.
* ``inception-v3-compat`` — torch-fidelity's TF-compatible InceptionV3 (pool3 2048-d features,
  ``logits_unbiased`` for IS) from a local weights file; nothing is ever downloaded.

Classifier extractors applied to C-channel images when they were trained on 1 channel (Stacked digits)
classify each channel separately: features are the per-channel features concatenated (C·128-d) and
logits are the joint log-probabilities of the K**C channel-label tuples, index ``Σ d_c·K**(C-1-c)``
(for Stacked digits ``100·d0 + 10·d1 + d2``, the dataset's mode label). Images of another spatial size
are resized to the trained size (bilinear, antialiased), which ``info()`` records.

``register_with_torch_fidelity()`` makes every built-in extractor usable inside
``torch_fidelity.calculate_metrics(feature_extractor="ganbench-<name>", ...)``.
"""
from __future__ import annotations

import hashlib
import io
import math
import os
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .io import CorruptFileError, atomic_write_bytes, atomic_write_json, atomic_write_text
from .registry import ConfigError, Registry

EXTRACTORS: Registry["Extractor"] = Registry("feature extractor")
WEIGHTS_DIR = Path(__file__).parent / "weights"
DIGITS_WEIGHTS = WEIGHTS_DIR / "digits-cnn.pt"
CLASSIFIER_FORMAT = "ganbench-classifier-v1"
HIDDEN = 128  # width of the feature layer of every ganbench classifier
SAMPLES_PER_TRAINING = 50_000  # default epochs = this many training samples seen, 2..50 epochs
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_SHA256_PREFIX = "6726825d"  # torch-fidelity puts the start of the file's sha256 in its name
INCEPTION_ENV = "GANBENCH_INCEPTION_WEIGHTS"
RESIZE = "bilinear (torch interpolate, align_corners=False, antialias=True)"


def get_extractor(name: str, **params: Any) -> "Extractor":
    """Build extractor ``name``; unknown names and parameters raise ConfigError."""
    EXTRACTORS.check_params(name, params)
    return EXTRACTORS.build(name, **params)


def default_extractor_for(dataset: Any) -> str:
    """Points -> identity; digits and Stacked digits -> digits-cnn; other images -> inception-v3-compat."""
    kind, name = getattr(dataset, "kind", None), getattr(dataset, "name", None)
    if kind == "points":
        return "identity"
    if kind != "images":
        raise ValueError(f"default_extractor_for needs a ganbench Dataset (kind 'points' or 'images'), got {dataset!r}")
    return "digits-cnn" if name in ("digits", "stacked-digits") else "inception-v3-compat"


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Extractor:
    """Base class: ``__call__`` on one batch, ``extract`` on any number of samples."""

    name: str = ""
    dim: int | None = None  # feature dimension for the native input (None: the input's own, for identity)
    has_logits: bool = False
    weights_path: Path | None = None
    weights_sha256: str | None = None
    comparable: bool = True  # False: non-standard weights, numbers not comparable with published ones
    input_handling: str = ""
    net: nn.Module | None = None

    def __call__(self, x: Tensor) -> dict[str, Tensor | None]:
        raise NotImplementedError

    def to(self, device: str | torch.device) -> "Extractor":
        if self.net is not None:
            self.net.to(device)
        return self

    def info(self) -> dict[str, Any]:
        """Provenance recorded next to every number computed on these features."""
        return {"name": self.name, "dim": self.dim, "has_logits": self.has_logits,
                "weights": None if self.weights_path is None else str(self.weights_path),
                "weights_sha256": self.weights_sha256, "comparable": self.comparable,
                "input": self.input_handling}

    def extract(self, x: Tensor | np.ndarray, batch_size: int = 500) -> dict[str, np.ndarray | None]:
        """Features (and logits, or None) of all of ``x`` as float64 arrays, ``batch_size`` rows at a time."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        x = torch.as_tensor(x)
        if x.ndim < 2 or len(x) == 0:
            raise ValueError(f"extractor {self.name!r}: expected a non-empty batch [N, ...], got shape {tuple(x.shape)}")
        parts: dict[str, list[np.ndarray]] = {"features": [], "logits": []}
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                out = self(x[start:start + batch_size])
                for key in parts:
                    if out[key] is not None:
                        parts[key].append(out[key].detach().cpu().to(torch.float64).numpy())
        return {k: np.concatenate(v) if v else None for k, v in parts.items()}


# ---------------------------------------------------------------- identity

class IdentityExtractor(Extractor):
    name, input_handling = "identity", "none: the points are the features"

    def __call__(self, x: Tensor) -> dict[str, Tensor | None]:
        x = torch.as_tensor(x)
        if x.ndim != 2:
            raise ValueError(f"extractor 'identity' expects points [N, d], got shape {tuple(x.shape)}")
        return {"features": x.to(torch.float64), "logits": None}


@EXTRACTORS.register("identity", "the samples themselves (2-D points or any [N, d]); no logits")
def identity() -> IdentityExtractor:
    return IdentityExtractor()


# ---------------------------------------------------------------- the ganbench classifier

def classifier_arch(shape: tuple[int, ...] | list[int], n_classes: int) -> dict[str, Any]:
    """Architecture sized from the data: conv blocks that halve the image until it is at most 4 pixels."""
    if len(shape) != 3 or min(shape[1:]) < 8:
        raise ConfigError(f"classifier: images must be [C, H, W] with H, W >= 8, got shape {list(shape)}")
    if not isinstance(n_classes, int) or n_classes < 2:
        raise ConfigError(f"classifier: needs at least 2 classes, got n_classes={n_classes!r}")
    widths, side = [], min(shape[1:])
    while side > 4:
        widths.append(min(32 * 2 ** len(widths), 256))
        side //= 2
    return {"in_channels": int(shape[0]), "height": int(shape[1]), "width": int(shape[2]),
            "widths": widths, "hidden": HIDDEN, "n_classes": int(n_classes)}


EVAL_CHUNK = 64


class ClassifierNet(nn.Module):
    """(conv3x3-BN-ReLU ×2, maxpool 2) per width, then FC ``hidden`` (the features), ReLU, FC to logits."""

    def __init__(self, in_channels: int, height: int, width: int, widths: list[int], hidden: int, n_classes: int):
        super().__init__()
        self.in_channels, self.size = in_channels, (height, width)
        layers: list[nn.Module] = []
        c, h, w = in_channels, height, width
        for out in widths:
            for c_in in (c, out):
                layers += [nn.Conv2d(c_in, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU()]
            layers.append(nn.MaxPool2d(2))
            c, h, w = out, h // 2, w // 2
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(c * h * w, hidden)
        self.head = nn.Linear(hidden, n_classes)
        # Features are standardised with the training set's per-unit mean and std (set after training):
        # KID's cubic kernel (x.y/d + 1)^3 is only well-behaved for features of order one.
        self.register_buffer("feat_mean", torch.zeros(hidden))
        self.register_buffer("feat_std", torch.ones(hidden))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(features, logits)``; in eval mode computed in zero-padded calls of exactly EVAL_CHUNK images.

        CPU kernels choose their algorithm and blocking by batch size, so a sample's features would change
        (~1e-6) with the batch it came in; fixed-size calls make extraction independent of the batch size.
        """
        if self.training:
            return self._forward(x)
        n, pad = len(x), (-len(x)) % EVAL_CHUNK
        if pad:
            x = torch.cat([x, x.new_zeros(pad, *x.shape[1:])])
        outs = [self._forward(x[i:i + EVAL_CHUNK]) for i in range(0, len(x), EVAL_CHUNK)]
        return torch.cat([f for f, _ in outs])[:n], torch.cat([lg for _, lg in outs])[:n]

    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        raw = self.fc(self.body(x).flatten(1))
        return (raw - self.feat_mean) / self.feat_std, self.head(F.relu(raw))

    @torch.no_grad()
    def set_feature_scale(self, x: Tensor) -> None:
        """Standardise the feature layer with the statistics of ``x`` (the training images)."""
        self.eval()
        self.feat_mean.zero_(), self.feat_std.fill_(1.0)
        raw = torch.cat([self.forward(x[i:i + 1024])[0] for i in range(0, len(x), 1024)]).double()
        self.feat_mean.copy_(raw.mean(0).float())
        self.feat_std.copy_(raw.std(0).clamp_min(1e-6).float())

    def reset_parameters(self, generator: torch.Generator) -> None:
        # PyTorch's default init draws from the global RNG; an explicit generator keeps training reproducible.
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu", generator=generator)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)


def _read_classifier(path: Path, expected_sha256: str | None) -> tuple[ClassifierNet, dict[str, Any], str]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"classifier weights {str(path)!r} not found; train them with "
                          f"'ganbench extractor train DATASET --out {path}'") from None
    sha = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and sha != expected_sha256:
        raise CorruptFileError(f"{path}: sha256 {sha} does not match the expected {expected_sha256}; "
                               f"the file is corrupt or was replaced (retrain with 'ganbench extractor train')")
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)  # no pickled code runs
        if not isinstance(obj, dict) or obj.get("format") != CLASSIFIER_FORMAT:
            raise ValueError(f"no format {CLASSIFIER_FORMAT!r}")
        net = ClassifierNet(**obj["arch"])
        net.load_state_dict(obj["state_dict"])
    except Exception as e:  # truncated zip, foreign object, wrong keys: all mean "unusable"
        raise CorruptFileError(f"{path}: not a ganbench classifier ({type(e).__name__}: {e})".replace("\n", " ")) from None
    return net.eval().requires_grad_(False), dict(obj.get("meta", {})), sha


def recorded_sha256(path: str | Path) -> str | None:
    """The hash recorded next to the weights (``name.sha256``, sha256sum format), if there is one."""
    side = Path(path).with_suffix(".sha256")
    return side.read_text().split()[0] if side.is_file() else None


class ClassifierExtractor(Extractor):
    has_logits = True

    def __init__(self, name: str, path: Path, expected_sha256: str | None):
        self.name, self.weights_path = name, path
        self.net, self.meta, self.weights_sha256 = _read_classifier(path, expected_sha256)
        self.channels, self.size, self.n_classes = self.net.in_channels, self.net.size, self.net.head.out_features
        self.dim = self.net.fc.out_features
        self.comparable = DIGITS_WEIGHTS.is_file() and self.weights_sha256 == recorded_sha256(DIGITS_WEIGHTS)
        self.input_handling = (f"[-1, 1] images [{self.channels}, {self.size[0]}, {self.size[1]}]; other sizes resized "
                               f"{RESIZE}" + ("; extra channels classified one by one" if self.channels == 1 else ""))

    def info(self) -> dict[str, Any]:
        return {**super().info(), "trained_on": self.meta.get("dataset"), "test_accuracy": self.meta.get("accuracy"),
                "n_classes": self.n_classes}

    def _net_input(self, x: Tensor) -> tuple[Tensor, int]:
        """``[N, C, H, W]`` -> batch for the net and the number of channels classified separately (1 if none)."""
        x = torch.as_tensor(x)
        if x.ndim != 4:
            raise ValueError(f"extractor {self.name!r} expects images [N, C, H, W], got shape {tuple(x.shape)}")
        n, c = x.shape[:2]
        per_channel = c if c != self.channels and self.channels == 1 else 1
        if c != self.channels and per_channel == 1:
            raise ValueError(f"extractor {self.name!r} expects {self.channels} channel(s), got {c} (shape {tuple(x.shape)})")
        x = x.to(device=next(self.net.parameters()).device, dtype=torch.float32)
        x = x.reshape(n * per_channel, self.channels, *x.shape[2:])
        if tuple(x.shape[2:]) != self.size:
            x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False, antialias=True)
        return x, per_channel

    def __call__(self, x: Tensor) -> dict[str, Tensor | None]:
        x, c = self._net_input(x)
        feats, logits = self.net(x)
        if c == 1:
            return {"features": feats, "logits": logits}
        n, k = len(x) // c, self.n_classes
        if k ** c > 100_000:
            raise ValueError(f"extractor {self.name!r}: {c} channels of {k} classes give {k ** c} joint classes (max 100000)")
        logp = F.log_softmax(logits, dim=1).reshape(n, c, k)
        joint = logp[:, 0]
        for i in range(1, c):  # log p(d_0, …, d_i) = log p(d_0, …, d_{i-1}) + log p(d_i): channels independent
            joint = (joint[:, :, None] + logp[:, i, None, :]).reshape(n, -1)
        return {"features": feats.reshape(n, c * self.dim), "logits": joint}

    def classify_channels(self, x: Tensor, batch_size: int = 2000) -> Tensor:
        """``[N, C, H, W]`` -> ``LongTensor[N, C]``: the predicted class of each channel (C = 1 for plain images)."""
        out = []
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                batch, c = self._net_input(x[start:start + batch_size])
                out.append(self.net(batch)[1].argmax(1).reshape(-1, c).cpu())
        return torch.cat(out)


def _check_sha256(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 64 or any(ch not in "0123456789abcdef" for ch in value):
        raise ConfigError(f"extractor: sha256 must be 64 lowercase hex digits, got {value!r}")
    return value


@EXTRACTORS.register("digits-cnn", "small CNN shipped with ganbench, trained on digits (8x8): 128-d features, 10 logits")
def digits_cnn(weights: str | None = None) -> ClassifierExtractor:
    """The shipped weights (hash checked); ``weights`` may name other weights of the same kind (not comparable)."""
    expected = recorded_sha256(DIGITS_WEIGHTS)
    if weights is None:
        if not DIGITS_WEIGHTS.is_file() or expected is None:
            raise ConfigError(f"shipped weights {DIGITS_WEIGHTS} (and .sha256) missing; reinstall ganbench or run "
                              f"'ganbench extractor train digits --out {DIGITS_WEIGHTS}'")
        return ClassifierExtractor("digits-cnn", DIGITS_WEIGHTS, expected)
    path = Path(os.path.expanduser(weights))
    return ClassifierExtractor("digits-cnn", path, recorded_sha256(path))


@EXTRACTORS.register("classifier", "CNN trained with 'ganbench extractor train DATASET' (path=...): domain features")
def classifier(path: str, sha256: str | None = None) -> ClassifierExtractor:
    """User-trained weights; the hash is checked against ``sha256`` or else the ``.sha256`` file beside them."""
    p = Path(os.path.expanduser(path))
    return ClassifierExtractor("classifier", p, _check_sha256(sha256) if sha256 is not None else recorded_sha256(p))


@lru_cache(maxsize=1)
def _shipped_digits_cnn() -> ClassifierExtractor:
    return digits_cnn()


def classify_channels(x: Tensor, extractor: ClassifierExtractor | None = None) -> Tensor:
    """Digit of each channel of ``[N, C, 8, 8]`` images (Stacked digits modes), by the shipped digits-cnn."""
    return (extractor or _shipped_digits_cnn()).classify_channels(x)


# ---------------------------------------------------------------- training

def _shift(x: Tensor, max_shift: int, g: torch.Generator) -> Tensor:
    """Translate each image by up to ``max_shift`` pixels; uncovered pixels are background (-1)."""
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)
    dy, dx = torch.randint(2 * max_shift + 1, (2, n), generator=g)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]
    return padded[torch.arange(n)[:, None, None, None], torch.arange(x.shape[1])[None, :, None, None], rows, cols]


def _accuracy(net: nn.Module, x: Tensor, y: Tensor, batch_size: int = 1000) -> float:
    net.eval()
    with torch.no_grad():
        correct = sum(int((net(x[i:i + batch_size])[1].argmax(1) == y[i:i + batch_size]).sum())
                      for i in range(0, len(x), batch_size))
    return correct / len(x)


def default_epochs(n_train: int) -> int:
    return int(min(50, max(2, math.ceil(SAMPLES_PER_TRAINING / n_train))))


def _fit(arch: dict[str, Any], x_train: Tensor, y_train: Tensor, x_test: Tensor, y_test: Tensor, epochs: int, seed: int,
         batch_size: int, lr: float, progress: Callable[[str], None] | None) -> tuple[ClassifierNet, float, float]:
    g = torch.Generator().manual_seed(seed)
    net = ClassifierNet(**arch)
    net.reset_parameters(g)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    steps_per_epoch = math.ceil(len(x_train) / batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    max_shift = max(1, min(arch["height"], arch["width"]) // 8)  # about one pixel in eight: digits 1, MNIST 3
    t0 = time.perf_counter()
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(x_train), generator=g)
        for start in range(0, len(x_train), batch_size):
            idx = order[start:start + batch_size]
            loss = F.cross_entropy(net(_shift(x_train[idx], max_shift, g))[1], y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        if progress is not None:
            progress(f"epoch {epoch + 1}/{epochs}: last batch loss {loss.item():.4f}")
    net.set_feature_scale(x_train)
    return net, _accuracy(net, x_test, y_test), time.perf_counter() - t0


def train_extractor(dataset_name: str, out_path: str | Path, epochs: int | None = None, seed: int = 0,
                    batch_size: int = 64, lr: float = 3e-3, threads: int = 1,
                    progress: Callable[[str], None] | None = None, **data_params: Any) -> dict[str, Any]:
    """Train the ganbench classifier on a labelled dataset; write ``out_path``, ``.sha256`` and ``.json``.

    Deterministic on CPU: the same seed, torch version, CPU instruction set and ``threads`` give the same
    bytes. One thread by default because CPU kernels split their sums by thread, so the bytes would
    otherwise depend on the machine's core count.
    AdamW (weight decay 1e-4), cosine learning-rate decay, random shifts of up to size/8 pixels.
    Returns ``dict(accuracy, sha256, path, ...)`` with the accuracy measured on the test split.
    """
    from .data import get_dataset

    for key, value, least in (("epochs", epochs, 1), ("batch_size", batch_size, 1), ("threads", threads, 1),
                              ("seed", seed, 0)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < least):
            raise ConfigError(f"extractor train: {key} must be an int >= {least}, got {value!r}")
    out = Path(out_path)
    if out.suffix in (".sha256", ".json"):
        raise ConfigError(f"extractor train: --out {str(out)!r} would clash with its own .sha256/.json files; use a .pt name")
    ds = get_dataset(dataset_name, **data_params)
    if ds.kind != "images":
        raise ConfigError(f"extractor train: dataset {dataset_name!r} has {ds.kind}, not images")
    if "test" not in ds.splits:
        raise ConfigError(f"extractor train: dataset {dataset_name!r} has no 'test' split to measure accuracy on "
                          f"(for 'folder' set test_fraction, e.g. 0.2)")
    y_train, y_test = ds.labels("train"), ds.labels("test")
    if y_train is None or y_test is None or not ds.n_classes:
        raise ConfigError(f"extractor train: dataset {dataset_name!r} has no class labels "
                          f"(for 'folder', put each class in its own subfolder)")
    x_train, x_test = ds.data("train"), ds.data("test")
    epochs = default_epochs(len(x_train)) if epochs is None else epochs
    arch = classifier_arch(ds.shape, int(ds.n_classes))
    threads_before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        net, accuracy, seconds = _fit(arch, x_train, y_train, x_test, y_test, epochs, seed, batch_size, lr, progress)
    finally:
        torch.set_num_threads(threads_before)
    meta = {"dataset": dataset_name, "dataset_params": dict(ds.params), "shape": list(ds.shape),
            "n_classes": int(ds.n_classes), "accuracy": accuracy, "epochs": epochs, "seed": seed,
            "batch_size": batch_size, "lr": lr, "threads": threads, "train_size": len(x_train), "test_size": len(x_test),
            "features": f"fc pre-activation, {HIDDEN}-d"}
    buf = io.BytesIO()  # saving to a buffer keeps the bytes free of the file name (torch.save records it)
    torch.save({"format": CLASSIFIER_FORMAT, "arch": arch, "meta": meta,
                "state_dict": {k: v.detach().clone() for k, v in net.state_dict().items()}}, buf)
    data = buf.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    atomic_write_bytes(out, data)
    atomic_write_text(out.with_suffix(".sha256"), f"{sha}  {out.name}\n")
    atomic_write_json(out.with_suffix(".json"), {
        **meta, "sha256": sha, "file": out.name, "torch": torch.__version__, "train_seconds": round(seconds, 1),
        "command": f"ganbench extractor train {dataset_name} --out {out.name} --epochs {epochs} --seed {seed} --threads {threads}"})
    return {"accuracy": accuracy, "sha256": sha, "path": str(out), "epochs": epochs, "n_classes": int(ds.n_classes)}


# ---------------------------------------------------------------- InceptionV3 (torch-fidelity)

def inception_search_paths(weights: str | None = None) -> list[tuple[str, Path]]:
    """Where the Inception weights are looked for, in order: the parameter, the env variable, torch hub."""
    out = []
    if weights:
        out.append(("weights parameter / --inception-weights", Path(os.path.expanduser(weights))))
    if os.environ.get(INCEPTION_ENV):
        out.append((f"${INCEPTION_ENV}", Path(os.path.expanduser(os.environ[INCEPTION_ENV]))))
    out.append(("torch hub cache", Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE))
    return out


def find_inception_weights(weights: str | None = None) -> Path:
    places = inception_search_paths(weights)
    if weights:  # an explicit path must exist: silently falling back would hide a typo
        places = places[:1]
    for _, path in places:
        if path.is_file():
            return path
    where = "; ".join(f"{label}: {path}" for label, path in places)
    raise ConfigError(f"InceptionV3 weights not found; put {INCEPTION_FILE} (torch-fidelity's release file) at one of "
                      f"these, or pass --inception-weights PATH / set ${INCEPTION_ENV} (searched {where})")


class InceptionExtractor(Extractor):
    name, dim, has_logits = "inception-v3-compat", 2048, True
    input_handling = ("[-1, 1] floats -> uint8 round((x + 1) * 127.5) clamped to [0, 255]; grayscale repeated to "
                      "3 channels; torch-fidelity's TF-1.x-compatible bilinear resize to 299x299")

    def __init__(self, weights: str | None = None):
        path = find_inception_weights(weights)  # before any heavy import or model build: fail fast
        self.weights_path, self.weights_sha256 = path, sha256_file(path)
        self.comparable = self.weights_sha256.startswith(INCEPTION_SHA256_PREFIX)
        try:  # torch-fidelity unpickles with weights_only=False; refuse anything that is not plain tensors first
            torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:
            raise CorruptFileError(f"{path}: not a plain InceptionV3 state dict ({type(e).__name__})") from None
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        try:
            self.net = FeatureExtractorInceptionV3(self.name, ["2048", "logits_unbiased"],
                                                   feature_extractor_weights_path=str(path))
        except RuntimeError as e:  # load_state_dict: missing or unexpected keys
            raise CorruptFileError(f"{path}: not torch-fidelity InceptionV3 weights ({str(e).splitlines()[0]})") from None

    def info(self) -> dict[str, Any]:
        import torch_fidelity
        return {**super().info(), "torch_fidelity": torch_fidelity.__version__, "n_logits": 1008}

    def __call__(self, x: Tensor) -> dict[str, Tensor | None]:
        x = torch.as_tensor(x)
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"extractor {self.name!r} expects images [N, 1 or 3, H, W], got shape {tuple(x.shape)}")
        if x.dtype != torch.uint8:
            x = ((x.to(torch.float32) + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
        x = x.expand(-1, 3, -1, -1).to(next(self.net.parameters()).device)
        feats, logits = self.net(x)
        return {"features": feats, "logits": logits}


@EXTRACTORS.register("inception-v3-compat", "torch-fidelity's TF-compatible InceptionV3 from local weights: 2048-d")
def inception_v3_compat(weights: str | None = None) -> InceptionExtractor:
    return InceptionExtractor(weights)


# ---------------------------------------------------------------- torch-fidelity

FIDELITY_PREFIX = "ganbench-"
FIDELITY_WEIGHTS_PARAM = {"digits-cnn": "weights", "classifier": "path", "inception-v3-compat": "weights"}


def _fidelity_class(name: str) -> type:
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase

    provided = ("features",) if name == "identity" else ("features", "logits")

    class GanbenchFeatureExtractor(FeatureExtractorBase):
        """ganbench extractor for torch-fidelity; uint8 input is read as [0, 255], floats as [-1, 1]."""

        def __init__(self, fidelity_name: str, features_list: list[str], feature_extractor_weights_path: str | None = None,
                     **kwargs: Any):
            super().__init__(fidelity_name, features_list)
            param = FIDELITY_WEIGHTS_PARAM.get(name)
            params = {param: feature_extractor_weights_path} if param and feature_extractor_weights_path else {}
            self.extractor = get_extractor(name, **params)
            self.net = self.extractor.net  # a submodule, so torch-fidelity's .cuda() moves it

        @staticmethod
        def get_provided_features_list() -> tuple[str, ...]:
            return provided

        @staticmethod
        def get_default_feature_layer_for_metric(metric: str) -> str:
            return {"isc": "logits", "fid": "features", "kid": "features", "prc": "features"}[metric]

        @staticmethod
        def can_be_compiled() -> bool:
            return False

        @staticmethod
        def get_dummy_input_for_compile() -> Tensor:
            return torch.zeros(1, 3, 8, 8, dtype=torch.uint8)

        def forward(self, x: Tensor) -> tuple[Tensor, ...]:
            if x.dtype == torch.uint8 and name != "inception-v3-compat":
                x = x.to(torch.float32) / 127.5 - 1.0
            out = self.extractor(x)
            # torch-fidelity builds features_list from a set, so its order follows PYTHONHASHSEED: obey it.
            return tuple(out[key].to(torch.float32) for key in self.features_list)

    GanbenchFeatureExtractor.__name__ = GanbenchFeatureExtractor.__qualname__ = f"Ganbench_{name.replace('-', '_')}"
    return GanbenchFeatureExtractor


def register_with_torch_fidelity() -> list[str]:
    """Register every built-in extractor as ``ganbench-<name>`` with torch-fidelity (idempotent); return the names."""
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    names = []
    for name in ("identity", "digits-cnn", "classifier", "inception-v3-compat"):
        fidelity_name = FIDELITY_PREFIX + name
        if fidelity_name not in FEATURE_EXTRACTORS_REGISTRY:
            register_feature_extractor(fidelity_name, _fidelity_class(name))
        names.append(fidelity_name)
    return names
