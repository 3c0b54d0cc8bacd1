"""The derivative checkers: they pass on correct derivatives and catch planted errors."""
import numpy as np
import pytest

from ebm_ref import check
from ebm_ref.models import Gaussian


def f(x):
    return np.sum(np.sin(x) * x**2)


def grad_f(x):
    return np.cos(x) * x**2 + 2 * x * np.sin(x)


def hess_f(x):
    return np.diag(-np.sin(x) * x**2 + 4 * x * np.cos(x) + 2 * np.sin(x))


@pytest.mark.derivative
def test_richardson_and_complex_step_exact_on_known_derivative(rng):
    x = rng.standard_normal(4)
    u = rng.standard_normal(4)
    exact = grad_f(x) @ u
    assert abs(check.complex_step(f, x, u) - exact) < 1e-13 * max(1, abs(exact))
    assert abs(check.richardson(f, x, u) - exact) < 1e-9 * max(1, abs(exact))


@pytest.mark.derivative
def test_check_grad_hessian_directions_pass(rng):
    x = rng.standard_normal(5)
    assert check.check_grad(f, grad_f, x).method == "complex"
    check.check_grad(f, grad_f, x, method="richardson")
    check.check_hessian(f, hess_f, x, grad=grad_f)
    check.check_hessian(f, hess_f, x)  # nested Richardson of f alone
    reps = check.check_directions(f, x, grad=grad_f, hess=hess_f, rng=1)
    assert all(r.passed for r in reps) and len(reps) == 2


@pytest.mark.derivative
def test_checkers_catch_planted_errors(rng):
    x = rng.standard_normal(5)
    with pytest.raises(check.DerivativeMismatch, match="gradient"):
        check.check_grad(f, lambda y: 1.001 * grad_f(y), x)
    with pytest.raises(check.DerivativeMismatch, match="hessian"):
        check.check_hessian(f, lambda y: hess_f(y).T + 1e-4, x, grad=grad_f)
    with pytest.raises(check.DerivativeMismatch):
        check.check_directions(f, x, grad=lambda y: -grad_f(y), rng=2)
    rep = check.check_grad(f, lambda y: grad_f(y) * (1 + 1e-5), x, raise_on_fail=False)
    assert not rep.passed and rep.max_rel_err > 1e-7


@pytest.mark.derivative
def test_check_jacobian_on_vector_function(rng):
    A = rng.standard_normal((3, 4))
    x = rng.standard_normal(4)
    fun = lambda y: np.tanh(A @ y)
    jac = lambda y: (1 - np.tanh(A @ y) ** 2)[:, None] * A
    rep = check.check_jacobian(fun, jac, x)
    assert rep.passed and rep.n_compared == 12


class _WrongGaussian(Gaussian):
    """A copy with one planted error per derivative, to show check_energy names it."""

    def __init__(self, mean, precision, bug):
        super().__init__(mean, precision)
        self._settings = {"bug": bug}
        self.bug = bug

    def _grad_x(self, x):
        g = super()._grad_x(x)
        return 1.01 * g if self.bug == "grad_x" else g

    def _laplacian_x(self, x):
        lap = super()._laplacian_x(x)
        return lap + 1.0 if self.bug == "laplacian" else lap

    def _grad_params(self, x):
        g = super()._grad_params(x)
        if self.bug == "grad_params":
            g["precision"] = 2 * g["precision"]
        return g

    def _grad_params_hvp(self, x, v):
        g = super()._grad_params_hvp(x, v)
        if self.bug == "hvp":
            g["precision"] = g["precision"].T + np.triu(np.ones_like(g["precision"]), 1)
        return g


@pytest.mark.derivative
@pytest.mark.parametrize("bug,named", [("grad_x", "grad_x vs dE/dx"), ("laplacian", "laplacian_x"),
                                       ("grad_params", "grad_params[precision]"), ("hvp", "grad_params_hvp[precision]")])
def test_check_energy_names_the_wrong_method(rng, bug, named):
    m = _WrongGaussian(rng.standard_normal(2), np.array([[2.0, 0.3], [0.3, 1.0]]), bug)
    with pytest.raises(check.DerivativeMismatch) as info:
        check.check_energy(m, rng.standard_normal((4, 2)))
    assert named in str(info.value)


@pytest.mark.derivative
def test_check_energy_works_on_a_duck_typed_model(rng):
    """A user's model that is not an ebm_ref class: only the methods matter."""

    class Quartic:
        def __init__(self, a):
            self.a = np.asarray(a, dtype=float)
            self.params = {"a": self.a}

        def replace(self, a):
            return Quartic(a)

        def energy(self, x):
            return self.a * np.sum(x**4, axis=1)

        def grad_x(self, x):
            return 4 * self.a * x**3

        def score(self, x):
            return -self.grad_x(x)

        def hessian_x(self, x):
            return np.einsum("ni,ij->nij", 12 * self.a * x**2, np.eye(x.shape[1]))

        def laplacian_x(self, x):
            return 12 * self.a * np.sum(x**2, axis=1)

        def grad_params(self, x):
            return {"a": np.sum(x**4, axis=1)}

    reps = check.check_energy(Quartic(0.7), rng.standard_normal((3, 2)))
    assert all(r.passed for r in reps)
    assert any(r.method == "skipped" for r in reps)  # the optional primitives are listed


def test_bad_input():
    with pytest.raises(ValueError, match="method"):
        check.check_grad(f, grad_f, np.ones(2), method="magic")
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        check.check_energy(Gaussian([0.0], [[1.0]]), np.zeros(3))
    with pytest.raises(ValueError, match="grad"):
        check.check_directions(f, np.ones(2), hess=hess_f)
    with pytest.raises(check.DerivativeMismatch, match="shape"):
        check.check_grad(f, lambda y: grad_f(y)[:-1], np.ones(3))


# ------------------------------------------------ never a silent wrong answer (issue 11)
@pytest.mark.derivative
@pytest.mark.parametrize("method", ["complex", "richardson"])
def test_an_overflowing_entry_does_not_hide_a_wrong_one(method):
    """f = 1/(1 - x0) + x1² at x0 = 0.99: x0 + h = 1 overflows the Richardson difference."""
    fun = lambda y: 1 / (1 - y[0]) + y[1] ** 2
    right = lambda y: np.array([1 / (1 - y[0]) ** 2, 2 * y[1]])
    wrong = lambda y: np.array([1 / (1 - y[0]) ** 2, 7 * y[1]])
    x = np.array([0.99, 3.0])
    rep = check.check_grad(fun, wrong, x, method=method, raise_on_fail=False)
    assert rep.status == "fail" and not rep.passed and rep.where == (1,) and rep.n_failed == 1
    with pytest.raises(check.DerivativeMismatch, match="1 of 2 entries wrong"):
        check.check_grad(fun, wrong, x, method=method)
    if method == "richardson":  # the overflowing entry itself can only be "cannot check", never "ok"
        rep = check.check_grad(fun, right, x, method=method, raise_on_fail=False)
        assert rep.status == "cannot check" and not rep.passed and rep.where == (0,)
        assert "not finite" in rep.reason and "CANNOT CHECK" in str(rep)
        with pytest.raises(check.DerivativeUncheckable, match="overflow"):
            check.check_grad(fun, right, x, method=method)
        rep = check.check_grad(fun, right, x, method=method, allow_uncheckable=True)
        assert rep.status == "cannot check" and not rep.passed
    else:  # no subtraction, no overflow: the complex step checks both entries
        assert check.check_grad(fun, right, x, method=method).passed


@pytest.mark.derivative
def test_an_analytic_inf_where_the_numeric_derivative_is_finite_fails():
    rep = check.check_grad(lambda y: np.sum(y**2), lambda y: np.array([np.inf, 2 * y[1]]), np.ones(2),
                           raise_on_fail=False)
    assert rep.status == "fail" and rep.where == (0,) and "not finite" in rep.reason


@pytest.mark.derivative
@pytest.mark.parametrize("method,scale", [("richardson", 1e8), ("complex", 1e8), ("complex", 1e10)])
def test_a_small_sign_flipped_component_is_not_hidden_by_a_large_one(method, scale):
    """f = ½·scale·x0² + x1³: the x1 entry is 3, the x0 entry is `scale`; a norm-wise rule passed the flip."""
    fun = lambda y: 0.5 * scale * y[0] ** 2 + y[1] ** 3
    right = lambda y: np.array([scale * y[0], 3 * y[1] ** 2])
    flipped = lambda y: np.array([scale * y[0], -3 * y[1] ** 2])
    x = np.ones(2)
    assert check.check_grad(fun, right, x, method=method).passed
    rep = check.check_grad(fun, flipped, x, method=method, raise_on_fail=False)
    assert rep.status == "fail" and rep.where == (1,) and rep.n_failed == 1


class _OneWrongW1Entry:
    """An MLP energy whose grad_params is wrong in one entry of W1 by a relative 1e-3.

    The weighted sum is computed from the same wrong per-point gradient (the base class's
    rule), so only differentiating that entry can catch the bug; the second-order primitives
    are not provided (skipped), to keep the test fast.
    """

    @staticmethod
    def make(rng):
        from ebm_ref.energy import Energy
        from ebm_ref.models import MLPEnergy

        class OneWrongW1Entry(MLPEnergy):
            def _grad_params(self, x):
                g = super()._grad_params(x)
                g["W1"][:, 17, 2] *= 1.001
                return g

            _grad_params_sum = Energy._grad_params_sum
            _grad_params_dot_grad_x = Energy._grad_params_dot_grad_x
            _grad_params_laplacian = Energy._grad_params_laplacian
            _grad_params_hvp = Energy._grad_params_hvp

        return OneWrongW1Entry(**MLPEnergy.init([3, 50], rng).params)  # W1 has 50 × 3 = 150 entries


@pytest.mark.derivative
@pytest.mark.parametrize("seed", range(20))
def test_check_energy_finds_one_wrong_entry_in_a_150_entry_weight_for_every_seed(seed):
    rng = np.random.default_rng(seed)
    m = _OneWrongW1Entry.make(rng)
    reps = check.check_energy(m, rng.standard_normal((4, 3)), rng=seed, raise_on_fail=False)
    bad = [r for r in reps if r.status == "fail"]
    assert [r.name for r in bad] == ["grad_params[W1] vs dE/dθ"]
    assert bad[0].where[1:] == (17, 2) and bad[0].n_failed == 4  # every point, that entry only
    assert all(r.status in ("pass", "skipped") for r in reps if r not in bad)


@pytest.mark.derivative
def test_a_parameter_beyond_the_budget_is_sampled_and_says_so(rng):
    """With max_param_entries below the size, random entries plus random directions over all
    entries: a one-entry bug of relative size 1e-3 still shows in every direction."""
    m = _OneWrongW1Entry.make(rng)
    reps = check.check_energy(m, rng.standard_normal((4, 3)), rng=1, max_param_entries=5, raise_on_fail=False)
    sampled = next(r for r in reps if r.name == "grad_params[W1] vs dE/dθ")
    assert "5 of 150 entries at random" in sampled.note
    directional = next(r for r in reps if r.name == "grad_params[W1] vs dE/dθ along random directions")
    assert directional.status == "fail"


@pytest.mark.derivative
def test_near_a_kink_the_checker_says_it_cannot_check():
    """|x| at 0.003 with h = 1e-2: the two largest steps straddle the kink, so the Richardson
    levels disagree; the correct gradient is neither passed nor failed."""
    fun = lambda y: np.sum(np.abs(y))
    x = np.array([0.003, 1.0])
    rep = check.check_grad(fun, np.sign, x, raise_on_fail=False)  # abs is not complex-analytic: Richardson
    assert rep.method == "richardson" and rep.status == "cannot check" and rep.where == (0,)
    assert "not smooth at this scale" in rep.reason and "successive estimates differ by" in rep.reason
    with pytest.raises(check.DerivativeUncheckable, match="not smooth at this scale"):
        check.check_grad(fun, np.sign, x)
    with pytest.raises(check.DerivativeUncheckable):  # a wrong gradient there is not passed either
        check.check_grad(fun, lambda y: -np.sign(y), np.array([0.003]))
    # a step well below the distance to the kink checks it
    assert check.check_grad(fun, np.sign, x, h=1e-4).passed


class _Quadratic:
    """A duck-typed energy a·Σx² whose grad_params returns the dict it is given."""

    def __init__(self, a, grads=None):
        self.a = float(a)
        self.params = {"a": np.asarray(self.a)}
        self._grads = grads

    def replace(self, a):
        return _Quadratic(a, self._grads)

    def energy(self, x):
        return self.a * np.sum(x**2, axis=1)

    def grad_x(self, x):
        return 2 * self.a * x

    def score(self, x):
        return -self.grad_x(x)

    def hessian_x(self, x):
        return np.einsum("n,ij->nij", np.full(x.shape[0], 2 * self.a), np.eye(x.shape[1]))

    def laplacian_x(self, x):
        return np.full(x.shape[0], 2 * self.a * x.shape[1])

    def grad_params(self, x):
        g = {"a": np.sum(x**2, axis=1)}
        return g if self._grads is None else self._grads(g)


@pytest.mark.derivative
def test_check_energy_names_a_missing_or_extra_gradient_key(rng):
    x = rng.standard_normal((3, 2))
    assert all(r.passed for r in check.check_energy(_Quadratic(0.5), x))
    with pytest.raises(ValueError, match=r"grad_params: no entry for parameter\(s\) \['a'\]"):
        check.check_energy(_Quadratic(0.5, lambda g: {}), x)
    with pytest.raises(ValueError, match=r"grad_params: key\(s\) \['b'\] are not parameters"):
        check.check_energy(_Quadratic(0.5, lambda g: {**g, "b": g["a"]}), x)
    with pytest.raises(ValueError, match="grad_params: expected a dict"):
        check.check_energy(_Quadratic(0.5, lambda g: g["a"]), x)


@pytest.mark.derivative
def test_check_energy_raises_cannot_check_on_overflow_unless_accepted():
    """E = a·Σ exp(x): at x = 709.775, x + h overflows float64 (exp overflows past 709.78)."""

    class ExpEnergy(_Quadratic):
        def replace(self, a):
            return ExpEnergy(a)

        def energy(self, x):
            return self.a * np.sum(np.exp(x), axis=1)

        def grad_x(self, x):
            return self.a * np.exp(x)

        def hessian_x(self, x):
            return np.einsum("ni,ij->nij", self.a * np.exp(x), np.eye(x.shape[1]))

        def laplacian_x(self, x):
            return self.a * np.sum(np.exp(x), axis=1)

        def grad_params(self, x):
            return {"a": np.sum(np.exp(x), axis=1)}

    x = np.array([[709.775], [0.0]])
    with np.errstate(over="ignore"), pytest.raises(check.DerivativeUncheckable, match="grad_x vs dE/dx"):
        check.check_energy(ExpEnergy(1.0), x)
    with np.errstate(over="ignore"):
        reps = check.check_energy(ExpEnergy(1.0), x, allow_uncheckable=True)
    gx = next(r for r in reps if r.name == "grad_x vs dE/dx")
    assert gx.status == "cannot check" and gx.where == (0, 0) and not gx.passed
    assert all(r.status != "fail" for r in reps)


# -------------------------------------------------------------- property tests
# A random smooth function of d = 2..4 variables: a sum of terms c·T(x) with
#   T ∈ {exp(a x_i), sin(a x_i + φ), x_i^p x_j^q, exp(a x_i)·sin(b x_j)},
# coefficients c = ±10^s, s ∈ [-3, 3] (entries of the gradient spread over ~6 decades), and
# rates |a|, |b| ≤ 2 at |x| ≤ 2: the function varies on a length scale ≥ 0.5, fifty times the
# step h = 1e-2, so it is smooth at the scale of the step (away from kinks) and |f| ≤ ~1e5
# (away from overflow).  The gradient is written term by term, independently of the checker.
from hypothesis import given, settings, strategies as st  # noqa: E402

_term = st.tuples(
    st.sampled_from(["exp", "sin", "poly", "mix"]),
    st.floats(-3.0, 3.0), st.sampled_from([-1.0, 1.0]),              # c = sign · 10^s
    st.integers(0, 3), st.integers(0, 3),                            # variables i, j (mod d)
    st.floats(-2.0, 2.0), st.floats(-2.0, 2.0), st.floats(0.0, 3.0),  # a, b, φ
    st.integers(0, 3), st.integers(0, 3),                            # powers p, q
)


def _smooth_function(d, terms):
    def parts(x):
        """(value, gradient) of every term, for real or complex x."""
        out = []
        for kind, s, sign, i, j, a, b, phi, p, q in terms:
            i, j, c = i % d, j % d, sign * 10.0**s
            g = np.zeros(d, dtype=x.dtype)
            if kind == "exp":
                v = np.exp(a * x[i])
                g[i] = a * v
            elif kind == "sin":
                v = np.sin(a * x[i] + phi)
                g[i] = a * np.cos(a * x[i] + phi)
            elif kind == "poly":
                v = x[i] ** p * x[j] ** q
                g[i] += p * x[i] ** max(p - 1, 0) * x[j] ** q
                g[j] += q * x[i] ** p * x[j] ** max(q - 1, 0)
            else:
                v = np.exp(a * x[i]) * np.sin(b * x[j])
                g[i] += a * v
                g[j] += b * np.exp(a * x[i]) * np.cos(b * x[j])
            out.append((c * v, c * g))
        return out

    fun = lambda x: sum(v for v, _ in parts(x))
    grad = lambda x: sum(g for _, g in parts(np.asarray(x, dtype=np.float64)))
    return fun, grad


_problem = st.integers(2, 4).flatmap(lambda d: st.tuples(
    st.just(d), st.lists(_term, min_size=1, max_size=6),
    st.lists(st.floats(-2.0, 2.0), min_size=d, max_size=d)))


@pytest.mark.derivative
@pytest.mark.parametrize("method", ["complex", "richardson"])
@settings(max_examples=60, deadline=None, derandomize=True)
@given(problem=_problem)
def test_property_a_correct_gradient_of_a_smooth_function_passes(method, problem):
    d, terms, x = problem
    fun, grad = _smooth_function(d, terms)
    rep = check.check_grad(fun, grad, np.array(x), method=method, raise_on_fail=False)
    assert rep.status == "pass", str(rep)


@pytest.mark.derivative
@pytest.mark.parametrize("method", ["complex", "richardson"])
@settings(max_examples=60, deadline=None, derandomize=True)
@given(problem=_problem, k=st.integers(0, 3), log_rel=st.floats(-6.0, 0.0), sign=st.sampled_from([-1.0, 1.0]))
def test_property_one_wrong_component_at_any_scale_fails(method, problem, k, log_rel, sign):
    """Plant δ in entry k: |δ| = max(r |g_k|, 3 tol_k) with r ∈ [1e-6, 1] log-uniform.

    tol_k = atol + rtol |N_k| + (error estimate of N_k) is the entry's own tolerance, read from
    the public ``return_error`` of the numerical derivative.  The planted error is a relative
    1e-6 or more of the entry, raised to three tolerances where the entry is too small to be
    resolved at that relative level (g_k = 0, or an entry many decades below |f|, whose
    Richardson rounding is ~eps |f| / h): a correct entry is within one tolerance of N_k, so
    a planted one is at least two tolerances away and must fail.
    """
    d, terms, x = problem
    k %= d
    x = np.array(x)
    fun, grad = _smooth_function(d, terms)
    e = np.zeros(d)
    e[k] = 1.0
    if method == "complex":
        n_k, err_k = check.complex_step(fun, x, e, return_error=True)
        rtol = check.RTOL_COMPLEX
    else:
        n_k, err_k = check.richardson(fun, x, e, return_error=True)
        rtol = check.RTOL_RICHARDSON
    tol_k = check.ATOL + rtol * abs(n_k) + err_k
    g = grad(x)
    delta = sign * max(10.0**log_rel * abs(g[k]), 3 * tol_k)
    wrong = lambda y: grad(y) + delta * e
    rep = check.check_grad(fun, wrong, x, method=method, raise_on_fail=False)
    assert rep.status == "fail" and rep.where == (k,) and rep.n_failed == 1, str(rep)
    if method == "complex" and abs(g[k]) > 1e-3:
        # no cancellation: a relative 1e-6 is always above the complex step's tolerance
        assert 1e-6 * abs(g[k]) > tol_k


# ------------------------------------------------- numerical_param_gradient
@pytest.mark.derivative
def test_numerical_param_gradient_of_gaussian_log_z_is_minus_half_the_covariance():
    # log Z = (d/2) log 2π − ½ log det P, so ∂ log Z/∂P = −½ P⁻¹ (a symmetric matrix) and ∂/∂μ = 0.
    # Richardson differences of an O(1) smooth function: ~1e-11; 1e-8 leaves room for rounding.
    g = Gaussian([0.3, -0.2, 0.1], [[1.5, 0.4, 0.0], [0.4, 0.9, 0.2], [0.0, 0.2, 1.1]])
    fd = check.numerical_param_gradient(lambda m: m.log_partition(), g, symmetric=["precision"])
    np.testing.assert_allclose(fd["precision"], -0.5 * np.linalg.inv(g.params["precision"]), rtol=0, atol=1e-8)
    np.testing.assert_allclose(fd["mean"], 0.0, atol=1e-8)


@pytest.mark.derivative
def test_numerical_param_gradient_mask_leaves_other_entries_nan():
    g = Gaussian([0.3, -0.2], [[1.5, 0.4], [0.4, 0.9]])
    mean_only = check.numerical_param_gradient(lambda m: float(m.params["mean"] @ [2.0, -3.0]), g,
                                               mask={"precision": np.zeros((2, 2), dtype=bool)})
    np.testing.assert_allclose(mean_only["mean"], [2.0, -3.0], atol=1e-10)   # a linear function: exact
    assert np.all(np.isnan(mean_only["precision"]))


@pytest.mark.parametrize("kwargs, message", [
    ({"symmetric": ["nope"]}, "symmetric"),
    ({"mask": {"nope": True}}, "mask"),
    ({"symmetric": ["mean"]}, "square"),
    ({"mask": {"mean": np.ones(3, dtype=bool)}}, "shape"),
    ({"h": 0.0}, "h"),
])
def test_numerical_param_gradient_refuses_bad_arguments(kwargs, message):
    g = Gaussian([0.3, -0.2], [[1.5, 0.4], [0.4, 0.9]])
    with pytest.raises(ValueError, match=message):
        check.numerical_param_gradient(lambda m: m.log_partition(), g, **kwargs)
