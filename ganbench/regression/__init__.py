"""Baselines and the regression gate: record a suite's metrics, then fail CI when new code does worse.

A *baseline* holds, per configuration, each metric's mean, std (over seeds, ddof=1), n and the
per-seed values, with the provenance that makes numbers comparable. A configuration is keyed
``dataset/model/label@hash``: label is the run's ``name`` or its loss, hash is
``RunConfig.config_hash()`` (everything but seed and suite name), so the key is stable for as
long as the configuration is.

Rules reuse pytest-benchmark's ``--benchmark-compare-fail`` grammar, one metric each:
``fid:10%`` (relative to the baseline mean), ``fid:+2.0`` (absolute; the ``+`` is optional and
means "worse by", the metric's direction says which way is worse) and ``fid:3sigma`` (multiples
of the baseline's seed std). Several rules on one metric combine into one tolerance, the
largest: ``fid:3sigma,fid:10%`` allows max(3σ, 10% of the mean). A sigma estimated from a few
seeds can be tiny by chance (or 0 for agreeing seeds), and a relative tolerance vanishes near 0;
each is only useful with the other as a floor. Every tolerance is at least float noise, so a
deterministic baseline (σ = 0) fails on any real worsening and passes identical numbers.
The mean over the baseline's seeds is compared with the baseline mean.

Modules:

- ``rules``: the rule grammar (``parse_rule``, ``parse_rules``), ``HIGHER_IS_BETTER``, the defaults (``resolve_rules``)
- ``measured``: reading a results directory (``collect`` -> ``Measured``), configuration keys, provenance
- ``baseline``: ``make_baseline`` (``ganbench baseline``), ``write_baseline``, ``load_baseline`` (validation)
- ``comparison``: ``compare`` -> ``Comparison`` of ``Row`` verdicts and exit code, ``ProvenanceMismatch``
- ``summary``: ``render_text``, ``render_markdown``, ``headline``, ``write_summary`` (``$GITHUB_STEP_SUMMARY``)
- ``workdir``: ``check_dir``, the results directory ``ganbench check SUITE`` runs into
"""
from __future__ import annotations

from .baseline import BASELINE_FORMAT, BASELINE_VERSION, load_baseline, make_baseline, write_baseline
from .comparison import NOISE_ABS, NOISE_REL, Comparison, ProvenanceMismatch, Row, compare, config_diff, match_configs
from .measured import COMPARABLE, ENVIRONMENT, Measured, collect, config_hash, config_key
from .rules import DEFAULT_RULES, FORMS, HIGHER_IS_BETTER, Rule, parse_rule, parse_rules, resolve_rules
from .summary import HEADER, headline, render_markdown, render_text, write_summary
from .workdir import CHECK_MARKER, check_dir

__all__ = ["HIGHER_IS_BETTER", "DEFAULT_RULES", "Rule", "parse_rule", "parse_rules", "config_key", "config_hash",
           "Measured", "collect", "make_baseline", "write_baseline", "load_baseline", "resolve_rules", "Row",
           "Comparison", "compare", "match_configs", "render_text", "render_markdown", "write_summary",
           "check_dir", "CHECK_MARKER", "ProvenanceMismatch", "headline"]
