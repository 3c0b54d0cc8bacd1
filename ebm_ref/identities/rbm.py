"""Identities of note 03: restricted and fully visible Boltzmann machines.

Each identity compares two independent computations on a case small enough to be
enumerated or integrated exactly.  In the order below:

* **the joint and the free energy** — E(v, h) = −vᵀWh − bᵀv − cᵀh is second order, and
  summing h out of e^{−E} gives F(v) = −bᵀv − Σ_j softplus(c_j + (vW)_j);
* **log Z exactly** — by the smaller layer, by brute force over (v, h), and as a Boltzmann
  machine with bipartite couplings;
* **conditionals** — p(h_j = 1 | v) is a ratio of joint probabilities: Z cancels, the hidden
  units are independent;
* **the likelihood gradient** — ∇log Z = −E_p[∇F], and the mean log-likelihood gradient is the
  positive minus the negative phase;
* **the Gaussian–Bernoulli RBM** — log Z in closed form against quadrature (1-D and 2-D), and
  its gradient;
* **deep belief nets** — an RBM stacked on the transpose of the first leaves p(v) unchanged,
  where greedy layer-wise training starts;
* **the fully visible Boltzmann machine** — Ising and binary spins give one log Z, the open
  Ising chain's closed form, the conditionals, ∇log Z.
"""
from __future__ import annotations

import numpy as np
from scipy import special

from ..check import numerical_param_gradient
from ..models import BernoulliRBM, BoltzmannMachine, GaussianBernoulliRBM
from ..models.rbm import DeepBeliefNet
from ..numerics.enumeration import enumerate_states
from ..numerics.quadrature import grid_log_integral
from ..numerics.special import logsumexp
from ..params import flatten
from ..partition import log_partition_quadrature
from ._grid import GRID_REASON, N_GRID
from .registry import identity


def _rbm(rng, V, H, scale=1.0):
    return BernoulliRBM(scale * rng.standard_normal((V, H)), rng.standard_normal(V), rng.standard_normal(H))


def _gb(rng, V, H, scale=0.7):
    return GaussianBernoulliRBM(scale * rng.standard_normal((V, H)), rng.standard_normal(V),
                                rng.standard_normal(H), 0.5 + rng.random(V))


def _joint_states(n_visible, n_hidden):
    """Every visible state, every hidden state, and all (v, h) pairs as two aligned arrays (v-major)."""
    Vs, Hs = enumerate_states(n_visible), enumerate_states(n_hidden)
    return Vs, Hs, np.repeat(Vs, len(Hs), axis=0), np.tile(Hs, (len(Vs), 1))


def _joint_neg_energy(rbm):
    """−E(v, h) on every joint state, shape (2^V, 2^H), from the joint energy only."""
    Vs, Hs, vv, hh = _joint_states(rbm.n_visible, rbm.n_hidden)
    return Vs, Hs, -rbm.joint_energy(vv, hh).reshape(len(Vs), len(Hs))


def _symmetric_couplings(rng, d, scale=1.0):
    """A symmetric d×d coupling matrix with zero diagonal, A + Aᵀ for A ~ N(0, scale²)."""
    A = scale * rng.standard_normal((d, d))
    J = A + A.T
    np.fill_diagonal(J, 0.0)
    return J


# ------------------------------------------------------- the joint and the free energy
@identity("lecture: the RBM energy is second order, E(v, h) = −vᵀWh − bᵀv − cᵀh, and F(v) = −log Σ_h e^{−E(v,h)}",
          step="joint_energy is the bilinear form; summing h out of e^{−E} by brute force gives the free energy "
               "(the model's energy)",
          case="BernoulliRBM 4 visible × 3 hidden, all 16 × 8 (v, h) pairs; left = (joint_energy, energy(v)), "
               "right = (the bilinear form by hand, −logsumexp over the 8 h)", tol=1e-12,
          reason="sums of ≲ 20 terms of size ~1: rounding ~1e-15")
def _(rng):
    rbm = _rbm(rng, 4, 3)
    W, b, c = (rbm.params[k] for k in "Wbc")
    V, H, v, h = _joint_states(4, 3)
    by_hand = -np.sum((v @ W) * h, axis=1) - v @ b - h @ c
    free = -special.logsumexp(-by_hand.reshape(len(V), len(H)), axis=1)
    return np.concatenate([rbm.joint_energy(v, h), rbm.energy(V)]), np.concatenate([by_hand, free])


@identity("rbm: free energy F(v) = -log sum_h exp(-E(v,h))",
          step="the sum over h factorizes: F(v) = -b·v - Σ_j softplus(c_j + (vW)_j)",
          case="BernoulliRBM V=5, H=4, N(0,1) parameters; all 32 visible states",
          tol=1e-11, reason="a log-sum-exp of 16 terms vs a sum of 4 softplus terms, float64")
def _(rng):
    rbm = _rbm(rng, 5, 4)
    Vs, _, negE = _joint_neg_energy(rbm)
    return rbm.energy(Vs), -logsumexp(negE, axis=1)


# ------------------------------------------------------- log Z exactly
@identity("rbm: log Z by visible enumeration = by hidden enumeration",
          step="Z = Σ_v e^{-F(v)} = Σ_h e^{-F_h(h)}: enumerate the smaller layer",
          case="BernoulliRBM V=7, H=5, N(0,1) parameters",
          tol=1e-10, reason="two sums of 128 and 32 positive terms; rounding ~1e-15 relative")
def _(rng):
    rbm = _rbm(rng, 7, 5)
    return rbm.log_partition("visible"), rbm.log_partition("hidden")


@identity("rbm: log Z by the smaller layer = brute force over (v, h)",
          step="Z = Σ_v Σ_h e^{-E(v,h)}",
          case="BernoulliRBM V=6, H=4: 1024 joint states from joint_energy",
          tol=1e-10, reason="sums of positive terms in float64")
def _(rng):
    rbm = _rbm(rng, 6, 4)
    return rbm.log_partition(), logsumexp(_joint_neg_energy(rbm)[2])


@identity("rbm: log Z = Boltzmann machine with bipartite J",
          step="E(v,h) = -½ xᵀJx - fᵀx with x = (v, h), J = [[0, W], [Wᵀ, 0]], f = (b, c)",
          case="BernoulliRBM V=5, H=4 vs BoltzmannMachine d=9 (enumerates all 512 joint states)",
          tol=1e-10, reason="sums of positive terms in float64")
def _(rng):
    rbm = _rbm(rng, 5, 4)
    V, H = 5, 4
    J = np.zeros((V + H, V + H))
    J[:V, V:] = rbm.params["W"]
    J[V:, :V] = rbm.params["W"].T
    bm = BoltzmannMachine(J, np.concatenate([rbm.params["b"], rbm.params["c"]]))
    return rbm.log_partition(), bm.log_partition()


# ------------------------------------------------------- conditionals
@identity("rbm: Gibbs conditional p(h_j=1|v) = ratio of joint probabilities",
          step="p(h|v) = e^{-E(v,h)} / Σ_h' e^{-E(v,h')}: Z cancels, and the hidden units are independent",
          case="BernoulliRBM V=4, H=3; every v, p(h_j = 1 | v) from the enumerated joint",
          tol=1e-12, reason="ratios of 8 exponentials vs one logistic function")
def _(rng):
    rbm = _rbm(rng, 4, 3)
    Vs, Hs, negE = _joint_neg_energy(rbm)
    post = np.exp(negE - logsumexp(negE, axis=1)[:, None])
    return rbm.prob_h_given_v(Vs), post @ Hs


# ------------------------------------------------------- the likelihood gradient
@identity("rbm: grad log Z = -E_p(grad F) (enumeration vs finite differences)",
          step="∇θ log Z = Σ_v p(v)(-∇θF(v)) = {W: ⟨vhᵀ⟩, b: ⟨v⟩, c: ⟨h⟩}",
          case="BernoulliRBM V=4, H=3; Richardson differences of the exact log Z in every parameter",
          tol=1e-8, reason="Richardson extrapolation of an exact log Z reaches ~1e-11")
def _(rng):
    rbm = _rbm(rng, 4, 3)
    fd = numerical_param_gradient(lambda m: m.log_partition(), rbm)
    return flatten(rbm.grad_log_partition()), flatten(fd)


@identity("rbm: mean log-likelihood gradient = positive - negative phase",
          step="∇θ (1/n)Σ log p(v_n) = -⟨∇θF⟩_data + ⟨∇θF⟩_model",
          case="BernoulliRBM V=5, H=3, 8 data points; Richardson differences of the exact log-likelihood",
          tol=1e-8, reason="Richardson extrapolation of an exact log-likelihood reaches ~1e-11")
def _(rng):
    rbm = _rbm(rng, 5, 3)
    data = enumerate_states(5)[rng.choice(32, size=8)]
    fd = numerical_param_gradient(lambda m: m.log_likelihood(data), rbm)
    return flatten(rbm.exact_grad_log_likelihood(data)), flatten(fd)


# ------------------------------------------------------- the Gaussian–Bernoulli RBM
def _gb_box(gb):
    mu = gb.params["b"] + enumerate_states(gb.n_hidden) @ gb.params["W"].T
    lo = mu.min(axis=0) - 12 * gb.params["sigma"]
    hi = mu.max(axis=0) + 12 * gb.params["sigma"]
    return list(zip(lo, hi))


@identity("rbm: Gaussian-Bernoulli log Z closed form = quadrature (d=1)",
          step="log Z = logsumexp_h [cᵀh + Σ_i (μ_i² - b_i²)/2σ_i² + Σ_i log(√(2π) σ_i)], μ = b + Wh",
          case="GaussianBernoulliRBM V=1, H=4; quad over μ ± 12σ",
          tol=1e-9, reason="1-D adaptive quadrature at epsrel 1e-11; tails beyond 12σ are ~1e-32")
def _(rng):
    gb = _gb(rng, 1, 4)
    # kept adaptive: in 1-D it costs a few hundred scalar calls, and its error estimate is free
    return gb.log_partition(), log_partition_quadrature(gb, _gb_box(gb))[0]


@identity("rbm: Gaussian-Bernoulli log Z closed form = quadrature (d=2)",
          step="the 2^H Gaussian integrals over v, summed by logsumexp over h",
          case="GaussianBernoulliRBM V=2, H=2; 2-D quadrature over μ ± 12σ",
          tol=1e-9, reason=GRID_REASON + "; tails beyond 12σ are ~1e-32")
def _(rng, n_nodes=N_GRID):
    gb = _gb(rng, 2, 2)
    return gb.log_partition(), grid_log_integral(lambda v: -gb.energy(v), _gb_box(gb), n_nodes)


@identity("rbm: Gaussian-Bernoulli grad log Z = -E_p(grad F) (closed form vs finite differences)",
          step="∇θ log Z = Σ_h p(h) ∇θ(-F_h(h)), each term a Gaussian integral's derivative",
          case="GaussianBernoulliRBM V=2, H=3; Richardson differences of the exact log Z in W, b, c, σ",
          tol=1e-8, reason="Richardson extrapolation of an exact log Z reaches ~1e-11")
def _(rng):
    gb = _gb(rng, 2, 3)
    fd = numerical_param_gradient(lambda m: m.log_partition(), gb, h=1e-3)
    return flatten(gb.grad_log_partition()), flatten(fd)


# ------------------------------------------------------- deep belief nets
@identity("lecture: stacking an RBM on the transpose of the first leaves p(v) unchanged (greedy DBN start)",
          step="top RBM with W₂ = W₁ᵀ, b₂ = c₁, c₂ = b₁ has visible marginal p₁(h); then "
               "p_DBN(v) = Σ_h p₁(v|h) p₁(h) = p₁(v): greedy training starts from the RBM's likelihood and can only "
               "raise its variational bound (Hinton, Osindero & Teh 2006)",
          case="DeepBeliefNet([RBM 5×4, its transpose]); p_DBN(v) by enumeration over h (16 states) vs the "
               "first RBM's exact p(v), all 32 v", tol=1e-12,
          reason="probabilities ≤ 1 summed over 16 terms: rounding ~1e-16")
def _(rng):
    rbm1 = _rbm(rng, 5, 4)
    top = BernoulliRBM(rbm1.params["W"].T, rbm1.params["c"], rbm1.params["b"])
    dbn = DeepBeliefNet([rbm1, top])
    bottom, upper = dbn.rbms[0], dbn.rbms[-1]
    V, H = enumerate_states(5), enumerate_states(4)
    p_top = np.exp(upper.log_prob(H))                                # p(h), the top RBM's visible marginal
    pv_h = bottom.prob_v_given_h(H)                                  # (16, 5): p(v_i = 1 | h)
    p_v_given_h = np.prod(np.where(V[:, None, :] == 1, pv_h[None], 1 - pv_h[None]), axis=2)   # (32, 16)
    return p_v_given_h @ p_top, np.exp(rbm1.log_prob(V))


# ------------------------------------------------------- the fully visible Boltzmann machine
@identity("boltzmann: Ising log Z = binary log Z after x = 2s - 1",
          step="E_ising(2s-1; J, h) = E_binary(s; 4J, 2h - 2J1) + Σh - ½ΣJ",
          case="BoltzmannMachine d=8, N(0,1) couplings, both spin conventions enumerated",
          tol=1e-10, reason="sums of 256 positive terms in float64")
def _(rng):
    from ..models.boltzmann import ising_as_binary

    J = _symmetric_couplings(rng, 8)
    ising = BoltzmannMachine(J, rng.standard_normal(8), spins="ising")
    binary, C = ising_as_binary(ising)
    return ising.log_partition(), binary.log_partition() - C


@identity("boltzmann: open Ising chain log Z = log 2 + (d-1) log(2 cosh K)",
          step="sum the spins one at a time from the end of the chain: each bond gives 2 cosh K",
          case="d=12, K=0.8, zero field, {-1,1} spins, 4096 states enumerated",
          tol=1e-10, reason="a sum of 4096 positive terms vs a closed form")
def _(rng):
    d, K = 12, 0.8
    J = np.zeros((d, d))
    i = np.arange(d - 1)
    J[i, i + 1] = J[i + 1, i] = K
    bm = BoltzmannMachine(J, np.zeros(d), spins="ising")
    return bm.log_partition(), np.log(2.0) + (d - 1) * np.log(2.0 * np.cosh(K))


@identity("boltzmann: conditional p(x_i=1|x_-i) = ratio of joint probabilities",
          step="p(x_i = 1 | x_-i) = p(x^{i→1}) / (p(x^{i→1}) + p(x^{i→0})) = σ(Σ_j J_ij x_j + h_i)",
          case="binary BoltzmannMachine d=5; every state and every site",
          tol=1e-12, reason="two exponentials vs one logistic function")
def _(rng):
    J = _symmetric_couplings(rng, 5)
    bm = BoltzmannMachine(J, rng.standard_normal(5))
    xs = enumerate_states(5)
    left = bm.conditional_prob(xs)
    right = np.empty_like(left)
    for i in range(5):
        up, down = xs.copy(), xs.copy()
        up[:, i], down[:, i] = 1.0, 0.0
        lu, ld = -bm.energy(up), -bm.energy(down)
        right[:, i] = np.exp(lu - np.logaddexp(lu, ld))
    return left, right


@identity("boltzmann: grad log Z = -E_p(grad E) (enumeration vs finite differences)",
          step="∇_J log Z = ½E[xxᵀ], ∇_h log Z = E[x]",
          case="ising BoltzmannMachine d=6; symmetric directions for J",
          tol=1e-8, reason="Richardson extrapolation of an exact log Z reaches ~1e-11")
def _(rng):
    J = _symmetric_couplings(rng, 6, scale=0.5)
    bm = BoltzmannMachine(J, rng.standard_normal(6), spins="ising")
    off_diagonal = ~np.eye(6, dtype=bool)                           # the diagonal of J is fixed at 0
    fd = numerical_param_gradient(lambda m: m.log_partition(), bm, symmetric=["J"], mask={"J": off_diagonal})
    g = bm.grad_log_partition()
    return np.concatenate([g["J"][off_diagonal], g["h"]]), np.concatenate([fd["J"][off_diagonal], fd["h"]])
