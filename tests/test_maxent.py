"""ebm_ref.maxent: the max-entropy distribution is the exponential family."""
import numpy as np
import pytest

from ebm_ref import maxent


@pytest.mark.exact
def test_uniform_when_the_constraint_is_the_uniform_mean():
    # the unconstrained maximum is uniform; a constraint it already satisfies changes nothing (η = 0)
    eta, p = maxent.max_entropy_dual(np.arange(1.0, 7.0), [3.5])
    assert np.max(np.abs(eta)) < 1e-12
    np.testing.assert_allclose(p, np.full(6, 1 / 6), atol=1e-14)
    assert abs(maxent.entropy(p) - np.log(6)) < 1e-14


@pytest.mark.exact
def test_any_other_distribution_with_the_same_mean_has_less_entropy(rng):
    T = np.arange(1.0, 7.0)
    _, p = maxent.max_entropy_dual(T, [4.5])
    for _ in range(20):          # perturb inside the constraint set: directions u with Σu = 0, Σu·T = 0
        u = rng.standard_normal(6)
        A = np.vstack([np.ones(6), T])
        u -= A.T @ np.linalg.solve(A @ A.T, A @ u)
        q = p + 0.01 * u / np.max(np.abs(u))
        assert maxent.entropy(q) < maxent.entropy(p)


def test_bad_input():
    with pytest.raises(ValueError, match="mu"):
        maxent.max_entropy_dual(np.arange(1.0, 7.0), [6.0])
    with pytest.raises(ValueError, match="T"):
        maxent.max_entropy_primal(np.array([1.0]), [1.0])
