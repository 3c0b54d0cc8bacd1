r"""The variational bound on log Z, minimax training against it, and flow contrastive estimation.

Energy convention: :math:`p_\theta(x) = e^{-E_\theta(x)}/Z(\theta)`.

**The bound** (:func:`variational_bound`, :func:`variational_bound_exact`).  For any
normalized q with :math:`q > 0` where :math:`p_\theta > 0`,

.. math::

    \log Z = \log\int q(x)\,\frac{e^{-E(x)}}{q(x)}\,dx
           \;\ge\; \int q(x)\log\frac{e^{-E(x)}}{q(x)}\,dx
           = \mathbb E_q[-E(x)] + H(q)

by Jensen's inequality (log is concave).  The gap is exact, not just non-negative:

.. math::

    \log Z - \big(\mathbb E_q[-E] + H(q)\big)
      = \mathbb E_q\big[\log q(x) + E(x) + \log Z\big]
      = \mathbb E_q\Big[\log\frac{q(x)}{p_\theta(x)}\Big] = \mathrm{KL}(q\Vert p_\theta) \ge 0,

with equality iff :math:`q = p_\theta`.  Then the integrand
:math:`w(x) = -E(x) - \log q(x) = \log Z` is constant, so the Monte Carlo estimate
:math:`\frac1n\sum w(x_i)` has zero variance (:func:`bound_terms` shows it).

**Minimax** (:func:`minimax_grads`, :func:`minimax_step`, :func:`fit_minimax`).  Put
the bound into the negative log-likelihood :math:`\mathrm{NLL}(\theta) = \mathbb E_{p_d}[E_\theta] + \log Z(\theta)`:

.. math::

    \mathrm{NLL}(\theta) \ge L(\theta, q) = \mathbb E_{p_d}[E_\theta(x)] - \mathbb E_q[E_\theta(y)] + H(q),
    \qquad \mathrm{NLL}(\theta) = \max_q L(\theta, q).

So training is :math:`\min_\theta\max_q L`: q climbs the bound (toward :math:`p_\theta`),
θ descends with :math:`\nabla_\theta L = \mathbb E_{p_d}[\nabla_\theta E] - \mathbb E_q[\nabla_\theta E]`
— the maximum-likelihood gradient with q's samples as the negative phase.  Note the
direction of the bound: substituting a *lower* bound of log Z makes L a lower bound of the
NLL, i.e. :math:`-L` is an *upper* bound of the log-likelihood (some lecture summaries say
"lower bound of the likelihood"; it is the other way round), which is why θ must be
trained against the best q, not any q.

**Flow contrastive estimation** (:func:`fce_grads`, :func:`fce_step`, :func:`fit_fce`):
NCE (``ebm_ref.objectives.nce``) with a flow :math:`q_\phi` as the noise; (θ, c) minimize
the NCE loss J, the flow maximizes it — it moves toward the data to make the
classification hard, which keeps NCE informative.  Gradient of J in φ (samples
:math:`y = T_\phi(z)` reparameterized, :math:`G = -E - c - \log\nu - \log q_\phi`):

.. math::

    \nabla_\phi J = \tfrac1{1+\nu}\Big(\mathbb E_{p_d}[\sigma(-G(x))\,\nabla_\phi\log q_\phi(x)]
      + \nu\,\mathbb E_z\big[\sigma(G(y))\,\big(J_{T}^\top(-\nabla_x E(y)) + \nabla_\phi\log\lvert\det\partial T_\phi/\partial z\rvert\big)\big]\Big),

using :math:`\log q_\phi(T_\phi(z)) = \log\mathcal N(z) - \log\lvert\det\partial T_\phi/\partial z\rvert`.

References
----------
R. Gao, E. Nijkamp, D. P. Kingma, Z. Xu, A. M. Dai, Y. N. Wu, "Flow contrastive estimation
of energy-based models", CVPR 2020.  Y. Song and D. P. Kingma, "How to train your
energy-based models", arXiv:2101.03288 (2021).
"""
from __future__ import annotations

import numpy as np

from .._validate import as_batch, as_generator, check_positive, check_positive_int
from ..energy import require_normalized
from ..models.flow import AffineFlow, Flow
from ..models.gaussian import Gaussian
from ..numerics.special import LOG_2PI
from . import nce as _nce

__all__ = [
    "gaussian_moments", "entropy", "kl_gaussians", "bound_terms", "variational_bound",
    "variational_bound_exact", "bound_grads_q", "minimax_grads", "minimax_step", "fit_minimax",
    "fce_grads", "fce_step", "fit_fce",
]



def _check_q(q, dim):
    require_normalized(q, "q")
    if getattr(q, "dim", dim) != dim:
        raise ValueError(f"q: has dimension {q.dim}, the model has dimension {dim}")
    return q


def _check_flow(q, dim):
    if not isinstance(q, Flow):
        raise ValueError(f"q: expected an ebm_ref.models.flow.Flow (trainable by reparameterization), got {type(q).__name__}")
    return _check_q(q, dim)


# ------------------------------------------------------- Gaussian closed forms
def gaussian_moments(q):
    """Mean and covariance of a Gaussian q: ``models.Gaussian`` or a flow of affine layers only."""
    if isinstance(q, Gaussian):
        return q.mean.copy(), q.covariance
    if isinstance(q, Flow) and all(isinstance(L, AffineFlow) for L in q.layers):
        m, S = np.zeros(q.dim), np.eye(q.dim)
        for L in q.layers:                  # x = μ + L z: mean μ + L m, covariance L S Lᵀ
            m = L.params["mu"] + L.L @ m
            S = L.L @ S @ L.L.T
        return m, S
    raise ValueError(f"q: closed forms need a Gaussian q (models.Gaussian or an affine-only Flow), got {q!r}")


def entropy(q) -> float:
    r"""Exact entropy of a Gaussian q: :math:`H = \tfrac12\log\det(2\pi e\,\Sigma)`."""
    _, S = gaussian_moments(q)
    sign, logdet = np.linalg.slogdet(S)
    return 0.5 * (S.shape[0] * (LOG_2PI + 1.0) + logdet)


def kl_gaussians(m1, S1, m2, S2) -> float:
    r""":math:`\mathrm{KL}(\mathcal N(m_1,S_1)\Vert\mathcal N(m_2,S_2)) = \tfrac12[\operatorname{tr}(S_2^{-1}S_1)
    + (m_2-m_1)^\top S_2^{-1}(m_2-m_1) - d + \log\det S_2 - \log\det S_1]`."""
    m1, m2 = np.asarray(m1, float), np.asarray(m2, float)
    S1, S2 = np.asarray(S1, float), np.asarray(S2, float)
    d = m1.size
    r = m2 - m1
    return 0.5 * (np.trace(np.linalg.solve(S2, S1)) + r @ np.linalg.solve(S2, r) - d
                  + np.linalg.slogdet(S2)[1] - np.linalg.slogdet(S1)[1])


# --------------------------------------------------------------- the bound
def bound_terms(model, q, n: int, rng):
    r"""Samples :math:`x_i\sim q` and the integrand :math:`w_i = -E(x_i) - \log q(x_i)`.

    Returns ``(x, w)``; :math:`\mathbb E_q[w] = \mathbb E_q[-E] + H(q)`, and w is constant
    (= log Z) when q = p.
    """
    _check_q(q, model.dim)
    n = check_positive_int(n, "n")
    rng = as_generator(rng)
    if isinstance(q, Flow):
        x, logq, _ = q.sample_with_log_prob(n, rng)
    else:
        x = as_batch(q.sample(n, rng), model.dim, "q.sample(...)")
        logq = np.asarray(q.log_prob(x), dtype=np.float64)
    return x, -model.energy(x) - logq


def variational_bound(model, q, n: int, rng):
    r"""Monte Carlo :math:`\mathbb E_q[-E(x)] + H(q) \approx \frac1n\sum_i(-E(x_i) - \log q(x_i))`.

    Returns
    -------
    value : float
    stderr : float
        :math:`\mathrm{sd}(w)/\sqrt n` (exactly 0 up to rounding when q = p).
    """
    _, w = bound_terms(model, q, n, rng)
    sd = float(np.std(w, ddof=1)) if w.size > 1 else 0.0
    return float(np.mean(w)), sd / np.sqrt(w.size)


def variational_bound_exact(model, q) -> float:
    r"""Closed form for a Gaussian energy :math:`E = \tfrac12(x-\mu)^\top P(x-\mu)` and Gaussian q = N(m, S):

    .. math::

        \mathbb E_q[-E] + H(q) = -\tfrac12\big[\operatorname{tr}(PS) + (m-\mu)^\top P(m-\mu)\big]
          + \tfrac12\log\det(2\pi e\,S).
    """
    if not isinstance(model, Gaussian):
        raise ValueError(f"model: the closed-form bound needs a Gaussian energy, got {type(model).__name__}; "
                         "use variational_bound (Monte Carlo)")
    _check_q(q, model.dim)
    m, S = gaussian_moments(q)
    P, mu = model.precision, model.mean
    r = m - mu
    return float(-0.5 * (np.trace(P @ S) + r @ P @ r) + entropy(q))


def bound_grads_q(model, q, n: int, rng):
    r"""The bound and its reparameterized gradient in a flow's parameters φ.

    .. math::

        \nabla_\phi\Big(\mathbb E_z[-E(T_\phi(z))] + H(\mathcal N) + \mathbb E_z\log\lvert\det\partial T_\phi/\partial z\rvert\Big)
        = \mathbb E_z\big[J_T^\top(-\nabla_x E) + \nabla_\phi\log\lvert\det\rvert\big].

    Returns ``(value, grads)``; ``grads`` is an *ascent* direction, a dict like ``q.params``.
    """
    _check_flow(q, model.dim)
    n = check_positive_int(n, "n")
    rng = as_generator(rng)
    x, logq, z = q.sample_with_log_prob(n, rng)
    g = q.grad_reparam(z, -model.grad_x(x) / n, np.full(n, 1.0 / n))
    return float(np.mean(-model.energy(x) - logq)), g


# ----------------------------------------------------------------- minimax
def minimax_grads(model, q, x_data, n_q: int, rng):
    r"""Value and gradients of :math:`L(\theta, q) = \mathbb E_d[E_\theta] - \mathbb E_q[E_\theta] + H(q)`.

    Returns
    -------
    value : float
        Monte Carlo L (a lower bound of the NLL, in expectation).
    grads_model : dict like ``model.params``
        :math:`\nabla_\theta L = \overline{\nabla_\theta E}_{data} - \overline{\nabla_\theta E}_{q}` (descend).
    grads_q : dict like ``q.params``
        :math:`\nabla_\phi L` (ascend).
    """
    _check_flow(q, model.dim)
    x_data = as_batch(x_data, model.dim, "x_data")
    n_q = check_positive_int(n_q, "n_q")
    rng = as_generator(rng)
    y, logq, z = q.sample_with_log_prob(n_q, rng)
    nd = x_data.shape[0]
    gpos = model.grad_params_sum(x_data, np.full(nd, 1.0 / nd))
    gneg = model.grad_params_sum(y, np.full(n_q, 1.0 / n_q))
    gq = q.grad_reparam(z, -model.grad_x(y) / n_q, np.full(n_q, 1.0 / n_q))
    value = float(np.mean(model.energy(x_data)) + np.mean(-model.energy(y) - logq))
    return value, {k: gpos[k] - gneg[k] for k in gpos}, gq


def _ascend(opt, params, grads):
    return opt.step(params, {k: -v for k, v in grads.items()})


def minimax_step(model, q, x_data, rng, opt_model, opt_q, n_q: int = 256, q_steps: int = 1):
    """``q_steps`` ascent steps of q on the bound, then one descent step of θ.

    Returns ``(model, q, value)``; the optimizers (``ebm_ref.train.Adam``/``SGD``) keep their state.
    """
    rng = as_generator(rng)
    q_steps = check_positive_int(q_steps, "q_steps")
    for _ in range(q_steps):
        _, gq = bound_grads_q(model, q, n_q, rng)
        q = q.with_params(_ascend(opt_q, q.params, gq))
    value, gm, _ = minimax_grads(model, q, x_data, n_q, rng)
    model = model.with_params(opt_model.step(model.params, gm))
    return model, q, value


def _alternate(step, data, n_steps: int, batch_size, rng, what: str) -> np.ndarray:
    """Run ``step(x_batch) -> value`` ``n_steps`` times, each on a mini-batch drawn without
    replacement (all the data when ``batch_size`` is None); the values, each checked finite.
    A ``ValueError`` inside a step is re-raised naming the step."""
    values = np.empty(n_steps)
    for t in range(n_steps):
        xb = data if batch_size is None else data[rng.choice(data.shape[0], size=min(batch_size, data.shape[0]),
                                                             replace=False)]
        try:
            values[t] = step(xb)
        except ValueError as exc:
            raise ValueError(f"step {t + 1}: {exc}") from exc
        if not np.isfinite(values[t]):
            raise FloatingPointError(f"step {t + 1}: the {what} is not finite")
    return values


def fit_minimax(model, q, data, rng, n_steps: int = 1000, lr_model: float = 0.01, lr_q: float = 0.01,
                n_q: int = 256, q_steps: int = 1, batch_size: int | None = None):
    """Alternate :func:`minimax_step` with Adam for both players.

    Returns ``(model, q, values)`` with ``values`` the L of each step.
    """
    from ..train import Adam

    data = as_batch(data, model.dim, "data")
    _check_flow(q, model.dim)
    n_steps = check_positive_int(n_steps, "n_steps")
    rng = as_generator(rng)
    om, oq = Adam(lr=check_positive(lr_model, "lr_model")), Adam(lr=check_positive(lr_q, "lr_q"))

    def step(xb):
        nonlocal model, q
        model, q, value = minimax_step(model, q, xb, rng, om, oq, n_q, q_steps)
        return value

    values = _alternate(step, data, n_steps, batch_size, rng, "minimax value")
    return model, q, values


# --------------------------------------------- flow contrastive estimation
def fce_grads(model, log_z, flow, x_data, z, nu: float = 1.0):
    r"""NCE loss with the flow as noise, its gradient in (θ, c) and in the flow's φ.

    Parameters
    ----------
    model : Energy
    log_z : float
        c.
    flow : Flow
        The noise :math:`q_\phi`.
    x_data : ndarray, shape (n_d, d)
    z : ndarray, shape (n_n, d)
        Base draws; the noise points are :math:`y = T_\phi(z)`.
    nu : float

    Returns
    -------
    J : float
    grads_ebm : dict
        :math:`\nabla_{\theta,c}J` (``model.params`` keys and ``"log_z"``), to descend.
    grads_flow : dict
        :math:`\nabla_\phi J` (see the module docstring), to *ascend*.
    """
    nu = _nce._check_nu(nu)
    _check_flow(flow, model.dim)
    x_data = as_batch(x_data, model.dim, "x_data")
    z = as_batch(z, model.dim, "z")
    y, _ = flow.forward(z)
    J, wx, wy = _nce._loss_and_point_weights(model, log_z, x_data, y, flow, nu)
    g_ebm = _nce._grads_from_point_weights(model, x_data, y, wx, wy)
    g1 = flow.grad_log_prob(x_data, wx)
    g2 = flow.grad_reparam(z, -model.grad_x(y) * wy[:, None], wy)
    return J, g_ebm, {k: g1[k] + g2[k] for k in g1}


def fce_step(model, log_z, flow, x_data, rng, opt_ebm, opt_flow, nu: float = 1.0, n_noise: int | None = None):
    """One FCE update: (θ, c) descend J, then the flow ascends J.  Returns ``(model, log_z, flow, J)``."""
    rng = as_generator(rng)
    x_data = as_batch(x_data, model.dim, "x_data")
    nu = _nce._check_nu(nu)
    m = max(int(round(nu * x_data.shape[0])), 1) if n_noise is None else check_positive_int(n_noise, "n_noise")
    z = rng.standard_normal((m, model.dim))
    J, g_ebm, g_flow = fce_grads(model, log_z, flow, x_data, z, nu)
    p = dict(model.params)
    p["log_z"] = np.asarray(float(log_z))
    new = opt_ebm.step(p, g_ebm)
    log_z = float(new.pop("log_z"))
    model = model.with_params(new)
    flow = flow.with_params(_ascend(opt_flow, flow.params, g_flow))
    return model, log_z, flow, J


def fit_fce(model, flow, data, rng, n_steps: int = 1000, nu: float = 1.0, log_z0: float = 0.0,
            lr_ebm: float = 0.01, lr_flow: float = 0.002, batch_size: int | None = 256):
    """Alternate :func:`fce_step` with Adam.  Returns ``(model, log_z, flow, losses)``."""
    from ..train import Adam

    data = as_batch(data, model.dim, "data")
    _check_flow(flow, model.dim)
    n_steps = check_positive_int(n_steps, "n_steps")
    rng = as_generator(rng)
    oe, of = Adam(lr=check_positive(lr_ebm, "lr_ebm")), Adam(lr=check_positive(lr_flow, "lr_flow"))
    log_z = _nce._log_z(log_z0)

    def step(xb):
        nonlocal model, log_z, flow
        model, log_z, flow, loss = fce_step(model, log_z, flow, xb, rng, oe, of, nu)
        return loss

    losses = _alternate(step, data, n_steps, batch_size, rng, "FCE loss")
    return model, log_z, flow, losses
