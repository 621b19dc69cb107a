"""The dataset registry and base class: ``DATASETS``, ``get_dataset``, ``Dataset`` (whose contract the
``ganbench.data`` package docstring states) and the checks of sample counts and generators every dataset shares."""
from __future__ import annotations

from typing import Any, Callable

import torch

from ..registry import ConfigError, Registry

DATASETS: Registry["Dataset"] = Registry("dataset")
SPLITS = ("train", "test")


def get_dataset(name: str, **params: Any) -> "Dataset":
    """Build dataset ``name``; unknown names and parameters raise ConfigError."""
    DATASETS.check_params(name, params)
    return DATASETS.build(name, **params)


def check_generator(generator: Any) -> torch.Generator:
    """The ``generator`` argument of every draw (``sample``, ``real``), checked: a ``torch.Generator``."""
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {generator!r}")
    return generator


def check_n(n: Any) -> int:
    """The number of samples a draw asks for, checked: a positive int."""
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
    mode_kl_reference: str = "real"  # the classifier-mode KL is taken against: "real" label histogram | "uniform"

    def __init__(self, name: str, params: dict[str, Any], shape: tuple[int, ...]):
        self.name, self.params, self.shape = name, dict(params), tuple(shape)

    def _check_split(self, split: str) -> str:
        if split not in self.splits:
            raise ConfigError(f"dataset {self.name!r} has no split {split!r}; accepted: {', '.join(self.splits)}")
        return split

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def train_sampler(self, seed: int) -> Callable[[int, torch.Generator], torch.Tensor]:
        """What a run of seed ``seed`` trains on, ``(n, generator) -> batch``: ``sample`` unless the dataset
        fixes a training set per seed (the mixtures' ``n_train``)."""
        return self.sample

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
