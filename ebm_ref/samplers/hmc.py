r"""Hamiltonian Monte Carlo with the leapfrog integrator and a fixed path length.

Energy convention :math:`p(q) \propto e^{-E(q)}`.  Augment the position q with a
momentum :math:`p \sim \mathcal N(0, I)` (identity mass) and the Hamiltonian

.. math::  H(q, p) = E(q) + \tfrac12 \|p\|^2 .

One HMC step: draw p, run L leapfrog steps of size ε,

.. math::

    p_{1/2} = p - \tfrac\varepsilon2 \nabla E(q),\quad
    q' = q + \varepsilon\, p_{1/2},\quad
    p' = p_{1/2} - \tfrac\varepsilon2 \nabla E(q'),

(the half kicks between consecutive steps merged into full kicks), then accept
:math:`(q_L, p_L)` with probability :math:`\min(1, e^{-(H(q_L,p_L) - H(q,p))})`.

Why it is exact: the leapfrog map Φ is a composition of shears, so it preserves volume
(:math:`|\det \partial\Phi| = 1`), and it is reversible: Φ followed by a momentum flip is
its own inverse.  With these two properties the Metropolis test on H gives detailed
balance for the joint :math:`e^{-H}`, whose q-marginal is p
(:func:`leapfrog` is checked for both in ``ebm_ref.identities.mcmc_continuous``).

Random stream per chunk and step: the chunk's n_c × d momentum normals (row-major), then
its n_c uniforms.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._validate import as_batch, check_positive_int
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
from ._jit_models import batch_energy_grad, jit_form, point_energy_grad

__all__ = ["hmc", "leapfrog"]


def leapfrog(model, q, p, step_size, n_leapfrog):
    r"""L leapfrog steps of size ε from (q, p); returns (q_L, p_L), each (n, d).

    .. math::

        p \leftarrow p - \tfrac\varepsilon2\nabla E(q);\ \text{repeat L times: }
        q \leftarrow q + \varepsilon p,\ p \leftarrow p - \varepsilon\nabla E(q)
        \ \text{(the last kick is a half kick)}.
    """
    q = as_batch(q, model.dim, "q").copy()
    p = as_batch(p, model.dim, "p").copy()
    if p.shape != q.shape:
        raise ValueError(f"p: expected shape {q.shape} to match q, got {p.shape}")
    eps = check_step(step_size, "step_size")
    L = check_positive_int(n_leapfrog, "n_leapfrog", 1)
    g = model.grad_x(q)
    for ell in range(L):
        p = p - (0.5 * eps if ell == 0 else eps) * g
        q = q + eps * p
        g = model.grad_x(q)
    p = p - 0.5 * eps * g
    return q, p


@njit(cache=True, parallel=True)
def _hmc_kernel(form, x, e, gr, eps, n_leapfrog, gens, bounds, t0, t1, burn_in, thin, out, n_acc,
                bad_step, bad_chain):
    d = x.shape[1]
    for k in prange(len(bounds) - 1):
        lo = bounds[k]
        m = bounds[k + 1] - lo
        if m == 0:
            continue
        g = gens[k]
        z = np.empty((m, d))
        u = np.empty(m)
        q = np.empty(d)
        p = np.empty(d)
        gq = np.empty(d)
        stop = False
        for t in range(t0, t1):
            for i in range(m):
                for j in range(d):
                    z[i, j] = g.standard_normal()
            for i in range(m):
                u[i] = g.random()
            for i in range(m):
                c = lo + i
                kin0 = 0.0
                for j in range(d):
                    q[j] = x[c, j]
                    p[j] = z[i, j]
                    gq[j] = gr[c, j]
                    kin0 += 0.5 * p[j] * p[j]
                eq = 0.0
                for ell in range(n_leapfrog):
                    kick = 0.5 * eps if ell == 0 else eps
                    for j in range(d):
                        p[j] -= kick * gq[j]
                        q[j] += eps * p[j]
                    eq = point_energy_grad(form, q, gq)
                kin1 = 0.0
                ok = np.isfinite(eq)
                for j in range(d):
                    p[j] -= 0.5 * eps * gq[j]
                    kin1 += 0.5 * p[j] * p[j]
                    ok = ok and np.isfinite(q[j]) and np.isfinite(gq[j])
                if not (ok and np.isfinite(kin1)):
                    bad_step[k] = t + 1
                    bad_chain[k] = c
                    stop = True
                    break
                # accept with min(1, e^{−(H1 − H0)})
                dH = (e[c] + kin0) - (eq + kin1)
                if dH >= 0.0 or u[i] < np.exp(dH):
                    for j in range(d):
                        x[c, j] = q[j]
                        gr[c, j] = gq[j]
                    e[c] = eq
                    if t >= burn_in:
                        n_acc[c] += 1
            if stop:
                break
            s = t + 1
            if s > burn_in and (s - burn_in) % thin == 0:
                r = (s - burn_in) // thin - 1
                for i in range(m):
                    for j in range(d):
                        out[r, lo + i, j] = x[lo + i, j]


def _hmc_numpy(model, x, e, gr, eps, n_leapfrog, gens, bounds, t0, t1, burn_in, thin, out, n_acc):
    """NumPy path; overflow is not warned about but detected, and reported with step and chain."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        _hmc_numpy_body(model, x, e, gr, eps, n_leapfrog, gens, bounds, t0, t1, burn_in, thin, out, n_acc)


def _hmc_numpy_body(model, x, e, gr, eps, n_leapfrog, gens, bounds, t0, t1, burn_in, thin, out, n_acc):
    d = x.shape[1]
    for t in range(t0, t1):
        p = draw_normals(gens, bounds, d)
        u = draw_uniforms(gens, bounds)
        kin0 = 0.5 * np.sum(p * p, axis=1)
        q, gq = x.copy(), gr.copy()
        for ell in range(n_leapfrog):
            p = p - (0.5 * eps if ell == 0 else eps) * gq
            q = q + eps * p
            raise_if_nonfinite("hmc", t + 1, q, what="the leapfrog position")
            gq = model.grad_x(q)
        p = p - 0.5 * eps * gq
        eq = model.energy(q)
        kin1 = 0.5 * np.sum(p * p, axis=1)
        raise_if_nonfinite("hmc", t + 1, eq, gq, kin1, what="the leapfrog trajectory (energy, gradient or momentum)")
        acc = u < np.exp(np.minimum(0.0, (e + kin0) - (eq + kin1)))
        x[acc] = q[acc]
        gr[acc] = gq[acc]
        e[acc] = eq[acc]
        if t >= burn_in:
            n_acc += acc
        r = kept_index(t + 1, burn_in, thin)
        if r >= 0:
            out[r] = x


def hmc(model, x0, n_steps, step_size, n_leapfrog, rng, burn_in=0, thin=1, progress=None, backend="auto"):
    r"""Hamiltonian Monte Carlo, identity mass, fixed path length ε·L.

    Parameters
    ----------
    model : Energy
    x0 : ndarray, shape (n_chains, d)
    n_steps : int
        HMC transitions (each one momentum draw and L leapfrog steps).
    step_size : float
        Leapfrog step ε > 0.
    n_leapfrog : int
        Leapfrog steps L >= 1 per transition.
    rng : Generator or int
    burn_in, thin : int
    progress : callable, optional
    backend : {"auto", "numba", "numpy"}

    Returns
    -------
    Chains

    Notes
    -----
    Accept :math:`(q_L, p_L)` with probability :math:`\min(1, e^{-(H(q_L,p_L) - H(q,p))})`,
    :math:`H = E(q) + \tfrac12\|p\|^2`.  With L = 1 HMC is exactly MALA with h = ε²/2.
    """
    x = check_x0(x0, model.dim)
    eps = check_step(step_size, "step_size")
    L = check_positive_int(n_leapfrog, "n_leapfrog", 1)
    n_steps, burn_in, thin, n_keep = check_schedule(n_steps, burn_in, thin)
    form = jit_form(model)
    jit = use_jit(backend, form)
    rng = as_generator(rng)
    n, d = x.shape
    bounds = chunk_bounds(n)
    gens = spawn_generators(rng, N_CHUNKS)
    out = np.empty((n_keep, n, d))
    n_acc = np.zeros(n, dtype=np.int64)
    if jit:
        e, gr = batch_energy_grad(form, x)
    else:
        e, gr = model.energy(x), model.grad_x(x)
    raise_if_nonfinite("hmc", 0, e, gr, what="the energy or gradient at x0")
    for t0, t1 in segments(n_steps, progress):
        if jit:
            bad_step, bad_chain = new_status()
            _hmc_kernel(form, x, e, gr, eps, L, gens, bounds, t0, t1, burn_in, thin, out, n_acc, bad_step, bad_chain)
            raise_kernel_status("hmc", bad_step, bad_chain, "the leapfrog trajectory (energy, gradient or momentum)")
        else:
            _hmc_numpy(model, x, e, gr, eps, L, gens, bounds, t0, t1, burn_in, thin, out, n_acc)
    settings = dict(sampler="hmc", n_steps=n_steps, step_size=eps, n_leapfrog=L, burn_in=burn_in, thin=thin,
                    backend="numba" if jit else "numpy")
    return make_chains(out, n_acc / (n_steps - burn_in), settings)
