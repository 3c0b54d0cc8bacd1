"""Lecture results on models and inference (notes/00-lecture-map.md rows 7, 15, 16, 17, 20, 23, 24, 78).

Exponential families are their textbook densities, predictions and denoising are
minimizations that never need Z, the RBM's energy is second order, stacking an RBM on
its own transpose leaves p(v) unchanged, i.i.d. likelihood is a sum, flows are normalized.
"""
from __future__ import annotations

import numpy as np

from ..inference import denoise, minimize_energy
from ..models import Gaussian
from ..models.compose import ConditionalEnergy, ProductOfExperts
from ..models.flow import Flow
from ..objectives.mle import quadrature_grid
from .registry import identity

_P3 = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.5]])


# ------------------------------------------- row 15: prediction is an argmin
@identity("lecture: prediction y* = argmin_y E(x, y) = argmax_y p(y|x)",
          step="p(y|x) = e^{−E(x,y)}/Σ_y' e^{−E(x,y')} is decreasing in E(x, y): the label normalizer cannot reorder labels",
          case="ConditionalEnergy of 4 Gaussian energies in 2-D, 300 points; left = (predict, argmax of prob_y), "
               "right = argmin over the table of label energies", tol=0.5,
          reason="label indices: equal or differing by ≥ 1")
def _(rng):
    experts = [Gaussian(rng.standard_normal(2), np.eye(2) * (0.5 + k)) for k in range(4)]
    ce = ConditionalEnergy(experts)
    x = 2.0 * rng.standard_normal((300, 2))
    table = np.stack([e.energy(x) for e in experts], axis=1)
    best = np.argmin(table, axis=1)
    return np.concatenate([ce.predict(x), np.argmax(ce.prob_y(x), axis=1)]).astype(float), \
        np.concatenate([best, best]).astype(float)


# ---------------------------------------- row 16: the mode without Z
@identity("lecture: the mode argmax p = argmin E is found without Z (product of experts)",
          step="minimize_energy uses E and ∇E only; for a product of Gaussian experts the mode is the "
               "precision-weighted mean (ΣP_k)⁻¹ Σ P_k μ_k",
          case="2 Gaussian experts in 3-D, L-BFGS from 5 random starts, gtol 1e-11",
          tol=1e-9, reason="‖x − x*‖ ≤ ‖∇E‖/λ_min(ΣP_k) ≤ √3·1e-11/0.5 ~ 4e-11; 1e-9 leaves room for L-BFGS's last step")
def _(rng):
    g1 = Gaussian([1.0, -0.5, 0.2], _P3)
    g2 = Gaussian([-0.3, 0.8, 1.5], np.diag([0.5, 1.5, 1.0]))
    res = minimize_energy(ProductOfExperts([g1, g2]), 3.0 * rng.standard_normal((5, 3)), method="lbfgs", gtol=1e-11)
    mode = np.linalg.solve(g1.precision + g2.precision, g1.precision @ g1.mean + g2.precision @ g2.mean)
    return res.x, np.broadcast_to(mode, (5, 3))


# ---------------------------------------- row 17: denoising without Z
@identity("lecture: denoising argmin E(x) + λ‖x − x̃‖² is the posterior mode under Gaussian noise (λ = 1/2σ²)",
          step="−log p(x|x̃) = E(x) + ‖x − x̃‖²/2σ² + const(x̃); for a Gaussian prior the mode is "
               "(P + 2λI)⁻¹(Pμ + 2λx̃)",
          case="3-D Gaussian prior, σ = 0.7, 6 noisy points, gradient descent with step 1/λ_max to gtol 1e-11",
          tol=1e-9, reason="the objective's Hessian ≥ 2λ = 2.04: ‖x − x*‖ ≤ ‖∇‖/2.04 ≤ 5e-12 once converged "
                           "(gradient descent needs no line search, so it reaches gtol; L-BFGS-B's stalls near 1e-9)")
def _(rng):
    g = Gaussian([1.0, -0.5, 0.2], _P3)
    sigma = 0.7
    lam = 1.0 / (2 * sigma**2)
    y = g.sample(6, rng) + sigma * rng.standard_normal((6, 3))
    exact = np.linalg.solve(g.precision + 2 * lam * np.eye(3), (g.precision @ g.mean)[:, None] + 2 * lam * y.T).T
    step = 1.0 / (np.linalg.eigvalsh(g.precision).max() + 2 * lam)
    res = denoise(g, y, lam=lam, method="gd", step_size=step, max_steps=5000, gtol=1e-11)
    if not res.converged:
        raise RuntimeError(f"gradient descent stopped at gradient norm {res.grad_norm.max():.2g} > 1e-11")
    return res.x, exact


# ---------------------------------------- row 78: flows are normalized
@identity("lecture: a coupling flow's density log N(z) − log|det ∂T/∂z| integrates to 1",
          step="change of variables: ∫ q(x) dx = ∫ N(z) dz = 1 for any invertible T, with no Z to compute",
          case="RealNVP flow in 2-D (4 couplings, 8 hidden units), tensor Gauss–Legendre on [−9, 9]², 200² nodes",
          tol=1e-7, reason="the density is smooth with Gaussian tails (mass outside the box < 1e-12); 200 nodes "
                           "per axis resolve its features to ~1e-9")
def _(rng):
    flow = Flow.realnvp(2, 4, 8, rng, scale=0.3)
    pts, w = quadrature_grid([(-9.0, 9.0), (-9.0, 9.0)], 200)
    return float(np.sum(w * np.exp(flow.log_prob(pts)))), 1.0
