"""``inception-v3-compat``: torch-fidelity's TF-compatible InceptionV3 from a local weights file.

Nothing is ever downloaded: the weights are looked for at the ``weights`` parameter, ``$GANBENCH_INCEPTION_WEIGHTS``
and the torch hub cache, and a missing file fails fast with one line naming it and the places searched.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..files import CorruptFileError
from ..registry import ConfigError
from .base import EXTRACTORS, Extractor, first_file, searched
from ..files import sha256_file

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_SHA256_PREFIX = "6726825d"  # torch-fidelity puts the start of the file's sha256 in its name
INCEPTION_ENV = "GANBENCH_INCEPTION_WEIGHTS"


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
    found = first_file(places)
    if found is not None:
        return found
    raise ConfigError(f"InceptionV3 weights not found; put {INCEPTION_FILE} (torch-fidelity's release file) at one of "
                      f"these, or pass --inception-weights PATH / set ${INCEPTION_ENV} (searched {searched(places)})")


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
            raise ConfigError(f"extractor {self.name!r} expects images [N, 1 or 3, H, W], got shape {tuple(x.shape)}")
        if x.dtype != torch.uint8:
            x = ((x.to(torch.float32) + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
        x = x.expand(-1, 3, -1, -1).to(next(self.net.parameters()).device)
        feats, logits = self.net(x)
        return {"features": feats, "logits": logits}


@EXTRACTORS.register("inception-v3-compat", "torch-fidelity's TF-compatible InceptionV3 from local weights: 2048-d")
def inception_v3_compat(weights: str | None = None) -> InceptionExtractor:
    return InceptionExtractor(weights)
