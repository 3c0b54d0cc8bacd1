r"""Restricted Boltzmann machines and a deep belief net built from them.

* :class:`BernoulliRBM` — binary visible v ∈ {0,1}^V, binary hidden h ∈ {0,1}^H,

  .. math:: E(v, h) = -v^\top W h - b^\top v - c^\top h .

* :class:`GaussianBernoulliRBM` — real visible v ∈ ℝ^V with per-unit scales σ,

  .. math:: E(v, h) = \sum_i \frac{(v_i - b_i)^2}{2\sigma_i^2} - c^\top h
                      - \sum_{ij} \frac{v_i}{\sigma_i^2} W_{ij} h_j

  (the form of Cho, Ilin & Raiko 2011; v | h is then N(b + W h, diag σ²)).

* :class:`DeepBeliefNet` — a stack of Bernoulli RBMs: the top two layers form an
  undirected RBM, the layers below are directed sigmoid layers p(h_{k-1} | h_k).

Energy convention throughout: p ∝ e^{−E}.  Each RBM is an :class:`~ebm_ref.energy.Energy`
whose ``energy`` is the *free energy* of the visible units,

.. math::

    F(v) = -\log\sum_h e^{-E(v,h)},\qquad p(v) = e^{-F(v)}/Z,\qquad Z = \sum_v\sum_h e^{-E(v,h)} .

Because there are no hidden–hidden couplings, the sum over h factorizes over the hidden
units, each binary unit contributing :math:`1 + e^{a_j}`, so

.. math::

    F(v) = (\text{visible part}) - \sum_j \operatorname{softplus}(a_j),\qquad
    a_j = c_j + \sum_i s_i v_i W_{ij},

with :math:`s_i = 1` (Bernoulli) or :math:`s_i = 1/\sigma_i^2` (Gaussian–Bernoulli).
The derivatives of the shared softplus term :math:`T(v) = -\sum_j \operatorname{softplus}(a_j)`
are written once (the ``_soft_*`` functions below, with σ(·) the logistic function,
σ' = σ(1−σ), σ'' = σ'(1−2σ)):

.. math::

    \nabla_v T = -s\odot(W\sigma(a)),\qquad
    \nabla_v^2 T = -\operatorname{diag}(s) W \operatorname{diag}(\sigma'(a)) W^\top \operatorname{diag}(s),\qquad
    \operatorname{tr}\nabla_v^2 T = -\sum_j \sigma'(a_j) \sum_i s_i^2 W_{ij}^2 .

Exact computations enumerate the *smaller* layer with
:func:`ebm_ref.partition.log_partition_enumerate` (refused above
:data:`ebm_ref.partition.MAX_ENUMERATE_DIM` units).

References
----------
Hinton (2002), *Training products of experts by minimizing contrastive divergence*.
Hinton, Osindero & Teh (2006), *A fast learning algorithm for deep belief nets*.
Cho, Ilin & Raiko (2011), *Improved learning of Gaussian–Bernoulli restricted Boltzmann machines*.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .._validate import as_batch, as_float_array, as_generator, check_binary, check_positive_int
from ..energy import Energy
from ..numerics.enumeration import MAX_ENUMERATE_DIM, enumerate_states, expectation_of_terms, log_partition_enumerate
from ..numerics.special import LOG_2PI, logsumexp, sigmoid, softplus, softplus_and_sigmoid

__all__ = [
    "BernoulliRBM",
    "GaussianBernoulliRBM",
    "DeepBeliefNet",
]



# ------------------------------------------- the shared softplus term T(v)
# T(v) = -Σ_j softplus(a_j),  a = c + (s ⊙ v) W.  Every function returns the
# derivative of T (or of a sum over the batch built from T) in x, W, c and s.
def _soft_pre(v, W, c, s):
    return c + (v * s) @ W


def _soft_value(a):
    return -np.sum(softplus(a), axis=1)


def _soft_grad_x(a, W, s):
    return -(sigmoid(a) @ W.T) * s                          # −s ⊙ W σ(a)


def _soft_hessian_x(a, W, s):
    p = sigmoid(a)
    Ws = W * s[:, None]                                      # diag(s) W
    return -np.einsum("ij,nj,kj->nik", Ws, p * (1.0 - p), Ws)


def _soft_laplacian_x(a, W, s):
    p = sigmoid(a)
    q = np.sum((W * s[:, None]) ** 2, axis=0)                # q_j = Σ_i s_i² W_ij²
    return -(p * (1.0 - p)) @ q


def _soft_grad_params(v, a, W, s):
    """∂T/∂(W, c, s) per point."""
    p = sigmoid(a)
    return {
        "W": -(v * s)[:, :, None] * p[:, None, :],           # ∂a_j/∂W_ij = s_i v_i
        "c": -p,
        "s": -v * (p @ W.T),                                  # ∂a_j/∂s_i = W_ij v_i
    }


def _soft_grad_params_sum(v, a, W, s, w):
    p = sigmoid(a) * w[:, None]
    return {"W": -(v * s).T @ p, "c": -np.sum(p, axis=0), "s": -np.sum(v * (p @ W.T), axis=0)}


def _soft_dot_grad_x(v, a, W, s, u):
    r"""∇θ Σ_n u_n·∇_v T(v_n) with r_nj = Σ_i u_ni s_i W_ij:  value −Σ σ(a) r."""
    p = sigmoid(a)
    dp = p * (1.0 - p)
    r = (u * s) @ W
    dpr = dp * r
    return {
        "W": -((u * s).T @ p + (v * s).T @ dpr),
        "c": -np.sum(dpr, axis=0),
        "s": -(np.sum(u * (p @ W.T), axis=0) + np.sum(v * (dpr @ W.T), axis=0)),
    }


def _soft_grad_laplacian(v, a, W, s):
    r"""∇θ Σ_n tr∇²T(v_n);  value −Σ_n Σ_j σ'(a_nj) q_j,  q_j = Σ_i s_i² W_ij²."""
    p = sigmoid(a)
    dp = p * (1.0 - p)
    d2p = dp * (1.0 - 2.0 * p)
    q = np.sum((W * s[:, None]) ** 2, axis=0)
    sdp = np.sum(dp, axis=0)                                   # Σ_n σ'(a_nj)
    d2pq = d2p * q
    return {
        "W": -((v * s).T @ d2pq + 2.0 * (s**2)[:, None] * W * sdp),
        "c": -np.sum(d2pq, axis=0),
        "s": -(np.sum(v * (d2pq @ W.T), axis=0) + 2.0 * s * ((W**2) @ sdp)),
    }


def _soft_grad_hvp(v, a, W, s, z):
    r"""∇θ Σ_n z_nᵀ∇²T(v_n) z_n;  value −Σ_n Σ_j σ'(a_nj) t_nj²,  t = (s ⊙ z) W."""
    p = sigmoid(a)
    dp = p * (1.0 - p)
    d2p = dp * (1.0 - 2.0 * p)
    t = (z * s) @ W
    d2pt2 = d2p * t**2
    dpt = dp * t
    return {
        "W": -((v * s).T @ d2pt2 + 2.0 * (z * s).T @ dpt),
        "c": -np.sum(d2pt2, axis=0),
        "s": -(np.sum(v * (d2pt2 @ W.T), axis=0) + 2.0 * np.sum(z * (dpt @ W.T), axis=0)),
    }


# ------------------------------------------------------ enumeration helper
def _check_layer_size(d: int, what: str) -> None:
    if d > MAX_ENUMERATE_DIM:
        raise ValueError(
            f"{what}: the smaller layer has {d} units; exact enumeration of 2^{d} states is "
            f"refused (limit {MAX_ENUMERATE_DIM}); estimate log Z with partition.ais instead"
        )


def _sample_from_log_weights(logw: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    p = np.exp(logw - logsumexp(logw))
    p /= p.sum()
    return rng.choice(p.size, size=n, p=p)


def _rbm_params(W, b, c):
    W = as_float_array(W, "W")
    if W.ndim != 2 or W.shape[0] == 0 or W.shape[1] == 0:
        raise ValueError(f"W: expected shape (n_visible, n_hidden) with both >= 1, got {W.shape}")
    V, H = W.shape
    b = as_float_array(b, "b", (V,))
    c = as_float_array(c, "c", (H,))
    for name, a in (("W", W), ("b", b), ("c", c)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name}: contains NaN or inf")
    return W, b, c


def _beta_column(beta, n: int):
    """Inverse temperature(s) of a tempered conditional: a scalar, or one β per row as a column (n, 1)."""
    b = as_float_array(beta, "beta")
    if b.ndim > 1 or (b.ndim == 1 and b.shape != (n,)):
        raise ValueError(f"beta: expected a scalar or shape ({n},) (one β per row), got shape {b.shape}")
    if not np.all(np.isfinite(b)) or np.any(b <= 0) or np.any(b > 1):
        raise ValueError(f"beta: every β must lie in (0, 1], got {np.ravel(b)[:3].tolist()}")
    return b[:, None] if b.ndim else b


# ===================================================================== RBM
class _TwoLayers:
    """Sizes of an RBM's two layers (W has shape (V, H)) and the check of a hidden batch (0/1, shape (n, H))."""

    @property
    def n_visible(self) -> int:
        return self._params["W"].shape[0]

    @property
    def n_hidden(self) -> int:
        return self._params["W"].shape[1]

    def _h(self, h, name: str = "h") -> np.ndarray:
        return check_binary(as_batch(h, self.n_hidden, name), name)


class BernoulliRBM(_TwoLayers, Energy):
    r"""Bernoulli–Bernoulli restricted Boltzmann machine.

    Parameters
    ----------
    W : ndarray, shape (V, H)
        Couplings :math:`W_{ij}` between visible unit i and hidden unit j.
    b : ndarray, shape (V,)
        Visible biases.
    c : ndarray, shape (H,)
        Hidden biases.
    relaxed : bool, default False
        If False, every method that takes visible states checks they are 0/1
        (``ValueError`` otherwise).  If True, ``energy`` and its derivatives accept
        any real (or complex, for the complex step) v: the free-energy formula below
        is a smooth function of v and is used as is.  The derivative contract
        (``grad_x``, ``hessian_x``, …, checked by ``check_energy``) is that of this
        continuous extension; it has no probabilistic meaning off {0,1}^V.  Use
        :meth:`as_relaxed` to get the relaxed copy.

    Notes
    -----
    Energy convention (p ∝ e^{−E}):

    .. math::

        E(v,h) = -v^\top W h - b^\top v - c^\top h,

        F(v) = -b^\top v - \sum_j \operatorname{softplus}(a_j),\quad a = c + W^\top v,

        p(h_j = 1\mid v) = \sigma(a_j),\qquad p(v_i = 1\mid h) = \sigma(b_i + (W h)_i),

        \nabla_v F = -b - W\sigma(a),\qquad \nabla_v^2 F = -W\operatorname{diag}(\sigma'(a))W^\top,

        \nabla_W F = -v\,\sigma(a)^\top,\quad \nabla_b F = -v,\quad \nabla_c F = -\sigma(a).

    By the symmetry of E in v and h, the hidden marginal has the free energy
    :math:`F_h(h) = -c^\top h - \sum_i\operatorname{softplus}(b_i + (Wh)_i)`.
    """

    #: F is written with analytic operations (softplus by branch on Re a), so the
    #: relaxed model differentiates exactly by the complex step.
    supports_complex_step = True

    def __init__(self, W, b, c, relaxed: bool = False):
        W, b, c = _rbm_params(W, b, c)
        if not isinstance(relaxed, (bool, np.bool_)):
            raise ValueError(f"relaxed: expected True or False, got {relaxed!r}")
        super().__init__(W.shape[0], {"W": W, "b": b, "c": c}, relaxed=bool(relaxed))

    @property
    def relaxed(self) -> bool:
        return self._settings["relaxed"]

    def as_relaxed(self) -> "BernoulliRBM":
        """The same RBM whose free energy accepts real-valued v (for derivative checks)."""
        return type(self)(**self._params, relaxed=True)

    def _x(self, x, name: str = "x") -> np.ndarray:
        x = super()._x(x, name)
        if not self.relaxed:
            check_binary(x, name)
        return x

    def _v(self, v, name: str = "v") -> np.ndarray:
        return check_binary(as_batch(v, self.n_visible, name), name)

    @property
    def _s(self):
        return np.ones(self.n_visible)

    # ---------------------------------------------- joint energy, conditionals
    def joint_energy(self, v, h) -> np.ndarray:
        """E(v, h) = −vᵀWh − bᵀv − cᵀh for batches v (n, V), h (n, H) of 0/1; returns (n,)."""
        v, h = self._v(v), self._h(h)
        if v.shape[0] != h.shape[0]:
            raise ValueError(f"h: expected {v.shape[0]} rows to match v, got {h.shape[0]}")
        W, b, c = self._params["W"], self._params["b"], self._params["c"]
        return -np.einsum("ni,ij,nj->n", v, W, h) - v @ b - h @ c

    def _prob_h(self, v):
        return sigmoid(self._params["c"] + v @ self._params["W"])

    def _prob_v(self, h):
        return sigmoid(self._params["b"] + h @ self._params["W"].T)

    def prob_h_given_v(self, v) -> np.ndarray:
        """p(h_j = 1 | v) = σ(c_j + (vᵀW)_j), shape (n, H)."""
        return self._prob_h(self._v(v))

    def prob_v_given_h(self, h) -> np.ndarray:
        """p(v_i = 1 | h) = σ(b_i + (W h)_i), shape (n, V)."""
        return self._prob_v(self._h(h))

    def sample_h_given_v(self, v, rng, *, beta=None) -> np.ndarray:
        r"""h ~ p_β(h | v): independent Bernoulli draws, shape (n, H) of 0/1 floats.

        With ``beta`` (a scalar, or one β per row of shape (n,), each in (0, 1]) the draw is
        from the tempered joint :math:`e^{-\beta E(v,h)}`,
        :math:`p_\beta(h_j = 1\mid v) = \sigma(\beta(c_j + (v^\top W)_j))`; ``None`` is β = 1.
        Random numbers: uniforms u of shape (n, H) from ``rng``, :math:`h_j = [u_j < p_j]`.
        """
        v = self._v(v)
        if beta is None:
            p = self._prob_h(v)
        else:
            p = sigmoid(_beta_column(beta, v.shape[0]) * (self._params["c"] + v @ self._params["W"]))
        return (as_generator(rng).random(p.shape) < p).astype(np.float64)

    def sample_v_given_h(self, h, rng, *, beta=None) -> np.ndarray:
        r"""v ~ p_β(v | h): independent Bernoulli draws, shape (n, V) of 0/1 floats.

        :math:`p_\beta(v_i = 1\mid h) = \sigma(\beta(b_i + (W h)_i))`, ``beta`` as in
        :meth:`sample_h_given_v`.  Random numbers: uniforms of shape (n, V).
        """
        h = self._h(h)
        if beta is None:
            p = self._prob_v(h)
        else:
            p = sigmoid(_beta_column(beta, h.shape[0]) * (self._params["b"] + h @ self._params["W"].T))
        return (as_generator(rng).random(p.shape) < p).astype(np.float64)

    def layer_arrays(self) -> tuple:
        """``(W, b, c)`` as fresh C-contiguous float64 arrays: what a vectorised or compiled sweep needs.

        W has shape (V, H), b (V,), c (H,); :math:`E(v, h) = -v^\top W h - b^\top v - c^\top h`.
        """
        return tuple(np.array(self._params[k], dtype=np.float64, order="C", copy=True) for k in ("W", "b", "c"))

    # ------------------------------------------ free energy and derivatives
    def _a(self, x):
        return _soft_pre(x, self._params["W"], self._params["c"], 1.0)

    def _energy(self, x):
        return -x @ self._params["b"] + _soft_value(self._a(x))

    def _grad_x(self, x):
        return -self._params["b"] + _soft_grad_x(self._a(x), self._params["W"], self._s)

    def _hessian_x(self, x):
        return _soft_hessian_x(self._a(x), self._params["W"], self._s)

    def _laplacian_x(self, x):
        return _soft_laplacian_x(self._a(x), self._params["W"], self._s)

    def _grad_params(self, x):
        g = _soft_grad_params(x, self._a(x), self._params["W"], self._s)
        return {"W": g["W"], "b": -x, "c": g["c"]}

    def _grad_params_sum(self, x, w):
        g = _soft_grad_params_sum(x, self._a(x), self._params["W"], self._s, w)
        return {"W": g["W"], "b": -(w @ x), "c": g["c"]}

    def _grad_params_dot_grad_x(self, x, u):
        g = _soft_dot_grad_x(x, self._a(x), self._params["W"], self._s, u)
        return {"W": g["W"], "b": -np.sum(u, axis=0), "c": g["c"]}

    def _grad_params_laplacian(self, x):
        g = _soft_grad_laplacian(x, self._a(x), self._params["W"], self._s)
        return {"W": g["W"], "b": np.zeros(self.n_visible), "c": g["c"]}

    def _grad_params_hvp(self, x, v):
        g = _soft_grad_hvp(x, self._a(x), self._params["W"], self._s, v)
        return {"W": g["W"], "b": np.zeros(self.n_visible), "c": g["c"]}

    def _free_energy_hidden(self, h):
        W, b, c = self._params["W"], self._params["b"], self._params["c"]
        return -h @ c - np.sum(softplus(b + h @ W.T), axis=1)

    def free_energy_hidden(self, h) -> np.ndarray:
        r"""F_h(h) = −log Σ_v e^{−E(v,h)} = −cᵀh − Σ_i softplus(b_i + (Wh)_i), shape (n,)."""
        return self._free_energy_hidden(self._h(h))

    # ------------------------------------------------------- exact quantities
    def log_partition(self, layer: str = "smaller") -> float:
        r"""log Z, exactly, by enumerating one layer.

        ``layer='smaller'`` (default) sums :math:`e^{-F(v)}` over {0,1}^V or
        :math:`e^{-F_h(h)}` over {0,1}^H, whichever is smaller; ``'visible'`` or
        ``'hidden'`` forces the choice.  A layer above
        :data:`~ebm_ref.partition.MAX_ENUMERATE_DIM` units is refused with ``ValueError``.
        """
        if layer not in ("smaller", "visible", "hidden"):
            raise ValueError(f"layer: expected 'smaller', 'visible' or 'hidden', got {layer!r}")
        if layer == "smaller":
            layer = "hidden" if self.n_hidden <= self.n_visible else "visible"
        d = self.n_hidden if layer == "hidden" else self.n_visible
        _check_layer_size(d, "log_partition")
        fn = self._free_energy_hidden if layer == "hidden" else self._energy
        return log_partition_enumerate(fn, d)

    def _model_stats(self):
        r"""log Z and exact ⟨v hᵀ⟩, ⟨v⟩, ⟨h⟩ under the model, by the smaller layer.

        Enumerating h: with :math:`z = b + Wh` (the visible logits), one :math:`e^{-|z|}` gives both
        :math:`-F_h(h) = c^\top h + \sum_i \operatorname{softplus}(z_i)` and
        :math:`E[v\mid h] = \sigma(z)` (``softplus_and_sigmoid``); enumerating v, likewise with
        :math:`a = c + W^\top v`, :math:`-F(v) = b^\top v + \sum_j \operatorname{softplus}(a_j)` and
        :math:`E[h\mid v] = \sigma(a)`.
        """
        W, b, c = self._params["W"], self._params["b"], self._params["c"]
        if self.n_hidden <= self.n_visible:
            def terms(h):
                sp, pv = softplus_and_sigmoid(b + h @ W.T)

                def sums(w):
                    pv_w = pv * w[:, None]                  # p(h) E[v | h], unnormalized
                    return {"vh": pv_w.T @ h, "v": pv_w.sum(axis=0), "h": w @ h}
                return h @ c + np.sum(sp, axis=1), sums
            return expectation_of_terms(terms, self.n_hidden, what="model_expectations")

        def terms(v):
            sp, ph = softplus_and_sigmoid(c + v @ W)

            def sums(w):
                ph_w = ph * w[:, None]                      # p(v) E[h | v], unnormalized
                return {"vh": v.T @ ph_w, "v": w @ v, "h": ph_w.sum(axis=0)}
            return v @ b + np.sum(sp, axis=1), sums
        return expectation_of_terms(terms, self.n_visible, what="model_expectations")

    def model_expectations(self) -> dict:
        r"""Exact model moments ``{"vh": ⟨v hᵀ⟩ (V, H), "v": ⟨v⟩ (V,), "h": ⟨h⟩ (H,)}``.

        Enumerates the smaller layer; the other is summed analytically through its
        conditional mean (e.g. :math:`\langle v h^\top\rangle = \sum_h p(h)\,\sigma(b+Wh)\,h^\top`).
        """
        return self._model_stats()[1]

    def grad_log_partition(self) -> dict:
        r"""∇θ log Z = −E_p[∇θF] = {W: ⟨v hᵀ⟩, b: ⟨v⟩, c: ⟨h⟩}, exactly (the negative phase)."""
        m = self.model_expectations()
        return {"W": m["vh"], "b": m["v"], "c": m["h"]}

    def log_prob(self, v) -> np.ndarray:
        """log p(v) = −F(v) − log Z per point, shape (n,); v must be 0/1."""
        return -self._energy(self._v(v)) - self.log_partition()

    def log_likelihood(self, v, per_point: bool = False):
        """Exact mean log-likelihood (1/n) Σ log p(vₙ) (a float), or the (n,) values."""
        lp = self.log_prob(v)
        return lp if per_point else float(np.mean(lp))

    def exact_grad_log_likelihood(self, v_data) -> dict:
        r"""∇θ of the mean log-likelihood, exactly: positive phase − negative phase.

        .. math::

            \nabla_\theta \frac1n\sum_n \log p(v_n)
              = -\frac1n\sum_n \nabla_\theta F(v_n) + E_{p}[\nabla_\theta F(v)],

        i.e. ``W``: ⟨v σ(a)ᵀ⟩_data − ⟨v hᵀ⟩_model, ``b``: ⟨v⟩_data − ⟨v⟩_model,
        ``c``: ⟨σ(a)⟩_data − ⟨h⟩_model.  The model term is computed by enumeration.
        """
        v = self._v(v_data, "v_data")
        ph = self._prob_h(v)
        n = v.shape[0]
        m = self.model_expectations()
        return {"W": v.T @ ph / n - m["vh"], "b": v.mean(axis=0) - m["v"], "c": ph.mean(axis=0) - m["h"]}

    def pseudo_log_likelihood(self, v, per_point: bool = False):
        r"""Exact pseudo-log-likelihood Σ_i log p(v_i | v_{−i}), averaged over the batch.

        .. math:: \log p(v_i\mid v_{-i}) = -\operatorname{softplus}\big(F(v) - F(v^{(i)})\big),

        where :math:`v^{(i)}` is v with bit i flipped (Z cancels in the ratio).
        ``per_point=True`` returns the (n,) values.
        """
        v = self._v(v)
        n, V = v.shape
        flipped = np.repeat(v[:, None, :], V, axis=1)
        idx = np.arange(V)
        flipped[:, idx, idx] = 1.0 - flipped[:, idx, idx]
        F = self._energy(v)
        Ff = self._energy(flipped.reshape(n * V, V)).reshape(n, V)
        pll = -np.sum(softplus(F[:, None] - Ff), axis=1)
        return pll if per_point else float(np.mean(pll))

    def sample(self, n: int, rng) -> np.ndarray:
        """Exact samples of v, shape (n, V), by enumerating the smaller layer.

        If H ≤ V: h from its exact marginal p(h) ∝ e^{−F_h(h)}, then v ~ p(v | h);
        otherwise v directly from p(v) ∝ e^{−F(v)}.
        """
        n = check_positive_int(n, "n", 0)
        rng = as_generator(rng)
        if self.n_hidden <= self.n_visible:
            _check_layer_size(self.n_hidden, "sample")
            states = enumerate_states(self.n_hidden)
            h = states[_sample_from_log_weights(-self._free_energy_hidden(states), n, rng)]
            return (rng.random((n, self.n_visible)) < self._prob_v(h)).astype(np.float64)
        _check_layer_size(self.n_visible, "sample")
        states = enumerate_states(self.n_visible)
        return states[_sample_from_log_weights(-self._energy(states), n, rng)]


# ========================================================= Gaussian–Bernoulli
#: the smallest σ a Gaussian–Bernoulli RBM accepts: 1/σ² ≤ 1e200 leaves ~1e108 of headroom
#: for (v − b)² and the W terms before the energy overflows.
SIGMA_MIN = 1e-100


class GaussianBernoulliRBM(_TwoLayers, Energy):
    r"""Gaussian–Bernoulli RBM: real visible units, binary hidden units.

    Parameters
    ----------
    W : ndarray, shape (V, H)
    b : ndarray, shape (V,)
        Visible means at h = 0.
    c : ndarray, shape (H,)
        Hidden biases.
    sigma : float or ndarray, shape (V,)
        Per-unit standard deviations σ_i ≥ ``SIGMA_MIN``; a scalar is one σ shared by every unit.

    Notes
    -----
    Energy convention (p ∝ e^{−E}), with :math:`s_i = 1/\sigma_i^2`:

    .. math::

        E(v,h) = \sum_i \frac{(v_i-b_i)^2}{2\sigma_i^2} - c^\top h - \sum_{ij} s_i v_i W_{ij} h_j,

        v\mid h \sim \mathcal N(b + W h,\ \operatorname{diag}\sigma^2),\qquad
        p(h_j = 1\mid v) = \sigma(a_j),\ a_j = c_j + \sum_i s_i v_i W_{ij},

        F(v) = \sum_i \frac{s_i (v_i-b_i)^2}{2} - \sum_j\operatorname{softplus}(a_j),

        \nabla_v F = s\odot(v - b) - s\odot(W\sigma(a)),\qquad
        \nabla_v^2 F = \operatorname{diag}(s) - \operatorname{diag}(s)W\operatorname{diag}(\sigma'(a))W^\top\operatorname{diag}(s),

        \nabla_b F = -s\odot(v-b),\ \nabla_c F = -\sigma(a),\ \nabla_W F = -(s\odot v)\sigma(a)^\top,\
        \nabla_{\sigma_i} F = -\frac{2}{\sigma_i^3}\Big[\tfrac12 (v_i-b_i)^2 - v_i (W\sigma(a))_i\Big].

    Integrating v out of :math:`e^{-E(v,h)}` is a Gaussian integral: with
    :math:`\mu(h) = b + Wh`, completing the square gives

    .. math::

        -F_h(h) = \log\int e^{-E(v,h)}dv = c^\top h + \sum_i\frac{\mu_i^2 - b_i^2}{2\sigma_i^2}
                  + \sum_i \log\sqrt{2\pi}\,\sigma_i,\qquad \log Z = \operatorname{logsumexp}_h\big(-F_h(h)\big).
    """

    #: analytic in v (quadratic plus softplus by branch on Re a): complex step applies.
    supports_complex_step = True

    def __init__(self, W, b, c, sigma):
        W, b, c = _rbm_params(W, b, c)
        sigma = as_float_array(sigma, "sigma")
        if sigma.ndim == 0:                      # one σ shared by every visible unit
            sigma = np.full(W.shape[0], float(sigma))
        if sigma.shape != (W.shape[0],):
            raise ValueError(f"sigma: expected a scalar (one shared σ) or shape ({W.shape[0]},), got {sigma.shape}")
        if not np.all(np.isfinite(sigma)) or np.any(sigma < SIGMA_MIN):
            raise ValueError(f"sigma: every entry must be finite and >= {SIGMA_MIN:g} (1/σ² enters the energy; "
                             f"a smaller σ overflows it), got {sigma.tolist()}")
        super().__init__(W.shape[0], {"W": W, "b": b, "c": c, "sigma": sigma})

    @property
    def _s(self):
        return self._params["sigma"] ** -2.0

    def _a(self, x):
        return _soft_pre(x, self._params["W"], self._params["c"], self._s)

    # ----------------------------------------- joint energy and conditionals
    def joint_energy(self, v, h) -> np.ndarray:
        """E(v, h) for v (n, V) real and h (n, H) of 0/1; returns (n,)."""
        v = as_batch(v, self.n_visible, "v")
        h = self._h(h)
        if v.shape[0] != h.shape[0]:
            raise ValueError(f"h: expected {v.shape[0]} rows to match v, got {h.shape[0]}")
        W, b, c, s = self._params["W"], self._params["b"], self._params["c"], self._s
        return 0.5 * ((v - b) ** 2) @ s - h @ c - np.einsum("ni,ij,nj->n", v * s, W, h)

    def prob_h_given_v(self, v) -> np.ndarray:
        """p(h_j = 1 | v) = σ(c_j + Σ_i v_i W_ij / σ_i²), shape (n, H)."""
        return sigmoid(self._a(as_batch(v, self.n_visible, "v")))

    def mean_v_given_h(self, h) -> np.ndarray:
        """E[v | h] = b + W h, shape (n, V) (the covariance is diag σ²)."""
        return self._params["b"] + self._h(h) @ self._params["W"].T

    def sample_h_given_v(self, v, rng, *, beta=None) -> np.ndarray:
        r"""h ~ p_β(h | v), shape (n, H) of 0/1 floats.

        :math:`p_\beta(h_j = 1\mid v) = \sigma(\beta(c_j + \sum_i v_i W_{ij}/\sigma_i^2))`, from the
        tempered joint :math:`e^{-\beta E(v,h)}`; ``beta`` is None (β = 1), a scalar or one β
        per row (shape (n,)), each in (0, 1].  Random numbers: uniforms of shape (n, H).
        """
        v = as_batch(v, self.n_visible, "v")
        a = self._a(v)
        p = sigmoid(a) if beta is None else sigmoid(_beta_column(beta, v.shape[0]) * a)
        return (as_generator(rng).random(p.shape) < p).astype(np.float64)

    def sample_v_given_h(self, h, rng, *, beta=None) -> np.ndarray:
        r"""v ~ N(b + W h, diag σ²/β), shape (n, V); ``beta`` as in :meth:`sample_h_given_v`.

        Random numbers: standard normals z of shape (n, V), :math:`v = b + Wh + (\sigma/\sqrt\beta)\,z`.
        """
        mu = self.mean_v_given_h(h)
        sigma = self._params["sigma"]
        scale = sigma if beta is None else sigma / np.sqrt(_beta_column(beta, mu.shape[0]))
        return mu + scale * as_generator(rng).standard_normal(mu.shape)

    def layer_arrays(self) -> tuple:
        """``(W, b, c, sigma)`` as fresh C-contiguous float64 arrays: what a vectorised sweep needs.

        W has shape (V, H), b and sigma (V,), c (H,); v | h ~ N(b + W h, diag σ²).
        """
        return tuple(np.array(self._params[k], dtype=np.float64, order="C", copy=True)
                     for k in ("W", "b", "c", "sigma"))

    # ------------------------------------------ free energy and derivatives
    def _energy(self, x):
        r = x - self._params["b"]
        return 0.5 * (r * r) @ self._s + _soft_value(self._a(x))

    def _grad_x(self, x):
        s = self._s
        return s * (x - self._params["b"]) + _soft_grad_x(self._a(x), self._params["W"], s)

    def _hessian_x(self, x):
        s = self._s
        return np.diag(s)[None] + _soft_hessian_x(self._a(x), self._params["W"], s)

    def _laplacian_x(self, x):
        s = self._s
        return np.sum(s) + _soft_laplacian_x(self._a(x), self._params["W"], s)

    def _chain(self, g_soft, g_b, g_s_quad):
        """Assemble a parameter gradient: ∂/∂σ = (∂/∂s)(ds/dσ), ds/dσ = −2σ^{-3}."""
        ds = -2.0 * self._params["sigma"] ** -3.0
        return {"W": g_soft["W"], "b": g_b, "c": g_soft["c"], "sigma": (g_soft["s"] + g_s_quad) * ds}

    def _grad_params(self, x):
        s, r = self._s, x - self._params["b"]
        g = _soft_grad_params(x, self._a(x), self._params["W"], s)
        return self._chain(g, -s * r, 0.5 * r * r)

    def _grad_params_sum(self, x, w):
        s, r = self._s, x - self._params["b"]
        g = _soft_grad_params_sum(x, self._a(x), self._params["W"], s, w)
        return self._chain(g, -s * (w @ r), 0.5 * (w @ (r * r)))

    def _grad_params_dot_grad_x(self, x, u):
        # quadratic part Σ_n u·s(v−b): ∂/∂b = −s Σu, ∂/∂s = Σ u(v−b)
        s, r = self._s, x - self._params["b"]
        g = _soft_dot_grad_x(x, self._a(x), self._params["W"], s, u)
        return self._chain(g, -s * np.sum(u, axis=0), np.sum(u * r, axis=0))

    def _grad_params_laplacian(self, x):
        # quadratic part N Σ_i s_i: ∂/∂s = N
        g = _soft_grad_laplacian(x, self._a(x), self._params["W"], self._s)
        return self._chain(g, np.zeros(self.n_visible), np.full(self.n_visible, float(x.shape[0])))

    def _grad_params_hvp(self, x, v):
        # quadratic part Σ_n Σ_i s_i z_ni²: ∂/∂s = Σ_n z²
        g = _soft_grad_hvp(x, self._a(x), self._params["W"], self._s, v)
        return self._chain(g, np.zeros(self.n_visible), np.sum(v * v, axis=0))

    # -------------------------------------------------- the hidden marginal
    def _neg_free_energy_hidden(self, h):
        W, b, c, sigma = self._params["W"], self._params["b"], self._params["c"], self._params["sigma"]
        w = h @ W.T                                          # W h
        quad = ((2.0 * b * w + w * w) / (2.0 * sigma**2)).sum(axis=1)   # (μ² − b²)/2σ²
        return h @ c + quad + np.sum(np.log(sigma)) + 0.5 * self.n_visible * LOG_2PI

    def free_energy_hidden(self, h) -> np.ndarray:
        r"""F_h(h) = −log ∫ e^{−E(v,h)} dv (closed-form Gaussian integral), shape (n,)."""
        return -self._neg_free_energy_hidden(self._h(h))

    def evaluation_arrays(self) -> dict:
        """Arrays for vectorised/compiled evaluation: ``W``, ``b``, ``c`` and ``s`` = σ⁻² (elementwise).

        F(v) = Σᵢ sᵢ(vᵢ − bᵢ)²/2 − Σⱼ softplus(cⱼ + Σᵢ sᵢ vᵢ Wᵢⱼ); fresh float64 copies.
        """
        p = self._params
        return {"W": np.array(p["W"]), "b": np.array(p["b"]), "c": np.array(p["c"]), "s": np.array(self._s)}

    def log_partition(self) -> float:
        r"""log Z = logsumexp over the 2^H hidden states of the Gaussian integrals −F_h(h)."""
        _check_layer_size(self.n_hidden, "log_partition")
        return log_partition_enumerate(lambda h: -self._neg_free_energy_hidden(h), self.n_hidden)

    def hidden_marginal(self) -> tuple[np.ndarray, np.ndarray]:
        """All hidden states (2^H, H) and their exact probabilities p(h), shape (2^H,)."""
        _check_layer_size(self.n_hidden, "hidden_marginal")
        states = enumerate_states(self.n_hidden)
        logw = self._neg_free_energy_hidden(states)
        return states, np.exp(logw - logsumexp(logw))

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        r"""Exact mean and covariance of v: a mixture of 2^H Gaussians N(b + Wh, diag σ²).

        .. math:: E[v] = \sum_h p(h)\mu(h),\qquad
                  \operatorname{Cov}[v] = \operatorname{diag}\sigma^2 + \sum_h p(h)\mu\mu^\top - E[v]E[v]^\top .
        """
        states, p = self.hidden_marginal()
        mu = self._params["b"] + states @ self._params["W"].T
        mean = p @ mu
        cov = np.diag(self._params["sigma"] ** 2) + (mu * p[:, None]).T @ mu - np.outer(mean, mean)
        return mean, cov

    def grad_log_partition(self) -> dict:
        r"""∇θ log Z = Σ_h p(h) ∇θ(−F_h(h)), exact (equals −E_p[∇θF]).

        With μ = b + Wh: ∂/∂c = h, ∂/∂b_i = (Wh)_i/σ_i², ∂/∂W_ij = μ_i h_j/σ_i²,
        ∂/∂σ_i = 1/σ_i − ((Wh)_i² + 2b_i(Wh)_i)/σ_i³.
        """
        states, p = self.hidden_marginal()
        W, b, sigma = self._params["W"], self._params["b"], self._params["sigma"]
        w = states @ W.T
        mu = b + w
        return {
            "W": ((mu * p[:, None]).T @ states) / sigma[:, None] ** 2,
            "b": (p @ w) / sigma**2,
            "c": p @ states,
            "sigma": 1.0 / sigma - (p @ (w * w + 2.0 * b * w)) / sigma**3,
        }

    def sample(self, n: int, rng) -> np.ndarray:
        """Exact samples, shape (n, V): h from its exact marginal, then v ~ N(b + Wh, diag σ²)."""
        n = check_positive_int(n, "n", 0)
        rng = as_generator(rng)
        states, p = self.hidden_marginal()
        h = states[rng.choice(p.size, size=n, p=p / p.sum())]
        mu = self._params["b"] + h @ self._params["W"].T
        return mu + self._params["sigma"] * rng.standard_normal(mu.shape)


# ========================================================== deep belief net
class DeepBeliefNet:
    r"""A deep belief net: RBMs stacked so that each one's hidden layer is the next one's visible.

    Parameters
    ----------
    rbms : sequence of BernoulliRBM
        ``rbms[k].n_hidden == rbms[k+1].n_visible`` for every k.

    Notes
    -----
    The generative model (Hinton, Osindero & Teh 2006) has layers
    :math:`v = h^0, h^1, \dots, h^L`.  The top pair :math:`(h^{L-1}, h^L)` is the
    undirected RBM ``rbms[-1]``; every layer below is a directed sigmoid layer,

    .. math:: p(h^{k-1}_i = 1\mid h^k) = \sigma\big(b^{(k)}_i + (W^{(k)} h^k)_i\big),

    using the visible biases and weights of ``rbms[k-1]``.  Sampling runs Gibbs in the
    top RBM, then one down-pass.  The up-pass uses the recognition probabilities
    :math:`\sigma(c^{(k)} + W^{(k)\top} h^{k-1})` of each RBM.

    Training is greedy (:meth:`greedy`): train an RBM on the data, map the data up
    through its p(h | v), train the next RBM on that, and so on.  The per-layer
    training routine is a hook, ``train_rbm(data, n_hidden, rng) -> BernoulliRBM``,
    supplied by the caller (the objectives modules provide CD/PCD; here any routine,
    e.g. ascent on :meth:`BernoulliRBM.exact_grad_log_likelihood`, fits).
    """

    def __init__(self, rbms: Sequence[BernoulliRBM]):
        rbms = list(rbms)
        if not rbms:
            raise ValueError("rbms: expected at least one BernoulliRBM, got an empty list")
        for k, r in enumerate(rbms):
            if not isinstance(r, BernoulliRBM):
                raise ValueError(f"rbms[{k}]: expected a BernoulliRBM, got {type(r).__name__}")
        for k in range(len(rbms) - 1):
            if rbms[k].n_hidden != rbms[k + 1].n_visible:
                raise ValueError(f"rbms[{k + 1}]: n_visible {rbms[k + 1].n_visible} must equal "
                                 f"rbms[{k}].n_hidden {rbms[k].n_hidden}")
        self.rbms = tuple(rbms)

    @property
    def layer_sizes(self) -> tuple:
        """(V, H_1, ..., H_L)."""
        return (self.rbms[0].n_visible,) + tuple(r.n_hidden for r in self.rbms)

    def __repr__(self) -> str:
        return f"DeepBeliefNet(layer_sizes={self.layer_sizes})"

    def up_pass(self, v, rng=None) -> list:
        """Activities of every layer going up: ``[v, h1, ..., hL]``.

        With ``rng`` each layer is a Bernoulli sample from p(h^k | h^{k−1}); with
        ``rng=None`` the probabilities themselves are propagated (mean field).
        """
        x = self.rbms[0]._v(v)
        gen = None if rng is None else as_generator(rng)
        out = [x]
        for r in self.rbms:
            p = r._prob_h(x)
            x = p if gen is None else (gen.random(p.shape) < p).astype(np.float64)
            out.append(x)
        return out

    def down_pass(self, h, rng) -> np.ndarray:
        """Sample down the directed layers from h^{L−1} (shape (n, H_{L−1})) to v."""
        rng = as_generator(rng)
        x = as_batch(h, self.rbms[-1].n_visible, "h")
        check_binary(x, "h")
        for r in reversed(self.rbms[:-1]):
            p = r._prob_v(x)
            x = (rng.random(p.shape) < p).astype(np.float64)
        return x

    def sample(self, n: int, rng, n_gibbs: int | None = 200) -> np.ndarray:
        """Samples of v, shape (n, V).

        The top RBM's visible layer h^{L−1} is drawn by ``n_gibbs`` block-Gibbs sweeps
        from uniform random states (or exactly, by enumeration, with ``n_gibbs=None``),
        then passed down the directed layers.
        """
        n = check_positive_int(n, "n", 0)
        rng = as_generator(rng)
        top = self.rbms[-1]
        if n_gibbs is None:
            x = top.sample(n, rng)
        else:
            n_gibbs = check_positive_int(n_gibbs, "n_gibbs", 0)
            x = (rng.random((n, top.n_visible)) < 0.5).astype(np.float64)
            # ancestral generation: block-Gibbs sweeps of the top RBM from its own conditionals
            # (models do not import samplers; ebm_ref.samplers.gibbs runs the same sweeps)
            for _ in range(n_gibbs):
                x = top.sample_v_given_h(top.sample_h_given_v(x, rng), rng)
        return self.down_pass(x, rng)

    @classmethod
    def greedy(cls, v_data, n_hidden: Sequence[int], train_rbm: Callable, rng) -> "DeepBeliefNet":
        """Greedy layer-wise training with a caller-supplied ``train_rbm(data, n_hidden, rng)``.

        Each layer is trained on binary samples of p(h | v) from the layer below.
        """
        rng = as_generator(rng)
        x = check_binary(as_batch(v_data, None, "v_data"), "v_data")
        sizes = [check_positive_int(k, "n_hidden") for k in n_hidden]
        if not sizes:
            raise ValueError("n_hidden: expected at least one layer size")
        rbms = []
        for k, H in enumerate(sizes):
            r = train_rbm(x, H, rng)
            if not isinstance(r, BernoulliRBM) or r.n_visible != x.shape[1] or r.n_hidden != H:
                raise ValueError(f"train_rbm: layer {k} must return a BernoulliRBM of shape "
                                 f"({x.shape[1]}, {H}), got {r!r}")
            rbms.append(r)
            x = r.sample_h_given_v(x, rng)
        return cls(rbms)
