"""Datasets by name: synthetic 2-D mixtures, scikit-learn digits, Stacked digits, torchvision sets, image folders.

``get_dataset(name, **params)`` returns a :class:`Dataset`. Conventions shared by all of them:

* Images are float32 ``[N, C, H, W]`` in [-1, 1]; points are float32 ``[N, 2]`` raw coordinates (not rescaled).
* ``sample(n, generator)`` gives training batches. Synthetic sets draw fresh points; finite sets draw ``n``
  indices of the train split *with* replacement (i.i.d. batches, no epochs).
* ``real(n, split, generator)`` / ``real_with_labels(...)`` give real samples for evaluation. Synthetic sets
  draw fresh points (``split`` only checked); finite sets draw ``n`` items of ``split`` *without* replacement,
  or return the whole split in stored order when ``n`` >= its size (so fewer than ``n`` may come back).
  Labels are class labels, or mode labels for mixtures (ring/grid mode index, Stacked digits 100·d0+10·d1+d2).
* ``n_classes`` is the number of values those labels take (None without labels); ``centers``/``std``/``n_modes``
  describe mixtures and are None elsewhere.
* Every draw uses the caller's ``torch.Generator`` on that generator's device (so CPU and CUDA streams differ).
  Stored sets return CPU tensors, synthetic sets return tensors on the generator's device; callers ``.to(device)``.
* Nothing is read at import time: files are read when the dataset is built, and never downloaded unless the
  dataset is built with ``download=true``. MNIST idx files and CIFAR-10 pickles are parsed by ``local_files``
  rather than by torchvision's classes, so that torchvision's md5 checks never reject a user's own copy.

Modules: ``base`` (``DATASETS``, ``get_dataset``, ``Dataset``), ``mixtures`` (``ring8``, ``ring8-wide``, ``grid25``), ``images``
(``ImageSet``, ``digits``, ``stacked-digits``) and ``local_files`` (``mnist``, ``fashion-mnist``, ``cifar10``,
``folder``). Importing this package registers every built-in dataset and re-exports the names, so
``from ganbench.data import X`` keeps working.
"""
from __future__ import annotations

# Each dataset module registers its datasets in DATASETS when it is imported.
from .base import DATASETS, SPLITS, Dataset, check_generator, check_n, get_dataset
from .images import DIGITS_SPLIT, DIGITS_TEST_SHARE, RESIZE, ImageSet, StackedDigits, digits, stacked_digits
from .local_files import (CIFAR_FILES, FOLDER_RESIZE, IMAGE_SUFFIXES, MNIST_FILES, cifar10, fashion_mnist, folder,
                          mnist)
from .mixtures import Mixture, grid25, ring8, ring8_wide

__all__ = ["DATASETS", "SPLITS", "Dataset", "get_dataset", "check_generator", "check_n", "Mixture", "ring8",
           "ring8_wide", "grid25", "RESIZE", "DIGITS_TEST_SHARE", "DIGITS_SPLIT", "ImageSet", "digits", "StackedDigits",
           "stacked_digits", "MNIST_FILES", "CIFAR_FILES", "mnist", "fashion_mnist", "cifar10", "IMAGE_SUFFIXES",
           "FOLDER_RESIZE", "folder"]
