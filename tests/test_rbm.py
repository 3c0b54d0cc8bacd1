"""RBMs against brute-force enumeration of (v, h), quadrature, and exact distributions.

Expected values come from independent computations: sums of exp(−E(v, h)) over every
joint state written with the joint energy, scipy quadrature for the Gaussian visible
units, and Richardson differences of exact log-likelihoods.
"""
import itertools

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import expit, logsumexp

from ebm_ref import samplers
from ebm_ref.check import check_energy, richardson
from ebm_ref.models import BernoulliRBM, DeepBeliefNet, GaussianBernoulliRBM
from ebm_ref.partition import MAX_ENUMERATE_DIM

# sums of at most 2^10 positive terms in float64 (different order, same terms):
# rounding of ~1e-15 per term, well below 1e-10.
TOL_ENUM = 1e-10
# Richardson differences of an exact (enumerated) log-likelihood: ~1e-11 typical,
# 1e-8 leaves room for the extrapolation amplifying rounding.
TOL_FD = 1e-8
# adaptive quadrature (epsrel 1e-11) of a smooth Gaussian-mixture integrand.
TOL_QUAD = 1e-9
# statistical tests reject at this level: false-positive rate 1e-3 per test.
ALPHA = 1e-3


def all_states(d):
    return np.array(list(itertools.product([0.0, 1.0], repeat=d)))


def random_rbm(rng, V, H, scale=1.0):
    return BernoulliRBM(scale * rng.standard_normal((V, H)), rng.standard_normal(V), rng.standard_normal(H))


def random_gb(rng, V, H, scale=1.0):
    return GaussianBernoulliRBM(scale * rng.standard_normal((V, H)), rng.standard_normal(V),
                                rng.standard_normal(H), 0.5 + rng.random(V))


def joint_table(rbm):
    """−E(v, h) for every (v, h), shape (2^V, 2^H), from the joint energy alone."""
    Vs, Hs = all_states(rbm.n_visible), all_states(rbm.n_hidden)
    vv = np.repeat(Vs, len(Hs), axis=0)
    hh = np.tile(Hs, (len(Vs), 1))
    return Vs, Hs, -rbm.joint_energy(vv, hh).reshape(len(Vs), len(Hs))


# ------------------------------------------------------------ Bernoulli RBM
@pytest.fixture(params=[(5, 3), (3, 5)], ids=["H<V", "V<H"])
def rbm(request, rng):
    return random_rbm(rng, *request.param)


@pytest.mark.exact
def test_joint_energy_formula(rbm, rng):
    v = all_states(rbm.n_visible)[:4]
    h = all_states(rbm.n_hidden)[-4:]
    W, b, c = rbm.params["W"], rbm.params["b"], rbm.params["c"]
    expect = [-(vi @ W @ hi) - b @ vi - c @ hi for vi, hi in zip(v, h)]
    np.testing.assert_allclose(rbm.joint_energy(v, h), expect, rtol=1e-14)


@pytest.mark.exact
def test_free_energy_is_minus_log_sum_over_h(rbm):
    Vs, Hs, negE = joint_table(rbm)
    np.testing.assert_allclose(rbm.energy(Vs), -logsumexp(negE, axis=1), atol=TOL_ENUM)
    np.testing.assert_allclose(rbm.free_energy_hidden(Hs), -logsumexp(negE, axis=0), atol=TOL_ENUM)


@pytest.mark.exact
def test_log_partition_three_ways(rbm):
    _, _, negE = joint_table(rbm)
    brute = logsumexp(negE)
    assert abs(rbm.log_partition("visible") - brute) < TOL_ENUM
    assert abs(rbm.log_partition("hidden") - brute) < TOL_ENUM
    assert abs(rbm.log_partition() - brute) < TOL_ENUM


@pytest.mark.exact
def test_log_prob_normalized(rbm):
    Vs = all_states(rbm.n_visible)
    assert abs(logsumexp(rbm.log_prob(Vs))) < TOL_ENUM
    assert rbm.log_likelihood(Vs[:3]) == pytest.approx(np.mean(rbm.log_likelihood(Vs[:3], per_point=True)), abs=1e-14)


@pytest.mark.exact
def test_conditionals_are_ratios_of_joints(rbm):
    Vs, Hs, negE = joint_table(rbm)
    p = np.exp(negE - logsumexp(negE))                         # p(v, h)
    ph_given_v = (p / p.sum(axis=1, keepdims=True)) @ Hs       # E[h | v] = p(h_j = 1 | v)
    pv_given_h = (p / p.sum(axis=0, keepdims=True)).T @ Vs
    np.testing.assert_allclose(rbm.prob_h_given_v(Vs), ph_given_v, atol=TOL_ENUM)
    np.testing.assert_allclose(rbm.prob_v_given_h(Hs), pv_given_h, atol=TOL_ENUM)


@pytest.mark.exact
def test_model_expectations_brute_force(rbm):
    Vs, Hs, negE = joint_table(rbm)
    p = np.exp(negE - logsumexp(negE))
    m = rbm.model_expectations()
    np.testing.assert_allclose(m["vh"], Vs.T @ p @ Hs, atol=TOL_ENUM)
    np.testing.assert_allclose(m["v"], p.sum(axis=1) @ Vs, atol=TOL_ENUM)
    np.testing.assert_allclose(m["h"], p.sum(axis=0) @ Hs, atol=TOL_ENUM)


@pytest.mark.exact
def test_exact_grad_log_likelihood_matches_finite_differences(rbm, rng):
    data = all_states(rbm.n_visible)[rng.choice(2**rbm.n_visible, size=7)]
    g = rbm.exact_grad_log_likelihood(data)
    for key, value in rbm.params.items():
        for idx in np.ndindex(value.shape):
            E = np.zeros_like(value)
            E[idx] = 1.0
            num = richardson(lambda t: rbm.replace(**{key: value + float(t) * E}).log_likelihood(data),
                             0.0, 1.0, h=1e-2)
            assert abs(g[key][idx] - num) < TOL_FD, (key, idx)


@pytest.mark.exact
def test_exact_grad_is_positive_minus_negative_phase(rbm, rng):
    # independent route: −mean ∇θF(data) + Σ_v p(v) ∇θF(v), with p from log_prob
    Vs = all_states(rbm.n_visible)
    data = Vs[rng.choice(len(Vs), size=5)]
    pv = np.exp(rbm.log_prob(Vs))
    gd, gm = rbm.grad_params(data), rbm.grad_params(Vs)
    g = rbm.exact_grad_log_likelihood(data)
    glz = rbm.grad_log_partition()
    for k in rbm.params:
        model = np.tensordot(pv, gm[k], axes=(0, 0))
        np.testing.assert_allclose(g[k], -gd[k].mean(axis=0) + model, atol=TOL_ENUM)
        np.testing.assert_allclose(glz[k], -model, atol=TOL_ENUM)


@pytest.mark.exact
def test_pseudo_log_likelihood_brute_force(rbm):
    Vs = all_states(rbm.n_visible)
    lp = rbm.log_prob(Vs)
    index = {tuple(v): k for k, v in enumerate(Vs)}
    expect = np.zeros(len(Vs))
    for k, v in enumerate(Vs):
        for i in range(len(v)):
            f = v.copy()
            f[i] = 1 - f[i]
            expect[k] += lp[k] - np.logaddexp(lp[k], lp[index[tuple(f)]])
    np.testing.assert_allclose(rbm.pseudo_log_likelihood(Vs, per_point=True), expect, atol=TOL_ENUM)
    assert rbm.pseudo_log_likelihood(Vs) == pytest.approx(expect.mean(), abs=TOL_ENUM)


@pytest.mark.derivative
@pytest.mark.parametrize("shape", [(4, 3), (2, 6)])
def test_check_energy_bernoulli_relaxed(rng, shape):
    rbm = random_rbm(rng, *shape).as_relaxed()
    reports = check_energy(rbm, rng.random((5, shape[0])))
    assert "complex" in {r.method for r in reports}


@pytest.mark.exact
def test_softplus_stable_at_extremes():
    from ebm_ref.numerics import sigmoid, softplus

    z = np.array([-800.0, -30.0, 0.0, 30.0, 800.0])
    # scipy's logaddexp / expit evaluate the same functions by other formulas: a few ulps apart.
    np.testing.assert_allclose(softplus(z), np.logaddexp(0.0, z), rtol=1e-14)
    np.testing.assert_allclose(sigmoid(z), expit(z), rtol=1e-14)
    assert np.all(np.isfinite(softplus(z))) and softplus(z)[0] >= 0.0


@pytest.mark.statistical
def test_exact_sampler_state_frequencies(rbm, rng):
    # chi-square of visible-state counts against exp(log_prob); false-positive rate ALPHA.
    n = 20000
    x = rbm.sample(n, rng)
    Vs = all_states(rbm.n_visible)
    codes = x @ (2 ** np.arange(rbm.n_visible - 1, -1, -1))
    counts = np.bincount(codes.astype(int), minlength=len(Vs))
    p = np.exp(rbm.log_prob(Vs))
    assert stats.chisquare(counts, n * p / p.sum()).pvalue > ALPHA


@pytest.mark.statistical
def test_gibbs_reaches_model_distribution(rng):
    # 4000 independent chains, 60 sweeps each from uniform starts, small weights (fast
    # mixing); chi-square of the final states against p(v); false-positive rate ALPHA.
    rbm = random_rbm(rng, 3, 2, scale=0.5)
    n = 4000
    v0 = (rng.random((n, 3)) < 0.5).astype(float)
    x = samplers.gibbs(rbm, v0, 60, rng).last
    counts = np.bincount((x @ [4, 2, 1]).astype(int), minlength=8)
    p = np.exp(rbm.log_prob(all_states(3)))
    assert stats.chisquare(counts, n * p / p.sum()).pvalue > ALPHA


@pytest.mark.statistical
def test_conditional_samplers_match_probabilities(rbm, rng):
    # z-test of Bernoulli frequencies, Bonferroni over all units; false-positive rate ALPHA.
    n = 5000
    v = np.repeat(all_states(rbm.n_visible)[[1]], n, axis=0)
    h = np.repeat(all_states(rbm.n_hidden)[[-2]], n, axis=0)
    for draws, p in ((rbm.sample_h_given_v(v, rng), rbm.prob_h_given_v(v[:1])[0]),
                     (rbm.sample_v_given_h(h, rng), rbm.prob_v_given_h(h[:1])[0])):
        z = (draws.mean(axis=0) - p) / np.sqrt(p * (1 - p) / n)
        assert np.max(np.abs(z)) < stats.norm.isf(ALPHA / (2 * (rbm.n_visible + rbm.n_hidden)))


def test_bernoulli_rbm_bad_input(rng):
    W, b, c = rng.standard_normal((3, 2)), np.zeros(3), np.zeros(2)
    with pytest.raises(ValueError, match="W"):
        BernoulliRBM(np.zeros(3), b, c)
    with pytest.raises(ValueError, match="b"):
        BernoulliRBM(W, np.zeros(2), c)
    with pytest.raises(ValueError, match="c"):
        BernoulliRBM(W, b, np.zeros(3))
    with pytest.raises(ValueError, match="W"):
        BernoulliRBM(np.full((3, 2), np.nan), b, c)
    with pytest.raises(ValueError, match="relaxed"):
        BernoulliRBM(W, b, c, relaxed="yes")
    rbm = BernoulliRBM(W, b, c)
    half = np.full((2, 3), 0.5)
    ok_v, ok_h = np.zeros((2, 3)), np.zeros((2, 2))
    for call in (lambda: rbm.energy(half), lambda: rbm.grad_x(half), lambda: rbm.log_prob(half),
                 lambda: rbm.log_likelihood(half), lambda: rbm.exact_grad_log_likelihood(half),
                 lambda: rbm.pseudo_log_likelihood(half), lambda: rbm.prob_h_given_v(half),
                 lambda: rbm.joint_energy(half, ok_h), lambda: rbm.sample_h_given_v(half, rng)):
        with pytest.raises(ValueError, match="0 or 1"):
            call()
    with pytest.raises(ValueError, match="0 or 1"):
        rbm.prob_v_given_h(np.full((2, 2), 0.3))
    with pytest.raises(ValueError, match="0 or 1"):
        rbm.free_energy_hidden(np.full((2, 2), 2.0))
    with pytest.raises(ValueError, match="shape"):
        rbm.energy(np.zeros(3))                                # a single point, not a batch
    with pytest.raises(ValueError, match="shape"):
        rbm.energy(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="rows"):
        rbm.joint_energy(ok_v, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="layer"):
        rbm.log_partition("both")
    for beta in (0.0, 1.5, np.nan, np.ones(3), np.ones((2, 1))):
        with pytest.raises(ValueError, match="beta"):
            rbm.sample_h_given_v(ok_v, rng, beta=beta)
        with pytest.raises(ValueError, match="beta"):
            rbm.sample_v_given_h(ok_h, rng, beta=beta)
    with pytest.raises(ValueError, match="rng"):
        rbm.sample_h_given_v(ok_v, None)
    with pytest.raises(ValueError, match="n"):
        rbm.sample(-3, rng)
    assert rbm.as_relaxed().energy(half).shape == (2,)


def test_enumeration_too_large_is_refused():
    d = MAX_ENUMERATE_DIM + 1
    big = BernoulliRBM(np.zeros((d, d)), np.zeros(d), np.zeros(d))
    for call in (big.log_partition, big.model_expectations, lambda: big.sample(1, 0),
                 lambda: big.exact_grad_log_likelihood(np.zeros((1, d)))):
        with pytest.raises(ValueError, match="refused"):
            call()
    # the larger layer may be big as long as the smaller one is enumerable
    tall = BernoulliRBM(np.zeros((40, 2)), np.zeros(40), np.zeros(2))
    assert tall.log_partition() == pytest.approx(42 * np.log(2.0), rel=1e-14)
    gb = GaussianBernoulliRBM(np.zeros((2, d)), np.zeros(2), np.zeros(d), np.ones(2))
    for call in (gb.log_partition, gb.moments, lambda: gb.sample(1, 0)):
        with pytest.raises(ValueError, match="refused"):
            call()


# ---------------------------------------------------- Gaussian–Bernoulli RBM
@pytest.mark.derivative
@pytest.mark.parametrize("shape", [(3, 2), (1, 4)])
def test_check_energy_gaussian_bernoulli(rng, shape):
    gb = random_gb(rng, *shape)
    reports = check_energy(gb, rng.standard_normal((5, shape[0])))
    assert "complex" in {r.method for r in reports}


@pytest.mark.exact
def test_gb_joint_energy_and_free_energy(rng):
    gb = random_gb(rng, 3, 3)
    W, b, c, s = gb.params["W"], gb.params["b"], gb.params["c"], gb.params["sigma"]
    v = rng.standard_normal((6, 3))
    Hs = all_states(3)
    # joint energy written out in its defining form
    def E(vi, hi):
        return np.sum((vi - b) ** 2 / (2 * s**2)) - c @ hi - np.sum((vi / s**2)[:, None] * W * hi[None, :])
    negE = np.array([[-E(vi, hi) for hi in Hs] for vi in v])
    np.testing.assert_allclose(gb.joint_energy(np.repeat(v, 8, axis=0), np.tile(Hs, (6, 1))),
                               -negE.ravel(), rtol=1e-13)
    np.testing.assert_allclose(gb.energy(v), -logsumexp(negE, axis=1), atol=TOL_ENUM)
    # conditionals: p(h_j = 1 | v) as a ratio of joints
    ph = np.exp(negE - logsumexp(negE, axis=1, keepdims=True)) @ Hs
    np.testing.assert_allclose(gb.prob_h_given_v(v), ph, atol=TOL_ENUM)


@pytest.mark.exact
def test_gb_free_energy_hidden_is_gaussian_integral(rng):
    gb = random_gb(rng, 1, 3)
    for h in all_states(3):
        f = lambda t: np.exp(-gb.joint_energy(np.array([[t]]), h[None])[0])  # noqa: E731
        mu = gb.mean_v_given_h(h[None])[0, 0]
        sd = gb.params["sigma"][0]
        val, _ = integrate.quad(f, mu - 15 * sd, mu + 15 * sd, epsabs=0, epsrel=1e-12)
        assert abs(-np.log(val) - gb.free_energy_hidden(h[None])[0]) < TOL_QUAD


@pytest.mark.exact
@pytest.mark.parametrize("V,H", [(1, 3), (2, 2)])
def test_gb_log_partition_equals_quadrature(rng, V, H):
    from ebm_ref.partition import log_partition_quadrature

    gb = random_gb(rng, V, H, scale=0.7)
    mu = gb.params["b"] + all_states(H) @ gb.params["W"].T
    lo, hi = mu.min(axis=0) - 12 * gb.params["sigma"], mu.max(axis=0) + 12 * gb.params["sigma"]
    lz, err = log_partition_quadrature(gb, list(zip(lo, hi)))
    assert err < TOL_QUAD
    assert abs(lz - gb.log_partition()) < TOL_QUAD


@pytest.mark.exact
def test_gb_grad_log_partition_matches_finite_differences(rng):
    gb = random_gb(rng, 2, 3)
    g = gb.grad_log_partition()
    for key, value in gb.params.items():
        for idx in np.ndindex(value.shape):
            E = np.zeros_like(value)
            E[idx] = 1.0
            num = richardson(lambda t: gb.replace(**{key: value + float(t) * E}).log_partition(), 0.0, 1.0, h=1e-3)
            assert abs(g[key][idx] - num) < TOL_FD, (key, idx)


@pytest.mark.exact
def test_gb_moments_by_quadrature_1d(rng):
    gb = random_gb(rng, 1, 2)
    mean, cov = gb.moments()
    lz = gb.log_partition()
    p = lambda t: np.exp(-gb.energy(np.array([[t]]))[0] - lz)  # noqa: E731
    m1 = integrate.quad(lambda t: t * p(t), -30, 30, epsabs=0, epsrel=1e-12)[0]
    m2 = integrate.quad(lambda t: (t - m1) ** 2 * p(t), -30, 30, epsabs=0, epsrel=1e-12)[0]
    assert abs(m1 - mean[0]) < TOL_QUAD and abs(m2 - cov[0, 0]) < TOL_QUAD


@pytest.mark.statistical
def test_gb_exact_sampler_mean_and_covariance(rng):
    # z-tests of the 2 means and 3 distinct (co)variances against the exact moments,
    # Bonferroni over 5 statistics: false-positive rate ALPHA.
    gb = random_gb(rng, 2, 3)
    n = 20000
    x = gb.sample(n, rng)
    mean, cov = gb.moments()
    z_mean = (x.mean(axis=0) - mean) / np.sqrt(np.diag(cov) / n)
    r = x - mean
    zs = list(z_mean)
    for i, j in [(0, 0), (1, 1), (0, 1)]:
        prod = r[:, i] * r[:, j]
        zs.append((prod.mean() - cov[i, j]) / (prod.std(ddof=1) / np.sqrt(n)))
    assert np.max(np.abs(zs)) < stats.norm.isf(ALPHA / 10)


@pytest.mark.statistical
def test_gb_conditional_sampler(rng):
    # v | h ~ N(b + Wh, diag σ²): KS test per unit, Bonferroni over 2 units; rate ALPHA.
    gb = random_gb(rng, 2, 2)
    h = np.repeat(np.array([[1.0, 0.0]]), 4000, axis=0)
    v = gb.sample_v_given_h(h, rng)
    mu = gb.mean_v_given_h(h[:1])[0]
    for i in range(2):
        assert stats.kstest(v[:, i], "norm", args=(mu[i], gb.params["sigma"][i])).pvalue > ALPHA / 2


def test_gb_bad_input(rng):
    W, b, c = rng.standard_normal((2, 3)), np.zeros(2), np.zeros(3)
    for bad in ([1.0, -1.0], [1.0, 0.0], [1.0, np.inf], [1.0, 1.0, 1.0]):
        with pytest.raises(ValueError, match="sigma"):
            GaussianBernoulliRBM(W, b, c, bad)
    with pytest.raises(ValueError, match="b"):
        GaussianBernoulliRBM(W, np.zeros(3), c, np.ones(2))
    gb = GaussianBernoulliRBM(W, b, c, np.ones(2))
    with pytest.raises(ValueError, match="0 or 1"):
        gb.joint_energy(np.zeros((1, 2)), np.full((1, 3), 0.5))
    with pytest.raises(ValueError, match="0 or 1"):
        gb.mean_v_given_h(np.full((1, 3), 0.5))
    with pytest.raises(ValueError, match="shape"):
        gb.energy(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="shape"):
        gb.prob_h_given_v(np.zeros(2))
    with pytest.raises(ValueError, match="rng"):
        gb.sample(3, "seed")


# ----------------------------------------------------------- deep belief net
def stack(rng, sizes, scale=1.0):
    return DeepBeliefNet([random_rbm(rng, a, b, scale) for a, b in zip(sizes[:-1], sizes[1:])])


@pytest.mark.exact
def test_dbn_up_pass_mean_field(rng):
    dbn = stack(rng, [4, 3, 2])
    v = all_states(4)
    layers = dbn.up_pass(v)
    assert [a.shape for a in layers] == [(16, 4), (16, 3), (16, 2)]
    np.testing.assert_allclose(layers[1], dbn.rbms[0].prob_h_given_v(v), rtol=1e-15)
    W, c = dbn.rbms[1].params["W"], dbn.rbms[1].params["c"]
    np.testing.assert_allclose(layers[2], 1 / (1 + np.exp(-(c + layers[1] @ W))), rtol=1e-14)
    sampled = dbn.up_pass(v, rng)
    assert all(set(np.unique(a)) <= {0.0, 1.0} for a in sampled)


@pytest.mark.statistical
def test_dbn_sample_distribution_exact_top(rng):
    # v's law is Σ_h p_top(h) p(v | h) (top RBM's visible marginal through the lower
    # RBM's p(v|h)); chi-square of 16 state counts; false-positive rate ALPHA.
    dbn = stack(rng, [4, 3, 2])
    n = 20000
    x = dbn.sample(n, rng, n_gibbs=None)
    Hs, Vs = all_states(3), all_states(4)
    p_top = np.exp(dbn.rbms[1].log_prob(Hs))
    pv_h = dbn.rbms[0].prob_v_given_h(Hs)                       # (8, 4)
    lik = np.prod(np.where(Vs[None] == 1, pv_h[:, None], 1 - pv_h[:, None]), axis=2)   # (8, 16)
    p = p_top @ lik
    counts = np.bincount((x @ [8, 4, 2, 1]).astype(int), minlength=16)
    assert stats.chisquare(counts, n * p / p.sum()).pvalue > ALPHA
    y = dbn.sample(5, rng, n_gibbs=10)
    assert y.shape == (5, 4) and set(np.unique(y)) <= {0.0, 1.0}


def test_dbn_greedy_hook(rng):
    calls = []

    def train(data, n_hidden, rng_):
        calls.append((data.shape, n_hidden))
        assert set(np.unique(data)) <= {0.0, 1.0}
        return random_rbm(rng_, data.shape[1], n_hidden)

    data = all_states(4)
    dbn = DeepBeliefNet.greedy(data, [3, 2], train, rng)
    assert dbn.layer_sizes == (4, 3, 2)
    assert calls == [((16, 4), 3), ((16, 3), 2)]
    with pytest.raises(ValueError, match="train_rbm"):
        DeepBeliefNet.greedy(data, [3], lambda d, h, r: random_rbm(r, 4, 5), rng)


def test_dbn_bad_input(rng):
    with pytest.raises(ValueError, match="rbms"):
        DeepBeliefNet([])
    with pytest.raises(ValueError, match="n_visible"):
        DeepBeliefNet([random_rbm(rng, 4, 3), random_rbm(rng, 2, 2)])
    with pytest.raises(ValueError, match="BernoulliRBM"):
        DeepBeliefNet([random_gb(rng, 2, 2)])
    dbn = stack(rng, [4, 3, 2])
    with pytest.raises(ValueError, match="0 or 1"):
        dbn.up_pass(np.full((2, 4), 0.5))
    with pytest.raises(ValueError, match="shape"):
        dbn.up_pass(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="n_gibbs"):
        dbn.sample(2, rng, n_gibbs=-1)
    with pytest.raises(ValueError, match="0 or 1"):
        dbn.down_pass(np.full((2, 3), 0.5), rng)
    with pytest.raises(ValueError, match="n_hidden"):
        DeepBeliefNet.greedy(np.zeros((2, 4)), [], lambda *a: None, rng)
    with pytest.raises(ValueError, match="v_data"):
        DeepBeliefNet.greedy(np.full((2, 4), 0.5), [2], lambda *a: None, rng)


# ------------------------------------------------------------------ helpers
@pytest.mark.exact
def test_expectation_by_enumeration_independent_bits(rng):
    # E(x) = −θ·x factorizes: log Z = Σ softplus(θ_i), E[x_i] = σ(θ_i), E[x_i x_j] = σ_i σ_j (i ≠ j)
    from ebm_ref.numerics import expectation_by_enumeration

    theta = rng.standard_normal(6)
    lz, m = expectation_by_enumeration(lambda x: x @ theta, lambda x, w: {"x": w @ x, "xx": (x * w[:, None]).T @ x},
                                       6, chunk=7)
    p = expit(theta)
    assert abs(lz - np.sum(np.logaddexp(0, theta))) < TOL_ENUM
    np.testing.assert_allclose(m["x"], p, atol=TOL_ENUM)
    expect = np.outer(p, p)
    np.fill_diagonal(expect, p)
    np.testing.assert_allclose(m["xx"], expect, atol=TOL_ENUM)
    with pytest.raises(ValueError, match="refused"):
        expectation_by_enumeration(lambda x: x[:, 0], lambda x, w: {}, MAX_ENUMERATE_DIM + 1)


@pytest.mark.derivative
def test_softplus_and_sigmoid_are_complex_step_safe():
    from ebm_ref.numerics import sigmoid, softplus

    z = np.array([-40.0, -3.0, -1e-3, 0.0, 2.0, 35.0])
    h = 1e-30
    # d softplus / dz = σ(z), dσ/dz = σ(1 − σ); complex step has no cancellation.
    np.testing.assert_allclose(softplus(z + 1j * h).imag / h, expit(z), rtol=1e-14)
    e = np.exp(-np.abs(z))                                      # σ' = e^{-|z|}/(1 + e^{-|z|})², no cancellation
    np.testing.assert_allclose(sigmoid(z + 1j * h).imag / h, e / (1 + e) ** 2, rtol=1e-12)


@pytest.mark.exact
def test_gb_hidden_marginal_and_free_energy_hidden(rng):
    gb = random_gb(rng, 2, 3)
    states, p = gb.hidden_marginal()
    assert states.shape == (8, 3) and abs(p.sum() - 1) < 1e-14
    np.testing.assert_allclose(np.log(p), -gb.free_energy_hidden(states) - gb.log_partition(), atol=TOL_ENUM)
    with pytest.raises(ValueError, match="0 or 1"):
        gb.free_energy_hidden(np.full((1, 3), 0.5))


def test_dbn_layer_sizes_and_repr(rng):
    dbn = stack(rng, [5, 4, 3, 2])
    assert dbn.layer_sizes == (5, 4, 3, 2)
    assert "5, 4, 3, 2" in repr(dbn)


@pytest.mark.exact
def test_layer_arrays_are_fresh_contiguous_copies(rng):
    rbm = random_rbm(rng, 4, 3)
    g = GaussianBernoulliRBM(rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=2), np.array([0.5, 1.0, 2.0]))
    for model, keys in ((rbm, "W b c".split()), (g, "W b c sigma".split())):
        arrays = model.layer_arrays()
        assert len(arrays) == len(keys)
        for a, k in zip(arrays, keys):
            assert a.dtype == np.float64 and a.flags.c_contiguous and a.flags.writeable
            assert np.array_equal(a, model.params[k]) and not np.shares_memory(a, model.params[k])


@pytest.mark.statistical
def test_tempered_conditional_samplers_match_probabilities(rng):
    # one β per row: Bernoulli frequencies against σ(β a) (z-test, Bonferroni over units and
    # the two β values; false-positive rate ALPHA), and the Gaussian v | h variance σ²/β (the
    # sample variance of n normals has sd σ²/β·√(2/n); 5 sd bound, false-positive rate < 1e-5).
    rbm = random_rbm(rng, 3, 2, scale=1.5)
    n = 6000
    beta = np.repeat([0.3, 0.8], n // 2)
    v = np.repeat(all_states(3)[[5]], n, axis=0)
    h = np.repeat(all_states(2)[[2]], n, axis=0)
    z_max = stats.norm.isf(ALPHA / (2 * 2 * (3 + 2)))
    for draws, a in ((rbm.sample_h_given_v(v, rng, beta=beta), rbm.params["c"] + v[0] @ rbm.params["W"]),
                     (rbm.sample_v_given_h(h, rng, beta=beta), rbm.params["b"] + rbm.params["W"] @ h[0])):
        for bt in (0.3, 0.8):
            rows = beta == bt
            p = 1.0 / (1.0 + np.exp(-bt * a))
            z = (draws[rows].mean(axis=0) - p) / np.sqrt(p * (1 - p) / rows.sum())
            assert np.max(np.abs(z)) < z_max
    g = GaussianBernoulliRBM(rng.normal(size=(2, 2)), rng.normal(size=2), rng.normal(size=2), np.array([0.5, 2.0]))
    hg = np.repeat(all_states(2)[[1]], n, axis=0)
    x = g.sample_v_given_h(hg, rng, beta=0.25)
    var = g.params["sigma"] ** 2 / 0.25
    assert np.all(np.abs(x.var(axis=0) - var) < 5 * var * np.sqrt(2.0 / n))


# ================================ issue 11, defect 12: GB-RBM σ, a scalar shared σ
def test_gb_rbm_scalar_sigma_is_one_shared_sigma():
    W, b, c = np.ones((3, 2)) * 0.3, np.zeros(3), np.zeros(2)
    a = GaussianBernoulliRBM(W, b, c, 0.7)
    ref = GaussianBernoulliRBM(W, b, c, np.full(3, 0.7))
    x = np.random.default_rng(0).standard_normal((4, 3))
    assert a.params["sigma"].shape == (3,)
    assert np.array_equal(a.energy(x), ref.energy(x))


@pytest.mark.parametrize("sigma", [1e-200, 0.0, -1.0, np.nan, np.full(3, 1e-160)])
def test_gb_rbm_refuses_a_sigma_that_overflows_the_energy(sigma):
    with pytest.raises(ValueError, match="sigma: every entry must be finite and >= 1e-100"):
        GaussianBernoulliRBM(np.ones((3, 2)), np.zeros(3), np.zeros(2), sigma)


def test_gb_rbm_refuses_a_sigma_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"sigma: expected a scalar \(one shared σ\) or shape \(3,\)"):
        GaussianBernoulliRBM(np.ones((3, 2)), np.zeros(3), np.zeros(2), np.ones(2))
