"""Identities of the lecture's topics added in issue 13: maximum likelihood as KL and CD as a
difference of KLs (note 06), maximum entropy (note 02), score networks (note 12), MCMC in high
dimension (note 05a), inpainting and anomaly detection (note 04), products of exponential families
(note 02) and the σ-blind multiscale compromise (note 07)."""
from __future__ import annotations

import numpy as np

from .. import anomaly, inpainting, maxent, vector_fields
from ..models import Gaussian, MLPEnergy
from ..models.expfam import Beta
from ..models.score_network import ScoreNetwork
from ..numerics.quadrature import adaptive_quad
from ..objectives import score_matching as sm
from .contrastive_divergence import _small_rbm
from .registry import identity


# ------------------------------------------------ note 02: maximum entropy, products
@identity("maxent: max-entropy distribution under a mean constraint = exponential family (die, mean 4.5)",
          step="argmax H(p) s.t. Σ p_k T_k = μ  is  p ∝ exp(ηᵀT) with ∇log Z(η) = μ",
          case="support {1..6}, T(x) = x, μ = 4.5 (Jaynes' die); SLSQP on the simplex vs Newton on the dual",
          tol=1e-7, reason="SLSQP stops at ftol 1e-15 on H, which leaves p accurate to ~1e-8; Newton reaches 1e-14")
def _(rng):
    T = np.arange(1.0, 7.0)
    return maxent.max_entropy_primal(T, [4.5]), maxent.max_entropy_dual(T, [4.5])[1]


@identity("maxent: mean and second moment fixed on a grid give p ∝ exp(η1 x + η2 x^2)",
          step="two constraints → log p affine in (x, x²): a discretized Gaussian",
          case="41 points on [−3, 3], E x = 0.3, E x² = 1.2; SLSQP vs Newton on the dual",
          tol=1e-7, reason="SLSQP stops at ftol 1e-15 on H, which leaves p accurate to ~1e-8")
def _(rng):
    x = np.linspace(-3.0, 3.0, 41)
    T = np.column_stack([x, x**2])
    return maxent.max_entropy_primal(T, [0.3, 1.2]), maxent.max_entropy_dual(T, [0.3, 1.2])[1]


@identity("maxent: strong duality, H(p*) = log Z(eta*) - eta*.mu (Boltzmann, fixed mean energy)",
          step="max H = min_η log Z(η) − ηᵀμ; with T = −E the multiplier is β and p ∝ e^{−βE}",
          case="double-well energy x⁴/4 − x² on 41 grid points, prescribed mean energy −0.6",
          tol=1e-12, reason="the dual is solved by Newton to |E T − μ| < 1e-14; both sides are O(1) sums")
def _(rng):
    x = np.linspace(-3.0, 3.0, 41)
    T = -(x**4 / 4 - x**2)
    eta, p = maxent.max_entropy_dual(T, [0.6])
    a = T * eta[0]
    return maxent.entropy(p), float(np.log(np.sum(np.exp(a))) - eta[0] * 0.6)


@identity("expfam: product of two Betas is Beta(a1+a2-1, b1+b2-1) (quadrature)",
          step="h e^{η₁ᵀT}·h e^{η₂ᵀT} ∝ h²e^{(η₁+η₂)ᵀT}, and h² = h·e^{−log x − log(1−x)} for the Beta",
          case="Beta(2, 3)·Beta(1.5, 0.7), normalized by adaptive quadrature, at 7 points in (0, 1)",
          tol=1e-10, reason="adaptive quadrature of a smooth integrable density to ~1e-13")
def _(rng):
    b1, b2 = Beta(2.0, 3.0), Beta(1.5, 0.7)
    x = np.linspace(0.05, 0.95, 7)[:, None]
    unnorm = lambda t: np.exp(b1.log_prob(np.atleast_1d(t)[:, None]) + b2.log_prob(np.atleast_1d(t)[:, None]))  # noqa: E731
    z = adaptive_quad(lambda t: float(unnorm(t)[0]), 0.0, 1.0)[0]
    return np.log(unnorm(x[:, 0])) - np.log(z), Beta(2.5, 2.7).log_prob(x)


# ------------------------------------------------ note 07: a σ-blind energy fits a compromise
@identity("score matching: a sigma-blind energy's multiscale DSM optimum is the compromise P*",
          step="argmin_P Σ_l λ_l F(q_{σ_l}‖N(0, 1/P)) = Σ λ_l / Σ λ_l (s² + σ_l²), the score of no level",
          case="data N(0, 1), σ = (1, 0.3), λ = σ²; exact expected loss (quadrature) is quadratic in P",
          tol=1e-8, reason="three quadrature values accurate to ~1e-10 fix the parabola's vertex")
def _(rng):
    sigmas = np.array([1.0, 0.3])
    lam = sigmas**2
    data = Gaussian([0.0], [[1.0]])

    def expected(P):
        m = Gaussian([0.0], [[P]])
        return sum(l * sm.denoising_expectation(data, m, s, [(-14.0, 14.0)]) for l, s in zip(lam, sigmas))

    Ps = np.array([0.5, 1.0, 1.5])
    a, b, _ = np.polyfit(Ps, [expected(P) for P in Ps], 2)
    return -b / (2 * a), lam.sum() / (lam * (1.0 + sigmas**2)).sum()


# ------------------------------------------------ note 12: score networks
@identity("score net: E[DSM loss] = Fisher divergence to q_sigma + constant, for a non-gradient field",
          step="E ½‖s(x+σε) + ε/σ‖² = ½E_{q_σ}‖s − ∇log q_σ‖² + d/(2σ²) − ½E_{q_σ}‖∇log q_σ‖²",
          case="2-D Gaussian data, linear score network with an antisymmetric Jacobian part, σ = 0.5; "
               "Gauss–Hermite (exact for these quadratic integrands)",
          tol=1e-12, reason="Gauss–Hermite with 6 nodes per axis integrates polynomials of degree ≤ 11 exactly")
def _(rng):
    net = ScoreNetwork.init(2, [], rng)
    p = Gaussian.from_covariance([0.3, -0.2], [[1.0, 0.4], [0.4, 0.7]])
    s = 0.5
    q = sm.smoothed(p, s)
    left = sm.score_network_expectation(p, net, s, 6) - sm.score_field_fisher(q, lambda x: net.score(x, s), 6)
    return left, 1.0 / s**2 - 0.5 * np.trace(np.linalg.inv(q.covariance))


@identity("score net: circulation around a circle = flux of the curl (Stokes)",
          step="∮ s·dℓ = ∬ (∂₁s₂ − ∂₂s₁) dA; nonzero ⇒ s is the score of no density",
          case="tanh score network 3 → 16 → 16 → 2 at σ = 0.7, circle of radius 1.5 about (0.2, −0.1)",
          tol=1e-9, reason="trapezoid rule on a smooth periodic integrand and Gauss–Legendre in the radius "
                           "both converge geometrically; 256 angles and 64 radii reach ~1e-12")
def _(rng):
    net = ScoreNetwork.init(2, [16, 16], rng)
    c = [0.2, -0.1]
    return (vector_fields.circulation(lambda x: net.score(x, 0.7), c, 1.5),
            vector_fields.curl_flux(lambda x: net.jacobian_x(x, 0.7), c, 1.5))


@identity("score net: an energy's score -grad E has zero circulation",
          step="s = −∇E ⇒ ∮ s·dℓ = −∮ dE = 0",
          case="tanh MLP energy 2 → 16 → 16 → 1, circle of radius 1.5 about (0.2, −0.1), 256 angles",
          tol=1e-11, reason="the trapezoid sum of an exact derivative around a loop cancels to rounding")
def _(rng):
    e = MLPEnergy.init([2, 16, 16], rng)
    return vector_fields.circulation(e.score, [0.2, -0.1], 1.5), 0.0


# ------------------------------------------------ note 04: outputs y, anomalies
@identity("inpainting: the clamped Gibbs kernel's stationary law = p(y|x) by enumeration",
          step="Gibbs on p(y, h | x) has y-marginal p(y|x) ∝ e^{−F(x, y)}",
          case="BernoulliRBM 9×6 (weights scale 1), 3 observed units, 6 missing: 64×64 kernel",
          tol=1e-12, reason="a 64×64 matrix-vector product of probabilities")
def _(rng):
    rbm = _small_rbm(rng, 9, 6, scale=1.0)
    v = (rng.random(9) < 0.5).astype(float)
    obs = np.zeros(9, bool)
    obs[:3] = True
    _, p = inpainting.exact_conditional(rbm, v, obs)
    return p @ inpainting.clamped_kernel(rbm, v, obs), p


@identity("anomaly: AUC of the energy score for N(0, I) vs N(0, s^2 I) = F(d, d) cdf at s^2",
          step="AUC = P(‖x_q‖² > ‖x_p‖²) = P(U/V < s²), U, V ~ χ²_d",
          case="d = 2, 10; s = 1.5, 0.6, 1.2, 0.8; adaptive quadrature over the χ² density",
          tol=1e-10, reason="adaptive quadrature of a smooth integrand to ~1e-13")
def _(rng):
    cases = [(2, 1.5), (2, 0.6), (10, 1.2), (10, 0.8)]
    return (np.array([anomaly.auc_by_quadrature(d, s) for d, s in cases]),
            np.array([anomaly.auc_gaussian_scale(d, s) for d, s in cases]))
