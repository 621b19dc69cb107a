"""``identity``: 2-D points (any ``[N, d]``) are their own features; no logits."""
from __future__ import annotations

import torch
from torch import Tensor

from ..registry import ConfigError
from .base import EXTRACTORS, Extractor


class IdentityExtractor(Extractor):
    name, input_handling = "identity", "none: the points are the features"

    def __call__(self, x: Tensor) -> dict[str, Tensor | None]:
        x = torch.as_tensor(x)
        if x.ndim != 2:
            raise ConfigError(f"extractor 'identity' expects points [N, d], got shape {tuple(x.shape)}; images are "
                              f"read by an image extractor such as digits-cnn or inception-v3-compat")
        return {"features": x.to(torch.float64), "logits": None}


@EXTRACTORS.register("identity", "the samples themselves (2-D points or any [N, d]); no logits")
def identity() -> IdentityExtractor:
    return IdentityExtractor()
