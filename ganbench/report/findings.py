"""What each board found, in words, for the top of the page: the significant differences its tests report and
nothing else (every name and number comes from the tests' results; none is written by hand)."""
from __future__ import annotations

from dataclasses import dataclass

from .. import budget
from .boards import Board, label
from .searches import SearchBoard, fmt_value

LISTED = 3   # a loss that beats more than this many others is summarised by count ("beats 6 of 9: not a, b, c")


@dataclass
class Finding:
    anchor: str      # the section it summarises
    heading: str
    text: str


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _clause(subject: str, verb: str, others: list[str], pvalues: dict[str, float], order: list[str],
            detail: dict[str, str]) -> str:
    """'a beats b (…) and c (…)', 'a beats all 9 others (Holm p ≤ …)', 'a beats b, c, d and e (Holm p ≤ …)' or
    'a beats 6 of 9, all but x, y and z (Holm p ≤ …)': whichever names fewer losses."""
    names = sorted(pvalues, key=lambda b: (pvalues[b], order.index(b)))
    worst_p = max(pvalues.values())
    if len(names) <= LISTED:
        return f"{subject} {verb} " + _listing([f"{b} ({detail.get(b, '')}Holm p = {pvalues[b]:.2g})" for b in names])
    if len(names) == len(others):
        return f"{subject} {verb} all {len(others)} others (Holm p ≤ {worst_p:.2g})"
    rest = [b for b in others if b not in pvalues]
    if len(names) <= len(rest):
        return f"{subject} {verb} {_listing(names)} (Holm p ≤ {worst_p:.2g})"
    return f"{subject} {verb} {len(names)} of {len(others)}, all but {_listing(rest)} (Holm p ≤ {worst_p:.2g})"


def wins_in_words(order: list[str], beaten: dict[str, dict[str, float]], detail: dict[tuple[str, str], str]) -> str:
    """The significant differences, short enough to read at a glance when most pairs differ: from the side with
    fewer clauses, 'a beats all 3 others (Holm p ≤ 0.01); b beats c (…) and d (…); no significant win: c, d' or
    'd loses to a, b and c (…)'. ``beaten[a]``: the losses a beats -> Holm p; ``detail[(a, b)]``: what the test
    of a pair saw, shown when a winner's beaten losses are listed one by one."""
    winners = [a for a in order if beaten.get(a)]
    lost_to = {b: {a: beaten[a][b] for a in winners if b in beaten[a]} for b in order}
    losers = [b for b in order if lost_to[b]]
    if not winners:
        return ""
    if len(losers) < len(winners):
        return "; ".join(_clause(b, "loses to", [a for a in order if a != b], lost_to[b], order, {})
                         for b in losers)
    said = [_clause(a, "beats", [b for b in order if b != a], beaten[a], order,
                    {b: text for (w, b), text in detail.items() if w == a}) for a in winners]
    idle = [a for a in order if a not in winners]
    return "; ".join(said + ([f"no significant win: {', '.join(idle)}"] if idle else []))


def board_finding(board: Board) -> str:
    """A fixed-setting board's pairwise verdicts: who beats whom (Holm-adjusted p), or why no one does."""
    c = board.comparison
    name = label(board, board.metric)
    if c.verdict in ("no data", "too few seeds"):
        return f"{name}: {c.explanation}"
    order = list(board.rows["loss"])
    beaten = {a: {b: c.p_adj[(a, b)] for b in order if c.outcome.get((a, b)) == "win"} for a in order}
    said = wins_in_words(order, beaten, {})
    return f"{name}: {said or 'no pair of losses differs significantly'}. {c.explanation}"


def search_finding(sb: SearchBoard) -> str:
    """The equal-budget verdicts in words (who beats whom over the space, how often), and each loss's best trial."""
    if sb.problem:
        return f"no equal-budget analysis: {sb.problem}"
    if sb.comparison is None:
        return ""
    beaten: dict[str, dict[str, float]] = {}
    detail = {}
    for r in sb.pairs.itertuples(index=False):
        if r.better:
            other = r.b if r.better == r.a else r.a
            beaten.setdefault(r.better, {})[other] = float(r.p_holm)
            share = r.p_a_better if r.better == r.a else 1 - r.p_a_better
            detail[(r.better, other)] = (f"better on {share:.0%} of matched trials, " if r.test == budget.PAIRED
                                         else f"better in {share:.0%} of trial pairs, ")
    said = wins_in_words(sb.losses, beaten, detail)
    if said:
        text = said + f" ({sum(map(len, beaten.values()))} of {len(sb.pairs)} pairs differ, Holm-corrected)"
    elif sb.comparison.verdict == "too few seeds":
        text = sb.comparison.explanation.rstrip(".")
    else:
        text = f"no pair of losses differs over the space (all {len(sb.pairs)} pairs, Holm-corrected)"
    best = sb.best.set_index("loss") if len(sb.best) else None
    if best is not None:
        text += ". Best trial: " + ", ".join(f"{loss} {fmt_value(best.loc[loss, sb.metric])}"
                                              for loss in sb.losses if loss in best.index)
    return f"{sb.label}: {text}."


def findings(boards: list[Board], searches: list[SearchBoard]) -> list[Finding]:
    """One finding per equal-budget comparison, then per fixed-setting board (best-trial boards are untested)."""
    out = [Finding(sb.anchor, sb.heading, search_finding(sb)) for sb in searches]
    return out + [Finding(b.anchor, b.heading, board_finding(b)) for b in boards if b.tested]


__all__ = ["Finding", "findings", "board_finding", "search_finding", "wins_in_words"]
