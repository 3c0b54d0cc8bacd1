r"""Gaussian energies whose partition function is known in closed form.

* :class:`Gaussian` — :math:`E(x) = \tfrac12 (x-\mu)^\top P (x-\mu)`,
  :math:`\log Z = \tfrac d2\log 2\pi - \tfrac12\log\det P`.
* :class:`GaussianMixture` — :math:`E(x) = -\log\sum_k w_k\,\mathcal N(x;\mu_k,\Sigma_k)`,
  normalized, so :math:`\log Z = 0`.
* :class:`WarpedGaussian` — a "banana": a Gaussian energy composed with a shear
  :math:`T(x)` whose Jacobian determinant is 1, so :math:`Z` equals the Gaussian's.

Symmetric-matrix parameters.  The precision P (and a mixture's covariances) are
symmetric.  Their gradient is the *symmetric* matrix G with
:math:`dF = \operatorname{tr}(G\,dP)` for every symmetric perturbation dP.  For a
quantity that depends on P only through a symmetric form it coincides with the
entry-wise gradient; where the entry-wise gradient is not symmetric (the second-order
primitives) it is symmetrized, :math:`G = \tfrac12(A + A^\top)`.  Derivative checks
perturb these parameters along symmetric directions (``symmetric_params``).
"""
from __future__ import annotations

import numpy as np

from .._validate import as_float_array, as_generator, check_positive_int
from ..energy import Energy
from ..numerics.special import LOG_2PI

__all__ = ["Gaussian", "GaussianMixture", "WarpedGaussian", "check_spd"]



def check_spd(M, name: str, d: int | None = None) -> np.ndarray:
    """Check a symmetric positive-definite matrix; return it as float64."""
    M = as_float_array(M, name)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or (d is not None and M.shape[0] != d):
        want = f"({d}, {d})" if d is not None else "(d, d)"
        raise ValueError(f"{name}: expected a square matrix of shape {want}, got {M.shape}")
    if not np.all(np.isfinite(M)):
        raise ValueError(f"{name}: contains NaN or inf")
    scale = max(1.0, float(np.max(np.abs(M))))
    if np.max(np.abs(M - M.T)) > 1e-10 * scale:
        raise ValueError(f"{name}: must be symmetric (max |M - M^T| = {np.max(np.abs(M - M.T)):.3g})")
    try:
        np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        eig = np.linalg.eigvalsh(M).min()
        raise ValueError(f"{name}: must be positive definite; smallest eigenvalue is {eig:.4g}") from None
    return M


def _check_mixture(weights, means, covariances, on_simplex: bool):
    """Checked ``(weights, means, covariances)`` of a :class:`GaussianMixture` (float64)."""
    weights = as_float_array(weights, "weights")
    means = as_float_array(means, "means")
    covariances = as_float_array(covariances, "covariances")
    if weights.ndim != 1 or weights.size == 0:
        raise ValueError(f"weights: expected shape (K,) with K >= 1, got {weights.shape}")
    K = weights.size
    if means.ndim != 2 or means.shape[0] != K or means.shape[1] == 0:
        raise ValueError(f"means: expected shape ({K}, d), got {means.shape}")
    d = means.shape[1]
    if covariances.shape != (K, d, d):
        raise ValueError(f"covariances: expected shape ({K}, {d}, {d}), got {covariances.shape}")
    if not np.all(np.isfinite(weights)) or np.any(weights <= 0):
        raise ValueError(f"weights: must be finite and > 0, got {weights}")
    if on_simplex and abs(weights.sum() - 1.0) > 1e-10:
        raise ValueError(f"weights: must sum to 1, got sum {weights.sum():.12g}")
    if not np.all(np.isfinite(means)):
        raise ValueError("means: contains NaN or inf")
    for k in range(K):
        check_spd(covariances[k], f"covariances[{k}]", d)
    return weights, means, covariances


def _half_quadratic_form(r, P):
    r"""½ rᵀ P r over the last axis of r (P of shape (d, d), or (K, d, d) against r (n, K, d)).

    For a positive-definite P the form is ≥ 0, so where it overflows the answer is +∞; the
    plain sum can meet +∞ − ∞ = NaN on the way (x = 1e300 with a negative off-diagonal).
    Those rows are recomputed from :math:`u = r/c`, :math:`c = \max_i|r_i|`, as
    :math:`c^2\,u^\top P u`; every other row is the plain sum, unchanged.
    """
    # one P: (r P)·r row by row, the product by BLAS (einsum's three-operand loop is ~10× slower at n·d² ~ 1e7)
    q = 0.5 * (np.einsum("...i,...i->...", r @ P, r) if P.ndim == 2 else np.einsum("...i,...ij,...j->...", r, P, r))
    bad = ~np.isfinite(q)
    if np.any(bad):
        c = np.max(np.abs(r), axis=-1, keepdims=True)
        u = r / np.where(c > 0, c, 1.0)
        with np.errstate(over="ignore"):
            q = np.where(bad, 0.5 * np.einsum("...i,...ij,...j->...", u, P, u) * c[..., 0] ** 2, q)
    return q


def _sym(A):
    return 0.5 * (A + np.swapaxes(A, -1, -2))


class Gaussian(Energy):
    r"""Multivariate Gaussian in energy form.

    Parameters
    ----------
    mean : ndarray, shape (d,)
        :math:`\mu`.
    precision : ndarray, shape (d, d)
        :math:`P = \Sigma^{-1}`, symmetric positive definite.

    Notes
    -----
    Energy convention (:math:`p = e^{-E}/Z`):

    .. math::

        E(x) = \tfrac12 (x-\mu)^\top P (x-\mu),\qquad
        \nabla_x E = P(x-\mu),\qquad \nabla_x^2 E = P,

        \nabla_\mu E = -P(x-\mu),\qquad \nabla_P E = \tfrac12 (x-\mu)(x-\mu)^\top,

        \log Z = \tfrac d2 \log 2\pi - \tfrac12 \log\det P .
    """

    symmetric_params = ("precision",)

    def __init__(self, mean, precision):
        mean = as_float_array(mean, "mean")
        if mean.ndim != 1 or mean.size == 0:
            raise ValueError(f"mean: expected shape (d,) with d >= 1, got {mean.shape}")
        if not np.all(np.isfinite(mean)):
            raise ValueError("mean: contains NaN or inf")
        precision = check_spd(precision, "precision", mean.size)
        super().__init__(mean.size, {"mean": mean, "precision": precision})
        self._chol = np.linalg.cholesky(precision)

    @classmethod
    def from_covariance(cls, mean, covariance) -> "Gaussian":
        """Gaussian with covariance Σ (precision Σ⁻¹)."""
        cov = check_spd(covariance, "covariance")
        return cls(mean, np.linalg.inv(cov))

    @property
    def mean(self) -> np.ndarray:
        return self._params["mean"]

    @property
    def precision(self) -> np.ndarray:
        return self._params["precision"]

    @property
    def covariance(self) -> np.ndarray:
        """Σ = P⁻¹."""
        return np.linalg.inv(self.precision)

    # energy and its x-derivatives, side by side
    def _energy(self, x):
        return _half_quadratic_form(x - self.mean, self.precision)

    def _grad_x(self, x):
        return (x - self.mean) @ self.precision

    def _hessian_x(self, x):
        return np.broadcast_to(self.precision, (x.shape[0], self.dim, self.dim)).copy()

    def _laplacian_x(self, x):
        return np.full(x.shape[0], np.trace(self.precision))

    # parameter derivatives
    def _grad_params(self, x):
        r = x - self.mean
        return {"mean": -r @ self.precision, "precision": 0.5 * np.einsum("ni,nj->nij", r, r)}

    def _grad_params_sum(self, x, w):
        r = x - self.mean
        return {"mean": -(w @ r) @ self.precision, "precision": 0.5 * np.einsum("n,ni,nj->ij", w, r, r)}

    def _grad_params_dot_grad_x(self, x, u):
        # Σ u·P(x-μ): d/dμ = -P Σu ; d/dP = sym(Σ u rᵀ)
        r = x - self.mean
        return {"mean": -self.precision @ u.sum(axis=0), "precision": _sym(u.T @ r)}

    def _grad_params_laplacian(self, x):
        return {"mean": np.zeros(self.dim), "precision": x.shape[0] * np.eye(self.dim)}

    def _grad_params_hvp(self, x, v):
        return {"mean": np.zeros(self.dim), "precision": v.T @ v}

    def evaluation_arrays(self) -> dict:
        """Arrays for vectorised/compiled evaluation: ``mean`` μ and ``precision`` P (E = ½ rᵀPr, r = x − μ)."""
        return {"mean": np.array(self._params["mean"]), "precision": np.array(self._params["precision"])}

    def log_partition(self) -> float:
        """log Z = (d/2) log 2π − ½ log det P."""
        logdet = 2.0 * np.sum(np.log(np.diag(self._chol)))
        return 0.5 * self.dim * LOG_2PI - 0.5 * logdet

    def grad_log_partition(self) -> dict:
        """∇θ log Z: zero for μ, −½ P⁻¹ = −½ Σ for P (equal to −E_p[∇θE])."""
        return {"mean": np.zeros(self.dim), "precision": -0.5 * self.covariance}

    def sample(self, n: int, rng) -> np.ndarray:
        """Exact samples: x = μ + L⁻ᵀ z with P = L Lᵀ, z ~ N(0, I).  Shape (n, d)."""
        n = check_positive_int(n, "n", 0)
        rng = as_generator(rng)
        z = rng.standard_normal((n, self.dim))
        return self.mean + np.linalg.solve(self._chol.T, z.T).T


class GaussianMixture(Energy):
    r"""Mixture of Gaussians, normalized: :math:`\log Z = 0`.

    Parameters
    ----------
    weights : ndarray, shape (K,)
        Mixing weights :math:`w_k > 0` summing to 1.
    means : ndarray, shape (K, d)
    covariances : ndarray, shape (K, d, d)
        Symmetric positive definite :math:`\Sigma_k`.

    Notes
    -----
    With :math:`e_k(x) = \tfrac12 (x-\mu_k)^\top P_k (x-\mu_k) + \tfrac12\log\det(2\pi\Sigma_k) - \log w_k`
    (so :math:`w_k\mathcal N_k = e^{-e_k}`) and responsibilities
    :math:`r_k = e^{-e_k}/\sum_j e^{-e_j}`, :math:`a_k = P_k (x-\mu_k)`:

    .. math::

        E = -\log\sum_k e^{-e_k},\quad \nabla_x E = \sum_k r_k a_k,\quad
        \nabla_x^2 E = \sum_k r_k (P_k - a_k a_k^\top) + \bar a \bar a^\top,\ \bar a = \sum_k r_k a_k .

    Parameter gradients treat the weights as free positive numbers
    (:math:`\partial E/\partial w_k = -r_k/w_k`), the covariance gradient is symmetric:
    :math:`\partial E/\partial\Sigma_k = \tfrac{r_k}2 (P_k - a_k a_k^\top)`.
    """

    symmetric_params = ("covariances",)

    def __init__(self, weights, means, covariances):
        weights, means, covariances = _check_mixture(weights, means, covariances, on_simplex=True)
        super().__init__(means.shape[1], {"weights": weights, "means": means, "covariances": covariances})

    def _derive(self):
        # P_k = Σ_k⁻¹, the Cholesky factors, and the constants ½ log det(2πΣ_k) − log w_k of e_k
        p = self._params
        self._prec = np.linalg.inv(p["covariances"])
        self._chol_cov = np.linalg.cholesky(p["covariances"])
        logdet = 2.0 * np.sum(np.log(np.diagonal(self._chol_cov, axis1=1, axis2=2)), axis=1)
        self._const = 0.5 * (self.dim * LOG_2PI + logdet) - np.log(p["weights"])

    def replace(self, **new_params):
        """A new mixture with some parameters replaced, checked as the constructor checks them.

        Except one check: the weights need not sum to one (a derivative check moves them off
        the simplex; the energy formula does not use the constraint, and log Z = log Σ w_k
        stays exact).  They must still be finite and > 0, the means finite, the covariances
        symmetric positive definite.
        """
        from .. import params as _p

        p = _p.replace(self._params, **new_params)
        w, m, c = _check_mixture(p["weights"], p["means"], p["covariances"], on_simplex=False)
        return type(self)._from_checked(m.shape[1], {"weights": w, "means": m, "covariances": c})

    def _parts(self, x):
        r = x[:, None, :] - self._params["means"][None]           # (n, K, d)
        a = np.einsum("kij,nkj->nki", self._prec, r)               # P_k r_k
        e = _half_quadratic_form(r, self._prec) + self._const      # e_k
        far = np.all(np.isposinf(e.real), axis=1)                  # every e_k = +∞: E = +∞
        if np.any(far):
            e = np.where(far[:, None], 0.0, e)
        m = np.min(e.real, axis=1, keepdims=True)
        t = np.exp(-(e - m))
        s = t.sum(axis=1, keepdims=True)
        E = m[:, 0] - np.log(s[:, 0])
        return r, a, t / s, (np.where(far, np.inf, E) if np.any(far) else E)

    def _energy(self, x):
        return self._parts(x)[3]

    def _grad_x(self, x):
        _, a, resp, _ = self._parts(x)
        return np.einsum("nk,nki->ni", resp, a)

    def _hessian_x(self, x):
        _, a, resp, _ = self._parts(x)
        abar = np.einsum("nk,nki->ni", resp, a)
        H = np.einsum("nk,kij->nij", resp, self._prec) - np.einsum("nk,nki,nkj->nij", resp, a, a)
        return H + np.einsum("ni,nj->nij", abar, abar)

    def _laplacian_x(self, x):
        _, a, resp, _ = self._parts(x)
        abar = np.einsum("nk,nki->ni", resp, a)
        tr = np.trace(self._prec, axis1=1, axis2=2)
        return resp @ tr - np.einsum("nk,nki,nki->n", resp, a, a) + np.sum(abar * abar, axis=1)

    def _grad_params(self, x):
        _, a, resp, _ = self._parts(x)
        w = self._params["weights"]
        return {
            "weights": -resp / w,
            "means": -resp[:, :, None] * a,
            "covariances": 0.5 * resp[:, :, None, None] * (self._prec[None] - np.einsum("nki,nkj->nkij", a, a)),
        }

    def evaluation_arrays(self) -> dict:
        """Arrays for vectorised/compiled evaluation: ``weights`` w, ``means`` μ_k, ``precisions`` P_k = Σ_k⁻¹, ``consts``.

        E(x) = −log Σ_k exp(−e_k), e_k = ½ (x − μ_k)ᵀ P_k (x − μ_k) + const_k with
        const_k = ½ log det(2π Σ_k) − log w_k (the log-normalising constant of component k
        minus its log weight).  Fresh float64 copies.
        """
        p = self._params
        return {"weights": np.array(p["weights"]), "means": np.array(p["means"]),
                "precisions": np.array(self._prec), "consts": np.array(self._const)}

    def log_partition(self) -> float:
        """log Z = log Σ_k w_k: a mixture of normalized densities; 0 for weights on the simplex."""
        return float(np.log(np.sum(self._params["weights"])))

    def grad_log_partition(self) -> dict:
        """∇θ log Z: 1/Σ_k w_k for each weight, zero for the means and covariances."""
        p = self._params
        return {"weights": np.full_like(p["weights"], 1.0 / np.sum(p["weights"])),
                "means": np.zeros_like(p["means"]), "covariances": np.zeros_like(p["covariances"])}

    def sample(self, n: int, rng) -> np.ndarray:
        """Exact samples: a component k ~ Categorical(w), then x ~ N(μ_k, Σ_k)."""
        n = check_positive_int(n, "n", 0)
        rng = as_generator(rng)
        k = rng.choice(self._params["weights"].size, size=n, p=self._params["weights"])
        z = rng.standard_normal((n, self.dim))
        return self._params["means"][k] + np.einsum("nij,nj->ni", self._chol_cov[k], z)


class WarpedGaussian(Energy):
    r"""A "banana": a Gaussian energy composed with a shear of unit Jacobian.

    Parameters
    ----------
    mean : ndarray, shape (d,), d >= 2
    precision : ndarray, shape (d, d)
    b : float
        Curvature of the warp.

    Notes
    -----
    The map :math:`T(x) = x + b\,x_0^2\,e_1` (only the second coordinate moves) has
    Jacobian :math:`J = I + 2 b x_0\, e_1 e_0^\top`, a triangular matrix with unit
    diagonal, so :math:`\det J = 1` and, by the change of variables z = T(x),

    .. math::

        Z = \int e^{-\frac12 (T(x)-\mu)^\top P (T(x)-\mu)}\,dx
          = \int e^{-\frac12 (z-\mu)^\top P (z-\mu)}\,dz = (2\pi)^{d/2}\det P^{-1/2}.

    With :math:`r = T(x) - \mu`, :math:`g = P r`:
    :math:`\nabla_x E = J^\top g`,
    :math:`\nabla_x^2 E = J^\top P J + 2 b\, g_1\, e_0 e_0^\top`,
    :math:`\partial E/\partial b = g_1 x_0^2`.
    """

    symmetric_params = ("precision",)

    def __init__(self, mean, precision, b):
        mean = as_float_array(mean, "mean")
        if mean.ndim != 1 or mean.size < 2:
            raise ValueError(f"mean: expected shape (d,) with d >= 2 (the warp needs two coordinates), got {mean.shape}")
        if not np.all(np.isfinite(mean)):
            raise ValueError("mean: contains NaN or inf")
        precision = check_spd(precision, "precision", mean.size)
        b = as_float_array(b, "b", shape=())
        if not np.isfinite(b):
            raise ValueError(f"b: must be finite, got {b}")
        super().__init__(mean.size, {"mean": mean, "precision": precision, "b": b})
        self._gauss = Gaussian(mean, precision)

    def warp(self, x):
        """T(x): add b·x₀² to the second coordinate."""
        z = x.copy()
        z[:, 1] = z[:, 1] + self._params["b"] * x[:, 0] ** 2
        return z

    def unwarp(self, z):
        """T⁻¹(z): subtract b·z₀² from the second coordinate."""
        x = z.copy()
        x[:, 1] = x[:, 1] - self._params["b"] * z[:, 0] ** 2
        return x

    def _jac(self, x):
        n, d = x.shape
        J = np.broadcast_to(np.eye(d), (n, d, d)).astype(x.dtype)
        J[:, 1, 0] = 2.0 * self._params["b"] * x[:, 0]
        return J

    def _energy(self, x):
        return self._gauss._energy(self.warp(x))

    def _grad_x(self, x):
        g = self._gauss._grad_x(self.warp(x))
        out = g.copy()
        out[:, 0] = out[:, 0] + 2.0 * self._params["b"] * x[:, 0] * g[:, 1]
        return out

    def _hessian_x(self, x):
        g = self._gauss._grad_x(self.warp(x))
        J = self._jac(x)
        H = np.einsum("nki,kl,nlj->nij", J, self.params["precision"], J)
        H[:, 0, 0] = H[:, 0, 0] + 2.0 * self._params["b"] * g[:, 1]
        return H

    def _grad_params(self, x):
        z = self.warp(x)
        gp = self._gauss._grad_params(z)
        g = self._gauss._grad_x(z)
        gp["b"] = g[:, 1] * x[:, 0] ** 2
        return gp

    def evaluation_arrays(self) -> dict:
        """Arrays for vectorised/compiled evaluation: ``mean`` μ, ``precision`` P, ``b``.

        E(x) = ½ rᵀPr, r = T(x) − μ, T(x)₁ = x₁ + b x₀²; fresh float64 copies.
        """
        p = self._params
        return {"mean": np.array(p["mean"]), "precision": np.array(p["precision"]), "b": float(p["b"])}

    def log_partition(self) -> float:
        """log Z of the unwarped Gaussian (the warp has unit Jacobian)."""
        return self._gauss.log_partition()

    def sample(self, n: int, rng) -> np.ndarray:
        """Exact samples: z from the Gaussian, then x = T⁻¹(z)."""
        return self.unwarp(self._gauss.sample(n, rng))
