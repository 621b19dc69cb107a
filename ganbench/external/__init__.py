"""Evaluating generators that ganbench did not train: files, classes and callables from elsewhere.

``evaluate_generator(G, data=..., features=..., n=..., out=...)`` (the API of ``ganbench eval-generator``,
docs/plugins.md) loads ``G`` and evaluates it as a trained run would be. Modules: ``generators`` (the formats,
``load_external`` -> ``ExternalGenerator``), ``evaluation`` (``evaluate_generator``, the external run's
``config.json`` and run id, writing its run directory). This module re-exports their public names.
"""
from __future__ import annotations

from .evaluation import DEFAULT_OUT, evaluate_generator, external_config, run_id_for
from .generators import ExternalGenerator, load_external

__all__ = ["ExternalGenerator", "load_external", "evaluate_generator", "external_config", "run_id_for",
           "DEFAULT_OUT"]
