r"""Exact routes to the partition function :math:`Z = \int e^{-E(x)}\,dx` and its logarithm.

* :func:`log_partition_exact` — the model's closed form;
* :func:`log_partition_quadrature` — adaptive quadrature in 1-D and 2-D
  (:func:`~ebm_ref.numerics.quadrature.adaptive_quad` /
  :func:`~ebm_ref.numerics.quadrature.adaptive_dblquad`) with an error estimate on log Z;
* :func:`~ebm_ref.numerics.enumeration.log_partition_enumerate` (re-exported here) — a sum
  over :math:`\{0,1\}^d` in chunks, with a running log-sum-exp so that no :math:`2^d`
  array is ever formed.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_float_array
from ..energy import Energy
from ..numerics.enumeration import log_partition_enumerate
from ..numerics.quadrature import adaptive_dblquad, adaptive_quad

__all__ = ["log_partition_exact", "log_partition_quadrature", "log_partition_enumerate"]


def log_partition_exact(model) -> float:
    """log Z in closed form; raises ``NotImplementedError`` naming an estimator otherwise."""
    return float(model.log_partition())


def _energy_fn(model_or_fn, d_expected=None):
    """``(E, dim)``: an ``Energy``'s ``energy`` and dimension, or a callable E(x) on (n, d) batches."""
    if isinstance(model_or_fn, Energy):
        return model_or_fn.energy, model_or_fn.dim
    if callable(model_or_fn):
        return model_or_fn, d_expected
    raise ValueError("model: expected an Energy or a callable E(x) on (n, d) batches, "
                     f"got {type(model_or_fn).__name__}")


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
    if not np.isfinite(E0):
        raise FloatingPointError(f"quadrature: the energy is {E0} at the box centre {centre.tolist()}; "
                                 "a NaN energy inside the box is a fault of the model, not of the box")

    def _checked(e, at):
        if np.isnan(e):
            raise FloatingPointError(f"quadrature: the energy is NaN inside the box, at {at}; "
                                     "a NaN energy is a fault of the model, not of the box")
        return e

    if d == 1:
        def f(t):
            return np.exp(-(_checked(E(np.array([[t]]))[0], [t]) - E0))

        val, err = adaptive_quad(f, b[0, 0], b[0, 1], epsabs=epsabs, epsrel=epsrel, limit=limit)
    else:
        if not np.all(np.isfinite(b)):
            raise ValueError("bounds: 2-D quadrature needs a finite box")

        def f2(x, y):
            return np.exp(-(_checked(E(np.array([[x, y]]))[0], [x, y]) - E0))

        val, err = adaptive_dblquad(f2, b[0], b[1], epsabs=epsabs, epsrel=epsrel)
    if not val > 0:
        raise ValueError("quadrature gave a non-positive integral: the box misses the mass of exp(-E)")
    return float(np.log(val) - E0), float(err / val)
