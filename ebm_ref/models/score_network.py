r"""A score network: a map that outputs the score :math:`s_\theta(x, \sigma)` directly, with no energy.

.. math::

    s_\theta(x, \sigma) = \frac{1}{\sigma}\, g_\theta\big([x, \log\sigma]\big),
    \qquad g_\theta:\mathbb R^{d+1}\to\mathbb R^d \text{ an MLP } (:class:`MLPMap`).

The input :math:`\log\sigma` makes the network noise-conditional (one network, a different
field at each noise level); the factor :math:`1/\sigma` follows Song & Ermon (2020): the
denoising target :math:`-\varepsilon/\sigma` has size :math:`1/\sigma`, so g itself stays of order one.

Unlike :class:`ebm_ref.models.MLPEnergy`, whose score :math:`-\nabla_xE` is a gradient field
by construction (symmetric Jacobian, zero curl), nothing forces :math:`s_\theta(\cdot, \sigma)` to
be the gradient of anything: its Jacobian in x need not be symmetric, and then no density has it
as its score.  :mod:`ebm_ref.vector_fields` measures this.  Training (denoising score matching)
is in ``ebm_ref.objectives.score_matching.score_network_loss``; sampling is annealed Langevin
(``ebm_ref.samplers.annealed_langevin``), which needs only ``score(x, sigma)``.

References
----------
Y. Song and S. Ermon, "Generative modeling by estimating gradients of the data distribution", NeurIPS 2019.
Y. Song and S. Ermon, "Improved techniques for training score-based generative models", NeurIPS 2020.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_batch
from .mlp import MLPMap, init_layers

__all__ = ["ScoreNetwork"]


class ScoreNetwork:
    r"""Noise-conditional score network :math:`s_\theta(x,\sigma) = g_\theta([x, \log\sigma])/\sigma`.

    Parameters
    ----------
    activation : str
        Hidden nonlinearity of g (see :func:`ebm_ref.models.activation`).
    **params : ndarray
        ``W1, b1, ..., WL, bL`` of g, ``W1`` of shape ``(h_1, d + 1)``, ``WL`` of shape ``(d, h_{L-1})``.

    Notes
    -----
    An immutable value like every model: ``with_params`` returns a new network.
    """

    def __init__(self, activation="tanh", **params):
        n = len(params) // 2
        if n < 1 or set(params) != {f"{p}{i}" for i in range(1, n + 1) for p in "Wb"}:
            raise ValueError(f"params: expected W1, b1, ..., WL, bL, got {sorted(params)}")
        self._net = MLPMap([params[f"W{i}"] for i in range(1, n + 1)], [params[f"b{i}"] for i in range(1, n + 1)],
                           activation)
        if self._net.dim_in != self._net.dim_out + 1:
            raise ValueError(f"W1/WL: g maps [x, log sigma] in R^(d+1) to R^d, got {self._net.dim_in} inputs and "
                             f"{self._net.dim_out} outputs")
        self._activation = activation
        self.dim = self._net.dim_out
        self._params = {f"{p}{i}": np.array(params[f"{p}{i}"], dtype=np.float64) for i in range(1, n + 1) for p in "Wb"}
        for v in self._params.values():
            v.setflags(write=False)

    @classmethod
    def init(cls, d: int, hidden, rng, activation="tanh", bias_scale: float = 0.1) -> "ScoreNetwork":
        r"""Random network ``d + 1 → hidden… → d``, :math:`W_l\sim\mathcal N(0, 1/h_{l-1})`."""
        sizes = [int(d) + 1] + [int(h) for h in hidden] + [int(d)]
        if any(s < 1 for s in sizes) or int(d) < 1:
            raise ValueError(f"d/hidden: expected positive sizes, got d={d}, hidden={list(hidden)}")
        return cls(activation=activation, **init_layers(sizes, rng, bias_scale))

    @property
    def params(self) -> dict:
        return dict(self._params)

    def with_params(self, params) -> "ScoreNetwork":
        return ScoreNetwork(activation=self._activation, **{k: params[k] for k in self._params})

    def _inputs(self, x, sigma):
        x = as_batch(x, self.dim, "x")
        sig = np.broadcast_to(np.asarray(sigma, dtype=np.float64), (x.shape[0],))
        if not np.all(np.isfinite(sig)) or np.any(sig <= 0):
            raise ValueError(f"sigma: expected values > 0, got {np.unique(sig).tolist()[:5]}")
        return np.column_stack([x, np.log(sig)]), sig

    def score(self, x, sigma) -> np.ndarray:
        r""":math:`s_\theta(x, \sigma)`, shape (n, d); ``sigma`` a scalar or one value per point."""
        z, sig = self._inputs(x, sigma)
        return self._net(z) / sig[:, None]

    def jacobian_x(self, x, sigma) -> np.ndarray:
        r""":math:`\partial s_i/\partial x_j`, shape (n, d, d); symmetric only if the field is a gradient."""
        z, sig = self._inputs(x, sigma)
        return self._net.jacobian(z)[:, :, : self.dim] / sig[:, None, None]

    def vjp_params(self, x, sigma, cotangent) -> dict:
        r""":math:`\sum_n \nabla_\theta\,(c_n\cdot s_\theta(x_n, \sigma))`, a dict like ``params``."""
        z, sig = self._inputs(x, sigma)
        c = as_batch(cotangent, self.dim, "cotangent")
        if c.shape != z[:, : self.dim].shape:
            raise ValueError(f"cotangent: expected shape {(z.shape[0], self.dim)}, got {c.shape}")
        _, zs, As = self._net.forward(z)
        _, grads = self._net.backward(zs, As, c / sig[:, None], params="sum")
        out = {}
        for i, (dW, db) in enumerate(grads, start=1):
            out[f"W{i}"], out[f"b{i}"] = dW, db
        return out
