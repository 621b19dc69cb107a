"""Measuring the gate itself: its false-alarm rate, its power against deliberate bugs, and its sensitivity.

``python -m ganbench.regression.calibration --work DIR`` trains the ci suite for many seeds (one batched
model per configuration), then:

- **false alarms**: a baseline from seeds 0-7 checked against each disjoint set of 8 seeds (8-15,
  16-23, ...): every set is what another machine, BLAS or thread count would draw, so each failure is
  a false alarm;
- **power**: each sabotage in ``SABOTAGES`` (a real bug, patched in for the duration of a run) is
  trained on fresh seeds and checked against the same baseline: each should fail;
- **sensitivity**: from the pool of unsabotaged outcomes, how large a change of each metric the gate
  detects in 90 % of resampled checks, at several seed counts.

The numbers in docs/regression-gate.md come from this module; the slow tests in tests/test_regression.py
use the same sabotages.
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import math
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import numpy as np

from ..stats import mannwhitney_pvalue, worst_first
from .baseline import baseline_of
from .comparison import DEFAULT_ALPHA, compare_to_baseline
from .measured import Measured, collect
from .rules import resolve_rules


# ---------------------------------------------------------------- sabotages: real bugs, patched in

@contextlib.contextmanager
def _flip_generator_loss() -> Iterator[None]:
    """The generator's loss with its sign flipped: G now pushes its samples away from what D calls real."""
    from ..losses import Loss
    g_loss, member_g_loss = Loss.g_loss, Loss.member_g_loss
    with _patched(Loss, "g_loss", lambda self, fake, real=None: -g_loss(self, fake, real)), \
            _patched(Loss, "member_g_loss", lambda self, fake, real: -member_g_loss(self, fake, real)):
        yield


@contextlib.contextmanager
def _double_training_data_std() -> Iterator[None]:
    """A data-pipeline bug: training batches come with twice the mixture's std; evaluation data is right."""
    from ..data.mixtures import Mixture
    draw = Mixture._draw

    def wide(self: Any, n: int, generator: Any) -> Any:
        x, modes = draw(self, n, generator)
        centers = self.centers.to(x.device)[modes].to(x.dtype)
        return centers + 2 * (x - centers)
    with _patched(Mixture, "sample", wide):
        yield


@contextlib.contextmanager
def _scale_fake_features(factor: float = 1.1) -> Iterator[None]:
    """A metric bug: the generated samples' features come out scaled by ``factor``."""
    from .. import evaluate
    generated = evaluate.generated_features

    def scaled(*args: Any, **kwargs: Any) -> Any:
        out = generated(*args, **kwargs)
        return {**out, "features": out["features"] * factor}
    with _patched(evaluate, "generated_features", scaled):
        yield


@contextlib.contextmanager
def _swap_loss(to: str) -> Iterator[None]:
    """A registry or refactoring bug: every run trains with loss ``to`` whatever its config says."""
    from .. import losses, train
    get_loss = losses.get_loss
    with _patched(train, "get_loss", lambda name, **params: get_loss(to)):
        yield


@contextlib.contextmanager
def _patched(owner: Any, name: str, value: Any) -> Iterator[None]:
    old = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, old)


def _no_patch() -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


# name -> (--set overrides, context manager that patches the bug in, what it stands for)
SABOTAGES: dict[str, tuple[tuple[str, ...], Callable[[], contextlib.AbstractContextManager[None]], str]] = {
    "lr_g=0": (("optim.lr_g=0",), _no_patch, "the generator's learning rate is 0 (an optimiser bug)"),
    "g-loss-sign": ((), _flip_generator_loss, "the generator loss's sign flipped"),
    "steps/10": (("train.steps=200",), _no_patch, "a tenth of the training steps"),
    "data-std×2": ((), _double_training_data_std, "training data with twice the std (a data-pipeline bug)"),
    "fake-features×1.1": ((), _scale_fake_features, "generated features scaled by 1.1 (a metric bug)"),
    "loss→wgan": ((), lambda: _swap_loss("wgan"), "every configuration trains with the wgan loss"),
    "loss→lsgan": ((), lambda: _swap_loss("lsgan"), "every configuration trains with the lsgan loss"),
}


# ---------------------------------------------------------------- training and checking

def run_seeds(suite: str, seeds: list[int], out: Path, overrides: tuple[str, ...] = (),
              patch: Callable[[], contextlib.AbstractContextManager[None]] = _no_patch,
              threads: Optional[int] = None) -> dict[str, Measured]:
    """Train ``suite`` for ``seeds`` into ``out`` (resuming what is there) with ``patch`` applied; its results."""
    from ..suite_loader import load_suite
    from ..runner import run_suite
    loaded = load_suite(suite, overrides=list(overrides), seeds=tuple(seeds))
    with patch():
        run_suite(loaded, out=out, threads=threads, progress=False)
    return collect(out)


def restrict(measured: dict[str, Measured], seeds: set[int]) -> dict[str, Measured]:
    return {k: m.only(seeds) for k, m in measured.items()}


def false_alarms(pool: dict[str, Measured], sets: list[set[int]], alpha: float = DEFAULT_ALPHA) -> dict[str, Any]:
    """The first set as the baseline, each other set checked against it; and every ordered pair of sets."""
    parts = [restrict(pool, s) for s in sets]
    bases = [baseline_of(part, "calibration")[0] for part in parts]  # each set's baseline, made once
    codes = {(i, j): compare_to_baseline(bases[i], parts[j], alpha=alpha).exit_code
             for i, j in itertools.permutations(range(len(sets)), 2)}
    first = [codes[(0, j)] for j in range(1, len(sets))]
    return {"checks": len(first), "passed": first.count(0), "pairs": len(codes), "pairs_failed": sum(codes.values())}


def sensitivity(pool: dict[str, Measured], metric: str, higher: bool, n: int, n_tests: int, changes: list[float],
                draws: int = 400, alpha: float = DEFAULT_ALPHA, seed: int = 0) -> dict[float, float]:
    """P(detect) of a relative worsening of ``metric`` by each change, for ``n`` seeds a side, by resampling.

    Baseline and new seeds are drawn without overlap from the pooled outcomes of one configuration at a time;
    the new values are made worse by the change (FID × (1 + c), HQ × (1 − c)); detection is the first step of
    Holm over the check's ``n_tests`` tests (p < α / n_tests), which is what a lone worsened metric must pass.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for c in changes:
        hits = total = 0
        for m in pool.values():
            values = worst_first([None if s in m.diverged else m.seeds[s].get(metric)
                                  for s in sorted(set(m.seeds) | m.diverged)], higher)
            if len(values) < 2 * n:
                continue
            for _ in range(draws):
                pick = rng.permutation(len(values))
                base, new = values[pick[:n]], values[pick[n:2 * n]]
                new = new * (1 - c) if higher else new * (1 + c)
                p = mannwhitney_pvalue(new, base, "less" if higher else "greater")
                hits += p < alpha / n_tests
                total += 1
        out[c] = hits / total if total else math.nan
    return out


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ganbench.regression.calibration", description=__doc__.split("\n")[0])
    p.add_argument("--work", required=True, help="folder for the runs (resumed when rerun)")
    p.add_argument("--suite", default="ci")
    p.add_argument("--sets", type=int, default=20, help="disjoint 8-seed sets checked against the baseline")
    p.add_argument("--power-sets", type=int, default=3, help="8-seed sets trained under each sabotage")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--skip-power", action="store_true")
    a = p.parse_args(argv)
    work = Path(a.work)
    sets = [set(range(8 * i, 8 * i + 8)) for i in range(a.sets + 1)]
    pool = run_seeds(a.suite, sorted(set().union(*sets)), work / "pool", threads=a.threads)
    fa = false_alarms(pool, sets)
    print(f"false alarms: baseline seeds 0-7 vs {fa['checks']} disjoint 8-seed sets: {fa['passed']} passed; "
          f"all {fa['pairs']} ordered pairs of sets: {fa['pairs_failed']} failed "
          f"({fa['pairs_failed'] / fa['pairs']:.2%})", flush=True)
    base, _ = baseline_of(restrict(pool, sets[0]), "calibration")
    n_tests = len(resolve_rules(None, base)) * len(base["configs"])
    for metric, higher in (("fid", False), ("hq_fraction", True)):
        for n in (4, 8, 12, 16):
            if n * 2 > 8 * (a.sets + 1):
                continue
            curve = sensitivity(pool, metric, higher, n, n_tests, [0.05, 0.1, 0.2, 0.3, 0.5, 1.0])
            print(f"sensitivity {metric} n={n}: " + ", ".join(f"{c:+.0%}: {v:.2f}" for c, v in curve.items()))
    if a.skip_power:
        return 0
    start = 8 * (a.sets + 1)
    seeds = list(range(start, start + 8 * a.power_sets))  # one batched model per configuration and sabotage
    for name, (overrides, patch, what) in SABOTAGES.items():
        safe = name.replace("/", "-").replace("×", "x").replace("→", "-to-")
        measured = run_seeds(a.suite, seeds, work / f"sabotage-{safe}", overrides, patch, a.threads)
        codes = []
        for k in range(a.power_sets):
            c = compare_to_baseline(base, restrict(measured, set(seeds[8 * k:8 * k + 8])))
            codes.append(c.exit_code)
            flagged = sorted({f"{r.config.split('@')[0]}:{r.metric}" for r in c.rows if r.verdict == "REGRESSION"})
            print(f"power {name} set {k}: exit {c.exit_code}; REGRESSION on {', '.join(flagged) or 'nothing'}")
        print(f"power {name} ({what}): failed the gate {codes.count(1)} of {len(codes)} times", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
