r"""Estimators of log Z from weighted samples: importance sampling, annealed importance
sampling (forward and reverse), their bidirectional sandwich, and the log-likelihood that
an estimated log Z gives.

Every estimator returns log-weights :math:`\ell_i`, one unbiased estimate :math:`e^{\ell_i}`
of Z (or of :math:`1/Z` for reverse AIS) per sample or chain, summarised by
:class:`LogZEstimate`.  The annealing paths and their transitions are in
:mod:`ebm_ref.partition.paths`, the schedules in :mod:`ebm_ref.partition.schedules`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validate import as_batch, as_float_array, as_generator, check_binary, check_positive, check_positive_int, check_returned
from ..energy import require_normalized
from ..numerics.special import log_mean_exp, logsumexp
from .paths import GeometricPath, RBMPath, make_path
from .schedules import validate_schedule

__all__ = [
    "is_chi_square_gaussian",
    "is_log_weight_variance_gaussian",
    "LogZEstimate",
    "Sandwich",
    "sandwich_violations",
    "LogLikelihood",
    "log_weight_stderr",
    "effective_sample_size",
    "importance_sampling",
    "ais",
    "reverse_ais",
    "bidirectional",
    "log_likelihood",
]


def log_weight_stderr(lw) -> float:
    r"""Standard error of :math:`\log\hat Z = \log\bar w` by the delta method, from log-weights.

    .. math::

        \operatorname{se}(\log\hat Z) \approx \frac{\operatorname{sd}(w)}{\sqrt n\,\bar w},

    evaluated with :math:`\tilde w_i = e^{\ell_i - \max\ell}` (the shift cancels in the ratio),
    ``sd`` with ``ddof=1``.  ``inf`` for a single weight (no spread to measure).
    """
    lw = np.asarray(lw, dtype=np.float64)
    n = lw.size
    if n < 2:
        return float("inf")
    w = np.exp(lw - np.max(lw))
    return float(np.std(w, ddof=1) / (np.sqrt(n) * np.mean(w)))


def effective_sample_size(lw) -> float:
    r"""Kish's :math:`\mathrm{ESS} = (\sum w_i)^2/\sum w_i^2`, in the log domain: :math:`e^{2\,\mathrm{lse}(\ell) - \mathrm{lse}(2\ell)}`."""
    lw = np.asarray(lw, dtype=np.float64)
    return float(np.exp(2 * logsumexp(lw) - logsumexp(2 * lw)))


@dataclass(frozen=True)
class LogZEstimate:
    r"""An estimate of log Z from weighted samples.

    Attributes
    ----------
    log_z : float
        :math:`\log\hat Z = \log\frac1n\sum_i e^{\ell_i}`; :math:`\hat Z` is unbiased for Z, so by
        Jensen :math:`E[\log\hat Z] \le \log Z` (a stochastic lower bound).
    stderr : float
        Delta-method standard error of ``log_z`` (:func:`log_weight_stderr`).
    log_weights : ndarray (n,)
        :math:`\ell_i = \log\hat Z_i`, one unbiased estimate of Z per sample or chain
        (the base's log Z is included, so ``log_z = log_mean_exp(log_weights)``).
    ess : float
        Effective sample size of the weights.
    samples : ndarray (n, d) or None
        The final states (AIS) or the proposal draws (IS).
    accept_rate : float or None
        Mean MH acceptance over all moves (continuous AIS transitions).

    Unpacks as ``log_z, stderr = estimate``.
    """

    log_z: float
    stderr: float
    log_weights: np.ndarray
    ess: float
    samples: np.ndarray | None = field(default=None, repr=False)
    accept_rate: float | None = None

    def __iter__(self):
        return iter((self.log_z, self.stderr))

    @classmethod
    def from_log_weights(cls, lw, samples=None, accept_rate=None) -> "LogZEstimate":
        lw = np.asarray(lw, dtype=np.float64)
        if not np.any(np.isfinite(lw)):
            raise FloatingPointError("every weight is zero (all log-weights are -inf): the proposal misses the target")
        return cls(log_mean_exp(lw), log_weight_stderr(lw), lw, effective_sample_size(lw), samples, accept_rate)


# ------------------------------------------------------------ importance sampling
def importance_sampling(model, proposal, n: int, rng) -> LogZEstimate:
    r"""log Z by importance sampling from a normalized proposal q.

    Parameters
    ----------
    model : Energy
        :math:`E` with :math:`Z = \int e^{-E(x)}dx`.
    proposal : normalized model
        Must have ``log_prob(x)`` (normalized: :math:`\int q = 1`) and ``sample(n, rng)``.
    n : int
        Number of draws, ≥ 1.
    rng : Generator or int

    Returns
    -------
    LogZEstimate
        ``log_weights`` :math:`\ell_i = -E(x_i) - \log q(x_i)`, ``log_z`` their log-mean-exp.

    Notes
    -----
    :math:`Z = \int q(x)\,\frac{e^{-E(x)}}{q(x)}dx = E_q[w]`, :math:`w = e^{-E}/q`, so
    :math:`\hat Z = \frac1n\sum_i w(x_i)` with :math:`x_i\sim q` is unbiased, with variance
    :math:`\frac1n(Z^2\,E_p[p/q] - Z^2) = \frac{Z^2}{n}\chi^2(p\,\|\,q)`: small only when q
    covers p's mass and is not much narrower than p anywhere.  In high dimension
    :math:`\chi^2` grows exponentially, which is why AIS exists.
    """
    require_normalized(proposal, "proposal")
    n = check_positive_int(n, "n", 1)
    rng = as_generator(rng)
    d = getattr(model, "dim", None)
    x = np.asarray(proposal.sample(n, rng))
    if x.ndim != 2 or x.shape[0] != n or (d is not None and x.shape[1] != d):
        raise ValueError(f"proposal.sample: returned shape {x.shape}, expected ({n}, {d if d is not None else 'd'})")
    e = check_returned(model.energy(x), (n,), "model.energy")
    lq = check_returned(proposal.log_prob(x), (n,), "proposal.log_prob")
    lw = -e - lq
    if np.any(np.isnan(lw)) or np.any(lw == np.inf):
        raise FloatingPointError("importance_sampling: a log-weight is NaN or +inf")
    return LogZEstimate.from_log_weights(lw, samples=x)


# ------------------------------------------------------------------------ AIS
def _anneal(path, betas, x0, n_inner, rng, direction: str):
    r"""Run one annealing sweep over ``betas`` (either direction) from states ``x0``.

    Returns log-weights :math:`\sum_k \log f_{\beta_k}(x_{k-1}) - \log f_{\beta_{k-1}}(x_{k-1})`
    with a move at every intermediate temperature β_1 … β_{K−1} between weight updates.
    """
    path.start(x0)
    lw = np.zeros(x0.shape[0])
    K = betas.size
    for k in range(1, K):
        lw += path.log_ratio(betas[k], betas[k - 1])
        if not np.isfinite(lw).all():
            raise FloatingPointError(f"{direction} AIS: non-finite log-weight at temperature step {k} (beta={betas[k]:.6g})")
        if k < K - 1:
            for _ in range(n_inner):
                path.move(betas[k], rng)
    return lw


def _accept_rate(path):
    if isinstance(path, GeometricPath) and path.moves:
        return float(np.mean(path.accepted) / path.moves)
    return None


def ais(model, base, betas, n_chains: int, rng, transition: str = "mala", step_size: float = 0.1,
        n_inner: int = 1, n_leapfrog: int = 5) -> LogZEstimate:
    r"""Annealed importance sampling (Neal 2001) along the geometric path from ``base`` to ``model``.

    Parameters
    ----------
    model : Energy
        Target :math:`p_1^* = e^{-E_1}`.  A ``BernoulliRBM`` with ``transition="gibbs"``.
    base : normalized model, or BaseRateRBM, or None
        Continuous: :math:`p_0` with ``log_prob``/``sample`` (gradients for MALA/HMC), e.g. a
        ``Gaussian``.  RBM: a :func:`base_rate_rbm` (``None`` → zero biases, the uniform base).
    betas : array (K+1,)
        Schedule :math:`0 = \beta_0 < \beta_1 < \dots < \beta_K = 1` (checked by :func:`validate_schedule`).
    n_chains : int ≥ 1
    rng : Generator or int
    transition : {"mh", "mala", "hmc", "gibbs"}
    step_size : float
        ε of the continuous moves (see :class:`ebm_ref.partition.paths.GeometricPath`).
    n_inner : int
        Moves per intermediate temperature.
    n_leapfrog : int
        Leapfrog steps per HMC move.

    Returns
    -------
    LogZEstimate
        ``log_weights`` :math:`\log Z_0 + \log w_i`, ``log_z`` their log-mean-exp, ``stderr``, ``ess``.

    Notes
    -----
    Intermediate densities :math:`f_\beta = p_0^{*\,1-\beta}\,p_1^{*\,\beta}`.  A chain draws
    :math:`x_0\sim p_0`, then for k = 1 … K multiplies its weight by
    :math:`f_{\beta_k}(x_{k-1})/f_{\beta_{k-1}}(x_{k-1})` and (for k < K) moves
    :math:`x_k\sim T_{\beta_k}(x_{k-1},\cdot)` with a kernel leaving :math:`p_{\beta_k}` invariant:

    .. math::

        w = \prod_{k=1}^{K}\frac{f_{\beta_k}(x_{k-1})}{f_{\beta_{k-1}}(x_{k-1})},\qquad
        E[w] = \frac{Z_1}{Z_0},\qquad \hat Z = Z_0\,\frac1n\sum_i w_i .

    :math:`\hat Z` is unbiased (importance sampling on the extended space of whole paths);
    :math:`\log\hat Z` is biased low by Jensen, :math:`E[\log\hat Z]\le\log Z`, and
    :math:`P(\log\hat Z > \log Z + t)\le e^{-t}` by Markov's inequality.

    References
    ----------
    R. M. Neal, "Annealed importance sampling", Statistics and Computing 11 (2001) 125–139.
    """
    betas = validate_schedule(betas)
    n_chains = check_positive_int(n_chains, "n_chains", 1)
    n_inner = check_positive_int(n_inner, "n_inner", 1)
    rng = as_generator(rng)
    path, base = make_path(model, base, transition, step_size, n_leapfrog)
    x0 = np.asarray(base.sample(n_chains, rng), dtype=np.float64)
    d = path.d if isinstance(path, RBMPath) else model.dim
    if x0.shape != (n_chains, d):
        raise ValueError(f"base.sample: returned shape {x0.shape}, expected ({n_chains}, {d})")
    lw = _anneal(path, betas, x0, n_inner, rng, "forward") + path.log_z_base
    return LogZEstimate.from_log_weights(lw, samples=path.x.copy(), accept_rate=_accept_rate(path))


def reverse_ais(model, base, betas, exact_samples, rng, transition: str = "mala", step_size: float = 0.1,
                n_inner: int = 1, n_leapfrog: int = 5) -> LogZEstimate:
    r"""Reverse AIS: anneal from exact target samples back to the base; a stochastic upper bound on log Z.

    Parameters
    ----------
    exact_samples : ndarray (n, d)
        Exact draws from the target :math:`p_1` (one chain each).  Other parameters as :func:`ais`.

    Returns
    -------
    LogZEstimate
        ``log_weights`` :math:`u_i = \log Z_0 - \rho_i`, with :math:`\rho_i` the reverse log-weight
        of chain i; ``log_z`` :math:`= \log Z_0 - \log\frac1n\sum_i e^{\rho_i}` (the upper bound);
        ``stderr`` the delta-method error of :math:`\log\frac1n\sum e^{\rho_i}`; ``ess`` that of ρ.

    Notes
    -----
    Run the schedule backwards, :math:`\beta_K = 1 \to \beta_0 = 0`, from :math:`x_K\sim p_1`:

    .. math::

        \rho = \sum_{k=K}^{1}\log\frac{f_{\beta_{k-1}}(x_k)}{f_{\beta_k}(x_k)},\qquad
        E[e^{\rho}] = \frac{Z_0}{Z_1},

    the same argument as forward AIS with the roles of base and target exchanged.  Jensen on
    :math:`R = \frac1n\sum e^{\rho_i}`: :math:`E[\log R]\le\log(Z_0/Z_1)`, hence

    .. math::

        E\big[\log Z_0 - \log R\big] \;\ge\; \log Z_1 ,

    the quantity returned is an upper bound *in expectation*, and by Markov
    :math:`P(\log Z_0 - \log R < \log Z_1 - t) \le e^{-t}`.  (The mean of the per-chain
    :math:`\log Z_0 - \rho_i` is also an upper bound in expectation, a looser one.)
    Exact target samples are needed at the start: a chain started from approximate samples
    loses the guarantee.

    References
    ----------
    R. B. Grosse, Z. Ghahramani, R. P. Adams, "Sandwiching the marginal likelihood using
    bidirectional Monte Carlo", arXiv:1511.02543 (2015).
    """
    betas = validate_schedule(betas)
    n_inner = check_positive_int(n_inner, "n_inner", 1)
    rng = as_generator(rng)
    path, base = make_path(model, base, transition, step_size, n_leapfrog)
    x = as_batch(exact_samples, path.d if isinstance(path, RBMPath) else model.dim, "exact_samples")
    if x.shape[0] == 0:
        raise ValueError("exact_samples: expected at least one sample (one chain each), got shape "
                         f"{x.shape}")
    if isinstance(path, RBMPath):
        check_binary(x, "exact_samples")
    rho = _anneal(path, betas[::-1], x, n_inner, rng, "reverse")
    log_r = log_mean_exp(rho)
    u = path.log_z_base - rho
    return LogZEstimate(path.log_z_base - log_r, log_weight_stderr(rho), u, effective_sample_size(rho),
                        path.x.copy(), _accept_rate(path))


@dataclass(frozen=True)
class Sandwich:
    r"""Bidirectional Monte Carlo: forward AIS below, reverse AIS above.

    ``lower`` = forward :math:`\log\hat Z` (:math:`E[\text{lower}]\le\log Z`), ``upper`` =
    reverse :math:`\log Z_0 - \log R` (:math:`E[\text{upper}]\ge\log Z`); ``gap = upper − lower``
    shrinks to 0 as the schedule lengthens and the transitions mix.
    """

    lower: float
    upper: float
    forward: LogZEstimate
    reverse: LogZEstimate

    @property
    def gap(self) -> float:
        return self.upper - self.lower

    def contains(self, log_z: float, slack: float = 0.0) -> bool:
        """Whether lower − slack ≤ log_z ≤ upper + slack."""
        return self.lower - slack <= log_z <= self.upper + slack


def sandwich_violations(lower, upper, lower_se, upper_se, z: float = 3.5):
    r"""Where averaged sandwich bounds break the sandwich beyond z standard errors.

    ``lower``/``upper`` are the mean bounds (averaged :attr:`Sandwich.lower` and
    :attr:`Sandwich.upper`) minus the exact log Z, one per schedule length, with their standard
    errors.  Returns the indices where :math:`\bar\ell - z\,se > 0` (the lower bound above
    log Z) or :math:`\bar u + z\,se < 0` (the upper bound below it), and the indices where the
    averaged lower bound exceeds the averaged upper one (possible by chance when both are close
    to log Z).
    """
    lo, up = as_float_array(lower, "lower"), as_float_array(upper, "upper")
    lse, use = as_float_array(lower_se, "lower_se"), as_float_array(upper_se, "upper_se")
    if lo.ndim != 1 or not (lo.shape == up.shape == lse.shape == use.shape):
        raise ValueError(f"lower, upper, lower_se, upper_se: expected 1-D arrays of one length, got shapes "
                         f"{lo.shape}, {up.shape}, {lse.shape}, {use.shape}")
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(up))) or np.any(~(lse >= 0)) or np.any(~(use >= 0)):
        raise ValueError("lower, upper must be finite and lower_se, upper_se finite and >= 0")
    z = check_positive(z, "z")
    bad = np.flatnonzero((lo - z * lse > 0) | (up + z * use < 0))
    crossed = np.flatnonzero(lo > up)
    return bad.tolist(), crossed.tolist()


def bidirectional(model, base, betas, n_chains: int, rng, exact_samples, transition: str = "mala",
                  step_size: float = 0.1, n_inner: int = 1, n_leapfrog: int = 5) -> Sandwich:
    r"""Forward AIS (``n_chains`` chains) and reverse AIS (from ``exact_samples``) on one schedule.

    ``exact_samples`` are exact draws from the target, e.g. ``Gaussian.sample`` or
    ``BernoulliRBM.sample`` (which enumerates the hidden layer of a small RBM).
    See :func:`ais` and :func:`reverse_ais` for the two bounds.
    """
    rng = as_generator(rng)
    fwd = ais(model, base, betas, n_chains, rng, transition, step_size, n_inner, n_leapfrog)
    rev = reverse_ais(model, base, betas, exact_samples, rng, transition, step_size, n_inner, n_leapfrog)
    return Sandwich(fwd.log_z, rev.log_z, fwd, rev)


# ------------------------------------------------------------ log-likelihood
@dataclass(frozen=True)
class LogLikelihood:
    r"""Mean log-likelihood :math:`\bar\ell = \frac1N\sum_n -E(x_n) - \log\hat Z` with its errors.

    ``stderr_log_z`` is the propagated error of :math:`\log\hat Z` (it shifts every point alike);
    ``stderr_data`` is :math:`\operatorname{sd}(-E(x_n))/\sqrt N`, the sampling error of the data
    average; ``stderr`` combines them in quadrature (they are independent).
    """

    mean: float
    stderr: float
    stderr_log_z: float
    stderr_data: float
    per_point: np.ndarray = field(repr=False)

    def __iter__(self):
        return iter((self.mean, self.stderr))


def log_likelihood(model, x, log_z: float, log_z_stderr: float = 0.0) -> LogLikelihood:
    r"""Mean log-likelihood of data under a model whose log Z is estimated.

    Parameters
    ----------
    model : Energy
    x : ndarray (N, d)
    log_z : float
        An estimate :math:`\log\hat Z` (e.g. ``ais(...).log_z``) or the exact value.
    log_z_stderr : float, ≥ 0
        Its standard error.

    Notes
    -----
    :math:`\log p(x) = -E(x) - \log Z`, so the error of :math:`\log\hat Z` enters every
    point with coefficient −1: :math:`\operatorname{se}(\bar\ell)^2 = \operatorname{se}(\log\hat Z)^2 + \operatorname{var}(-E)/N`.
    Because AIS underestimates log Z in expectation, a log-likelihood computed with it
    *overestimates* in expectation; the reverse bound gives a conservative value.
    """
    log_z = float(log_z)
    if not np.isfinite(log_z):
        raise ValueError(f"log_z: must be finite, got {log_z}")
    se_z = check_positive(log_z_stderr, "log_z_stderr", strict=False)
    x = as_batch(x, getattr(model, "dim", None), "x")
    if x.shape[0] == 0:
        raise ValueError(f"x: expected at least one data point, got shape {x.shape}")
    ll = -check_returned(model.energy(x), (x.shape[0],), "model.energy") - log_z
    n = ll.size
    se_d = float(np.std(ll, ddof=1) / np.sqrt(n)) if n > 1 else 0.0
    return LogLikelihood(float(np.mean(ll)), float(np.hypot(se_z, se_d)), se_z, se_d, ll)


# ------------------------------------------------ importance sampling in closed form (Gaussians)
def _check_is_gaussian(d, scale):
    if int(d) != d or d < 1:
        raise ValueError(f"d: expected an integer >= 1, got {d!r}")
    if not scale**2 > 0.5:
        raise ValueError(f"scale: the weights have finite variance only for scale² > 1/2, got scale = {scale!r}")


def is_chi_square_gaussian(d: int, scale: float, shift: float = 0.0) -> float:
    r"""Relative variance of the importance weights, :math:`\operatorname{Var}_q(w/Z) = \chi^2(p\,\|\,q)`,
    for the target :math:`p = N(0, I_d)` and the proposal :math:`q = N(s\mathbf 1, \sigma^2 I_d)`.

    :math:`\chi^2 = \mathbb E_q[(p/q)^2] - 1 = \rho^d - 1`, the integral factorising over the
    coordinates, with the one-dimensional integral (finite for :math:`\sigma^2 > 1/2`)

    .. math:: \rho = \int \frac{N(x; 0, 1)^2}{N(x; s, \sigma^2)}\,dx
                   = \frac{\sigma^2}{\sqrt{2\sigma^2 - 1}}\exp\Big(\frac{s^2}{2\sigma^2 - 1}\Big).
    """
    _check_is_gaussian(d, scale)
    log_rho = 2.0 * np.log(scale) - 0.5 * np.log(2.0 * scale**2 - 1.0) + shift**2 / (2.0 * scale**2 - 1.0)
    return float(np.expm1(d * log_rho))


def is_log_weight_variance_gaussian(d: int, scale: float, shift: float = 0.0) -> float:
    r"""Variance of the log-weight :math:`\ell = -E(x) - \log q(x)` under :math:`x \sim q`, same target and proposal.

    With :math:`x = s + \sigma z`, each coordinate adds :math:`\tfrac12(1 - \sigma^2)z^2 - s\sigma z` + const, so
    :math:`\operatorname{Var}\ell = d\,\big[\tfrac12(1 - \sigma^2)^2 + s^2\sigma^2\big]`: linear in d,
    while :math:`\chi^2` grows exponentially.
    """
    _check_is_gaussian(d, scale)
    return float(d * (0.5 * (1.0 - scale**2) ** 2 + shift**2 * scale**2))
