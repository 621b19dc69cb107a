"""External generators: the same network gives the same numbers whether ganbench trained it or not.

A tiny run is trained in-process; its generator is then evaluated as a TorchScript file, a torch.export
program, an ONNX file, a state dict with its class, a ``module:function`` callable and a Python object. The
latent stream (seed) and evaluation settings are the run's, so the metrics must equal the run's own
``metrics.json`` (exactly for the torch formats; to float32 round-off for onnxruntime). The run directory it
writes is read by baseline and check like any other; bad input gives one line and exit code 2.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from ganbench.cli import main
from ganbench.config import RunConfig
from ganbench.suite_loader import load_suite, parse_suite
from ganbench.data import DATASETS, get_dataset
from ganbench.evaluate import load_generator
from ganbench.external import evaluate_generator, load_external
from ganbench.features import EXTRACTORS
from ganbench.files import read_json
from ganbench.losses import LOSSES, DOut, get_loss
from ganbench.models import MODELS
from ganbench.registry import ConfigError
from ganbench.results import find_run_dirs, read_run
from ganbench.runner import run_one

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "mygan"
EVAL = {"n_samples": 300, "metrics": ["fid", "kid", "pr", "modes"], "kid_subsets": 10, "kid_subset_size": 100}
EVAL_FLAGS = ["--n", "300", "--set", 'eval.metrics=["fid","kid","pr","modes"]', "--set", "eval.kid_subsets=10",
              "--set", "eval.kid_subset_size=100"]

GEN_MODULE = '''
"""A user's own generator code: a function and a class, outside ganbench."""
import torch
from torch import nn
from ganbench.models import build_models

STATE = {state!r}


class TinyG(nn.Module):
    def __init__(self, hidden: int = 16, depth: int = 2):
        super().__init__()
        self.z_dim = 2
        self.net = build_models("mlp", (2,), hidden=hidden, depth=depth, z_dim=2)[0].net

    def forward(self, z):
        return self.net(z)


_G = TinyG()
_G.load_state_dict(torch.load(STATE, weights_only=True))
_G.eval()


def generate(z):
    return _G(z)


def nan_points(z):
    return torch.full((len(z), 2), float("nan"))


def bright_images(z):
    return torch.full((len(z), 1, 8, 8), 3.0)


def grey_images(z):
    return torch.tanh(z[:, :1, None, None]).expand(len(z), 1, 8, 8)
'''


@pytest.fixture(autouse=True)
def isolated_registries():
    regs = [LOSSES, MODELS, DATASETS, EXTRACTORS]
    saved = [dict(r._entries) for r in regs]
    yield
    for r, s in zip(regs, saved):
        r._entries.clear()
        r._entries.update(s)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 30-step ring8 run, its metrics and its generator saved in every format."""
    root = tmp_path_factory.mktemp("trained")
    doc = {"suite": {"name": "ext", "seeds": [0]},
           "defaults": {"data": {"name": "ring8"}, "model": {"name": "mlp", "hidden": 16, "depth": 2, "z_dim": 2},
                        "loss": {"name": "ns"}, "optim": {"lr_g": 1e-3, "lr_d": 1e-3},
                        "train": {"steps": 30, "batch_size": 64, "log_every": 10}, "eval": EVAL}}
    run = parse_suite(doc).runs[0]
    assert run_one(run, root / "run").status == "finished"
    G, _ = load_generator(root / "run", run, get_dataset("ring8"))
    torch.save(G.state_dict(), root / "state.pt")
    torch.save(G, root / "pickled.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(G), str(root / "g.pt"))
        torch.jit.save(torch.jit.trace(G.eval(), torch.randn(4, 2)), str(root / "traced.pt"))
    (root / "mods").mkdir()
    (root / "mods" / "gbt_ext_gen.py").write_text(GEN_MODULE.format(state=str(root / "state.pt")))
    return SimpleNamespace(root=root, run=run, G=G, metrics=read_json(root / "run" / "metrics.json")["metrics"])


@pytest.fixture
def gen_module(trained, monkeypatch):
    monkeypatch.syspath_prepend(str(trained.root / "mods"))
    return "gbt_ext_gen"


def cli(generator, out, *extra, data="ring8", features="identity"):
    return main(["eval-generator", "--generator", str(generator), "--data", data, "--features", features,
                 "--out", str(out), *EVAL_FLAGS, *extra])


def only_run(out):
    dirs = find_run_dirs(out)
    assert len(dirs) == 1, dirs
    return dirs[0], read_json(dirs[0] / "metrics.json")


def test_public_paths_name_the_external_evaluation_not_the_core_one():
    # docs/plugins.md names ganbench.external.evaluate_generator; ganbench.evaluate_generator returns it. The core
    # metrics of an in-memory generator are evaluate.measure_generator, a name of their own.
    import ganbench
    from ganbench import evaluate, external
    from ganbench.external import evaluation, generators
    assert ganbench.evaluate_generator is external.evaluate_generator is evaluation.evaluate_generator
    assert external.load_external is generators.load_external
    assert external.ExternalGenerator is generators.ExternalGenerator
    assert not hasattr(evaluate, "evaluate_generator") and callable(evaluate.measure_generator)
    assert all(not name.startswith("_") for name in external.__all__)


# ---------------------------------------------------------------- same network, same numbers

def test_torchscript_file_gives_the_runs_numbers_and_a_normal_run_directory(trained, tmp_path, capsys):
    assert trained.metrics["fid"] > 0 and trained.metrics["modes"] >= 1
    assert cli(trained.root / "g.pt", tmp_path / "out") == 0
    run_dir, m = only_run(tmp_path / "out")
    assert m["metrics"] == trained.metrics
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.json", "metrics.json", "samples.png", "status.json"]
    cfg = read_json(run_dir / "config.json")
    assert cfg["model"] == {"name": "external:g.pt", "format": "torchscript", "z_dim": 2, "latent": "normal"}
    assert (cfg["loss"], cfg["data"], cfg["seed"], cfg["eval"]["n_samples"]) == ({"name": "external"},
                                                                                {"name": "ring8"}, 0, 300)
    assert m["config"] == cfg and m["status"] == "finished" and read_json(run_dir / "status.json")["status"] == "finished"
    gen = m["provenance"]["generator"]
    assert gen["sha256"] == hashlib.sha256((trained.root / "g.pt").read_bytes()).hexdigest()
    assert (m["provenance"]["n_fake"], m["provenance"]["seed"], m["provenance"]["features"]) == (300, 0, "identity")
    assert read_run(run_dir)["metrics"]["metrics"] == trained.metrics
    assert "external" in capsys.readouterr().out
    # A trace keeps no Python attributes: the latent size must be given, then the numbers are the same.
    assert cli(trained.root / "traced.pt", tmp_path / "traced", "--z-dim", "2") == 0
    assert only_run(tmp_path / "traced")[1]["metrics"] == trained.metrics


def test_callable_and_state_dict_by_import_path_give_the_runs_numbers(trained, gen_module, tmp_path):
    assert cli(f"{gen_module}:generate", tmp_path / "fn", "--z-dim", "2") == 0
    assert only_run(tmp_path / "fn")[1]["metrics"] == trained.metrics
    assert cli(trained.root / "state.pt", tmp_path / "sd", "--class", f"{gen_module}:TinyG",
               "--init-args", '{"hidden": 16, "depth": 2}') == 0
    run_dir, m = only_run(tmp_path / "sd")
    assert m["metrics"] == trained.metrics
    assert m["config"]["model"]["class"] == "gbt_ext_gen:TinyG" and m["config"]["model"]["init_args"] == {
        "hidden": 16, "depth": 2}


def test_python_objects_give_the_runs_numbers_without_writing(trained, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # without out=..., nothing is written (not even to results/external)
    G = trained.G
    for generator, kw in ((G, {}), (lambda z: G(z), {"z_dim": 2})):
        r = evaluate_generator(generator, data="ring8", features="identity", eval_config=trained.run.eval, **kw)
        assert r["metrics"] == trained.metrics and r["run_dir"] is None
    assert r["config"]["model"]["name"].startswith("external:test_external:") and not any(tmp_path.iterdir())


def test_exported_program_gives_the_runs_numbers(trained, tmp_path):
    dyn = torch.export.export(trained.G.eval(), (torch.randn(4, 2),), dynamic_shapes={"z": {0: torch.export.Dim("n")}})
    torch.export.save(dyn, str(tmp_path / "dyn.pt2"))
    G = load_external(tmp_path / "dyn.pt2")
    assert (G.z_dim, G.source["format"], G.source["fixed_batch"]) == (2, "export", None)  # z_dim from the input
    assert cli(tmp_path / "dyn.pt2", tmp_path / "a") == 0
    assert only_run(tmp_path / "a")[1]["metrics"] == trained.metrics
    # Exported for a batch of 7 only: fed in chunks of 7 (the last padded), still the same samples.
    fixed = torch.export.export(trained.G.eval(), (torch.randn(7, 2),))
    torch.export.save(fixed, str(tmp_path / "fixed.pt2"))
    assert load_external(tmp_path / "fixed.pt2").source["fixed_batch"] == 7
    assert cli(tmp_path / "fixed.pt2", tmp_path / "b") == 0
    got = only_run(tmp_path / "b")[1]["metrics"]
    assert got == pytest.approx(trained.metrics, rel=1e-6, abs=1e-9)


def test_onnx_file_gives_the_runs_numbers(trained, tmp_path):
    pytest.importorskip("onnxruntime", reason="ONNX generators need the optional extra ganbench[onnx]")
    pytest.importorskip("onnx", reason="exporting the test generator to ONNX needs the onnx package")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(trained.G.eval(), (torch.randn(4, 2),), str(tmp_path / "g.onnx"), input_names=["z"],
                          output_names=["x"], dynamic_axes={"z": {0: "n"}, "x": {0: "n"}}, dynamo=False)
    assert cli(tmp_path / "g.onnx", tmp_path / "out") == 0  # z_dim read from the ONNX input shape [n, 2]
    m = only_run(tmp_path / "out")[1]
    assert m["config"]["model"]["format"] == "onnx"
    # onnxruntime's float32 kernels differ from torch's in the last bits: same numbers to round-off.
    assert m["metrics"] == pytest.approx(trained.metrics, rel=1e-4, abs=1e-6)


# ---------------------------------------------------------------- the run directory in the gate

def test_run_id_is_stable_across_generator_versions_and_the_gate_reads_it(trained, tmp_path, capsys):
    v1, v2 = tmp_path / "v1" / "g.pt", tmp_path / "v2" / "g.pt"
    v1.parent.mkdir(), v2.parent.mkdir()
    v1.write_bytes((trained.root / "g.pt").read_bytes())
    G2 = load_generator(trained.root / "run", trained.run, get_dataset("ring8"))[0]
    with torch.no_grad():
        G2.net[-1].bias.add_(0.5)  # a regressed generator: every sample shifted off the ring
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(G2), str(v2))
    seeds = range(6)  # the gate compares distributions: 6 evaluation seeds a side (p can reach 1/924)
    for s in seeds:
        assert cli(v1, tmp_path / "base", "--name", "mine", "--seed", str(s)) == 0
    assert main(["baseline", str(tmp_path / "base"), "--out", str(tmp_path / "baseline.json")]) == 0
    assert main(["report", str(tmp_path / "base"), "--out", str(tmp_path / "report"), "--format", "md"]) == 0
    board = (tmp_path / "report" / "leaderboard.md").read_text()
    assert "ring8 · external:g.pt" in board and "| mine |" in board
    for s in seeds:
        assert cli(v1, tmp_path / "now", "--name", "mine", "--seed", str(s)) == 0
    assert main(["check", "--results", str(tmp_path / "now"), "--baseline", str(tmp_path / "baseline.json")]) == 0
    for s in seeds:  # same name and settings: the same run directories
        assert cli(v2, tmp_path / "now", "--name", "mine", "--seed", str(s)) == 0
    assert sorted(p.name for p in (tmp_path / "now").iterdir() if p.is_dir()) == \
        sorted(p.name for p in (tmp_path / "base").iterdir() if p.is_dir())
    m = json.loads(next((tmp_path / "now").glob("*-s0-*/metrics.json")).read_text())
    assert m["metrics"]["fid"] > trained.metrics["fid"] + 0.1
    assert main(["check", "--results", str(tmp_path / "now"), "--baseline", str(tmp_path / "baseline.json"),
                 "--fail", "fid:10%"]) == 1
    assert "REGRESSION" in capsys.readouterr().out
    assert cli(v1, tmp_path / "seed1", "--seed", "1") == 0
    other_dir, other = only_run(tmp_path / "seed1")
    assert "-s1-" in other_dir.name and other["metrics"]["fid"] != trained.metrics["fid"]  # another latent stream


def test_external_config_is_not_rebuilt_as_a_ganbench_model(trained, tmp_path):
    from ganbench.suite_loader import run_from_dict
    assert cli(trained.root / "g.pt", tmp_path) == 0
    run_dir, _ = only_run(tmp_path)
    with pytest.raises(ConfigError, match=r"model 'external:g.pt' is an external generator evaluated by "
                                          r"'ganbench eval-generator'"):
        run_from_dict(read_json(run_dir / "config.json"))
    assert RunConfig.from_dict(read_json(run_dir / "config.json")).model.name == "external:g.pt"  # keys only


def test_non_finite_samples_mark_the_run_diverged_and_exit_1(gen_module, tmp_path):
    assert cli(f"{gen_module}:nan_points", tmp_path, "--z-dim", "2") == 1
    run_dir, m = only_run(tmp_path)
    assert (m["status"], m["metrics"], m["diagnostics"]["diverged"]) == ("diverged", {}, True)
    assert "non-finite" in m["reason"] and read_json(run_dir / "status.json")["status"] == "diverged"


# ---------------------------------------------------------------- bad input: one line, exit 2

BAD = [
    ("missing file", ["/nonexistent/g.pt"], r"generator file '/nonexistent/g.pt' not found"),
    ("state dict without class", ["{root}/state.pt"],
     r"state.pt: holds a state dict, not a TorchScript module; pass --class module:Class"),
    ("pickled module", ["{root}/pickled.pt"], r"pickled.pt: holds a pickled object \(e.g. torch.save\(model\)\); "
                                              r"ganbench does not unpickle code"),
    ("class is not a module", ["{root}/state.pt", "--class", "{mod}:generate"],
     r"--class 'gbt_ext_gen:generate' is a function, not a torch.nn.Module subclass"),
    ("class as generator", ["{mod}:TinyG"], r"--generator 'gbt_ext_gen:TinyG' is a class; pass its weights"),
    ("bad init-args json", ["{root}/state.pt", "--class", "{mod}:TinyG", "--init-args", "{hidden: 16}"],
     r"--init-args is not valid JSON"),
    ("unknown init arg", ["{root}/state.pt", "--class", "{mod}:TinyG", "--init-args", '{"hiden": 16}'],
     r"--init-args: unknown parameter 'hiden' for generator class 'gbt_ext_gen:TinyG' \(did you mean 'hidden'\?\)"),
    ("weights do not fit", ["{root}/state.pt", "--class", "{mod}:TinyG", "--init-args", '{"hidden": 8}'],
     r"state.pt: does not fit 'gbt_ext_gen:TinyG': Error\(s\) in loading state_dict for TinyG: size mismatch"),
    ("no z_dim", ["{mod}:generate"], r"generator 'gbt_ext_gen:generate': the latent size is unknown or invalid "
                                     r"\(None\); pass --z-dim"),
    ("missing function", ["{mod}:generat"], r"module 'gbt_ext_gen' has no attribute 'generat' \(did you mean "
                                            r"'generate'\?\)"),
    ("wrong sample shape", ["{root}/g.pt", "--data", "digits"],
     r"generator 'g.pt' gives samples of shape \(2,\); dataset 'digits' has shape \(1, 8, 8\)"),
    ("images out of range", ["{mod}:bright_images", "--z-dim", "2", "--data", "digits"],
     r"generator 'gbt_ext_gen:bright_images' gives images in \[3, 3\]; ganbench compares images scaled to \[-1, 1\]"),
    ("unknown extractor", ["{root}/g.pt", "--features", "identiti"],
     r"--features: unknown feature extractor 'identiti' \(did you mean 'identity'\?\)"),
    ("set outside data/eval", ["{root}/g.pt", "--set", "train.steps=3"],
     r"--set 'train.steps=3': eval-generator accepts data.PARAM and eval.KEY only"),
    ("unknown data parameter", ["{root}/g.pt", "--set", "data.stdd=0.1"],
     r"--data: unknown parameter 'stdd' for dataset 'ring8' \(did you mean 'std'\?\)"),
    ("negative seed", ["{root}/g.pt", "--seed", "-1"], r"--seed must be an int in 0..4294967295, got -1"),
    # issue 16: misleading messages and tracebacks
    ("junk device", ["{root}/g.pt", "--device", "junk"],
     r"--device: 'junk' is not a torch device; accepted: cpu, cuda, cuda:N, mps"),
    ("absent GPU", ["{root}/g.pt", "--device", "cuda:99"], r"--device: 'cuda:99' is not available on this machine"),
    ("init-args not an object", ["{root}/state.pt", "--class", "{mod}:TinyG", "--init-args", "[1]"],
     r"--init-args must be a JSON object of keyword arguments"),
    ("identity on images", ["{mod}:grey_images", "--z-dim", "2", "--data", "digits", "--features", "identity"],
     r"extractor 'identity' expects points \[N, d\]"),
    ("digits-cnn on points", ["{root}/g.pt", "--features", "digits-cnn"],
     r"extractor 'digits-cnn' expects images \[N, C, H, W\]"),
]


@pytest.mark.parametrize("why, args, match", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_line_and_exit_2(trained, gen_module, tmp_path, capsys, why, args, match):
    args = [a.replace("{root}", str(trained.root)).replace("{mod}", gen_module) for a in args]
    generator, extra = args[0], args[1:]
    data = extra[extra.index("--data") + 1] if "--data" in extra else "ring8"
    features = "digits-cnn" if data == "digits" else "identity"
    if "--data" in extra:
        i = extra.index("--data")
        extra = extra[:i] + extra[i + 2:]
    if "--features" in extra:
        i = extra.index("--features")
        features, extra = extra[i + 1], extra[:i] + extra[i + 2:]
    assert cli(generator, tmp_path / "out", *extra, data=data, features=features) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("ganbench: error: ")
    assert re.search(match, err), err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("metrics.json"))


# ---------------------------------------------------------------- the worked example

def test_example_focal_loss_is_ns_at_gamma_0_and_pinned_at_gamma_2(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    g = torch.Generator().manual_seed(0)
    real, fake = DOut(torch.randn(16, generator=g)), DOut(torch.randn(16, generator=g))
    focal0, ns = get_loss("mygan.losses:focal_ns", gamma=0.0), get_loss("ns")
    assert torch.equal(focal0.d_loss(real, fake), ns.d_loss(real, fake))
    assert torch.equal(focal0.g_loss(fake, real), ns.g_loss(fake, real))
    focal2 = get_loss("mygan.losses:focal_ns", gamma=2.0)
    zero = DOut(torch.zeros(1))
    # σ(0) = 1/2: each term is (1/2)^2 · softplus(0) = log(2) / 4.
    assert focal2.d_loss(zero, zero).item() == pytest.approx(math.log(2) / 2, rel=1e-6)
    assert focal2.g_loss(zero, zero).item() == pytest.approx(math.log(2) / 4, rel=1e-6)


def test_example_trains_exports_evaluates_and_gates(monkeypatch, tmp_path, capsys):
    """examples/mygan/run_example.sh, step by step in-process (fewer steps and samples)."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    suite = load_suite(EXAMPLE / "suite.toml", overrides=["train.steps=30", "eval.n_samples=300"])
    assert [r.loss.name for r in suite.runs] == ["mygan.losses:focal_ns", "ns"]
    focal = suite.runs[0]
    out = run_one(focal, tmp_path / "results" / focal.run_id)
    assert out.status == "finished", out.error
    from mygan.export import export
    export(tmp_path / "results" / focal.run_id, tmp_path / "generator.pt")
    for seed in range(5):  # latent seeds: the gate compares distributions (5 a side reach p = 1/252 < 0.01)
        assert main(["eval-generator", "--generator", str(tmp_path / "generator.pt"), "--data", "ring8",
                     "--features", "identity", "--n", "300", "--name", "mygan", "--seed", str(seed),
                     "--out", str(tmp_path / "external")]) == 0
    m = read_json(next((tmp_path / "external").glob("*-s0-*/metrics.json")))
    assert m["metrics"] == read_json(tmp_path / "results" / focal.run_id / "metrics.json")["metrics"]
    assert main(["baseline", str(tmp_path / "external"), "--out", str(tmp_path / "baseline.json")]) == 0
    assert main(["check", "--results", str(tmp_path / "external"), "--baseline", str(tmp_path / "baseline.json"),
                 "--fail", "fid:10%"]) == 0
    assert "PASSED" in capsys.readouterr().out


@pytest.mark.slow
def test_example_script_runs_end_to_end(tmp_path):
    env = {**os.environ, "STEPS": "30", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GANBENCH_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(["bash", str(EXAMPLE / "run_example.sh"), str(tmp_path / "work")], env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "regression gate PASSED" in proc.stdout
    assert len(find_run_dirs(tmp_path / "work" / "results")) == 2


class _SmallBatchesOnly(torch.nn.Module):
    """v2 of a generator: fine on the trial batch of 4, broken on the evaluation's larger batches."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.shape[0] > 4:
            raise RuntimeError("this export only takes batches of up to 4")
        return z * 0.5


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.jit is deprecated but still the common export
def test_issue16_failed_reevaluation_keeps_the_last_good_results(trained, tmp_path, capsys):
    # v1/gen.pt evaluates fine; v2/gen.pt fails on batches larger than 4; same --name and --out
    for version, G in (("v1", trained.G), ("v2", _SmallBatchesOnly())):
        (tmp_path / version).mkdir()
        torch.jit.save(torch.jit.script(G), str(tmp_path / version / "gen.pt"))
    out = tmp_path / "out"
    assert cli(tmp_path / "v1" / "gen.pt", out, "--name", "mine", "--z-dim", "2") == 0
    run_dir, _ = only_run(out)
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    capsys.readouterr()
    assert cli(tmp_path / "v2" / "gen.pt", out, "--name", "mine", "--z-dim", "2") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert re.fullmatch(r"ganbench: error: generator 'gen\.pt' failed on a batch of \d+ latents \[\d+, 2\]: "
                        r".*this export only takes batches of up to 4.*", err), err
    assert only_run(out)[0] == run_dir and {p.name: p.read_bytes() for p in run_dir.iterdir()} == before


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_failed_first_evaluation_writes_no_run_directory(tmp_path, capsys):
    torch.jit.save(torch.jit.script(_SmallBatchesOnly()), str(tmp_path / "gen.pt"))
    assert cli(tmp_path / "gen.pt", tmp_path / "out", "--z-dim", "2") == 2
    assert "failed on a batch of" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() or not find_run_dirs(tmp_path / "out")


def test_a_text_file_named_pt2_is_one_line_without_torchs_logged_traceback(tmp_path, capsys):
    (tmp_path / "g.pt2").write_text("not an exported program")
    assert cli(tmp_path / "g.pt2", tmp_path / "out") == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == (f"ganbench: error: {tmp_path / 'g.pt2'}: not a torch.export program (not a zip "
                                    f"archive); write it with torch.export.save")
    assert "Traceback" not in captured.out
    torch.save({"a": torch.zeros(2)}, tmp_path / "zip.pt2")  # a zip archive, but no program: torch logs, then raises
    assert cli(tmp_path / "zip.pt2", tmp_path / "out") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"ganbench: error: {tmp_path / 'zip.pt2'}: not a torch.export program") and "\n" not in err


@pytest.mark.slow
def test_dinov2_example_gives_fd_dinov2_density_coverage_and_cmmd_in_metrics_json_and_report(tmp_path):
    """examples/dinov2_eval/run_example.sh: eval-generator on DINOv2 features from a local random-weights file."""
    pytest.importorskip("timm")
    example = Path(__file__).parent.parent / "examples" / "dinov2_eval" / "run_example.sh"
    env = {**os.environ, "N": "40", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GANBENCH_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(["bash", str(example), str(tmp_path / "work")], env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (run,) = find_run_dirs(tmp_path / "work" / "external")
    m = read_json(run / "metrics.json")
    assert {"fid", "density", "coverage", "cmmd", "vendi"} <= set(m["metrics"])
    assert m["provenance"]["features"] == "dinov2-vit-s14" and m["provenance"]["extractor"]["feature_space"] == "DINOv2-S"
    assert m["provenance"]["weights_sha256"] and any("cmmd from 40 samples" in w for w in m["warnings"])
    board = (tmp_path / "work" / "report" / "leaderboard.md").read_text()
    assert "FD\\_DINOv2-S ↓" in board and "density ↑" in board and "coverage ↑" in board and "CMMD ↓" in board
