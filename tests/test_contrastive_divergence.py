"""Contrastive divergence against exact enumeration, and training runs with exact log-likelihoods."""
import zlib

import numpy as np
import pytest
from scipy import stats

from ebm_ref import params as P
from ebm_ref.datasets import bars_and_stripes
from ebm_ref.identities.contrastive_divergence import _small_rbm
from ebm_ref.models import Gaussian
from ebm_ref.models.rbm import BernoulliRBM, DeepBeliefNet
from ebm_ref.objectives import contrastive_divergence as cd
from ebm_ref.train import SGD, fit


def test_identity_case_mixes_fast():
    """The k = 300 identity relies on |λ₂| < 0.9 for its RBM: check it here."""
    name = "cd: E[CD-k gradient] → exact gradient as k grows (k = 300)"
    rbm = _small_rbm(np.random.default_rng(zlib.crc32(name.encode())))
    ev = np.sort(np.abs(np.linalg.eigvals(cd.visible_gibbs_kernel(rbm))))[::-1]
    assert abs(ev[0] - 1) < 1e-12 and ev[1] < 0.9


@pytest.mark.exact
def test_cd_bias_is_exact_and_shrinks_with_k(rng):
    rbm = BernoulliRBM(1.5 * rng.standard_normal((9, 6)), np.zeros(9), np.zeros(6))
    x = bars_and_stripes(3)
    sizes = [max(np.abs(v).max() for v in cd.cd_bias(rbm, x, k).values()) for k in (1, 3, 10, 30)]
    assert sizes[0] > 1e-3                       # CD-1 is visibly biased on this model
    assert all(a > b for a, b in zip(sizes, sizes[1:]))


@pytest.mark.statistical
def test_monte_carlo_cd_k_matches_its_exact_expectation(rng):
    # Average of 400 independent CD-2 gradients vs the exact expectation T^k; z-scores of
    # all 34 entries against 4.5: false-positive rate < 34 · 6.8e-6 ≈ 2.3e-4 (Bonferroni).
    rbm = _small_rbm(rng)
    x = (rng.random((30, rbm.n_visible)) < 0.5).astype(float)
    exact = P.flatten(cd.exact_cd_expected_gradient(rbm, x, 2))
    draws = np.array([P.flatten(cd.cd_k(rbm, x, 2, rng)[1]) for _ in range(400)])
    z = (draws.mean(0) - exact) / (draws.std(0, ddof=1) / np.sqrt(len(draws)))
    assert np.max(np.abs(z)) < 4.5


@pytest.mark.exact
def test_phases_and_loss_shapes(rng):
    g = Gaussian([0.0, 1.0], np.eye(2))
    xd, xm = rng.standard_normal((5, 2)), rng.standard_normal((7, 2))
    pos, neg = cd.phases(g, xd, xm)
    value, grads = cd.loss(g, xd, xm)
    for k in g.params:
        np.testing.assert_allclose(grads[k], pos[k] - neg[k], rtol=1e-15)
        np.testing.assert_allclose(pos[k], g.grad_params(xd)[k].mean(0), rtol=1e-13)
    assert value == pytest.approx(g.energy(xd).mean() - g.energy(xm).mean(), rel=1e-14)


@pytest.mark.statistical
@pytest.mark.slow
def test_cd_on_a_gaussian_reaches_near_the_mle(rng):
    """CD-10 with MALA negatives started at the data, on 1-D Gaussian data.

    The MLE is the sample mean and the inverse sample variance.  CD's fixed point is
    where the data are invariant (on average) under k MALA steps of the model, which
    for a Gaussian model and Gaussian data is the MLE up to O(1/n) and SGD noise;
    we average the last 100 iterates and allow 5%: SGD noise with batches of 500 and
    the slow approach of the precision (CD's gradient shrinks with the distance the
    k steps travel) leave the iterate average within ~2% of the MLE.
    """
    data = rng.normal(1.0, 0.5, size=(4000, 1))
    mle_mean, mle_prec = data.mean(), 1.0 / data.var()
    model = Gaussian([0.0], [[1.0]])
    trace = []
    model, _ = fit(model, data, cd.cd_objective(10, sampler="mala", step_size=0.1), SGD(0.3, momentum=0.5),
                   400, rng, batch_size=500, callbacks=[lambda s, m, l: trace.append(P.flatten(m.params))],
                   log=lambda s: None)
    mean, prec = np.mean(trace[-100:], axis=0)
    assert abs(mean - mle_mean) < 0.05 * abs(mle_mean)
    assert abs(prec - mle_prec) < 0.05 * mle_prec


@pytest.mark.exact
@pytest.mark.slow
def test_bars_and_stripes_log_likelihood_bounded_by_uniform_over_patterns(rng):
    """Exact log-likelihood curves; no model can beat −log 14 on the 14 distinct patterns.

    (1/N) Σ log p(xᵢ) ≤ log((1/N) Σ p(xᵢ)) ≤ log(1/N) by Jensen and Σ p ≤ 1.
    """
    x = bars_and_stripes(3)
    best = -np.log(len(x))
    rbm0 = BernoulliRBM(0.1 * rng.standard_normal((9, 8)), np.zeros(9), np.zeros(8))
    ll = lambda m, d: m.log_likelihood(d)
    exact_obj = lambda m, xb, r: (-m.log_likelihood(xb), P.scale(m.exact_grad_log_likelihood(xb), -1.0))
    runs = {
        "exact": exact_obj,
        "cd1": cd.cd_objective(1),
        "pcd": cd.pcd_objective(1, 14, rng, x),
    }
    finals = {}
    for name, obj in runs.items():
        _, hist = fit(rbm0, x, obj, SGD(0.5, momentum=0.5), 300, rng, exact_log_likelihood=ll,
                      ll_every=50, log=lambda s: None)
        lls = np.array(hist.log_likelihood)
        assert np.all(lls <= best + 1e-12), name
        finals[name] = lls[-1]
    assert finals["exact"] > rbm0.log_likelihood(x) + 1.0  # exact ascent makes real progress


@pytest.mark.statistical
@pytest.mark.slow
def test_dbn_trained_greedily_generates_patterns(rng):
    # Samples from a 2-layer DBN trained by CD-1 on 3×3 bars-and-stripes: the fraction
    # that are valid patterns is compared with the uniform rate 14/512 by a binomial
    # test at α = 1e-3 (one-sided).
    x = np.repeat(bars_and_stripes(3), 20, axis=0)
    dbn = cd.train_dbn(x, [12, 8], rng, k=1, n_steps=800, lr=0.1, batch_size=70)
    assert isinstance(dbn, DeepBeliefNet) and dbn.layer_sizes == (9, 12, 8)
    s = dbn.sample(500, rng, n_gibbs=200)
    pats = {tuple(p) for p in bars_and_stripes(3)}
    hits = sum(tuple(v) in pats for v in s)
    assert stats.binomtest(hits, 500, 14 / 512, alternative="greater").pvalue < 1e-3


def test_bad_input(rng):
    g = Gaussian([0.0], [[1.0]])
    x = rng.standard_normal((4, 1))
    with pytest.raises(ValueError, match="k"):
        cd.cd_k(g, x, 0, rng, step_size=0.1)
    with pytest.raises(ValueError, match="step_size"):
        cd.cd_k(g, x, 1, rng, sampler="mala")
    with pytest.raises(ValueError, match="sampler"):
        cd.cd_k(g, x, 1, rng, sampler="hmc", step_size=0.1)
    with pytest.raises(ValueError, match=r"\(n, 1\)"):
        cd.phases(g, np.zeros((3, 2)), x)
    with pytest.raises(ValueError, match="at least one"):
        cd.phases(g, np.zeros((0, 1)), x)
    with pytest.raises(ValueError, match="bounds"):
        cd.grad_log_partition_expectation(g)
    with pytest.raises(ValueError, match="chains"):
        cd.pcd_step(g, x, x, 1, rng)
    with pytest.raises(ValueError, match="box"):
        cd.ReplayBuffer(10, 1, (1.0, -1.0), rng)
    with pytest.raises(ValueError, match="reinit"):
        cd.ReplayBuffer(10, 1, (-1.0, 1.0), rng, reinit=2.0)
    with pytest.raises(ValueError, match="grad_log_z"):
        cd.grad_log_likelihood_split(g, x, {"mean": np.zeros(1)})
    big = BernoulliRBM(np.zeros((15, 2)), np.zeros(15), np.zeros(2))
    with pytest.raises(ValueError, match="n_visible"):
        cd.visible_gibbs_kernel(big)


@pytest.mark.statistical
def test_replay_buffer_langevin_negatives(rng):
    """Short-run ULA from the buffer moves states toward the model's mass and stores them."""
    g = Gaussian([2.0, -1.0], 4.0 * np.eye(2))
    buf = cd.ReplayBuffer(200, 2, (-4.0, 4.0), rng, reinit=0.0)
    for _ in range(20):
        xs = cd.langevin_negatives(g, buf, 100, 20, 0.01, rng)
    # after 400 ULA steps of size 0.01 on precision 4 every stored state is close to
    # stationary: the buffer mean is within 5 standard errors of the ULA stationary mean μ
    se = np.sqrt(0.25 / 200)
    assert np.all(np.abs(buf.x.mean(0) - g.mean) < 5 * se + 0.05)


# ============================== issue 11, defect 11: the sampler is chosen by type (isinstance)
def test_cd_k_sends_an_rbm_subclass_to_gibbs(monkeypatch):
    from ebm_ref import samplers

    class MyRBM(BernoulliRBM):
        pass

    rbm = _small_rbm(np.random.default_rng(1), 4, 3)
    mine = MyRBM(**rbm.params)
    x = (np.random.default_rng(2).random((5, 4)) < 0.5).astype(float)
    called = {}
    real = samplers.gibbs_k

    def spy(model, x0, k, rng):
        called["model"] = model
        return real(model, x0, k, rng)

    monkeypatch.setattr(samplers, "gibbs_k", spy)
    _, _, xm = cd.cd_k(mine, x, 1, 0)
    assert called["model"] is mine
    assert np.all((xm == 0) | (xm == 1))          # Gibbs draws binary states; MALA would not


@pytest.mark.exact
def test_cd_as_kl_difference_is_nonnegative_and_grows_to_the_kl(rng):
    # KL(p_k‖p) is nonincreasing in k (p is invariant under T), so CD_k rises from 0 to KL(p₀‖p)
    from ebm_ref.models.rbm import BernoulliRBM

    rbm = BernoulliRBM(0.7 * rng.standard_normal((5, 3)), 0.3 * rng.standard_normal(5), 0.3 * rng.standard_normal(3))
    x = (rng.random((15, 5)) < 0.4).astype(float)
    vals = [cd.cd_kl_difference(rbm, x, k) for k in (0, 1, 2, 4, 8, 400)]
    assert vals[0] == 0.0
    assert np.all(np.diff(vals) >= -1e-14)
    assert abs(vals[-1] - cd.kl_to_model(rbm, cd.empirical_distribution(x, 5))) < 1e-12


# ------------------------------------------------------------ the exact CD-k bias curve
@pytest.mark.exact
def test_cd_bias_curve_is_zero_when_one_sweep_is_exact():
    """With W = 0 the units are independent: one block-Gibbs sweep draws v exactly from p, so
    p_k = p for every k ≥ 1: χ² = 0, bias 0, and the sweep's kernel has rank one (λ₂ = 0)."""
    rbm = BernoulliRBM(np.zeros((4, 2)), np.array([0.3, -0.2, 0.5, 0.0]), np.array([0.1, -0.4]))
    data = bars_and_stripes(2)
    r = cd.cd_bias_curve(rbm, data, [1, 2, 5])
    assert r["k"].tolist() == [1, 2, 5]
    np.testing.assert_allclose(r["chi2"], 0.0, atol=1e-14)               # float64 round-off of sums of 16 terms
    np.testing.assert_allclose(r["bias"], 0.0, atol=1e-14)
    assert r["lambda2"] == pytest.approx(0.0, abs=1e-12)                  # eigenvalues of a rank-one 16×16 matrix
    assert r["grad"] == pytest.approx(np.linalg.norm(P.flatten(rbm.exact_grad_log_likelihood(data))), rel=1e-12)


def test_cd_bias_curve_refuses_bad_input():
    rbm = BernoulliRBM(np.zeros((4, 2)), np.zeros(4), np.zeros(2))
    data = bars_and_stripes(2)
    with pytest.raises(ValueError, match="k"):
        cd.cd_bias_curve(rbm, data, [0, 1])
    with pytest.raises(ValueError, match="ks"):
        cd.cd_bias_curve(rbm, data, [])
    with pytest.raises(ValueError, match="v_data"):
        cd.cd_bias_curve(rbm, 0.5 * data, [1])
    with pytest.raises(ValueError, match="rbm"):
        cd.cd_bias_curve(Gaussian([0.0], [[1.0]]), data, [1])


@pytest.mark.exact
def test_cd_energy_change_is_the_first_order_change_and_refuses_bad_input():
    # Gaussian energy E = ½P(x − μ)²: ∇_μ E = −P(x − μ), ∇_P E = ½(x − μ)²; the first-order change
    # of E at x is ∇θE(x)·Δθ with Δθ = −η(pos − neg), computed here by hand
    from ebm_ref.models import Gaussian

    g = Gaussian(mean=[0.2], precision=[[1.5]])
    xd, xm, x = np.array([[1.0], [2.0]]), np.array([[-1.0], [0.5]]), np.array([[0.0], [3.0]])
    mu, P, eta = 0.2, 1.5, 0.1
    grads = lambda z: np.column_stack([-P * (z[:, 0] - mu), 0.5 * (z[:, 0] - mu) ** 2])   # (∂μ, ∂P)
    delta = -eta * (grads(xd).mean(axis=0) - grads(xm).mean(axis=0))
    np.testing.assert_allclose(cd.cd_energy_change(g, xd, xm, x, eta), grads(x) @ delta, rtol=1e-12)
    with pytest.raises(ValueError, match="lr"):
        cd.cd_energy_change(g, xd, xm, x, -0.1)
    with pytest.raises(ValueError, match="keys"):
        cd.cd_energy_change(g, xd, xm, x, 0.1, keys=["W"])
    with pytest.raises(ValueError, match="x"):
        cd.cd_energy_change(g, xd, xm, np.zeros((2, 3)), 0.1)
