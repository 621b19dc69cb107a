"""The command line: exit codes, one-line errors, and the run → summary path."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from ganbench.cli import main

TINY = """
[suite]
name = "tiny"
seeds = [0]
[defaults]
data  = { name = "ring8" }
model = { name = "mlp", hidden = 16, depth = 2, z_dim = 2 }
train = { steps = 20, batch_size = 32, log_every = 10 }
eval  = { n_samples = 300, metrics = ["fid", "kid", "pr", "modes"], kid_subsets = 5 }
[[runs]]
loss = { name = "ns" }
"""


def one_line_error(capsys):
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganbench: error: ") and "\n" not in err and "Traceback" not in err
    return err


@pytest.mark.parametrize("text, needle", [
    (TINY.replace("steps = 20", "stpes = 20"), "unknown key 'stpes'"),
    (TINY.replace("steps = 20", 'steps = "x"'), "train.steps must be an integer"),
    (TINY.replace('name = "ns"', 'name = "hnge"'), "did you mean 'hinge'"),
    (TINY.replace("steps = 20", "steps = -3"), "train.steps must be > 0"),
])
def test_bad_suite_exits_2_with_one_line(tmp_path, capsys, text, needle):
    p = tmp_path / "s.toml"
    p.write_text(text)
    assert main(["run", str(p), "--out", str(tmp_path / "out")]) == 2
    assert needle in one_line_error(capsys)
    assert not (tmp_path / "out").exists()  # nothing trained, nothing written


def test_missing_suite_file_exits_2(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.toml")]) == 2
    assert "not found" in one_line_error(capsys)


def test_bad_override_exits_2(tmp_path, capsys):
    p = tmp_path / "s.toml"
    p.write_text(TINY)
    assert main(["run", str(p), "--set", "train.steps"]) == 2
    assert "expected KEY=VALUE" in one_line_error(capsys)


@pytest.mark.parametrize("what, expect", [("losses", "wgan-gp"), ("models", "dcgan"), ("datasets", "ring8"),
                                          ("extractors", "digits-cnn"), ("suites", "quick")])
def test_ls(capsys, what, expect):
    assert main(["ls", what]) == 0
    out = capsys.readouterr().out
    assert expect in out
    assert all(len(line.split(None, 1)) == 2 for line in out.strip().splitlines())  # a description on every line


def test_run_prints_summary_and_skips_finished(tmp_path, capsys):
    p = tmp_path / "s.toml"
    p.write_text(TINY)
    out = tmp_path / "out"
    assert main(["run", str(p), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ring8-mlp-ns-s0-" in text and "finished" in text and "fid" in text
    (run_dir,) = [d for d in out.iterdir() if d.is_dir()]
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["status"] == "finished" and m["metrics"]["fid"] >= 0
    before = (run_dir / "metrics.json").stat().st_mtime_ns
    assert main(["run", str(p), "--out", str(out)]) == 0
    assert (run_dir / "metrics.json").stat().st_mtime_ns == before  # finished runs are not redone
    assert main(["eval", str(out)]) == 0
    assert "fid=" in capsys.readouterr().out


def test_run_prints_one_line_per_finished_run_when_stdout_is_not_a_terminal(tmp_path, capsys):
    p = tmp_path / "s.toml"
    p.write_text(TINY.replace("seeds = [0]", "seeds = [0, 1]"))
    out = tmp_path / "out"
    assert main(["run", str(p), "--out", str(out)]) == 0  # capsys: stdout is not a terminal
    lines = capsys.readouterr().out.splitlines()
    live = [ln for ln in lines if re.match(r"ring8-mlp-ns-s\d-\w+ finished \d+\.\ds fid=", ln)]
    assert len(live) == 2, lines  # one per run, as each ends: id, status, seconds, headline metrics
    assert all(" modes=" in ln and " hq_fraction=" in ln for ln in live)
    assert main(["run", str(p), "--out", str(out)]) == 0  # nothing new finished: no live line
    assert not [ln for ln in capsys.readouterr().out.splitlines() if re.search(r" finished \d+\.\ds ", ln)]


def test_run_prints_no_live_lines_on_a_terminal(tmp_path, capsys, monkeypatch):
    p = tmp_path / "s.toml"
    p.write_text(TINY)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert main(["run", str(p), "--out", str(tmp_path / "out")]) == 0
    assert not [ln for ln in capsys.readouterr().out.splitlines() if re.search(r" finished \d+\.\ds ", ln)]


def test_metrics_command_on_arrays(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "r.npy", rng.normal(size=(500, 2)))
    np.save(tmp_path / "f.npy", rng.normal(size=(500, 2)) + 1.0)
    assert main(["metrics", "--real", str(tmp_path / "r.npy"), "--fake", str(tmp_path / "f.npy"),
                 "--features", "identity", "--metrics", "fid,kid,pr", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["metrics"]["fid"] == pytest.approx(2.0, abs=0.3)  # ‖μ1−μ2‖² = 2 for a shift of 1 in 2-D
    assert out["provenance"]["n_real"] == 500


def test_metrics_command_bad_inputs(tmp_path, capsys):
    np.save(tmp_path / "r.npy", np.zeros((10, 1, 8, 8), dtype=np.float32) + 3.0)
    np.save(tmp_path / "f.npy", np.zeros((10, 2)))
    assert main(["metrics", "--real", str(tmp_path / "r.npy"), "--fake", str(tmp_path / "f.npy"),
                 "--features", "digits-cnn"]) == 2
    assert "must lie in [-1, 1]" in one_line_error(capsys)
    np.save(tmp_path / "bad.npy", np.zeros((4, 5, 6, 7, 8)))
    assert main(["metrics", "--real", str(tmp_path / "bad.npy"), "--fake", str(tmp_path / "f.npy"),
                 "--features", "identity"]) == 2
    assert "accepted: [N, d] points" in one_line_error(capsys)
    assert main(["metrics", "--real", str(tmp_path / "missing.npy"), "--fake", str(tmp_path / "f.npy"),
                 "--features", "identity"]) == 2
    assert "no such file" in one_line_error(capsys)
    assert main(["metrics", "--real", str(tmp_path / "f.npy"), "--fake", str(tmp_path / "f.npy"),
                 "--features", "identty"]) == 2
    assert "did you mean 'identity'" in one_line_error(capsys)
