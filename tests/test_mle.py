"""Tests of ebm_ref.objectives.mle: exact maximum likelihood where log Z is known."""
import numpy as np
import pytest

from ebm_ref import check, params as P
from ebm_ref.energy import Energy
from ebm_ref.models import Gaussian
from ebm_ref.objectives import mle

#: closed-form quantities computed two ways in float64 agree to ~1e-14; 1e-11 leaves room.
TOL_EXACT = 1e-11
#: 200-node Gauss–Legendre on a box holding the mass of a unit-scale Gaussian: error < 1e-13.
TOL_QUADRATURE = 1e-10


class _Bernoulli(Energy):
    """Independent Bernoulli units, E(x) = -b·x, log Z = Σ softplus(b_i) (test-local)."""

    def __init__(self, b):
        b = np.asarray(b, dtype=float)
        super().__init__(b.size, {"b": b})

    def _energy(self, x):
        return -x @ self._params["b"]

    def _grad_params(self, x):
        return {"b": -x.copy()}


def _sym_loss(model, x, **kw):
    """loss as a function of the flat parameter vector; symmetric matrices are symmetrized."""
    def f(vec):
        p = P.unflatten(vec, model.params)
        for k in getattr(model, "symmetric_params", ()):
            p[k] = 0.5 * (p[k] + p[k].T)
        return mle.loss(model.with_params(p), x, **kw)[0]
    return f


@pytest.mark.exact
def test_gaussian_loss_is_negative_mean_log_prob(rng):
    g = Gaussian(np.array([0.3, -0.2]), np.array([[2.0, 0.4], [0.4, 1.0]]))
    x = rng.normal(size=(50, 2))
    value, _ = mle.loss(g, x)
    assert abs(value - (-np.mean(g.log_prob(x)))) < TOL_EXACT
    assert abs(mle.log_likelihood(g, x) + value) < TOL_EXACT


@pytest.mark.derivative
def test_gaussian_grads_match_finite_differences(rng):
    g = Gaussian(np.array([0.3, -0.2]), np.array([[2.0, 0.4], [0.4, 1.0]]))
    x = rng.normal(size=(40, 2))
    grads = mle.loss(g, x)[1]
    check.check_grad(_sym_loss(g, x), lambda v: P.flatten(grads), P.flatten(g.params), method="richardson")


@pytest.mark.exact
def test_gaussian_gradient_vanishes_at_closed_form_mle(rng):
    x = rng.normal(size=(300, 3)) @ rng.normal(size=(3, 3)) + 1.0
    g = Gaussian(x.mean(axis=0), np.linalg.inv(np.cov(x.T, bias=True)))
    grads = mle.loss(g, x)[1]
    assert max(np.max(np.abs(v)) for v in grads.values()) < TOL_EXACT * 100


@pytest.mark.exact
def test_quadrature_route_matches_closed_form():
    g = Gaussian(np.array([0.5]), np.array([[1.5]]))
    bounds = [(-12.0, 12.0)]
    closed = mle.grad_log_partition(g)
    quad = mle.grad_log_partition(g, bounds=bounds)
    for k in closed:
        np.testing.assert_allclose(quad[k], closed[k], rtol=0, atol=TOL_QUADRATURE)
    assert abs(mle.log_partition(g, bounds=bounds) - g.log_partition()) < TOL_QUADRATURE
    g2 = Gaussian(np.array([0.5, -1.0]), np.array([[1.5, 0.3], [0.3, 0.8]]))
    quad2 = mle.grad_log_partition(g2, bounds=[(-14, 14), (-16, 14)])
    for k, v in g2.grad_log_partition().items():
        np.testing.assert_allclose(quad2[k], v, rtol=0, atol=TOL_QUADRATURE)


@pytest.mark.exact
def test_enumeration_route_matches_closed_form_for_bernoulli():
    b = np.array([0.3, -1.2, 2.0])
    m = _Bernoulli(b)
    value, grads = mle.loss(m, np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]), method="enumerate")
    logz = np.sum(np.logaddexp(0.0, b))
    expect_value = np.mean([-(0.3 + 2.0), -2.0]) + logz
    assert abs(value - expect_value) < TOL_EXACT
    expect_grad = -np.array([0.5, 0.0, 1.0]) + 1.0 / (1.0 + np.exp(-b))   # −x̄ + σ(b)
    np.testing.assert_allclose(grads["b"], expect_grad, rtol=0, atol=TOL_EXACT)


def test_bad_input():
    g = Gaussian(np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="x"):
        mle.loss(g, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="method"):
        mle.loss(g, np.zeros((3, 2)), method="magic")
    with pytest.raises(ValueError, match="bounds"):
        mle.loss(g, np.zeros((3, 2)), method="quadrature")
    with pytest.raises(ValueError, match="bounds"):
        mle.loss(g, np.zeros((3, 2)), bounds=[(1.0, -1.0), (0, 1)])
    with pytest.raises(ValueError, match="bounds"):
        mle.loss(g, np.zeros((3, 2)), bounds=[(-1.0, 1.0)])
    with pytest.raises(NotImplementedError, match="enumerate"):
        mle.loss(_Bernoulli(np.zeros(2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="n_nodes"):
        mle.quadrature_grid([(0, 1)], n_nodes=1)


@pytest.mark.exact
def test_boltzmann_and_rbm_closed_form_matches_enumeration(rng):
    from ebm_ref.models.boltzmann import BoltzmannMachine
    from ebm_ref.models.rbm import BernoulliRBM

    J = rng.normal(size=(4, 4))
    J = 0.5 * (J + J.T)
    np.fill_diagonal(J, 0.0)
    bm = BoltzmannMachine(J, rng.normal(size=4))
    x = bm.sample(30, rng)
    v1, g1 = mle.loss(bm, x)
    v2, g2 = mle.loss(bm, x, method="enumerate")
    assert abs(v1 - v2) < TOL_EXACT and abs(v1 + bm.log_likelihood(x)) < TOL_EXACT
    for k in g1:
        np.testing.assert_allclose(g1[k], g2[k], rtol=0, atol=TOL_EXACT)
    # the model's own exact likelihood gradient is minus ours (off the unused diagonal of J)
    own = bm.exact_grad_log_likelihood(x)
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_allclose(-g1["J"][off], own["J"][off], rtol=0, atol=TOL_EXACT)
    np.testing.assert_allclose(-g1["h"], own["h"], rtol=0, atol=TOL_EXACT)
    rbm = BernoulliRBM(0.5 * rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=3))
    v = (rng.random((20, 4)) < 0.5).astype(float)
    a, ga = mle.loss(rbm, v)
    b, gb = mle.loss(rbm, v, method="enumerate")
    assert abs(a - b) < TOL_EXACT
    for k in ga:
        np.testing.assert_allclose(ga[k], gb[k], rtol=0, atol=TOL_EXACT)


@pytest.mark.exact
def test_fit_expfam_energy_reaches_family_mle(rng):
    from ebm_ref import train
    from ebm_ref.models.expfam import ExpFamEnergy, Gamma

    x = rng.gamma(2.5, 1.0 / 1.5, size=(400, 1))
    m, _ = train.fit(ExpFamEnergy([1.0, -1.0], family=Gamma), x, mle.objective(), train.Adam(0.05), 3000, rng)
    ref = Gamma.mle(x)
    np.testing.assert_allclose(m.params["eta"], ref.eta, rtol=1e-6)
