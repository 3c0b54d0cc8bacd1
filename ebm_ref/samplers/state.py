r"""State, info and target of the continuous NumPy steps (the BlackJAX shape).

Every continuous transition of the package is a pure NumPy function, vectorised over
chains,

.. code-block:: python

    new_state, info = step(rng_or_draws, state, target, step_size, ...)

* ``state`` is a :class:`State`: ``position`` x (n, d), ``energy`` E(x) (n,) and, for
  the gradient-based steps, ``grad`` ∇ₓE(x) (n, d).  :func:`init` builds it.
* ``target`` is anything with ``energy(x) -> (n,)`` and ``grad_x(x) -> (n, d)``: an
  :class:`~ebm_ref.energy.Energy`, or a :class:`Potential` of two callables (a tempered
  energy :math:`E_\beta = (1-\beta)E_0 + \beta E_1`, say).  Energy convention p ∝ e^{−E}.
* ``step_size`` is a float or one value per chain, shape (n,).
* ``rng_or_draws`` is a ``numpy.random.Generator`` (the step draws its n × d normals,
  then, if it has an accept/reject test, its n uniforms), or the tuple
  ``(normals, uniforms)`` of those draws, so that the caller keeps its own random stream
  (``uniforms`` is ignored, may be None, for ULA).
* ``info`` is an :class:`Info`: the acceptance probability α (n,), the accepted mask,
  the proposal as a State (its energy and gradient, so a caller can check them for NaN
  without evaluating them again) and, for HMC, the final momentum.

The steps (one home per transition; the fused numba kernels of the same modules are the
fast path of the same arithmetic):

* :func:`ebm_ref.samplers.metropolis_hastings.rwmh_step` — random-walk MH;
* :func:`ebm_ref.samplers.langevin.langevin_step` (``adjust=False``: ULA, ``True``:
  MALA), also as :func:`~ebm_ref.samplers.langevin.ula_step` and
  :func:`~ebm_ref.samplers.langevin.mala_step`;
* :func:`ebm_ref.samplers.hamiltonian.hmc_step` (leapfrog + MH on H);
* :func:`ebm_ref.samplers.metropolis_hastings.mh_accept` — the accept/reject shared by
  the three adjusted steps.

A step does not check for NaN (it propagates): the caller decides (the samplers' driver
raises ``FloatingPointError`` naming the step and chain, :func:`check_info_finite`).

**Bounded supports.**  Outside the support of p (x ≤ 0 for a Gamma, x ∉ (0, 1) for a Beta)
:math:`E = +\infty`: a proposal there has acceptance probability 0.  The steps evaluate the
target only through :func:`evaluate_in_support`, which asks the target's ``in_support(x)``
(:meth:`ebm_ref.energy.Energy.in_support`; a :class:`Potential` may carry one) and gives
E = +∞ and ∇E = 0 at the points outside *without evaluating the energy there* (a bounded
model raises ``ValueError`` outside).  ``info.in_support`` records which proposals were
inside; :func:`check_info_finite` passes a rejected proposal outside the support and still
stops on a NaN or inf inside it.  (The fused numba kernels need no such rule: no built-in
jittable form has a bounded support.)
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from .._validate import as_batch, as_float_array
from ..energy import Energy
from ._common import first_nonfinite, nonfinite_error

__all__ = ["State", "Info", "Potential", "init", "step_draws", "per_chain_step", "evaluate_in_support",
           "check_info_finite"]


class State(NamedTuple):
    """States of n chains: ``position`` x (n, d), ``energy`` E(x) (n,), ``grad`` ∇ₓE(x) (n, d) or None."""

    position: np.ndarray
    energy: np.ndarray
    grad: np.ndarray | None = None


class Info(NamedTuple):
    """What one step did: α (n,), accepted mask (n,), the proposal (a State), HMC's final momentum,
    and which proposals lay in the target's support (n,) (None: all of them)."""

    acceptance_probability: np.ndarray
    is_accepted: np.ndarray
    proposal: State
    momentum: np.ndarray | None = None
    in_support: np.ndarray | None = None


class Potential(NamedTuple):
    """A target given by callables, ``energy(x) -> (n,)``, ``grad_x(x) -> (n, d)`` and optionally
    ``in_support(x) -> (n,)`` bool (E = +∞ outside; None: the support is everything).

    ``grad_x`` may be None for the steps that need no gradient (random-walk MH).
    """

    energy: Callable
    grad_x: Callable | None = None
    in_support: Callable | None = None


def init(position, target, grad: bool = True) -> State:
    """The State at ``position`` (n, d): E and, if ``grad``, ∇ₓE evaluated by ``target``."""
    x = as_batch(position, None, "position")
    if not callable(getattr(target, "energy", None)):
        raise ValueError(f"target: expected an object with energy(x) (an Energy or a Potential), got {type(target).__name__}")
    if grad and not callable(getattr(target, "grad_x", None)):
        raise ValueError("target: this step needs grad_x(x); give a Potential(energy, grad_x) or an Energy")
    e = np.asarray(target.energy(x), dtype=np.float64)
    if e.shape != (x.shape[0],):
        raise ValueError(f"target: energy returned shape {e.shape}, expected ({x.shape[0]},)")
    g = np.asarray(target.grad_x(x), dtype=np.float64) if grad else None
    if g is not None and g.shape != x.shape:
        raise ValueError(f"target: grad_x returned shape {g.shape}, expected {x.shape}")
    return State(x, e, g)


def step_draws(rng_or_draws, shape, uniforms: bool):
    """(normals of ``shape``, uniforms (n,) or None), drawn in that order or passed through."""
    n = shape[0]
    if isinstance(rng_or_draws, np.random.Generator):
        z = rng_or_draws.standard_normal(shape)
        return z, (rng_or_draws.random(n) if uniforms else None)
    if not isinstance(rng_or_draws, tuple) or len(rng_or_draws) != 2:
        raise ValueError("rng_or_draws: expected a numpy.random.Generator or a tuple (normals, uniforms), "
                         f"got {type(rng_or_draws).__name__}")
    z = as_float_array(rng_or_draws[0], "normals")
    if z.shape != tuple(shape):
        raise ValueError(f"normals: expected shape {tuple(shape)}, got {z.shape}")
    if not uniforms:
        return z, None
    u = as_float_array(rng_or_draws[1], "uniforms")
    if u.shape != (n,):
        raise ValueError(f"uniforms: expected shape ({n},), got {u.shape}")
    return z, u


def per_chain_step(step_size, n: int, name: str = "step_size") -> np.ndarray:
    """A step size as one value per chain, shape (n,): a float is repeated; all must be finite and > 0."""
    h = as_float_array(step_size, name)
    if h.ndim == 0:
        h = np.full(n, float(h))
    if h.shape != (n,):
        raise ValueError(f"{name}: expected a float or one value per chain, shape ({n},), got {h.shape}")
    if not np.all(np.isfinite(h)) or np.any(h <= 0):
        raise ValueError(f"{name}: must be finite and > 0, got {h}")
    return h


def _support_test(target):
    """The target's ``in_support`` callable, or None when its support is everything."""
    if isinstance(target, Energy) and type(target)._in_support is Energy._in_support:
        return None
    return getattr(target, "in_support", None)


def evaluate_in_support(target, y, energy: bool = True, grad: bool = True, outside=None):
    r"""E(y) and ∇E(y) at the points of ``y`` (n, d) in the target's support; E = +∞, ∇E = 0 outside.

    The target is evaluated only at the points inside (a bounded model raises outside its
    support).  A point with a NaN or inf coordinate is neither inside nor outside: its E and
    ∇E are NaN, for the driver to report.  ``outside`` (n,) bool, optional, marks points to
    treat as outside whatever they are (HMC: a trajectory that has left the support).

    Returns
    -------
    e : ndarray (n,) or None (``energy=False``)
    g : ndarray (n, d) or None (``grad=False``)
    inside : ndarray (n,) bool
    """
    finite = np.all(np.isfinite(y), axis=1)
    inside = finite if outside is None else finite & ~outside
    test = _support_test(target)
    if test is not None and np.any(inside):
        inside = inside.copy()
        inside[inside] = np.asarray(test(y[inside]), dtype=bool)
    if np.all(inside):                         # the common case: one call on the whole batch
        e = np.asarray(target.energy(y), dtype=np.float64) if energy else None
        g = np.asarray(target.grad_x(y), dtype=np.float64) if grad else None
        return e, g, inside
    e = g = None
    if energy:
        e = np.where(finite, np.inf, np.nan)
        if np.any(inside):
            e[inside] = target.energy(y[inside])
    if grad:
        g = np.where(finite[:, None], 0.0, np.nan) * np.ones_like(y)
        if np.any(inside):
            g[inside] = target.grad_x(y[inside])
    return e, g, inside


def check_info_finite(sampler: str, step: int, info: Info, what: str) -> None:
    """Raise ``FloatingPointError`` naming ``step`` and the first chain whose proposal is non-finite.

    A proposal outside the support (``info.in_support`` False: E = +∞ by definition) that was
    rejected is not a failure; one that was accepted (ULA, which has no rejection) is.
    """
    arrays = [a for a in (*info.proposal, info.momentum) if a is not None]
    if info.in_support is not None and not np.all(info.in_support):
        passed = ~info.in_support & ~np.asarray(info.is_accepted, dtype=bool)
        arrays = [np.where(passed.reshape((-1,) + (1,) * (np.ndim(a) - 1)), 0.0, a) for a in arrays]
    c = first_nonfinite(*arrays)
    if c >= 0:
        raise nonfinite_error(sampler, step, c, what)
