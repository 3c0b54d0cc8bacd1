"""Fully visible Boltzmann machine against brute force written with plain loops, and closed forms."""
import itertools

import numpy as np
import pytest
from scipy import stats

from ebm_ref.check import check_energy, richardson
from ebm_ref.models import BernoulliRBM, BoltzmannMachine
from ebm_ref.models.boltzmann import ising_as_binary
from ebm_ref.partition import MAX_ENUMERATE_DIM

# sums of at most 2^8 positive terms in float64: rounding far below 1e-10.
TOL_ENUM = 1e-10
# Richardson differences of an exact (enumerated) log-likelihood.
TOL_FD = 1e-8
# statistical tests reject at this level: false-positive rate 1e-3 per test.
ALPHA = 1e-3


def random_J(rng, d, scale=1.0):
    A = scale * rng.standard_normal((d, d))
    J = A + A.T
    np.fill_diagonal(J, 0.0)
    return J


def brute(model):
    """States, energies and probabilities by plain Python loops over every spin vector."""
    vals = (0.0, 1.0) if model.spins == "binary" else (-1.0, 1.0)
    J, h = model.params["J"], model.params["h"]
    d = model.dim
    xs, Es = [], []
    for x in itertools.product(vals, repeat=d):
        e = 0.0
        for i in range(d):
            e -= h[i] * x[i]
            for j in range(d):
                e -= 0.5 * J[i, j] * x[i] * x[j]
        xs.append(x)
        Es.append(e)
    xs, Es = np.array(xs), np.array(Es)
    m = np.max(-Es)
    Z = np.sum(np.exp(-Es - m))
    return xs, Es, np.exp(-Es - m) / Z, m + np.log(Z)


@pytest.fixture(params=["binary", "ising"])
def bm(request, rng):
    return BoltzmannMachine(random_J(rng, 5, 0.5), rng.standard_normal(5), spins=request.param)


@pytest.mark.exact
def test_energy_log_partition_and_moments_brute_force(bm):
    xs, Es, p, lz = brute(bm)
    np.testing.assert_allclose(bm.energy(xs), Es, atol=1e-12)
    assert abs(bm.log_partition() - lz) < TOL_ENUM
    mean, second = bm.moments()
    np.testing.assert_allclose(mean, p @ xs, atol=TOL_ENUM)
    np.testing.assert_allclose(second, np.einsum("k,ki,kj->ij", p, xs, xs), atol=TOL_ENUM)
    np.testing.assert_allclose(bm.pairwise_moments(), second, atol=1e-15)
    np.testing.assert_allclose(bm.marginals(), p @ (xs == 1), atol=TOL_ENUM)
    np.testing.assert_allclose(np.exp(bm.log_prob(xs)), p, atol=TOL_ENUM)


@pytest.mark.exact
def test_conditionals_are_ratios_of_joints(bm):
    xs, _, p, _ = brute(bm)
    lo = 0.0 if bm.spins == "binary" else -1.0
    index = {tuple(x): k for k, x in enumerate(xs)}
    for i in range(bm.dim):
        expect = []
        for x in xs:
            up, down = x.copy(), x.copy()
            up[i], down[i] = 1.0, lo
            pu, pd = p[index[tuple(up)]], p[index[tuple(down)]]
            expect.append(pu / (pu + pd))
        np.testing.assert_allclose(bm.conditional_prob(xs, i), expect, atol=TOL_ENUM)
    assert bm.conditional_prob(xs).shape == xs.shape


@pytest.mark.exact
def test_ising_equals_binary_after_change_of_variables(rng):
    ising = BoltzmannMachine(random_J(rng, 6), rng.standard_normal(6), spins="ising")
    binary, C = ising_as_binary(ising)
    s = np.array(list(itertools.product([0.0, 1.0], repeat=6)))
    np.testing.assert_allclose(ising.energy(2 * s - 1), binary.energy(s) + C, atol=1e-12)
    assert abs(ising.log_partition() - (binary.log_partition() - C)) < TOL_ENUM


@pytest.mark.exact
@pytest.mark.parametrize("K", [-0.7, 0.3, 1.5])
def test_open_ising_chain_closed_form(K):
    # E = −K Σ x_i x_{i+1} on {−1,1}^d: Z = 2 (2 cosh K)^{d−1} (sum the spins from one end).
    d = 9
    J = np.zeros((d, d))
    i = np.arange(d - 1)
    J[i, i + 1] = J[i + 1, i] = K
    bm = BoltzmannMachine(J, np.zeros(d), spins="ising")
    assert abs(bm.log_partition() - (np.log(2) + (d - 1) * np.log(2 * np.cosh(K)))) < TOL_ENUM


@pytest.mark.exact
def test_rbm_is_a_bipartite_boltzmann_machine(rng):
    V, H = 4, 3
    rbm = BernoulliRBM(rng.standard_normal((V, H)), rng.standard_normal(V), rng.standard_normal(H))
    J = np.zeros((V + H, V + H))
    J[:V, V:] = rbm.params["W"]
    J[V:, :V] = rbm.params["W"].T
    bm = BoltzmannMachine(J, np.concatenate([rbm.params["b"], rbm.params["c"]]))
    assert abs(bm.log_partition() - rbm.log_partition()) < TOL_ENUM
    mean, second = bm.moments()
    m = rbm.model_expectations()
    np.testing.assert_allclose(second[:V, V:], m["vh"], atol=TOL_ENUM)
    np.testing.assert_allclose(mean[:V], m["v"], atol=TOL_ENUM)


@pytest.mark.exact
def test_exact_grad_log_likelihood_matches_finite_differences(bm, rng):
    xs = brute(bm)[0]
    data = xs[rng.choice(len(xs), size=9)]
    g = bm.exact_grad_log_likelihood(data)
    glz = bm.grad_log_partition()
    J, h = bm.params["J"], bm.params["h"]
    d = bm.dim
    for i in range(d):
        e = np.zeros(d)
        e[i] = 1.0
        num = richardson(lambda t: bm.replace(h=h + float(t) * e).log_likelihood(data), 0.0, 1.0, h=1e-2)
        assert abs(g["h"][i] - num) < TOL_FD
        for j in range(i + 1, d):
            E = np.zeros((d, d))
            E[i, j] = E[j, i] = 0.5           # symmetric direction: dJ_ij = dJ_ji = ½
            num = richardson(lambda t: bm.replace(J=J + float(t) * E).log_likelihood(data), 0.0, 1.0, h=1e-2)
            assert abs(g["J"][i, j] - num) < TOL_FD
            numz = richardson(lambda t: bm.replace(J=J + float(t) * E).log_partition(), 0.0, 1.0, h=1e-2)
            assert abs(glz["J"][i, j] - numz) < TOL_FD
    assert np.all(np.diag(g["J"]) == 0.0)


@pytest.mark.derivative
def test_check_energy_relaxed(bm, rng):
    reports = check_energy(bm.as_relaxed(), rng.standard_normal((4, bm.dim)))
    assert "complex" in {r.method for r in reports}


@pytest.mark.statistical
def test_exact_sampler(bm, rng):
    # chi-square over the 32 states; false-positive rate ALPHA.
    xs, _, p, _ = brute(bm)
    n = 20000
    x = bm.sample(n, rng)
    s = (x == 1).astype(int) @ (2 ** np.arange(bm.dim - 1, -1, -1))
    counts = np.bincount(s, minlength=len(xs))
    assert stats.chisquare(counts, n * p).pvalue > ALPHA


def test_bad_input(rng):
    J = random_J(rng, 3)
    with pytest.raises(ValueError, match="symmetric"):
        BoltzmannMachine(J + np.triu(np.ones((3, 3)), 1), np.zeros(3))
    with pytest.raises(ValueError, match="diagonal"):
        BoltzmannMachine(J + np.eye(3), np.zeros(3))
    with pytest.raises(ValueError, match="square"):
        BoltzmannMachine(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="h"):
        BoltzmannMachine(J, np.zeros(4))
    with pytest.raises(ValueError, match="spins"):
        BoltzmannMachine(J, np.zeros(3), spins="potts")
    with pytest.raises(ValueError, match="relaxed"):
        BoltzmannMachine(J, np.zeros(3), relaxed=1)
    b = BoltzmannMachine(J, np.zeros(3))
    s = BoltzmannMachine(J, np.zeros(3), spins="ising")
    with pytest.raises(ValueError, match="0 or 1"):
        b.energy(np.full((2, 3), 0.5))
    with pytest.raises(ValueError, match="-1 or"):
        s.energy(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="-1 or"):
        s.log_likelihood(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="0 or 1"):
        b.exact_grad_log_likelihood(-np.ones((2, 3)))
    with pytest.raises(ValueError, match="0 or 1"):
        b.conditional_prob(np.full((2, 3), 2.0), 0)
    with pytest.raises(ValueError, match="i"):
        b.conditional_prob(np.zeros((2, 3)), 3)
    with pytest.raises(ValueError, match="shape"):
        b.energy(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="symmetric"):
        b.replace(J=J + np.triu(np.ones((3, 3)), 1))
    assert b.replace(J=J + np.eye(3)).params["J"][0, 0] == J[0, 0] + 1   # diagonal allowed in replace
    with pytest.raises(ValueError, match="spins='ising'"):
        ising_as_binary(b)
    d = MAX_ENUMERATE_DIM + 1
    big = BoltzmannMachine(np.zeros((d, d)), np.zeros(d))
    for call in (big.log_partition, big.moments, big.marginals, lambda: big.sample(2, rng)):
        with pytest.raises(ValueError, match="refused"):
            call()


def test_coupling_arrays_are_symmetrised_fresh_copies(rng):
    A = rng.normal(size=(4, 4))
    m = BoltzmannMachine(A + A.T - np.diag(np.diag(A + A.T)), rng.normal(size=4))
    m2 = m.replace(J=m.params["J"] + np.diag(rng.normal(size=4)))   # a diagonal is allowed by replace
    for model in (m, m2):
        J, h = model.coupling_arrays()
        assert J.flags.c_contiguous and h.flags.c_contiguous and J.flags.writeable and h.flags.writeable
        assert np.array_equal(J, 0.5 * (model.params["J"] + model.params["J"].T)) and np.array_equal(h, model.params["h"])
        assert not np.shares_memory(J, model.params["J"]) and not np.shares_memory(h, model.params["h"])
