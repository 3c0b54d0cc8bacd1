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
