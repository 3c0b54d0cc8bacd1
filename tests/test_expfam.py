"""Exponential families against scipy.stats, quadrature/summation, finite differences and samples."""
import numpy as np
import pytest
from scipy import integrate, stats

from ebm_ref.check import DerivativeMismatch, check_energy, check_grad, check_jacobian
from ebm_ref.models import expfam
from ebm_ref.models.expfam import (
    Bernoulli,
    Beta,
    Categorical,
    ConvergenceError,
    Dirichlet,
    ExpFamEnergy,
    Exponential,
    Gamma,
    Normal,
    Poisson,
)

# scipy.stats evaluates each log density by its own route (xlogy, gammaln, betaln);
# in the natural form log h + ηᵀT − A a few terms of size up to ~|ηᵀT| cancel, so the
# agreement is ~1e-15 relative to max(1, |log p|); 1e-12 is the contract of issue 2.
RTOL_SCIPY = 1e-12
# closed-form moments against quadrature/summation (~1e-13 measured): issue 2's 1e-9.
TOL_MOMENTS = 1e-9
# Richardson differences of A and ∇A (check.RTOL_RICHARDSON): 1e-7 relative.
# Newton's own stopping rule is 1e-12·max(1, |μ|); the contract asks for 1e-10.
TOL_MLE_RESIDUAL = 1e-10
# a closed-form MLE and the textbook formula differ only by rounding of a mean.
RTOL_CLOSED_MLE = 1e-12
# statistical tests: two-sided family-wise false-positive rate per test function,
# Bonferroni-split over the components compared.
ALPHA = 1e-3
N_DRAWS = 4          # random parameter draws per family
N_SAMPLES = 20000    # samples for the z-tests


def z_crit(m: int) -> float:
    """Two-sided normal quantile for m simultaneous comparisons at family-wise level ALPHA."""
    return float(stats.norm.isf(ALPHA / (2 * m)))


# ---------------------------------------------------------------- random families
def draw(name, rng, quad_friendly=False):
    """A random valid family.  ``quad_friendly`` keeps Beta parameters >= 1 and Dirichlet
    parameters >= 0.8: the tanh–sinh rule drops Beta nodes that round to x = 1, whose
    mass is ~(1e-16)^β (measured moment error 1e-10 at β = 0.8, 1e-15 at β >= 1)."""
    lo = 0.8 if quad_friendly else 0.5
    if name == "Normal":
        return Normal(rng.uniform(-3, 3), rng.uniform(0.3, 3))
    if name == "Poisson":
        return Poisson(np.exp(rng.uniform(np.log(0.1), np.log(50))))
    if name == "Exponential":
        return Exponential(np.exp(rng.uniform(-2, 2)))
    if name == "Bernoulli":
        return Bernoulli(rng.uniform(0.02, 0.98))
    if name == "Categorical":
        p = rng.dirichlet(np.full(rng.integers(2, 7), 2.0))
        return Categorical(p / p.sum())
    if name == "Beta":
        lo = 1.0 if quad_friendly else lo
        return Beta(rng.uniform(lo, 8), rng.uniform(lo, 8))
    if name == "Gamma":
        return Gamma(rng.uniform(0.3, 20), np.exp(rng.uniform(-2, 2)))
    if name == "Dirichlet":
        K = int(rng.integers(2, 4 if quad_friendly else 5))
        return Dirichlet(rng.uniform(lo, 6, size=K))
    raise AssertionError(name)


NAMES = ["Normal", "Poisson", "Exponential", "Bernoulli", "Categorical", "Beta", "Gamma", "Dirichlet"]
CONTINUOUS = ["Normal", "Exponential", "Beta", "Gamma", "Dirichlet"]
NEWTON = ["Beta", "Gamma", "Dirichlet"]
CLOSED = ["Normal", "Poisson", "Exponential", "Bernoulli", "Categorical"]


def scipy_logpdf(fam, x):
    p = fam.params
    if isinstance(fam, Normal):
        return stats.norm(p["mu"], p["sigma"]).logpdf(x[:, 0])
    if isinstance(fam, Poisson):
        return stats.poisson(p["rate"]).logpmf(x[:, 0])
    if isinstance(fam, Exponential):
        return stats.expon(scale=1 / p["rate"]).logpdf(x[:, 0])
    if isinstance(fam, Bernoulli):
        return stats.bernoulli(p["p"]).logpmf(x[:, 0])
    if isinstance(fam, Categorical):
        K = p["probs"].size
        return stats.multinomial(1, p["probs"]).logpmf(np.eye(K)[x[:, 0].astype(int)])
    if isinstance(fam, Beta):
        return stats.beta(p["alpha"], p["beta"]).logpdf(x[:, 0])
    if isinstance(fam, Gamma):
        return stats.gamma(p["shape"], scale=1 / p["rate"]).logpdf(x[:, 0])
    if isinstance(fam, Dirichlet):
        return stats.dirichlet(p["alpha"]).logpdf(x.T)
    raise AssertionError(fam)


def mle_options(fam):
    return {"n_categories": fam.n_categories} if isinstance(fam, Categorical) else {}


# =================================================================== log_prob
@pytest.mark.exact
@pytest.mark.parametrize("name", NAMES)
def test_log_prob_matches_scipy(name, rng):
    for _ in range(N_DRAWS):
        fam = draw(name, rng)
        x = fam.sample(50, rng)
        ref = scipy_logpdf(fam, x)
        got = fam.log_prob(x)
        assert got.shape == (50,)
        err = np.max(np.abs(got - ref) / np.maximum(1.0, np.abs(ref)))
        assert err <= RTOL_SCIPY, (fam, err)


@pytest.mark.exact
@pytest.mark.parametrize("name", NAMES)
def test_log_prob_is_log_h_plus_eta_T_minus_A(name, rng):
    fam = draw(name, rng)
    x = fam.sample(10, rng)
    T = fam.sufficient_statistics(x)
    assert T.shape == (10, fam.n_stats)
    lh = fam.log_base_measure(x)
    assert lh.shape == (10,)
    np.testing.assert_allclose(fam.log_prob(x), lh + T @ fam.eta - fam.log_partition(), rtol=1e-14, atol=1e-14)


# ============================================================ moments: ∇A, ∇²A
@pytest.mark.exact
@pytest.mark.parametrize("name", NAMES)
def test_grad_and_hess_A_equal_moments_by_quadrature_or_summation(name, rng):
    for _ in range(3):
        fam = draw(name, rng, quad_friendly=True)
        m, C = fam.moments_numerical()
        g, H = fam.grad_A(), fam.hess_A()
        assert g.shape == (fam.n_stats,) and H.shape == (fam.n_stats, fam.n_stats)
        assert np.max(np.abs(g - m)) <= TOL_MOMENTS * max(1.0, np.max(np.abs(m))), (fam, g, m)
        assert np.max(np.abs(H - C)) <= TOL_MOMENTS * max(1.0, np.max(np.abs(C))), (fam, H, C)
        assert abs(fam.log_partition() - fam.log_partition_numerical()) <= TOL_MOMENTS * max(1.0, abs(fam.log_partition()))
        np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-15)
        assert np.all(np.linalg.eigvalsh(H) > 0), "a minimal family has a positive definite Cov[T]"


@pytest.mark.exact
def test_numerical_moments_for_concentrated_parameters():
    # the tanh–sinh rule refines its step until the narrow spike is resolved
    for fam in [Beta(500.0, 500.0), Beta(5000.0, 3.0), Dirichlet([30.0, 20.0, 10.0])]:
        m, C = fam.moments_numerical()
        assert np.max(np.abs(fam.grad_A() - m)) <= TOL_MOMENTS * max(1.0, np.max(np.abs(m)))
        assert np.max(np.abs(fam.hess_A() - C)) <= TOL_MOMENTS * np.max(np.abs(C))


@pytest.mark.exact
def test_poisson_truncation_bound_is_negligible(rng):
    # the summation stops at N = rate + 40 sqrt(rate) + 60; Chernoff: P(X >= N) <= e^{-λ}(eλ/N)^N
    for rate in [0.1, 3.5, 50.0, 300.0]:
        fam = Poisson(rate)
        N = fam.truncation()
        assert fam.tail_bound(N) < 1e-17
        assert stats.poisson(rate).sf(N - 1) <= fam.tail_bound(N)


@pytest.mark.exact
def test_moments_against_scipy_stats_where_it_has_them(rng):
    # an independent check of the raw moments that are textbook quantities
    n = Normal(0.4, 1.7)
    np.testing.assert_allclose(n.grad_A(), [0.4, 0.4**2 + 1.7**2], rtol=1e-14)
    g = Gamma(2.3, 0.6)
    np.testing.assert_allclose([g.grad_A()[1], g.hess_A()[1, 1]],
                               [stats.gamma(2.3, scale=1 / 0.6).mean(), stats.gamma(2.3, scale=1 / 0.6).var()], rtol=1e-13)
    e = Exponential(1.7)
    np.testing.assert_allclose([e.grad_A()[0], e.hess_A()[0, 0]], [stats.expon(scale=1 / 1.7).mean(), stats.expon(scale=1 / 1.7).var()], rtol=1e-14)
    p = Poisson(4.2)
    np.testing.assert_allclose([p.grad_A()[0], p.hess_A()[0, 0]], [4.2, 4.2], rtol=1e-14)
    c = Categorical([0.2, 0.5, 0.3])
    np.testing.assert_allclose(c.hess_A(), np.diag([0.2, 0.5]) - np.outer([0.2, 0.5], [0.2, 0.5]), atol=1e-15)


@pytest.mark.derivative
@pytest.mark.parametrize("name", NAMES)
def test_grad_A_and_hess_A_against_finite_differences(name, rng):
    for _ in range(N_DRAWS):
        fam = draw(name, rng)
        eta = fam.eta.copy()
        h = 1e-3 * max(1.0, float(np.max(np.abs(eta))))
        check_grad(fam.log_partition_eta, fam.grad_A, eta, h=h, name=f"{name} grad_A")
        check_jacobian(fam.grad_A, fam.hess_A, eta, h=h, name=f"{name} hess_A")


# ============================================================ maps η <-> μ
@pytest.mark.exact
@pytest.mark.parametrize("name", NAMES)
def test_natural_and_mean_parameter_round_trips(name, rng):
    fam = draw(name, rng)
    back = type(fam).from_natural(fam.eta)
    for k, v in fam.params.items():
        np.testing.assert_allclose(back.params[k], v, rtol=1e-13)
    again = type(fam).from_mean(fam.mean_parameters())
    np.testing.assert_allclose(again.eta, fam.eta, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fam.mean_parameters(), fam.grad_A(), rtol=0)


# ================================================================== sampling
@pytest.mark.statistical
@pytest.mark.parametrize("name", NAMES)
def test_sample_mean_of_T_matches_grad_A(name, rng):
    # z_k = (mean T_k − ∇A_k) / sqrt(∇²A_kk / n): asymptotically N(0, 1) (CLT, n = 20000).
    # False-positive rate ALPHA = 1e-3 per test, Bonferroni over the k components.
    fam = draw(name, rng)
    x = fam.sample(N_SAMPLES, rng)
    assert x.shape == (N_SAMPLES, fam.data_dim) and x.dtype == np.float64
    T = fam.sufficient_statistics(x)
    z = (T.mean(axis=0) - fam.grad_A()) / np.sqrt(np.diag(fam.hess_A()) / N_SAMPLES)
    assert np.all(np.abs(z) < z_crit(fam.n_stats)), (fam, z)


@pytest.mark.exact
@pytest.mark.parametrize("name", NAMES)
def test_sample_is_reproducible(name, rng):
    fam = draw(name, rng)
    np.testing.assert_array_equal(fam.sample(7, 123), fam.sample(7, np.random.default_rng(123)))
    assert fam.sample(0, 1).shape == (0, fam.data_dim)


# ======================================================================= MLE
@pytest.mark.exact
@pytest.mark.parametrize("name", CLOSED)
def test_closed_form_mle_is_moment_matching_and_textbook(name, rng):
    fam = draw(name, rng)
    x = fam.sample(300, rng)
    fit = type(fam).mle(x, **mle_options(fam))
    meanT = fam.sufficient_statistics(x).mean(axis=0)
    np.testing.assert_allclose(fit.grad_A(), meanT, rtol=RTOL_CLOSED_MLE, atol=1e-15)
    # the textbook estimators, computed independently
    if name == "Normal":
        np.testing.assert_allclose([fit.params["mu"], fit.params["sigma"]], [x.mean(), x.std()], rtol=1e-12)
        # and equal to the generic moment-matching route (from_mean on mean T)
        np.testing.assert_allclose(Normal.from_mean(meanT).eta, fit.eta, rtol=1e-9)
    elif name == "Poisson":
        np.testing.assert_allclose(fit.params["rate"], x.mean(), rtol=1e-14)
    elif name == "Exponential":
        np.testing.assert_allclose(fit.params["rate"], 1 / x.mean(), rtol=1e-14)
    elif name == "Bernoulli":
        np.testing.assert_allclose(fit.params["p"], x.mean(), rtol=1e-14)
    else:
        counts = np.bincount(x[:, 0].astype(int), minlength=fam.n_categories)
        np.testing.assert_allclose(fit.params["probs"], counts / counts.sum(), rtol=1e-13)


@pytest.mark.exact
@pytest.mark.parametrize("name", NEWTON)
def test_newton_mle_satisfies_moment_matching(name, rng):
    for _ in range(N_DRAWS):
        fam = draw(name, rng)
        x = fam.sample(400, rng)
        fit = type(fam).mle(x)
        meanT = fam.sufficient_statistics(x).mean(axis=0)
        assert np.max(np.abs(fit.grad_A() - meanT)) <= TOL_MLE_RESIDUAL * max(1.0, np.max(np.abs(meanT)))


@pytest.mark.exact
@pytest.mark.parametrize("params", [(0.2, 0.3), (200.0, 0.5), (0.05, 40.0), (3.0, 3.0)])
def test_newton_beta_converges_from_far_starts(params, rng):
    fam = Beta(*params)
    x = np.clip(fam.sample(2000, rng), 1e-300, 1 - 1e-16)   # keep the open interval
    x = x[(x > 0) & (x < 1)][:, None]
    fit = Beta.mle(x)
    meanT = fam.sufficient_statistics(x).mean(axis=0)
    assert np.max(np.abs(fit.grad_A() - meanT)) <= TOL_MLE_RESIDUAL * max(1.0, np.max(np.abs(meanT)))


@pytest.mark.exact
@pytest.mark.parametrize("shape", [0.05, 1.0, 500.0])
def test_newton_gamma_converges_for_extreme_shapes(shape, rng):
    fam = Gamma(shape, 2.0)
    x = fam.sample(2000, rng)
    x = x[x[:, 0] > 0]
    fit = Gamma.mle(x)
    meanT = fam.sufficient_statistics(x).mean(axis=0)
    assert np.max(np.abs(fit.grad_A() - meanT)) <= TOL_MLE_RESIDUAL * max(1.0, np.max(np.abs(meanT)))


@pytest.mark.exact
def test_newton_mle_maximizes_scipy_log_likelihood(rng):
    # an independent check: the scipy log-likelihood is lower at every nearby parameter
    fam = Beta(2.0, 5.0)
    x = fam.sample(500, rng)
    fit = Beta.mle(x)
    a, b = fit.params["alpha"], fit.params["beta"]
    ll = stats.beta(a, b).logpdf(x[:, 0]).sum()
    for da, db in [(1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3), (1e-3, 1e-3), (-1e-3, 1e-3)]:
        assert stats.beta(a + da, b + db).logpdf(x[:, 0]).sum() < ll


@pytest.mark.statistical
@pytest.mark.parametrize("name", NAMES)
def test_mle_recovers_parameters_from_large_samples(name, rng):
    # asymptotic normality of the MLE: η̂ − η ≈ N(0, I(η)⁻¹/n) with Fisher information
    # I(η) = ∇²A(η).  False-positive rate ALPHA = 1e-3, Bonferroni over the k components.
    fam = draw(name, rng)
    x = fam.sample(N_SAMPLES, rng)
    fit = type(fam).mle(x, **mle_options(fam))
    sd = np.sqrt(np.diag(np.linalg.inv(fam.hess_A())) / N_SAMPLES)
    z = (fit.eta - fam.eta) / sd
    assert np.all(np.abs(z) < z_crit(fam.n_stats)), (fam, fit, z)


@pytest.mark.exact
def test_newton_not_converging_raises():
    x = Gamma(3.0, 1.0).sample(200, 0)
    with pytest.raises(ConvergenceError, match="max_iter"):
        Gamma.mle(x, max_iter=1)
    with pytest.raises(ConvergenceError, match="max_iter"):
        Dirichlet.from_mean(Dirichlet([50.0, 2.0, 0.3]).mean_parameters(), max_iter=1)


# =============================================================== energy view
def interior_points(fam, rng, n=6):
    E = fam.as_energy()
    y = E.sample(n, rng)
    if isinstance(fam, (Beta, Dirichlet)):
        # keep away from the boundary so finite differences stay inside the support
        last = 1 - y.sum(axis=1, keepdims=True)
        y = 0.1 + 0.8 * y / (y.sum(axis=1, keepdims=True) + last)
        y = y / max(1.0, y.sum(axis=1).max() / 0.9)
    elif isinstance(fam, (Exponential, Gamma)):
        y = np.abs(y) + 0.2 * fam.grad_A()[-1]
    return y


@pytest.mark.derivative
@pytest.mark.parametrize("name", CONTINUOUS)
def test_energy_view_passes_check_energy(name, rng):
    for _ in range(2):
        fam = draw(name, rng)
        if isinstance(fam, (Beta, Dirichlet)):
            fam = type(fam).from_natural(np.maximum(fam.eta, 1.0))     # step h·|η| stays in the domain
        E = fam.as_energy()
        assert isinstance(E, ExpFamEnergy) and E.params.keys() == {"eta"}
        reports = check_energy(E, interior_points(fam, rng))
        checked = {r.name.split(" ")[0].split("[")[0] for r in reports if r.method != "skipped"}
        assert {"grad_x", "hessian_x", "laplacian_x", "grad_params", "grad_params_dot_grad_x",
                "grad_params_laplacian", "grad_params_hvp"} <= checked
        assert not [r for r in reports if r.method == "skipped"]


@pytest.mark.exact
@pytest.mark.parametrize("name", CONTINUOUS)
def test_energy_view_is_minus_log_h_minus_eta_T_and_log_Z_is_A(name, rng):
    fam = draw(name, rng)
    E = fam.as_energy()
    y = E.sample(10, rng)
    x = y if not isinstance(fam, Dirichlet) else np.concatenate([y, 1 - y.sum(axis=1, keepdims=True)], axis=1)
    np.testing.assert_allclose(E.energy(y), -fam.log_base_measure(x) - fam.sufficient_statistics(x) @ fam.eta,
                               rtol=1e-12, atol=1e-12)
    assert E.log_partition() == fam.log_partition()
    np.testing.assert_allclose(E.log_prob(y), fam.log_prob(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(E.grad_log_partition()["eta"], fam.grad_A())
    # -E_p[∂E/∂η] = E[T] = ∇A: the gradient of log Z is the negative mean energy gradient
    assert E.replace(eta=fam.eta).family.params.keys() == fam.params.keys()


@pytest.mark.exact
@pytest.mark.parametrize("name", ["Normal", "Exponential", "Beta", "Gamma"])
def test_energy_view_log_Z_equals_quadrature(name, rng):
    fam = draw(name, rng)
    # shift alpha, beta (Beta) and the shape (Gamma) above 1: the integrand is then bounded at the ends
    if name == "Beta":
        fam = Beta.from_natural(fam.eta + 1.0)
    if name == "Gamma":
        fam = Gamma.from_natural(fam.eta + np.array([1.0, 0.0]))
    E = fam.as_energy()
    if name == "Normal":
        lo, hi = fam.params["mu"] - 30 * fam.params["sigma"], fam.params["mu"] + 30 * fam.params["sigma"]
    else:
        lo, hi = (0.0, 1.0) if name == "Beta" else (0.0, np.inf)
    val, _ = integrate.quad(lambda t: np.exp(-E.energy(np.array([[t]]))[0] - E.log_partition()), lo, hi,
                            epsabs=1e-13, epsrel=1e-12, limit=200)
    assert abs(val - 1.0) < TOL_MOMENTS


@pytest.mark.exact
def test_discrete_families_have_no_energy_view():
    for fam in [Poisson(1.0), Bernoulli(0.3), Categorical([0.5, 0.5])]:
        with pytest.raises(NotImplementedError, match="discrete"):
            fam.as_energy()


# ================================================================= bad input
BAD_CONSTRUCTORS = [
    (Normal, (0.0, 0.0), "sigma"), (Normal, (0.0, -1.0), "sigma"), (Normal, (np.nan, 1.0), "mu"),
    (Normal, ([0.0, 1.0], 1.0), "mu"), (Normal, (0.0, np.inf), "sigma"),
    (Poisson, (0.0,), "rate"), (Poisson, (-2.0,), "rate"), (Poisson, ("a",), "rate"),
    (Exponential, (0.0,), "rate"), (Exponential, (np.nan,), "rate"),
    (Bernoulli, (0.0,), "p"), (Bernoulli, (1.0,), "p"), (Bernoulli, (1.5,), "p"), (Bernoulli, ([0.5],), "p"),
    (Categorical, ([0.5, 0.6],), "probs"), (Categorical, ([1.0],), "probs"), (Categorical, ([0.0, 1.0],), "probs"),
    (Categorical, ([[0.5, 0.5]],), "probs"), (Categorical, ([0.5, np.nan],), "probs"),
    (Beta, (0.0, 1.0), "alpha"), (Beta, (1.0, -1.0), "beta"),
    (Gamma, (0.0, 1.0), "shape"), (Gamma, (1.0, 0.0), "rate"),
    (Dirichlet, ([1.0],), "alpha"), (Dirichlet, ([1.0, 0.0],), "alpha"), (Dirichlet, ([[1.0, 2.0]],), "alpha"),
    (Dirichlet, ([1.0, -2.0, 3.0],), "alpha"),
]


@pytest.mark.parametrize("cls,args,arg", BAD_CONSTRUCTORS, ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(BAD_CONSTRUCTORS)])
def test_constructor_rejects_invalid_parameters(cls, args, arg):
    with pytest.raises(ValueError, match=arg):
        cls(*args)


BAD_DATA = [
    (Normal(0, 1), np.zeros(3), "shape"), (Normal(0, 1), np.zeros((3, 2)), "shape"),
    (Normal(0, 1), np.array([[np.nan]]), "NaN"),
    (Poisson(2.0), np.array([[-1.0]]), "non-negative integers"), (Poisson(2.0), np.array([[1.5]]), "non-negative integers"),
    (Exponential(1.0), np.array([[-0.1]]), ">= 0"),
    (Bernoulli(0.3), np.array([[0.5]]), "0 or 1"), (Bernoulli(0.3), np.array([[2.0]]), "0 or 1"),
    (Categorical([0.2, 0.8]), np.array([[2.0]]), "0..1"), (Categorical([0.2, 0.8]), np.array([[0.5]]), "0..1"),
    (Categorical([0.2, 0.8]), np.array([[-1.0]]), "0..1"), (Categorical([0.2, 0.8]), np.eye(2), "shape"),
    (Beta(2, 2), np.array([[0.0]]), "open interval"), (Beta(2, 2), np.array([[1.2]]), "open interval"),
    (Gamma(2, 1), np.array([[0.0]]), "> 0"),
    (Dirichlet([1, 2, 3]), np.array([[0.2, 0.2, 0.2]]), "sum to 1"), (Dirichlet([1, 2, 3]), np.array([[0.0, 0.5, 0.5]]), "> 0"),
    (Dirichlet([1, 2, 3]), np.array([[0.5, 0.5]]), "shape"),
]


@pytest.mark.parametrize("fam,x,msg", BAD_DATA, ids=[f"{type(f).__name__}-{i}" for i, (f, _, _) in enumerate(BAD_DATA)])
def test_data_outside_support_is_rejected_by_every_data_method(fam, x, msg):
    for method in (fam.sufficient_statistics, fam.log_base_measure, fam.log_prob):
        with pytest.raises(ValueError, match=msg):
            method(x)
    if isinstance(fam, Dirichlet) and msg == "shape":
        return          # Dirichlet.mle takes K from the data's width: (n, 2) data is a valid K = 2 fit
    opts = mle_options(fam)
    with pytest.raises(ValueError, match=msg):
        type(fam).mle(x, **opts)


@pytest.mark.parametrize("name", NAMES)
def test_bad_natural_parameters_rejected(name, rng):
    fam = draw(name, rng)
    k = fam.n_stats
    for method in (fam.log_partition_eta, fam.grad_A, fam.hess_A):
        with pytest.raises(ValueError, match="eta"):
            method(np.zeros(k + 1))
        with pytest.raises(ValueError, match="eta"):
            method(np.full(k, np.nan))
    with pytest.raises(ValueError, match="eta"):
        type(fam).from_natural(np.zeros((1, k)))
    outside = {"Normal": [0.0, 0.5], "Exponential": [1.0], "Beta": [1.0, -1.0], "Gamma": [1.0, 1.0],
               "Dirichlet": [1.0, 0.0], "Poisson": [800.0]}
    if name in outside:
        with pytest.raises(ValueError, match="eta"):
            type(fam).from_natural(outside[name])


BAD_MEANS = [
    (Normal, [0.0, -1.0]), (Normal, [2.0, 4.0]), (Poisson, [0.0]), (Exponential, [-1.0]), (Bernoulli, [1.0]),
    (Bernoulli, [0.0]), (Categorical, [0.6, 0.4]), (Categorical, [0.0, 0.5]), (Beta, [0.1, -1.0]),
    (Beta, [np.log(0.5), np.log(0.5)]), (Gamma, [0.0, 1.0]), (Gamma, [0.0, -1.0]), (Dirichlet, [-1.0, -1.0, 0.0]),
    (Dirichlet, [np.log(0.5), np.log(0.5)]), (Normal, [0.0]),
]


@pytest.mark.parametrize("cls,mu", BAD_MEANS, ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(BAD_MEANS)])
def test_mean_parameters_outside_mean_space_rejected(cls, mu):
    with pytest.raises(ValueError, match="mu"):
        cls.from_mean(mu)


def test_mle_degenerate_data_rejected():
    cases = [
        (Normal, np.full((5, 1), 2.0), {}), (Poisson, np.zeros((5, 1)), {}), (Bernoulli, np.ones((5, 1)), {}),
        (Categorical, np.array([[0.0], [1.0]]), {"n_categories": 3}), (Beta, np.full((5, 1), 0.3), {}),
        (Gamma, np.full((5, 1), 2.0), {}), (Dirichlet, np.tile([0.2, 0.3, 0.5], (4, 1)), {}),
        (Exponential, np.zeros((0, 1)), {}), (Normal, np.zeros((0, 1)), {}),
    ]
    for cls, x, opts in cases:
        with pytest.raises(ValueError):
            cls.mle(x, **opts)


def test_mle_option_errors():
    x = np.array([[0.0], [1.0], [1.0]])
    with pytest.raises(ValueError, match="n_categories"):
        Categorical.mle(x)
    with pytest.raises(ValueError, match="n_categories"):
        Categorical.mle(x, n_categories=1)
    with pytest.raises(ValueError, match="closed-form"):
        Bernoulli.mle(x, tol=1e-3)
    y = Gamma(2.0, 1.0).sample(50, 0)
    with pytest.raises(ValueError, match="tol"):
        Gamma.mle(y, tol=0.0)
    with pytest.raises(ValueError, match="max_iter"):
        Gamma.mle(y, max_iter=0)
    with pytest.raises(ValueError, match="shape"):
        Dirichlet.mle(np.ones(3))


@pytest.mark.parametrize("name", NAMES)
def test_sample_rejects_bad_arguments(name, rng):
    fam = draw(name, rng)
    with pytest.raises(ValueError, match="n"):
        fam.sample(-1, rng)
    with pytest.raises(ValueError, match="n"):
        fam.sample(2.5, rng)
    with pytest.raises(ValueError, match="rng"):
        fam.sample(3, None)


def test_energy_view_rejects_bad_input():
    with pytest.raises(ValueError, match="family"):
        ExpFamEnergy([1.0], family=Poisson)
    with pytest.raises(ValueError, match="family"):
        ExpFamEnergy([1.0], family="Exponential")
    with pytest.raises(ValueError, match="eta"):
        ExpFamEnergy([1.0], family=Exponential)
    cases = [(Exponential(1.0), [[-1.0]]), (Exponential(1.0), [[0.0]]), (Gamma(2, 1), [[0.0]]), (Beta(2, 2), [[1.0]]),
             (Dirichlet([2, 2, 2]), [[0.6, 0.5]]), (Dirichlet([2, 2, 2]), [[0.6, 0.1, 0.3]]), (Normal(0, 1), [1.0])]
    for fam, x in cases:
        E = fam.as_energy()
        for method in (E.energy, E.grad_x, E.hessian_x, E.laplacian_x, E.grad_params):
            with pytest.raises(ValueError, match="x"):
                method(np.array(x))
    with pytest.raises(ValueError, match="eta"):
        Beta(2, 2).as_energy().replace(eta=np.array([-1.0, 2.0]))


def test_numerical_counterpart_and_tail_bound_errors():
    with pytest.raises(ValueError, match="did not converge"):
        Beta(0.3, 0.3).moments_numerical()           # refuses rather than returning a wrong number
    with pytest.raises(ValueError, match="K <= 3"):
        Dirichlet([1.0, 2.0, 3.0, 4.0]).moments_numerical()
    with pytest.raises(ValueError, match="K <= 3"):
        Dirichlet([1.0, 2.0, 3.0, 4.0]).log_partition_numerical()
    with pytest.raises(ValueError, match="N"):
        Poisson(10.0).tail_bound(5)
    with pytest.raises(ValueError, match="N"):
        Poisson(10.0).tail_bound(0)


def test_all_families_listed():
    assert set(expfam.FAMILIES) == {Normal, Poisson, Exponential, Bernoulli, Categorical, Beta, Gamma, Dirichlet}
    with pytest.raises(DerivativeMismatch):      # the checker really does catch a wrong gradient
        check_grad(Gamma(2.0, 1.0).log_partition_eta, lambda e: 2 * Gamma(2.0, 1.0).grad_A(e), np.array([2.0, -1.0]))


@pytest.mark.exact
def test_energy_view_in_support_is_the_mask_energy_checks():
    # the support written once (_ev_in_support): in_support answers, energy raises outside
    from ebm_ref.models.expfam import Beta, Dirichlet, Gamma, Normal

    x = np.array([[-0.5], [0.0], [0.3], [1.0], [2.0]])
    assert Gamma(2.0, 1.0).as_energy().in_support(x).tolist() == [False, False, True, True, True]
    assert Beta(2.0, 3.0).as_energy().in_support(x).tolist() == [False, False, True, False, False]
    assert Normal(0.0, 1.0).as_energy().in_support(x).all()
    y = np.array([[0.2, 0.3], [0.6, 0.5], [-0.1, 0.2]])
    assert Dirichlet([2.0, 2.0, 2.0]).as_energy().in_support(y).tolist() == [True, False, False]
    with pytest.raises(ValueError, match="Gamma energy is defined for x > 0"):
        Gamma(2.0, 1.0).as_energy().energy(x)
    with pytest.raises(ValueError, match="Beta energy is defined for the open interval"):
        Beta(2.0, 3.0).as_energy().energy(x)
