"""The metric catalogue: every metric ganbench ranks, described once.

Each entry says what a table of its own used to: the ``eval.metrics`` entry (evaluation) that computes
it, its direction, its label, its range (hence its worst outcome), the sample count its protocol uses,
whether it needs the extractor's class logits, whether the real-data floor computes it, whether
``ganbench metrics`` computes it on sample sets, and whether the leaderboard shows it. ``config.CHOICES``,
``metrics.METRICS`` and ``MIN_SAMPLES``, ``results.DIRECTIONS``, ``regression.rules.HIGHER_IS_BETTER``,
``aggregate.RANGES``, ``report.significance.LABELS``, ``report.boards.SHOWN``, the CLI's metric list and
the evaluation dispatch (``evaluations.EVALUATIONS``: one function per evaluation, called by
``evaluate.compute_metrics``, ``evaluate.real_floor`` and ``sample_sets``) all derive from it.
Adding a metric: one entry here plus its function in ``evaluations.EVALUATIONS``.

Pure data, importing nothing of ganbench: every module may use it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

INF = math.inf


@dataclass(frozen=True)
class Metric:
    name: str                 # its key in metrics.json and its column in the results table
    evaluation: str           # the eval.metrics entry that computes it (``pr`` gives precision and recall)
    higher_is_better: bool
    label: str                # as reports and verdicts print it
    range: tuple[Any, Any]    # (lowest, highest) value; "K" stands for the run's number of modes
    family: str               # "features": sample-quality metrics on features; "modes": ganbench.modes diagnostics
    min_samples: Optional[int] = None  # the count (each of real and generated) its protocol uses; reports warn below
    needs_logits: bool = False  # computed from the extractor's class logits: none without them
    floor: bool = False       # the real-data floor computes it too (between two halves of the real set)
    sample_sets: bool = True  # computed by ``ganbench metrics`` on sample sets (mode diagnostics need the dataset)
    shown: bool = True        # a column of the leaderboard


# In leaderboard order: the feature metrics, then the mode diagnostics.
CATALOGUE: tuple[Metric, ...] = (
    Metric("fid", "fid", False, "FID", (0.0, INF), "features", floor=True),
    Metric("kid", "kid", False, "KID", (-INF, INF), "features", floor=True),
    Metric("is", "is", True, "IS", (1.0, INF), "features", needs_logits=True, floor=True),
    Metric("precision", "pr", True, "precision", (0.0, 1.0), "features", floor=True),
    Metric("recall", "pr", True, "recall", (0.0, 1.0), "features", floor=True),
    Metric("fid_inf", "fid_inf", False, "FID∞", (-INF, INF), "features", shown=False),
    # Naeem et al. 2020 evaluate density and coverage with 10,000 real and 10,000 fake, k = 5
    Metric("density", "density_coverage", True, "density", (0.0, INF), "features", min_samples=10_000),
    Metric("coverage", "density_coverage", True, "coverage", (0.0, 1.0), "features", min_samples=10_000),
    # Jayasumana et al. 2024 report CMMD on COCO-30K (30,000 images per side)
    Metric("cmmd", "cmmd", False, "CMMD", (0.0, INF), "features", min_samples=30_000),
    # Vendi is at most N: below ~1,000 it cannot count more modes than samples
    Metric("vendi", "vendi", True, "Vendi", (1.0, INF), "features", min_samples=1_000),
    Metric("modes", "modes", True, "modes", (0.0, "K"), "modes", sample_sets=False),
    Metric("hq_fraction", "modes", True, "HQ", (0.0, 1.0), "modes", sample_sets=False),
    Metric("reverse_kl", "modes", False, "rev-KL", (0.0, INF), "modes", sample_sets=False),
    # KL of the predicted-class histogram (digits, stacked-digits); point mixtures give reverse_kl instead
    Metric("kl", "modes", False, "KL", (0.0, INF), "modes", needs_logits=True, sample_sets=False),
    Metric("ndb", "ndb", False, "NDB", (0.0, INF), "modes", sample_sets=False),
    Metric("ndb_over_k", "ndb", False, "ndb_over_k", (0.0, 1.0), "modes", sample_sets=False, shown=False),
)

BY_NAME: dict[str, Metric] = {m.name: m for m in CATALOGUE}


def _unique(values: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


EVALUATIONS: tuple[str, ...] = _unique(m.evaluation for m in CATALOGUE)                     # eval.metrics
SET_EVALUATIONS: tuple[str, ...] = _unique(m.evaluation for m in CATALOGUE if m.sample_sets)  # ganbench metrics
FLOOR_EVALUATIONS: tuple[str, ...] = _unique(m.evaluation for m in CATALOGUE if m.floor)      # real-data floor
# Evaluations with nothing to compute without logits (IS); "modes" still counts the modes of points without them
LOGITS_EVALUATIONS: tuple[str, ...] = tuple(e for e in EVALUATIONS
                                            if all(m.needs_logits for m in CATALOGUE if m.evaluation == e))
SHOWN: tuple[str, ...] = tuple(m.name for m in CATALOGUE if m.shown)
LABELS: dict[str, str] = {m.name: m.label for m in CATALOGUE}
RANGES: dict[str, tuple[Any, Any]] = {m.name: m.range for m in CATALOGUE}
MIN_SAMPLES: dict[str, int] = {m.name: m.min_samples for m in CATALOGUE if m.min_samples is not None}


def directions(family: Optional[str] = None) -> dict[str, bool]:
    """metric -> higher_is_better, of one family or (None) of all, in catalogue order."""
    return {m.name: m.higher_is_better for m in CATALOGUE if family in (None, m.family)}


__all__ = ["Metric", "CATALOGUE", "BY_NAME", "EVALUATIONS", "SET_EVALUATIONS", "FLOOR_EVALUATIONS",
           "LOGITS_EVALUATIONS", "SHOWN", "LABELS", "RANGES", "MIN_SAMPLES", "directions"]
