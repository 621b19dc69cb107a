"""Inputs of the DINOv2 example: a randomly initialised DINOv2 ViT-S/14 saved as a local weights file (a stand-in
for facebookresearch's ``dinov2_vits14_pretrain.pth``: same architecture, same loading path, numbers meaningless),
and a small exported generator of 8x8 digit images (TorchScript, untrained).

    usage: python make_inputs.py OUT_DIR    -> OUT_DIR/dinov2_vits14_random.pth, OUT_DIR/generator.pt
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn


class DigitsGenerator(nn.Module):
    """z [n, 16] -> images [n, 1, 8, 8] in [-1, 1]."""

    def __init__(self, z_dim: int = 16):
        super().__init__()
        self.z_dim = z_dim
        self.net = nn.Sequential(nn.Linear(z_dim, 64), nn.ReLU(), nn.Linear(64, 64), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, 1, 8, 8)


def main(out: Path) -> None:
    import timm
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    dinov2 = timm.create_model("vit_small_patch14_dinov2", pretrained=False, num_classes=0, img_size=224)
    with torch.no_grad():  # timm starts DINOv2's layer scales at 1e-5: a random net would then map every image to
        for name, p in dinov2.named_parameters():  # nearly the same CLS token; at 1 the blocks pass the input on
            if name.endswith(".gamma"):
                p.fill_(1.0)
    torch.save(dinov2.state_dict(), out / "dinov2_vits14_random.pth")
    torch.jit.save(torch.jit.script(DigitsGenerator().eval()), str(out / "generator.pt"))
    print(f"wrote {out / 'dinov2_vits14_random.pth'} and {out / 'generator.pt'}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
