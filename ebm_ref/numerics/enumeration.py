r"""Exhaustive enumeration of binary states: the exact answers of every discrete check.

The states of :math:`\{s_0, s_1\}^d` — binary :math:`\{0, 1\}` or Ising :math:`\{-1, +1\}` —
are listed in one fixed order: row k is the binary expansion of k, first unit most
significant (bit 0 ↦ :math:`s_0`, bit 1 ↦ :math:`s_1`).  :func:`state_index` inverts it.

With the energy convention :math:`p(x) = e^{-E(x)}/Z`,

.. math::  \log Z = \log\sum_{x} e^{-E(x)},\qquad
           \mathbb E_p[T(x)] = \sum_x e^{-E(x) - \log Z}\,T(x),

both summed in chunks so that memory stays O(chunk · d).  Enumeration beyond
:data:`MAX_ENUMERATE_DIM` units is refused with a ``ValueError`` rather than left to
exhaust time or memory.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .._validate import as_batch, check_positive_int

__all__ = [
    "MAX_ENUMERATE_DIM",
    "SPIN_VALUES",
    "enumerate_states",
    "state_index",
    "log_partition_enumerate",
    "expectation_by_enumeration",
    "expectation_of_terms",
]

#: 2^24 ≈ 1.7e7 states: about a second of work and a 0.1 GB chunk budget at most.
MAX_ENUMERATE_DIM = 24

#: The two values (s0, s1) a unit takes, by name.
SPIN_VALUES = {"binary": (0.0, 1.0), "ising": (-1.0, 1.0)}


def _spin_pair(spins: str) -> tuple[float, float]:
    if spins not in SPIN_VALUES:
        raise ValueError(f"spins: expected 'binary' (units in {{0, 1}}) or 'ising' (units in {{-1, +1}}), "
                         f"got {spins!r}")
    return SPIN_VALUES[spins]


def enumerate_states(d: int, spins: str = "binary", *, start: int = 0, stop: int | None = None) -> np.ndarray:
    """The states with indices ``start .. stop-1`` of {s0, s1}^d, as float rows of shape (m, d).

    Row k is the binary expansion of k, most significant bit first; Ising states map
    bit 0 → −1 and bit 1 → +1.  ``stop`` defaults to 2^d.
    """
    d = check_positive_int(d, "d", 1)
    if d > MAX_ENUMERATE_DIM:
        raise ValueError(f"d: enumerating 2^{d} states is refused (limit d <= {MAX_ENUMERATE_DIM})")
    lo, hi = _spin_pair(spins)
    stop = 2**d if stop is None else int(stop)
    start = int(start)
    if not 0 <= start <= stop <= 2**d:
        raise ValueError(f"start, stop: need 0 <= start <= stop <= 2^{d}, got start={start}, stop={stop}")
    k = np.arange(start, stop, dtype=np.int64)
    bits = ((k[:, None] >> np.arange(d - 1, -1, -1, dtype=np.int64)) & 1).astype(np.float64)
    return bits if (lo, hi) == (0.0, 1.0) else lo + (hi - lo) * bits


def state_index(x, spins: str = "binary") -> np.ndarray:
    """Index k of each row of ``x`` in :func:`enumerate_states` order (first unit most significant)."""
    lo, hi = _spin_pair(spins)
    x = as_batch(x, None, "x")
    if x.shape[1] > 62:
        raise ValueError(f"x: at most 62 units fit an int64 index, got {x.shape[1]}")
    if not np.all((x == lo) | (x == hi)):
        raise ValueError(f"x: {spins} units must be {lo:g} or {hi:g}")
    bits = ((x - lo) / (hi - lo)).astype(np.int64)
    d = x.shape[1]
    return bits @ (1 << np.arange(d - 1, -1, -1, dtype=np.int64))


def _as_energy_fn(energy_fn) -> Callable:
    fn = getattr(energy_fn, "energy", energy_fn)
    if not callable(fn):
        raise ValueError(f"energy_fn: expected a callable E(x) or a model with .energy, got {type(energy_fn).__name__}")
    return fn


def log_partition_enumerate(energy_fn, d: int, *, chunk: int = 1 << 16, max_dim: int = MAX_ENUMERATE_DIM,
                            spins: str = "binary") -> float:
    r"""log Z = log Σ_x exp(−E(x)) over x ∈ {s0, s1}^d, summed in chunks.

    Parameters
    ----------
    energy_fn : callable or Energy
        ``E`` on an ``(m, d)`` batch of states, returning ``(m,)``.
    d : int
        Number of units; refused above ``max_dim`` with a ``ValueError``.
    chunk : int
        States per batch; memory is O(chunk · d).
    spins : {'binary', 'ising'}

    Notes
    -----
    A running log-sum-exp: with :math:`m` the largest −E seen so far and
    :math:`s = \sum e^{-E-m}`, each chunk updates :math:`m' = \max(m, m_c)`,
    :math:`s' = s e^{m-m'} + s_c e^{m_c-m'}`; log Z = m + log s.

    Infinite energies are decided, never left to ∞ − ∞ = NaN: a state with E = +∞ adds
    :math:`e^{-\infty} = 0`, so E = +∞ at every state gives log Z = −∞ (Z = 0; no
    distribution exists, and :func:`expectation_by_enumeration` refuses it); a state with
    E = −∞ gives log Z = +∞.  A NaN energy raises ``FloatingPointError``.
    """
    E = _as_energy_fn(energy_fn)
    d = check_positive_int(d, "d", 1)
    if d > min(max_dim, MAX_ENUMERATE_DIM):
        raise ValueError(f"d: enumerating 2^{d} states is refused (limit d <= {min(max_dim, MAX_ENUMERATE_DIM)}); "
                         "estimate log Z with partition.ais instead")
    chunk = check_positive_int(chunk, "chunk", 1)
    m, s, _ = _running_log_sum_exp(lambda x: (-np.asarray(E(x), dtype=np.float64), None), d, spins, chunk,
                                   "energy_fn")
    if not np.isfinite(m):                   # +∞: E = −∞ at a state; −∞: E = +∞ at every state (Z = 0)
        return m
    return float(m + np.log(s))


def _running_log_sum_exp(terms: Callable, d: int, spins: str, chunk: int, who: str):
    r"""The one pass over {s0, s1}^d in chunks behind :func:`log_partition_enumerate` and
    :func:`expectation_of_terms`: ``(m, s, acc)`` with m the largest f = −E seen,
    :math:`s = \sum_x e^{f(x)-m}` and ``acc[k]`` :math:`= \sum_x e^{f(x)-m}T_k(x)`.

    ``terms(x) -> (f, sums)``: the negative energies of a chunk, shape (m,), and ``sums(w) -> dict``
    of the w-weighted sums of T over the chunk, or ``sums`` None (log Z only).  Each chunk (maximum
    :math:`m_c`, :math:`m' = \max(m, m_c)`) rescales the running sums by :math:`e^{m-m'}`.  A NaN
    energy raises ``FloatingPointError``; a state with E = −∞ returns m = +∞ at once, and E = +∞
    at every state leaves m = −∞ (the callers decide what those mean).
    """
    m, s, acc = -np.inf, 0.0, {}
    total = 2**d
    for start in range(0, total, chunk):
        x = enumerate_states(d, spins, start=start, stop=min(total, start + chunk))
        f, sums = terms(x)
        f = np.asarray(f, dtype=np.float64)
        if f.shape != (x.shape[0],):
            raise ValueError(f"{who}: expected shape ({x.shape[0]},), got {f.shape}")
        if np.isnan(f).any():
            raise FloatingPointError(f"{who} returned NaN during enumeration")
        mc = float(f.max())
        if mc == np.inf:                     # E = −∞ at a state: Z = +∞
            return np.inf, np.inf, acc
        if mc == -np.inf:                    # E = +∞ at every state of the chunk: it adds nothing
            continue
        mn = max(m, mc)
        scale = np.exp(m - mn)               # e^{m − m'}: 0 before the first chunk, 1 when m' = m
        w = np.exp(f - mn)
        s = s * scale + float(np.sum(w))
        if sums is not None:
            acc = {k: acc.get(k, 0.0) * scale + t for k, t in sums(w).items()}
        m = mn
    return m, s, acc


def expectation_by_enumeration(neg_energy: Callable, statistics: Callable, d: int, *,
                               chunk: int = 1 << 14, what: str = "d") -> tuple[float, dict]:
    r"""log Z and exact expectations :math:`\mathbb E_p[T(x)]` over x ∈ {0,1}^d.

    Parameters
    ----------
    neg_energy : callable
        ``(m, d) -> (m,)``, the negative energy f(x) = −E(x).
    statistics : callable
        ``(x, w) -> dict``: for a chunk of states x ``(m, d)`` and their weights
        w ``(m,)`` (:math:`\propto p(x_k)`), the weighted sums :math:`\sum_k w_k T(x_k)`, linear
        in w (written by the caller as matrix products, so no ``(m, ...)`` array of outer
        products is formed).
    d : int
        Number of binary units; refused above :data:`MAX_ENUMERATE_DIM`.
    what : str
        The argument name used in the error message.

    Returns
    -------
    log_z : float
    expectations : dict
        :math:`\sum_x p(x) T(x)` with :math:`p(x) = e^{-E(x)-\log Z}`.

    Notes
    -----
    :func:`expectation_of_terms` with ``terms(x) = (neg_energy(x), lambda w: statistics(x, w))``.
    """
    return expectation_of_terms(lambda x: (neg_energy(x), lambda w: statistics(x, w)), d, chunk=chunk, what=what)


def expectation_of_terms(terms: Callable, d: int, *, chunk: int = 1 << 14, what: str = "d") -> tuple[float, dict]:
    r"""log Z and :math:`\mathbb E_p[T(x)]` over x ∈ {0,1}^d in one pass, from one call per chunk.

    Parameters
    ----------
    terms : callable
        ``x (m, d) -> (f, sums)``: the negative energies f(x) = −E(x) of a chunk of states,
        shape ``(m,)``, and a function ``sums(w) -> dict`` of the weighted sums
        :math:`\sum_k w_k T(x_k)`.  One callable, so that f and T can share work (an RBM's
        free energy and conditional means both come from one product and one exponential).
    d, chunk, what
        As in :func:`expectation_by_enumeration`.

    Notes
    -----
    One pass over the states in chunks with a running maximum (the loop
    :func:`log_partition_enumerate` uses too): with :math:`m` the largest f seen so far,
    :math:`s = \sum_x e^{f(x)-m}` and :math:`A = \sum_x e^{f(x)-m}T(x)`, each chunk (maximum
    :math:`m_c`, :math:`m' = \max(m, m_c)`) updates

    .. math::  s' = s\,e^{m-m'} + \sum_{x\in c} e^{f(x)-m'},\qquad
               A' = A\,e^{m-m'} + \sum_{x\in c} e^{f(x)-m'}\,T(x),

    and at the end :math:`\log Z = m + \log s`, :math:`\mathbb E_p[T] = A/s`.  Memory stays
    O(chunk · d).  A NaN energy raises ``FloatingPointError``; E = −∞ at a state (Z = ∞) or
    E = +∞ at every state (Z = 0) raises ``ValueError``: p(x) = e^{−E(x)}/Z is then not a
    distribution.
    """
    if d > MAX_ENUMERATE_DIM:
        raise ValueError(f"{what}: exact enumeration of 2^{d} states is refused "
                         f"(limit {MAX_ENUMERATE_DIM} units); use a sampler or partition.ais")
    d = check_positive_int(d, "d", 1)
    chunk = check_positive_int(chunk, "chunk", 1)
    m, s, acc = _running_log_sum_exp(terms, d, "binary", chunk, "neg_energy")
    if not np.isfinite(m):
        where = "-inf at a state" if m > 0 else "+inf at every state"
        raise ValueError(f"neg_energy: log Z = {m} (the energy is {where}); "
                         "p(x) = e^{-E(x)}/Z is not a distribution, so it has no expectations")
    return float(m + np.log(s)), {k: t / s for k, t in acc.items()}
