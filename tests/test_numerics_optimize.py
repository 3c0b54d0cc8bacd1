"""minimize_lbfgs against closed-form minimizers, its refused points, its stopping and its errors."""
import numpy as np
import pytest

from ebm_ref.numerics.optimize import LBFGSNotConverged, LBFGSResult, minimize_lbfgs

#: every test asks for max |∂f| ≤ GTOL: two decades above the gradients' rounding (≲ 1e-13 in each case below)
GTOL = 1e-10


def _quadratic(A, b, offset=0.0):
    def f(x):
        Ax = A @ x
        return 0.5 * x @ Ax - b @ x + offset, Ax - b
    return f


def _ill_conditioned(rng, d=10, cond=1e4):
    """A = Q diag(λ) Qᵀ with λ log-spaced over [1/√cond, √cond]; returns (A, b, λ_min)."""
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lam = np.logspace(-0.5 * np.log10(cond), 0.5 * np.log10(cond), d)
    return (Q * lam) @ Q.T, rng.standard_normal(d), lam[0]


@pytest.mark.exact
@pytest.mark.parametrize("offset", [0.0, 1e3])
def test_ill_conditioned_quadratic_reaches_solve(rng, offset):
    """x* = A⁻¹b.  With max |g| ≤ gtol, ‖x − x*‖ = ‖A⁻¹g‖ ≤ √d·gtol/λ_min = 3.2e-8 here; np.linalg.solve's
    own error is ≲ cond(A)·ε·‖x*‖ (~1e-11 relative).  Near the minimum a step decreases f by ~g²/λ ≲ 1e-16,
    below f's rounding: with offset 0, f = ½xᵀAx − bᵀx is a difference of larger terms whose rounding
    exceeds the 8ε|f| allowance (the gradient form of the Armijo test accepts those steps); with offset
    1e3 the allowance covers it.  A plain Armijo test would stop short of gtol in both."""
    A, b, lam_min = _ill_conditioned(rng)
    d = b.size
    f = _quadratic(A, b, offset)
    res = minimize_lbfgs(f, np.zeros(d), max_iter=500, gtol=GTOL)
    exact = np.linalg.solve(A, b)
    assert isinstance(res, LBFGSResult) and res.converged
    assert np.max(np.abs(res.grad)) <= GTOL
    np.testing.assert_array_equal(f(res.x)[1], res.grad)
    assert res.value == f(res.x)[0]
    bound = np.sqrt(d) * GTOL / lam_min + 1e4 * np.finfo(float).eps * np.linalg.norm(exact)
    assert np.linalg.norm(res.x - exact) <= bound
    assert 0 < res.n_iter < 500 and res.n_eval >= res.n_iter + 1


def _rosenbrock(v):
    x, y = v
    return (1 - x)**2 + 100 * (y - x * x)**2, np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


@pytest.mark.exact
def test_rosenbrock_reaches_one_one():
    """x* = (1, 1), where ∇²f = [[802, −400], [−400, 200]] has λ_min = 0.399; to first order
    ‖x − x*‖ ≤ ‖g‖/λ_min ≤ √2·gtol/0.399 = 3.5e-10, checked against 1e-9 (the Hessian varies by
    O(‖x − x*‖) ≈ 1e-9 relative over that distance, which changes the bound by nothing visible)."""
    res = minimize_lbfgs(_rosenbrock, np.array([-1.2, 1.0]), max_iter=500, gtol=GTOL)
    assert res.converged and np.max(np.abs(res.grad)) <= GTOL
    lam_min = np.linalg.eigvalsh(np.array([[802.0, -400.0], [-400.0, 200.0]])).min()
    assert np.sqrt(2) * GTOL / lam_min < 1e-9
    np.testing.assert_allclose(res.x, [1.0, 1.0], rtol=0, atol=1e-9)


@pytest.mark.exact
def test_domain_restricted_function_steps_back_from_refused_points():
    """f(x) = Σ(x_i − log x_i) on x > 0, refused (None) elsewhere; x* = 1 with ∇²f(x*) = I, so
    ‖x − 1‖ ≲ √d·gtol.  From a start near the boundary the quasi-Newton steps overshoot below 0:
    those trial points are refused, never evaluated (log of a negative number would be a warning,
    an error under this suite), and the line search halves the step."""
    refused = []

    def f(x):
        if np.any(x <= 0):
            refused.append(x.copy())
            return None
        return float(np.sum(x - np.log(x))), 1.0 - 1.0 / x

    x0 = np.array([0.05, 3.0, 8.0])
    res = minimize_lbfgs(f, x0, max_iter=200, gtol=GTOL)
    assert res.converged and np.max(np.abs(res.grad)) <= GTOL
    assert refused                                   # the domain was actually hit
    np.testing.assert_allclose(res.x, 1.0, rtol=0, atol=2 * np.sqrt(3) * GTOL)
    values = []
    minimize_lbfgs(f, x0, max_iter=200, gtol=GTOL, on_iteration=lambda v, value: values.append(value))
    # the accepted values never rise by more than the rounding allowance 8ε|f|
    assert np.all(np.diff(values) <= 8 * np.finfo(float).eps * np.abs(values[:-1]))


def test_on_iteration_stops_the_run():
    seen = []
    res = minimize_lbfgs(_rosenbrock, np.array([-1.2, 1.0]), max_iter=500, gtol=GTOL,
                         on_iteration=lambda v, value: seen.append((v.copy(), value)) or len(seen) == 3)
    assert len(seen) == 3 and res.n_iter == 3 and not res.converged
    np.testing.assert_array_equal(res.x, seen[-1][0])
    assert res.value == seen[-1][1]


def test_max_iter_raises_with_the_last_point():
    with pytest.raises(LBFGSNotConverged, match="3 iterations without max") as info:
        minimize_lbfgs(_rosenbrock, np.array([-1.2, 1.0]), max_iter=3, gtol=GTOL)
    last = info.value.result
    assert isinstance(info.value, RuntimeError)
    assert last.n_iter == 3 and not last.converged
    assert last.value == _rosenbrock(last.x)[0] < _rosenbrock(np.array([-1.2, 1.0]))[0]


def test_line_search_failure_raises():
    start = np.ones(2)

    def only_the_start(x):             # every other point is refused: no step can be taken
        return (float(x @ x), 2.0 * x) if np.array_equal(x, start) else None

    with pytest.raises(LBFGSNotConverged, match="line search cannot decrease f at iteration 0") as info:
        minimize_lbfgs(only_the_start, start, max_iter=10, gtol=GTOL)
    np.testing.assert_array_equal(info.value.result.x, start)


def test_non_finite_value_or_gradient_names_the_iteration():
    def falls_off(x):                  # finite at the start, −inf once x > 0.5: the first step lands there
        if x[0] > 0.5:
            return -np.inf, np.array([0.0])
        return float((x[0] - 1)**2), np.array([2 * (x[0] - 1)])

    with pytest.raises(FloatingPointError, match="iteration 1"):
        minimize_lbfgs(falls_off, np.zeros(1), max_iter=10, gtol=GTOL)
    with pytest.raises(FloatingPointError, match="iteration 0"):
        minimize_lbfgs(lambda x: (float(x @ x), np.full(2, np.nan)), np.ones(2), max_iter=10, gtol=GTOL)


def test_bad_input():
    f = _quadratic(np.eye(2), np.ones(2))
    x0 = np.zeros(2)
    with pytest.raises(ValueError, match="outside f's domain"):
        minimize_lbfgs(lambda x: None, x0, max_iter=10, gtol=GTOL)
    with pytest.raises(ValueError, match="max_iter"):
        minimize_lbfgs(f, x0, max_iter=0, gtol=GTOL)
    with pytest.raises(ValueError, match="gtol"):
        minimize_lbfgs(f, x0, max_iter=10, gtol=0.0)
    with pytest.raises(ValueError, match="gtol"):
        minimize_lbfgs(f, x0, max_iter=10, gtol=-1.0)
    with pytest.raises(ValueError, match="memory"):
        minimize_lbfgs(f, x0, max_iter=10, gtol=GTOL, memory=0)
    with pytest.raises(ValueError, match="x0"):
        minimize_lbfgs(f, np.zeros((1, 2)), max_iter=10, gtol=GTOL)
    with pytest.raises(ValueError, match="x0"):
        minimize_lbfgs(f, np.array([0.0, np.nan]), max_iter=10, gtol=GTOL)
    with pytest.raises(ValueError, match="gradient has shape"):
        minimize_lbfgs(lambda x: (0.0, np.zeros(3)), x0, max_iter=10, gtol=GTOL)
