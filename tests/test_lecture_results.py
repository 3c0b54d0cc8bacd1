"""Library pieces added for the lecture map (ebm_ref.numerics.opcount, nce.asymptotic_covariance_population)
and the one lecture result whose check has no exact answer (the IAT of random-walk MH as d grows)."""
import numpy as np
import pytest

from ebm_ref import diagnostics, samplers
from ebm_ref.identities.mcmc_continuous import _rwmh_gaussian_lag1
from ebm_ref.models import Gaussian
from ebm_ref.objectives import nce
from ebm_ref.numerics.opcount import MultiplyAddCounter


# ------------------------------------------------------------------ opcount
@pytest.mark.exact
def test_counts_follow_the_stated_rules():
    c = MultiplyAddCounter()
    x = c.wrap(np.ones((4, 3)))
    assert c.measure(lambda a: a @ np.ones((3, 5)), x) == 4 * 3 * 5
    assert c.measure(lambda a: np.tanh(a) * 2.0, x) == 12 + 12
    assert c.measure(lambda a: np.einsum("nd,nd->n", a, a), x) == 12
    assert c.measure(lambda a: np.tensordot(a, np.ones((3, 2)), axes=1), x) == 4 * 3 * 2
    T = c.wrap(np.ones((2, 4, 3)))
    assert c.measure(lambda a: a @ np.ones((3, 5)), T) == 2 * 4 * 3 * 5
    # work on arrays that never touch the wrapped data is not counted
    assert c.measure(lambda a: np.ones((3, 3)) @ np.ones((3, 3)), x) == 0


@pytest.mark.exact
def test_counted_results_equal_plain_results():
    c = MultiplyAddCounter()
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3))
    np.testing.assert_array_equal(np.asarray(c.wrap(a) @ b), a @ b)
    out = np.zeros(3)
    np.add(c.wrap(a)[0, :3], 1.0, out=out)
    np.testing.assert_array_equal(out, a[0, :3] + 1.0)


def test_opcount_bad_input():
    c = MultiplyAddCounter()
    with pytest.raises(ValueError, match="numeric"):
        c.wrap(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="callable"):
        c.measure(3, np.ones(2))


# ------------------------------------- population NCE covariance
_TRUTH = Gaussian([0.0], [[1.0]])


@pytest.mark.statistical
def test_population_covariance_is_the_limit_of_the_sample_sandwich(rng):
    """Sample sandwich at n = 2·10⁵ vs its population limit: entries agree to 5 % (the sample
    covariances' relative standard error is ~√(2/n)·kurtosis factor ≲ 1 %; 5 % is > 4 of them)."""
    noise = Gaussian([0.5], [[1.0 / 1.2**2]])
    n = 200_000
    cov_n, _ = nce.asymptotic_covariance(_TRUTH, _TRUTH.log_partition(), _TRUTH.sample(n, rng), noise.sample(n, rng),
                                         noise, 1.0)
    pop = nce.asymptotic_covariance_population(_TRUTH, _TRUTH.log_partition(), _TRUTH.log_prob, noise, 1.0, (-16, 16))
    np.testing.assert_allclose(n * cov_n, pop, rtol=0.05, atol=0.05 * np.abs(pop).max())


def test_population_covariance_bad_input():
    args = (_TRUTH, 0.0, _TRUTH.log_prob, _TRUTH)
    with pytest.raises(ValueError, match="bounds"):
        nce.asymptotic_covariance_population(*args, 1.0, (1.0, -1.0))
    with pytest.raises(ValueError, match="nu"):
        nce.asymptotic_covariance_population(*args, -1.0, (-5.0, 5.0))
    with pytest.raises(ValueError, match="1-D"):
        g2 = Gaussian(np.zeros(2), np.eye(2))
        nce.asymptotic_covariance_population(g2, 0.0, g2.log_prob, g2, 1.0, (-5.0, 5.0))
    with pytest.raises(ValueError, match="n_nodes"):
        nce.asymptotic_covariance_population(*args, 1.0, (-5.0, 5.0), n_nodes=0)


# ------------------------- row 41: autocorrelation time of random-walk MH vs d
@pytest.mark.statistical
def test_rwmh_integrated_autocorrelation_time_grows_at_least_linearly_in_d(rng):
    """No closed form exists for the IAT τ of random-walk MH, so this is a test, not an identity.

    What is exact: for a reversible chain, τ = ∫(1+λ)/(1−λ) dμ(λ) over the spectral measure of the
    coordinate, and (1+λ)/(1−λ) is convex, so by Jensen τ ≥ (1+ρ₁)/(1−ρ₁), with ρ₁ the exact lag-one
    autocorrelation (quadrature, ``_rwmh_gaussian_lag1``).  At h = 2.38/√d, 1 − ρ₁ ~ 0.66/d, so the
    bound grows like d: the curse of dimensionality.  τ̂ from ``diagnostics.ess`` (ESS = nM/τ̂),
    averaged over the d exchangeable coordinates, on 40 chains × 8000 steps must exceed 0.8 × the
    bound and grow with d.  One coordinate's τ̂ scatters by ~10 % at d = 64 (sd over coordinates and
    seeds, checked on seeds other than the test's); the average over coordinates by ≲ 2 %, so the
    20 % slack is ~10 of its standard errors.
    """
    taus, bounds = [], []
    for d in (4, 16, 64):
        h = 2.38 / np.sqrt(d)
        x0 = rng.standard_normal((40, d))
        ch = samplers.metropolis(Gaussian(np.zeros(d), np.eye(d)), x0, n_steps=8000, step_size=h, rng=rng)
        tau = np.mean(40 * 8000 / diagnostics.ess(ch.samples))
        rho1 = _rwmh_gaussian_lag1(d, h)
        taus.append(tau)
        bounds.append((1 + rho1) / (1 - rho1))
    assert all(t >= 0.8 * b for t, b in zip(taus, bounds)), (taus, bounds)
    assert taus[0] < taus[1] < taus[2], taus
    # the bound itself is linear in d to within its O(1/d) correction
    assert 3.5 < bounds[2] / bounds[1] < 4.5 and 3.0 < bounds[1] / bounds[0] < 5.0, bounds
