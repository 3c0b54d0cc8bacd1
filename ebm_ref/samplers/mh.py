r"""Random-walk Metropolis–Hastings.

One step of chain c, energy convention :math:`p \propto e^{-E}`:

.. math::

    y = x + h\,\xi,\quad \xi\sim\mathcal N(0, I),\qquad
    \alpha(x, y) = \min\bigl(1,\ e^{-(E(y) - E(x))}\bigr),

and the chain moves to y when :math:`u < \alpha` with :math:`u \sim U[0, 1)`, else stays.
The proposal is symmetric, :math:`q(y|x) = q(x|y)`, so the Hastings ratio is
:math:`p(y)/p(x) = e^{-(E(y)-E(x))}`: only an energy *difference* enters and the partition
function Z cancels.  This acceptance gives detailed balance
:math:`p(x) q(y|x) \alpha(x,y) = p(y) q(x|y) \alpha(y,x)` (both sides equal
:math:`q(y|x)\min(p(x), p(y))`), hence p is stationary.

Warm-up adaptation (``adapt=True``): during the burn-in steps t = 0, 1, ... each
chain's step follows the Robbins–Monro recursion

.. math::  \log h \leftarrow \log h + (\alpha_t - \alpha^\star)/(t+1)^{0.6},

which drives the mean acceptance probability towards ``target_accept`` (0.234 is the
optimal rate of Roberts, Gelman & Gilks 1997 in high dimension).  The step is frozen
after burn-in, so the kept samples come from a fixed, valid MH kernel.

Random stream per chunk and step (both paths): the chunk's ``n_c × d`` normals in
row-major order, then its ``n_c`` uniforms.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._common import (
    N_CHUNKS,
    as_generator,
    check_schedule,
    check_step,
    check_x0,
    chunk_bounds,
    draw_normals,
    draw_uniforms,
    kept_index,
    make_chains,
    new_status,
    raise_if_nonfinite,
    raise_kernel_status,
    segments,
    spawn_generators,
    use_jit,
)
from ._jit_models import batch_energy, jit_form, point_energy
from .._validate import check_positive

__all__ = ["metropolis", "acceptance_probability"]

#: Exponent of the Robbins–Monro gain (t+1)^(−κ) of the warm-up adaptation, κ in (0.5, 1].
ADAPT_KAPPA = 0.6


@njit(cache=True, parallel=True)
def _rwmh_kernel(form, x, e, h, gens, bounds, t0, t1, burn_in, thin, adapt, target, out, n_acc, bad_step, bad_chain):
    d = x.shape[1]
    for k in prange(len(bounds) - 1):
        lo = bounds[k]
        m = bounds[k + 1] - lo
        if m == 0:
            continue
        g = gens[k]
        z = np.empty((m, d))
        u = np.empty(m)
        y = np.empty(d)
        stop = False
        for t in range(t0, t1):
            for i in range(m):                     # the chunk's normals, row-major
                for j in range(d):
                    z[i, j] = g.standard_normal()
            for i in range(m):                     # then its uniforms
                u[i] = g.random()
            for i in range(m):
                c = lo + i
                for j in range(d):                 # y = x + h ξ
                    y[j] = x[c, j] + h[c] * z[i, j]
                ey = point_energy(form, y)
                if not np.isfinite(ey):
                    bad_step[k] = t + 1
                    bad_chain[k] = c
                    stop = True
                    break
                de = e[c] - ey                     # α = min(1, e^{-(E(y) − E(x))}); exp only when de < 0
                alpha = 1.0 if de >= 0.0 else np.exp(de)
                if u[i] < alpha:
                    for j in range(d):
                        x[c, j] = y[j]
                    e[c] = ey
                    if t >= burn_in:
                        n_acc[c] += 1
                if adapt and t < burn_in:
                    h[c] *= np.exp((alpha - target) / (t + 1.0) ** ADAPT_KAPPA)
            if stop:
                break
            s = t + 1
            if s > burn_in and (s - burn_in) % thin == 0:
                r = (s - burn_in) // thin - 1
                for i in range(m):
                    for j in range(d):
                        out[r, lo + i, j] = x[lo + i, j]


def acceptance_probability(model, x, y) -> np.ndarray:
    r"""MH acceptance of a symmetric proposal x → y: :math:`\min(1, e^{-(E(y) - E(x))})`, shape (n,).

    Only the energy difference enters; log Z would appear in both log p(y) and log p(x)
    and cancels.  (``ebm_ref.identities.mcmc_continuous`` checks this against the ratio
    of normalized densities.)
    """
    with np.errstate(over="ignore"):
        return np.exp(np.minimum(0.0, model.energy(x) - model.energy(y)))


def _rwmh_numpy(model, x, e, h, gens, bounds, t0, t1, burn_in, thin, adapt, target, out, n_acc):
    """NumPy path; overflow is not warned about but detected, and reported with step and chain."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        _rwmh_numpy_body(model, x, e, h, gens, bounds, t0, t1, burn_in, thin, adapt, target, out, n_acc)


def _rwmh_numpy_body(model, x, e, h, gens, bounds, t0, t1, burn_in, thin, adapt, target, out, n_acc):
    """The same algorithm vectorized over chains, for any Energy."""
    d = x.shape[1]
    for t in range(t0, t1):
        z = draw_normals(gens, bounds, d)
        u = draw_uniforms(gens, bounds)
        y = x + h[:, None] * z
        raise_if_nonfinite("metropolis", t + 1, y, what="the proposal")
        ey = model.energy(y)
        raise_if_nonfinite("metropolis", t + 1, ey, what="the energy of the proposal")
        alpha = np.exp(np.minimum(0.0, e - ey))
        acc = u < alpha
        x[acc] = y[acc]
        e[acc] = ey[acc]
        if t >= burn_in:
            n_acc += acc
        if adapt and t < burn_in:
            h *= np.exp((alpha - target) / (t + 1.0) ** ADAPT_KAPPA)
        r = kept_index(t + 1, burn_in, thin)
        if r >= 0:
            out[r] = x


def metropolis(model, x0, n_steps, step_size, rng, burn_in=0, thin=1, adapt=False, target_accept=0.234,
               progress=None, backend="auto"):
    r"""Random-walk Metropolis–Hastings on many chains at once.

    Parameters
    ----------
    model : Energy
        Target :math:`p \propto e^{-E}`.  Built-in models run a jitted kernel; any
        other Energy runs the NumPy path of the same algorithm.
    x0 : ndarray, shape (n_chains, d)
        Starting states.
    n_steps : int
        Number of transitions (>= 1).
    step_size : float
        Proposal scale h > 0: :math:`y = x + h\xi`.
    rng : Generator or int
    burn_in, thin : int
        Steps 1..burn_in are dropped; then every ``thin``-th state is kept.
    adapt : bool
        Adapt each chain's h during burn-in towards ``target_accept`` (needs burn_in >= 1).
    target_accept : float in (0, 1)
    progress : callable, optional
        ``progress(t, n_steps)`` called every 1000 steps.
    backend : {"auto", "numba", "numpy"}
        "auto" uses the jitted kernel when the model has one.  Both give the same chains.

    Returns
    -------
    Chains
        ``samples`` (n_kept, n_chains, d), ``accept_rate`` over the kept-phase steps,
        ``extras["step_size"]`` the final per-chain step (adapted or not).

    Notes
    -----
    :math:`\alpha = \min(1, e^{-(E(y)-E(x))})`: Z cancels; see the module docstring.
    """
    return _run(model, x0, n_steps, step_size, rng, burn_in, thin, adapt, target_accept, progress, backend)


def _run(model, x0, n_steps, step_size, rng, burn_in, thin, adapt, target_accept, progress, backend):
    x = check_x0(x0, model.dim)
    h0 = check_step(step_size, "step_size")
    n_steps, burn_in, thin, n_keep = check_schedule(n_steps, burn_in, thin)
    adapt = bool(adapt)
    target = check_positive(target_accept, "target_accept")
    if not target < 1:
        raise ValueError(f"target_accept: must be in (0, 1), got {target_accept}")
    if adapt and burn_in < 1:
        raise ValueError("adapt: warm-up adaptation happens during burn-in; give burn_in >= 1")
    form = jit_form(model)
    jit = use_jit(backend, form)
    rng = as_generator(rng)
    n, d = x.shape
    bounds = chunk_bounds(n)
    gens = spawn_generators(rng, N_CHUNKS)
    h = np.full(n, h0)
    out = np.empty((n_keep, n, d))
    n_acc = np.zeros(n, dtype=np.int64)
    e = batch_energy(form, x) if jit else model.energy(x)
    raise_if_nonfinite("metropolis", 0, e, what="the energy of x0")
    for t0, t1 in segments(n_steps, progress):
        if jit:
            bad_step, bad_chain = new_status()
            _rwmh_kernel(form, x, e, h, gens, bounds, t0, t1, burn_in, thin, adapt, target, out, n_acc,
                         bad_step, bad_chain)
            raise_kernel_status("metropolis", bad_step, bad_chain, "the energy of the proposal")
        else:
            _rwmh_numpy(model, x, e, h, gens, bounds, t0, t1, burn_in, thin, adapt, target, out, n_acc)
    settings = dict(sampler="metropolis", n_steps=n_steps, step_size=h0, burn_in=burn_in, thin=thin,
                    adapt=adapt, target_accept=target, backend="numba" if jit else "numpy")
    return make_chains(out, n_acc / (n_steps - burn_in), settings, {"step_size": h.copy()})
