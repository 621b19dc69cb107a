"""The self-contained HTML report (``report.html``): no scripts, a Content-Security-Policy, images inlined.

The page opens with what each board found (``findings``), then the equal-budget comparisons of searches, then
the leaderboards. A leaderboard fits a 1400-pixel window: a metric's interval and its undefined-run note sit
under the value, headers wrap, and each loss's sample grid is a thumbnail in its row (full size below)."""
from __future__ import annotations

import base64
import html
import re
from typing import Any, Iterable, Optional

import pandas as pd

from ..version import __version__
from .boards import (Board, excluded_runs, header_cells, label, of_images, published_cells, row_cells,
                     sample_size_note, sample_warnings, verdict_line)
from .columns import NOTES, definitions_for
from .figures import board_plots, board_samples, loss_samples
from .findings import findings
from .search_figures import search_plots, sensitivity_plots
from .searches import (SearchBoard, best_cells, budget_caption, budget_header_cells, budget_row_cells,
                       budget_verdict, pair_cells, space_note)


CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1360px;
color:#1d1d1f;padding:0 12px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:20px;border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:40px}
h3{font-size:15px;margin:22px 0 8px}.meta,.note{color:#555;font-size:13px}
.scroll{overflow-x:auto}table{border-collapse:collapse;margin:6px 0;font-size:13px}
th,td{border:1px solid #d0d0d0;padding:4px 7px;text-align:right}
th{background:#f3f3f5}
td.name,th.name{text-align:left;white-space:normal;min-width:6em;max-width:380px;overflow-wrap:break-word}
table.leaderboard{font-size:12.5px}table.leaderboard th,table.leaderboard td{padding:3px 5px}
table.leaderboard th{vertical-align:bottom;font-weight:600;max-width:7.5em}
table.leaderboard td{vertical-align:top;white-space:nowrap}
table.leaderboard td.name{white-space:nowrap}  /* a loss name reads on one line */
td small{display:block;color:#666;font-size:11px;line-height:1.25}
td small.undefined{color:#8a4b00;white-space:normal;min-width:7em;max-width:9em}
td.thumb{padding:2px;text-align:center;vertical-align:middle}td.thumb img{width:84px;height:84px;display:block}
table.images td.thumb img{width:128px;height:128px}  /* a grid of images needs more pixels than a scatter */
tbody tr:nth-child(even){background:#fafafa}
.verdict{padding:6px 10px;border-left:4px solid #999;background:#f6f6f6}
.verdict.significant{border-color:#2a9d3a}.verdict.too-few{border-color:#d98c00;background:#fff8e8}
td.win{background:#d8f3dc;color:#145a20}td.loss{background:#fde2e1;color:#8a1c13}td.tie{background:#eee}
td.na{color:#999}td.diag{background:#fff}td.win small,td.loss small,td.tie small{color:#555;display:inline}
.badge{display:inline-block;font-size:11px;padding:0 5px;border-radius:3px;background:#e8eefc;color:#234}
figure{margin:8px 0}img{max-width:100%;height:auto}figcaption{font-size:12px;color:#555}
.figrow{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}.figrow figure{flex:1 1 560px;max-width:660px}
.samples{display:flex;flex-wrap:wrap;gap:10px}.samples figure{width:230px;margin:0}.samples img{width:230px}
.missing{width:230px;height:230px;display:flex;align-items:center;justify-content:center;background:#f3f3f3;
color:#888;font-size:12px}td.thumb .missing{width:84px;height:84px;font-size:10px;white-space:normal}
#findings li{margin:4px 0}section.search{border-left:4px solid #3b6fd4;padding-left:14px}
pre{background:#f6f6f8;border:1px solid #ddd;padding:8px 10px;font-size:12px;overflow-x:auto;white-space:pre}
details{margin:8px 0}summary{cursor:pointer;color:#234;font-size:13px}
"""
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

# A metric cell of the boards: "mean (lo to hi) · 1 of 8 no HQ samples → ∞" (every part after the mean optional);
# a count with what it leaves out: "8 (+1 failed) ⚠ mixed configs", "8 (1 with an undefined seed)"
_METRIC_CELL = re.compile(r"(?P<v>\S+)(?: \((?P<lo>\S+) to (?P<hi>\S+)\))?(?: · (?P<note>.+))?")
_COUNT_CELL = re.compile(r"(?P<v>\S+)(?: \((?P<more>[^()]*)\))?(?P<note> ⚠ .+)?")


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _img(png: bytes, alt: str) -> str:
    return f'<img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" alt="{_e(alt)}">'


def _cell(text: Any) -> str:
    """Escaped cell text that wraps only between words: a value, its ± and its interval stay together."""
    text = re.sub(r" ([±↑↓]) ?", lambda m: "&nbsp;" + m.group(1) + ("&nbsp;" if m.group(0).endswith(" ") else ""),
                  _e(text))
    # "0.8 (0.7 to 0.9)" on one line
    return re.sub(r"(\d|∞) (\(-?[\d.∞]+) to (-?[\d.∞]+\))", r"\1&nbsp;\2&nbsp;to&nbsp;\3", text)


def _stacked(text: str) -> str:
    """A metric cell on up to three lines: the value, its interval, the note on undefined runs; a count: the
    number, then what it leaves out and the warning (all escaped)."""
    m = _METRIC_CELL.fullmatch(text)
    if m:
        out = _e(m["v"])
        if m["lo"] is not None:
            out += f"<small>{_e(m['lo'])} to {_e(m['hi'])}</small>"
        return out + (f'<small class="undefined">{_e(m["note"])}</small>' if m["note"] else "")
    m = _COUNT_CELL.fullmatch(text)
    if m:
        return (_e(m["v"]) + (f"<small>{_e(m['more'])}</small>" if m["more"] else "")
                + (f'<small class="undefined">{_e(m["note"].strip())}</small>' if m["note"] else ""))
    return _cell(text)


def _html_table(head: list[str], rows: list[list[str]], cls: str, left: Iterable[int] = (0, 1),
                stacked: Iterable[int] = (), extra: Optional[tuple[str, list[str]]] = None) -> str:
    """A table of plain-text cells (all escaped); columns in ``left`` hold names and are left-aligned, those in
    ``stacked`` are metric cells shown on several lines; ``extra`` = (header, HTML cell per row) appends a column
    of ready-made HTML (the sample thumbnails)."""
    left, stacked = {i % len(head) for i in left}, {i % len(head) for i in stacked}
    names = [f'<th{" class=name" if i in left else ""}>{_cell(h)}</th>' for i, h in enumerate(head)]
    th = "".join(names) + (f"<th>{_e(extra[0])}</th>" if extra else "")
    body = []
    for j, r in enumerate(rows):
        tds = "".join(f'<td{" class=name" if i in left else ""}>{_stacked(c) if i in stacked else _cell(c)}</td>'
                      for i, c in enumerate(r))
        body.append(f"<tr>{tds}{extra[1][j] if extra else ''}</tr>")
    return (f'<div class="scroll"><table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{"".join(body)}'
            f"</tbody></table></div>")


def _thumb(png: Optional[bytes], caption: str, target: Optional[str] = None) -> str:
    """A sample grid in its row, linked to the full-size figure below when there is one."""
    if not png:
        return f'<td class="thumb"><div class="missing">{_e(caption)}</div></td>'
    img = _img(png, caption)
    if target:
        img = f'<a href="#{_e(target)}">{img}</a>'
    return f'<td class="thumb">{img}</td>'


def _matrix_html(comparison) -> str:
    c = comparison
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


def _verdict_class(verdict: str) -> str:
    return {"significant": "significant", "too few seeds": "too-few"}.get(verdict, "")


def _figures(plots: list[tuple[str, bytes]]) -> str:
    return ('<div class="figrow">' + "".join(f"<figure>{_img(png, cap)}<figcaption>{_e(cap)}</figcaption></figure>"
                                             for cap, png in plots) + "</div>")


def _board_html(b: Board, with_plots: bool) -> str:
    c = b.comparison
    head = header_cells(b)
    stacked = [*range(2, 2 + len(b.shown)), head.index("seeds")]
    rows = [row_cells(b, r, i + 1) for i, r in enumerate(b.rows.to_dict("records"))]
    samples = board_samples(b) if with_plots else []
    thumbs = ("samples", [_thumb(png, cap, f"{b.anchor}-samples-{i}") for i, (cap, png) in enumerate(samples)]
              ) if samples else None
    parts = [f'<section id="{_e(b.anchor)}"><h2>{_e(b.heading)}</h2>',
             f'<p class="verdict {_verdict_class(c.verdict)}">{_e(verdict_line(b))}</p>',
             _html_table(head, rows, "leaderboard" + (" images" if of_images(b.runs) else ""), left=(1,),
                         stacked=stacked, extra=thumbs)]
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
    if b.tested:
        parts += [f"<h3>Pairwise: win / tie / loss on {_e(label(b, b.metric))}</h3>",
                  '<p class="note">Row vs column; win = the row is significantly better '
                  "(Holm-adjusted p &lt; α); n/a = too few seeds to test.</p>", _matrix_html(c)]
    if b.published:
        head, prows = published_cells(b)
        protocols = {p.source.cite: p.source.protocol for p in b.published}
        parts += ['<h3>Published reference <span class="badge">published</span></h3>',
                  _html_table(head, prows, "published", left=(0, -1))]
        parts += [f'<p class="note">{_e(k)}: {_e(v)}</p>' for k, v in protocols.items()]
    parts += [f'<p class="note">{_e(note)}</p>' for note in b.notes]
    if with_plots:
        parts += ["<h3>Plots</h3>", _figures(board_plots(b)), '<h3>Samples</h3><div class="samples">']
        for i, (cap, png) in enumerate(samples):
            inner = _img(png, cap) if png else f'<div class="missing">{_e(cap)}</div>'
            parts.append(f'<figure id="{_e(b.anchor)}-samples-{i}">{inner}<figcaption>{_e(cap)}</figcaption></figure>')
        parts.append("</div>")
    parts.append("</section>")
    return "\n".join(parts)


def _search_html(sb: SearchBoard, with_plots: bool) -> str:
    parts = [f'<section id="{_e(sb.anchor)}" class="search"><h2>{_e(sb.heading)}</h2>']
    if sb.problem:
        return "\n".join(parts + [f'<p class="verdict too-few">{_e(sb.problem)}</p></section>'])
    c = sb.comparison
    head = budget_header_cells(sb)
    rows = [budget_row_cells(sb, loss, i + 1) for i, loss in enumerate(sb.losses)]
    thumbs = None
    if with_plots:
        best = dict(zip(sb.best["loss"], sb.best["trial"]))
        cells = []
        for loss in sb.losses:
            cap, png = loss_samples(sb.runs[sb.runs["trial"] == best.get(loss, -1)], loss)
            cells.append(_thumb(png, f"{cap}, best trial"))
        thumbs = ("samples of the best trial", cells)
    parts += [f'<p class="verdict {_verdict_class(c.verdict)}">{_e(budget_verdict(sb))}</p>',
              _html_table(head, rows, "leaderboard search" + (" images" if of_images(sb.runs) else ""), left=(1,),
                          stacked=range(2, len(head) - 1), extra=thumbs),
              f'<p class="note">{_e(budget_caption(sb))}</p>', f'<p class="note">{_e(space_note(sb))}</p>']
    if with_plots:
        parts.append(_figures(search_plots(sb)))
    parts += [f"<h3>Which losses differ at equal budget ({_e(sb.label)})</h3>",
              '<p class="note">Row vs column; win = the row does better over the space (Holm-adjusted p &lt; α).</p>',
              _matrix_html(c)]
    phead, prows = pair_cells(sb)
    parts.append(f"<details><summary>Every pair: the test, the medians it compares, how often a does better, p and "
                 f"Holm p</summary>{_html_table(phead, prows, 'pairs')}</details>")
    if with_plots:
        sens = sensitivity_plots(sb)
        if sens:
            parts += ["<h3>Sensitivity: the metric against each searched key</h3>",
                      '<p class="note">One panel per loss; ★ its best trial, × a trial with an undefined seed. '
                      "A loss whose good trials sit in a narrow band of a key is fragile there, whatever its "
                      "best value.</p>"]
            parts += [f"<figure>{_img(png, cap)}<figcaption>{_e(cap)}</figcaption></figure>" for cap, png in sens]
    bhead, brows = best_cells(sb)
    parts += [f"<h3>The best trial of each loss</h3>", _html_table(bhead, brows, "best", left=(0,)),
              "<details open><summary>As a suite fragment: paste it into a suite to train these trials again "
              "(with the suite's seeds)</summary>", f"<pre><code>{_e(sb.fragment)}</code></pre></details>"]
    parts.append("</section>")
    return "\n".join(parts)


def _findings_html(boards: list[Board], searches: list[SearchBoard]) -> str:
    items = [f'<li><a href="#{_e(f.anchor)}">{_e(f.heading)}</a>: {_e(f.text)}</li>'
             for f in findings(boards, searches)]
    return f'<section id="findings"><h2>What the tests found</h2><ul>{"".join(items)}</ul></section>' if items else ""


def html_report(boards: list[Board], df: pd.DataFrame, title: str = "ganbench report", with_plots: bool = True,
                searches: Iterable[SearchBoard] = ()) -> str:
    """One self-contained HTML page: no scripts, no network, images inlined. ``searches``: the equal-budget
    comparisons, shown first."""
    searches = list(searches)
    counts = df["status"].value_counts() if len(df) else pd.Series(dtype=int)
    status = ", ".join(f"{int(counts.get(s, 0))} {s}" for s in ("finished", "diverged", "failed", "incomplete",
                                                                  "corrupt") if counts.get(s, 0))
    toc = "".join(f'<li><a href="#{_e(x.anchor)}">{_e(x.heading)}</a></li>' for x in [*searches, *boards])
    runs_cols = [c for c in ("run_id", "status", "dataset", "model", "loss", "trial", "seed", "steps", "fid",
                             "reason") if c in df]
    runs_rows = [["—" if pd.isna(v) else (f"{v:.4g}" if isinstance(v, float) else str(v)) for v in r]
                 for r in df[runs_cols].itertuples(index=False)]
    runs_table = _html_table([c.replace("_", " ") for c in runs_cols], runs_rows, "runs", (0, 1, 2, 3, 4, -1))
    body = "\n".join([_search_html(s, with_plots) for s in searches] + [_board_html(b, with_plots) for b in boards])
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
{_findings_html(boards, searches)}
<ul><li><a href="#findings">findings</a></li>{toc}<li><a href="#columns">columns</a></li>
<li><a href="#all-runs">all runs</a></li></ul>
{body or "<p>No finished runs.</p>"}
{columns}
<section id="all-runs"><h2>All runs</h2>{runs_table}
</section></body></html>
"""
