"""ebm_ref.mcmc_scaling: exact acceptance on N(0, I_d) against brute force and the samplers."""
import numpy as np
import pytest

from ebm_ref import mcmc_scaling as ms

#: Monte Carlo z-score bound: P(|z| > 5) = 5.7e-7 per comparison
Z = 5.0


@pytest.mark.statistical
@pytest.mark.parametrize("method,h,L", [("rwmh", 0.9, 1), ("mala", 0.4, 1), ("hmc", 0.5, 6)])
def test_expected_acceptance_matches_direct_simulation_of_the_quadratic_form(method, h, L, rng):
    # independent of the chi-square reduction: draw z_i ~ N(0, I_2) and average min(1, e^Λ) directly
    d, n = 3, 200_000
    M = ms.log_ratio_form(method, h, L)
    z = rng.standard_normal((n, d, 2))
    a = np.minimum(1.0, np.exp(np.einsum("ndi,ij,ndj->n", z, M, z)))
    exact = ms.expected_acceptance(method, h, d, L)
    assert abs(a.mean() - exact) < Z * a.std() / np.sqrt(n)


@pytest.mark.exact
def test_log_ratio_form_reproduces_the_one_coordinate_ratio(rng):
    # the polarization is exact: zᵀMz equals the per-coordinate log ratio at random points
    for method, h, L in [("rwmh", 0.7, 1), ("mala", 0.3, 1), ("hmc", 0.2, 5)]:
        M = ms.log_ratio_form(method, h, L)
        for x, xi in rng.standard_normal((5, 2)):
            direct = ms._log_ratio_1d(method, x, xi, h, L)
            assert abs(np.array([x, xi]) @ M @ np.array([x, xi]) - direct) < 1e-12


@pytest.mark.exact
def test_rwmh_acceptance_tends_to_its_limit():
    # a(ℓ/√d, d) → 2Φ(−ℓ/2) with a gap of order 1/d (χ²_d/d has variance 2/d); 1e-3 is ten times 1/d
    assert abs(ms.expected_acceptance("rwmh", 2.38 / 100.0, 1e4) - ms.limit_acceptance(2.38)) < 1e-3


@pytest.mark.exact
def test_optimal_limit_acceptances_are_the_published_values():
    # Roberts–Gelman–Gilks 0.234, Roberts–Rosenthal 0.574, Beskos et al. 0.651 (3 digits published)
    for m, a in [("rwmh", 0.234), ("mala", 0.574), ("hmc", 0.651)]:
        assert abs(ms.optimal_limit_acceptance(m) - a) < 5e-4


def test_bad_input():
    with pytest.raises(ValueError, match="method"):
        ms.log_ratio_form("nuts", 0.1)
    with pytest.raises(ValueError, match="step_size"):
        ms.expected_acceptance("rwmh", -0.1, 10)
    with pytest.raises(ValueError, match="d"):
        ms.expected_acceptance("rwmh", 0.1, 0.5)
    with pytest.raises(ValueError, match="target"):
        ms.dimension_for_acceptance("rwmh", 0.1, 1.5)
