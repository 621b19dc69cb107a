"""Where ``ganbench check SUITE`` runs: a results directory cleared of the runs earlier checks wrote, so the gate
measures new code, and nothing else in it is ever deleted."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Iterable, Optional

from ..files import atomic_write_json
from ..registry import ConfigError
from ..results import find_run_dirs, run_dir_for

CHECK_MARKER = ".ganbench-check"  # lists the runs `check` wrote into a directory: the next check deletes those only


def check_dir(default: Path, out: Optional[str | Path], run_ids: Iterable[str]) -> Path:
    """A results directory holding none of the runs a gate would reuse; ``run_ids`` are the runs about to go there.

    The runs an earlier ``check`` recorded in the marker file are deleted; they are the only ones ever deleted.
    Any other run under the directory (another suite's, one an older ganbench wrote) stops the gate before
    anything is deleted: reusing it would measure old code, deleting it could lose results nobody meant to lose.
    """
    d = Path(out) if out is not None else default
    owned = _recorded_runs(d)
    foreign = [r for r in find_run_dirs(d) if r.resolve() not in owned] if d.is_dir() else []
    if foreign:
        where = f"--out {d}" if out is not None else str(d)
        raise ConfigError(f"{where}: holds runs that 'ganbench check' did not write (e.g. {foreign[0]}); a gate must "
                          f"measure the current code, so give a new or empty directory (or compare those runs with "
                          f"--results {d})")
    for run_dir in owned:
        if run_dir.is_dir():
            shutil.rmtree(run_dir)
    # Recorded before the runs start: a check killed halfway still owns the runs it began.
    atomic_write_json(d / CHECK_MARKER, {"written_by": "ganbench check", "runs": sorted(set(run_ids))})
    return d


def _recorded_runs(d: Path) -> set[Path]:
    """The run directories the marker of ``d`` lists; an unreadable marker or entry owns nothing."""
    try:
        runs = json.loads((d / CHECK_MARKER).read_text(encoding="utf-8")).get("runs", [])
    except (OSError, ValueError, AttributeError):  # missing, older plain-text marker, or damaged
        return set()
    owned = set()
    for run_id in runs if isinstance(runs, list) else []:
        try:
            owned.add(run_dir_for(d, str(run_id)))  # resolved, and never outside d
        except ValueError:
            continue
    return owned
