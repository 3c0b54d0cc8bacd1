r"""Exact transition matrices of the discrete samplers, on spaces small enough to enumerate.

Every matrix is built from ratios of the enumerated joint :math:`e^{-E}` (energy
convention, :math:`p \propto e^{-E}`; Z cancels), independently of the samplers'
code, so that the exact checks

.. math::  \pi P = \pi \quad\text{(stationarity)},\qquad
           \pi_i P_{ij} = \pi_j P_{ji} \quad\text{(detailed balance)}

test the transitions the samplers implement:

* :func:`transition_matrix_block_gibbs` — one block-Gibbs sweep of a Bernoulli RBM
  (:func:`ebm_ref.samplers.gibbs_sampling.rbm_block_gibbs_step`);
* :func:`transition_matrix_site_gibbs` — one systematic sweep of single-site Gibbs
  (:func:`ebm_ref.samplers.gibbs_sampling.site_gibbs_step`);
* :func:`transition_matrix_spin_flip` — one step (d proposals) of spin-flip Metropolis
  (:func:`ebm_ref.samplers.gibbs_sampling.spin_flip_step`);
* :func:`swap_transition_matrix` — one swap round of parallel tempering on the product
  space, with :func:`tempered_product_distribution` its invariant law;
* :func:`stationary_distribution` — π over :func:`ebm_ref.numerics.enumeration.enumerate_states`.

States are indexed as in :func:`ebm_ref.numerics.enumeration.state_index` (first unit
most significant).
"""
from __future__ import annotations

import numpy as np

from .._validate import as_batch, as_float_array
from ..numerics.enumeration import enumerate_states
from ..numerics.special import sigmoid
from .gibbs_sampling import model_family, unit_values
from .metropolis_hastings import mh_acceptance
from .parallel_tempering import check_betas, swap_log_ratio

__all__ = [
    "MAX_EXACT_UNITS",
    "rbm_joint_energy",
    "stationary_distribution",
    "transition_matrix_block_gibbs",
    "transition_matrix_site_gibbs",
    "transition_matrix_spin_flip",
    "swap_transition_matrix",
    "tempered_product_distribution",
]

#: Largest number of units for which the exact transition matrices are built (2^d states squared).
MAX_EXACT_UNITS = 12

#: The visible-state sweep matrix of an RBM is (2^V, 2^V), built from (2^V, 2^H) conditionals:
#: the layers may be larger than MAX_EXACT_UNITS together (contrastive divergence's exact checks).
MAX_VISIBLE_SWEEP = (14, 16)


def _softmax_neg(E):
    """e^{−E_k} / Σ_j e^{−E_j}, the largest term scaled to 1 first."""
    a = -np.asarray(E, dtype=np.float64)
    a = a - a.max()
    w = np.exp(a)
    return w / w.sum()


def _exact_units(model, fam):
    """Refuse spaces with more than MAX_EXACT_UNITS units (visible + hidden for an RBM)."""
    if fam == "rbm":
        n = model.params["W"].shape[0] + model.params["W"].shape[1]
    else:
        n = model.dim
    if n > MAX_EXACT_UNITS:
        raise ValueError(f"model: exact transition matrices are built for at most {MAX_EXACT_UNITS} units, got {n}")


def rbm_joint_energy(W, b, c, v, h) -> np.ndarray:
    r"""E(v, h) = −vᵀWh − bᵀv − cᵀh of a Bernoulli RBM for all pairs of rows: shape (len(v), len(h))."""
    W = as_float_array(W, "W", (None, None))
    b = as_float_array(b, "b", (W.shape[0],))
    c = as_float_array(c, "c", (W.shape[1],))
    v = as_batch(v, W.shape[0], "v")
    h = as_batch(h, W.shape[1], "h")
    return -(v @ W @ h.T) - (v @ b)[:, None] - (h @ c)[None, :]


def stationary_distribution(model, *, spins=None, joint=False) -> np.ndarray:
    r"""π over :func:`enumerate_states` by enumeration: π_k = e^{−E(x_k)} / Σ_j e^{−E(x_j)}.

    For a Bernoulli RBM, π over the visible states (E = free energy F(v)), or with
    ``joint=True`` over the pairs (v, h), index ``k_v · 2^{n_h} + k_h``.
    """
    fam = model_family(model)
    _exact_units(model, fam)
    if fam == "gbrbm":
        raise ValueError("model: a Gaussian–Bernoulli RBM has continuous visible units; no enumeration")
    if fam == "rbm":
        W, b, c = model.layer_arrays()
        V = enumerate_states(W.shape[0])
        if joint:
            H = enumerate_states(W.shape[1])
            return _softmax_neg(rbm_joint_energy(W, b, c, V, H).ravel())
        return _softmax_neg(model.energy(V))
    lo, hi = unit_values(model, spins)
    X = enumerate_states(model.dim, "binary" if lo == 0.0 else "ising")
    return _softmax_neg(model.energy(X))


def transition_matrix_block_gibbs(model, *, joint=False) -> np.ndarray:
    r"""The exact block-Gibbs sweep matrix of a small Bernoulli RBM, from ratios of the joint.

    The conditionals are formed from the enumerated joint :math:`e^{-E(v,h)}` alone:
    :math:`p(h\mid v) = e^{-E(v,h)}/\sum_{h'} e^{-E(v,h')}` and likewise :math:`p(v\mid h)`
    (Z cancels, no sigmoid formula is used).  Then

    * on the visible states: :math:`P(v, v') = \sum_h p(h\mid v)\,p(v'\mid h)`;
    * with ``joint=True``, on the pairs (index k_v·2^{n_h} + k_h):
      :math:`P((v,h),(v',h')) = p(h'\mid v)\,p(v'\mid h')` (the sweep draws h' from the
      current v, then v' from h').
    """
    fam = model_family(model)
    if fam != "rbm":
        raise ValueError("model: transition_matrix_block_gibbs needs a BernoulliRBM")
    if joint:
        _exact_units(model, fam)
    else:
        (nv_max, nh_max), (nv, nh) = MAX_VISIBLE_SWEEP, model.params["W"].shape
        if nv > nv_max or nh > nh_max:
            raise ValueError(f"model: the exact visible sweep matrix needs n_visible <= {nv_max} and "
                             f"n_hidden <= {nh_max}, got {nv}, {nh}")
    W, b, c = model.layer_arrays()
    V, H = enumerate_states(W.shape[0]), enumerate_states(W.shape[1])
    negE = -rbm_joint_energy(W, b, c, V, H)                 # (2^nv, 2^nh)
    ph_v = np.exp(negE - negE.max(axis=1, keepdims=True))
    ph_v /= ph_v.sum(axis=1, keepdims=True)                   # p(h | v), rows v
    pv_h = np.exp(negE - negE.max(axis=0, keepdims=True))
    pv_h /= pv_h.sum(axis=0, keepdims=True)                   # p(v | h), columns h
    if not joint:
        return ph_v @ pv_h.T
    nv_s, nh_s = ph_v.shape
    # P[(v,h), (v',h')] = p(h'|v) p(v'|h'), the same for every old h
    T = np.einsum("ak,bk->abk", ph_v, pv_h)                   # (v, v', h')
    P = np.broadcast_to(T[:, None, :, :], (nv_s, nh_s, nv_s, nh_s))
    return np.ascontiguousarray(P.reshape(nv_s * nh_s, nv_s * nh_s))


def _site_matrices(model, spins, kind):
    """Per-site kernels P_i on the 2^d states, from energy ratios of the enumeration."""
    lo, hi = unit_values(model, spins)
    sp = "binary" if lo == 0.0 else "ising"
    X = enumerate_states(model.dim, sp)
    E = model.energy(X)
    n, d = X.shape
    mats = []
    for i in range(d):
        flip = np.arange(n) ^ (1 << (d - 1 - i))               # index of x with unit i flipped
        P = np.zeros((n, n))
        if kind == "gibbs":
            # p(x_i = s | x_{-i}) = e^{-E(x_i=s)} / (e^{-E(x_i=s0)} + e^{-E(x_i=s1)})
            p_stay = sigmoid(E[flip] - E)                     # e^{-E(x)} / (e^{-E(x)} + e^{-E(flip x)})
            P[np.arange(n), np.arange(n)] = p_stay
            P[np.arange(n), flip] = 1.0 - p_stay
        else:
            a = mh_acceptance(E - E[flip])                     # min(1, π(flip x)/π(x))
            P[np.arange(n), flip] = a
            P[np.arange(n), np.arange(n)] = 1.0 - a
        mats.append(P)
    return mats


def transition_matrix_site_gibbs(model, *, spins=None) -> np.ndarray:
    r"""Exact matrix of one systematic sweep of single-site Gibbs, :math:`P = P_1 P_2 \cdots P_d`.

    :math:`P_i` resamples unit i from :math:`p(x_i\mid x_{-i}) = e^{-E(x)}/(e^{-E(x)} + e^{-E(x^{(i)})})`,
    with :math:`x^{(i)}` the state with unit i flipped (the two enumerated energies only).
    """
    fam = model_family(model)
    if fam in ("rbm", "gbrbm"):
        raise ValueError("model: transition_matrix_site_gibbs is for fully visible models; for an RBM use transition_matrix_block_gibbs")
    _exact_units(model, fam)
    P = None
    for Pi in _site_matrices(model, spins, "gibbs"):
        P = Pi if P is None else P @ Pi
    return P


def transition_matrix_spin_flip(model, *, scan="random", spins=None, per_proposal=False) -> np.ndarray:
    r"""Exact matrix of one step (d proposals) of spin-flip Metropolis.

    Single-site kernel: :math:`P_i(x, x^{(i)}) = \min(1, e^{E(x) - E(x^{(i)})})`, the rest
    on the diagonal.  Random scan: one proposal is :math:`\bar P = \frac1d\sum_i P_i`
    (returned with ``per_proposal=True``) and a step is :math:`\bar P^d`; systematic:
    :math:`P_1\cdots P_d`.
    """
    if scan not in ("random", "systematic"):
        raise ValueError(f"scan: expected 'random' or 'systematic', got {scan!r}")
    fam = model_family(model)
    if fam in ("rbm", "gbrbm"):
        raise ValueError("model: spin-flip matrices are for fully visible binary models")
    _exact_units(model, fam)
    mats = _site_matrices(model, spins, "metropolis")
    if scan == "random":
        Pbar = sum(mats) / len(mats)
        return Pbar if per_proposal else np.linalg.matrix_power(Pbar, len(mats))
    if per_proposal:
        raise ValueError("per_proposal: only defined for scan='random'")
    P = None
    for Pi in mats:
        P = Pi if P is None else P @ Pi
    return P


def swap_transition_matrix(model, betas, first: int = 0) -> np.ndarray:
    r"""Exact matrix of one swap round on the product space of R small binary replicas.

    State index: replica states :math:`(x_1, \dots, x_R)` with index
    :math:`\sum_r k_r 2^{d(R-1-r)}`, :math:`k_r` the index of :math:`x_r` in
    :func:`ebm_ref.numerics.enumeration.enumerate_states`.  Pairs (i, i+1) with i ≡ ``first``
    (mod 2) are swapped independently, each with probability :math:`\min(1, e^{\log r})`,
    log r from :func:`ebm_ref.samplers.parallel_tempering.swap_log_ratio`.
    """
    fam = model_family(model)
    if fam == "gbrbm":
        raise ValueError("model: the swap matrix needs enumerable (binary) states")
    betas = check_betas(betas)
    if first not in (0, 1):
        raise ValueError(f"first: expected 0 (even pairs) or 1 (odd pairs), got {first!r}")
    lo, hi = unit_values(model, None)
    d = model.dim
    R = betas.size
    if d * R > MAX_EXACT_UNITS:
        raise ValueError(f"model: the product space has 2^{d * R} states; at most {MAX_EXACT_UNITS} units in all")
    X = enumerate_states(d, "binary" if lo == 0.0 else "ising")
    S = 2**d
    digits = np.array(np.unravel_index(np.arange(S**R), (S,) * R)).T    # (S^R, R) replica state indices
    P = np.eye(S**R)
    for i in range(first, R - 1, 2):
        j = i + 1
        xi, xj = X[digits[:, i]], X[digits[:, j]]
        a = mh_acceptance(swap_log_ratio(model, xi, xj, betas[i], betas[j]))
        swapped = digits.copy()
        swapped[:, [i, j]] = digits[:, [j, i]]
        target = np.ravel_multi_index(swapped.T, (S,) * R)
        Pi = np.zeros((S**R, S**R))
        rows = np.arange(S**R)
        Pi[rows, target] += a
        Pi[rows, rows] += 1.0 - a
        P = P @ Pi
    return P


def tempered_product_distribution(model, betas) -> np.ndarray:
    r"""∏_r π_{β_r}(x_r) over the product space (order of :func:`swap_transition_matrix`), by enumeration.

    For a Bernoulli RBM each factor is the visible marginal of the enumerated tempered
    joint :math:`e^{-\beta E(v,h)}` (summed over h directly, not via the softplus formula).
    """
    fam = model_family(model)
    if fam == "gbrbm":
        raise ValueError("model: the tempered product distribution needs enumerable (binary) states")
    betas = check_betas(betas)
    lo, hi = unit_values(model, None)
    X = enumerate_states(model.dim, "binary" if lo == 0.0 else "ising")
    factors = []
    for beta in betas:
        if fam == "rbm":
            W, b, c = model.layer_arrays()
            H = enumerate_states(W.shape[1])
            negE = -beta * rbm_joint_energy(W, b, c, X, H)
            m = negE.max()
            w = np.exp(negE - m).sum(axis=1)
        else:
            e = -beta * model.energy(X)
            w = np.exp(e - e.max())
        factors.append(w / w.sum())
    p = factors[0]
    for f in factors[1:]:
        p = np.outer(p, f).ravel()
    return p
