"""Identities of note 07 (score matching, step by step, and its variants) and note 12 (score
networks).

In the order below:

* **the score** — s = −∇E is ∇log p of the normalized density (∇ log Z = 0), for a Gaussian
  and for an MLP energy normalized by quadrature; it points toward higher density
  (⟨s, ∇p⟩ = p‖s‖² ≥ 0), and a small step along it raises p;
* **the Fisher divergence** — over a Gaussian family it vanishes only at the true parameter,
  but it can vanish between two different densities whose supports differ;
* **the derivation chain** — Fisher divergence = expanded square = integrated by parts =
  E_p[Hyvärinen's pointwise objective] + a constant of the data, in 1-D and 2-D; the sample
  objective in closed form; on [0, ∞) the boundary term that integration by parts leaves;
* **Gaussian data** — the score-matching estimate is the MLE (closed form, vanishing gradient,
  gradient descent);
* **the cost of the trace, and sliced score matching** — multiply–adds of tr ∇²E grow like d²
  (full Hessian), d (forward Laplacian), one pass per projection (sliced), the three routes
  give the same trace, and sliced SM with projections whose E[vvᵀ] = I exactly is exact SM;
* **denoising score matching** — its loss is explicit SM on the smoothed density plus a
  constant (Gaussian and mixture data), and an energy blind to σ fitted at several σ settles
  on a compromise that is the score of no level;
* **non-negative data** — the weighted (x²) variant against its Fisher divergence, and its
  estimate of a Gamma = the moment estimator;
* **ratio matching** on binary data — the divergence expanded, its symmetric cross term, its
  sample loss, and its consistency;
* **score networks** — a network that outputs the score directly: the DSM identity holds for a
  non-gradient field too, its circulation around a loop is the flux of its curl (Stokes:
  nonzero means it is the score of no density), and an energy's score has zero circulation.
"""
from __future__ import annotations

import numpy as np
from scipy import linalg, special, stats

from .. import train, vector_fields
from ..energy import Energy
from ..models import Gaussian, GaussianMixture, MLPEnergy
from ..models.expfam import ExpFamEnergy, Exponential
from ..models.mlp import MLPMap
from ..models.score_network import ScoreNetwork
from ..numerics.opcount import MultiplyAddCounter
from ..numerics.optimize import minimize_lbfgs
from ..numerics.quadrature import adaptive_quad
from ..objectives import score_matching as sm
from .registry import identity


#: 1-D adaptive quadrature at epsrel 1e-12 of smooth integrands of size O(1).
TOL_QUAD_1D = 1e-10
#: 200 × 200 Gauss–Legendre on a box holding the Gaussian mass to 1e-20: rounding-level error.
TOL_QUAD_2D = 1e-10
#: enumeration of 2^d states: sums of 16–32 O(1) terms in float64.
TOL_ENUM = 1e-13
#: both sides are a few float64 operations on the same O(1) numbers.
TOL_ALGEBRA = 1e-12
#: a linear solve (Lyapunov / inverse) of a well-conditioned 3×3 system, relative.
TOL_SOLVE = 1e-8
#: gradient descent stopped when the gradient norm is below 1e-12; the distance to the
#: optimum is then below 1e-12 / (smallest curvature ~0.1).
TOL_DESCENT = 1e-8

BOX_1D = [(-14.0, 14.0)]


def _mixture_1d():
    return GaussianMixture([0.35, 0.65], [[-1.2], [0.9]], [[[0.4]], [[0.7]]])


def _model_1d():
    return GaussianMixture([0.5, 0.5], [[-0.5], [1.5]], [[[1.0]], [[0.5]]])


def _quad(fn, a, b):
    """∫_a^b fn(t) dt by adaptive quadrature (relative accuracy 1e-12, at most 500 subintervals)."""
    return adaptive_quad(fn, a, b, epsabs=0.0, epsrel=1e-12, limit=500)[0]


def _richardson(f, x, v, h=1e-3):
    """Fourth-order central difference of f along v: (8(f₊₁ − f₋₁) − (f₊₂ − f₋₂)) / 12h."""
    return (8 * (f(x + h * v) - f(x - h * v)) - (f(x + 2 * h * v) - f(x - 2 * h * v))) / (12 * h)


# --------------------------------------------------------- the score
@identity("lecture: score −∇E = ∇ log p of the normalized density (log Z ≠ 0)",
          step="s(x) = ∇ₓ log p = ∇ₓ(−E − log Z) = −∇ₓE since ∇ₓ log Z = 0",
          case="3-D Gaussian (log Z = 1.85), −∇E vs Richardson differences of scipy's normalized logpdf, 50 points",
          tol=1e-8, reason="4th-order differences with h = 1e-3: truncation ~h⁴|∂⁵ log p| = 0 for a quadratic, "
                           "rounding ~1e-16·|log p|/h ~ 1e-12")
def _(rng):
    g = Gaussian([1.0, -0.5, 0.2], [[2.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.5]])
    assert abs(g.log_partition()) > 1.0
    x = g.sample(50, rng)
    logp = stats.multivariate_normal(g.mean, g.covariance).logpdf
    fd = np.stack([[_richardson(logp, xi, e) for e in np.eye(3)] for xi in x])
    return g.score(x), fd


@identity("lecture: score of an MLP energy = ∇ log p normalized by quadrature",
          step="log p = −E − log Z with log Z = log ∫ e^{−E} dx ≠ 0; d/dx log p = −E'(x)",
          case="1-D tanh MLP (3 hidden units) times a Gaussian factor, log Z by quad on [−12, 12], 30 points",
          tol=1e-7, reason="quad at epsrel 1e-12; Richardson differences of a smooth log p, h = 1e-3: "
                           "truncation ~h⁴|∂⁵ log p| ≲ 1e-10")
def _(rng):
    mlp = MLPEnergy.from_params({"W1": np.array([[1.5], [-0.8], [0.6]]), "b1": np.array([0.3, -0.2, 1.0]),
                                 "W2": np.array([[1.2, -0.7, 0.9]]), "b2": np.array([0.4])})
    E = lambda t: mlp.energy(np.atleast_1d(t)[:, None]) + 0.5 * np.atleast_1d(t) ** 2
    log_z = np.log(_quad(lambda t: float(np.exp(-E(t))[0]), -12.0, 12.0))
    assert abs(log_z) > 0.1
    logp = lambda t: -E(t) - log_z                                  # the normalized log density
    x = rng.uniform(-3.0, 3.0, size=30)
    fd = _richardson(logp, x, 1.0)
    score = mlp.score(x[:, None])[:, 0] - x                         # −∇E of E_mlp + x²/2
    return score, fd


_COVS = np.stack([np.array([[0.5, 0.2], [0.2, 0.4]]), 0.3 * np.eye(2)])


def _mixture_2d():
    return GaussianMixture(np.array([0.4, 0.6]), np.array([[-1.0, 0.0], [1.2, 0.5]]), _COVS)


@identity("lecture: ⟨s, ∇p⟩ = p‖s‖² ≥ 0 (the score points toward higher density)",
          step="∇p = p ∇log p = p s  ⇒  ⟨s, ∇p⟩ = p‖s‖² ≥ 0, zero only where s = 0",
          case="2-D Gaussian mixture, ∇p by Richardson differences of p = exp(log p), 200 points",
          tol=1e-9, reason="p ≤ 0.6 and smooth: 4th-order differences with h = 1e-3 err ~1e-12 per entry")
def _(rng):
    m = _mixture_2d()
    x = m.sample(200, rng)
    p = lambda y: np.exp(m.log_prob(y))
    grad_p = np.stack([_richardson(p, x, np.broadcast_to(e, x.shape)) for e in np.eye(2)], axis=1)
    s = m.score(x)
    return np.sum(s * grad_p, axis=1), p(x) * np.sum(s * s, axis=1)


@identity("lecture: a step x + εs along the score raises p, for ε < 2/λmax",
          step="log p(x + εs) − log p(x) ≥ ε‖s‖²(1 − ελmax/2) > 0, λmax ≥ the largest eigenvalue of ∇²E",
          case="2-D Gaussian mixture, ∇²E ≤ max component precision = λmax, ε = 0.5/λmax, 500 points; "
               "left = number of points where p did not rise",
          tol=0.5, reason="a count: 0 expected exactly (Taylor with the global Hessian bound), 0.5 separates 0 from 1")
def _(rng):
    m = _mixture_2d()
    lam = max(np.linalg.eigvalsh(np.linalg.inv(c)).max() for c in _COVS)
    eps = 0.5 / lam
    x = m.sample(500, rng)
    rose = m.log_prob(x + eps * m.score(x)) > m.log_prob(x)
    return float(np.sum(~rose)), 0.0


# --------------------------------------------------------- the Fisher divergence
@identity("lecture: Fisher divergence over a Gaussian family vanishes only at the true θ",
          step="F(θ) = ½E_p[((λ−λ₀)x + λ₀μ₀ − λμ)²] = ½[a²(1/λ₀ + μ₀²) + 2abμ₀ + b²] = 0 ⇔ a = b = 0 ⇔ θ = θ₀",
          case="p = N(0.7, 1/1.6), model N(μ, 1/λ) on a 5×5 grid holding θ₀; quadrature vs closed form, "
               "and the grid's zeros (last entry: number of grid points with F < 1e-12, expected 1)",
          tol=1e-9, reason="adaptive quad at epsrel 1e-12 of a smooth integrand on [−12, 12]")
def _(rng):
    mu0, lam0 = 0.7, 1.6
    p = Gaussian([mu0], [[lam0]])
    left, right = [], []
    for mu in np.linspace(mu0 - 1.0, mu0 + 1.0, 5):
        for lam in np.linspace(lam0 - 0.8, lam0 + 0.8, 5):
            a, b = lam - lam0, lam0 * mu0 - lam * mu
            left.append(sm.fisher_divergence(p, Gaussian([mu], [[lam]]), [(-12.0, 12.0)]))
            right.append(0.5 * (a * a * (1.0 / lam0 + mu0**2) + 2 * a * b * mu0 + b * b))
    left, right = np.array(left), np.array(right)
    return np.append(left, np.sum(left < 1e-12)), np.append(right, 1.0)


class _Laplace(Energy):
    """E(x) = |x| on ℝ (Laplace(0, 1), log Z = log 2): on x > 0 its score is −1, as Exponential(1)'s."""

    supports_complex_step = False

    def __init__(self):
        super().__init__(1, {})

    def _energy(self, x):
        return np.abs(x[:, 0])

    def _grad_x(self, x):
        return np.sign(x)

    def log_partition(self):
        return float(np.log(2.0))


@identity("lecture: Fisher divergence 0 but p ≠ q when the supports differ",
          step="on supp p = (0, ∞) the scores of Exponential(1) and Laplace(0, 1) are both −1, so F = 0; "
               "yet q = p/2 there: 'F = 0 ⇒ p = q' needs q's support to be p's (connected)",
          case="p = Exponential(1) (ExpFamEnergy), q = Laplace(0, 1); left = (F by quad on (1e-13, 60), log p(1) − log q(1))",
          tol=1e-12, reason="the integrand is exactly 0; log densities of moderate size agree to rounding")
def _(rng):
    p, q = ExpFamEnergy([-1.0], family=Exponential), _Laplace()
    x1 = np.array([[1.0]])
    return np.array([sm.fisher_divergence(p, q, [(1e-13, 60.0)]),
                     float(p.log_prob(x1)[0] - (-q.energy(x1)[0] - q.log_partition()))]), np.array([0.0, np.log(2.0)])


# --------------------------------------------------------- the derivation chain
@identity("score matching: Fisher divergence = expanded square (1-D)",
          step="½E_p‖∇log p − ∇log p_θ‖² = ½E_p‖∇log p‖² + E_p[∇log p·∇E_θ] + ½E_p‖∇E_θ‖²",
          case="data: 1-D two-component mixture; model: another mixture; quad on [-14, 14]",
          tol=TOL_QUAD_1D, reason="adaptive quad at epsrel 1e-12 on smooth O(1) integrands")
def _(rng):
    p, m = _mixture_1d(), _model_1d()
    return sm.fisher_divergence(p, m, BOX_1D), sm.fisher_divergence_expanded(p, m, BOX_1D)


@identity("score matching: expanded square = integrated by parts + C_p (1-D)",
          step="E_p[∇log p·∇E_θ] = ∫∇p·∇E_θ = −E_p[tr∇²E_θ] (boundary term p·E_θ' → 0)",
          case="data: 1-D mixture; model: mixture; quad on [-14, 14] (boundary term ~1e-40)",
          tol=TOL_QUAD_1D, reason="adaptive quad at epsrel 1e-12; the dropped boundary term is below 1e-30")
def _(rng):
    p, m = _mixture_1d(), _model_1d()
    return sm.fisher_divergence_expanded(p, m, BOX_1D), sm.fisher_divergence_by_parts(p, m, BOX_1D)


@identity("score matching: integrated by parts = E_p[Hyvärinen pointwise] + C_p (1-D)",
          step="F = E_p[½‖∇ₓE‖² − tr∇²ₓE] + ½E_p‖∇log p‖²",
          case="data: 1-D mixture; model: mixture; the pointwise objective integrated by quad",
          tol=TOL_QUAD_1D, reason="adaptive quad at epsrel 1e-12")
def _(rng):
    p, m = _mixture_1d(), _model_1d()
    return sm.fisher_divergence_by_parts(p, m, BOX_1D), sm.hyvarinen_expectation(p, m, BOX_1D) + sm.data_constant(p, BOX_1D)


@identity("score matching: Fisher divergence = by parts (2-D)",
          step="multivariate integration by parts: ∫∇p·∇E_θ = −∫p ΔE_θ",
          case="data: correlated 2-D Gaussian; model: 2-D Gaussian; 200² Gauss–Legendre on [-12, 12]²",
          tol=TOL_QUAD_2D, reason="tensor Gauss–Legendre is exact to rounding for Gaussian-times-polynomial on a box holding the mass")
def _(rng):
    p = Gaussian([0.3, -0.5], [[1.5, 0.6], [0.6, 1.2]])
    m = Gaussian([-0.2, 0.1], [[0.8, -0.2], [-0.2, 2.0]])
    box = [(-12.0, 12.0), (-12.0, 12.0)]
    return sm.fisher_divergence(p, m, box), sm.fisher_divergence_by_parts(p, m, box)


@identity("score matching: Hyvärinen objective on a sample = closed form in sample moments",
          step="J = (1/n)Σ ½‖P(x−μ)‖² − tr P = ½tr(P Ŝ P) + ½‖P(x̄−μ)‖² − tr P",
          case="Gaussian model (d = 3), 50 standard-normal points",
          tol=TOL_ALGEBRA, reason="two float64 evaluations of one quadratic form")
def _(rng):
    x = rng.standard_normal((50, 3))
    A = rng.standard_normal((3, 3))
    P = A @ A.T + np.eye(3)
    mu = rng.standard_normal(3)
    S = np.cov(x.T, bias=True)
    r = x.mean(axis=0) - mu
    closed = 0.5 * np.trace(P @ S @ P) + 0.5 * r @ P @ P @ r - np.trace(P)
    return sm.hyvarinen_objective(Gaussian(mu, P), x), closed


@identity("score matching: on [0,∞) by parts misses the boundary term p(0)E'(0)",
          step="∫_0^∞ p'E' = [pE']_0^∞ − ∫p E''; with p(0) > 0 the bracket is −p(0)E'(0) ≠ 0",
          case="Exponential(rate 1.5) data, Gaussian model N(0.4, 1/0.9); F vs by-parts + boundary on (1e-13, 60)",
          tol=TOL_QUAD_1D, reason="adaptive quad at epsrel 1e-12; the lower end 1e-13 changes the bracket by ~1e-13")
def _(rng):
    from ..models.expfam import Exponential, ExpFamEnergy

    p = ExpFamEnergy([-1.5], family=Exponential)
    m = Gaussian([0.4], [[0.9]])
    box = [(1e-13, 60.0)]
    return sm.fisher_divergence(p, m, box), sm.fisher_divergence_by_parts(p, m, box) + sm.boundary_term(p, m, box)


# --------------------------------------------------- Gaussian: SM estimate = MLE
def _gaussian_data(rng, n=400):
    L = np.array([[1.0, 0.0, 0.0], [0.5, 0.8, 0.0], [-0.3, 0.2, 0.6]])
    return rng.standard_normal((n, 3)) @ L.T + np.array([0.3, -0.5, 0.2])


@identity("score matching: Gaussian SM stationary point = MLE (closed form)",
          step="∂J/∂μ = 0 ⇒ μ = x̄; ∂J/∂P = ½(ŜP + PŜ) − I = 0 (Lyapunov) ⇒ P = Ŝ⁻¹",
          case="400 points of a correlated 3-D Gaussian; Lyapunov solve vs inverse sample covariance",
          tol=TOL_SOLVE, reason="two solves of a well-conditioned 3×3 problem agree to ~1e-14; 1e-8 leaves six orders of margin", kind="rel")
def _(rng):
    x = _gaussian_data(rng)
    xbar = x.mean(axis=0)
    S = np.cov(x.T, bias=True)
    P_sm = linalg.solve_continuous_lyapunov(S, 2.0 * np.eye(3))       # S P + P S = 2I
    left = np.concatenate([xbar, P_sm.ravel()])
    right = np.concatenate([xbar, np.linalg.inv(S).ravel()])
    return left, right


@identity("score matching: SM gradient vanishes at the Gaussian MLE",
          step="∇θJ through grad_params_dot_grad_x and grad_params_laplacian is 0 at (x̄, Ŝ⁻¹)",
          case="400 points of a correlated 3-D Gaussian",
          tol=TOL_ALGEBRA * 100, reason="a sum over 400 points of O(1) terms cancelling to zero: ~1e-13")
def _(rng):
    x = _gaussian_data(rng)
    g = Gaussian(x.mean(axis=0), np.linalg.inv(np.cov(x.T, bias=True)))
    grads = sm.loss(g, x)[1]
    flat = np.concatenate([v.ravel() for v in grads.values()])
    return flat, np.zeros_like(flat)


@identity("score matching: gradient descent on the SM loss reaches the MLE",
          step="minimize J(μ, P) by full-batch gradient descent from (0, I)",
          case="400 points of a correlated 3-D Gaussian; SGD lr 0.1, momentum 0.5, 2000 steps",
          tol=TOL_DESCENT, reason="linear convergence; the final gradient norm is ~1e-14")
def _(rng):
    x = _gaussian_data(rng)
    start = Gaussian(np.zeros(3), np.eye(3))
    fitted, _ = train.fit(start, x, sm.objective("exact"), train.SGD(0.1, momentum=0.5), 2000, rng)
    left = np.concatenate([fitted.mean, fitted.precision.ravel()])
    right = np.concatenate([x.mean(axis=0), np.linalg.inv(np.cov(x.T, bias=True)).ravel()])
    return left, right


# ----------------------------------------------- the cost of the trace, and sliced SM
_WIDTHS = (8, 6)
_DIMS = tuple(range(2, 10))


def _net(d, rng):
    sizes = (d,) + _WIDTHS + (1,)
    Ws = [rng.standard_normal((sizes[i + 1], sizes[i])) for i in range(len(sizes) - 1)]
    bs = [rng.standard_normal(sizes[i + 1]) for i in range(len(sizes) - 1)]
    return MLPMap(Ws, bs, "tanh")


def _degree(counts) -> int:
    """Polynomial degree of an integer sequence on consecutive d: the k with Δ^k constant ≠ 0."""
    c = np.asarray(counts, dtype=np.int64)
    for k in range(len(c) - 1):
        if np.all(c == c[0]):
            return k if c[0] != 0 else k - 1
        c = np.diff(c)
    raise ValueError("counts: too few points to decide the degree")


def trace_costs(d, rng, n_projections=(1, 2, 3)):
    """Multiply–adds for one point: (full Hessian trace, forward Laplacian, sliced per K, one forward pass)."""
    net = _net(d, rng)
    c = MultiplyAddCounter()
    x = rng.standard_normal((1, d))
    hess = c.measure(lambda X: np.trace(net.hessian_contract(X, np.ones((1, 1))), axis1=1, axis2=2), c.wrap(x))
    flap = c.measure(net.forward_laplacian, c.wrap(x))
    sliced = [c.measure(net.tangent_forward, c.wrap(x), c.wrap(rng.standard_normal((1, k, d)))) for k in n_projections]
    fwd = c.measure(net, c.wrap(x))
    return hess, flap, sliced, fwd


@identity("lecture: multiply–adds of tr ∇²E grow like d² (Hessian), d (forward Laplacian), 1 pass per projection (sliced)",
          step="full Hessian: Σ_l J_{a_l}ᵀ diag(·) J_{a_l} costs ~d²h; forward Laplacian carries d tangents, ~d·h₁h₂; "
               "sliced: one tangent per projection v, vᵀ∇²E v for the cost of ~one forward pass (~d·h₁)",
          case="tanh MLP d → 8 → 6 → 1, one point, d = 2..9, exact counts by ebm_ref.opcount; left = (degree in d of: "
               "Hessian route, forward Laplacian, sliced cost per projection, forward pass; second difference in K "
               "of the sliced cost, K = 1, 2, 3)",
          tol=0.5, reason="integers from exact integer counts; 0.5 separates consecutive integers")
def _(rng):
    costs = [trace_costs(d, rng) for d in _DIMS]
    hess = [c[0] for c in costs]
    flap = [c[1] for c in costs]
    per_projection = [c[2][1] - c[2][0] for c in costs]
    fwd = [c[3] for c in costs]
    second_diff_k = max(abs(c[2][2] - 2 * c[2][1] + c[2][0]) for c in costs)
    left = [_degree(hess), _degree(flap), _degree(per_projection), _degree(fwd), second_diff_k]
    return np.array(left, dtype=float), np.array([2.0, 1.0, 1.0, 1.0, 0.0])


@identity("lecture: the three trace routes compute the same tr ∇²E",
          step="tr(Hessian) = forward Laplacian = E_v[vᵀ∇²E v] with the d projections √d e_i (Σ_i v_ivᵢᵀ/d = I)",
          case="tanh MLP 6 → 8 → 6 → 1, 5 points", tol=1e-11, kind="rel",
          reason="three exact computations in floating point; sums of ~d·h terms of size ~1 agree to rounding")
def _(rng):
    d = 6
    net = _net(d, rng)
    x = rng.standard_normal((5, d))
    hess = np.trace(net.hessian_contract(x, np.ones((5, 1))), axis1=1, axis2=2)
    flap = net.forward_laplacian(x)[1][:, 0]
    V = np.broadcast_to(np.sqrt(d) * np.eye(d), (5, d, d))
    sliced = net.tangent_forward(x, V)[2][:, 0] / d
    return np.concatenate([hess, flap]), np.concatenate([sliced, sliced])


def _flat(value, grads):
    return np.concatenate([[value]] + [np.ravel(v) for v in grads.values()])


@identity("score matching: sliced with v ∈ {√d e_i} = exact SM (loss and grads)",
          step="E_v[(vᵀg)²] = ‖g‖², E_v[vᵀHv] = tr H when E[vvᵀ] = I exactly",
          case="2-D Gaussian model, 30 points; the d projections √d·e_i, equally weighted",
          tol=TOL_ALGEBRA, reason="the same sums regrouped in float64")
def _(rng):
    m = Gaussian([0.2, -0.3], [[1.3, 0.4], [0.4, 0.9]])
    x = rng.standard_normal((30, 2))
    V = np.sqrt(2.0) * np.eye(2)
    return _flat(*sm.sliced_loss(m, x, projections=V)), _flat(*sm.loss(m, x))


@identity("score matching: sliced over all 2^d Rademacher projections = exact SM",
          step="the uniform distribution on {±1}^d has E[vvᵀ] = I exactly",
          case="3-D Gaussian model, 20 points, all 8 sign vectors",
          tol=TOL_ALGEBRA, reason="the same sums regrouped in float64")
def _(rng):
    A = rng.standard_normal((3, 3))
    m = Gaussian(rng.standard_normal(3), A @ A.T + np.eye(3))
    x = rng.standard_normal((20, 3))
    V = np.array([[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)], dtype=float)
    return _flat(*sm.sliced_loss(m, x, projections=V)), _flat(*sm.loss(m, x))


# ---------------------------------------------------------------- denoising SM
def _dsm_sides(p, m, sigma):
    """The two sides of E[DSM loss] = F(q_σ‖p_θ) + const, q_σ = p smoothed by N(0, σ²) (1-D, by quadrature)."""
    q = sm.smoothed(p, sigma)
    left = sm.denoising_expectation(p, m, sigma, BOX_1D)
    right = sm.fisher_divergence(q, m, BOX_1D) + sm.denoising_constant(q, sigma, BOX_1D)
    return left, right


@identity("score matching: denoising = explicit SM on the smoothed density + constant (Gaussian)",
          step="E½‖s_θ(x̃) + (x̃−x)/σ²‖² = ½E_{q_σ}‖s_θ − ∇log q_σ‖² + d/(2σ²) − ½E_{q_σ}‖∇log q_σ‖²",
          case="data N(0.5, 0.8²), model N(−0.3, 1/1.7), σ = 0.6; q_σ = N(0.5, 0.8² + 0.6²)",
          tol=TOL_QUAD_1D, reason="quad at epsrel 1e-12 outside, Gauss–Hermite (exact for polynomials) inside")
def _(rng):
    p = Gaussian([0.5], [[1.0 / 0.64]])
    m = Gaussian([-0.3], [[1.7]])
    sigma = 0.6
    return _dsm_sides(p, m, sigma)


@identity("score matching: denoising = explicit SM on the smoothed density + constant (mixture)",
          step="the same identity with a non-Gaussian data density and model",
          case="data: 1-D two-component mixture, model: another mixture, σ = 0.4",
          tol=1e-9, reason="quad at epsrel 1e-12 outside; 120-node Gauss–Hermite on a smooth non-polynomial integrand (~1e-11)")
def _(rng):
    p, m = _mixture_1d(), _model_1d()
    sigma = 0.4
    return _dsm_sides(p, m, sigma)


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


# ------------------------------------------------------ non-negative data (Gamma)
def _gamma_energy(shape, rate):
    from ..models.expfam import ExpFamEnergy, Gamma

    return ExpFamEnergy([shape, -rate], family=Gamma)


@identity("score matching: non-negative variant = weighted Fisher divergence − const",
          step="½E_pΣ x_i²(ψ_i − ∂_i log p)² = E_p[Σ 2x_iψ_i + x_i²∂_iψ_i + ½x_i²ψ_i²] + ½E_pΣ x_i²(∂_i log p)²",
          case="Exponential(rate 1.5) data (p(0) > 0), Gamma(2.5, 1.2) model; quad on (1e-13, 60)",
          tol=TOL_QUAD_1D, reason="adaptive quad at epsrel 1e-12; x² kills the boundary term at 0")
def _(rng):
    from ..models.expfam import Exponential, ExpFamEnergy

    p = ExpFamEnergy([-1.5], family=Exponential)
    m = _gamma_energy(2.5, 1.2)
    box = [(1e-13, 60.0)]
    left = sm._expect(p, lambda x: 0.5 * np.sum(x * x * (p.score(x) - m.score(x)) ** 2, axis=1), box)
    right = (sm._expect(p, lambda x: sm.nonnegative_pointwise(m, x), box)
             + sm._expect(p, lambda x: 0.5 * np.sum(x * x * p.score(x) ** 2, axis=1), box))
    return left, right


def _newton_quadratic(loss_fn, model):
    """Minimize a loss that is quadratic in the flat parameters (exact in one Newton step)."""
    from .. import params as P

    theta = P.flatten(model.params)

    def grad(t):
        return P.flatten(loss_fn(model.with_params(P.unflatten(t, model.params)))[1])

    g0 = grad(theta)
    h = 0.1   # the gradient is affine in θ: a finite step is exact (kept small to stay in the domain)
    H = np.column_stack([(grad(theta + h * e) - g0) / h for e in np.eye(theta.size)])
    return theta - np.linalg.solve(H, g0)


@identity("score matching: non-negative SM estimate of a Gamma = moment estimator",
          step="J(a, β) = E[(α−1) − 2βx + ½(βx − (α−1))²] ⇒ β̂ = x̄/s², α̂ = x̄²/s²",
          case="2000 draws of Gamma(shape 3, rate 2); minimizer of the quadratic loss in η by one Newton step",
          tol=TOL_SOLVE, reason="a 2×2 solve of an exact quadratic; rounding ~1e-13", kind="rel")
def _(rng):
    x = rng.gamma(3.0, 1.0 / 2.0, size=(2000, 1))
    eta = _newton_quadratic(lambda m: sm.nonnegative_loss(m, x), _gamma_energy(1.0, 1.0))
    m1, v = x.mean(), x.var()
    return np.array([eta[0], -eta[1]]), np.array([m1 * m1 / v, m1 / v])


# ------------------------------------------------------------ ratio matching
def _ising():
    from ..models.boltzmann import BoltzmannMachine

    J = np.array([[0.0, 0.8, -0.5, 0.2], [0.8, 0.0, 0.3, -0.7], [-0.5, 0.3, 0.0, 0.4], [0.2, -0.7, 0.4, 0.0]])
    return BoltzmannMachine(J, [0.3, -0.6, 0.1, 0.5])


def _ising_model():
    from ..models.boltzmann import BoltzmannMachine

    J = np.array([[0.0, -0.2, 0.1, 0.0], [-0.2, 0.0, 0.5, 0.3], [0.1, 0.5, 0.0, -0.1], [0.0, 0.3, -0.1, 0.0]])
    return BoltzmannMachine(J, [-0.4, 0.2, 0.0, -0.3])


@identity("score matching: ratio matching divergence = expanded square (enumeration)",
          step="Σ_x p Σ_i [g(p/p⁽ⁱ⁾) − g(p_θ/p_θ⁽ⁱ⁾)]² expanded into three sums",
          case="4-unit Boltzmann machine data and model, all 16 states",
          tol=TOL_ENUM, reason="sums over 16 states × 4 flips in float64")
def _(rng):
    p, m = _ising(), _ising_model()
    return sm.ratio_matching_divergence(p, m), sm.ratio_matching_expanded(p, m)


@identity("score matching: ratio matching cross term is constant in θ (symmetry)",
          step="p(x)g(p(x)/p(x⁽ⁱ⁾)) is symmetric in x ↔ x⁽ⁱ⁾ and g(u) + g(1/u) = 1",
          case="4-unit Boltzmann machine data and model, all 16 states",
          tol=TOL_ENUM, reason="sums over 16 states × 4 flips in float64")
def _(rng):
    p, m = _ising(), _ising_model()
    return sm.ratio_matching_expanded(p, m), sm.ratio_matching_by_symmetry(p, m)


@identity("score matching: ratio matching divergence = E_p[loss] + const",
          step="D(θ) = E_p Σ_i σ(E(x) − E(x⁽ⁱ⁾))² + const_p",
          case="4-unit Boltzmann machine; the difference D − E_p[loss] is the same for two models",
          tol=TOL_ENUM, reason="sums over 16 states × 4 flips in float64")
def _(rng):
    p, m1, m2 = _ising(), _ising_model(), _ising()
    c1 = sm.ratio_matching_divergence(p, m1) - sm.ratio_matching_expectation(p, m1)
    c2 = sm.ratio_matching_divergence(p, m2) - sm.ratio_matching_expectation(p, m2)
    return c1, c2


@identity("score matching: ratio matching on independent Bernoulli = logit(sample mean)",
          step="E[π(1−σ(b))² + (1−π)σ(b)²] is minimized at σ(b) = π",
          case="3 independent Bernoulli units as a Boltzmann machine with J = 0, 500 draws; Newton on the loss",
          tol=1e-9, reason="Newton's method converged to machine precision on a smooth 1-D convex problem per unit")
def _(rng):
    from ..models.boltzmann import BoltzmannMachine

    x = (rng.random((500, 3)) < np.array([0.2, 0.55, 0.85])).astype(float)
    b = np.zeros(3)
    m = BoltzmannMachine(np.zeros((3, 3)), b)
    for _ in range(50):   # the units decouple: Newton per unit with a numerically exact 1-D Hessian
        g = sm.ratio_matching_loss(m.replace(h=b), x)[1]["h"]
        h = (sm.ratio_matching_loss(m.replace(h=b + 1e-6), x)[1]["h"]
             - sm.ratio_matching_loss(m.replace(h=b - 1e-6), x)[1]["h"]) / 2e-6
        b = b - g / h
    return b, special.logit(x.mean(axis=0))


@identity("score matching: ratio matching on the exact data distribution recovers the Boltzmann machine",
          step="the population minimizer of the ratio matching loss is the true θ (consistency)",
          case="4-unit Boltzmann machine; loss weighted by the exact p over all 16 states; L-BFGS (minimize_lbfgs) "
               "from θ = 0 over the 6 couplings J_ij (i < j) and 4 fields to max |∂J| ≤ 1e-13",
          tol=1e-6, reason="optimizer stopped at gradient norm ≤ √10·1e-13 on a strongly convex neighbourhood")
def _(rng):
    from ..models.boltzmann import BoltzmannMachine
    from ..numerics.enumeration import enumerate_states

    truth = _ising()
    X = enumerate_states(4)
    p = np.exp(truth.log_prob(X))
    iu = np.triu_indices(4, 1)

    def model(v):
        J = np.zeros((4, 4))
        J[iu] = v[:6]
        return BoltzmannMachine(J + J.T, v[6:])

    def objective(v):
        val, g = sm.ratio_matching_loss(model(v), X, weights=p)
        return val, np.concatenate([(g["J"] + g["J"].T)[iu], g["h"]])   # J_ij and J_ji move together

    # the line search accepts steps whose decrease of J is below its rounding (J ≈ 0.92, one ulp ~ 1e-16),
    # so L-BFGS gets to this gtol in ~30 iterations; it raises RuntimeError where it cannot
    res = minimize_lbfgs(objective, np.zeros(10), max_iter=1000, gtol=1e-13)
    m = model(res.x)
    left = np.concatenate([m.params["J"].ravel(), m.params["h"]])
    right = np.concatenate([truth.params["J"].ravel(), truth.params["h"]])
    return left, right


# ---------------------------------------------------------------- score networks
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
