"""Tests of ebm_ref.train: the optimizers written out, and the fit loop."""
import numpy as np
import pytest

from ebm_ref import train
from ebm_ref.models import Gaussian
from ebm_ref.objectives import mle

#: two float64 evaluations of the same short formula agree to a few ulps.
TOL_FORMULA = 1e-14
#: full-batch gradient descent on a strongly convex loss converges linearly; 1e-6 is
#: far above the final iterate's distance (~1e-12) and far below any statistical error.
TOL_CONVERGED = 1e-6


@pytest.mark.exact
def test_sgd_matches_hand_written_recursion():
    opt = train.SGD(lr=0.1, momentum=0.5)
    p = {"a": np.array([1.0, -2.0])}
    g1 = {"a": np.array([0.3, 0.4])}
    g2 = {"a": np.array([-1.0, 2.0])}
    p1 = opt.step(p, g1)
    p2 = opt.step(p1, g2)
    v1 = g1["a"]
    v2 = 0.5 * v1 + g2["a"]
    np.testing.assert_allclose(p1["a"], p["a"] - 0.1 * v1, rtol=0, atol=TOL_FORMULA)
    np.testing.assert_allclose(p2["a"], p["a"] - 0.1 * v1 - 0.1 * v2, rtol=0, atol=TOL_FORMULA)


@pytest.mark.exact
def test_adam_first_steps_match_hand_written_recursion():
    lr, b1, b2, eps = 0.01, 0.8, 0.9, 1e-8
    opt = train.Adam(lr=lr, betas=(b1, b2), eps=eps)
    p = {"w": np.array([[0.5, -1.0]]), "c": np.array(2.0)}
    gs = [{"w": np.array([[0.2, -3.0]]), "c": np.array(1.0)},
          {"w": np.array([[-0.1, 1.0]]), "c": np.array(0.5)}]
    q = p
    for g in gs:
        q = opt.step(q, g)
    for k in p:
        m = v = 0.0
        theta = p[k]
        for t, g in enumerate(gs, start=1):
            m = b1 * m + (1 - b1) * g[k]
            v = b2 * v + (1 - b2) * g[k] ** 2
            theta = theta - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        np.testing.assert_allclose(q[k], theta, rtol=0, atol=TOL_FORMULA)


@pytest.mark.exact
def test_fit_full_batch_mle_reaches_closed_form():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2)) @ np.array([[1.0, 0.0], [0.6, 0.8]]) + np.array([1.0, -1.0])
    model = Gaussian(np.zeros(2), np.eye(2))
    fitted, hist = train.fit(model, x, mle.objective(), train.SGD(lr=0.2, momentum=0.5), n_steps=1500, rng=0,
                             exact_log_likelihood=mle.log_likelihood, ll_every=50)
    mean = x.mean(axis=0)
    prec = np.linalg.inv(np.cov(x.T, bias=True))
    np.testing.assert_allclose(fitted.mean, mean, atol=TOL_CONVERGED)
    np.testing.assert_allclose(fitted.precision, prec, atol=TOL_CONVERGED)
    assert hist.loss.shape == (1500,)
    assert hist.ll_steps[0] == 0 and hist.ll_steps[-1] == 1500
    assert np.all(np.diff(hist.log_likelihood) >= -1e-12)   # full-batch descent never lowers the likelihood here
    # the final recorded log-likelihood is the closed-form maximum
    best = float(np.mean(Gaussian(mean, prec).log_prob(x)))
    assert abs(hist.log_likelihood[-1] - best) < TOL_CONVERGED


def test_fit_minibatches_are_reproducible():
    x = np.random.default_rng(2).normal(size=(100, 1))
    runs = [train.fit(Gaussian(np.zeros(1), np.eye(1)), x, mle.objective(), train.Adam(0.05), 30, rng=7,
                      batch_size=10)[0] for _ in range(2)]
    assert runs[0].mean[0] == runs[1].mean[0]


def test_fit_stops_on_nan_loss_naming_the_step():
    calls = {"n": 0}

    def objective(m, x, rng):
        calls["n"] += 1
        value = np.nan if calls["n"] == 3 else 1.0
        return value, {k: np.zeros_like(v) for k, v in m.params.items()}

    with pytest.raises(FloatingPointError, match="step 3"):
        train.fit(Gaussian(np.zeros(1), np.eye(1)), np.zeros((5, 1)), objective, train.SGD(0.1), 10, rng=0)


def test_fit_stops_on_inf_parameter_naming_the_step():
    def objective(m, x, rng):
        return 1.0, {"mean": np.array([-1e308]), "precision": np.zeros((1, 1))}

    with pytest.raises(FloatingPointError, match="step 2.*'mean'"):
        train.fit(Gaussian(np.zeros(1), np.eye(1)), np.zeros((5, 1)), objective, train.SGD(1.0), 10, rng=0)


def test_fit_reports_invalid_model_naming_the_step():
    def objective(m, x, rng):  # pushes the precision through zero
        return 1.0, {"mean": np.zeros(1), "precision": np.ones((1, 1))}

    with pytest.raises(ValueError, match="step 2: .*positive definite"):
        train.fit(Gaussian(np.zeros(1), np.eye(1)), np.zeros((5, 1)), objective, train.SGD(0.6), 10, rng=0)


def test_fit_callback_stops_and_progress_lines():
    lines = []
    seen = []

    def cb(step, model, loss):
        seen.append(step)
        return step == 4

    _, hist = train.fit(Gaussian(np.zeros(1), np.eye(1)), np.ones((5, 1)), mle.objective(), train.SGD(0.1), 10,
                        rng=0, callbacks=[cb], log_every=2, log=lines.append)
    assert seen == [1, 2, 3, 4] and hist.stopped_at == 4 and hist.loss.shape == (4,)
    assert len(lines) == 2 and lines[0].startswith("step 2/10")


@pytest.mark.exact
def test_sgd_decaying_step_matches_hand_written_recursion():
    tau, lr, mu = 3.0, 0.2, 0.5
    opt = train.SGD(lr=lr, momentum=mu, lr_decay=tau)
    p = {"a": np.array([1.0, -2.0])}
    gs = [np.array([0.3, 0.4]), np.array([-1.0, 2.0]), np.array([0.5, 0.5])]
    theta, v = p["a"].copy(), np.zeros(2)
    for t, g in enumerate(gs):                      # eta_t = lr * tau / (tau + t), t = 0, 1, 2
        assert opt.current_lr() == pytest.approx(lr * tau / (tau + t), rel=TOL_FORMULA)
        p = opt.step(p, {"a": g})
        v = mu * v + g
        theta = theta - lr * tau / (tau + t) * v
        np.testing.assert_allclose(p["a"], theta, rtol=0, atol=TOL_FORMULA)
    opt.reset()
    assert opt.current_lr() == lr


@pytest.mark.exact
def test_sgd_step_inplace_is_step_bit_for_bit():
    rng = np.random.default_rng(4)
    a, b = train.SGD(0.3, momentum=0.7, lr_decay=2.0), train.SGD(0.3, momentum=0.7, lr_decay=2.0)
    p = {"w": rng.normal(size=(3, 2)), "c": np.array(0.5)}
    q = {k: v.copy() for k, v in p.items()}
    for _ in range(4):
        g = {"w": rng.normal(size=(3, 2)), "c": np.array(rng.normal())}
        p = a.step(p, g)
        assert b.step_inplace(q, g) is None
        for k in p:
            np.testing.assert_array_equal(q[k], p[k])               # the same operations in the same order


@pytest.mark.exact
def test_sgd_step_product_is_step_inplace_with_the_gradient_formed_in_the_velocity():
    rng = np.random.default_rng(5)
    A, B = rng.normal(size=(7, 4)), rng.normal(size=(7, 3))
    a, b = train.SGD(0.1, momentum=0.5, lr_decay=3.0), train.SGD(0.1, momentum=0.5, lr_decay=3.0)
    theta = rng.normal(size=(4, 3))
    p = {"theta": theta.copy()}
    for _ in range(3):
        A += 0.1                                                    # a new gradient each step, same arrays
        a.step_product({"theta": theta}, A, B)
        b.step_inplace(p, {"theta": A.T @ B})
        # the GEMM sums 7 products of O(1) terms in its own order: a few ulps of O(1) values
        np.testing.assert_allclose(theta, p["theta"], rtol=0, atol=TOL_FORMULA)
    with pytest.raises(ValueError, match="reset"):                  # the velocity belongs to 'theta'
        a.step_inplace({"w": np.zeros((4, 3))}, {"w": np.zeros((4, 3))})


def test_sgd_step_product_and_step_inplace_bad_input():
    opt = train.SGD(0.1)
    good = np.zeros((4, 3))
    with pytest.raises(ValueError, match="params"):
        opt.step_product({"a": good, "b": good}, np.zeros((2, 4)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="params"):
        opt.step_product({"a": np.asfortranarray(np.zeros((4, 3)))}, np.zeros((2, 4)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="b:"):
        opt.step_product({"a": good}, np.zeros((2, 4)), np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="a, b"):
        opt.step_product({"a": good}, np.zeros((2, 4)), np.zeros((3, 3)))
    frozen = np.zeros(3)
    frozen.setflags(write=False)
    with pytest.raises(ValueError, match="writeable float64"):
        train.SGD(0.1).step_inplace({"a": frozen}, {"a": np.ones(3)})


@pytest.mark.parametrize("kwargs", [{"lr": 0.0}, {"lr": -1.0}, {"lr": np.nan}, {"lr": 0.1, "momentum": 1.0},
                                    {"lr": 0.1, "lr_decay": 0.0}, {"lr": 0.1, "lr_decay": -5.0},
                                    {"lr": 0.1, "lr_decay": np.inf}])
def test_sgd_bad_input(kwargs):
    with pytest.raises(ValueError):
        train.SGD(**kwargs)


@pytest.mark.parametrize("kwargs", [{"lr": 0.0}, {"lr": -1e-3}, {"lr": 1e-3, "betas": (1.0, 0.9)},
                                    {"lr": 1e-3, "betas": (0.9,)}, {"lr": 1e-3, "eps": 0.0}])
def test_adam_bad_input(kwargs):
    with pytest.raises(ValueError):
        train.Adam(**kwargs)


def test_optimizer_rejects_mismatched_grads():
    with pytest.raises(ValueError, match="grads"):
        train.SGD(0.1).step({"a": np.zeros(2)}, {"a": np.zeros(3)})
    with pytest.raises(ValueError, match="grads"):
        train.Adam(0.1).step({"a": np.zeros(2)}, {"b": np.zeros(2)})


def test_fit_bad_input():
    g = Gaussian(np.zeros(1), np.eye(1))
    obj = mle.objective()
    with pytest.raises(ValueError, match="data"):
        train.fit(g, np.zeros(5), obj, train.SGD(0.1), 3, rng=0)
    with pytest.raises(ValueError, match="data"):
        train.fit(g, np.full((5, 1), np.nan), obj, train.SGD(0.1), 3, rng=0)
    with pytest.raises(ValueError, match="batch_size"):
        train.fit(g, np.zeros((5, 1)), obj, train.SGD(0.1), 3, rng=0, batch_size=6)
    with pytest.raises(ValueError, match="n_steps"):
        train.fit(g, np.zeros((5, 1)), obj, train.SGD(0.1), -1, rng=0)
    with pytest.raises(ValueError, match="objective"):
        train.fit(g, np.zeros((5, 1)), None, train.SGD(0.1), 3, rng=0)
    with pytest.raises(ValueError, match="optimizer"):
        train.fit(g, np.zeros((5, 1)), obj, object(), 3, rng=0)
    with pytest.raises(ValueError, match="rng"):
        train.fit(g, np.zeros((5, 1)), obj, train.SGD(0.1), 3, rng=None)
    with pytest.raises(ValueError, match="callbacks"):
        train.fit(g, np.zeros((5, 1)), obj, train.SGD(0.1), 3, rng=0, callbacks=[1])


# ======================== issue 11, defects 7 and 12: empty or complex data named at the entry
def _fit(data):
    return train.fit(Gaussian(np.zeros(2), np.eye(2)), data, lambda m, x, r: mle.loss(m, x), train.SGD(0.1), 3, 0)


def test_fit_on_empty_data_names_the_argument():
    with pytest.raises(ValueError, match=r"data: expected at least one data point, got shape \(0, 2\)"):
        _fit(np.zeros((0, 2)))


def test_fit_refuses_complex_data():
    # it used to drop the imaginary part with a ComplexWarning
    with pytest.raises(ValueError, match="data: expected real numbers, got a complex array"):
        _fit(np.ones((5, 2)) + 1j)
