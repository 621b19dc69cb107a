"""The runner in process: skip, resume, attempts record, busy runs, corrupt files, unsafe names, bad arguments."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import torch
from filelock import FileLock

from ganbench.cli import main
from ganbench.config import ConfigError, SuiteConfig
from ganbench.suite_loader import parse_suite
from ganbench.files import CorruptFileError, atomic_torch_save, load_checkpoint, read_json
from ganbench.losses import LOSSES
from ganbench.results import run_dir_for
from ganbench.runner import ATTEMPTS, LOCK, is_finished, results_dir_for, run_one, run_suite, worker_id
from ganbench.train import read_history, train

STEPS = 40


def tiny_doc(name="tiny", losses=("ns",), seeds=(0,), steps=STEPS):
    return {
        "suite": {"name": name, "seeds": list(seeds)},
        "defaults": {
            "data": {"name": "ring8"},
            "model": {"name": "mlp", "hidden": 16, "depth": 2, "z_dim": 2},
            "train": {"steps": steps, "batch_size": 32, "log_every": 10, "checkpoint_every": 10},
            "eval": {"n_samples": 200, "metrics": ["fid", "modes"]},
        },
        "runs": [{"loss": [{"name": n} for n in losses]}],
    }


def tiny_run(**kw):
    return parse_suite(tiny_doc(**kw)).runs[0]


def attempts(run_dir):
    return read_json(Path(run_dir) / ATTEMPTS)["attempts"]


def history_rows(run_dir):
    """history.csv without wall_time (the only column allowed to differ between identical runs)."""
    return [{k: v for k, v in r.items() if k != "wall_time"} for r in read_history(Path(run_dir) / "history.csv")]


def metrics_of(run_dir):
    return read_json(Path(run_dir) / "metrics.json")["metrics"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted run: the numbers every recovered run must reproduce."""
    run = tiny_run()
    d = tmp_path_factory.mktemp("ref") / run.run_id
    assert run_one(run, d).status == "finished"
    return run, d


def test_run_one_records_attempt_and_skips_when_complete(reference, tmp_path):
    run, ref = reference
    a = attempts(ref)
    assert len(a) == 1 and a[0]["worker"] == worker_id() and a[0]["resumed_from"] == 0
    assert a[0]["status"] == "finished" and a[0]["ended"] >= a[0]["started"]
    again = run_one(run, ref)
    assert again.status == "skipped" and len(attempts(ref)) == 1


def test_resume_from_mid_checkpoint_matches_uninterrupted(reference, tmp_path):
    run, ref = reference
    d = tmp_path / run.run_id
    train(tiny_run(steps=20), d)  # same training stream cut at step 20, like a killed run (checkpoint + history)
    for f in ("metrics.json", "status.json", "samples.png"):
        (d / f).unlink(missing_ok=True)
    out = run_one(run, d)
    assert out.status == "finished" and out.resumed_from == 20
    assert metrics_of(d) == metrics_of(ref)
    a, b = load_checkpoint(ref / "checkpoint.pt"), load_checkpoint(d / "checkpoint.pt")
    assert all(torch.equal(a["G"][k], b["G"][k]) for k in a["G"])
    assert history_rows(d) == history_rows(ref)


def test_corrupt_metrics_is_moved_aside_and_reevaluated_without_retraining(reference, tmp_path):
    import shutil
    run, ref = reference
    d = tmp_path / run.run_id
    shutil.copytree(ref, d)
    (d / "metrics.json").write_text('{"run_id": "x", "metr')  # truncated
    assert not is_finished(d)
    out = run_one(run, d)
    assert out.status == "finished" and out.resumed_from == STEPS  # from the final checkpoint: no training
    assert any("metrics.json" in n and "re-evaluating" in n for n in out.notes)
    assert (d / "metrics.json.corrupt").read_text().startswith('{"run_id": "x"')
    assert metrics_of(d) == metrics_of(ref)
    assert history_rows(d) == history_rows(ref)


@pytest.mark.parametrize("damage", ["truncated", "pickled-object", "history"])
def test_unreadable_checkpoint_or_history_means_retrain_from_scratch(reference, tmp_path, damage):
    run, ref = reference
    d = tmp_path / run.run_id
    train(tiny_run(steps=20), d)
    if damage == "truncated":
        data = (d / "checkpoint.pt").read_bytes()
        (d / "checkpoint.pt").write_bytes(data[: len(data) // 2])
    elif damage == "pickled-object":
        atomic_torch_save(d / "checkpoint.pt", {"step": 20, "payload": Payload(tmp_path / "pwned")})
    else:
        text = (d / "history.csv").read_text()
        (d / "history.csv").write_text(text[: len(text) - 60])  # last line cut short (fields missing)
    out = run_one(run, d)
    assert out.status == "finished" and out.resumed_from == 0
    damaged = "history.csv" if damage == "history" else "checkpoint.pt"
    assert any(damaged in n and "retraining from scratch" in n for n in out.notes), out.notes
    assert (d / "checkpoint.pt.corrupt").exists()
    assert not (tmp_path / "pwned").exists()  # the pickled object never ran
    assert metrics_of(d) == metrics_of(ref)


class Payload:
    """Unpickling this would create a file: a checkpoint holding it must be refused, not loaded."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_checkpoint_with_pickled_object_is_refused_naming_the_file(tmp_path):
    p = tmp_path / "checkpoint.pt"
    torch.save({"step": 1, "payload": Payload(tmp_path / "pwned")}, p)
    with pytest.raises(CorruptFileError, match=r"checkpoint\.pt: corrupt or truncated checkpoint"):
        load_checkpoint(p)
    assert not (tmp_path / "pwned").exists()


def test_truncated_history_raises_naming_the_file(tmp_path):
    p = tmp_path / "history.csv"
    p.write_text("step,d_loss,g_loss\n1,0.5,0.7\n10,0.4")
    with pytest.raises(CorruptFileError, match=r"history\.csv: line 3 is truncated or malformed"):
        read_history(p)
    p.write_text("d_loss,g_loss\n0.5,0.7\n")
    with pytest.raises(CorruptFileError, match=r"history\.csv: no 'step' column"):
        read_history(p)


def test_stale_temp_files_of_a_killed_write_are_removed(reference, tmp_path):
    run, _ = reference
    d = tmp_path / run.run_id
    d.mkdir()
    orphan = d / ".checkpoint.pt.abc123.tmp"
    orphan.write_bytes(b"half a checkpoint")
    assert run_one(run, d).status == "finished"
    assert not orphan.exists()


def test_locked_run_is_busy_names_the_holder_and_the_cli_exits_0(tmp_path, capsys):
    suite_file = tmp_path / "tiny.toml"
    suite_file.write_text(TINY_TOML)
    run = parse_suite(tiny_doc(), str(suite_file)).runs[0]
    out = tmp_path / "out"
    d = run_dir_for(out, run.run_id)
    d.mkdir(parents=True)
    (d / ATTEMPTS).write_text(json.dumps({"attempts": [{"worker": "otherhost:4242", "resumed_from": 0}]}))
    holder = FileLock(str(d / LOCK))
    holder.acquire()
    try:
        o = run_one(run, d)
        assert (o.status, o.worker) == ("busy", "otherhost:4242")
        assert not (d / "checkpoint.pt").exists()  # nothing was trained
        assert main(["run", str(suite_file), "--out", str(out)]) == 0
    finally:
        holder.release()
    err = capsys.readouterr().err
    assert f"busy: {run.run_id} is being trained by otherhost:4242 (locked)" in err
    assert run_one(run, d).status == "finished"  # once the holder is gone the run proceeds
    a = attempts(d)
    assert [x["status"] for x in a] == ["interrupted", "finished"]  # the holder's open attempt is closed


TINY_TOML = """
[suite]
name = "tiny"
seeds = [0]
[defaults]
data = { name = "ring8" }
model = { name = "mlp", hidden = 16, depth = 2, z_dim = 2 }
train = { steps = 40, batch_size = 32, log_every = 10, checkpoint_every = 10 }
eval = { n_samples = 200, metrics = ["fid", "modes"] }
[[runs]]
loss = [{ name = "ns" }]
"""


def test_failed_run_is_recorded_and_the_suite_goes_on(tmp_path):
    class Broken:
        clip, n_critic, needs_real_for_g, name = None, 1, False, "test-broken"

        def d_loss(self, real, fake):
            raise RuntimeError("boom in d_loss")

        def g_loss(self, fake, real=None):
            return fake.score.mean()

        def penalty(self, *a, **k):
            return torch.zeros(())

    LOSSES.add("test-broken", lambda: Broken(), "test only")
    try:
        suite = parse_suite(tiny_doc(losses=("test-broken", "ns")))
        outcomes = run_suite(suite, out=tmp_path, progress=False, echo=lambda line: None)
    finally:
        LOSSES._entries.pop("test-broken")
    assert [o.status for o in outcomes] == ["failed", "finished"]
    bad = Path(outcomes[0].run_dir)
    assert outcomes[0].error == "RuntimeError: boom in d_loss"
    assert read_json(bad / "status.json")["status"] == "failed"
    assert "boom in d_loss" in (bad / "error.txt").read_text()
    assert attempts(bad)[0]["status"] == "failed"


def test_diverged_final_checkpoint_is_not_trained_further(tmp_path, exploding_loss):
    run = parse_suite(tiny_doc(losses=("test-exploding",))).runs[0]
    first = train(run, tmp_path)
    again = train(run, tmp_path)  # e.g. killed before metrics.json, then rerun
    assert (first.status, first.steps) == ("diverged", 6)
    assert (again.status, again.steps, again.reason) == ("diverged", 6, first.reason)
    assert "non-finite loss at step 6" in again.reason


# ---------------------------------------------------------------- names and arguments

@pytest.mark.parametrize("name", ["../x", "/tmp/abs", "<script>alert(1)</script>", "a/b", ".."])
def test_unsafe_suite_names_are_refused(name):
    with pytest.raises(ConfigError, match="suite.name .* may use only letters, digits"):
        parse_suite({**tiny_doc(), "suite": {"name": name}})
    built = SuiteConfig(name=name, seeds=(0,), runs=())  # built in code, not parsed
    with pytest.raises(ConfigError, match="is not a safe directory name"):
        results_dir_for(built, None)


@pytest.mark.parametrize("name", ["../../escape", "/etc/passwd", "<script>x</script>", "..", "a/../../b"])
def test_run_names_cannot_leave_the_results_directory(tmp_path, name):
    doc = tiny_doc()
    doc["runs"][0]["name"] = name
    run = parse_suite(doc).runs[0]
    d = run_dir_for(tmp_path, run.run_id)
    assert d.parent == tmp_path.resolve()
    assert "/" not in run.run_id and run.run_id not in (".", "..") and "<" not in run.run_id


def test_run_dir_for_refuses_escapes_and_symlinks_out(tmp_path):
    for bad in ("..", "../x", "/abs/path", "a/b"):
        with pytest.raises(ValueError, match="would write outside the results directory"):
            run_dir_for(tmp_path / "res", bad)
    (tmp_path / "res").mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "res" / "link")
    with pytest.raises(ValueError, match="would write outside the results directory"):
        run_dir_for(tmp_path / "res", "link")


@pytest.mark.parametrize("kwargs, message", [
    ({"executor": "dask"}, "unknown executor 'dask'; choose one of: local, process, ray"),
    ({"executor": "local", "workers": 2}, "--workers 2 applies only to --executor process"),
    ({"executor": "process", "workers": 0}, "--workers must be a positive integer, got 0"),
    ({"executor": "process", "threads": -1}, "--threads must be a positive integer, got -1"),
    ({"executor": "local", "ray_address": "auto"}, "--ray-address 'auto' applies only to --executor ray"),
])
def test_run_suite_rejects_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_suite(parse_suite(tiny_doc()), out=tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_local_executor_sets_threads_for_the_suite_and_restores_them(tmp_path):
    before = torch.get_num_threads()
    (o,) = run_suite(parse_suite(tiny_doc()), out=tmp_path, threads=2, progress=False)
    assert o.status == "finished" and torch.get_num_threads() == before
    assert attempts(o.run_dir)[0]["threads"] == 2  # recorded: CPU numbers depend on the thread count


@pytest.mark.parametrize("name, reader", [
    ("metrics.json", read_json),
    ("ci.json", lambda p: __import__("ganbench.regression", fromlist=["load_baseline"]).load_baseline(p)),
    ("checkpoint.pt", load_checkpoint),
    ("history.csv", read_history),
])
@pytest.mark.parametrize("content", [b"", b'{"metrics": {"fid": 0.1', b"\x80\x04\x95garbage"])
@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch's note on the garbage bytes
def test_truncated_or_garbage_files_raise_an_error_naming_the_file(tmp_path, name, reader, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CorruptFileError, match=re.escape(str(path))):
        reader(path)


def test_issue16_long_run_names_never_share_a_directory(tmp_path):
    # name = "A"*200, steps=5; then steps=40, hidden=16 into the same --out: the second run is trained
    def suite(steps, hidden):
        doc = tiny_doc(steps=steps)
        doc["defaults"]["model"]["hidden"] = hidden
        doc["runs"] = [{"name": "A" * 200, "loss": {"name": "ns"}}]
        return parse_suite(doc)
    first = run_suite(suite(5, 8), out=tmp_path, progress=False)
    second = run_suite(suite(40, 16), out=tmp_path, progress=False)
    assert [o.status for o in first + second] == ["finished", "finished"]
    assert first[0].run_dir != second[0].run_dir
    assert read_json(Path(second[0].run_dir) / "metrics.json")["steps"] == 40


@pytest.mark.parametrize("damage", ["deleted", "truncated-then-deleted", "truncated"])
def test_issue16_lost_config_json_is_rewritten_and_never_dropped_silently(tmp_path, damage, capsys):
    from ganbench import regression as R
    from ganbench.results import load_results
    suite = parse_suite(tiny_doc(losses=("ns", "hinge"), steps=4))
    assert {o.status for o in run_suite(suite, out=tmp_path, progress=False)} == {"finished"}
    R_dir = tmp_path / suite.runs[0].run_id
    config = (R_dir / "config.json").read_text()
    (R_dir / "config.json").write_text(config[:20])
    if damage != "truncated":
        with pytest.raises(CorruptFileError, match=r"config\.json: not valid JSON .*delete it to recompute"):
            load_results(tmp_path)
        (R_dir / "config.json").unlink()  # the advice followed
        with pytest.raises(CorruptFileError, match=r"config\.json: missing; rerun its suite \('ganbench run'\)"):
            load_results(tmp_path)  # the run is named, not dropped
        assert load_results(tmp_path, errors="mark")["status"].tolist().count("corrupt") == 1
    outcomes = run_suite(suite, out=tmp_path, progress=False)
    assert [o.status for o in outcomes] == ["skipped", "skipped"]
    what = "unreadable, moved to config.json.corrupt" if damage == "truncated" else "missing"
    assert outcomes[0].notes == [f"config.json was {what}; rewritten from the suite"]
    assert f"note: {suite.runs[0].run_id}: config.json was {what}" in capsys.readouterr().err
    assert (R_dir / "config.json").read_text() == config
    assert len(load_results(tmp_path)) == 2
    assert len(R.make_baseline(tmp_path)[0]["configs"]) == 2


def _misfit_checkpoint(d: Path, kind: str) -> None:
    ckpt = load_checkpoint(d / "checkpoint.pt")
    if kind == "shapes":  # e.g. trained with another hidden size: it loads, but not into this run's models
        ckpt["G"] = {k: torch.zeros(3, *v.shape[1:]) if v.ndim else v for k, v in ckpt["G"].items()}
    elif kind == "keys":
        ckpt["D"] = {"renamed." + k: v for k, v in ckpt["D"].items()}
    else:
        del ckpt["opt_g"]
    atomic_torch_save(d / "checkpoint.pt", ckpt)


@pytest.mark.parametrize("kind", ["shapes", "keys", "missing-entry"])
def test_issue16_checkpoint_that_does_not_fit_is_moved_aside_and_retrained(reference, tmp_path, kind):
    run, ref = reference
    d = tmp_path / run.run_id
    train(tiny_run(steps=20), d)
    _misfit_checkpoint(d, kind)
    out = run_one(run, d)
    assert out.status == "finished" and out.resumed_from == 0, out.error
    assert any("checkpoint.pt: does not fit this run's models (" in n and "retraining from scratch" in n
               for n in out.notes), out.notes
    assert (d / "checkpoint.pt.corrupt").exists() and (d / "history.csv.corrupt").exists()
    assert metrics_of(d) == metrics_of(ref)  # as if it had never been interrupted


def test_issue16_eval_of_a_checkpoint_that_does_not_fit_is_one_line(tmp_path, capsys):
    run = tiny_run(steps=4)
    d = tmp_path / run.run_id
    assert run_one(run, d).status == "finished"
    _misfit_checkpoint(d, "shapes")
    assert main(["eval", str(d)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and re.fullmatch(
        r"ganbench: error: .*checkpoint\.pt: does not fit the run's generator \(RuntimeError: Error\(s\) in loading "
        r"state_dict .*size mismatch.*\); delete it and metrics\.json, then rerun the suite to retrain the run", err)


def test_a_non_numeric_metric_is_moved_aside_and_reevaluated(reference, tmp_path):
    # `run` used to call such a run finished and print "fid garbage" (issue 16)
    import shutil
    run, ref = reference
    d = tmp_path / run.run_id
    shutil.copytree(ref, d)
    doc = json.loads((d / "metrics.json").read_text())
    doc["metrics"]["fid"] = "garbage"
    (d / "metrics.json").write_text(json.dumps(doc))
    assert not is_finished(d)
    out = run_one(run, d)
    assert out.status == "finished" and any("metrics.fid is 'garbage'" in n for n in out.notes)
    assert metrics_of(d) == metrics_of(ref)


def test_a_suite_does_not_adopt_another_suites_runs(tmp_path):
    # --out results/tiny for another suite with the same configurations took its finished runs silently
    run_suite(parse_suite(tiny_doc(name="tiny")), out=tmp_path, progress=False)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(ConfigError, match=r"holds runs of suite 'tiny' \(.*\); suite 'other' would take them as its "
                                          r"own: choose another --out"):
        run_suite(parse_suite(tiny_doc(name="other")), out=tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
