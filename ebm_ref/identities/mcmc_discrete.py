"""Identities of note 05b: Gibbs conditionals, stationarity, detailed balance, tempering.

Every transition matrix here is built on an enumerable space from ratios of the joint
(:mod:`ebm_ref.samplers.transition_matrices`), and π comes from enumerating e^{−E}; the two sides are
independent computations of the same vector or matrix.
"""
from __future__ import annotations

import numpy as np

from ..models.boltzmann import BoltzmannMachine
from ..models.rbm import BernoulliRBM
from ..numerics.enumeration import enumerate_states
from ..samplers import parallel_tempering as pt
from ..samplers import transition_matrices as tm
from .registry import identity

_TOL = 1e-12
_REASON = "sums of at most 256 products of probabilities in [0, 1]: rounding ~1e-15"


def _rbm(rng, nv, nh, scale=1.5):
    return BernoulliRBM(rng.normal(0, scale, (nv, nh)), rng.normal(0, 0.5, nv), rng.normal(0, 0.5, nh))


def _bm(rng, d, spins, scale=0.8):
    A = rng.normal(0, scale, (d, d))
    J = A + A.T
    np.fill_diagonal(J, 0.0)
    return BoltzmannMachine(J, rng.normal(0, 0.5, d), spins=spins)


def _stationarity(pi, P):
    """The two sides of πP = π: the distribution after one step of the chain, and before it."""
    return pi @ P, pi


def _detailed_balance(pi, P):
    """The two sides of π_x P_xy = π_y P_yx: the probability flow F_xy = π_x P_xy and its transpose."""
    F = pi[:, None] * P
    return F, F.T


@identity("mcmc: RBM block Gibbs leaves p(v) invariant, πP = π",
          step="P(v,v') = Σ_h p(h|v) p(v'|h); π(v) = e^{-F(v)}/Z",
          case="Bernoulli RBM 4 visible × 3 hidden, W ~ N(0, 1.5²); P from ratios of the enumerated joint, π from the free energy",
          tol=_TOL, reason=_REASON)
def _(rng):
    m = _rbm(rng, 4, 3)
    return _stationarity(tm.stationary_distribution(m), tm.transition_matrix_block_gibbs(m))


@identity("mcmc: RBM block Gibbs on (v, h) leaves p(v, h) invariant",
          step="P((v,h),(v',h')) = p(h'|v) p(v'|h'); π(v,h) = e^{-E(v,h)}/Z",
          case="Bernoulli RBM 4 × 3 (128 joint states)",
          tol=_TOL, reason=_REASON)
def _(rng):
    m = _rbm(rng, 4, 3)
    return _stationarity(tm.stationary_distribution(m, joint=True), tm.transition_matrix_block_gibbs(m, joint=True))


@identity("mcmc: Boltzmann machine single-site Gibbs sweep, πP = π",
          step="P = P_1 ⋯ P_d, P_i resampling x_i from p(x_i | x_-i)",
          case="Ising Boltzmann machine, d = 8, J ~ sym N(0, 0.8²)",
          tol=_TOL, reason=_REASON)
def _(rng):
    m = _bm(rng, 8, "ising")
    return _stationarity(tm.stationary_distribution(m), tm.transition_matrix_site_gibbs(m))


@identity("mcmc: spin-flip Metropolis detailed balance π_x P_xy = π_y P_yx",
          step="P_xy = (1/d) min(1, π_y/π_x) for one flip, so π_x P_xy = (1/d) min(π_x, π_y)",
          case="binary Boltzmann machine, d = 8, random-scan step of d proposals",
          tol=_TOL, reason=_REASON)
def _(rng):
    m = _bm(rng, 8, "binary")
    return _detailed_balance(tm.stationary_distribution(m), tm.transition_matrix_spin_flip(m, scan="random"))


@identity("mcmc: spin-flip Metropolis systematic sweep, πP = π",
          step="each P_i is reversible, so their product over a sweep keeps π (though it is not reversible)",
          case="binary Boltzmann machine, d = 8",
          tol=_TOL, reason=_REASON)
def _(rng):
    m = _bm(rng, 8, "binary")
    return _stationarity(tm.stationary_distribution(m), tm.transition_matrix_spin_flip(m, scan="systematic"))


@identity("mcmc: RBM p(h_j=1|v) = σ(c_j + vᵀW_j) equals a ratio of the joint",
          step="p(h_j=1|v) = Σ_{h: h_j=1} e^{-E(v,h)} / Σ_h e^{-E(v,h)}; Z cancels",
          case="Bernoulli RBM 4 × 3, all 16 visible states",
          tol=_TOL, reason=_REASON)
def _(rng):
    m = _rbm(rng, 4, 3)
    V, H = enumerate_states(4), enumerate_states(3)
    w = np.exp(-tm.rbm_joint_energy(*(m.params[k] for k in "Wbc"), V, H))       # e^{-E(v,h)}, (16, 8)
    return m.prob_h_given_v(V), (w @ H) / w.sum(axis=1, keepdims=True)


@identity("mcmc: RBM p(v_i=1|h) = σ(b_i + W_i h) equals a ratio of the joint",
          step="p(v_i=1|h) = Σ_{v: v_i=1} e^{-E(v,h)} / Σ_v e^{-E(v,h)}",
          case="Bernoulli RBM 4 × 3, all 8 hidden states",
          tol=_TOL, reason=_REASON)
def _(rng):
    m = _rbm(rng, 4, 3)
    V, H = enumerate_states(4), enumerate_states(3)
    w = np.exp(-tm.rbm_joint_energy(*(m.params[k] for k in "Wbc"), V, H)).T     # (8, 16)
    return m.prob_v_given_h(H), (w @ V) / w.sum(axis=1, keepdims=True)


@identity("mcmc: Boltzmann machine p(x_i=+1|x_-i) = σ(2 m_i) equals a ratio of the joint",
          step="p(x_i=s|x_-i) = e^{-E(x_i=s)} / Σ_s' e^{-E(x_i=s')}, m = Jx + h (Ising spins)",
          case="Ising Boltzmann machine d = 6, all 64 states × 6 units",
          tol=_TOL, reason=_REASON)
def _(rng):
    m = _bm(rng, 6, "ising")
    X = enumerate_states(6, "ising")
    right = np.empty_like(X)
    for i in range(6):
        up, down = X.copy(), X.copy()
        up[:, i], down[:, i] = 1.0, -1.0
        eu, ed = np.exp(-m.energy(up)), np.exp(-m.energy(down))
        right[:, i] = eu / (eu + ed)
    return m.conditional_prob(X), right


@identity("mcmc: tempered RBM free energy F_β(v) = −log Σ_h e^{−βE(v,h)}",
          step="the tempered joint is the RBM with βW, βb, βc: F_β(v) = −βbᵀv − Σ_j softplus(β(c_j + vᵀW_j)) ≠ βF(v)",
          case="Bernoulli RBM 4 × 3, β = 0.35, all 16 visible states",
          tol=1e-12, reason="softplus of O(1) arguments vs log of a sum of 8 exponentials")
def _(rng):
    m = _rbm(rng, 4, 3)
    V, H = enumerate_states(4), enumerate_states(3)
    negE = -0.35 * tm.rbm_joint_energy(*(m.params[k] for k in "Wbc"), V, H)
    return pt.tempered_free_energy(m, V, 0.35), -np.log(np.exp(negE).sum(axis=1))


@identity("mcmc: tempering swap move keeps ∏_r π_β_r (detailed balance)",
          step="α = min(1, π_βi(x_j)π_βj(x_i) / (π_βi(x_i)π_βj(x_j))): Metropolis with a symmetric proposal on the product space",
          case="Bernoulli RBM 3 × 2, β = (0.25, 0.5, 1): 512 product states, even-pair swap round",
          tol=_TOL, reason=_REASON)
def _(rng):
    m = _rbm(rng, 3, 2)
    betas = np.array([0.25, 0.5, 1.0])
    return _detailed_balance(tm.tempered_product_distribution(m, betas), tm.swap_transition_matrix(m, betas, 0))


@identity("mcmc: a parallel-tempering round keeps ∏_r π_β_r (πP = π)",
          step="P = (⊗_r P_Gibbs(β_r)) S_even (⊗_r P_Gibbs(β_r)) S_odd; the β = 1 marginal is p",
          case="Bernoulli RBM 3 × 2, β = (0.25, 0.5, 1)",
          tol=_TOL, reason=_REASON)
def _(rng):
    m = _rbm(rng, 3, 2)
    betas = np.array([0.25, 0.5, 1.0])
    Ps = [tm.transition_matrix_block_gibbs(BernoulliRBM(*(b * m.params[k] for k in "Wbc"))) for b in betas]
    K = np.kron(np.kron(Ps[0], Ps[1]), Ps[2])
    P = K @ tm.swap_transition_matrix(m, betas, 0) @ K @ tm.swap_transition_matrix(m, betas, 1)
    return _stationarity(tm.tempered_product_distribution(m, betas), P)
