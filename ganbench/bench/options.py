"""What can run: ``BenchOptions``, the checks that fail the whole command (``check_options``), the reasons a
model × loss row is skipped (``skip_reason``) and the autocast context built from the options."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch

from ..registry import ConfigError

IMAGE_MODELS = ("dcgan", "infogan", "sndcgan")
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class BenchOptions:
    batch: int = 64
    device: str = "cpu"
    amp: Optional[str] = None          # None | "bf16" | "fp16"
    compile: bool = False
    channels_last: bool = False
    cuda_graphs: bool = False
    repeats: int = 30
    warmup: int = 5
    image_size: Optional[int] = None   # None: digits 8x8 for image models; else random 3xSxS tensors
    reference: bool = True
    threads: Optional[int] = None      # torch intra-op threads while timing; None: leave torch's setting



def check_options(opts: BenchOptions) -> None:
    """Errors that concern every row: one ConfigError line naming the flag, the value and what is accepted."""
    for key, value, low in (("--batch", opts.batch, 1), ("--repeats", opts.repeats, 1), ("--warmup", opts.warmup, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{key} must be an integer >= {low}, got {value!r}")
    if opts.device not in ("cpu", "cuda"):
        raise ConfigError(f"--device must be cpu or cuda, got {opts.device!r}")
    if opts.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA GPU is available (torch.cuda.is_available() is False); use --device cpu")
    if opts.amp is not None and opts.amp not in AMP_DTYPES:
        raise ConfigError(f"--amp must be one of {', '.join(AMP_DTYPES)}, got {opts.amp!r}")
    if opts.amp == "fp16" and opts.device == "cpu":
        raise ConfigError("--amp fp16 needs --device cuda (CPU autocast runs bf16 only); use --amp bf16")
    if opts.cuda_graphs and opts.device != "cuda":
        raise ConfigError("--cuda-graphs needs --device cuda")
    if opts.cuda_graphs and opts.compile:
        raise ConfigError("--cuda-graphs and --compile together are not supported; "
                          "torch.compile(mode='reduce-overhead') captures CUDA graphs itself")
    if opts.threads is not None and (isinstance(opts.threads, bool) or not isinstance(opts.threads, int)
                                     or opts.threads < 1):
        raise ConfigError(f"--threads must be an integer >= 1, got {opts.threads!r}")
    if opts.image_size is not None and (isinstance(opts.image_size, bool) or not isinstance(opts.image_size, int)
                                        or opts.image_size < 1):
        raise ConfigError(f"--image-size must be a positive integer, got {opts.image_size!r}")


def has_penalty(loss: Any) -> bool:
    """True when the D step takes a gradient of D w.r.t. its input (a double backward)."""
    return loss.own_penalty is not None or loss.r1_gamma > 0 or loss.r2_gamma > 0


def skip_reason(model: str, loss: Any, opts: BenchOptions) -> Optional[str]:
    """Why ``model`` × ``loss`` cannot run under ``opts`` (None: it can)."""
    if opts.channels_last and model not in IMAGE_MODELS:
        return f"--channels-last applies to image models (4-D tensors); {model!r} is not one"
    if has_penalty(loss) and opts.cuda_graphs:
        return f"--cuda-graphs cannot capture the double backward of the gradient penalty of loss {loss.name!r}"
    if has_penalty(loss) and opts.compile:
        return f"torch.compile does not support the double backward of the gradient penalty of loss {loss.name!r}"
    return None


def amp_context(opts: BenchOptions) -> Callable[[], Any]:
    if opts.amp is None:
        return contextlib.nullcontext
    dtype = AMP_DTYPES[opts.amp]
    # Autocast's weight cache must be off inside CUDA graph capture.
    return lambda: torch.autocast(opts.device, dtype=dtype, cache_enabled=not opts.cuda_graphs)
