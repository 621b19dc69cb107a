"""The self-contained HTML report (``report.html``): no scripts, a Content-Security-Policy, images inlined."""
from __future__ import annotations

import base64
import html
import re
from typing import Any, Iterable

import pandas as pd

from ..version import __version__
from .boards import (Board, excluded_runs, header_cells, label, published_cells, row_cells, sample_size_note,
                     sample_warnings, verdict_line)
from .columns import NOTES, definitions_for
from .figures import board_plots, board_samples


CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1320px;
color:#1d1d1f;padding:0 16px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:20px;border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:40px}
h3{font-size:15px;margin:22px 0 8px}.meta,.note{color:#555;font-size:13px}
.scroll{overflow-x:auto}table{border-collapse:collapse;margin:6px 0;font-size:13px}
th,td{border:1px solid #d0d0d0;padding:4px 7px;text-align:right}
th{background:#f3f3f5}
td.name,th.name{text-align:left;white-space:normal;min-width:6em;max-width:380px;overflow-wrap:break-word}
table.leaderboard td.name{white-space:nowrap}  /* a loss name reads on one line; wide boards scroll */
tbody tr:nth-child(even){background:#fafafa}
.verdict{padding:6px 10px;border-left:4px solid #999;background:#f6f6f6}
.verdict.significant{border-color:#2a9d3a}.verdict.too-few{border-color:#d98c00;background:#fff8e8}
td.win{background:#d8f3dc;color:#145a20}td.loss{background:#fde2e1;color:#8a1c13}td.tie{background:#eee}
td.na{color:#999}td.diag{background:#fff}td.win small,td.loss small,td.tie small{color:#555}
.badge{display:inline-block;font-size:11px;padding:0 5px;border-radius:3px;background:#e8eefc;color:#234}
figure{margin:8px 0}img{max-width:100%;height:auto}figcaption{font-size:12px;color:#555}
.samples{display:flex;flex-wrap:wrap;gap:10px}.samples figure{width:230px;margin:0}.samples img{width:230px}
.missing{width:230px;height:230px;display:flex;align-items:center;justify-content:center;background:#f3f3f3;
color:#888;font-size:12px}
"""
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _img(png: bytes, alt: str) -> str:
    return f'<img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" alt="{_e(alt)}">'


def _cell(text: Any) -> str:
    """Escaped cell text that wraps only between words: a value, its ± and its interval stay together."""
    text = re.sub(r" ([±↑↓]) ?", lambda m: "&nbsp;" + m.group(1) + ("&nbsp;" if m.group(0).endswith(" ") else ""),
                  _e(text))
    return re.sub(r"(\d|∞) (\(-?[\d.∞]+) to (-?[\d.∞]+\))", r"\1&nbsp;\2&nbsp;to&nbsp;\3", text)  # "0.8 (0.7 to 0.9)"


def _html_table(head: list[str], rows: list[list[str]], cls: str, left: Iterable[int] = (0, 1)) -> str:
    """A table of plain-text cells (all escaped); columns in ``left`` hold names and are left-aligned."""
    left = {i % len(head) for i in left}
    th = "".join(f'<th{" class=name" if i in left else ""}>{_cell(h)}</th>' for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f'<td{" class=name" if i in left else ""}>{_cell(c)}</td>'
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f'<div class="scroll"><table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>'


def _matrix_html(board: Board) -> str:
    c = board.comparison
    head = "".join(f'<th class="name">{_e(e)}</th>' for e in c.entries)
    rows = []
    for a in c.entries:
        cells = []
        for b in c.entries:
            o = c.outcome[(a, b)]
            if a == b:
                cells.append('<td class="diag">—</td>')
            elif o == "n/a":
                cells.append('<td class="na">n/a</td>')
            else:
                cells.append(f'<td class="{o}">{o} <small>p={c.p_adj[(a, b)]:.2g}</small></td>')
        rows.append(f'<tr><th class="name">{_e(a)}</th>{"".join(cells)}</tr>')
    return (f'<div class="scroll"><table class="matrix"><thead><tr><th class="name">row vs column</th>{head}</tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table></div>')


def _board_html(b: Board, with_plots: bool) -> str:
    c = b.comparison
    cls = {"significant": "significant", "too few seeds": "too-few"}.get(c.verdict, "")
    parts = [f'<section id="{_e(b.anchor)}"><h2>{_e(b.title)}</h2>',
             f'<p class="verdict {cls}">{_e(verdict_line(b))}</p>',
             _html_table(header_cells(b), [row_cells(b, r, i + 1) for i, r in enumerate(b.rows.to_dict("records"))],
                         "leaderboard")]
    note = sample_size_note(b)
    if note:
        parts.append(f'<p class="note">{_e(note)}</p>')
    if b.floor:
        parts.append('<p class="note">Real-data floor (two disjoint halves of the real samples): '
                     + _e(", ".join(f"{k} {v}" for k, v in b.floor.items())) + "</p>")
    parts.append('<p class="note">Provenance: ' + _e("; ".join(f"{k} {v}" for k, v in b.provenance.items())) + "</p>")
    parts += [f'<p class="note"><strong>Warning:</strong> {_e(w)}.</p>' for w in sample_warnings(b)]
    if b.provenance["comparable"] != "yes":
        parts.append('<p class="note"><strong>Not comparable with published numbers</strong> '
                     "(features or weights not the standard ones).</p>")
    ex = excluded_runs(b)
    if ex:
        parts.append('<p class="note">Not in the summaries: ' + _e("; ".join(ex)) + "</p>")
    parts += [f"<h3>Pairwise: win / tie / loss on {_e(label(b, b.metric))}</h3>",
              '<p class="note">Row vs column; win = the row is significantly better '
              "(Holm-adjusted p &lt; α); n/a = too few seeds to test.</p>", _matrix_html(b)]
    if b.published:
        head, rows = published_cells(b)
        protocols = {p.source.cite: p.source.protocol for p in b.published}
        parts += ['<h3>Published reference <span class="badge">published</span></h3>',
                  _html_table(head, rows, "published", left=(0, -1))]
        parts += [f'<p class="note">{_e(k)}: {_e(v)}</p>' for k, v in protocols.items()]
    parts += [f'<p class="note">{_e(note)}</p>' for note in b.notes]
    if with_plots:
        parts.append("<h3>Plots</h3>")
        parts += [f"<figure>{_img(png, cap)}<figcaption>{_e(cap)}</figcaption></figure>" for cap, png in board_plots(b)]
        parts.append('<h3>Samples</h3><div class="samples">')
        for cap, png in board_samples(b):
            inner = _img(png, cap) if png else f'<div class="missing">{_e(cap)}</div>'
            parts.append(f"<figure>{inner}<figcaption>{_e(cap)}</figcaption></figure>")
        parts.append("</div>")
    parts.append("</section>")
    return "\n".join(parts)


def html_report(boards: list[Board], df: pd.DataFrame, title: str = "ganbench report", with_plots: bool = True) -> str:
    """One self-contained HTML page: no scripts, no network, images inlined."""
    counts = df["status"].value_counts() if len(df) else pd.Series(dtype=int)
    status = ", ".join(f"{int(counts.get(s, 0))} {s}" for s in ("finished", "diverged", "failed", "incomplete",
                                                                  "corrupt") if counts.get(s, 0))
    toc = "".join(f'<li><a href="#{_e(b.anchor)}">{_e(b.title)}</a></li>' for b in boards)
    runs_cols = [c for c in ("run_id", "status", "dataset", "model", "loss", "seed", "steps", "fid", "reason")
                 if c in df]
    runs_rows = [["—" if pd.isna(v) else (f"{v:.4g}" if isinstance(v, float) else str(v)) for v in r]
                 for r in df[runs_cols].itertuples(index=False)]
    runs_table = _html_table([c.replace("_", " ") for c in runs_cols], runs_rows, "runs", (0, 1, 2, 3, 4, -1))
    body = "\n".join(_board_html(b, with_plots) for b in boards) or "<p>No finished runs.</p>"
    defined = definitions_for([header_cells(b) for b in boards])
    columns = ("<section id=\"columns\"><h2>Columns</h2><dl>"
               + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in defined) + "</dl>"
               + "".join(f'<p class="note">{_e(n)}</p>' for n in NOTES) + "</section>") if defined else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{CSS}</style></head>
<body><h1>{_e(title)}</h1>
<p class="meta">{len(df)} runs ({_e(status or "none")}); ganbench {_e(__version__)}.
Metrics of finished and diverged runs; what each column means is under Columns.</p>
<ul><li><a href="#columns">columns</a></li>{toc}<li><a href="#all-runs">all runs</a></li></ul>
{columns}
{body}
<section id="all-runs"><h2>All runs</h2>{runs_table}
</section></body></html>
"""
