"""``dinov2-vit-s14`` / ``-b14`` / ``-l14``: DINOv2 ViT CLS-token features as dgm-eval uses them
(Stein et al. 2023: images resized to 224×224 bicubic, ImageNet mean/std, the final-norm CLS token).

The network is timm's ``vit_*_patch14_dinov2`` at 224 px. Weights: the official ``dinov2_vit?14_pretrain.pth``
(what ``torch.hub.load('facebookresearch/dinov2', ...)`` downloads into torch hub's ``checkpoints/``) or timm's
own ``model.safetensors`` from the Hugging Face cache; timm's checkpoint filter converts the official keys and
resizes the 518-px position embedding to 224 px once, bicubically (torch hub's model instead interpolates it at
every forward, so features differ from theirs by that interpolation).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
from torch import Tensor

from .base import EXTRACTORS
from .pretrained import PretrainedExtractor, corrupt, find_weights, hashed, hf_cached, need

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# extractor name -> (timm architecture, official file, timm's Hugging Face repo, feature dimension)
VARIANTS: dict[str, tuple[str, str, str, int]] = {
    "dinov2-vit-s14": ("vit_small_patch14_dinov2", "dinov2_vits14_pretrain.pth", "timm/vit_small_patch14_dinov2.lvd142m", 384),
    "dinov2-vit-b14": ("vit_base_patch14_dinov2", "dinov2_vitb14_pretrain.pth", "timm/vit_base_patch14_dinov2.lvd142m", 768),
    "dinov2-vit-l14": ("vit_large_patch14_dinov2", "dinov2_vitl14_pretrain.pth", "timm/vit_large_patch14_dinov2.lvd142m", 1024),
}


def dinov2_search_paths(name: str) -> list[tuple[str, Path]]:
    _, official, repo, _ = VARIANTS[name]
    return [("torch hub cache", Path(torch.hub.get_dir()) / "checkpoints" / official),
            *hf_cached(repo, ("model.safetensors", "pytorch_model.bin"))]


class DINOv2Extractor(PretrainedExtractor):
    size, mean, std, crop, library = 224, IMAGENET_MEAN, IMAGENET_STD, False, "timm"
    input_handling = ("[-1, 1] floats -> 8-bit levels in [0, 1]; grayscale repeated to 3 channels; bicubic antialiased "
                      "resize to 224x224; ImageNet mean/std; CLS token after the final norm (dgm-eval's DINOv2 protocol)")

    def __init__(self, name: str, weights: Optional[str] = None):
        arch, official, repo, self.dim = VARIANTS[name]
        self.name = name
        path = find_weights(name, f"{official} (facebookresearch/dinov2) or {repo}'s model.safetensors",
                            weights, dinov2_search_paths(name))
        hashed(self, path)  # before any heavy import or model build: a missing file fails fast
        timm = need("timm", "timm", name)
        from timm.models.vision_transformer import checkpoint_filter_fn
        try:
            if path.suffix == ".safetensors":
                from safetensors.torch import load_file
                state = load_file(str(path))
            else:
                state = torch.load(path, map_location="cpu", weights_only=True)  # plain tensors only, no code
            net = timm.create_model(arch, pretrained=False, num_classes=0, img_size=self.size)
            net.load_state_dict(checkpoint_filter_fn(state, net), strict=True)
        except Exception as e:  # not a state dict, other keys or shapes: the file is the problem
            raise corrupt(path, f"{arch} (DINOv2)", e) from None
        self.net = net.eval().requires_grad_(False)

    def embed(self, x: Tensor) -> Tensor:
        return self.net(x)  # num_classes=0: the pre-logits, i.e. the final-norm CLS token


@EXTRACTORS.register("dinov2-vit-s14", "DINOv2 ViT-S/14 CLS token from local weights (dgm-eval protocol): 384-d")
def dinov2_vit_s14(weights: Optional[str] = None) -> DINOv2Extractor:
    return DINOv2Extractor("dinov2-vit-s14", weights)


@EXTRACTORS.register("dinov2-vit-b14", "DINOv2 ViT-B/14 CLS token from local weights (dgm-eval protocol): 768-d")
def dinov2_vit_b14(weights: Optional[str] = None) -> DINOv2Extractor:
    return DINOv2Extractor("dinov2-vit-b14", weights)


@EXTRACTORS.register("dinov2-vit-l14", "DINOv2 ViT-L/14 CLS token from local weights (dgm-eval's choice): 1024-d")
def dinov2_vit_l14(weights: Optional[str] = None) -> DINOv2Extractor:
    return DINOv2Extractor("dinov2-vit-l14", weights)
