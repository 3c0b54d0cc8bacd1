r"""MCMC in high dimension: exact acceptance rates on a Gaussian, and how step sizes must scale.

Target :math:`p = \mathcal N(0, I_d)`, energy :math:`E(x) = \tfrac12\|x\|^2`.  For the three
samplers of :mod:`ebm_ref.samplers`, written here independently and coordinate by coordinate,

* random-walk MH: :math:`y = x + h\xi`;
* MALA: :math:`y = x - h\nabla E(x) + \sqrt{2h}\,\xi = (1-h)x + \sqrt{2h}\,\xi`;
* HMC: momentum :math:`\xi\sim\mathcal N(0, I)`, ``L`` leapfrog steps of size ε,

with :math:`x\sim p` (the chain at stationarity) and :math:`\xi\sim\mathcal N(0, I)`, the log
acceptance ratio :math:`\Lambda` is a sum over coordinates of one quadratic form,

.. math::

    \Lambda = \sum_{i=1}^d z_i^\top M z_i, \qquad z_i = (x_i, \xi_i) \sim \mathcal N(0, I_2),

because every map is linear in each coordinate (:func:`log_ratio_form`).  With the
eigenvalues :math:`\lambda_1 \ge \lambda_2` of M, :math:`\Lambda = \lambda_1U + \lambda_2V` with
:math:`U, V \sim \chi^2_d` independent, and the expected acceptance
:math:`a = \mathbb E\min(1, e^\Lambda)` is one integral over U of a closed form in V
(:func:`expected_acceptance`): an exact answer at every d, not only in the limit.

As :math:`d\to\infty` with :math:`\mathbb E\,e^\Lambda = 1` (detailed balance) and the central
limit theorem, :math:`\Lambda \to \mathcal N(-s^2/2, s^2)` and :math:`a \to 2\Phi(-s/2)`
(:func:`limit_acceptance`).  Per coordinate :math:`\operatorname{Var}(z^\top Mz)` is of order
:math:`h^2` (RWMH, h the proposal standard deviation), :math:`h^3` (MALA) and :math:`\varepsilon^4`
(HMC at a fixed path length :math:`L\varepsilon`), so :math:`s^2 = d\operatorname{Var}` stays fixed
when :math:`h^2`, h and ε scale like :math:`d^{-1}`, :math:`d^{-1/3}` and :math:`d^{-1/4}`.
Writing the step as ℓ times that power of d, :math:`s = c\ell^q` with q = 1, 3, 2, and the squared
distance moved per unit of cost is :math:`\propto\ell^p` with p = 2 (:math:`h^2`), 2 (h) and
1 (ε, since L = τ/ε gradients buy a move of fixed length).  Maximizing
:math:`\ell^{p} \cdot 2\Phi(-c\ell^{q}/2)`, gives acceptance rates that do not depend on
c (:func:`optimal_limit_acceptance`): 0.234, 0.574 and 0.651.

References
----------
G. O. Roberts, A. Gelman, W. R. Gilks, "Weak convergence and optimal scaling of random walk
Metropolis algorithms", Ann. Appl. Probab. 1997.
G. O. Roberts, J. S. Rosenthal, "Optimal scaling of discrete approximations to Langevin
diffusions", JRSS B 1998.
A. Beskos, N. Pillai, G. Roberts, J.-M. Sanz-Serna, A. Stuart, "Optimal tuning of the hybrid
Monte Carlo algorithm", Bernoulli 2013.
"""
from __future__ import annotations

import functools

import numpy as np
from scipy import optimize, special, stats

from ._validate import check_positive, check_positive_int

__all__ = ["SAMPLERS", "log_ratio_form", "expected_acceptance", "limit_acceptance",
           "optimal_limit_acceptance", "dimension_for_acceptance"]

#: the samplers covered, with the exponents (p, q) of "squared move per unit cost ∝ ℓ^p" and
#: "s ∝ ℓ^q" when the step is ℓ times the right power of d (h = ℓ/√d, h = ℓ²/d^{1/3}, ε = ℓ/d^{1/4})
SAMPLERS = {"rwmh": (2, 1), "mala": (2, 3), "hmc": (1, 2)}
#: Gauss–Legendre nodes and half-width (in r = √U) of the χ² integral; the chi(d) density
#: has standard deviation below 0.71 for every d >= 1, so ±30 leaves mass below 1e-100 outside
N_LEGENDRE = 600
R_SPAN = 30.0


@functools.lru_cache(maxsize=4)
def _legendre(n):
    return np.polynomial.legendre.leggauss(n)


def _log_ratio_1d(method, x, xi, step_size, n_leapfrog):
    """The log acceptance ratio of one coordinate (scalars), for E = x²/2."""
    h = step_size
    if method == "rwmh":
        y = x + h * xi
        return -0.5 * y * y + 0.5 * x * x
    if method == "mala":
        y = (1.0 - h) * x + np.sqrt(2.0 * h) * xi
        fwd = (y - (1.0 - h) * x) ** 2 / (4.0 * h)        # -log q(y | x) up to a constant
        bwd = (x - (1.0 - h) * y) ** 2 / (4.0 * h)        # -log q(x | y)
        return -0.5 * y * y + 0.5 * x * x - bwd + fwd
    if method == "hmc":
        q, p = x, xi
        for _ in range(n_leapfrog):
            p = p - 0.5 * h * q
            q = q + h * p
            p = p - 0.5 * h * q
        return -(0.5 * q * q + 0.5 * p * p) + 0.5 * x * x + 0.5 * xi * xi
    raise ValueError(f"method: expected one of {sorted(SAMPLERS)}, got {method!r}")


def log_ratio_form(method: str, step_size: float, n_leapfrog: int = 1) -> np.ndarray:
    r"""The 2×2 matrix M with :math:`\Lambda_i = z_i^\top M z_i`, :math:`z_i = (x_i, \xi_i)`.

    Each coordinate's log ratio is a homogeneous quadratic in :math:`(x_i, \xi_i)`, so M is
    read off by polarization: :math:`M_{11} = \Lambda(1,0)`, :math:`M_{22} = \Lambda(0,1)`,
    :math:`M_{12} = (\Lambda(1,1) - \Lambda(1,0) - \Lambda(0,1))/2`.
    ``step_size`` is h for RWMH and MALA, ε for HMC.
    """
    h = check_positive(step_size, "step_size")
    L = check_positive_int(n_leapfrog, "n_leapfrog", 1)
    f = lambda x, xi: _log_ratio_1d(method, x, xi, h, L)   # noqa: E731
    a, b = f(1.0, 0.0), f(0.0, 1.0)
    c = 0.5 * (f(1.0, 1.0) - a - b)
    return np.array([[a, c], [c, b]])


def expected_acceptance(method: str, step_size: float, d: float, n_leapfrog: int = 1) -> float:
    r"""Exact :math:`\mathbb E\min(1, e^{\Lambda})` on :math:`\mathcal N(0, I_d)` at stationarity.

    Notes
    -----
    :math:`\Lambda = \lambda_1U + \lambda_2V`, :math:`U, V\sim\chi^2_d`.  For
    :math:`\lambda_1 > 0 > \lambda_2` and :math:`U = u`, with :math:`v^* = \lambda_1u/|\lambda_2|`,

    .. math::

        \mathbb E_V\min(1, e^{\lambda_1u + \lambda_2V}) = F_d(v^*)
          + e^{\lambda_1u}(1-2\lambda_2)^{-d/2}\,S_d\big((1-2\lambda_2)v^*\big),

    (:math:`F_d, S_d` the :math:`\chi^2_d` cdf and survival function; the second term tilts the
    :math:`\chi^2_d` density by :math:`e^{\lambda_2 v}`), then one Gauss–Legendre quadrature over
    :math:`r = \sqrt u`.  ``d`` may be any real >= 1 (a Gamma(d/2, 2) law), which lets a root-finder solve for d.
    """
    d = check_positive(d, "d")
    if d < 1.0:
        raise ValueError(f"d: expected a dimension >= 1, got {d}")
    lam2, lam1 = np.linalg.eigvalsh(log_ratio_form(method, step_size, n_leapfrog))
    if lam2 >= 0.0:
        return 1.0
    if lam1 <= 0.0:                     # Λ <= 0 always: a = E e^Λ
        return float(np.exp(-0.5 * d * (np.log1p(-2.0 * lam1) + np.log1p(-2.0 * lam2))))
    k = 0.5 * d                          # χ²_d = Gamma(k, scale 2)
    t = -k * np.log1p(-2.0 * lam2)
    # U = r², r ~ chi(d): a smooth density of width < 0.71 around √d; Gauss–Legendre over ±R_SPAN
    r_mid = np.sqrt(max(d - 0.5, 0.0))
    lo, hi = max(r_mid - R_SPAN, 0.0), r_mid + R_SPAN
    nodes, weights = _legendre(N_LEGENDRE)
    r = 0.5 * (hi - lo) * nodes + 0.5 * (hi + lo)
    u = r * r
    v_star = lam1 * u / -lam2
    tail = special.gammaincc(k, 0.5 * (1.0 - 2.0 * lam2) * v_star)          # S_d((1 − 2λ₂)v*)
    with np.errstate(divide="ignore"):                                    # log 0 = −inf is exact here
        tilted = np.exp(lam1 * u + t + np.log(tail))
    log_pdf_r = (d - 1.0) * np.log(np.maximum(r, 1e-300)) - 0.5 * u - (k - 1.0) * np.log(2.0) - special.gammaln(k)
    inner = special.gammainc(k, 0.5 * v_star) + tilted
    return float(0.5 * (hi - lo) * np.sum(weights * inner * np.exp(log_pdf_r)))


def limit_acceptance(s: float) -> float:
    r""":math:`2\Phi(-s/2)`: the acceptance when :math:`\Lambda\sim\mathcal N(-s^2/2, s^2)`."""
    return float(2.0 * stats.norm.cdf(-0.5 * s))


def optimal_limit_acceptance(method: str) -> float:
    r"""The limiting acceptance that maximizes :math:`\ell^p\,\Phi(-c\ell^q/2)`.

    With :math:`z = c\ell^q/2` the objective is :math:`\propto z^{p/q}\Phi(-z)`; its maximum
    solves :math:`(p/q)\,\Phi(-z) = z\,\varphi(z)`, and the acceptance is :math:`2\Phi(-z)` —
    independent of the constant c, hence of the target's scale.
    """
    if method not in SAMPLERS:
        raise ValueError(f"method: expected one of {sorted(SAMPLERS)}, got {method!r}")
    p, q = SAMPLERS[method]
    z = optimize.brentq(lambda z: (p / q) * stats.norm.cdf(-z) - z * stats.norm.pdf(z), 1e-6, 10.0, xtol=1e-14)
    return float(2.0 * stats.norm.cdf(-z))


def dimension_for_acceptance(method: str, step_size: float, target: float, n_leapfrog: int = 1) -> float:
    r"""The (real) dimension d at which :func:`expected_acceptance` equals ``target``.

    Acceptance falls as d grows at a fixed step, so the root is unique; the scaling law of
    the step size is read from how this d moves with the step.
    """
    if not 0.0 < target < 1.0:
        raise ValueError(f"target: expected an acceptance in (0, 1), got {target}")
    f = lambda logd: expected_acceptance(method, step_size, np.exp(logd), n_leapfrog) - target  # noqa: E731
    lo, hi = np.log(1.0), np.log(1e12)
    if f(lo) < 0 or f(hi) > 0:
        raise ValueError(f"step_size: acceptance {target} is not reached for d in [1, 1e12] at step {step_size}")
    return float(np.exp(optimize.brentq(f, lo, hi, xtol=1e-12)))
