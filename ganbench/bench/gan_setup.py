"""The data and the GAN of one benchmark row: the dataset a model is timed on, its ``RunConfig``, the seeded
GAN (channels_last when asked) and ``torch.compile`` of G and D."""
from __future__ import annotations

from typing import Any, Optional

import torch

from ..config import DataConfig, LossConfig, ModelConfig, OptimConfig, RunConfig, TrainConfig
from ..data import Dataset, get_dataset
from ..train import GAN, build_gan, seed_for
from .options import IMAGE_MODELS, BenchOptions


class RandomImages(Dataset):
    """Uniform [-1, 1] tensors of a fixed image shape: timing needs the shape, not the content."""

    def __init__(self, shape: tuple[int, ...]):
        super().__init__("random", {"shape": list(shape)}, shape)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.rand((n, *self.shape), generator=generator, device=generator.device) * 2 - 1


def bench_dataset(model: str, image_size: Optional[int] = None) -> Dataset:
    """ring8 for point models; digits 8x8 for image models, or random 3xSxS tensors for ``image_size`` S."""
    if model not in IMAGE_MODELS:
        return get_dataset("ring8")
    if image_size is None:
        return get_dataset("digits", size=8)
    return RandomImages((3, image_size, image_size))


def bench_run(model: str, loss: str, batch: int, device: str, model_params: dict[str, Any] | None = None,
              loss_params: dict[str, Any] | None = None, seed: int = 0) -> RunConfig:
    return RunConfig(suite="bench", seed=seed, data=DataConfig("bench"),
                     model=ModelConfig(model, dict(model_params or {})), loss=LossConfig(loss, dict(loss_params or {})),
                     optim=OptimConfig(), train=TrainConfig(batch_size=batch, device=device))


def prepare_gan(run: RunConfig, ds: Dataset, opts: BenchOptions) -> GAN:
    """``build_gan`` seeded as ``train`` seeds it, with G and D in channels_last when asked."""
    torch.manual_seed(seed_for(run.seed, "init"))
    gan = build_gan(run, ds)
    if opts.channels_last:
        # Module.to swaps parameter data in place, so the optimisers still hold the same parameters.
        gan.G.to(memory_format=torch.channels_last)
        gan.D.to(memory_format=torch.channels_last)
        sample = gan.sample_real
        gan.sample_real = lambda n, g: sample(n, g).contiguous(memory_format=torch.channels_last)
    return gan


def compile_models(holder: Any) -> None:
    """``torch.compile`` G and D of a GAN or reference loop (attribute access falls through to the module)."""
    holder.G, holder.D = torch.compile(holder.G), torch.compile(holder.D)
