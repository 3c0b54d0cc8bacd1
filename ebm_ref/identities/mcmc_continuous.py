"""Identities of note 05a: sampling from an energy with continuous MCMC.

In the order below:

* **Metropolis–Hastings and why it converges** — the acceptance needs only energy
  differences (Z cancels); random-walk MH satisfies detailed balance pointwise; at T = 1
  its chains sample p (both modes), and annealed (T → 0) they concentrate on argmin E;
* **Langevin dynamics from the score** — one step needs only the score, and on a Gaussian
  the chain's law after k steps is known exactly, also for annealed Langevin over
  noise-conditional scores;
* **ULA's bias** — on a Gaussian the stationary covariance of the unadjusted chain is
  (P(I − hP/2))⁻¹ (a Lyapunov solve, the iterated recursion); the stationary law of the
  discretised kernel reproduces it, and on E = x⁴/4 the bias in E[x²] is c₁ε + O(ε²) with
  c₁ ≠ 0 from an expansion of one step;
* **Hamiltonian Monte Carlo** — leapfrog preserves volume and is reversible; HMC with one
  leapfrog step is MALA;
* **MCMC in high dimension** — random-walk MH on N(0, I_d) slows down like d (exact lag-one
  autocorrelation and acceptance by quadrature over χ²_d, checked against the sampler's
  chains); at fixed acceptance the step shrinks like d^-1/2 (RWMH), d^-1/3 (MALA), d^-1/4 (HMC),
  with optimal acceptances 0.234 and 0.574.
"""
from __future__ import annotations

import numpy as np
from scipy import linalg, optimize, special, stats

from .. import mcmc_scaling, samplers
from ..models.compose import Tempered
from ..models.gaussian import Gaussian, GaussianMixture
from ..models.mlp import MLPEnergy
from ..numerics.quadrature import adaptive_quad
from ..samplers import acceptance_probability, hmc, leapfrog, mala, ula_gaussian_covariance
from .registry import identity

_P = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.5]])
_H = 0.3


def _gaussian_3d():
    """The 3-D Gaussian with mean (1, −0.5, 0.2) and the dense precision _P."""
    return Gaussian(np.array([1.0, -0.5, 0.2]), _P)


def _mixture():
    covs = np.stack([np.array([[0.5, 0.2], [0.2, 0.4]]), 0.3 * np.eye(2)])
    return GaussianMixture(np.array([0.4, 0.6]), np.array([[-1.0, 0.0], [1.2, 0.5]]), covs)


def _quad(fn, a, b, epsrel=1e-12, epsabs=0.0):
    """∫_a^b fn(t) dt by adaptive quadrature (at most 500 subintervals)."""
    return adaptive_quad(fn, a, b, epsabs=epsabs, epsrel=epsrel, limit=500)[0]


# ------------------------------------------------- Metropolis–Hastings
@identity("mcmc: MH acceptance uses only energy differences (Z cancels)",
          step="min(1, p(y)/p(x)) = min(1, exp(-(E(y) - E(x)))) since log Z cancels",
          case="3-D Gaussian, normalized density from scipy.stats vs unnormalized energy, 200 pairs",
          tol=1e-12, reason="log-densities of moderate size; exp of differences agrees to rounding")
def _(rng):
    g = _gaussian_3d()
    x = g.sample(200, rng)
    y = x + 0.8 * rng.standard_normal(x.shape)
    dist = stats.multivariate_normal(g.mean, g.covariance)
    ratio = np.minimum(1.0, np.exp(dist.logpdf(y) - dist.logpdf(x)))
    return acceptance_probability(g, x, y), ratio


def _rw_log_q(y, x, h):
    """log N(y; x, h²I), the random-walk proposal of ``samplers.metropolis`` (y = x + hξ)."""
    d = x.shape[1]
    return -0.5 * np.sum((y - x) ** 2, axis=1) / h**2 - d * np.log(h) - 0.5 * d * np.log(2 * np.pi)


@identity("lecture: random-walk MH detailed balance p(x)q(y|x)α(x,y) = p(y)q(x|y)α(y,x), pointwise",
          step="α(x, y) = min(1, p(y)/p(x)) with symmetric q: both sides equal q(y|x)·min(p(x), p(y))",
          case="2-D tanh MLP energy (unnormalized, p ∝ e^{−E}) and a 2-D Gaussian mixture, 300 random pairs "
               "each, h = 0.8, α from samplers.acceptance_probability; compared in the log domain",
          tol=1e-12, reason="log-densities of size ≲ 20 summed: rounding ~1e-14")
def _(rng):
    mlp = MLPEnergy.init([2, 6], rng)
    mix = _mixture()
    h, left, right = 0.8, [], []
    for model in (mlp, mix):
        x = 1.5 * rng.standard_normal((300, 2))
        y = x + h * rng.standard_normal((300, 2))
        logp = lambda z: -model.energy(z)
        left.append(logp(x) + _rw_log_q(y, x, h) + np.log(samplers.acceptance_probability(model, x, y)))
        right.append(logp(y) + _rw_log_q(x, y, h) + np.log(samplers.acceptance_probability(model, y, x)))
    return np.concatenate(left), np.concatenate(right)


_MIX_1D = GaussianMixture(np.array([0.3, 0.7]), np.array([[-1.5], [1.5]]), np.array([[[0.49]], [[0.49]]]))
_N_CHAINS = 4000


@identity("lecture: MH at T = 1 samples p, not the minimum: P(x < 0) of the chains = exact mixture mass",
          step="πT = π for the MH kernel: after burn-in the chain's law is p = e^{−E}/Z, both modes visited",
          case="1-D mixture 0.3 N(−1.5, 0.7²) + 0.7 N(1.5, 0.7²), 4000 independent chains from x = 0, "
               "600 steps of samplers.metropolis, h = 1.5; left = z-score of the final states' fraction below 0",
          tol=4.0, reason="|z| ≤ 4 for a binomial proportion: false-positive rate 6e-5 (burn-in bias < 1e-6: the "
                          "chain mixes between modes in tens of steps)")
def _(rng):
    x = samplers.metropolis(_MIX_1D, np.zeros((_N_CHAINS, 1)), n_steps=600, step_size=1.5, rng=rng,
                            thin=600).samples[-1, :, 0]
    p0 = 0.3 * stats.norm.cdf(0.0, -1.5, 0.7) + 0.7 * stats.norm.cdf(0.0, 1.5, 0.7)
    z = (np.mean(x < 0) - p0) / np.sqrt(p0 * (1 - p0) / _N_CHAINS)
    return float(z), 0.0


@identity("lecture: annealed MH (T = 1 → 1/64) concentrates on argmin E: E[E(x) − E_min] = d T/2",
          step="the same MH kernel on E/T (models.Tempered) at decreasing T; at each T it samples p^{1/T}, which for a "
               "Gaussian is N(μ, TΣ): E − E_min = ½(x−μ)ᵀP(x−μ) ~ (T/2)χ²_d → 0 as T → 0",
          case="3-D Gaussian (dense P), 4000 chains from x = μ + 3, T halved 6 times from 1, 400 steps each, "
               "h = 0.8√T; left = z-score of the final mean of E − E_min against dT/2 (sd T√(d/2) per chain)",
          tol=4.0, reason="|z| ≤ 4: false-positive rate 6e-5; each stage starts at the previous T's law, within "
                          "~100 steps of equilibrium (contraction ≳ 0.03 per step)")
def _(rng):
    g = _gaussian_3d()
    x = np.tile(g.mean + 3.0, (_N_CHAINS, 1))
    T = 1.0
    for stage in range(7):
        T = 0.5**stage
        x = samplers.metropolis(Tempered(g, T), x, n_steps=400, step_size=0.8 * np.sqrt(T), rng=rng,
                                thin=400).samples[-1]
    excess = g.energy(x) - g.energy(g.mean[None])[0]
    d = g.dim
    z = (np.mean(excess) - d * T / 2) / (T * np.sqrt(d / 2) / np.sqrt(_N_CHAINS))
    return float(z), 0.0


# ------------------------------------------------- Langevin dynamics from the score
@identity("lecture: the Langevin step x' = x + h s(x) + √(2h)ξ needs only the score: exact moments on a Gaussian",
          step="with s(x) = −P(x − μ) the step is linear, x' − μ = A(x − μ) + √(2h)ξ with A = I − hP: after k steps "
               "from x₀ the state is N(μ + A^k(x₀ − μ), Σ_k), Σ_k = AΣ_{k−1}A + 2hI, Σ₀ = 0",
          case="2-D Gaussian (dense P), samplers.ula, 20000 chains from x₀ = (2, −1), k = 5, h = 0.2; left = z-scores of "
               "the two coordinate means and variances",
          tol=4.0, reason="|z| ≤ 4 for 4 scores of an exactly Gaussian state: false-positive rate ~2.5e-4")
def _(rng):
    g = Gaussian([0.5, -0.2], [[1.5, 0.4], [0.4, 0.8]])
    n, k, h = 20000, 5, 0.2
    x0 = np.array([2.0, -1.0])
    x = samplers.ula(g, np.tile(x0, (n, 1)), n_steps=k, step_size=h, rng=rng,
                     backend="numpy").samples[-1]                  # 5 steps: no kernel to compile
    A = np.eye(2) - h * g.precision
    m, S = x0 - g.mean, np.zeros((2, 2))
    for _ in range(k):
        m, S = A @ m, A @ S @ A.T + 2 * h * np.eye(2)
    m = m + g.mean
    var = np.diag(S)
    z_mean = (x.mean(axis=0) - m) / np.sqrt(var / n)
    z_var = (x.var(axis=0, ddof=1) - var) / (var * np.sqrt(2.0 / (n - 1)))
    return np.concatenate([z_mean, z_var]), np.zeros(4)


@identity("lecture: annealed Langevin on noise-conditional scores follows the exact linear recursion",
          step="target N(0, s₀²) smoothed by σ has score −x/(s₀² + σ²): each step x' = a x + √(2h)ξ, "
               "a = 1 − h/(s₀² + σ²), so Var' = a²Var + 2h exactly, level after level (h_i = ε σ_i²/σ_L²)",
          case="s₀ = 0.7, 6 levels σ = 3 … 0.05 (geometric), 7 steps each, ε = 2e-3, 20000 chains from N(0, 9); "
               "left = z-scores of the final mean and variance",
          tol=4.0, reason="|z| ≤ 4 for 2 scores of an exactly Gaussian state: false-positive rate ~1.3e-4")
def _(rng):
    s0, n, T, eps = 0.7, 20000, 7, 2e-3
    sigmas = np.geomspace(3.0, 0.05, 6)
    x0 = 3.0 * rng.standard_normal((n, 1))
    x = samplers.annealed_langevin(lambda y, s: -y / (s0**2 + s**2), x0, sigmas=sigmas, n_steps_each=T,
                                   step_lr=eps, rng=rng).samples[-1, :, 0]
    v = 9.0
    for s in sigmas:
        h = eps * s**2 / sigmas[-1] ** 2
        for _ in range(T):
            v = (1 - h / (s0**2 + s**2)) ** 2 * v + 2 * h
    return np.array([x.mean() / np.sqrt(v / n), (x.var(ddof=1) - v) / (v * np.sqrt(2.0 / (n - 1)))]), np.zeros(2)


# ------------------------------------------------- ULA's bias
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


#: 801 nodes, spacing 0.01: the narrowest kernel (ε = 0.0025, sd √(2ε) ≈ 0.07) spans 7 spacings per sd; on
#: 1601 nodes both identities below move by < 1e-11 (relative 7e-12, c₁ 5e-12), far inside their tolerances
_ULA_GRID = np.linspace(-4.0, 4.0, 801)


def _ula_stationary(grad_E, h, grid=_ULA_GRID):
    """Stationary law of ULA x' = x − h E'(x) + √(2h)ξ discretised on a grid: solve πK = π, Σπ = 1.

    K[i, j] ∝ N(x_j; x_i − h E'(x_i), 2h), each row normalized (the mass leaving [−4, 4] is < 1e-30).
    """
    mean = grid - h * grad_E(grid)
    logK = -((grid[None, :] - mean[:, None]) ** 2) / (4 * h)
    K = np.exp(logK - special.logsumexp(logK, axis=1, keepdims=True))
    A = K.T - np.eye(len(grid))
    A[-1] = 1.0
    rhs = np.zeros(len(grid))
    rhs[-1] = 1.0
    return np.linalg.solve(A, rhs)


@identity("lecture: ULA's discretised-kernel stationary law reproduces the Gaussian closed form s²/(1 − h/2s²)",
          step="the grid method (πK = π on 801 nodes) on a Gaussian, where the stationary variance is known",
          case="E = x²/2s², s² = 0.3, h = 0.02 and 0.05", tol=1e-9, kind="rel",
          reason="Gaussian kernel of sd √(2h) ≥ 0.2 sampled at spacing 0.01: the grid sums are spectrally accurate; "
                 "[−4, 4] is 7 sd wide (tail mass ~1e-12)")
def _(rng):
    s2 = 0.3
    left = []
    for h in (0.02, 0.05):
        pi = _ula_stationary(lambda x: x / s2, h)
        left.append(np.sum(pi * _ULA_GRID**2))
    return np.array(left), np.array([s2 / (1 - h / (2 * s2)) for h in (0.02, 0.05)])


def _ula_first_order_bias(E, b, db, ddb, F, lim=5.0):
    r"""c₁ in E_{π_ε}[F] − E_π[F] = c₁ε + O(ε²) for ULA with drift b = −E' in 1-D (π ∝ e^{−E}).

    Expanding one ULA step x' = x + εb + √(2ε)ξ: E f(x') = f + εLf + ε²Bf + O(ε³), with
    Lf = b f' + f'' and Bf = ½b²f'' + b f⁽³⁾ + ½f⁽⁴⁾ = ½L²f − g f' − b' f'', g = ½(bb' + b'').
    Writing π_ε = π(1 + εψ + …), stationarity at order ε² (∫π L(Lf) = 0, L self-adjoint in
    L²(π)) gives ∫π ψ Lf = ∫π (g f' + b' f'') for every f.  With φ solving Lφ = F − E_πF,
    in 1-D πφ' = ∫_{−∞}^x π(F − E_πF):

    .. math:: c_1 = \int\pi\psi F = \mathbb E_\pi\big[g\,\varphi' + b'\,\varphi''\big],\qquad
              \varphi'' = F - \mathbb E_\pi F - b\,\varphi'.

    π is normalized by quadrature on [−lim, lim]; the target must be negligible beyond.
    """
    q = lambda fn, a, c: _quad(fn, a, c, epsrel=1e-10, epsabs=1e-14)   # inner integrals cross 0: absolute floor
    Z = q(lambda t: np.exp(-E(t)), -lim, lim)
    pi = lambda t: np.exp(-E(t)) / Z
    m = q(lambda t: pi(t) * F(t), -lim, lim)

    def dphi(t):
        if t <= 0:
            return q(lambda u: pi(u) * (F(u) - m), -lim, t) / pi(t)
        return -q(lambda u: pi(u) * (F(u) - m), t, lim) / pi(t)

    def integrand(t):
        p1 = dphi(t)
        return pi(t) * (0.5 * (b(t) * db(t) + ddb(t)) * p1 + db(t) * (F(t) - m - b(t) * p1))

    return q(integrand, -lim, lim)


@identity("lecture: ULA is exact only as ε → 0: on E = x⁴/4 its bias in E[x²] is c₁ε + O(ε²), c₁ ≠ 0",
          step="π_ε = π(1 + εψ + O(ε²)) from the expansion of one ULA step (_ula_first_order_bias): the bias "
               "vanishes linearly in ε (b(ε)/b(ε/2) → 2) and no faster",
          case="E = x⁴/4 (non-Gaussian); π_ε by the discretised kernel on 801 nodes for ε = 0.01, 0.005, 0.0025; "
               "left = two Richardson steps on b(ε)/ε (removing the O(ε) and O(ε²) terms), right = c₁ by nested quadrature",
          tol=1e-5, reason="after two Richardson steps the remainder is O(ε³) ~ 1e-7 (the first step moves the value "
                           "by 5e-4, the second by 3e-6); nested quad at epsrel 1e-10, epsabs 1e-14")
def _(rng):
    grad = lambda x: x**3
    Z = _quad(lambda t: np.exp(-t**4 / 4), -np.inf, np.inf)
    m2 = _quad(lambda t: t * t * np.exp(-t**4 / 4), -np.inf, np.inf) / Z
    r = [(np.sum(_ula_stationary(grad, e) * _ULA_GRID**2) - m2) / e for e in (0.01, 0.005, 0.0025)]
    R1, R2 = 2 * r[1] - r[0], 2 * r[2] - r[1]
    c1 = _ula_first_order_bias(lambda t: t**4 / 4, lambda t: -t**3, lambda t: -3 * t**2, lambda t: -6 * t, lambda t: t * t)
    return (4 * R2 - R1) / 3, c1


# ------------------------------------------------- Hamiltonian Monte Carlo
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


# ------------------------------------------------- MCMC in high dimension
def _chi2_expect(fn, d):
    """E fn(r), r ~ χ²_d, by quadrature over r ∈ d ± 40√(2d) (beyond it the χ² mass is < 1e-300).

    The density is scipy.stats' formula, log f = (d/2 − 1) log r − r/2 − (d/2) log 2 − log Γ(d/2), written
    with ``scipy.special`` because the scalar integrand is called thousands of times and
    ``stats.chi2.pdf`` spends 30× the arithmetic on argument handling.
    """
    half = 40.0 * np.sqrt(2.0 * d) + 40.0
    log_norm = 0.5 * d * np.log(2.0) + special.gammaln(0.5 * d)
    return _quad(lambda r: np.exp(special.xlogy(0.5 * d - 1.0, r) - 0.5 * r - log_norm) * fn(r),
                 max(0.0, d - half), d + half)


def _rwmh_gaussian_acceptance(d, h):
    r"""Exact mean acceptance of random-walk MH at stationarity on N(0, I_d), step h.

    .. math:: \bar\alpha = \mathbb E_{r\sim\chi^2_d}\big[2\Phi(-h\sqrt r/2)\big],

    since given ‖ξ‖² = r, :math:`\log p(x) - \log p(x + h\xi) \sim \mathcal N(h^2r/2, h^2r)` and
    :math:`\mathbb E\min(1, e^{-\Delta}) = 2\Phi(-s/2)` for Δ ~ N(s²/2, s²).
    """
    return _chi2_expect(lambda r: 2 * special.ndtr(-h * np.sqrt(r) / 2), d)     # Φ = special.ndtr


def _rwmh_gaussian_lag1(d, h):
    r"""Exact lag-one autocorrelation of each coordinate of random-walk MH on N(0, I_d), step h.

    .. math:: \rho_1 = 1 - \tfrac12\,\mathbb E(x'_1 - x_1)^2
              = 1 - \frac{h^2}{2d}\,\mathbb E_{r\sim\chi^2_d}\big[r\,2\Phi(-h\sqrt r/2)\big]

    (stationarity with unit variance: E(x' − x)² = 2(1 − ρ₁); by symmetry the jump
    ξ₁² averages to ‖ξ‖²/d).
    """
    m = _chi2_expect(lambda r: r * 2 * special.ndtr(-h * np.sqrt(r) / 2), d)
    return 1.0 - h * h * m / (2 * d)


_ELL = 2.38


@identity("lecture: random-walk MH on N(0, I_d) slows down like d: d(1 − ρ₁) → ℓ²Φ(−ℓ/2) at h = ℓ/√d",
          step="exact ρ₁(d) by quadrature over χ²_d; the mean jump per coordinate shrinks like 1/d, so the "
               "autocorrelation time grows like d (Roberts, Gelman & Gilks 1997); at fixed h, ᾱ(d) → 0",
          case="ℓ = 2.38; left = (d(1 − ρ₁) at d = 10⁵, ᾱ(d) at d = 10⁵, ᾱ at fixed h = 0.5 for d = 10⁴); "
               "right = (ℓ²Φ(−ℓ/2), 2Φ(−ℓ/2), 0)",
          tol=2e-3, reason="E g(r/d) − g(1) ≈ g''(1) Var(r/d)/2 = g''(1)/d with |g''| ≲ 2: ~2e-5 at d = 10⁵; "
                           "ᾱ at h = 0.5, d = 10⁴ is 2Φ(−25) ~ 1e-137")
def _(rng):
    d = 10**5
    h = _ELL / np.sqrt(d)
    left = [d * (1 - _rwmh_gaussian_lag1(d, h)), _rwmh_gaussian_acceptance(d, h), _rwmh_gaussian_acceptance(10**4, 0.5)]
    right = [_ELL**2 * stats.norm.cdf(-_ELL / 2), 2 * stats.norm.cdf(-_ELL / 2), 0.0]
    return np.array(left), np.array(right)


@identity("lecture: samplers.metropolis on N(0, I_d) has the exact lag-one autocorrelation and acceptance",
          step="ρ₁(d, h) and ᾱ(d, h) by quadrature (_rwmh_gaussian_lag1/_acceptance) vs the sampler's chains",
          case="d = 2, 8, 32, h = 2.38/√d, 3000 chains started from exact N(0, I) draws, 2 steps; "
               "left = z-scores of mean x_t·x_{t+1} (per chain, averaged over coordinates) and of the acceptance rate",
          tol=4.0, reason="|z| ≤ 4 with standard errors over independent chains: false-positive rate ~4e-4 for 6 scores")
def _(rng):
    zs = []
    n = 3000
    for d in (2, 8, 32):
        h = _ELL / np.sqrt(d)
        x0 = rng.standard_normal((n, d))
        ch = samplers.metropolis(Gaussian(np.zeros(d), np.eye(d)), x0, n_steps=1, step_size=h, rng=rng,
                                 backend="numpy")    # one step: the NumPy step, no kernel to compile
        x1 = ch.samples[-1]
        prod = np.mean(x0 * x1, axis=1)
        moved = np.any(x1 != x0, axis=1).astype(float)
        for est, exact in ((prod, _rwmh_gaussian_lag1(d, h)), (moved, _rwmh_gaussian_acceptance(d, h))):
            zs.append((est.mean() - exact) / (est.std(ddof=1) / np.sqrt(n)))
    return np.array(zs), np.zeros(len(zs))


@identity("mcmc scaling: E[acceptance ratio] = 1 at stationarity, (1-2 l1)(1-2 l2) = 1",
          step="E e^Λ = ∫ π(y)q(x|y) dx dy = 1, and E e^{zᵀMz} = det(I − 2M)^{−1/2} per coordinate",
          case="the 2×2 forms of RWMH (h = 0.9), MALA (h = 0.4), HMC (ε = 0.5, L = 6) on N(0, I)",
          tol=1e-13, reason="a 2×2 determinant of O(1) numbers")
def _(rng):
    dets = [np.linalg.det(np.eye(2) - 2 * mcmc_scaling.log_ratio_form(m, h, L))
            for m, h, L in [("rwmh", 0.9, 1), ("mala", 0.4, 1), ("hmc", 0.5, 6)]]
    return np.array(dets), np.ones(3)


@identity("mcmc scaling: exact acceptance on N(0, I_50) = the samplers' measured rate (max |z|)",
          step="a(h, d) = E min(1, e^{λ₁U + λ₂V}), U, V ~ χ²_d: one quadrature",
          case="d = 50, 20000 chains started from exact draws, one step each of samplers.metropolis, "
               "samplers.mala, samplers.hmc (L = 4), steps 2.38/√d, d^{-1/3}, d^{-1/4}",
          tol=4.5, reason="each rate is a mean of 20000 independent Bernoullis; P(max of 3 |z| > 4.5) < 3·6.8e-6")
def _(rng):
    d, n = 50, 20000
    g = Gaussian(np.zeros(d), np.eye(d))
    runs = [("rwmh", 2.38 / np.sqrt(d), 1, samplers.metropolis), ("mala", d ** (-1 / 3), 1, samplers.mala),
            ("hmc", d ** (-1 / 4), 4, samplers.hmc)]
    z = []
    for method, h, L, run in runs:
        extra = {"n_leapfrog": L} if method == "hmc" else {}
        ch = run(g, rng.standard_normal((n, d)), 1, rng, step_size=h, backend="numpy", **extra)
        a = mcmc_scaling.expected_acceptance(method, h, d, L)
        z.append((ch.accept_rate.mean() - a) / np.sqrt(a * (1 - a) / n))
    return float(np.max(np.abs(z))), 0.0


@identity("mcmc scaling: at fixed acceptance the step scales as d^-1/2 (RWMH sd), d^-1/3 (MALA), d^-1/4 (HMC)",
          step="Var of the per-coordinate log ratio ∝ h², h³, ε⁴ ⇒ d ∝ h^{−2}, h^{−3}, ε^{−4} at fixed a",
          case="the dimension d giving acceptance 1/2 at steps 2/32 and 2/64 (HMC path length 2), exact formula",
          tol=0.01, reason="the next-order terms are relatively O(step²) and shift a log-log slope by < 0.01 at these steps")
def _(rng):
    slopes = []
    for method, L1, L2 in [("rwmh", 1, 1), ("mala", 1, 1), ("hmc", 32, 64)]:
        d1 = mcmc_scaling.dimension_for_acceptance(method, 2 / 32, 0.5, L1)
        d2 = mcmc_scaling.dimension_for_acceptance(method, 2 / 64, 0.5, L2)
        slopes.append(np.log(d2 / d1) / np.log(2.0))
    return np.array(slopes), np.array([2.0, 3.0, 4.0])


@identity("mcmc scaling: optimal acceptance 0.234 (RWMH), 0.574 (MALA) maximizing exact efficiency at d = 1e6",
          step="maximize ℓ^p·a(ℓ) ⇒ (p/q)Φ(−z) = zφ(z), a* = 2Φ(−z)",
          case="RWMH h = ℓ/√d, MALA h = ℓ²/d^{1/3} at d = 10⁶: exact a(ℓ) maximized numerically vs the limit root",
          tol=2e-3, reason="a(ℓ, d) differs from its limit by O(d^{-1/3}) for MALA and O(d^{-1/2}) for RWMH, below 1e-3 at d = 1e6")
def _(rng):
    d = 1e6
    left = []
    for method, step in [("rwmh", lambda l: l / np.sqrt(d)), ("mala", lambda l: l**2 / d ** (1 / 3))]:
        res = optimize.minimize_scalar(lambda l: -l**2 * mcmc_scaling.expected_acceptance(method, step(l), d),
                                       bounds=(0.3, 5.0), method="bounded", options={"xatol": 1e-6})
        left.append(mcmc_scaling.expected_acceptance(method, step(res.x), d))
    return np.array(left), np.array([mcmc_scaling.optimal_limit_acceptance(m) for m in ("rwmh", "mala")])
