"""The command line: exit codes, one-line errors, and the run → summary path."""
from __future__ import annotations

import json
import re
from pathlib import Path

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


# ---------------------------------------------------------------- hostile input (issue 16)

def cli(argv):
    """rc, stdout, stderr of ``main(argv)`` (also in a forked child, where capsys does not reach)."""
    import contextlib
    import io
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def one_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganbench: error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("text, message", [
    ("1-", "expected comma-separated seeds or ranges"),      # was read as 1
    ("-1", "expected comma-separated seeds or ranges"),
    ("3-1", "expected comma-separated seeds or ranges"),
    ("0-100000000000", "expected comma-separated seeds or ranges in 0..4294967295"),  # was a MemoryError
    ("0-20000", "names 20001 seeds; at most 10000 are accepted"),
    ("0,0", "a seed is named twice"),
])
def test_bad_seeds_exit_2_before_anything_is_expanded(tmp_path, capsys, text, message):
    p = tmp_path / "s.toml"
    p.write_text(TINY)
    assert main(["run", str(p), "--seeds", text, "--out", str(tmp_path / "out")]) == 2
    assert message in one_line_error(capsys)
    assert not (tmp_path / "out").exists()


def test_seed_ranges_expand():
    from ganbench.cli import parse_seeds
    assert parse_seeds("0-2, 5") == (0, 1, 2, 5)


def test_threads_beyond_the_machine_exit_2(tmp_path, capsys):
    from ganbench.executors import available_cores
    p = tmp_path / "s.toml"
    p.write_text(TINY)
    assert main(["run", str(p), "--threads", "100000", "--out", str(tmp_path / "out")]) == 2
    assert f"--threads 100000: this machine gives this process {available_cores()} cores" in one_line_error(capsys)


@pytest.mark.parametrize("out", ["FILE", "/dev/null"])
def test_run_out_must_be_a_folder(tmp_path, capsys, out):
    p = tmp_path / "s.toml"
    p.write_text(TINY)
    target = str(tmp_path / "f.txt") if out == "FILE" else out
    if out == "FILE":
        (tmp_path / "f.txt").write_text("keep me")
    assert main(["run", str(p), "--out", target]) == 2
    assert f"--out {target!r} is a file, not a folder" in one_line_error(capsys)
    if out == "FILE":
        assert (tmp_path / "f.txt").read_text() == "keep me"


def test_suite_path_that_is_a_folder_and_report_of_a_file(tmp_path, capsys):
    assert main(["run", str(tmp_path)]) == 2
    assert "is a folder; give a suite file (.toml)" in one_line_error(capsys)
    (tmp_path / "f.txt").write_text("x")
    assert main(["report", str(tmp_path / "f.txt")]) == 2
    assert "f.txt' is a file; give the results folder" in one_line_error(capsys)


def test_output_files_and_folders_of_the_wrong_kind_exit_2(tmp_path, capsys):
    from test_results import write_run
    res = tmp_path / "res"
    write_run(res, "ns", 0)
    (tmp_path / "f.txt").write_text("keep me")
    cases = [
        (["report", str(res), "--out", str(tmp_path / "f.txt")], "is a file, not a folder"),
        (["baseline", str(res), "--out", str(tmp_path)], "is a folder; give a file name"),
        (["bench", "--models", "mlp", "--losses", "ns", "--out", str(tmp_path)], "is a folder; give a file name"),
        (["extractor", "train", "digits", "--out", str(tmp_path)], "is a folder; give a file name"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        assert message in one_line_error(capsys), argv
    assert (tmp_path / "f.txt").read_text() == "keep me"


def test_bench_batch_0_is_refused_not_replaced(capsys):
    assert main(["bench", "--models", "mlp", "--losses", "ns", "--batch", "0"]) == 2
    assert "--batch must be a positive integer, got 0" in one_line_error(capsys)


@pytest.mark.parametrize("fake, message", [
    (np.zeros((0, 2)), "--fake holds 0 sample(s); the metrics need at least 2"),
    (np.zeros((1, 2)), "--fake holds 1 sample(s); the metrics need at least 2"),
    (np.random.default_rng(0).normal(size=(2, 2)), "fake features needs at least 4 samples"),
])
def test_metrics_on_too_few_samples_exit_2(tmp_path, capsys, fake, message):
    np.save(tmp_path / "r.npy", np.random.default_rng(1).normal(size=(50, 2)))
    np.save(tmp_path / "f.npy", fake)
    assert main(["metrics", "--real", str(tmp_path / "r.npy"), "--fake", str(tmp_path / "f.npy"),
                 "--features", "identity"]) == 2
    assert message in one_line_error(capsys)


def test_metrics_bad_batch_size_garbage_npz_and_wrong_extractor_exit_2(tmp_path, capsys):
    np.save(tmp_path / "p.npy", np.random.default_rng(0).normal(size=(50, 2)))
    np.save(tmp_path / "img.npy", np.zeros((20, 1, 8, 8), dtype=np.float32))
    (tmp_path / "g.npz").write_bytes(b"PK\x03\x04garbage" * 10)
    p, img = str(tmp_path / "p.npy"), str(tmp_path / "img.npy")
    cases = [
        (["--real", p, "--fake", p, "--features", "identity", "--batch-size", "0"], "--batch-size must be a positive"),
        (["--real", p, "--fake", p, "--features", "identity", "--batch-size", "-5"], "got -5"),
        (["--real", str(tmp_path / "g.npz"), "--fake", p, "--features", "identity"],
         "g.npz: cannot read the array (File is not a zip file)"),
        (["--real", img, "--fake", img, "--features", "identity"], "extractor 'identity' expects points [N, d]"),
        (["--real", p, "--fake", p, "--features", "digits-cnn"], "extractor 'digits-cnn' expects images"),
    ]
    for argv, message in cases:
        assert main(["metrics", *argv]) == 2, argv
        assert message in one_line_error(capsys), argv


def test_unreadable_suite_exits_2(open_tmp, unprivileged):
    suite = open_tmp / "s.toml"
    suite.write_text(TINY)
    suite.chmod(0)
    rc, _, err = unprivileged(lambda: cli(["run", str(suite), "--out", str(open_tmp / "out")]))
    assert rc == 2 and "s.toml: cannot read the suite file (Permission denied)" in one_line(err)


def test_unreadable_metrics_json_exits_2(open_tmp, unprivileged):
    from test_results import write_run
    run_dir = write_run(open_tmp / "res", "ns", 0)
    (run_dir / "metrics.json").chmod(0)
    for d in (open_tmp / "res", run_dir):
        d.chmod(0o777)
    rc, _, err = unprivileged(lambda: cli(["report", str(open_tmp / "res"), "--out", str(open_tmp / "rep")]))
    assert rc == 2 and "metrics.json: Permission denied" in one_line(err)


def test_read_only_out_and_run_folders_exit_2_before_training(open_tmp, unprivileged):
    from ganbench.suite_loader import load_suite
    suite = open_tmp / "s.toml"
    suite.write_text(TINY)
    (open_tmp / "ro").mkdir(mode=0o555)
    rc, _, err = unprivileged(lambda: cli(["run", str(suite), "--out", str(open_tmp / "ro")]))
    assert rc == 2 and "--out" in err and "this folder is not writable" in one_line(err)
    res = open_tmp / "res"
    (run,) = load_suite(suite).runs
    (res / run.run_id).mkdir(parents=True)  # a run started earlier, its folder since made read-only
    (res / run.run_id / "config.json").write_text(json.dumps(run.to_dict()))
    res.chmod(0o777)
    (res / run.run_id).chmod(0o555)
    rc, _, err = unprivileged(lambda: cli(["run", str(suite), "--out", str(res)]))
    assert rc == 2 and f"run folder {str(res / run.run_id)!r} is not a writable folder" in one_line(err)


@pytest.mark.parametrize("argv", [["bench", "--models", "mlp", "--losses", "ns"],
                                  ["extractor", "train", "digits"]])
def test_threads_beyond_the_machine_exit_2_in_bench_and_extractor(tmp_path, capsys, argv):
    assert main([*argv, "--threads", "100000"]) == 2
    assert "--threads 100000: this machine gives this process" in one_line_error(capsys)


def test_integer_flags_beyond_int64_are_usage_errors(capsys):
    with pytest.raises(SystemExit) as e:
        main(["bench", "--repeats", str(2**63)])
    assert e.value.code == 2
    assert "argument --repeats: 9223372036854775808 is out of range" in capsys.readouterr().err


def test_run_out_an_immutable_folder_exits_2(tmp_path, capsys):
    # chattr +i binds root too; where the file system or the user cannot set it, the read-only tests stand in
    import shutil
    import subprocess
    folder = tmp_path / "immutable"
    folder.mkdir()
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
        pytest.skip("cannot make a folder immutable here (chattr +i)")
    try:
        p = tmp_path / "s.toml"
        p.write_text(TINY)
        assert main(["run", str(p), "--out", str(folder)]) == 2
        assert "immutable': this folder is not writable" in one_line_error(capsys)
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_commands_import_their_shared_pieces_not_cli():
    """The import graph runs one way, cli -> commands: no command module reaches back into cli."""
    import ganbench.cli as cli
    from ganbench.commands import shared
    commands = Path(shared.__file__).parent
    for path in commands.glob("*.py"):
        text = path.read_text()
        assert "from ..cli import" not in text and "ganbench.cli" not in text, path.name
    assert cli.integer is shared.integer and cli.UsageError is shared.UsageError and cli.EXIT_BAD_INPUT == 2


def test_a_bug_is_one_line_naming_the_error_type_once_and_exit_1(monkeypatch, capsys):
    import ganbench.cli as cli_module

    def broken(args):
        raise RuntimeError("boom\n  at line 2")
    monkeypatch.setattr(cli_module, "cmd_ls", broken)
    monkeypatch.delenv("GANBENCH_DEBUG", raising=False)
    assert main(["ls", "losses"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == ("ganbench: internal error: RuntimeError: boom at line 2 "
                   "(a bug in ganbench; GANBENCH_DEBUG=1 shows the traceback)")
    monkeypatch.setenv("GANBENCH_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        main(["ls", "losses"])


def test_bad_input_is_its_message_without_a_type(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nosuch.toml")]) == 2
    assert one_line_error(capsys).startswith("ganbench: error: suite file ")
