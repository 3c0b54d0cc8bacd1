r"""Exact maximum likelihood, for models whose log Z (and its gradient) is known.

Energy convention: :math:`p_\theta(x) = e^{-E_\theta(x)}/Z(\theta)`.  The negative
mean log-likelihood of data :math:`x_1..x_n` and its gradient are

.. math::

    L(\theta) = -\frac1n\sum_i \log p_\theta(x_i) = \frac1n\sum_i E_\theta(x_i) + \log Z(\theta),

    \nabla_\theta L = \underbrace{\frac1n\sum_i \nabla_\theta E_\theta(x_i)}_{\text{positive phase}}
      + \nabla_\theta\log Z(\theta),\qquad
    \nabla_\theta \log Z = \frac{\nabla_\theta Z}{Z}
      = \frac1Z\int -\nabla_\theta E\, e^{-E}\,dx = -\mathbb E_{p_\theta}[\nabla_\theta E] .

The last term (the *negative phase*) is what contrastive divergence estimates with
samples; here it is exact, by one of three routes:

* ``"closed_form"`` — the model's own ``grad_log_partition()`` (Gaussian, exponential
  families);
* ``"enumerate"`` — :math:`-\sum_x p_\theta(x)\nabla_\theta E(x)` over every binary state
  (small RBMs and Boltzmann machines);
* ``"quadrature"`` — :math:`-\int p_\theta\nabla_\theta E` on a tensor Gauss–Legendre grid
  over ``bounds`` (1-D and 2-D energies such as an MLP on toy data).
"""
from __future__ import annotations

import numpy as np

from .._validate import as_batch
from ..energy import has_capability
from ..numerics.quadrature import gauss_legendre_grid as quadrature_grid  # tensor Gauss–Legendre on a box

__all__ = ["loss", "log_likelihood", "log_partition", "grad_log_partition", "quadrature_grid"]

#: Gauss–Legendre nodes per axis for the quadrature route: exponentially convergent for
#: smooth densities that vanish at the box edges; 200 per axis resolves widths ~box/50.
N_NODES_DEFAULT = 200


def _grid_log_z(model, bounds, n_nodes):
    pts, w = quadrature_grid(bounds, n_nodes)
    if pts.shape[1] != model.dim:
        raise ValueError(f"bounds: model has dimension {model.dim} but {pts.shape[1]} interval(s) were given")
    a = -model.energy(pts) + np.log(w)
    m = np.max(a)
    return m + np.log(np.sum(np.exp(a - m))), pts, a


def _resolve(model, method, bounds):
    if method not in ("auto", "closed_form", "enumerate", "quadrature"):
        raise ValueError(f"method: expected 'auto', 'closed_form', 'enumerate' or 'quadrature', got {method!r}")
    if method == "auto":
        if bounds is not None:
            return "quadrature"
        if has_capability(model, "grad_log_partition"):
            return "closed_form"
        raise NotImplementedError(
            f"{type(model).__name__} has no grad_log_partition(); pass method='enumerate' for a small "
            "binary model, bounds=... for a 1-D/2-D energy, or estimate the gradient with "
            "contrastive divergence")
    if method == "quadrature" and bounds is None:
        raise ValueError("bounds: the quadrature route needs bounds=[(low, high), ...]")
    return method


def log_partition(model, method: str = "auto", bounds=None, n_nodes: int = N_NODES_DEFAULT) -> float:
    """log Z by the chosen route (see the module docstring)."""
    method = _resolve(model, method, bounds)
    if method == "closed_form":
        return float(model.log_partition())
    if method == "enumerate":
        from ..partition import log_partition_enumerate

        return float(log_partition_enumerate(model.energy, model.dim))
    return float(_grid_log_z(model, bounds, n_nodes)[0])


def grad_log_partition(model, method: str = "auto", bounds=None, n_nodes: int = N_NODES_DEFAULT) -> dict:
    r""":math:`\nabla_\theta\log Z = -\mathbb E_{p_\theta}[\nabla_\theta E]`, exactly.

    Parameters
    ----------
    model : Energy
    method : {'auto', 'closed_form', 'enumerate', 'quadrature'}
        'auto' uses ``bounds`` when given, else ``model.grad_log_partition()``.
    bounds : sequence of (low, high), optional
        Box for the quadrature route (mass outside it is ignored).
    n_nodes : int
        Gauss–Legendre nodes per axis for the quadrature route.
    """
    method = _resolve(model, method, bounds)
    if method == "closed_form":
        return {k: np.asarray(v, dtype=np.float64) for k, v in model.grad_log_partition().items()}
    if method == "enumerate":
        from ..partition import MAX_ENUMERATE_DIM, enumerate_states

        if model.dim > MAX_ENUMERATE_DIM:
            raise ValueError(f"model: enumeration of 2^{model.dim} states is refused (at most 2^{MAX_ENUMERATE_DIM})")
        states = enumerate_states(model.dim)
        a = -model.energy(states)
        p = np.exp(a - np.max(a))
        p /= p.sum()
        return {k: -v for k, v in model.grad_params_sum(states, p).items()}
    _, pts, a = _grid_log_z(model, bounds, n_nodes)
    p = np.exp(a - np.max(a))
    p /= p.sum()
    return {k: -v for k, v in model.grad_params_sum(pts, p).items()}


def loss(model, x, method: str = "auto", bounds=None, n_nodes: int = N_NODES_DEFAULT):
    r"""Negative mean log-likelihood and its exact gradient.

    Parameters
    ----------
    model : Energy
    x : ndarray, shape (n, d)
        Data.
    method, bounds, n_nodes
        How :math:`\log Z` and :math:`\nabla_\theta\log Z` are computed (module docstring).

    Returns
    -------
    loss : float
        :math:`\frac1n\sum_i E(x_i) + \log Z`.
    grads : dict like ``model.params``
        :math:`\frac1n\sum_i\nabla_\theta E(x_i) + \nabla_\theta \log Z`.
    """
    x = as_batch(x, model.dim, "x")
    n = x.shape[0]
    pos = model.grad_params_sum(x)
    glz = grad_log_partition(model, method, bounds, n_nodes)
    value = float(np.mean(model.energy(x))) + log_partition(model, method, bounds, n_nodes)
    return value, {k: pos[k] / n + glz[k] for k in pos}


def log_likelihood(model, x, method: str = "auto", bounds=None, n_nodes: int = N_NODES_DEFAULT) -> float:
    """Exact mean log-likelihood :math:`\\frac1n\\sum_i \\log p_\\theta(x_i)` (for ``fit``'s history)."""
    x = as_batch(x, model.dim, "x")
    if method == "auto" and bounds is None and not has_capability(model, "grad_log_partition"):
        return float(np.mean(-model.energy(x)) - model.log_partition())
    return float(np.mean(-model.energy(x)) - log_partition(model, method, bounds, n_nodes))


def objective(method: str = "auto", bounds=None, n_nodes: int = N_NODES_DEFAULT):
    """``loss`` in the form ``fit`` takes: ``f(model, x, rng) -> (loss, grads)``."""
    def f(model, x, rng):
        return loss(model, x, method=method, bounds=bounds, n_nodes=n_nodes)

    return f
