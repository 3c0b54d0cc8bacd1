import numpy as np
import pytest

from ebm_ref import params


def test_flatten_unflatten_roundtrip(rng):
    p = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(3), "s": np.array(1.5)}
    v = params.flatten(p)
    assert v.shape == (10,) and params.size(p) == 10
    q = params.unflatten(v, p)
    assert list(q) == ["W", "b", "s"]
    for k in p:
        np.testing.assert_array_equal(q[k], p[k])


def test_arithmetic_and_replace():
    p = {"a": np.ones(2), "b": np.zeros((2, 2))}
    np.testing.assert_array_equal(params.add(p, p, beta=2.0)["a"], 3 * np.ones(2))
    np.testing.assert_array_equal(params.scale(p, -1.0)["a"], -np.ones(2))
    assert params.like(p, 2.0)["b"].sum() == 8
    q = params.replace(p, a=np.array([5.0, 6.0]))
    assert q["a"][1] == 6.0 and p["a"][1] == 1.0


def test_bad_input():
    p = {"a": np.ones(2)}
    with pytest.raises(ValueError, match="length 2"):
        params.unflatten(np.ones(3), p)
    with pytest.raises(ValueError, match="1-D"):
        params.unflatten(np.ones((2, 1)), p)
    with pytest.raises(ValueError, match="unknown parameter"):
        params.replace(p, b=1.0)
    with pytest.raises(ValueError, match="shape"):
        params.replace(p, a=np.ones(3))
    with pytest.raises(ValueError, match="keys"):
        params.add(p, {"b": np.ones(2)})
    with pytest.raises(ValueError, match="keys"):
        params.check_like({"b": np.ones(2)}, p)
    with pytest.raises(ValueError, match="dict"):
        params.flatten([1, 2])
