"""Lecture results on training by phases (notes/00-lecture-map.md rows 32, 34).

The CD update is the gradient of a surrogate with the samples held fixed; descending
positive minus (exact) negative phase reaches the MLE without ever evaluating the
likelihood.
"""
from __future__ import annotations

import numpy as np

from .. import params as _params
from ..models import Gaussian
from ..models.mlp import MLPEnergy
from ..objectives import contrastive_divergence as cd
from .registry import identity


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
