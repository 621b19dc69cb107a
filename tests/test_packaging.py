"""The wheel carries what a user needs without the source tree: the bundled suites and the shipped weights."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ganbench.suite_loader import SUITES_DIR, load_suite

ROOT = Path(__file__).resolve().parent.parent


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
