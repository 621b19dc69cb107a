"""Sample-quality metrics on features: FID, KID, IS, improved precision/recall, FID∞.

Pure functions. Inputs are numpy arrays or torch tensors of shape (samples, features)
(logits for IS); everything is converted to float64 numpy before any arithmetic, because
FID in float32 is off by more than 10 on ill-conditioned covariances.

FID is exact without ``scipy.linalg.sqrtm``. Write Σ₁ = G·Gᵀ (Cholesky: G = L; or centred
features: G = X₁ᶜᵀ/√(n₁−1)). The nonzero eigenvalues of Σ₁Σ₂ = G·Gᵀ·Σ₂ are those of the
symmetric PSD matrix Gᵀ Σ₂ G, so Tr√(Σ₁Σ₂) = Σ √λᵢ(Gᵀ Σ₂ G): one Cholesky, two triangular
products and a symmetric eigenvalue solve, several times faster than the general eigenproblem
torch-fidelity solves. When Σ₂ = H·Hᵀ too, Gᵀ Σ₂ G = (GᵀH)(GᵀH)ᵀ and Tr√(Σ₁Σ₂) = ‖GᵀH‖_*
(nuclear norm): with raw features and fewer samples than dimensions that is
‖X₁ᶜ X₂ᶜᵀ‖_* / √((n₁−1)(n₂−1)), exact although both covariances are singular.

Conventions follow torch-fidelity (sources of 0.4.0 checked) so values match it on the same features:
unbiased covariance (np.cov), KID's "unbiased" MMD² estimator and population std (ddof=0),
IS splits ``[i·N//s, (i+1)·N//s)`` with population std, precision/recall radii as the (k+1)-th
smallest distance within a set (the point itself counts as the first).

There is no bootstrap of FID over samples: resampling with replacement duplicates samples, and
duplicates inflate FID (issue 15: on Gaussians with true FID 3.20, 2,000 samples a side, d = 64, the point
estimate was 4.38 and the 95% percentile interval [5.45, 5.93], containing neither). FID's noise is
reported as an interval over seeds (``results.summarize``); its sample-size bias by ``fid_infinity``.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import scipy.linalg as sl
from scipy.linalg import blas
from scipy.special import log_softmax

from .catalogue import MIN_SAMPLES, directions

KEY_FID = "fid"
KEY_KID = "kid"
KEY_IS = "is"
KEY_PRECISION = "precision"
KEY_RECALL = "recall"
KEY_FID_INF = "fid_inf"
KEY_DENSITY = "density"     # ganbench.density_coverage
KEY_COVERAGE = "coverage"   # ganbench.density_coverage
KEY_CMMD = "cmmd"           # ganbench.cmmd
KEY_VENDI = "vendi"         # ganbench.vendi

# metric name -> higher_is_better of the sample-quality metrics; MIN_SAMPLES (imported above): the sample count
# each protocol uses. Both from the metric catalogue, which describes every metric once.
METRICS: dict[str, bool] = directions("features")

# Distance blocks in precision_recall hold at most this many float64s (64 MiB), whatever the set sizes.
BLOCK_ELEMENTS = 1 << 23


# ---------------------------------------------------------------- input checks

def _to_numpy(x: Any, name: str) -> np.ndarray:
    if type(x).__module__.startswith("torch"):  # duck-typed so that metrics never imports torch
        x = x.detach().cpu().double().numpy()
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be a numeric array or tensor, got {type(x).__name__} ({e})") from None


def check_features(x: Any, name: str, min_n: int = 2) -> np.ndarray:
    a = _to_numpy(x, name)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (samples, features), got shape {a.shape}")
    if a.shape[0] < min_n or a.shape[1] < 1:
        raise ValueError(f"{name} needs at least {min_n} samples and 1 feature, got shape {a.shape}")
    if not np.isfinite(a).all():
        bad = int(a.size - np.isfinite(a).sum())
        raise ValueError(f"{name} has {bad} non-finite values (NaN or inf) in shape {a.shape}; all must be finite")
    return a


def check_feature_pair(real: Any, fake: Any, min_n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    a, b = check_features(real, "real features", min_n), check_features(fake, "fake features", min_n)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"real and fake features must have the same feature dimension, "
                         f"got real shape {a.shape} and fake shape {b.shape}")
    return a, b


def check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_stats_pair(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> tuple[np.ndarray, ...]:
    out = []
    for name, v, ndim in (("mu1", mu1, 1), ("sigma1", sigma1, 2), ("mu2", mu2, 1), ("sigma2", sigma2, 2)):
        a = _to_numpy(v, name)
        if a.ndim != ndim or a.size == 0:
            raise ValueError(f"{name} must be a non-empty {ndim}-D array, got shape {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"{name} has non-finite values (NaN or inf) in shape {a.shape}; all must be finite")
        out.append(a)
    m1, s1, m2, s2 = out
    d = m1.shape[0]
    if m2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"statistics shapes disagree: mu1 {m1.shape}, sigma1 {s1.shape}, mu2 {m2.shape}, "
                         f"sigma2 {s2.shape}; expected (d,), (d, d), (d,), (d, d)")
    for name, s in (("sigma1", s1), ("sigma2", s2)):
        asym = float(np.abs(s - s.T).max())
        if asym > 1e-8 * max(float(np.abs(s).max()), 1e-300):  # np.cov output is exactly symmetric
            raise ValueError(f"{name} must be a symmetric covariance matrix, got max |S - S^T| = {asym:.3g} "
                             f"in shape {s.shape}")
        if np.diagonal(s).min() < 0.0:
            raise ValueError(f"{name} must be positive semi-definite, got a negative variance "
                             f"{np.diagonal(s).min():.3g} on its diagonal")
    return m1, s1, m2, s2


# ---------------------------------------------------------------- FID

def feature_stats(x: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (``np.cov(x, rowvar=False)``) of features, float64."""
    a = check_features(x, "features")
    mu = a.mean(axis=0)
    xc = a - mu
    sigma = xc.T @ xc  # numpy routes Aᵀ·A to syrk: half the flops, exactly symmetric
    sigma /= a.shape[0] - 1
    return mu, sigma


def _rounding_floor(eigenvalues: np.ndarray) -> float:
    """Eigenvalues of a singular covariance below this are rounding noise (±n·eps·λmax) and count as
    0: kept, a noise value ε would add √ε ≈ 1e-8·√λmax to the trace of the square root."""
    return len(eigenvalues) * np.finfo(np.float64).eps * max(float(eigenvalues.max()), 0.0)


def _factor(sigma: np.ndarray, name: str) -> tuple[np.ndarray, bool]:
    """(G, lower) with G·Gᵀ = Σ: the Cholesky factor (lower=True), or V·√w over the positive
    eigenvalues when Cholesky fails because Σ is singular."""
    try:
        return sl.cholesky(sigma, lower=True, check_finite=False), True
    except sl.LinAlgError:
        pass
    w, v = sl.eigh(sigma, check_finite=False)
    scale = max(float(w[-1]), 0.0)
    if w[0] < -1e-6 * scale:  # rounding makes singular covariances slightly indefinite, never by this much
        raise ValueError(f"{name} must be positive semi-definite, got smallest eigenvalue {w[0]:.3g} "
                         f"against largest {scale:.3g}")
    keep = w > _rounding_floor(w)
    return v[:, keep] * np.sqrt(w[keep]), False


def _tr_sqrt_cov(g: np.ndarray, lower: bool, sigma2: np.ndarray) -> float:
    """Tr√(Σ₁Σ₂) = Σ √λ(Gᵀ Σ₂ G) for Σ₁ = G·Gᵀ; G lower-triangular when ``lower``."""
    if lower:  # triangular products (trmm) take half the flops of gemm
        # sigma2.T is the Fortran-ordered view of the symmetric Σ₂, so BLAS reads it without a copy
        p = blas.dtrmm(1.0, g, sigma2.T, side=1, lower=1)  # Σ₂·L
        m = blas.dtrmm(1.0, g, p, lower=1, trans_a=1, overwrite_b=1)  # Lᵀ·(Σ₂·L)
    else:
        m = g.T @ (sigma2 @ g)
    ev = sl.eigvalsh(m, overwrite_a=True, check_finite=False, driver="evd")
    # No noise floor here: after a Cholesky factor, tiny eigenvalues of Gᵀ Σ₂ G come out accurate
    # (zeroing those below n·eps·λmax cost 2e-6 relative FID at condition 1e5); only negatives go.
    return float(np.sqrt(np.clip(ev, 0.0, None)).sum())


def _tr_sqrt_factors(g1: np.ndarray, g2: np.ndarray) -> float:
    """Tr√(Σ₁Σ₂) = ‖G₁ᵀG₂‖_* for Σᵢ = Gᵢ·Gᵢᵀ (singular values: small ones are not squared first)."""
    return float(sl.svdvals(g1.T @ g2, overwrite_a=True, check_finite=False).sum())


def _live(sigma1: np.ndarray, sigma2: np.ndarray) -> np.ndarray | None:
    """Coordinates with nonzero variance on both sides, or None when all are.

    A zero variance zeroes its whole row and column of a PSD matrix, so that coordinate adds
    nothing to Tr√(Σ₁Σ₂): dropping it is exact, and it lets Cholesky succeed on dead features.
    """
    live = (np.diagonal(sigma1) > 0.0) & (np.diagonal(sigma2) > 0.0)
    return None if live.all() else live


def _tr_sqrt_stats(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    live = _live(sigma1, sigma2)
    if live is not None:
        sigma1, sigma2 = sigma1[np.ix_(live, live)], sigma2[np.ix_(live, live)]
        if sigma1.size == 0:
            return 0.0
    # Tr√(Σ₁Σ₂) = Tr√(Σ₂Σ₁): factor whichever side Cholesky accepts before falling back to eigh
    for a, b in ((sigma1, sigma2), (sigma2, sigma1)):
        try:
            return _tr_sqrt_cov(sl.cholesky(a, lower=True, check_finite=False), True, b)
        except sl.LinAlgError:
            pass
    return _tr_sqrt_cov(*_factor(sigma1, "sigma1"), sigma2)


def fid_from_stats(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """Fréchet distance ‖μ₁−μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½) between two Gaussians, float64, ≥ 0."""
    m1, s1, m2, s2 = check_stats_pair(mu1, sigma1, mu2, sigma2)
    diff = m1 - m2
    value = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * _tr_sqrt_stats(s1, s2)
    return max(float(value), 0.0)  # exact FID is ≥ 0; rounding may dip a hair below


def _centred_factor(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, G) with G·Gᵀ = unbiased covariance of x: G = Xᶜᵀ/√(n−1), d × n."""
    mu = x.mean(axis=0)
    return mu, ((x - mu) / np.sqrt(x.shape[0] - 1)).T


def fid(real: Any, fake: Any) -> float:
    """FID between two feature sets (rows are samples). Exact, float64, ≥ 0.

    With at least d+1 samples on each side this is ``fid_from_stats`` of ``feature_stats``;
    otherwise a covariance is singular and the trace term is computed exactly as the nuclear
    norm of X₁ᶜ X₂ᶜᵀ / √((n₁−1)(n₂−1)), which is also cheaper.
    """
    a, b = check_feature_pair(real, fake)
    d = a.shape[1]
    if min(a.shape[0], b.shape[0]) - 1 >= d:
        return fid_from_stats(*feature_stats(a), *feature_stats(b))
    (m1, g1), (m2, g2) = _centred_factor(a), _centred_factor(b)
    diff = m1 - m2
    value = diff @ diff + np.sum(g1 * g1) + np.sum(g2 * g2) - 2.0 * _tr_sqrt_factors(g1, g2)
    return max(float(value), 0.0)


FID_INF_N_MIN = 5000  # the reference code's smallest N (mchong6/FID_IS_infinity: 15 N from 5,000 to 50,000)


def fid_infinity_ns(n_fake: int) -> list[int]:
    """The default N of ``fid_infinity``: the reference schedule, 15 N evenly spaced from 5,000 to ``n_fake``
    (5k..50k at the reference's 50,000 fakes), when there are at least 10,000 fakes (N spanning a factor of 2
    or more); with fewer, 15 N from n_fake//5 to n_fake (the same 1:10 span is out of reach)."""
    start = FID_INF_N_MIN if n_fake >= 2 * FID_INF_N_MIN else max(2, n_fake // 5)
    return [int(n) for n in np.unique(np.linspace(start, n_fake, 15).astype(int))]


def fid_infinity(real: Any, fake: Any, ns: Sequence[int] | None = None, seed: int = 0) -> dict:
    """FID∞ (Chong & Forsyth 2020): FID_N on N random fakes against all reals, fitted linearly in 1/N.

    ``ns`` defaults to ``fid_infinity_ns(n_fake)``. Real statistics are fixed, as in the paper's code; each N
    draws its fakes without replacement from ``default_rng(seed)`` (the reference shuffles and takes the first
    N). The reference makes its fakes from scrambled Sobol latents: ``evaluate`` does (``models.sobol_latents``).
    Returns ``{"fid_inf": intercept, "slope": slope, "ns": list[int], "fids": list[float]}``.
    """
    a, b = check_feature_pair(real, fake)
    n_fake, d = b.shape
    if ns is None:
        ns = fid_infinity_ns(n_fake)
    ns_list = [check_int("fid_infinity ns entry", n, 2) for n in ns]
    if len(set(ns_list)) < 2 or max(ns_list) > n_fake:
        raise ValueError(f"fid_infinity ns must hold at least 2 distinct sample counts in [2, {n_fake}] "
                         f"(the number of fakes), got {ns_list}")
    mu_r = a.mean(axis=0)
    tr_r = float(np.var(a, axis=0, ddof=1).sum())
    from_stats = a.shape[0] - 1 >= d  # else the real covariance is singular: keep centred features
    if from_stats:
        _, sigma_r = feature_stats(a)
        live = np.diagonal(sigma_r) > 0.0  # dead real features add nothing to Tr√ (see _live)
        g_r, lower = _factor(sigma_r[np.ix_(live, live)], "real covariance") if live.any() else (None, False)
    else:
        live, (_, g_r), lower = np.ones(d, bool), _centred_factor(a), False
    rng = np.random.default_rng(seed)
    fids = []
    for n in ns_list:  # the real factor is computed once and reused for every N
        sub = b[rng.choice(n_fake, n, replace=False)]
        mu_s, tr_s = sub.mean(axis=0), float(np.var(sub, axis=0, ddof=1).sum())
        if not live.any():  # every real feature is constant: Σ_real = 0
            tr_sqrt = 0.0
        elif from_stats and n - 1 >= live.sum():
            tr_sqrt = _tr_sqrt_cov(g_r, lower, feature_stats(sub[:, live])[1])
        else:  # a singular side: the nuclear norm of the factor product is exact and cheaper
            tr_sqrt = _tr_sqrt_factors(g_r, _centred_factor(sub[:, live])[1])
        diff = mu_r - mu_s
        fids.append(max(float(diff @ diff + tr_r + tr_s - 2.0 * tr_sqrt), 0.0))
    slope, intercept = np.polyfit(1.0 / np.asarray(ns_list, dtype=np.float64), np.asarray(fids), 1)
    return {"fid_inf": float(intercept), "slope": float(slope), "ns": ns_list, "fids": fids}


# ---------------------------------------------------------------- KID

EXPANDED_MAX_DIM = 16  # up to this feature size, kernel sums use the cubic kernel's explicit d³ feature map


def _mmd2_poly(x: np.ndarray, y: np.ndarray) -> float:
    """torch-fidelity's "unbiased" MMD² with k(x, y) = (xᵀy/d + 1)³: the XX and YY means drop the
    diagonal, the XY mean keeps it (as in Bińkowski et al.'s code)."""
    d = x.shape[1]
    m, n = x.shape[0], y.shape[0]
    total = _kernel_sum_expanded if d <= EXPANDED_MAX_DIM else _kernel_sum_blocks
    diag_x = np.sum((np.einsum("ij,ij->i", x, x) / d + 1.0) ** 3)
    diag_y = np.sum((np.einsum("ij,ij->i", y, y) / d + 1.0) ** 3)
    xx = (total(x, x) - diag_x) / (m * (m - 1))
    yy = (total(y, y) - diag_y) / (n * (n - 1))
    return float(xx + yy - 2.0 * total(x, y) / (m * n))


def _kernel_sum_blocks(p: np.ndarray, q: np.ndarray) -> float:
    """Σᵢⱼ (pᵢᵀqⱼ/d + 1)³ from the kernel matrix: a |p|×|q| block, one temporary."""
    k = p @ q.T
    k /= p.shape[1]
    k += 1.0
    k *= k * k  # not np.power(k, 3): numpy's generic pow is ~10x slower than two multiplies
    return float(k.sum())


def _kernel_sum_expanded(p: np.ndarray, q: np.ndarray) -> float:
    """The same sum without the matrix: (t + 1)³ = 1 + 3t + 3t² + t³ with t = pᵀq/d, and Σᵢⱼ (pᵢᵀqⱼ)ᵏ is the inner
    product of Σᵢ pᵢ^⊗k and Σⱼ qⱼ^⊗k. O((|p| + |q|)·d³) instead of O(|p|·|q|·d): 2-D points in microseconds."""
    d = p.shape[1]
    s1 = p.sum(0) @ q.sum(0)
    s2 = np.einsum("ni,nj->ij", p, p).ravel() @ np.einsum("ni,nj->ij", q, q).ravel()
    s3 = np.einsum("ni,nj,nk->ijk", p, p, p).ravel() @ np.einsum("ni,nj,nk->ijk", q, q, q).ravel()
    return float(p.shape[0] * q.shape[0] + 3.0 * s1 / d + 3.0 * s2 / d ** 2 + s3 / d ** 3)


def kid(real: Any, fake: Any, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID (Bińkowski et al. 2018): mean and population std (ddof=0) of the unbiased polynomial MMD²
    over ``subsets`` pairs of subsets, each drawn without replacement from ``default_rng(seed)``
    (real indices, then fake indices). Same estimator as torch-fidelity's ``kid_features_to_metric``,
    which draws its indices from ``RandomState(rng_seed)`` instead. May be slightly negative."""
    a, b = check_feature_pair(real, fake)
    subsets = check_int("kid subsets", subsets, 1)
    subset_size = check_int("kid subset_size", subset_size, 2)
    if subset_size > a.shape[0] or subset_size > b.shape[0]:
        raise ValueError(f"kid subset_size={subset_size} is larger than a feature set (real: {a.shape[0]} "
                         f"samples, fake: {b.shape[0]} samples); use subset_size <= {min(a.shape[0], b.shape[0])}")
    rng = np.random.default_rng(seed)
    mmds = np.empty(subsets)
    for i in range(subsets):
        ia = rng.choice(a.shape[0], subset_size, replace=False)
        ib = rng.choice(b.shape[0], subset_size, replace=False)
        mmds[i] = _mmd2_poly(a[ia], b[ib])
    return float(mmds.mean()), float(mmds.std())


# ---------------------------------------------------------------- IS

def inception_score(logits: Any, splits: int = 10) -> tuple[float, float]:
    """IS (Salimans et al. 2016): exp(E_x KL(p(y|x) ‖ p(y))) per split, then mean and std over splits.

    p(y|x) = softmax(logits) in float64 (pass log-probabilities if you have probabilities). Split i
    is rows [i·N//splits, (i+1)·N//splits) in the given order and the std is the population std
    (ddof=0) — torch-fidelity's ``isc_features_to_metric`` with ``shuffle=False``; torch-fidelity
    shuffles by default (RandomState(2020) permutation), so permute the rows the same way to match.
    """
    splits = check_int("inception_score splits", splits, 1)
    z = check_features(logits, "logits", min_n=splits)
    log_p = log_softmax(z, axis=1)
    p = np.exp(log_p)
    n = z.shape[0]
    scores = []
    for i in range(splits):
        lo, hi = i * n // splits, (i + 1) * n // splits
        pc, lpc = p[lo:hi], log_p[lo:hi]
        with np.errstate(divide="ignore", invalid="ignore"):  # classes nobody in the split predicts
            log_q = np.log(pc.mean(axis=0, keepdims=True))
            terms = np.where(pc > 0.0, pc * (lpc - log_q), 0.0)  # 0·log 0 = 0
        scores.append(np.exp(terms.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


# ---------------------------------------------------------------- precision / recall

def squared_distances(x: np.ndarray, y: np.ndarray, y_sq: np.ndarray) -> np.ndarray:
    d2 = x @ y.T
    d2 *= -2.0
    d2 += np.einsum("ij,ij->i", x, x)[:, None]
    d2 += y_sq[None, :]
    return np.maximum(d2, 0.0, out=d2)  # cancellation can leave tiny negatives


def kth_radius_sq(x: np.ndarray, x_sq: np.ndarray, k: int, rows: int) -> np.ndarray:
    """Squared distance to the (k+1)-th nearest point of the set, the point itself being the first."""
    out = np.empty(x.shape[0])
    for lo in range(0, x.shape[0], rows):
        d2 = squared_distances(x[lo:lo + rows], x, x_sq)
        out[lo:lo + rows] = np.partition(d2, k, axis=1)[:, k]
    return out


def precision_recall(real: Any, fake: Any, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    precision: share of fakes within the k-NN ball of at least one real; recall: share of reals
    within the k-NN ball of at least one fake. A ball's radius is the distance to the (k+1)-th
    nearest member of its own set (the centre is the first; duplicates count as neighbours) and
    the boundary is inside, as in torch-fidelity's ``prc``. Distances are computed in float64 blocks
    of at most 2²³ entries, so memory stays bounded for 50k×2048 features.
    """
    k = check_int("precision_recall k", k, 1)
    a, b = check_feature_pair(real, fake, min_n=k + 1)
    a_sq, b_sq = np.einsum("ij,ij->i", a, a), np.einsum("ij,ij->i", b, b)
    r_real = kth_radius_sq(a, a_sq, k, max(1, BLOCK_ELEMENTS // a.shape[0]))
    r_fake = kth_radius_sq(b, b_sq, k, max(1, BLOCK_ELEMENTS // b.shape[0]))
    fake_in, real_in = np.zeros(b.shape[0], bool), np.zeros(a.shape[0], bool)
    rows = max(1, BLOCK_ELEMENTS // a.shape[0])
    for lo in range(0, b.shape[0], rows):  # one pass over fake×real distances serves both directions
        d2 = squared_distances(b[lo:lo + rows], a, a_sq)
        fake_in[lo:lo + rows] = (d2 <= r_real[None, :]).any(axis=1)
        real_in |= (d2 <= r_fake[lo:lo + rows, None]).any(axis=0)
    return float(fake_in.mean()), float(real_in.mean())
