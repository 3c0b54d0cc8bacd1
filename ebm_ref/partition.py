r"""The partition function :math:`Z = \int e^{-E(x)}\,dx` and its logarithm.

Exact routes (this module's first part):

* :func:`log_partition_exact` — the model's closed form;
* :func:`log_partition_quadrature` — adaptive quadrature in 1-D and 2-D
  (``scipy.integrate.quad`` / ``dblquad``) with an error estimate on log Z;
* :func:`log_partition_enumerate` — a sum over :math:`\{0,1\}^d` in chunks, with a
  running log-sum-exp so that no :math:`2^d` array is ever formed.

Estimators (importance sampling, AIS) are added beside them.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import integrate

from ._validate import as_float_array, check_positive_int
from .numerics.enumeration import MAX_ENUMERATE_DIM, enumerate_states, log_partition_enumerate
from .numerics.special import log_mean_exp, logsumexp

__all__ = [
    "MAX_ENUMERATE_DIM",
    "log_partition_exact",
    "log_partition_quadrature",
    "log_partition_enumerate",
    "enumerate_states",
    "logsumexp",
]


def log_partition_exact(model) -> float:
    """log Z in closed form; raises ``NotImplementedError`` naming an estimator otherwise."""
    return float(model.log_partition())


def _energy_fn(model_or_fn, d_expected=None):
    if callable(model_or_fn) and not hasattr(model_or_fn, "energy"):
        return model_or_fn, d_expected
    if not hasattr(model_or_fn, "energy"):
        raise ValueError("model: expected an Energy (with .energy) or a callable E(x) on (n, d) batches")
    return model_or_fn.energy, getattr(model_or_fn, "dim", d_expected)


def log_partition_quadrature(model, bounds, *, epsabs: float = 0.0, epsrel: float = 1e-11,
                             limit: int = 200) -> tuple[float, float]:
    r"""log Z by adaptive quadrature over a box, in 1-D or 2-D.

    Parameters
    ----------
    model : Energy or callable
        An ``Energy`` of dimension 1 or 2, or a function ``E(x)`` on ``(n, d)`` batches.
    bounds : sequence of (low, high) pairs, one per dimension
        The integration box; infinite limits are allowed in 1-D (``quad`` maps them).
        The mass outside the box is not counted: choose it so that it is negligible.

    Returns
    -------
    log_z : float
    err : float
        Error estimate on log Z, from quadrature's absolute error on Z:
        :math:`\delta\log Z \approx \delta Z / Z`.

    Notes
    -----
    The integrand :math:`e^{-E(x)}` is shifted by :math:`E_0 = E(x_c)` at the box
    centre (or 0 for infinite limits) to keep it near 1:
    :math:`\log Z = -E_0 + \log\int e^{-(E(x)-E_0)}dx`.
    """
    b = as_float_array(bounds, "bounds")
    if b.ndim != 2 or b.shape[1] != 2 or b.shape[0] not in (1, 2):
        raise ValueError(f"bounds: expected [(low, high)] for 1-D or two pairs for 2-D, got shape {b.shape}")
    if np.any(b[:, 0] >= b[:, 1]):
        raise ValueError(f"bounds: each low must be < high, got {b.tolist()}")
    d = b.shape[0]
    E, dim = _energy_fn(model, d)
    if dim is not None and dim != d:
        raise ValueError(f"bounds: model has dimension {dim} but {d} interval(s) were given")
    finite = np.isfinite(b).all(axis=1)
    centre = np.zeros(d)
    centre[finite] = 0.5 * (b[finite, 0] + b[finite, 1])
    E0 = float(E(centre[None, :])[0])

    if d == 1:
        def f(t):
            return np.exp(-(E(np.array([[t]]))[0] - E0))

        val, err = integrate.quad(f, b[0, 0], b[0, 1], epsabs=epsabs, epsrel=epsrel, limit=limit)
    else:
        if not np.all(np.isfinite(b)):
            raise ValueError("bounds: 2-D quadrature needs a finite box")

        def f2(y, x):
            return np.exp(-(E(np.array([[x, y]]))[0] - E0))

        val, err = integrate.dblquad(f2, b[0, 0], b[0, 1], b[1, 0], b[1, 1], epsabs=epsabs, epsrel=epsrel)
    if not val > 0:
        raise ValueError("quadrature gave a non-positive integral: the box misses the mass of exp(-E)")
    return float(np.log(val) - E0), float(err / val)



# =============================================================================
# Estimators: importance sampling, annealed importance sampling, reverse AIS.
# =============================================================================
from dataclasses import dataclass, field  # noqa: E402

from . import ais_kernels as _k  # noqa: E402
from ._validate import as_batch, as_generator  # noqa: E402

__all__ += [
    "LogZEstimate",
    "Sandwich",
    "LogLikelihood",
    "log_mean_exp",
    "log_weight_stderr",
    "effective_sample_size",
    "importance_sampling",
    "ais",
    "reverse_ais",
    "bidirectional",
    "validate_schedule",
    "linear_schedule",
    "salakhutdinov_murray_schedule",
    "base_rate_rbm",
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
    for attr in ("log_prob", "sample"):
        if not callable(getattr(proposal, attr, None)):
            raise ValueError(f"proposal: must be a normalized model with log_prob and sample; it has no {attr}")
    n = check_positive_int(n, "n", 1)
    rng = as_generator(rng)
    x = proposal.sample(n, rng)
    lw = -np.asarray(model.energy(x), dtype=np.float64) - np.asarray(proposal.log_prob(x), dtype=np.float64)
    if np.any(np.isnan(lw)) or np.any(lw == np.inf):
        raise FloatingPointError("importance_sampling: a log-weight is NaN or +inf")
    return LogZEstimate.from_log_weights(lw, samples=x)


# ------------------------------------------------------------------------ AIS
def validate_schedule(betas) -> np.ndarray:
    """Check a β schedule: a 1-D array, strictly increasing, from exactly 0 to exactly 1."""
    b = as_float_array(betas, "betas")
    if b.ndim != 1 or b.size < 2:
        raise ValueError(f"betas: expected a 1-D schedule of at least 2 temperatures, got shape {b.shape}")
    if not np.all(np.isfinite(b)):
        raise ValueError("betas: contains NaN or inf")
    if b[0] != 0.0 or b[-1] != 1.0:
        raise ValueError(f"betas: must start at exactly 0 and end at exactly 1, got {b[0]!r} ... {b[-1]!r}")
    if np.any(np.diff(b) <= 0):
        k = int(np.argmax(np.diff(b) <= 0))
        raise ValueError(f"betas: must be strictly increasing; betas[{k + 1}] = {b[k + 1]!r} <= betas[{k}] = {b[k]!r}")
    return b


def linear_schedule(n_temperatures: int) -> np.ndarray:
    """``n_temperatures`` equally spaced β from 0 to 1 (both included)."""
    n = check_positive_int(n_temperatures, "n_temperatures", 2)
    b = np.linspace(0.0, 1.0, n)
    b[-1] = 1.0
    return b


def salakhutdinov_murray_schedule() -> np.ndarray:
    """The schedule of Salakhutdinov & Murray (2008): 14,500 temperatures.

    500 equally spaced in [0, 0.5), 4,000 in [0.5, 0.9) and 10,000 in [0.9, 1] — denser
    where the distributions change fastest, near the target.
    """
    return np.concatenate([
        np.linspace(0.0, 0.5, 500, endpoint=False),
        np.linspace(0.5, 0.9, 4000, endpoint=False),
        np.linspace(0.9, 1.0, 10000),
    ])


def base_rate_rbm(data=None, b_A=None, pseudocount: float = 1.0) -> "_k.BaseRateRBM":
    r"""The base-rate RBM of Salakhutdinov & Murray: independent visible units, no weights.

    Give exactly one of ``data`` (binary, ``(N, d)``: biases from the smoothed marginals,
    :math:`b_{A,i} = \operatorname{logit}\frac{\sum_n v_{ni} + \alpha}{N + 2\alpha}`) or
    ``b_A`` (the biases themselves; zeros give the uniform distribution).
    Returns an ``ebm_ref.ais_kernels.BaseRateRBM`` (``log_prob``, ``sample``, ``log_partition``).
    """
    if (data is None) == (b_A is None):
        raise ValueError("base_rate_rbm: give exactly one of data or b_A")
    if data is not None:
        return _k.BaseRateRBM.from_data(data, pseudocount)
    return _k.BaseRateRBM(b_A)


def _is_binary_rbm(model) -> bool:
    p = getattr(model, "params", None)
    return isinstance(p, dict) and set(p) == {"W", "b", "c"}


def _make_path(model, base, transition, step_size, n_leapfrog):
    if transition not in _k.TRANSITIONS:
        raise ValueError(f"transition: expected one of {_k.TRANSITIONS}, got {transition!r}")
    if transition == "gibbs":
        if not _is_binary_rbm(model):
            raise ValueError("transition: 'gibbs' is for binary RBMs (params W, b, c); "
                             "use 'mh', 'mala' or 'hmc' for a continuous model")
        W, b, c = _k.rbm_arrays(model)
        if base is None:
            base = _k.BaseRateRBM(np.zeros(W.shape[0]))
        if not isinstance(base, _k.BaseRateRBM):
            raise ValueError("base: Gibbs annealing of an RBM needs a base-rate RBM (partition.base_rate_rbm)")
        return _k.RBMPath(W, b, c, base.b_A), base
    if base is None:
        raise ValueError("base: a continuous model needs a normalized base (log_prob and sample), e.g. a Gaussian")
    for attr in ("log_prob", "sample"):
        if not callable(getattr(base, attr, None)):
            raise ValueError(f"base: must be a normalized model with log_prob and sample; it has no {attr}")
    return _k.GeometricPath(model, base, transition, step_size, n_leapfrog), base


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
        if not np.all(np.isfinite(lw)):
            raise FloatingPointError(f"{direction} AIS: non-finite log-weight at temperature step {k} (beta={betas[k]:.6g})")
        if k < K - 1:
            for _ in range(n_inner):
                path.move(betas[k], rng)
    return lw


def _accept_rate(path):
    if isinstance(path, _k.GeometricPath) and path.moves:
        return float(np.mean(path.accepted) / path.moves)
    return None


def ais(model, base, betas, n_chains: int, rng, transition: str = "mala", step_size: float = 0.1,
        n_inner: int = 1, n_leapfrog: int = 5) -> LogZEstimate:
    r"""Annealed importance sampling (Neal 2001) along the geometric path from ``base`` to ``model``.

    Parameters
    ----------
    model : Energy
        Target :math:`p_1^* = e^{-E_1}`.  A binary RBM (params W, b, c) with ``transition="gibbs"``.
    base : normalized model, or BaseRateRBM, or None
        Continuous: :math:`p_0` with ``log_prob``/``sample`` (gradients for MALA/HMC), e.g. a
        ``Gaussian``.  RBM: a :func:`base_rate_rbm` (``None`` → zero biases, the uniform base).
    betas : array (K+1,)
        Schedule :math:`0 = \beta_0 < \beta_1 < \dots < \beta_K = 1` (checked by :func:`validate_schedule`).
    n_chains : int ≥ 1
    rng : Generator or int
    transition : {"mh", "mala", "hmc", "gibbs"}
    step_size : float
        ε of the continuous moves (see ``ebm_ref.ais_kernels.GeometricPath``).
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
    path, base = _make_path(model, base, transition, step_size, n_leapfrog)
    x0 = np.asarray(base.sample(n_chains, rng), dtype=np.float64)
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
    path, base = _make_path(model, base, transition, step_size, n_leapfrog)
    x = as_batch(exact_samples, getattr(model, "dim", None) if not _is_binary_rbm(model) else path.d,
                 "exact_samples")
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
    from ._validate import check_positive

    se_z = check_positive(log_z_stderr, "log_z_stderr", strict=False)
    x = as_batch(x, getattr(model, "dim", None), "x")
    ll = -np.asarray(model.energy(x), dtype=np.float64) - log_z
    n = ll.size
    se_d = float(np.std(ll, ddof=1) / np.sqrt(n)) if n > 1 else 0.0
    return LogLikelihood(float(np.mean(ll)), float(np.hypot(se_z, se_d)), se_z, se_d, ll)
