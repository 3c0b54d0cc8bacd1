"""Identities of note 06: the likelihood gradient, its Monte Carlo form and the bias of CD-k."""
from __future__ import annotations

import numpy as np

from .. import params as _params
from ..check import numerical_param_gradient
from ..models import Gaussian
from ..models.rbm import BernoulliRBM
from ..objectives import contrastive_divergence as cd
from ..numerics.enumeration import enumerate_states
from .registry import identity


def _small_rbm(rng, V=6, H=4, scale=0.7):
    return BernoulliRBM(scale * rng.standard_normal((V, H)), 0.3 * rng.standard_normal(V), 0.3 * rng.standard_normal(H))


def _data(rng, V, n=20):
    return (rng.random((n, V)) < 0.4).astype(float)


def _fd_of_flat(fn, model):
    """Richardson derivative of fn(model) in every parameter entry, as one flat vector."""
    return _params.flatten(numerical_param_gradient(fn, model))


@identity("cd: ∇ℓ = −⟨∇E⟩_data − ∇log Z equals finite differences of the exact log-likelihood",
          step="log p(x) = −E(x) − log Z  ⇒  ∇θ log p(x) = −∇θE(x) − ∇θ log Z",
          case="BernoulliRBM 6×4, 20 random binary points; log Z by enumeration; Richardson differences",
          tol=1e-8, reason="Richardson differences of an O(1) smooth function reach ~1e-10")
def _(rng):
    rbm = _small_rbm(rng)
    x = _data(rng, rbm.n_visible)
    left = _params.flatten(cd.grad_log_likelihood_split(rbm, x, cd.grad_log_partition_expectation(rbm)))
    right = _fd_of_flat(lambda m: m.log_likelihood(x), rbm)
    return left, right


@identity("cd: ∇log Z = ∇Z / Z equals finite differences of log Z",
          step="∇θ log Z = ∇θZ / Z, with ∇θZ = Σ_x −∇θE(x) e^{−E(x)}",
          case="BernoulliRBM 6×4; sums over all 2^6 visible states",
          tol=1e-8, reason="Richardson differences of log Z (an O(1) smooth function) reach ~1e-10")
def _(rng):
    rbm = _small_rbm(rng)
    return _params.flatten(cd.grad_log_partition_ratio(rbm)), _fd_of_flat(lambda m: m.log_partition(), rbm)


@identity("cd: ∇Z / Z = −E_p[∇E] (binary RBM, enumeration)",
          step="∇θZ / Z = Σ_x −∇θE(x) e^{−E(x)}/Z = −E_p[∇θE]",
          case="BernoulliRBM 8×5; both sides summed over all 2^8 visible states",
          tol=1e-12, reason="two float64 sums of 256 terms of O(1) size")
def _(rng):
    rbm = _small_rbm(rng, 8, 5)
    return _params.flatten(cd.grad_log_partition_ratio(rbm)), _params.flatten(cd.grad_log_partition_expectation(rbm))


@identity("cd: −E_p[∇E] equals the Gaussian's closed-form ∇log Z (quadrature)",
          step="∇θ log Z = −E_p[∇θE]; for a Gaussian ∇_P log Z = −½Σ, ∇_μ log Z = 0",
          case="1-D Gaussian μ = 0.4, P = 1.7; Simpson's rule on [−12, 12] with 4001 nodes",
          tol=1e-10, reason="composite Simpson on a Gaussian over ±15σ converges to ~1e-13")
def _(rng):
    g = Gaussian([0.4], [[1.7]])
    left = _params.flatten(cd.grad_log_partition_expectation(g, bounds=[(-12.0, 12.0)]))
    return left, _params.flatten(g.grad_log_partition())


@identity("cd: Monte Carlo −⟨∇E⟩ over exact samples is unbiased for ∇log Z (max |z|)",
          step="∇θ log Z ≈ −(1/m) Σ_j ∇θE(x̃_j), x̃_j ~ p_θ",
          case="BernoulliRBM 8×5, m = 20000 exact samples; z-score of each of the 53 entries",
          tol=4.5, kind="z", false_alarm=3.6e-4,
          reason="|z| > 4.5 for one of 53 entries has probability < 53·6.8e-6 = 3.6e-4 (Bonferroni)")
def _(rng):
    rbm = _small_rbm(rng, 8, 5)
    xs = rbm.sample(20000, rng)
    per_point = rbm.grad_params(xs)
    mc = _params.flatten(cd.grad_log_partition_monte_carlo(rbm, xs))
    sd = np.concatenate([v.reshape(v.shape[0], -1).std(axis=0, ddof=1) for v in per_point.values()])
    exact = _params.flatten(cd.grad_log_partition_expectation(rbm))
    z = (mc - exact) / np.maximum(sd / np.sqrt(xs.shape[0]), 1e-300)
    return np.max(np.abs(z)), 0.0


@identity("cd: the exact visible Gibbs kernel leaves p(v) invariant (πT = π)",
          step="T(v, v') = Σ_h p(h|v) p(v'|h) has p as its stationary distribution",
          case="BernoulliRBM 8×5, all 256 visible states",
          tol=1e-14, reason="a 256×256 matrix-vector product of probabilities")
def _(rng):
    rbm = _small_rbm(rng, 8, 5)
    pi = np.exp(-rbm.energy(enumerate_states(8)) - rbm.log_partition())
    return pi @ cd.visible_gibbs_kernel(rbm), pi


@identity("cd: E[CD-k gradient] → exact gradient as k grows (k = 300)",
          step="v_k → p as k → ∞, so ⟨∇F⟩_{v_k} → E_p[∇F] and CD-k becomes unbiased",
          case="BernoulliRBM 6×4 (weights scale 0.7), 20 points; T^k applied exactly",
          tol=1e-10, reason="the bias decays like |λ₂|^k; |λ₂| ≈ 0.24 here (asserted < 0.9 in the tests), so it is below rounding")
def _(rng):
    rbm = _small_rbm(rng)
    x = _data(rng, rbm.n_visible)
    cdk = _params.flatten(cd.exact_cd_expected_gradient(rbm, x, 300))
    return cdk, -_params.flatten(rbm.exact_grad_log_likelihood(x))
