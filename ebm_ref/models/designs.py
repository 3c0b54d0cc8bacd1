r"""Two energy designs of the lecture: reconstruction error and a discriminator's output.

* :class:`ReconstructionEnergy` — :math:`E(x) = \lVert x - g(h(x))\rVert^2` for an
  autoencoder with encoder h and decoder g: points the autoencoder reproduces well
  have low energy.
* :class:`DiscriminatorEnergy` — a classifier :math:`D(x) = \operatorname{sigmoid}(s(x))`
  trained to tell data from noise; :math:`E = -\log D(x)` or
  :math:`E = -\operatorname{logit} D(x) = -\log\frac{D}{1-D} = -s(x)`.

Both are built from :class:`ebm_ref.models.mlp.MLPMap` and keep the whole energy
contract, including the second-order parameter primitives, by choosing the output
cotangents of :meth:`ebm_ref.models.mlp.MLPMap.tangent_vjp_params`.

Neither design is normalizable by construction.  With a bounded decoder (tanh hidden
units, linear output) :math:`E \sim \lVert x\rVert^2` far away, so :math:`e^{-E}` is
integrable; with unbounded units it need not be.  A tanh discriminator's :math:`-\log D`
and :math:`-s` are bounded, so :math:`e^{-E}` is *not* integrable on
:math:`\mathbb R^d` — only on a bounded domain, or after multiplying by a confining
expert (``ebm_ref.models.compose.ProductOfExperts``).
"""
from __future__ import annotations

import re

import numpy as np

from .._validate import as_generator, check_positive_int
from ..energy import Energy
from ..numerics.special import sigmoid, softplus
from .mlp import Activation, FromParamDict, MLPMap, _layers_from_params

__all__ = ["ReconstructionEnergy", "DiscriminatorEnergy"]

_PREFIX = re.compile(r"^(enc|dec)\.(.+)$")


def _act_name(activation):
    return activation.name if isinstance(activation, Activation) else activation


def _random_layers(sizes, rng, bias_scale, prefix):
    out = {}
    for i in range(1, len(sizes)):
        out[f"{prefix}W{i}"] = rng.standard_normal((sizes[i], sizes[i - 1])) / np.sqrt(sizes[i - 1])
        out[f"{prefix}b{i}"] = bias_scale * rng.standard_normal(sizes[i])
    return out


class ReconstructionEnergy(FromParamDict, Energy):
    r"""Autoencoder reconstruction energy :math:`E(x) = \lVert x - g(h(x))\rVert^2`.

    Parameters
    ----------
    activation : str
        σ of every hidden layer of encoder and decoder (tanh, softplus, sigmoid, silu).
    enc.W1, enc.b1, ..., enc.WLe, enc.bLe : ndarray
        Encoder :math:`h:\mathbb R^d\to\mathbb R^k` (linear-layer layout, linear output: the code).
    dec.W1, dec.b1, ..., dec.WLd, dec.bLd : ndarray
        Decoder :math:`g:\mathbb R^k\to\mathbb R^d` (linear output).

    Notes
    -----
    Energy convention.  With :math:`f = g\circ h`, :math:`r = x - f(x)`,
    :math:`J = \partial f/\partial x` and :math:`M = I - J`:

    .. math::

        E = r^\top r,\qquad \nabla_x E = 2 M^\top r = 2(r - J^\top r),\qquad
        \nabla_x^2 E = 2 M^\top M - 2\sum_i r_i \nabla_x^2 f_i,

        \Delta E = 2\lVert M\rVert_F^2 - 2\, r\cdot\Delta f,\qquad
        \nabla_\theta E = -2\,(\partial f/\partial\theta)^\top r .

    :math:`J^\top r` is backprop with output cotangent r; :math:`\sum_i r_i\nabla^2 f_i`
    is :meth:`MLPMap.hessian_contract`; Δf the forward Laplacian.  The second-order
    primitives are reverse mode through the tangent pass with output cotangents
    (value, tangent, second-order):

    * :math:`u\cdot\nabla E = 2(u - Ju)\cdot r`: :math:`(-2(u - Ju),\ -2r,\ 0)`;
    * :math:`\Delta E`: :math:`(2\Delta f,\ -4M,\ -2r)` with tangents :math:`I`;
    * :math:`v^\top\nabla^2E\,v = 2\lVert v - Jv\rVert^2 - 2r\cdot\ddot f_v`:
      :math:`(2\ddot f_v,\ -4(v - Jv),\ -2r)`.

    The code layer is linear (the encoder's last layer feeds the decoder's first).
    """

    supports_complex_step = True

    def __init__(self, activation="tanh", **params):
        enc, dec = {}, {}
        for key, v in params.items():
            m = _PREFIX.match(key)
            if not m:
                raise ValueError(f"params: unknown parameter {key!r}; expected enc.W1, enc.b1, ..., dec.W1, dec.b1, ...")
            (enc if m.group(1) == "enc" else dec)[m.group(2)] = v
        eW, eb = _layers_from_params(enc, "encoder parameters")
        dW, db = _layers_from_params(dec, "decoder parameters")
        act = _act_name(activation)
        enc_net, dec_net = MLPMap(eW, eb, act), MLPMap(dW, db, act)
        if dec_net.dim_in != enc_net.dim_out:
            raise ValueError(f"dec.W1: expected {enc_net.dim_out} input columns (the code size), got {dec_net.weights[0].shape}")
        if dec_net.dim_out != enc_net.dim_in:
            raise ValueError(f"dec.W{dec_net.n_layers}: expected {enc_net.dim_in} outputs (the data dimension), "
                             f"got {dec_net.weights[-1].shape}")
        ordered = {}
        for tag, net in (("enc", enc_net), ("dec", dec_net)):
            for i, (W, b) in enumerate(zip(net.weights, net.biases), start=1):
                ordered[f"{tag}.W{i}"], ordered[f"{tag}.b{i}"] = W, b
        super().__init__(enc_net.dim_in, ordered, activation=act)
        self._Le, self._Ld = enc_net.n_layers, dec_net.n_layers
        acts = [act] * (self._Le - 1) + ["identity"] + [act] * (self._Ld - 1)
        self._net = MLPMap(enc_net.weights + dec_net.weights, enc_net.biases + dec_net.biases, acts)
        self._enc, self._dec = enc_net, dec_net

    @classmethod
    def init(cls, d, encoder_hidden, code_dim, decoder_hidden, rng, activation="tanh",
             bias_scale: float = 0.1) -> "ReconstructionEnergy":
        """Random autoencoder d → encoder_hidden → code_dim → decoder_hidden → d, W ~ N(0, 1/fan_in)."""
        d = check_positive_int(d, "d")
        code_dim = check_positive_int(code_dim, "code_dim")
        enc_sizes = [d] + [check_positive_int(h, "encoder_hidden") for h in encoder_hidden] + [code_dim]
        dec_sizes = [code_dim] + [check_positive_int(h, "decoder_hidden") for h in decoder_hidden] + [d]
        if len(enc_sizes) < 3 or len(dec_sizes) < 3:
            raise ValueError("encoder_hidden, decoder_hidden: each needs at least one hidden layer")
        rng = as_generator(rng)
        return cls(activation=activation, **_random_layers(enc_sizes, rng, bias_scale, "enc."),
                   **_random_layers(dec_sizes, rng, bias_scale, "dec."))

    @property
    def activation(self) -> str:
        return self._settings["activation"]

    @property
    def code_dim(self) -> int:
        return self._enc.dim_out

    def encode(self, x) -> np.ndarray:
        """h(x), shape (n, k)."""
        return self._enc(self._x(x))

    def decode(self, code) -> np.ndarray:
        """g(code), shape (n, d)."""
        code = np.asarray(code, dtype=np.float64)
        if code.ndim != 2 or code.shape[1] != self.code_dim:
            raise ValueError(f"code: expected shape (n, {self.code_dim}), got {code.shape}")
        return self._dec(code)

    def reconstruct(self, x) -> np.ndarray:
        """g(h(x)), shape (n, d)."""
        return self._net(self._x(x))

    def _split(self, grads):
        out = {}
        for i, (gW, gb) in enumerate(grads):
            tag, j = ("enc", i + 1) if i < self._Le else ("dec", i + 1 - self._Le)
            out[f"{tag}.W{j}"], out[f"{tag}.b{j}"] = gW, gb
        return out

    # energy and x-derivatives
    def _energy(self, x):
        r = x - self._net(x)
        return np.sum(r * r, axis=1)

    def _grad_x(self, x):
        f, zs, As = self._net.forward(x)
        r = x - f
        return 2.0 * (r - self._net.backward(zs, As, r)[0])

    def _hessian_x(self, x):
        d = self.dim
        r = x - self._net(x)
        M = np.eye(d) - self._net.jacobian(x)
        return 2.0 * np.einsum("nki,nkj->nij", M, M) - 2.0 * self._net.hessian_contract(x, r)

    def _laplacian_x(self, x):
        f, lapf, Jt = self._net.forward_laplacian(x, want_jacobian=True)
        M = np.eye(self.dim) - Jt
        return 2.0 * np.einsum("nij,nij->n", M, M) - 2.0 * np.sum((x - f) * lapf, axis=1)

    # parameter derivatives
    def _grad_params(self, x):
        f, zs, As = self._net.forward(x)
        return self._split(self._net.backward(zs, As, -2.0 * (x - f), params="per_point")[1])

    def _grad_params_sum(self, x, w):
        f, zs, As = self._net.forward(x)
        return self._split(self._net.backward(zs, As, -2.0 * w[:, None] * (x - f), params="sum")[1])

    def _grad_params_dot_grad_x(self, x, u):
        f, Tf, Sf, cache = self._net.tangent_forward(x, u[:, None, :])
        r = x - f
        return self._split(self._net.tangent_vjp_params(cache, -2.0 * (u - Tf[:, 0]), (-2.0 * r)[:, None, :],
                                                         np.zeros_like(Sf)))

    def _grad_params_laplacian(self, x):
        n, d = x.shape
        f, Tf, Sf, cache = self._net.tangent_forward(x, np.broadcast_to(np.eye(d), (n, d, d)))
        return self._split(self._net.tangent_vjp_params(cache, 2.0 * Sf, -4.0 * (np.eye(d) - Tf), -2.0 * (x - f)))

    def _grad_params_hvp(self, x, v):
        f, Tf, Sf, cache = self._net.tangent_forward(x, v[:, None, :])
        return self._split(self._net.tangent_vjp_params(cache, 2.0 * Sf, (-4.0 * (v - Tf[:, 0]))[:, None, :],
                                                         -2.0 * (x - f)))


class DiscriminatorEnergy(FromParamDict, Energy):
    r"""Energy from a discriminator :math:`D(x) = \operatorname{sigmoid}(s(x))`, s a scalar MLP.

    Parameters
    ----------
    form : {"neg_log", "neg_logit"}
        ``"neg_log"``: :math:`E = -\log D(x) = \operatorname{softplus}(-s(x))`;
        ``"neg_logit"``: :math:`E = -\log\frac{D(x)}{1-D(x)} = -s(x)`.
    activation : str
        σ of the hidden layers of s.
    W1, b1, ..., WL, bL : ndarray
        The logit network s, laid out as in ``ebm_ref.models.mlp.MLPEnergy`` (scalar output).

    Notes
    -----
    Energy convention.  :math:`E = \varphi(s(x))` with

    ========  ==========================  ============  ====================  ==========================
    form      φ(s)                        φ′            φ″                    φ‴
    ========  ==========================  ============  ====================  ==========================
    neg_log   softplus(−s)                −(1 − D)      D(1 − D)              D(1 − D)(1 − 2D)
    neg_logit −s                          −1            0                     0
    ========  ==========================  ============  ====================  ==========================

    Chain rule: :math:`\nabla E = \varphi'\nabla s`,
    :math:`\nabla^2 E = \varphi''\nabla s\nabla s^\top + \varphi'\nabla^2 s`,
    :math:`\Delta E = \varphi''\lVert\nabla s\rVert^2 + \varphi'\Delta s`,
    :math:`\nabla_\theta E = \varphi'\nabla_\theta s`.  Second-order primitives, by
    reverse mode through the tangent pass with cotangents (value, tangent, second-order):
    :math:`u\cdot\nabla E = \varphi'\dot s`: :math:`(\varphi''\dot s,\ \varphi',\ 0)`;
    :math:`\Delta E`: :math:`(\varphi'''\lVert\nabla s\rVert^2 + \varphi''\Delta s,\ 2\varphi''\nabla s,\ \varphi')`;
    :math:`v^\top\nabla^2E v = \varphi''\dot s^2 + \varphi'\ddot s`:
    :math:`(\varphi'''\dot s^2 + \varphi''\ddot s,\ 2\varphi''\dot s,\ \varphi')`.

    The two forms differ by :math:`-\log D - (-\operatorname{logit} D) = -\log(1 - D) \ge 0`:
    −log D saturates at 0 where D → 1, −logit D keeps decreasing.
    """

    supports_complex_step = True
    FORMS = ("neg_log", "neg_logit")

    def __init__(self, form="neg_log", activation="tanh", **params):
        if form not in self.FORMS:
            raise ValueError(f"form: expected one of {self.FORMS}, got {form!r}")
        Ws, bs = _layers_from_params(params)
        net = MLPMap(Ws, bs, _act_name(activation))
        if net.dim_out != 1:
            raise ValueError(f"W{net.n_layers}: the logit network must end in a scalar, shape (1, h); got {net.weights[-1].shape}")
        ordered = {}
        for i, (W, b) in enumerate(zip(net.weights, net.biases), start=1):
            ordered[f"W{i}"], ordered[f"b{i}"] = W, b
        super().__init__(net.dim_in, ordered, form=form, activation=_act_name(activation))
        self._net = net

    @classmethod
    def init(cls, sizes, rng, form="neg_log", activation="tanh", bias_scale: float = 0.1) -> "DiscriminatorEnergy":
        """Random logit network with sizes ``[d, h_1, ...]`` (scalar output added)."""
        from .mlp import MLPEnergy

        return cls(form=form, activation=activation, **MLPEnergy.init(sizes, rng, activation, bias_scale).params)

    @property
    def form(self) -> str:
        return self._settings["form"]

    def logit(self, x) -> np.ndarray:
        """s(x), shape (n,)."""
        return self._net(self._x(x))[:, 0]

    def prob(self, x) -> np.ndarray:
        """D(x) = sigmoid(s(x)), the probability that x is data; shape (n,)."""
        return sigmoid(self.logit(x))

    def _phi(self, s, order):
        if self.form == "neg_logit":
            return [-s, -np.ones_like(s), np.zeros_like(s), np.zeros_like(s)][: order + 1]
        D, Dm = sigmoid(s), sigmoid(-s)             # D and 1 − D, each computed stably
        q = D * Dm
        return [softplus(-s), -Dm, q, q * (Dm - D)][: order + 1]

    def _split(self, grads):
        out = {}
        for i, (gW, gb) in enumerate(grads, start=1):
            out[f"W{i}"], out[f"b{i}"] = gW, gb
        return out

    def _energy(self, x):
        return self._phi(self._net(x)[:, 0], 0)[0]

    def _grad_x(self, x):
        f, zs, As = self._net.forward(x)
        p1 = self._phi(f[:, 0], 1)[1]
        return self._net.backward(zs, As, p1[:, None])[0]

    def _hessian_x(self, x):
        f, zs, As = self._net.forward(x)
        _, p1, p2 = self._phi(f[:, 0], 2)
        gs = self._net.backward(zs, As, np.ones_like(f))[0]
        return p2[:, None, None] * np.einsum("ni,nj->nij", gs, gs) + self._net.hessian_contract(x, p1[:, None])

    def _laplacian_x(self, x):
        f, lap, J = self._net.forward_laplacian(x, want_jacobian=True)
        _, p1, p2 = self._phi(f[:, 0], 2)
        return p2 * np.sum(J[:, :, 0] ** 2, axis=1) + p1 * lap[:, 0]

    def _grad_params(self, x):
        f, zs, As = self._net.forward(x)
        return self._split(self._net.backward(zs, As, self._phi(f[:, 0], 1)[1][:, None], params="per_point")[1])

    def _grad_params_sum(self, x, w):
        f, zs, As = self._net.forward(x)
        return self._split(self._net.backward(zs, As, (w * self._phi(f[:, 0], 1)[1])[:, None], params="sum")[1])

    def _grad_params_dot_grad_x(self, x, u):
        f, Tf, Sf, cache = self._net.tangent_forward(x, u[:, None, :])
        _, p1, p2 = self._phi(f[:, 0], 2)
        sdot = Tf[:, 0, 0]
        return self._split(self._net.tangent_vjp_params(cache, (p2 * sdot)[:, None], p1[:, None, None], np.zeros_like(Sf)))

    def _grad_params_laplacian(self, x):
        n, d = x.shape
        f, Tf, Sf, cache = self._net.tangent_forward(x, np.broadcast_to(np.eye(d), (n, d, d)))
        _, p1, p2, p3 = self._phi(f[:, 0], 3)
        g2 = np.sum(Tf[:, :, 0] ** 2, axis=1)
        fbar = (p3 * g2 + p2 * Sf[:, 0])[:, None]
        return self._split(self._net.tangent_vjp_params(cache, fbar, 2.0 * p2[:, None, None] * Tf, p1[:, None]))

    def _grad_params_hvp(self, x, v):
        f, Tf, Sf, cache = self._net.tangent_forward(x, v[:, None, :])
        _, p1, p2, p3 = self._phi(f[:, 0], 3)
        sdot, sddot = Tf[:, 0, 0], Sf[:, 0]
        fbar = (p3 * sdot**2 + p2 * sddot)[:, None]
        return self._split(self._net.tangent_vjp_params(cache, fbar, (2.0 * p2 * sdot)[:, None, None], p1[:, None]))
