"""``digits-cnn``: the ganbench classifier with the weights shipped in ``ganbench/weights/digits-cnn.pt``.

The sha256 recorded beside the file is checked on every load; ``classify_channels`` labels the digit in each
channel (the Stacked digits modes) with one cached copy of it.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from torch import Tensor

from ..registry import ConfigError
from .base import DIGITS_WEIGHTS, EXTRACTORS, recorded_sha256
from .classifier_extractor import ClassifierExtractor


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


@lru_cache(maxsize=1)
def _shipped_digits_cnn() -> ClassifierExtractor:
    return digits_cnn()


def classify_channels(x: Tensor, extractor: ClassifierExtractor | None = None) -> Tensor:
    """Digit of each channel of ``[N, C, 8, 8]`` images (Stacked digits modes), by the shipped digits-cnn."""
    return (extractor or _shipped_digits_cnn()).classify_channels(x)
