"""Pairwise significance, leaderboards, escaping, published rows and the ``ganbench report`` command."""
from __future__ import annotations

import base64
import json
import math
import re

import numpy as np
import pytest
from scipy import stats

from ganbench.cli import main
from ganbench.published import PACGAN_ARCHITECTURE, PUBLISHED, published_for
from ganbench.report import (build_boards, compare_seeds, fmt_interval, holm, html_report, markdown, md_escape,
                             pairwise, smallest_pvalue, write_report)
from ganbench.stats import mannwhitney_pvalue  # two-sided by default, as the leaderboard's tests
from ganbench.aggregate import seed_interval
from ganbench.results import load_results
from test_results import write_run

XSS = "<script>alert(1)</script>"


# ---------------------------------------------------------------- Mann–Whitney, Holm

@pytest.mark.parametrize("x, y", [([1, 2, 3], [4, 5, 6]), ([1, 2], [4, 5]), ([3.1, 0.2, 5.5, 4.0], [1.0, 2.5, 7.7]),
                                  ([1, 5, 9, 13, 2], [3, 4, 6, 7, 8, 10]), ([0.5, 0.1], [0.3])])
def test_mannwhitney_exact_matches_scipy_without_ties(x, y):
    assert mannwhitney_pvalue(x, y) == pytest.approx(
        stats.mannwhitneyu(x, y, alternative="two-sided", method="exact").pvalue, rel=1e-12)


@pytest.mark.parametrize("x, y", [([1, 1, 2], [4, 4, 5]), ([7, 8, 8, 6], [8, 5, 6]), ([2, 2, 2], [2, 2, 3])])
def test_mannwhitney_with_ties_matches_scipy_permutation(x, y):
    ref = stats.mannwhitneyu(x, y, alternative="two-sided", method=stats.PermutationMethod(n_resamples=np.inf))
    assert mannwhitney_pvalue(x, y) == pytest.approx(ref.pvalue, rel=1e-12)


def test_mannwhitney_by_hand():
    # complete separation at 3 vs 3: 2 of the C(6,3) = 20 equally likely rank splits are as extreme
    assert mannwhitney_pvalue([1, 2, 3], [4, 5, 6]) == pytest.approx(2 / 20, rel=1e-15)
    # ties at 3 vs 3 cannot beat the tie-free bound (scipy's normal approximation says 0.072 here)
    assert mannwhitney_pvalue([1, 1, 2], [4, 4, 5]) == pytest.approx(0.1, rel=1e-15)
    assert mannwhitney_pvalue([1, 2, 3], [1, 2, 3]) == 1.0
    assert (smallest_pvalue(2, 2), smallest_pvalue(3, 3), smallest_pvalue(4, 4)) == pytest.approx((1 / 3, 0.1, 2 / 70), rel=1e-15)
    assert smallest_pvalue(3, 3, "welch") == 0.0 and smallest_pvalue(1, 3, "welch") == 1.0


def test_mannwhitney_large_samples_use_the_normal_approximation():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=40), rng.normal(0.5, size=40)
    assert mannwhitney_pvalue(x, y) == pytest.approx(
        stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic").pvalue, rel=1e-12)


def test_compare_direction_and_welch():
    assert compare_seeds([1, 2, 3], [4, 5, 6])[1] == -1 and compare_seeds([4, 5, 6], [1, 2, 3])[1] == 1
    p, sign = compare_seeds([1.0, 2.0, 3.0], [2.0, 4.0, 9.0], "welch")
    assert p == pytest.approx(stats.ttest_ind([1, 2, 3], [2, 4, 9], equal_var=False).pvalue, rel=1e-12)
    assert sign == -1
    assert compare_seeds([2.0, 2.0, 2.0], [2.0, 2.0, 2.0], "welch") == (1.0, 0)  # no spread, no difference
    with pytest.raises(ValueError, match=r"test must be one of mannwhitney, welch, got 'ttest'"):
        compare_seeds([1], [2], "ttest")


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04 -> 3*0.01, 2*0.03, max(0.06, 1*0.04): monotone step-down
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06], rel=1e-15)
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([0.02]) == pytest.approx([0.02])
    assert len(holm([])) == 0


# ---------------------------------------------------------------- pairwise verdicts

def test_identical_distributions_tie_and_separated_ones_win():
    same = [1.0, 2.0, 3.0, 4.0, 5.0]
    c = pairwise({"a": same, "b": list(same), "c": [11.0, 12.0, 13.0, 14.0, 15.0]}, higher_is_better=False)
    assert c.outcome[("a", "b")] == c.outcome[("b", "a")] == "tie"
    assert c.outcome[("a", "c")] == "win" and c.outcome[("c", "a")] == "loss"
    # 5 vs 5 complete separation: 2/252, Holm-adjusted over 3 pairs (the two smallest share it)
    assert c.p_adj[("a", "c")] == pytest.approx(3 * 2 / 252, rel=1e-12)
    assert c.verdict == "significant" and "2 of 3 pairs differ significantly" in c.explanation
    assert c.record("a") == (1, 1, 0) and c.record("c") == (0, 0, 2)
    up = pairwise({"a": same, "c": [11.0, 12.0, 13.0, 14.0, 15.0]}, higher_is_better=True)
    assert up.outcome[("c", "a")] == "win"  # higher is better: the direction flips


def test_comparison_as_dataframes():
    c = pairwise({"a": [1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.5, 2.5, 3.5, 4.5, 5.5], "c": [11.0, 12, 13, 14, 15]},
                 higher_is_better=False)
    m = c.matrix()
    assert list(m.index) == list(m.columns) == ["a", "b", "c"]
    assert m.loc["a", "c"] == "win" and m.loc["c", "a"] == "loss" and m.loc["a", "a"] == ""
    t = c.table()
    assert list(t.columns) == ["a", "b", "outcome", "p_adj"] and len(t) == 3
    row = t[(t["a"] == "a") & (t["b"] == "c")].iloc[0]
    assert row["outcome"] == "win" and row["p_adj"] == c.p_adj[("a", "c")]


def test_too_few_seeds_are_marked_not_ranked():
    c = pairwise({"a": [1.0, 2.0], "b": [10.0, 11.0], "c": [20.0, 21.0]}, higher_is_better=False)
    assert c.verdict == "too few seeds" and c.record("a") is None
    assert {c.outcome[(x, y)] for x in "abc" for y in "abc" if x != y} == {"n/a"}
    assert "2 seeds" in c.explanation and "needs ≥ 5 seeds per loss across 3 Holm-corrected pairs" in c.explanation
    # 3 vs 3 with Mann–Whitney: the smallest p is 0.1, so even complete separation cannot count
    assert pairwise({"a": [1, 2, 3], "b": [7, 8, 9]}, False).verdict == "too few seeds"
    # Welch can resolve 3 vs 3
    w = pairwise({"a": [1.0, 1.1, 0.9], "b": [7.0, 7.1, 6.9]}, False, test="welch")
    assert w.verdict == "significant" and w.outcome[("a", "b")] == "win"
    # one group too small, the other pair testable: mixed verdict, explained
    m = pairwise({"a": [1, 2, 3, 4], "b": [9, 10, 11, 12], "c": [1]}, False)
    assert m.outcome[("a", "c")] == "n/a" and m.outcome[("a", "b")] == "win"
    assert "(2 pairs with too few seeds)" in m.explanation
    # Holm across many pairs can make 4 seeds too few: 6 pairs × 2/70 > 0.05
    many = pairwise({k: np.arange(4) + 10 * i for i, k in enumerate("abcd")}, False)
    assert many.verdict == "too few seeds" and many.outcome[("a", "d")] == "n/a" and many.record("a") is None


def test_undefined_values_are_the_worst_outcome_not_dropped():
    good, bad = [0.2, 0.3, 0.25, 0.28, 0.22], [0.1, 0.15, 0.12, 0.11, 0.13]
    # dropping nan would leave "b" with its best seed only, untestable; as +inf they are its worst seeds
    c = pairwise({"a": good, "b": [float("nan")] * 4 + [0.9]}, higher_is_better=False)
    assert c.outcome[("a", "b")] == "win" and c.p_adj[("a", "b")] == pytest.approx(
        mannwhitney_pvalue(good, [np.inf] * 4 + [0.9]), rel=1e-12)
    # higher is better: nan is -inf, below every defined value
    up = pairwise({"a": good, "b": bad[:1] + [float("nan")] * 4}, higher_is_better=True)
    assert up.outcome[("a", "b")] == "win"
    assert up.p_adj[("a", "b")] == pytest.approx(mannwhitney_pvalue(good, bad[:1] + [-np.inf] * 4), rel=1e-12)


def test_pairwise_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\), got 5"):
        pairwise({"a": [1]}, False, alpha=5)
    with pytest.raises(ValueError, match=r"test must be one of mannwhitney, welch, got 'z'"):
        pairwise({"a": [1]}, False, test="z")


# ---------------------------------------------------------------- escaping, formatting

def test_md_escape():
    assert md_escape("a|b\nc\r\nd") == r"a\|b c d"
    assert md_escape(XSS) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert md_escape("wgan_gp *x* [l](u) `c` \\") == r"wgan\_gp \*x\* \[l\](u) \`c\` \\"
    assert md_escape("A & B's") == "A &amp; B's"


def test_fmt_interval():
    assert fmt_interval(0.0026612, -0.02, 0.0382) == "0.003 (-0.020 to 0.038)"  # to the width's 2nd digit
    assert fmt_interval(0.7295, 0.51, 0.86) == "0.73 (0.51 to 0.86)"
    assert fmt_interval(58.5123, 40.1, 78.3) == "59 (40 to 78)"
    assert fmt_interval(1234.5, 1100.0, 1350.0) == "1234 (1100 to 1350)"
    assert fmt_interval(0.9, 0.9, 0.9) == "0.9"  # no spread
    assert fmt_interval(58.5123, float("nan"), float("nan")) == "58.51"  # one seed: no interval
    assert fmt_interval(float("nan"), 1.0, 2.0) == "—"
    assert fmt_interval(math.inf, 1.25, math.inf) == "∞ (1.25 to ∞)"


# ---------------------------------------------------------------- leaderboards

def make_board_results(root, seeds=4):
    for s in range(seeds):
        write_run(root, "ns", s, fid=1.0 + s / 10, eval_every=40)
        write_run(root, "hinge", s, fid=5.0 + s / 10, eval_every=40)
        write_run(root, "wgan", s, fid=9.0 + s / 10, eval_every=40)
    write_run(root, "wgan", seeds, status="failed")
    return root


def test_leaderboard_ranks_by_fid_and_lists_every_loss(tmp_path):
    df = load_results(make_board_results(tmp_path, seeds=5))
    (board,) = build_boards(df)
    assert list(board.rows["loss"]) == ["ns", "hinge", "wgan"]
    assert board.comparison.verdict == "significant"  # 5 vs 5 separated, 3 pairs: 3 * 2/252 < 0.05
    md = markdown([board])
    rows = [ln for ln in md.splitlines() if re.match(r"\| \d+ \|", ln)]
    assert [r.split(" | ")[1] for r in rows] == ["ns", "hinge", "wgan"]
    lo, hi = (seed_interval([1.0, 1.1, 1.2, 1.3, 1.4])[k] for k in ("lo", "hi"))
    assert rows[0].startswith(f"| 1 | ns | 1.20 ({lo:.2f} to {hi:.2f}) |")  # width ~0.2: two decimals
    # diverged, collapsed, failed to cover, seeds, W/T/L
    assert rows[0].endswith("| 0/5 | 0/5 | 0/5 | 5 | 2/0/0 |")
    assert rows[2].endswith("| 0/5 | 0/5 | 0/5 | 5 (+1 failed) | 0/0/2 |")
    assert "Real-data floor" in md and "features identity" in md and "comparable yes" in md
    # PacGAN's rows need its networks, training set, batch and schedule: this toy board has none of them
    assert "GAN (published)" not in md and "protocol differs: Lin, Khetan, Fanti &amp; Oh 2018" in md
    assert "arXiv:1712.04086, Table 1 (GAN, ALI, PacGAN2, PacGAN3, PacGAN4): architecture 'mlp()'" in md
    assert "n\\_train None, published 100000; batch\\_size None, published 100; n\\_fake 100, published 2500" in md
    assert "ring8-mlp-wgan-s5: failed (RuntimeError: boom)" in md


def test_leaderboard_with_two_seeds_says_too_few(tmp_path):
    df = load_results(make_board_results(tmp_path, seeds=2))
    (board,) = build_boards(df)
    md = markdown([board])
    assert list(board.rows["loss"]) == ["ns", "hinge", "wgan"]  # still listed, in order of the mean
    assert "Ranking: not significant / too few seeds" in md and "| n/a |" in md


def test_boards_per_dataset_and_model_and_ranking_metric(tmp_path):
    write_run(tmp_path, "ns", 0, fid=2.0, extra={"recall": 0.1})
    write_run(tmp_path, "hinge", 0, fid=1.0, extra={"recall": 0.5})
    write_run(tmp_path, "ns", 0, dataset="digits", model="dcgan", fid=30.0)
    boards = build_boards(load_results(tmp_path), metric="recall")
    assert [b.title for b in boards] == ["digits · dcgan", "ring8 · mlp"]
    assert list(boards[1].rows["loss"]) == ["hinge", "ns"]  # recall: higher is better
    assert boards[0].published == [] and boards[0].comparison.verdict == "no data"
    with pytest.raises(ValueError, match=r"metric 'spread_ratio' has no known direction; rankable: .*fid"):
        build_boards(load_results(tmp_path), metric="spread_ratio")


def test_losses_without_the_metric_are_listed_last_without_a_rank(tmp_path):
    for s in range(2):
        write_run(tmp_path, "ns", s, fid=1.0 + s)
        write_run(tmp_path, "wgan", s, status="diverged", fid=None)
    (board,) = build_boards(load_results(tmp_path))
    md = markdown([board])
    assert "| 1 | ns | 1.5 (1.0 to 2.0) |" in md  # two seeds: resampled means 1, 1.5, 2
    # diverged runs have no metrics: each counts as the worst outcome, ranked last, and says so
    assert "| 2 | wgan | ∞ · 2 of 2 undefined → ∞ |" in md and "| 0 · 2 of 2 undefined → 0 |" in md
    assert md.rstrip().count("| 2/2 | 0/2 | 2/2 | 2 | n/a |") == 1  # both diverged, and covered nothing
    assert "modes (of 8) ↑" in md
    (by_is,) = build_boards(load_results(tmp_path), metric="is")
    assert by_is.comparison.verdict == "no data" and "No IS values to compare." in markdown([by_is])


def test_lucic_fids_never_stand_beside_a_single_setting_board(tmp_path):
    lucic = {"features": "inception-v3-compat", "weights_sha256": "6726825d" + "0" * 56, "n_real": 10000,
             "n_fake": 10000}
    write_run(tmp_path, "ns", 0, dataset="cifar10", model="infogan", fid=60.0, provenance=lucic)
    (cifar,) = build_boards(load_results(tmp_path))
    assert cifar.published == []  # their FIDs are the best of a hyper-parameter search; a board is one setting
    md = markdown([cifar])
    assert "search 'one setting per loss', published 'best of a hyper-parameter search'" in md
    assert "Lucic, Kurach, Michalski, Gelly &amp; Bousquet 2018" in md and "NS GAN" in md


PACGAN_MODEL = {"name": "mlp", "hidden": 400, "depth": 4, "z_dim": 2, "d_hidden": 200, "d_depth": 3, "d_maxout": 5,
                "init": "pacgan"}


def pacgan_run(root, seed, hq, steps, name="ns", pack=1, dataset="ring8", model=None):
    """A run of the ring8 suite's PacGAN protocol (its config and sample counts), with the given HQ and steps."""
    d = write_run(root, "ns", seed, name=name, dataset=dataset, extra={"hq_fraction": hq},
                  provenance={"n_real": 2500, "n_fake": 2500})
    config = json.loads((d / "config.json").read_text())
    config.update(model={**(model or PACGAN_MODEL), **({"pack": pack} if pack > 1 else {})},
                  data={"name": dataset, "n_train": 100000}, train={"steps": steps, "batch_size": 100})
    (d / "config.json").write_text(json.dumps(config))
    doc = json.loads((d / "metrics.json").read_text())
    doc.update(steps=steps, config=config)
    (d / "metrics.json").write_text(json.dumps(doc))


def test_pacgan_rows_stand_beside_a_converged_board_of_their_protocol_with_their_ganbench_row(tmp_path):
    for s in range(2):
        pacgan_run(tmp_path, s, 0.95, 12000)
        pacgan_run(tmp_path, s, 0.93, 12000, name="ns-pack2", pack=2)
    (board,) = build_boards(load_results(tmp_path))
    assert [p.method for p in board.published] == ["GAN", "PacGAN2"]  # converged: HQ >= 0.9 before 400k steps
    md = markdown([board])
    assert "| GAN (published) | 6.3 ± 0.5 | 0.982 ± 0.002 | 0.45 ± 0.09 | loss ns (PacGAN's GAN is the non-saturating loss), pack 1 |" in md
    assert "| PacGAN2 (published) |" in md and "loss ns with model.pack = 2" in md
    assert "± standard error over 10 trials; one setting (the paper's)" in md
    assert "too short a schedule" in md and "PacGAN4: steps 12000 &lt; 400000 and 'ns-pack4' not converged (no such row" in md
    assert "ALI: steps 12000 &lt; 400000 (no like-for-like ganbench run to have converged)" in md
    assert "VEEGAN's networks" in md  # VEEGAN's rows: kept out, and why


def test_pacgan_rows_need_the_schedule_or_convergence_and_the_networks(tmp_path):
    for s in range(2):
        pacgan_run(tmp_path / "early", s, 0.5, 12000)
        pacgan_run(tmp_path / "long", s, 0.5, 400000)
        pacgan_run(tmp_path / "torch-init", s, 0.95, 400000, model={**PACGAN_MODEL, "init": "torch"})
    (early,) = build_boards(load_results(tmp_path / "early"))
    assert early.published == []
    assert "GAN: steps 12000 &lt; 400000 and 'ns' not converged (mean hq\\_fraction 0.5; converged: &gt;= 0.9)" \
        in markdown([early])
    (long,) = build_boards(load_results(tmp_path / "long"))
    assert [p.method for p in long.published] == ["GAN", "ALI", "PacGAN2", "PacGAN3", "PacGAN4"]  # the schedule: any HQ
    (other,) = build_boards(load_results(tmp_path / "torch-init"))
    assert other.published == [] and "init='torch'" in markdown([other]) and "GAN: steps" not in markdown([other])


def test_published_rows_name_their_source_selection_and_like_for_like_run():
    ok = {"architecture": PACGAN_ARCHITECTURE, "n_train": 100000, "batch_size": 100, "n_fake": 2500,
          "search": "one setting per loss", "steps": 400000}
    assert [p.method for p in published_for("ring8", ok)] == ["GAN", "ALI", "PacGAN2", "PacGAN3", "PacGAN4"]
    assert published_for("grid25", {**ok, "n_fake": 10000}) == []
    assert published_for("ring8", {**ok, "steps": 20000}) == []
    converged = {**ok, "steps": 20000, "rows": {"ns-pack4": {"hq_fraction": 0.92}}}
    assert [p.method for p in published_for("ring8", converged)] == ["PacGAN4"]
    ring_gan = next(p for p in PUBLISHED if p.dataset == "ring8" and p.method == "GAN")
    assert ring_gan.values == {"modes": (6.3, 0.5), "hq_fraction": pytest.approx((0.982, 0.002)),
                               "reverse_kl": (0.45, 0.09)}
    assert ring_gan.label == "ns" and ring_gan.steps == 400000 and "non-saturating" in ring_gan.config
    veegan = [p for p in PUBLISHED if p.source.arxiv == "1705.07761"]
    assert {p.method for p in veegan} == {"GAN", "ALI", "Unrolled GAN", "VEEGAN"}  # Table 1 says "GAN"
    assert all(p.mismatches(ok) for p in veegan)
    lucic = [p for p in PUBLISHED if p.source.arxiv == "1711.10337"]
    assert all(p.source.table == "Table 2" and "hyper-parameter search" in p.source.selection
               and "outliers removed" in p.source.selection for p in lucic)
    lsgan = next(p for p in lucic if p.method == "LSGAN" and p.dataset == "cifar10")
    assert lsgan.values["fid"] == (87.1, None) and "disagree" in lsgan.note and lsgan.config is None
    assert "squares the sigmoid" in lsgan.note
    for p in PUBLISHED:  # every row says what ± means and what was searched or removed
        assert p.source.error and p.source.selection and p.source.paper and p.source.table


def test_run_names_are_escaped_in_markdown_and_html(tmp_path):
    for s in range(2):
        write_run(tmp_path, "ns", s, name=XSS, fid=1.0 + s)
        write_run(tmp_path, "hinge", s, name="pipe|name\nsecond line", fid=2.0 + s)
    write_run(tmp_path, "ns", 0, name=XSS, suite='evil"><img src=x onerror=alert(2)>', fid=1.0)
    df = load_results(tmp_path)
    boards = build_boards(df)
    md = markdown(boards)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md and "<script" not in md
    assert r"pipe\|name second line" in md
    page = html_report(boards, df, with_plots=False)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page.lower() and "onerror=alert" not in page.replace("onerror=alert(2)&gt;", "")
    assert 'evil&quot;&gt;&lt;img src=x onerror=alert(2)&gt;' in page


def test_html_is_self_contained(tmp_path):
    df = load_results(make_board_results(tmp_path, seeds=3))
    page = html_report(build_boards(df), df)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    srcs = re.findall(r'<img src="([^"]*)"', page)
    assert len(srcs) == 3 + 2 * 3  # FID plot, eval curves, D/G curves; per loss a sample grid in its row and below
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
    assert not re.search(r"(src|href)=\"(https?:)?//", page) and "<script" not in page and "@import" not in page
    assert page.count('<table class="leaderboard">') == 1 and page.count("</tr>") > 3
    assert 'class="win"' in page or 'class="na"' in page


# ---------------------------------------------------------------- the command

def test_cli_report_writes_every_format(tmp_path, capsys):
    results = make_board_results(tmp_path / "results", seeds=2) / "toy"
    out = tmp_path / "out"
    assert main(["report", str(results), "--format", "md,html,csv,parquet", "--out", str(out)]) == 0
    for name in ("leaderboard.md", "report.html", "runs.csv", "summary.csv", "runs.parquet", "summary.parquet"):
        assert (out / name).is_file(), name
    printed = capsys.readouterr().out.rstrip("\n").splitlines()
    assert printed[-1] == str((out / "report.html").resolve())
    assert "\n".join(printed[:-1]).strip() == (out / "leaderboard.md").read_text().strip()
    assert main(["report", str(results), "--format", "csv"]) == 0  # default out: RESULTS_DIR/report
    assert (results / "report" / "runs.csv").is_file()
    assert capsys.readouterr().out.rstrip("\n").splitlines()[-1] == str((results / "report").resolve())
    assert load_results(results).shape[0] == 7  # the report folder is not mistaken for a run


def test_cli_report_bad_input_exits_2(tmp_path, capsys):
    results = make_board_results(tmp_path, seeds=1) / "toy"
    assert main(["report", str(results), "--format", "md,pdf"]) == 2
    err = capsys.readouterr().err
    assert "unknown format(s) pdf; accepted: a comma-separated list of md, html, csv, parquet" in err
    assert main(["report", str(results), "--metric", "steps"]) == 2
    assert "--metric 'steps' cannot rank" in capsys.readouterr().err
    assert main(["report", str(results), "--alpha", "2"]) == 2
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "no run directories" in capsys.readouterr().err
    (results / "ring8-mlp-ns-s0" / "metrics.json").write_text("{")
    assert main(["report", str(results), "--format", "md"]) == 2
    assert "ring8-mlp-ns-s0/metrics.json: not valid JSON" in capsys.readouterr().err
    assert main(["report", str(results), "--format", "md", "--errors", "mark"]) == 0
    assert "ring8-mlp-ns-s0: corrupt" in capsys.readouterr().out


def test_write_report_api_checks_formats(tmp_path):
    with pytest.raises(ValueError, match=r"format\(s\) docx not known; accepted: md, html, csv, parquet"):
        write_report(tmp_path, formats=["docx"])
    assert math.isfinite(smallest_pvalue(30, 31))


def test_report_of_a_non_numeric_metric(tmp_path, capsys):
    # "fid": "garbage": a traceback, also with --errors mark (issue 16); now one line, or the run marked corrupt
    from ganbench.cli import main
    d = write_run(tmp_path / "res", "ns", 0)
    write_run(tmp_path / "res", "ns", 1)
    doc = json.loads((d / "metrics.json").read_text())
    doc["metrics"]["fid"] = "garbage"
    (d / "metrics.json").write_text(json.dumps(doc))
    assert main(["report", str(tmp_path / "res"), "--out", str(tmp_path / "rep")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganbench: error: ") and "metrics.fid is 'garbage', not a number" in err and "\n" not in err
    assert main(["report", str(tmp_path / "res"), "--out", str(tmp_path / "rep"), "--errors", "mark"]) == 0
    assert "corrupt" in (tmp_path / "rep" / "leaderboard.md").read_text()


def test_fid_on_dinov2_features_is_headed_fd_dinov2_with_sample_warnings_and_real_stats(tmp_path):
    prov = {"features": "dinov2-vit-l14", "real_stats": "ref.npz (sha256 0123456789ab, pytorch-fid / clean-fid, "
                                                        "provenance unknown)"}
    for s in range(3):
        for loss in ("ns", "hinge"):
            write_run(tmp_path, loss, s, fid=1.0 + s, provenance=prov,
                      extra={"density": 0.9, "coverage": 0.8, "cmmd": 0.5, "vendi": 7.0})
    df = load_results(tmp_path)
    (board,) = build_boards(df)
    md, page_html = markdown([board]).replace("\\_", "_"), html_report([board], df).replace("&nbsp;", " ")
    for page in (md, page_html):  # Markdown escapes _, HTML keeps arrows with their header
        assert "FD_DINOv2-L ↓" in page and "Ranked by FD_DINOv2-L" in page and "FID ↓" not in page
        assert "CMMD ↓" in page and "Vendi ↑" in page and "coverage ↑" in page
        # 100 samples: under each protocol's count, one warning per metric
        assert "CMMD from 100 samples; its protocol uses 30,000" in page
        assert "density from 100 samples; its protocol uses 10,000" in page
        assert "provenance unknown" in page and "FD_DINOv2-L values per loss: 3 seeds" in page
    assert "FID ↓" in markdown(build_boards(load_results(make_board_results(tmp_path / "id"))))  # Inception/identity: FID


# ---------------------------------------------------------------- the definitions of docs/protocol-runs.md

def protocol_runs(root):
    """A hand-made ring board (K = 8, 2,500 samples a run), one loss per case the definitions separate."""
    prov = {"n_fake": 2500, "n_real": 2500}
    ok = {"modes": 8, "n_modes": 8, "hq_fraction": 0.9, "reverse_kl": 0.01}
    kw = {"dataset": "ring8-wide", "provenance": prov}
    for s in range(3):
        write_run(root, "good", s, fid=0.01, extra=ok, **kw)
    # no HQ sample: modes 0, reverse KL undefined (null in metrics.json)
    write_run(root, "nohq", 0, fid=2.0, extra={**ok, "modes": 0, "hq_fraction": 0.0, "reverse_kl": None}, **kw)
    write_run(root, "nohq", 1, fid=0.01, extra=ok, **kw)
    # never covered: one mode from start to end; it never collapsed (it never had more to lose)
    for s in range(2):
        write_run(root, "stuck", s, fid=1.0, extra={**ok, "modes": 1, "hq_fraction": 0.3, "reverse_kl": math.log(8)},
                  **kw)
    # covered, then lost modes during training: collapsed, and at 3 of 8 also failed to cover
    write_run(root, "lost", 0, fid=0.5, extra={**ok, "modes": 3, "hq_fraction": 0.5, "reverse_kl": 0.9},
              diagnostics={"collapsed": True, "collapse_events": [{"step": 60, "what": "modes", "value": 3,
                                                                   "best": 8}]}, **kw)
    # few HQ samples: 8 of 2,500, all on distinct modes; a perfect generator with 8 covers 5.25 of 8
    write_run(root, "few", 0, fid=0.3, extra={**ok, "modes": 8, "hq_fraction": 8 / 2500, "reverse_kl": 0.0}, **kw)
    write_run(root, "boom", 0, status="diverged", fid=None, **kw)
    return root


def test_protocol_run_definitions_on_hand_made_runs(tmp_path):
    from ganbench.modes import detect_collapse
    # collapsed = a detect_collapse event: the stuck run's history never drops, the lost one's does
    assert detect_collapse([{"step": 0, "modes": 1}, {"step": 50, "modes": 1}, {"step": 100, "modes": 1}]) == []
    assert detect_collapse([{"step": 0, "modes": 8}, {"step": 60, "modes": 3}])[0]["what"] == "modes"

    (board,) = build_boards(load_results(protocol_runs(tmp_path)), metric="hq_fraction")
    rows = board.rows.set_index("loss")
    md = markdown([board])
    cells = {ln.split(" | ")[1]: ln for ln in md.splitlines() if re.match(r"\| (\d+|—) \| ", ln)}
    head = next(ln for ln in md.splitlines() if ln.startswith("| # |"))
    assert head == ("| # | loss | FID ↓ | KID ↓ | precision ↑ | recall ↑ | modes (of 8) ↑ | HQ ↑ | rev-KL ↓ | "
                    "perfect G modes · rev-KL | diverged | collapsed | failed to cover | seeds | W/T/L |")
    # no HQ samples: reverse KL undefined -> +inf, counted (n = 2), shown; not dropped while seeds says 2
    nohq = rows.loc["nohq"]
    assert nohq["reverse_kl_n"] == 2 and nohq["reverse_kl_undefined"] == 1 and nohq["reverse_kl_mean"] == math.inf
    assert "∞ (0.01 to ∞) · 1 of 2 no HQ samples → ∞" in cells["nohq"]
    assert nohq["modes_mean"] == 4.0 and nohq["modes_perfect_mean"] == 4.0  # perfect G with 0 HQ samples: 0 modes
    assert nohq["failed_to_cover_share"] == 0.5 and nohq["collapsed_share"] == 0.0
    # never covered: failed to cover 2/2, collapsed 0/2
    assert "| 0/2 | 0/2 | 2/2 | 2 |" in cells["stuck"]
    assert rows.loc["stuck", "modes_perfect_mean"] == pytest.approx(8.0)  # 750 HQ samples: the floor is 8
    # lost modes during training: collapsed 1/1 and, at 3 of 8 modes, failed to cover 1/1
    assert "| 0/1 | 1/1 | 1/1 | 1 |" in cells["lost"]
    # a diverged run: every metric its worst outcome, covered nothing, and the cells say so
    assert "| 1/1 | 0/1 | 1/1 | 1 |" in cells["boom"] and "0 · 1 of 1 undefined → 0" in cells["boom"]
    assert rows.loc["boom", "hq_fraction_mean"] == 0.0
    # sample size: 8 HQ samples -> a perfect generator covers 5.25 of 8; the page says so for that loss only
    assert rows.loc["few", "modes_perfect_mean"] == pytest.approx(8 * (1 - (7 / 8) ** 8), rel=1e-12)
    assert "5.3 · 0.52" in cells["few"]
    note = next(ln for ln in md.splitlines() if ln.startswith("Sample size:"))
    assert "even a perfect generator covers fewer than all modes for nohq (4.0 of 8), few (5.3 of 8);" in note
    assert "good" not in note and "stuck" not in note  # 2,250 and 750 HQ samples: no floor
    # HQ, a bounded metric: the interval stays in [0, 1]; intervals are named once on the page
    assert (rows["hq_fraction_lo"].dropna() >= 0).all() and (rows["hq_fraction_hi"].dropna() <= 1).all()
    assert md.count("percentile bootstrap over seeds") == 2  # the page note and the board's ranking line
    assert "published" not in md  # ring8-wide has no published protocol


def test_each_column_is_defined_once_per_page(tmp_path):
    protocol_runs(tmp_path)
    write_run(tmp_path, "ns", 0, dataset="digits", model="dcgan", fid=30.0)
    boards = build_boards(load_results(tmp_path))
    md = markdown(boards)
    page = html_report(boards, load_results(tmp_path), with_plots=False)
    for name in ("FID", "modes", "HQ", "rev-KL", "perfect G modes · rev-KL", "diverged", "collapsed",
                 "failed to cover", "seeds", "W/T/L"):
        assert md.count(f"- **{md_escape(name)}**: ") == 1, name
        assert page.count(f"<dt>{name}</dt>") == 1, name


def test_the_board_states_the_mode_kl_floor_of_a_perfect_generator(tmp_path):
    for s in range(2):
        write_run(tmp_path, "ns", s, dataset="stacked-digits", model="dcgan",
                  extra={"kl": 0.5, "kl_floor": 0.019212, "modes": 990, "n_modes": 1000},
                  provenance={"n_fake": 26000})
    (board,) = build_boards(load_results(tmp_path))
    assert "Mode KL against uniform: a perfect generator scores 0.0192 at N fake = 26000" in markdown([board])


@pytest.mark.parametrize("suite", ["ring8", "grid25"])
def test_the_bundled_pacgan_suites_run_the_protocol_their_published_rows_require(suite):
    from ganbench.config import architecture
    from ganbench.suite_loader import load_suite
    runs = load_suite(suite).runs
    labels = {r.label for r in runs}
    for p in (p for p in PUBLISHED if p.dataset == suite and p.source.arxiv == "1712.04086" and p.label):
        if p.method != "PacGAN3":  # the suites carry GAN, PacGAN2 and PacGAN4
            assert p.label in labels, p.method
    for r in runs:
        assert architecture(r.model.to_dict()) == PACGAN_ARCHITECTURE
        assert (r.data.params["n_train"], r.train.batch_size, r.eval.n_samples) == (100000, 100, 2500)
    assert {r.model.params.get("pack", 1) for r in runs if r.label.startswith("ns")} == {1, 2, 4}
