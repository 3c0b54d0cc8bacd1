"""Continuous samplers: exact-start stationarity tests, ULA bias, jitted == NumPy, bad input.

Statistical tests start many independent chains *exactly* from the target (model.sample),
run k steps and test the end points against the exact distribution.  A correct kernel
leaves the target invariant, so the end points are exact, independent draws and each
test's p-value is uniform.  Each test makes m comparisons and rejects when the smallest
p-value is below ALPHA / m (Bonferroni), so its false-positive rate is at most ALPHA = 1e-3.
"""
import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest
from scipy import linalg, stats

from ebm_ref import samplers
from ebm_ref.energy import Energy, has_capability
from ebm_ref.models.compose import Tempered
from ebm_ref.models.gaussian import Gaussian, GaussianMixture, WarpedGaussian
from ebm_ref.models.mlp import MLPEnergy
from ebm_ref.models.rbm import GaussianBernoulliRBM
from ebm_ref.samplers._jit_models import batch_energy_grad, jit_form

ALPHA = 1e-3          # false-positive rate of each statistical test (Bonferroni over its p-values)
N_CHAINS = 2000       # chains per exact-start test: enough power for a wrong acceptance rule
K_STEPS = 15          # steps run from the exact start
SAME_PATH_TOL = 1e-12  # jitted vs NumPy path: same arithmetic up to summation order


def _dense_gaussian():
    P = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.5]])
    return Gaussian(np.array([1.0, -0.5, 0.2]), P)


def _mixture():
    covs = np.stack([np.array([[0.5, 0.2], [0.2, 0.4]]), 0.3 * np.eye(2), np.array([[0.6, -0.1], [-0.1, 0.3]])])
    return GaussianMixture(np.array([0.3, 0.5, 0.2]), np.array([[-1.5, 0.0], [1.5, 0.5], [0.0, 1.8]]), covs)


def _banana():
    return WarpedGaussian(np.zeros(2), np.diag([1.0, 4.0]), 0.5)


def _gbrbm():
    # 2 visible, 3 hidden units: p(v) is a mixture of 8 Gaussians N(b + Wh, diag σ²)
    W = np.array([[1.5, -1.0, 0.5], [0.3, 1.2, -1.4]])
    return GaussianBernoulliRBM(W, np.array([0.2, -0.1]), np.array([-0.5, 0.3, 0.1]), np.array([0.6, 0.8]))


def _gbrbm_projection_cdf(rbm, a):
    """Exact CDF of aᵀv: Σ_h p(h) Φ((t − aᵀ(b + Wh)) / √(Σᵢ aᵢ²σᵢ²))."""
    states, ph = rbm.hidden_marginal()
    p = rbm.params
    mu = (p["b"] + states @ p["W"].T) @ a
    sd = np.sqrt(np.sum(a**2 * p["sigma"] ** 2))
    return lambda t: np.sum(ph * stats.norm.cdf((np.asarray(t)[:, None] - mu) / sd), axis=1)


def _mixture_projection_cdf(mix, a):
    """Exact CDF of aᵀx for x from the mixture: Σ_k w_k Φ((t − aᵀμ_k)/√(aᵀΣ_k a))."""
    p = mix.params
    mu = p["means"] @ a
    sd = np.sqrt(np.einsum("i,kij,j->k", a, p["covariances"], a))
    return lambda t: np.sum(p["weights"] * stats.norm.cdf((np.asarray(t)[:, None] - mu) / sd), axis=1)


def _pvalues(model, x):
    """p-values of exact tests of the end points x against the model's distribution."""
    if isinstance(model, Gaussian):
        q = np.einsum("ni,ij,nj->n", x - model.mean, model.precision, x - model.mean)
        return [stats.kstest(q, stats.chi2(model.dim).cdf).pvalue]            # (x−μ)ᵀP(x−μ) ~ χ²_d
    if isinstance(model, WarpedGaussian):
        g = Gaussian(model.params["mean"], model.params["precision"])
        z = model.warp(x) - g.mean                                              # T(x) ~ N(μ, P⁻¹)
        q = np.einsum("ni,ij,nj->n", z, g.precision, z)
        return [stats.kstest(q, stats.chi2(model.dim).cdf).pvalue,
                stats.kstest(x[:, 0], stats.norm(0, 1).cdf).pvalue]              # x₀ = z₀ exactly
    dirs = [np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([1.0, 1.0]) / np.sqrt(2)]
    cdf = _gbrbm_projection_cdf if isinstance(model, GaussianBernoulliRBM) else _mixture_projection_cdf
    return [stats.kstest(x @ a, cdf(model, a)).pvalue for a in dirs]


RUNS = {
    "metropolis": lambda m, x0, rng: samplers.metropolis(m, x0, K_STEPS, rng, step_size=0.7),
    "mala": lambda m, x0, rng: samplers.mala(m, x0, K_STEPS, rng, step_size=0.15),
    "hmc": lambda m, x0, rng: samplers.hmc(m, x0, K_STEPS, rng, step_size=0.25, n_leapfrog=4),
}


@pytest.mark.statistical
@pytest.mark.parametrize("name", list(RUNS))
def test_exact_start_stays_exact(name, rng):
    # FPR <= ALPHA: Bonferroni over the p-values of four targets (Gaussian, mixture, banana,
    # Gaussian–Bernoulli RBM's free energy over v)
    ps = []
    for model in (_dense_gaussian(), _mixture(), _banana(), _gbrbm()):
        x0 = model.sample(N_CHAINS, rng)
        ch = RUNS[name](model, x0, rng)
        assert 0.05 < ch.accept_rate.mean() <= 1.0
        assert np.max(np.abs(ch.last - x0)) > 0          # the chains moved
        ps += _pvalues(model, ch.last)
    assert min(ps) > ALPHA / len(ps), ps


@pytest.mark.statistical
def test_tests_have_power_against_a_wrong_kernel(rng):
    # The same test rejects a sampler that is wrong: MH with the acceptance step removed
    # is a random walk that inflates the variance by k h² per coordinate.  Power ≈ 1
    # (variance ratio ≈ 1 + K_STEPS·0.49/λ at N_CHAINS = 2000).
    g = _dense_gaussian()
    x0 = g.sample(N_CHAINS, rng)
    x = x0 + 0.7 * np.sqrt(K_STEPS) * rng.standard_normal(x0.shape)
    assert min(_pvalues(g, x)) < ALPHA


def test_ula_stationary_covariance_closed_form_equals_lyapunov():
    # Σ = AΣAᵀ + 2hI with A = I − hP (discrete Lyapunov) vs the (P(I − hP/2))⁻¹: they agree
    P = _dense_gaussian().precision
    h = 0.3
    A = np.eye(3) - h * P
    lyap = linalg.solve_discrete_lyapunov(A, 2 * h * np.eye(3))
    np.testing.assert_allclose(samplers.ula_gaussian_covariance(P, h), lyap, rtol=1e-12, atol=1e-12)


@pytest.mark.statistical
def test_ula_reproduces_its_biased_covariance_and_mala_removes_it(rng):
    # FPR <= ALPHA by Bonferroni over 2 acceptance p-values; the two power checks
    # (rejecting the wrong covariance) have power ≈ 1 at h = 0.4 (variance inflated by 1/(1 − hλ/2)).
    g = _dense_gaussian()
    h = 0.4
    Sh = samplers.ula_gaussian_covariance(g.precision, h)
    gh = Gaussian.from_covariance(g.mean, Sh)                 # ULA's exact stationary law
    n = 4000
    ula = samplers.ula(g, gh.sample(n, rng), 20, rng, step_size=h)
    mala = samplers.mala(g, g.sample(n, rng), 20, rng, step_size=h)
    p_ula_biased = _pvalues(gh, ula.last)[0]
    p_mala_exact = _pvalues(g, mala.last)[0]
    assert min(p_ula_biased, p_mala_exact) > ALPHA / 2
    assert _pvalues(g, ula.last)[0] < ALPHA          # ULA is not exact ...
    assert _pvalues(gh, mala.last)[0] < ALPHA        # ... and MALA is not ULA's law


@pytest.mark.statistical
def test_annealed_langevin_matches_the_exact_linear_recursion(rng):
    # Target N(0, s0²) in 1-D with exact smoothed score −x/(s0² + σ²): every step is linear,
    # x' = a x + √(2h) ξ, a = 1 − h/(s0² + σ²), so Var' = a² Var + 2h exactly.  FPR = ALPHA.
    s0 = 0.7
    sigmas = np.geomspace(3.0, 0.05, 6)
    T, eps = 7, 2e-3
    x0 = 3.0 * rng.standard_normal((5000, 1))
    ch = samplers.annealed_langevin(lambda x, s: -x / (s0**2 + s**2), x0, T, rng, sigmas=sigmas, step_lr=eps)
    v = 9.0
    for s in sigmas:
        h = eps * s**2 / sigmas[-1] ** 2
        for _ in range(T):
            v = (1 - h / (s0**2 + s**2)) ** 2 * v + 2 * h
    assert ch.samples.shape == (6, 5000, 1)
    assert stats.kstest(ch.last[:, 0] / np.sqrt(v), "norm").pvalue > ALPHA


@pytest.mark.exact
def test_hmc_with_one_leapfrog_step_is_mala():
    # L = 1: q' = q − (ε²/2)∇E + ε p is the MALA proposal with h = ε²/2, the acceptance
    # ratios coincide, and both draw (normals, then uniforms) per chunk and step.
    m = _mixture()
    x0 = m.sample(50, 1)
    eps = 0.4
    a = samplers.hmc(m, x0, 30, 7, step_size=eps, n_leapfrog=1)
    b = samplers.mala(m, x0, 30, 7, step_size=eps**2 / 2)
    np.testing.assert_allclose(a.samples, b.samples, atol=1e-12, rtol=0)
    np.testing.assert_array_equal(a.accept_rate, b.accept_rate)


# ------------------------------------------------------------------ jitted == NumPy
MODELS = {
    "gaussian": _dense_gaussian,
    "diag_gaussian": lambda: Gaussian(np.array([0.5, -1.0]), np.diag([2.0, 0.5])),
    "tempered_gaussian": lambda: Tempered(_dense_gaussian(), 0.3),    # E/T runs the Gaussian form, P/T
    "mixture": _mixture,
    "banana": _banana,
    "gbrbm": _gbrbm,
    "mlp": lambda: MLPEnergy.init([2, 8, 6], 5, activation="tanh"),   # no density: path equality only
}
SAMPLER_CALLS = {
    "metropolis": lambda m, x0, b: samplers.metropolis(m, x0, 40, 11, step_size=0.6, burn_in=10, thin=3, adapt=True, backend=b),
    "ula": lambda m, x0, b: samplers.ula(m, x0, 40, 11, step_size=0.02, burn_in=5, thin=2, backend=b),
    "mala": lambda m, x0, b: samplers.mala(m, x0, 40, 11, step_size=0.2, thin=4, backend=b),
    "hmc": lambda m, x0, b: samplers.hmc(m, x0, 25, 11, step_size=0.2, n_leapfrog=3, burn_in=3, backend=b),
}


@pytest.mark.exact
@pytest.mark.parametrize("act", ["tanh", "softplus", "sigmoid", "silu"])
def test_mlp_jit_form_matches_the_model(act, rng):
    for sizes in ([2, 8], [3, 16, 8]):
        m = MLPEnergy.init(sizes, rng, activation=act)
        x = 2.0 * rng.standard_normal((20, sizes[0]))
        e, g = batch_energy_grad(jit_form(m), x)
        np.testing.assert_allclose(e, m.energy(x), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(g, m.grad_x(x), rtol=1e-12, atol=1e-12)


@pytest.mark.exact
@pytest.mark.parametrize("model_name", list(MODELS))
def test_jit_forms_match_the_models(model_name, rng):
    m = MODELS[model_name]()
    x = 2.0 * rng.standard_normal((20, m.dim))
    e, g = batch_energy_grad(jit_form(m), x)
    np.testing.assert_allclose(e, m.energy(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g, m.grad_x(x), rtol=1e-12, atol=1e-12)


@pytest.mark.exact
@pytest.mark.parametrize("model_name", list(MODELS))
@pytest.mark.parametrize("sampler", list(SAMPLER_CALLS))
def test_jitted_and_numpy_paths_give_the_same_chains(sampler, model_name):
    m = MODELS[model_name]()
    n = 37                                    # 37 chains: unequal chunks
    x0 = m.sample(n, 3) if has_capability(m, "sample") else 1.5 * np.random.default_rng(3).standard_normal((n, m.dim))
    a = SAMPLER_CALLS[sampler](m, x0, "numba")
    b = SAMPLER_CALLS[sampler](m, x0, "numpy")
    assert a.settings["backend"] == "numba" and b.settings["backend"] == "numpy"
    assert a.samples.shape == b.samples.shape
    np.testing.assert_allclose(a.samples, b.samples, atol=SAME_PATH_TOL, rtol=0)
    np.testing.assert_array_equal(a.accept_rate, b.accept_rate)


class _UserGaussian(Energy):
    """A user's own energy (no jittable form): ½‖x‖²."""

    def __init__(self, d):
        super().__init__(d, {})

    def _energy(self, x):
        return 0.5 * np.sum(x * x, axis=1)

    def _grad_x(self, x):
        return x.copy()


@pytest.mark.exact
def test_user_energy_runs_the_numpy_path_and_matches_the_builtin():
    x0 = np.random.default_rng(0).standard_normal((20, 2))
    user = samplers.mala(_UserGaussian(2), x0, 30, 5, step_size=0.3)
    builtin = samplers.mala(Gaussian(np.zeros(2), np.eye(2)), x0, 30, 5, step_size=0.3)
    assert user.settings["backend"] == "numpy" and builtin.settings["backend"] == "numba"
    np.testing.assert_allclose(user.samples, builtin.samples, atol=SAME_PATH_TOL, rtol=0)


@pytest.mark.exact
def test_same_chains_on_one_and_two_threads_and_with_progress(monkeypatch):
    # with the work threshold at 0 the 2-thread run takes the prange kernel; on 1 thread the
    # chunks run one after another through the serial chunk function: the same chains.  This is
    # the test of the three prange kernels (the rest of the suite runs on one numba thread, see
    # tests/conftest.py)
    from ebm_ref.samplers import _common

    monkeypatch.setattr(_common, "PARALLEL_MIN_WORK", 0)
    m = _mixture()
    x0 = m.sample(100, 2)
    runs = {"metropolis": lambda: samplers.metropolis(m, x0, 20, 9, step_size=0.5),
            "mala": lambda: samplers.mala(m, x0, 20, 9, step_size=0.2),
            "hmc": lambda: samplers.hmc(m, x0, 20, 9, step_size=0.3, n_leapfrog=3)}
    old = numba.get_num_threads()
    for name, run in runs.items():
        try:
            numba.set_num_threads(1)
            one = run()
            numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
            two = run()
        finally:
            numba.set_num_threads(old)
        np.testing.assert_array_equal(one.samples, two.samples, err_msg=name)
    calls = []
    seg = samplers.metropolis(m, x0, 2500, 4, step_size=0.5, progress=lambda t, n: calls.append(t))
    whole = samplers.metropolis(m, x0, 2500, 4, step_size=0.5)
    assert calls == [1000, 2000, 2500]
    np.testing.assert_array_equal(seg.samples, whole.samples)


def test_chains_layout_burn_in_thin_and_rng_advances():
    g = _dense_gaussian()
    x0 = g.sample(5, 0)
    ch = samplers.metropolis(g, x0, 20, 1, step_size=0.5, burn_in=5, thin=4)
    assert ch.samples.shape == (3, 5, 3) and ch.accept_rate.shape == (5,)
    full = samplers.metropolis(g, x0, 20, 1, step_size=0.5)
    np.testing.assert_array_equal(ch.samples, full.samples[[8, 12, 16]])    # steps 9, 13, 17
    r = np.random.default_rng(3)
    a = samplers.ula(g, x0, 3, r, step_size=0.1)
    b = samplers.ula(g, x0, 3, r, step_size=0.1)
    assert not np.array_equal(a.samples, b.samples)
    np.testing.assert_array_equal(samplers.ula(g, x0, 3, 3, step_size=0.1).samples, a.samples)


@pytest.mark.statistical
def test_warm_up_adaptation_reaches_the_target_acceptance(rng):
    # After 500 Robbins–Monro warm-up steps the per-chain step is near the value giving
    # 0.234; the kept-phase acceptance of 200 chains × 500 steps is averaged.  The
    # tolerance 0.05 allows the residual step error left by the (t+1)^-0.6 gain.
    g = Gaussian(np.zeros(10), np.diag(np.linspace(0.5, 3.0, 10)))
    ch = samplers.metropolis(g, g.sample(200, rng), 1000, rng, step_size=3.0, burn_in=500, adapt=True)
    assert abs(ch.accept_rate.mean() - 0.234) < 0.05
    assert ch.extras["step_size"].shape == (200,)


def test_nonfinite_stops_with_step_and_chain():
    g = Gaussian(np.zeros(2), np.eye(2))
    x0 = np.ones((10, 2))
    msgs = []
    for b in ("numba", "numpy"):
        with pytest.raises(FloatingPointError, match=r"ula: .*step \d+, chain \d+") as e:
            samplers.ula(g, x0, 5000, 0, step_size=2.5, backend=b)     # |1 − h| = 1.5 > 1: diverges
        msgs.append(str(e.value))
    # The paths evaluate ½ rᵀPr in different orders, so at the overflow threshold one may
    # overflow a step before the other; the reported steps agree to within one.
    steps = [int(m.split("at step ")[1].split(",")[0]) for m in msgs]
    assert abs(steps[0] - steps[1]) <= 1, msgs


def test_annealed_langevin_stops_on_nonfinite_score():
    def score(x, s):
        out = -x
        out[1] = np.nan if s < 0.5 else out[1]
        return out
    with pytest.raises(FloatingPointError, match=r"annealed_langevin: .*step 4, chain 1"):
        samplers.annealed_langevin(score, np.zeros((3, 2)), 3, 0, sigmas=[1.0, 0.1], step_lr=0.01)


class _NanAbove(Energy):
    def __init__(self):
        super().__init__(1, {})

    def _energy(self, x):
        return np.where(x[:, 0] > 2.0, np.nan, 0.5 * x[:, 0] ** 2)

    def _grad_x(self, x):
        return x.copy()


def test_nan_energy_of_a_user_model_names_step_and_chain():
    x0 = np.zeros((4, 1))
    x0[2] = 1.9
    with pytest.raises(FloatingPointError, match=r"metropolis: .*step \d+, chain \d+"):
        samplers.metropolis(_NanAbove(), x0, 200, 0, step_size=1.0)


@pytest.mark.parametrize("call, match", [
    (lambda g, x: samplers.metropolis(g, x, 10, 0, step_size=0.0), "step_size"),
    (lambda g, x: samplers.metropolis(g, x, 10, 0, step_size=-1.0), "step_size"),
    (lambda g, x: samplers.ula(g, x, 10, 0, step_size=np.nan), "step_size"),
    (lambda g, x: samplers.mala(g, x[:, :2], 10, 0, step_size=0.1), "x0"),
    (lambda g, x: samplers.mala(g, x[0], 10, 0, step_size=0.1), "x0"),
    (lambda g, x: samplers.hmc(g, x[:0], 10, 0, step_size=0.1, n_leapfrog=3), "x0"),
    (lambda g, x: samplers.hmc(g, x, 10, 0, step_size=0.1, n_leapfrog=0), "n_leapfrog"),
    (lambda g, x: samplers.hmc(g, x, 0, 0, step_size=0.1, n_leapfrog=2), "n_steps"),
    (lambda g, x: samplers.ula(g, x, 10, 0, step_size=0.1, burn_in=10), "burn_in"),
    (lambda g, x: samplers.ula(g, x, 10, 0, step_size=0.1, thin=0), "thin"),
    (lambda g, x: samplers.ula(g, x, 10, 0, step_size=0.1, burn_in=5, thin=6), "thin"),
    (lambda g, x: samplers.metropolis(g, x, 10, 0, step_size=0.1, adapt=True), "adapt"),
    (lambda g, x: samplers.metropolis(g, x, 10, 0, step_size=0.1, burn_in=2, adapt=True, target_accept=1.5), "target_accept"),
    (lambda g, x: samplers.metropolis(g, x, 10, None, step_size=0.1), "rng"),
    (lambda g, x: samplers.mala(g, x, 10, 0, step_size=0.1, backend="gpu"), "backend"),
    (lambda g, x: samplers.mala(_UserGaussian(3), x, 10, 0, step_size=0.1, backend="numba"), "backend"),
    (lambda g, x: samplers.mala(g, x, 10, 0, step_size=0.1, progress=3), "progress"),
    (lambda g, x: samplers.annealed_langevin(g.score, x, 5, 0, sigmas=[1.0, 1.0], step_lr=0.1), "sigmas"),
    (lambda g, x: samplers.annealed_langevin(g.score, x, 5, 0, sigmas=[0.1, 1.0], step_lr=0.1), "sigmas"),
    (lambda g, x: samplers.annealed_langevin(g.score, x, 5, 0, sigmas=[1.0, -0.1], step_lr=0.1), "sigmas"),
    (lambda g, x: samplers.annealed_langevin(g.score, x, 0, 0, sigmas=[1.0, 0.1], step_lr=0.1), "n_steps_each"),
    (lambda g, x: samplers.annealed_langevin(g.score, x, 5, 0, sigmas=[1.0, 0.1], step_lr=0.0), "step_lr"),
    (lambda g, x: samplers.annealed_langevin("score", x, 5, 0, sigmas=[1.0, 0.1], step_lr=0.1), "score_fn"),
    (lambda g, x: samplers.ula_gaussian_covariance(g.precision, 5.0), "step_size"),
    (lambda g, x: samplers.leapfrog(g, x, x[:, :2], 0.1, 2), "p"),
])
def test_bad_input_raises_value_error(call, match):
    g = _dense_gaussian()
    x = g.sample(4, 0)
    with pytest.raises(ValueError, match=match):
        call(g, x)


@pytest.mark.slow
@pytest.mark.statistical
def test_seed_sweep_rejection_rate_is_consistent_with_alpha():
    # Run the exact-start χ² KS test of MH at level a = 0.05 over 200 seeds derived from
    # one SeedSequence; under H0 the rejection count is Binomial(200, 0.05).  The binomial
    # test rejects at ALPHA, so this test's false-positive rate is ALPHA.
    a = 0.05
    g = _dense_gaussian()
    seeds = np.random.SeedSequence(20240605).spawn(200)
    rejections = 0
    for s in seeds:
        r = np.random.default_rng(s)
        ch = samplers.metropolis(g, g.sample(300, r), 5, r, step_size=0.7)
        rejections += _pvalues(g, ch.last)[0] < a
    assert stats.binomtest(int(rejections), 200, a).pvalue > ALPHA, rejections


@pytest.mark.slow
def test_numba_cache_hits_in_a_fresh_process(tmp_path):
    # a small run takes the serial chunk function; with the work threshold at 0 (and 2 threads)
    # the same run takes the prange kernel: both are compiled once, then loaded from the cache
    code = textwrap.dedent("""
        import numba, numpy as np
        from ebm_ref import samplers
        from ebm_ref.models.gaussian import Gaussian
        from ebm_ref.samplers import _common, metropolis_hastings
        g = Gaussian(np.zeros(2), np.eye(2))
        samplers.metropolis(g, np.zeros((4, 2)), 5, 0, step_size=0.5)
        kernels = [metropolis_hastings._rwmh_chunk]
        if numba.config.NUMBA_NUM_THREADS > 1:
            numba.set_num_threads(2)
            _common.PARALLEL_MIN_WORK = 0
            samplers.metropolis(g, np.zeros((4, 2)), 5, 0, step_size=0.5)
            kernels.append(metropolis_hastings._rwmh_kernel)
        for k in kernels:
            st = k.stats
            print(sum(st.cache_hits.values()), sum(st.cache_misses.values()))
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            for _ in range(2)]
    for first, second in zip(runs[0].stdout.splitlines(), runs[1].stdout.splitlines()):
        first, second = tuple(map(int, first.split())), tuple(map(int, second.split()))
        assert first[1] >= 1                       # compiled and written to the cache
        assert second == (1, 0), (first, second)   # loaded from the cache, nothing compiled


@pytest.mark.slow
def test_benchmark_runs_in_quick_mode():
    # Timing is never asserted; the benchmark must run and report the cache hit.
    from ebm_ref.benchmarks.samplers import bench_samplers_continuous

    rows = bench_samplers_continuous(quick=True)
    names = [r.name for r in rows]
    assert any("RNG floor" in n for n in names) and any("NumPy path" in n for n in names)
    first = next(r for r in rows if r.name.startswith("first metropolis call"))
    assert "cache hits 1, misses 0" in first.detail


@numba.njit(cache=True)
def _scalar_draws(g, m, d):
    z = np.empty((m, d))
    u = np.empty(m)
    for i in range(m):
        for j in range(d):
            z[i, j] = g.standard_normal()
    for i in range(m):
        u[i] = g.random()
    return z, u


@pytest.mark.exact
def test_numba_scalar_draws_reproduce_numpy_block_draws():
    # The fact both paths rest on: a Generator passed into njit code and drawn from one
    # number at a time gives NumPy's block draws standard_normal((m, d)), random(m), and
    # leaves the Generator in the same state.
    a, b = np.random.default_rng(123), np.random.default_rng(123)
    z, u = _scalar_draws(a, 7, 3)
    np.testing.assert_array_equal(z, b.standard_normal((7, 3)))
    np.testing.assert_array_equal(u, b.random(7))
    assert a.random() == b.random()


# ------------------------------------------------------------- the pure NumPy steps
from ebm_ref.samplers import _common  # noqa: E402
from ebm_ref.samplers.state import Potential, init  # noqa: E402

STEP_TOL = 1e-10   # step vs an independent closed form: the same quantity by different arithmetic


def _step_case(rng, n=9):
    g = _dense_gaussian()
    x = g.sample(n, rng) + 0.5 * rng.standard_normal((n, 3))
    return g, x, rng.standard_normal((n, 3)), rng.random(n), stats.multivariate_normal(g.mean, g.covariance)


@pytest.mark.exact
def test_rwmh_step_matches_the_density_ratio(rng):
    # α = min(1, p(y)/p(x)) with p from scipy, y = x + h ξ; per-chain h
    g, x, z, u, mvn = _step_case(rng)
    h = np.linspace(0.2, 1.5, x.shape[0])
    new, info = samplers.rwmh_step((z, u), init(x, g, grad=False), g, h)
    y = x + h[:, None] * z
    alpha = np.minimum(1.0, np.exp(mvn.logpdf(y) - mvn.logpdf(x)))
    np.testing.assert_allclose(info.proposal.position, y, rtol=0, atol=STEP_TOL)
    np.testing.assert_allclose(info.acceptance_probability, alpha, rtol=STEP_TOL, atol=STEP_TOL)
    np.testing.assert_array_equal(info.is_accepted, u < info.acceptance_probability)
    np.testing.assert_array_equal(new.position, np.where(info.is_accepted[:, None], y, x))


@pytest.mark.exact
def test_mh_accepts_takes_the_decision_of_the_exponential(rng):
    # the squeezed test u < min(1, e^{log α}) of the RWMH kernel decides exactly as the plain one,
    # at random (u, log α) and at u one ulp either side of the computed α, where a bound without
    # its margin (or a wrong Taylor bound) would decide differently
    from ebm_ref.samplers._common import acceptance_from_log
    from ebm_ref.samplers._common import mh_accepts

    log_alpha = np.concatenate([-rng.exponential(1.0, 3000), -rng.exponential(1e-6, 500), -rng.uniform(1.5, 1.7, 500),
                                rng.uniform(0.0, 3.0, 200), [0.0, -0.0, -1e-300, -1e-16, -1e-8, -40.0, -745.0, -800.0,
                                                             -1e300, np.nan]])
    for la in log_alpha:
        alpha = acceptance_from_log(la)
        us = [rng.random(), 0.0, np.nextafter(1.0, 0.0)]
        if np.isfinite(alpha) and alpha > 0:
            us += [alpha, np.nextafter(alpha, 0.0), np.nextafter(alpha, 1.0)]
        for u in us:
            assert mh_accepts(u, la) == (u < alpha), (u, la)


@pytest.mark.exact
def test_mala_step_matches_closed_form_proposal_densities(rng):
    # log α = log p(y) + log q(x|y) − log p(x) − log q(y|x), q(·|x) = N(x − h∇E(x), 2hI), all from scipy
    g, x, z, u, mvn = _step_case(rng)
    h = 0.3
    new, info = samplers.mala_step((z, u), init(x, g), g, h)
    grad = lambda a: (a - g.mean) @ g.precision          # noqa: E731  ∇E of ½ rᵀPr
    y = x - h * grad(x) + np.sqrt(2 * h) * z
    q = lambda b, a: stats.multivariate_normal(a - h * grad(a[None])[0], 2 * h * np.eye(3)).logpdf(b)  # noqa: E731
    log_alpha = mvn.logpdf(y) - mvn.logpdf(x) + np.array([q(x[i], y[i]) - q(y[i], x[i]) for i in range(len(x))])
    np.testing.assert_allclose(info.proposal.position, y, rtol=0, atol=STEP_TOL)
    np.testing.assert_allclose(info.acceptance_probability, np.minimum(1.0, np.exp(log_alpha)), rtol=STEP_TOL,
                               atol=STEP_TOL)
    np.testing.assert_allclose(samplers.mala_log_acceptance(init(x, g), info.proposal, h), log_alpha,
                               rtol=STEP_TOL, atol=STEP_TOL)
    np.testing.assert_array_equal(new.position, np.where(info.is_accepted[:, None], y, x))
    np.testing.assert_allclose(new.grad, grad(new.position), rtol=0, atol=STEP_TOL)
    ula_new, ula_info = samplers.ula_step((z, None), init(x, g), g, h)      # ULA: the same proposal, always taken
    np.testing.assert_array_equal(ula_new.position, info.proposal.position)
    assert ula_info.is_accepted.all()


@pytest.mark.exact
@pytest.mark.parametrize("L", [1, 3])
def test_hmc_step_matches_the_linear_leapfrog_map(L, rng):
    # On E = ½ rᵀPr one leapfrog step is linear in (r, p): r' = (I − ε²P/2) r + ε p,
    # p' = −ε(P − ε²P²/4) r + (I − ε²P/2) p; L steps are its L-th power.  α from scipy's log p.
    g, x, z, u, mvn = _step_case(rng)
    eps, P, I = 0.35, g.precision, np.eye(3)
    A = I - 0.5 * eps**2 * P
    M = np.block([[A, eps * I], [-eps * (P - 0.25 * eps**2 * P @ P), A]])
    out = np.concatenate([x - g.mean, z], axis=1) @ np.linalg.matrix_power(M, L).T
    q1, p1 = out[:, :3] + g.mean, out[:, 3:]
    log_alpha = mvn.logpdf(q1) - 0.5 * np.sum(p1**2, 1) - mvn.logpdf(x) + 0.5 * np.sum(z**2, 1)
    new, info = samplers.hmc_step((z, u), init(x, g), g, eps, L)
    np.testing.assert_allclose(info.proposal.position, q1, rtol=0, atol=STEP_TOL)
    np.testing.assert_allclose(info.momentum, p1, rtol=0, atol=STEP_TOL)
    np.testing.assert_allclose(info.acceptance_probability, np.minimum(1.0, np.exp(log_alpha)), rtol=STEP_TOL,
                               atol=STEP_TOL)
    q2, p2, g2 = samplers.leapfrog_integrate(g.grad_x, x, z, g.grad_x(x), eps, L)
    np.testing.assert_allclose(q2, q1, rtol=0, atol=STEP_TOL)
    np.testing.assert_allclose(g2, g.grad_x(q2), rtol=0, atol=STEP_TOL)


@pytest.mark.exact
def test_steps_take_a_tempered_potential_and_a_generator(rng):
    # A Potential E_β = β E drawn from a Generator: normals (n, d) then uniforms (n,), the
    # same as passing those draws; α = min(1, (p(y)/p(x))^β).
    g, x, _, _, mvn = _step_case(rng)
    beta = 0.4
    tempered = Potential(lambda a: beta * g.energy(a), lambda a: beta * g.grad_x(a))
    seed = int(rng.integers(1 << 30))
    _, a = samplers.rwmh_step(np.random.default_rng(seed), init(x, tempered, grad=False), tempered, 0.8)
    r = np.random.default_rng(seed)
    z = r.standard_normal(x.shape)
    u = r.random(x.shape[0])
    _, b = samplers.rwmh_step((z, u), init(x, tempered, grad=False), tempered, 0.8)
    np.testing.assert_array_equal(a.proposal.position, b.proposal.position)
    y = x + 0.8 * z
    np.testing.assert_allclose(b.acceptance_probability, np.minimum(1, np.exp(beta * (mvn.logpdf(y) - mvn.logpdf(x)))),
                               rtol=STEP_TOL, atol=STEP_TOL)
    np.testing.assert_array_equal(b.is_accepted, u < b.acceptance_probability)


@pytest.mark.exact
@pytest.mark.parametrize("name", ["metropolis", "mala", "hmc"])
def test_a_loop_of_steps_with_the_chunk_draws_gives_the_jitted_chains(name):
    # The step API with caller-supplied draws, fed the drivers' chunk streams, reproduces
    # the fused kernel's chains (jitted == NumPy, SAME_PATH_TOL).
    m = _mixture()
    x0 = m.sample(21, 4)
    n_steps = 12
    calls = {"metropolis": (lambda s, z, u: samplers.rwmh_step((z, u), s, m, 0.6), False,
                            lambda r: samplers.metropolis(m, x0, n_steps, r, step_size=0.6, backend="numba")),
             "mala": (lambda s, z, u: samplers.mala_step((z, u), s, m, 0.2), True,
                      lambda r: samplers.mala(m, x0, n_steps, r, step_size=0.2, backend="numba")),
             "hmc": (lambda s, z, u: samplers.hmc_step((z, u), s, m, 0.3, 2), True,
                     lambda r: samplers.hmc(m, x0, n_steps, r, step_size=0.3, n_leapfrog=2, backend="numba"))}
    step, grad, run = calls[name]
    gens = _common.spawn_generators(np.random.default_rng(5))
    bounds = _common.chunk_bounds(x0.shape[0])
    state = init(x0, m, grad=grad)
    rows = []
    for _ in range(n_steps):
        z = _common.draw_normals(gens, bounds, 2)
        state, _ = step(state, z, _common.draw_uniforms(gens, bounds))
        rows.append(state.position)
    np.testing.assert_allclose(np.array(rows), run(np.random.default_rng(5)).samples, atol=SAME_PATH_TOL, rtol=0)


@pytest.mark.exact
def test_keep_rule_is_one_function():
    kept = [t for t in range(1, 21) if _common.kept_index(t, 5, 4) >= 0]
    assert kept == [9, 13, 17] and [_common.kept_index(t, 5, 4) for t in kept] == [0, 1, 2]


@pytest.mark.exact
def test_evaluation_arrays_give_the_mixture_energy_and_subclasses_get_no_form():
    mix = _mixture()
    a = mix.evaluation_arrays()
    x = np.random.default_rng(1).standard_normal((6, 2))
    r = x[:, None, :] - a["means"][None]
    e_k = 0.5 * np.einsum("nki,kij,nkj->nk", r, a["precisions"], r) + a["consts"]
    dens = sum(w * stats.multivariate_normal(mu, c).pdf(x)
               for w, mu, c in zip(mix.params["weights"], mix.params["means"], mix.params["covariances"]))
    np.testing.assert_allclose(-np.log(np.exp(-e_k).sum(1)), -np.log(dens), rtol=1e-12)

    class Shifted(Gaussian):
        def _energy(self, x):
            return super()._energy(x) + 1.0
    assert jit_form(Shifted(np.zeros(2), np.eye(2))) is None
    assert jit_form(Gaussian(np.zeros(2), np.eye(2))) is not None


@pytest.mark.parametrize("call, match", [
    (lambda g, x: samplers.rwmh_step((x, np.zeros(3)), init(x, g, grad=False), g, 0.1), "uniforms"),
    (lambda g, x: samplers.rwmh_step((x[:, :2], np.zeros(4)), init(x, g, grad=False), g, 0.1), "normals"),
    (lambda g, x: samplers.rwmh_step("rng", init(x, g, grad=False), g, 0.1), "rng_or_draws"),
    (lambda g, x: samplers.rwmh_step(np.random.default_rng(0), init(x, g, grad=False), g, -0.1), "step_size"),
    (lambda g, x: samplers.mala_step(np.random.default_rng(0), init(x, g), g, np.ones(3)), "step_size"),
    (lambda g, x: samplers.ula_step(np.random.default_rng(0), init(x, g), g, np.nan), "step_size"),
    (lambda g, x: samplers.langevin_step(np.random.default_rng(0), init(x, g), g, 0.0, adjust=True), "step_size"),
    (lambda g, x: samplers.hmc_step(np.random.default_rng(0), init(x, g), g, 0.1, 0), "n_leapfrog"),
    (lambda g, x: init(x, object()), "target"),
    (lambda g, x: init(x, Potential(g.energy)), "grad_x"),
    (lambda g, x: init(x, Potential(lambda a: a), grad=False), "target"),
    (lambda g, x: samplers.metropolis(g, x, 10, 0, 0.1), "positional"),
])
def test_bad_input_of_the_steps_raises(call, match):
    g = _dense_gaussian()
    x = g.sample(4, 0)
    with pytest.raises((ValueError, TypeError), match=match):
        call(g, x)


# ------------------------------------------------------------ bounded supports (E = +∞ outside)
def _bounded_cases():
    from ebm_ref.models.expfam import Beta, Gamma

    # mass close to the boundary, so that a sizeable fraction of proposals falls outside
    return [(Gamma(1.5, 2.0), stats.gamma(1.5, scale=0.5)), (Beta(0.8, 1.6), stats.beta(0.8, 1.6))]


@pytest.mark.statistical
def test_samplers_on_gamma_and_beta_reject_outside_the_support_and_keep_the_target():
    # Exact start on Gamma(1.5, rate 2) and Beta(0.8, 1.6) energies, K_STEPS steps of MH, MALA and
    # HMC with steps that often leave the support: a correct kernel (E = +∞ outside, proposal
    # rejected) keeps the end points exact, so each KS p-value is uniform.  6 p-values,
    # Bonferroni: false-positive rate <= ALPHA.  Clipping or reflecting at the boundary, or
    # evaluating E there, would fail (or raise).
    pvals = []
    for k, (fam, law) in enumerate(_bounded_cases()):
        E = fam.as_energy()
        x0 = E.sample(N_CHAINS, 10 + k)
        for run in (lambda: samplers.metropolis(E, x0, K_STEPS, 20 + k, step_size=0.8),
                    lambda: samplers.mala(E, x0, K_STEPS, 30 + k, step_size=0.05),
                    lambda: samplers.hmc(E, x0, K_STEPS, 40 + k, step_size=0.2, n_leapfrog=3)):
            ch = run()
            assert ch.settings["backend"] == "numpy" and np.all(E.in_support(ch.last))
            assert 0.05 < ch.accept_rate.mean() < 0.98           # moves, and rejects
            pvals.append(stats.kstest(ch.last[:, 0], law.cdf).pvalue)
    assert min(pvals) > ALPHA / len(pvals), pvals


@pytest.mark.statistical
def test_tempering_on_gamma_and_beta_rejects_outside_the_support_and_keeps_the_target():
    # Two replicas, beta = (1/2, 1), each started exactly at its tempered law p^beta / Z_beta:
    # Gamma(1.5, rate 2)^(1/2) is Gamma(1.25, rate 1), Beta(0.8, 1.6)^(1/2) is Beta(0.9, 1.3).
    # The joint start is stationary for the tempering kernel (moves and swaps), so the beta = 1
    # end points are exact and each KS p-value is uniform: 2 p-values, Bonferroni, false-positive
    # rate <= ALPHA.  Before E = +inf outside the support, the first proposal below 0 raised.
    from ebm_ref.models.expfam import Beta, Gamma

    cases = [(Gamma(1.5, 2.0), Gamma(1.25, 1.0), stats.gamma(1.5, scale=0.5)),
             (Beta(0.8, 1.6), Beta(0.9, 1.3), stats.beta(0.8, 1.6))]
    pvals = []
    for k, (fam, half, law) in enumerate(cases):
        E = fam.as_energy()
        x0 = np.stack([half.as_energy().sample(N_CHAINS, 50 + k), E.sample(N_CHAINS, 60 + k)])
        ch = samplers.tempering(E, x0, K_STEPS, 70 + k, betas=[0.5, 1.0], step_size=0.8)
        assert np.all(E.in_support(ch.last))
        pvals.append(stats.kstest(ch.last[:, 0], law.cdf).pvalue)
    assert min(pvals) > ALPHA / len(pvals), pvals


@pytest.mark.exact
def test_mala_and_hmc_reject_a_proposal_outside_the_support_without_evaluating_it():
    from ebm_ref.models.expfam import Gamma
    from ebm_ref.samplers.state import init

    E = Gamma(1.5, 2.0).as_energy()     # E = −½ log x + 2x on x > 0; raises ValueError at x <= 0
    st = init(np.array([[0.05], [2.0]]), E)
    # MALA, h = 0.5: chain 0's proposal 0.05 − 0.5·∇E(0.05) − 10 = −5.95 < 0; chain 1's stays inside.
    # u = 0 accepts any proposal with α > 0, so only α = 0 rejects chain 0.
    new, info = samplers.mala_step((np.array([[-10.0], [0.0]]), np.zeros(2)), st, E, 0.5)
    assert info.in_support.tolist() == [False, True]
    assert info.acceptance_probability[0] == 0.0 and not info.is_accepted[0] and info.is_accepted[1]
    assert new.position[0, 0] == 0.05 and np.isfinite(new.energy).all()
    # HMC: momentum −10 sends chain 0 out on the first leapfrog step; its trajectory is rejected
    new, info = samplers.hmc_step((np.array([[-10.0], [0.1]]), np.zeros(2)), st, E, 0.1, 4)
    assert info.in_support.tolist() == [False, True]
    assert info.acceptance_probability[0] == 0.0 and not info.is_accepted[0]
    assert new.position[0, 0] == 0.05


class _GammaNaNAbove3(Energy):
    """Support x > 0 (E = +∞ below), but the energy is NaN for x > 3: a failure inside the support."""

    def __init__(self):
        super().__init__(1, {})

    def _in_support(self, x):
        return x[:, 0] > 0

    def _energy(self, x):
        if np.any(x <= 0):
            raise ValueError("x: defined for x > 0")
        return np.where(x[:, 0] > 3, np.nan, x[:, 0] - 0.5 * np.log(x[:, 0]))

    def _grad_x(self, x):
        return np.where(x > 3, np.nan, 1.0 - 0.5 / x)


@pytest.mark.exact
def test_nan_inside_the_support_still_stops_the_sampler_naming_the_step():
    E = _GammaNaNAbove3()
    x0 = np.full((50, 1), 0.5)
    for run in (lambda: samplers.metropolis(E, x0, 200, 1, step_size=2.0),
                lambda: samplers.mala(E, x0, 200, 1, step_size=0.5),
                lambda: samplers.hmc(E, x0, 200, 1, step_size=0.5, n_leapfrog=3)):
        with pytest.raises(FloatingPointError, match=r"at step \d+, chain \d+"):
            run()
    # ULA has no rejection: moving outside the support is an error too
    from ebm_ref.models.expfam import Gamma

    with pytest.raises(FloatingPointError, match=r"at step \d+"):
        samplers.ula(Gamma(1.5, 2.0).as_energy(), np.full((50, 1), 0.05), 50, 1, step_size=0.5)
