"""The Energy base class: validation at the boundary and the defaults it derives."""
import numpy as np
import pytest

from ebm_ref.energy import Energy
from ebm_ref.models import Gaussian


class Quadratic(Energy):
    """E(x) = a‖x‖²/2 with only energy, grad_x and hessian_x written: the rest defaults."""

    def __init__(self, a, dim=2):
        super().__init__(dim, {"a": np.asarray(a, dtype=float)}, dim=dim)

    def _energy(self, x):
        return 0.5 * self._params["a"] * np.sum(x * x, axis=1)

    def _grad_x(self, x):
        return self._params["a"] * x

    def _hessian_x(self, x):
        return self._params["a"] * np.broadcast_to(np.eye(self.dim), (x.shape[0], self.dim, self.dim))

    def _grad_params(self, x):
        return {"a": 0.5 * np.sum(x * x, axis=1)}


def test_defaults_derived_from_the_base_class(rng):
    m = Quadratic(2.0)
    x = rng.standard_normal((4, 2))
    np.testing.assert_allclose(m.laplacian_x(x), np.full(4, 4.0), rtol=1e-15)  # tr of the Hessian
    np.testing.assert_allclose(m.score(x), -2.0 * x, rtol=1e-15)
    w = rng.standard_normal(4)
    np.testing.assert_allclose(m.grad_params_sum(x, w)["a"], w @ (0.5 * np.sum(x * x, axis=1)), rtol=1e-14)
    np.testing.assert_allclose(m.unnormalized_log_prob(x), -m.energy(x), rtol=0)
    assert m.replace(a=3.0).params["a"] == 3.0 and m.params["a"] == 2.0
    assert "Quadratic(dim=2" in repr(m)


def test_log_partition_unknown_names_estimators(rng):
    m = Quadratic(1.0)
    with pytest.raises(NotImplementedError, match="ais"):
        m.log_partition()
    with pytest.raises(NotImplementedError):
        m.log_prob(np.zeros((1, 2)))
    with pytest.raises(NotImplementedError, match="grad_params_hvp"):
        m.grad_params_hvp(np.zeros((1, 2)), np.zeros((1, 2)))


def test_with_params_checks_keys_and_shapes():
    g = Gaussian([0.0, 0.0], np.eye(2))
    g2 = g.with_params({"mean": np.ones(2), "precision": 2 * np.eye(2)})
    assert g2.log_partition() == pytest.approx(np.log(2 * np.pi) - np.log(2.0), rel=1e-14)
    with pytest.raises(ValueError, match="keys"):
        g.with_params({"mean": np.ones(2)})
    with pytest.raises(ValueError, match="shape"):
        g.with_params({"mean": np.ones(3), "precision": np.eye(2)})


def test_shape_errors_name_the_argument():
    m = Quadratic(1.0)
    with pytest.raises(ValueError, match=r"^x: expected a batch of shape \(n, 2\)"):
        m.energy(np.zeros(2))
    with pytest.raises(ValueError, match="x: expected shape"):
        m.grad_x(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="complex"):
        Gaussian([0.0], [[1.0]]).replace  # noqa: B018  (attribute exists)
        from ebm_ref._validate import as_batch
        as_batch(np.zeros((2, 1)) + 1j, 1)
    with pytest.raises(ValueError, match="numeric"):
        m.energy(np.array([["a", "b"]]))


# ==================================== issue 11, defect 12: grad_params_sum checks its weights
@pytest.mark.parametrize("w, match", [(np.array([1.0, np.nan, 1.0]), "weights: contains NaN or inf"),
                                      (np.ones((3, 1)), r"weights: expected shape \(3,\)"),
                                      (np.array(["a", "b", "c"]), "weights: expected a numeric array")])
def test_grad_params_sum_checks_weights(w, match):
    g = Gaussian(np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match=match):
        g.grad_params_sum(np.zeros((3, 2)), w)
