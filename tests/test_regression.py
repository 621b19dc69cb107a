"""The regression gate: rule grammar, baselines, comparison verdicts, summaries, CLI exit codes.

Fast tests build run directories by hand (config.json, status.json, metrics.json) so every number
and verdict is known in advance; the slow end-to-end tests train the ci suite and check that the
gate passes unchanged code and catches regressions made on purpose.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ganbench import cli
from ganbench import regression as R
from ganbench.io import atomic_write_json
from ganbench.registry import ConfigError

ROOT = Path(__file__).resolve().parent.parent
CI_BASELINE = ROOT / "results" / "baselines" / "ci.json"

PROV = {"features": "identity", "weights_sha256": None, "n_real": 2000, "n_fake": 2000, "split": "test",
        "device": "cpu (x86_64)", "versions": {"ganbench": "0.1.0", "torch": "2.4.0"}, "git_commit": "abc"}


def config(loss="ns", seed=0, lr_g=1e-3, suite="t"):
    return {"suite": suite, "seed": seed, "name": None, "data": {"name": "ring8"},
            "model": {"name": "mlp", "hidden": 64}, "loss": {"name": loss},
            "optim": {"lr_g": lr_g}, "train": {"steps": 600}, "eval": {"n_samples": 2000}}


def key(loss="ns", **kw):
    return R.config_key(config(loss, **kw))


def write_run(root, metrics, loss="ns", seed=0, status="finished", prov=None, sub="", **kw):
    """One run directory; ``metrics=None`` leaves out metrics.json (a failed or unfinished run)."""
    c = config(loss, seed, **kw)
    d = Path(root) / sub / f"{loss}-s{seed}-{R.config_hash(c)}"
    atomic_write_json(d / "config.json", c)
    atomic_write_json(d / "status.json", {"status": status, "reason": "boom" if status == "failed" else ""})
    if metrics is not None:
        atomic_write_json(d / "metrics.json", {"run_id": d.name, "status": status, "metrics": metrics,
                                               "provenance": {**PROV, **(prov or {})}, "config": c})
    return d


def results(root, runs, **kw):
    """``runs``: {loss: {seed: metrics}}."""
    for loss, seeds in runs.items():
        for seed, metrics in seeds.items():
            write_run(root, metrics, loss=loss, seed=seed, **kw)
    return Path(root)


def baseline_from(tmp_path, runs, **kw):
    b, _ = R.make_baseline(results(tmp_path / "base", runs, **kw))
    return b


def verdicts(comparison):
    return {(r.config.split("/")[2].split("@")[0], r.metric): r.verdict for r in comparison.rows}


def row(comparison, loss, metric):
    return next(r for r in comparison.rows if r.config == key(loss) and r.metric == metric)


def check(tmp_path, base_runs, now_runs, rules=None, allow=False, base_kw=None, now_kw=None):
    b = baseline_from(tmp_path, base_runs, **(base_kw or {}))
    measured = R.collect(results(tmp_path / "now", now_runs, **(now_kw or {})))
    return R.compare(b, measured, R.parse_rules(rules) if rules else None, allow)


# ---------------------------------------------------------------- rule grammar

@pytest.mark.parametrize("text, kind, amount", [
    ("fid:10%", "relative", 10.0), ("fid:2.5%", "relative", 2.5), ("fid:+2.0", "absolute", 2.0),
    ("fid:2", "absolute", 2.0), ("kid:1e-3", "absolute", 1e-3), ("fid:3sigma", "sigma", 3.0),
    ("modes:0.5sigma", "sigma", 0.5), ("  recall:.5  ", "absolute", 0.5), ("precision:+5%", "relative", 5.0),
])
def test_good_rules(text, kind, amount):
    r = R.parse_rule(text)
    assert (r.kind, r.amount, r.text) == (kind, amount, text.strip())


def test_rules_split_on_commas_and_repeat():
    rules = R.parse_rules(["fid:10%, modes:+1", "kid:3sigma"])
    assert [(r.metric, r.kind, r.amount) for r in rules] == [
        ("fid", "relative", 10.0), ("modes", "absolute", 1.0), ("kid", "sigma", 3.0)]


FORMS = r"accepted forms: METRIC:10% \(relative to the baseline mean\), METRIC:\+2\.0 \(absolute\), METRIC:3sigma"


@pytest.mark.parametrize("text, match", [
    ("fid", r"bad rule 'fid'; " + FORMS),
    ("fid:", r"bad rule 'fid:'; " + FORMS),
    ("fid:ten%", r"bad rule 'fid:ten%'; " + FORMS),
    ("fid:10%%", r"bad rule 'fid:10%%'; " + FORMS),
    ("fid:3 sigma", r"bad rule 'fid:3 sigma'; " + FORMS),
    ("fid:nan", r"bad rule 'fid:nan'; " + FORMS),
    ("fid:10x", r"bad rule 'fid:10x'; " + FORMS),
    ("fdi:10%", r"bad rule 'fdi:10%': unknown metric 'fdi' \(did you mean 'fid'\?\); metrics with a direction: "),
    ("mean:5%", r"bad rule 'mean:5%': unknown metric 'mean'"),
    ("spread_ratio:10%", r"unknown metric 'spread_ratio'"),  # ideal is 1: no better direction to gate on
    ("fid:-2.0", r"bad rule 'fid:-2.0': a tolerance cannot be negative \(the metric's direction decides"),
    ("fid:1e999", r"bad rule 'fid:1e999': the tolerance must be a finite number"),
    ("", r"empty rule in --fail; " + FORMS),
])
def test_bad_rules(text, match):
    with pytest.raises(ConfigError, match=match):
        R.parse_rule(text)


def test_trailing_comma_is_an_empty_rule():
    with pytest.raises(ConfigError, match="empty rule in --fail"):
        R.parse_rules(["fid:10%,"])


def test_directions_extend_the_metrics_table():
    from ganbench.metrics import METRICS
    assert all(R.HIGHER_IS_BETTER[k] == v for k, v in METRICS.items())
    lower = {k for k, v in R.HIGHER_IS_BETTER.items() if not v}
    assert {"fid", "kid", "reverse_kl", "kl", "ndb"} <= lower
    assert {"modes", "hq_fraction", "is", "precision", "recall"} <= set(R.HIGHER_IS_BETTER) - lower


# ---------------------------------------------------------------- configuration keys and baselines

def test_config_key_uses_the_run_config_hash():
    from ganbench.config import load_suite
    run = load_suite("ci").runs[0]
    stored = json.loads(json.dumps(run.to_dict()))  # as read back from config.json (tuples become lists)
    assert R.config_hash(stored) == run.config_hash()
    assert R.config_key(stored) == f"ring8/mlp/{run.label}@{run.config_hash()}"
    assert run.run_id.endswith(run.config_hash())
    assert R.config_key({**stored, "seed": 7, "suite": "other"}) == R.config_key(stored)
    assert R.config_key({**stored, "name": "mine"}).startswith("ring8/mlp/mine@")


def test_baseline_statistics_and_provenance(tmp_path):
    b = baseline_from(tmp_path, {"ns": {0: {"fid": 1.0, "modes": 8, "kid_std": 0.1},
                                        1: {"fid": 3.0, "modes": 6, "kid_std": 0.2}}})
    c = b["configs"][key()]
    assert c["seeds"] == [0, 1] and c["dataset"] == "ring8" and c["model"] == "mlp" and c["label"] == "ns"
    assert c["metrics"]["fid"] == {"mean": 2.0, "std": math.sqrt(2.0), "n": 2, "values": [1.0, 3.0]}
    assert c["metrics"]["modes"]["mean"] == 7.0 and c["metrics"]["modes"]["std"] == pytest.approx(math.sqrt(2.0))
    assert "kid_std" not in c["metrics"]  # no direction: nothing to gate on
    assert c["provenance"] == {"extractor": "identity", "weights_sha256": None, "n_real": 2000, "n_fake": 2000,
                               "split": "test", "ganbench": "0.1.0", "torch": "2.4.0", "device": "cpu (x86_64)",
                               "git_commit": "abc", "torch_threads": None}
    assert b["directions"] == {"fid": "lower", "modes": "higher"}
    assert "seed" not in c["config"] and "suite" not in c["config"]


def test_baseline_with_one_seed_has_no_std(tmp_path):
    b = baseline_from(tmp_path, {"ns": {0: {"fid": 1.5}}})
    assert b["configs"][key()]["metrics"]["fid"] == {"mean": 1.5, "std": None, "n": 1, "values": [1.5]}


def test_baseline_refuses_unfinished_runs(tmp_path):
    write_run(tmp_path, {"fid": 1.0}, seed=0)
    write_run(tmp_path, None, seed=1, status="failed")
    with pytest.raises(ConfigError, match=r"cannot make a baseline: ring8/mlp/ns@\w+ seed 1 is failed: boom; "
                                          r"a baseline needs every run finished"):
        R.make_baseline(tmp_path)
    write_run(tmp_path / "b", {"fid": 1.0}, status="diverged")
    with pytest.raises(ConfigError, match="seed 0 is diverged"):
        R.make_baseline(tmp_path / "b")


def test_baseline_leaves_out_a_metric_not_finite_in_some_seed(tmp_path):
    results(tmp_path, {"ns": {0: {"fid": 1.0, "reverse_kl": None}, 1: {"fid": 2.0, "reverse_kl": 0.3}}})
    b, notes = R.make_baseline(tmp_path)
    assert set(b["configs"][key()]["metrics"]) == {"fid"}
    assert notes == [f"{key()}: reverse_kl left out (missing or not finite for seed 0)"]


def test_results_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"no runs found \(no config.json below it\)"):
        R.collect(tmp_path)
    write_run(tmp_path, {"fid": 1.0}, sub="a")
    write_run(tmp_path, {"fid": 1.0}, sub="b")
    with pytest.raises(ConfigError, match=r"two runs of ring8/mlp/ns@\w+ with seed 0 .*one suite's results"):
        R.collect(tmp_path)


def test_unreadable_run_files_are_named(tmp_path):
    d = write_run(tmp_path / "a", {"fid": 1.0})
    atomic_write_json(d / "config.json", {"seed": 0, "data": {"name": "ring8"}})
    with pytest.raises(ConfigError, match=r"a/ns-s0-\w+/config.json: not a ganbench run config \(KeyError"):
        R.collect(tmp_path / "a")
    d = write_run(tmp_path / "b", {"fid": 1.0})
    atomic_write_json(d / "metrics.json", {"status": "finished", "metrics": [1.0]})
    with pytest.raises(ConfigError, match=r"metrics.json: 'metrics' is not a table"):
        R.collect(tmp_path / "b")
    (d / "metrics.json").write_text("{ truncated")
    with pytest.raises(ValueError, match=r"metrics.json: not valid JSON"):
        R.collect(tmp_path / "b")


def test_seeds_evaluated_differently_are_refused(tmp_path):
    write_run(tmp_path, {"fid": 1.0}, seed=0)
    write_run(tmp_path, {"fid": 1.0}, seed=1, prov={"n_fake": 500})
    with pytest.raises(ConfigError, match=r"seeds of ring8/mlp/ns@\w+ were evaluated differently \(n_fake 2000 vs 500"):
        R.collect(tmp_path)


def test_baseline_cli_roundtrip(tmp_path, monkeypatch, capsys):
    results(tmp_path / "res", {"ns": {0: {"fid": 1.0}, 1: {"fid": 3.0}}})
    monkeypatch.chdir(tmp_path)
    assert cli.main(["baseline", "res"]) == 0  # default file: results/baselines/<suite>.json
    assert "wrote results/baselines/t.json: 1 configurations, 2 runs" in capsys.readouterr().out
    b = R.load_baseline(tmp_path / "results" / "baselines" / "t.json")
    assert b["configs"][key()]["metrics"]["fid"]["mean"] == 2.0
    assert not list((tmp_path / "results" / "baselines").glob(".*tmp"))  # written atomically, no leftovers
    results(tmp_path / "res", {"hinge": {0: {"fid": 1.0}}}, suite="other")
    assert cli.main(["baseline", "res"]) == 2
    assert "res holds runs of suites other, t; name the file with --out" in capsys.readouterr().err
    assert cli.main(["baseline", "res", "--out", "b.json"]) == 0 and (tmp_path / "b.json").is_file()


@pytest.mark.parametrize("edit, match", [
    (lambda b: b.update(format="other"), r"not a usable ganbench baseline: 'format' is not 'ganbench-baseline'"),
    (lambda b: b.update(version=9), r"version 9, this ganbench reads version 1"),
    (lambda b: b.update(configs={}), r"needs non-empty 'configs' and 'directions'"),
    (lambda b: b["configs"][key()].pop("seeds"), r"lacks metrics, seeds or provenance"),
    (lambda b: b["configs"][key()]["metrics"]["fid"].update(mean=None), r"metrics\['fid'\] needs a finite mean"),
    (lambda b: b["configs"][key()]["metrics"]["fid"].update(n=5), r"n = number of seeds"),
    (lambda b: b["directions"].update(fid="higher"), r"direction of 'fid' is 'higher', ganbench says 'lower'"),
    (lambda b: b["directions"].pop("fid"), r"metric 'fid' has no entry in 'directions'"),
])
def test_unusable_baselines(tmp_path, edit, match):
    b = baseline_from(tmp_path, {"ns": {0: {"fid": 1.0}, 1: {"fid": 2.0}}})
    edit(b)
    path = tmp_path / "b.json"
    R.write_baseline(b, path)
    with pytest.raises(ConfigError, match=match):
        R.load_baseline(path)


def test_cli_unusable_baseline_exits_2(tmp_path, capsys):
    res = results(tmp_path / "res", {"ns": {0: {"fid": 1.0}}})
    (tmp_path / "bad.json").write_text("{ not json")
    assert cli.main(["check", "--results", str(res), "--baseline", str(tmp_path / "bad.json")]) == 2
    assert "bad.json: not valid JSON" in capsys.readouterr().err
    assert cli.main(["check", "--results", str(res), "--baseline", str(tmp_path / "none.json")]) == 2
    assert "none.json': no such file; expected the JSON file written by 'ganbench baseline'" in capsys.readouterr().err


# ---------------------------------------------------------------- comparison: each rule kind and direction

BASE = {"ns": {0: {"fid": 1.0, "modes": 8}, 1: {"fid": 3.0, "modes": 8}}}  # fid 2 ± sqrt 2, modes 8 ± 0


def now(fid0, fid1, modes0=8, modes1=8):
    return {"ns": {0: {"fid": fid0, "modes": modes0}, 1: {"fid": fid1, "modes": modes1}}}


def test_default_rules_allow_the_larger_of_3sigma_and_10_percent(tmp_path):
    # fid: max(3 * sqrt 2 = 4.243, 0.2) -> mean 6.0 (+4.0) is ok, 6.5 (+4.5) is a regression
    c = check(tmp_path, BASE, now(4.0, 8.0))
    r = row(c, "ns", "fid")
    assert (r.baseline, r.now, r.delta, r.rule) == (2.0, 6.0, 4.0, "max(3sigma, 10%)")
    assert r.allowed == pytest.approx(3 * math.sqrt(2.0), rel=1e-15) and r.verdict == "ok"
    assert row(check(tmp_path / "2", BASE, now(5.0, 8.0)), "ns", "fid").verdict == "REGRESSION"
    # modes: seeds agree (std 0), so the 10% floor governs: 0.8 of a mode
    assert row(c, "ns", "modes").allowed == pytest.approx(0.8)
    assert row(check(tmp_path / "3", BASE, now(1.0, 3.0, 7, 8)), "ns", "modes").verdict == "ok"          # -0.5
    assert row(check(tmp_path / "4", BASE, now(1.0, 3.0, 7, 7)), "ns", "modes").verdict == "REGRESSION"  # -1.0


@pytest.mark.parametrize("fids, verdict", [((2.5, 2.5), "ok"), ((2.6, 2.6), "REGRESSION"),
                                           ((1.5, 1.5), "ok"), ((1.4, 1.4), "improved")])
def test_absolute_rule(tmp_path, fids, verdict):
    base = {"ns": {0: {"fid": 2.0}, 1: {"fid": 2.0}}}
    c = check(tmp_path, base, {"ns": {0: {"fid": fids[0]}, 1: {"fid": fids[1]}}}, ["fid:+0.5"])
    assert row(c, "ns", "fid").verdict == verdict  # worse by exactly 0.5 is within "more than 0.5"


@pytest.mark.parametrize("fid, verdict", [(2.19, "ok"), (2.21, "REGRESSION"), (1.79, "improved")])
def test_relative_rule(tmp_path, fid, verdict):
    base = {"ns": {0: {"fid": 2.0}, 1: {"fid": 2.0}}}
    c = check(tmp_path, base, {"ns": {0: {"fid": fid}, 1: {"fid": fid}}}, ["fid:10%"])
    r = row(c, "ns", "fid")
    assert r.allowed == pytest.approx(0.2, rel=1e-12) and r.verdict == verdict


def test_sigma_rule_on_a_deterministic_baseline_fails_any_real_worsening(tmp_path):
    base = {"ns": {0: {"fid": 2.0}, 1: {"fid": 2.0}}}  # std 0
    same = check(tmp_path, base, base, ["fid:3sigma"])
    assert row(same, "ns", "fid").verdict == "ok" and row(same, "ns", "fid").allowed == pytest.approx(2e-9 + 1e-12)
    worse = {"ns": {0: {"fid": 2.0 + 1e-6}, 1: {"fid": 2.0 + 1e-6}}}
    assert row(check(tmp_path / "2", base, worse, ["fid:3sigma"]), "ns", "fid").verdict == "REGRESSION"
    noise = {"ns": {0: {"fid": 2.0 * (1 + 1e-13)}, 1: {"fid": 2.0}}}  # float noise passes
    assert row(check(tmp_path / "3", base, noise, ["fid:3sigma"]), "ns", "fid").verdict == "ok"


def test_sigma_rule_with_one_seed_allows_no_change_and_says_so(tmp_path):
    c = check(tmp_path, {"ns": {0: {"fid": 2.0}}}, {"ns": {0: {"fid": 2.01}}}, ["fid:3sigma"])
    assert row(c, "ns", "fid").verdict == "REGRESSION"
    assert f"{key()}: fid baseline has one seed, so its sigma rule allows no change" in c.notes


@pytest.mark.parametrize("metric, higher", [("precision", True), ("recall", True), ("hq_fraction", True),
                                            ("kid", False), ("reverse_kl", False)])
def test_direction_decides_what_is_worse(tmp_path, metric, higher):
    base = {"ns": {0: {metric: 0.5}, 1: {metric: 0.5}}}
    up = check(tmp_path, base, {"ns": {0: {metric: 0.6}, 1: {metric: 0.6}}}, [f"{metric}:+0.05"])
    down = check(tmp_path / "2", base, {"ns": {0: {metric: 0.4}, 1: {metric: 0.4}}}, [f"{metric}:+0.05"])
    assert row(up, "ns", metric).verdict == ("improved" if higher else "REGRESSION")
    assert row(down, "ns", metric).verdict == ("REGRESSION" if higher else "improved")


def test_mean_over_seeds_is_compared_and_extra_seeds_are_ignored(tmp_path):
    runs = now(0.0, 4.0)  # one seed far better, one far worse: the mean is the baseline's
    runs["ns"][2] = {"fid": 1e6, "modes": 0}
    c = check(tmp_path, BASE, runs, ["fid:+0.01"])
    assert row(c, "ns", "fid").now == 2.0 and row(c, "ns", "fid").verdict == "ok" and c.exit_code == 0


def test_ungated_metrics_are_shown_but_never_fail(tmp_path):
    base = {"ns": {0: {"fid": 2.0, "kid": 0.1}, 1: {"fid": 2.0, "kid": 0.1}}}
    c = check(tmp_path, base, {"ns": {0: {"fid": 2.0, "kid": 9.0}, 1: {"fid": 2.0, "kid": None}}})
    assert verdicts(c) == {("ns", "fid"): "ok", ("ns", "kid"): "not gated"}
    assert [r.metric for r in c.rows] == ["fid", "kid"] and c.exit_code == 0


def test_identical_results_compare_exactly(tmp_path):
    runs = {"ns": {0: {"fid": 0.1 + 0.2, "modes": 7}, 1: {"fid": 1 / 3, "modes": 8}}}
    c = check(tmp_path, runs, runs, ["fid:0sigma", "modes:0%"])
    assert all(r.delta == 0.0 and r.verdict == "ok" for r in c.rows) and c.exit_code == 0


def test_default_rules_skip_metrics_the_baseline_lacks_but_given_rules_may_not(tmp_path):
    base = {"ns": {0: {"fid": 2.0}, 1: {"fid": 2.0}}}
    c = check(tmp_path, base, base)
    assert [r.rule for r in c.rows] == ["max(3sigma, 10%)"]
    with pytest.raises(ConfigError, match=r"rule 'is:5%': the baseline has no metric 'is'; it has: fid"):
        check(tmp_path / "2", base, base, ["is:5%"])


# ---------------------------------------------------------------- comparison: missing, drift, provenance

def test_missing_configuration_fails(tmp_path):
    base = {"ns": {0: {"fid": 2.0}}, "hinge": {0: {"fid": 3.0}}}
    c = check(tmp_path, base, {"ns": {0: {"fid": 2.0}}})
    assert verdicts(c) == {("hinge", "fid"): "missing", ("ns", "fid"): "ok"}
    assert f"{key('hinge')}: missing from the results" in c.notes and c.exit_code == 1


@pytest.mark.parametrize("status, metrics, note", [("failed", None, "seed 1 failed: boom"),
                                                   ("diverged", {"fid": 2.0}, "seed 1 diverged"),
                                                   ("finished", {}, "seed 1 finished: without metrics")])
def test_a_failed_or_diverged_seed_is_missing(tmp_path, status, metrics, note):
    b = baseline_from(tmp_path, {"ns": {0: {"fid": 2.0}, 1: {"fid": 2.0}}})
    write_run(tmp_path / "now", {"fid": 2.0}, seed=0)
    write_run(tmp_path / "now", metrics, seed=1, status=status)
    c = R.compare(b, R.collect(tmp_path / "now"))
    assert row(c, "ns", "fid").verdict == "missing" and c.exit_code == 1
    assert any(n.startswith(f"{key()}: {note}") for n in c.notes)


def test_a_gated_metric_that_became_null_is_missing(tmp_path):
    c = check(tmp_path, BASE, now(None, 3.0))
    assert row(c, "ns", "fid").verdict == "missing" and row(c, "ns", "modes").verdict == "ok" and c.exit_code == 1


def test_new_configuration_is_noted_not_failed(tmp_path):
    c = check(tmp_path, {"ns": {0: {"fid": 2.0}}}, {"ns": {0: {"fid": 2.0}}, "hinge": {0: {"fid": 9.0}}})
    assert c.exit_code == 0 and f"{key('hinge')}: not in the baseline, not compared" in c.notes


def test_changed_configuration_is_matched_by_name_and_the_difference_noted(tmp_path):
    c = check(tmp_path, BASE, now(50.0, 50.0), now_kw={"lr_g": 0.0})
    assert row(c, "ns", "fid").verdict == "REGRESSION" and c.exit_code == 1
    assert f"{key()} compared with {key(lr_g=0.0)}: configuration differs (optim.lr_g 0.001 -> 0.0)" in c.notes


def test_ambiguous_name_match_is_missing_not_guessed(tmp_path):
    b = baseline_from(tmp_path, BASE)
    results(tmp_path / "now", now(2.0, 2.0), lr_g=0.0)
    results(tmp_path / "now", now(2.0, 2.0), lr_g=0.5)
    c = R.compare(b, R.collect(tmp_path / "now"))
    assert {r.verdict for r in c.rows} == {"missing"}


@pytest.mark.parametrize("prov, match", [
    ({"n_fake": 1000}, r"n_fake 2000 \(baseline\) vs 1000 \(now\)"),
    ({"weights_sha256": "ab12"}, r"weights_sha256 None \(baseline\) vs 'ab12' \(now\)"),
    ({"features": "digits-cnn", "n_real": 10},
     r"extractor 'identity' \(baseline\) vs 'digits-cnn' \(now\) \(\+1 more\)"),
])
def test_provenance_mismatch_refuses_unless_allowed(tmp_path, prov, match):
    b = baseline_from(tmp_path, BASE)
    measured = R.collect(results(tmp_path / "now", now(1.0, 3.0), prov=prov))
    with pytest.raises(R.ProvenanceMismatch, match=r"provenance mismatch for ring8/mlp/ns@\w+: " + match +
                       r"; the numbers are not comparable: refresh the baseline, or pass --allow-provenance-mismatch"):
        R.compare(b, measured)
    c = R.compare(b, measured, allow_provenance_mismatch=True)
    assert c.exit_code == 0 and any("provenance mismatch allowed" in n for n in c.notes)


def test_provenance_mismatch_cli_exit_codes(tmp_path, capsys):
    R.write_baseline(baseline_from(tmp_path, BASE), tmp_path / "b.json")
    res = results(tmp_path / "now", now(1.0, 3.0), prov={"n_real": 999})
    argv = ["check", "--results", str(res), "--baseline", str(tmp_path / "b.json")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganbench: error: provenance mismatch") and "\n" not in err
    assert cli.main(argv + ["--allow-provenance-mismatch"]) == 0


def test_environment_difference_is_a_note(tmp_path):
    c = check(tmp_path, BASE, now(1.0, 3.0), now_kw={"prov": {"versions": {"ganbench": "0.1.0", "torch": "2.5.0"},
                                                               "torch_threads": 4}})
    assert c.exit_code == 0 and c.notes == ["environment differs: torch 2.4.0 (baseline) vs 2.5.0 (now)"]
    c = check(tmp_path / "2", BASE, now(1.0, 3.0), base_kw={"prov": {"torch_threads": 1}},
              now_kw={"prov": {"torch_threads": 2}})
    assert c.exit_code == 0 and c.notes == ["environment differs: torch_threads 1 (baseline) vs 2 (now)"]


# ---------------------------------------------------------------- output and CLI

def test_text_and_markdown_tables(tmp_path):
    c = check(tmp_path, {"ns": {0: {"fid": 2.0}, 1: {"fid": 2.0}}, "hinge": {0: {"fid": 1.0}, 1: {"fid": 3.0}}},
              {"ns": {0: {"fid": 2.5}, 1: {"fid": 2.5}}}, ["fid:10%"])
    text = R.render_text(c)
    assert text.splitlines()[0].split() == list(R.HEADER)
    assert "regression gate FAILED: 0 ok, 1 REGRESSION, 0 improved, 1 missing" in text
    md = R.render_markdown(c, "results/baselines/ci.json")
    lines = md.splitlines()
    assert lines[0] == "### ganbench regression gate: FAILED: 0 ok, 1 REGRESSION, 0 improved, 1 missing"
    assert "Baseline: `results/baselines/ci.json`" in lines
    assert "| configuration | metric | baseline | now | delta | allowed | rule | verdict |" in lines
    assert f"| {key()} | fid | 2 ± 0 (n=2) | 2.5 | +0.5 (+25%) | 0.2 | 10% | **REGRESSION** |" in lines
    assert f"| {key('hinge')} | fid | 2 ± 1.414 (n=2) | - | - | 0.2 | 10% | **missing** |" in lines
    assert f"- {key('hinge')}: missing from the results" in lines


def test_summary_file_and_github_step_summary(tmp_path, monkeypatch, capsys):
    R.write_baseline(baseline_from(tmp_path, BASE), tmp_path / "b.json")
    res = results(tmp_path / "now", now(1.0, 3.0))
    step = tmp_path / "step.md"
    step.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    argv = ["check", "--results", str(res), "--baseline", str(tmp_path / "b.json"), "--summary", str(tmp_path / "s.md")]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    summary = (tmp_path / "s.md").read_text()
    assert summary.startswith("### ganbench regression gate: PASSED: 2 ok, 0 REGRESSION, 0 improved, 0 missing")
    assert f"summary: {step}" in out and "regression gate PASSED" in out
    assert cli.main(argv) == 0
    assert step.read_text() == "earlier step\n" + 2 * (summary + "\n")  # appended, never overwritten


def test_cli_check_exit_codes_and_usage_errors(tmp_path, capsys):
    R.write_baseline(baseline_from(tmp_path, BASE), tmp_path / "b.json")
    good = str(results(tmp_path / "good", now(1.0, 3.0)))
    bad = str(results(tmp_path / "bad", now(9.0, 9.0)))
    base = ["--baseline", str(tmp_path / "b.json")]
    assert cli.main(["check", "--results", good, *base]) == 0
    assert cli.main(["check", "--results", bad, *base]) == 1
    assert cli.main(["check", "--results", bad, *base, "--fail", "fid:+10"]) == 0
    assert cli.main(["check", "--results", good, *base, "--fail", "fid:+0.1,fid:bogus"]) == 2
    assert "bad rule 'fid:bogus'; accepted forms:" in capsys.readouterr().err
    assert cli.main(["check", *base]) == 2
    assert "needs a SUITE to run or --results DIR" in capsys.readouterr().err
    assert cli.main(["check", "ci", "--results", good, *base]) == 2
    assert cli.main(["check", "--results", good, "--set", "train.steps=5", *base]) == 2
    assert "--set and --out apply when check runs a SUITE" in capsys.readouterr().err


def test_check_dir_never_reuses_finished_runs(tmp_path):
    write_run(tmp_path / "old", {"fid": 1.0})
    with pytest.raises(ConfigError, match=r"--out .*old: holds runs that 'ganbench check' did not write; a gate "
                                          r"must measure the current code"):
        R.check_dir(tmp_path / "default", tmp_path / "old")
    assert (tmp_path / "old").is_dir() and R.collect(tmp_path / "old")  # untouched
    # a directory an earlier check wrote is cleared, again and again (make gate reruns into one place)
    out = R.check_dir(tmp_path / "default", tmp_path / "gate")
    assert out == tmp_path / "gate" and (out / R.CHECK_MARKER).is_file()
    run = write_run(out, {"fid": 1.0})
    (out / "keep.txt").write_text("not a run")
    assert R.check_dir(tmp_path / "default", out) == out and not run.exists() and (out / "keep.txt").exists()
    # the default directory is check's own scratch space: cleared even without the marker
    default = tmp_path / "results" / "ci-check"
    run = write_run(default, {"fid": 1.0})
    assert R.check_dir(default, None) == default and not run.exists()


# ---------------------------------------------------------------- end to end: the ci suite

def _baseline_subset(tmp_path: Path, loss: str) -> Path:
    """The committed ci baseline restricted to one loss, so a test can run that loss's runs only."""
    b = json.loads(CI_BASELINE.read_text())
    b["configs"] = {k: v for k, v in b["configs"].items() if v["label"] == loss}
    path = tmp_path / f"ci-{loss}.json"
    path.write_text(json.dumps(b))
    return path


def _ci_suite_with(tmp_path: Path, loss: str) -> Path:
    """suites/ci.toml with one loss: same configurations (and keys) as the ci suite's runs of that loss."""
    text = (ROOT / "suites" / "ci.toml").read_text()
    start = text.index("[[runs]]")
    path = tmp_path / "ci-one.toml"
    path.write_text(text[:start] + f'[[runs]]\nloss = {{ name = "{loss}" }}\n')
    return path


BASELINE_THREADS = 1  # torch threads results/baselines/ci.json was recorded with (see docs/regression-gate.md)


@pytest.fixture
def e2e(tmp_path, monkeypatch):
    if not CI_BASELINE.is_file():
        pytest.fail(f"{CI_BASELINE} is missing: create it with 'ganbench run ci' then 'ganbench baseline results/ci'")
    # The thread count changes the order of float reductions and so every trained number; pinning it keeps
    # the unchanged-code check exact on machines with other core counts (conftest restores torch's count).
    # BLAS (numpy: FID, KID) gets the same limit, as OMP_NUM_THREADS=1 gives `ganbench run ci`.
    import torch
    from threadpoolctl import threadpool_limits  # installed with scikit-learn
    torch.set_num_threads(BASELINE_THREADS)
    with threadpool_limits(BASELINE_THREADS):
        yield tmp_path
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def _verdicts(capsys) -> dict[tuple[str, str], str]:
    """(configuration, metric) -> verdict, read from the table check printed."""
    out = {}
    for line in capsys.readouterr().out.splitlines():
        cells = line.split()
        if len(cells) > 2 and "@" in cells[0]:
            out[(cells[0], cells[1])] = "not gated" if line.endswith("not gated") else cells[-1]
    return out


@pytest.mark.slow
def test_e2e_unchanged_code_passes_the_committed_baseline(e2e, capsys):
    assert cli.main(["check", "ci", "--baseline", str(CI_BASELINE), "--out", str(e2e / "out")]) == 0
    verdicts = _verdicts(capsys)
    assert {m for (_, m), v in verdicts.items() if v == "ok"} == {"fid", "modes", "hq_fraction"}
    assert set(verdicts.values()) == {"ok", "not gated"}


@pytest.mark.slow
@pytest.mark.parametrize("override, caught_by", [("optim.lr_g=0", "fid"), ("train.steps=50", "hq_fraction")])
def test_e2e_gate_catches_a_broken_training_setting(e2e, capsys, override, caught_by):
    # On 2-D mixtures FID sees only means and covariances: 50 steps already spread the points like the ring
    # (FID within the baseline's seed noise), but few land on a mode; hq_fraction sees that.
    argv = ["check", str(_ci_suite_with(e2e, "ns")), "--baseline", str(_baseline_subset(e2e, "ns")),
            "--out", str(e2e / "out"), "--set", override]
    assert cli.main(argv) == 1
    verdicts = _verdicts(capsys)
    assert [k for k, v in verdicts.items() if v == "missing"] == []
    assert {k[0] for k in verdicts} == {next(iter(verdicts))[0]} and "@" in next(iter(verdicts))[0]
    assert [v for (_, m), v in verdicts.items() if m == caught_by] == ["REGRESSION"]


@pytest.mark.slow
def test_e2e_gate_catches_a_generator_loss_with_its_sign_flipped(e2e, capsys, monkeypatch):
    from ganbench.losses import Loss
    g_loss = Loss.g_loss

    def flipped(self, fake, real=None):  # the generator now pushes its samples away from the data
        out = g_loss(self, fake, real)
        return -out if self.name == "ns" else out
    monkeypatch.setattr(Loss, "g_loss", flipped)
    argv = ["check", str(_ci_suite_with(e2e, "ns")), "--baseline", str(_baseline_subset(e2e, "ns")),
            "--out", str(e2e / "out")]
    assert cli.main(argv) == 1
    verdicts = _verdicts(capsys)
    assert verdicts[(R.config_key(_ns_config()), "fid")] == "REGRESSION"  # same key: the configuration is unchanged
    assert verdicts[(R.config_key(_ns_config()), "hq_fraction")] == "REGRESSION"


def _ns_config() -> dict:
    b = json.loads(CI_BASELINE.read_text())
    return next(c["config"] for c in b["configs"].values() if c["label"] == "ns")


def test_cli_baseline_that_is_a_folder_exits_2(tmp_path, capsys):
    # check --baseline DIR was an IsADirectoryError traceback (issue 16)
    res = results(tmp_path / "res", {"ns": {0: {"fid": 1.0}}})
    assert cli.main(["check", "--results", str(res), "--baseline", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"ganbench: error: --baseline {str(tmp_path)!r} is a folder; expected the JSON file written by "
                   f"'ganbench baseline'")
