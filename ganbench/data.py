"""Datasets by name: synthetic 2-D mixtures, scikit-learn digits, Stacked digits, torchvision sets, image folders.

``get_dataset(name, **params)`` returns a :class:`Dataset`. Conventions shared by all of them:

* Images are float32 ``[N, C, H, W]`` in [-1, 1]; points are float32 ``[N, 2]`` raw coordinates (not rescaled).
* ``sample(n, generator)`` gives training batches. Synthetic sets draw fresh points; finite sets draw ``n``
  indices of the train split *with* replacement (i.i.d. batches, no epochs).
* ``real(n, split, generator)`` / ``real_with_labels(...)`` give real samples for evaluation. Synthetic sets
  draw fresh points (``split`` only checked); finite sets draw ``n`` items of ``split`` *without* replacement,
  or return the whole split in stored order when ``n`` >= its size (so fewer than ``n`` may come back).
  Labels are class labels, or mode labels for mixtures (ring/grid mode index, Stacked digits 100·d0+10·d1+d2).
* ``n_classes`` is the number of values those labels take (None without labels); ``centers``/``std``/``n_modes``
  describe mixtures and are None elsewhere.
* Every draw uses the caller's ``torch.Generator`` on that generator's device (so CPU and CUDA streams differ).
  Stored sets return CPU tensors, synthetic sets return tensors on the generator's device; callers ``.to(device)``.
* Nothing is read at import time: files are read when the dataset is built, and never downloaded unless the
  dataset is built with ``download=true``. MNIST idx files and CIFAR-10 pickles are parsed here rather than
  through torchvision's classes so that torchvision's md5 checks never reject a user's own copy of the data.
"""
from __future__ import annotations

import gzip
import os
import pickle
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .registry import ConfigError, Registry

DATASETS: Registry["Dataset"] = Registry("dataset")
SPLITS = ("train", "test")
RESIZE = "bilinear (torch interpolate, align_corners=False, antialias=True)"  # recorded in info(): FID depends on it
DIGITS_TEST_SHARE = 0.25  # fixed forever: the shipped digits classifier was trained on this split


def get_dataset(name: str, **params: Any) -> "Dataset":
    """Build dataset ``name``; unknown names and parameters raise ConfigError."""
    DATASETS.check_params(name, params)
    return DATASETS.build(name, **params)


def _check_generator(generator: Any) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {generator!r}")
    return generator


def _check_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"number of samples must be a positive int, got {n!r}")
    return n


class Dataset:
    """Base class; see the module docstring for the contract."""

    kind: str = "images"
    centers: torch.Tensor | None = None  # float64 [n_modes, 2] for 2-D mixtures
    std: float | None = None
    n_modes: int | None = None
    n_classes: int | None = None
    splits: tuple[str, ...] = SPLITS

    def __init__(self, name: str, params: dict[str, Any], shape: tuple[int, ...]):
        self.name, self.params, self.shape = name, dict(params), tuple(shape)

    def _check_split(self, split: str) -> str:
        if split not in self.splits:
            raise ConfigError(f"dataset {self.name!r} has no split {split!r}; accepted: {', '.join(self.splits)}")
        return split

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def real_with_labels(self, n: int, split: str,
                         generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise NotImplementedError

    def real(self, n: int, split: str, generator: torch.Generator) -> torch.Tensor:
        return self.real_with_labels(n, split, generator)[0]

    def data(self, split: str) -> torch.Tensor | None:
        self._check_split(split)
        return None

    def labels(self, split: str) -> torch.Tensor | None:
        self._check_split(split)
        return None

    def split_size(self, split: str) -> int | None:
        """Number of items in a finite split; None for sets sampled afresh."""
        self._check_split(split)
        return None

    def info(self) -> dict[str, Any]:
        sizes = {s: self.split_size(s) for s in self.splits}
        return {"name": self.name, "kind": self.kind, "shape": list(self.shape), "params": dict(self.params),
                "sizes": None if all(v is None for v in sizes.values()) else sizes,
                "n_classes": self.n_classes, "n_modes": self.n_modes}


# ---------------------------------------------------------------- 2-D Gaussian mixtures (PacGAN / VEEGAN)

class Mixture(Dataset):
    """Equal-weight isotropic Gaussian mixture in 2-D."""

    kind = "points"

    def __init__(self, name: str, params: dict[str, Any], centers: np.ndarray, std: float):
        super().__init__(name, params, (2,))
        self.centers = torch.as_tensor(centers, dtype=torch.float64)
        self.std = float(std)
        self.n_modes = self.n_classes = len(centers)

    def _draw(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        g = _check_generator(generator)
        modes = torch.randint(self.n_modes, (_check_n(n),), generator=g, device=g.device)
        noise = torch.randn(n, 2, generator=g, dtype=torch.float64, device=g.device)
        return (self.centers.to(g.device)[modes] + self.std * noise).float(), modes

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self._draw(n, generator)[0]

    def real_with_labels(self, n: int, split: str, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_split(split)
        return self._draw(n, generator)

    def info(self) -> dict[str, Any]:
        return {**super().info(), "centers": self.centers.tolist(), "std": self.std}


def _positive(name: str, key: str, value: float) -> float:
    if not value > 0:
        raise ConfigError(f"dataset {name!r}: {key} must be > 0, got {value!r}")
    return value


@DATASETS.register("ring8", "8 Gaussians on a circle (PacGAN ring: radius 1, std 0.01), 2-D points")
def ring8(radius: float = 1.0, std: float = 0.01, n_modes: int = 8) -> Mixture:
    for key, value in (("radius", radius), ("std", std), ("n_modes", n_modes)):
        _positive("ring8", key, value)
    angles = 2 * np.pi * np.arange(n_modes) / n_modes  # mode k at angle 2πk/n_modes, starting on the +x axis
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return Mixture("ring8", {"radius": radius, "std": std, "n_modes": n_modes}, centers, std)


@DATASETS.register("grid25", "25 Gaussians on a 5x5 grid at {-4,-2,0,2,4}^2 (PacGAN grid: std 0.05), 2-D points")
def grid25(spacing: float = 2.0, std: float = 0.05) -> Mixture:
    for key, value in (("spacing", spacing), ("std", std)):
        _positive("grid25", key, value)
    axis = spacing * np.arange(-2, 3)
    centers = np.array([(x, y) for x in axis for y in axis])  # mode 5i+j at (axis[i], axis[j])
    return Mixture("grid25", {"spacing": spacing, "std": std}, centers, std)


# ---------------------------------------------------------------- finite image sets

def _check_size(name: str, size: int, accepted: tuple[int, ...]) -> int:
    if size not in accepted:
        raise ConfigError(f"dataset {name!r}: size {size!r} is not supported; "
                          f"accepted: {', '.join(map(str, accepted))}")
    return size


class ImageSet(Dataset):
    """A finite labelled image set stored raw (uint8 or small ints) and scaled/resized batch by batch."""

    def __init__(self, name: str, params: dict[str, Any], images: dict[str, torch.Tensor],
                 labels: dict[str, torch.Tensor | None], raw_max: float, size: int, n_classes: int | None,
                 pad: int = 0, extra: dict[str, Any] | None = None):
        channels, native = images["train"].shape[1], images["train"].shape[2]
        super().__init__(name, params, (channels, size, size))
        self.splits = tuple(images)
        self._images, self._labels, self._raw_max = images, labels, float(raw_max)
        self._pad = pad  # pixels of background (-1) added on each side, e.g. MNIST 28 -> 32
        self._resize = native + 2 * pad != size
        self.n_classes = n_classes
        self._extra = {"transform": self._describe(native), **(extra or {})}

    def _describe(self, native: int) -> str:
        steps = [f"x / {self._raw_max:g} * 2 - 1"]
        if self._pad:
            steps.append(f"pad {self._pad}px with -1")
        if self._resize:
            steps.append(f"resize {native + 2 * self._pad} -> {self.shape[-1]} {RESIZE}")
        return "; ".join(steps)

    def _prepare(self, raw: torch.Tensor) -> torch.Tensor:
        x = raw.to(torch.float32) * (2.0 / self._raw_max) - 1.0
        if self._pad:
            x = F.pad(x, (self._pad,) * 4, value=-1.0)
        if self._resize:
            # Bilinear weights are non-negative and sum to one, so the output stays in [-1, 1].
            x = F.interpolate(x, size=self.shape[1:], mode="bilinear", align_corners=False, antialias=True)
        return x.contiguous()

    def split_size(self, split: str) -> int:
        return len(self._images[self._check_split(split)])

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        g = _check_generator(generator)
        idx = torch.randint(self.split_size("train"), (_check_n(n),), generator=g, device=g.device).cpu()
        return self._prepare(self._images["train"][idx])

    def real_with_labels(self, n: int, split: str,
                         generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        size, g = self.split_size(split), _check_generator(generator)
        if _check_n(n) >= size:
            idx = torch.arange(size)
        else:
            idx = torch.randperm(size, generator=g, device=g.device)[:n].cpu()
        labels = self._labels[split]
        return self._prepare(self._images[split][idx]), None if labels is None else labels[idx]

    def data(self, split: str) -> torch.Tensor:
        return self._prepare(self._images[self._check_split(split)])

    def labels(self, split: str) -> torch.Tensor | None:
        return self._labels[self._check_split(split)]

    def info(self) -> dict[str, Any]:
        return {**super().info(), **self._extra}


def _stratified_split(y: np.ndarray, test_share: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per class, a seeded permutation; the first round-half-up(share·count) items go to test.

    numpy's legacy ``RandomState`` is used because its stream is frozen across numpy versions (NEP 19),
    so the split cannot drift under an upgrade; tests pin it by hash.
    """
    rs = np.random.RandomState(seed)
    test = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        k = int(np.floor(len(members) * test_share + 0.5))
        test.append(members[rs.permutation(len(members))[:k]])
    test_idx = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(len(y)), test_idx), test_idx


@lru_cache(maxsize=1)
def _digits_arrays() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    from sklearn.datasets import load_digits  # lazy: scikit-learn is only needed for this dataset

    bunch = load_digits()
    images = torch.as_tensor(bunch.images.astype(np.uint8)).unsqueeze(1)  # 0..16 grey levels, [1797, 1, 8, 8]
    y = np.asarray(bunch.target)
    train, test = _stratified_split(y, DIGITS_TEST_SHARE)
    labels = torch.as_tensor(y, dtype=torch.long)
    return ({"train": images[train], "test": images[test]}, {"train": labels[train], "test": labels[test]})


DIGITS_SPLIT = "stratified by class, seed 0 (numpy RandomState), test share 0.25: 1346 train / 451 test"


@DATASETS.register("digits", "scikit-learn's bundled 8x8 digits (1797 images, 10 classes), 1x8x8 in [-1,1]")
def digits(size: int = 8) -> ImageSet:
    images, labels = _digits_arrays()
    return ImageSet("digits", {"size": size}, images, labels, 16.0, _check_size("digits", size, (8, 16, 32)), 10,
                    extra={"source": "sklearn.datasets.load_digits", "split": DIGITS_SPLIT})


class StackedDigits(Dataset):
    """Three independent digits as the R, G, B channels: 1000 modes, mode = 100·d0 + 10·d1 + d2."""

    def __init__(self, params: dict[str, Any], base: ImageSet):
        super().__init__("stacked-digits", params, (3,) + base.shape[1:])
        self._base = base
        self.n_modes = self.n_classes = 1000

    @staticmethod
    def mode_labels(channel_digits: torch.Tensor) -> torch.Tensor:
        """``[n, 3]`` digits (R, G, B) -> ``[n]`` mode labels 100·d0 + 10·d1 + d2."""
        return channel_digits.long() @ torch.tensor([100, 10, 1])

    def _draw(self, n: int, split: str, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        base = self._base
        g = _check_generator(generator)
        idx = torch.randint(base.split_size(split), (_check_n(n), 3), generator=g, device=g.device).cpu()
        images = base._prepare(base._images[split][idx.reshape(-1)]).reshape(n, *self.shape)
        return images, self.mode_labels(base._labels[split][idx])

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self._draw(n, "train", generator)[0]

    def real_with_labels(self, n: int, split: str, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` fresh stacks of ``split`` digits (drawn with replacement: 1000 modes, no finite enumeration)."""
        return self._draw(n, self._check_split(split), generator)

    def info(self) -> dict[str, Any]:
        sizes = {s: self._base.split_size(s) for s in self.splits}
        return {**super().info(), "digit_split_sizes": sizes, "transform": self._base._extra["transform"],
                "split": DIGITS_SPLIT, "source": "sklearn.datasets.load_digits, three independent digits per sample"}


@DATASETS.register("stacked-digits", "three digits stacked as RGB channels: 1000 modes, 3x8x8 in [-1,1]")
def stacked_digits(size: int = 8) -> StackedDigits:
    return StackedDigits({"size": size}, digits(size=size))


# ---------------------------------------------------------------- torchvision sets, read from local files

def _data_root(root: str | None) -> Path:
    return Path(os.path.expanduser(root or os.environ.get("GANBENCH_DATA") or "~/.cache/ganbench/data"))


def _read_idx(path: Path, ndim: int) -> torch.Tensor:
    """Parse an idx file (big-endian header: 0, 0, type 0x08 = uint8, ndim; then ndim uint32 sizes)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] or data[1] or data[2] != 0x08 or data[3] != ndim:
        raise ConfigError(f"{path}: not a uint8 idx file with {ndim} dimension(s) (bad header {data[:4].hex()})")
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    start = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(data) - start != expected:
        raise ConfigError(f"{path}: expected {expected} bytes of data for shape {dims}, got {len(data) - start}")
    return torch.frombuffer(bytearray(data[start:]), dtype=torch.uint8).reshape(dims)


MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
CIFAR_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}


def _download(name: str, cls_name: str, root: Path) -> None:
    import torchvision.datasets as tvd  # lazy: only a requested download needs torchvision

    try:
        getattr(tvd, cls_name)(str(root), train=True, download=True)
    except Exception as e:  # network and checksum failures alike: report one line
        raise ConfigError(f"dataset {name!r}: download into {root} failed: {e}".replace("\n", " ")) from e


def _mnist_like(name: str, folder: str, root: str | None, size: int, download: bool) -> ImageSet:
    _check_size(name, size, (16, 28, 32, 64))
    base = _data_root(root)
    raw = base / folder / "raw"  # torchvision's layout, so a torchvision download is found as is

    def find(stem: str) -> Path | None:
        return next((p for p in (raw / stem, raw / f"{stem}.gz") if p.is_file()), None)

    stems = [s for split in SPLITS for s in MNIST_FILES[split]]
    if download and any(find(s) is None for s in stems):
        _download(name, folder, base)
    missing = [f"{s}(.gz)" for s in stems if find(s) is None]
    if missing:
        raise ConfigError(f"dataset {name!r}: missing {', '.join(missing)} in {raw}; "
                          f"put the idx files there or set download = true")
    images, labels = {}, {}
    for split, (img_stem, lab_stem) in MNIST_FILES.items():
        images[split] = _read_idx(find(img_stem), 3).unsqueeze(1)
        labels[split] = _read_idx(find(lab_stem), 1).long()
        if len(images[split]) != len(labels[split]):
            raise ConfigError(f"dataset {name!r}: {img_stem} has {len(images[split])} images "
                              f"but {lab_stem} has {len(labels[split])} labels")
    pad = 2 if size == 32 else 0  # 28 -> 32 by padding keeps the strokes exact (LeNet convention)
    params = {"root": str(base), "size": size, "download": download}
    return ImageSet(name, params, images, labels, 255.0, size, 10, pad=pad, extra={"source": str(raw)})


@DATASETS.register("mnist", "MNIST from local idx files (torchvision layout), 1x28x28 in [-1,1]")
def mnist(root: str | None = None, size: int = 28, download: bool = False) -> ImageSet:
    return _mnist_like("mnist", "MNIST", root, size, download)


@DATASETS.register("fashion-mnist", "Fashion-MNIST from local idx files (torchvision layout), 1x28x28 in [-1,1]")
def fashion_mnist(root: str | None = None, size: int = 28, download: bool = False) -> ImageSet:
    return _mnist_like("fashion-mnist", "FashionMNIST", root, size, download)


@DATASETS.register("cifar10", "CIFAR-10 from the local python pickle batches, 3x32x32 in [-1,1]")
def cifar10(root: str | None = None, size: int = 32, download: bool = False) -> ImageSet:
    _check_size("cifar10", size, (16, 32, 64))
    base = _data_root(root)
    folder = base / "cifar-10-batches-py"
    names = [f for split in SPLITS for f in CIFAR_FILES[split]]
    if download and not all((folder / f).is_file() for f in names):
        _download("cifar10", "CIFAR10", base)
    missing = [f for f in names if not (folder / f).is_file()]
    if missing:
        raise ConfigError(f"dataset 'cifar10': missing {', '.join(missing)} in {folder}; "
                          f"put the CIFAR-10 python batches there or set download = true")
    images, labels = {}, {}
    for split, files in CIFAR_FILES.items():
        parts, labs = [], []
        for f in files:
            with open(folder / f, "rb") as fh:
                entry = pickle.load(fh, encoding="latin1")  # the CIFAR-10 python format is a pickle
            if not isinstance(entry, dict) or "data" not in entry or "labels" not in entry:
                raise ConfigError(f"{folder / f}: not a CIFAR-10 batch (expected a dict with 'data' and 'labels')")
            parts.append(torch.as_tensor(np.asarray(entry["data"], dtype=np.uint8)).reshape(-1, 3, 32, 32))
            labs.extend(entry["labels"])
        images[split], labels[split] = torch.cat(parts), torch.as_tensor(labs, dtype=torch.long)
    params = {"root": str(base), "size": size, "download": download}
    return ImageSet("cifar10", params, images, labels, 255.0, size, 10, extra={"source": str(folder)})


# ---------------------------------------------------------------- image folder

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
FOLDER_RESIZE = "center crop to a square, then PIL bilinear resize (antialiased when shrinking)"


def _load_image(path: Path, size: int, mode: str) -> np.ndarray:
    from PIL import Image  # lazy: Pillow comes with torchvision but is only needed here

    try:
        with Image.open(path) as im:
            im = im.convert(mode)
            w, h = im.size
            side = min(w, h)
            left, top = (w - side) // 2, (h - side) // 2
            im = im.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8)
    except OSError as e:
        raise ConfigError(f"dataset 'folder': cannot read image {path}: {e}") from e
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


@DATASETS.register("folder", "any folder of PNG/JPEG images (recursive; class labels from subfolders), resized")
def folder(root: str, size: int = 64, channels: int = 3, test_fraction: float = 0.0) -> ImageSet:
    """Images under ``root``; labels are the first-level subfolder names when every image lies in one.

    Only a "train" split exists unless ``test_fraction`` > 0, which holds out that share (seeded, by class
    when labelled) as "test".
    """
    if channels not in (1, 3):
        raise ConfigError(f"dataset 'folder': channels must be 1 or 3, got {channels!r}")
    if size < 1:
        raise ConfigError(f"dataset 'folder': size must be a positive int, got {size!r}")
    if not 0.0 <= test_fraction < 1.0:
        raise ConfigError(f"dataset 'folder': test_fraction must be in [0, 1), got {test_fraction!r}")
    base = Path(os.path.expanduser(root))
    if not base.is_dir():
        raise ConfigError(f"dataset 'folder': root {str(base)!r} is not a directory")
    files = sorted(p for p in base.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ConfigError(f"dataset 'folder': no {'/'.join(IMAGE_SUFFIXES)} images under {base}")
    rel = [p.relative_to(base).parts for p in files]
    class_names = sorted({r[0] for r in rel}) if all(len(r) > 1 for r in rel) else None
    mode = "RGB" if channels == 3 else "L"
    images = torch.as_tensor(np.stack([_load_image(p, size, mode) for p in files]))
    labels = None if class_names is None else torch.tensor([class_names.index(r[0]) for r in rel])
    y = np.zeros(len(files), dtype=np.int64) if labels is None else labels.numpy()
    if test_fraction > 0:
        train, test = _stratified_split(y, test_fraction)
        if len(train) == 0 or len(test) == 0:
            raise ConfigError(f"dataset 'folder': test_fraction {test_fraction} of {len(files)} images "
                              f"leaves an empty split")
        parts = {"train": torch.as_tensor(train), "test": torch.as_tensor(test)}
    else:
        parts = {"train": torch.arange(len(files))}
    params = {"root": str(base), "size": size, "channels": channels, "test_fraction": test_fraction}
    return ImageSet("folder", params, {s: images[i] for s, i in parts.items()},
                    {s: None if labels is None else labels[i] for s, i in parts.items()}, 255.0, size,
                    None if class_names is None else len(class_names),
                    extra={"source": str(base), "resize": FOLDER_RESIZE, "class_names": class_names})
