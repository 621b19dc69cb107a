"""Baselines and the regression gate: record a suite's metrics, then fail CI when new code does worse.

A *baseline* holds, per configuration, each metric's per-seed outcomes (≥ 8 seeds recommended)
with the provenance that makes numbers comparable. A configuration is keyed
``dataset/model/label@hash``: label is the run's ``name`` or its loss, hash is
``RunConfig.config_hash()`` (everything but seed and suite name), so the key is stable for as
long as the configuration is.

Trained numbers are not expected to repeat: on another CPU, BLAS or thread count a GAN run is
another draw from the same distribution of outcomes. So ``check`` tests, for each configuration
and gated metric, whether the new seeds are worse than the baseline's: a one-sided exact
Mann–Whitney U test, Holm-corrected over every test of the check, at a family-wise false-alarm
rate ``alpha`` (default 0.01). A rule (``--fail``) names a metric and optionally a margin the new
code may lose before the test looks for evidence: ``fid``, ``fid:10%``, ``fid:+0.5``, ``fid:1sigma``.

Modules:

- ``rules``: the rule grammar (``parse_rule``, ``parse_rules``), ``HIGHER_IS_BETTER``, the defaults (``resolve_rules``)
- ``measured``: reading a results directory (``collect`` -> ``Measured``), configuration keys, provenance
- ``baseline``: ``make_baseline`` (``ganbench baseline``), ``write_baseline``, ``load_baseline`` (validation)
- ``comparison``: ``compare_to_baseline`` -> ``GateResult`` (``Row`` verdicts from the test and Holm, the exit
  code), ``ProvenanceMismatch``
- ``summary``: ``render_text``, ``render_markdown``, ``headline``, ``write_summary`` (``$GITHUB_STEP_SUMMARY``)
- ``workdir``: ``check_dir``, the results directory ``ganbench check SUITE`` runs into
"""
from __future__ import annotations

from .baseline import BASELINE_FORMAT, BASELINE_VERSION, baseline_of, load_baseline, make_baseline, write_baseline
from .comparison import (DEFAULT_ALPHA, RECOMMENDED_SEEDS, TEST_NAME, GateResult, ProvenanceMismatch, Row,
                         check_alpha, check_reachable, check_seed_counts, compare_to_baseline, config_diff,
                         match_configs)
from .measured import COMPARABLE, ENVIRONMENT, Measured, collect, config_hash, config_key
from .rules import DEFAULT_RULES, FORMS, HIGHER_IS_BETTER, Rule, parse_rule, parse_rules, resolve_rules
from .summary import HEADER, headline, render_markdown, render_text, write_summary
from .workdir import CHECK_MARKER, check_dir

__all__ = ["HIGHER_IS_BETTER", "DEFAULT_RULES", "Rule", "parse_rule", "parse_rules", "config_key", "config_hash",
           "Measured", "collect", "make_baseline", "baseline_of", "write_baseline", "load_baseline", "resolve_rules", "Row",
           "GateResult", "compare_to_baseline", "match_configs", "render_text", "render_markdown", "write_summary",
           "check_dir", "CHECK_MARKER", "ProvenanceMismatch", "headline", "DEFAULT_ALPHA", "RECOMMENDED_SEEDS",
           "TEST_NAME", "check_alpha", "check_reachable", "check_seed_counts"]
