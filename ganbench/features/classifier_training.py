"""Training the ganbench classifier (``ganbench extractor train DATASET``), deterministic on CPU.

``train_extractor`` writes the weights with their ``.sha256`` and ``.json`` beside them; run on ``digits``
with the defaults it reproduces the shipped ``digits-cnn.pt`` byte for byte.
"""
from __future__ import annotations

import hashlib
import io
import math
import time
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import MAX_SEED
from ..data import get_dataset
from ..files import atomic_write_bytes, atomic_write_json, atomic_write_text
from ..registry import ConfigError
from .classifier_extractor import CLASSIFIER_FORMAT, HIDDEN, ClassifierNet, classifier_arch

SAMPLES_PER_TRAINING = 50_000  # default epochs = this many training samples seen, 2..50 epochs


def _shift(x: Tensor, max_shift: int, g: torch.Generator) -> Tensor:
    """Translate each image by up to ``max_shift`` pixels; uncovered pixels are background (-1)."""
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)
    dy, dx = torch.randint(2 * max_shift + 1, (2, n), generator=g)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]
    return padded[torch.arange(n)[:, None, None, None], torch.arange(x.shape[1])[None, :, None, None], rows, cols]


def _accuracy(net: nn.Module, x: Tensor, y: Tensor, batch_size: int = 1000) -> float:
    net.eval()
    with torch.no_grad():
        correct = sum(int((net(x[i:i + batch_size])[1].argmax(1) == y[i:i + batch_size]).sum())
                      for i in range(0, len(x), batch_size))
    return correct / len(x)


def default_epochs(n_train: int) -> int:
    return int(min(50, max(2, math.ceil(SAMPLES_PER_TRAINING / n_train))))


def _fit(arch: dict[str, Any], x_train: Tensor, y_train: Tensor, x_test: Tensor, y_test: Tensor, epochs: int, seed: int,
         batch_size: int, lr: float, progress: Callable[[str], None] | None) -> tuple[ClassifierNet, float, float]:
    g = torch.Generator().manual_seed(seed)
    net = ClassifierNet(**arch)
    net.reset_parameters(g)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    steps_per_epoch = math.ceil(len(x_train) / batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    max_shift = max(1, min(arch["height"], arch["width"]) // 8)  # about one pixel in eight: digits 1, MNIST 3
    t0 = time.perf_counter()
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(x_train), generator=g)
        for start in range(0, len(x_train), batch_size):
            idx = order[start:start + batch_size]
            loss = F.cross_entropy(net(_shift(x_train[idx], max_shift, g))[1], y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        if progress is not None:
            progress(f"epoch {epoch + 1}/{epochs}: last batch loss {loss.item():.4f}")
    net.set_feature_scale(x_train)
    return net, _accuracy(net, x_test, y_test), time.perf_counter() - t0


def train_extractor(dataset_name: str, out_path: str | Path, epochs: int | None = None, seed: int = 0,
                    batch_size: int = 64, lr: float = 3e-3, threads: int = 1,
                    progress: Callable[[str], None] | None = None, **data_params: Any) -> dict[str, Any]:
    """Train the ganbench classifier on a labelled dataset; write ``out_path``, ``.sha256`` and ``.json``.

    Deterministic on CPU: the same seed, torch version, CPU instruction set and ``threads`` give the same
    bytes. One thread by default because CPU kernels split their sums by thread, so the bytes would
    otherwise depend on the machine's core count.
    AdamW (weight decay 1e-4), cosine learning-rate decay, random shifts of up to size/8 pixels.
    Returns ``dict(accuracy, sha256, path, ...)`` with the accuracy measured on the test split.
    """
    for key, value, least in (("epochs", epochs, 1), ("batch_size", batch_size, 1), ("threads", threads, 1),
                              ("seed", seed, 0)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < least):
            raise ConfigError(f"extractor train: {key} must be an int >= {least}, got {value!r}")
    if not seed <= MAX_SEED:  # torch.manual_seed takes 64 bits; a run's seeds stop at MAX_SEED
        raise ConfigError(f"extractor train: seed must be at most {MAX_SEED}, got {seed!r}")
    out = Path(out_path)
    if out.suffix in (".sha256", ".json"):
        raise ConfigError(f"extractor train: --out {str(out)!r} would clash with its own .sha256/.json files; use a .pt name")
    ds = get_dataset(dataset_name, **data_params)
    if ds.kind != "images":
        raise ConfigError(f"extractor train: dataset {dataset_name!r} has {ds.kind}, not images")
    if "test" not in ds.splits:
        raise ConfigError(f"extractor train: dataset {dataset_name!r} has no 'test' split to measure accuracy on "
                          f"(for 'folder' set test_fraction, e.g. 0.2)")
    y_train, y_test = ds.labels("train"), ds.labels("test")
    if y_train is None or y_test is None or not ds.n_classes:
        raise ConfigError(f"extractor train: dataset {dataset_name!r} has no class labels "
                          f"(for 'folder', put each class in its own subfolder)")
    x_train, x_test = ds.data("train"), ds.data("test")
    epochs = default_epochs(len(x_train)) if epochs is None else epochs
    arch = classifier_arch(ds.shape, int(ds.n_classes))
    threads_before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        net, accuracy, seconds = _fit(arch, x_train, y_train, x_test, y_test, epochs, seed, batch_size, lr, progress)
    finally:
        torch.set_num_threads(threads_before)
    meta = {"dataset": dataset_name, "dataset_params": dict(ds.params), "shape": list(ds.shape),
            "n_classes": int(ds.n_classes), "accuracy": accuracy, "epochs": epochs, "seed": seed,
            "batch_size": batch_size, "lr": lr, "threads": threads, "train_size": len(x_train), "test_size": len(x_test),
            "features": f"fc pre-activation, {HIDDEN}-d"}
    buf = io.BytesIO()  # saving to a buffer keeps the bytes free of the file name (torch.save records it)
    torch.save({"format": CLASSIFIER_FORMAT, "arch": arch, "meta": meta,
                "state_dict": {k: v.detach().clone() for k, v in net.state_dict().items()}}, buf)
    data = buf.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    atomic_write_bytes(out, data)
    atomic_write_text(out.with_suffix(".sha256"), f"{sha}  {out.name}\n")
    atomic_write_json(out.with_suffix(".json"), {
        **meta, "sha256": sha, "file": out.name, "torch": torch.__version__, "train_seconds": round(seconds, 1),
        "command": f"ganbench extractor train {dataset_name} --out {out.name} --epochs {epochs} --seed {seed} --threads {threads}"})
    return {"accuracy": accuracy, "sha256": sha, "path": str(out), "epochs": epochs, "n_classes": int(ds.n_classes)}
