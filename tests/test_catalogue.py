"""The metric catalogue: every table that describes metrics derives from it and agrees with it."""
from __future__ import annotations

import math

import pytest

from ganbench import aggregate, config, metrics, results, suite_loader
from ganbench.catalogue import (BY_NAME, CATALOGUE, EVALUATIONS, FLOOR_EVALUATIONS, LABELS, LOGITS_EVALUATIONS,
                                MIN_SAMPLES, RANGES, SET_EVALUATIONS, SHOWN, directions)
from ganbench.commands.evaluate import SET_METRICS
from ganbench.regression.rules import HIGHER_IS_BETTER
from ganbench.report import boards, significance


def test_entries_pinned():
    assert [m.name for m in CATALOGUE] == ["fid", "kid", "is", "precision", "recall", "fid_inf", "density", "coverage",
                                           "cmmd", "vendi", "modes", "hq_fraction", "reverse_kl", "kl", "ndb",
                                           "ndb_over_k"]
    assert {n for n, up in directions().items() if up} == {"is", "precision", "recall", "density", "coverage", "vendi",
                                                          "modes", "hq_fraction"}
    assert BY_NAME["precision"].evaluation == BY_NAME["recall"].evaluation == "pr"
    assert RANGES["modes"] == (0.0, "K") and RANGES["is"] == (1.0, math.inf) and RANGES["kid"] == (-math.inf, math.inf)
    assert MIN_SAMPLES == {"density": 10_000, "coverage": 10_000, "cmmd": 30_000, "vendi": 1_000}
    assert LABELS["fid_inf"] == "FID∞" and LABELS["reverse_kl"] == "rev-KL"
    assert {m.name for m in CATALOGUE if m.needs_logits} == {"is", "kl"}
    # the floor of metrics.json since it has had one
    assert {m.name for m in CATALOGUE if m.floor} == {"fid", "kid", "is", "precision", "recall"}


def test_evaluation_lists_by_need():
    assert FLOOR_EVALUATIONS == ("fid", "kid", "is", "pr")
    assert LOGITS_EVALUATIONS == ("is",)  # "modes" also counts the modes of points, without logits
    for evaluation in EVALUATIONS:  # an evaluation is on the floor for all its metrics or for none
        assert len({m.floor for m in CATALOGUE if m.evaluation == evaluation}) == 1, evaluation


def test_every_table_derives_from_the_catalogue():
    assert config.CHOICES["eval.metrics"] == EVALUATIONS
    assert set(EVALUATIONS) == {"fid", "kid", "is", "pr", "modes", "ndb", "fid_inf", "density_coverage", "cmmd",
                                "vendi"}
    assert SET_METRICS == SET_EVALUATIONS and set(SET_EVALUATIONS) == set(EVALUATIONS) - {"modes", "ndb"}
    assert metrics.METRICS == directions("features") and metrics.MIN_SAMPLES == MIN_SAMPLES
    assert results.DIRECTIONS == HIGHER_IS_BETTER == directions()
    assert list(results.DIRECTIONS)[:6] == ["modes", "hq_fraction", "reverse_kl", "kl", "ndb", "ndb_over_k"]
    assert aggregate.RANGES == RANGES and significance.LABELS == LABELS and boards.SHOWN == SHOWN
    assert "fid_inf" not in SHOWN and "ndb_over_k" not in SHOWN


def test_an_unknown_evaluation_is_refused_with_the_catalogue_list():
    with pytest.raises(config.ConfigError, match=r"'fld' is not one of fid, kid, is, pr, .*vendi.*did you mean 'fid'"):
        suite_loader.load_suite("ci", overrides=["eval.metrics=['fld']"])
