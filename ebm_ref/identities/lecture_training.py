"""Lecture results on training by phases and by min–max (notes/00-lecture-map.md rows 32, 34, 63, 77).

The CD update is the gradient of a surrogate with the samples held fixed; descending
positive minus (exact) negative phase reaches the MLE without ever evaluating the
likelihood; a q equal to the model makes the adversarial negative phase exact; and the
maximum over q of the variational objective is the negative log-likelihood.
"""
from __future__ import annotations

import numpy as np

from .. import params as _params
from ..models import Gaussian
from ..models.mlp import MLPEnergy
from ..objectives import adversarial as adv
from ..objectives import contrastive_divergence as cd
from ..objectives import mle
from .registry import identity

_DATA = Gaussian([0.4, -0.3], [[1.5, 0.4], [0.4, 0.8]])
_MODEL = Gaussian([0.0, 0.2], [[1.0, 0.2], [0.2, 1.3]])


def _flat(d):
    return np.concatenate([np.ravel(v) for v in d.values()])


# ---------------------------------------------- row 32: the CD update
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


# ---------------------------------- row 34: phases fit the model, no likelihood
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


# ------------------------------ row 63: generator samples as the negative phase
def _gauss_expect(grad_fn, q, n=10):
    """E_q[grad_fn(x)] for a Gaussian q = N(m, S) by a tensor Gauss–Hermite rule (exact for polynomials of degree < 2n)."""
    t, w = np.polynomial.hermite.hermgauss(n)
    d = q.dim
    grid = np.stack(np.meshgrid(*[t] * d, indexing="ij"), axis=-1).reshape(-1, d)
    wts = np.prod(np.stack(np.meshgrid(*[w] * d, indexing="ij"), axis=-1).reshape(-1, d), axis=1) / np.pi ** (d / 2)
    x = q.mean + np.sqrt(2.0) * grid @ np.linalg.cholesky(q.covariance).T
    return {k: np.tensordot(wts, v, axes=(0, 0)) for k, v in grad_fn(x).items()}


@identity("lecture: with q = p_θ the adversarial negative phase is exact: ⟨∇E⟩_data − E_q[∇E] = ∇ NLL",
          step="∇θ[E_d E_θ − E_q E_θ + H(q)] = E_d∇E − E_q∇E, and E_{p_θ}[∇E] = −∇log Z, so at q = p_θ it is the "
               "likelihood gradient; at any other q it is off by E_{p_θ}∇E − E_q∇E",
          case="2-D Gaussian model and data (60 points); E_q by Gauss–Hermite (exact: ∇θE is quadratic in x); "
               "right = mle.loss's gradient (closed-form log Z)", tol=1e-12,
          reason="both sides exact; gradient entries of size ~1 agree to rounding")
def _(rng):
    x = _DATA.sample(60, rng)
    pos = cd.phases(_MODEL, x, x)[0]
    neg = _gauss_expect(_MODEL.grad_params, _MODEL)
    _, nll_grad = mle.loss(_MODEL, x)
    return _flat({k: pos[k] - neg[k] for k in pos}), _flat(nll_grad)


# ----------------------------------------- row 77: max over q gives the NLL
@identity("lecture: NLL(θ) = max_q [E_d E_θ − E_q E_θ + H(q)], attained at q = p_θ with zero q-gradient",
          step="E_q[−E] + H(q) ≤ log Z with equality at q = p_θ (Jensen), so E_d E_θ + max_q[…] = E_d E_θ + log Z = NLL; "
               "maximum likelihood is min_θ max_q",
          case="2-D Gaussian model and data (60 points); adversarial.variational_bound_exact at q = p_θ; its gradient in "
               "(m, S) by central differences; left = (value, 5 gradient entries), right = (mle.loss, 0)",
          tol=1e-8, reason="closed forms; central differences with step 1e-5 at a maximum: truncation ~1e-10")
def _(rng):
    x = _DATA.sample(60, rng)
    value = float(np.mean(_MODEL.energy(x))) + adv.variational_bound_exact(_MODEL, _MODEL)
    nll, _ = mle.loss(_MODEL, x)
    m0, S0 = _MODEL.mean, _MODEL.covariance
    grads = []
    for dm, dS in [(e, np.zeros((2, 2))) for e in np.eye(2)] + \
                  [(np.zeros(2), E) for E in (np.diag([1.0, 0.0]), np.diag([0.0, 1.0]), np.array([[0, 1.0], [1.0, 0]]))]:
        f = lambda s: adv.variational_bound_exact(_MODEL, Gaussian(m0 + s * dm, np.linalg.inv(S0 + s * dS)))
        grads.append((f(1e-5) - f(-1e-5)) / 2e-5)
    return np.append(value, grads), np.append(nll, np.zeros(len(grads)))
