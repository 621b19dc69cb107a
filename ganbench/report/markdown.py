"""The Markdown leaderboard (``leaderboard.md``, also printed by ``ganbench report``) and ``md_escape``."""
from __future__ import annotations

import html
import re
from typing import Any

from .boards import (Board, excluded_runs, header_cells, published_cells, row_cells, sample_size_note, sample_warnings,
                     verdict_line)
from .columns import NOTES, definitions_for

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|])")


def md_escape(text: Any) -> str:
    """Text for a Markdown table cell: one line, ``|`` and Markdown syntax escaped, HTML-special chars as entities."""
    s = re.sub(r"\r\n|\r|\n", " ", str(text))
    return html.escape(_MD_SPECIAL.sub(r"\\\1", s), quote=False)  # quotes are plain text in Markdown


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(md_escape(h) for h in head) + " |", "|" + "---|" * len(head)]
    return out + ["| " + " | ".join(md_escape(c) for c in r) + " |" for r in rows]


def markdown(boards: list[Board], title: str = "ganbench leaderboard") -> str:
    lines = [f"# {md_escape(title)}", ""]
    defined = definitions_for([header_cells(b) for b in boards])
    if defined:  # once per page, not once per board
        lines += ["Columns:", ""] + [f"- **{md_escape(k)}**: {md_escape(v)}" for k, v in defined]
        lines += [""] + [md_escape(n) for n in NOTES] + [""]
    for b in boards:
        lines += [f"## {md_escape(b.title)}", "", md_escape(verdict_line(b)), ""]
        lines += _md_table(header_cells(b), [row_cells(b, r, i + 1) for i, r in enumerate(b.rows.to_dict("records"))])
        note = sample_size_note(b)
        if note:
            lines += ["", md_escape(note)]
        if b.floor:
            lines += ["", "Real-data floor (two disjoint halves of the real samples): "
                      + md_escape(", ".join(f"{k} {v}" for k, v in b.floor.items()))]
        lines += ["", "Provenance: " + md_escape("; ".join(f"{k} {v}" for k, v in b.provenance.items()))]
        for w in sample_warnings(b):
            lines += ["", f"**Warning:** {md_escape(w)}."]
        if b.provenance["comparable"] != "yes":
            lines += ["", "**Not comparable with published numbers** (features or weights not the standard ones)."]
        if b.published:
            lines += ["", "Published reference rows (not ganbench runs):", ""] + _md_table(*published_cells(b))
        for note in b.notes:
            lines += ["", md_escape(note)]
        ex = excluded_runs(b)
        if ex:
            lines += ["", "Not in the summaries: " + md_escape("; ".join(ex))]
        lines.append("")
    if not boards:
        lines += ["No finished runs.", ""]
    return "\n".join(lines)
