"""Adapters, one per plugin kind: ``adapt`` wraps a user object as a registry factory and checks what it builds
(losses, ``(G, D)`` models, datasets incl. ``TensorDataset``, extractors incl. ``FunctionExtractor``).
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import math
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import Tensor, nn

from ..data import Dataset, check_generator, check_n
from ..features import Extractor
from ..losses import DOut, Loss
from ..models import LATENTS, Generator
from ..registry import ConfigError, one_line

KINDS = {"loss": "loss", "model": "model", "data": "dataset", "features": "extractor"}  # words in messages


# ---------------------------------------------------------------- adapters: one per kind

def adapt(section: str, obj: Any, label: str, what: str) -> Callable[..., Any]:
    """A registry factory around a user object; checks the object's kind now and its product when built."""
    if section == "loss" and not callable(obj) and callable(getattr(obj, "d_loss", None)):
        instance = obj

        def named_loss() -> Any:  # a loss object named directly: a factory without parameters
            return instance
        obj = named_loss
    if not callable(obj):
        raise ConfigError(f"{what} is a {type(obj).__name__}, not a class or function "
                          f"({KINDS[section]} plugins must be callable)")
    check = {"loss": _as_loss, "model": _as_models, "data": _as_dataset, "features": _as_extractor}[section]

    @functools.wraps(obj, updated=())  # name, doc and __wrapped__ (so the signature is the plugin's)
    def factory(*args: Any, **params: Any) -> Any:
        try:
            made = obj(*args, **params)
        except ConfigError:
            raise
        except Exception as e:  # the user's code rejected its parameters or crashed: one line, named
            raise ConfigError(f"{what} raised {one_line(e)}") from e
        return check(made, label, what, params, *args)

    if section == "model":
        factory.__signature__ = _data_shape_first(obj, what)  # type: ignore[attr-defined]
    return factory


def _data_shape_first(obj: Any, what: str) -> inspect.Signature | None:
    """The model factory's signature with its first positional parameter named ``data_shape``."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    if not params or params[0].kind not in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD,
                                            params[0].VAR_POSITIONAL):
        raise ConfigError(f"{what} must take the data shape as its first positional parameter, "
                          f"e.g. def build(data_shape, z_dim=64), got signature {sig}")
    if params[0].kind is params[0].VAR_POSITIONAL:
        return sig
    return sig.replace(parameters=[params[0].replace(name="data_shape")] + params[1:])


# --- losses

def _as_loss(made: Any, label: str, what: str, params: dict[str, Any]) -> Any:
    if isinstance(made, Loss):
        return made
    missing = [m for m in ("d_loss", "g_loss") if not callable(getattr(made, m, None))]
    if missing:
        raise ConfigError(f"{what} returned a {type(made).__name__} without {' and '.join(missing)}; a loss "
                          f"plugin returns an object with d_loss(real, fake) and g_loss(fake, real)")
    clip = getattr(made, "clip", None)
    if clip is not None and (isinstance(clip, bool) or not isinstance(clip, (int, float))
                             or not math.isfinite(clip) or clip <= 0):
        raise ConfigError(f"{what}: clip must be None or a finite number > 0, got {clip!r}")
    n_critic = getattr(made, "n_critic", 1)
    if isinstance(n_critic, bool) or not isinstance(n_critic, int) or n_critic < 1:
        raise ConfigError(f"{what}: n_critic must be an int >= 1, got {n_critic!r}")
    needs_real = getattr(made, "needs_real_for_g", False)
    if not isinstance(needs_real, bool):
        raise ConfigError(f"{what}: needs_real_for_g must be true or false, got {needs_real!r}")
    penalty = getattr(made, "penalty", None)
    if penalty is not None and not callable(penalty):
        raise ConfigError(f"{what}: penalty must be a method penalty(D, real_x, fake_x), got {penalty!r}")
    return Loss(label, dict(params), _scalar(made.d_loss, label, "d_loss"), _scalar(made.g_loss, label, "g_loss"),
                own_penalty=None if penalty is None else _penalty(penalty, label),
                clip=None if clip is None else float(clip), n_critic=n_critic, needs_real_for_g=needs_real)


def _scalar(fn: Callable[..., Any], label: str, what: str) -> Callable[..., Tensor]:
    def call(*args: Any) -> Tensor:
        out = fn(*args)
        if not isinstance(out, Tensor) or out.numel() != 1:
            got = f"shape {tuple(out.shape)}" if isinstance(out, Tensor) else type(out).__name__
            raise ValueError(f"loss plugin {label!r}: {what} must return a scalar tensor, got {got}")
        return out.reshape(())
    return call


def _penalty(fn: Callable[..., Any], label: str) -> Callable[..., Tensor]:
    try:
        ps = inspect.signature(fn).parameters.values()
        takes_generator = any(p.name == "generator" or p.kind is p.VAR_KEYWORD for p in ps)
    except (TypeError, ValueError):
        takes_generator = False
    scalar = _scalar(fn, label, "penalty")

    def pen(D: Any, real_x: Tensor, fake_x: Tensor, generator: torch.Generator | None) -> Tensor:
        # The generator keeps random penalties (interpolates, perturbations) on the run's seeded stream.
        return scalar(D, real_x, fake_x, generator) if takes_generator else scalar(D, real_x, fake_x)
    return pen


# --- models

class _ScoreD(nn.Module):
    """A user discriminator returning scores (or (score, features)) seen as one returning ``DOut``."""

    def __init__(self, net: nn.Module, what: str):
        super().__init__()
        self.net, self.what = net, what

    def forward(self, x: Tensor) -> Any:
        return _to_dout(self.net(x), self.what)


def _to_dout(out: Any, what: str) -> Any:
    if isinstance(out, DOut):
        return out
    features = None
    if isinstance(out, (tuple, list)) and len(out) == 2 and isinstance(out[0], Tensor):
        out, features = out
    if not isinstance(out, Tensor):
        raise ValueError(f"{what}: D must return a DOut, a score tensor or (score, features), "
                         f"got {type(out).__name__}")
    if out.dim() == 2 and out.shape[1] == 1:
        out = out.squeeze(1)  # [N, 1] is the usual shape of a final Linear(., 1)
    if out.dim() != 1:
        raise ValueError(f"{what}: D's score must have shape [N] or [N, 1], got {tuple(out.shape)}")
    return DOut(out, features if isinstance(features, Tensor) else None)


def _as_models(made: Any, label: str, what: str, params: dict[str, Any], data_shape: Any = None) -> Any:
    pair = (made.G, made.D) if hasattr(made, "G") and hasattr(made, "D") else made
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(m, nn.Module) for m in pair)):
        raise ConfigError(f"{what} returned a {type(made).__name__}; a model plugin returns a pair (G, D) of "
                          f"torch.nn.Module (or an object with attributes G and D)")
    G, D = pair
    z_dim = getattr(G, "z_dim", None)
    if isinstance(z_dim, bool) or not isinstance(z_dim, int) or z_dim < 1:
        raise ConfigError(f"{what}: G must have an int attribute z_dim >= 1 (the latent size), got {z_dim!r}")
    if not callable(getattr(G, "sample_latent", None)):
        latent = getattr(G, "latent", "normal")
        if latent not in LATENTS:
            raise ConfigError(f"{what}: G.latent must be one of {', '.join(LATENTS)}, got {latent!r}")
        G = Generator(G, z_dim, latent, tuple(data_shape))  # ganbench's N(0, I) / U(-1, 1) latents
    out = _probe(G, D, what, tuple(data_shape))
    if not isinstance(out, DOut):
        try:
            _to_dout(out, what)
        except ValueError as e:
            raise ConfigError(str(e)) from None
        D = _ScoreD(D, what)
    return G, D


@torch.no_grad()
def _probe(G: nn.Module, D: nn.Module, what: str, data_shape: tuple[int, ...]) -> Any:
    """G and D on two latents, in eval mode with their own RNG: shapes checked, nothing else changes."""
    modes = (G.training, D.training)
    G.eval(), D.eval()
    try:
        device = next(iter(G.parameters()), torch.zeros(0)).device
        z = G.sample_latent(2, torch.Generator(device=device).manual_seed(0))
        x = G(z)
        if not isinstance(x, Tensor) or tuple(x.shape) != (2, *data_shape):
            got = f"shape {tuple(x.shape)}" if isinstance(x, Tensor) else f"a {type(x).__name__}"
            raise ConfigError(f"{what}: G(z) gave {got} for 2 latents; the data needs {(2, *data_shape)}")
        return D(x)
    except ConfigError:
        raise
    except Exception as e:
        raise ConfigError(f"{what}: a trial forward pass of G and D on 2 samples failed: {one_line(e)}") from e
    finally:
        G.train(modes[0]), D.train(modes[1])


# --- datasets

class TensorDataset(Dataset):
    """A finite dataset held in memory: ``[N, d]`` points or ``[N, C, H, W]`` images in [-1, 1], per split.

    Same semantics as the built-in finite sets: ``sample`` draws train items with replacement, ``real``
    draws ``n`` items of a split without replacement (the whole split, in order, when ``n`` >= its size).
    ``params`` gains ``content_sha256``: the provenance of every number then names the data it was measured on.
    """

    def __init__(self, name: str, params: dict[str, Any], splits: Mapping[str, Any]):
        tensors = {s: _samples(x, name, s) for s, x in splits.items()}
        if "train" not in tensors:
            raise ConfigError(f"dataset plugin {name!r}: needs a 'train' split, got {', '.join(tensors)}")
        shapes = {tuple(t.shape[1:]) for t in tensors.values()}
        if len(shapes) != 1:
            raise ConfigError(f"dataset plugin {name!r}: splits have different sample shapes {sorted(shapes)}")
        h = hashlib.sha256()
        for s in sorted(tensors):
            h.update(s.encode()), h.update(tensors[s].numpy().tobytes())
        super().__init__(name, {**params, "content_sha256": h.hexdigest()}, shapes.pop())
        self.kind = "points" if len(self.shape) == 1 else "images"
        self.splits, self._data = tuple(tensors), tensors

    def split_size(self, split: str) -> int:
        return len(self._data[self._check_split(split)])

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        g = check_generator(generator)
        idx = torch.randint(self.split_size("train"), (check_n(n),), generator=g, device=g.device).cpu()
        return self._data["train"][idx]

    def real_with_labels(self, n: int, split: str, generator: torch.Generator) -> tuple[Tensor, None]:
        size, g = self.split_size(split), check_generator(generator)
        if check_n(n) >= size:
            return self._data[split], None
        return self._data[split][torch.randperm(size, generator=g, device=g.device)[:n].cpu()], None

    def data(self, split: str) -> Tensor:
        return self._data[self._check_split(split)]


def _samples(x: Any, name: str, split: str) -> Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, Tensor) or not x.is_floating_point():
        got = f"dtype {x.dtype}" if isinstance(x, Tensor) else type(x).__name__
        raise ConfigError(f"dataset plugin {name!r}: split {split!r} must be a float tensor or array "
                          f"(images scaled to [-1, 1]), got {got}")
    if x.dim() not in (2, 4) or len(x) == 0:
        raise ConfigError(f"dataset plugin {name!r}: split {split!r} must be [N, d] points or [N, C, H, W] "
                          f"images with N > 0, got shape {tuple(x.shape)}")
    x = x.detach().to("cpu", torch.float32).contiguous()
    if not torch.isfinite(x).all():
        raise ConfigError(f"dataset plugin {name!r}: split {split!r} has non-finite values")
    if x.dim() == 4 and (x.min() < -1 or x.max() > 1):
        raise ConfigError(f"dataset plugin {name!r}: images must lie in [-1, 1], split {split!r} spans "
                          f"[{float(x.min()):.4g}, {float(x.max()):.4g}]")
    return x


def _as_dataset(made: Any, label: str, what: str, params: dict[str, Any]) -> Any:
    if isinstance(made, Dataset):
        if made.kind not in ("points", "images") or not isinstance(made.shape, tuple):
            raise ConfigError(f"{what} returned a Dataset with kind {made.kind!r}; accepted kinds: points, images")
        return made
    if isinstance(made, (Tensor, np.ndarray)):
        return TensorDataset(label, params, {"train": made})
    if isinstance(made, Mapping) and made and all(isinstance(k, str) for k in made):
        return TensorDataset(label, params, made)
    raise ConfigError(f"{what} returned a {type(made).__name__}; a dataset plugin returns a ganbench.data.Dataset, "
                      f"a tensor of samples or a dict of split name -> tensor")


# --- feature extractors

def _as_extractor(made: Any, label: str, what: str, params: dict[str, Any]) -> Any:
    if isinstance(made, Extractor):
        if not made.name:
            made.name = label  # the name keys the real-feature cache and appears in provenance
        return made
    if callable(made):
        return FunctionExtractor(label, made)
    raise ConfigError(f"{what} returned a {type(made).__name__}; an extractor plugin returns a "
                      f"ganbench.features.Extractor, or a module / function mapping a batch to features [N, F]")


class FunctionExtractor(Extractor):
    """Features from any module or function ``f(x) -> [N, F]``; no logits, no weights hash to pin it."""

    comparable = False  # unknown weights: numbers are comparable only with runs of this same function
    input_handling = "the samples as given ([-1, 1]) to the plugin function"

    def __init__(self, name: str, fn: Callable[[Tensor], Any]):
        self.name, self.fn = name, fn
        self.net = fn if isinstance(fn, nn.Module) else None

    def __call__(self, x: Tensor) -> dict[str, Tensor | None]:
        out = self.fn(torch.as_tensor(x))
        if isinstance(out, np.ndarray):
            out = torch.from_numpy(out)
        if not isinstance(out, Tensor) or out.dim() != 2 or len(out) != len(x):
            got = f"shape {tuple(out.shape)}" if isinstance(out, Tensor) else type(out).__name__
            raise ValueError(f"extractor plugin {self.name!r} must return features [N, F] for N = {len(x)}, got {got}")
        return {"features": out, "logits": None}
