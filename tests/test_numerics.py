"""ebm_ref.numerics: special functions and enumeration against independent computations."""
import itertools

import numpy as np
import pytest
from scipy import special as sps

from ebm_ref.numerics import (MAX_ENUMERATE_DIM, enumerate_states, expectation_by_enumeration, expectation_of_terms,
                              log_mean_exp, log_partition_enumerate, logsumexp, sigmoid, softplus, softplus_and_sigmoid,
                              state_index)

pytestmark = pytest.mark.exact


def test_softplus_and_sigmoid_match_scipy_far_into_the_tails():
    # np.logaddexp and scipy's expit are independent stable implementations;
    # agreement to a few ulps (rtol 1e-15) is all float64 allows.
    a = np.array([-800.0, -30.0, -1e-3, 0.0, 1e-3, 30.0, 800.0])
    np.testing.assert_allclose(softplus(a), np.logaddexp(0.0, a), rtol=1e-15, atol=0)
    np.testing.assert_allclose(sigmoid(a), sps.expit(a), rtol=1e-15, atol=0)


def test_sigmoid_is_the_complex_step_derivative_of_softplus():
    # complex step: Im f(a + ih)/h = f'(a) + O(h^2); h = 1e-20 leaves only rounding
    a = np.linspace(-40, 40, 81)
    h = 1e-20
    np.testing.assert_allclose(softplus(a + 1j * h).imag / h, sigmoid(a), rtol=1e-14, atol=0)


def test_softplus_and_sigmoid_from_one_exponential_equal_the_two_functions_to_the_bit():
    a = np.concatenate([np.array([-800.0, -30.0, -1e-3, -0.0, 0.0, 1e-3, 30.0, 800.0]),
                        np.random.default_rng(0).normal(size=1000) * 10]).reshape(8, -1)
    sp, sig = softplus_and_sigmoid(a)
    np.testing.assert_array_equal(sp, softplus(a))
    np.testing.assert_array_equal(sig, sigmoid(a))
    with pytest.raises(ValueError, match="float64"):
        softplus_and_sigmoid(a.astype(complex))


def test_logsumexp_and_log_mean_exp_match_scipy():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 5)) * 300
    np.testing.assert_allclose(logsumexp(a), sps.logsumexp(a), rtol=1e-14)
    np.testing.assert_allclose(logsumexp(a, axis=1), sps.logsumexp(a, axis=1), rtol=1e-14)
    assert log_mean_exp(a) == pytest.approx(sps.logsumexp(a) - np.log(a.size), rel=1e-14)
    assert logsumexp(np.array([])) == -np.inf
    with pytest.raises(ValueError, match="empty"):
        log_mean_exp(np.array([]))


def test_enumeration_order_and_index_roundtrip():
    d = 5
    states = np.array(list(itertools.product([0.0, 1.0], repeat=d)))   # most significant first
    np.testing.assert_array_equal(enumerate_states(d), states)
    np.testing.assert_array_equal(enumerate_states(d, start=5, stop=9), states[5:9])
    np.testing.assert_array_equal(enumerate_states(d, "ising"), 2 * states - 1)
    np.testing.assert_array_equal(state_index(states), np.arange(2**d))
    np.testing.assert_array_equal(state_index(2 * states - 1, "ising"), np.arange(2**d))


def test_log_partition_and_expectations_of_independent_units():
    # E(x) = -θ·x factorises: log Z = Σ softplus(θ_i), E[x_i] = σ(θ_i)
    theta = np.array([0.3, -1.2, 2.0, 0.0, -0.4])
    lz = log_partition_enumerate(lambda x: -(x @ theta), theta.size, chunk=7)
    assert lz == pytest.approx(np.sum(np.logaddexp(0.0, theta)), rel=1e-14)
    lz2, m = expectation_by_enumeration(lambda x: x @ theta, lambda x, w: {"x": w @ x}, theta.size, chunk=3)
    assert lz2 == pytest.approx(lz, rel=1e-14)
    np.testing.assert_allclose(m["x"], sps.expit(theta), rtol=1e-13)


def test_one_pass_expectations_rescale_when_a_later_chunk_has_a_larger_maximum():
    # states in order 0 ... 2^d − 1 (first unit most significant): with large positive θ_0, θ_1
    # the last chunks hold the largest −E, so earlier sums are rescaled by e^{m − m'} (→ ~e^{-60})
    theta = np.array([40.0, 20.0, -3.0, 1.0, 0.5])
    for chunk in (1, 3, 32):
        lz, m = expectation_of_terms(lambda x: (x @ theta, lambda w, x=x: {"x": w @ x}), theta.size, chunk=chunk)
        assert lz == pytest.approx(np.sum(np.logaddexp(0.0, theta)), rel=1e-14)
        np.testing.assert_allclose(m["x"], sps.expit(theta), rtol=1e-13)
    with pytest.raises(FloatingPointError, match="NaN"):
        expectation_of_terms(lambda x: (np.full(x.shape[0], np.nan), lambda w: {}), 3)
    with pytest.raises(ValueError, match="expected shape"):
        expectation_of_terms(lambda x: (x, lambda w: {}), 3)


@pytest.mark.parametrize("call", [
    lambda: enumerate_states(MAX_ENUMERATE_DIM + 1),
    lambda: enumerate_states(0),
    lambda: enumerate_states(3, "potts"),
    lambda: enumerate_states(3, start=5, stop=2),
    lambda: state_index(np.full((2, 3), 0.5)),
    lambda: log_partition_enumerate(lambda x: x.sum(1), MAX_ENUMERATE_DIM + 1),
    lambda: log_partition_enumerate(42, 3),
])
def test_bad_input_is_refused(call):
    with pytest.raises(ValueError):
        call()


# ====================== issue 11, defect 12: infinite energies in enumeration are decided
def test_enumeration_with_infinite_energies():
    from ebm_ref.numerics import log_partition_enumerate

    # E = +inf everywhere: Z = 0, log Z = -inf (never NaN)
    assert log_partition_enumerate(lambda x: np.full(x.shape[0], np.inf), 3) == -np.inf
    # E = +inf on half the states: those add nothing; the rest is 4 states of E = 0
    assert log_partition_enumerate(lambda x: np.where(x[:, 0] == 1, np.inf, 0.0), 3) == pytest.approx(np.log(4.0))
    assert log_partition_enumerate(lambda x: np.where(x[:, 0] == 1, np.inf, 0.0), 3, chunk=2) == pytest.approx(np.log(4.0))
    assert log_partition_enumerate(lambda x: np.where(x[:, 0] == 1, -np.inf, 0.0), 3) == np.inf
    with pytest.raises(ValueError, match="not a distribution"):
        expectation_by_enumeration(lambda x: np.full(x.shape[0], -np.inf), lambda x, w: {"m": w @ x}, 3)
    with pytest.raises(ValueError, match="not a distribution"):     # E = -inf at some states: Z = inf
        expectation_by_enumeration(lambda x: np.where(x[:, 0] == 1, np.inf, 0.0), lambda x, w: {"m": w @ x}, 3, chunk=2)
    # E = +inf on the first chunk only: it adds nothing, the rest is uniform on x_0 = 1
    lz, m = expectation_by_enumeration(lambda x: np.where(x[:, 0] == 1, 0.0, -np.inf), lambda x, w: {"m": w @ x}, 3,
                                       chunk=4)
    assert lz == pytest.approx(np.log(4.0)) and m["m"] == pytest.approx([1.0, 0.5, 0.5])
