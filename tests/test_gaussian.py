"""Gaussian, GaussianMixture and WarpedGaussian against closed forms and scipy."""
import numpy as np
import pytest
from scipy import stats

from ebm_ref.check import check_energy
from ebm_ref.models import Gaussian, GaussianMixture, WarpedGaussian
from ebm_ref.partition import log_partition_quadrature

# scipy.stats evaluates the same density by an independent route (its own Cholesky
# and log-det); both are float64, so they agree to rounding of a few operations.
RTOL_SCIPY = 1e-12
# adaptive quadrature run at epsrel 1e-11 on smooth, rapidly decaying integrands.
TOL_QUAD = 1e-9


def random_spd(rng, d, scale=1.0):
    A = rng.standard_normal((d, d))
    return scale * (A @ A.T / d + np.eye(d))


@pytest.fixture
def gauss(rng):
    d = 3
    return Gaussian(rng.standard_normal(d), random_spd(rng, d))


@pytest.mark.exact
def test_gaussian_log_prob_matches_scipy(gauss, rng):
    x = rng.standard_normal((20, 3))
    ref = stats.multivariate_normal(gauss.mean, gauss.covariance).logpdf(x)
    np.testing.assert_allclose(gauss.log_prob(x), ref, rtol=RTOL_SCIPY)


@pytest.mark.exact
@pytest.mark.parametrize("d", [1, 2])
def test_gaussian_log_partition_equals_quadrature(rng, d):
    g = Gaussian(rng.standard_normal(d), random_spd(rng, d))
    bounds = [(m - 12 / np.sqrt(p), m + 12 / np.sqrt(p)) for m, p in zip(g.mean, np.diag(g.precision))]
    # 12 marginal-precision standard deviations: for d = 2 use a wider box as the
    # conditional and marginal scales differ.
    bounds = [(lo - 8 * np.sqrt(np.diag(g.covariance))[i], hi + 8 * np.sqrt(np.diag(g.covariance))[i])
              for i, (lo, hi) in enumerate(bounds)]
    lz, err = log_partition_quadrature(g, bounds)
    assert err < TOL_QUAD
    assert abs(lz - g.log_partition()) < TOL_QUAD


@pytest.mark.exact
def test_gaussian_grad_log_partition_is_minus_expected_grad_energy(gauss):
    # ∇_P log Z = -½Σ and E_p[∇_P E] = ½ E[(x-μ)(x-μ)ᵀ] = ½Σ: opposite, exactly.
    g = gauss.grad_log_partition()
    np.testing.assert_allclose(g["precision"], -0.5 * np.linalg.inv(gauss.precision), rtol=1e-13)
    # and by finite differences of log Z along symmetric directions
    from ebm_ref.check import richardson

    E = np.zeros((3, 3))
    E[0, 1] = E[1, 0] = 0.5
    num = richardson(lambda t: gauss.replace(precision=gauss.precision + float(t) * E).log_partition(), 0.0, 1.0, h=1e-3)
    assert abs(num - g["precision"][0, 1]) < 1e-9


@pytest.mark.derivative
def test_check_energy_gaussian(gauss, rng):
    reports = check_energy(gauss, rng.standard_normal((6, 3)))
    methods = {r.method for r in reports}
    assert "complex" in methods  # x-derivatives used the complex step


@pytest.mark.derivative
def test_check_energy_mixture_and_warped(rng):
    d = 2
    mix = GaussianMixture([0.2, 0.5, 0.3], rng.standard_normal((3, d)),
                          np.stack([random_spd(rng, d, 0.5) for _ in range(3)]))
    check_energy(mix, rng.standard_normal((5, d)))
    warped = WarpedGaussian(rng.standard_normal(d), random_spd(rng, d), 0.8)
    check_energy(warped, rng.standard_normal((5, d)))


@pytest.mark.exact
def test_mixture_log_prob_matches_scipy(rng):
    w = np.array([0.25, 0.75])
    mu = rng.standard_normal((2, 2))
    cov = np.stack([random_spd(rng, 2), random_spd(rng, 2, 0.3)])
    mix = GaussianMixture(w, mu, cov)
    x = rng.standard_normal((10, 2))
    ref = np.log(sum(w[k] * stats.multivariate_normal(mu[k], cov[k]).pdf(x) for k in range(2)))
    np.testing.assert_allclose(mix.log_prob(x), ref, rtol=RTOL_SCIPY)
    lz, _ = log_partition_quadrature(mix, [(-12, 12), (-12, 12)])
    assert abs(lz) < TOL_QUAD


@pytest.mark.exact
def test_warped_log_partition_equals_quadrature():
    w = WarpedGaussian([0.0, 0.5], [[1.0, 0.3], [0.3, 2.0]], 0.6)
    lz, err = log_partition_quadrature(w, [(-9, 9), (-60, 12)])
    assert abs(lz - w.log_partition()) < TOL_QUAD


@pytest.mark.statistical
def test_samples_have_exact_moments(rng):
    # z-test of each coordinate mean and a χ² test of the quadratic form; the three
    # models × two tests at α = 1e-4 each: family-wise false-positive rate ≤ 6e-4.
    alpha = 1e-4
    n = 20000
    g = Gaussian([0.5, -1.0], [[2.0, 0.5], [0.5, 1.0]])
    x = g.sample(n, rng)
    q = 2 * g.energy(x)  # (x-μ)ᵀP(x-μ) ~ χ²(d)
    assert stats.kstest(q, stats.chi2(2).cdf).pvalue > alpha
    z = (x.mean(0) - g.mean) / np.sqrt(np.diag(g.covariance) / n)
    assert np.all(np.abs(z) < stats.norm.isf(alpha / 4))
    wg = WarpedGaussian([0.0, 0.0], [[1.0, 0.0], [0.0, 1.0]], 1.0)
    q = 2 * wg.energy(wg.sample(n, rng))  # the warp maps exact samples back to the Gaussian
    assert stats.kstest(q, stats.chi2(2).cdf).pvalue > alpha
    mix = GaussianMixture([0.3, 0.7], [[-2.0], [2.0]], [[[0.5]], [[1.0]]])
    xm = mix.sample(n, rng)[:, 0]
    cdf = lambda t: 0.3 * stats.norm.cdf(t, -2, np.sqrt(0.5)) + 0.7 * stats.norm.cdf(t, 2, 1.0)
    assert stats.kstest(xm, cdf).pvalue > alpha


def test_same_seed_same_samples():
    g = Gaussian([0.0, 1.0], np.eye(2))
    np.testing.assert_array_equal(g.sample(5, 3), g.sample(5, 3))


def test_bad_input():
    with pytest.raises(ValueError, match="positive definite"):
        Gaussian([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="symmetric"):
        Gaussian([0.0, 0.0], [[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match="precision"):
        Gaussian([0.0, 0.0], np.eye(3))
    with pytest.raises(ValueError, match="mean"):
        Gaussian([[0.0]], np.eye(1))
    with pytest.raises(ValueError, match="NaN"):
        Gaussian([np.nan], np.eye(1))
    g = Gaussian([0.0, 0.0], np.eye(2))
    with pytest.raises(ValueError, match=r"x\[None, :\]"):
        g.energy(np.zeros(2))
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        g.energy(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        g.grad_x(np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="rng"):
        g.sample(3, None)
    with pytest.raises(ValueError, match="n"):
        g.sample(-1, 0)
    with pytest.raises(ValueError, match="u"):
        g.grad_params_dot_grad_x(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="weights"):
        g.grad_params_sum(np.zeros((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match="unknown parameter"):
        g.replace(foo=1.0)
    with pytest.raises(ValueError, match="sum to 1"):
        GaussianMixture([0.5, 0.6], np.zeros((2, 1)), np.ones((2, 1, 1)))
    with pytest.raises(ValueError, match="weights"):
        GaussianMixture([-0.5, 1.5], np.zeros((2, 1)), np.ones((2, 1, 1)))
    with pytest.raises(ValueError, match="covariances"):
        GaussianMixture([0.5, 0.5], np.zeros((2, 1)), np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="d >= 2"):
        WarpedGaussian([0.0], np.eye(1), 1.0)
    with pytest.raises(ValueError, match="b"):
        WarpedGaussian([0.0, 0.0], np.eye(2), np.inf)


def test_models_are_immutable_values(gauss):
    with pytest.raises(ValueError):
        gauss.params["mean"][0] = 1.0
    g2 = gauss.replace(mean=np.zeros(3))
    assert np.all(g2.mean == 0) and not np.all(gauss.mean == 0)
    assert gauss.log_partition() == g2.log_partition()


# ========================= issue 11, defects 8 and 12: replace checks; overflow gives +inf, not NaN
def _mix():
    return GaussianMixture([0.3, 0.7], [[0.0, 0.0], [1.0, 1.0]], np.stack([np.eye(2), 0.5 * np.eye(2)]))


@pytest.mark.parametrize("change, match", [
    ({"weights": np.array([-0.3, 1.3])}, "weights: must be finite and > 0"),
    ({"means": np.array([[np.nan, 0.0], [1.0, 1.0]])}, "means: contains NaN"),
    ({"covariances": np.stack([np.array([[1.0, 0.5], [0.0, 1.0]]), np.eye(2)])}, r"covariances\[0\]: must be symmetric"),
    ({"covariances": np.stack([-np.eye(2), np.eye(2)])}, r"covariances\[0\]: must be positive definite"),
])
def test_mixture_replace_checks_its_parameters(change, match):
    from ebm_ref.models.compose import Mixture

    with pytest.raises(ValueError, match=match):
        _mix().replace(**change)
    # ... also through a composite's "i.key" override
    with pytest.raises(ValueError, match=match):
        Mixture([0.5, 0.5], [_mix(), Gaussian(np.zeros(2), np.eye(2))]).replace(**{f"0.{k}": v for k, v in change.items()})


def test_mixture_replace_off_the_simplex_keeps_log_z_exact():
    # check_energy moves the weights off the simplex: allowed, and log Z = log Σw follows
    m = _mix().replace(weights=np.array([0.6, 0.7]))
    assert m.log_partition() == pytest.approx(np.log(1.3), abs=1e-15)
    from ebm_ref.partition import log_partition_quadrature

    assert log_partition_quadrature(m, [(-12, 12), (-12, 12)], epsrel=1e-10)[0] == pytest.approx(np.log(1.3), abs=1e-8)
    from ebm_ref.check import check_energy

    check_energy(_mix(), np.random.default_rng(0).standard_normal((4, 2)))


def test_energy_overflow_is_plus_inf_not_nan():
    # x = 1e300 with a negative cross term: inf − inf = NaN in the plain quadratic form
    P = np.array([[1.0, 0.5], [0.5, 1.0]])
    x = np.array([[1e300, -1e300], [1e300, 1e300], [1.0, 2.0]])
    g = Gaussian(np.zeros(2), P)
    e = g.energy(x)
    assert np.all(np.isposinf(e[:2])) and e[2] == 0.5 * x[2] @ P @ x[2]
    m = GaussianMixture([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], np.stack([P, P]))
    assert np.all(np.isposinf(m.energy(x)[:2])) and np.isfinite(m.energy(x)[2])
