"""Identities of note 04: energy functions — MLP energies and their derivatives, composition,
two designs, and what an energy is used for: inference, outputs, anomalies.

In the order below:

* **MLP energies** — the forward Laplacian equals the trace of the exact Hessian and the sum
  of second differences of E, and its parameter gradient equals finite differences;
* **composition** — a product of Gaussian experts is a Gaussian (energy and log Z), a mixture
  of normalized models integrates to 1, a tempered density's ratios and log Z, and a
  conditional energy over labels normalizes to p(y|x);
* **designs** — the reconstruction energy's Laplacian, the reconstruction energy of a linear
  autoencoder ranking data below noise with a probability known exactly, and the
  discriminator energy's two forms;
* **inference is minimization** — the prediction argmin_y E(x, y) is argmax_y p(y|x), the mode
  argmin E is found without Z, and denoising argmin E(x) + λ‖x − x̃‖² is the posterior mode;
* **energies over outputs** — filling in missing units: the Gibbs kernel with the observed
  units clamped has p(y|x) as its stationary law;
* **anomaly detection** — the AUC of the energy score between two Gaussians in closed form.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from .. import anomaly, inpainting
from ..inference import denoise, minimize_energy
from ..models import Gaussian, WarpedGaussian
from ..models.compose import ConditionalEnergy, Mixture, ProductOfExperts, Tempered
from ..models.designs import DiscriminatorEnergy, ReconstructionEnergy
from ..models.mlp import MLPEnergy
from ..models.rbm import BernoulliRBM
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


_D, _K, _S2, _TAU2, _N_PAIRS = 4, 2, 0.05, 1.0, 20000
_AUC = stats.f.cdf(_TAU2 / _S2, _D - _K, _D - _K)       # = 20/21 for F(2, 2)


@identity("lecture: a reconstruction energy ranks data below noise, P(E(x_data) < E(x_noise)) exact",
          step="linear AE = projection on the top-k principal subspace: E = ‖(I − UUᵀ)x‖²; data: s²χ²_{d−k}, "
               "noise N(0, τ²I): τ²χ²_{d−k}  ⇒  P(E_data < E_noise) = F_{d−k,d−k}(τ²/s²)",
          case="d = 4, k = 2, data N(0, U diag(3, 2, 0.05, 0.05) Uᵀ), noise N(0, I), 20000 pairs; "
               "ReconstructionEnergy (identity activations) with encoder U_kᵀ, decoder U_k",
          tol=4 * np.sqrt(_AUC * (1 - _AUC) / _N_PAIRS),
          reason="4 binomial standard errors of the pair count: false-positive rate 6e-5")
def _(rng):
    U = np.linalg.qr(rng.standard_normal((_D, _D)))[0]
    Sigma = U @ np.diag([3.0, 2.0, _S2, _S2]) @ U.T
    Uk = U[:, :_K]
    ae = ReconstructionEnergy(activation="identity", **{
        "enc.W1": Uk.T, "enc.b1": np.zeros(_K), "enc.W2": np.eye(_K), "enc.b2": np.zeros(_K),
        "dec.W1": np.eye(_K), "dec.b1": np.zeros(_K), "dec.W2": Uk, "dec.b2": np.zeros(_D)})
    x_data = rng.multivariate_normal(np.zeros(_D), Sigma, size=_N_PAIRS)
    x_noise = np.sqrt(_TAU2) * rng.standard_normal((_N_PAIRS, _D))
    return float(np.mean(ae.energy(x_data) < ae.energy(x_noise))), float(_AUC)


@identity("designs: −log D − (−logit D) = −log(1 − D)",
          step="−log D = softplus(−s), −logit D = −s, difference softplus(s) = −log(1 − D)",
          case="tanh discriminator 2 → 8 → 1, 30 points",
          tol=1e-12, reason="stable softplus/sigmoid in float64 on O(1) logits")
def _(rng):
    a = DiscriminatorEnergy.init([2, 8], rng, form="neg_log")
    b = DiscriminatorEnergy(form="neg_logit", **a.params)
    x = rng.standard_normal((30, 2))
    return a.energy(x) - b.energy(x), -np.log1p(-a.prob(x))


# ------------------------------------------------------------------- inference is minimization
_P3 = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.5]])


def _gaussian_3d():
    """The 3-D Gaussian with mean (1, −0.5, 0.2) and the dense precision _P3."""
    return Gaussian([1.0, -0.5, 0.2], _P3)


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


@identity("lecture: the mode argmax p = argmin E is found without Z (product of experts)",
          step="minimize_energy uses E and ∇E only; for a product of Gaussian experts the mode is the "
               "precision-weighted mean (ΣP_k)⁻¹ Σ P_k μ_k",
          case="2 Gaussian experts in 3-D, L-BFGS (minimize_lbfgs on ΣE) from 5 random starts to every ‖∇E‖ ≤ 1e-11",
          tol=1e-9, reason="‖x − x*‖ ≤ ‖∇E‖/λ_min(ΣP_k) ≤ 1e-11/1.39 ~ 7e-12; 1e-9 is a wide margin over that bound")
def _(rng):
    g1 = _gaussian_3d()
    g2 = Gaussian([-0.3, 0.8, 1.5], np.diag([0.5, 1.5, 1.0]))
    res = minimize_energy(ProductOfExperts([g1, g2]), 3.0 * rng.standard_normal((5, 3)), method="lbfgs", gtol=1e-11)
    mode = np.linalg.solve(g1.precision + g2.precision, g1.precision @ g1.mean + g2.precision @ g2.mean)
    return res.x, np.broadcast_to(mode, (5, 3))


@identity("lecture: denoising argmin E(x) + λ‖x − x̃‖² is the posterior mode under Gaussian noise (λ = 1/2σ²)",
          step="−log p(x|x̃) = E(x) + ‖x − x̃‖²/2σ² + const(x̃); for a Gaussian prior the mode is "
               "(P + 2λI)⁻¹(Pμ + 2λx̃)",
          case="3-D Gaussian prior, σ = 0.7, 6 noisy points, L-BFGS (minimize_lbfgs on the summed objective) "
               "to every ‖∇‖ ≤ 1e-11",
          tol=1e-9, reason="the objective's Hessian ≥ 2λ = 2.04: ‖x − x*‖ ≤ ‖∇‖/2.04 ≤ 5e-12 once converged "
                           "(the line search accepts a step whose decrease is below the sum's rounding, so it reaches gtol)")
def _(rng):
    g = _gaussian_3d()
    sigma = 0.7
    lam = 1.0 / (2 * sigma**2)
    y = g.sample(6, rng) + sigma * rng.standard_normal((6, 3))
    exact = np.linalg.solve(g.precision + 2 * lam * np.eye(3), (g.precision @ g.mean)[:, None] + 2 * lam * y.T).T
    res = denoise(g, y, lam=lam, method="lbfgs", max_steps=1000, gtol=1e-11)
    if not res.converged:
        raise RuntimeError(f"L-BFGS stopped at gradient norm {res.grad_norm.max():.2g} > 1e-11")
    return res.x, exact


# ------------------------------------------------------------------- energies over outputs
@identity("inpainting: the clamped Gibbs kernel's stationary law = p(y|x) by enumeration",
          step="Gibbs on p(y, h | x) has y-marginal p(y|x) ∝ e^{−F(x, y)}",
          case="BernoulliRBM 9×6 (weights scale 1), 3 observed units, 6 missing: 64×64 kernel",
          tol=1e-12, reason="a 64×64 matrix-vector product of probabilities")
def _(rng):
    rbm = BernoulliRBM(rng.standard_normal((9, 6)), 0.3 * rng.standard_normal(9), 0.3 * rng.standard_normal(6))
    v = (rng.random(9) < 0.5).astype(float)
    obs = np.zeros(9, bool)
    obs[:3] = True
    _, p = inpainting.exact_conditional(rbm, v, obs)
    return p @ inpainting.clamped_kernel(rbm, v, obs), p


# ------------------------------------------------------------------- anomaly detection
@identity("anomaly: AUC of the energy score for N(0, I) vs N(0, s^2 I) = F(d, d) cdf at s^2",
          step="AUC = P(‖x_q‖² > ‖x_p‖²) = P(U/V < s²), U, V ~ χ²_d",
          case="d = 2, 10; s = 1.5, 0.6, 1.2, 0.8; adaptive quadrature over the χ² density",
          tol=1e-10, reason="adaptive quadrature of a smooth integrand to ~1e-13")
def _(rng):
    cases = [(2, 1.5), (2, 0.6), (10, 1.2), (10, 0.8)]
    return (np.array([anomaly.auc_by_quadrature(d, s) for d, s in cases]),
            np.array([anomaly.auc_gaussian_scale(d, s) for d, s in cases]))
