"""Results tables: load_results on hand-built run directories, summaries pinned by hand, exports.

``write_run`` builds a run directory in the on-disk layout (config.json, status.json,
metrics.json, history.csv, samples.png) without training; test_report and
test_report_browser reuse it.
"""
from __future__ import annotations

import json
import math
import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ganbench.files import CorruptFileError
from ganbench.aggregate import seed_interval
from ganbench.results import DIRECTIONS, config_hash, export_table, load_results, read_table, summarize


def tiny_png(w: int = 24, h: int = 16, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A valid RGB PNG written by hand (no imaging library needed)."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def write_run(root: Path, loss: str = "ns", seed: int = 0, status: str = "finished", fid: float | None = 1.0,
              dataset: str = "ring8", model: str = "mlp", name: str | None = None, suite: str = "toy",
              extra: dict | None = None, diagnostics: dict | None = None, history: bool = True,
              samples: bool = True, eval_every: int = 0, provenance: dict | None = None) -> Path:
    """One run directory. status: finished | diverged (metrics.json), failed (status.json), incomplete."""
    label = name or loss
    run_id = f"{dataset}-{model}-{''.join(c if c.isalnum() or c in '-_' else '_' for c in label)}-s{seed}"
    d = root / suite / run_id
    d.mkdir(parents=True)
    config = {"suite": suite, "seed": seed, "name": name, "data": {"name": dataset}, "model": {"name": model},
              "loss": {"name": loss}, "optim": {"lr_g": 1e-3}, "train": {"steps": 100}, "eval": {"n_samples": 100}}
    (d / "config.json").write_text(json.dumps(config))
    steps = np.arange(0, 101, 20)
    if history:
        h = pd.DataFrame({"step": steps, "d_loss": 1.3 - steps / 1000, "g_loss": 0.7 + steps / 1000 * seed,
                          "d_grad_norm": 1.0 + steps / 100, "g_grad_norm": 2.0 + seed, "wall_time": steps / 10})
        if eval_every:
            h["fid"] = np.where(steps % eval_every == 0, (fid or 1.0) * (1 + 100 / (steps + 10)), np.nan)
            h["modes"] = np.where(steps % eval_every == 0, np.minimum(8, 2 + steps // 20), np.nan)
        h.to_csv(d / "history.csv", index=False)
    if samples:
        (d / "samples.png").write_bytes(tiny_png(rgb=(40 * seed % 255, 120, 200)))
    if status == "incomplete":
        return d
    if status == "failed":
        (d / "status.json").write_text(json.dumps({"status": "failed", "reason": "RuntimeError: boom"}))
        return d
    (d / "status.json").write_text(json.dumps({"status": status, "steps": 100, "wall_time": 2.5, "reason": ""}))
    metrics = {} if fid is None else {"fid": fid, "kid": fid / 10, "kid_std": 0.01, "precision": 0.9,
                                      "recall": 0.8, "modes": 8, "n_modes": 8, "hq_fraction": 0.95}
    metrics.update(extra or {})
    diag = {"diverged": status == "diverged", "collapsed": False, "collapse_events": [],
            "d_grad_norm_median": 1.5, "g_grad_norm_max": 4.0}
    diag.update(diagnostics or {})
    doc = {"run_id": run_id, "status": status, "steps": 100, "wall_time": 2.5,
           "reason": "non-finite loss" if status == "diverged" else "", "metrics": metrics,
           "floor": {"n_each": 50, "fid": 0.05, "kid": 0.001, "precision": 0.97, "recall": 0.96},
           "diagnostics": diag,
           "provenance": {"features": "identity", "weights_sha256": None, "comparable": True, "n_real": 100,
                          "n_fake": 100, "split": "test", "device": "cpu (x86_64)", "git_commit": "abc123",
                          "versions": {"ganbench": "0.1.0"}, "extractor": {"name": "identity"}, **(provenance or {})},
           "config": config}
    (d / "metrics.json").write_text(json.dumps(doc))
    return d


def mixed_results(root: Path) -> Path:
    """One run of every status: finished ×3 (two losses), diverged, failed, incomplete."""
    write_run(root, "ns", 0, fid=1.0)
    write_run(root, "ns", 1, fid=2.0)
    write_run(root, "ns", 2, fid=4.0)
    write_run(root, "ns", 3, status="diverged", fid=None)
    write_run(root, "ns", 4, status="failed")
    write_run(root, "ns", 5, status="incomplete")
    write_run(root, "hinge", 0, fid=3.0, diagnostics={"collapsed": True})
    return root / "toy"


# ---------------------------------------------------------------- load_results

def test_load_results_lists_every_run_with_its_status(tmp_path):
    df = load_results(mixed_results(tmp_path))
    assert len(df) == 7
    ns = df[df["loss"] == "ns"].set_index("seed")
    assert list(ns["status"]) == ["finished", "finished", "finished", "diverged", "failed", "incomplete"]
    assert ns.loc[4, "reason"] == "RuntimeError: boom"
    assert ns.loc[3, "reason"] == "non-finite loss" and pd.isna(ns.loc[5, "reason"])
    assert list(ns["fid"].iloc[:3]) == [1.0, 2.0, 4.0]
    assert math.isnan(ns.loc[3, "fid"]) and math.isnan(ns.loc[4, "fid"]) and math.isnan(ns.loc[5, "fid"])
    assert bool(ns.loc[3, "diverged"]) and not bool(ns.loc[0, "diverged"])
    assert pd.isna(ns.loc[4, "diverged"])  # a crash is neither diverged nor not
    row = df[(df["loss"] == "hinge")].iloc[0]
    assert bool(row["collapsed"]) is True
    assert row["floor_fid"] == 0.05 and row["floor_n_each"] == 50
    assert row["features"] == "identity" and bool(row["comparable"]) and row["n_real"] == 100
    assert row["ganbench_version"] == "0.1.0" and row["git_commit"] == "abc123"
    assert row["n_collapse_events"] == 0 and row["d_grad_norm_median"] == 1.5
    assert row["suite"] == "toy" and row["dataset"] == "ring8" and row["model"] == "mlp"
    assert Path(row["run_dir"]).name == row["run_id"]
    for col in ("fid", "kid", "precision", "modes", "hq_fraction", "floor_fid", "wall_time"):
        assert df[col].dtype == np.float64, col


def test_trained_but_not_evaluated_is_incomplete_and_says_so(tmp_path):
    d = write_run(tmp_path, "ns", 0)
    (d / "metrics.json").unlink()
    df = load_results(tmp_path)
    assert df.loc[0, "status"] == "incomplete"
    assert df.loc[0, "reason"] == "trained (finished) but not evaluated: no metrics.json"


def test_metric_names_never_overwrite_table_columns(tmp_path):
    write_run(tmp_path, "ns", 0, extra={"seed": 99.0, "status": "odd"}, diagnostics={"fid": -1.0, "steps": 3})
    row = load_results(tmp_path).iloc[0]
    assert (row["seed"], row["status"], row["fid"], row["steps"]) == (0, "finished", 1.0, 100)
    assert (row["metric_seed"], row["metric_status"], row["diag_fid"], row["diag_steps"]) == (99.0, "odd", -1.0, 3.0)


def test_loss_column_is_the_run_label_and_loss_name_the_registry_name(tmp_path):
    write_run(tmp_path, "wgan-gp", name="wgan-gp-small-penalty")
    df = load_results(tmp_path)
    assert df.loc[0, "loss"] == "wgan-gp-small-penalty" and df.loc[0, "loss_name"] == "wgan-gp"


def test_config_hash_matches_runconfig():
    from ganbench.config import RunConfig
    run = RunConfig.from_dict({"suite": "x", "seed": 3, "data": {"name": "ring8"}, "model": {"name": "mlp"},
                               "loss": {"name": "hinge"}})
    assert config_hash(run.to_dict()) == run.config_hash()
    assert config_hash({**run.to_dict(), "seed": 9, "suite": "y"}) == run.config_hash()


@pytest.mark.parametrize("content", ['{"status": "finished", "metr', "[1, 2]", '{"status": "exploded"}'])
def test_corrupt_metrics_raise_naming_the_file_or_are_marked(tmp_path, content):
    root = mixed_results(tmp_path)
    bad = root / "ring8-mlp-ns-s1" / "metrics.json"
    bad.write_text(content)
    with pytest.raises(CorruptFileError, match=r"ring8-mlp-ns-s1/metrics\.json"):
        load_results(root)
    df = load_results(root, errors="mark")
    row = df[df["run_id"] == "ring8-mlp-ns-s1"].iloc[0]
    assert row["status"] == "corrupt" and "metrics.json" in row["reason"]
    assert row["loss"] == "ns" and row["seed"] == 1  # the config was still readable
    assert len(df) == 7


def test_corrupt_config_is_marked_with_what_is_known(tmp_path):
    d = write_run(tmp_path, "ns", 0)
    (d / "config.json").write_text("{nope")
    with pytest.raises(CorruptFileError, match=r"config\.json: not valid JSON"):
        load_results(tmp_path)
    df = load_results(tmp_path, errors="mark")
    assert list(df["status"]) == ["corrupt"] and df.loc[0, "suite"] == "toy" and pd.isna(df.loc[0, "dataset"])
    assert summarize(df).empty  # no dataset / model / loss: no group to put it in


def test_load_results_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"errors must be 'raise' or 'mark', got 'ignore'"):
        load_results(tmp_path, errors="ignore")
    with pytest.raises(FileNotFoundError, match=r"results directory .*nowhere.* does not exist"):
        load_results(tmp_path / "nowhere")
    assert load_results(tmp_path).empty


# ---------------------------------------------------------------- summaries

def test_summarize_by_hand(tmp_path):
    s = summarize(load_results(mixed_results(tmp_path))).set_index("loss")
    ns = s.loc["ns"]
    assert (ns["n_runs"], ns["n"], ns["n_failed"], ns["n_incomplete"], ns["n_corrupt"]) == (6, 4, 1, 1, 0)
    # the diverged run has no FID: it is not dropped but counted as the worst outcome, +inf
    assert ns["fid_n"] == 4 and ns["fid_undefined"] == 1 and ns["fid_mean"] == math.inf and ns["fid_hi"] == math.inf
    assert ns["kid_mean"] == math.inf and ns["kid_undefined"] == 1
    # higher is better: the worst outcome is the bottom of the range, 0
    assert ns["hq_fraction_mean"] == pytest.approx(3 * 0.95 / 4, rel=1e-15) and ns["hq_fraction_undefined"] == 1
    assert ns["modes_mean"] == 6.0 and ns["modes_lo"] >= 0.0 and ns["modes_hi"] <= 8.0
    assert ns["diverged_share"] == 0.25 and ns["collapsed_share"] == 0.0  # 1 of 4 finished+diverged runs
    assert ns["failed_to_cover_share"] == 0.25  # the diverged run has no final mode count: it covers nothing
    assert ns["n_configs"] == 1
    hinge = s.loc["hinge"]
    assert hinge["n"] == 1 and hinge["fid_mean"] == 3.0 and math.isnan(hinge["fid_lo"])  # one seed: no interval
    assert hinge["collapsed_share"] == 1.0 and hinge["failed_to_cover_share"] == 0.0
    assert list(s.index) == ["hinge", "ns"]  # sorted
    assert "wall_time_mean" in s and "spread_ratio_mean" not in s  # only metrics that exist
    assert s.loc["ns", "wall_time_n"] == 4 and s.loc["ns", "wall_time_undefined"] == 0


def test_summarize_finite_runs_match_the_interval_of_their_values(tmp_path):
    for seed, fid in enumerate([1.0, 2.0, 4.0]):
        write_run(tmp_path, "ns", seed, fid=fid)
    row = summarize(load_results(tmp_path)).iloc[0]
    ref = seed_interval([1.0, 2.0, 4.0])
    assert (row["fid_n"], row["fid_undefined"]) == (3, 0)
    assert (row["fid_mean"], row["fid_std"], row["fid_lo"], row["fid_hi"]) == (
        ref["mean"], ref["std"], ref["lo"], ref["hi"])
    assert row["fid_mean"] == pytest.approx(7 / 3, rel=1e-15) and row["fid_std"] == pytest.approx(math.sqrt(7 / 3))


def test_summarize_flags_mixed_configurations_and_checks_arguments(tmp_path):
    write_run(tmp_path, "ns", 0)
    d = write_run(tmp_path, "ns", 1)
    cfg = json.loads((d / "config.json").read_text())
    cfg["optim"]["lr_g"] = 5e-4  # same label, other settings
    (d / "config.json").write_text(json.dumps(cfg))
    df = load_results(tmp_path)
    assert summarize(df).loc[0, "n_configs"] == 2
    with pytest.raises(ValueError, match=r"unknown metric column\(s\) nope; available: .*fid"):
        summarize(df, metrics=["nope"])
    with pytest.raises(ValueError, match=r"summarize needs column\(s\) dataset"):
        summarize(df.drop(columns="dataset"))


def test_directions_extend_the_metrics_table():
    from ganbench.metrics import METRICS
    assert all(DIRECTIONS[k] == v for k, v in METRICS.items())
    assert DIRECTIONS["fid"] is False and DIRECTIONS["modes"] is True and DIRECTIONS["hq_fraction"] is True
    assert DIRECTIONS["reverse_kl"] is False and DIRECTIONS["kl"] is False


# ---------------------------------------------------------------- export

@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_export_round_trip(tmp_path, suffix):
    write_run(tmp_path, "we|ird,\"name\"\nx", 0, name="we|ird,\"name\"\nx")
    root = mixed_results(tmp_path)
    df = load_results(tmp_path, errors="mark")
    path = export_table(df, tmp_path / f"runs.{suffix}")
    back = read_table(path)
    pd.testing.assert_frame_equal(back, df)
    s = summarize(load_results(root))
    pd.testing.assert_frame_equal(read_table(export_table(s, tmp_path / f"summary.{suffix}")), s,
                                  check_dtype=False)  # counts come back as float in CSV without a schema


def test_export_refuses_other_suffixes(tmp_path):
    with pytest.raises(ValueError, match=r"runs\.xlsx.* must end in \.csv or \.parquet"):
        export_table(pd.DataFrame({"a": [1]}), tmp_path / "runs.xlsx")


def test_a_non_numeric_metric_is_corrupt_not_a_column_of_text(tmp_path):
    # "fid": "garbage" in metrics.json made report fail with a traceback (issue 16)
    root = mixed_results(tmp_path)
    bad = root / "ring8-mlp-ns-s1" / "metrics.json"
    doc = json.loads(bad.read_text())
    doc["metrics"]["fid"] = "garbage"
    bad.write_text(json.dumps(doc))
    with pytest.raises(CorruptFileError, match=r"ring8-mlp-ns-s1/metrics\.json: metrics\.fid is 'garbage', not a number"):
        load_results(root)
    df = load_results(root, errors="mark")
    assert df.loc[df["run_id"] == "ring8-mlp-ns-s1", "status"].item() == "corrupt"
    assert df["fid"].dtype == "float64"  # the other runs still rank


def test_is_finished_only_with_a_readable_metrics_file(tmp_path):
    from ganbench.results import METRICS, is_finished, read_metrics
    assert not is_finished(tmp_path)
    (tmp_path / METRICS).write_text(json.dumps({"metrics": {"fid": "garbage"}}))
    assert not is_finished(tmp_path)
    with pytest.raises(CorruptFileError, match=r"metrics\.json: metrics\.fid is 'garbage', not a number"):
        read_metrics(tmp_path)
    (tmp_path / METRICS).write_text(json.dumps({"run_id": "x"}))
    with pytest.raises(CorruptFileError, match=r"metrics\.json: not a ganbench metrics file"):
        read_metrics(tmp_path)
    (tmp_path / METRICS).write_text(json.dumps({"metrics": {"fid": 1.5}}))
    assert is_finished(tmp_path) and read_metrics(tmp_path)["metrics"] == {"fid": 1.5}
