r"""Exponential families: the densities whose partition function is known in closed form.

Every family here is written in one form,

.. math::

    p(x \mid \eta) = h(x)\,\exp\!\big(\eta^\top T(x) - A(\eta)\big),\qquad
    A(\eta) = \log \int h(x)\, e^{\eta^\top T(x)}\,dx ,

with natural parameters :math:`\eta` (shape ``(k,)``), sufficient statistics
:math:`T(x)` (``(n, k)`` for a batch), base measure :math:`h(x)` and log partition
:math:`A(\eta)` (the sum replaces the integral for counts and labels).  In the energy
convention of the package (:math:`p = e^{-E}/Z`) the same density is

.. math::

    E(x) = -\log h(x) - \eta^\top T(x), \qquad \log Z = A(\eta).

Differentiating :math:`A` under the integral sign gives the two identities the module
is built around (derived in ``notes/02-exponential-families.md``):

.. math::

    \nabla A(\eta) = \mathbb E_\eta[T(x)], \qquad \nabla^2 A(\eta) = \operatorname{Cov}_\eta[T(x)],

so :math:`A` is convex and the maximum-likelihood estimate solves the moment-matching
equation :math:`\nabla A(\hat\eta) = \frac1n\sum_i T(x_i)`.  It has a closed form for
:class:`Normal`, :class:`Poisson`, :class:`Exponential`, :class:`Bernoulli` and
:class:`Categorical`; for :class:`Beta`, :class:`Gamma` and :class:`Dirichlet` it is
solved by Newton's method on :math:`\eta` with the Hessian :math:`\nabla^2 A`.

Each family offers, besides the closed forms, a numerical counterpart that uses only
:math:`h` and :math:`T` (quadrature or summation of :math:`h\,e^{\eta^\top T}`):
:meth:`ExponentialFamily.log_partition_numerical` and
:meth:`ExponentialFamily.moments_numerical`.  They are what the closed forms are
checked against.

Data shapes
-----------
Scalar families take a batch ``x`` of shape ``(n, 1)`` (exactly: ``(n,)`` is refused).
:class:`Categorical` takes integer labels in ``{0, ..., K-1}`` as an ``(n, 1)`` array
(not one-hot).  :class:`Dirichlet` takes points of the open simplex as ``(n, K)``.

The multivariate Gaussian is :class:`ebm_ref.models.gaussian.Gaussian`.
"""
from __future__ import annotations

import numpy as np
from scipy.special import digamma, expit, gammaln, logsumexp, polygamma

from .._validate import as_batch, as_float_array, as_generator, check_positive, check_positive_int
from ..energy import Energy
from ..numerics.quadrature import adaptive_quad_vec, tanh_sinh, tanh_sinh_refine
from ..numerics.special import LOG_2PI

__all__ = [
    "ExponentialFamily",
    "ExpFamEnergy",
    "ConvergenceError",
    "Normal",
    "Poisson",
    "Exponential",
    "Bernoulli",
    "Categorical",
    "Beta",
    "Gamma",
    "Dirichlet",
    "FAMILIES",
]

#: a point of the simplex may miss sum 1 by rounding only; 1e-10 is far above the
#: ~1e-16 error of normalizing a float64 vector and far below any real departure.
SIMPLEX_TOL = 1e-10
#: probabilities (Categorical) must sum to 1 up to the same rounding allowance.
PROBS_TOL = 1e-10
#: Newton stops when max|∇A(η) − μ| ≤ NEWTON_TOL · max(1, max|μ|): close to the
#: rounding level of evaluating ∇A (digamma differences), well below any statistical error.
NEWTON_TOL = 1e-12
NEWTON_MAX_ITER = 100


class ConvergenceError(RuntimeError):
    """An iterative solver (the Newton MLE) did not converge; the message says how far it got."""


def _trigamma(a):
    return polygamma(1, a)


def _vector(a, name: str, length: int | None = None, min_length: int = 1) -> np.ndarray:
    """A finite 1-D float array (of a given length, if given)."""
    arr = as_float_array(a, name)
    if arr.ndim != 1:
        want = f"({length},)" if length is not None else "(K,)"
        raise ValueError(f"{name}: expected a 1-D array of shape {want}, got shape {arr.shape}")
    if length is not None and arr.size != length:
        raise ValueError(f"{name}: expected shape ({length},), got {arr.shape}")
    if arr.size < min_length:
        raise ValueError(f"{name}: expected at least {min_length} entries, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or inf")
    return arr


# ============================================================================ base
class ExponentialFamily:
    r"""Base class: :math:`p(x\mid\eta) = h(x)\exp(\eta^\top T(x) - A(\eta))`.

    Subclasses are constructed from their usual parameters (``Normal(mu, sigma)``,
    ``Beta(alpha, beta)``, ...) and provide the closed forms

    * ``_A(eta)``, ``_grad_A(eta)``, ``_hess_A(eta)`` — :math:`A`, :math:`\nabla A`, :math:`\nabla^2 A`;
    * ``_check_eta`` (the natural domain), ``_params_from_eta`` (η → usual parameters);
    * ``_check_mean`` (interior of the mean space), ``_eta_from_mean`` (μ → η);
    * ``_check_data`` (the support), ``_T`` and ``_log_h`` on checked data (defaults
      :math:`T(x) = x`, :math:`h(x) = 1`);
    * ``_sample`` and, for the numerical counterparts, ``_integrate``.

    Public methods validate their input and call these.  Instances are immutable.

    Attributes
    ----------
    continuous : bool
        True when :math:`h` is a density with respect to Lebesgue measure; these
        families have an :meth:`as_energy` view.
    data_dim : int
        Number of columns of a data batch.
    """

    continuous: bool = True
    #: True where the MLE needs Newton's method (Beta, Gamma, Dirichlet)
    newton_mle: bool = False

    # Defaults of the natural families (Poisson, Exponential, Bernoulli): the sufficient
    # statistic is the datum itself, T(x) = x, and the base measure is h(x) = 1 unless a
    # family overrides ``_log_h`` (Poisson: h(x) = 1/x!).
    def _T(self, x):
        return x.copy()

    def _log_h(self, x):
        return np.zeros(x.shape[0])

    def _set(self, params: dict, eta) -> None:
        frozen = {}
        for k, v in params.items():
            a = np.array(v, dtype=np.float64)
            a.setflags(write=False)
            frozen[k] = a
        e = np.array(eta, dtype=np.float64)
        e.setflags(write=False)
        self._params = frozen
        self._eta = e

    # ----------------------------------------------------------------- values
    @property
    def eta(self) -> np.ndarray:
        r"""Natural parameters :math:`\eta`, shape ``(k,)`` (read-only)."""
        return self._eta

    @property
    def params(self) -> dict:
        """The usual parameters, e.g. ``{"mu": ..., "sigma": ...}``."""
        return dict(self._params)

    @property
    def n_stats(self) -> int:
        """k, the number of sufficient statistics (= length of η)."""
        return self._eta.size

    @property
    def data_dim(self) -> int:
        """Number of columns of a data batch ``x``."""
        return 1

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={np.array2string(v, precision=6)}" for k, v in self._params.items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------- log partition A(η)
    def _eta_arg(self, eta) -> np.ndarray:
        if eta is None:
            return self._eta
        e = type(self)._check_eta(eta)
        if e.shape != self._eta.shape:
            raise ValueError(f"eta: expected shape {self._eta.shape} for this {type(self).__name__}, got {e.shape}")
        return e

    def log_partition_eta(self, eta=None) -> float:
        r""":math:`A(\eta) = \log\int h(x) e^{\eta^\top T(x)}\,dx` (closed form); ``eta`` defaults to ``self.eta``."""
        return float(self._A(self._eta_arg(eta)))

    def grad_A(self, eta=None) -> np.ndarray:
        r""":math:`\nabla A(\eta) = \mathbb E_\eta[T(x)]`, shape ``(k,)`` (closed form)."""
        return np.asarray(self._grad_A(self._eta_arg(eta)), dtype=np.float64)

    def hess_A(self, eta=None) -> np.ndarray:
        r""":math:`\nabla^2 A(\eta) = \operatorname{Cov}_\eta[T(x)]`, shape ``(k, k)`` (closed form)."""
        return np.asarray(self._hess_A(self._eta_arg(eta)), dtype=np.float64)

    def log_partition(self) -> float:
        r""":math:`A(\eta)` at the family's own η: the log normalizer, ``log Z`` of the energy view."""
        return self.log_partition_eta()

    # ------------------------------------------------------ parameter maps
    @classmethod
    def from_natural(cls, eta):
        r"""The family with natural parameters ``eta`` (checked to lie in the natural domain)."""
        e = cls._check_eta(eta)
        return cls(**cls._params_from_eta(e))

    def mean_parameters(self) -> np.ndarray:
        r"""Mean parameters :math:`\mu = \nabla A(\eta) = \mathbb E[T(x)]`, shape ``(k,)``."""
        return self.grad_A()

    @classmethod
    def from_mean(cls, mu, **options):
        r"""The family whose mean parameters are ``mu``: solve :math:`\nabla A(\eta) = \mu`.

        Closed form where it exists; Newton's method otherwise (``options``: ``tol``,
        ``max_iter``).  ``mu`` must lie in the interior of the mean space (e.g. for a
        Gamma, :math:`\log\mu_2 > \mu_1` by Jensen's inequality); otherwise no η exists
        and a ``ValueError`` says so.
        """
        m = cls._check_mean(mu)
        if options and not cls.newton_mle:
            raise ValueError(f"{sorted(options)}: {cls.__name__} has a closed-form MLE and takes no solver options")
        return cls.from_natural(cls._eta_from_mean(m, **options))

    # ------------------------------------------- energy view: the support, written once
    #: the open support of the energy view, in words (families with a bounded support override)
    _ev_support = "the real line"

    def _ev_in_support(self, y) -> np.ndarray:
        """Mask (n,) of the rows of ``y`` (energy-view coordinates) in the open support."""
        return np.ones(y.shape[0], dtype=bool)

    def _ev_check(self, y):
        """Raise ``ValueError`` if a row of ``y`` is outside the support (the energy is +∞ there)."""
        bad = ~self._ev_in_support(y)
        if np.any(bad):
            raise ValueError(f"x: the {type(self).__name__} energy is defined for {self._ev_support} (E = +inf "
                             f"outside); found rows such as {y[bad][:3].tolist()}")

    # --------------------------------------------------------------- data
    def sufficient_statistics(self, x) -> np.ndarray:
        """T(x) for a batch ``x`` of shape ``(n, data_dim)`` in the support; returns ``(n, k)``."""
        return self._T(self._check_data(x))

    def log_base_measure(self, x) -> np.ndarray:
        """log h(x) for a batch ``x`` in the support; returns ``(n,)``."""
        return self._log_h(self._check_data(x))

    def log_prob(self, x) -> np.ndarray:
        r""":math:`\log p(x) = \log h(x) + \eta^\top T(x) - A(\eta)`, shape ``(n,)``."""
        x = self._check_data(x)
        return self._log_h(x) + self._T(x) @ self._eta - self._A(self._eta)

    def sample(self, n: int, rng) -> np.ndarray:
        """``n`` exact samples (NumPy Generator methods), shape ``(n, data_dim)``, float64."""
        n = check_positive_int(n, "n", 0)
        return np.asarray(self._sample(n, as_generator(rng)), dtype=np.float64).reshape(n, self.data_dim)

    @classmethod
    def mle(cls, x, **options):
        r"""Maximum-likelihood fit = moment matching :math:`\nabla A(\hat\eta) = \frac1n\sum_i T(x_i)`.

        The log-likelihood :math:`\sum_i [\log h(x_i) + \eta^\top T(x_i)] - nA(\eta)`
        is concave (``hess_A`` is a covariance), and its gradient
        :math:`\sum_i T(x_i) - n\nabla A(\eta)` vanishes exactly when the model's mean of
        T equals the data's.  ``options`` go to :meth:`from_mean` (and, for
        :class:`Categorical`, ``n_categories``).
        """
        mean_T = cls._mean_statistics(x, options)
        return cls.from_mean(mean_T, **options)

    @classmethod
    def _mean_statistics(cls, x, options) -> np.ndarray:
        tmpl = cls._template(x, options)
        xc = tmpl._check_data(x)
        if xc.shape[0] == 0:
            raise ValueError("x: need at least one point to fit")
        return tmpl._T(xc).mean(axis=0)

    @classmethod
    def _template(cls, x, options):
        """An instance with the right shape information (K) for checking ``x``."""
        return cls._default()

    # ------------------------------------------------- numerical counterparts
    def _shifted_log_q(self, x):
        """log h(x) + ηᵀT(x) on checked data (the unnormalized log density)."""
        return self._log_h(x) + self._T(x) @ self._eta

    def _integrate(self, fn):
        """∑ or ∫ of ``fn(x) → (n, m)`` against the unnormalized density h e^{ηᵀT}·e^{-c}; returns ((m,), c)."""
        raise NotImplementedError

    def log_partition_numerical(self) -> float:
        r"""A(η) by quadrature or summation of :math:`h(x)e^{\eta^\top T(x)}`, not by the closed form."""
        I, c = self._integrate(lambda x: np.ones((x.shape[0], 1)))
        return float(np.log(I[0]) + c)

    def moments_numerical(self) -> tuple[np.ndarray, np.ndarray]:
        r"""(E[T], Cov[T]) by quadrature or summation of :math:`h\,e^{\eta^\top T}`, normalized by its own integral.

        Two passes: the mean first, then the centred second moment (no cancellation
        of :math:`E[TT^\top] - E[T]E[T]^\top`).  Uses only ``_T`` and ``_log_h``.
        """
        k = self.n_stats
        I, _ = self._integrate(lambda x: np.concatenate([np.ones((x.shape[0], 1)), self._T(x)], axis=1))
        m = I[1:] / I[0]

        def centred(x):
            r = self._T(x) - m
            return np.concatenate([np.ones((x.shape[0], 1)), np.einsum("ni,nj->nij", r, r).reshape(-1, k * k)], axis=1)

        J, _ = self._integrate(centred)
        return m, (J[1:] / J[0]).reshape(k, k)

    # ------------------------------------------------------------ energy view
    def as_energy(self) -> "ExpFamEnergy":
        r"""The family as an :class:`~ebm_ref.energy.Energy`: :math:`E(x) = -\log h(x) - \eta^\top T(x)`, log Z = A(η)."""
        if not self.continuous:
            raise NotImplementedError(
                f"{type(self).__name__} is discrete: the energy contract needs derivatives in x, so it has no Energy view"
            )
        return ExpFamEnergy(self._eta, family=type(self))

    # ---------------------------------------------------------- Newton solver
    @classmethod
    def _newton(cls, mu, eta0, tol=NEWTON_TOL, max_iter=NEWTON_MAX_ITER) -> np.ndarray:
        r"""Solve :math:`\nabla A(\eta) = \mu` by damped Newton steps on the convex
        :math:`f(\eta) = A(\eta) - \eta^\top\mu` (the negative mean log-likelihood up to a constant).

        Step :math:`d = [\nabla^2A(\eta)]^{-1}(\nabla A(\eta) - \mu)`; try :math:`\eta - t d` for
        t = 1, ½, ¼, ...: accept the first point inside the natural domain where f
        decreases (Armijo) or, near the solution where f is flat to rounding, the
        residual shrinks.  Stop when max|∇A(η) − μ| ≤ tol·max(1, max|μ|).
        """
        tol = check_positive(tol, "tol")
        max_iter = check_positive_int(max_iter, "max_iter")
        eta = np.array(eta0, dtype=np.float64)
        thresh = tol * max(1.0, float(np.max(np.abs(mu))))

        def f(e):
            return cls._A(e) - e @ mu

        g = cls._grad_A(eta) - mu
        for it in range(max_iter):
            res = float(np.max(np.abs(g)))
            if res <= thresh:
                return eta
            d = np.linalg.solve(cls._hess_A(eta), g)
            f0, t = f(eta), 1.0
            for _ in range(60):
                cand = eta - t * d
                if cls._in_domain(cand):
                    g_new = cls._grad_A(cand) - mu
                    if f(cand) <= f0 - 1e-4 * t * (g @ d) or np.max(np.abs(g_new)) < res:
                        break
                t *= 0.5
            else:
                raise ConvergenceError(f"{cls.__name__}.mle: Newton line search failed at iteration {it} "
                                       f"(residual {res:.3g}); the mean statistics may be at the edge of the mean space")
            eta, g = cand, g_new
        res = float(np.max(np.abs(g)))
        if res <= thresh:
            return eta
        raise ConvergenceError(
            f"{cls.__name__}.mle: Newton did not converge in max_iter={max_iter} iterations "
            f"(max|grad A(eta) - mean T| = {res:.3g} > {thresh:.3g}); raise max_iter or tol"
        )

    @classmethod
    def _in_domain(cls, eta) -> bool:
        try:
            cls._check_eta(eta)
        except ValueError:
            return False
        return True


# ============================================================================ helpers
def _scalar_data(x, name="x") -> np.ndarray:
    return as_batch(x, 1, name)


def _quad_vec(fn, a, b, points=()):
    """∫ₐᵇ fn over pieces split at ``points``; fn maps (n,1) points to (n, m) (the families' batch form)."""
    val, _err = adaptive_quad_vec(lambda t: fn(np.array([[t]]))[0], a, b, points=points,
                                  epsabs=1e-14, epsrel=1e-13, limit=400)
    return val


# ============================================================================ Normal
class Normal(ExponentialFamily):
    r"""Normal distribution :math:`\mathcal N(\mu, \sigma^2)`; data ``x`` of shape ``(n, 1)``.

    Parameters
    ----------
    mu : float
        Mean :math:`\mu`.
    sigma : float
        Standard deviation :math:`\sigma > 0`.

    Notes
    -----
    .. math::

        \eta = \big(\mu/\sigma^2,\ -1/(2\sigma^2)\big),\quad T(x) = (x, x^2),\quad
        h(x) = (2\pi)^{-1/2},

        A(\eta) = -\frac{\eta_1^2}{4\eta_2} - \tfrac12\log(-2\eta_2)
                = \frac{\mu^2}{2\sigma^2} + \log\sigma,

        \nabla A = (\mu,\ \mu^2 + \sigma^2),\qquad
        \nabla^2 A = \begin{pmatrix}\sigma^2 & 2\mu\sigma^2\\ 2\mu\sigma^2 & 2\sigma^4 + 4\mu^2\sigma^2\end{pmatrix}.

    Natural domain :math:`\eta_2 < 0`.  MLE: :math:`\hat\mu = \bar x`,
    :math:`\hat\sigma^2 = \overline{x^2} - \bar x^2` (computed as the mean squared deviation).
    """

    def __init__(self, mu, sigma):
        mu = as_float_array(mu, "mu", shape=())
        if not np.isfinite(mu):
            raise ValueError(f"mu: must be finite, got {mu}")
        sigma = check_positive(sigma, "sigma")
        self._set({"mu": mu, "sigma": sigma}, [mu / sigma**2, -0.5 / sigma**2])

    @classmethod
    def _default(cls):
        return cls(0.0, 1.0)

    @staticmethod
    def _A(eta):
        return -eta[0] ** 2 / (4.0 * eta[1]) - 0.5 * np.log(-2.0 * eta[1])

    @staticmethod
    def _grad_A(eta):
        mu, s2 = -eta[0] / (2.0 * eta[1]), -0.5 / eta[1]
        return np.array([mu, mu * mu + s2])

    @staticmethod
    def _hess_A(eta):
        mu, s2 = -eta[0] / (2.0 * eta[1]), -0.5 / eta[1]
        c = 2.0 * mu * s2
        return np.array([[s2, c], [c, 2.0 * s2 * s2 + 4.0 * mu * mu * s2]])

    @classmethod
    def _check_eta(cls, eta):
        e = _vector(eta, "eta", 2)
        if not e[1] < 0:
            raise ValueError(f"eta: Normal natural parameters need eta[1] = -1/(2 sigma^2) < 0, got {e[1]}")
        return e

    @classmethod
    def _params_from_eta(cls, e):
        return {"mu": -e[0] / (2.0 * e[1]), "sigma": np.sqrt(-0.5 / e[1])}

    @classmethod
    def _check_mean(cls, mu):
        m = _vector(mu, "mu", 2)
        if not m[1] - m[0] ** 2 > 0:
            raise ValueError(f"mu: Normal mean parameters need E[x^2] - E[x]^2 > 0, got {m[1] - m[0] ** 2:.3g}")
        return m

    @classmethod
    def _eta_from_mean(cls, m):
        s2 = m[1] - m[0] ** 2
        return np.array([m[0] / s2, -0.5 / s2])

    @classmethod
    def mle(cls, x):
        r"""Closed form :math:`\hat\mu = \bar x`, :math:`\hat\sigma^2 = \frac1n\sum(x_i - \bar x)^2`.

        Algebraically equal to moment matching on :math:`T = (x, x^2)`; the
        deviations are formed first so that no precision is lost to
        :math:`\overline{x^2} - \bar x^2`.
        """
        x = _scalar_data(x)
        if x.shape[0] == 0:
            raise ValueError("x: need at least one point to fit")
        mu = float(x[:, 0].mean())
        var = float(np.mean((x[:, 0] - mu) ** 2))
        if not var > 0:
            raise ValueError("x: all points are equal, so sigma_hat = 0 and the MLE is not a valid Normal")
        return cls(mu, np.sqrt(var))

    def _check_data(self, x):
        return _scalar_data(x)

    def _T(self, x):
        return np.concatenate([x, x * x], axis=1)

    def _log_h(self, x):
        return np.full(x.shape[0], -0.5 * LOG_2PI)

    def _sample(self, n, rng):
        return rng.normal(self._params["mu"], self._params["sigma"], size=(n, 1))

    def _integrate(self, fn):
        mu, s = float(self._params["mu"]), float(self._params["sigma"])
        c = float(self._shifted_log_q(np.array([[mu]]))[0])
        g = lambda x: fn(x) * np.exp(self._shifted_log_q(x) - c)[:, None]  # noqa: E731
        # beyond 40 sigma the density is below e^{-800}: nothing in float64
        return _quad_vec(g, mu - 40 * s, mu + 40 * s, points=(mu - 3 * s, mu, mu + 3 * s)), c

    # energy view, x-coordinates: T = (x, x²), ∂T = (1, 2x), ∂²T = (0, 2); log h = −½ log 2π
    _ev_log_h = (-0.5 * LOG_2PI, np.zeros(2))

    def _ev_stats(self, y):
        n = y.shape[0]
        T = np.concatenate([y, y * y], axis=1)
        J = np.stack([np.ones_like(y), 2.0 * y], axis=1)                       # (n, 2, 1)
        H = np.zeros((n, 2, 1, 1))
        H[:, 1, 0, 0] = 2.0
        return T, J, H


# ============================================================================ Poisson
class Poisson(ExponentialFamily):
    r"""Poisson distribution with rate :math:`\lambda`; data: counts as an ``(n, 1)`` float array.

    Parameters
    ----------
    rate : float
        :math:`\lambda > 0`.

    Notes
    -----
    .. math::

        \eta = \log\lambda,\quad T(x) = x,\quad h(x) = 1/x!,\quad
        A(\eta) = e^\eta,\quad \nabla A = \nabla^2 A = e^\eta = \lambda .

    Support: non-negative integers (stored as floats).  MLE :math:`\hat\lambda = \bar x`
    (needs at least one non-zero count).
    """

    continuous = False

    def __init__(self, rate):
        rate = check_positive(rate, "rate")
        self._set({"rate": rate}, [np.log(rate)])

    @classmethod
    def _default(cls):
        return cls(1.0)

    @staticmethod
    def _A(eta):
        return np.exp(eta[0])

    @staticmethod
    def _grad_A(eta):
        return np.exp(eta)

    @staticmethod
    def _hess_A(eta):
        return np.exp(eta).reshape(1, 1)

    @classmethod
    def _check_eta(cls, eta):
        e = _vector(eta, "eta", 1)
        if e[0] > 700:
            raise ValueError(f"eta: log rate {e[0]} overflows exp; allowed eta <= 700")
        return e

    @classmethod
    def _params_from_eta(cls, e):
        return {"rate": np.exp(e[0])}

    @classmethod
    def _check_mean(cls, mu):
        m = _vector(mu, "mu", 1)
        if not m[0] > 0:
            raise ValueError(f"mu: the Poisson mean must be > 0 (all-zero counts have no MLE in the open family), got {m[0]}")
        return m

    @classmethod
    def _eta_from_mean(cls, m):
        return np.log(m)

    def _check_data(self, x):
        x = _scalar_data(x)
        bad = (x < 0) | (x != np.floor(x))
        if np.any(bad):
            raise ValueError(f"x: Poisson counts must be non-negative integers, found values such as {x[bad][:3].tolist()}")
        return x

    def _log_h(self, x):
        return -gammaln(x[:, 0] + 1.0)

    def _sample(self, n, rng):
        return rng.poisson(self._params["rate"], size=(n, 1)).astype(np.float64)

    def tail_bound(self, N: int) -> float:
        r"""Chernoff bound :math:`P(X \ge N) \le e^{-\lambda}(e\lambda/N)^N` (for N > λ)."""
        lam = float(self._params["rate"])
        N = check_positive_int(N, "N")
        if N <= lam:
            raise ValueError(f"N: the Chernoff bound needs N > rate = {lam}, got {N}")
        return float(np.exp(-lam + N * (1.0 + np.log(lam / N))))

    def truncation(self) -> int:
        r"""A count N with tail bound :meth:`tail_bound` (N) below 1e-17: λ + 40√λ + 60."""
        lam = float(self._params["rate"])
        return int(np.ceil(lam + 40.0 * np.sqrt(lam) + 60.0))

    def _integrate(self, fn):
        # sum over 0..N; the omitted tail weighs at most tail_bound(N) < 1e-17 relative
        x = np.arange(self.truncation() + 1, dtype=np.float64)[:, None]
        lq = self._shifted_log_q(x)
        c = float(lq.max())
        return (fn(x) * np.exp(lq - c)[:, None]).sum(axis=0), c


# ============================================================================ Exponential
class Exponential(ExponentialFamily):
    r"""Exponential distribution with rate :math:`\lambda`; data ``x`` of shape ``(n, 1)``, x ≥ 0.

    Parameters
    ----------
    rate : float
        :math:`\lambda > 0` (mean :math:`1/\lambda`).

    Notes
    -----
    .. math::

        \eta = -\lambda,\quad T(x) = x,\quad h(x) = 1\ (x \ge 0),\quad
        A(\eta) = -\log(-\eta),\quad \nabla A = -1/\eta = 1/\lambda,\quad
        \nabla^2 A = 1/\eta^2 = 1/\lambda^2 .

    Natural domain :math:`\eta < 0`.  MLE :math:`\hat\lambda = 1/\bar x`.
    """

    def __init__(self, rate):
        rate = check_positive(rate, "rate")
        self._set({"rate": rate}, [-rate])

    @classmethod
    def _default(cls):
        return cls(1.0)

    @staticmethod
    def _A(eta):
        return -np.log(-eta[0])

    @staticmethod
    def _grad_A(eta):
        return -1.0 / eta

    @staticmethod
    def _hess_A(eta):
        return (1.0 / eta**2).reshape(1, 1)

    @classmethod
    def _check_eta(cls, eta):
        e = _vector(eta, "eta", 1)
        if not e[0] < 0:
            raise ValueError(f"eta: Exponential natural parameter is -rate and must be < 0, got {e[0]}")
        return e

    @classmethod
    def _params_from_eta(cls, e):
        return {"rate": -e[0]}

    @classmethod
    def _check_mean(cls, mu):
        m = _vector(mu, "mu", 1)
        if not m[0] > 0:
            raise ValueError(f"mu: the Exponential mean must be > 0, got {m[0]}")
        return m

    @classmethod
    def _eta_from_mean(cls, m):
        return -1.0 / m

    def _check_data(self, x):
        x = _scalar_data(x)
        if np.any(x < 0):
            raise ValueError(f"x: Exponential data must be >= 0, found values such as {x[x < 0][:3].tolist()}")
        return x

    def _sample(self, n, rng):
        return rng.exponential(1.0 / self._params["rate"], size=(n, 1))

    def _integrate(self, fn):
        s = 1.0 / float(self._params["rate"])
        g = lambda x: fn(x) * np.exp(self._shifted_log_q(x))[:, None]  # noqa: E731
        # beyond 800 means the density is below e^{-800}
        return _quad_vec(g, 0.0, 800.0 * s, points=(s, 5 * s, 40 * s)), 0.0

    # energy view: T = x, ∂T = 1, ∂²T = 0, log h = 0; support x > 0 (open, so the derivative exists)
    _ev_log_h = (0.0, np.zeros(1))

    _ev_support = "x > 0"

    def _ev_in_support(self, y):
        return y[:, 0] > 0

    def _ev_stats(self, y):
        n = y.shape[0]
        return y.copy(), np.ones((n, 1, 1), dtype=y.dtype), np.zeros((n, 1, 1, 1))


# ============================================================================ Bernoulli
class Bernoulli(ExponentialFamily):
    r"""Bernoulli distribution; data ``x`` of shape ``(n, 1)`` with entries in {0, 1}.

    Parameters
    ----------
    p : float
        :math:`P(x = 1)`, in the open interval (0, 1) (the natural parameter is infinite at 0 and 1).

    Notes
    -----
    .. math::

        \eta = \log\frac{p}{1-p},\quad T(x) = x,\quad h(x) = 1,\quad
        A(\eta) = \log(1 + e^\eta) = \operatorname{softplus}(\eta),

        \nabla A = \sigma(\eta) = p,\qquad \nabla^2 A = \sigma(\eta)(1-\sigma(\eta)) = p(1-p).

    MLE :math:`\hat p = \bar x` (needs both values observed).
    """

    continuous = False

    def __init__(self, p):
        p = as_float_array(p, "p", shape=())
        if not (np.isfinite(p) and 0 < p < 1):
            raise ValueError(f"p: must be in the open interval (0, 1), got {p}")
        self._set({"p": p}, [np.log(p) - np.log1p(-p)])

    @classmethod
    def _default(cls):
        return cls(0.5)

    @staticmethod
    def _A(eta):
        return np.logaddexp(0.0, eta[0])

    @staticmethod
    def _grad_A(eta):
        return expit(eta)

    @staticmethod
    def _hess_A(eta):
        s = expit(eta[0])
        return np.array([[s * expit(-eta[0])]])

    @classmethod
    def _check_eta(cls, eta):
        return _vector(eta, "eta", 1)

    @classmethod
    def _params_from_eta(cls, e):
        return {"p": expit(e[0])}

    @classmethod
    def _check_mean(cls, mu):
        m = _vector(mu, "mu", 1)
        if not 0 < m[0] < 1:
            raise ValueError(f"mu: the Bernoulli mean must be in (0, 1) (all-0 or all-1 data has no finite MLE), got {m[0]}")
        return m

    @classmethod
    def _eta_from_mean(cls, m):
        return np.log(m) - np.log1p(-m)

    def _check_data(self, x):
        x = _scalar_data(x)
        bad = (x != 0) & (x != 1)
        if np.any(bad):
            raise ValueError(f"x: Bernoulli data must be 0 or 1, found values such as {x[bad][:3].tolist()}")
        return x

    def _sample(self, n, rng):
        return (rng.random((n, 1)) < self._params["p"]).astype(np.float64)

    def _integrate(self, fn):
        x = np.array([[0.0], [1.0]])
        lq = self._shifted_log_q(x)
        c = float(lq.max())
        return (fn(x) * np.exp(lq - c)[:, None]).sum(axis=0), c


# ============================================================================ Categorical
class Categorical(ExponentialFamily):
    r"""Categorical distribution over K labels; data: integer labels in {0..K−1} as an ``(n, 1)`` array.

    Parameters
    ----------
    probs : ndarray, shape (K,), K ≥ 2
        Probabilities :math:`p_k > 0` summing to 1.

    Notes
    -----
    Minimal parametrization with the last label as reference (so :math:`\nabla^2 A`
    is positive definite):

    .. math::

        \eta_k = \log\frac{p_k}{p_{K-1}},\ k = 0..K-2,\qquad T(x)_k = [x = k],\qquad h(x) = 1,

        A(\eta) = \log\Big(1 + \sum_{k<K-1} e^{\eta_k}\Big),\quad
        \nabla A = (p_0, \dots, p_{K-2}),\quad \nabla^2 A = \operatorname{diag}(p) - pp^\top

    with :math:`p = \operatorname{softmax}(\eta, 0)` restricted to the first K−1 labels.
    MLE :math:`\hat p_k = n_k / n` (every label must be observed).  ``mle`` needs
    ``n_categories=K``, since the labels alone do not say how many categories exist.
    """

    continuous = False

    def __init__(self, probs):
        p = _vector(probs, "probs", min_length=2)
        if np.any(p <= 0):
            raise ValueError(f"probs: every probability must be > 0 (the natural parameter is log p), got {p}")
        if abs(p.sum() - 1.0) > PROBS_TOL:
            raise ValueError(f"probs: must sum to 1, got sum {p.sum():.12g}")
        self._set({"probs": p}, np.log(p[:-1]) - np.log(p[-1]))

    @property
    def n_categories(self) -> int:
        """K."""
        return self._params["probs"].size

    @classmethod
    def _template(cls, x, options):
        if "n_categories" not in options:
            raise ValueError("n_categories: Categorical.mle needs n_categories=K (labels alone do not fix K)")
        K = check_positive_int(options.pop("n_categories"), "n_categories", 2)
        return cls(np.full(K, 1.0 / K))

    @staticmethod
    def _A(eta):
        return logsumexp(np.append(eta, 0.0))

    @staticmethod
    def _grad_A(eta):
        z = np.append(eta, 0.0)
        return np.exp(z - logsumexp(z))[:-1]

    @staticmethod
    def _hess_A(eta):
        z = np.append(eta, 0.0)
        p = np.exp(z - logsumexp(z))[:-1]
        return np.diag(p) - np.outer(p, p)

    @classmethod
    def _check_eta(cls, eta):
        return _vector(eta, "eta", min_length=1)

    @classmethod
    def _params_from_eta(cls, e):
        z = np.append(e, 0.0)
        return {"probs": np.exp(z - logsumexp(z))}

    @classmethod
    def _check_mean(cls, mu):
        m = _vector(mu, "mu", min_length=1)
        if np.any(m <= 0) or not m.sum() < 1:
            raise ValueError("mu: Categorical mean parameters are p_0..p_{K-2}; each must be > 0 with sum < 1 "
                             f"(every label observed), got {m}")
        return m

    @classmethod
    def _eta_from_mean(cls, m):
        return np.log(m) - np.log1p(-m.sum())

    def _check_data(self, x):
        x = _scalar_data(x)
        K = self.n_categories
        bad = (x < 0) | (x > K - 1) | (x != np.floor(x))
        if np.any(bad):
            raise ValueError(f"x: Categorical labels must be integers in 0..{K - 1}, found values such as {x[bad][:3].tolist()}")
        return x

    def _T(self, x):
        K = self.n_categories
        return (x == np.arange(K - 1)[None, :]).astype(np.float64)

    def _sample(self, n, rng):
        return rng.choice(self.n_categories, size=(n, 1), p=self._params["probs"]).astype(np.float64)

    def _integrate(self, fn):
        x = np.arange(self.n_categories, dtype=np.float64)[:, None]
        lq = self._shifted_log_q(x)
        c = float(lq.max())
        return (fn(x) * np.exp(lq - c)[:, None]).sum(axis=0), c


# ============================================================================ Beta / Dirichlet
def _dirichlet_start(m) -> np.ndarray:
    r"""Starting point for :math:`\psi(\alpha_k) - \psi(\alpha_0) = m_k` (Beta: K = 2).

    With :math:`\psi(a) \approx \log a - 1/(2a)`, :math:`p_k = \alpha_k/\alpha_0` and
    :math:`s = \alpha_0`: :math:`m_k \approx \log p_k - (1-p_k)/(2 s p_k)`.  Taking
    :math:`p = \operatorname{softmax}(m)` and the p-weighted sum gives
    :math:`s \approx (K-1) / (-2\log\sum_k e^{m_k})`.
    """
    K = m.size
    lse = logsumexp(m)
    p = np.exp(m - lse)
    s = (K - 1) / (-2.0 * lse)
    return s * p


def _dirichlet_A(eta):
    r""":math:`A(\alpha) = \sum_k \log\Gamma(\alpha_k) - \log\Gamma(\alpha_0)`, :math:`\alpha_0 = \sum_k\alpha_k`
    (the log of the multivariate Beta function; Beta is the case K = 2)."""
    return np.sum(gammaln(eta)) - gammaln(eta.sum())


def _dirichlet_grad_A(eta):
    r""":math:`\partial A/\partial\alpha_k = \psi(\alpha_k) - \psi(\alpha_0)` = E[log x_k]."""
    return digamma(eta) - digamma(eta.sum())


def _dirichlet_hess_A(eta):
    r""":math:`\nabla^2 A = \operatorname{diag}\psi'(\alpha_k) - \psi'(\alpha_0)` = Cov(log x)."""
    return np.diag(_trigamma(eta)) - _trigamma(eta.sum())


def _newton_alpha_eta(cls, m, **options):
    return cls._newton(m, _dirichlet_start(m), **options)


def _check_log_means(m, what: str):
    r"""Mean parameters :math:`m_k = E\log x_k` of a Beta or Dirichlet: the open mean space.

    With x on the simplex, :math:`\sum_k e^{m_k} \le \sum_k E x_k = 1` by Jensen, with equality
    only for data that are all equal; so m must be < 0 with :math:`\sum_k e^{m_k} < 1`.
    """
    if np.any(m >= 0) or not logsumexp(m) < 0:
        raise ValueError(f"mu: {what} must be < 0 with sum_k exp(mu_k) < 1 (data not all equal), got {m}")
    return m


class Beta(ExponentialFamily):
    r"""Beta distribution; data ``x`` of shape ``(n, 1)`` in the open interval (0, 1).

    Parameters
    ----------
    alpha, beta : float
        :math:`\alpha > 0`, :math:`\beta > 0`.

    Notes
    -----
    .. math::

        \eta = (\alpha, \beta),\quad T(x) = (\log x, \log(1-x)),\quad h(x) = \frac{1}{x(1-x)},

        A(\eta) = \log\Gamma(\alpha) + \log\Gamma(\beta) - \log\Gamma(\alpha+\beta),

        \nabla A = \big(\psi(\alpha) - \psi(\alpha+\beta),\ \psi(\beta) - \psi(\alpha+\beta)\big),

        \nabla^2 A = \operatorname{diag}(\psi_1(\alpha), \psi_1(\beta)) - \psi_1(\alpha+\beta)\,\mathbf 1\mathbf 1^\top

    (ψ digamma, ψ₁ trigamma).  Natural domain η > 0.  The MLE has no closed form:
    Newton on η (see :meth:`ExponentialFamily._newton`) from the start of
    ``_dirichlet_start``.  Mean space: :math:`e^{\mu_1} + e^{\mu_2} < 1`
    (the geometric means of x and 1 − x sum to less than 1 unless all data are equal).
    """

    newton_mle = True

    def __init__(self, alpha, beta):
        alpha = check_positive(alpha, "alpha")
        beta = check_positive(beta, "beta")
        self._set({"alpha": alpha, "beta": beta}, [alpha, beta])

    @classmethod
    def _default(cls):
        return cls(1.0, 1.0)

    _A = staticmethod(_dirichlet_A)
    _grad_A = staticmethod(_dirichlet_grad_A)
    _hess_A = staticmethod(_dirichlet_hess_A)

    @classmethod
    def _check_eta(cls, eta):
        e = _vector(eta, "eta", 2)
        if np.any(e <= 0):
            raise ValueError(f"eta: Beta natural parameters (alpha, beta) must be > 0, got {e}")
        return e

    @classmethod
    def _params_from_eta(cls, e):
        return {"alpha": e[0], "beta": e[1]}

    @classmethod
    def _check_mean(cls, mu):
        return _check_log_means(_vector(mu, "mu", 2), "Beta mean parameters (E log x, E log(1-x))")

    @classmethod
    def _eta_from_mean(cls, m, **options):
        return _newton_alpha_eta(cls, m, **options)

    def _check_data(self, x):
        x = _scalar_data(x)
        bad = (x <= 0) | (x >= 1)
        if np.any(bad):
            raise ValueError(f"x: Beta data must lie in the open interval (0, 1), found values such as {x[bad][:3].tolist()}")
        return x

    def _T(self, x):
        return np.concatenate([np.log(x), np.log1p(-x)], axis=1)

    def _log_h(self, x):
        return -np.log(x[:, 0]) - np.log1p(-x[:, 0])

    def _sample(self, n, rng):
        return rng.beta(self._params["alpha"], self._params["beta"], size=(n, 1))

    def _integrate(self, fn):
        # tanh–sinh rule (endpoint singularities of x^(α-1)(1-x)^(β-1) log x); nodes that
        # round to x = 1 are dropped: they carry mass below (1e-16)^β, so the result is
        # good to ~1e-12 for β ≥ 0.8 and refinement refuses to converge for small β
        a, b = float(self._params["alpha"]), float(self._params["beta"])
        c = float(self._shifted_log_q(np.array([[a / (a + b)]]))[0])       # shift: e^{log q - c} near 1 at the mean

        def rule(h):
            u, _, w = tanh_sinh(h)
            keep = u < 1.0
            x, w = u[keep][:, None], w[keep]
            return (fn(x) * (w * np.exp(self._shifted_log_q(x) - c))[:, None]).sum(axis=0)

        return tanh_sinh_refine(rule, "Beta integral (needs beta >= ~0.8: mass within 1e-16 of x = 1 "
                                      "is not representable in x)", 1.0 / 1024), c

    # energy view: T = (log x, log(1−x)), ∂T = (1/x, −1/(1−x)), ∂²T = (−1/x², −1/(1−x)²);
    # log h = −T₁ − T₂
    _ev_log_h = (0.0, -np.ones(2))

    _ev_support = "the open interval 0 < x < 1"

    def _ev_in_support(self, y):
        return (y[:, 0] > 0) & (y[:, 0] < 1)

    def _ev_stats(self, y):
        n = y.shape[0]
        T = np.concatenate([np.log(y), np.log(1.0 - y)], axis=1)
        J = np.stack([1.0 / y, -1.0 / (1.0 - y)], axis=1)                     # (n, 2, 1)
        H = np.stack([-1.0 / y**2, -1.0 / (1.0 - y) ** 2], axis=1).reshape(n, 2, 1, 1)
        return T, J, H


# ============================================================================ Gamma
class Gamma(ExponentialFamily):
    r"""Gamma distribution with shape a and rate b; data ``x`` of shape ``(n, 1)``, x > 0.

    Parameters
    ----------
    shape : float
        :math:`a > 0`.
    rate : float
        :math:`b > 0` (scale 1/b).

    Notes
    -----
    .. math::

        \eta = (a, -b),\quad T(x) = (\log x, x),\quad h(x) = 1/x,\quad
        A(\eta) = \log\Gamma(\eta_1) - \eta_1\log(-\eta_2) = \log\Gamma(a) - a\log b,

        \nabla A = \big(\psi(a) - \log b,\ a/b\big),\qquad
        \nabla^2 A = \begin{pmatrix}\psi_1(a) & 1/b\\ 1/b & a/b^2\end{pmatrix}.

    Natural domain :math:`\eta_1 > 0, \eta_2 < 0`.  Mean space:
    :math:`\log\mu_2 > \mu_1` (Jensen: log of the mean exceeds the mean of the log unless
    all data are equal).  MLE by Newton on η from Minka's approximation
    :math:`a_0 = (3 - s + \sqrt{(s-3)^2 + 24s})/(12s)`, :math:`s = \log\mu_2 - \mu_1`.

    References
    ----------
    T. P. Minka, "Estimating a Gamma distribution", 2002.
    """

    newton_mle = True

    def __init__(self, shape, rate):
        shape = check_positive(shape, "shape")
        rate = check_positive(rate, "rate")
        self._set({"shape": shape, "rate": rate}, [shape, -rate])

    @classmethod
    def _default(cls):
        return cls(1.0, 1.0)

    @staticmethod
    def _A(eta):
        return gammaln(eta[0]) - eta[0] * np.log(-eta[1])

    @staticmethod
    def _grad_A(eta):
        return np.array([digamma(eta[0]) - np.log(-eta[1]), -eta[0] / eta[1]])

    @staticmethod
    def _hess_A(eta):
        c = -1.0 / eta[1]
        return np.array([[_trigamma(eta[0]), c], [c, eta[0] / eta[1] ** 2]])

    @classmethod
    def _check_eta(cls, eta):
        e = _vector(eta, "eta", 2)
        if not (e[0] > 0 and e[1] < 0):
            raise ValueError(f"eta: Gamma natural parameters (shape, -rate) need eta[0] > 0 and eta[1] < 0, got {e}")
        return e

    @classmethod
    def _params_from_eta(cls, e):
        return {"shape": e[0], "rate": -e[1]}

    @classmethod
    def _check_mean(cls, mu):
        m = _vector(mu, "mu", 2)
        if not (m[1] > 0 and np.log(m[1]) - m[0] > 0):
            raise ValueError("mu: Gamma mean parameters (E log x, E x) need E x > 0 and log E x > E log x "
                             f"(data not all equal), got {m}")
        return m

    @classmethod
    def _eta_from_mean(cls, m, **options):
        s = np.log(m[1]) - m[0]
        a0 = (3.0 - s + np.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s)
        return cls._newton(m, np.array([a0, -a0 / m[1]]), **options)

    def _check_data(self, x):
        x = _scalar_data(x)
        if np.any(x <= 0):
            raise ValueError(f"x: Gamma data must be > 0, found values such as {x[x <= 0][:3].tolist()}")
        return x

    def _T(self, x):
        return np.concatenate([np.log(x), x], axis=1)

    def _log_h(self, x):
        return -np.log(x[:, 0])

    def _sample(self, n, rng):
        return rng.gamma(self._params["shape"], 1.0 / self._params["rate"], size=(n, 1))

    def _integrate(self, fn):
        a, b = float(self._params["shape"]), float(self._params["rate"])
        m = a / b
        upper = m + 60.0 * np.sqrt(a) / b + 800.0 / b      # density there is below e^{-700}
        c = float(self._shifted_log_q(np.array([[m]]))[0])                 # shift: e^{log q - c} near 1 at the mean
        g = lambda x: fn(x) * np.exp(self._shifted_log_q(x) - c)[:, None]  # noqa: E731
        return _quad_vec(g, 0.0, upper, points=(0.1 * m, m, m + 10 * np.sqrt(a) / b)), c

    # energy view: T = (log x, x), ∂T = (1/x, 1), ∂²T = (−1/x², 0); log h = −T₁
    _ev_log_h = (0.0, np.array([-1.0, 0.0]))

    _ev_support = "x > 0"

    def _ev_in_support(self, y):
        return y[:, 0] > 0

    def _ev_stats(self, y):
        n = y.shape[0]
        T = np.concatenate([np.log(y), y], axis=1)
        J = np.stack([1.0 / y, np.ones_like(y)], axis=1)
        H = np.zeros((n, 2, 1, 1), dtype=y.dtype)
        H[:, 0, 0, 0] = -1.0 / y[:, 0] ** 2
        return T, J, H


# ============================================================================ Dirichlet
class Dirichlet(ExponentialFamily):
    r"""Dirichlet distribution on the K-simplex; data ``x`` of shape ``(n, K)``, rows in the open simplex.

    Parameters
    ----------
    alpha : ndarray, shape (K,), K ≥ 2
        Concentrations :math:`\alpha_k > 0`.

    Notes
    -----
    .. math::

        \eta = \alpha,\quad T(x) = (\log x_1, \dots, \log x_K),\quad h(x) = \prod_k x_k^{-1},

        A(\eta) = \sum_k \log\Gamma(\alpha_k) - \log\Gamma(\alpha_0),\quad \alpha_0 = \sum_k\alpha_k,

        \nabla A = \psi(\alpha) - \psi(\alpha_0),\qquad
        \nabla^2 A = \operatorname{diag}\psi_1(\alpha) - \psi_1(\alpha_0)\,\mathbf 1\mathbf 1^\top .

    The density is with respect to Lebesgue measure on the first K − 1 coordinates
    (:math:`x_K = 1 - \sum_{k<K} x_k`); the energy view uses exactly those coordinates,
    ``y = x[:, :K-1]`` with dimension K − 1.  Data rows must have every entry > 0 and
    sum to 1 within ``SIMPLEX_TOL``.  MLE by Newton on η as for :class:`Beta`
    (which is the case K = 2).
    """

    newton_mle = True

    def __init__(self, alpha):
        a = _vector(alpha, "alpha", min_length=2)
        if np.any(a <= 0):
            raise ValueError(f"alpha: every concentration must be > 0, got {a}")
        self._set({"alpha": a}, a)

    @property
    def data_dim(self) -> int:
        return self._eta.size

    @classmethod
    def _template(cls, x, options):
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] < 2:
            raise ValueError(f"x: expected Dirichlet data of shape (n, K) with K >= 2, got shape {x.shape}")
        return cls(np.ones(x.shape[1]))

    _A = staticmethod(_dirichlet_A)
    _grad_A = staticmethod(_dirichlet_grad_A)
    _hess_A = staticmethod(_dirichlet_hess_A)

    @classmethod
    def _check_eta(cls, eta):
        e = _vector(eta, "eta", min_length=2)
        if np.any(e <= 0):
            raise ValueError(f"eta: Dirichlet natural parameters alpha must be > 0, got {e}")
        return e

    @classmethod
    def _params_from_eta(cls, e):
        return {"alpha": e}

    @classmethod
    def _check_mean(cls, mu):
        return _check_log_means(_vector(mu, "mu", min_length=2), "Dirichlet mean parameters E log x_k")

    @classmethod
    def _eta_from_mean(cls, m, **options):
        return _newton_alpha_eta(cls, m, **options)

    def _check_data(self, x):
        x = as_batch(x, self.data_dim, "x")
        if np.any(x <= 0):
            raise ValueError("x: Dirichlet data must have every coordinate > 0 (open simplex)")
        s = np.abs(x.sum(axis=1) - 1.0)
        if np.any(s > SIMPLEX_TOL):
            raise ValueError(f"x: Dirichlet rows must sum to 1 (within {SIMPLEX_TOL:g}); worst row is off by {s.max():.3g}")
        return x

    def _T(self, x):
        return np.log(x)

    def _log_h(self, x):
        return -np.sum(np.log(x), axis=1)

    def _sample(self, n, rng):
        return rng.dirichlet(self._params["alpha"], size=n)

    def _integrate(self, fn):
        K = self.data_dim
        if K > 3:
            raise ValueError(f"numerical integration over the simplex is implemented for K <= 3, this Dirichlet has K = {K}")

        # tanh–sinh rule; for K = 3 the Duffy map x = (u, (1-u)v, (1-u)(1-v)), Jacobian
        # (1-u), turns the triangle into the unit square with every coordinate of x
        # formed without cancellation
        alpha = self._params["alpha"]
        c = float(self._shifted_log_q((alpha / alpha.sum())[None, :])[0])   # shift: e^{log q - c} near 1 at the mean

        def rule(h):
            u, uc, w = tanh_sinh(h)
            if K == 2:
                x, jac = np.stack([u, uc], axis=1), w
            else:
                U, V = np.meshgrid(u, u, indexing="ij")
                UC, VC = np.meshgrid(uc, uc, indexing="ij")
                x = np.stack([U.ravel(), (UC * V).ravel(), (UC * VC).ravel()], axis=1)
                jac = (np.outer(w, w) * UC).ravel()
            return (fn(x) * (jac * np.exp(self._shifted_log_q(x) - c))[:, None]).sum(axis=0)

        # 2-D: h = 1/128 is 1151² nodes; below that the memory grows past ~1 GB
        return tanh_sinh_refine(rule, "Dirichlet integral", 1.0 / 1024 if K == 2 else 1.0 / 128), c

    # energy view in y = (x_1..x_{K-1}), x_K = 1 − Σy:
    # T_k = log y_k (k<K), T_K = log x_K; ∂T_k/∂y_j = δ_kj/y_k, ∂T_K/∂y_j = −1/x_K;
    # ∂²T_k = −δ_kj δ_kl / y_k², ∂²T_K = −11ᵀ/x_K²; log h = −Σ_k T_k
    @property
    def _ev_log_h(self):
        return (0.0, -np.ones(self.data_dim))

    _ev_support = "the first K-1 coordinates, each > 0 with sum < 1"

    def _ev_in_support(self, y):
        return np.all(y > 0, axis=1) & (1.0 - y.sum(axis=1) > 0)

    def _ev_stats(self, y):
        n, d = y.shape
        last = 1.0 - y.sum(axis=1)
        T = np.concatenate([np.log(y), np.log(last)[:, None]], axis=1)
        J = np.zeros((n, d + 1, d), dtype=y.dtype)
        J[:, np.arange(d), np.arange(d)] = 1.0 / y
        J[:, d, :] = -1.0 / last[:, None]
        H = np.zeros((n, d + 1, d, d), dtype=y.dtype)
        H[:, np.arange(d), np.arange(d), np.arange(d)] = -1.0 / y**2
        H[:, d, :, :] = -1.0 / last[:, None, None] ** 2
        return T, J, H


FAMILIES = (Normal, Poisson, Exponential, Bernoulli, Categorical, Beta, Gamma, Dirichlet)


# ============================================================================ energy view
class ExpFamEnergy(Energy):
    r"""A continuous exponential family as an energy, with its natural parameters as θ.

    Parameters
    ----------
    eta : ndarray, shape (k,)
        Natural parameters η (the only entry of ``params``).
    family : type
        One of :class:`Normal`, :class:`Exponential`, :class:`Beta`, :class:`Gamma`,
        :class:`Dirichlet` (a setting, not a parameter).

    Notes
    -----
    Energy convention (:math:`p = e^{-E}/Z`).  For these five families the base measure
    is itself log-linear in T, :math:`\log h(x) = c + b^\top T(x)` (Normal: c = −½log 2π,
    b = 0; Exponential: 0; Beta: b = (−1, −1); Gamma: b = (−1, 0); Dirichlet: b = −1), so
    with :math:`w = \eta + b`, :math:`J_k = \nabla_x T_k`, :math:`H_k = \nabla_x^2 T_k`:

    .. math::

        E(x) = -c - w^\top T(x),\quad \nabla_x E = -\sum_k w_k J_k,\quad
        \nabla_x^2 E = -\sum_k w_k H_k,\quad \log Z = A(\eta),

        \frac{\partial E}{\partial\eta_k} = -T_k,\quad
        \frac{\partial}{\partial\eta_k}\sum_n u_n\!\cdot\!\nabla_xE = -\sum_n u_n\!\cdot\! J_k(x_n),

        \frac{\partial}{\partial\eta_k}\sum_n \operatorname{tr}\nabla_x^2E = -\sum_n\operatorname{tr}H_k(x_n),\quad
        \frac{\partial}{\partial\eta_k}\sum_n v_n^\top\nabla_x^2E\,v_n = -\sum_n v_n^\top H_k(x_n) v_n .

    x lives in the open support (Exponential and Gamma: x > 0; Beta: 0 < x < 1;
    Dirichlet: the first K − 1 coordinates, positive with sum < 1); points outside raise
    ``ValueError`` (E = +∞ there).  :meth:`~ebm_ref.energy.Energy.in_support` says which points
    are inside without raising, so that a sampler rejects a proposal outside.
    """

    def __init__(self, eta, family):
        if not (isinstance(family, type) and issubclass(family, ExponentialFamily) and family.continuous):
            raise ValueError(f"family: expected one of Normal, Exponential, Beta, Gamma, Dirichlet, got {family!r}")
        eta = family._check_eta(eta)
        fam = family.from_natural(eta)
        dim = fam.data_dim - 1 if family is Dirichlet else 1
        # θ is the η given (not the family's η recomputed from its usual parameters, which
        # may differ by rounding), so that derivative checks see exactly the perturbed η
        super().__init__(dim, {"eta": eta}, family=family)
        self._fam = fam

    @property
    def family(self) -> ExponentialFamily:
        """The exponential family this energy views."""
        return self._fam

    def __repr__(self) -> str:
        return f"ExpFamEnergy({self._fam!r})"

    def _x(self, x, name: str = "x"):
        x = super()._x(x, name)
        self._fam._ev_check(x.real)
        return x

    def _in_support(self, x):
        return self._fam._ev_in_support(x)

    def _w(self):
        c, b = self._fam._ev_log_h
        return c, self._params["eta"] + b

    def _energy(self, x):
        c, w = self._w()
        T, _, _ = self._fam._ev_stats(x)
        return -c - T @ w

    def _grad_x(self, x):
        _, w = self._w()
        _, J, _ = self._fam._ev_stats(x)
        return -np.einsum("k,nkd->nd", w, J)

    def _hessian_x(self, x):
        _, w = self._w()
        _, _, H = self._fam._ev_stats(x)
        return -np.einsum("k,nkde->nde", w, H)

    def _laplacian_x(self, x):
        _, w = self._w()
        _, _, H = self._fam._ev_stats(x)
        return -np.einsum("k,nkdd->n", w, H)

    def _grad_params(self, x):
        T, _, _ = self._fam._ev_stats(x)
        return {"eta": -T}

    def _grad_params_dot_grad_x(self, x, u):
        _, J, _ = self._fam._ev_stats(x)
        return {"eta": -np.einsum("nkd,nd->k", J, u)}

    def _grad_params_laplacian(self, x):
        _, _, H = self._fam._ev_stats(x)
        return {"eta": -np.einsum("nkdd->k", H)}

    def _grad_params_hvp(self, x, v):
        _, _, H = self._fam._ev_stats(x)
        return {"eta": -np.einsum("nd,nkde,ne->k", v, H, v)}

    def log_partition(self) -> float:
        """log Z = A(η), the family's closed form."""
        return float(self._fam._A(self._params["eta"]))

    def grad_log_partition(self) -> dict:
        """∇η log Z = ∇A(η) = E[T] (= −E_p[∇η E])."""
        return {"eta": np.asarray(self._fam._grad_A(self._params["eta"]), dtype=np.float64)}

    def sample(self, n: int, rng) -> np.ndarray:
        """Exact samples in the energy's coordinates, shape ``(n, dim)``."""
        x = self._fam.sample(n, rng)
        return x[:, : self.dim]
