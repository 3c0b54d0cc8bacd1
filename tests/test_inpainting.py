"""ebm_ref.inpainting: conditional sampling with clamped units against enumeration."""
import numpy as np
import pytest
from scipy import stats

from ebm_ref import inpainting as ip
from ebm_ref.models.rbm import BernoulliRBM

ALPHA = 1e-4  # false-positive rate of the chi-square test


def _rbm(rng):
    return BernoulliRBM(rng.standard_normal((7, 4)), 0.3 * rng.standard_normal(7), 0.3 * rng.standard_normal(4))


@pytest.mark.statistical
def test_clamped_gibbs_follows_the_exact_kernel(rng):
    # after k sweeps from uniform completions the law is u T^k exactly; compare counts by chi-square
    rbm = _rbm(rng)
    v = (rng.random(7) < 0.5).astype(float)
    obs = np.array([1, 0, 1, 0, 0, 1, 0], bool)
    full, p = ip.exact_conditional(rbm, v, obs)
    T = ip.clamped_kernel(rbm, v, obs)
    k, n = 3, 20000
    law = np.full(p.size, 1.0 / p.size) @ np.linalg.matrix_power(T, k)
    out = ip.clamped_gibbs(rbm, v, obs, n, k, rng)
    assert np.all(out[:, obs] == v[obs])
    idx = (out[:, ~obs] @ (2 ** np.arange(int((~obs).sum()) - 1, -1, -1))).astype(int)
    counts = np.bincount(idx, minlength=p.size)
    assert stats.chisquare(counts, n * law).pvalue > ALPHA


@pytest.mark.exact
def test_map_completion_is_the_most_probable(rng):
    rbm = _rbm(rng)
    v = (rng.random(7) < 0.5).astype(float)
    obs = np.array([1, 1, 0, 0, 1, 0, 0], bool)
    full, p = ip.exact_conditional(rbm, v, obs)
    np.testing.assert_array_equal(ip.map_completion(rbm, v, obs), full[np.argmax(p)])
    np.testing.assert_allclose(ip.clamped_kernel(rbm, v, obs).sum(axis=1), 1.0, atol=1e-14)


def test_bad_input(rng):
    rbm = _rbm(rng)
    with pytest.raises(ValueError, match="observed"):
        ip.exact_conditional(rbm, np.zeros(7), np.ones(7, bool))
    with pytest.raises(ValueError, match="observed"):
        ip.exact_conditional(rbm, np.zeros(7), np.ones(3, bool))
