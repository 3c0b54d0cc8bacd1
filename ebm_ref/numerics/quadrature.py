r"""Quadrature rules, each written once: :math:`\int_a^b f(x)\,dx \approx \sum_j w_j f(x_j)`.

Fixed rules (nodes and weights, for integrands evaluated on a batch of points at once):

* :func:`gauss_legendre` — n nodes on [a, b], exact for polynomials of degree ≤ 2n − 1;
  :func:`gauss_legendre_grid` — their tensor product on a 1-D or 2-D box;
  :func:`grid_log_integral` — :math:`\log\int_{box} e^{g(x)}dx` on that grid, g evaluated in
  one vectorised call (no adaptivity: for smooth integrands on a box);
* :func:`gauss_hermite` — n probabilists' nodes for :math:`\mathbb E_{\varepsilon\sim\mathcal N(0,1)}[g(\varepsilon)]`,
  exact for polynomials of degree ≤ 2n − 1;
* :func:`composite_simpson` — Simpson's rule on an equally spaced grid, error :math:`O(h^4)`;
* :func:`tanh_sinh` — the double-exponential rule on (0, 1) for endpoint singularities,
  with :func:`tanh_sinh_refine` halving its step until two values agree.

Adaptive rules (``scipy.integrate``, QUADPACK), each returning an error estimate:

* :func:`adaptive_quad` — 1-D, scalar integrand, finite or infinite limits;
* :func:`adaptive_quad_vec` — 1-D, vector-valued integrand, split at given points;
* :func:`adaptive_dblquad` — 2-D on a finite box.

Nothing here knows of models: callers pass functions of points.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np
from scipy import integrate
from scipy.special import expit

from .._validate import check_positive_int
from .special import logsumexp

__all__ = [
    "gauss_legendre",
    "gauss_legendre_grid",
    "grid_log_integral",
    "gauss_hermite",
    "composite_simpson",
    "tanh_sinh",
    "tanh_sinh_refine",
    "TANH_SINH_TOL",
    "adaptive_quad",
    "adaptive_quad_vec",
    "adaptive_dblquad",
]


# ------------------------------------------------------------------ Gauss–Legendre
@lru_cache(maxsize=16)
def _leggauss(n: int):
    # the nodes are the eigenvalues of an n × n Jacobi matrix: worth computing once per n
    t, w = np.polynomial.legendre.leggauss(n)
    t.setflags(write=False)
    w.setflags(write=False)
    return t, w


def gauss_legendre(n: int, a: float = -1.0, b: float = 1.0):
    r"""Gauss–Legendre nodes and weights on [a, b].

    Parameters
    ----------
    n : int, ≥ 2
        Number of nodes.
    a, b : float
        Finite interval, a < b.

    Returns
    -------
    x : ndarray (n,)
        Nodes :math:`x_j = \tfrac{b-a}2 t_j + \tfrac{a+b}2`, with :math:`t_j` the roots of the
        Legendre polynomial :math:`P_n` on [−1, 1].
    w : ndarray (n,)
        Weights :math:`\tfrac{b-a}2 w_j^{(0)}`.

    Notes
    -----
    :math:`\int_a^b f \approx \sum_j w_j f(x_j)` is exact for polynomials of degree ≤ 2n − 1.
    For f analytic in a Bernstein ellipse with parameter ρ > 1 about [a, b], the error decays
    like :math:`\rho^{-2n}`: exponentially for smooth integrands that vanish at the ends.
    The reference nodes are cached per n (an eigenvalue problem of size n).
    """
    n = check_positive_int(n, "n", 2)
    a, b = float(a), float(b)
    if not (np.isfinite(a) and np.isfinite(b)) or not a < b:
        raise ValueError(f"[a, b]: expected finite a < b, got [{a}, {b}]")
    t, w = _leggauss(n)
    return 0.5 * (b - a) * t + 0.5 * (b + a), 0.5 * (b - a) * w


def gauss_legendre_grid(bounds, n_nodes: int):
    r"""Tensor Gauss–Legendre nodes and weights on a box, in 1-D or 2-D.

    Parameters
    ----------
    bounds : sequence of (low, high) pairs, one per dimension (1 or 2), finite
    n_nodes : int, ≥ 2
        Nodes per axis.

    Returns
    -------
    points : ndarray (m, d)
        :math:`m = n^d` points, the first axis varying slowest.
    weights : ndarray (m,)
        Products of the per-axis weights: :math:`\int_{box} f \approx \sum_j w_j f(x_j)`.

    Notes
    -----
    Exact for polynomials of degree ≤ 2n − 1 in each coordinate; the error of each axis is
    that of :func:`gauss_legendre`.
    """
    b = np.asarray(bounds, dtype=np.float64)
    if b.ndim != 2 or b.shape[1] != 2 or b.shape[0] not in (1, 2) or not np.all(np.isfinite(b)):
        raise ValueError(f"bounds: expected finite [(low, high)] pairs for 1 or 2 dimensions, got {np.asarray(bounds).tolist()}")
    if np.any(b[:, 0] >= b[:, 1]):
        raise ValueError(f"bounds: each low must be < high, got {b.tolist()}")
    n_nodes = check_positive_int(n_nodes, "n_nodes", 2)
    axes, ws = zip(*(gauss_legendre(n_nodes, lo, hi) for lo, hi in b))
    if b.shape[0] == 1:
        return axes[0][:, None], ws[0]
    X, Y = np.meshgrid(axes[0], axes[1], indexing="ij")
    W = np.outer(ws[0], ws[1])
    return np.column_stack([X.ravel(), Y.ravel()]), W.ravel()


def grid_log_integral(log_f: Callable[[np.ndarray], np.ndarray], bounds, n_nodes: int) -> float:
    r""":math:`\log\int_{box} e^{g(x)}\,dx` by the tensor Gauss–Legendre rule, in one call of g.

    Parameters
    ----------
    log_f : callable, ``(m, d)`` → ``(m,)``
        :math:`g = \log f`, vectorised over a batch of points (for a density,
        :math:`g = -E`); ``-inf`` is allowed (f = 0), NaN is not.
    bounds : sequence of (low, high) pairs, one per dimension (1 or 2), finite
    n_nodes : int, ≥ 2
        Nodes per axis (:math:`n^d` evaluations of g).

    Returns
    -------
    float
        :math:`\log\sum_j w_j e^{g(x_j)}`, summed in the log domain (``logsumexp``) so that
        f may be far below or above 1.

    Notes
    -----
    No adaptivity and no error estimate: the caller states why n suffices.  For f analytic
    on a neighbourhood of the box the error of each axis decays like :math:`\rho^{-2n}`
    (:func:`gauss_legendre`); with an endpoint factor :math:`t^\alpha` (non-integer α) it is
    :math:`O(n^{-2\alpha-2})`.  The practical check is the one callers' tests make: doubling
    n leaves the value unchanged to rounding.  The mass of f outside the box is not counted.
    """
    pts, w = gauss_legendre_grid(bounds, n_nodes)
    g = np.asarray(log_f(pts), dtype=np.float64)
    if g.shape != w.shape:
        raise ValueError(f"log_f: expected shape {w.shape} on a batch of {w.size} points, got {g.shape}")
    if np.any(np.isnan(g)) or np.any(g == np.inf):
        raise FloatingPointError("grid_log_integral: log f is NaN or +inf on the grid")
    out = float(logsumexp(g + np.log(w)))
    if out == -np.inf:
        raise ValueError("grid_log_integral: f is 0 at every node; the box misses the mass")
    return out


# ------------------------------------------------------------------ Gauss–Hermite
def gauss_hermite(n: int):
    r"""Probabilists' Gauss–Hermite nodes and weights for a standard normal expectation.

    Parameters
    ----------
    n : int, ≥ 1

    Returns
    -------
    t : ndarray (n,)
        Roots of the probabilists' Hermite polynomial :math:`He_n`.
    w : ndarray (n,)
        Weights normalized to sum to 1:
        :math:`\mathbb E_{\varepsilon\sim\mathcal N(0,1)}[g(\varepsilon)] \approx \sum_j w_j\,g(t_j)`.

    Notes
    -----
    The rule for the weight :math:`e^{-t^2/2}` (``numpy.polynomial.hermite_e.hermegauss``),
    divided by :math:`\sqrt{2\pi}`.  Exact for polynomials of degree ≤ 2n − 1, so
    :math:`\mathbb E[\varepsilon^{2k}] = (2k-1)!!` is reproduced for k ≤ n − 1 (up to
    rounding); for smooth g the error decays with n like the tail of g's Hermite expansion.
    For :math:`x\sim\mathcal N(\mu,\sigma^2)` use nodes :math:`\mu + \sigma t_j`.
    """
    n = check_positive_int(n, "n", 1)
    t, w = np.polynomial.hermite_e.hermegauss(n)
    return t, w / np.sqrt(2.0 * np.pi)


# ---------------------------------------------------------------- composite Simpson
def composite_simpson(a: float, b: float, n: int):
    r"""Composite Simpson nodes and weights on [a, b].

    Parameters
    ----------
    a, b : float
        Finite interval, a < b.
    n : int, ≥ 3
        Number of nodes; an even n is raised to n + 1 (Simpson needs an even number of panels).

    Returns
    -------
    x : ndarray (n,)
        Equally spaced nodes, :math:`h = (b-a)/(n-1)`.
    w : ndarray (n,)
        :math:`\tfrac h3\,(1, 4, 2, 4, \dots, 2, 4, 1)`.

    Notes
    -----
    Exact for cubics; error :math:`-\tfrac{(b-a)h^4}{180}f^{(4)}(\xi)`.  For a smooth integrand
    whose derivatives vanish at both ends (a density over a box holding its mass) the error
    is far smaller, as for the trapezoid rule (Euler–Maclaurin).
    """
    a, b = float(a), float(b)
    if not (np.isfinite(a) and np.isfinite(b)) or not a < b:
        raise ValueError(f"[a, b]: expected finite a < b, got [{a}, {b}]")
    n = check_positive_int(n, "n", 3)
    n = n + (n % 2 == 0)
    x = np.linspace(a, b, n)
    h = (b - a) / (n - 1)
    w = np.ones(n)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return x, w * h / 3.0


# ------------------------------------------------------------------------ tanh–sinh
def tanh_sinh(h: float = 1.0 / 16, tmax: float = 4.5):
    r"""Tanh–sinh (double-exponential) nodes on (0, 1): returns ``(u, 1 − u, weights)``.

    Parameters
    ----------
    h : float > 0
        Step in t.
    tmax : float > 0
        Truncation: :math:`t = -t_{max}, \dots, t_{max}` in steps h.

    Notes
    -----
    :math:`u = \sigma(\pi\sinh t)`, :math:`du/dt = \pi\cosh t\,u(1-u)`, weights
    :math:`h\,\pi\cosh t\,u(1-u)` (the trapezoid rule in t).  The nodes crowd into both
    endpoints doubly exponentially, so integrands with algebraic or logarithmic endpoint
    singularities (:math:`x^{\alpha-1}(1-x)^{\beta-1}\log x`) converge exponentially in 1/h;
    u and 1 − u are both formed without cancellation.  At h = 1/16 the error on smooth
    Beta moments is ~1e-13.  Truncation at :math:`t_{max} = 4.5` leaves out
    :math:`u < e^{-\pi\sinh 4.5} \approx 10^{-61}`: a mass
    :math:`\approx u^{\alpha}/\alpha` for an :math:`x^{\alpha-1}` singularity.
    """
    h, tmax = float(h), float(tmax)
    if not (h > 0 and np.isfinite(h)) or not (tmax > 0 and np.isfinite(tmax)):
        raise ValueError(f"tanh_sinh: expected finite h > 0 and tmax > 0, got h = {h}, tmax = {tmax}")
    t = np.arange(-tmax, tmax + 0.5 * h, h)
    s = np.pi * np.sinh(t)
    u, uc = expit(s), expit(-s)
    return u, uc, h * np.pi * np.cosh(t) * u * uc


#: tanh–sinh refinement stops when halving h changes every integral by less than this
#: (relative to the largest): the error of the finer rule is then far smaller still.
#: Not tighter: for a Beta the nodes that round to x = 1 are dropped, and the mass they
#: carry, ~(1e-16)^β, shifts with h (1e-13 at β = 0.8).
TANH_SINH_TOL = 1e-11


def tanh_sinh_refine(rule: Callable[[float], np.ndarray], what: str, h_min: float,
                     h_start: float = 1.0 / 16, tol: float = TANH_SINH_TOL):
    """Evaluate ``rule(h)`` (an integral by the tanh–sinh rule of step h) at h = h_start, h_start/2, ...
    until two successive values agree to ``tol`` (relative to the largest entry).

    Raises ``ValueError`` naming ``what`` if h would drop below ``h_min``.  Concentrated
    integrands (narrow spikes that the middle spacing ≈ πh/2 misses) need a smaller h.
    """
    h = float(h_start)
    if not (h > 0 and h_min > 0):
        raise ValueError(f"tanh_sinh_refine: expected h_start > 0 and h_min > 0, got {h_start}, {h_min}")
    prev = rule(h)
    while h / 2 >= h_min:
        h /= 2
        cur = rule(h)
        if np.max(np.abs(cur - prev)) <= tol * np.max(np.abs(cur)):
            return cur
        prev = cur
    raise ValueError(f"{what}: the tanh-sinh rule did not converge down to step {h_min:g} "
                     "(a very concentrated density, or mass the rule cannot represent)")


# ------------------------------------------------------------------------ adaptive
def _check_limits(a, b, finite: bool):
    a, b = float(a), float(b)
    if np.isnan(a) or np.isnan(b) or not a < b:
        raise ValueError(f"[a, b]: expected a < b, got [{a}, {b}]")
    if finite and not (np.isfinite(a) and np.isfinite(b)):
        raise ValueError(f"[a, b]: expected finite limits, got [{a}, {b}]")
    return a, b


def _check_value(val, err, what):
    if not np.all(np.isfinite(val)):
        raise FloatingPointError(f"{what}: the integral is not finite ({val}); the integrand overflows or is NaN")
    return val, float(err)


def adaptive_quad(f: Callable[[float], float], a: float, b: float, *, epsabs: float = 0.0,
                  epsrel: float = 1e-11, limit: int = 200, points=None) -> tuple[float, float]:
    r""":math:`\int_a^b f(t)\,dt` by adaptive Gauss–Kronrod (``scipy.integrate.quad``).

    Parameters
    ----------
    f : callable, float → float
    a, b : float
        a < b; either may be infinite (QUADPACK maps the half-lines to (0, 1]).
    epsabs, epsrel : float
        Stop when the error estimate is below :math:`\max(\epsilon_{abs}, \epsilon_{rel}|I|)`.
    limit : int
        Maximum number of subintervals.
    points : sequence of float, optional
        Break points inside (a, b) where f is not smooth (finite limits only).

    Returns
    -------
    value : float
    err : float
        QUADPACK's estimate of :math:`|I - \hat I|` (from the 21-point Kronrod minus the
        10-point Gauss value on each piece); usually pessimistic for smooth f.
    """
    a, b = _check_limits(a, b, finite=False)
    val, err = integrate.quad(f, a, b, epsabs=epsabs, epsrel=epsrel, limit=limit, points=points)
    return _check_value(val, err, "adaptive_quad")


def adaptive_quad_vec(f: Callable[[float], np.ndarray], a: float, b: float, *, points=(),
                      epsabs: float = 1e-14, epsrel: float = 1e-13, limit: int = 400):
    r""":math:`\int_a^b f(t)\,dt` for vector-valued f, over pieces split at ``points``
    (``scipy.integrate.quad_vec`` on each piece, summed).

    Split where f has a peak or a change of scale so that no piece misses it.  Returns
    ``(value, err)`` with ``value`` an array of f's shape and ``err`` the sum of the pieces'
    error estimates (in the norm ``quad_vec`` uses, the max over entries).
    """
    a, b = _check_limits(a, b, finite=False)
    edges = [a, *(float(p) for p in points), b]
    if np.any(np.diff(edges) <= 0):
        raise ValueError(f"points: expected increasing split points inside ({a}, {b}), got {list(points)}")
    total, total_err = 0.0, 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        val, err = integrate.quad_vec(f, lo, hi, epsabs=epsabs, epsrel=epsrel, limit=limit)
        total = total + val
        total_err += err
    return _check_value(np.asarray(total), total_err, "adaptive_quad_vec")


def adaptive_dblquad(f: Callable[[float, float], float], x_bounds, y_bounds, *, epsabs: float = 0.0,
                     epsrel: float = 1e-11) -> tuple[float, float]:
    r""":math:`\int_{x_0}^{x_1}\int_{y_0}^{y_1} f(x, y)\,dy\,dx` by nested adaptive quadrature
    (``scipy.integrate.dblquad``) on a finite box.

    Note the argument order: ``f(x, y)`` (``dblquad`` itself wants ``f(y, x)``).  Returns
    ``(value, err)`` with ``err`` the outer integral's error estimate.
    """
    x0, x1 = _check_limits(*x_bounds, finite=True)
    y0, y1 = _check_limits(*y_bounds, finite=True)
    val, err = integrate.dblquad(lambda y, x: f(x, y), x0, x1, y0, y1, epsabs=epsabs, epsrel=epsrel)
    return _check_value(val, err, "adaptive_dblquad")
