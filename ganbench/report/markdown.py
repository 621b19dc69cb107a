"""The Markdown leaderboard (``leaderboard.md``, also printed by ``ganbench report``) and ``md_escape``: what the
tests found, the equal-budget comparisons of searches, the leaderboards, then what each column means."""
from __future__ import annotations

import html
import re
from typing import Any, Iterable

from .boards import (Board, excluded_runs, header_cells, published_cells, row_cells, sample_size_note, sample_warnings,
                     verdict_line)
from .columns import NOTES, definitions_for
from .findings import findings
from .searches import (SearchBoard, best_cells, budget_caption, budget_header_cells, budget_row_cells,
                       budget_verdict, pair_cells, space_note)

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|])")


def md_escape(text: Any) -> str:
    """Text for a Markdown table cell: one line, ``|`` and Markdown syntax escaped, HTML-special chars as entities."""
    s = re.sub(r"\r\n|\r|\n", " ", str(text))
    return html.escape(_MD_SPECIAL.sub(r"\\\1", s), quote=False)  # quotes are plain text in Markdown


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(md_escape(h) for h in head) + " |", "|" + "---|" * len(head)]
    return out + ["| " + " | ".join(md_escape(c) for c in r) + " |" for r in rows]


def _fenced(text: str, info: str = "") -> list[str]:
    """A code block that no run of backticks inside ``text`` can close early."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, text.rstrip("\n"), fence]


def _search_md(sb: SearchBoard) -> list[str]:
    lines = [f"## {md_escape(sb.heading)}", ""]
    if sb.problem:
        return lines + [md_escape(sb.problem), ""]
    lines += [md_escape(budget_verdict(sb)), ""]
    lines += _md_table(budget_header_cells(sb), [budget_row_cells(sb, loss, i + 1) for i, loss in enumerate(sb.losses)])
    lines += ["", md_escape(budget_caption(sb)), "", md_escape(space_note(sb)), ""]
    lines += [f"Which losses differ at equal budget ({md_escape(sb.label)}):", ""] + _md_table(*pair_cells(sb))
    lines += ["", "The best trial of each loss:", ""] + _md_table(*best_cells(sb))
    lines += ["", "As a suite fragment (paste it into a suite to train these trials again, with its seeds):", ""]
    return lines + _fenced(sb.fragment, "toml") + ["", "Plots (the metric over trials, best at budget k, "
                                                      "sensitivity to each searched key): report.html.", ""]


def _board_md(b: Board) -> list[str]:
    lines = [f"## {md_escape(b.heading)}", "", md_escape(verdict_line(b)), ""]
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
    return lines + [""]


def markdown(boards: list[Board], title: str = "ganbench leaderboard", searches: Iterable[SearchBoard] = ()) -> str:
    """The page as Markdown; ``searches``: the equal-budget comparisons, shown first."""
    searches = list(searches)
    lines = [f"# {md_escape(title)}", ""]
    found = findings(boards, searches)
    if found:
        lines += ["What the tests found:", ""] + [f"- **{md_escape(f.heading)}**: {md_escape(f.text)}" for f in found]
        lines.append("")
    for sb in searches:
        lines += _search_md(sb)
    for b in boards:
        lines += _board_md(b)
    if not boards and not searches:
        lines += ["No finished runs.", ""]
    defined = definitions_for([header_cells(b) for b in boards])
    if defined:  # once per page, not once per board
        lines += ["Columns:", ""] + [f"- **{md_escape(k)}**: {md_escape(v)}" for k, v in defined]
        lines += [""] + [md_escape(n) for n in NOTES] + [""]
    return "\n".join(lines)
