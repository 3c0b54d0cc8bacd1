r"""MCMC and sample-quality diagnostics: ESS, split-R̂, kernel Stein discrepancy, MMD.

Shapes.  Chain diagnostics take ``samples`` of shape ``(n_steps, n_chains)`` or
``(n_steps, n_chains, d)`` — the layout of :class:`ebm_ref.samplers.Chains` — and return
one value per coordinate (shape ``(d,)``, or a scalar for 2-D input).  Two-sample and
goodness-of-fit statistics take batches ``(n, d)``.

* :func:`autocorrelation`, :func:`ess` — effective sample size with Geyer's initial
  monotone sequence estimator, pooled over chains as in Vehtari et al. (2021).
* :func:`split_rhat` — potential scale reduction on chains split in halves.
* :func:`ksd`, :func:`ksd_test` — kernel Stein discrepancy with the IMQ kernel; needs only
  the score :math:`s = \nabla_x\log p = -\nabla_x E`, so Z never enters.
* :func:`mmd`, :func:`mmd_test` — maximum mean discrepancy with a Gaussian kernel and a
  permutation test.

References
----------
Geyer (1992), Practical Markov chain Monte Carlo, Statist. Sci. 7.
Vehtari, Gelman, Simpson, Carpenter, Bürkner (2021), Rank-normalization, folding, and
localization: an improved R̂, Bayesian Analysis 16.
Gorham & Mackey (2017), Measuring sample quality with kernels, ICML.
Liu, Lee & Jordan (2016), A kernelized Stein discrepancy for goodness-of-fit tests, ICML.
Chwialkowski, Strathmann & Gretton (2016), A kernel test of goodness of fit, ICML.
Gretton et al. (2012), A kernel two-sample test, JMLR 13.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_batch, as_float_array, as_generator, check_positive, check_positive_int
from .energy import Energy

__all__ = ["autocorrelation", "ess", "split_rhat", "ksd", "ksd_test", "mmd", "mmd_test", "median_bandwidth",
           "mode_indicator", "count_crossings"]


def _chains(samples, name="samples", min_steps=2):
    x = as_float_array(samples, name)
    squeeze = x.ndim == 2
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3:
        raise ValueError(f"{name}: expected shape (n_steps, n_chains) or (n_steps, n_chains, d), got {x.shape}")
    if x.shape[0] < min_steps or x.shape[1] < 1:
        raise ValueError(f"{name}: needs n_steps >= {min_steps} and n_chains >= 1, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name}: contains NaN or inf")
    return x, squeeze


def _autocov(x):
    """Biased autocovariance along axis 0 by FFT: γ_t = (1/n) Σ_{i<n-t} (x_i − x̄)(x_{i+t} − x̄)."""
    n = x.shape[0]
    xc = x - x.mean(axis=0)
    m = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(xc, n=m, axis=0)
    return np.fft.irfft(f * np.conj(f), n=m, axis=0)[:n] / n


def autocorrelation(samples) -> np.ndarray:
    r"""Pooled autocorrelation :math:`\hat\rho_t`, t = 0..n−1, shape (n,) or (n, d).

    .. math::

        \hat\rho_t = 1 - \frac{W - \tfrac1M\sum_m \hat\gamma_{t,m}}{\widehat{\mathrm{var}}^+},\qquad
        \widehat{\mathrm{var}}^+ = \tfrac{n-1}{n} W + \tfrac1n B,

    with :math:`\hat\gamma_{t,m}` the (biased) autocovariance of chain m, W the mean
    within-chain variance and B/n the variance of the chain means (Vehtari et al. 2021,
    eq. 10, as in Stan).  For one chain (B = 0) this is
    :math:`\hat\gamma_t/\hat\gamma_0 - 1/(n-1)`: the usual estimate shifted by O(1/n),
    because W uses the unbiased variance and :math:`\hat\gamma_0` the biased one.
    """
    x, squeeze = _chains(samples)
    n, M, _ = x.shape
    acov = _autocov(x)                                   # (n, M, d)
    W = np.mean(x.var(axis=0, ddof=1), axis=0)           # (d,)
    B_over_n = x.mean(axis=0).var(axis=0, ddof=1) if M > 1 else np.zeros(x.shape[2])
    var_plus = (n - 1) / n * W + B_over_n
    if np.any(var_plus <= 0):
        raise ValueError("samples: a coordinate is constant across all steps and chains; ESS is undefined")
    rho = 1.0 - (W - acov.mean(axis=1)) / var_plus
    return rho[:, 0] if squeeze else rho


def ess(samples) -> np.ndarray:
    r"""Effective sample size with Geyer's initial monotone sequence estimator.

    Notes
    -----
    With pooled autocorrelations :math:`\hat\rho_t` (:func:`autocorrelation`), form the
    pair sums :math:`\Gamma_k = \hat\rho_{2k} + \hat\rho_{2k+1}`, which are positive and
    decreasing for a reversible chain.  Keep them up to the first non-positive one
    (initial positive sequence), replace each by the minimum of those before it
    (initial monotone sequence), and set

    .. math::  \hat\tau = -1 + 2\sum_k \Gamma_k,\qquad \widehat{\mathrm{ESS}} = \frac{nM}{\hat\tau}.

    For an AR(1) chain :math:`x_{t+1} = \rho x_t + \varepsilon_t`, τ = (1+ρ)/(1−ρ).
    The estimate is capped at nM·log10(nM) as in Stan (antithetic chains can exceed nM).
    """
    x, squeeze = _chains(samples, min_steps=4)
    n, M, d = x.shape
    rho = autocorrelation(x)                             # (n, d)
    out = np.empty(d)
    n_pairs = n // 2
    for j in range(d):
        G = rho[: 2 * n_pairs : 2, j] + rho[1 : 2 * n_pairs : 2, j]
        bad = np.flatnonzero(G <= 0)
        K = bad[0] if bad.size else n_pairs
        G = np.minimum.accumulate(G[: max(K, 1)])
        tau = -1.0 + 2.0 * np.sum(G)
        tau = max(tau, 1.0 / np.log10(max(n * M, 10)))
        out[j] = n * M / tau
    return out[0] if squeeze else out


def split_rhat(samples) -> np.ndarray:
    r"""Split-R̂: each chain is cut into two halves, then the potential scale reduction.

    .. math::

        \hat R = \sqrt{\frac{\tfrac{n-1}{n} W + \tfrac1n B}{W}},

    on the 2M half-chains of length n (Gelman et al., BDA3 §11.4).  Near 1 when all
    chains sample the same distribution; above ~1.01 signals non-convergence.
    """
    x, squeeze = _chains(samples, min_steps=4)
    half = x.shape[0] // 2
    parts = np.concatenate([x[:half], x[x.shape[0] - half :]], axis=1)   # (half, 2M, d)
    n = half
    W = np.mean(parts.var(axis=0, ddof=1), axis=0)
    B = n * parts.mean(axis=0).var(axis=0, ddof=1)
    if np.any(W <= 0):
        raise ValueError("samples: a half-chain is constant; R-hat is undefined")
    r = np.sqrt(((n - 1) / n * W + B / n) / W)
    return r[0] if squeeze else r


# ------------------------------------------------------------------ kernel Stein discrepancy
def _score_values(score, x):
    if isinstance(score, Energy):                                  # s = −∇ₓE
        s = score.score(x)
    elif callable(score):
        s = score(x)
    else:
        raise ValueError(f"score: expected an Energy or a callable x -> score, got {type(score).__name__}")
    s = np.asarray(s, dtype=np.float64)
    if s.shape != x.shape:
        raise ValueError(f"score: returned shape {s.shape}, expected {x.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("score: returned NaN or inf")
    return s


def stein_kernel_matrix(x, score, c=1.0, beta=-0.5) -> np.ndarray:
    r"""Langevin Stein kernel :math:`u_p(x_i, x_j)` with the IMQ base kernel, shape (n, n).

    With :math:`k(x,y) = (c^2 + \|x-y\|^2)^\beta`, r = x − y, q = c² + ‖r‖², s = ∇log p:

    .. math::

        u_p(x, y) = s(x)^\top s(y)\,k + s(x)^\top\nabla_y k + s(y)^\top\nabla_x k
                    + \operatorname{tr}\nabla_x\nabla_y k,

        \nabla_x k = 2\beta q^{\beta-1} r = -\nabla_y k,\qquad
        \operatorname{tr}\nabla_x\nabla_y k = -2\beta d\, q^{\beta-1} - 4\beta(\beta-1) q^{\beta-2}\|r\|^2 .

    :math:`E_{x,y\sim p}[u_p] = 0` (Stein's identity), and :math:`E_{q\times q}[u_p]` is
    KSD²(q, p), which is zero only if q = p for the IMQ kernel with β ∈ (−1, 0)
    (Gorham & Mackey 2017).
    """
    x = as_batch(x, None, "x")
    c = check_positive(c, "c")
    beta = float(beta)
    if not -1.0 < beta < 0.0:
        raise ValueError(f"beta: the IMQ exponent must be in (-1, 0), got {beta}")
    s = _score_values(score, x)
    d = x.shape[1]
    r = x[:, None, :] - x[None, :, :]
    r2 = np.sum(r * r, axis=2)
    q = c * c + r2
    k = q**beta
    dk = 2.0 * beta * q ** (beta - 1.0)                              # ∇ₓk = dk · r
    ss = s @ s.T
    sx_r = np.einsum("id,ijd->ij", s, r)                             # s(x_i)·r_ij
    sy_r = np.einsum("jd,ijd->ij", s, r)                             # s(x_j)·r_ij
    trace = -2.0 * beta * d * q ** (beta - 1.0) - 4.0 * beta * (beta - 1.0) * q ** (beta - 2.0) * r2
    # s(x)ᵀ∇_y k = −dk s(x)·r ; s(y)ᵀ∇_x k = dk s(y)·r
    return ss * k - dk * sx_r + dk * sy_r + trace


def ksd(x, score, c=1.0, beta=-0.5, unbiased=True) -> float:
    r"""Squared kernel Stein discrepancy of the sample ``x`` from the density with score ``score``.

    Parameters
    ----------
    x : ndarray, shape (n, d)
    score : Energy or callable
        An Energy (its ``score`` method, −∇ₓE) or a function x -> ∇ₓ log p(x), shape (n, d).
    c, beta : float
        IMQ kernel :math:`(c^2 + \|x-y\|^2)^\beta`, β ∈ (−1, 0).
    unbiased : bool
        U-statistic :math:`\frac{1}{n(n-1)}\sum_{i\ne j} u_p(x_i,x_j)` (may be slightly
        negative) or the V-statistic :math:`\frac1{n^2}\sum_{i,j} u_p`.
    """
    U = stein_kernel_matrix(x, score, c, beta)
    n = U.shape[0]
    if unbiased:
        if n < 2:
            raise ValueError("x: the unbiased KSD needs at least 2 points")
        return float((U.sum() - np.trace(U)) / (n * (n - 1)))
    return float(U.mean())


def ksd_test(x, score, rng, n_boot=1000, c=1.0, beta=-0.5):
    r"""Goodness-of-fit test of H₀: x ~ p by the KSD with a wild bootstrap.

    Statistic :math:`T = n V_n = \frac1n\sum_{i,j} u_p(x_i,x_j)`.  Under H₀ the Stein kernel
    is degenerate and T is approximated by :math:`T^* = \frac1n\sum_{i,j} w_i w_j u_p(x_i,x_j)`
    with Rademacher weights :math:`w_i = \pm1` (Chwialkowski et al. 2016, for independent
    samples; thin a Markov chain first).  p-value :math:`(1 + \#\{T^* \ge T\})/(1 + B)`.

    Returns
    -------
    (statistic, p_value) : tuple of float
    """
    rng = as_generator(rng)
    n_boot = check_positive_int(n_boot, "n_boot", 1)
    U = stein_kernel_matrix(x, score, c, beta)
    n = U.shape[0]
    T = U.sum() / n
    w = rng.choice(np.array([-1.0, 1.0]), size=(n, n_boot))
    boot = np.sum(w * (U @ w), axis=0) / n
    p = (1.0 + np.sum(boot >= T)) / (1.0 + n_boot)
    return float(T), float(p)


# ------------------------------------------------------------------------------ MMD
def median_bandwidth(x, y=None) -> float:
    """Median heuristic: the median pairwise distance of the pooled sample (ℓ of the RBF kernel)."""
    z = as_batch(x, None, "x") if y is None else np.concatenate([as_batch(x, None, "x"), as_batch(y, None, "y")])
    m = min(z.shape[0], 1000)
    z = z[:m]
    d2 = np.sum((z[:, None, :] - z[None, :, :]) ** 2, axis=2)
    med = np.median(np.sqrt(d2[np.triu_indices(m, 1)]))
    if not med > 0:
        raise ValueError("x, y: all points coincide; give bandwidth explicitly")
    return float(med)


def _rbf(z, ell):
    sq = np.sum(z * z, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * z @ z.T, 0.0)
    return np.exp(-d2 / (2.0 * ell * ell))


def _xy(x, y):
    x = as_batch(x, None, "x")
    y = as_batch(y, x.shape[1], "y")
    if x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError(f"x, y: need at least 2 points each, got {x.shape[0]} and {y.shape[0]}")
    return x, y


def mmd(x, y, bandwidth=None) -> float:
    r"""Unbiased MMD² between samples x (n, d) and y (m, d), Gaussian kernel.

    .. math::

        \widehat{\mathrm{MMD}}^2_u = \frac{1}{n(n-1)}\sum_{i\ne i'} k(x_i,x_{i'})
          + \frac{1}{m(m-1)}\sum_{j\ne j'} k(y_j,y_{j'}) - \frac{2}{nm}\sum_{i,j} k(x_i,y_j),

    :math:`k(a,b) = \exp(-\|a-b\|^2/2\ell^2)`, ℓ = ``bandwidth`` or the median heuristic.
    """
    x, y = _xy(x, y)
    ell = median_bandwidth(x, y) if bandwidth is None else check_positive(bandwidth, "bandwidth")
    n, m = x.shape[0], y.shape[0]
    K = _rbf(np.concatenate([x, y]), ell)
    Kxx, Kyy, Kxy = K[:n, :n], K[n:, n:], K[:n, n:]
    return float((Kxx.sum() - np.trace(Kxx)) / (n * (n - 1)) + (Kyy.sum() - np.trace(Kyy)) / (m * (m - 1))
                 - 2.0 * Kxy.mean())


def mmd_test(x, y, rng, n_perm=500, bandwidth=None):
    r"""Permutation test of H₀: x and y come from the same distribution.

    Statistic: the biased MMD² :math:`a^\top K a` of the pooled kernel matrix K with
    :math:`a_i = 1/n` on x and :math:`-1/m` on y.  Under H₀ the pooled sample is
    exchangeable, so the statistic of a random relabelling has the same law; the p-value
    :math:`(1 + \#\{T_\pi \ge T\})/(1 + B)` is exact (valid at every sample size).

    Returns
    -------
    (mmd2_unbiased, p_value) : tuple of float
    """
    x, y = _xy(x, y)
    rng = as_generator(rng)
    n_perm = check_positive_int(n_perm, "n_perm", 1)
    ell = median_bandwidth(x, y) if bandwidth is None else check_positive(bandwidth, "bandwidth")
    n, m = x.shape[0], y.shape[0]
    K = _rbf(np.concatenate([x, y]), ell)
    a = np.concatenate([np.full(n, 1.0 / n), np.full(m, -1.0 / m)])
    T = a @ K @ a
    A = np.stack([a[rng.permutation(n + m)] for _ in range(n_perm)], axis=1)   # (n+m, B)
    Tp = np.sum(A * (K @ A), axis=0)
    p = (1.0 + np.sum(Tp >= T)) / (1.0 + n_perm)
    return mmd(x, y, ell), float(p)


# ------------------------------------------------------------------ mode crossings
def mode_indicator(mixture, x, radius: float = 2.0) -> np.ndarray:
    r"""Which mode each point is in: k if :math:`(x-\mu_k)^\top\Sigma_k^{-1}(x-\mu_k) < r^2`, else −1.

    ``mixture`` is a Gaussian mixture (``params["means"]`` (K, d), ``params["covariances"]``
    (K, d, d)); ``x`` has shape (..., d).  The core of mode k is its ellipse of Mahalanobis
    radius r (r = 2: in 2-D the ellipse holding 1 − e^{−2} ≈ 86 % of a Gaussian's mass).
    Points between the cores are "in transit" (−1), so a chain wandering on a boundary is not
    counted as crossing back and forth.  Where cores overlap, the lower index wins.
    """
    p = mixture.params
    means, covs = np.asarray(p["means"], dtype=float), np.asarray(p["covariances"], dtype=float)
    x = as_float_array(x, "x")
    if x.ndim < 1 or x.shape[-1] != means.shape[1]:
        raise ValueError(f"x: expected shape (..., {means.shape[1]}), got {x.shape}")
    radius = check_positive(radius, "radius")
    out = np.full(x.shape[:-1], -1, dtype=int)
    for k, (m, S) in enumerate(zip(means, covs)):
        z = x - m
        d2 = np.einsum("...i,ij,...j->...", z, np.linalg.inv(S), z)
        out[(d2 < radius**2) & (out < 0)] = k
    return out


def count_crossings(modes) -> int:
    """Number of moves from one mode's core to a different mode's core along a chain.

    ``modes`` is a sequence of integers ≥ −1 from :func:`mode_indicator`; transit values (−1)
    are skipped, so 0, −1, −1, 1 is one crossing and 0, −1, 0 is none.
    """
    m = np.asarray(modes).ravel()
    if m.size and (not np.all(np.isfinite(m.astype(float))) or np.any(m != np.round(m)) or np.any(m < -1)):
        raise ValueError(f"modes: expected integers >= -1 (mode index or -1 for transit), got {m[:10].tolist()}")
    seen = [int(v) for v in m if v >= 0]
    return int(sum(a != b for a, b in zip(seen, seen[1:])))
