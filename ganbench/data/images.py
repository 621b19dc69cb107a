"""Finite labelled image sets: ``ImageSet``, the stratified split, scikit-learn's ``digits`` and
``stacked-digits`` (three digits as RGB channels, 1000 modes)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..registry import ConfigError
from .base import DATASETS, Dataset, check_generator, check_n

RESIZE = "bilinear (torch interpolate, align_corners=False, antialias=True)"  # recorded in info(): FID depends on it
DIGITS_TEST_SHARE = 0.25  # fixed forever: the shipped digits classifier was trained on this split


def check_size(name: str, size: int, accepted: tuple[int, ...]) -> int:
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
        g = check_generator(generator)
        idx = torch.randint(self.split_size("train"), (check_n(n),), generator=g, device=g.device).cpu()
        return self._prepare(self._images["train"][idx])

    def real_with_labels(self, n: int, split: str,
                         generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        size, g = self.split_size(split), check_generator(generator)
        if check_n(n) >= size:
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


def stratified_split(y: np.ndarray, test_share: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
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
    train, test = stratified_split(y, DIGITS_TEST_SHARE)
    labels = torch.as_tensor(y, dtype=torch.long)
    return ({"train": images[train], "test": images[test]}, {"train": labels[train], "test": labels[test]})


DIGITS_SPLIT = "stratified by class, seed 0 (numpy RandomState), test share 0.25: 1346 train / 451 test"


@DATASETS.register("digits", "scikit-learn's bundled 8x8 digits (1797 images, 10 classes), 1x8x8 in [-1,1]")
def digits(size: int = 8) -> ImageSet:
    images, labels = _digits_arrays()
    return ImageSet("digits", {"size": size}, images, labels, 16.0, check_size("digits", size, (8, 16, 32)), 10,
                    extra={"source": "sklearn.datasets.load_digits", "split": DIGITS_SPLIT})


class StackedDigits(Dataset):
    """Three independent digits as the R, G, B channels: 1000 modes, mode = 100·d0 + 10·d1 + d2.

    Its mode KL is against uniform over the 1000 modes, as PacGAN's and VEEGAN's Stacked MNIST code."""

    mode_kl_reference = "uniform"

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
        g = check_generator(generator)
        idx = torch.randint(base.split_size(split), (check_n(n), 3), generator=g, device=g.device).cpu()
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
