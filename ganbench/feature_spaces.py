"""Which feature space an extractor's numbers live in, and the metric names that say so.

A Fréchet distance is only "FID" on Inception-V3 pool3 features; on DINOv2 or CLIP features it is another
metric (Stein et al. 2023 write FD_DINOv2, clean-fid CLIP-FID), and mixing the two in one table is the
mistake this module exists to prevent: reports and ``ganbench metrics`` name the space in the header
(``FD_DINOv2-L``). Plain Python, no torch: the report imports it.
"""
from __future__ import annotations

from typing import Optional

# extractor name -> feature-space label, for extractors whose FD is not Inception FID and says so
FEATURE_SPACES: dict[str, str] = {
    "dinov2-vit-s14": "DINOv2-S", "dinov2-vit-b14": "DINOv2-B", "dinov2-vit-l14": "DINOv2-L",
    "clip-vit-b32": "CLIP-B/32", "clip-vit-l14": "CLIP-L/14", "clip-vit-l14-336": "CLIP-L/14-336",
}
# metrics whose name changes with the space: FID -> FD_<space>, FID∞ -> FD∞_<space>
_SPACE_PREFIX = {"fid": "FD", "fid_inf": "FD∞"}


def metric_label(metric: str, default: str, features: Optional[str]) -> str:
    """The display name of ``metric`` (``default`` when the space does not rename it) on ``features``."""
    space = FEATURE_SPACES.get(features or "")
    if space is None or metric not in _SPACE_PREFIX:
        return default
    return f"{_SPACE_PREFIX[metric]}_{space}"
