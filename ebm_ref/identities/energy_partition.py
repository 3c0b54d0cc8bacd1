"""Identities of note 01: what Z does, when it exists, and how normalized pieces compose.

In the order below:

* **Z cancels** — p(x)/p(x') = e^{E(x') − E(x)} whatever Z is, and a shifted energy E + c
  gives the same p;
* **Z must be finite** — "any f_θ" defines a density only when ∫ e^{−E} < ∞: a bounded MLP
  energy on ℝ has Z_L on [−L, L] between 2L e^{−B} and 2L e^{B}, growing like 2L without
  limit;
* **composing normalized pieces** — a product of normalized conditionals p(x)p(y|x) and a
  convex mixture of normalized densities integrate to 1; a product of two Gaussian energies is
  a Gaussian with summed precision;
* **normalized by construction** — a coupling flow's density, by the change of variables,
  integrates to 1 with no Z to compute.
"""
from __future__ import annotations

import numpy as np
from scipy import integrate

from ..models import Gaussian, GaussianMixture, WarpedGaussian
from ..models.flow import Flow
from ..models.mlp import MLPEnergy
from ..numerics.quadrature import adaptive_quad, gauss_legendre_grid, grid_log_integral
from ._grid import GRID_REASON, N_GRID
from .registry import identity


# ------------------------------------------------------- Z cancels
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


# ------------------------------------------------------- Z must be finite
def _quad(fn, a, b):
    """∫_a^b fn(t) dt by adaptive quadrature (relative accuracy 1e-12, at most 500 subintervals)."""
    return adaptive_quad(fn, a, b, epsabs=0.0, epsrel=1e-12, limit=500)[0]


_MLP_1D = {"W1": np.array([[2.0], [-1.0], [0.5]]), "b1": np.array([0.5, 0.0, -1.0]),
           "W2": np.array([[0.8, -0.6, 0.4]]), "b2": np.array([0.1])}


def _bounded_mlp():
    """A tanh MLP energy on ℝ: |E| ≤ B = Σ|W2| + |b2| everywhere, so ∫ e^{−E} over ℝ diverges."""
    m = MLPEnergy.from_params(_MLP_1D)
    B = float(np.sum(np.abs(_MLP_1D["W2"])) + abs(_MLP_1D["b2"][0]))
    return m, B


def _log_z_box(m, L, R=40.0):
    """log ∫_{−L}^{L} e^{−E} by quad on [−L, −R], [−R, R], [R, L] (tanh saturates beyond R)."""
    f = lambda t: float(np.exp(-m.energy(np.array([[t]])))[0])
    inner = _quad(f, -min(R, L), min(R, L))
    outer = 0.0 if L <= R else _quad(f, -L, -R) + _quad(f, R, L)
    return np.log(inner + outer)


@identity("lecture: a bounded MLP energy has log Z_L within d log 2L ± B on every box",
          step="|E| ≤ B ⇒ 2L e^{−B} ≤ Z_L = ∫_{[−L,L]} e^{−E} ≤ 2L e^{B}: Z_L → ∞, no density on ℝ",
          case="1-D tanh MLP (3 units), B = Σ|W2| + |b2| = 1.9, L = 1, 10, 10², 10³, 10⁴; "
               "left = log Z_L − log 2L clipped to [−B, B], right = unclipped",
          tol=1e-12, reason="the bound is exact; clipping changes nothing unless it fails (quad error ~1e-12 relative)")
def _(rng):
    m, B = _bounded_mlp()
    v = np.array([_log_z_box(m, L) - np.log(2 * L) for L in (1.0, 10.0, 1e2, 1e3, 1e4)])
    return np.clip(v, -B, B), v


@identity("lecture: a bounded MLP energy has log Z_L − log 2L → log ½(e^{−E(−∞)} + e^{−E(+∞)})",
          step="Z_L = ∫_{−R}^{R} e^{−E} + (L − R)(e^{−E₊} + e^{−E₋}), E± = Σ W2_j sign(±W1_j) + b2: log Z_L grows like log 2L",
          case="1-D tanh MLP (3 units), L = 10⁶, R = 40",
          tol=40.0 * np.exp(2 * 1.9) / 1e6,
          reason="|Z_L/(L(e₊+e₋)) − 1| ≤ R e^{2B}/L = 1.8e-3 (|∫_{−R}^{R} e^{−E} − R(e₊+e₋)| ≤ 2R e^{B}, e₊+e₋ ≥ 2e^{−B})")
def _(rng):
    m, _ = _bounded_mlp()
    s = np.sign(_MLP_1D["W1"][:, 0])
    e_plus = float(_MLP_1D["W2"][0] @ s + _MLP_1D["b2"][0])
    e_minus = float(-_MLP_1D["W2"][0] @ s + _MLP_1D["b2"][0])
    L = 1e6
    return _log_z_box(m, L) - np.log(2 * L), np.log(0.5 * (np.exp(-e_plus) + np.exp(-e_minus)))


# ------------------------------------------------------- composing normalized pieces
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


# ------------------------------------------------------- normalized by construction
@identity("lecture: a coupling flow's density log N(z) − log|det ∂T/∂z| integrates to 1",
          step="change of variables: ∫ q(x) dx = ∫ N(z) dz = 1 for any invertible T, with no Z to compute",
          case="RealNVP flow in 2-D (4 couplings, 8 hidden units), tensor Gauss–Legendre on [−9, 9]², 200² nodes",
          tol=1e-7, reason="the density is smooth with Gaussian tails (mass outside the box < 1e-12); 200 nodes "
                           "per axis resolve its features to ~1e-9")
def _(rng):
    flow = Flow.realnvp(2, 4, 8, rng, scale=0.3)
    pts, w = gauss_legendre_grid([(-9.0, 9.0), (-9.0, 9.0)], 200)
    return float(np.sum(w * np.exp(flow.log_prob(pts)))), 1.0
