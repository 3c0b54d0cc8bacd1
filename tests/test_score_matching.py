"""Tests of ebm_ref.objectives.score_matching.

The identities of the derivation (Fisher divergence → expanded → by parts → Hyvärinen,
denoising = explicit SM on the smoothed density, sliced = exact with E[vvᵀ] = I, ratio
matching by symmetry, SM estimate = MLE) run in tests/test_verify.py from the registry;
here: closed forms, derivative checks of every loss, statistical recovery, bad input.
"""
import numpy as np
import pytest
from scipy import special

from ebm_ref import check, params as P, train
from ebm_ref.models import Gaussian, GaussianMixture
from ebm_ref.models.boltzmann import BoltzmannMachine
from ebm_ref.models.expfam import ExpFamEnergy, Exponential, Gamma
from ebm_ref.models.mlp import MLPEnergy
from ebm_ref.objectives import score_matching as sm

#: a few float64 operations on O(1) numbers, computed two ways.
TOL_ALGEBRA = 1e-12
#: adaptive quad at epsrel 1e-12.
TOL_QUAD = 1e-10
#: Richardson-extrapolated differences of smooth losses (check.RTOL_RICHARDSON is 1e-7).
RTOL_FD = 1e-7
#: z-score bound for statistical tests: two-sided false-positive rate 5.7e-7 per comparison.
Z = 5.0
BOX = [(-14.0, 14.0)]


# ------------------------------------------------------------------ helpers
def _project(model, grads):
    """Project a gradient dict on the model's parameter constraints (symmetric, zero-diagonal J)."""
    out = {}
    for k, g in grads.items():
        g = np.array(g, dtype=float)
        if k in getattr(model, "symmetric_params", ()) or (isinstance(model, BoltzmannMachine) and k == "J"):
            g = 0.5 * (g + g.T)
        if isinstance(model, BoltzmannMachine) and k == "J":
            np.fill_diagonal(g, 0.0)
        out[k] = g
    return out


def _check_loss_grads(model, lossfn):
    """check_grad of lossfn(model) -> (value, grads) over the flattened parameters."""
    def f(vec):
        p = _project(model, P.unflatten(vec, model.params))
        return lossfn(model.with_params(p))[0]

    grads = _project(model, lossfn(model)[1])
    theta = P.flatten(_project(model, model.params))
    check.check_grad(f, lambda v: P.flatten(grads), theta, method="richardson", rtol=RTOL_FD, h=1e-3)


def _gauss2():
    return Gaussian(np.array([0.2, -0.3]), np.array([[1.3, 0.4], [0.4, 0.9]]))


def _mlp(rng, d=2):
    return MLPEnergy.init([d, 8, 6], rng, activation="tanh")


def _gamma(a, b):
    return ExpFamEnergy([a, -b], family=Gamma)


# ---------------------------------------------------------- derivation: closed forms
@pytest.mark.exact
def test_fisher_divergence_gaussians_closed_form():
    # p = N(m, 1/a), model N(μ, 1/P): s_p − s_θ = −a(x−m) + P(x−μ) = (P−a)x + am − Pμ, linear in x
    m, a, mu, Pm = 0.3, 2.0, -0.2, 0.7
    p, g = Gaussian([m], [[a]]), Gaussian([mu], [[Pm]])
    slope, icpt = Pm - a, a * m - Pm * mu
    closed = 0.5 * (slope**2 / a + (slope * m + icpt) ** 2)
    assert abs(sm.fisher_divergence(p, g, BOX) - closed) < TOL_QUAD
    F, c, cross, quad = sm.fisher_divergence_expanded(p, g, BOX, return_terms=True)
    assert abs(c - 0.5 * a) < TOL_QUAD                         # ½E‖a(x−m)‖² = a/2
    assert abs(F - (c + cross + quad)) < TOL_ALGEBRA
    assert abs(sm.boundary_term(p, g, BOX)) < 1e-30


@pytest.mark.exact
def test_fisher_divergence_zero_when_model_is_data():
    p = GaussianMixture([0.3, 0.7], [[-1.0], [1.0]], [[[0.5]], [[0.8]]])
    assert abs(sm.fisher_divergence(p, p, BOX)) < TOL_QUAD
    # and then J = −C_p: Hyvärinen's objective at the truth is minus the data constant
    assert abs(sm.hyvarinen_expectation(p, p, BOX) + sm.data_constant(p, BOX)) < TOL_QUAD


@pytest.mark.exact
def test_loss_value_is_hyvarinen_objective(rng):
    m = _mlp(rng)
    x = rng.standard_normal((20, 2))
    assert abs(sm.loss(m, x)[0] - sm.hyvarinen_objective(m, x)) < TOL_ALGEBRA
    assert sm.hyvarinen_pointwise(m, x).shape == (20,)


@pytest.mark.exact
def test_unnormalized_data_density_is_normalized_by_quadrature():
    # an MLP-free check: a Gaussian energy with its log Z hidden behaves like the Gaussian
    class Hidden(Gaussian):
        def log_partition(self):
            raise NotImplementedError

    p, h = Gaussian([0.1], [[1.7]]), Hidden([0.1], [[1.7]])
    g = Gaussian([0.5], [[0.6]])
    assert abs(sm.fisher_divergence(h, g, BOX) - sm.fisher_divergence(p, g, BOX)) < TOL_QUAD


@pytest.mark.exact
def test_hvp_x_matches_full_hessian(rng):
    x = rng.standard_normal((7, 2))
    v = rng.standard_normal((7, 2))
    for m in (_mlp(rng), _gauss2(), GaussianMixture([0.4, 0.6], [[0.0, 1.0], [1.0, -1.0]], [np.eye(2), 0.5 * np.eye(2)])):
        np.testing.assert_allclose(sm.hvp_x(m, x, v), np.einsum("nij,nj->ni", m.hessian_x(x), v),
                                   rtol=0, atol=TOL_ALGEBRA)


@pytest.mark.exact
def test_sliced_exact_projections_equal_exact_sm_on_mlp(rng):
    m = _mlp(rng, d=3)
    x = rng.standard_normal((15, 3))
    V = np.sqrt(3.0) * np.eye(3)
    a, ga = sm.sliced_loss(m, x, projections=V)
    b, gb = sm.loss(m, x)
    assert abs(a - b) < TOL_ALGEBRA
    for k in ga:
        np.testing.assert_allclose(ga[k], gb[k], rtol=0, atol=TOL_ALGEBRA)
    c, gc = sm.sliced_loss(m, x, projections=V, variance_reduced=True)
    assert abs(c - b) < TOL_ALGEBRA


@pytest.mark.exact
def test_nonnegative_gamma_estimate_is_moment_estimator(rng):
    # the loss is quadratic in η; its stationary point by a linear solve
    x = rng.gamma(2.0, 1.0 / 0.5, size=(300, 1))
    m0 = _gamma(1.0, 1.0)
    g0 = P.flatten(sm.nonnegative_loss(m0, x)[1])
    H = np.column_stack([(P.flatten(sm.nonnegative_loss(m0.with_params({"eta": m0.params["eta"] + 0.1 * e}), x)[1]) - g0) / 0.1
                         for e in np.eye(2)])
    eta = m0.params["eta"] - np.linalg.solve(H, g0)
    m1, v = x.mean(), x.var()
    np.testing.assert_allclose([eta[0], -eta[1]], [m1**2 / v, m1 / v], rtol=1e-9)


@pytest.mark.exact
def test_nonnegative_exponential_closed_form(rng):
    # E = λx: ℓ = −2λx + ½λ²x², minimized at λ = 2E[x]/E[x²]; loss value by hand
    x = rng.exponential(0.7, size=(50, 1))
    lam = 1.3
    m = ExpFamEnergy([-lam], family=Exponential)
    assert abs(sm.nonnegative_loss(m, x)[0] - np.mean(-2 * lam * x + 0.5 * lam**2 * x**2)) < TOL_ALGEBRA
    grad = sm.nonnegative_loss(m, x)[1]["eta"][0]          # η = −λ
    assert abs(grad - (-np.mean(-2 * x + lam * x**2))) < TOL_ALGEBRA


@pytest.mark.exact
def test_ratio_matching_bernoulli_value_by_hand():
    # independent units (J = 0): δ_i = E(x) − E(x⁽ⁱ⁾) = h_i(1 − 2x_i)·(−1)·(−1) = h_i(1 − 2x_i)
    h = np.array([0.4, -1.1])
    m = BoltzmannMachine(np.zeros((2, 2)), h)
    x = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    expect = np.mean(np.sum(special.expit(h * (1 - 2 * x)) ** 2, axis=1))
    assert abs(sm.ratio_matching_loss(m, x)[0] - expect) < TOL_ALGEBRA


@pytest.mark.exact
def test_multiscale_is_weighted_sum_of_denoising(rng):
    ms = [Gaussian([0.0], [[1.0]]), Gaussian([0.2], [[0.5]])]
    nc = sm.NoiseConditional(ms, [1.0, 0.3])
    x = rng.standard_normal((25, 1))
    val, grads = sm.multiscale_denoising_loss(nc, x, rng=5)
    r = np.random.default_rng(5)
    parts = [sm.denoising_loss(ms[l], x, s, r) for l, s in enumerate([1.0, 0.3])]
    assert abs(val - sum(s**2 * p[0] for s, p in zip([1.0, 0.3], parts)) / 2) < TOL_ALGEBRA
    np.testing.assert_allclose(grads["1/mean"], 0.3**2 * parts[1][1]["mean"] / 2, rtol=0, atol=TOL_ALGEBRA)
    assert set(grads) == set(nc.params)
    assert nc.with_params(nc.params).level(1).params["mean"][0] == 0.2
    np.testing.assert_allclose(nc.score(x, 0), ms[0].score(x))
    np.testing.assert_allclose(nc.score_at_sigma(x, 0.3), ms[1].score(x))
    with pytest.raises(ValueError, match="sigma"):
        nc.score_at_sigma(x, 0.5)


@pytest.mark.exact
def test_shared_energy_fits_a_compromise():
    # an energy that ignores sigma has one score at every level: the multiscale loss is refused
    # unless asked for, and its optimum is the closed-form compromise, the score of no level
    g = Gaussian([0.0], [[1.0]])
    with pytest.raises(ValueError, match="shared_energy"):
        sm.multiscale_denoising_loss(g, np.zeros((3, 1)), sigmas=[1.0, 0.3], rng=0)
    s2, sigmas = 1.0, np.array([1.0, 0.3])
    lam, v = sigmas**2, s2 + sigmas**2
    data = Gaussian([0.0], [[1.0 / s2]])

    def expected(P):  # the exact expectation of the shared-energy loss (quadrature, Gauss-Hermite)
        m = Gaussian([0.0], [[P]])
        return sum(l * sm.denoising_expectation(data, m, s, BOX) for l, s in zip(lam, sigmas)) / sigmas.size

    # the expected loss is quadratic in P, so three exact values fix its minimizer
    Ps = np.array([0.5, 1.0, 1.5])
    a, b, _ = np.polyfit(Ps, [expected(P) for P in Ps], 2)
    P_star = lam.sum() / (lam * v).sum()
    assert abs(-b / (2 * a) - P_star) < 1e-8       # quadrature values accurate to ~1e-10
    assert np.min(np.abs(1.0 / v - P_star)) > 0.01  # and it is not any level's smoothed precision


def test_noise_conditional_drives_annealed_langevin(rng):
    # levels set to the exact smoothed densities of N(1, 0.5²): the chain ends near the data law
    from ebm_ref import samplers

    sigmas = [1.0, 0.5, 0.1]
    p = Gaussian([1.0], [[4.0]])
    nc = sm.NoiseConditional([sm.smoothed(p, s) for s in sigmas], sigmas)
    ch = samplers.annealed_langevin(nc.score_at_sigma, np.zeros((2000, 1)), 50, rng, sigmas=nc.sigmas, step_lr=1e-3)
    out = ch.samples[-1, :, 0]
    # statistical: mean within 5 SE of the smoothed law N(1, 0.25 + 0.01) up to the ULA step bias (~1e-3)
    assert abs(out.mean() - 1.0) < Z * np.sqrt(0.26 / out.size) + 0.01


# ------------------------------------------------------ derivative checks of losses
@pytest.mark.derivative
@pytest.mark.parametrize("kind", ["exact", "sliced-gaussian", "sliced-rademacher", "sliced-vr", "denoising"])
@pytest.mark.parametrize("model_name", ["gaussian", "mlp"])
def test_loss_grads_match_finite_differences(kind, model_name, rng):
    model = _gauss2() if model_name == "gaussian" else _mlp(rng)
    x = rng.standard_normal((12, 2))
    seed = int(rng.integers(1 << 30))
    fns = {
        "exact": lambda m: sm.loss(m, x),
        "sliced-gaussian": lambda m: sm.sliced_loss(m, x, rng=seed, n_projections=3),
        "sliced-rademacher": lambda m: sm.sliced_loss(m, x, rng=seed, n_projections=2, dist="rademacher"),
        "sliced-vr": lambda m: sm.sliced_loss(m, x, rng=seed, variance_reduced=True),
        "denoising": lambda m: sm.denoising_loss(m, x, sigma=0.3, rng=seed),
    }
    _check_loss_grads(model, fns[kind])


@pytest.mark.derivative
def test_multiscale_grads_match_finite_differences(rng):
    nc = sm.NoiseConditional([_mlp(rng), _mlp(rng)], [0.8, 0.2])
    x = rng.standard_normal((10, 2))
    val, grads = sm.multiscale_denoising_loss(nc, x, rng=3)
    flat = P.flatten(grads)
    check.check_grad(lambda v: sm.multiscale_denoising_loss(nc.with_params(P.unflatten(v, nc.params)), x, rng=3)[0],
                     lambda v: flat, P.flatten(nc.params), method="richardson", rtol=RTOL_FD, h=1e-3)
    # a single shared energy
    m = _mlp(rng)
    _check_loss_grads(m, lambda mm: sm.multiscale_denoising_loss(mm, x, sigmas=[0.5, 0.1], rng=4,
                                                                  shared_energy=True))


@pytest.mark.derivative
def test_nonnegative_grads_match_finite_differences(rng):
    x = rng.gamma(2.0, 1.0, size=(15, 1))
    _check_loss_grads(_gamma(2.5, 1.5), lambda m: sm.nonnegative_loss(m, x))
    x2 = rng.gamma(2.0, 1.0, size=(15, 2))
    _check_loss_grads(_gauss2(), lambda m: sm.nonnegative_loss(m, x2))
    _check_loss_grads(_mlp(rng), lambda m: sm.nonnegative_loss(m, x2))
    m = _mlp(rng)
    assert abs(sm.nonnegative_loss(m, x2)[0] - np.mean(sm.nonnegative_pointwise(m, x2))) < TOL_ALGEBRA


@pytest.mark.derivative
def test_ratio_matching_grads_match_finite_differences(rng):
    J = rng.normal(size=(4, 4))
    J = 0.5 * (J + J.T)
    np.fill_diagonal(J, 0.0)
    m = BoltzmannMachine(J, rng.normal(size=4))
    x = (rng.random((30, 4)) < 0.5).astype(float)
    _check_loss_grads(m, lambda mm: sm.ratio_matching_loss(mm, x))
    w = rng.random(30)
    _check_loss_grads(m, lambda mm: sm.ratio_matching_loss(mm, x, weights=w / w.sum()))


# ------------------------------------------------------------------ statistical
@pytest.mark.statistical
def test_sliced_is_unbiased_for_exact_sm(rng):
    # per-pair sliced values over 20000 Gaussian projections at one point set; false-positive rate 5.7e-7
    m = _mlp(rng, d=4)
    x = rng.standard_normal((10, 4))
    k = 2000
    xr = np.repeat(x, k, axis=0)
    for dist in ("gaussian", "rademacher"):
        v = sm._projections(rng, xr.shape, dist)
        vals = sm.sliced_pointwise(m, xr, v)
        se = vals.std(ddof=1) / np.sqrt(vals.size)
        assert abs(vals.mean() - sm.hyvarinen_objective(m, x)) < Z * se


@pytest.mark.statistical
def test_denoising_loss_mean_matches_its_expectation(rng):
    # Monte Carlo mean of the per-point DSM loss against the exact double integral; FPR 5.7e-7
    p = GaussianMixture([0.35, 0.65], [[-1.2], [0.9]], [[[0.4]], [[0.7]]])
    m = Gaussian([0.2], [[0.8]])
    x = p.sample(40000, rng)
    eps = rng.standard_normal(x.shape)
    r = m.grad_x(x + 0.5 * eps) - eps / 0.5
    per = 0.5 * r[:, 0] ** 2
    assert abs(sm.denoising_loss(m, x, 0.5, noise=eps)[0] - per.mean()) < TOL_ALGEBRA
    exact = sm.denoising_expectation(p, m, 0.5, BOX)
    assert abs(per.mean() - exact) < Z * per.std(ddof=1) / np.sqrt(per.size)


@pytest.mark.statistical
def test_nonnegative_sm_recovers_gamma_parameters(rng):
    # the estimate is (x̄²/s², x̄/s²); delta-method standard errors from the Gamma moments; FPR 5.7e-7 each
    a, b, n = 3.0, 2.0, 100000
    x = rng.gamma(a, 1.0 / b, size=(n, 1))
    m0 = _gamma(1.0, 1.0)
    g0 = P.flatten(sm.nonnegative_loss(m0, x)[1])
    H = np.column_stack([(P.flatten(sm.nonnegative_loss(m0.with_params({"eta": m0.params["eta"] + 0.1 * e}), x)[1]) - g0) / 0.1
                         for e in np.eye(2)])
    eta = m0.params["eta"] - np.linalg.solve(H, g0)
    est = np.array([eta[0], -eta[1]])
    mom = [np.prod([a + j for j in range(k)]) / b**k for k in range(5)]          # E x^k
    cov = np.array([[mom[2] - mom[1] ** 2, mom[3] - mom[1] * mom[2]],
                    [mom[3] - mom[1] * mom[2], mom[4] - mom[2] ** 2]])
    m1, m2 = mom[1], mom[2]
    v = m2 - m1**2
    jac = np.array([[2 * m1 * m2 / v**2, -m1**2 / v**2], [(m2 + m1**2) / v**2, -m1 / v**2]])
    se = np.sqrt(np.diag(jac @ cov @ jac.T) / n)
    assert np.all(np.abs(est - [a, b]) < Z * se), (est, se)


@pytest.mark.statistical
def test_ratio_matching_recovers_bernoulli_parameters(rng):
    # independent units: the estimate is logit(x̄); SE 1/sqrt(n π(1−π)) by the delta method; FPR 5.7e-7 each
    pi = np.array([0.15, 0.5, 0.8])
    n = 50000
    x = (rng.random((n, 3)) < pi).astype(float)
    m = BoltzmannMachine(np.zeros((3, 3)), np.zeros(3))

    states, counts = np.unique(x, axis=0, return_counts=True)   # the empirical loss over the distinct rows

    def objective(model, xb, r):
        val, g = sm.ratio_matching_loss(model, states, weights=counts / n)
        return val, {"J": np.zeros((3, 3)), "h": g["h"]}      # independent units: J held at 0

    assert abs(sm.ratio_matching_loss(m, states, weights=counts / n)[0] - sm.ratio_matching_loss(m, x)[0]) < TOL_ALGEBRA
    m, _ = train.fit(m, states, objective, train.SGD(5.0, momentum=0.5), 300, rng)
    se = 1.0 / np.sqrt(n * pi * (1 - pi))
    assert np.all(np.abs(m.params["h"] - special.logit(pi)) < Z * se)
    np.testing.assert_allclose(m.params["h"], special.logit(x.mean(axis=0)), atol=1e-8)


@pytest.mark.statistical
def test_gaussian_sm_recovers_truth_through_fit(rng):
    # the SM estimate is the MLE; compare with the truth at 5 SE of the sample mean (FPR 5.7e-7 per coordinate)
    truth = Gaussian([0.5, -0.4], [[2.0, 0.5], [0.5, 1.0]])
    x = truth.sample(5000, rng)
    m, hist = train.fit(Gaussian(np.zeros(2), np.eye(2)), x, sm.objective("sliced", n_projections=4),
                        train.Adam(0.02), 1500, rng, batch_size=500)
    se = np.sqrt(np.diag(truth.covariance) / x.shape[0])
    # SGD noise adds to the statistical error: the final iterate is compared at twice the bound
    assert np.all(np.abs(m.mean - truth.mean) < 2 * Z * se + 0.02)
    assert hist.loss[-100:].mean() < hist.loss[:10].mean()


# ------------------------------------------------------------------ bad input
def test_bad_input():
    g = _gauss2()
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match="x"):
        sm.loss(g, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="x"):
        sm.loss(g, np.zeros(2))
    with pytest.raises(ValueError, match="sigma"):
        sm.denoising_loss(g, x, sigma=0.0, rng=0)
    with pytest.raises(ValueError, match="sigma"):
        sm.denoising_loss(g, x, sigma=-1.0, rng=0)
    with pytest.raises(ValueError, match="noise"):
        sm.denoising_loss(g, x, sigma=1.0, noise=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="rng"):
        sm.denoising_loss(g, x, sigma=1.0)
    with pytest.raises(ValueError, match="dist"):
        sm.sliced_loss(g, x, rng=0, dist="uniform")
    with pytest.raises(ValueError, match="n_projections"):
        sm.sliced_loss(g, x, rng=0, n_projections=0)
    with pytest.raises(ValueError, match="projections"):
        sm.sliced_loss(g, x, projections=np.ones((2, 3)))
    with pytest.raises(ValueError, match="v"):
        sm.hvp_x(g, x, np.ones((3, 2)))
    with pytest.raises(ValueError, match="non-negative"):
        sm.nonnegative_loss(g, -np.ones((2, 2)))
    with pytest.raises(ValueError, match="0 or 1"):
        sm.ratio_matching_loss(BoltzmannMachine(np.zeros((2, 2)), np.zeros(2), relaxed=True), np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="weights"):
        sm.ratio_matching_loss(BoltzmannMachine(np.zeros((2, 2)), np.zeros(2)), np.zeros((2, 2)), weights=[0.2, 0.2])
    with pytest.raises(ValueError, match="sigmas"):
        sm.NoiseConditional([g, g], [0.1, 0.5])
    with pytest.raises(ValueError, match="sigmas"):
        sm.NoiseConditional([g, g], [1.0, 0.0])
    with pytest.raises(ValueError, match="models"):
        sm.NoiseConditional([g], [1.0, 0.5])
    with pytest.raises(ValueError, match="models"):
        sm.NoiseConditional([g, Gaussian([0.0], [[1.0]])], [1.0, 0.5])
    with pytest.raises(ValueError, match="sigmas"):
        sm.multiscale_denoising_loss(g, x, rng=0)
    with pytest.raises(ValueError, match="sigmas"):
        sm.multiscale_denoising_loss(g, x, sigmas=[1.0, -0.5], rng=0)
    with pytest.raises(ValueError, match="sigmas"):
        sm.multiscale_denoising_loss(sm.NoiseConditional([g, g], [1.0, 0.5]), x, sigmas=[2.0, 0.5], rng=0)
    with pytest.raises(ValueError, match="weights"):
        sm.multiscale_denoising_loss(g, x, sigmas=[1.0, 0.5], rng=0, weights=[1.0])
    p1 = Gaussian([0.0], [[1.0]])
    with pytest.raises(ValueError, match="bounds"):
        sm.fisher_divergence(p1, p1, [(1.0, -1.0)])
    with pytest.raises(ValueError, match="bounds"):
        sm.fisher_divergence(p1, p1, [(-np.inf, 1.0)])
    with pytest.raises(ValueError, match="bounds"):
        sm.fisher_divergence(p1, p1, [(-1.0, 1.0), (-1.0, 1.0)])
    with pytest.raises(ValueError, match="dimension"):
        sm.fisher_divergence(p1, g, BOX)
    with pytest.raises(ValueError, match="p_data"):
        sm.fisher_divergence(object(), p1, BOX)
    with pytest.raises(ValueError, match="1-D"):
        sm.boundary_term(g, g, [(-5, 5), (-5, 5)])
    with pytest.raises(ValueError, match="1-D"):
        sm.denoising_expectation(g, g, 0.5, [(-5, 5), (-5, 5)])
    with pytest.raises(ValueError, match="sigma"):
        sm.denoising_constant(p1, 0.0, BOX)
    with pytest.raises(ValueError, match="p_data"):
        sm.smoothed(_gamma(2.0, 1.0), 0.5)
    with pytest.raises(ValueError, match="kind"):
        sm.objective("magic")


@pytest.mark.exact
def test_fisher_divergence_is_blind_to_weights_of_separated_modes():
    # 0.2/0.8 vs 0.5/0.5 on modes 12 s.d. apart: the scores differ only between the modes,
    # where p has almost no mass, so F is ~5e-8 while KL is ~0.19 (both by quadrature)
    from scipy import integrate

    def mix(w):
        return GaussianMixture([w, 1 - w], [[-3.0], [3.0]], [[[0.25]], [[0.25]]])

    p, q = mix(0.2), mix(0.5)
    F = sm.fisher_divergence(p, q, BOX)

    def kl_integrand(t):
        lp, lq = p.log_prob(np.array([[t]]))[0], q.log_prob(np.array([[t]]))[0]
        return np.exp(lp) * (lp - lq)

    kl = integrate.quad(kl_integrand, -14, 14, epsrel=1e-12, limit=400)[0]
    assert F < 1e-6 and kl > 0.1


# ===================================== issue 11, defect 7: an empty batch is refused, never NaN
@pytest.mark.parametrize("fn", [
    lambda m, x: sm.loss(m, x),
    lambda m, x: sm.sliced_loss(m, x, rng=0),
    lambda m, x: sm.denoising_loss(m, x, 0.1, rng=0),
    lambda m, x: sm.hyvarinen_objective(m, x),
    lambda m, x: sm.nonnegative_loss(m, x),
])
def test_empty_batch_is_refused(fn):
    m = Gaussian(np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match=r"x: expected at least one data point, got shape \(0, 2\)"):
        fn(m, np.zeros((0, 2)))


# ------------------------------------------------ KL in 1-D and the cost of the score-matching term
def test_kl_divergence_1d_refuses_bad_input():
    p1, q1 = Gaussian([0.0], [[1.0]]), Gaussian([1.0], [[1.0]])
    p2 = Gaussian([0.0, 0.0], np.eye(2))
    with pytest.raises(ValueError):
        sm.kl_divergence_1d(p2, p2, [(-5.0, 5.0), (-5.0, 5.0)])
    with pytest.raises(ValueError, match="bounds"):
        sm.kl_divergence_1d(p1, q1, [(5.0, -5.0)])
    with pytest.raises(ValueError):
        sm.kl_divergence_1d(p1, "not an energy", [(-5.0, 5.0)])


@pytest.mark.exact
def test_kl_divergence_1d_equal_variances_closed_form():
    # KL(N(0, 1) ‖ N(1, 1)) = (0 − 1)² / 2 = 0.5; quadrature at epsrel 1e-10 over ±12 sd
    kl = sm.kl_divergence_1d(Gaussian([0.0], [[1.0]]), Gaussian([1.0], [[1.0]]), [(-12.0, 12.0)])
    assert kl == pytest.approx(0.5, rel=1e-8)


def test_tangent_multiply_adds_refuses_bad_input():
    with pytest.raises(ValueError):
        sm.tangent_multiply_adds([2, 3, 1], -1)
    with pytest.raises(ValueError):
        sm.tangent_multiply_adds([2, 0, 1], 1)
