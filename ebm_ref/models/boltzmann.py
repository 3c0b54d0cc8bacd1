r"""The fully visible Boltzmann machine (Ising model) with exact answers by enumeration.

.. math::

    E(x) = -\tfrac12 x^\top J x - h^\top x,\qquad p(x) = e^{-E(x)}/Z,\qquad
    Z = \sum_{x} e^{-E(x)},

over :math:`x\in\{0,1\}^d` (``spins='binary'``) or :math:`x\in\{-1,1\}^d`
(``spins='ising'``).  J is symmetric with a zero diagonal (a diagonal term would only
add a field, :math:`x_i^2 = x_i`, or a constant, :math:`x_i^2 = 1`).

The two spin conventions are the same family: with :math:`x = 2s - 1`,

.. math::

    E_{\text{ising}}(x; J, h) = E_{\text{binary}}(s; 4J,\ 2h - 2J\mathbf 1)
                               + \textstyle\sum_i h_i - \tfrac12 \sum_{ij} J_{ij},

so :math:`\log Z_{\text{ising}} = \log Z_{\text{binary}}' - \sum_i h_i + \tfrac12\sum_{ij}J_{ij}`
(:func:`ising_as_binary`).

A restricted Boltzmann machine is the special case on (v, h) with the bipartite coupling
:math:`J = \begin{pmatrix}0 & W\\ W^\top & 0\end{pmatrix}` and field (b, c).
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import params as _params
from .._validate import as_batch, as_float_array, as_generator, check_positive_int
from ..energy import Energy
from ..numerics.enumeration import (MAX_ENUMERATE_DIM, enumerate_states, expectation_by_enumeration,
                                    log_partition_enumerate)
from ..numerics.special import logsumexp, sigmoid

__all__ = ["BoltzmannMachine", "ising_as_binary"]

_SPINS = ("binary", "ising")


def _check_J(J, name="J", zero_diagonal=True):
    J = as_float_array(J, name)
    if J.ndim != 2 or J.shape[0] != J.shape[1] or J.shape[0] == 0:
        raise ValueError(f"{name}: expected a square matrix (d, d) with d >= 1, got {J.shape}")
    if not np.all(np.isfinite(J)):
        raise ValueError(f"{name}: contains NaN or inf")
    asym = float(np.max(np.abs(J - J.T)))
    if asym > 1e-12 * max(1.0, float(np.max(np.abs(J)))):
        raise ValueError(f"{name}: must be symmetric (max |J - J^T| = {asym:.3g})")
    if zero_diagonal and np.any(np.diag(J) != 0):
        raise ValueError(f"{name}: the diagonal must be zero (a self-coupling is a field or a "
                         f"constant), got diag {np.diag(J).tolist()}")
    return J


def _check_fields(h, d, spins, relaxed):
    h = as_float_array(h, "h", (d,))
    if not np.all(np.isfinite(h)):
        raise ValueError("h: contains NaN or inf")
    if spins not in _SPINS:
        raise ValueError(f"spins: expected 'binary' or 'ising', got {spins!r}")
    if not isinstance(relaxed, (bool, np.bool_)):
        raise ValueError(f"relaxed: expected True or False, got {relaxed!r}")
    return h, spins, bool(relaxed)


class BoltzmannMachine(Energy):
    r"""Fully visible Boltzmann machine / Ising model.

    Parameters
    ----------
    J : ndarray, shape (d, d)
        Symmetric couplings with zero diagonal.
    h : ndarray, shape (d,)
        Fields.
    spins : {'binary', 'ising'}
        States {0,1}^d or {−1,1}^d.
    relaxed : bool, default False
        If True, ``energy`` and its derivatives accept any real (or complex) x: the
        quadratic formula is used as its own continuous extension (this is what
        ``check_energy`` needs).  If False, x must hold valid spins.

    Notes
    -----
    Energy convention (p ∝ e^{−E}), with the local field :math:`m = Jx + h`:

    .. math::

        \nabla_x E = -(Jx + h),\qquad \nabla_x^2 E = -J,\qquad \operatorname{tr}\nabla_x^2E = 0,

        \nabla_J E = -\tfrac12 x x^\top,\qquad \nabla_h E = -x,

        p(x_i = 1\mid x_{-i}) = \sigma(m_i)\ \text{(binary)},\qquad
        p(x_i = +1\mid x_{-i}) = \sigma(2 m_i)\ \text{(ising)} .

    J is a symmetric parameter (``symmetric_params``): its gradient G is the symmetric
    matrix with dE = tr(G dJ).  The constructor insists on a zero diagonal;
    :meth:`replace` (used by derivative checks) accepts any symmetric J so that the
    diagonal entries' derivative −x_i²/2 is checkable.  Learning gradients
    (:meth:`exact_grad_log_likelihood`) keep the diagonal at zero.
    """

    symmetric_params = ("J",)

    def __init__(self, J, h, spins: str = "binary", relaxed: bool = False):
        J = _check_J(J)
        h, spins, relaxed = _check_fields(h, J.shape[0], spins, relaxed)
        super().__init__(J.shape[0], {"J": J, "h": h}, spins=spins, relaxed=relaxed)

    def replace(self, **new_params) -> "BoltzmannMachine":
        """A new machine with some parameters replaced; J must stay symmetric, its diagonal may move."""
        p = _params.replace(self._params, **new_params)
        J = _check_J(p["J"], zero_diagonal=False)
        h, spins, relaxed = _check_fields(p["h"], J.shape[0], **self._settings)
        return type(self)._from_checked(J.shape[0], {"J": J, "h": h}, spins=spins, relaxed=relaxed)

    @property
    def spins(self) -> str:
        return self._settings["spins"]

    @property
    def relaxed(self) -> bool:
        return self._settings["relaxed"]

    def as_relaxed(self) -> "BoltzmannMachine":
        """The same machine whose energy accepts real-valued x (for derivative checks)."""
        return type(self)._from_checked(self.dim, self._params, spins=self.spins, relaxed=True)

    def _check_spins(self, x, name):
        ok = (x == 0) | (x == 1) if self.spins == "binary" else (x == -1) | (x == 1)
        if not np.all(ok):
            allowed = "0 or 1" if self.spins == "binary" else "-1 or +1"
            bad = x[~ok].ravel()[:3]
            raise ValueError(f"{name}: {self.spins} spins must be {allowed}, found values such as {bad.tolist()}")
        return x

    def _x(self, x, name: str = "x") -> np.ndarray:
        x = super()._x(x, name)
        if not self.relaxed:
            self._check_spins(x, name)
        return x

    def _states(self, s01):
        """Map enumerated {0,1} rows to this machine's spins."""
        return s01 if self.spins == "binary" else 2.0 * s01 - 1.0

    # -------------------------------------- energy and derivatives, together
    def _energy(self, x):
        J, h = self._params["J"], self._params["h"]
        return -0.5 * np.einsum("ni,ij,nj->n", x, J, x) - x @ h

    def _grad_x(self, x):
        return -(x @ self._params["J"] + self._params["h"])

    def _hessian_x(self, x):
        return np.broadcast_to(-self._params["J"], (x.shape[0], self.dim, self.dim)).copy()

    def _laplacian_x(self, x):
        return np.full(x.shape[0], -np.trace(self._params["J"]))

    def _grad_params(self, x):
        return {"J": -0.5 * np.einsum("ni,nj->nij", x, x), "h": -x}

    def _grad_params_sum(self, x, w):
        return {"J": -0.5 * np.einsum("n,ni,nj->ij", w, x, x), "h": -(w @ x)}

    def _grad_params_dot_grad_x(self, x, u):
        # Σ u·(−Jx − h): ∂/∂J = −sym(uᵀx), ∂/∂h = −Σu
        A = u.T @ x
        return {"J": -0.5 * (A + A.T), "h": -np.sum(u, axis=0)}

    def _grad_params_laplacian(self, x):
        return {"J": -x.shape[0] * np.eye(self.dim), "h": np.zeros(self.dim)}

    def _grad_params_hvp(self, x, v):
        return {"J": -(v.T @ v), "h": np.zeros(self.dim)}

    def coupling_arrays(self) -> tuple:
        r"""``(J, h)`` as fresh C-contiguous float64 arrays, J symmetrised to :math:`\tfrac12(J + J^\top)`.

        What a compiled single-site sweep needs: the local field
        :math:`m_i = h_i + \sum_{j\ne i} J_{ij} x_j` reads row i of the symmetric J.
        """
        J = np.asarray(self._params["J"], dtype=np.float64)
        return (np.ascontiguousarray(0.5 * (J + J.T)),
                np.array(self._params["h"], dtype=np.float64, order="C", copy=True))

    # ----------------------------------------------------- conditionals
    def conditional_prob(self, x, i=None) -> np.ndarray:
        r"""p(x_i = 1 | x_{−i}) (binary) or p(x_i = +1 | x_{−i}) (ising).

        The local field :math:`m_i = \sum_{j\ne i} J_{ij}x_j + h_i` does not involve
        x_i (zero diagonal).  Returns shape (n,) for an int ``i``, (n, d) for ``i=None``.
        """
        x = self._check_spins(as_batch(x, self.dim, "x"), "x")
        if i is not None:
            if isinstance(i, bool) or not isinstance(i, (numbers.Integral, np.integer)) or not 0 <= i < self.dim:
                raise ValueError(f"i: expected an int in [0, {self.dim}), got {i!r}")
        m = x @ self._params["J"] + self._params["h"]
        p = sigmoid(m if self.spins == "binary" else 2.0 * m)
        return p if i is None else p[:, int(i)]

    # ----------------------------------------------- exact by enumeration
    def _check_size(self, what):
        if self.dim > MAX_ENUMERATE_DIM:
            raise ValueError(f"{what}: enumerating 2^{self.dim} states is refused "
                             f"(limit d <= {MAX_ENUMERATE_DIM}); use a sampler or partition.ais")

    def log_partition(self) -> float:
        """log Z = log Σ_x e^{−E(x)}, by enumerating all 2^d states."""
        self._check_size("log_partition")
        return log_partition_enumerate(lambda s: self._energy(self._states(s)), self.dim)

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Exact E[x] (d,) and E[x xᵀ] (d, d) by enumeration."""
        self._check_size("moments")

        def stats(s, w):
            x = self._states(s)
            return {"x": w @ x, "xx": (x * w[:, None]).T @ x}

        _, m = expectation_by_enumeration(lambda s: -self._energy(self._states(s)), stats, self.dim)
        return m["x"], m["xx"]

    def marginals(self) -> np.ndarray:
        """Exact p(x_i = 1) (binary) or p(x_i = +1) (ising), shape (d,)."""
        mean = self.moments()[0]
        return mean if self.spins == "binary" else 0.5 * (mean + 1.0)

    def pairwise_moments(self) -> np.ndarray:
        """Exact E[x_i x_j], shape (d, d)."""
        return self.moments()[1]

    def log_prob(self, x) -> np.ndarray:
        """log p(x) = −E(x) − log Z per point, shape (n,)."""
        x = self._check_spins(as_batch(x, self.dim, "x"), "x")
        return -self._energy(x) - self.log_partition()

    def log_likelihood(self, x, per_point: bool = False):
        """Exact mean log-likelihood (a float), or the (n,) values with ``per_point=True``."""
        lp = self.log_prob(x)
        return lp if per_point else float(np.mean(lp))

    def grad_log_partition(self) -> dict:
        r"""∇θ log Z = −E_p[∇θE] = {J: ½E[xxᵀ], h: E[x]} (J symmetric, entry-wise)."""
        mean, second = self.moments()
        return {"J": 0.5 * second, "h": mean}

    def exact_grad_log_likelihood(self, x_data) -> dict:
        r"""∇θ (1/n)Σ log p(xₙ) = −⟨∇θE⟩_data + ⟨∇θE⟩_model, exactly.

        ``J``: ½(⟨xxᵀ⟩_data − ⟨xxᵀ⟩_model) with the diagonal set to zero (J_ii is not a
        parameter); ``h``: ⟨x⟩_data − ⟨x⟩_model.
        """
        x = self._check_spins(as_batch(x_data, self.dim, "x_data"), "x_data")
        mean, second = self.moments()
        gJ = 0.5 * (x.T @ x / x.shape[0] - second)
        np.fill_diagonal(gJ, 0.0)
        return {"J": gJ, "h": x.mean(axis=0) - mean}

    def sample(self, n: int, rng) -> np.ndarray:
        """Exact samples by enumeration, shape (n, d)."""
        n = check_positive_int(n, "n", 0)
        rng = as_generator(rng)
        self._check_size("sample")
        states = self._states(enumerate_states(self.dim))
        logw = -self._energy(states)
        p = np.exp(logw - logsumexp(logw))
        return states[rng.choice(p.size, size=n, p=p / p.sum())]


def ising_as_binary(model: BoltzmannMachine) -> tuple[BoltzmannMachine, float]:
    r"""The binary machine and constant with :math:`E_{\text{ising}}(2s-1) = E'(s) + C`.

    Returns ``(binary_model, C)`` with J' = 4J, h' = 2h − 2J1, C = Σh − ½ΣJ; hence
    log Z_ising = log Z' − C.
    """
    if not isinstance(model, BoltzmannMachine) or model.spins != "ising":
        raise ValueError("model: expected a BoltzmannMachine with spins='ising'")
    J, h = model.params["J"], model.params["h"]
    binary = BoltzmannMachine(4.0 * J, 2.0 * h - 2.0 * J.sum(axis=1), spins="binary")
    return binary, float(h.sum() - 0.5 * J.sum())
