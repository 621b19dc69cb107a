"""The ganbench classifier: its network, its weights file and the extractor built on it.

``ClassifierNet`` (architecture sized from the data by ``classifier_arch``, features standardised with the
training statistics), ``_read_classifier`` (sha256-checked, ``weights_only`` load) and ``ClassifierExtractor``
(per-channel classification of multi-channel images, resizing) serve both ``digits-cnn`` (the shipped
weights, ``digits_extractor``) and ``classifier`` (user-trained weights, registered here).
"""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..files import CorruptFileError
from ..registry import ConfigError, one_line
from .base import DIGITS_WEIGHTS, EXTRACTORS, Extractor, recorded_sha256

CLASSIFIER_FORMAT = "ganbench-classifier-v1"
HIDDEN = 128  # width of the feature layer of every ganbench classifier
RESIZE = "bilinear (torch interpolate, align_corners=False, antialias=True)"


def classifier_arch(shape: tuple[int, ...] | list[int], n_classes: int) -> dict[str, Any]:
    """Architecture sized from the data: conv blocks that halve the image until it is at most 4 pixels."""
    if len(shape) != 3 or min(shape[1:]) < 8:
        raise ConfigError(f"classifier: images must be [C, H, W] with H, W >= 8, got shape {list(shape)}")
    if not isinstance(n_classes, int) or n_classes < 2:
        raise ConfigError(f"classifier: needs at least 2 classes, got n_classes={n_classes!r}")
    widths, side = [], min(shape[1:])
    while side > 4:
        widths.append(min(32 * 2 ** len(widths), 256))
        side //= 2
    return {"in_channels": int(shape[0]), "height": int(shape[1]), "width": int(shape[2]),
            "widths": widths, "hidden": HIDDEN, "n_classes": int(n_classes)}


EVAL_CHUNK = 64


class ClassifierNet(nn.Module):
    """(conv3x3-BN-ReLU ×2, maxpool 2) per width, then FC ``hidden`` (the features), ReLU, FC to logits."""

    def __init__(self, in_channels: int, height: int, width: int, widths: list[int], hidden: int, n_classes: int):
        super().__init__()
        self.in_channels, self.size = in_channels, (height, width)
        layers: list[nn.Module] = []
        c, h, w = in_channels, height, width
        for out in widths:
            for c_in in (c, out):
                layers += [nn.Conv2d(c_in, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU()]
            layers.append(nn.MaxPool2d(2))
            c, h, w = out, h // 2, w // 2
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(c * h * w, hidden)
        self.head = nn.Linear(hidden, n_classes)
        # Features are standardised with the training set's per-unit mean and std (set after training):
        # KID's cubic kernel (x.y/d + 1)^3 is only well-behaved for features of order one.
        self.register_buffer("feat_mean", torch.zeros(hidden))
        self.register_buffer("feat_std", torch.ones(hidden))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(features, logits)``; in eval mode computed in zero-padded calls of exactly EVAL_CHUNK images.

        CPU kernels choose their algorithm and blocking by batch size, so a sample's features would change
        (~1e-6) with the batch it came in; fixed-size calls make extraction independent of the batch size.
        """
        if self.training:
            return self._forward(x)
        n, pad = len(x), (-len(x)) % EVAL_CHUNK
        if pad:
            x = torch.cat([x, x.new_zeros(pad, *x.shape[1:])])
        outs = [self._forward(x[i:i + EVAL_CHUNK]) for i in range(0, len(x), EVAL_CHUNK)]
        return torch.cat([f for f, _ in outs])[:n], torch.cat([lg for _, lg in outs])[:n]

    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        raw = self.fc(self.body(x).flatten(1))
        return (raw - self.feat_mean) / self.feat_std, self.head(F.relu(raw))

    @torch.no_grad()
    def set_feature_scale(self, x: Tensor) -> None:
        """Standardise the feature layer with the statistics of ``x`` (the training images)."""
        self.eval()
        self.feat_mean.zero_(), self.feat_std.fill_(1.0)
        raw = torch.cat([self.forward(x[i:i + 1024])[0] for i in range(0, len(x), 1024)]).double()
        self.feat_mean.copy_(raw.mean(0).float())
        self.feat_std.copy_(raw.std(0).clamp_min(1e-6).float())

    def reset_parameters(self, generator: torch.Generator) -> None:
        # PyTorch's default init draws from the global RNG; an explicit generator keeps training reproducible.
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu", generator=generator)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)


def _read_classifier(path: Path, expected_sha256: str | None) -> tuple[ClassifierNet, dict[str, Any], str]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"classifier weights {str(path)!r} not found; train them with "
                          f"'ganbench extractor train DATASET --out {path}'") from None
    sha = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and sha != expected_sha256:
        raise CorruptFileError(f"{path}: sha256 {sha} does not match the expected {expected_sha256}; "
                               f"the file is corrupt or was replaced (retrain with 'ganbench extractor train')")
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)  # no pickled code runs
        if not isinstance(obj, dict) or obj.get("format") != CLASSIFIER_FORMAT:
            raise ValueError(f"no format {CLASSIFIER_FORMAT!r}")
        net = ClassifierNet(**obj["arch"])
        net.load_state_dict(obj["state_dict"])
    except Exception as e:  # truncated zip, foreign object, wrong keys: all mean "unusable"
        raise CorruptFileError(f"{path}: not a ganbench classifier ({one_line(e)})") from None
    return net.eval().requires_grad_(False), dict(obj.get("meta", {})), sha


class ClassifierExtractor(Extractor):
    has_logits = True

    def __init__(self, name: str, path: Path, expected_sha256: str | None):
        self.name, self.weights_path = name, path
        self.net, self.meta, self.weights_sha256 = _read_classifier(path, expected_sha256)
        self.channels, self.size, self.n_classes = self.net.in_channels, self.net.size, self.net.head.out_features
        self.dim = self.net.fc.out_features
        self.comparable = DIGITS_WEIGHTS.is_file() and self.weights_sha256 == recorded_sha256(DIGITS_WEIGHTS)
        self.input_handling = (f"[-1, 1] images [{self.channels}, {self.size[0]}, {self.size[1]}]; other sizes resized "
                               f"{RESIZE}" + ("; extra channels classified one by one" if self.channels == 1 else ""))

    def info(self) -> dict[str, Any]:
        return {**super().info(), "trained_on": self.meta.get("dataset"), "test_accuracy": self.meta.get("accuracy"),
                "n_classes": self.n_classes}

    def _net_input(self, x: Tensor) -> tuple[Tensor, int]:
        """``[N, C, H, W]`` -> batch for the net and the number of channels classified separately (1 if none)."""
        x = torch.as_tensor(x)
        if x.ndim != 4:
            raise ConfigError(f"extractor {self.name!r} expects images [N, C, H, W], got shape {tuple(x.shape)}; "
                              f"points are read by 'identity'")
        n, c = x.shape[:2]
        per_channel = c if c != self.channels and self.channels == 1 else 1
        if c != self.channels and per_channel == 1:
            raise ValueError(f"extractor {self.name!r} expects {self.channels} channel(s), got {c} (shape {tuple(x.shape)})")
        x = x.to(device=next(self.net.parameters()).device, dtype=torch.float32)
        x = x.reshape(n * per_channel, self.channels, *x.shape[2:])
        if tuple(x.shape[2:]) != self.size:
            x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False, antialias=True)
        return x, per_channel

    def __call__(self, x: Tensor) -> dict[str, Tensor | None]:
        x, c = self._net_input(x)
        feats, logits = self.net(x)
        if c == 1:
            return {"features": feats, "logits": logits}
        n, k = len(x) // c, self.n_classes
        if k ** c > 100_000:
            raise ValueError(f"extractor {self.name!r}: {c} channels of {k} classes give {k ** c} joint classes (max 100000)")
        logp = F.log_softmax(logits, dim=1).reshape(n, c, k)
        joint = logp[:, 0]
        for i in range(1, c):  # log p(d_0, …, d_i) = log p(d_0, …, d_{i-1}) + log p(d_i): channels independent
            joint = (joint[:, :, None] + logp[:, i, None, :]).reshape(n, -1)
        return {"features": feats.reshape(n, c * self.dim), "logits": joint}

    def classify_channels(self, x: Tensor, batch_size: int = 2000) -> Tensor:
        """``[N, C, H, W]`` -> ``LongTensor[N, C]``: the predicted class of each channel (C = 1 for plain images)."""
        out = []
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                batch, c = self._net_input(x[start:start + batch_size])
                out.append(self.net(batch)[1].argmax(1).reshape(-1, c).cpu())
        return torch.cat(out)


def _check_sha256(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 64 or any(ch not in "0123456789abcdef" for ch in value):
        raise ConfigError(f"extractor: sha256 must be 64 lowercase hex digits, got {value!r}")
    return value


@EXTRACTORS.register("classifier", "CNN trained with 'ganbench extractor train DATASET' (path=...): domain features")
def classifier(path: str, sha256: str | None = None) -> ClassifierExtractor:
    """User-trained weights; the hash is checked against ``sha256`` or else the ``.sha256`` file beside them."""
    p = Path(os.path.expanduser(path))
    return ClassifierExtractor("classifier", p, _check_sha256(sha256) if sha256 is not None else recorded_sha256(p))

