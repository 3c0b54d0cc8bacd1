"""Tests of ebm_ref.objectives.adversarial: the variational bound (closed form, Monte Carlo,
gap = KL, equality and zero variance at q = p), the gradients of the bound, of the minimax
objective and of flow contrastive estimation, short training runs, bad input."""
import numpy as np
import pytest

from ebm_ref import check
from ebm_ref import params as P
from ebm_ref.models import Gaussian
from ebm_ref.models.flow import AffineFlow, Flow
from ebm_ref.models.mlp import MLPEnergy
from ebm_ref.objectives import adversarial as adv
from ebm_ref.objectives import nce

#: closed forms of O(1) quantities (traces, log-determinants of 2×2 / 3×3 matrices).
TOL_CLOSED = 1e-12
#: when q = p the integrand −E − log q is log Z at every point, up to rounding of O(1) sums.
TOL_ZERO_VAR = 1e-12

MODEL = Gaussian([0.5, -1.0], [[2.0, 0.6], [0.6, 1.0]])


def _random_gaussian(rng, d=2):
    A = rng.standard_normal((d, d))
    return rng.standard_normal(d), A @ A.T + 0.2 * np.eye(d)


@pytest.mark.exact
def test_bound_below_log_z_and_gap_is_kl(rng):
    """For 20 random Gaussian q: bound ≤ log Z, and log Z − bound = KL(q‖p) in closed form."""
    lz = MODEL.log_partition()
    for _ in range(20):
        m, S = _random_gaussian(rng)
        for q in (Gaussian.from_covariance(m, S), Flow([AffineFlow.from_mean_cov(m, S)])):
            b = adv.variational_bound_exact(MODEL, q)
            assert b <= lz + TOL_CLOSED
            kl = adv.kl_gaussians(m, S, MODEL.mean, MODEL.covariance)
            assert abs((lz - b) - kl) < TOL_CLOSED * max(1.0, kl)


@pytest.mark.exact
def test_bound_equality_at_q_equal_p(rng):
    q = Gaussian(MODEL.mean, MODEL.precision)
    assert abs(adv.variational_bound_exact(MODEL, q) - MODEL.log_partition()) < TOL_CLOSED
    fq = Flow([AffineFlow.from_mean_cov(MODEL.mean, MODEL.covariance)])
    assert abs(adv.variational_bound_exact(MODEL, fq) - MODEL.log_partition()) < TOL_CLOSED


@pytest.mark.exact
def test_monte_carlo_zero_variance_at_q_equal_p(rng):
    """q = p: every sample of −E(x) − log q(x) equals log Z; the estimator has no variance."""
    for q in (Gaussian(MODEL.mean, MODEL.precision), Flow([AffineFlow.from_mean_cov(MODEL.mean, MODEL.covariance)])):
        _, w = adv.bound_terms(MODEL, q, 500, rng)
        assert np.max(np.abs(w - MODEL.log_partition())) < TOL_ZERO_VAR
        value, se = adv.variational_bound(MODEL, q, 500, rng)
        assert se < TOL_ZERO_VAR and abs(value - MODEL.log_partition()) < TOL_ZERO_VAR


@pytest.mark.exact
def test_affine_flow_moments_and_entropy(rng):
    m, S = _random_gaussian(rng, 3)
    f = Flow([AffineFlow.from_mean_cov(m, S), AffineFlow(np.ones(3), [0.1, -0.2, 0.3], [0.5, -0.1, 0.2])])
    m2, S2 = adv.gaussian_moments(f)
    x = f.sample(5, rng)
    from scipy import stats
    assert np.max(np.abs(f.log_prob(x) - stats.multivariate_normal(m2, S2).logpdf(x))) < TOL_CLOSED
    assert abs(adv.entropy(f) - stats.multivariate_normal(m2, S2).entropy()) < TOL_CLOSED


@pytest.mark.statistical
def test_monte_carlo_matches_closed_form(rng):
    """5 random q, 20000 draws each: |MC − exact| < 4 SE (FPR ≤ 5 × 6.3e-5)."""
    for _ in range(5):
        m, S = _random_gaussian(rng)
        q = Flow([AffineFlow.from_mean_cov(m, S)])
        v, se = adv.variational_bound(MODEL, q, 20_000, rng)
        assert abs(v - adv.variational_bound_exact(MODEL, q)) < 4.0 * se


@pytest.mark.derivative
def test_bound_gradient_fd(rng):
    """Reparameterized gradient of the Monte Carlo bound, base draws fixed by the seed."""
    q = Flow.realnvp(2, 2, 4, rng, scale=0.4)
    seed = int(rng.integers(2**31))
    th = P.flatten(q.params)

    def f(t):
        return adv.bound_grads_q(MODEL, q.with_params(P.unflatten(t, q.params)), 50, seed)[0]

    check.check_grad(f, lambda t: P.flatten(adv.bound_grads_q(MODEL, q, 50, seed)[1]), th, method="richardson")


@pytest.mark.derivative
def test_minimax_gradients_fd(rng):
    model = MLPEnergy.init([2, 5], rng)
    q = Flow.realnvp(2, 1, 3, rng, scale=0.4)
    x = rng.standard_normal((30, 2))
    seed = int(rng.integers(2**31))
    _, gm, gq = adv.minimax_grads(model, q, x, 40, seed)
    check.check_grad(lambda t: adv.minimax_grads(model.with_params(P.unflatten(t, model.params)), q, x, 40, seed)[0],
                     lambda t: P.flatten(gm), P.flatten(model.params), method="richardson")
    check.check_grad(lambda t: adv.minimax_grads(model, q.with_params(P.unflatten(t, q.params)), x, 40, seed)[0],
                     lambda t: P.flatten(gq), P.flatten(q.params), method="richardson")


@pytest.mark.derivative
def test_fce_gradients_fd(rng):
    model = MLPEnergy.init([2, 5], rng)
    flow = Flow.realnvp(2, 2, 4, rng, scale=0.4)
    x = rng.standard_normal((25, 2))
    z = rng.standard_normal((35, 2))
    J, ge, gf = adv.fce_grads(model, 0.3, flow, x, z, nu=1.4)
    J2, ge2 = nce.loss(model, 0.3, x, flow.forward(z)[0], noise=flow, nu=1.4)
    assert J == J2 and all(np.array_equal(ge[k], ge2[k]) for k in ge)
    check.check_grad(lambda t: adv.fce_grads(model, 0.3, flow.with_params(P.unflatten(t, flow.params)), x, z, 1.4)[0],
                     lambda t: P.flatten(gf), P.flatten(flow.params), method="richardson")


@pytest.mark.statistical
def test_fit_minimax_reaches_mle(rng):
    """Gaussian EBM vs an affine-flow q on 2-D Gaussian data: the EBM ends near the MLE.

    Tolerance 0.1 on mean and covariance entries: the stationary point is the MLE, and the
    remaining error is the stochastic-gradient noise of Adam at lr 0.02 with 512 q-samples
    (its spread across seeds is ~0.02-0.03, so 0.1 is more than 3 of those)."""
    x = MODEL.sample(4000, rng)
    m, q, v = adv.fit_minimax(Gaussian(np.zeros(2), np.eye(2)), Flow([AffineFlow.identity(2)]), x, rng,
                              n_steps=1500, lr_model=0.02, lr_q=0.02, n_q=512, q_steps=2)
    assert np.max(np.abs(m.mean - x.mean(0))) < 0.1
    assert np.max(np.abs(m.covariance - np.cov(x.T, bias=True))) < 0.1
    mq, Sq = adv.gaussian_moments(q)
    assert np.max(np.abs(mq - m.mean)) < 0.1 and np.max(np.abs(Sq - m.covariance)) < 0.1
    assert np.all(np.isfinite(v))


@pytest.mark.statistical
def test_fit_fce_learns_gaussian(rng):
    """FCE on 1-D Gaussian data: the EBM mean and c end near the truth.  Tolerance 0.15: the
    adversarial game is run by stochastic Adam steps (batch 256), whose spread is ~0.03."""
    truth = Gaussian([0.8], [[1.0 / 0.6**2]])
    x = truth.sample(4000, rng)
    model, c, flow, losses = adv.fit_fce(Gaussian([0.0], [[1.0]]), Flow([AffineFlow.from_mean_cov([0.0], [[4.0]])]),
                                         x, rng, n_steps=1500, lr_ebm=0.02, lr_flow=0.005)
    assert abs(model.mean[0] - 0.8) < 0.15
    assert abs(model.covariance[0, 0] - 0.36) < 0.15
    assert abs(c - model.log_partition()) < 0.15
    assert np.all(np.isfinite(losses))


def test_bad_input(rng):
    q = Flow([AffineFlow.identity(2)])
    with pytest.raises(ValueError, match="q"):
        adv.variational_bound(MODEL, object(), 10, rng)
    with pytest.raises(ValueError, match="dimension"):
        adv.variational_bound(MODEL, Flow([AffineFlow.identity(3)]), 10, rng)
    with pytest.raises(ValueError, match="n"):
        adv.variational_bound(MODEL, q, 0, rng)
    with pytest.raises(ValueError, match="model"):
        adv.variational_bound_exact(MLPEnergy.init([2, 3], rng), q)
    with pytest.raises(ValueError, match="q"):
        adv.variational_bound_exact(MODEL, Flow.realnvp(2, 1, 3, rng))
    with pytest.raises(ValueError, match="q"):
        adv.bound_grads_q(MODEL, Gaussian(np.zeros(2), np.eye(2)), 10, rng)
    with pytest.raises(ValueError, match="x_data"):
        adv.minimax_grads(MODEL, q, np.zeros((4, 3)), 10, rng)
    with pytest.raises(ValueError, match="n_q"):
        adv.minimax_grads(MODEL, q, np.zeros((4, 2)), 0, rng)
    with pytest.raises(ValueError, match="lr_model"):
        adv.fit_minimax(MODEL, q, np.zeros((4, 2)), rng, lr_model=0.0)
    with pytest.raises(ValueError, match="lr_q"):
        adv.fit_minimax(MODEL, q, np.zeros((4, 2)), rng, lr_q=-1.0)
    with pytest.raises(ValueError, match="nu"):
        adv.fce_grads(MODEL, 0.0, q, np.zeros((4, 2)), np.zeros((4, 2)), nu=0.0)
    with pytest.raises(ValueError, match="z"):
        adv.fce_grads(MODEL, 0.0, q, np.zeros((4, 2)), np.zeros((4, 3)), nu=1.0)
    with pytest.raises(ValueError, match="log_z"):
        adv.fce_grads(MODEL, np.nan, q, np.zeros((4, 2)), np.zeros((4, 2)), nu=1.0)
    with pytest.raises(ValueError, match="lr_ebm"):
        adv.fit_fce(MODEL, q, np.zeros((4, 2)), rng, lr_ebm=0.0)
    with pytest.raises(ValueError, match="lr_flow"):
        adv.fit_fce(MODEL, q, np.zeros((4, 2)), rng, lr_flow=0.0)
    with pytest.raises(ValueError, match="data"):
        adv.fit_fce(MODEL, q, np.zeros(4), rng)


@pytest.mark.statistical
def test_bound_ascent_reaches_log_z(rng):
    """Ascending the Monte Carlo bound over an affine flow (Adam, lr 0.02, 64 draws, 1500 steps)
    closes the gap KL(q‖p) from its start (0.70 at q = N(0, I)) to below 0.01: the gradient's
    variance vanishes as q → p (the zero-variance property), Adam's fixed step leaves ~1e-3."""
    from ebm_ref.train import Adam

    q = Flow([AffineFlow.identity(2)])
    gap0 = MODEL.log_partition() - adv.variational_bound_exact(MODEL, q)
    opt = Adam(lr=0.02)
    for _ in range(1500):
        _, g = adv.bound_grads_q(MODEL, q, 64, rng)
        q = q.with_params(opt.step(q.params, {k: -v for k, v in g.items()}))
    gap = MODEL.log_partition() - adv.variational_bound_exact(MODEL, q)
    assert gap0 > 0.5 and 0.0 <= gap < 0.01
