"""Image sets read from local files: MNIST, Fashion-MNIST (idx files) and CIFAR-10 (python pickles) in
torchvision's layout, optionally downloaded through torchvision, and the ``folder`` set of PNG/JPEG images."""
from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path

import numpy as np
import torch

from ..registry import ConfigError, one_line
from .base import DATASETS, SPLITS
from .images import ImageSet, check_size, stratified_split

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


# The globals a CIFAR-10 batch names: its pixels are a numpy array (pickled by numpy 1 or 2, protocol 2 or 5),
# and python 3 writes bytes through _codecs.encode. Nothing else is looked up, so a batch cannot run code.
CIFAR_PICKLE_GLOBALS = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
})


class _CifarUnpickler(pickle.Unpickler):
    """``pickle.load`` limited to dicts, lists, strings, bytes, numbers and numpy arrays (the batches' types)."""

    def find_class(self, module: str, name: str):
        if (module, name) not in CIFAR_PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which a CIFAR-10 batch never holds")
        return super().find_class(module, name)


def _read_cifar_batch(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            entry = _CifarUnpickler(fh, encoding="latin1").load()  # the CIFAR-10 python format is a pickle
    except Exception as e:  # any unpickling failure (refused global, truncation, garbage) means "not a batch"
        raise ConfigError(f"{path}: not a CIFAR-10 batch ({one_line(e)}); only numpy arrays, dicts, "
                          f"lists, strings, bytes and numbers are read") from None
    if not isinstance(entry, dict) or "data" not in entry or "labels" not in entry:
        raise ConfigError(f"{path}: not a CIFAR-10 batch (expected a dict with 'data' and 'labels')")
    data, labels = entry["data"], entry["labels"]
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3 * 32 * 32
            and isinstance(labels, list) and len(labels) == len(data) and all(type(v) is int for v in labels)):
        raise ConfigError(f"{path}: not a CIFAR-10 batch (expected 'data' a uint8 array [N, 3072] and 'labels' "
                          f"a list of N ints)")
    return entry


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
    check_size(name, size, (16, 28, 32, 64))
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
    check_size("cifar10", size, (16, 32, 64))
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
            entry = _read_cifar_batch(folder / f)
            parts.append(torch.as_tensor(entry["data"]).reshape(-1, 3, 32, 32))
            labs.extend(entry["labels"])
        images[split], labels[split] = torch.cat(parts), torch.as_tensor(labs, dtype=torch.long)
    params = {"root": str(base), "size": size, "download": download}
    return ImageSet("cifar10", params, images, labels, 255.0, size, 10, extra={"source": str(folder)})


# ---------------------------------------------------------------- image folder

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")  # also what `ganbench metrics` reads from a folder
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
        train, test = stratified_split(y, test_fraction)
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
