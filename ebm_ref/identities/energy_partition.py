"""Identities of note 01: what Z does, and the two ways of composing normalized pieces."""
from __future__ import annotations

import numpy as np
from scipy import integrate

from ..models import Gaussian, GaussianMixture, WarpedGaussian
from ..numerics.quadrature import grid_log_integral
from ._grid import GRID_REASON, N_GRID
from .registry import identity


@identity("energy: p(x)/p(x') = exp(E(x') - E(x)), any Z",
          step="p = exp(-E)/Z, so Z cancels in a ratio",
          case="banana (WarpedGaussian, b=0.7): log p from the exact Z vs energy differences, 50 pairs",
          tol=1e-12, reason="both sides are a handful of float64 operations on O(1) numbers")
def _(rng):
    m = WarpedGaussian([0.2, -0.4], [[1.5, 0.4], [0.4, 0.8]], 0.7)
    x, y = rng.standard_normal((50, 2)), rng.standard_normal((50, 2))
    left = m.log_prob(x) - m.log_prob(y)
    right = m.energy(y) - m.energy(x)
    return left, right


@identity("energy: a shifted energy E + c leaves p unchanged",
          step="Z(E + c) = exp(-c) Z(E): p is invariant to an additive constant",
          case="2-D Gaussian, c = 3.7, log Z by quadrature of exp(-(E + c)) on [-10, 10] × [-12, 12]",
          tol=1e-9, reason=GRID_REASON + "; the mass outside the box is below e^-40")
def _(rng, n_nodes=N_GRID):
    g = Gaussian([0.3, -0.1], [[2.0, 0.5], [0.5, 1.0]])
    c = 3.7
    lz_shift = grid_log_integral(lambda x: -(g.energy(x) + c), [(-10, 10), (-12, 12)], n_nodes)
    return lz_shift, g.log_partition() - c


@identity("energy: product of normalized conditionals p(x)p(y|x) integrates to 1",
          step="∫∫ p_θ(x) p_θ'(x)(y) dy dx = ∫ p_θ(x) dx = 1 (autoregressive composition)",
          case="x ~ N(0.5, 1.3²), y|x ~ Gamma(shape 3 + sin x, rate 1 + x²/4); 2-D quadrature on [-9, 10] × [0, 80]",
          tol=1e-8, reason="2-D adaptive quadrature; the mass outside the box is below 1e-12 (x beyond 7σ, y beyond 80 with rate >= 1)")
def _(rng):
    from math import exp, lgamma, log, pi, sin, sqrt

    def joint(y, x):
        # N(x; 0.5, 1.3²) · Gamma(y; a(x), r(x)), both written out (scalar math for speed)
        a, r = 3.0 + sin(x), 1.0 + x * x / 4
        log_px = -0.5 * ((x - 0.5) / 1.3) ** 2 - log(1.3 * sqrt(2 * pi))
        log_py = a * log(r) - lgamma(a) + (a - 1.0) * log(y) - r * y if y > 0 else -np.inf
        return exp(log_px + log_py)

    # adaptive, and honestly so: y^(a(x)-1) with a(x) = 3 + sin x non-integer has a derivative
    # singular at y = 0 whose order moves with x, which a fixed tensor rule resolves only slowly
    val, _ = integrate.dblquad(joint, -9.0, 10.0, 0.0, 80.0, epsabs=0.0, epsrel=1e-10)
    return val, 1.0


@identity("energy: a convex mixture of normalized densities integrates to 1",
          step="∫ Σ_k w_k p_k(x) dx = Σ_k w_k = 1 (latent-variable composition)",
          case="three-component 2-D GaussianMixture; log Z by 2-D quadrature on [-12, 12]² vs 0",
          tol=1e-9, reason=GRID_REASON + "; the mass outside the box is below e^-50 (every component beyond 10 sd)")
def _(rng, n_nodes=N_GRID):
    mix = GaussianMixture([0.2, 0.5, 0.3], [[-2.0, 0.0], [1.5, 1.0], [0.0, -2.0]],
                          [np.eye(2) * 0.5, [[1.0, 0.6], [0.6, 1.0]], np.eye(2) * 0.3])
    lz = grid_log_integral(lambda x: -mix.energy(x), [(-12, 12), (-12, 12)], n_nodes)
    return lz, mix.log_partition()


@identity("energy: product of two Gaussian energies is Gaussian with summed precision",
          step="E₁ + E₂ = ½(x-μ)ᵀ(P₁+P₂)(x-μ) + const, μ = (P₁+P₂)⁻¹(P₁μ₁+P₂μ₂)",
          case="two 2-D Gaussians; log ∫exp(-E₁-E₂) by quadrature on [-10, 10]² vs closed form",
          tol=1e-9, reason=GRID_REASON + "; the mass outside the box is below e^-30")
def _(rng, n_nodes=N_GRID):
    g1 = Gaussian([1.0, 0.0], [[1.0, 0.3], [0.3, 2.0]])
    g2 = Gaussian([-1.0, 0.5], [[2.0, -0.4], [-0.4, 1.0]])
    P = g1.precision + g2.precision
    mu = np.linalg.solve(P, g1.precision @ g1.mean + g2.precision @ g2.mean)
    prod = Gaussian(mu, P)
    # constant: E₁ + E₂ - E_prod evaluated at any point (it does not depend on x)
    c = float((g1.energy(mu[None]) + g2.energy(mu[None]) - prod.energy(mu[None]))[0])
    lz = grid_log_integral(lambda x: -(g1.energy(x) + g2.energy(x)), [(-10, 10), (-10, 10)], n_nodes)
    return lz, prod.log_partition() - c
