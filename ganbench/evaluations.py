"""The evaluation table: one function per ``eval.metrics`` entry of the metric catalogue.

``EVALUATIONS[name](real, fake, protocol)`` takes the real and generated feature records (``features``,
and ``logits`` / ``labels`` where the extractor gives them) and a ``Protocol`` (the parameters that differ
between a run, the real-data floor and ``ganbench metrics``), and returns the flat keys it computes: its
catalogue metrics and their companions (``kid_std``, ``fid_inf_ns``, ``n_modes``, ...), or nothing where
the evaluation does not apply to this data. ``run_evaluations`` is the one dispatch: ``evaluate.
compute_metrics``, ``evaluate.real_floor`` and ``sample_sets`` all call it with the catalogue's evaluations.

Adding a metric: its ``catalogue.CATALOGUE`` entry plus its function here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

import numpy as np

from . import metrics as M
from . import modes as modes_mod
from .catalogue import LOGITS_EVALUATIONS
from .cmmd import cmmd
from .density_coverage import DEFAULT_K, density_coverage
from .reference_stats import fid_against
from .vendi import vendi_score

PR_K = 3  # neighbours of improved precision/recall (Kynkäänniemi et al. 2019)

Record = dict[str, Any]  # a feature record: "features" [N, D], optional "logits" [N, C] and "labels" [N]


def is_splits(n: int) -> int:
    """Inception Score splits of ``n`` samples: 10 (the protocol's) while each split keeps 100 samples."""
    return min(10, max(1, n // 100))


@dataclass(frozen=True)
class Protocol:
    """What an evaluation needs besides the two feature records. The defaults are ``ganbench metrics``'s
    KID (``metrics.kid``'s 100 subsets of at most 1,000); a run takes its ``eval`` section's."""
    kid_subsets: int = 100
    kid_subset_size: int = 1000      # at most: the smaller set's size caps it
    real_stats: Any = None           # a ReferenceStats: FID against them instead of the real features
    fake_sobol: Optional[Record] = None  # fakes of quasi-random latents: FID∞'s protocol (else the fakes)
    dataset: Any = None              # the run's Dataset: the mode diagnostics need its modes or classes
    fake_samples: Optional[np.ndarray] = None  # the generated points themselves (mixture modes)
    # ganbench metrics: too few samples for a k-NN metric (precision/recall, density/coverage) is the user's
    # error (the metric's own ValueError, naming what it needs); a run leaves the metric out instead, as it
    # leaves out what does not apply to its data
    strict: bool = False


def _fid(real: Optional[Record], fake: Record, p: Protocol) -> dict[str, Any]:
    if p.real_stats is not None:
        return {"fid": fid_against(p.real_stats, fake["features"])}
    return {"fid": M.fid(real["features"], fake["features"])}


def _kid(real: Record, fake: Record, p: Protocol) -> dict[str, Any]:
    rf, ff = real["features"], fake["features"]
    size = min(p.kid_subset_size, len(rf), len(ff))
    value, std = M.kid(rf, ff, subsets=p.kid_subsets, subset_size=size, seed=0)
    return {"kid": value, "kid_std": std, "kid_subset_size": size}


def _inception_score(real: Record, fake: Record, p: Protocol) -> dict[str, Any]:
    value, std = M.inception_score(fake["logits"], splits=is_splits(len(fake["logits"])))
    return {"is": value, "is_std": std}


def _precision_recall(real: Record, fake: Record, p: Protocol) -> dict[str, Any]:
    rf, ff = real["features"], fake["features"]
    if min(len(rf), len(ff)) <= PR_K and not p.strict:
        return {}
    precision, recall = M.precision_recall(rf, ff, k=PR_K)
    return {"precision": precision, "recall": recall}


def _fid_infinity(real: Record, fake: Record, p: Protocol) -> dict[str, Any]:
    r = M.fid_infinity(real["features"], (p.fake_sobol or fake)["features"])
    return {"fid_inf": r["fid_inf"], "fid_inf_ns": r["ns"]}  # the N fitted (a list: not a table column)


def _density_coverage(real: Record, fake: Record, p: Protocol) -> dict[str, Any]:
    if len(real["features"]) <= DEFAULT_K and not p.strict:  # k-NN radii need more than k reals
        return {}
    density, coverage = density_coverage(real["features"], fake["features"], k=DEFAULT_K)
    return {"density": density, "coverage": coverage}


def _cmmd(real: Record, fake: Record, p: Protocol) -> dict[str, Any]:
    """CMMD is meant for CLIP features (Jayasumana et al. 2024); on any other space it is an RBF-kernel MMD of
    that space, and the provenance's extractor says which."""
    return {"cmmd": cmmd(real["features"], fake["features"])}


def _vendi(real: Record, fake: Record, p: Protocol) -> dict[str, Any]:
    return {"vendi": vendi_score(fake["features"])}


def _ndb(real: Record, fake: Record, p: Protocol) -> dict[str, Any]:
    r = modes_mod.ndb(real["features"], fake["features"], seed=0)
    return {"ndb": r["ndb"], "ndb_over_k": r["ndb_over_k"]}


def _modes(real: Record, fake: Record, p: Protocol) -> dict[str, Any]:
    return mode_metrics(p.dataset, fake, p.fake_samples, real)


def mode_metrics(ds: Any, fake: Record, fake_samples: Optional[np.ndarray], real: Record) -> dict[str, Any]:
    """Modes of a point mixture (from the samples) or of a labelled set (from the extractor's class logits);
    nothing for data without either."""
    if ds.kind == "points" and ds.centers is not None:
        pts = fake_samples if fake_samples is not None else fake["features"]
        r = modes_mod.mixture_modes(pts, ds.centers.numpy(), ds.std)
        return {"modes": r["modes"], "n_modes": ds.n_modes, "hq_fraction": r["hq_fraction"],
                "reverse_kl": r["reverse_kl"]}
    # Classifier modes: digits (10 classes) and stacked-digits (the extractor's joint logits over the
    # 1000 channel-digit tuples), against the dataset's reference: uniform (stacked-digits, as the published
    # Stacked MNIST code, with a perfect generator's floor at this sample count) or the real labels' histogram.
    if ds.n_classes and fake.get("logits") is not None and fake["logits"].shape[1] == ds.n_classes \
            and real.get("labels") is not None:
        labels = fake["logits"].argmax(axis=1)
        if ds.mode_kl_reference == "uniform":
            r = modes_mod.classifier_modes(labels, ds.n_classes)
            return {"modes": r["modes"], "n_modes": ds.n_classes, "kl": r["kl"],
                    "kl_floor": modes_mod.uniform_kl_floor(len(labels), ds.n_classes)}
        r = modes_mod.classifier_modes(labels, ds.n_classes, real_labels=real["labels"])
        return {"modes": r["modes"], "n_modes": ds.n_classes, "kl": r["kl"]}
    return {}


# The table is the API: each function is reached through its catalogue evaluation name (they are private so that
# none shadows the metric function of the same name in metrics, cmmd, density_coverage or modes).
EVALUATIONS: dict[str, Callable[[Optional[Record], Record, Protocol], dict[str, Any]]] = {
    "fid": _fid, "kid": _kid, "is": _inception_score, "pr": _precision_recall, "fid_inf": _fid_infinity,
    "density_coverage": _density_coverage, "cmmd": _cmmd, "vendi": _vendi, "modes": _modes, "ndb": _ndb,
}


def run_evaluations(names: Iterable[str], real: Optional[Record], fake: Record, protocol: Protocol) -> dict[str, Any]:
    """The flat keys of every evaluation in ``names``, in that order; one that needs logits is skipped when
    the generated record has none (the extractor gives features only)."""
    out: dict[str, Any] = {}
    for name in names:
        if name in LOGITS_EVALUATIONS and fake.get("logits") is None:
            continue
        out.update(EVALUATIONS[name](real, fake, protocol))
    return out


__all__ = ["PR_K", "is_splits", "Protocol", "EVALUATIONS", "run_evaluations", "mode_metrics"]
