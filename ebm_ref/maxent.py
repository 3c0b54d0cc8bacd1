r"""Maximum entropy: why energy-based models have the exponential (Boltzmann) form.

On a finite support :math:`x_1..x_K` with statistics :math:`T(x_k)\in\mathbb R^m`, among all
distributions with prescribed means :math:`\sum_k p_kT(x_k) = \mu`, the one of largest entropy
:math:`H(p) = -\sum_k p_k\log p_k` is

.. math::

    p_k = \frac{e^{\eta^\top T(x_k)}}{Z(\eta)},\qquad Z(\eta) = \sum_k e^{\eta^\top T(x_k)},

the exponential family with statistics T, its η fixed by :math:`\nabla\log Z(\eta) = \mu`.
Lagrange: stationarity of :math:`H(p) + \eta^\top(\sum p_kT_k - \mu) + \lambda(\sum p_k - 1)` gives
:math:`-\log p_k - 1 + \eta^\top T_k + \lambda = 0`, so :math:`\log p_k` is affine in :math:`T_k`.
With the single statistic :math:`T = -E(x)` (a prescribed mean energy) this is the Boltzmann
distribution :math:`p\propto e^{-\beta E}`, β the multiplier: an EBM is the least committal
distribution that reproduces the chosen averages.

Two independent routes, compared by ``ebm-ref verify``:

* :func:`max_entropy_primal` — maximize H directly over the probability simplex with the
  moment constraints (``scipy.optimize.minimize``, SLSQP), knowing nothing of exponentials;
* :func:`max_entropy_dual` — minimize the convex dual :math:`\log Z(\eta) - \eta^\top\mu` over η
  (its gradient :math:`\nabla\log Z - \mu` vanishes at moment matching, note 02) and return the
  exponential family.  Strong duality: :math:`H(p^*) = \log Z(\eta^*) - \eta^{*\top}\mu`.
"""
from __future__ import annotations

import numpy as np
from scipy import optimize
from scipy.special import logsumexp, xlogy

from ._validate import as_float_array

__all__ = ["entropy", "max_entropy_primal", "max_entropy_dual"]

#: SLSQP stopping tolerance on the objective; the primal solution is then accurate to ~1e-7
PRIMAL_FTOL = 1e-15


def entropy(p) -> float:
    r""":math:`H(p) = -\sum_k p_k\log p_k` (with :math:`0\log 0 = 0`)."""
    p = as_float_array(p, "p")
    return float(-np.sum(xlogy(p, p)))


def _check(T, mu):
    T = as_float_array(T, "T")
    if T.ndim == 1:
        T = T[:, None]
    if T.ndim != 2 or T.shape[0] < 2:
        raise ValueError(f"T: expected statistics of shape (K, m) with K >= 2 support points, got {T.shape}")
    mu = as_float_array(mu, "mu", shape=(T.shape[1],))
    lo, hi = T.min(axis=0), T.max(axis=0)
    if np.any(mu <= lo) or np.any(mu >= hi):
        raise ValueError(f"mu: each mean must lie strictly inside the range of its statistic, got {mu.tolist()}, "
                         f"ranges {list(zip(lo.tolist(), hi.tolist()))}")
    return T, mu


def max_entropy_primal(T, mu) -> np.ndarray:
    r"""argmax :math:`H(p)` subject to :math:`\sum_kp_k = 1`, :math:`\sum_kp_kT(x_k) = \mu`, :math:`p\ge 0`.

    Parameters
    ----------
    T : ndarray, shape (K, m) or (K,)
        The statistics at the K support points.
    mu : ndarray, shape (m,)
        Their prescribed means (strictly inside the convex hull of the :math:`T(x_k)`).
    """
    T, mu = _check(T, mu)
    K = T.shape[0]
    cons = [{"type": "eq", "fun": lambda p: np.array([p.sum() - 1.0]), "jac": lambda p: np.ones((1, K))},
            {"type": "eq", "fun": lambda p: T.T @ p - mu, "jac": lambda p: T.T}]
    neg_h = lambda p: float(np.sum(xlogy(p, p)))                           # noqa: E731
    grad = lambda p: np.log(np.maximum(p, 1e-300)) + 1.0                   # noqa: E731
    res = optimize.minimize(neg_h, np.full(K, 1.0 / K), jac=grad, method="SLSQP", constraints=cons,
                            bounds=[(0.0, 1.0)] * K, options={"ftol": PRIMAL_FTOL, "maxiter": 1000})
    if not res.success:
        raise RuntimeError(f"max_entropy_primal: SLSQP did not converge: {res.message}")
    return res.x


def max_entropy_dual(T, mu) -> tuple[np.ndarray, np.ndarray]:
    r"""Minimize :math:`\log Z(\eta) - \eta^\top\mu`; return :math:`(\eta^*, p^*)`, :math:`p^*\propto e^{T\eta^*}`.

    Newton's method on the convex dual: gradient :math:`\mathbb E_\eta T - \mu`, Hessian
    :math:`\operatorname{Cov}_\eta T` (positive definite when the statistics are affinely independent).
    """
    T, mu = _check(T, mu)
    eta = np.zeros(T.shape[1])
    for _ in range(100):
        a = T @ eta
        p = np.exp(a - logsumexp(a))
        m = p @ T
        g = m - mu
        if np.max(np.abs(g)) < 1e-14:
            break
        C = (T - m).T @ ((T - m) * p[:, None])
        step = np.linalg.solve(C, g)
        t = 1.0                                  # backtracking keeps Newton inside its convergence region
        f0 = logsumexp(a) - eta @ mu
        while logsumexp(T @ (eta - t * step)) - (eta - t * step) @ mu > f0 and t > 1e-10:
            t *= 0.5
        eta = eta - t * step
    else:
        raise RuntimeError("max_entropy_dual: Newton did not reach |E T - mu| < 1e-14 in 100 steps")
    a = T @ eta
    return eta, np.exp(a - logsumexp(a))
