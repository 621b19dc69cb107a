"""Figures of samples: an image grid, or a 2-D scatter over the real data.

Shared by the trainer (``samples.png`` in each run directory) and the report.
Uses matplotlib's Agg backend: no display is needed.
"""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from .files import atomic_write_bytes  # noqa: E402
from .models import device_of  # noqa: E402


@torch.no_grad()
def draw_samples(G: nn.Module, n: int, seed: int, batch: int = 1000) -> torch.Tensor:
    """``n`` generator samples from a fixed latent stream (the same seed shows the same latents)."""
    gen = torch.Generator().manual_seed(10_000 + seed)
    device = device_of(G)
    was_training = G.training
    G.eval()
    out = []
    for start in range(0, n, batch):
        z = G.sample_latent(min(batch, n - start), gen).to(device)
        out.append(G(z).float().cpu())
    G.train(was_training)
    return torch.cat(out)


def image_grid(images: torch.Tensor, nrow: int = 8) -> torch.Tensor:
    """[N, C, H, W] in [-1, 1] → [H', W', 3] in [0, 1] for imshow."""
    from torchvision.utils import make_grid
    x = (images.clamp(-1, 1) + 1) / 2
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    return make_grid(x, nrow=nrow, padding=1, pad_value=1.0).permute(1, 2, 0)


def samples_figure(fake: torch.Tensor, real: torch.Tensor | None, kind: str, title: str = ""):
    if kind == "points":
        fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
        if real is not None:
            ax.scatter(real[:, 0], real[:, 1], s=4, c="#bbbbbb", label="real", linewidths=0)
        ax.scatter(fake[:, 0], fake[:, 1], s=3, c="#d62728", alpha=0.6, label="generated", linewidths=0)
        ax.set_aspect("equal")
        ax.legend(loc="upper right", fontsize=7, markerscale=3)
    else:
        fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
        ax.imshow(image_grid(fake[:64]).numpy(), interpolation="nearest")
        ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def figure_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def save_samples(G: nn.Module, dataset, path: str | Path, seed: int = 0, title: str = "") -> bytes:
    n = 1000 if dataset.kind == "points" else 64
    fake = draw_samples(G, n, seed)
    real = dataset.real(n, "train", torch.Generator().manual_seed(seed)) if dataset.kind == "points" else None
    png = figure_png(samples_figure(fake, real, dataset.kind, title))
    atomic_write_bytes(path, png)
    return png
