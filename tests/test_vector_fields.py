"""ebm_ref.vector_fields and ebm_ref.models.score_network: is a learned score a gradient?"""
import numpy as np
import pytest

from ebm_ref import check, params as P, vector_fields as vf
from ebm_ref.models import MLPEnergy
from ebm_ref.models.score_network import ScoreNetwork
from ebm_ref.objectives import score_matching as sm

RTOL_FD = 1e-7  # Richardson differences of smooth O(1) functions


@pytest.mark.exact
def test_rotation_field_has_circulation_2_pi_r2():
    # s(x) = (−x₂, x₁): curl 2, so ∮ = 2·πr² = ∬ curl
    field = lambda x: np.column_stack([-x[:, 1], x[:, 0]])  # noqa: E731
    jac = lambda x: np.broadcast_to(np.array([[0.0, -1.0], [1.0, 0.0]]), (x.shape[0], 2, 2))  # noqa: E731
    assert abs(vf.circulation(field, [0.3, 0.1], 1.2) - 2 * np.pi * 1.44) < 1e-12
    assert abs(vf.curl_flux(jac, [0.3, 0.1], 1.2) - 2 * np.pi * 1.44) < 1e-12
    assert np.allclose(vf.jacobian_asymmetry(jac(np.zeros((2, 2)))), 2.0)


@pytest.mark.exact
def test_energy_hessian_is_symmetric(rng):
    e = MLPEnergy.init([2, 8], rng)
    assert np.max(vf.jacobian_asymmetry(e.hessian_x(rng.standard_normal((5, 2))))) < 1e-14


@pytest.mark.derivative
def test_score_network_jacobian_and_loss_gradient(rng):
    net = ScoreNetwork.init(2, [8, 8], rng)
    x = rng.standard_normal((6, 2))
    for i in range(2):
        check.check_grad(lambda v: net.score(v[None, :], 0.4)[0, i], lambda v: net.jacobian_x(v[None, :], 0.4)[0, i],
                         x[0], method="richardson", rtol=RTOL_FD, h=1e-3)
    val, g = sm.score_network_loss(net, x, [1.0, 0.3], rng=3)
    flat = P.flatten(g)
    check.check_grad(lambda v: sm.score_network_loss(net.with_params(P.unflatten(v, net.params)), x, [1.0, 0.3], rng=3)[0],
                     lambda v: flat, P.flatten(net.params), method="richardson", rtol=RTOL_FD, h=1e-3)


def test_bad_input(rng):
    net = ScoreNetwork.init(2, [4], rng)
    with pytest.raises(ValueError, match="sigma"):
        net.score(np.zeros((1, 2)), 0.0)
    with pytest.raises(ValueError, match="sigmas"):
        sm.score_network_loss(net, np.zeros((2, 2)), [], rng=0)
    with pytest.raises(ValueError, match="jac"):
        vf.jacobian_asymmetry(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="params"):
        ScoreNetwork(W1=np.zeros((2, 3)))
