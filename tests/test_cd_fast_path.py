"""The fast CD/PCD update of a BernoulliRBM equals the step-by-step reference path on the same random stream."""
import numpy as np
import pytest

from ebm_ref.models import BernoulliRBM, Gaussian
from ebm_ref.objectives import contrastive_divergence as cd
from ebm_ref.train import SGD, fit

#: the same sums in another order (fused products vs per-point gradients averaged):
#: rounding of O(n) terms of size O(1); 1e-12 is the issue's bar.
TOL_PATHS = 1e-12


def _rbm(rng, V=12, H=7, scale=0.8):
    return BernoulliRBM(scale * rng.standard_normal((V, H)), 0.5 * rng.standard_normal(V), 0.5 * rng.standard_normal(H))


def _binary(rng, n, V):
    return (rng.random((n, V)) < 0.4).astype(np.float64)


def _assert_grads_equal(g, ref):
    assert list(g) == list(ref)
    for key in ref:
        np.testing.assert_allclose(g[key], ref[key], rtol=0, atol=TOL_PATHS)


@pytest.mark.exact
@pytest.mark.parametrize("k", [1, 3])
def test_fast_cd_equals_cd_k(rng, k):
    rbm = _rbm(rng)
    x = _binary(rng, 25, 12)
    x_copy = x.copy()
    seed = int(rng.integers(2**32))
    value, grads, vk = cd.rbm_cd_update(rbm, x, k, np.random.default_rng(seed))
    ref_value, ref_grads, ref_vk = cd.cd_k(rbm, x, k, np.random.default_rng(seed))
    np.testing.assert_array_equal(vk, ref_vk)
    _assert_grads_equal(grads, ref_grads)
    assert value == pytest.approx(ref_value, abs=TOL_PATHS)
    np.testing.assert_array_equal(x, x_copy)                    # the batch is not modified


@pytest.mark.exact
@pytest.mark.parametrize("k", [1, 2])
def test_fast_pcd_equals_pcd_step(rng, k):
    rbm = _rbm(rng)
    x = _binary(rng, 25, 12)
    chains = _binary(rng, 40, 12)                              # more chains than data points
    chains_copy = chains.copy()
    seed = int(rng.integers(2**32))
    value, grads, vk = cd.rbm_cd_update(rbm, x, k, np.random.default_rng(seed), chains=chains)
    ref_value, ref_grads, ref_chains = cd.pcd_step(rbm, x, cd.PersistentChains(chains), k, np.random.default_rng(seed))
    np.testing.assert_array_equal(vk, ref_chains.x)
    _assert_grads_equal(grads, ref_grads)
    assert value == pytest.approx(ref_value, abs=TOL_PATHS)
    np.testing.assert_array_equal(chains, chains_copy)          # the chains are not modified
    no_loss, grads2, _ = cd.rbm_cd_update(rbm, x, k, np.random.default_rng(seed), chains=chains, with_loss=False)
    assert no_loss is None
    _assert_grads_equal(grads2, grads)


@pytest.mark.exact
@pytest.mark.parametrize("persistent", [False, True])
def test_training_runs_fast_and_reference_are_the_same_run(rng, persistent):
    data = _binary(rng, 60, 12)
    rbm0 = _rbm(rng, scale=0.1)
    seed = int(rng.integers(2**32))
    runs = {}
    for path in ("fast", "reference"):
        obj = (cd.pcd_objective(2, 15, np.random.default_rng(seed + 1), data, path=path) if persistent
               else cd.cd_objective(2, path=path))
        runs[path] = fit(rbm0, data, obj, SGD(0.3, momentum=0.5, lr_decay=10.0), 30, np.random.default_rng(seed),
                         batch_size=15, log=lambda s: None)
    (m_fast, h_fast), (m_ref, h_ref) = runs["fast"], runs["reference"]
    _assert_grads_equal(m_fast.params, m_ref.params)
    np.testing.assert_allclose(h_fast.loss, h_ref.loss, rtol=0, atol=TOL_PATHS)


@pytest.mark.exact
def test_without_the_loss_fit_records_nan_and_the_same_parameters(rng):
    data = _binary(rng, 40, 12)
    rbm0 = _rbm(rng, scale=0.1)
    out = [fit(rbm0, data, cd.cd_objective(1, with_loss=flag), SGD(0.2), 10, np.random.default_rng(3),
               batch_size=10, log=lambda s: None) for flag in (True, False)]
    assert np.all(np.isfinite(out[0][1].loss)) and np.all(np.isnan(out[1][1].loss))
    for key in rbm0.params:
        np.testing.assert_array_equal(out[0][0].params[key], out[1][0].params[key])


def test_fast_path_bad_input(rng):
    rbm = _rbm(rng)
    x = _binary(rng, 5, 12)
    with pytest.raises(ValueError, match="BernoulliRBM"):
        cd.rbm_cd_update(Gaussian(np.zeros(12), np.eye(12)), x, 1, rng)
    with pytest.raises(ValueError, match="x_data"):
        cd.rbm_cd_update(rbm, x + 0.5, 1, rng)
    with pytest.raises(ValueError, match="chains"):
        cd.rbm_cd_update(rbm, x, 1, rng, chains=np.full((3, 12), 0.5))
    with pytest.raises(ValueError, match="chains"):
        cd.rbm_cd_update(rbm, x, 1, rng, chains=np.zeros((3, 11)))
    with pytest.raises(ValueError, match="k"):
        cd.rbm_cd_update(rbm, x, 0, rng)
    with pytest.raises(ValueError, match="path"):
        cd.cd_objective(1, path="quick")
    with pytest.raises(ValueError, match="path"):
        cd.pcd_objective(1, 3, rng, path="quick")
    with pytest.raises(ValueError, match="path"):
        cd.cd_objective(1, path="fast")(Gaussian(np.zeros(12), np.eye(12)), np.zeros((3, 12)), rng)


def test_pcd_bench_rows_run_in_quick_mode():
    from ebm_ref.benchmarks.cd import pcd_update

    rows = pcd_update(quick=True)
    assert len(rows) == 8
    for row in rows:
        assert row.name and row.goal
        assert np.isnan(row.ratio) or row.ratio > 0


@pytest.mark.exact
def test_sigmoid_of_negated_inplace_is_sigmoid():
    from ebm_ref.numerics.special import sigmoid, sigmoid_of_negated_inplace

    a = np.concatenate([np.linspace(-30.0, 30.0, 601), [-800.0, -709.5, 709.5, 800.0, 0.0]])
    m = -a
    out = sigmoid_of_negated_inplace(m)
    assert out is m                                             # in place, no overflow warning (errors here)
    # both are 1/(1 + e^{-a}) in different forms: a few ulps of exp, add and reciprocal (1e-14 relative)
    big = a > -700
    np.testing.assert_allclose(out[big], sigmoid(a)[big], rtol=1e-14, atol=0)
    assert np.all(out[a < -745] == 0.0) and out[a == 800.0][0] == 1.0
