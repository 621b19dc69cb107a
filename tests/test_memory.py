"""Evaluation memory is bounded: 50,000 samples cost about what 5,000 do.

Each measurement runs in a fresh subprocess (``ru_maxrss`` is a per-process high-water mark): an
untrained generator is evaluated with the default metric set (FID, KID, precision/recall, modes) and
the peak RSS is compared with the RSS just before evaluation. What holding everything at once would
add is computed for the same models: the activations of the generator and the feature extractor for
all n samples in one pass (measured per sample with forward hooks), plus the n x n distance matrices
that precision/recall's k-NN radii and cross distances would need if they were not computed in
blocks. Growth from n = 5,000 to n = 50,000 must stay a small fraction of that, and small in absolute
terms (the features themselves, ~1 KB per digits sample, are all that should grow).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SMALL, LARGE = 5_000, 50_000

PROBE = textwrap.dedent("""
    import json, resource, sys
    import torch
    torch.set_num_threads(1)
    from ganbench.config import EvalConfig
    from ganbench.data import get_dataset
    from ganbench.evaluate import extractor_for, measure_generator
    from ganbench.models import build_models

    def rss_now():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize()

    def activation_bytes_per_sample(module, x):
        total = [0]
        def hook(m, i, o):
            total[0] += o.numel() * o.element_size() if torch.is_tensor(o) else 0
        hooks = [m.register_forward_hook(hook) for m in module.modules() if m is not module]
        with torch.no_grad():
            module(x)
        for h in hooks:
            h.remove()
        return total[0] / len(x)

    name, n = sys.argv[1], int(sys.argv[2])
    ds = get_dataset(name)
    torch.manual_seed(0)
    model, params = {"ring8": ("mlp", {"hidden": 64, "depth": 3}),
                     "digits": ("dcgan", {"z_dim": 32, "ngf": 32, "ndf": 32})}[name]
    G, _ = build_models(model, ds.shape, **params)
    G.eval()
    cfg = EvalConfig(n_samples=n, metrics=("fid", "kid", "pr", "modes"), floor=False)
    z = G.sample_latent(100, torch.Generator().manual_seed(0))
    per_sample = activation_bytes_per_sample(G, z)
    net = getattr(extractor_for(ds, cfg), "net", None)  # digits-cnn; identity has no activations
    if net is not None:
        per_sample += activation_bytes_per_sample(net, G(z).detach())
    before = rss_now()
    out = measure_generator(G, ds, cfg, seed=0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux
    print(json.dumps({"growth": peak - before, "n_real": out["provenance"]["n_real"],
                      "act_per_sample": per_sample, "fid": out["metrics"]["fid"]}))
""")


def naive_bytes(n_fake: int, n_real: int, act_per_sample: float) -> float:
    """Extra memory of an all-at-once evaluation: one unbatched forward pass plus unblocked k-NN distances."""
    return n_fake * act_per_sample + 8.0 * (n_real * n_real + n_fake * n_fake + n_real * n_fake)


@pytest.fixture(scope="module")
def measurements(tmp_path_factory):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GANBENCH_CACHE": str(tmp_path_factory.mktemp("cache"))}
    cases = [(name, n) for name in ("ring8", "digits") for n in (SMALL, LARGE)]
    procs = {c: subprocess.Popen([sys.executable, "-c", PROBE, c[0], str(c[1])], env=env, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE) for c in cases}
    out = {}
    for case, p in procs.items():
        stdout, stderr = p.communicate(timeout=1800)
        assert p.returncode == 0, stderr
        out[case] = json.loads(stdout.strip().splitlines()[-1])
    return out


@pytest.mark.slow  # four evaluations, two of 50,000 samples: minutes on 2 cores
@pytest.mark.parametrize("name", ["ring8", "digits"])
def test_evaluation_memory_does_not_grow_with_the_sample_count(measurements, name):
    small, large = measurements[(name, SMALL)], measurements[(name, LARGE)]
    extra = large["growth"] - small["growth"]
    naive = (naive_bytes(LARGE, large["n_real"], large["act_per_sample"])
             - naive_bytes(SMALL, small["n_real"], small["act_per_sample"]))
    print(f"\n{name}: peak RSS growth during evaluation {small['growth'] / 2**20:.0f} MiB at n={SMALL}, "
          f"{large['growth'] / 2**20:.0f} MiB at n={LARGE} (+{extra / 2**20:.0f} MiB); "
          f"all-at-once would add {naive / 2**30:.1f} GiB")
    assert extra < 0.05 * naive
    assert extra < 256 * 2**20
