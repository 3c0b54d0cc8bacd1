"""MLPEnergy and MLPMap: manual backprop, exact Hessian, forward Laplacian, second-order θ primitives."""
import numpy as np
import pytest

from ebm_ref.check import check_energy, complex_step, richardson
from ebm_ref.models import MLPEnergy
from ebm_ref.models.mlp import ACTIVATIONS, MLPMap, activation
from ebm_ref.numerics import sigmoid, softplus

ACTS = ["tanh", "softplus", "sigmoid", "silu"]
# Acceptance bound of the issue: analytic derivatives against finite differences of the
# energy in float64 at small sizes.  Richardson differences with 5 levels reach ~1e-11
# on these O(1) smooth functions, so 1e-8 leaves rounding room without hiding an error.
TOL_FD = 1e-8
# complex step has no cancellation: agreement to rounding of the forward pass.
TOL_COMPLEX = 1e-12
# two float64 evaluations of the same formula in a different order.
TOL_ROUND = 1e-12


def make(rng, sizes, act, bias_scale=0.5):
    return MLPEnergy.init(sizes, rng, activation=act, bias_scale=bias_scale)


# ---------------------------------------------------- independent re-computation
def energy_loop(model, x):
    """The energy by explicit loops over points, units and inputs: no matrix products."""
    p = model.params
    L = len(p) // 2
    sig = {"tanh": np.tanh, "softplus": lambda a: np.log1p(np.exp(a)),
           "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)), "silu": lambda a: a / (1.0 + np.exp(-a))}[model.activation]
    out = np.empty(x.shape[0])
    for n in range(x.shape[0]):
        z = list(x[n])
        for l in range(1, L + 1):
            W, b = p[f"W{l}"], p[f"b{l}"]
            a = [b[j] + sum(W[j, i] * z[i] for i in range(len(z))) for j in range(W.shape[0])]
            z = [sig(v) for v in a] if l < L else a
        out[n] = z[0]
    return out


def fd1(f, x, u, h=0.05):
    return richardson(f, x, u, h=h, levels=5)


def fd2(f, x, u, h=0.1, levels=5):
    """Second directional derivative uᵀ∇²f u by Richardson-extrapolated second differences."""
    table = []
    f0 = f(x)
    for i in range(levels):
        hi = h / 2**i
        row = [(f(x + hi * u) - 2.0 * f0 + f(x - hi * u)) / hi**2]
        for j in range(1, i + 1):
            row.append(row[j - 1] + (row[j - 1] - table[i - 1][j - 1]) / (4**j - 1))
        table.append(row)
    return table[-1][-1]


def fd_hessian(f, x):
    """Per-point Hessian from second differences of the energy: H_ij = (D²(e_i+e_j) - D²(e_i-e_j))/4."""
    n, d = x.shape
    H = np.empty((n, d, d))
    E = np.eye(d)
    for i in range(d):
        for j in range(d):
            if i == j:
                H[:, i, i] = fd2(f, x, np.broadcast_to(E[i], x.shape))
            else:
                up = fd2(f, x, np.broadcast_to(E[i] + E[j], x.shape))
                dn = fd2(f, x, np.broadcast_to(E[i] - E[j], x.shape))
                H[:, i, j] = (up - dn) / 4.0
    return H


# -------------------------------------------------------------- activations
@pytest.mark.derivative
@pytest.mark.parametrize("name", ACTS)
def test_activation_derivatives_by_complex_step(name):
    act = activation(name)
    a = np.linspace(-6, 6, 41)
    d = act.derivatives(a, 3)
    for k in range(3):
        num = complex_step(lambda t: act.derivatives(t, 3)[k], a, np.ones_like(a))
        np.testing.assert_allclose(d[k + 1], num, rtol=TOL_COMPLEX, atol=TOL_COMPLEX)


@pytest.mark.exact
def test_stable_sigmoid_softplus_at_extremes():
    a = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    # closed forms: softplus(a) = a + log1p(e^{-a}) → a for large a, e^a for very negative a
    np.testing.assert_allclose(softplus(a), [0.0, np.exp(-40.0), np.log(2.0), 40.0, 1000.0], rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(sigmoid(a), [0.0, np.exp(-40.0) / (1 + np.exp(-40.0)), 0.5, 1 / (1 + np.exp(-40.0)), 1.0],
                               rtol=1e-15, atol=1e-300)
    # complex input with a large real part does not overflow either
    assert np.all(np.isfinite(softplus(a + 1e-20j))) and np.all(np.isfinite(sigmoid(a + 1e-20j)))


# -------------------------------------------------------- check_energy grid
@pytest.mark.derivative
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("sizes", [[3, 6], [2, 5, 4], [3, 4, 3, 5]], ids=["1hidden", "2hidden", "3hidden"])
def test_check_energy_depths_and_activations(rng, act, sizes):
    model = make(rng, sizes, act)
    reports = check_energy(model, rng.standard_normal((4, sizes[0])), rng=rng, max_param_entries=10)
    assert not [r for r in reports if r.method == "skipped"]      # every method is provided
    assert "complex" in {r.method for r in reports}


@pytest.mark.derivative
@pytest.mark.parametrize("width", [1, 9])
def test_check_energy_widths(rng, width):
    model = make(rng, [4, width, 7], "silu")
    check_energy(model, rng.standard_normal((3, 4)), rng=rng, max_param_entries=10)


# ----------------------------------------- independent finite differences, 1e-8
@pytest.mark.derivative
@pytest.mark.parametrize("act", ACTS)
def test_against_finite_differences_of_energy(rng, act):
    model = make(rng, [3, 4, 5], act)
    x = rng.standard_normal((3, 3))
    np.testing.assert_allclose(model.energy(x), energy_loop(model, x), rtol=TOL_ROUND, atol=TOL_ROUND)
    f = model.energy
    G = np.stack([fd1(f, x, np.broadcast_to(e, x.shape)) for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(model.grad_x(x), G, atol=TOL_FD)
    H = fd_hessian(f, x)
    np.testing.assert_allclose(model.hessian_x(x), H, atol=TOL_FD)
    lap = sum(fd2(f, x, np.broadcast_to(e, x.shape)) for e in np.eye(3))
    np.testing.assert_allclose(model.laplacian_x(x), lap, atol=TOL_FD)
    gp = model.grad_params(x)
    for key, val in model.params.items():
        for idx in np.ndindex(val.shape):
            D = np.zeros_like(val)
            D[idx] = 1.0
            num = fd1(lambda t: model.replace(**{key: val + float(t) * D}).energy(x), 0.0, 1.0)
            np.testing.assert_allclose(gp[key][(slice(None),) + idx], num, atol=TOL_FD, err_msg=f"{key}{idx}")


@pytest.mark.derivative
@pytest.mark.parametrize("act", ACTS)
def test_complex_step_of_energy_and_grad(rng, act):
    model = make(rng, [3, 5, 4], act)
    assert model.supports_complex_step
    x = rng.standard_normal((5, 3))
    for j in range(3):
        e = np.zeros_like(x)
        e[:, j] = 1.0
        np.testing.assert_allclose(complex_step(model.energy, x, e), model.grad_x(x)[:, j], rtol=TOL_COMPLEX, atol=TOL_COMPLEX)
        np.testing.assert_allclose(complex_step(model.grad_x, x, e), model.hessian_x(x)[:, :, j], rtol=1e-11, atol=1e-11)


@pytest.mark.exact
@pytest.mark.parametrize("act", ACTS)
def test_forward_laplacian_equals_trace_of_hessian_deep(rng, act):
    model = make(rng, [6, 8, 7, 5, 6], act)
    x = rng.standard_normal((10, 6))
    np.testing.assert_allclose(model.laplacian_x(x), np.trace(model.hessian_x(x), axis1=1, axis2=2),
                               rtol=TOL_ROUND, atol=TOL_ROUND)


@pytest.mark.exact
def test_grad_params_sum_is_weighted_sum(rng):
    model = make(rng, [3, 5, 4], "tanh")
    x = rng.standard_normal((7, 3))
    w = rng.standard_normal(7)
    gs, gp = model.grad_params_sum(x, w), model.grad_params(x)
    for k in gs:
        np.testing.assert_allclose(gs[k], np.tensordot(w, gp[k], axes=(0, 0)), rtol=TOL_ROUND, atol=TOL_ROUND)


# ------------------------------------------------------------------ MLPMap
@pytest.mark.derivative
def test_mlpmap_jacobian_hessian_laplacian(rng):
    sizes = [3, 5, 4, 2]
    Ws = [rng.standard_normal((sizes[i + 1], sizes[i])) / np.sqrt(sizes[i]) for i in range(3)]
    bs = [0.3 * rng.standard_normal(s) for s in sizes[1:]]
    net = MLPMap(Ws, bs, ["silu", "identity"])
    x = rng.standard_normal((4, 3))
    J = net.jacobian(x)
    for j in range(3):
        e = np.zeros_like(x)
        e[:, j] = 1.0
        np.testing.assert_allclose(J[:, :, j], complex_step(net, x, e), rtol=TOL_COMPLEX, atol=TOL_COMPLEX)
    c = rng.standard_normal((4, 2))
    H = net.hessian_contract(x, c)
    for j in range(3):
        e = np.zeros_like(x)
        e[:, j] = 1.0
        num = complex_step(lambda y: net.vjp_x(y, c), x, e)
        np.testing.assert_allclose(H[:, :, j], num, rtol=1e-11, atol=1e-11)
    f, lap, Jf = net.forward_laplacian(x, want_jacobian=True)
    np.testing.assert_allclose(f, net(x), rtol=TOL_ROUND)
    np.testing.assert_allclose(np.swapaxes(Jf, 1, 2), J, rtol=TOL_ROUND, atol=TOL_ROUND)
    for i in range(2):
        ci = np.zeros((4, 2))
        ci[:, i] = 1.0
        np.testing.assert_allclose(lap[:, i], np.trace(net.hessian_contract(x, ci), axis1=1, axis2=2),
                                   rtol=TOL_ROUND, atol=TOL_ROUND)


@pytest.mark.derivative
def test_mlpmap_tangent_vjp_params_against_richardson(rng):
    sizes = [3, 4, 2]
    Ws = [rng.standard_normal((sizes[i + 1], sizes[i])) for i in range(2)]
    bs = [0.3 * rng.standard_normal(s) for s in sizes[1:]]
    x = rng.standard_normal((3, 3))
    T0 = rng.standard_normal((3, 2, 3))
    fb, Tb, Sb = rng.standard_normal((3, 2)), rng.standard_normal((3, 2, 2)), rng.standard_normal((3, 2))

    def scalar(Ws_, bs_):
        f, Tf, Sf, _ = MLPMap(Ws_, bs_, "tanh").tangent_forward(x, T0)
        return np.sum(fb * f) + np.sum(Tb * Tf) + np.sum(Sb * Sf)

    net = MLPMap(Ws, bs, "tanh")
    grads = net.tangent_vjp_params(net.tangent_forward(x, T0)[3], fb, Tb, Sb)
    for l in range(2):
        for idx in np.ndindex(Ws[l].shape):
            D = np.zeros_like(Ws[l])
            D[idx] = 1.0
            num = richardson(lambda t: scalar([W + float(t) * D if i == l else W for i, W in enumerate(Ws)], bs), 0.0, 1.0)
            assert abs(grads[l][0][idx] - num) < TOL_FD
        for j in range(bs[l].size):
            D = np.zeros_like(bs[l])
            D[j] = 1.0
            num = richardson(lambda t: scalar(Ws, [b + float(t) * D if i == l else b for i, b in enumerate(bs)]), 0.0, 1.0)
            assert abs(grads[l][1][j] - num) < TOL_FD


# ------------------------------------------------------------ construction
@pytest.mark.exact
def test_constructors_agree(rng):
    m = make(rng, [2, 3], "softplus")
    m2 = MLPEnergy.from_params(m.params, activation="softplus")
    m3 = MLPEnergy(activation="softplus", **m.params)
    x = rng.standard_normal((4, 2))
    assert np.array_equal(m.energy(x), m2.energy(x)) and np.array_equal(m.energy(x), m3.energy(x))
    assert list(m.params) == ["W1", "b1", "W2", "b2"]
    assert m.params["W2"].shape == (1, 3) and m.params["b2"].shape == (1,)
    r = m.replace(b2=np.array([1.0]))
    np.testing.assert_allclose(r.energy(x), m.energy(x) - m.params["b2"][0] + 1.0, rtol=TOL_ROUND)
    assert r.activation == "softplus"
    assert sorted(ACTIVATIONS) == ["identity", "sigmoid", "silu", "softplus", "tanh"]


@pytest.mark.exact
def test_init_scale(rng):
    # W ~ N(0, 1/fan_in): the mean of W² over a 400 x 400 matrix is 1/400 within a few 1e-5
    m = MLPEnergy.init([400, 400], rng)
    assert abs(np.mean(m.params["W1"] ** 2) * 400 - 1.0) < 0.02   # 160000 draws: sd of the mean 0.0035


def test_bad_input():
    W1, b1, W2, b2 = np.ones((3, 2)), np.zeros(3), np.ones((1, 3)), np.zeros(1)
    with pytest.raises(ValueError, match="activation"):
        MLPEnergy(activation="relu", W1=W1, b1=b1, W2=W2, b2=b2)
    with pytest.raises(ValueError, match="b1"):
        MLPEnergy(W1=W1, b1=np.zeros(4), W2=W2, b2=b2)
    with pytest.raises(ValueError, match="W2"):
        MLPEnergy(W1=W1, b1=b1, W2=np.ones((1, 4)), b2=b2)
    with pytest.raises(ValueError, match="scalar"):
        MLPEnergy(W1=W1, b1=b1, W2=np.ones((2, 3)), b2=np.zeros(2))
    with pytest.raises(ValueError, match="missing"):
        MLPEnergy(W1=W1, b1=b1, W2=W2)
    with pytest.raises(ValueError, match="unknown parameter"):
        MLPEnergy(W1=W1, b1=b1, W2=W2, b2=b2, V3=W2)
    with pytest.raises(ValueError, match="at least one hidden layer"):
        MLPEnergy(W1=np.ones((1, 2)), b1=np.zeros(1))
    with pytest.raises(ValueError, match="NaN"):
        MLPEnergy(W1=np.full((3, 2), np.nan), b1=b1, W2=W2, b2=b2)
    with pytest.raises(ValueError, match="params"):
        MLPEnergy.from_params([W1, b1], activation="tanh")
    with pytest.raises(ValueError, match="sizes"):
        MLPEnergy.init([3], 0)
    with pytest.raises(ValueError, match="sizes"):
        MLPEnergy.init([3, 0], 0)
    with pytest.raises(ValueError, match="activations"):
        MLPMap([W1, W2], [b1, b2], ["tanh", "tanh"])
    m = MLPEnergy(W1=W1, b1=b1, W2=W2, b2=b2)
    with pytest.raises(ValueError, match="x"):
        m.energy(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="u"):
        m.grad_params_dot_grad_x(np.zeros((4, 2)), np.zeros((3, 2)))


# ========================= issue 11, defect 12: an activation object named like a built-in
def test_activation_object_named_like_a_builtin_is_refused():
    from ebm_ref.models.mlp import Activation

    fake = Activation("tanh", lambda a, order: [np.sin(a), np.cos(a), -np.sin(a), -np.cos(a)])
    with pytest.raises(ValueError, match="is not the built-in activation of that name"):
        activation(fake)
    with pytest.raises(ValueError, match="is not the built-in activation of that name"):
        MLPEnergy(activation=fake, W1=np.ones((2, 2)), b1=np.zeros(2), W2=np.ones((1, 2)), b2=np.zeros(1))
    assert activation(ACTIVATIONS["tanh"]) is ACTIVATIONS["tanh"]
