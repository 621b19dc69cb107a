"""User-defined losses, models, datasets and extractors, by import path, entry point or decorator.

A suite may name ``"mypkg.losses:focal_ns"`` wherever a registered name is accepted: the object is imported
(never evaluated as text), checked and added to the registry under that exact string. Installed packages
register under the ``ganbench.losses|models|datasets|extractors`` entry-point groups; Python code uses
``register_loss`` and friends. Every way in ends in the same adapter (``adapt``), so a plugin behaves like a
built-in. The contract of each kind is in docs/plugins.md; in short, a loss factory returns an object with
``d_loss``/``g_loss`` (defaults filled in), a model factory ``(data_shape, **params)`` returns ``(G, D)``
(latents and ``DOut`` supplied when missing), a dataset factory returns a ``Dataset`` or samples, an
extractor factory an ``Extractor`` or a function of a batch. Cheap checks (importable, callable, parameters
bind) run when a suite loads; what a factory returns is checked when it is built. Errors are one-line
``ConfigError``s naming the plugin.
"""
from __future__ import annotations

from .adapters import KINDS, FunctionExtractor, TensorDataset, adapt
from .loading import (GROUPS, IMPORT_PATH, REGISTRIES, import_object, load_entry_points, register_dataset,
                      register_extractor, register_loss, register_model, registry_for, resolve, resolve_missing)

__all__ = ["IMPORT_PATH", "GROUPS", "registry_for", "import_object", "load_entry_points", "resolve",
           "register_loss", "register_model", "register_dataset", "register_extractor", "TensorDataset"]
