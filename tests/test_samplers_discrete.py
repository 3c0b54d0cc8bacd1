"""Discrete samplers: block Gibbs (RBMs), single-site Gibbs and spin-flip Metropolis
(Boltzmann machine), parallel tempering.

Exact tier: transition matrices built from ratios of the enumerated joint satisfy
πP = π (and detailed balance where the kernel is reversible) to 1e-12; the fast and
reference paths give identical chains.  Statistical tier: chains started *exactly* at
the target (states drawn from the enumeration) must stay there, so their end points are
i.i.d. draws of π under the null and a χ² test (α = 1e-3) is exact; continuous end
points are tested by one-sample KS against exact CDFs.
"""
import importlib

import numba
import numpy as np
import pytest
from scipy import stats

from ebm_ref import samplers
from ebm_ref.energy import Energy
from ebm_ref.models import gaussian
from ebm_ref.models.boltzmann import BoltzmannMachine
from ebm_ref.models.rbm import BernoulliRBM, GaussianBernoulliRBM
from ebm_ref.numerics.enumeration import enumerate_states, state_index
from ebm_ref.samplers import gibbs_sampling as G
from ebm_ref.samplers import parallel_tempering as T
from ebm_ref.samplers import transition_matrices as M

#: Stationarity / detailed balance of exact matrices: sums of ≤ 256 products of probabilities.
EXACT_TOL = 1e-12
#: Significance of every statistical test (the false-positive rate of each test below).
ALPHA = 1e-3


# ------------------------------------------------------------------ models
def rbm(rng, nv=4, nh=3, scale=1.0):
    return BernoulliRBM(rng.normal(0, scale, (nv, nh)), rng.normal(0, 0.5, nv), rng.normal(0, 0.5, nh))


def bm(rng, d=5, spins="binary", scale=0.6):
    A = rng.normal(0, scale, (d, d))
    J = A + A.T
    np.fill_diagonal(J, 0.0)
    return BoltzmannMachine(J, rng.normal(0, 0.5, d), spins=spins)


def gbrbm(rng, nv=3, nh=2):
    return GaussianBernoulliRBM(rng.normal(0, 1.0, (nv, nh)), rng.normal(0, 1, nv), rng.normal(0, 1, nh),
                                np.array([0.5, 1.0, 1.5])[:nv])


class UserBM(Energy):
    """A user's own Python energy equal to a Boltzmann machine (exercises the generic NumPy path)."""

    def __init__(self, J, h):
        super().__init__(len(h), {"J": J, "h": h})

    def _energy(self, x):
        J, h = self._params["J"], self._params["h"]
        return -0.5 * np.einsum("ni,ij,nj->n", x, J, x) - x @ h


def exact_states(pi, d, n, rng, spins="binary"):
    """n i.i.d. states of π by inverting the enumeration."""
    return enumerate_states(d, spins)[rng.choice(pi.size, size=n, p=pi)]


def chi2_pvalue(idx, pi):
    """χ² goodness of fit of state indices to π; cells with expected count < 5 are pooled."""
    n = idx.size
    obs = np.bincount(idx, minlength=pi.size).astype(float)
    exp = n * pi
    # a state of probability exactly 0 must never be visited; it then carries no χ² term
    zero = pi == 0
    assert not np.any(obs[zero]), "a state of probability 0 was visited"
    obs, exp = obs[~zero], exp[~zero]
    small = exp < 5
    if small.any():
        obs = np.append(obs[~small], obs[small].sum())
        exp = np.append(exp[~small], exp[small].sum())
    return stats.chisquare(obs, exp).pvalue


# ====================================================== exact: matrices
@pytest.mark.exact
@pytest.mark.parametrize("joint", [False, True])
def test_block_gibbs_matrix_stationary(rng, joint):
    for _ in range(3):
        m = rbm(rng, 4, 3, scale=1.5)                        # 7 units; joint space 128 states
        P = M.transition_matrix_block_gibbs(m, joint=joint)
        pi = M.stationary_distribution(m, joint=joint)
        assert np.allclose(P.sum(axis=1), 1.0, rtol=0, atol=EXACT_TOL)
        assert np.max(np.abs(pi @ P - pi)) < EXACT_TOL


@pytest.mark.exact
def test_block_gibbs_matrix_equals_sigmoid_conditionals(rng):
    """Matrix from ratios of the joint = Σ_h p(h|v) p(v'|h) from the model's sigmoid conditionals."""
    m = rbm(rng, 3, 4)
    V, H = enumerate_states(3), enumerate_states(4)
    ph = m.prob_h_given_v(V)                                 # (8, 4)
    p_h = np.prod(np.where(H[None] == 1, ph[:, None], 1 - ph[:, None]), axis=2)   # p(h | v), (8, 16)
    pv = m.prob_v_given_h(H)
    p_v = np.prod(np.where(V[None] == 1, pv[:, None], 1 - pv[:, None]), axis=2)   # p(v' | h), (16, 8)
    assert np.max(np.abs(M.transition_matrix_block_gibbs(m) - p_h @ p_v)) < EXACT_TOL


@pytest.mark.exact
def test_block_gibbs_visible_chain_is_reversible(rng):
    """P(v,v') = Σ_h p(h|v)p(v'|h) is reversible: π(v)P(v,v') = Σ_h p(v,h)p(v'|h) is symmetric."""
    m = rbm(rng, 4, 3, scale=1.5)
    P, pi = M.transition_matrix_block_gibbs(m), M.stationary_distribution(m)
    F = pi[:, None] * P
    assert np.max(np.abs(F - F.T)) < EXACT_TOL


@pytest.mark.exact
@pytest.mark.parametrize("spins", ["binary", "ising"])
def test_site_gibbs_matrix_stationary(rng, spins):
    m = bm(rng, 8, spins, scale=0.8)
    P = M.transition_matrix_site_gibbs(m)
    pi = M.stationary_distribution(m)
    assert np.allclose(P.sum(axis=1), 1.0, rtol=0, atol=EXACT_TOL)
    assert np.max(np.abs(pi @ P - pi)) < EXACT_TOL


@pytest.mark.exact
@pytest.mark.parametrize("spins", ["binary", "ising"])
def test_spin_flip_detailed_balance(rng, spins):
    m = bm(rng, 8, spins, scale=0.8)
    pi = M.stationary_distribution(m)
    for per_proposal in (True, False):
        P = M.transition_matrix_spin_flip(m, scan="random", per_proposal=per_proposal)
        F = pi[:, None] * P
        assert np.max(np.abs(F - F.T)) < EXACT_TOL
        assert np.max(np.abs(pi @ P - pi)) < EXACT_TOL
    Ps = M.transition_matrix_spin_flip(m, scan="systematic")
    assert np.max(np.abs(pi @ Ps - pi)) < EXACT_TOL


@pytest.mark.exact
def test_systematic_sweep_is_stationary_but_not_reversible(rng):
    """The check has power: a product of reversible site kernels is generally not reversible."""
    m = bm(rng, 5, scale=1.0)
    pi = M.stationary_distribution(m)
    for P in (M.transition_matrix_site_gibbs(m), M.transition_matrix_spin_flip(m, scan="systematic")):
        F = pi[:, None] * P
        assert np.max(np.abs(pi @ P - pi)) < EXACT_TOL
        assert np.max(np.abs(F - F.T)) > 1e-4


@pytest.mark.exact
def test_stationary_distribution_matches_log_partition(rng):
    m = bm(rng, 6, "ising")
    X = enumerate_states(6, "ising")
    assert np.allclose(M.stationary_distribution(m), np.exp(-m.energy(X) - m.log_partition()), rtol=1e-12, atol=0)
    assert np.array_equal(state_index(X, "ising"), np.arange(64))


@pytest.mark.exact
def test_tempering_swap_detailed_balance_and_round_stationary(rng):
    m = rbm(rng, 3, 2, scale=1.5)
    betas = np.array([0.25, 0.5, 1.0])
    pi = M.tempered_product_distribution(m, betas)
    S0, S1 = M.swap_transition_matrix(m, betas, 0), M.swap_transition_matrix(m, betas, 1)
    for S in (S0, S1):
        F = pi[:, None] * S
        assert np.max(np.abs(F - F.T)) < EXACT_TOL
    # within-temperature Gibbs: the tempered RBM is the RBM with βW, βb, βc
    Ps = [M.transition_matrix_block_gibbs(BernoulliRBM(*(beta * m.params[k] for k in "Wbc"))) for beta in betas]
    K = np.kron(np.kron(Ps[0], Ps[1]), Ps[2])
    for P in (K @ S0, K @ S1, K @ S0 @ K @ S1):
        assert np.max(np.abs(pi @ P - pi)) < EXACT_TOL


@pytest.mark.exact
def test_tempered_free_energy_matches_enumeration(rng):
    """F_β(v) = −log Σ_h e^{−βE(v,h)}: softplus formula vs the enumerated joint (binary and GB)."""
    m = rbm(rng, 3, 3)
    V, H = enumerate_states(3), enumerate_states(3)
    for beta in (0.3, 1.0):
        negE = -beta * M.rbm_joint_energy(*(m.params[k] for k in "Wbc"), V, H)
        assert np.allclose(T.tempered_free_energy(m, V, beta), -np.log(np.exp(negE).sum(axis=1)), rtol=1e-12, atol=1e-12)
    assert np.allclose(T.tempered_free_energy(m, V, 1.0), m.energy(V), rtol=1e-12, atol=1e-12)
    g = gbrbm(rng)
    v = rng.normal(size=(4, 3))
    assert np.allclose(T.tempered_free_energy(g, v, 1.0), g.energy(v), rtol=1e-12, atol=1e-12)


# ============================================ exact: fast path = reference path
@pytest.mark.exact
def test_rbm_fast_equals_reference(rng):
    m = rbm(rng, 6, 5)
    v0 = (rng.random((300, 6)) < 0.5).astype(float)
    a = samplers.gibbs(m, v0, 20, 11, burn_in=3, thin=2)
    b = samplers.gibbs(m, v0, 20, 11, burn_in=3, thin=2, backend="numpy")
    assert a.samples.shape == (8, 300, 6)
    assert np.array_equal(a.samples, b.samples)
    assert np.array_equal(a.accept_rate, np.ones(300))
    a, b = samplers.gibbs_k(m, v0, 3, 5), samplers.gibbs_k(m, v0, 3, 5, backend="numpy")
    assert a.samples.shape == (1, 300, 6)
    vk, ph = a.last, a.extras["prob_h_given_v"]
    vk2, ph2 = b.last, b.extras["prob_h_given_v"]
    assert np.array_equal(vk, vk2) and np.allclose(ph, ph2, rtol=1e-14, atol=0)
    assert np.allclose(ph, m.prob_h_given_v(vk), rtol=1e-14, atol=0)


@pytest.mark.exact
def test_gbrbm_fast_equals_reference(rng):
    g = gbrbm(rng)
    v0 = rng.normal(size=(200, 3))
    a = samplers.gibbs(g, v0, 10, 3)
    b = samplers.gibbs(g, v0, 10, 3, backend="numpy")
    assert np.max(np.abs(a.samples - b.samples)) < 1e-12     # differ only by rounding of b + W h
    ch = samplers.gibbs_k(g, v0, 2, 9)
    vk, ph = ch.last, ch.extras["prob_h_given_v"]
    assert np.allclose(ph, g.prob_h_given_v(vk), rtol=1e-13, atol=0)


@pytest.mark.exact
@pytest.mark.parametrize("spins", ["binary", "ising"])
def test_bm_jit_equals_numpy(rng, spins):
    m = bm(rng, 6, spins)
    lo = 0.0 if spins == "binary" else -1.0
    x0 = np.where(rng.random((37, 6)) < 0.5, 1.0, lo)        # 37 chains: unequal chunks
    a = samplers.gibbs(m, x0, 12, 4, burn_in=2, thin=3, backend="numba")
    b = samplers.gibbs(m, x0, 12, 4, burn_in=2, thin=3, backend="numpy")
    assert np.array_equal(a.samples, b.samples)
    assert np.array_equal(a.samples, samplers.gibbs(m, x0, 12, 4, burn_in=2, thin=3).samples)
    for scan in ("random", "systematic"):
        a = samplers.spin_flip_metropolis(m, x0, 12, 4, scan=scan)
        b = samplers.spin_flip_metropolis(m, x0, 12, 4, scan=scan, backend="numpy")
        assert np.array_equal(a.samples, b.samples)
        assert np.array_equal(a.accept_rate, b.accept_rate)


@pytest.mark.exact
def test_user_energy_gives_the_same_chains_as_the_jitted_bm(rng):
    m = bm(rng, 5)
    user = UserBM(m.params["J"], m.params["h"])
    x0 = (rng.random((20, 5)) < 0.5).astype(float)
    assert np.array_equal(samplers.gibbs(m, x0, 8, 1).samples, samplers.gibbs(user, x0, 8, 1).samples)
    assert np.array_equal(samplers.spin_flip_metropolis(m, x0, 8, 1).samples,
                          samplers.spin_flip_metropolis(user, x0, 8, 1).samples)
    ch = samplers.gibbs_k(user, x0, 2, 3)
    xk, p = ch.last, ch.extras["prob_unit_given_rest"]
    assert np.allclose(p, m.conditional_prob(xk), rtol=1e-12, atol=0)


@pytest.mark.exact
def test_same_chains_on_one_and_two_threads(rng, monkeypatch):
    # threshold 0: 2 threads take the prange kernel, 1 thread the serial chunk function; the test of
    # both Boltzmann-machine prange kernels (the rest of the suite runs on one numba thread)
    from ebm_ref.samplers import _common

    monkeypatch.setattr(_common, "PARALLEL_MIN_WORK", 0)
    m = bm(rng, 6)
    x0 = (rng.random((50, 6)) < 0.5).astype(float)
    old = numba.get_num_threads()
    for run in (samplers.spin_flip_metropolis, samplers.gibbs):
        try:
            numba.set_num_threads(1)
            a = run(m, x0, 10, 2)
            numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
            b = run(m, x0, 10, 2)
        finally:
            numba.set_num_threads(old)
        assert np.array_equal(a.samples, b.samples), run.__name__


@pytest.mark.exact
def test_burn_in_and_thin_select_steps_of_the_full_run(rng):
    m, g = rbm(rng), bm(rng, 4)
    v0 = (rng.random((10, 4)) < 0.5).astype(float)
    for model in (m, g):
        full = samplers.gibbs(model, v0, 11, 8).samples
        part = samplers.gibbs(model, v0, 11, 8, burn_in=4, thin=3).samples
        assert np.array_equal(part, full[[6, 9]])              # steps t = 7, 10


@pytest.mark.exact
def test_progress_segments_do_not_change_chains(rng):
    m = bm(rng, 4)
    x0 = (rng.random((9, 4)) < 0.5).astype(float)
    calls = []
    a = samplers.gibbs(m, x0, 2500, 6, thin=100, progress=lambda t, n: calls.append(t))
    b = samplers.gibbs(m, x0, 2500, 6, thin=100)
    assert calls == [1000, 2000, 2500] and np.array_equal(a.samples, b.samples)


# ============================================================ statistical
@pytest.mark.statistical
def test_rbm_block_gibbs_from_exact_start_chi2(rng):
    # false-positive rate ALPHA = 1e-3: 20000 chains started i.i.d. from π, end points i.i.d. from π under H0
    m = rbm(rng, 4, 3, scale=1.5)
    pi = M.stationary_distribution(m)
    v0 = exact_states(pi, 4, 20000, rng)
    ch = samplers.gibbs(m, v0, 5, rng)
    assert chi2_pvalue(state_index(ch.last), pi) > ALPHA


@pytest.mark.statistical
def test_rbm_one_sweep_from_a_fixed_state_matches_matrix_row(rng):
    # false-positive rate ALPHA per state (4 states tested, Bonferroni: overall ≤ 4e-3 · ¼ = 1e-3)
    m = rbm(rng, 3, 3, scale=1.5)
    P = M.transition_matrix_block_gibbs(m)
    X = enumerate_states(3)
    for k in (0, 3, 5, 7):
        ch = samplers.gibbs(m, np.repeat(X[k:k + 1], 20000, axis=0), 1, rng)
        assert chi2_pvalue(state_index(ch.last), P[k]) > ALPHA / 4


@pytest.mark.statistical
@pytest.mark.parametrize("spins", ["binary", "ising"])
def test_bm_samplers_from_exact_start_chi2(rng, spins):
    # false-positive rate ALPHA / 3 per sampler (three samplers, Bonferroni: ALPHA overall)
    m = bm(rng, 6, spins, scale=0.8)
    pi = M.stationary_distribution(m)
    x0 = exact_states(pi, 6, 20000, rng, spins)
    runs = [samplers.gibbs(m, x0, 3, rng),
            samplers.spin_flip_metropolis(m, x0, 3, rng, scan="random"),
            samplers.spin_flip_metropolis(m, x0, 3, rng, scan="systematic")]
    for ch in runs:
        assert chi2_pvalue(state_index(ch.last, spins), pi) > ALPHA / 3


@pytest.mark.statistical
def test_bm_spin_flip_from_fixed_state_matches_matrix_row(rng):
    # false-positive rate ALPHA: one χ² test of one step (d proposals, random scan) from one state
    m = bm(rng, 5, scale=0.8)
    P = M.transition_matrix_spin_flip(m, scan="random")
    x0 = np.repeat(enumerate_states(5)[[13]], 20000, axis=0)
    ch = samplers.spin_flip_metropolis(m, x0, 1, rng)
    assert chi2_pvalue(state_index(ch.last), P[13]) > ALPHA


@pytest.mark.statistical
def test_gbrbm_block_gibbs_from_exact_samples_ks(rng):
    # false-positive rate ALPHA: 3 projections, Bonferroni (reject if any p < ALPHA/3)
    g = gbrbm(rng)
    H, ph = g.hidden_marginal()
    mu = g.params["b"] + H @ g.params["W"].T                 # (2^H, V) component means
    ch = samplers.gibbs(g, g.sample(5000, rng), 4, rng)
    for _ in range(3):
        u = rng.normal(size=3)
        u /= np.linalg.norm(u)
        sd = np.sqrt(np.sum(u**2 * g.params["sigma"] ** 2))

        def cdf(t, u=u, sd=sd):
            return np.sum(ph * stats.norm.cdf((np.asarray(t)[..., None] - mu @ u) / sd), axis=-1)

        assert stats.kstest(ch.last @ u, cdf).pvalue > ALPHA / 3


@pytest.mark.statistical
def test_gibbs_k_pcd_chain_from_exact_start_chi2(rng):
    # false-positive rate ALPHA: persistent chains carried through 3 calls of gibbs_k stay at π
    m = rbm(rng, 4, 3)
    pi = M.stationary_distribution(m)
    v = exact_states(pi, 4, 20000, rng)
    for _ in range(3):
        v = samplers.gibbs_k(m, v, 2, rng).last
    assert chi2_pvalue(state_index(v), pi) > ALPHA


@pytest.mark.statistical
def test_tempering_rbm_cold_marginal_chi2(rng):
    # false-positive rate ALPHA: replicas started exactly at their tempered targets; β=1 end points i.i.d. π
    m = rbm(rng, 4, 3, scale=2.0)
    betas = np.array([0.2, 0.45, 1.0])
    x0 = np.stack([exact_states(M.stationary_distribution(BernoulliRBM(*(b * m.params[k] for k in "Wbc"))),
                                4, 20000, rng) for b in betas])
    ch = samplers.tempering(m, x0, 6, rng, betas=betas)
    assert ch.samples.shape == (6, 20000, 4)
    assert np.all((ch.extras["swap_rate"] > 0) & (ch.extras["swap_rate"] <= 1))
    assert chi2_pvalue(state_index(ch.last), M.stationary_distribution(m)) > ALPHA


@pytest.mark.exact
def test_tempered_gbrbm_is_a_gbrbm(rng):
    """e^{−βE} of a GB-RBM is the GB-RBM with (W, b, βc, σ/√β): tempered free energies agree."""
    g = gbrbm(rng)
    v = rng.normal(size=(6, 3))
    W, b, c, s = (g.params[k] for k in ("W", "b", "c", "sigma"))
    for beta in (0.2, 0.7):
        gt = GaussianBernoulliRBM(W, b, beta * c, s / np.sqrt(beta))
        assert np.allclose(T.tempered_free_energy(g, v, beta), gt.energy(v), rtol=1e-12, atol=1e-12)


@pytest.mark.statistical
def test_tempering_gbrbm_cold_marginal_ks(rng):
    # false-positive rate ALPHA: 2 projections, Bonferroni; replicas start exactly at their tempered targets
    g = gbrbm(rng)
    W, b, c, s = (g.params[k] for k in ("W", "b", "c", "sigma"))
    betas = np.array([0.3, 1.0])
    x0 = np.stack([GaussianBernoulliRBM(W, b, beta * c, s / np.sqrt(beta)).sample(4000, rng) for beta in betas])
    ch = samplers.tempering(g, x0, 5, rng, betas=betas)
    H, ph = g.hidden_marginal()
    mu = b + H @ W.T
    for _ in range(2):
        u = rng.normal(size=3)
        u /= np.linalg.norm(u)
        sd = np.sqrt(np.sum(u**2 * s**2))

        def cdf(t, u=u, sd=sd):
            return np.sum(ph * stats.norm.cdf((np.asarray(t)[..., None] - mu @ u) / sd), axis=-1)

        assert stats.kstest(ch.last @ u, cdf).pvalue > ALPHA / 2


@pytest.mark.statistical
def test_tempering_bm_cold_marginal_chi2(rng):
    # false-positive rate ALPHA: as above for the Boltzmann machine (Ising spins)
    m = bm(rng, 5, "ising", scale=1.0)
    betas = np.array([0.3, 1.0])
    x0 = np.stack([exact_states(M.stationary_distribution(
        BoltzmannMachine(b * m.params["J"], b * m.params["h"], spins="ising")), 5, 20000, rng, "ising") for b in betas])
    ch = samplers.tempering(m, x0, 4, rng, betas=betas)
    assert chi2_pvalue(state_index(ch.last, "ising"), M.stationary_distribution(m)) > ALPHA


@pytest.mark.statistical
def test_tempering_continuous_mixture_mode_weights(rng):
    # false-positive rate ALPHA (binomial test of the right-mode fraction of 2000 independent chains).
    # Modes at ±4 with sd 0.5: plain RWMH started in the left mode essentially never crosses
    # (barrier ~32 nats), tempering must reach the exact weight 0.7.  The residual bias after
    # 300 steps is set by the swap-driven mixing (swap rates checked > 0.2), well below the test's sd.
    gm = gaussian.GaussianMixture(np.array([0.3, 0.7]), np.array([[-4.0], [4.0]]), np.array([[[0.25]], [[0.25]]]))
    x0 = np.full((2000, 1), -4.0)
    betas = np.array([0.03, 0.12, 0.4, 1.0])
    ch = samplers.tempering(gm, x0, 300, rng, betas=betas, burn_in=150, step_size=0.6)
    assert np.all(ch.extras["swap_rate"] > 0.2)
    k = int(np.sum(ch.last[:, 0] > 0))
    assert stats.binomtest(k, 2000, 0.7).pvalue > ALPHA
    plain = samplers.tempering(gm, x0, 100, rng, betas=np.array([0.999, 1.0]), step_size=0.6)
    assert np.mean(plain.last[:, 0] > 0) < 0.01


# ================================================================ bad input
@pytest.mark.parametrize("bad, match", [
    (np.array([[0.0, 0.5, 1.0, 0.0]]), "binary units"),
    (np.zeros((0, 4)), "n_chains >= 1"),
    (np.zeros(4), "single point"),
    (np.zeros((2, 3)), "shape"),
    (np.array([[np.nan, 0, 0, 0]]), "NaN"),
])
def test_gibbs_bad_start(rng, bad, match):
    with pytest.raises(ValueError, match=match):
        samplers.gibbs(rbm(rng), bad, 3, 0)


def test_gibbs_bad_arguments(rng):
    m = rbm(rng)
    v0 = np.zeros((2, 4))
    for kw, match in [({"n_steps": 0}, "n_steps"), ({"burn_in": 3}, "burn_in"), ({"thin": 0}, "thin"),
                      ({"burn_in": -1}, "burn_in"), ({"thin": 5}, "thin")]:
        args = {"n_steps": 3, **kw}
        with pytest.raises(ValueError, match=match):
            samplers.gibbs(m, v0, args.pop("n_steps"), 0, **args)
    with pytest.raises(ValueError, match="backend"):
        samplers.gibbs(m, v0, 3, 0, backend="torch")
    with pytest.raises(ValueError, match="BoltzmannMachine"):
        samplers.gibbs(m, v0, 3, 0, backend="numba")
    with pytest.raises(ValueError, match="spins"):
        samplers.gibbs(m, v0, 3, 0, spins="ising")
    with pytest.raises(ValueError, match="rng"):
        samplers.gibbs(m, v0, 3, None)
    with pytest.raises(ValueError, match="model"):
        samplers.gibbs(object(), v0, 3, 0)


def test_gibbs_bad_spins_for_boltzmann_machines(rng):
    mi = bm(rng, 4, "ising")
    with pytest.raises(ValueError, match="Ising units"):
        samplers.gibbs(mi, np.zeros((3, 4)), 2, 0)
    with pytest.raises(ValueError, match="binary units"):
        samplers.gibbs(bm(rng, 4), -np.ones((3, 4)), 2, 0)
    with pytest.raises(ValueError, match="spins"):
        samplers.gibbs(mi, np.ones((3, 4)), 2, 0, spins="binary")
    with pytest.raises(ValueError, match="spins"):
        samplers.gibbs(UserBM(np.zeros((2, 2)), np.zeros(2)), np.ones((3, 2)), 2, 0, spins="potts")


def test_gibbs_k_bad_input(rng):
    m = rbm(rng)
    with pytest.raises(ValueError, match="k"):
        samplers.gibbs_k(m, np.zeros((2, 4)), 0, 0)
    with pytest.raises(ValueError, match="binary units"):
        samplers.gibbs_k(m, np.full((2, 4), 0.3), 1, 0)
    with pytest.raises(ValueError, match="n_chains"):
        samplers.gibbs_k(m, np.zeros((0, 4)), 1, 0)
    with pytest.raises(ValueError, match="NaN"):
        samplers.gibbs_k(gbrbm(rng), np.full((2, 3), np.inf), 1, 0)


def test_spin_flip_bad_input(rng):
    m = bm(rng, 4)
    with pytest.raises(ValueError, match="scan"):
        samplers.spin_flip_metropolis(m, np.zeros((2, 4)), 2, 0, scan="checkerboard")
    with pytest.raises(ValueError, match="RBM"):
        samplers.spin_flip_metropolis(rbm(rng), np.zeros((2, 4)), 2, 0)
    with pytest.raises(ValueError, match="n_chains"):
        samplers.spin_flip_metropolis(m, np.zeros((0, 4)), 2, 0)
    with pytest.raises(ValueError, match="binary units"):
        samplers.spin_flip_metropolis(m, np.full((2, 4), 2.0), 2, 0)


def test_nan_energy_stops_with_step_and_chain(rng):
    class Bad(UserBM):
        def _energy(self, x):
            e = super()._energy(x)
            return np.where(x[:, 0] == 1, np.nan, e)

    u = Bad(np.zeros((3, 3)), np.zeros(3))
    with pytest.raises(FloatingPointError, match="step 1"):
        samplers.gibbs(u, np.zeros((4, 3)), 2, 0)
    with pytest.raises(FloatingPointError, match="step"):
        samplers.spin_flip_metropolis(u, np.zeros((4, 3)), 2, 0)


@pytest.mark.parametrize("backend", ["auto", "numpy"])
def test_gaussian_bernoulli_divergence_names_the_sweep_and_no_step_size(backend):
    # c = 50 switches both hidden units on at the first sweep, so b + W h = 2e308 = inf there
    m = GaussianBernoulliRBM(np.full((3, 2), 1e308), np.zeros(3), np.full(2, 50.0), np.ones(3))
    with pytest.raises(FloatingPointError, match="step 1, chain 0") as err:
        samplers.gibbs(m, np.zeros((4, 3)), 5, 0, backend=backend)
    assert "step size" not in str(err.value) and "visible layer" in str(err.value)


@pytest.mark.parametrize("betas, match", [
    ([1.0], "at least two"),
    ([[0.5, 1.0]], "1-D"),
    ([0.0, 1.0], r"\(0, 1\]"),
    ([0.5, 1.5], r"\(0, 1\]"),
    ([1.0, 0.5], "increasing"),
    ([0.5, 0.5, 1.0], "increasing"),
    ([0.2, 0.9], "exactly 1"),
    ([np.nan, 1.0], r"\(0, 1\]"),
])
def test_tempering_bad_betas(rng, betas, match):
    with pytest.raises(ValueError, match=match):
        samplers.tempering(rbm(rng), np.zeros((2, 4)), 3, 0, betas=betas)


def test_tempering_bad_arguments(rng):
    m = rbm(rng)
    gm = gaussian.Gaussian(np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="swap_every"):
        samplers.tempering(m, np.zeros((2, 4)), 3, 0, betas=[0.5, 1.0], swap_every=0)
    with pytest.raises(ValueError, match="step_size"):
        samplers.tempering(gm, np.zeros((2, 2)), 3, 0, betas=[0.5, 1.0])
    with pytest.raises(ValueError, match="step_size"):
        samplers.tempering(gm, np.zeros((2, 2)), 3, 0, betas=[0.5, 1.0], step_size=-1.0)
    with pytest.raises(ValueError, match="step_size"):
        samplers.tempering(gm, np.zeros((2, 2)), 3, 0, betas=[0.5, 1.0], step_size=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="step_size"):
        samplers.tempering(m, np.zeros((2, 4)), 3, 0, betas=[0.5, 1.0], step_size=0.1)
    with pytest.raises(ValueError, match="R=2"):
        samplers.tempering(m, np.zeros((3, 2, 4)), 3, 0, betas=[0.5, 1.0])
    with pytest.raises(ValueError, match="n_chains"):
        samplers.tempering(m, np.zeros((0, 4)), 3, 0, betas=[0.5, 1.0])
    with pytest.raises(ValueError, match="binary units"):
        samplers.tempering(m, np.full((2, 4), 0.5), 3, 0, betas=[0.5, 1.0])


def test_tempering_nan_energy_stops(rng):
    class Bad(Energy):
        def __init__(self):
            super().__init__(1, {})

        def _energy(self, x):
            return np.where(x[:, 0] > 0.5, np.nan, 0.5 * x[:, 0] ** 2)

    with pytest.raises(FloatingPointError, match="step"):
        samplers.tempering(Bad(), np.zeros((5, 1)), 50, 0, betas=[0.5, 1.0], step_size=2.0)


def test_exact_matrix_bad_input(rng):
    with pytest.raises(ValueError, match="at most"):
        M.transition_matrix_site_gibbs(bm(rng, 13))
    with pytest.raises(ValueError, match="BernoulliRBM"):
        M.transition_matrix_block_gibbs(bm(rng, 4))
    with pytest.raises(ValueError, match="RBM"):
        M.transition_matrix_site_gibbs(rbm(rng))
    with pytest.raises(ValueError, match="scan"):
        M.transition_matrix_spin_flip(bm(rng, 4), scan="sideways")
    with pytest.raises(ValueError, match="per_proposal"):
        M.transition_matrix_spin_flip(bm(rng, 4), scan="systematic", per_proposal=True)
    with pytest.raises(ValueError, match="d"):
        enumerate_states(0)
    with pytest.raises(ValueError, match="Gaussian"):
        M.stationary_distribution(gbrbm(rng))
    with pytest.raises(ValueError, match="units in all"):
        M.swap_transition_matrix(bm(rng, 5), [0.3, 0.6, 1.0])
    with pytest.raises(ValueError, match="betas"):
        T.check_betas([0.5])
    with pytest.raises(ValueError, match="enumerable"):
        M.swap_transition_matrix(gbrbm(rng), [0.5, 1.0])


@pytest.mark.slow
def test_kernels_load_from_cache_in_a_fresh_process():
    """The Boltzmann-machine kernels take only arrays and Generators, so numba caches them."""
    import subprocess
    import sys

    code = (
        "import importlib, numpy as np\n"
        "from ebm_ref import samplers\n"
        "from ebm_ref.models.boltzmann import BoltzmannMachine\n"
        "G = importlib.import_module('ebm_ref.samplers.gibbs_sampling')\n"
        "m = BoltzmannMachine(np.zeros((3, 3)), np.zeros(3))\n"
        "import numba\n"
        "from ebm_ref.samplers import _common\n"
        "samplers.gibbs(m, np.zeros((4, 3)), 2, 0)\n"            # small: the serial chunk functions
        "samplers.spin_flip_metropolis(m, np.zeros((4, 3)), 2, 0)\n"
        "numba.set_num_threads(2); _common.PARALLEL_MIN_WORK = 0\n"  # the prange kernels
        "samplers.gibbs(m, np.zeros((4, 3)), 2, 0)\n"
        "samplers.spin_flip_metropolis(m, np.zeros((4, 3)), 2, 0)\n"
        "print(*(sum(k.stats.cache_hits.values()) for k in (G._bm_site_gibbs_chunk, G._bm_spin_flip_chunk,"
        " G.bm_site_gibbs_kernel, G.bm_spin_flip_kernel)))\n"
    )
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            for _ in range(2)]
    assert runs[1].stdout.split() == ["1", "1", "1", "1"], runs[1].stdout + runs[1].stderr


def test_helpers_bad_input(rng):
    m, g = rbm(rng), bm(rng, 4, "ising")
    with pytest.raises(ValueError, match="Ising units"):
        G.conditional_probabilities(g, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="shape"):
        G.conditional_probabilities(g, np.ones((2, 3)))
    with pytest.raises(ValueError, match="spins"):
        state_index(np.zeros((2, 3)), spins="potts")
    with pytest.raises(ValueError, match="units must be"):
        state_index(np.full((2, 3), 0.5))
    with pytest.raises(ValueError, match="v"):
        M.rbm_joint_energy(*(m.params[k] for k in "Wbc"), np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="beta"):
        T.tempered_free_energy(m, np.zeros((2, 4)), 0.0)
    with pytest.raises(ValueError, match="beta"):
        T.tempered_free_energy(m, np.zeros((2, 4)), np.ones(3))
    with pytest.raises(ValueError, match="binary units"):
        T.tempered_free_energy(m, np.full((2, 4), 0.5), 0.5)
    with pytest.raises(ValueError, match="betas"):
        M.tempered_product_distribution(m, [1.0, 0.5])


@pytest.mark.exact
@pytest.mark.parametrize("spins", ["binary", "ising"])
def test_bm_kernel_handles_a_diagonal_coupling(rng, spins):
    """J_ii ≠ 0 (allowed by replace) adds ½J_ii(s₁² − s₀²) to the log-odds; the energy path agrees."""
    m = bm(rng, 5, spins)
    J = m.params["J"] + np.diag(rng.normal(0, 1.0, 5))
    m2 = m.replace(J=J)
    lo = 0.0 if spins == "binary" else -1.0
    x0 = np.where(rng.random((30, 5)) < 0.5, 1.0, lo)
    for sampler in (samplers.gibbs, samplers.spin_flip_metropolis):
        a = sampler(m2, x0, 10, 3)
        b = sampler(m2, x0, 10, 3, backend="numpy")
        assert np.array_equal(a.samples, b.samples)


@pytest.mark.statistical
def test_tempering_crosses_between_the_modes_of_a_bimodal_rbm(rng):
    # false-positive rate ALPHA (binomial test on 500 independent chains' final mode).
    # The RBM of the figure: the exact "on" weight is 0.7 (closed form p(h=1)/p(h=0) = e^{c+aV});
    # all chains start in the off mode, which plain block Gibbs essentially never leaves
    # (switch probability ~1e-20 per sweep); tempering equilibrates in ~100 sweeps (figure), we run 250.
    V, a = 16, 3.0
    m = BernoulliRBM(np.full((V, 1), 2 * a), np.full(V, -a), np.array([-a * V + np.log(0.7 / 0.3)]))
    x0 = np.zeros((500, 16))
    pt = samplers.tempering(m, x0, 250, rng, betas=np.geomspace(0.1, 1.0, 10))
    k = int(np.sum(pt.last.mean(axis=1) > 0.5))
    assert stats.binomtest(k, 500, 0.7).pvalue > ALPHA
    plain = samplers.gibbs(m, x0, 250, rng)
    assert np.all(plain.samples.mean(axis=2) < 0.5)


def test_gibbs_benchmark_runs_in_quick_mode():
    # timing is never asserted; the benchmark must run and report finite ratios
    from ebm_ref.benchmarks.gibbs import gibbs_rbm

    rows = gibbs_rbm(quick=True)
    assert rows[0].name.startswith("binary RBM block-Gibbs sweep / floor")
    assert all(np.isfinite(r.ratio) for r in rows if "scikit-learn" not in r.name)


# ================================================= the steps, one per transition
@pytest.mark.statistical
def test_rbm_block_gibbs_step_matches_matrix_rows(rng):
    # false-positive rate ALPHA overall: 3 starting states × 2 temperatures, each χ² at ALPHA/6.
    # The tempered step (β per row) must follow the sweep matrix of the RBM (βW, βb, βc).
    m = rbm(rng, 3, 3, scale=1.5)
    X = enumerate_states(3)
    for beta in (1.0, 0.4):
        P = M.transition_matrix_block_gibbs(BernoulliRBM(*(beta * m.params[k] for k in "Wbc")))
        for k in (0, 3, 6):
            v = np.repeat(X[k:k + 1], 20000, axis=0)
            v_new, h = G.rbm_block_gibbs_step(rng, v, m, beta=np.full(20000, beta) if beta != 1.0 else None)
            assert h.shape == (20000, 3) and set(np.unique(h)) <= {0.0, 1.0}
            assert chi2_pvalue(state_index(v_new), P[k]) > ALPHA / 6


@pytest.mark.statistical
@pytest.mark.parametrize("spins", ["binary", "ising"])
def test_site_gibbs_and_spin_flip_steps_match_matrix_rows(rng, spins):
    # false-positive rate ALPHA overall per parametrisation: 3 χ² tests at ALPHA/3
    m = bm(rng, 4, spins, scale=0.8)
    X = enumerate_states(4, spins)
    x = np.repeat(X[[9]], 20000, axis=0)
    x_new, p = G.site_gibbs_step(rng, x, m)
    assert p.shape == (20000, 4) and np.all((p > 0) & (p < 1))
    assert chi2_pvalue(state_index(x_new, spins), M.transition_matrix_site_gibbs(m)[9]) > ALPHA / 3
    for scan in ("random", "systematic"):
        state, n_acc = G.spin_flip_step(rng, G.spin_flip_init(x, m), m, scan=scan)
        assert np.array_equal(state.energy, m.energy(state.x)) and n_acc.shape == (20000,)
        assert chi2_pvalue(state_index(state.x, spins), M.transition_matrix_spin_flip(m, scan=scan)[9]) > ALPHA / 3


@pytest.mark.exact
def test_steps_are_pure_and_reproducible(rng):
    m, b = rbm(rng), bm(rng, 4)
    v = (rng.random((7, 4)) < 0.5).astype(float)
    v_copy = v.copy()
    a1, h1 = G.rbm_block_gibbs_step(np.random.default_rng(3), v, m)
    a2, h2 = G.rbm_block_gibbs_step(np.random.default_rng(3), v, m)
    assert np.array_equal(v, v_copy) and np.array_equal(a1, a2) and np.array_equal(h1, h2)
    s1, _ = G.site_gibbs_step(np.random.default_rng(4), v, b)
    st = G.spin_flip_init(v, b)
    f1, _ = G.spin_flip_step(np.random.default_rng(5), st, b)
    assert np.array_equal(v, v_copy) and np.array_equal(st.x, v_copy)
    assert np.array_equal(s1, G.site_gibbs_step(np.random.default_rng(4), v, b)[0])
    assert np.array_equal(f1.x, G.spin_flip_step(np.random.default_rng(5), st, b)[0].x)


@pytest.mark.exact
def test_fast_block_gibbs_equals_the_step_with_per_row_beta(rng):
    """The BLAS-buffered sweep and the step consume the same numbers: the same chains (tempered too)."""
    for model, v in ((rbm(rng, 5, 4), (rng.random((12, 5)) < 0.5).astype(float)),
                     (gbrbm(rng), rng.normal(size=(12, 3)))):
        beta = rng.uniform(0.1, 1.0, 12)
        for bt in (None, beta):
            fast = G.FastBlockGibbs(model, 12, beta=bt)
            r1, r2 = np.random.default_rng(8), np.random.default_rng(8)
            x_fast, x_step = v.copy(), v.copy()
            for _ in range(5):
                fast.sweep(r1, x_fast)
                x_step = G.rbm_block_gibbs_step(r2, x_step, model, beta=bt)[0]
            assert np.max(np.abs(x_fast - x_step)) < 1e-12   # binary: equal; Gaussian: rounding of b + W h


@pytest.mark.exact
def test_fast_block_gibbs_on_a_parameter_matrix_sees_its_updates(rng):
    """On Φ = −[[W, b], [cᵀ, 0]] (CD's arrays): the same chains as the sweep built from the model, the field
    of [v, 1] equals the field of v, and a Φ changed in place is the model the next sweep samples from."""
    m, m2 = rbm(rng, 5, 4), rbm(rng, 5, 4)

    def phi_of(model):
        W, b, c = model.layer_arrays()
        return -np.block([[W, b[:, None]], [c[None, :], np.zeros((1, 1))]])

    phi = phi_of(m)
    on_phi, from_model = G.FastBlockGibbs.on_negated_parameters(phi, 12), G.FastBlockGibbs(m, 12)
    v = (rng.random((12, 5)) < 0.5).astype(float)
    v1 = np.concatenate([v, np.ones((12, 1))], axis=1)
    f_plain, f_ones = np.empty((12, 4)), np.empty((12, 4))
    on_phi.negated_hidden_field(v, f_plain)
    on_phi.negated_hidden_field(v1, f_ones, with_ones=True)
    np.testing.assert_array_equal(f_plain, f_ones)
    np.testing.assert_allclose(f_plain, -(m.params["c"] + v @ m.params["W"]), rtol=0, atol=1e-14)  # rounding of 6 terms
    r1, r2 = np.random.default_rng(4), np.random.default_rng(4)
    x1, x2 = v.copy(), v.copy()
    with np.errstate(over="ignore"):                             # the caller silences overflow for on_phi
        for _ in range(3):
            on_phi.sweep(r1, x1)
            from_model.sweep(r2, x2)
    np.testing.assert_array_equal(x1, x2)
    phi[...] = phi_of(m2)                                        # an optimizer's in-place step
    r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
    with np.errstate(over="ignore"):
        on_phi.sweep(r1, x1)
    np.testing.assert_array_equal(x1, G.rbm_block_gibbs_step(r2, x2, m2)[0])
    for bad in (phi.astype(np.float32), phi[0], np.zeros((1, 5)), phi.tolist()):
        with pytest.raises(ValueError, match="phi"):
            G.FastBlockGibbs.on_negated_parameters(bad, 12)
    with pytest.raises(ValueError, match="n"):
        G.FastBlockGibbs.on_negated_parameters(phi, 0)
    g = G.FastBlockGibbs(gbrbm(rng), 2)
    with pytest.raises(ValueError, match="with_ones"):
        g.negated_hidden_field(np.ones((2, 4)), np.empty((2, g._A.shape[1])), with_ones=True)


@pytest.mark.exact
def test_fast_block_gibbs_with_base_bias_is_the_step_on_the_ais_intermediate(rng):
    """With b_A the sweep at β is block Gibbs on the RBM (βW, (1−β)b_A + βb, βc): same uniforms, same chains."""
    m = rbm(rng, 5, 4)
    W, b, c = m.layer_arrays()
    b_A = rng.standard_normal(5)
    v = (rng.random((12, 5)) < 0.5).astype(float)
    fast = G.FastBlockGibbs(m, 12, base_bias=b_A)
    for beta in (0.2, 0.7, 1.0):
        inter = BernoulliRBM(beta * W, (1 - beta) * b_A + beta * b, beta * c)
        fast.set_beta(beta)
        r1, r2 = np.random.default_rng(9), np.random.default_rng(9)
        x_fast, x_step = v.copy(), v.copy()
        for _ in range(4):
            fast.sweep(r1, x_fast)
            x_step = G.rbm_block_gibbs_step(r2, x_step, inter)[0]
        assert np.array_equal(x_fast, x_step)
    with pytest.raises(ValueError, match="base_bias"):
        G.FastBlockGibbs(m, 12, base_bias=np.zeros(4))
    with pytest.raises(ValueError, match="beta"):
        fast.set_beta(0.0)


@pytest.mark.exact
def test_tempering_numpy_backend_gives_the_same_chains(rng):
    m, g, b = rbm(rng, 4, 3), gbrbm(rng), bm(rng, 4, "ising")
    betas = [0.3, 0.6, 1.0]
    cases = [(m, (rng.random((20, 4)) < 0.5).astype(float)), (g, rng.normal(size=(20, 3))),
             (b, np.where(rng.random((20, 4)) < 0.5, 1.0, -1.0))]
    for model, x0 in cases:
        a = samplers.tempering(model, x0, 6, 2, betas=betas, burn_in=1, thin=2)
        c = samplers.tempering(model, x0, 6, 2, betas=betas, burn_in=1, thin=2, backend="numpy")
        assert np.max(np.abs(a.samples - c.samples)) < 1e-12
        assert np.array_equal(a.extras["swap_rate"], c.extras["swap_rate"], equal_nan=True)
    with pytest.raises(ValueError, match="backend"):
        samplers.tempering(m, cases[0][1], 3, 0, betas=betas, backend="numba")
    with pytest.raises(ValueError, match="backend"):
        samplers.tempering(m, cases[0][1], 3, 0, betas=betas, backend="jax")


def test_gibbs_k_returns_chains_with_named_extras(rng):
    m, b = rbm(rng), bm(rng, 4)
    x0 = (rng.random((6, 4)) < 0.5).astype(float)
    ch = samplers.gibbs_k(m, x0, 3, 1)
    assert ch.samples.shape == (1, 6, 4) and ch.settings["k"] == 3
    assert np.array_equal(ch.last, samplers.gibbs(m, x0, 3, 1).last)
    assert np.allclose(ch.extras["prob_h_given_v"], m.prob_h_given_v(ch.last), rtol=1e-15, atol=0)
    cb = samplers.gibbs_k(b, x0, 2, 1)
    assert np.allclose(cb.extras["prob_unit_given_rest"], b.conditional_prob(cb.last), rtol=1e-12, atol=0)


def test_steps_bad_input(rng):
    m, b, g = rbm(rng), bm(rng, 4), gbrbm(rng)
    v = np.zeros((3, 4))
    with pytest.raises(ValueError, match="model"):
        G.rbm_block_gibbs_step(rng, v, b)
    with pytest.raises(ValueError, match="beta"):
        G.rbm_block_gibbs_step(rng, v, m, beta=np.ones(2))
    with pytest.raises(ValueError, match="beta"):
        G.rbm_block_gibbs_step(rng, v, m, beta=0.0)
    with pytest.raises(ValueError, match="0 or 1"):
        G.rbm_block_gibbs_step(rng, np.full((3, 4), 0.5), m)
    with pytest.raises(ValueError, match="rng"):
        G.rbm_block_gibbs_step(None, v, m)
    with pytest.raises(ValueError, match="model"):
        G.FastBlockGibbs(b, 3)
    with pytest.raises(ValueError, match="beta"):
        G.FastBlockGibbs(m, 3, beta=[0.5, 1.0])
    with pytest.raises(ValueError, match="beta"):
        G.FastBlockGibbs(g, 2, beta=[0.5, 1.5])
    with pytest.raises(ValueError, match="n"):
        G.FastBlockGibbs(m, 0)
    with pytest.raises(ValueError, match="RBM"):
        G.site_gibbs_step(rng, v, m)
    with pytest.raises(ValueError, match="binary units"):
        G.site_gibbs_step(rng, np.full((3, 4), 2.0), b)
    with pytest.raises(ValueError, match="step"):
        G.site_gibbs_step(rng, v, b, step=-1)
    with pytest.raises(ValueError, match="RBM"):
        G.spin_flip_init(v, m)
    with pytest.raises(ValueError, match="state"):
        G.spin_flip_step(rng, (v, np.zeros(3)), b)
    with pytest.raises(ValueError, match="scan"):
        G.spin_flip_step(rng, G.spin_flip_init(v, b), b, scan="diagonal")
    with pytest.raises(ValueError, match="energy"):
        G.spin_flip_step(rng, G.SpinFlipState(v, np.zeros(2)), b)
    with pytest.raises(ValueError, match="first_chain"):
        G.spin_flip_step(rng, G.spin_flip_init(v, b), b, first_chain=-2)


def test_dispatch_helpers_bad_input(rng):
    m, b = rbm(rng), bm(rng, 4, "ising")
    assert [G.model_family(x) for x in (m, gbrbm(rng), b, UserBM(np.zeros((2, 2)), np.zeros(2)))] == \
        ["rbm", "gbrbm", "bm", "energy"]
    with pytest.raises(ValueError, match="model"):
        G.model_family("rbm")
    assert G.unit_values(b) == (-1.0, 1.0) and G.unit_values(m) == (0.0, 1.0)
    with pytest.raises(ValueError, match="spins"):
        G.unit_values(b, "binary")
    with pytest.raises(ValueError, match="backend"):
        G.check_backend("cuda", "bm")
    with pytest.raises(ValueError, match="numba"):
        G.check_backend("numba", "rbm")
    with pytest.raises(ValueError, match="spins"):
        G.check_start(m, np.zeros((2, 4)), spins="ising")
    with pytest.raises(ValueError, match="Ising units"):
        G.check_start(b, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="x0"):
        G.check_start(m, np.zeros((2, 3)))


def test_swap_log_ratio(rng):
    # exact: the RBM form (tempered free energies) equals the enumerated log ratio; bad input
    m = rbm(rng, 3, 2)
    V, H = enumerate_states(3), enumerate_states(2)

    def log_pi(beta):                                         # log π̃_β(v) by summing e^{−βE(v,h)} over h
        return np.log(np.exp(-beta * M.rbm_joint_energy(*(m.params[k] for k in "Wbc"), V, H)).sum(axis=1))

    xi, xj = V, V[::-1]
    idx_i, idx_j = np.arange(8), np.arange(8)[::-1]
    expected = (log_pi(0.3)[idx_j] + log_pi(1.0)[idx_i]) - (log_pi(0.3)[idx_i] + log_pi(1.0)[idx_j])
    assert np.allclose(T.swap_log_ratio(m, xi, xj, 0.3, 1.0), expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="beta_i"):
        T.swap_log_ratio(m, xi, xj, 0.0, 1.0)
    with pytest.raises(ValueError, match="beta_j"):
        T.swap_log_ratio(m, xi, xj, 0.5, [1.0, 1.0])
    with pytest.raises(ValueError, match="xj"):
        T.swap_log_ratio(m, xi, xj[:3], 0.5, 1.0)
    with pytest.raises(ValueError, match="0 or 1"):
        T.swap_log_ratio(m, np.full((2, 3), 0.5), xj[:2], 0.5, 1.0)
    with pytest.raises(ValueError, match="first"):
        M.swap_transition_matrix(m, [0.5, 1.0], first=2)


def test_sampler_modules_import_by_name_and_by_attribute():
    import ebm_ref

    for name in ("gibbs_sampling", "transition_matrices", "parallel_tempering"):
        mod = importlib.import_module(f"ebm_ref.samplers.{name}")
        assert getattr(ebm_ref.samplers, name) is mod
    assert ebm_ref.samplers.transition_matrices.transition_matrix_block_gibbs is M.transition_matrix_block_gibbs
    assert ebm_ref.samplers.gibbs_sampling.gibbs is samplers.gibbs
    assert ebm_ref.samplers.parallel_tempering.tempering is samplers.tempering
    assert set(samplers.__all__) <= set(dir(samplers))
