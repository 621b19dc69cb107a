"""What the DINOv2 and CLIP extractors share: weights found locally (never downloaded), loaded without
unpickling code, hashed; and the resize-and-normalise preprocessing of ViT feature extractors.

Weights are looked for at the ``weights`` parameter (``--weights``) and then in the caches the libraries
themselves fill (torch hub's ``checkpoints/`` folder and the Hugging Face hub cache), so a machine that
has once downloaded them with timm, open_clip or ``torch.hub`` needs nothing more. When none is there the
extractor stops with one line naming the expected file and every place searched.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import torch
from torch import Tensor

from ..feature_spaces import FEATURE_SPACES
from ..files import CorruptFileError
from ..registry import ConfigError
from .base import Extractor, first_file, searched
from ..files import sha256_file


def hf_hub_cache() -> Path:
    """The Hugging Face hub cache (``$HF_HUB_CACHE``, ``$HF_HOME/hub`` or ``~/.cache/huggingface/hub``)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def hf_cached(repo_id: str, filenames: tuple[str, ...]) -> list[tuple[str, Path]]:
    """(label, path) of the files of ``repo_id`` in the HF cache, newest snapshot first; the pattern if none."""
    repo = hf_hub_cache() / f"models--{repo_id.replace('/', '--')}" / "snapshots"
    found = sorted((p for name in filenames for p in repo.glob(f"*/{name}")), key=lambda p: -p.stat().st_mtime)
    label = "Hugging Face hub cache"
    return [(label, p) for p in found] or [(label, repo / "*" / filenames[0])]


def weights_env(name: str) -> str:
    """The environment variable that points extractor ``name`` at its weights: ``GANBENCH_<NAME>_WEIGHTS``."""
    return f"GANBENCH_{name.upper().replace('-', '_')}_WEIGHTS"


def find_weights(name: str, expected: str, weights: Optional[str], caches: list[tuple[str, Path]]) -> Path:
    """The weights file of extractor ``name``: ``weights`` when given (it must exist), else the first that exists
    of ``$GANBENCH_<NAME>_WEIGHTS`` (how suites and ``eval-generator`` name a file) and the library ``caches``."""
    if weights:  # an explicit path must exist: silently falling back to a cache would hide a typo
        path = Path(weights).expanduser()
        if path.is_file():
            return path
        raise ConfigError(f"{name} weights not found: {path} (--weights / weights parameter) is not a file; "
                          f"expected {expected}")
    env = weights_env(name)
    places = ([(f"${env}", Path(os.environ[env]).expanduser())] if os.environ.get(env) else []) + caches
    found = first_file(places)
    if found is not None:
        return found
    raise ConfigError(f"{name} weights not found; put {expected} at one of these, or pass --weights PATH / set "
                      f"${env} (nothing is downloaded; searched {searched(places)})")


def need(module: str, package: str, extractor: str) -> Any:
    """Import a library an extractor is built with, or say in one line which package to install."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ConfigError(f"extractor {extractor!r} builds its network with {package}, which is not importable "
                          f"({e}); install it: pip install {package}") from None


def preprocess(x: Tensor, size: int, mean: tuple[float, ...], std: tuple[float, ...], crop: bool) -> Tensor:
    """[-1, 1] floats (or uint8) → 8-bit levels in [0, 1] → bicubic antialiased resize → normalised.

    ``crop``: resize the shorter side to ``size`` and centre-crop (CLIP's transform); else resize both sides
    to ``size`` (dgm-eval's DINOv2 transform). Generated images are quantised to 8 bits first, as they would be
    when saved and read back, so the same image gives the same features from memory or from a PNG. The
    operations are torchvision's ``Resize(antialias=True)`` / ``CenterCrop`` / ``Normalize`` on tensors;
    on PIL images torchvision also rounds the resized image to 8 bits, which shifts features slightly.
    """
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF
    x = torch.as_tensor(x)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected images [N, 1 or 3, H, W], got shape {tuple(x.shape)}")
    if x.dtype == torch.uint8:
        x = x.to(torch.float32) / 255.0
    else:
        x = ((x.to(torch.float32) + 1.0) * 127.5).round().clamp(0, 255) / 255.0
    x = x.expand(-1, 3, -1, -1)
    target = [size] if crop else [size, size]  # one int: the shorter side
    if (crop and min(x.shape[-2:]) != size) or (not crop and tuple(x.shape[-2:]) != (size, size)):
        x = TF.resize(x, target, interpolation=InterpolationMode.BICUBIC, antialias=True)
    if crop:
        x = TF.center_crop(x, [size, size])
    return TF.normalize(x, list(mean), list(std))


class PretrainedExtractor(Extractor):
    """An image extractor whose network a library builds and whose weights come from a local file."""

    size: int = 224
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    crop: bool = False
    library: str = ""
    # ganbench knows no published sha256 of these weights, so it cannot tell official from other files:
    # numbers are reported as not comparable with published ones, with the sha256 to check by hand.
    comparable = False

    @property
    def feature_space(self) -> str:
        return FEATURE_SPACES[self.name]

    def info(self) -> dict[str, Any]:
        lib = need(self.library, self.library, self.name)
        return {**super().info(), "feature_space": self.feature_space, self.library: lib.__version__}

    def embed(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def __call__(self, x: Tensor) -> dict[str, Tensor | None]:
        try:
            x = preprocess(x, self.size, self.mean, self.std, self.crop)
        except ValueError as e:
            raise ValueError(f"extractor {self.name!r}: {e}") from None
        return {"features": self.embed(x.to(next(self.net.parameters()).device)), "logits": None}


def corrupt(path: Path, what: str, e: Exception) -> CorruptFileError:
    first = (str(e).strip().splitlines() or [""])[0][:200]
    return CorruptFileError(f"{path}: not {what} weights ({type(e).__name__}: {first})")


def hashed(extractor: PretrainedExtractor, path: Path) -> None:
    extractor.weights_path, extractor.weights_sha256 = path, sha256_file(path)
