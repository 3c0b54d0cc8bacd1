"""Product of experts, mixture, temperature and conditional energies."""
import numpy as np
import pytest

from ebm_ref.check import check_energy
from ebm_ref.models import Gaussian, GaussianMixture, MLPEnergy, WarpedGaussian
from ebm_ref.models.compose import ConditionalEnergy, Mixture, ProductOfExperts, Tempered
from ebm_ref.partition import log_partition_quadrature

# same formula evaluated by two float64 routes (a Cholesky log-det against a sum of
# quadratic forms): agreement to rounding of a few dozen operations.
TOL_ROUND = 1e-11
# adaptive 2-D quadrature at epsrel 1e-11 over a box holding all but ~e^-50 of the mass;
# the trapezoid rule on a fine grid converges geometrically for smooth integrands that
# vanish at the box edges (measured ~1e-14 at these grids), so the same bound serves both.
TOL_QUAD = 1e-8


def grid_log_z(model, bounds, m=(300, 600)):
    """log Z by the trapezoid rule on a grid (edge mass negligible, so all weights are 1)."""
    from ebm_ref.partition import logsumexp

    axes = [np.linspace(lo, hi, k) for (lo, hi), k in zip(bounds, m)]
    X, Y = np.meshgrid(*axes, indexing="ij")
    E = model.energy(np.column_stack([X.ravel(), Y.ravel()]))
    return float(logsumexp(-E) + np.log((axes[0][1] - axes[0][0]) * (axes[1][1] - axes[1][0])))


def spd(rng, d, scale=1.0):
    A = rng.standard_normal((d, d))
    return scale * (A @ A.T / d + 0.5 * np.eye(d))


def gaussians(rng, k, d=2):
    return [Gaussian(rng.standard_normal(d), spd(rng, d)) for _ in range(k)]


def box(g, width=11.0):
    sd = np.sqrt(np.diag(g.covariance))
    return [(m - width * s, m + width * s) for m, s in zip(g.mean, sd)]


# ------------------------------------------------------------------ product
@pytest.mark.exact
def test_product_of_gaussians_is_gaussian_with_summed_precision(rng):
    ex = gaussians(rng, 3, d=3)
    poe = ProductOfExperts(ex)
    g, c = poe.as_gaussian()
    np.testing.assert_allclose(g.precision, sum(e.precision for e in ex), rtol=1e-14)
    x = rng.standard_normal((10, 3))
    np.testing.assert_allclose(poe.energy(x), g.energy(x) + c, rtol=TOL_ROUND, atol=TOL_ROUND)
    assert c >= 0.0    # the cross term: zero only when the means agree
    same = ProductOfExperts([Gaussian(np.ones(3), e.precision) for e in ex])
    assert abs(same.as_gaussian()[1]) < TOL_ROUND


@pytest.mark.exact
def test_product_log_partition_equals_quadrature(rng):
    poe = ProductOfExperts(gaussians(rng, 2))
    lz = grid_log_z(poe, box(poe.as_gaussian()[0]))
    assert abs(lz - poe.log_partition()) < TOL_QUAD


@pytest.mark.derivative
def test_product_check_energy_with_mlp_expert(rng):
    poe = ProductOfExperts([MLPEnergy.init([2, 5], rng, activation="softplus"), gaussians(rng, 1)[0]])
    reports = check_energy(poe, rng.standard_normal((4, 2)), rng=rng, max_param_entries=10)
    assert not [r for r in reports if r.method == "skipped"]
    assert "1.precision" in poe.symmetric_params and "0.W1" in poe.params


@pytest.mark.exact
def test_product_replace_and_errors(rng):
    ex = gaussians(rng, 2)
    poe = ProductOfExperts(ex)
    moved = poe.replace(**{"1.mean": np.zeros(2)})
    np.testing.assert_array_equal(moved.experts[1].mean, np.zeros(2))
    np.testing.assert_array_equal(moved.experts[0].mean, ex[0].mean)
    with pytest.raises(ValueError, match="same dimension"):
        ProductOfExperts([ex[0], gaussians(rng, 1, d=3)[0]])
    with pytest.raises(ValueError, match="non-empty"):
        ProductOfExperts([])
    with pytest.raises(ValueError, match="Energy"):
        ProductOfExperts([ex[0], "gauss"])
    with pytest.raises(ValueError, match="unknown parameter"):
        ProductOfExperts(ex, **{"2.mean": np.zeros(2)})
    with pytest.raises(NotImplementedError, match="Gaussian"):
        ProductOfExperts([ex[0], MLPEnergy.init([2, 3], rng)]).log_partition()


# ------------------------------------------------------------------ mixture
@pytest.mark.exact
def test_mixture_of_gaussians_matches_gaussian_mixture(rng):
    ex = gaussians(rng, 3)
    w = np.array([0.2, 0.5, 0.3])
    mix = Mixture(w, ex)
    ref = GaussianMixture(w, np.stack([e.mean for e in ex]), np.stack([e.covariance for e in ex]))
    x = 2.0 * rng.standard_normal((20, 2))
    np.testing.assert_allclose(mix.energy(x), ref.energy(x), rtol=TOL_ROUND, atol=TOL_ROUND)
    np.testing.assert_allclose(mix.grad_x(x), ref.grad_x(x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mix.hessian_x(x), ref.hessian_x(x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mix.responsibilities(x).sum(axis=1), 1.0, rtol=1e-14)
    assert mix.log_partition() == pytest.approx(0.0, abs=1e-15)


@pytest.mark.exact
def test_mixture_integrates_to_one_with_warped_component(rng):
    mix = Mixture([0.4, 0.6], [gaussians(rng, 1)[0], WarpedGaussian(np.zeros(2), np.eye(2), 0.5)])
    lz = grid_log_z(mix, [(-12, 12), (-50, 14)])   # x1 = z1 - 0.5 x0^2 reaches down to -44
    assert abs(lz) < TOL_QUAD


@pytest.mark.derivative
def test_mixture_check_energy(rng):
    gm = GaussianMixture([0.3, 0.7], rng.standard_normal((2, 2)), np.stack([spd(rng, 2), spd(rng, 2)]))
    mix = Mixture([0.25, 0.75], [gaussians(rng, 1)[0], gm])
    reports = check_energy(mix, rng.standard_normal((5, 2)), rng=rng)
    skipped = {r.name for r in reports if r.method == "skipped"}
    assert skipped == {"grad_params_dot_grad_x", "grad_params_laplacian", "grad_params_hvp"}
    np.testing.assert_allclose(mix.grad_log_partition()["weights"], 1.0)


@pytest.mark.derivative
def test_mixture_of_gaussians_second_order_primitives(rng):
    mix = Mixture([0.3, 0.7], gaussians(rng, 2))
    reports = check_energy(mix, rng.standard_normal((5, 2)), rng=rng)
    assert not [r for r in reports if r.method == "skipped"]


@pytest.mark.statistical
def test_mixture_sample_component_frequencies(rng):
    # 20000 draws of a Bernoulli(0.3) label: 5-sigma band, false-positive rate ~6e-7.
    ex = [Gaussian(np.array([-50.0, 0.0]), np.eye(2)), Gaussian(np.array([50.0, 0.0]), np.eye(2))]
    s = Mixture([0.3, 0.7], ex).sample(20000, rng)
    frac = np.mean(s[:, 0] < 0)
    assert abs(frac - 0.3) < 5 * np.sqrt(0.3 * 0.7 / 20000)


def test_mixture_errors(rng):
    ex = gaussians(rng, 2)
    with pytest.raises(ValueError, match="sum to 1"):
        Mixture([0.5, 0.6], ex)
    with pytest.raises(ValueError, match="weights"):
        Mixture([0.5], ex)
    with pytest.raises(ValueError, match="> 0"):
        Mixture([1.5, -0.5], ex)
    with pytest.raises(ValueError, match="log_partition"):
        Mixture([0.5, 0.5], [ex[0], MLPEnergy.init([2, 3], rng)])


# -------------------------------------------------------------- temperature
@pytest.mark.exact
def test_tempered_gaussian_is_gaussian_with_scaled_precision(rng):
    g = gaussians(rng, 1)[0]
    t = Tempered(g, 2.5)
    ref = Gaussian(g.mean, g.precision / 2.5)
    x = rng.standard_normal((8, 2))
    np.testing.assert_allclose(t.energy(x), ref.energy(x), rtol=TOL_ROUND)
    assert t.log_partition() == pytest.approx(ref.log_partition(), abs=TOL_ROUND)
    lz, _ = log_partition_quadrature(t, box(ref))
    assert abs(lz - t.log_partition()) < TOL_QUAD
    xp = rng.standard_normal((8, 2))
    np.testing.assert_allclose(t.log_density_ratio(x, xp), t.log_prob(x) - t.log_prob(xp), rtol=1e-10, atol=1e-12)


@pytest.mark.derivative
def test_tempered_check_energy(rng):
    t = Tempered(MLPEnergy.init([2, 4], rng, activation="tanh"), 0.7)
    reports = check_energy(t, rng.standard_normal((4, 2)), rng=rng, max_param_entries=10)
    assert not [r for r in reports if r.method == "skipped"]
    assert t.replace(b2=np.array([3.0])).T == 0.7


def test_tempered_errors(rng):
    with pytest.raises(ValueError, match="T"):
        Tempered(gaussians(rng, 1)[0], 0.0)
    with pytest.raises(ValueError, match="model"):
        Tempered("g", 1.0)
    with pytest.raises(NotImplementedError):
        Tempered(MLPEnergy.init([2, 3], rng), 2.0).log_partition()


# -------------------------------------------------------------- conditional
@pytest.mark.exact
def test_conditional_probabilities_and_prediction(rng):
    ex = gaussians(rng, 3)
    ce = ConditionalEnergy(ex)
    x = rng.standard_normal((12, 2))
    table = np.stack([e.energy(x) for e in ex], axis=1)
    p = ce.prob_y(x)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(np.log(p[:, 0] / p[:, 1]), table[:, 1] - table[:, 0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ce.log_prob_y(x), np.log(p), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ce.predict(x), np.argmin(table, axis=1))
    y = rng.integers(0, 3, 12)
    np.testing.assert_array_equal(ce.energy_xy(x, y), table[np.arange(12), y])
    # its energy of x alone is the label free energy
    np.testing.assert_allclose(ce.energy(x), -np.log(np.exp(-table).sum(axis=1)), rtol=1e-12)


@pytest.mark.derivative
def test_conditional_check_energy(rng):
    ce = ConditionalEnergy([MLPEnergy.init([2, 3], rng, activation="silu"), gaussians(rng, 1)[0]])
    reports = check_energy(ce, rng.standard_normal((4, 2)), rng=rng, max_param_entries=10)
    assert not [r for r in reports if r.method == "skipped"]


def test_conditional_errors(rng):
    ce = ConditionalEnergy(gaussians(rng, 2))
    with pytest.raises(ValueError, match="y"):
        ce.energy_xy(np.zeros((3, 2)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="y"):
        ce.energy_xy(np.zeros((3, 2)), np.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="at least 2"):
        ConditionalEnergy(gaussians(rng, 1))
    with pytest.raises(ValueError, match="x"):
        ce.prob_y(np.zeros((3, 3)))


# ================================ issue 11, defect 9: composites run their parts' input checks
def _gamma():
    from ebm_ref.models.expfam import Gamma

    return Gamma(2.0, 1.5).as_energy()


@pytest.mark.parametrize("build", [
    lambda: ProductOfExperts([_gamma(), _gamma()]),
    lambda: Tempered(_gamma(), 2.0),
    lambda: Mixture([0.5, 0.5], [_gamma(), _gamma()]),
    lambda: ConditionalEnergy([_gamma(), _gamma()]),
])
def test_gamma_part_outside_its_support_is_refused(build):
    m = build()
    x = np.array([[1.0], [-0.5]])
    with pytest.raises(ValueError):
        _gamma().energy(x)
    with pytest.raises(ValueError) as info:
        m.energy(x)
    assert str(info.value) == str(pytest.raises(ValueError, _gamma().energy, x).value)
    assert np.all(np.isfinite(m.energy(np.array([[1.0], [2.5]]))))


def test_rbm_part_refuses_non_binary_input():
    from ebm_ref.models import BernoulliRBM

    rbm = BernoulliRBM(np.ones((3, 2)), np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="binary units must be 0 or 1"):
        ProductOfExperts([rbm, rbm]).energy(np.full((1, 3), 0.5))
    with pytest.raises(ValueError, match="binary units must be 0 or 1"):
        Tempered(rbm, 2.0).grad_x(np.full((1, 3), 0.5))
