"""The wheel carries what a user needs without the source tree: the bundled suites and the shipped weights."""
from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ganbench.suite_loader import SUITES_DIR, load_suite

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("init", sorted((ROOT / "ganbench").glob("*/__init__.py")), ids=lambda p: p.parent.name)
def test_packages_re_export_no_private_names(init):
    # a private name is reached in the module that defines it (tests too), so a split leaves no shim behind
    private = [f"{node.module}.{alias.name}" for node in ast.walk(ast.parse(init.read_text()))
               if isinstance(node, ast.ImportFrom) for alias in node.names
               if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert private == [], f"{init.relative_to(ROOT)} re-exports {private}"


def test_no_two_modules_define_the_same_public_name():
    # one name, one thing (issue 18): evaluate_generator, Comparison, compare and the evaluation table's
    # fid/kid/... each meant two different functions. Allowed: each command module's register(subparsers)
    # protocol, and the main() of the two console entry points.
    allowed = {"register", "main"}
    where: dict[str, list[str]] = {}
    for path in sorted((ROOT / "ganbench").rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                where.setdefault(node.name, []).append(str(path.relative_to(ROOT)))
    twice = {name: paths for name, paths in where.items() if len(paths) > 1 and name not in allowed}
    assert twice == {}


def test_bundled_suites_live_in_the_package_and_load_by_name():
    assert SUITES_DIR.parent == Path(load_suite.__code__.co_filename).parent  # inside ganbench/, not beside it
    names = sorted(p.stem for p in SUITES_DIR.glob("*.toml"))
    assert {"quick", "ring8", "grid25", "ci"} <= set(names)
    assert load_suite("quick").name == "quick"


@pytest.mark.slow
def test_wheel_contains_the_suites_and_the_weights(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, cwd=tmp_path, timeout=300)
    (wheel,) = tmp_path.glob("ganbench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    suites = {f"ganbench/suites/{p.name}" for p in SUITES_DIR.glob("*.toml")}
    assert suites and suites <= names
    weights = {f"ganbench/weights/{p.name}" for p in (ROOT / "ganbench" / "weights").iterdir() if p.is_file()}
    assert weights and weights <= names
