"""``clip-vit-b32`` / ``clip-vit-l14`` / ``clip-vit-l14-336``: CLIP image-tower embeddings (OpenAI weights).

The network is open_clip's ``ViT-B-32`` / ``ViT-L-14`` / ``ViT-L-14-336`` with QuickGELU (as OpenAI trained
them); features are ``encode_image`` outputs, the projected image embeddings, unnormalised — what clean-fid's
CLIP-FID (ViT-B/32) computes the Fréchet distance on. CMMD (``ganbench.cmmd``) L2-normalises them itself, as
google-research's reference does with ViT-L/14 at 336 px. Preprocessing is CLIP's: shorter side resized to the
input size (bicubic), centre crop, OpenAI mean/std. Weights: a state dict or safetensors file in open_clip's
format (``open_clip_pytorch_model.bin`` / ``open_clip_model.safetensors``, what open_clip downloads into the
Hugging Face cache), loaded with ``weights_only=True``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from torch import Tensor

from .base import EXTRACTORS
from .pretrained import PretrainedExtractor, corrupt, find_weights, hashed, hf_cached, need

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
# extractor name -> (open_clip architecture, open_clip's Hugging Face repo of the OpenAI weights, input size, dim)
VARIANTS: dict[str, tuple[str, str, int, int]] = {
    "clip-vit-b32": ("ViT-B-32", "timm/vit_base_patch32_clip_224.openai", 224, 512),
    "clip-vit-l14": ("ViT-L-14", "timm/vit_large_patch14_clip_224.openai", 224, 768),
    "clip-vit-l14-336": ("ViT-L-14-336", "timm/vit_large_patch14_clip_336.openai", 336, 768),
}
FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


class CLIPExtractor(PretrainedExtractor):
    mean, std, crop, library = OPENAI_MEAN, OPENAI_STD, True, "open_clip"

    def __init__(self, name: str, weights: Optional[str] = None):
        arch, repo, self.size, self.dim = VARIANTS[name]
        self.name = name
        self.input_handling = (f"[-1, 1] floats -> 8-bit levels in [0, 1]; grayscale repeated to 3 channels; shorter "
                               f"side bicubic antialiased to {self.size}, centre crop {self.size}x{self.size}; OpenAI "
                               f"CLIP mean/std; encode_image (projected, unnormalised)")
        path = find_weights(name, f"{repo}'s {' or '.join(FILES)} (open_clip format)", weights,
                            hf_cached(repo, FILES))
        hashed(self, path)  # before any heavy import or model build: a missing file fails fast
        open_clip = need("open_clip", "open_clip_torch", name)
        try:
            net = open_clip.create_model(arch, pretrained=None, force_quick_gelu=True)
            open_clip.load_checkpoint(net, str(path), strict=True, weights_only=True)
        except Exception as e:  # not a state dict, other keys or shapes: the file is the problem
            raise corrupt(Path(path), f"open_clip {arch}", e) from None
        self.net = net.eval().requires_grad_(False)

    def embed(self, x: Tensor) -> Tensor:
        return self.net.encode_image(x)


@EXTRACTORS.register("clip-vit-b32", "CLIP ViT-B/32 image embeddings from local weights (clean-fid's CLIP-FID): 512-d")
def clip_vit_b32(weights: Optional[str] = None) -> CLIPExtractor:
    return CLIPExtractor("clip-vit-b32", weights)


@EXTRACTORS.register("clip-vit-l14", "CLIP ViT-L/14 image embeddings (224 px) from local weights: 768-d")
def clip_vit_l14(weights: Optional[str] = None) -> CLIPExtractor:
    return CLIPExtractor("clip-vit-l14", weights)


@EXTRACTORS.register("clip-vit-l14-336", "CLIP ViT-L/14 at 336 px from local weights (CMMD's reference): 768-d")
def clip_vit_l14_336(weights: Optional[str] = None) -> CLIPExtractor:
    return CLIPExtractor("clip-vit-l14-336", weights)
