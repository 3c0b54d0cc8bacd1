"""Reconstruction and discriminator energies."""
import numpy as np
import pytest

from ebm_ref.check import check_energy
from ebm_ref.models.designs import DiscriminatorEnergy, ReconstructionEnergy

# the same quantity by two float64 routes of a few dozen operations
TOL_ROUND = 1e-11


@pytest.mark.derivative
@pytest.mark.parametrize("act", ["tanh", "softplus", "sigmoid", "silu"])
def test_reconstruction_check_energy(rng, act):
    m = ReconstructionEnergy.init(3, [4], 2, [5], rng, activation=act, bias_scale=0.5)
    reports = check_energy(m, rng.standard_normal((4, 3)), rng=rng, max_param_entries=8)
    assert not [r for r in reports if r.method == "skipped"]


@pytest.mark.derivative
def test_reconstruction_check_energy_deeper(rng):
    m = ReconstructionEnergy.init(2, [3, 4], 1, [4, 3], rng, activation="tanh", bias_scale=0.5)
    check_energy(m, rng.standard_normal((3, 2)), rng=rng, max_param_entries=8)


@pytest.mark.exact
def test_linear_autoencoder_closed_form(rng):
    # identity activations make f(x) = A x + c with A = D2 D1 E2 E1: E = ‖(I - A)x - c‖², ∇²E = 2(I-A)ᵀ(I-A)
    m = ReconstructionEnergy.init(3, [4], 2, [4], rng, activation="identity", bias_scale=0.5)
    p = m.params
    A = p["dec.W2"] @ p["dec.W1"] @ p["enc.W2"] @ p["enc.W1"]
    c = p["dec.W2"] @ (p["dec.W1"] @ (p["enc.W2"] @ p["enc.b1"] + p["enc.b2"]) + p["dec.b1"]) + p["dec.b2"]
    x = rng.standard_normal((6, 3))
    M = np.eye(3) - A
    r = x @ M.T - c
    np.testing.assert_allclose(m.energy(x), np.sum(r * r, axis=1), rtol=TOL_ROUND)
    np.testing.assert_allclose(m.grad_x(x), 2 * r @ M, rtol=1e-10, atol=TOL_ROUND)
    np.testing.assert_allclose(m.hessian_x(x), np.broadcast_to(2 * M.T @ M, (6, 3, 3)), rtol=1e-10, atol=TOL_ROUND)
    np.testing.assert_allclose(m.laplacian_x(x), 2 * np.sum(M * M), rtol=1e-10)
    np.testing.assert_allclose(m.reconstruct(x), x @ A.T + c, rtol=1e-10, atol=TOL_ROUND)
    np.testing.assert_allclose(m.decode(m.encode(x)), m.reconstruct(x), rtol=1e-13)
    assert m.code_dim == 2


@pytest.mark.exact
def test_reconstruction_constructors(rng):
    m = ReconstructionEnergy.init(2, [3], 1, [3], rng)
    m2 = ReconstructionEnergy.from_params(m.params, activation="tanh")
    x = rng.standard_normal((3, 2))
    assert np.array_equal(m.energy(x), m2.energy(x))
    assert list(m.params)[:2] == ["enc.W1", "enc.b1"]
    assert m.replace(**{"dec.b2": np.zeros(2)}).activation == "tanh"


def test_reconstruction_errors(rng):
    p = ReconstructionEnergy.init(2, [3], 1, [3], rng).params
    with pytest.raises(ValueError, match="unknown parameter"):
        ReconstructionEnergy(**p, W1=np.ones((2, 2)))
    bad = dict(p)
    bad["dec.W1"] = np.ones((3, 2))
    with pytest.raises(ValueError, match="code size"):
        ReconstructionEnergy(**bad)
    bad = dict(p)
    bad["dec.W2"], bad["dec.b2"] = np.ones((3, 3)), np.zeros(3)
    with pytest.raises(ValueError, match="data dimension"):
        ReconstructionEnergy(**bad)
    with pytest.raises(ValueError, match="activation"):
        ReconstructionEnergy(activation="relu", **p)
    with pytest.raises(ValueError, match="hidden"):
        ReconstructionEnergy.init(2, [], 1, [3], rng)
    with pytest.raises(ValueError, match="code"):
        ReconstructionEnergy.init(2, [3], 1, [3], rng).decode(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="params"):
        ReconstructionEnergy.from_params([1, 2])


@pytest.mark.derivative
@pytest.mark.parametrize("form", ["neg_log", "neg_logit"])
@pytest.mark.parametrize("act", ["tanh", "softplus"])
def test_discriminator_check_energy(rng, form, act):
    m = DiscriminatorEnergy.init([3, 4, 3], rng, form=form, activation=act, bias_scale=0.5)
    reports = check_energy(m, rng.standard_normal((4, 3)), rng=rng, max_param_entries=8)
    assert not [r for r in reports if r.method == "skipped"]


@pytest.mark.exact
def test_discriminator_forms(rng):
    a = DiscriminatorEnergy.init([2, 5], rng, form="neg_log")
    b = DiscriminatorEnergy(form="neg_logit", **a.params)
    x = 3.0 * rng.standard_normal((20, 2))
    D = a.prob(x)
    np.testing.assert_allclose(np.exp(-a.energy(x)), D, rtol=1e-13)
    np.testing.assert_allclose(b.energy(x), -np.log(D / (1 - D)), rtol=1e-9, atol=1e-12)
    # −log D − (−logit D) = −log(1 − D) ≥ 0
    np.testing.assert_allclose(a.energy(x) - b.energy(x), -np.log1p(-D), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.energy(x), -a.logit(x), rtol=1e-15)
    # saturated logits stay finite (filterwarnings=error would catch an overflow)
    big = DiscriminatorEnergy(form="neg_log", **{**a.params, "b2": np.array([800.0])})
    assert np.all(np.isfinite(big.energy(x))) and np.all(np.isfinite(big.hessian_x(x)))


def test_discriminator_errors(rng):
    p = DiscriminatorEnergy.init([2, 3], rng).params
    with pytest.raises(ValueError, match="form"):
        DiscriminatorEnergy(form="log", **p)
    with pytest.raises(ValueError, match="scalar"):
        DiscriminatorEnergy(W1=p["W1"], b1=p["b1"], W2=np.ones((2, 3)), b2=np.zeros(2))
    with pytest.raises(ValueError, match="params"):
        DiscriminatorEnergy.from_params(None)
    with pytest.raises(ValueError, match="x"):
        DiscriminatorEnergy(**p).energy(np.zeros(2))
