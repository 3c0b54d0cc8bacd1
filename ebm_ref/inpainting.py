r"""Energies over outputs: filling in missing pixels with an RBM (conditional sampling, exactly checked).

Split the visible units into observed x and missing y.  The model's joint over (x, y) is
:math:`p(x, y)\propto e^{-F(x, y)}` (F the free energy), so the conditional needs no Z:

.. math::

    p(y\mid x) = \frac{e^{-F(x, y)}}{\sum_{y'}e^{-F(x, y')}},\qquad
    y^* = \operatorname*{argmin}_y F(x, y),

the lecture's :math:`y^* = \operatorname{argmin}_y E(x, y)` with a structured output y (a
whole image patch) instead of one of K labels.  With few missing units both are computed by
enumerating the :math:`2^m` completions (:func:`exact_conditional`, :func:`map_completion`).
For many, sample: block Gibbs with the observed units *clamped* (:func:`clamped_gibbs`) —
:math:`h\sim p(h\mid x, y)`, then only :math:`y\sim p(y\mid h)` — is a Gibbs sampler of
:math:`p(y, h\mid x)`, so its y-marginal is :math:`p(y\mid x)`.  :func:`clamped_kernel` builds
its exact transition matrix on the completions, whose stationary law is checked against
the enumerated conditional.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, as_generator, check_binary, check_positive_int
from .numerics.enumeration import enumerate_states
from .samplers.gibbs_sampling import rbm_block_gibbs_step

__all__ = ["exact_conditional", "map_completion", "clamped_gibbs", "clamped_kernel"]

#: completions beyond 2^16 are not enumerated
MAX_MISSING = 16


def _split(rbm, v, observed):
    v = check_binary(as_float_array(v, "v", shape=(rbm.n_visible,)), "v")
    obs = np.asarray(observed, dtype=bool)
    if obs.shape != (rbm.n_visible,):
        raise ValueError(f"observed: expected a boolean mask of shape ({rbm.n_visible},), got {obs.shape}")
    return v, obs


def _completions(rbm, v, observed):
    v, obs = _split(rbm, v, observed)
    m = int((~obs).sum())
    if m == 0 or m > MAX_MISSING:
        raise ValueError(f"observed: expected 1..{MAX_MISSING} missing units to enumerate, got {m}")
    full = np.repeat(v[None, :], 2**m, axis=0)
    full[:, ~obs] = enumerate_states(m)
    return full


def exact_conditional(rbm, v, observed) -> tuple[np.ndarray, np.ndarray]:
    r"""Every completion of the missing units and :math:`p(y\mid x)\propto e^{-F(x,y)}`.

    Parameters
    ----------
    rbm : BernoulliRBM
    v : ndarray, shape (V,)
        A visible vector; only its ``observed`` entries are used.
    observed : ndarray of bool, shape (V,)

    Returns
    -------
    completions : ndarray, shape (2^m, V)
        Full visible vectors, missing part in ``enumerate_states`` order.
    probs : ndarray, shape (2^m,)
    """
    full = _completions(rbm, v, observed)
    a = -rbm.energy(full)
    p = np.exp(a - a.max())
    return full, p / p.sum()


def map_completion(rbm, v, observed) -> np.ndarray:
    r""":math:`y^* = \operatorname{argmin}_y F(x, y)`: the most probable completion, shape (V,)."""
    full = _completions(rbm, v, observed)
    return full[int(np.argmin(rbm.energy(full)))]


def clamped_gibbs(rbm, v, observed, n_chains: int, n_steps: int, rng) -> np.ndarray:
    r"""Block Gibbs with the observed units clamped; returns the final states, shape (n_chains, V).

    Each sweep: :math:`h\sim p(h\mid v)`, :math:`v'\sim p(v\mid h)`
    (:func:`ebm_ref.samplers.gibbs_sampling.rbm_block_gibbs_step`), then the observed units are reset to x — which is a draw of
    the missing units from :math:`p(y\mid h)` alone, since the units of v are independent given h.
    The missing units start uniformly at random.
    """
    v, obs = _split(rbm, v, observed)
    rng = as_generator(rng)
    n_chains = check_positive_int(n_chains, "n_chains")
    n_steps = check_positive_int(n_steps, "n_steps")
    state = np.repeat(v[None, :], n_chains, axis=0)
    state[:, ~obs] = (rng.random((n_chains, int((~obs).sum()))) < 0.5).astype(np.float64)
    for _ in range(n_steps):
        new, _ = rbm_block_gibbs_step(rng, state, rbm)     # the package's one block-Gibbs sweep
        state[:, ~obs] = new[:, ~obs]
    return state


def clamped_kernel(rbm, v, observed) -> np.ndarray:
    r"""The exact transition matrix of one clamped sweep on the :math:`2^m` completions.

    :math:`T(y, y') = \sum_h p(h\mid x, y)\,p(y'\mid h)`, with :math:`p(y'\mid h) = \prod_{j\,\text{missing}}
    p(v_j = y'_j\mid h)`; rows in the order of :func:`exact_conditional`.
    """
    full = _completions(rbm, v, observed)
    obs = np.asarray(observed, dtype=bool)
    H = rbm.n_hidden
    if H > 16:
        raise ValueError(f"rbm: the exact kernel enumerates 2^n_hidden states, needs n_hidden <= 16, got {H}")
    hs = enumerate_states(H)
    ph = rbm.prob_h_given_v(full)                                   # (2^m, H)
    p_h = np.prod(np.where(hs[None, :, :] == 1.0, ph[:, None, :], 1.0 - ph[:, None, :]), axis=2)   # (2^m, 2^H)
    pv = rbm.prob_v_given_h(hs)[:, ~obs]                            # (2^H, m)
    ys = full[:, ~obs]                                              # (2^m, m)
    p_y = np.prod(np.where(ys[None, :, :] == 1.0, pv[:, None, :], 1.0 - pv[:, None, :]), axis=2)  # (2^H, 2^m)
    return p_h @ p_y
