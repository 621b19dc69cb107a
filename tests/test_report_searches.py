"""The report of a search: the equal-budget comparison first (every number from ``budget``), each loss's best trial
on a board of its own seeds, fixed-setting runs on their own board, budget.csv, findings in words, escaping."""
from __future__ import annotations

import base64
import json
import math
import re
import textwrap
import tomllib

import numpy as np
import pandas as pd
import pytest

from ganbench import budget as B
from ganbench.cli import main
from ganbench.report import build_boards, build_searches, html_report, markdown, write_report
from ganbench.report.findings import board_finding, wins_in_words
from ganbench.report.searches import fmt_band, fmt_value
from ganbench.results import load_results
from ganbench.suite_loader import parse_suite
from test_results import tiny_png, write_run

XSS = "<script>alert(1)</script>"
SUITE = """
[suite]
name = "s"
seeds = [0, 1]

[search]
trials = 8
seed = 1
"optim.lr_d" = { log_uniform = [1e-4, 1e-2] }
"optim.lr_g" = { same_as = "optim.lr_d" }
"train.n_critic" = { choice = [1, 5] }

[defaults]
data  = { name = "ring8" }
model = { name = "mlp", hidden = 16, depth = 2, z_dim = 2 }
train = { steps = 20, batch_size = 16 }
eval  = { n_samples = 100 }

[[runs]]
loss = { name = "ns" }
NAME

[[runs]]
loss = { name = "hinge" }

[[runs]]
loss = { name = "wgan-gp" }
search = { "loss.gp_weight" = { log_uniform = [0.1, 100.0] } }
"""


def fids(loss: str, trial: int, seed: int) -> float | None | str:
    """ns better than wgan-gp on every trial; hinge between them, crossing both; one undefined wgan-gp seed."""
    if loss == "wgan-gp" and (trial, seed) == (3, 1):
        return None
    base = {"ns": 1.0, "hinge": 1.5, "wgan-gp": 2.0}.get(loss, 1.0)
    return base + 0.1 * ((trial * 5) % 8) + 0.01 * seed + (0.9 if loss == "hinge" and trial % 2 else 0.0)


def write_search(root, value=fids, name: str | None = None):
    """Run directories of SUITE's runs as the trainer writes them (config.json from the run itself), with the
    metrics and files a board shows; ``value(loss, trial, seed)``: a FID, None (diverged) or "failed"."""
    text = textwrap.dedent(SUITE).replace("NAME", f"name = {json.dumps(name)}" if name else "")
    suite = parse_suite(tomllib.loads(text), "s.toml")
    for run in suite.runs:
        d = root / "s" / run.run_id
        d.mkdir(parents=True)
        config = run.to_dict()
        (d / "config.json").write_text(json.dumps(config))
        (d / "samples.png").write_bytes(tiny_png(rgb=(30 * run.search.trial % 255, 90, 160)))
        fid = value(run.loss.name, run.search.trial, run.seed)
        if fid == "failed":
            (d / "status.json").write_text(json.dumps({"status": "failed", "reason": "RuntimeError: boom"}))
            continue
        status = "diverged" if fid is None else "finished"
        metrics = {} if fid is None else {"fid": fid, "precision": 0.9, "recall": 0.8, "modes": 8, "n_modes": 8,
                                          "hq_fraction": 1 / (1 + fid), "reverse_kl": 0.02}
        (d / "status.json").write_text(json.dumps({"status": status, "steps": 20}))
        (d / "metrics.json").write_text(json.dumps({
            "run_id": run.run_id, "status": status, "steps": 20, "wall_time": 1.0, "metrics": metrics,
            "reason": "non-finite loss" if fid is None else "",
            "diagnostics": {"diverged": fid is None, "collapsed": False, "collapse_events": []},
            "provenance": {"features": "identity", "comparable": True, "n_real": 100, "n_fake": 100},
            "config": config}))
    return root / "s"


# ---------------------------------------------------------------- what the page shows

def test_the_equal_budget_comparison_comes_first_with_budget_numbers(tmp_path):
    df = load_results(write_search(tmp_path))
    (sb,) = build_searches(df)
    trials = B.trial_table(df)
    pd.testing.assert_frame_equal(sb.trials, trials)
    pd.testing.assert_frame_equal(sb.pairs, B.compare_losses(trials))
    assert sb.losses == ["ns", "hinge", "wgan-gp"]  # by the best trial
    md = markdown(build_boards(df), "t", [sb])
    assert md.index("## ring8 · mlp — equal budget: 8 trials × 2 seeds per loss") < len(md)
    assert "one setting per loss" not in md  # every run is a trial: no fixed-setting board pools them
    table = B.budget_table(B.budget_curve(trials)).set_index(["loss", "budget"])
    row = next(ln for ln in md.splitlines() if ln.startswith("| 1 | ns |"))
    ns1, ns5 = table.loc[("ns", 1)], table.loc[("ns", 5)]
    assert f"| {fmt_band(ns1['fid_median'], ns1['fid_lo'], ns1['fid_hi'])} |" in row
    assert f"| {fmt_band(ns5['fid_median'], ns5['fid_lo'], ns5['fid_hi'])} |" in row
    best = B.best_trials(trials).set_index("loss")
    assert f"| {fmt_value(best.loc['ns', 'fid'])} (trial {best.loc['ns', 'trial']} of 8) |" in row
    # wgan-gp's trial 3 holds a diverged seed: its value is the worst, and the row says so
    assert "| 3 | wgan-gp | 8 (1 with an undefined seed) |" in md
    assert "A trial's value is the mean of FID over its seeds" in md and "not a confidence interval" in md
    assert "exact two-sided Wilcoxon signed-rank test of the matched trials" in md and "Holm" in md
    assert "The space is an assumption: a loss can win on a space designed for it" in md
    assert "optim.lr\\_d = optim.lr\\_g 0.000" in md and "train.n\\_critic ∈ {1, 5}" in md
    assert "Searched by some losses only: wgan-gp (loss.gp\\_weight)" in md


def test_each_loss_s_best_trial_gets_a_board_of_its_own_seeds_not_its_pooled_trials(tmp_path):
    results = write_search(tmp_path)
    report = write_report(results, out=tmp_path / "out", formats=["md", "html", "csv"])
    md = report.markdown
    assert "## ring8 · mlp — best trial of each loss (chosen after the search)" in md
    rows = [ln for ln in md.split("best trial of each loss (chosen after the search)")[1].splitlines()
            if re.match(r"\| \d+ \| ", ln)]
    assert [r.split(" | ")[1] for r in rows] == ["ns", "hinge", "wgan-gp"]
    assert all(r.endswith("| 2 |") for r in rows)  # the two seeds of one trial, not 16 pooled; no W/T/L
    assert "Not tested against each other" in md
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.index('id="search-ring8-mlp"') < page.index('id="best-trials-ring8-mlp"')
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert len(summary) == 3 * 8 and set(summary["n"]) == {2}  # one row per trial: seeds never pooled
    curve = B.budget_curve(B.trial_table(load_results(results)))
    expected = curve[["loss", "budget", "fid_median", "fid_lo", "fid_hi"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "out" / "budget.csv"), expected)
    assert main(["report", str(results), "--format", "parquet", "--out", str(tmp_path / "pq")]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "pq" / "budget.parquet"), expected)
    assert not (tmp_path / "pq" / "budget.csv").exists()


def test_fixed_setting_runs_keep_their_board_beside_a_search(tmp_path):
    write_search(tmp_path)
    for s in range(5):
        write_run(tmp_path, "ns", s, suite="s", fid=1.0 + s / 10)
        write_run(tmp_path, "hinge", s, suite="s", fid=5.0 + s / 10)
    df = load_results(tmp_path / "s")
    (fixed,) = build_boards(df)
    assert fixed.heading == "ring8 · mlp — one setting per loss" and list(fixed.rows["n"]) == [5, 5]
    md = write_report(tmp_path / "s", out=tmp_path / "out", formats=["md"]).markdown
    order = [md.index(h) for h in ("— equal budget", "— one setting per loss", "— best trial of each loss")]
    assert order == sorted(order)
    assert md.index("What the tests found") < order[0]


def test_plots_inline_with_captions_that_say_what_the_band_and_test_are(tmp_path):
    df = load_results(write_search(tmp_path))
    searches = build_searches(df)
    page = html_report(build_boards(df), df, searches=searches)
    start = page.index('id="search-ring8-mlp"')
    section = page[start:page.index("</section>", start)]
    srcs = re.findall(r'<img src="data:image/png;base64,([^"]*)"', section)
    # 3 sample thumbnails, the trials' distribution, best at budget k, one sensitivity figure per key
    # (lr_d = lr_g once, n_critic, gp_weight)
    assert len(srcs) == 3 + 2 + 3
    assert all(base64.b64decode(s).startswith(b"\x89PNG\r\n\x1a\n") for s in srcs)
    assert "whiskers = best and worst trial" in section and "central 95% band of that draw" in section
    assert "FID of each trial against optim.lr_d = optim.lr_g (log axis)" in section
    assert "FID of each trial against train.n_critic<" in section  # a choice: linear
    assert "<details open><summary>As a suite fragment" in section and "search = false" in section
    assert "<script" not in page and "Content-Security-Policy" in page


def test_a_metric_where_higher_is_better_ranks_and_bands_the_other_way(tmp_path):
    df = load_results(write_search(tmp_path))
    (sb,) = build_searches(df, metric="hq_fraction")
    assert sb.losses == ["ns", "hinge", "wgan-gp"]  # highest HQ first: the lowest FID above
    md = markdown([], "t", [sb])
    assert "Equal budget on HQ (higher is better)" in md
    for row in (ln for ln in md.splitlines() if re.match(r"\| \d \| ", ln)):
        for lo, hi in re.findall(r"\(([\d.]+) to ([\d.]+)\)", row):  # quartiles and bands read low to high
            assert float(lo) <= float(hi), row


def test_the_fragment_on_the_page_trains_the_best_trials_again(tmp_path):
    results = write_search(tmp_path)
    md = write_report(results, out=tmp_path / "out", formats=["md"]).markdown
    fragment = md.split("```toml\n")[1].split("\n```")[0]
    assert fragment + "\n" == B.suite_fragment(load_results(results))
    pasted = parse_suite(tomllib.loads(fragment), "again.toml")
    assert [r.loss.name for r in pasted.runs] == ["hinge", "ns", "wgan-gp"]


def test_names_are_escaped_in_every_part_of_a_search(tmp_path):
    df = load_results(write_search(tmp_path, name=XSS))
    searches = build_searches(df)
    page = html_report(build_boards(df), df, searches=searches)
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    md = markdown(build_boards(df), "t", searches)
    outside = re.sub(r"```toml\n.*?\n```", "", md, flags=re.S)
    assert "<script" not in outside and "&lt;script&gt;" in outside
    assert 'name = "<script>alert(1)</script>"' in md  # inside the code block: TOML, to paste as it is


def test_a_search_without_the_metric_is_said_not_crashed(tmp_path):
    df = load_results(write_search(tmp_path, value=lambda *a: "failed"))
    (sb,) = build_searches(df)
    assert "no run of the search has a value of 'fid'" in sb.problem
    md = markdown(build_boards(df), "t", [sb])
    assert "no equal-budget analysis: no run of the search has a value of 'fid'" in md
    assert "<img" not in html_report([], df, searches=[sb])


# ---------------------------------------------------------------- findings, in words, from the tests

def test_findings_name_the_significant_differences_from_the_tests(tmp_path):
    df = load_results(write_search(tmp_path))
    (sb,) = build_searches(df)
    pairs = sb.pairs.set_index(["a", "b"])
    p = pairs.loc[("ns", "wgan-gp"), "p_holm"]
    assert pairs.loc[("ns", "wgan-gp"), "better"] == "ns" and p < 0.05
    assert pairs.loc[("hinge", "ns"), "better"] == "ns" and pairs.loc[("hinge", "wgan-gp"), "better"] == ""
    p2 = pairs.loc[("hinge", "ns"), "p_holm"]
    md = markdown([], "t", [sb])
    line = next(ln for ln in md.splitlines() if ln.startswith("- **ring8 · mlp — equal budget"))
    assert (f"ns beats hinge (better on 100% of matched trials, Holm p = {p2:.2g}) and wgan-gp (better on 100% of "
            f"matched trials, Holm p = {p:.2g}); no significant win: hinge, wgan-gp") in line
    n_sig = int((sb.pairs["better"] != "").sum())
    assert f"({n_sig} of 3 pairs differ, Holm-corrected)" in line
    assert "Best trial: ns " in line


def test_findings_of_a_fixed_board_and_of_one_with_too_few_seeds(tmp_path):
    for s in range(5):
        write_run(tmp_path, "ns", s, fid=1.0 + s / 10)
        write_run(tmp_path, "hinge", s, fid=5.0 + s / 10)
        write_run(tmp_path, "wgan", s, fid=9.0 + s / 10)
    (board,) = build_boards(load_results(tmp_path))
    p_adj = board.comparison.p_adj
    assert board_finding(board).startswith(f"FID: ns beats hinge (Holm p = {p_adj[('ns', 'hinge')]:.2g}) and wgan "
                                           f"(Holm p = {p_adj[('ns', 'wgan')]:.2g}); hinge beats wgan (Holm p = "
                                           f"{p_adj[('hinge', 'wgan')]:.2g}); no significant win: wgan. "
                                           "Mann–Whitney U (two-sided), Holm-corrected over 3 pairs")
    few = tmp_path / "few"
    for s in range(2):
        write_run(few, "ns", s, fid=1.0 + s)
        write_run(few, "hinge", s, fid=5.0 + s)
    (board,) = build_boards(load_results(few))
    assert board_finding(board) == ("FID: FID values per loss: 2 seeds; Mann–Whitney U (two-sided) at α = 0.05 "
                                    "needs ≥ 4 seeds per loss. The order below is by mean only.")


def test_wins_in_words_by_hand():
    order = ["a", "b", "c", "d", "e", "f"]
    beaten = {"a": {x: 0.01 for x in "bcdef"}, "b": {"c": 0.02, "d": 0.03, "e": 0.04, "f": 0.01}, "c": {"f": 0.04}}
    text = wins_in_words(order, beaten, {("c", "f"): "better on 75% of matched trials, "})
    assert text == ("a beats all 5 others (Holm p ≤ 0.01); b beats 4 of 5, all but a (Holm p ≤ 0.04); "
                    "c beats f (better on 75% of matched trials, Holm p = 0.04); no significant win: d, e, f")
    assert wins_in_words(order, {}, {}) == ""
    # four winners over one loser: said from the loser's side; four names listed, not "all but" five
    many = [*"abcdefghij"]
    text = wins_in_words(many, {w: {"j": 0.01 * (i + 1)} for i, w in enumerate("abcd")}, {})
    assert text == "j loses to a, b, c and d (Holm p ≤ 0.04)"


def test_formatting_of_trial_values():
    assert fmt_value(math.inf) == "∞" and fmt_value(0.000123456) == "0.000123" and fmt_value(float("nan")) == "—"
    assert fmt_band(0.5, 0.5, 0.5) == "0.5" and fmt_band(0.5, 0.01, math.inf) == "0.5 (0.01 to ∞)"
    assert fmt_value(np.float64(2.0)) == "2"
