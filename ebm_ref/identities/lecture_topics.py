"""Identities of the lecture's topics added in issue 13: maximum likelihood as KL and CD as a
difference of KLs (note 06), maximum entropy (note 02), score networks (note 12), MCMC in high
dimension (note 05a), inpainting and anomaly detection (note 04), products of exponential families
(note 02) and the σ-blind multiscale compromise (note 07)."""
from __future__ import annotations

import numpy as np

from .. import vector_fields
from ..models import Gaussian, MLPEnergy
from ..models.score_network import ScoreNetwork
from ..objectives import score_matching as sm
from .registry import identity


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
