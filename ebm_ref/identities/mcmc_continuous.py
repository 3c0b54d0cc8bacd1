"""Identities of the continuous samplers (notes/05a-mcmc-continuous.md): ULA bias, leapfrog, MH ratio."""
from __future__ import annotations

import numpy as np
from scipy import linalg, stats

from ..models.gaussian import Gaussian, GaussianMixture
from ..samplers import acceptance_probability, hmc, leapfrog, mala, ula_gaussian_covariance
from .registry import identity

_P = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.5]])
_H = 0.3


def _mixture():
    covs = np.stack([np.array([[0.5, 0.2], [0.2, 0.4]]), 0.3 * np.eye(2)])
    return GaussianMixture(np.array([0.4, 0.6]), np.array([[-1.0, 0.0], [1.2, 0.5]]), covs)


@identity("mcmc: ULA stationary covariance, Lyapunov solve = (P(I - hP/2))^-1",
          step="x' = (I - hP)x + sqrt(2h) xi  =>  Sigma = A Sigma A^T + 2hI  =>  Sigma = (P(I - hP/2))^-1",
          case="3-D Gaussian, dense P, h = 0.3", tol=1e-12, kind="rel",
          reason="two dense solves of a well-conditioned 3x3 system agree to rounding")
def _(rng):
    A = np.eye(3) - _H * _P
    return ula_gaussian_covariance(_P, _H), linalg.solve_discrete_lyapunov(A, 2 * _H * np.eye(3))


@identity("mcmc: ULA stationary covariance, iterated covariance recursion = closed form",
          step="Sigma_{t+1} = A Sigma_t A^T + 2hI converges to the stationary covariance",
          case="3-D Gaussian, dense P, h = 0.3, 400 iterations from Sigma_0 = 0", tol=1e-12, kind="rel",
          reason="the recursion contracts by max|1 - h lambda|^2 <= 0.92 per step: 0.92^400 ~ 1e-15")
def _(rng):
    A = np.eye(3) - _H * _P
    S = np.zeros((3, 3))
    for _ in range(400):
        S = A @ S @ A.T + 2 * _H * np.eye(3)
    return S, ula_gaussian_covariance(_P, _H)


def _leapfrog_flat(model, z, eps, L):
    d = model.dim
    q, p = leapfrog(model, z[None, :d], z[None, d:], eps, L)
    return np.concatenate([q[0], p[0]])


@identity("mcmc: leapfrog preserves volume (det of its Jacobian = 1)",
          step="the leapfrog map is a composition of shears, so |det dPhi/d(q,p)| = 1",
          case="2-D Gaussian mixture, eps = 0.2, L = 5, Jacobian by central differences", tol=1e-7,
          reason="central differences with step 1e-5 have truncation error ~1e-10 and rounding ~1e-11 per entry")
def _(rng):
    m = _mixture()
    z0 = np.concatenate([m.sample(1, rng)[0], rng.standard_normal(2)])
    step = 1e-5
    J = np.empty((4, 4))
    for j in range(4):
        e = np.zeros(4)
        e[j] = step
        J[:, j] = (_leapfrog_flat(m, z0 + e, 0.2, 5) - _leapfrog_flat(m, z0 - e, 0.2, 5)) / (2 * step)
    return np.linalg.det(J), 1.0


@identity("mcmc: leapfrog is reversible (flip momentum, integrate back)",
          step="Phi(q, p) = (q', p')  =>  Phi(q', -p') = (q, -p)",
          case="2-D Gaussian mixture, 50 points, eps = 0.2, L = 20", tol=1e-12,
          reason="each of the 2L floating-point kicks and drifts is undone up to rounding (~1e-15 each)")
def _(rng):
    m = _mixture()
    q0 = m.sample(50, rng)
    p0 = rng.standard_normal(q0.shape)
    q1, p1 = leapfrog(m, q0, p0, 0.2, 20)
    q2, p2 = leapfrog(m, q1, -p1, 0.2, 20)
    return np.concatenate([q2, -p2]), np.concatenate([q0, p0])


@identity("mcmc: MH acceptance uses only energy differences (Z cancels)",
          step="min(1, p(y)/p(x)) = min(1, exp(-(E(y) - E(x)))) since log Z cancels",
          case="3-D Gaussian, normalized density from scipy.stats vs unnormalized energy, 200 pairs",
          tol=1e-12, reason="log-densities of moderate size; exp of differences agrees to rounding")
def _(rng):
    g = Gaussian(np.array([1.0, -0.5, 0.2]), _P)
    x = g.sample(200, rng)
    y = x + 0.8 * rng.standard_normal(x.shape)
    dist = stats.multivariate_normal(g.mean, g.covariance)
    ratio = np.minimum(1.0, np.exp(dist.logpdf(y) - dist.logpdf(x)))
    return acceptance_probability(g, x, y), ratio


@identity("mcmc: HMC with one leapfrog step = MALA with h = eps^2/2",
          step="q' = q - (eps^2/2) grad E(q) + eps p is the MALA proposal, and the acceptance ratios agree",
          case="2-D Gaussian mixture, 40 chains, 30 steps, eps = 0.4, same seed", tol=1e-12,
          reason="same random numbers, same arithmetic up to summation order")
def _(rng):
    m = _mixture()
    x0 = m.sample(40, rng)
    seed = int(rng.integers(2**31))
    return (hmc(m, x0, 30, seed, step_size=0.4, n_leapfrog=1, backend="numpy").samples,
            mala(m, x0, 30, seed, step_size=0.08, backend="numpy").samples)
