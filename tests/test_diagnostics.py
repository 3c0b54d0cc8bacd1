"""Diagnostics: ESS, split-R̂, kernel Stein discrepancy, MMD."""
import numpy as np
import pytest
from scipy import stats

from ebm_ref import diagnostics as D
from ebm_ref.models.gaussian import Gaussian

ALPHA = 1e-3   # false-positive rate of each statistical test below


def _ar1(rng, n, m, rho):
    """m independent stationary AR(1) chains x_{t+1} = ρ x_t + √(1−ρ²) ε_t, shape (n, m)."""
    e = rng.standard_normal((n, m))
    x = np.empty((n, m))
    x[0] = e[0]
    s = np.sqrt(1 - rho**2)
    for t in range(1, n):
        x[t] = rho * x[t - 1] + s * e[t]
    return x


@pytest.mark.statistical
def test_ess_of_iid_samples_is_about_n(rng):
    # ESS/n of iid draws has sd ≈ √(2/n)·(a few) from the autocorrelation noise that the
    # initial monotone sequence keeps; 0.1 relative at n·M = 40000 is > 5 such sds.
    x = rng.standard_normal((10000, 4, 3))
    r = D.ess(x) / 40000
    assert np.all(np.abs(r - 1) < 0.1), r


@pytest.mark.statistical
@pytest.mark.parametrize("rho", [0.5, 0.9])
def test_ess_of_ar1_matches_exact(rho, rng):
    # Exact ESS of an AR(1) chain: n(1−ρ)/(1+ρ) (integrated autocorrelation time (1+ρ)/(1−ρ)).
    # The estimate's relative sd is ≈ √(2τ·(2K)/n) ~ 3% here; tolerance 12% (≈ 4 sd).
    n, m = 20000, 4
    x = _ar1(rng, n, m, rho)
    exact = n * m * (1 - rho) / (1 + rho)
    assert abs(D.ess(x) / exact - 1) < 0.12


@pytest.mark.exact
def test_autocorrelation_of_a_single_chain_is_the_usual_one_shifted(rng):
    # one chain: ρ_t = γ_t/γ_0 − 1/(n−1) (W unbiased, γ biased), γ by a direct sum, not the FFT
    x = rng.standard_normal(50)
    xc = x - x.mean()
    direct = np.array([np.sum(xc[: 50 - t] * xc[t:]) for t in range(50)]) / np.sum(xc * xc) - 1 / 49
    np.testing.assert_allclose(D.autocorrelation(x[:, None]), direct, atol=1e-12)


@pytest.mark.statistical
def test_split_rhat(rng):
    # iid chains: R̂ − 1 is O(1/n) ≈ 1e-3; separated chains (means 0 and 3): R̂ ≫ 1.
    x = rng.standard_normal((2000, 4, 2))
    assert np.all(np.abs(D.split_rhat(x) - 1) < 0.01)
    y = x.copy()
    y[:, 2:] += 3.0
    assert np.all(D.split_rhat(y) > 1.5)
    z = _ar1(rng, 2000, 4, 0.9) + np.linspace(0, 5, 2000)[:, None]     # a trend within each chain
    assert D.split_rhat(z) > 1.1


@pytest.mark.exact
def test_stein_kernel_matches_finite_differences_of_the_base_kernel(rng):
    # u_p(x, y) = sᵀs k + s(x)ᵀ∇_y k + s(y)ᵀ∇_x k + tr ∇_x∇_y k, with every derivative of
    # k taken by central differences instead of the closed forms used in the code.
    g = Gaussian(np.array([0.3, -0.2]), np.array([[1.5, 0.4], [0.4, 0.8]]))
    x = rng.standard_normal((4, 2))
    U = D.stein_kernel_matrix(x, g, c=1.3, beta=-0.5)
    k = lambda a, b: (1.3**2 + np.sum((a - b) ** 2)) ** -0.5
    s = g.score(x)
    h = 1e-4
    E = np.eye(2) * h
    for i in range(4):
        for j in range(4):
            a, b = x[i], x[j]
            gx = np.array([(k(a + e, b) - k(a - e, b)) / (2 * h) for e in E])
            gy = np.array([(k(a, b + e) - k(a, b - e)) / (2 * h) for e in E])
            tr = sum((k(a + e, b + e) - k(a + e, b - e) - k(a - e, b + e) + k(a - e, b - e)) / (4 * h * h) for e in E)
            ref = s[i] @ s[j] * k(a, b) + s[i] @ gy + s[j] @ gx + tr
            assert abs(U[i, j] - ref) < 1e-6    # central-difference error O(h²) ≈ 1e-8, rounding ε/h² ≈ 1e-8


@pytest.mark.statistical
def test_ksd_test_accepts_exact_and_rejects_shifted_samples(rng):
    # Exact samples: the wild-bootstrap test rejects with probability ≈ ALPHA.
    # Shifted by 0.5 sd (n = 400): power ≈ 1.
    g = Gaussian(np.zeros(2), np.array([[1.0, 0.3], [0.3, 0.5]]))
    x = g.sample(400, rng)
    assert abs(D.ksd(x, g)) < 0.01            # U-statistic sd at n = 400 is ~3e-3 here
    _, p = D.ksd_test(x, g, rng, n_boot=2000)
    assert p > ALPHA
    _, p_shift = D.ksd_test(x + np.array([0.5, 0.0]), g, rng, n_boot=2000)
    assert p_shift < ALPHA
    assert D.ksd(x + 0.5, g.score) > 0.05


@pytest.mark.statistical
def test_mmd_permutation_test(rng):
    # Same law: p-value uniform, rejects with probability ALPHA. Shifted by 0.5: power ≈ 1 at n = 300.
    g = Gaussian(np.zeros(2), np.eye(2))
    x, y = g.sample(300, rng), g.sample(300, rng)
    m2, p = D.mmd_test(x, y, rng, n_perm=2000)
    assert p > ALPHA and abs(m2) < 0.01
    _, p_shift = D.mmd_test(x + 0.5, y, rng, n_perm=2000)
    assert p_shift < ALPHA


@pytest.mark.statistical
def test_mmd_permutation_p_values_are_uniform_under_h0():
    # 200 replications at n = 30: KS test of the p-values against U(0,1)
    # (discreteness of (1+#)/(1+B) with B = 199 is negligible at this size). FPR = ALPHA.
    r = np.random.default_rng(np.random.SeedSequence(777))
    ps = [D.mmd_test(r.standard_normal((30, 2)), r.standard_normal((30, 2)), r, n_perm=199)[1] for _ in range(200)]
    assert stats.kstest(ps, "uniform").pvalue > ALPHA


@pytest.mark.exact
def test_mmd_is_an_unbiased_u_statistic():
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    y = np.array([[1.0, 1.0], [2.0, 0.0]])
    k = lambda a, b: np.exp(-np.sum((a - b) ** 2) / 2)
    ref = (sum(k(a, b) for i, a in enumerate(x) for j, b in enumerate(x) if i != j) / 6
           + sum(k(a, b) for i, a in enumerate(y) for j, b in enumerate(y) if i != j) / 2
           - 2 * sum(k(a, b) for a in x for b in y) / 6)
    assert abs(D.mmd(x, y, bandwidth=1.0) - ref) < 1e-14


@pytest.mark.parametrize("call, match", [
    (lambda: D.ess(np.zeros(5)), "samples"),
    (lambda: D.ess(np.ones((10, 2))), "constant"),
    (lambda: D.ess(np.full((10, 2), np.nan)), "NaN"),
    (lambda: D.split_rhat(np.zeros((2, 3))), "samples"),
    (lambda: D.ksd(np.zeros((3, 2)), lambda x: np.zeros((3, 3))), "score"),
    (lambda: D.ksd(np.zeros((3, 2)), "s"), "score"),
    (lambda: D.ksd(np.zeros((3, 2)), lambda x: -x, beta=0.5), "beta"),
    (lambda: D.ksd(np.zeros((3, 2)), lambda x: -x, c=0.0), "c"),
    (lambda: D.ksd_test(np.zeros((3, 2)), lambda x: -x, 0, n_boot=0), "n_boot"),
    (lambda: D.mmd(np.zeros((3, 2)), np.zeros((3, 3))), "y"),
    (lambda: D.mmd(np.zeros((1, 2)), np.zeros((3, 2))), "x, y"),
    (lambda: D.mmd(np.random.default_rng(0).random((3, 2)), np.ones((3, 2)), bandwidth=-1), "bandwidth"),
    (lambda: D.mmd_test(np.zeros((3, 2)), np.ones((3, 2)), None), "rng"),
    (lambda: D.median_bandwidth(np.zeros((4, 2))), "coincide"),
])
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------ mode crossings
def test_mode_indicator_and_count_crossings_refuse_bad_input():
    from ebm_ref.models import GaussianMixture

    m = GaussianMixture([0.5, 0.5], [[-2.0, 0.0], [2.0, 0.0]], np.tile(np.eye(2), (2, 1, 1)))
    with pytest.raises(ValueError, match="x"):
        D.mode_indicator(m, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="radius"):
        D.mode_indicator(m, np.zeros((4, 2)), radius=0.0)
    for bad in ([0, -2, 1], [0, 0.5, 1], [0, np.nan]):
        with pytest.raises(ValueError, match="modes"):
            D.count_crossings(bad)


@pytest.mark.exact
def test_mode_indicator_on_a_unit_mixture_by_hand():
    from ebm_ref.models import GaussianMixture

    # identity covariances: the core of mode k is the disc of radius r about its mean
    m = GaussianMixture([0.5, 0.5], [[-2.0, 0.0], [2.0, 0.0]], np.tile(np.eye(2), (2, 1, 1)))
    x = np.array([[-2.0, 0.0], [-2.0, 0.99], [0.0, 0.0], [2.0, -0.5], [2.0, 1.01]])
    assert D.mode_indicator(m, x, radius=1.0).tolist() == [0, 0, -1, 1, -1]
    assert D.count_crossings(D.mode_indicator(m, x, radius=1.0)) == 1
