r"""Small normalizing flows with exact log-density, sampling and hand-written gradients.

A flow pushes a standard normal base variable :math:`z \sim \mathcal N(0, I_d)` through an
invertible map :math:`x = T_\phi(z) = T_K \circ \dots \circ T_1(z)`.  By the change of
variables,

.. math::

    \log q_\phi(x) = \log\mathcal N(z; 0, I) - \sum_k \log\lvert\det \partial T_k/\partial z_{k-1}\rvert,
    \qquad z = T_\phi^{-1}(x),

or, written with the inverse maps, :math:`\log q(x) = \log\mathcal N(z) + \sum_k \log\lvert\det
\partial T_k^{-1}/\partial x_k\rvert`.  The flow is *normalized*: it serves as the noise of
NCE and flow contrastive estimation (``ebm_ref.objectives.nce``,
``ebm_ref.objectives.adversarial``) and as the variational distribution q of the bound
:math:`\log Z \ge \mathbb E_q[-E] + H(q)`.

Two layer kinds, each with its forward pass, its inverse, and the backward pass of each
written beside it (reverse-mode derivatives by hand, no autodiff):

* :class:`AffineFlow` — :math:`x = \mu + L z`, L lower triangular with a positive
  diagonal :math:`\exp(\ell)`; :math:`\log\lvert\det\rvert = \sum_i \ell_i`.
* :class:`CouplingFlow` — RealNVP affine coupling: a mask splits the coordinates into a
  kept part a and a moved part b; :math:`x_a = z_a`,
  :math:`x_b = z_b \odot e^{s(z_a)} + t(z_a)` with s, t one small tanh network;
  :math:`\log\lvert\det\rvert = \sum s(z_a)`.

:class:`Flow` chains layers and provides

* ``log_prob(x)``, ``sample(n, rng)``, ``sample_with_log_prob(n, rng)``;
* ``grad_log_prob(x, weights)`` — :math:`\nabla_\phi \sum_n w_n\log q_\phi(x_n)` at fixed x
  (for NCE/FCE noise updates), backpropagated through the inverse passes;
* ``score(x)`` — :math:`\nabla_x\log q(x)`;
* ``grad_reparam(z, grad_x, grad_logdet)`` — :math:`\nabla_\phi\sum_n [g(T_\phi(z_n)) +
  w_n \log\lvert\det \partial T_\phi/\partial z\rvert(z_n)]` at fixed z, given
  :math:`\nabla_x g` at :math:`x_n = T_\phi(z_n)`: the reparameterized gradient of
  :math:`\mathbb E_q[g(x)]` and of the entropy :math:`H(q) = H(\mathcal N) + \mathbb E_z[\log\lvert\det\rvert]`.

Parameters of a flow are one ordered dict with keys ``"<layer index>.<name>"``.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_batch, as_float_array, as_generator, check_positive, check_positive_int
from ..numerics.special import LOG_2PI

__all__ = ["AffineFlow", "CouplingFlow", "Flow"]



def _finite(a, name):
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: contains NaN or inf")
    return a


class AffineFlow:
    r"""Affine layer :math:`x = \mu + L z` with L lower triangular, :math:`L_{ii} = e^{\ell_i}`.

    Parameters
    ----------
    mu : ndarray, shape (d,)
        Shift :math:`\mu`.
    log_diag : ndarray, shape (d,)
        :math:`\ell`, the logarithm of L's diagonal (so L is always invertible).
    offdiag : ndarray, shape (d(d-1)/2,)
        Strictly lower entries of L in ``numpy.tril_indices(d, -1)`` order.

    Notes
    -----
    Forward and its derivatives (per point, :math:`\bar x = \partial\mathcal L/\partial x`,
    :math:`\bar\lambda = \partial\mathcal L/\partial\log\lvert\det\rvert`):

    .. math::

        x = \mu + Lz,\quad \log\lvert\det\rvert = \textstyle\sum_i \ell_i;\qquad
        \bar z = L^\top\bar x,\ \bar\mu = \textstyle\sum_n \bar x_n,\
        \bar L = \textstyle\sum_n \bar x_n z_n^\top,\
        \bar\ell_i = \bar L_{ii} e^{\ell_i} + \textstyle\sum_n\bar\lambda_n .

    Inverse: :math:`z = L^{-1}(x-\mu)`, :math:`\log\lvert\det\partial z/\partial x\rvert = -\sum\ell_i`;
    with :math:`\bar r = L^{-\top}\bar z`: :math:`\bar x = \bar r`, :math:`\bar\mu = -\sum_n\bar r_n`,
    :math:`\bar L = -\sum_n \bar r_n z_n^\top`, :math:`\bar\ell_i = \bar L_{ii}e^{\ell_i} - \sum_n\bar\lambda_n`.
    The distribution of x is :math:`\mathcal N(\mu, LL^\top)`.
    """

    param_names = ("mu", "log_diag", "offdiag")

    def __init__(self, mu, log_diag, offdiag):
        mu = as_float_array(mu, "mu")
        if mu.ndim != 1 or mu.size == 0:
            raise ValueError(f"mu: expected shape (d,) with d >= 1, got {mu.shape}")
        d = mu.size
        log_diag = as_float_array(log_diag, "log_diag", shape=(d,))
        offdiag = as_float_array(offdiag, "offdiag", shape=(d * (d - 1) // 2,))
        for a, nm in ((mu, "mu"), (log_diag, "log_diag"), (offdiag, "offdiag")):
            _finite(a, nm)
        self.dim = d
        self.params = {"mu": mu, "log_diag": log_diag, "offdiag": offdiag}
        self._tril = np.tril_indices(d, -1)
        L = np.diag(np.exp(log_diag))
        L[self._tril] = offdiag
        self.L = L

    @classmethod
    def identity(cls, d: int) -> "AffineFlow":
        """The identity map in d dimensions (μ = 0, L = I)."""
        d = check_positive_int(d, "d")
        return cls(np.zeros(d), np.zeros(d), np.zeros(d * (d - 1) // 2))

    @classmethod
    def from_mean_cov(cls, mean, covariance) -> "AffineFlow":
        """The affine layer whose output is N(mean, covariance): L = chol(covariance)."""
        mean = as_float_array(mean, "mean")
        cov = as_float_array(covariance, "covariance", shape=(mean.size, mean.size))
        try:
            L = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            raise ValueError("covariance: must be symmetric positive definite") from None
        return cls(mean, np.log(np.diag(L)), L[np.tril_indices(mean.size, -1)])

    def with_params(self, p) -> "AffineFlow":
        return AffineFlow(p["mu"], p["log_diag"], p["offdiag"])

    # forward x = μ + L z and its backward pass
    def forward(self, z):
        x = self.params["mu"] + z @ self.L.T
        return x, np.full(z.shape[0], np.sum(self.params["log_diag"]))

    def backward_forward(self, z, gx, gld):
        gL = gx.T @ z
        g = {"mu": gx.sum(axis=0),
             "log_diag": np.diag(gL) * np.exp(self.params["log_diag"]) + np.sum(gld),
             "offdiag": gL[self._tril]}
        return gx @ self.L, g

    # inverse z = L⁻¹(x − μ) and its backward pass
    def inverse(self, x):
        z = np.linalg.solve(self.L, (x - self.params["mu"]).T).T
        return z, np.full(x.shape[0], -np.sum(self.params["log_diag"]))

    def backward_inverse(self, x, z, gz, gld):
        gr = np.linalg.solve(self.L.T, gz.T).T          # L^{-T} z̄ per point
        gL = -gr.T @ z
        g = {"mu": -gr.sum(axis=0),
             "log_diag": np.diag(gL) * np.exp(self.params["log_diag"]) - np.sum(gld),
             "offdiag": gL[self._tril]}
        return gr, g


class CouplingFlow:
    r"""RealNVP affine coupling layer with an inline one-hidden-layer tanh network.

    Parameters
    ----------
    W1 : ndarray, shape (d_a, h)
    b1 : ndarray, shape (h,)
    Ws, Wt : ndarray, shape (h, d_b)
    bs, bt : ndarray, shape (d_b,)
        Weights of :math:`u = \tanh(z_a W_1 + b_1)`, :math:`s = u W_s + b_s`, :math:`t = u W_t + b_t`.
    mask : array of bool, shape (d,)
        True marks the kept coordinates a (``d_a = mask.sum()``, ``1 <= d_a < d``); the
        others, b, are moved.  A setting, not a parameter.

    Notes
    -----
    Forward (per point) and its backward pass, with :math:`\bar x`, :math:`\bar\lambda` the
    upstream derivatives of x and of :math:`\log\lvert\det\rvert`:

    .. math::

        x_a = z_a,\quad x_b = z_b\odot e^{s} + t,\quad \log\lvert\det\rvert = \textstyle\sum_j s_j;

        \bar z_b = \bar x_b\odot e^{s},\quad \bar s = \bar x_b\odot z_b\odot e^{s} + \bar\lambda,\quad
        \bar t = \bar x_b,

        \bar u = \bar s W_s^\top + \bar t W_t^\top,\quad \bar a = \bar u\odot(1-u^2),\quad
        \bar z_a = \bar x_a + \bar a W_1^\top,\quad \bar W_1 = z_a^\top\bar a, \dots

    Inverse: :math:`z_a = x_a`, :math:`z_b = (x_b - t)\odot e^{-s}`, log-det :math:`-\sum s`;
    backward: :math:`\bar x_b = \bar z_b\odot e^{-s}`, :math:`\bar t = -\bar z_b\odot e^{-s}`,
    :math:`\bar s = -\bar z_b\odot z_b - \bar\lambda`, then the same network backward pass.
    """

    param_names = ("W1", "b1", "Ws", "bs", "Wt", "bt")

    def __init__(self, W1, b1, Ws, bs, Wt, bt, mask):
        mask = np.asarray(mask)
        if mask.ndim != 1 or mask.dtype != bool:
            raise ValueError(f"mask: expected a 1-D boolean array, got dtype {mask.dtype} shape {mask.shape}")
        d = mask.size
        da = int(mask.sum())
        if not (1 <= da < d):
            raise ValueError(f"mask: must keep between 1 and d-1 coordinates (d = {d}), keeps {da}")
        W1 = as_float_array(W1, "W1")
        if W1.ndim != 2 or W1.shape[0] != da or W1.shape[1] == 0:
            raise ValueError(f"W1: expected shape ({da}, h) with h >= 1, got {W1.shape}")
        h = W1.shape[1]
        b1 = as_float_array(b1, "b1", shape=(h,))
        Ws = as_float_array(Ws, "Ws", shape=(h, d - da))
        bs = as_float_array(bs, "bs", shape=(d - da,))
        Wt = as_float_array(Wt, "Wt", shape=(h, d - da))
        bt = as_float_array(bt, "bt", shape=(d - da,))
        self.params = {"W1": W1, "b1": b1, "Ws": Ws, "bs": bs, "Wt": Wt, "bt": bt}
        for k, v in self.params.items():
            _finite(v, k)
        self.mask = mask.copy()
        self.dim = d
        self._a = np.flatnonzero(mask)
        self._b = np.flatnonzero(~mask)

    @classmethod
    def init(cls, mask, hidden: int, rng, scale: float = 0.1) -> "CouplingFlow":
        """Random small weights (N(0, scale²)), zero biases: close to the identity map."""
        mask = np.asarray(mask, dtype=bool)
        hidden = check_positive_int(hidden, "hidden")
        scale = check_positive(scale, "scale")
        rng = as_generator(rng)
        da, db = int(mask.sum()), int((~mask).sum())
        return cls(scale * rng.standard_normal((da, hidden)), np.zeros(hidden),
                   scale * rng.standard_normal((hidden, db)), np.zeros(db),
                   scale * rng.standard_normal((hidden, db)), np.zeros(db), mask)

    def with_params(self, p) -> "CouplingFlow":
        return CouplingFlow(p["W1"], p["b1"], p["Ws"], p["bs"], p["Wt"], p["bt"], self.mask)

    def _net(self, za):
        p = self.params
        u = np.tanh(za @ p["W1"] + p["b1"])
        return u, u @ p["Ws"] + p["bs"], u @ p["Wt"] + p["bt"]

    def _net_backward(self, za, u, gs, gt):
        p = self.params
        gu = gs @ p["Ws"].T + gt @ p["Wt"].T
        ga = gu * (1.0 - u * u)
        g = {"W1": za.T @ ga, "b1": ga.sum(axis=0), "Ws": u.T @ gs, "bs": gs.sum(axis=0),
             "Wt": u.T @ gt, "bt": gt.sum(axis=0)}
        return ga @ p["W1"].T, g

    # forward and its backward pass
    def forward(self, z):
        za, zb = z[:, self._a], z[:, self._b]
        _, s, t = self._net(za)
        x = np.empty_like(z)
        x[:, self._a] = za
        x[:, self._b] = zb * np.exp(s) + t
        return x, s.sum(axis=1)

    def backward_forward(self, z, gx, gld):
        za, zb = z[:, self._a], z[:, self._b]
        u, s, _ = self._net(za)
        es = np.exp(s)
        gxb = gx[:, self._b]
        gs = gxb * zb * es + gld[:, None]
        gza, g = self._net_backward(za, u, gs, gxb)
        gz = np.empty_like(gx)
        gz[:, self._a] = gx[:, self._a] + gza
        gz[:, self._b] = gxb * es
        return gz, g

    # inverse and its backward pass
    def inverse(self, x):
        xa, xb = x[:, self._a], x[:, self._b]
        _, s, t = self._net(xa)
        z = np.empty_like(x)
        z[:, self._a] = xa
        z[:, self._b] = (xb - t) * np.exp(-s)
        return z, -s.sum(axis=1)

    def backward_inverse(self, x, z, gz, gld):
        xa = x[:, self._a]
        u, s, _ = self._net(xa)
        ems = np.exp(-s)
        gzb = gz[:, self._b]
        gt = -gzb * ems
        gs = -gzb * z[:, self._b] - gld[:, None]
        gxa, g = self._net_backward(xa, u, gs, gt)
        gx = np.empty_like(gz)
        gx[:, self._a] = gz[:, self._a] + gxa
        gx[:, self._b] = gzb * ems
        return gx, g


class Flow:
    r"""A normalizing flow :math:`x = T_K\circ\dots\circ T_1(z)`, :math:`z\sim\mathcal N(0, I_d)`.

    Parameters
    ----------
    layers : list of AffineFlow / CouplingFlow
        Applied in order to the base variable; all of one dimension d.

    Notes
    -----
    Density (normalized, :math:`\log Z = 0`):
    :math:`\log q(x) = -\tfrac12\lVert z\rVert^2 - \tfrac d2\log 2\pi + \sum_k \log\lvert\det\partial z_{k-1}/\partial z_k\rvert`
    with :math:`z_K = x`, :math:`z_{k-1} = T_k^{-1}(z_k)`, :math:`z = z_0`.
    Gradients are reverse-mode passes through the layers' hand-written backward functions.
    As an energy, :math:`E(x) = -\log q(x)` (``energy``).
    """

    def __init__(self, layers):
        layers = list(layers)
        if not layers:
            raise ValueError("layers: expected at least one layer")
        for i, L in enumerate(layers):
            if not isinstance(L, (AffineFlow, CouplingFlow)):
                raise ValueError(f"layers[{i}]: expected an AffineFlow or CouplingFlow, got {type(L).__name__}")
        d = layers[0].dim
        if any(L.dim != d for L in layers):
            raise ValueError(f"layers: all layers must have the same dimension, got {[L.dim for L in layers]}")
        self.layers = layers
        self.dim = d

    def __repr__(self):
        return f"Flow(dim={self.dim}, layers=[{', '.join(type(L).__name__ for L in self.layers)}])"

    @classmethod
    def realnvp(cls, dim: int, n_coupling: int, hidden: int, rng, scale: float = 0.1,
                mean=None, covariance=None) -> "Flow":
        """An affine layer followed by ``n_coupling`` coupling layers with alternating masks.

        The affine layer starts at N(mean, covariance) (default N(0, I)); the coupling
        layers start near the identity.  Needs ``dim >= 2`` when ``n_coupling > 0``.
        """
        dim = check_positive_int(dim, "dim")
        n_coupling = check_positive_int(n_coupling, "n_coupling", 0)
        if n_coupling > 0 and dim < 2:
            raise ValueError(f"dim: coupling layers need dim >= 2, got {dim}")
        rng = as_generator(rng)
        mean = np.zeros(dim) if mean is None else mean
        covariance = np.eye(dim) if covariance is None else covariance
        layers = [AffineFlow.from_mean_cov(mean, covariance)]
        for k in range(n_coupling):
            mask = (np.arange(dim) % 2 == k % 2)
            layers.append(CouplingFlow.init(mask, hidden, rng, scale))
        return cls(layers)

    # ----------------------------------------------------------------- params
    @property
    def params(self) -> dict:
        """Ordered dict ``{"<i>.<name>": array}`` over the layers."""
        return {f"{i}.{k}": v for i, L in enumerate(self.layers) for k, v in L.params.items()}

    def with_params(self, params) -> "Flow":
        """A new flow with all parameters replaced (same keys and shapes)."""
        cur = self.params
        if list(params) != list(cur):
            raise ValueError(f"params: expected keys {list(cur)}, got {list(params)}")
        layers = []
        for i, L in enumerate(self.layers):
            p = {}
            for k in L.params:
                v = as_float_array(params[f"{i}.{k}"], f"params[{i}.{k}]")
                if v.shape != L.params[k].shape:
                    raise ValueError(f"params[{i}.{k}]: expected shape {L.params[k].shape}, got {v.shape}")
                p[k] = v
            layers.append(L.with_params(p))
        return Flow(layers)

    def _collect(self, per_layer):
        return {f"{i}.{k}": v for i, g in enumerate(per_layer) for k, v in g.items()}

    # ----------------------------------------------------------- maps
    def forward(self, z):
        """x = T(z) and log|det ∂x/∂z| per point."""
        z = as_batch(z, self.dim, "z")
        ld = np.zeros(z.shape[0])
        for L in self.layers:
            z, l = L.forward(z)
            ld = ld + l
        return z, ld

    def inverse(self, x):
        """z = T⁻¹(x) and log|det ∂z/∂x| per point."""
        x = as_batch(x, self.dim, "x")
        ld = np.zeros(x.shape[0])
        for L in reversed(self.layers):
            x, l = L.inverse(x)
            ld = ld + l
        return x, ld

    # ------------------------------------------------------------ density
    def log_prob(self, x) -> np.ndarray:
        """log q(x) = log N(T⁻¹(x); 0, I) + log|det ∂T⁻¹/∂x|, shape (n,)."""
        z, ld = self.inverse(x)
        return -0.5 * np.sum(z * z, axis=1) - 0.5 * self.dim * LOG_2PI + ld

    def energy(self, x) -> np.ndarray:
        """E(x) = −log q(x) (a normalized energy, log Z = 0)."""
        return -self.log_prob(x)

    def log_partition(self) -> float:
        """A flow is normalized: log Z = 0."""
        return 0.0

    def sample(self, n: int, rng) -> np.ndarray:
        """x = T(z), z ~ N(0, I): exact samples, shape (n, d)."""
        return self.sample_with_log_prob(n, rng)[0]

    def sample_with_log_prob(self, n: int, rng):
        """Samples and their log q in one forward pass: log q(x) = log N(z) − log|det ∂x/∂z|.

        Returns ``(x, log_q, z)``; z is the base draw (for reparameterized gradients).
        """
        n = check_positive_int(n, "n", 0)
        rng = as_generator(rng)
        z = rng.standard_normal((n, self.dim))
        x, ld = self.forward(z)
        return x, -0.5 * np.sum(z * z, axis=1) - 0.5 * self.dim * LOG_2PI - ld, z

    def entropy_gaussian_part(self) -> float:
        """H(N(0, I_d)) = (d/2) log(2πe); H(q) = this + E_z[log|det ∂x/∂z|]."""
        return 0.5 * self.dim * (LOG_2PI + 1.0)

    # ------------------------------------------------------------ gradients
    def _inverse_tape(self, x):
        xs = [x]
        for L in reversed(self.layers):
            x, _ = L.inverse(x)
            xs.append(x)
        return xs   # xs[0] = x, xs[-1] = z

    def _backprop_log_prob(self, x, w):
        xs = self._inverse_tape(x)
        z = xs[-1]
        gz = -w[:, None] * z                       # ∂/∂z of Σ w (−½‖z‖²)
        grads = [None] * len(self.layers)
        K = len(self.layers)
        for k, L in enumerate(self.layers):          # the inverse ran layer K-1 first: backprop from layer 0
            gz, grads[k] = L.backward_inverse(xs[K - 1 - k], xs[K - k], gz, w)
        return gz, self._collect(grads)

    def _weights(self, w, n):
        if w is None:
            return np.ones(n)
        w = as_float_array(w, "weights")
        if w.shape != (n,):
            raise ValueError(f"weights: expected shape ({n},), got {w.shape}")
        return w

    def grad_log_prob(self, x, weights=None) -> dict:
        r""":math:`\nabla_\phi \sum_n w_n \log q_\phi(x_n)` at fixed x (w = 1 by default)."""
        x = as_batch(x, self.dim, "x")
        return self._backprop_log_prob(x, self._weights(weights, x.shape[0]))[1]

    def score(self, x) -> np.ndarray:
        r""":math:`\nabla_x \log q(x)`, shape (n, d)."""
        x = as_batch(x, self.dim, "x")
        return self._backprop_log_prob(x, np.ones(x.shape[0]))[0]

    def grad_x(self, x) -> np.ndarray:
        """∇ₓE = −∇ₓ log q."""
        return -self.score(x)

    def grad_reparam(self, z, grad_x, grad_logdet=None) -> dict:
        r"""Reparameterized parameter gradient at fixed base draws z.

        Returns :math:`\nabla_\phi \sum_n [\,g(T_\phi(z_n)) + \lambda_n \log\lvert\det\partial T_\phi/\partial z\rvert(z_n)]`
        given ``grad_x`` :math:`= \nabla_x g` at :math:`x_n = T_\phi(z_n)` (shape (n, d)) and
        ``grad_logdet`` :math:`= \lambda` (shape (n,), default 0).  With
        :math:`\lambda_n = 1/n` this adds :math:`\nabla_\phi` of the Monte Carlo entropy
        :math:`H(q) \approx H(\mathcal N) + \frac1n\sum_n\log\lvert\det\rvert`.
        """
        z = as_batch(z, self.dim, "z")
        gx = as_batch(grad_x, self.dim, "grad_x")
        if gx.shape != z.shape:
            raise ValueError(f"grad_x: expected shape {z.shape} to match z, got {gx.shape}")
        lam = np.zeros(z.shape[0]) if grad_logdet is None else self._weights(grad_logdet, z.shape[0])
        zs = [z]
        for L in self.layers:
            z, _ = L.forward(z)
            zs.append(z)
        grads = [None] * len(self.layers)
        for k in range(len(self.layers) - 1, -1, -1):
            gx, grads[k] = self.layers[k].backward_forward(zs[k], gx, lam)
        return self._collect(grads)
