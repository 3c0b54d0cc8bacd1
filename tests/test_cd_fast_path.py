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


def _objectives(rng_seed, data, persistent, k, n_chains=15, with_loss=True):
    """The same objective on the fast path and on the reference path."""
    return {path: (cd.pcd_objective(k, n_chains, np.random.default_rng(rng_seed), data, path=path, with_loss=with_loss)
                   if persistent else cd.cd_objective(k, path=path, with_loss=with_loss))
            for path in ("fast", "reference")}


@pytest.mark.exact
@pytest.mark.parametrize("persistent, k, with_loss, batch_size, momentum", [
    (False, 2, True, 15, 0.5), (True, 2, True, 15, 0.5), (True, 1, False, 15, 0.0), (False, 1, False, None, 0.9),
    (True, 3, True, None, 0.0)])
def test_training_runs_fast_and_reference_are_the_same_run(rng, persistent, k, with_loss, batch_size, momentum):
    data = _binary(rng, 60, 12)
    rbm0 = _rbm(rng, scale=0.1)
    seed = int(rng.integers(2**32))
    objs = _objectives(seed + 1, data, persistent, k, with_loss=with_loss)
    runs = {path: fit(rbm0, data, obj, SGD(0.3, momentum=momentum, lr_decay=10.0), 30, np.random.default_rng(seed),
                      batch_size=batch_size, log=lambda s: None) for path, obj in objs.items()}
    (m_fast, h_fast), (m_ref, h_ref) = runs["fast"], runs["reference"]
    assert h_fast.extra["in_place"] and not h_ref.extra["in_place"]     # fit ran the objective's arrays
    assert type(m_fast) is BernoulliRBM
    _assert_grads_equal(m_fast.params, m_ref.params)
    if with_loss:                                                      # the reference path always has it
        np.testing.assert_allclose(h_fast.loss, h_ref.loss, rtol=0, atol=TOL_PATHS)
    else:
        assert np.all(np.isnan(h_fast.loss))
    if persistent:                                                     # the chains are the same binary states
        np.testing.assert_array_equal(objs["fast"].state["chains"].x, objs["reference"].state["chains"].x)


@pytest.mark.exact
def test_in_place_runs_continue_like_the_reference(rng):
    """Two fits in a row with one objective and one optimizer: the chains and the velocity carry over."""
    data = _binary(rng, 40, 12)
    rbm0 = _rbm(rng, scale=0.1)
    seed = int(rng.integers(2**32))
    out = {}
    for path, obj in _objectives(seed, data, True, 1, n_chains=10).items():
        opt, r = SGD(0.2, momentum=0.5), np.random.default_rng(seed + 1)
        m, _ = fit(rbm0, data, obj, opt, 12, r, batch_size=10, log=lambda s: None)
        out[path], _ = fit(m, data, obj, opt, 12, r, batch_size=10, log=lambda s: None)
    _assert_grads_equal(out["fast"].params, out["reference"].params)


@pytest.mark.exact
def test_in_place_run_records_log_likelihood_and_calls_back_like_the_reference(rng):
    data = _binary(rng, 40, 12)
    rbm0 = _rbm(rng, scale=0.1)
    seed = int(rng.integers(2**32))
    hist, seen = {}, {}
    for path, obj in _objectives(seed, data, True, 1, n_chains=10).items():
        seen[path] = []

        def cb(step, model, loss, path=path):
            seen[path].append((step, model.params["W"].copy()))
            return step == 9

        _, hist[path] = fit(rbm0, data, obj, SGD(0.2, momentum=0.5), 20, np.random.default_rng(seed), batch_size=10,
                            callbacks=[cb], exact_log_likelihood=lambda m, x: float(np.mean(m.log_prob(x))),
                            ll_every=4, log=lambda s: None)
    assert hist["fast"].stopped_at == hist["reference"].stopped_at == 9
    np.testing.assert_array_equal(hist["fast"].ll_steps, [0, 4, 8, 9])
    np.testing.assert_array_equal(hist["fast"].ll_steps, hist["reference"].ll_steps)
    np.testing.assert_allclose(hist["fast"].log_likelihood, hist["reference"].log_likelihood, rtol=0, atol=TOL_PATHS)
    assert [s for s, _ in seen["fast"]] == list(range(1, 10))
    for (_, w_fast), (_, w_ref) in zip(seen["fast"], seen["reference"]):
        np.testing.assert_allclose(w_fast, w_ref, rtol=0, atol=TOL_PATHS)


def test_in_place_run_stops_at_the_same_step_when_the_parameters_overflow(rng):
    data = _binary(rng, 20, 12)
    rbm0 = _rbm(rng, scale=0.1)
    steps = {}
    for path, obj in _objectives(5, data, True, 1, n_chains=5).items():
        # a step of 1e308 with momentum 0.99 (the velocity grows towards 100 g) takes the parameters, or
        # the free energies of the loss before them, past 1.8e308 within a few steps
        with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match=r"step \d+: ") as err:
            fit(rbm0, data, obj, SGD(1e308, momentum=0.99), 20, np.random.default_rng(6), batch_size=5,
                log=lambda s: None)
        steps[path] = str(err.value).split(":")[0]
    assert steps["fast"] == steps["reference"]
    # without the loss it is the parameters that overflow: the in-place run's check finds it at the step
    # the generic loop (the same objective called step by step) does
    messages = []
    for in_place in (True, False):
        obj = cd.pcd_objective(1, 5, np.random.default_rng(5), data, with_loss=False)
        if not in_place:
            obj = (lambda o: lambda m, x, r: o(m, x, r))(obj)
        with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match=r"step \d+: parameter") as err:
            fit(rbm0, data, obj, SGD(1e308, momentum=0.99), 40, np.random.default_rng(6), batch_size=5,
                log=lambda s: None)
        messages.append(str(err.value))
    assert messages[0] == messages[1]


@pytest.mark.exact
def test_an_optimizer_without_step_product_takes_the_generic_loop(rng):
    from ebm_ref.train import Adam

    data = _binary(rng, 30, 12)
    rbm0 = _rbm(rng, scale=0.1)
    runs = {path: fit(rbm0, data, obj, Adam(0.05), 10, np.random.default_rng(2), batch_size=10, log=lambda s: None)
            for path, obj in _objectives(3, data, True, 2, n_chains=8).items()}
    assert not runs["fast"][1].extra["in_place"]
    _assert_grads_equal(runs["fast"][0].params, runs["reference"][0].params)


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
