"""``register_with_torch_fidelity()``: every built-in extractor as torch-fidelity's ``ganbench-<name>``."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .base import get_extractor

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
