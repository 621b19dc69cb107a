"""The ``Extractor`` base class, the ``EXTRACTORS`` registry and what every extractor shares.

``get_extractor`` and ``default_extractor_for`` pick an extractor; ``recorded_sha256``
reads a weights file's recorded hash (``files.sha256_file`` computes one); ``WEIGHTS_DIR`` / ``DIGITS_WEIGHTS`` locate the weights shipped in ``ganbench/weights/``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..registry import ConfigError, Registry

EXTRACTORS: Registry["Extractor"] = Registry("feature extractor")
# The shipped weights live in ganbench/weights/, next to this package (one directory up from this file).
WEIGHTS_DIR = Path(__file__).parent.parent / "weights"
DIGITS_WEIGHTS = WEIGHTS_DIR / "digits-cnn.pt"


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


def first_file(places: list[tuple[str, Path]]) -> Path | None:
    """The first existing file of ``(label, path)`` places, in order (where weights are looked for)."""
    return next((path for _, path in places if path.is_file()), None)


def searched(places: list[tuple[str, Path]]) -> str:
    """``label: path; ...`` — the places an error message says were searched."""
    return "; ".join(f"{label}: {path}" for label, path in places)


def recorded_sha256(path: str | Path) -> str | None:
    """The hash recorded next to the weights (``name.sha256``, sha256sum format), if there is one."""
    side = Path(path).with_suffix(".sha256")
    return side.read_text().split()[0] if side.is_file() else None


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
            raise ConfigError(f"batch_size must be a positive int, got {batch_size!r}")
        x = torch.as_tensor(x)
        if x.ndim < 2 or len(x) == 0:
            raise ConfigError(f"extractor {self.name!r}: expected a non-empty batch [N, ...], got shape {tuple(x.shape)}")
        parts: dict[str, list[np.ndarray]] = {"features": [], "logits": []}
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                out = self(x[start:start + batch_size])
                for key in parts:
                    if out[key] is not None:
                        parts[key].append(out[key].detach().cpu().to(torch.float64).numpy())
        return {k: np.concatenate(v) if v else None for k, v in parts.items()}
