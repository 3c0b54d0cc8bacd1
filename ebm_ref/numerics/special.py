r"""Special functions, stable in float64 and analytic where the derivative checks need it.

Each function is written once here; models, samplers, objectives and estimators import it.

* :func:`softplus` :math:`\log(1+e^{z})` and its derivative :func:`sigmoid`
  :math:`\sigma(z) = 1/(1+e^{-z})`.  The branch is chosen by the real part of z and each
  branch is an analytic function of z, so a complex step (which never changes the
  branch) differentiates them exactly; no exponential of a large positive number is
  ever formed, so neither overflows.  :func:`softplus_and_sigmoid` returns both sharing one
  :math:`e^{-|z|}` (the exact sums over an RBM's hidden states need the two together).
* :func:`logsumexp` :math:`\log\sum_i e^{a_i}` with the maximum subtracted first, and
  :func:`log_mean_exp` :math:`\log\frac1n\sum_i e^{a_i}`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["LOG_2PI", "sigmoid", "softplus", "softplus_and_sigmoid", "logsumexp", "log_mean_exp", "sigmoid_of_negated_inplace"]

#: log(2π), the constant of every Gaussian log-density
LOG_2PI = float(np.log(2.0 * np.pi))


def _out_like(z):
    return np.empty_like(z, dtype=np.complex128 if np.iscomplexobj(z) else np.float64)


def _exp_of_negative_part(z: np.ndarray) -> np.ndarray:
    r""":math:`e^{\min(z, 0)}`: 1 where z > 0, :math:`e^{z} = e^{-|z|}` elsewhere — the numerator of σ(z).

    The same numbers as ``np.where(z > 0, 1.0, np.exp(-np.abs(z)))`` (for z ≤ 0, −|z| is z exactly),
    for a real float64 array; an exponential costs less than a select on an unpredictable mask.
    """
    m = np.minimum(z, 0.0)
    return np.exp(m, out=m)


def _exp_minus_abs(z: np.ndarray) -> np.ndarray:
    r""":math:`e = e^{-|z|}` of a real float64 array, a new array: the exponential that the float64
    branches of :func:`softplus` and :func:`sigmoid` share (it never overflows)."""
    e = np.abs(z)
    np.negative(e, out=e)
    return np.exp(e, out=e)


def _sigmoid_given(z: np.ndarray, e: np.ndarray) -> np.ndarray:
    r""":math:`\sigma(z) = (1 \text{ if } z > 0 \text{ else } e)/(1 + e)` from :math:`e = e^{-|z|}`; a new array."""
    out = np.add(e, 1.0)
    return np.divide(_exp_of_negative_part(z), out, out=out)


def _softplus_given(z: np.ndarray, e: np.ndarray) -> np.ndarray:
    r""":math:`\operatorname{softplus}(z) = \max(z, 0) + \log(1 + e)` from :math:`e = e^{-|z|}`, written into e."""
    np.log1p(e, out=e)
    return np.add(np.maximum(z, 0.0), e, out=e)


def softplus(z):
    r"""softplus(z) = log(1 + e^z), stable for any real part, analytic (complex-step safe).

    For Re z > 0 it is computed as :math:`z + \log(1 + e^{-z})`, otherwise as
    :math:`\log(1 + e^{z})`.
    """
    z = np.asarray(z)
    if z.dtype == np.float64 and z.ndim:     # the same two branches, without masks: max(z, 0) + log(1 + e^{-|z|})
        return _softplus_given(z, _exp_minus_abs(z))
    out = _out_like(z)
    pos = z.real > 0
    zp, zn = z[pos], z[~pos]
    out[pos] = zp + np.log1p(np.exp(-zp))
    out[~pos] = np.log1p(np.exp(zn))
    return out


def sigmoid(z):
    r"""σ(z) = 1/(1 + e^{−z}) = d softplus/dz, stable for any real part, analytic.

    For Re z > 0 it is :math:`1/(1+e^{-z})`, otherwise :math:`e^{z}/(1+e^{z})`.
    """
    z = np.asarray(z)
    if z.dtype == np.float64 and z.ndim:     # the same two branches, without masks: (1 or e^{z}) / (1 + e^{-|z|})
        return _sigmoid_given(z, _exp_minus_abs(z))
    out = _out_like(z)
    pos = z.real > 0
    zp, zn = z[pos], z[~pos]
    out[pos] = 1.0 / (1.0 + np.exp(-zp))
    e = np.exp(zn)
    out[~pos] = e / (1.0 + e)
    return out


def softplus_and_sigmoid(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""``(softplus(z), sigmoid(z))`` of a real float64 array sharing one :math:`e = e^{-|z|}`.

    .. math::  \operatorname{softplus}(z) = \max(z, 0) + \log(1 + e),\qquad
               \sigma(z) = \frac{1 \text{ if } z > 0 \text{ else } e}{1 + e},

    the float64 branches of :func:`softplus` and :func:`sigmoid` (the same helpers), so each
    result equals theirs to the last bit; :math:`e` is computed once instead of twice.
    Not complex-step safe: use the two functions wherever a derivative is checked.
    """
    z = np.asarray(z)
    if z.dtype != np.float64 or not z.ndim:
        raise ValueError(f"z: expected a real float64 array, got dtype {z.dtype} and shape {z.shape}")
    e = _exp_minus_abs(z)
    sig = _sigmoid_given(z, e)
    return _softplus_given(z, e), sig


def sigmoid_of_negated_inplace(m: np.ndarray, *, silence_overflow: bool = True) -> np.ndarray:
    r"""m ← σ(−m) = 1/(1 + e^{m}) in place, for a real float64 array holding a *negated* field.

    The fast paths (block Gibbs, CD updates) form −a = (−c) − vW in one pass after a
    product, so σ(a) then costs one ``exp``, one add and one division over the buffer.
    Where e^{m} overflows (m > 709) the result is 1/(1 + inf) = 0, the correctly rounded
    σ (below 1e-308); the overflow flag is silenced here only (``silence_overflow=False``:
    the caller has silenced it once around several calls).  Not complex-step safe:
    use :func:`sigmoid` wherever a derivative is checked.
    """
    if silence_overflow:
        with np.errstate(over="ignore"):
            np.exp(m, out=m)
    else:
        np.exp(m, out=m)
    np.add(m, 1.0, out=m)
    np.divide(1.0, m, out=m)           # = np.reciprocal (one IEEE division), but NumPy's divide loop is vectorised
    return m


def logsumexp(a, axis=None):
    r""":math:`\log\sum e^{a}` along ``axis`` (all entries when None), the maximum subtracted first.

    Returns −inf for an empty or all −inf input (an empty sum is 0).
    """
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        return np.float64(-np.inf) if axis is None else np.full(np.delete(a.shape, axis), -np.inf)
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out.reshape(()) if axis is None else np.squeeze(out, axis=axis)


def log_mean_exp(a) -> float:
    r""":math:`\log\frac1n\sum_i e^{a_i}` of a set of log-weights, stably."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        raise ValueError("log_mean_exp: needs at least one value, got an empty array")
    return float(logsumexp(a) - np.log(a.size))
