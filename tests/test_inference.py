"""Inference by energy minimization against closed-form minimizers."""
import numpy as np
import pytest

from ebm_ref.inference import denoise, minimize_energy
from ebm_ref.models import Gaussian, MLPEnergy
from ebm_ref.models.compose import ProductOfExperts

# both minimizers stop at gradient norm 1e-10; with the precision's smallest eigenvalue
# >= 0.5 the distance to the exact minimizer is then below 2e-10.
GTOL = 1e-10
TOL_X = 1e-9


@pytest.fixture
def gauss(rng):
    A = rng.standard_normal((3, 3))
    return Gaussian(rng.standard_normal(3), A @ A.T / 3 + 0.5 * np.eye(3))


@pytest.mark.exact
@pytest.mark.parametrize("method", ["gd", "lbfgs"])
def test_minimizer_of_gaussian_is_mean(gauss, rng, method):
    x0 = 3.0 * rng.standard_normal((5, 3))
    step = 1.0 / np.linalg.eigvalsh(gauss.precision).max()       # below 2/λ_max: converges
    res = minimize_energy(gauss, x0, method=method, step_size=step, max_steps=20000, gtol=GTOL)
    assert res.converged
    np.testing.assert_allclose(res.x, np.broadcast_to(gauss.mean, (5, 3)), atol=TOL_X)
    np.testing.assert_allclose(res.energy, 0.0, atol=1e-18)


@pytest.mark.exact
@pytest.mark.parametrize("method", ["gd", "lbfgs"])
def test_denoise_equals_posterior_mode(gauss, rng, method):
    # Both reach GTOL: gradient descent needs no decrease test, and minimize_lbfgs's line search
    # accepts a step whose decrease of the summed energy is below its rounding.  The Hessian is
    # P + 2*lam*I, so a row whose gradient norm is <= gtol lies within gtol / lambda_min of the
    # exact posterior mode.
    gtol = GTOL
    sigma = 0.7
    lam = 1.0 / (2 * sigma**2)
    y = gauss.sample(6, rng) + sigma * rng.standard_normal((6, 3))
    P = gauss.precision
    exact = np.linalg.solve(P + 2 * lam * np.eye(3), (P @ gauss.mean)[:, None] + 2 * lam * y.T).T
    eig = np.linalg.eigvalsh(P) + 2 * lam
    res = denoise(gauss, y, lam=lam, method=method, step_size=1.0 / eig.max(), max_steps=20000, gtol=gtol)
    assert res.converged
    assert np.all(np.linalg.norm(res.x - exact, axis=1) <= gtol / eig.min() * (1 + 1e-6))


@pytest.mark.exact
def test_minimize_mlp_times_gaussian_reaches_stationary_point(rng):
    model = ProductOfExperts([MLPEnergy.init([2, 8], rng), Gaussian(np.zeros(2), np.eye(2))])
    res = minimize_energy(model, rng.standard_normal((4, 2)), method="lbfgs", gtol=1e-9)
    assert res.converged and np.all(res.grad_norm < 1e-8)
    # a local minimum: the Hessian there is positive semi-definite
    assert np.all(np.linalg.eigvalsh(model.hessian_x(res.x)) > -1e-8)


def test_divergent_step_is_reported(gauss, rng):
    step = 5.0 / np.linalg.eigvalsh(gauss.precision).max()
    with pytest.raises(FloatingPointError, match="step"):
        # 5/λ_max multiplies the top eigen-component by 4 each step: it overflows
        with np.errstate(over="ignore", invalid="ignore"):
            minimize_energy(gauss, rng.standard_normal((2, 3)), method="gd", step_size=step, max_steps=5000)


def test_bad_input(gauss):
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match="method"):
        minimize_energy(gauss, x, method="newton")
    with pytest.raises(ValueError, match="step_size"):
        minimize_energy(gauss, x, method="gd", step_size=-1.0)
    with pytest.raises(ValueError, match="max_steps"):
        minimize_energy(gauss, x, max_steps=0)
    with pytest.raises(ValueError, match="gtol"):
        minimize_energy(gauss, x, gtol=0.0)
    with pytest.raises(ValueError, match="x0"):
        minimize_energy(gauss, np.zeros(3))
    with pytest.raises(ValueError, match="lam"):
        denoise(gauss, x, lam=-1.0)
    with pytest.raises(ValueError, match="x_noisy"):
        denoise(gauss, np.zeros((2, 2)))


def test_lbfgs_out_of_steps_returns_unconverged(gauss, rng):
    x0 = 3.0 * rng.standard_normal((4, 3))
    res = minimize_energy(gauss, x0, method="lbfgs", max_steps=1, gtol=GTOL)
    assert not res.converged and res.n_steps == 1
    assert np.sum(res.energy) < np.sum(gauss.energy(x0))        # the one step went downhill in ΣE
    np.testing.assert_array_equal(res.grad_norm, np.linalg.norm(gauss.grad_x(res.x), axis=1))
