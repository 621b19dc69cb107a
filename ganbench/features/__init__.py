"""Feature extractors by name: what FID, KID, precision/recall and IS are computed on.

``get_extractor(name, **params)`` returns an :class:`Extractor`; ``extractor(x)`` maps a batch to
``{"features": Tensor[N, F], "logits": Tensor[N, C] | None}`` and ``extractor.extract(x)`` streams a
large tensor through it in batches and returns float64 numpy arrays. Registered extractors:

* ``identity`` — 2-D points (any ``[N, d]``): the points are their own features; no logits.
* ``digits-cnn`` — a small CNN trained by ganbench on the digits train split and shipped in
  ``ganbench/weights/digits-cnn.pt`` (sha256 checked on every load). Features: the 128-d penultimate
  layer *before* its ReLU (no unit is constantly zero, so feature covariances stay full rank), standardised
  per unit with the training split statistics (KID's cubic kernel needs features of order one); logits: 10.
  Reproduce the file byte for byte with ``ganbench extractor train digits --out digits-cnn.pt`` on CPU
  (defaults: seed 0, one thread, 38 epochs = enough to see 50,000 samples; same torch version and CPU kind).
* ``classifier`` — the same architecture trained by the user on any labelled dataset
  (``ganbench extractor train DATASET --out my.pt``), loaded with ``get_extractor("classifier", path=...)``:
  domain-specific FID without Inception weights.
* ``inception-v3-compat`` — torch-fidelity's TF-compatible InceptionV3 (pool3 2048-d features,
  ``logits_unbiased`` for IS) from a local weights file; nothing is ever downloaded.
* ``dinov2-vit-s14`` / ``-b14`` / ``-l14`` — DINOv2 CLS-token features (timm) as dgm-eval computes them, and
  ``clip-vit-b32`` / ``clip-vit-l14`` / ``clip-vit-l14-336`` — CLIP image embeddings (open_clip, OpenAI
  weights), from local weights (``weights=``, ``$GANBENCH_<NAME>_WEIGHTS`` or the libraries' caches; see
  ``pretrained``); FID on them is reported as ``FD_<space>`` (``ganbench.feature_spaces``).

Classifier extractors applied to C-channel images when they were trained on 1 channel (Stacked digits)
classify each channel separately: features are the per-channel features concatenated (C·128-d) and
logits are the joint log-probabilities of the K**C channel-label tuples, index ``Σ d_c·K**(C-1-c)``
(for Stacked digits ``100·d0 + 10·d1 + d2``, the dataset's mode label). Images of another spatial size
are resized to the trained size (bilinear, antialiased), which ``info()`` records.

``register_with_torch_fidelity()`` makes every built-in extractor usable inside
``torch_fidelity.calculate_metrics(feature_extractor="ganbench-<name>", ...)``.

Modules: ``base`` (the ``Extractor`` base class, the ``EXTRACTORS`` registry, ``get_extractor``,
``default_extractor_for``, weights hashing and the shipped-weights paths), ``identity_extractor``,
``classifier_extractor`` (the ganbench classifier network, its weights file, ``ClassifierExtractor`` and the
``classifier`` entry), ``digits_extractor`` (``digits-cnn``, ``classify_channels``), ``classifier_training``
(``train_extractor``), ``inception_extractor`` (``inception-v3-compat``), ``pretrained`` (weights lookup and
preprocessing shared by) ``dinov2_extractor`` and ``clip_extractor``, and ``fidelity_registration``.
Importing this package registers every built-in extractor and re-exports the public names, so
``from ganbench.features import X`` keeps working.
"""
from __future__ import annotations

# Each extractor module registers its extractor in EXTRACTORS when it is imported.
from ..files import sha256_file
from .base import (DIGITS_WEIGHTS, EXTRACTORS, WEIGHTS_DIR, Extractor, default_extractor_for, get_extractor,
                   recorded_sha256)
from .classifier_extractor import (CLASSIFIER_FORMAT, EVAL_CHUNK, HIDDEN, RESIZE, ClassifierExtractor, ClassifierNet,
                                   classifier, classifier_arch)
from .clip_extractor import CLIPExtractor
from .dinov2_extractor import DINOv2Extractor
from .classifier_training import SAMPLES_PER_TRAINING, default_epochs, train_extractor
from .digits_extractor import classify_channels, digits_cnn
from .fidelity_registration import FIDELITY_PREFIX, FIDELITY_WEIGHTS_PARAM, register_with_torch_fidelity
from .identity_extractor import IdentityExtractor, identity
from .inception_extractor import (INCEPTION_ENV, INCEPTION_FILE, INCEPTION_SHA256_PREFIX, InceptionExtractor,
                                  find_inception_weights, inception_search_paths, inception_v3_compat)

__all__ = ["EXTRACTORS", "Extractor", "get_extractor", "default_extractor_for", "sha256_file", "recorded_sha256",
           "WEIGHTS_DIR", "DIGITS_WEIGHTS", "IdentityExtractor", "identity", "CLASSIFIER_FORMAT", "HIDDEN", "RESIZE",
           "EVAL_CHUNK", "classifier_arch", "ClassifierNet", "ClassifierExtractor", "classifier", "digits_cnn",
           "classify_channels", "SAMPLES_PER_TRAINING", "default_epochs", "train_extractor", "INCEPTION_FILE",
           "INCEPTION_SHA256_PREFIX", "INCEPTION_ENV", "inception_search_paths", "find_inception_weights",
           "InceptionExtractor", "inception_v3_compat", "FIDELITY_PREFIX", "FIDELITY_WEIGHTS_PARAM",
           "register_with_torch_fidelity", "DINOv2Extractor", "CLIPExtractor"]
