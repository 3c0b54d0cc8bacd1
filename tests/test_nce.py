"""Tests of ebm_ref.objectives.nce: the derivation steps agree, the Bayes classifier's loss
and logit, gradients against finite differences, the statistical behaviour of the estimate
of log Z, and bad input."""
import numpy as np
import pytest
from scipy import integrate, stats

from ebm_ref import check
from ebm_ref import params as P
from ebm_ref.models import Gaussian, GaussianMixture
from ebm_ref.models.flow import Flow
from ebm_ref.models.mlp import MLPEnergy
from ebm_ref.objectives import nce

#: sums of O(1) softplus terms over at most a few thousand points, in float64.
TOL_FORMS = 1e-12
#: Gauss–Legendre (400 nodes) against scipy's adaptive quad on smooth Gaussian integrands.
TOL_QUAD = 1e-9
#: Richardson central differences of a smooth function of a handful of parameters.
RTOL_FD = 1e-7

TRUTH_1D = Gaussian([0.7], [[1.0 / 0.8**2]])
NOISE_1D = Gaussian([0.0], [[1.0 / 1.5**2]])


def _binary_entropy_prior(nu):
    pi = 1.0 / (1.0 + nu)
    return -pi * np.log(pi) - (1 - pi) * np.log(1 - pi)


@pytest.mark.exact
@pytest.mark.parametrize("nu", [0.5, 1.0, 4.0])
def test_bayes_logit_identity(rng, nu):
    """logit D* = log p_d − log ν p_n, pointwise, and the model's logit equals it at the truth."""
    x = 2.0 * rng.standard_normal((40, 1))
    D = nce.bayes_optimal_classifier(TRUTH_1D.log_prob, NOISE_1D.log_prob, x, nu)
    lhs = np.log(D) - np.log1p(-D)
    rhs = stats.norm(0.7, 0.8).logpdf(x[:, 0]) - np.log(nu) - stats.norm(0, 1.5).logpdf(x[:, 0])
    assert np.max(np.abs(lhs - rhs)) < 1e-10      # log(D/(1−D)) loses a few digits where D ≈ 1
    G = nce.logit(TRUTH_1D, TRUTH_1D.log_partition(), x, NOISE_1D, nu)
    assert np.max(np.abs(G - rhs)) < TOL_FORMS


@pytest.mark.exact
@pytest.mark.parametrize("nu", [0.3, 1.0, 5.0])
def test_bayes_loss_when_noise_is_data(rng, nu):
    """p_n = p_d: D* = 1/(1+ν) everywhere, so J = H_b(1/(1+ν)) exactly, for any sample."""
    xd, xn = TRUTH_1D.sample(100, rng), TRUTH_1D.sample(70, rng)
    J = nce.bayes_optimal_loss(TRUTH_1D.log_prob, TRUTH_1D.log_prob, xd, xn, nu)
    assert abs(J - _binary_entropy_prior(nu)) < TOL_FORMS
    J2, _ = nce.loss(TRUTH_1D, TRUTH_1D.log_partition(), xd, xn, noise=TRUTH_1D, nu=nu)
    assert abs(J2 - _binary_entropy_prior(nu)) < TOL_FORMS


@pytest.mark.exact
@pytest.mark.parametrize("nu", [0.5, 2.0])
def test_population_loss_at_truth_closed_form(nu):
    """J(θ*, log Z) = H_b − [π KL(p_d‖m) + (1−π) KL(p_n‖m)], m = π p_d + (1−π) p_n (scipy quad)."""
    pi = 1.0 / (1.0 + nu)
    pd, pn = stats.norm(0.7, 0.8), stats.norm(0.0, 1.5)

    def m(x):
        return pi * pd.pdf(x) + (1 - pi) * pn.pdf(x)

    kl_d = integrate.quad(lambda x: pd.pdf(x) * np.log(pd.pdf(x) / m(x)), -15, 15, epsabs=1e-13)[0]
    kl_n = integrate.quad(lambda x: pn.pdf(x) * np.log(pn.pdf(x) / m(x)), -15, 15, epsabs=1e-13)[0]
    right = _binary_entropy_prior(nu) - pi * kl_d - (1 - pi) * kl_n
    left = nce.population_loss_quadrature(TRUTH_1D, TRUTH_1D.log_partition(), TRUTH_1D.log_prob,
                                          NOISE_1D, nu, (-15, 15))
    assert abs(left - right) < TOL_QUAD


@pytest.mark.exact
def test_population_gradient_vanishes_at_truth():
    """The population loss is stationary at θ = θ*, c = log Z(θ*) (Richardson on the quadrature)."""
    nu = 2.0
    lz = TRUTH_1D.log_partition()

    def J(mu, prec, c):
        return nce.population_loss_quadrature(Gaussian([mu], [[prec]]), c, TRUTH_1D.log_prob, NOISE_1D, nu, (-15, 15))

    mu0, p0 = 0.7, 1.0 / 0.8**2
    d_mu = check.richardson(lambda t: J(mu0 + float(t), p0, lz), 0.0, 1.0, h=1e-2)
    d_p = check.richardson(lambda t: J(mu0, p0 + float(t), lz), 0.0, 1.0, h=1e-2)
    d_c = check.richardson(lambda t: J(mu0, p0, lz + float(t)), 0.0, 1.0, h=1e-2)
    assert max(abs(d_mu), abs(d_p), abs(d_c)) < 1e-9
    # and c away from log Z is worse
    assert J(mu0, p0, lz + 0.1) > J(mu0, p0, lz) and J(mu0, p0, lz - 0.1) > J(mu0, p0, lz)


@pytest.mark.exact
@pytest.mark.parametrize("nu", [0.5, 1.0, 3.0])
def test_three_forms_agree(rng, nu):
    """lecture's logsumexp form = −(1+ν) × probability form = −(1+ν) × softplus form."""
    model = Gaussian([0.2, -0.3], [[1.5, 0.2], [0.2, 0.9]])
    noise = Gaussian([0.0, 0.0], 0.5 * np.eye(2))
    xd, xn = rng.standard_normal((60, 2)), noise.sample(90, rng)
    c = 1.1
    J, _ = nce.loss(model, c, xd, xn, noise=noise, nu=nu)
    Jp = nce.loss_probability_form(model, c, xd, xn, noise, nu)
    ll = nce.classification_log_likelihood(model, c, xd, xn, noise, nu)
    assert abs(J - Jp) < TOL_FORMS
    assert abs(-ll / (1 + nu) - J) < TOL_FORMS


@pytest.mark.derivative
@pytest.mark.parametrize("nu", [0.5, 2.0])
def test_loss_gradient_fd_mlp(rng, nu):
    """∇θ J and ∂J/∂c against Richardson differences, an MLP energy with a mixture as noise."""
    model = MLPEnergy.init([2, 6, 5], rng)
    noise = GaussianMixture([0.4, 0.6], [[-1.0, 0.0], [1.0, 0.5]], [np.eye(2), 0.5 * np.eye(2)])
    xd, xn = rng.standard_normal((25, 2)), noise.sample(40, rng)
    tmpl = dict(model.params)
    tmpl["log_z"] = np.asarray(0.4)

    def J(t):
        p = P.unflatten(t, tmpl)
        c = float(p.pop("log_z"))
        return nce.loss(model.with_params(p), c, xd, xn, noise=noise, nu=nu)[0]

    check.check_grad(J, lambda t: P.flatten(nce.loss(model, 0.4, xd, xn, noise=noise, nu=nu)[1]),
                     P.flatten(tmpl), method="richardson", rtol=RTOL_FD)


@pytest.mark.derivative
def test_loss_gradient_symmetric_precision(rng):
    """Gaussian energy: the precision gradient along symmetric directions, the mean and c."""
    model = Gaussian([0.2, -0.3], [[1.5, 0.2], [0.2, 0.9]])
    noise = Gaussian([0.0, 0.0], 0.5 * np.eye(2))
    xd, xn = rng.standard_normal((30, 2)), noise.sample(30, rng)
    _, g = nce.loss(model, 1.0, xd, xn, noise=noise, nu=1.5)
    S = np.array([[0.3, -0.7], [-0.7, 0.2]])
    num = check.richardson(lambda t: nce.loss(model.replace(precision=model.precision + float(t) * S), 1.0, xd, xn,
                                              noise=noise, nu=1.5)[0], 0.0, 1.0, h=1e-2)
    assert abs(num - np.sum(g["precision"] * S)) < RTOL_FD * max(1.0, abs(num))
    u = np.array([0.4, -1.1])
    num = check.richardson(lambda t: nce.loss(model.replace(mean=model.mean + float(t) * u), 1.0, xd, xn,
                                              noise=noise, nu=1.5)[0], 0.0, 1.0, h=1e-2)
    assert abs(num - g["mean"] @ u) < RTOL_FD * max(1.0, abs(num))
    num = check.richardson(lambda t: nce.loss(model, 1.0 + float(t), xd, xn, noise=noise, nu=1.5)[0], 0.0, 1.0)
    assert abs(num - float(g["log_z"])) < RTOL_FD


@pytest.mark.derivative
def test_flow_as_noise(rng):
    flow = Flow.realnvp(2, 2, 4, rng, scale=0.3)
    model = Gaussian([0.2, -0.3], [[1.5, 0.2], [0.2, 0.9]])
    xd, xn = rng.standard_normal((20, 2)), flow.sample(20, rng)
    J, g = nce.loss(model, 0.5, xd, xn, noise=flow, nu=1.0)
    assert np.isfinite(J) and set(g) == {"mean", "precision", "log_z"}
    num = check.richardson(lambda t: nce.loss(model, 0.5 + float(t), xd, xn, noise=flow, nu=1.0)[0], 0.0, 1.0)
    assert abs(num - float(g["log_z"])) < RTOL_FD


@pytest.mark.statistical
def test_nce_gaussian_recovers_log_z(rng):
    """n = 10⁴: ĉ within 3 standard errors of the exact log Z (two-sided FPR 0.27%);
    each mean/precision entry within 4 standard errors of the truth (FPR 6.3e-5 each, 5 entries);
    the fitted model's own log Z agrees with ĉ within 3 standard errors."""
    truth = Gaussian([0.5, -1.0], [[2.0, 0.6], [0.6, 1.0]])
    noise = Gaussian.from_covariance([0.0, -0.5], 2.0 * np.eye(2))
    x = truth.sample(10_000, rng)
    r = nce.fit(Gaussian(np.zeros(2), np.eye(2)), x, noise, 1.0, rng)
    _, g = nce.loss(r.model, r.log_z, x, r.x_noise, noise=noise, nu=1.0)
    assert max(np.max(np.abs(v)) for v in g.values()) < 1e-6      # converged: optimizer error ≪ standard error
    assert abs(r.log_z - truth.log_partition()) < 3.0 * r.log_z_stderr
    assert np.all(np.abs(r.model.mean - truth.mean) < 4.0 * r.stderr["mean"])
    assert np.all(np.abs(r.model.precision - truth.precision) < 4.0 * r.stderr["precision"])
    assert abs(r.log_z - r.model.log_partition()) < 3.0 * r.log_z_stderr
    assert r.log_z_trace.shape == (3000,) and r.loss.shape == (3000,)


def _nce_minimizer_gaussian_1d(x, y, noise, nu):
    r"""The NCE estimate of a 1-D Gaussian energy with free c, by Newton's method (independent of ``nce.fit``).

    With natural parameters :math:`\eta` and features :math:`\varphi(x) = (x, x^2, 1)`, the logit
    :math:`G = -E_\theta(x) - c - \log\nu p_n(x) = \eta^\top\varphi(x) - \log\nu p_n(x)`
    is linear in η, so the NCE loss is a logistic regression with an offset: convex in η, its
    minimizer unique; :math:`\mathrm{prec} = -2\eta_2`, :math:`\mu = \eta_1/\mathrm{prec}`,
    :math:`c = -\eta_0 - \tfrac12\mathrm{prec}\,\mu^2`.  Newton steps with step halving, from the
    moment fit of the data, until the gradient of the mean loss is below 1e-12 (a step is halved
    while it raises the loss by more than rounding).
    """
    from ebm_ref.numerics.special import sigmoid, softplus

    feats = [np.column_stack([z, z**2, np.ones_like(z)]) for z in (x[:, 0], y[:, 0])]
    offset = [np.log(nu) + noise.log_prob(z) for z in (x, y)]
    sign = (-1.0, 1.0)                                   # data: softplus(−G), noise: softplus(G)

    n = x.shape[0] + y.shape[0]

    def loss_grad_hess(eta):                             # the mean over all n points
        value, grad, hess = 0.0, np.zeros(3), np.zeros((3, 3))
        for F, off, sg in zip(feats, offset, sign):
            G = F @ eta - off
            value += float(np.sum(softplus(sg * G)))
            grad += F.T @ (sg * sigmoid(sg * G))
            s = sigmoid(G) * sigmoid(-G)
            hess += (F * s[:, None]).T @ F
        return value / n, grad / n, hess / n

    m, v = float(np.mean(x)), float(np.var(x))
    eta = np.array([m / v, -0.5 / v, -0.5 * m * m / v - 0.5 * np.log(2.0 * np.pi * v)])
    value, grad, hess = loss_grad_hess(eta)
    for _ in range(50):
        if np.max(np.abs(grad)) < 1e-12:
            break
        step, t = np.linalg.solve(hess, grad), 1.0
        while loss_grad_hess(eta - t * step)[0] > value + 1e-14 and t > 1e-8:
            t /= 2.0
        eta = eta - t * step
        value, grad, hess = loss_grad_hess(eta)
    else:
        raise AssertionError(f"Newton did not converge: gradient {grad}")
    prec = -2.0 * eta[1]
    mu = eta[0] / prec
    return Gaussian([mu], [[prec]]), -eta[2] - 0.5 * prec * mu * mu


def test_lbfgs_fit_equals_independent_newton_minimizer():
    """``nce.fit(method="lbfgs")`` returns the minimizer of J found independently by Newton's method on
    the convex logistic form (same data and noise points).  Both stop at max |∇J| ≤ 1e-10 ~ 1e-12 and J's
    curvature here is ≳ 0.05, so the two minimizers differ by ≲ 2e-9: atol 1e-7 leaves room for rounding
    in two different parametrisations (η versus mean, precision, c)."""
    truth = Gaussian([0.3], [[1.0 / 0.7**2]])
    noise = Gaussian([0.0], [[1.0 / 1.5**2]])
    x = truth.sample(1500, np.random.default_rng(11))
    r = nce.fit(Gaussian([0.0], [[1.0]]), x, noise, 2.0, np.random.default_rng(12), method="lbfgs", gtol=1e-10)
    model, log_z = _nce_minimizer_gaussian_1d(x, r.x_noise, noise, 2.0)
    np.testing.assert_allclose(r.log_z, log_z, atol=1e-7)
    np.testing.assert_allclose(r.model.mean, model.mean, atol=1e-7)
    np.testing.assert_allclose(r.model.precision, model.precision, atol=1e-7)


@pytest.mark.statistical
def test_standard_error_calibrated(rng):
    """40 independent fits (n = 1500, ν = 2): Σ z² ~ χ²₄₀ if the sandwich standard error that
    ``nce.fit`` reports is right; accept between its 0.05% and 99.95% quantiles (two-sided FPR 0.1%).

    Each fit is the deterministic L-BFGS run to max |∇J| ≤ 1e-9, so the optimizer's error (≲ 2e-8)
    is far below the standard error of ĉ (≈ 0.03); ``test_lbfgs_fit_equals_independent_newton_minimizer``
    checks that this run lands on the minimizer of J.
    """
    truth = Gaussian([0.3], [[1.0 / 0.7**2]])
    noise = Gaussian([0.0], [[1.0 / 1.5**2]])
    z = []
    for _ in range(40):
        x = truth.sample(1500, rng)
        r = nce.fit(Gaussian([0.0], [[1.0]]), x, noise, 2.0, rng, method="lbfgs")
        assert _max_grad(r, x, noise, 2.0) <= 1e-9
        z.append((r.log_z - truth.log_partition()) / r.log_z_stderr)
    s = float(np.sum(np.square(z)))
    assert stats.chi2(40).ppf(0.0005) < s < stats.chi2(40).ppf(0.9995)


def test_bad_input(rng):
    model = Gaussian([0.0], [[1.0]])
    x = rng.standard_normal((5, 1))
    for nu in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="nu"):
            nce.loss(model, 0.0, x, x, noise=NOISE_1D, nu=nu)
    with pytest.raises(ValueError, match="log_prob"):
        nce.loss(model, 0.0, x, x, noise=object(), nu=1.0)

    class SampleOnly:
        dim = 1

        def sample(self, n, rng):
            return np.zeros((n, 1))

    with pytest.raises(ValueError, match="log_prob"):
        nce.loss(model, 0.0, x, x, noise=SampleOnly(), nu=1.0)
    with pytest.raises(ValueError, match="noise"):
        nce.loss(model, 0.0, x, x, noise=None, nu=1.0)
    with pytest.raises(ValueError, match="dimension"):
        nce.loss(model, 0.0, x, x, noise=Gaussian([0.0, 0.0], np.eye(2)), nu=1.0)
    with pytest.raises(ValueError, match="x_noise"):
        nce.loss(model, 0.0, x, rng.standard_normal((5, 2)), noise=NOISE_1D, nu=1.0)
    with pytest.raises(ValueError, match="x_data"):
        nce.loss(model, 0.0, x[:, 0], x, noise=NOISE_1D, nu=1.0)
    with pytest.raises(ValueError, match="x_data"):
        nce.loss(model, 0.0, x[:0], x, noise=NOISE_1D, nu=1.0)
    with pytest.raises(ValueError, match="log_z"):
        nce.loss(model, np.inf, x, x, noise=NOISE_1D, nu=1.0)
    with pytest.raises(ValueError, match="log_z"):
        nce.loss(model, [0.0, 1.0], x, x, noise=NOISE_1D, nu=1.0)
    with pytest.raises(ValueError, match="nu"):
        nce.bayes_optimal_classifier(model.log_prob, NOISE_1D.log_prob, x, 0.0)
    with pytest.raises(ValueError, match="p_data_logpdf"):
        nce.bayes_optimal_classifier(lambda y: np.zeros(3), NOISE_1D.log_prob, x, 1.0)
    with pytest.raises(ValueError, match="x"):
        nce.bayes_optimal_logit(model.log_prob, NOISE_1D.log_prob, x[:, 0], 1.0)
    with pytest.raises(ValueError, match="bounds"):
        nce.population_loss_quadrature(model, 0.0, model.log_prob, NOISE_1D, 1.0, (1.0, -1.0))
    with pytest.raises(ValueError, match="1-D"):
        nce.population_loss_quadrature(Gaussian([0.0, 0.0], np.eye(2)), 0.0, model.log_prob, NOISE_1D, 1.0, (-1, 1))
    with pytest.raises(ValueError, match="nu"):
        nce.fit(model, x, NOISE_1D, -2.0, rng)
    with pytest.raises(ValueError, match="lr"):
        nce.fit(model, x, NOISE_1D, 1.0, rng, lr=0.0)
    with pytest.raises(ValueError, match="data"):
        nce.fit(model, x[:, 0], NOISE_1D, 1.0, rng)
    with pytest.raises(ValueError, match="log_prob"):
        nce.fit(model, x, SampleOnly(), 1.0, rng)
    with pytest.raises(ValueError, match="nu"):
        nce.objective(x, NOISE_1D, 0.0)
    with pytest.raises(ValueError, match="x_data"):
        nce.asymptotic_covariance(model, 0.0, x[:, 0], x, NOISE_1D, 1.0)


@pytest.mark.statistical
@pytest.mark.parametrize("kind", ["mixture", "flow"])
def test_fit_with_other_noise_models(rng, kind):
    """Any normalized model with log_prob and sample serves as noise: 1-D data, n = 3000, ν = 2;
    ĉ within 4 SE of the exact log Z (FPR 6.3e-5).  Also runs the mini-batch path of ``objective``."""
    from ebm_ref.models.flow import AffineFlow

    truth = Gaussian([0.3], [[1.0 / 0.7**2]])
    if kind == "mixture":
        noise = GaussianMixture([0.5, 0.5], [[-1.0], [1.0]], [[[1.0]], [[1.5]]])
    else:
        noise = Flow([AffineFlow.from_mean_cov([0.0], [[2.5]])])
    x = truth.sample(3000, rng)
    r = nce.fit(Gaussian([0.0], [[1.0]]), x, noise, 2.0, rng, n_steps=2500)
    assert abs(r.log_z - truth.log_partition()) < 4.0 * r.log_z_stderr
    rb = nce.fit(Gaussian([0.0], [[1.0]]), x, noise, 2.0, rng, n_steps=300, lr=0.05, lr_final=0.005,
                 batch_size=256, stderr=False)
    assert np.isnan(rb.log_z_stderr) and np.isfinite(rb.log_z)
    assert abs(rb.log_z - truth.log_partition()) < 0.2      # mini-batch Adam: loose, just the path


# ---------------------------------------------------------------- fit(method="lbfgs")
def _max_grad(r, x, noise, nu):
    _, g = nce.loss(r.model, r.log_z, x, r.x_noise, noise=noise, nu=nu)
    return max(float(np.max(np.abs(v))) for v in g.values())


def test_lbfgs_reaches_the_minimizer_adam_reaches():
    """Both methods minimize the same full-batch J on the same noise sample (same seed), so they must
    return the same (θ̂, ĉ) and standard error.  Adam's gradient ends ≤ 1e-6 and L-BFGS's ≤ gtol; with
    J's curvature ≳ 0.05 here the two minimizers differ by ≲ 1e-6/0.05, far below 1e-4 ≪ SE ≈ 0.03."""
    truth = Gaussian([0.3], [[1.0 / 0.7**2]])
    x = truth.sample(1500, np.random.default_rng(3))
    ra = nce.fit(Gaussian([0.0], [[1.0]]), x, NOISE_1D, 2.0, np.random.default_rng(4), n_steps=2500)
    rl = nce.fit(Gaussian([0.0], [[1.0]]), x, NOISE_1D, 2.0, np.random.default_rng(4), method="lbfgs", gtol=1e-10)
    np.testing.assert_array_equal(ra.x_noise, rl.x_noise)
    assert _max_grad(ra, x, NOISE_1D, 2.0) < 1e-6 and _max_grad(rl, x, NOISE_1D, 2.0) <= 1e-10
    assert abs(ra.log_z - rl.log_z) < 1e-4 < 1e-2 * rl.log_z_stderr
    np.testing.assert_allclose(rl.model.mean, ra.model.mean, atol=1e-4)
    np.testing.assert_allclose(rl.model.precision, ra.model.precision, atol=1e-4)
    assert abs(ra.log_z_stderr - rl.log_z_stderr) < 1e-3 * rl.log_z_stderr
    assert rl.loss.shape == rl.log_z_trace.shape and rl.loss.size < 100
    assert np.all(np.diff(rl.loss) <= 1e-15)                 # the line search never lets J rise


def test_lbfgs_steps_back_from_refused_parameters():
    """From P = 0.3 I, μ = (1, 1), c = 3 the first full quasi-Newton steps leave the positive-definite
    cone (Adam with lr 0.05 is refused at step 8); the line search halves the step there and the fit
    converges to max |∇J| ≤ gtol with a valid model, ĉ within 4 SE of the exact log Z (FPR 6.3e-5)."""
    truth = Gaussian([0.5, -1.0], [[2.0, 0.6], [0.6, 1.0]])
    noise = Gaussian.from_covariance([0.0, -0.5], 2.0 * np.eye(2))
    x = truth.sample(2000, np.random.default_rng(5))
    with pytest.raises(ValueError, match="positive definite"):
        nce.fit(Gaussian([1.0, 1.0], 0.3 * np.eye(2)), x, noise, 1.0, 0, log_z0=3.0)
    r = nce.fit(Gaussian([1.0, 1.0], 0.3 * np.eye(2)), x, noise, 1.0, 0, log_z0=3.0, method="lbfgs")
    assert _max_grad(r, x, noise, 1.0) <= 1e-9
    assert np.all(np.linalg.eigvalsh(r.model.precision) > 0)
    assert abs(r.log_z - truth.log_partition()) < 4.0 * r.log_z_stderr


def test_lbfgs_bad_input_and_stopping(rng):
    x = rng.standard_normal((200, 1))
    model = Gaussian([0.0], [[1.0]])
    with pytest.raises(ValueError, match="method"):
        nce.fit(model, x, NOISE_1D, 1.0, rng, method="newton")
    with pytest.raises(ValueError, match="batch_size"):
        nce.fit(model, x, NOISE_1D, 1.0, rng, method="lbfgs", batch_size=50)
    with pytest.raises(ValueError, match="gtol"):
        nce.fit(model, x, NOISE_1D, 1.0, rng, method="lbfgs", gtol=0.0)
    with pytest.raises(RuntimeError, match="iterations"):
        nce.fit(model, x, NOISE_1D, 1.0, rng, method="lbfgs", n_steps=2)
    seen = []
    r = nce.fit(model, x, NOISE_1D, 1.0, rng, method="lbfgs", callbacks=(lambda i, m, v: seen.append(i) or i == 3,))
    assert seen == [1, 2, 3] and r.loss.shape == (3,) and r.log_z_trace.shape == (3,)
