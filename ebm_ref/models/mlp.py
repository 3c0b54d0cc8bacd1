r"""Multilayer-perceptron energies with hand-written backprop and a forward Laplacian.

The network (energy convention, :math:`p \propto e^{-E}`) with hidden layers
:math:`l = 1, \dots, L-1` and a linear output layer :math:`L`:

.. math::

    z_0 = x,\qquad a_l = W_l z_{l-1} + b_l,\qquad z_l = \sigma(a_l)\ (l < L),\qquad
    E(x) = a_L = W_L z_{L-1} + b_L .

``W_l`` has the layout of a linear layer, shape ``(out, in)``; the last layer maps to a
scalar (``W_L`` of shape ``(1, h)``, ``b_L`` of shape ``(1,)``).

Everything below is the chain rule written out by hand, in three passes that the
rest of the package reuses through :class:`MLPMap` (a network to :math:`\mathbb R^k`):

1. **Reverse pass** (backprop).  With an output cotangent :math:`\bar f`
   (for the energy, :math:`\bar f = 1`): :math:`\bar a_L = \bar f`,
   :math:`\bar z_{l-1} = W_l^\top \bar a_l`, :math:`\bar a_l = \sigma'(a_l)\odot\bar z_l`,
   and :math:`\partial/\partial W_l = \bar a_l z_{l-1}^\top`,
   :math:`\partial/\partial b_l = \bar a_l`, :math:`\partial/\partial x = \bar z_0`.
2. **Exact Hessian.**  The only curvature is in the elementwise nonlinearities, so

   .. math:: \nabla_x^2 (\bar f\cdot f) = \sum_{l<L} J_{a_l}^\top\,
             \operatorname{diag}\!\big(\bar z_l\odot\sigma''(a_l)\big)\,J_{a_l},
             \qquad J_{a_l} = \partial a_l/\partial x,

   with :math:`J_{a_1} = W_1` and :math:`J_{a_{l+1}} = W_{l+1}\operatorname{diag}(\sigma'(a_l))J_{a_l}`.
3. **Forward Laplacian.**  Carry, for every unit, its value, its gradient in x and its
   Laplacian in x.  For :math:`a = Wz + b` and :math:`y = \sigma(a)`:

   .. math:: \nabla a = W\nabla z,\quad \Delta a = W\Delta z,\quad
             \nabla y = \sigma'(a)\nabla a,\quad
             \Delta y = \sigma'(a)\,\Delta a + \sigma''(a)\,\lVert\nabla a\rVert^2 .

   (The last line is the chain rule :math:`\partial_i\partial_i\sigma(a) =
   \sigma''(a)(\partial_i a)^2 + \sigma'(a)\partial_i\partial_i a` summed over i.)
   It starts from :math:`\nabla z_0 = I`, :math:`\Delta z_0 = 0` and never forms a d×d
   matrix: its cost is that of pushing d tangents forward, about one Jacobian.

The second-order parameter primitives differentiate these forward passes in θ by
reverse mode; see :meth:`MLPMap.tangent_vjp_params` for the derivation.

References
----------
Li, R., Ye, H., Jiang, D., et al. (2023). A computational framework for neural network
based variational Monte Carlo with forward Laplacian.  arXiv:2307.08214.
"""
from __future__ import annotations

import re

import numpy as np

from .._validate import as_float_array, as_generator
from ..energy import Energy
from ..numerics.special import sigmoid, softplus

__all__ = ["ACTIVATIONS", "Activation", "FromParamDict", "MLPMap", "MLPEnergy", "activation", "init_layers"]


# --------------------------------------------------------------- activations
class Activation:
    r"""An elementwise nonlinearity σ with its first three derivatives.

    ``derivatives(a, order)`` returns ``[σ(a), σ'(a), ..., σ^{(order)}(a)]``, sharing the
    expensive pieces (one ``tanh`` or one sigmoid per call).
    """

    def __init__(self, name, fn):
        self.name = name
        self._fn = fn

    def __call__(self, a):
        return self._fn(a, 0)[0]

    def derivatives(self, a, order: int):
        return self._fn(a, order)[: order + 1]

    def __repr__(self):
        return f"Activation({self.name!r})"


def _tanh(a, order):
    # t = tanh a:  σ' = 1 - t²,  σ'' = -2t(1 - t²),  σ''' = -2(1 - t²)(1 - 3t²)
    t = np.tanh(a)
    if order == 0:
        return [t]
    q = 1.0 - t * t
    return [t, q, -2.0 * t * q, -2.0 * q * (1.0 - 3.0 * t * t)]


def _sigmoid(a, order):
    # s = sigmoid a:  σ' = s(1-s),  σ'' = s(1-s)(1-2s),  σ''' = s(1-s)(1 - 6s + 6s²)
    s = sigmoid(a)
    if order == 0:
        return [s]
    q = s * (1.0 - s)
    return [s, q, q * (1.0 - 2.0 * s), q * (1.0 - 6.0 * s + 6.0 * s * s)]


def _softplus(a, order):
    # σ = log(1+e^a):  σ' = s,  σ'' = s(1-s),  σ''' = s(1-s)(1-2s)   (s = sigmoid a)
    if order == 0:
        return [softplus(a)]
    s = sigmoid(a)
    q = s * (1.0 - s)
    return [softplus(a), s, q, q * (1.0 - 2.0 * s)]


def _silu(a, order):
    # σ = a s:  σ' = s(1 + a(1-s)),  with q = s(1-s) (= s') and q' = q(1-2s):
    #           σ'' = q(2 + a(1-2s)),  σ''' = q[(1-2s)(3 + a(1-2s)) - 2aq]
    s = sigmoid(a)
    if order == 0:
        return [a * s]
    q = s * (1.0 - s)
    r = 1.0 - 2.0 * s
    return [a * s, s * (1.0 + a * (1.0 - s)), q * (2.0 + a * r), q * (r * (3.0 + a * r) - 2.0 * a * q)]


def _identity(a, order):
    one = np.ones_like(a)
    zero = np.zeros_like(a)
    return [a, one, zero, zero]


ACTIVATIONS = {
    "tanh": Activation("tanh", _tanh),
    "softplus": Activation("softplus", _softplus),
    "sigmoid": Activation("sigmoid", _sigmoid),
    "silu": Activation("silu", _silu),
    "identity": Activation("identity", _identity),
}


def activation(name) -> Activation:
    """Look up an activation by name (tanh, softplus, sigmoid, silu; identity for linear layers)."""
    if isinstance(name, Activation):
        if name.name in ACTIVATIONS and name is not ACTIVATIONS[name.name]:
            # a model keeps its activation by name (and compiled paths dispatch on it), so an
            # object named like a built-in would silently become the built-in
            raise ValueError(f"activation: {name!r} is not the built-in activation of that name; give your "
                             f"own activation a name other than {sorted(ACTIVATIONS)}")
        return name
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


# --------------------------------------------------------------- the network
def _rows(x):
    """Rows of the last axis for a single GEMM: (..., h) -> (N, h)."""
    return x.reshape(-1, x.shape[-1])


def _right(T, Wt):
    """``T @ Wt`` on the last axis of a 3-D array as one matrix product."""
    n, m, h = T.shape
    return (_rows(T) @ Wt).reshape(n, m, Wt.shape[1])


class MLPMap:
    r"""A feed-forward map :math:`f:\mathbb R^d\to\mathbb R^k` with a linear last layer.

    Parameters
    ----------
    weights : list of ndarray
        :math:`W_1, \dots, W_L`, ``W_l`` of shape ``(h_l, h_{l-1})``, :math:`h_0 = d`, :math:`h_L = k`.
    biases : list of ndarray
        :math:`b_1,\dots,b_L`, ``b_l`` of shape ``(h_l,)``.
    activations : str or list of str
        The nonlinearity after each hidden layer (one name for all, or a list of L−1
        names; ``"identity"`` makes a layer linear).

    Notes
    -----
    :math:`z_0 = x`, :math:`a_l = W_l z_{l-1} + b_l`, :math:`z_l = \sigma_l(a_l)` for
    l < L, :math:`f = W_L z_{L-1} + b_L`.  This is the building block of
    :class:`MLPEnergy` (k = 1), of the autoencoder of
    ``ebm_ref.models.designs.ReconstructionEnergy`` and of the discriminator of
    ``ebm_ref.models.designs.DiscriminatorEnergy``.  Tangents are stored as
    ``(n, m, h)``: point, direction, unit; so every layer is one matrix product.
    """

    def __init__(self, weights, biases, activations="tanh"):
        Ws = [as_float_array(W, f"W{i + 1}") for i, W in enumerate(weights)]
        bs = [as_float_array(b, f"b{i + 1}") for i, b in enumerate(biases)]
        if len(Ws) < 1 or len(Ws) != len(bs):
            raise ValueError(f"weights/biases: expected equal, non-zero numbers of layers, got {len(Ws)} and {len(bs)}")
        for i, (W, b) in enumerate(zip(Ws, bs)):
            if W.ndim != 2 or W.shape[0] == 0 or W.shape[1] == 0:
                raise ValueError(f"W{i + 1}: expected a 2-D (out, in) matrix, got shape {W.shape}")
            if b.shape != (W.shape[0],):
                raise ValueError(f"b{i + 1}: expected shape ({W.shape[0]},) to match W{i + 1} {W.shape}, got {b.shape}")
            if i > 0 and W.shape[1] != Ws[i - 1].shape[0]:
                raise ValueError(f"W{i + 1}: expected {Ws[i - 1].shape[0]} input columns (the output size of "
                                 f"W{i}), got shape {W.shape}")
            if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
                raise ValueError(f"W{i + 1}/b{i + 1}: contain NaN or inf")
        if isinstance(activations, (str, Activation)):
            acts = [activation(activations)] * (len(Ws) - 1)
        else:
            acts = [activation(a) for a in activations]
            if len(acts) != len(Ws) - 1:
                raise ValueError(f"activations: expected {len(Ws) - 1} names (one per hidden layer), got {len(acts)}")
        self.weights, self.biases, self.acts = Ws, bs, acts
        self.dim_in, self.dim_out = Ws[0].shape[1], Ws[-1].shape[0]

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    # ------------------------------------------------------------ values
    def forward(self, x):
        """Return ``(f, zs, As)``: the output (n, k), the layer inputs z_0..z_{L-1} and pre-activations a_1..a_{L-1}."""
        z, zs, As = x, [x], []
        for W, b, act in zip(self.weights[:-1], self.biases[:-1], self.acts):
            a = z @ W.T + b
            z = act(a)
            As.append(a)
            zs.append(z)
        return z @ self.weights[-1].T + self.biases[-1], zs, As

    def __call__(self, x):
        """f(x), shape (n, k)."""
        return self.forward(x)[0]

    # ------------------------------------------------------- reverse pass
    def backward(self, zs, As, fbar, params: str = "none"):
        r"""Backprop an output cotangent ``fbar`` (n, k).

        Returns ``(x_bar, grads)``: :math:`\bar x = J_f^\top \bar f` (n, d) and, for
        ``params='per_point'`` a list of ``(dW, db)`` of shapes (n, out, in), (n, out);
        for ``params='sum'`` their sums over the batch; for ``'none'`` an empty list.
        """
        g = fbar                                    # ā_L = f̄
        grads = []
        for l in range(self.n_layers, 0, -1):       # layer l: W_l = weights[l-1], input zs[l-1]
            zin = zs[l - 1]
            if params == "per_point":
                grads.append((g[:, :, None] * zin[:, None, :], g))
            elif params == "sum":
                grads.append((g.T @ zin, g.sum(axis=0)))
            zbar = g @ self.weights[l - 1]          # z̄_{l-1} = W_lᵀ ā_l
            if l > 1:
                s1 = self.acts[l - 2].derivatives(As[l - 2], 1)[1]
                g = s1 * zbar                       # ā_{l-1} = σ'(a_{l-1}) ⊙ z̄_{l-1}
        grads.reverse()
        return zbar, grads

    def vjp_x(self, x, fbar):
        """J_f(x)ᵀ f̄ for each point, shape (n, d)."""
        _, zs, As = self.forward(x)
        return self.backward(zs, As, fbar)[0]

    def jacobian(self, x):
        """∂f_i/∂x_j, shape (n, k, d), by pushing the d unit tangents forward: ∇z_l = σ'(a_l) W_l ∇z_{l-1}."""
        n, d = x.shape
        _, zs, As = self.forward(x)
        T = np.broadcast_to(np.eye(d), (n, d, d))
        for l in range(self.n_layers - 1):
            T = self.acts[l].derivatives(As[l], 1)[1][:, None, :] * _right(T, self.weights[l].T)
        return np.swapaxes(_right(T, self.weights[-1].T), 1, 2)

    # ------------------------------------------------------ exact Hessian
    def hessian_contract(self, x, c):
        r"""Exact :math:`\sum_i c_i \nabla_x^2 f_i(x)` for a cotangent c of shape (n, k); returns (n, d, d).

        Notes
        -----
        :math:`c\cdot f` is a scalar network whose curvature sits in the nonlinearities:

        .. math:: \nabla_x^2 (c\cdot f) = \sum_{l<L} J_{a_l}^\top
                  \operatorname{diag}\!\big(\bar z_l \odot \sigma''(a_l)\big) J_{a_l},

        :math:`\bar z_l = \partial (c\cdot f)/\partial z_l` from the reverse pass and
        :math:`J_{a_l} = \partial a_l/\partial x` from the forward pass.
        """
        n, d = x.shape
        f, zs, As = self.forward(x)
        # reverse: z̄_l for every hidden layer
        zbars = [None] * (self.n_layers - 1)
        g = c
        for l in range(self.n_layers, 1, -1):
            zbar = g @ self.weights[l - 1]
            zbars[l - 2] = zbar
            g = self.acts[l - 2].derivatives(As[l - 2], 1)[1] * zbar
        H = np.zeros((n, d, d), dtype=np.result_type(x, c))
        W1 = self.weights[0]
        Ja = None                                               # J_{a_l} as (n, d, h): column j = ∇a_{l,j}
        for l in range(self.n_layers - 1):
            _, s1, s2 = self.acts[l].derivatives(As[l], 2)
            coef = zbars[l] * s2                                # z̄_l ⊙ σ''(a_l)
            if l == 0:
                # J_{a_1} = W_1 for every point: H += W_1ᵀ diag(coef) W_1 as one product
                H += (_rows(W1.T[None] * coef[:, None, :]) @ W1).reshape(n, d, d)
                Ja_next_in = s1[:, None, :] * W1.T[None]        # ∇z_1, (n, d, h)
            else:
                H += np.matmul(Ja * coef[:, None, :], np.swapaxes(Ja, 1, 2))
                Ja_next_in = s1[:, None, :] * Ja
            if l + 1 < self.n_layers - 1:
                Ja = _right(Ja_next_in, self.weights[l + 1].T)
        return H

    # ---------------------------------------------------- forward Laplacian
    def forward_laplacian(self, x, want_jacobian: bool = False):
        r"""Forward Laplacian: ``(f, lap_f, J)`` with :math:`\Delta f_i` of shape (n, k).

        ``J`` (shape (n, d, k), column i = ∇f_i) is returned when ``want_jacobian``,
        otherwise None.

        Notes
        -----
        Per layer, for :math:`a = Wz + b`, :math:`y = \sigma(a)`:
        :math:`\nabla a = W\nabla z`, :math:`\Delta a = W\Delta z`,
        :math:`\nabla y = \sigma'(a)\nabla a`,
        :math:`\Delta y = \sigma'(a)\Delta a + \sigma''(a)\lVert\nabla a\rVert^2`.
        The first layer is special: :math:`\nabla a_1 = W_1` is the same for every
        point and :math:`\Delta a_1 = 0`, so :math:`\Delta z_1 = \sigma''(a_1)\odot
        \lVert W_{1,j\cdot}\rVert^2` costs O(h) per point.  The last hidden layer's
        gradient is needed only as :math:`\lVert\nabla a\rVert^2` (unless the Jacobian is
        wanted), so it is never scaled by σ′.
        """
        n, d = x.shape
        W1, b1 = self.weights[0], self.biases[0]
        L = self.n_layers
        if L == 1:
            f = x @ W1.T + b1
            J = np.broadcast_to(W1.T, (n, d, W1.shape[0])).copy() if want_jacobian else None
            return f, np.zeros_like(f), J
        a = x @ W1.T + b1
        s0, s1, s2 = self.acts[0].derivatives(a, 2)
        z = s0
        lap = s2 * np.sum(W1 * W1, axis=1)                      # Δz_1 = σ''(a_1) ‖W_1 row‖²
        need_T = L > 2 or want_jacobian
        T = s1[:, None, :] * W1.T[None] if need_T else None     # ∇z_1 (n, d, h)
        for l in range(1, L - 1):
            W, b = self.weights[l], self.biases[l]
            a = z @ W.T + b
            Ta = _right(T, W.T)                                 # ∇a = W ∇z
            lap_a = lap @ W.T                                   # Δa = W Δz
            s0, s1, s2 = self.acts[l].derivatives(a, 2)
            z = s0
            lap = s1 * lap_a + s2 * np.einsum("ndh,ndh->nh", Ta, Ta)   # Δy = σ'Δa + σ''‖∇a‖²
            T = s1[:, None, :] * Ta if (l < L - 2 or want_jacobian) else None
        WL = self.weights[-1]
        f = z @ WL.T + self.biases[-1]
        J = _right(T, WL.T) if want_jacobian else None
        return f, lap @ WL.T, J

    # ------------------------------ reverse mode through tangent passes
    def tangent_forward(self, x, T0):
        r"""Forward pass carrying tangents and the summed second-order tangent.

        ``T0`` (n, m, d) holds m input directions :math:`t_1..t_m` per point.  Returns
        ``(f, Tf, Sf, cache)`` with :math:`T_f` (n, m, k) the directional derivatives
        :math:`J_f t_j` and :math:`S_f` (n, k) the summed second directional
        derivatives :math:`\sum_j t_j^\top\nabla^2 f\,t_j`; per layer
        :math:`\dot a = W\dot z`, :math:`\ddot a = W\ddot z`, :math:`\dot z = \sigma'\dot a`,
        :math:`\ddot z = \sigma'\ddot a + \sigma''\sum_j\dot a_j^2`, from
        :math:`\dot z_0 = T_0`, :math:`\ddot z_0 = 0`.  With :math:`T_0 = I` this is the
        forward Laplacian; with one direction v, :math:`S_f = v^\top\nabla^2 f\,v`.
        """
        z, T, S = x, T0, np.zeros_like(x)
        cache = []
        for W, b, act in zip(self.weights[:-1], self.biases[:-1], self.acts):
            a = z @ W.T + b
            At = _right(T, W.T)
            As = S @ W.T
            s = act.derivatives(a, 3)
            sq = np.einsum("nmh,nmh->nh", At, At)
            cache.append((z, T, S, At, As, sq, s))
            z, T, S = s[0], s[1][:, None, :] * At, s[1] * As + s[2] * sq
        WL = self.weights[-1]
        f = z @ WL.T + self.biases[-1]
        cache.append((z, T, S))
        return f, _right(T, WL.T), S @ WL.T, cache

    def tangent_vjp_params(self, cache, fbar, Tbar, Sbar):
        r"""Reverse mode through :meth:`tangent_forward`: :math:`\nabla_\theta\sum_n (\bar f\cdot f + \bar T\cdot T_f + \bar S\cdot S_f)`.

        Parameters
        ----------
        cache : from :meth:`tangent_forward`
        fbar : (n, k), Tbar : (n, m, k), Sbar : (n, k)
            Cotangents of the outputs f, :math:`T_f`, :math:`S_f` (held fixed).

        Returns
        -------
        list of (dW, db), summed over the batch.

        Notes
        -----
        Output layer (linear): :math:`\bar W_L = \sum_n \bar f z^\top + \sum_{n,j}\bar T_j \dot z_j^\top
        + \bar S \ddot z^\top`, :math:`\bar b_L = \sum_n\bar f`, and the cotangents move
        back by :math:`W_L^\top`.  A hidden layer, given :math:`\bar z, \bar T, \bar S` of its
        outputs :math:`z = \sigma(a)`, :math:`\dot z_j = \sigma'(a)\dot a_j`,
        :math:`\ddot z = \sigma'(a)\ddot a + \sigma''(a)\sum_j\dot a_j^2`:

        .. math::

            \bar{\ddot a} &= \sigma'\,\bar S,\qquad
            \bar{\dot a}_j = \sigma'\,\bar T_j + 2\sigma''\,\bar S\,\dot a_j,\\
            \bar a &= \sigma'\bar z + \sigma''\textstyle\sum_j \bar T_j\dot a_j
                     + \bar S\,(\sigma''\ddot a + \sigma'''\sum_j\dot a_j^2),

        then through the linear maps :math:`a = Wz+b`, :math:`\dot a = W\dot z`,
        :math:`\ddot a = W\ddot z`:
        :math:`\bar W = \sum_n \bar a z^\top + \sum_{n,j}\bar{\dot a}_j\dot z_j^\top + \bar{\ddot a}\ddot z^\top`,
        :math:`\bar b = \sum_n \bar a`, and :math:`\bar z, \bar T, \bar S \leftarrow
        W^\top\bar a, W^\top\bar{\dot a}_j, W^\top\bar{\ddot a}`.  Every product is
        elementwise per unit; σ‴ enters only through the Laplacian's σ″ term.
        """
        z, T, S = cache[-1]
        WL = self.weights[-1]
        grads = [(fbar.T @ z + np.tensordot(Tbar, T, axes=([0, 1], [0, 1])) + Sbar.T @ S, fbar.sum(axis=0))]
        zb, Tb, Sb = fbar @ WL, _right(Tbar, WL), Sbar @ WL
        for l in range(self.n_layers - 2, -1, -1):
            W = self.weights[l]
            z, T, S, At, As, sq, (s0, s1, s2, s3) = cache[l]
            As_bar = s1 * Sb
            At_bar = s1[:, None, :] * Tb + (2.0 * s2 * Sb)[:, None, :] * At
            a_bar = s1 * zb + s2 * np.einsum("nmh,nmh->nh", Tb, At) + Sb * (s2 * As + s3 * sq)
            gW = a_bar.T @ z + np.tensordot(At_bar, T, axes=([0, 1], [0, 1])) + As_bar.T @ S
            grads.append((gW, a_bar.sum(axis=0)))
            if l > 0:
                zb, Tb, Sb = a_bar @ W, _right(At_bar, W), As_bar @ W
        grads.reverse()
        return grads


# --------------------------------------------------------------- the energy
_KEY = re.compile(r"^([Wb])(\d+)$")


def init_layers(sizes, rng, bias_scale: float = 0.1) -> dict:
    r"""Random ``{"W1": ..., "b1": ..., ...}`` for layer sizes ``[h_0, ..., h_L]``.

    :math:`W_l \sim \mathcal N(0, 1/h_{l-1})` (unit-variance pre-activations for unit-variance
    inputs), :math:`b_l \sim \mathcal N(0, \text{bias\_scale}^2)`, drawn layer by layer.
    """
    rng = as_generator(rng)
    params = {}
    for i in range(1, len(sizes)):
        params[f"W{i}"] = rng.standard_normal((sizes[i], sizes[i - 1])) / np.sqrt(sizes[i - 1])
        params[f"b{i}"] = bias_scale * rng.standard_normal(sizes[i])
    return params


def _layers_from_params(params: dict, name: str = "params"):
    """Split ``{"W1", "b1", ..., "WL", "bL"}`` into ordered weight and bias lists."""
    found = {}
    for k in params:
        m = _KEY.match(k)
        if not m or int(m.group(2)) < 1:
            raise ValueError(f"{name}: unknown parameter {k!r}; expected W1, b1, ..., WL, bL")
        found[(m.group(1), int(m.group(2)))] = params[k]
    L = max((i for _, i in found), default=0)
    missing = [f"{t}{i}" for i in range(1, L + 1) for t in "Wb" if (t, i) not in found]
    if L < 2 or missing:
        raise ValueError(f"{name}: expected W1, b1, ..., WL, bL with at least one hidden layer (L >= 2); "
                         f"got {list(params)}" + (f", missing {missing}" if missing else ""))
    return [found[("W", i)] for i in range(1, L + 1)], [found[("b", i)] for i in range(1, L + 1)]


class FromParamDict:
    """Mixin of the network energies (:class:`MLPEnergy` and those of :mod:`~ebm_ref.models.designs`),
    whose constructor takes the layer arrays as keywords: ``from_params(params, **settings)`` is
    ``cls(**settings, **params)`` — ``{"W1": ..., "b1": ..., ..., "WL": ..., "bL": ...}`` for an
    MLP, ``{"enc.W1": ..., "dec.W1": ..., ...}`` for an autoencoder — after checking the dict."""

    @classmethod
    def from_params(cls, params: dict, **settings):
        if not isinstance(params, dict):
            raise ValueError(f"params: expected a dict of arrays, got {type(params).__name__}")
        return cls(**settings, **params)


class MLPEnergy(FromParamDict, Energy):
    r"""An MLP energy :math:`E_\theta(x)` with manual backprop and a forward Laplacian.

    Parameters
    ----------
    W1, b1, ..., WL, bL : ndarray
        Linear-layer layout: ``Wl`` of shape ``(h_l, h_{l-1})`` with :math:`h_0 = d`,
        ``bl`` of shape ``(h_l,)``; the last layer is scalar, ``WL`` ``(1, h_{L-1})``,
        ``bL`` ``(1,)``.  At least one hidden layer.
    activation : {"tanh", "softplus", "sigmoid", "silu"}
        σ, applied after every hidden layer.

    Notes
    -----
    Energy convention (:math:`p = e^{-E}/Z`):
    :math:`E(x) = W_L\,\sigma(\cdots\sigma(W_1 x + b_1)\cdots) + b_L`.

    * ``grad_x`` — backprop from :math:`\bar a_L = 1`: :math:`\bar z_{l-1} = W_l^\top \bar a_l`,
      :math:`\bar a_l = \sigma'(a_l)\bar z_l`, :math:`\nabla_x E = \bar z_0`.
    * ``grad_params`` — :math:`\partial E/\partial W_l = \bar a_l z_{l-1}^\top`,
      :math:`\partial E/\partial b_l = \bar a_l`.
    * ``hessian_x`` — :math:`\sum_{l<L} J_{a_l}^\top\operatorname{diag}(\bar z_l\sigma''(a_l))J_{a_l}`.
    * ``laplacian_x`` — the forward Laplacian (module docstring); no Hessian is formed.
    * ``grad_params_dot_grad_x`` — :math:`u\cdot\nabla_x E` is the forward tangent
      :math:`\dot a_L` of the pass :math:`\dot z_0 = u` (the same number as reversing
      the grad_x pass, computed forward); its θ-gradient is reverse mode through that pass.
    * ``grad_params_laplacian`` — reverse mode through the forward-Laplacian pass.
    * ``grad_params_hvp`` — :math:`v^\top\nabla^2E\,v = \ddot a_L` of the pass with
      :math:`\dot z_0 = v`, :math:`\ddot z_0 = 0`; reverse mode through it.

    The three primitives are :meth:`MLPMap.tangent_vjp_params` with output cotangents
    :math:`(\bar f, \bar T, \bar S) = (0, 1, 0)`, :math:`(0, 0, 1)`, :math:`(0, 0, 1)`.

    A tanh or sigmoid MLP energy is bounded, so :math:`e^{-E}` is not integrable on
    :math:`\mathbb R^d`: multiply by a confining expert
    (``ebm_ref.models.compose.ProductOfExperts`` with a Gaussian) to make a density.
    """

    supports_complex_step = True

    def __init__(self, activation="tanh", **params):
        Ws, bs = _layers_from_params(params)
        net = MLPMap(Ws, bs, activation)
        if net.dim_out != 1:
            raise ValueError(f"W{net.n_layers}: the last layer must map to a scalar, shape (1, h); "
                             f"got {net.weights[-1].shape}")
        ordered = {}
        for i, (W, b) in enumerate(zip(net.weights, net.biases), start=1):
            ordered[f"W{i}"], ordered[f"b{i}"] = W, b
        name = activation.name if isinstance(activation, Activation) else activation
        super().__init__(net.dim_in, ordered, activation=name)
        self._net = MLPMap([self._params[f"W{i}"] for i in range(1, net.n_layers + 1)],
                           [self._params[f"b{i}"] for i in range(1, net.n_layers + 1)], name)

    @classmethod
    def init(cls, sizes, rng, activation="tanh", bias_scale: float = 0.1) -> "MLPEnergy":
        r"""Random network with layer sizes ``[d, h_1, ..., h_{L-1}]`` (the scalar output is added).

        :math:`W_l \sim \mathcal N(0, 1/h_{l-1})` (unit-variance pre-activations for
        unit-variance inputs), :math:`b_l \sim \mathcal N(0, \text{bias\_scale}^2)`.
        """
        sizes = list(sizes)
        if len(sizes) < 2 or any(not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
            raise ValueError(f"sizes: expected [d, h_1, ...] of positive ints with at least one hidden layer, got {sizes}")
        return cls(activation=activation, **init_layers(sizes + [1], rng, bias_scale))

    @property
    def network(self) -> MLPMap:
        """The underlying :class:`MLPMap` (k = 1)."""
        return self._net

    @property
    def activation(self) -> str:
        return self._settings["activation"]

    def evaluation_arrays(self) -> dict:
        """Arrays for vectorised/compiled evaluation: ``weights`` (W₁, ..., W_L), ``biases`` (b₁, ..., b_L), ``activation`` name.

        E(x) = W_L σ(⋯σ(W₁x + b₁)⋯) + b_L; fresh float64 copies.
        """
        L = len(self._params) // 2
        return {"weights": tuple(np.array(self._params[f"W{i}"]) for i in range(1, L + 1)),
                "biases": tuple(np.array(self._params[f"b{i}"]) for i in range(1, L + 1)),
                "activation": self.activation}

    def _split(self, grads, per_point=False):
        out = {}
        for i, (gW, gb) in enumerate(grads, start=1):
            out[f"W{i}"], out[f"b{i}"] = gW, gb
        return out

    # energy and x-derivatives, side by side
    def _energy(self, x):
        return self._net(x)[:, 0]

    def _grad_x(self, x):
        f, zs, As = self._net.forward(x)
        return self._net.backward(zs, As, np.ones_like(f))[0]

    def _hessian_x(self, x):
        return self._net.hessian_contract(x, np.ones((x.shape[0], 1)))

    def _laplacian_x(self, x):
        return self._net.forward_laplacian(x)[1][:, 0]

    # parameter derivatives
    def _grad_params(self, x):
        f, zs, As = self._net.forward(x)
        return self._split(self._net.backward(zs, As, np.ones_like(f), params="per_point")[1], True)

    def _grad_params_sum(self, x, w):
        f, zs, As = self._net.forward(x)
        return self._split(self._net.backward(zs, As, w[:, None], params="sum")[1], False)

    def _tangent_grads(self, x, T0, first_order: bool):
        f, Tf, Sf, cache = self._net.tangent_forward(x, T0)
        n, m = T0.shape[:2]
        if first_order:
            fb, Tb, Sb = np.zeros((n, 1)), np.ones((n, m, 1)), np.zeros((n, 1))
        else:
            fb, Tb, Sb = np.zeros((n, 1)), np.zeros((n, m, 1)), np.ones((n, 1))
        return self._split(self._net.tangent_vjp_params(cache, fb, Tb, Sb), False)

    def _grad_params_dot_grad_x(self, x, u):
        return self._tangent_grads(x, u[:, None, :], True)

    def _grad_params_laplacian(self, x):
        n, d = x.shape
        return self._tangent_grads(x, np.broadcast_to(np.eye(d), (n, d, d)), False)

    def _grad_params_hvp(self, x, v):
        return self._tangent_grads(x, v[:, None, :], False)
