"""RBMs on binarised digits: the split, the start, the exact objective and log-likelihoods, AIS vs exact log Z."""
import zlib
from dataclasses import replace

import numpy as np
import pytest
from scipy.special import logsumexp

from ebm_ref import datasets
from ebm_ref.experiments import digits_rbm as D
from ebm_ref.models import BernoulliRBM
from ebm_ref.objectives import mle

#: the same sums taken in another order (enumeration vs a hand-written logsumexp, the
#: model's fused gradient vs objectives.mle): rounding only, over 65,536 terms at most.
TOL_SAME_SUM = 1e-10


def _small_rbm(rng, H=3, scale=0.5):
    data = D.split()
    return BernoulliRBM(scale * rng.standard_normal((64, H)), D.initial_rbm(data.train, H, rng).params["b"],
                        scale * rng.standard_normal(H)), data


def test_split_follows_the_documented_rule():
    data = D.split()
    v, y = datasets.binarized_digits(8.0)
    held = np.zeros(y.size, dtype=bool)
    seen = [0] * 10
    for n, k in enumerate(y.tolist()):              # rank within the class, in file order
        held[n] = seen[k] % 5 == 4
        seen[k] += 1
    assert data.train.shape == (1442, 64) and data.held_out.shape == (355, 64)
    np.testing.assert_array_equal(data.held_out, v[held])
    np.testing.assert_array_equal(data.train, v[~held])
    np.testing.assert_array_equal(data.held_out_labels, y[held])
    np.testing.assert_array_equal(data.train_labels, y[~held])
    # floor(count / 5) of each class is held out
    counts = np.bincount(y, minlength=10)
    np.testing.assert_array_equal(np.bincount(data.held_out_labels, minlength=10), counts // 5)


@pytest.mark.exact
def test_initial_rbm_biases_are_the_smoothed_base_rates(rng):
    data = D.split()
    m = D.initial_rbm(data.train, 16, rng, weight_scale=0.1)
    p = (data.train.sum(axis=0) + 1.0) / (data.train.shape[0] + 2.0)
    np.testing.assert_allclose(m.params["b"], np.log(p / (1.0 - p)), rtol=0, atol=1e-12)
    assert m.params["W"].shape == (64, 16) and np.all(m.params["c"] == 0.0)


@pytest.mark.exact
def test_exact_log_likelihoods_against_a_hand_written_sum_over_hidden_states(rng):
    model, data = _small_rbm(rng)
    W, b, c = (model.params[k] for k in ("W", "b", "c"))
    hs = np.array([[(k >> j) & 1 for j in range(3)] for k in range(8)], dtype=float)
    # log Z = log Σ_h exp(cᵀh) Π_i (1 + exp(b_i + (W h)_i))
    log_z = logsumexp(hs @ c + np.logaddexp(0.0, b + hs @ W.T).sum(axis=1))
    # log p(v) = log Σ_h exp(vᵀWh + bᵀv + cᵀh) − log Z
    def mean_ll(v):
        return np.mean(logsumexp(v @ W @ hs.T + (v @ b)[:, None] + (hs @ c)[None, :], axis=1)) - log_z
    lz, ll_tr, ll_ho = D.exact_log_likelihoods(model, data.train, data.held_out)
    assert lz == pytest.approx(log_z, abs=TOL_SAME_SUM)
    assert ll_tr == pytest.approx(mean_ll(data.train), abs=TOL_SAME_SUM)
    assert ll_ho == pytest.approx(mean_ll(data.held_out), abs=TOL_SAME_SUM)


@pytest.mark.exact
def test_exact_objective_is_the_gradient_of_mle_loss(rng):
    model, data = _small_rbm(rng, H=16, scale=0.1)
    x = data.train[:100]
    value, grads = D.objective("exact", data.train, rng)(model, x, rng)
    ref_value, ref = mle.loss(model, x)
    for k in ref:
        np.testing.assert_allclose(grads[k], ref[k], rtol=0, atol=TOL_SAME_SUM)
    # the reported loss leaves out log Z (a constant within the step)
    assert value == pytest.approx(ref_value - model.log_partition(), abs=TOL_SAME_SUM)


def test_train_records_exact_curves_from_start_to_end(rng):
    data = D.split()
    s = replace(D.SMALL, n_steps=7, record_every=3)
    start = D.initial_rbm(data.train, 4, rng)
    for method in D.METHODS:
        r = D.train(method, data, rng, replace(s, n_hidden=4), start=start)
        assert r.steps.tolist() == [0, 3, 6, 7]
        assert (r.ll_train[0], r.ll_held_out[0]) == D.exact_log_likelihoods(start, data.train, data.held_out)[1:]
        lz, tr, ho = D.exact_log_likelihoods(r.model, data.train, data.held_out)
        assert (r.log_z, r.ll_train[-1], r.ll_held_out[-1]) == (lz, tr, ho)


def test_bad_method_and_schedule():
    data = D.split()
    with pytest.raises(ValueError, match="method"):
        D.objective("cd2", data.train, 0)
    with pytest.raises(ValueError, match="method"):
        D.train("pcd10", data, 0, D.SMALL)
    with pytest.raises(ValueError, match="n_hidden"):
        D.initial_rbm(data.train, 21, 0)
    with pytest.raises(ValueError, match="ais_schedule"):
        D.ais_check(D.initial_rbm(data.train, 2, 0), data.train, 0, replace(D.SMALL, ais_schedule="geometric"))


# ----------------------------------------------------------------- AIS on trained models
#: The acceptance tolerance of issue 14: |AIS − exact log Z| <= max(3 se, 0.1 nats).
AIS_Z, AIS_FLOOR = 3.0, 0.1
#: Required precision of every AIS run (14,500 temperatures; 400 chains from the uniform
#: base, 100 from the base-rate base, whose runs spread 4-5 times less per chain).  With se <= 0.025
#: the floor 0.1 is >= 4 se, which is what sets the false-positive rate below; a larger se
#: means the chains did not mix on the trained landscape, itself a failure worth seeing.
AIS_MAX_SE = 0.025
#: Noise allowance of the sandwich, in standard errors of each bound.
SANDWICH_Z = 4.0


#: The four models are drawn as ``D.run`` draws them, from this test's Generator before it was split
#: into one test per method (its node id seeded it); each method's test recomputes the same start
#: and takes its own stream (``D.streams``), so the models and AIS runs are the ones checked before.
AIS_SEED_ID = "tests/test_digits_rbm.py::test_ais_matches_exact_log_z_of_trained_models"
AIS_SETTINGS = replace(D.DEFAULT, n_steps=100, record_every=100, ais_chains=100, ais_chains_uniform=400)


@pytest.mark.slow
@pytest.mark.statistical
@pytest.mark.parametrize("method", D.METHODS)
def test_ais_matches_exact_log_z_of_trained_models(method):
    r"""Forward and reverse AIS, uniform and base-rate bases, on each of the four trained RBMs.

    False positives.  Each of the 16 estimates (4 models × 2 bases × 2 directions) is,
    for AIS that works, close to normal around log Z with s.d. se (delta method over
    its chains); forward is biased low and reverse high by O(se²) (Jensen), negligible
    here.  (1) Closeness: with se <= AIS_MAX_SE the tolerance max(3 se, 0.1) is >= 4 se,
    so a check fails with probability <= 2Φ(−4) = 6.3e-5, and the 16 checks together
    with <= 1.0e-3 (union bound).  (2) Sandwich: lower − 4 se_f <= log Z <= upper + 4 se_r
    fails with probability <= Φ(−4) = 3.2e-5 per side, <= 5.1e-4 over 8 sandwiches.
    Total over the four tests <= 1.6e-3.  (Markov's inequality gives P(forward > log Z + t)
    <= e^{-t} without normality, but is too loose to size a test at this precision.)
    The models are trained for 100 steps of each method (the figure uses 600): enough for
    the weights to grow far from the start (W ~ 0.1) into a multimodal landscape.
    One test per method, so that the four can run on different workers.
    """
    data, start, rngs = D.streams(np.random.default_rng(zlib.crc32(AIS_SEED_ID.encode())), AIS_SETTINGS)
    run = D.train(method, data, rngs[method], AIS_SETTINGS, start=start)
    check = D.ais_check(run.model, data.train, rngs[method], AIS_SETTINGS)
    assert check.log_z == pytest.approx(run.log_z, abs=1e-9)
    assert np.abs(run.model.params["W"]).max() > 1.0            # trained, not the start
    for base in ("uniform", "base_rate"):
        fwd, rev = check.estimates[base, "forward"], check.estimates[base, "reverse"]
        for e in (fwd, rev):
            assert e.stderr <= AIS_MAX_SE, (method, base, e.stderr)
            assert abs(e.log_z - check.log_z) <= max(AIS_Z * e.stderr, AIS_FLOOR), (method, base, e.log_z, check.log_z)
        assert fwd.log_z - SANDWICH_Z * fwd.stderr <= check.log_z <= rev.log_z + SANDWICH_Z * rev.stderr, \
            (method, base, fwd.log_z, check.log_z, rev.log_z)
