r"""The partition function :math:`Z = \int e^{-E(x)}\,dx` and its logarithm.

Exact routes (this module's first part):

* :func:`log_partition_exact` — the model's closed form;
* :func:`log_partition_quadrature` — adaptive quadrature in 1-D and 2-D
  (``scipy.integrate.quad`` / ``dblquad``) with an error estimate on log Z;
* :func:`log_partition_enumerate` — a sum over :math:`\{0,1\}^d` in chunks, with a
  running log-sum-exp so that no :math:`2^d` array is ever formed.

Estimators (importance sampling, AIS) are added beside them.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import integrate

from ._validate import as_float_array, check_positive_int

__all__ = [
    "MAX_ENUMERATE_DIM",
    "log_partition_exact",
    "log_partition_quadrature",
    "log_partition_enumerate",
    "enumerate_states",
    "logsumexp",
]

#: 2^24 ≈ 1.7e7 states: about a second of work and a 0.1 GB chunk budget at most.
#: Beyond it enumeration is refused rather than left to exhaust time or memory.
MAX_ENUMERATE_DIM = 24


def logsumexp(a, axis=None):
    """Stable log Σ exp(a) (max subtracted first); −inf for an empty or all −inf input."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        return np.float64(-np.inf) if axis is None else np.full(np.delete(a.shape, axis), -np.inf)
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out.reshape(()) if axis is None else np.squeeze(out, axis=axis)


def log_partition_exact(model) -> float:
    """log Z in closed form; raises ``NotImplementedError`` naming an estimator otherwise."""
    return float(model.log_partition())


def _energy_fn(model_or_fn, d_expected=None):
    if callable(model_or_fn) and not hasattr(model_or_fn, "energy"):
        return model_or_fn, d_expected
    if not hasattr(model_or_fn, "energy"):
        raise ValueError("model: expected an Energy (with .energy) or a callable E(x) on (n, d) batches")
    return model_or_fn.energy, getattr(model_or_fn, "dim", d_expected)


def log_partition_quadrature(model, bounds, *, epsabs: float = 0.0, epsrel: float = 1e-11,
                             limit: int = 200) -> tuple[float, float]:
    r"""log Z by adaptive quadrature over a box, in 1-D or 2-D.

    Parameters
    ----------
    model : Energy or callable
        An ``Energy`` of dimension 1 or 2, or a function ``E(x)`` on ``(n, d)`` batches.
    bounds : sequence of (low, high) pairs, one per dimension
        The integration box; infinite limits are allowed in 1-D (``quad`` maps them).
        The mass outside the box is not counted: choose it so that it is negligible.

    Returns
    -------
    log_z : float
    err : float
        Error estimate on log Z, from quadrature's absolute error on Z:
        :math:`\delta\log Z \approx \delta Z / Z`.

    Notes
    -----
    The integrand :math:`e^{-E(x)}` is shifted by :math:`E_0 = E(x_c)` at the box
    centre (or 0 for infinite limits) to keep it near 1:
    :math:`\log Z = -E_0 + \log\int e^{-(E(x)-E_0)}dx`.
    """
    b = as_float_array(bounds, "bounds")
    if b.ndim != 2 or b.shape[1] != 2 or b.shape[0] not in (1, 2):
        raise ValueError(f"bounds: expected [(low, high)] for 1-D or two pairs for 2-D, got shape {b.shape}")
    if np.any(b[:, 0] >= b[:, 1]):
        raise ValueError(f"bounds: each low must be < high, got {b.tolist()}")
    d = b.shape[0]
    E, dim = _energy_fn(model, d)
    if dim is not None and dim != d:
        raise ValueError(f"bounds: model has dimension {dim} but {d} interval(s) were given")
    finite = np.isfinite(b).all(axis=1)
    centre = np.zeros(d)
    centre[finite] = 0.5 * (b[finite, 0] + b[finite, 1])
    E0 = float(E(centre[None, :])[0])

    if d == 1:
        def f(t):
            return np.exp(-(E(np.array([[t]]))[0] - E0))

        val, err = integrate.quad(f, b[0, 0], b[0, 1], epsabs=epsabs, epsrel=epsrel, limit=limit)
    else:
        if not np.all(np.isfinite(b)):
            raise ValueError("bounds: 2-D quadrature needs a finite box")

        def f2(y, x):
            return np.exp(-(E(np.array([[x, y]]))[0] - E0))

        val, err = integrate.dblquad(f2, b[0, 0], b[0, 1], b[1, 0], b[1, 1], epsabs=epsabs, epsrel=epsrel)
    if not val > 0:
        raise ValueError("quadrature gave a non-positive integral: the box misses the mass of exp(-E)")
    return float(np.log(val) - E0), float(err / val)


def enumerate_states(d: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    """The binary states with indices ``start..stop-1`` of {0,1}^d, as float rows.

    Row k is the binary expansion of k, most significant bit first.
    """
    d = check_positive_int(d, "d", 1)
    if d > MAX_ENUMERATE_DIM:
        raise ValueError(f"d: enumerating 2^{d} states is refused (limit d <= {MAX_ENUMERATE_DIM})")
    stop = 2**d if stop is None else stop
    k = np.arange(start, stop, dtype=np.int64)
    shifts = np.arange(d - 1, -1, -1, dtype=np.int64)
    return ((k[:, None] >> shifts) & 1).astype(np.float64)


def log_partition_enumerate(energy_fn: Callable, d: int, *, chunk: int = 1 << 16,
                            max_dim: int = MAX_ENUMERATE_DIM) -> float:
    r"""log Z = log Σ_{x∈{0,1}^d} exp(−E(x)), summed in chunks.

    Parameters
    ----------
    energy_fn : callable or Energy
        ``E`` on an ``(m, d)`` batch of 0/1 floats, returning ``(m,)``.
    d : int
        Number of binary units; refused above ``max_dim`` (default
        :data:`MAX_ENUMERATE_DIM`) with a ``ValueError``.
    chunk : int
        States per batch; memory is O(chunk · d).

    Notes
    -----
    A running log-sum-exp: with :math:`m` the largest −E seen so far and
    :math:`s = \sum e^{-E-m}`, each chunk updates :math:`m' = \max(m, m_c)`,
    :math:`s' = s e^{m-m'} + s_c e^{m_c-m'}`; log Z = m + log s.
    """
    E, _ = _energy_fn(energy_fn, d)
    d = check_positive_int(d, "d", 1)
    if d > max_dim:
        raise ValueError(
            f"d: enumerating 2^{d} states is refused (limit d <= {max_dim}); "
            "estimate log Z with partition.ais instead"
        )
    chunk = check_positive_int(chunk, "chunk", 1)
    m, s = -np.inf, 0.0
    total = 2**d
    for start in range(0, total, chunk):
        x = enumerate_states(d, start, min(total, start + chunk))
        neg = -np.asarray(E(x), dtype=np.float64)
        if neg.shape != (x.shape[0],):
            raise ValueError(f"energy_fn: expected shape ({x.shape[0]},), got {neg.shape}")
        if np.any(np.isnan(neg)):
            raise FloatingPointError("energy_fn returned NaN during enumeration")
        mc = float(np.max(neg))
        mn = max(m, mc)
        s = (s * np.exp(m - mn) if np.isfinite(m) else 0.0) + float(np.sum(np.exp(neg - mn)))
        m = mn
    return float(m + np.log(s))
