"""Identities of note 10: exact log Z two ways, and the estimators of log Z against it.

Names start with "partition: " (estimators) and "partition: exact " (closed form vs quadrature).
Statistical identities use the Generator the registry seeds from the identity's name, so
each evaluates to the same numbers every run; their tolerances are a stated number of
standard errors computed *exactly* (by quadrature or by summing over every AIS path),
not estimated from the run.
"""
from __future__ import annotations

import numpy as np
from scipy import integrate

from .. import partition as P
from ..numerics import sigmoid
from ..numerics.quadrature import grid_log_integral
from ..models import BernoulliRBM, Gaussian, GaussianMixture, WarpedGaussian
from ._grid import GRID_REASON, N_GRID
from .registry import identity

# ----------------------------------------------------------------- exact: Z two ways
# the models are built inside the identities (nothing is computed at import, so a broken
# formula is a failing identity with its name, never an import error)
def _g1():
    return Gaussian(np.array([0.4]), np.array([[2.5]]))


def _g2():
    return Gaussian(np.array([0.3, -0.2]), np.array([[1.5, 0.6], [0.6, 1.0]]))


def _banana():
    return WarpedGaussian(np.array([0.0, 0.5]), np.array([[1.0, 0.3], [0.3, 2.0]]), 0.4)


def _mix():
    return GaussianMixture(np.array([0.3, 0.7]), np.array([[-1.0, 0.0], [1.5, 0.5]]),
                           np.stack([np.eye(2) * 0.5, np.array([[1.0, 0.4], [0.4, 0.8]])]))


@identity("partition: exact 1-D Gaussian log Z = quadrature", step="log Z = d/2 log 2π − ½ log det P = log ∫ e^{-E}",
          case="N(0.4, 1/2.5)", tol=1e-10, reason="adaptive quadrature over ℝ converges to ~1e-13")
def _(rng):
    # adaptive, and honestly so: the integral is over all of ℝ (QUADPACK maps it to (0, 1]); 1-D, so cheap
    g = _g1()
    return g.log_partition(), P.log_partition_quadrature(g, [(-np.inf, np.inf)])[0]


@identity("partition: exact 2-D Gaussian log Z = quadrature", step="log Z = d/2 log 2π − ½ log det P = log ∫∫ e^{-E}",
          case="correlated 2-D Gaussian, box ±10", tol=1e-8,
          reason=GRID_REASON + "; the mass outside the box is below e^{-30}")
def _(rng, n_nodes=N_GRID):
    m = _g2()
    return m.log_partition(), grid_log_integral(lambda x: -m.energy(x), [(-10, 10), (-10, 10)], n_nodes)


@identity("partition: exact banana (WarpedGaussian) log Z = quadrature",
          step="a unit-Jacobian shear keeps Z of the Gaussian", case="b = 0.4, box [-9,9]×[-35,10]",
          tol=1e-8, reason=GRID_REASON + "; the box holds all but ~e^{-30} of the mass")
def _(rng, n_nodes=N_GRID):
    m = _banana()
    return m.log_partition(), grid_log_integral(lambda x: -m.energy(x), [(-9, 9), (-35, 10)], n_nodes)


@identity("partition: exact GaussianMixture log Z = 0 = quadrature",
          step="a convex mixture of normalized densities has Z = 1", case="2 components in 2-D, box ±10",
          tol=1e-8, reason=GRID_REASON + "; outside mass below e^{-30}")
def _(rng, n_nodes=N_GRID):
    m = _mix()
    return m.log_partition(), grid_log_integral(lambda x: -m.energy(x), [(-10, 10), (-10, 10)], n_nodes)


# ------------------------------------------------------ importance sampling: E[Ẑ] = Z
_IS_N, _IS_R, _N_SE = 20, 500, 4.0


def _is_models():
    return Gaussian(np.array([0.5]), np.array([[2.0]])), Gaussian(np.array([0.0]), np.array([[0.5]]))


def _is_chi2(target, proposal) -> float:
    r""":math:`\chi^2(p\|q) = \int p^2/q - 1` by quadrature: Var(w)/Z² for one draw."""
    def f(t):
        x = np.array([[t]])
        return np.exp(2 * target.log_prob(x)[0] - proposal.log_prob(x)[0])

    return integrate.quad(f, -np.inf, np.inf, epsrel=1e-12)[0] - 1.0


@identity("partition: E[Z_hat]/Z = 1 for importance sampling",
          step="Z = E_q[e^{-E}/q]: Ẑ is unbiased; z = (mean of Ẑ/Z − 1)/se",
          case=f"1-D Gaussian target, wider Gaussian proposal; mean of Ẑ/Z over {_IS_R} runs of {_IS_N} draws",
          tol=_N_SE, kind="z",
          reason="se² = χ²(p‖q)/(nR) with χ² by quadrature, exact, not estimated from the run")
def _(rng):
    target, proposal = _is_models()
    se = np.sqrt(_is_chi2(target, proposal) / (_IS_N * _IS_R))
    Z = np.exp(target.log_partition())
    r = [np.exp(P.importance_sampling(target, proposal, _IS_N, rng).log_z) / Z for _ in range(_IS_R)]
    return (np.mean(r) - 1.0) / se, 0.0


# ---------------------------------------------------- AIS: exact moments by path sums
_AIS_N, _AIS_R, _AIS_K = 10, 400, 5


def _ais_rbm():
    """The 4×3 RBM and the base rates of its AIS base."""
    rbm = BernoulliRBM(np.array([[1.2, -0.8, 0.5], [-0.4, 1.5, -1.0], [0.9, 0.3, -1.3], [-1.1, 0.6, 0.8]]),
                       np.array([0.3, -0.5, 0.2, 0.1]), np.array([-0.2, 0.4, 0.1]))
    return rbm, np.array([0.5, -0.3, 0.0, 0.8])


def _ais_path_moments(model, b_A, betas):
    r"""E[w] and E[w²] of one AIS chain, summed exactly over every path of visible states.

    With :math:`m^{(p)}_k(v) = E[w_{1:k}^p\,1\{x_k = v\}]`: :math:`m^{(p)}_0 = p_0`,
    :math:`m^{(p)}_k = (m^{(p)}_{k-1}\odot r_k^p)\,T_k` where :math:`r_k = f_{\beta_k}/f_{\beta_{k-1}}`
    and :math:`T_k(v,v') = \sum_h p_{\beta_k}(h|v)\,p_{\beta_k}(v'|h)` built from the conditionals
    of the joint annealed RBM (not from the AIS code); :math:`E[w^p] = \sum_v m^{(p)}_{K-1}(v)\,r_K(v)^p`.
    """
    W, b, c = (model.params[k] for k in "Wbc")
    d, H = W.shape
    V, Hs = P.enumerate_states(d), P.enumerate_states(H)

    def log_f(beta):   # log Σ_h of the joint annealed density, by enumeration of h
        neg = ((1 - beta) * (V @ b_A))[:, None] + beta * (np.einsum("vi,ij,hj->vh", V, W, Hs)
                                                           + (V @ b)[:, None] + (Hs @ c)[None, :])
        return P.logsumexp(neg, axis=1)

    def T(beta):
        ph = sigmoid(beta * (c + V @ W))                               # p(h_j=1|v), (2^d, H)
        Ph = np.prod(np.where(Hs[None] == 1, ph[:, None], 1 - ph[:, None]), axis=2)    # (2^d, 2^H)
        pv = sigmoid((1 - beta) * b_A + beta * (b + Hs @ W.T))          # p(v_i=1|h), (2^H, d)
        Pv = np.prod(np.where(V[None] == 1, pv[:, None], 1 - pv[:, None]), axis=2)     # (2^H, 2^d)
        return Ph @ Pv

    lf = [log_f(bt) for bt in betas]
    p0 = np.exp(lf[0] - P.logsumexp(lf[0]))
    m1, m2 = p0.copy(), p0.copy()
    K = len(betas) - 1
    for k in range(1, K):
        r = np.exp(lf[k] - lf[k - 1])
        Tk = T(betas[k])
        m1, m2 = (m1 * r) @ Tk, (m2 * r * r) @ Tk
    r = np.exp(lf[K] - lf[K - 1])
    return float(np.sum(m1 * r)), float(np.sum(m2 * r * r)), float(P.logsumexp(lf[0])), float(P.logsumexp(lf[K]))


@identity("partition: AIS E[w] summed over all paths = Z/Z_0",
          step="importance sampling on the extended space of paths: E[Π f_k/f_{k-1}] = Z_1/Z_0",
          case="4×3 binary RBM, base-rate base, 5 temperatures, every path of visible states",
          tol=1e-12, kind="rel", reason="finite sums of 16-state matrix products; rounding only")
def _(rng):
    rbm, b_A = _ais_rbm()
    Ew, _, log_z0, log_z1 = _ais_path_moments(rbm, b_A, P.linear_schedule(_AIS_K))
    return Ew, np.exp(log_z1 - log_z0)


@identity("partition: E[Z_hat]/Z = 1 for AIS",
          step="Ẑ = Z_0 · mean of AIS weights is unbiased; z = (mean of Ẑ/Z − 1)/se",
          case=f"4×3 binary RBM, Gibbs AIS over 5 temperatures; mean of Ẑ/Z over {_AIS_R} runs of {_AIS_N} chains",
          tol=_N_SE, kind="z",
          reason="se² = Var(w)/(E[w]² nR) with Var(w) summed exactly over every path, not estimated from the run")
def _(rng):
    rbm, b_A = _ais_rbm()
    betas = P.linear_schedule(_AIS_K)
    Ew, Ew2, _, _ = _ais_path_moments(rbm, b_A, betas)
    se = np.sqrt((Ew2 / Ew**2 - 1.0) / (_AIS_N * _AIS_R))
    Z = np.exp(rbm.log_partition())
    base = P.base_rate_rbm(b_A=b_A)
    r = [np.exp(P.ais(rbm, base, betas, _AIS_N, rng, transition="gibbs").log_z) / Z for _ in range(_AIS_R)]
    return (np.mean(r) - 1.0) / se, 0.0


# ------------------------------------------------------------ one-step AIS = IS
@identity("partition: one-step AIS log-weight = importance-sampling log-weight",
          step="with betas = [0, 1] the AIS weight is f_1(x_0)/f_0(x_0) = e^{-E(x_0)}/p_0(x_0)",
          case="banana target, Gaussian base, same 50 draws (same seed)", tol=1e-12,
          reason="the same arithmetic in two orders; rounding only")
def _(rng):
    base = Gaussian(np.zeros(2), 0.3 * np.eye(2))
    seed = int(rng.integers(2**31))
    a = P.ais(_banana(), base, [0.0, 1.0], 50, seed, transition="mh")
    i = P.importance_sampling(_banana(), base, 50, seed)
    return a.log_weights, i.log_weights


# -------------------------------------------------------------- the sandwich
_BRACKET_TOL = 0.1


def _outside(lower, upper, log_z):
    """[nats by which lower exceeds log Z, nats by which upper falls below it]; zeros when bracketed."""
    return np.array([max(0.0, lower - log_z), max(0.0, log_z - upper)])


@identity("partition: forward and reverse AIS bracket exact log Z (10-D Gaussian)",
          step="E[log Ẑ_fwd] ≤ log Z ≤ E[log Z_0 − log R_rev]",
          case="10-D Gaussian, N(0, I) base, HMC, 1000 linear temperatures, 100 chains each way",
          tol=_BRACKET_TOL,
          reason="left = nats outside [lower, upper]; 0.1 nats ≈ 5 standard errors of either bound here")
def _(rng):
    d = 10
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    target = Gaussian(rng.standard_normal(d), (Q * np.linspace(0.5, 2.0, d)) @ Q.T)
    base = Gaussian(np.zeros(d), np.eye(d))
    s = P.bidirectional(target, base, P.linear_schedule(1000), 100, rng, exact_samples=target.sample(100, rng),
                        transition="hmc", step_size=0.25, n_leapfrog=3)
    return _outside(s.lower, s.upper, target.log_partition()), np.zeros(2)


@identity("partition: forward and reverse AIS bracket exact log Z (binary RBM)",
          step="E[log Ẑ_fwd] ≤ log Z ≤ E[log Z_0 − log R_rev]",
          case="100×15 binary RBM, W ~ N(0,1), uniform base, Gibbs, 2000 linear temperatures, 400 chains each way",
          tol=_BRACKET_TOL,
          reason="left = nats outside [lower, upper]; 0.1 nats ≈ 5 standard errors of either bound here")
def _(rng):
    W = rng.standard_normal((100, 15))
    m = BernoulliRBM(W, 0.1 * rng.standard_normal(100), 0.1 * rng.standard_normal(15))
    s = P.bidirectional(m, None, P.linear_schedule(2000), 400, rng, exact_samples=m.sample(400, rng),
                        transition="gibbs")
    return _outside(s.lower, s.upper, m.log_partition()), np.zeros(2)
