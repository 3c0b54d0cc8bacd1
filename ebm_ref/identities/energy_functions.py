"""Identities of note 04: MLP energies, composition of energies, energy designs."""
from __future__ import annotations

import numpy as np

from ..models import Gaussian, WarpedGaussian
from ..models.compose import ConditionalEnergy, Mixture, ProductOfExperts, Tempered
from ..models.designs import DiscriminatorEnergy, ReconstructionEnergy
from ..models.mlp import MLPEnergy
from ..numerics.special import logsumexp
from ..numerics.quadrature import grid_log_integral
from ._grid import GRID_REASON, N_GRID
from .registry import identity


def _grid_log_z(model, bounds, m=(300, 600)):
    """log Z by the trapezoid rule on a grid whose edges carry negligible mass (all weights 1)."""
    axes = [np.linspace(lo, hi, k) for (lo, hi), k in zip(bounds, m)]
    X, Y = np.meshgrid(*axes, indexing="ij")
    E = model.energy(np.column_stack([X.ravel(), Y.ravel()]))
    return float(logsumexp(-E) + np.log((axes[0][1] - axes[0][0]) * (axes[1][1] - axes[1][0])))


def _spd(rng, d):
    A = rng.standard_normal((d, d))
    return A @ A.T / d + 0.5 * np.eye(d)


# ----------------------------------------------------------------------- MLP
@identity("mlp: forward Laplacian = trace of the exact Hessian",
          step="Δy = σ'(a)Δa + σ''(a)‖∇a‖² layer by layer  vs  tr Σ_l J_aᵀ diag(z̄ σ''(a)) J_a",
          case="tanh MLP 5 → 16 → 16 → 8 → 1, 20 points",
          tol=1e-11, kind="rel",
          reason="two exact float64 computations of the same sum in different orders")
def _(rng):
    m = MLPEnergy.init([5, 16, 16, 8], rng, activation="tanh", bias_scale=0.5)
    x = rng.standard_normal((20, 5))
    return m.laplacian_x(x), np.trace(m.hessian_x(x), axis1=1, axis2=2)


@identity("mlp: forward Laplacian = sum of second differences of E",
          step="Δ E = Σ_i ∂²E/∂x_i², by Richardson-extrapolated central second differences",
          case="softplus MLP 3 → 6 → 5 → 1, 4 points; h = 0.1, 5 levels",
          tol=1e-8, reason="extrapolated second differences of an O(1) smooth function reach ~1e-11")
def _(rng):
    m = MLPEnergy.init([3, 6, 5], rng, activation="softplus", bias_scale=0.5)
    x = rng.standard_normal((4, 3))
    total = np.zeros(4)
    for i in range(3):
        u = np.zeros_like(x)
        u[:, i] = 1.0
        table = []
        for k in range(5):
            h = 0.1 / 2**k
            row = [(m.energy(x + h * u) - 2 * m.energy(x) + m.energy(x - h * u)) / h**2]
            for j in range(1, k + 1):
                row.append(row[j - 1] + (row[j - 1] - table[k - 1][j - 1]) / (4**j - 1))
            table.append(row)
        total += table[-1][-1]
    return m.laplacian_x(x), total


@identity("mlp: grad_params_laplacian = d/dθ of the forward Laplacian",
          step="reverse mode through the forward-Laplacian pass vs Richardson differences in θ",
          case="silu MLP 3 → 5 → 4 → 1, 4 points, all entries of W2",
          tol=1e-7, kind="rel", reason="Richardson differences of a float64 function: ~1e-10 typical")
def _(rng):
    from ..check import richardson

    m = MLPEnergy.init([3, 5, 4], rng, activation="silu", bias_scale=0.5)
    x = rng.standard_normal((4, 3))
    W2 = m.params["W2"]
    num = np.empty_like(W2)
    for idx in np.ndindex(W2.shape):
        D = np.zeros_like(W2)
        D[idx] = 1.0
        num[idx] = richardson(lambda t: np.sum(m.replace(W2=W2 + float(t) * D).laplacian_x(x)), 0.0, 1.0)
    return m.grad_params_laplacian(x)["W2"], num


# ------------------------------------------------------------------- compose
@identity("compose: product of Gaussian experts = Gaussian with summed precision",
          step="Σ_k ½(x-μ_k)ᵀP_k(x-μ_k) = ½(x-μ)ᵀP(x-μ) + c, P = ΣP_k, μ = P⁻¹ΣP_kμ_k",
          case="three 2-D Gaussian experts; energy differences E(x) - E(x₀) at 30 points",
          tol=1e-11, reason="float64 evaluation of two algebraically equal quadratics")
def _(rng):
    ex = [Gaussian(rng.standard_normal(2), _spd(rng, 2)) for _ in range(3)]
    poe = ProductOfExperts(ex)
    P = sum(e.precision for e in ex)
    g = Gaussian(np.linalg.solve(P, sum(e.precision @ e.mean for e in ex)), P)
    x = 2 * rng.standard_normal((30, 2))
    x0 = np.zeros((1, 2))
    return poe.energy(x) - poe.energy(x0), g.energy(x) - g.energy(x0)


@identity("compose: product of Gaussian experts log Z closed form = quadrature",
          step="log Z = (d/2) log 2π − ½ log det ΣP_k − c  (c the cross term)",
          case="two 2-D Gaussian experts with different means; 2-D quadrature over ±11 sd of the product",
          tol=1e-9, reason=GRID_REASON + "; the mass outside ±11 sd is below e^-60")
def _(rng, n_nodes=N_GRID):
    poe = ProductOfExperts([Gaussian([1.0, -0.5], [[2.0, 0.6], [0.6, 1.0]]),
                            Gaussian([-1.0, 1.5], [[0.8, -0.3], [-0.3, 1.5]])])
    g, _ = poe.as_gaussian()
    sd = np.sqrt(np.diag(g.covariance))
    lz = grid_log_integral(lambda x: -poe.energy(x), [(m - 11 * s, m + 11 * s) for m, s in zip(g.mean, sd)], n_nodes)
    return poe.log_partition(), lz


@identity("compose: a mixture of normalized models integrates to 1",
          step="∫ Σ_k w_k e^{-E_k - log Z_k} dx = Σ_k w_k = 1",
          case="0.4 N(μ, Σ) + 0.6 banana (WarpedGaussian b = 0.5); log Z by the trapezoid rule on a 300×600 grid",
          tol=1e-10, reason="the trapezoid rule converges geometrically for smooth integrands vanishing at the box edges")
def _(rng):
    mix = Mixture([0.4, 0.6], [Gaussian(rng.standard_normal(2), _spd(rng, 2)),
                               WarpedGaussian(np.zeros(2), np.eye(2), 0.5)])
    return _grid_log_z(mix, [(-12, 12), (-50, 14)]), 0.0


@identity("compose: tempered density ratio p(x)/p(x') = exp((E(x') - E(x))/T)",
          step="p_T ∝ e^{-E/T}: Z_T cancels in a ratio",
          case="banana (b = 0.8) at T = 2.5; log Z_T by 2-D quadrature, 40 pairs",
          tol=1e-8, reason="log Z_T by 2-D quadrature on [-9, 9] × [-70, 12] enters both log p's; "
                           "the ratio of the quadrature-normalized densities is compared. " + GRID_REASON)
def _(rng, n_nodes=N_GRID):
    t = Tempered(WarpedGaussian(np.zeros(2), np.eye(2), 0.8), 2.5)
    lz = grid_log_integral(lambda x: -t.energy(x), [(-9, 9), (-70, 12)], n_nodes)
    x, xp = rng.standard_normal((40, 2)), rng.standard_normal((40, 2))
    left = np.exp((-t.energy(x) - lz) - (-t.energy(xp) - lz))
    return left, np.exp((t.model.energy(xp) - t.model.energy(x)) / 2.5)


@identity("compose: tempered Gaussian log Z = log Z + (d/2) log T",
          step="E/T for a Gaussian is the Gaussian with precision P/T",
          case="2-D Gaussian at T = 0.3; 2-D quadrature over ±12 sd of the tempered density",
          tol=1e-9, reason=GRID_REASON + "; the mass outside ±12 sd is below e^-70")
def _(rng, n_nodes=N_GRID):
    g = Gaussian([0.5, -1.0], [[1.5, 0.4], [0.4, 0.9]])
    t = Tempered(g, 0.3)
    sd = np.sqrt(np.diag(g.covariance) * 0.3)
    lz = grid_log_integral(lambda x: -t.energy(x), [(m - 12 * s, m + 12 * s) for m, s in zip(g.mean, sd)], n_nodes)
    return t.log_partition(), lz


@identity("compose: conditional p(y|x) sums to 1 over labels",
          step="p(y|x) = softmax_y(−E(x, y))",
          case="K = 4 labels (two MLP energies, two Gaussians), 25 points",
          tol=1e-14, reason="a normalized softmax sums to 1 up to rounding")
def _(rng):
    ce = ConditionalEnergy([MLPEnergy.init([2, 6], rng), MLPEnergy.init([2, 6], rng, activation="silu"),
                            Gaussian(rng.standard_normal(2), _spd(rng, 2)), Gaussian(rng.standard_normal(2), _spd(rng, 2))])
    return ce.prob_y(3 * rng.standard_normal((25, 2))).sum(axis=1), np.ones(25)


@identity("compose: conditional p(y|x)/p(y'|x) = exp(E(x,y') − E(x,y))",
          step="the label normalizer Σ_y e^{-E(x,y)} cancels in a ratio",
          case="K = 3 labels (MLP energies), 25 points, log-ratio of labels 0 and 2",
          tol=1e-12, reason="a few float64 operations on O(1) numbers")
def _(rng):
    ce = ConditionalEnergy([MLPEnergy.init([2, 6], rng) for _ in range(3)])
    x = rng.standard_normal((25, 2))
    lp = ce.log_prob_y(x)
    E = ce.energy_table(x)
    return lp[:, 0] - lp[:, 2], E[:, 2] - E[:, 0]


# ------------------------------------------------------------------- designs
@identity("designs: reconstruction energy Laplacian = trace of its Hessian",
          step="ΔE = 2‖I − J‖²_F − 2 r·Δf  vs  tr(2(I−J)ᵀ(I−J) − 2Σ r_i ∇²f_i)",
          case="tanh autoencoder 4 → 8 → 2 → 8 → 4, 10 points",
          tol=1e-11, kind="rel", reason="two exact float64 computations of one sum")
def _(rng):
    m = ReconstructionEnergy.init(4, [8], 2, [8], rng, bias_scale=0.5)
    x = rng.standard_normal((10, 4))
    return m.laplacian_x(x), np.trace(m.hessian_x(x), axis1=1, axis2=2)


@identity("designs: −log D − (−logit D) = −log(1 − D)",
          step="−log D = softplus(−s), −logit D = −s, difference softplus(s) = −log(1 − D)",
          case="tanh discriminator 2 → 8 → 1, 30 points",
          tol=1e-12, reason="stable softplus/sigmoid in float64 on O(1) logits")
def _(rng):
    a = DiscriminatorEnergy.init([2, 8], rng, form="neg_log")
    b = DiscriminatorEnergy(form="neg_logit", **a.params)
    x = rng.standard_normal((30, 2))
    return a.energy(x) - b.energy(x), -np.log1p(-a.prob(x))
