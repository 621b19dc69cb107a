"""Mode-collapse diagnostics: pure functions on samples, labels or features (float64 inside).

Definitions follow the literature the report quotes beside its own numbers:

* Mixtures of Gaussians (VEEGAN arXiv 1705.07761, PacGAN arXiv 1712.04086 and its
  ``pacgan/extensions.py``): the distance from a sample to mode ``j`` is measured in units
  of that mode's std, ``d_j = ||x - c_j|| / std_j``; the sample's mode is the nearest one in
  those units; it is *high quality* (HQ) when that distance is strictly below 3 (PacGAN's
  ``min_dis < dis_thre``); a mode is *covered* when at least one HQ sample has it as its
  nearest mode; ``reverse_kl = KL(p || uniform_K) = log K - H(p)`` where ``p`` is the
  histogram of HQ samples over the K modes (natural log, ``0 log 0 = 0``).
  With no HQ sample ``p`` does not exist and ``reverse_kl`` is ``nan`` — the value PacGAN's
  code gets too (its histogram is 0/0) — rather than a number that would rank a generator
  that misses every mode next to one that hits some.
* Stacked MNIST (VEEGAN Table 2, PacGAN Table 2): modes = distinct predicted labels among
  generated samples; ``kl = KL(generated label histogram || uniform over the 1000 modes)``, the
  reference of PacGAN's and VEEGAN's code (``classifier_modes`` also takes the real histogram, for
  labelled sets whose classes are not balanced). Even a perfect generator has ``kl > 0`` at a finite
  sample count: ``uniform_kl_floor`` is its expectation (≈ (K-1)/2N: 0.019 for 1000 modes and 26,000
  samples; against a real histogram of as many samples the floor doubles).
* NDB (Richardson & Weiss 2018, ``gans-n-gmms/utils/ndb.py``): k-means bins on real
  features, a pooled two-proportion z-test per bin, NDB = number of bins with p < alpha.

``spread`` and ``detect_collapse`` are ganbench's own collapse alarms over an evaluation
history; their definitions are in their docstrings. Two outcomes are kept apart:

* *collapsed*: the run lost modes during training, a ``detect_collapse`` event (modes fell more
  than ``MODE_DROP`` below the run's own best, or the spread ratio fell under ``MIN_SPREAD_RATIO``);
* *failed to cover*: at the end the run covers fewer than ``COVER_SHARE`` of the K modes
  (``failed_to_cover``), whether or not it ever covered more. A run stuck on one mode from the
  start never collapses, but it fails to cover.

``perfect_generator`` is the sample-size floor of the mixture diagnostics: what a generator that
puts every sample on a mode, uniformly over the K modes, scores with the same number of HQ samples.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from scipy.spatial.distance import cdist
from scipy.stats import norm

HQ_THRESHOLD = 3.0  # stds; VEEGAN/PacGAN's "high quality" radius
MODE_DROP = 0.25         # collapsed: modes fell more than this share below the run's best so far
MIN_SPREAD_RATIO = 0.25  # collapsed: generated spread under this share of the real spread
COVER_SHARE = 0.5        # failed to cover: fewer than this share of the K modes covered at the end
NDB_KMEANS_N_INIT = 10  # fixed so NDB bins depend only on (real features, k, seed)


def _as_f64(x: Any, name: str) -> np.ndarray:
    """numpy array or torch tensor (any device) -> float64 numpy array."""
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch here
        x = x.detach().cpu().double().numpy()
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be numeric, got {type(x).__name__}: {e}") from None


def _as_labels(x: Any, name: str, n_values: int) -> np.ndarray:
    """Integer labels in [0, n_values) as int64; floats are accepted when integral."""
    a = _as_f64(x, name)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D [N], got shape {tuple(a.shape)}")
    if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
        raise ValueError(f"{name} must hold integer labels, got non-integer values")
    if a.size and (a.min() < 0 or a.max() >= n_values):
        raise ValueError(f"{name} must lie in 0..{n_values - 1}, got values in {int(a.min())}..{int(a.max())}")
    return a.astype(np.int64)


def _points(x: Any, name: str) -> np.ndarray:
    a = _as_f64(x, name)
    if a.ndim != 2 or a.shape[0] == 0:
        raise ValueError(f"{name} must be 2-D [N, D] with N >= 1, got shape {tuple(a.shape)}")
    return a


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) in nats with 0 log 0 = 0; inf where p has mass that q lacks."""
    support = p > 0
    if np.any(q[support] == 0):
        return math.inf
    return float(np.sum(p[support] * np.log(p[support] / q[support])))


def mixture_modes(samples: Any, centers: Any, std: Any, threshold: float = HQ_THRESHOLD) -> dict:
    """Modes covered, HQ fraction and reverse KL of samples from a mixture of Gaussians.

    ``samples`` [N, D] (D = 2 for ring8/grid25), ``centers`` [K, D], ``std`` a scalar or
    one std per mode [K]. Non-finite samples (a diverged generator) are never HQ.
    Returns ``modes`` (int), ``hq_fraction`` (HQ samples / all samples), ``reverse_kl``
    (nan when no sample is HQ) and ``mode_histogram`` (HQ samples per mode, list of K ints).
    """
    x = _points(samples, "samples")
    c = _points(centers, "centers")
    if x.shape[1] != c.shape[1]:
        raise ValueError(f"samples are {x.shape[1]}-D but centers are {c.shape[1]}-D; they must match "
                         f"(samples [N, D], centers [K, D])")
    k = c.shape[0]
    s = _as_f64(std, "std")
    if s.ndim == 0:
        s = np.full(k, float(s))
    if s.shape != (k,):
        raise ValueError(f"std must be a scalar or one value per mode [{k}], got shape {tuple(s.shape)}")
    if not np.all(np.isfinite(s) & (s > 0)):
        raise ValueError(f"std must be finite and > 0, got {s.tolist()}")
    if not (math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a finite number of stds > 0, got {threshold!r}")

    with np.errstate(invalid="ignore"):
        d = cdist(x, c) / s[None, :]  # distance in units of each mode's std, as PacGAN
    d[~np.isfinite(d)] = np.inf  # nan rows (non-finite samples) must not win argmin
    nearest = np.argmin(d, axis=1)
    hq = d[np.arange(len(x)), nearest] < threshold
    hist = np.bincount(nearest[hq], minlength=k)
    n_hq = int(hist.sum())
    rkl = _kl(hist / n_hq, np.full(k, 1.0 / k)) if n_hq else math.nan
    return {
        "modes": int(np.count_nonzero(hist)),
        "hq_fraction": n_hq / len(x),
        "reverse_kl": rkl,
        "mode_histogram": [int(v) for v in hist],
    }


def failed_to_cover(modes: float, n_modes: float) -> bool:
    """True when ``modes`` covered at the end is below ``COVER_SHARE`` of ``n_modes`` (e.g. < 4 of 8)."""
    return bool(modes < COVER_SHARE * n_modes)


def perfect_generator(n_hq: int, n_modes: int) -> dict:
    """Expected ``modes`` and ``reverse_kl`` of a perfect generator's ``n_hq`` samples over ``n_modes`` modes.

    Every sample is HQ and its mode uniform over the K modes, so each mode's count is X ~ Binomial(n, 1/K):
    E[modes] = K (1 - (1 - 1/K)^n) and, by linearity over the modes,
    E[reverse_kl] = log K + K E[(X/n) log(X/n)] (exact sum over the binomial, 0 log 0 = 0).
    With n = 0: modes 0 and reverse_kl nan (no histogram). Differences in modes or reverse KL smaller than the gap
    between this and the ideal (K modes, KL 0) are sample size, not coverage.
    """
    from scipy.stats import binom
    for name, v, lo in (("n_hq", n_hq, 0), ("n_modes", n_modes, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"perfect_generator {name} must be an int >= {lo}, got {v!r}")
    n, k = int(n_hq), int(n_modes)
    if n == 0:
        return {"modes": 0.0, "reverse_kl": math.nan}
    x = np.arange(1, n + 1, dtype=np.float64)
    share = x / n
    e_plogp = float(np.sum(binom.pmf(x, n, 1.0 / k) * share * np.log(share)))
    return {"modes": k * -math.expm1(n * math.log1p(-1.0 / k)) if k > 1 else 1.0,
            "reverse_kl": max(math.log(k) + k * e_plogp, 0.0)}


def stacked_labels(channel_labels: Any) -> np.ndarray:
    """Per-channel digits [N, 3] -> Stacked MNIST mode ids 100*c0 + 10*c1 + c2 in 0..999."""
    a = _as_f64(channel_labels, "channel_labels")
    if a.ndim != 2 or a.shape[1] != 3:
        raise ValueError(f"channel_labels must be [N, 3] (one digit per channel), got shape {tuple(a.shape)}")
    digits = np.stack([_as_labels(a[:, i], f"channel_labels[:, {i}]", 10) for i in range(3)], axis=1)
    return digits @ np.array([100, 10, 1], dtype=np.int64)


def classifier_modes(labels: Any, n_modes: int, real_labels: Any = None, eps: float = 0.0) -> dict:
    """Modes and KL of classifier labels of generated samples (Stacked MNIST protocol).

    ``modes`` counts labels predicted for at least one generated sample.
    ``kl = KL(p_gen || q_real)`` in nats, with ``p_gen`` the generated label histogram
    (empty bins contribute 0: 0 log 0 = 0) and ``q_real`` uniform over ``n_modes`` when
    ``real_labels`` is None, else the histogram of ``real_labels``. No smoothing by default
    (``eps=0``): a generated label the real data never shows gives ``kl = inf``, the true
    value. ``eps > 0`` adds ``eps`` to every real count (additive smoothing) to get a finite
    number instead; it shifts every other bin slightly, so report it with the result.
    """
    if isinstance(n_modes, bool) or not isinstance(n_modes, (int, np.integer)) or n_modes < 1:
        raise ValueError(f"n_modes must be an int >= 1, got {n_modes!r}")
    if not (math.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    gen = _as_labels(labels, "labels", n_modes)
    if gen.size == 0:
        raise ValueError("labels must hold at least one generated sample, got 0")
    counts = np.bincount(gen, minlength=n_modes)
    if real_labels is None:
        q = np.full(n_modes, 1.0 / n_modes)
    else:
        real = _as_labels(real_labels, "real_labels", n_modes)
        if real.size == 0:
            raise ValueError("real_labels must hold at least one sample, got 0")
        rc = np.bincount(real, minlength=n_modes) + eps
        q = rc / rc.sum()
    return {
        "modes": int(np.count_nonzero(counts)),
        "kl": _kl(counts / gen.size, q),
        "mode_histogram": [int(v) for v in counts],
    }


def uniform_kl_floor(n_samples: int, n_modes: int) -> float:
    """E KL(p̂ || uniform) for p̂ the histogram of ``n_samples`` draws from the uniform over ``n_modes`` modes.

    The noise floor of ``classifier_modes(...)["kl"]`` against uniform: what a perfect generator scores.
    Exact: each count is Binomial(N, 1/K), so E KL = K · Σ_c P(c) (c/N) log(K c / N) (c = 0 adds nothing);
    for large N it approaches (K - 1) / (2N).
    """
    from scipy.stats import binom
    for key, value in (("n_samples", n_samples), ("n_modes", n_modes)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{key} must be an int >= 1, got {value!r}")
    counts = np.arange(1, n_samples + 1, dtype=np.float64)
    share = counts / n_samples
    return float(n_modes * np.sum(binom.pmf(counts, n_samples, 1.0 / n_modes) * share * np.log(n_modes * share)))


def two_proportion_z(p1: Any, n1: int, p2: Any, n2: int) -> np.ndarray:
    """Pooled two-proportion z statistic (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2)), p pooled.

    Where the pooled share is 0 or 1 both shares are equal and z is 0 (not 0/0).
    """
    p1, p2 = _as_f64(p1, "p1"), _as_f64(p2, "p2")
    p = (p1 * n1 + p2 * n2) / (n1 + n2)
    se = np.sqrt(p * (1 - p) * (1.0 / n1 + 1.0 / n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(se > 0, (p1 - p2) / se, 0.0)


def _nearest(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    return np.argmin(cdist(x, centroids, "sqeuclidean"), axis=1)


def ndb(real_feats: Any, fake_feats: Any, k: int | None = None, alpha: float = 0.05, seed: int = 0,
        whiten: bool = False) -> dict:
    """Number of statistically different bins (Richardson & Weiss 2018).

    k-means (scikit-learn, ``n_init=10``, ``random_state=seed``) splits the real features
    into ``k`` bins; real and fake features are both assigned to their nearest centroid; per
    bin a two-sided pooled two-proportion z-test compares the real and fake shares; bins with
    p < ``alpha`` are different. Default ``k = min(50, n_real // 20)``: at most 50 bins as in
    the paper's smaller experiments, and ~20 real samples per bin so the normal approximation
    of the test holds. ``whiten`` standardises every dimension by the real mean and std first,
    as the reference code's ``whitening`` option.

    Returns ``ndb`` (int), ``ndb_over_k``, ``k``, ``different_bins`` (sorted bin indices) and
    ``z`` (the per-bin statistics, real share minus fake share).
    """
    from sklearn.cluster import KMeans  # heavy import, only NDB needs it

    real = _points(real_feats, "real_feats")
    fake = _points(fake_feats, "fake_feats")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real_feats are {real.shape[1]}-D but fake_feats are {fake.shape[1]}-D; they must match")
    if not (np.all(np.isfinite(real)) and np.all(np.isfinite(fake))):
        raise ValueError("real_feats and fake_feats must be finite; got nan or inf")
    n_real, n_fake = len(real), len(fake)
    if k is None:
        k = min(50, n_real // 20)
        if k < 2:
            raise ValueError(f"ndb needs >= 40 real samples for the default k (min(50, n_real // 20)), "
                             f"got n_real={n_real}; pass k explicitly")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k <= n_real:
        raise ValueError(f"k must be an int in 2..n_real={n_real}, got {k!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")

    if whiten:
        mu, sd = real.mean(axis=0), real.std(axis=0)
        sd[sd == 0] = 1.0  # constant dimensions carry no information; leave them unscaled
        real, fake = (real - mu) / sd, (fake - mu) / sd
    km = KMeans(n_clusters=int(k), n_init=NDB_KMEANS_N_INIT, random_state=seed).fit(real)
    centroids = km.cluster_centers_.astype(np.float64)
    p_real = np.bincount(_nearest(real, centroids), minlength=k) / n_real
    p_fake = np.bincount(_nearest(fake, centroids), minlength=k) / n_fake
    z = two_proportion_z(p_real, n_real, p_fake, n_fake)
    p_values = 2.0 * norm.sf(np.abs(z))  # two-sided; sf keeps precision far in the tail
    different = np.flatnonzero(p_values < alpha)
    return {
        "ndb": int(different.size),
        "ndb_over_k": different.size / k,
        "k": int(k),
        "different_bins": [int(i) for i in different],
        "z": [float(v) for v in z],
    }


def spread(feats: Any) -> float:
    """Root-mean-square distance of the samples to their mean: sqrt(trace of the covariance).

    Covariance with 1/N (ddof 0), so one sample, or a fully collapsed generator, gives 0.
    Scales with the data: spread(a * x + b) = |a| * spread(x).
    """
    x = _points(feats, "feats")
    centred = x - x.mean(axis=0)
    return float(np.sqrt(np.mean(np.sum(centred * centred, axis=1))))


def spread_ratio(real_feats: Any, fake_feats: Any) -> float:
    """spread(fake) / spread(real): ~1 for a faithful generator, -> 0 as it collapses."""
    r = spread(real_feats)
    if not r > 0:
        raise ValueError(f"real_feats have spread {r!r}; the ratio needs real samples that are not all identical")
    return spread(fake_feats) / r


def _finite_number(row: Mapping, key: str) -> float | None:
    v = row.get(key)
    if v is None or isinstance(v, bool):
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"history row at step {row.get('step')!r}: {key} must be a number, got {v!r}") from None
    return v if math.isfinite(v) else None


def detect_collapse(history_rows: Iterable[Mapping] | Any, mode_drop: float = MODE_DROP,
                    min_spread_ratio: float = MIN_SPREAD_RATIO) -> list[dict]:
    """Collapse events in a sequence of evaluations ``{"step", "modes"?, "spread_ratio"?}``.

    * ``what="modes"``: modes covered fall by more than ``mode_drop`` of the best so far,
      ``modes < best * (1 - mode_drop)``;
    * ``what="spread"``: ``spread_ratio < min_spread_ratio``.

    An event marks the onset: it is reported at the first evaluation where its condition
    holds, and again only after an evaluation where it did not (recovery then relapse).
    Rows lacking a diagnostic (key absent, None, nan) leave that diagnostic's state as it was.
    ``best`` is the best value up to and including that evaluation (max modes, max spread
    ratio). Rows must have strictly increasing ``step``. A DataFrame is read row by row.
    Returns ``[{"step", "what", "value", "best"}, ...]`` ordered by step, modes first.
    """
    if not (math.isfinite(mode_drop) and 0 < mode_drop < 1):
        raise ValueError(f"mode_drop must be a share in (0, 1), got {mode_drop!r}")
    if not (math.isfinite(min_spread_ratio) and min_spread_ratio >= 0):
        raise ValueError(f"min_spread_ratio must be a finite number >= 0, got {min_spread_ratio!r}")
    if hasattr(history_rows, "to_dict"):  # pandas DataFrame
        history_rows = history_rows.to_dict("records")

    events: list[dict] = []
    best = {"modes": -math.inf, "spread": -math.inf}
    active = {"modes": False, "spread": False}
    last_step = None
    for row in history_rows:
        if not isinstance(row, Mapping) or "step" not in row:
            raise ValueError(f"each history row must be a mapping with a 'step' key, got {row!r}")
        step = row["step"]
        if last_step is not None and not step > last_step:
            raise ValueError(f"history steps must increase strictly, got {step!r} after {last_step!r}")
        last_step = step
        for what, key in (("modes", "modes"), ("spread", "spread_ratio")):
            value = _finite_number(row, key)
            if value is None:
                continue
            best[what] = max(best[what], value)
            if what == "modes":
                hit = value < best[what] * (1 - mode_drop)
            else:
                hit = value < min_spread_ratio
            if hit and not active[what]:
                events.append({"step": step, "what": what, "value": value, "best": best[what]})
            active[what] = hit
    return events
