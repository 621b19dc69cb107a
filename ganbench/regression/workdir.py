"""Where ``ganbench check SUITE`` runs: a results directory cleared of old runs, so the gate measures new code."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Optional

from ..io import atomic_write_text
from ..registry import ConfigError
from ..results import find_run_dirs

CHECK_MARKER = ".ganbench-check"  # marks a directory `check` owns, so it may clear it on the next check


def check_dir(default: Path, out: Optional[str | Path]) -> Path:
    """A results directory without finished runs: a gate must measure the current code, not reuse old runs.

    A directory an earlier ``check`` wrote (it holds the marker file; the default ``results/<suite>-check``
    always qualifies) is cleared of run directories. Any other directory must hold no runs: clearing it
    could delete results nobody meant to lose.
    """
    d = Path(out) if out is not None else default
    owned = out is None or (d / CHECK_MARKER).is_file()
    if d.is_dir() and owned:
        for run_dir in find_run_dirs(d):
            shutil.rmtree(run_dir)
    elif d.is_dir() and find_run_dirs(d):
        raise ConfigError(f"--out {d}: holds runs that 'ganbench check' did not write; a gate must measure the "
                          f"current code, so give a new or empty directory (or compare those runs with --results {d})")
    atomic_write_text(d / CHECK_MARKER, "written by 'ganbench check': its runs are deleted by the next check\n")
    return d
