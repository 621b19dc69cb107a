"""Rendering a comparison: the console table, the Markdown summary, and writing it (file, ``$GITHUB_STEP_SUMMARY``)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from ..files import atomic_write_text
from .comparison import TEST_NAME, GateResult, Row

HEADER = ("configuration", "metric", "baseline", "now", "delta", "margin", "p", "verdict")


def _g(x: Optional[float]) -> str:
    return "-" if x is None else f"{x:.4g}"


def _spread(values: tuple[float, ...], median: Optional[float]) -> str:
    """``median [min, max] (n=N)``: the seeds' distribution as the test sees it (±inf: diverged or undefined)."""
    if not values:
        return "-"
    return f"{_g(median)} [{_g(min(values))}, {_g(max(values))}] (n={len(values)})"


def _cells(r: Row) -> tuple[str, ...]:
    delta = "-"
    if r.delta is not None and r.delta == r.delta:  # inf - inf is nan: nothing to show
        base = r.baseline_median
        delta = f"{r.delta:+.4g}" + (f" ({100 * r.delta / abs(base):+.3g}%)" if base else "")
    return (r.config, r.metric, _spread(r.baseline, r.baseline_median), _spread(r.now, r.now_median), delta,
            _g(r.margin), "-" if r.p is None else f"{r.p:.2g}", r.verdict)


def headline(c: GateResult) -> str:
    counts = ", ".join(f"{c.count(v)} {v}" for v in ("ok", "REGRESSION", "improved", "missing"))
    return f"{'FAILED' if c.exit_code else 'PASSED'}: {counts} ({TEST_NAME}, {c.n_tests} tests, α = {c.alpha:g})"


def render_text(c: GateResult) -> str:
    table = [HEADER] + [_cells(r) for r in c.rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    lines += [f"note: {n}" for n in c.notes] + [f"regression gate {headline(c)}"]
    if c.count("improved"):
        lines.append("some metrics improved significantly: refresh the baseline on purpose "
                     "(docs/regression-gate.md) to keep the gate tight")
    return "\n".join(lines)


def render_markdown(c: GateResult, baseline_path: str = "") -> str:
    esc = lambda s: s.replace("|", "\\|")  # noqa: E731 - a cell may hold 'max(a, b)' but never a pipe
    out = [f"### ganbench regression gate: {headline(c)}", ""]
    if baseline_path:
        out += [f"Baseline: `{baseline_path}`", ""]
    out += ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in c.rows:
        cells = list(_cells(r))
        if r.verdict in ("REGRESSION", "missing"):
            cells[-1] = f"**{r.verdict}**"
        out.append("| " + " | ".join(esc(x) for x in cells) + " |")
    if c.notes:
        out += [""] + [f"- {esc(n)}" for n in c.notes]
    return "\n".join(out) + "\n"


def write_summary(markdown: str, path: Optional[str | Path] = None) -> list[str]:
    """Write ``markdown`` to ``path`` (atomically) and append it to ``$GITHUB_STEP_SUMMARY`` when set."""
    written = []
    if path:
        atomic_write_text(path, markdown)
        written.append(str(path))
    step = os.environ.get("GITHUB_STEP_SUMMARY")
    if step:
        with open(step, "a", encoding="utf-8") as f:  # GitHub collects every step's appends: never overwrite
            f.write(markdown + "\n")
        written.append(step)
    return written
