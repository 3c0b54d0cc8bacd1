"""Identities of note 06: maximum likelihood, its gradient, and contrastive divergence.

In the order below:

* **maximum likelihood is minimum KL** — the i.i.d. likelihood is a sum of log densities
  (``mle.loss``) whose gradient vanishes at the closed-form MLE, and KL(p₀‖p_θ) is the negative
  log-likelihood minus the data's entropy, in value and in gradient;
* **the likelihood gradient, line by line** — ∇ℓ = −⟨∇E⟩_data − ∇log Z, ∇log Z = ∇Z/Z = −E_p[∇E]
  (by enumeration, by quadrature for a Gaussian, and by Monte Carlo over exact samples);
* **where the negative samples come from** — the CD update is the gradient of
  ⟨E⟩_data − ⟨E⟩_samples with the samples held fixed, and the exact visible Gibbs kernel leaves
  p(v) invariant;
* **the bias of CD-k, exactly** — E[CD-k gradient] is the gradient of KL(p₀‖p) − KL(p_k‖p) with p_k
  frozen, and it tends to the exact gradient as k grows;
* **training by phases** — descending positive minus (exact) negative phase reaches the MLE
  without ever evaluating the likelihood.

The RBM cases are small enough (6–8 visible units) to enumerate every state.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from .. import maxent
from .. import params as _params
from ..check import numerical_param_gradient
from ..models import Gaussian
from ..models.mlp import MLPEnergy
from ..models.rbm import BernoulliRBM
from ..objectives import contrastive_divergence as cd
from ..objectives import mle
from ..numerics.enumeration import enumerate_states
from .registry import identity


def _small_rbm(rng, V=6, H=4, scale=0.7):
    return BernoulliRBM(scale * rng.standard_normal((V, H)), 0.3 * rng.standard_normal(V), 0.3 * rng.standard_normal(H))


def _data(rng, V, n=20):
    return (rng.random((n, V)) < 0.4).astype(float)


def _rbm_and_data(rng):
    """A 6×4 RBM and 20 random binary points."""
    rbm = _small_rbm(rng)
    return rbm, _data(rng, rbm.n_visible)


def _rbm_data_p0(rng):
    """A 6×4 RBM, 20 random binary points and their empirical distribution p₀."""
    rbm, x = _rbm_and_data(rng)
    return rbm, x, cd.empirical_distribution(x, rbm.n_visible)


def _fd_of_flat(fn, model):
    """Richardson derivative of fn(model) in every parameter entry, as one flat vector."""
    return _params.flatten(numerical_param_gradient(fn, model))


# ------------------------------------------------ maximum likelihood = minimum KL
@identity("lecture: i.i.d. maximum likelihood: −(1/n) log Πᵢ p(xᵢ) = mle.loss, and its gradient vanishes at the MLE",
          step="log Π p(xᵢ) = Σ log p(xᵢ); for a Gaussian the maximizer is (x̄, S⁻¹), S the biased sample covariance",
          case="3-D Gaussian, 40 points; left = (mle.loss at the truth, every gradient entry at the closed-form MLE), "
               "right = (−(1/n) log of the product of scipy densities, 0)", tol=1e-10,
          reason="a product of 40 densities ~e^{−150} is representable; gradients of size ~1 vanish to rounding")
def _(rng):
    g = Gaussian([1.0, -0.5, 0.2], [[2.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.5]])
    x = g.sample(40, rng)
    value, _ = mle.loss(g, x)
    product = np.prod(stats.multivariate_normal(g.mean, g.covariance).pdf(x))
    xbar = x.mean(axis=0)
    S = (x - xbar).T @ (x - xbar) / len(x)
    _, grads = mle.loss(Gaussian(xbar, np.linalg.inv(S)), x)
    g_flat = np.concatenate([np.ravel(v) for v in grads.values()])
    return np.append(value, g_flat), np.append(-np.log(product) / len(x), np.zeros_like(g_flat))


@identity("mle: KL(p0||p) = negative log-likelihood - H(p0) (enumeration)",
          step="KL(p₀‖p_θ) = Σ p₀ log p₀ − Σ p₀ log p_θ = −H(p₀) − (1/n)Σᵢ log p_θ(vᵢ)",
          case="BernoulliRBM 6×4, 20 random binary points; KL summed over all 64 states, NLL by objectives.mle",
          tol=1e-12, reason="two float64 sums of 64 terms of O(1) size")
def _(rng):
    rbm, x, p0 = _rbm_data_p0(rng)
    return cd.kl_to_model(rbm, p0), mle.loss(rbm, x, method="enumerate")[0] - maxent.entropy(p0)


@identity("mle: grad KL(p0||p) = gradient of the negative log-likelihood (finite differences)",
          step="∇θ KL(p₀‖p_θ) = −∇θ (1/n)Σᵢ log p_θ(vᵢ): the entropy of the data does not depend on θ",
          case="BernoulliRBM 6×4, 20 points; Richardson differences of the enumerated KL vs objectives.mle.loss",
          tol=1e-8, reason="Richardson differences of an O(1) smooth function reach ~1e-10")
def _(rng):
    rbm, x, p0 = _rbm_data_p0(rng)
    return _fd_of_flat(lambda m: cd.kl_to_model(m, p0), rbm), _params.flatten(mle.loss(rbm, x, method="enumerate")[1])


# ------------------------------------------------ the likelihood gradient
@identity("cd: ∇ℓ = −⟨∇E⟩_data − ∇log Z equals finite differences of the exact log-likelihood",
          step="log p(x) = −E(x) − log Z  ⇒  ∇θ log p(x) = −∇θE(x) − ∇θ log Z",
          case="BernoulliRBM 6×4, 20 random binary points; log Z by enumeration; Richardson differences",
          tol=1e-8, reason="Richardson differences of an O(1) smooth function reach ~1e-10")
def _(rng):
    rbm, x = _rbm_and_data(rng)
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


# ------------------------------------------------ where the negative samples come from
@identity("lecture: the CD update is the gradient of ⟨E⟩_data − ⟨E⟩_samples with the samples held fixed",
          step="θ ← θ − η(∇θE(x_data) − ∇θE(x_k)): cd.loss's gradient (pos − neg) = central differences of its value",
          case="2-D tanh MLP energy (5 hidden units, 21 parameters), 30 data points, 30 fixed 'model' points",
          tol=1e-8, reason="central differences with step 1e-5: truncation ~1e-10 · |∂³|, rounding ~1e-16/1e-5 = 1e-11")
def _(rng):
    model = MLPEnergy.init([2, 5], rng)
    x_data, x_model = rng.standard_normal((30, 2)), 1.5 * rng.standard_normal((30, 2))
    _, grads = cd.loss(model, x_data, x_model)
    theta = _params.flatten(model.params)
    fd = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = 1e-5
        up = model.with_params(_params.unflatten(theta + e, model.params))
        dn = model.with_params(_params.unflatten(theta - e, model.params))
        fd[i] = (cd.loss(up, x_data, x_model)[0] - cd.loss(dn, x_data, x_model)[0]) / 2e-5
    return _params.flatten(grads), fd


@identity("cd: the exact visible Gibbs kernel leaves p(v) invariant (πT = π)",
          step="T(v, v') = Σ_h p(h|v) p(v'|h) has p as its stationary distribution",
          case="BernoulliRBM 8×5, all 256 visible states",
          tol=1e-14, reason="a 256×256 matrix-vector product of probabilities")
def _(rng):
    rbm = _small_rbm(rng, 8, 5)
    pi = np.exp(-rbm.energy(enumerate_states(8)) - rbm.log_partition())
    return pi @ cd.visible_gibbs_kernel(rbm), pi


# ------------------------------------------------ the bias of CD-k
@identity("cd: grad of KL(p0||p) - KL(pk||p) with pk frozen = E[CD-k gradient]",
          step="CD_k = KL(p₀‖p_θ) − KL(p_k‖p_θ); ∇θ at fixed p_k = ⟨∇F⟩_{p₀} − ⟨∇F⟩_{p_k}",
          case="BernoulliRBM 6×4, 20 points, k = 2; p_k = p₀T² exactly; Richardson differences",
          tol=1e-8, reason="Richardson differences of an O(1) smooth function reach ~1e-10")
def _(rng):
    rbm, x, _ = _rbm_data_p0(rng)
    pk = cd.chain_distribution(rbm, x, 2)
    left = _fd_of_flat(lambda m: cd.cd_kl_difference(m, x, 2, p_k=pk), rbm)
    return left, _params.flatten(cd.exact_cd_expected_gradient(rbm, x, 2))


@identity("cd: E[CD-k gradient] → exact gradient as k grows (k = 300)",
          step="v_k → p as k → ∞, so ⟨∇F⟩_{v_k} → E_p[∇F] and CD-k becomes unbiased",
          case="BernoulliRBM 6×4 (weights scale 0.7), 20 points; T^k applied exactly",
          tol=1e-10, reason="the bias decays like |λ₂|^k; |λ₂| ≈ 0.24 here (asserted < 0.9 in the tests), so it is below rounding")
def _(rng):
    rbm, x = _rbm_and_data(rng)
    cdk = _params.flatten(cd.exact_cd_expected_gradient(rbm, x, 300))
    return cdk, -_params.flatten(rbm.exact_grad_log_likelihood(x))


# ------------------------------------------------ training by phases
@identity("lecture: descending positive − negative phase reaches the MLE; the likelihood is never evaluated",
          step="θ ← θ − η(⟨∇E⟩_data − E_{p_θ}[∇E]); the fixed point has ⟨∇E⟩_data = E_{p_θ}[∇E], for a Gaussian "
               "(μ, P) = (x̄, 1/s²)",
          case="1-D Gaussian model from (0, 1), 50 data points from N(0.8, 0.6²); E_{p_θ}[∇E] by "
               "cd.grad_log_partition_expectation (Simpson, 4001 nodes on [−15, 15]); 1000 steps, η = 0.5",
          tol=1e-7, reason="near the MLE the step contracts μ by |1 − ηP| ≈ 0.4 and P by 1 − η/4P² ≈ 0.97: "
                           "0.97^1000 ~ 6e-14 of the start's distance (< 2); Simpson's error on the negative phase "
                           "moves the fixed point by ~1e-10")
def _(rng):
    x = 0.8 + 0.6 * rng.standard_normal((50, 1))
    model = Gaussian([0.0], [[1.0]])
    for _ in range(1000):
        pos = cd.phases(model, x, x)[0]
        neg = {k: -v for k, v in cd.grad_log_partition_expectation(model, [(-15.0, 15.0)]).items()}
        model = model.with_params({k: model.params[k] - 0.5 * (pos[k] - neg[k]) for k in pos})
    return np.array([model.mean[0], model.precision[0, 0]]), np.array([x.mean(), 1.0 / x.var()])
