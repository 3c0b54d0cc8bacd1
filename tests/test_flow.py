"""Tests of ebm_ref.models.flow: exact density (quadrature, independent change of variables),
invertibility, hand-written gradients against finite differences, bad input."""
import numpy as np
import pytest
from scipy import stats

from ebm_ref import check
from ebm_ref import params as P
from ebm_ref.models.flow import AffineFlow, CouplingFlow, Flow
from ebm_ref.objectives.mle import quadrature_grid

#: forward∘inverse is a handful of float64 operations per layer on O(1) numbers.
TOL_INVERT = 1e-12
#: Gauss–Legendre with 400 nodes per axis on [-16, 16]² integrates the smooth density of the
#: hand-set flow to ~1e-13; its log-scales are bounded by 0.6, so the mass outside is < 1e-20.
TOL_QUAD = 1e-9
#: log-density by two routes (closed form vs inverse pass) on O(1) numbers.
TOL_LOGPDF = 1e-12
#: numerical Jacobian (Richardson) determinant vs the analytic log-det.
TOL_JAC = 1e-8


def _fixed_flow():
    """A flow with hand-set weights (no seed): |s| <= 0.6 per layer, so the tails stay Gaussian."""
    m0, m1 = np.array([True, False]), np.array([False, True])
    W1 = np.array([[0.8, -0.5, 0.3]])
    Ws, Wt = np.array([[0.2], [-0.15], [0.1]]), np.array([[0.7], [0.4], [-0.6]])
    return Flow([AffineFlow.from_mean_cov([0.3, -0.2], [[1.2, 0.3], [0.3, 0.7]]),
                 CouplingFlow(W1, [0.1, 0.0, -0.2], Ws, [0.05], Wt, [0.3], m0),
                 CouplingFlow(-W1, [0.0, 0.2, 0.1], -Ws, [-0.1], 0.5 * Wt, [-0.2], m1)])


def _flow(rng):
    return Flow.realnvp(2, 3, 6, rng, scale=0.4, mean=[0.3, -0.2], covariance=[[1.2, 0.3], [0.3, 0.7]])


@pytest.mark.exact
def test_invertibility(rng):
    f = _flow(rng)
    x = 2.0 * rng.standard_normal((50, 2))
    z, ld_inv = f.inverse(x)
    x2, ld_fwd = f.forward(z)
    assert np.max(np.abs(x2 - x)) < TOL_INVERT
    assert np.max(np.abs(ld_inv + ld_fwd)) < TOL_INVERT
    z2, _ = f.inverse(f.forward(z)[0])
    assert np.max(np.abs(z2 - z)) < TOL_INVERT


@pytest.mark.exact
def test_log_prob_integrates_to_one(rng):
    f = _fixed_flow()
    pts, w = quadrature_grid([(-16, 16), (-16, 16)], 400)
    total = float(np.sum(w * np.exp(f.log_prob(pts))))
    assert abs(total - 1.0) < TOL_QUAD


@pytest.mark.exact
def test_affine_flow_matches_scipy(rng):
    mean = np.array([0.4, -1.0, 2.0])
    A = rng.standard_normal((3, 3))
    cov = A @ A.T + 0.5 * np.eye(3)
    f = Flow([AffineFlow.from_mean_cov(mean, cov)])
    x = rng.standard_normal((20, 3))
    ref = stats.multivariate_normal(mean, cov).logpdf(x)
    assert np.max(np.abs(f.log_prob(x) - ref)) < TOL_LOGPDF


@pytest.mark.exact
def test_change_of_variables_independent(rng):
    """log q(x) = log N(z) − log|det ∂T/∂z| with the Jacobian by finite differences of forward."""
    f = _flow(rng)
    x = f.sample(8, rng)
    z, _ = f.inverse(x)
    ref = []
    for zi in z:
        J = check.numerical_jacobian(lambda u: f.forward(u[None])[0][0], zi, method="richardson")
        ref.append(stats.multivariate_normal(np.zeros(2), np.eye(2)).logpdf(zi) - np.log(abs(np.linalg.det(J))))
    assert np.max(np.abs(f.log_prob(x) - np.array(ref))) < TOL_JAC


@pytest.mark.exact
def test_sample_with_log_prob_consistent(rng):
    f = _flow(rng)
    x, lq, z = f.sample_with_log_prob(30, rng)
    assert np.max(np.abs(lq - f.log_prob(x))) < TOL_LOGPDF
    assert np.max(np.abs(f.forward(z)[0] - x)) < TOL_INVERT
    assert f.sample(0, rng).shape == (0, 2)


@pytest.mark.derivative
def test_grad_log_prob_fd(rng):
    f = _flow(rng)
    x = f.sample(9, rng)
    w = rng.standard_normal(9)
    th = P.flatten(f.params)
    check.check_grad(lambda t: np.sum(w * f.with_params(P.unflatten(t, f.params)).log_prob(x)),
                     lambda t: P.flatten(f.grad_log_prob(x, w)), th, method="richardson")


@pytest.mark.derivative
def test_grad_reparam_fd(rng):
    f = _flow(rng)
    z = rng.standard_normal((7, 2))
    a = rng.standard_normal((7, 2))
    lam = rng.standard_normal(7)
    th = P.flatten(f.params)

    def g(t):
        xx, ld = f.with_params(P.unflatten(t, f.params)).forward(z)
        return np.sum(a * xx) + np.sum(lam * ld)

    check.check_grad(g, lambda t: P.flatten(f.grad_reparam(z, a, lam)), th, method="richardson")


@pytest.mark.derivative
def test_score_fd(rng):
    f = _flow(rng)
    x = f.sample(6, rng)
    check.check_grad(lambda y: f.log_prob(y.reshape(-1, 2)).sum(), lambda y: f.score(y.reshape(-1, 2)).ravel(),
                     x.ravel(), method="richardson")
    assert np.allclose(f.grad_x(x), -f.score(x))
    assert np.allclose(f.energy(x), -f.log_prob(x)) and f.log_partition() == 0.0


@pytest.mark.derivative
def test_three_dim_coupling_fd(rng):
    layers = [AffineFlow.identity(3), CouplingFlow.init(np.array([True, False, True]), 4, rng, 0.5),
              CouplingFlow.init(np.array([False, True, False]), 4, rng, 0.5)]
    f = Flow(layers)
    x = f.sample(5, rng)
    th = P.flatten(f.params)
    check.check_grad(lambda t: np.sum(f.with_params(P.unflatten(t, f.params)).log_prob(x)),
                     lambda t: P.flatten(f.grad_log_prob(x)), th, method="richardson")


@pytest.mark.statistical
def test_samples_match_quadrature_mean(rng):
    """Sample mean of 20000 draws vs the quadrature mean: |z| < 4 per coordinate (FPR ~ 1.3e-4)."""
    f = _fixed_flow()
    pts, w = quadrature_grid([(-16, 16), (-16, 16)], 400)
    q = w * np.exp(f.log_prob(pts))
    mean = q @ pts
    x = f.sample(20000, rng)
    zscore = (x.mean(0) - mean) / (x.std(0, ddof=1) / np.sqrt(len(x)))
    assert np.all(np.abs(zscore) < 4.0)


def test_bad_input(rng):
    with pytest.raises(ValueError, match="mu"):
        AffineFlow(np.zeros((2, 2)), np.zeros(2), np.zeros(1))
    with pytest.raises(ValueError, match="log_diag"):
        AffineFlow(np.zeros(2), np.zeros(3), np.zeros(1))
    with pytest.raises(ValueError, match="offdiag"):
        AffineFlow(np.zeros(2), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="log_diag"):
        AffineFlow(np.zeros(2), [np.nan, 0.0], np.zeros(1))
    with pytest.raises(ValueError, match="covariance"):
        AffineFlow.from_mean_cov(np.zeros(2), [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="mask"):
        CouplingFlow.init(np.array([True, True]), 3, rng)
    with pytest.raises(ValueError, match="mask"):
        CouplingFlow(np.zeros((1, 2)), np.zeros(2), np.zeros((2, 1)), np.zeros(1), np.zeros((2, 1)), np.zeros(1), [1, 0])
    with pytest.raises(ValueError, match="W1"):
        CouplingFlow(np.zeros((2, 2)), np.zeros(2), np.zeros((2, 1)), np.zeros(1), np.zeros((2, 1)), np.zeros(1),
                     np.array([True, False]))
    with pytest.raises(ValueError, match="hidden"):
        CouplingFlow.init(np.array([True, False]), 0, rng)
    with pytest.raises(ValueError, match="layers"):
        Flow([])
    with pytest.raises(ValueError, match="layers"):
        Flow([AffineFlow.identity(2), AffineFlow.identity(3)])
    with pytest.raises(ValueError, match="layers"):
        Flow(["not a layer"])
    with pytest.raises(ValueError, match="dim"):
        Flow.realnvp(1, 2, 3, rng)
    f = _flow(rng)
    with pytest.raises(ValueError, match="x"):
        f.log_prob(np.zeros(2))
    with pytest.raises(ValueError, match="x"):
        f.log_prob(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="params"):
        f.with_params({"a": np.zeros(2)})
    with pytest.raises(ValueError, match="grad_x"):
        f.grad_reparam(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="weights"):
        f.grad_log_prob(np.zeros((3, 2)), np.ones(4))
    with pytest.raises(ValueError, match="n"):
        f.sample(-1, rng)
    with pytest.raises(ValueError, match="rng"):
        f.sample(3, None)
