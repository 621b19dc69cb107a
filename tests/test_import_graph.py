"""The import graph flows one way (issue 18): from the command line down to pure functions, with no cycle and
no import (at module level or inside a function) against the layers docs/architecture.md draws."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "ganbench"

# Highest first. A module may import modules of its own layer or below, never above. Prefixes name packages.
LAYERS: list[tuple[str, ...]] = [
    ("ganbench", "ganbench.cli", "ganbench.commands"),
    ("ganbench.runner", "ganbench.report", "ganbench.regression", "ganbench.bench"),
    ("ganbench.executors",),
    ("ganbench.attempt",),
    ("ganbench.train", "ganbench.batched", "ganbench.evaluate", "ganbench.external", "ganbench.sample_sets",
     "ganbench.suite_loader"),
    ("ganbench.plugins",),
    ("ganbench.models", "ganbench.losses", "ganbench.data", "ganbench.features", "ganbench.reference_stats",
     "ganbench.feature_cache", "ganbench.evaluations", "ganbench.plots", "ganbench.published", "ganbench.batch_norm"),
    ("ganbench.metrics", "ganbench.modes", "ganbench.density_coverage", "ganbench.cmmd", "ganbench.vendi",
     "ganbench.feature_spaces", "ganbench.aggregate", "ganbench.stats", "ganbench.stability", "ganbench.results",
     "ganbench.budget", "ganbench.search_space"),
    ("ganbench.config", "ganbench.files"),
    ("ganbench.registry", "ganbench.catalogue", "ganbench.version"),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def owner(name: str) -> str:
    """The module an imported name lives in (``ganbench.data.base.X`` -> ``ganbench.data.base``)."""
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def imports(module: str) -> set[str]:
    """Every ganbench module ``module`` imports, at module level or inside a function."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            if base == "ganbench" or base.startswith("ganbench."):
                found.update(owner(f"{base}.{a.name}") for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(owner(a.name) for a in node.names if a.name.startswith("ganbench"))
    found.discard(module)
    return found


GRAPH = {m: imports(m) for m in MODULES}


def layer(module: str) -> int:
    best = max(((len(p), i) for i, group in enumerate(LAYERS) for p in group  # the root names only itself
                if module == p or (p != "ganbench" and module.startswith(p + "."))), default=None)
    assert best is not None, f"{module} is in no layer of LAYERS: add it (and to docs/architecture.md)"
    return best[1]


def test_every_module_has_a_layer():
    for m in MODULES:
        layer(m)


def test_no_import_runs_against_the_layers():
    against = sorted(f"{m} (layer {layer(m)}) imports {d} (layer {layer(d)})"
                     for m, deps in GRAPH.items() for d in deps
                     if layer(d) < layer(m) and not d.startswith(m + "."))  # a package's __init__ imports its parts
    assert not against, "\n".join(against)


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str]:
        state[m] = 1
        path.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                return path[path.index(d):] + [d]
            if d not in state and (cycle := visit(d)):
                return cycle
        path.pop()
        state[m] = 2
        return []

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            return cycle
    return []


def test_the_import_graph_has_no_cycle():
    assert find_cycle(GRAPH) == [], " -> ".join(find_cycle(GRAPH))


def test_the_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_the_bottom_imports_nothing_of_ganbench():
    for m in ("ganbench.registry", "ganbench.catalogue", "ganbench.version"):
        assert GRAPH[m] == set(), f"{m} imports {GRAPH[m]}"
    assert GRAPH["ganbench.config"] <= {"ganbench.registry", "ganbench.catalogue"}


def test_no_module_imports_another_modules_private_name():
    # a helper two modules share is a public name of its owner (issue 18: external used config's _build_named)
    private = sorted(f"{module} imports {name}" for module, path in MODULES.items()
                     for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                     if isinstance(node, ast.ImportFrom) for name in (a.name for a in node.names)
                     if name.startswith("_") and not name.startswith("__")
                     and (node.level or (node.module or "").startswith("ganbench")))
    assert private == [], "\n".join(private)
