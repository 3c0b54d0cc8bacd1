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

Where the arithmetic lives: the integrator :func:`leapfrog_integrate` (NumPy, pure; the
checked public form :func:`leapfrog`), the pure step :func:`hmc_step` built on it and on
:func:`~ebm_ref.samplers.metropolis_hastings.mh_accept`, and the fused numba kernel
``_hmc_kernel``, the fast path for built-in models.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._validate import as_batch, check_positive_int
from ._common import (
    check_step,
    chunk_buffers,
    draw_chunk,
    finish_run,
    flag_nonfinite,
    mh_accepts,
    prepare_run,
    run_chains,
    run_chunk_segment,
    store_kept,
    take_proposal,
)
from ._jit_models import point_energy_grad
from .metropolis_hastings import mh_accept
from .state import Info, State, evaluate_in_support, per_chain_step, step_draws

__all__ = ["hmc", "hmc_step", "leapfrog", "leapfrog_integrate"]


def leapfrog_integrate(grad_x, q, p, grad, step_size, n_leapfrog):
    r"""L leapfrog steps of size ε from (q, p), given ∇E(q); returns (q_L, p_L, ∇E(q_L)).

    .. math::

        p \leftarrow p - \tfrac\varepsilon2\nabla E(q);\ \text{repeat L times: }
        q \leftarrow q + \varepsilon p,\ p \leftarrow p - \varepsilon\nabla E(q)
        \ \text{(the last kick is a half kick)}.

    Pure and unchecked (the caller validates): ``grad_x`` a callable (n, d) -> (n, d),
    ``q``, ``p``, ``grad`` of shape (n, d), ``step_size`` ε a float or an array
    broadcasting against them (e.g. (n, 1)), ``n_leapfrog`` L >= 1.
    """
    eps = step_size
    g = grad
    for ell in range(n_leapfrog):
        p = p - (0.5 * eps if ell == 0 else eps) * g
        q = q + eps * p
        g = grad_x(q)
    p = p - 0.5 * eps * g
    return q, p, g


def leapfrog(model, q, p, step_size, n_leapfrog):
    r"""L leapfrog steps of size ε from (q, p) on ``model``'s energy; returns (q_L, p_L), each (n, d).

    The checked public form of :func:`leapfrog_integrate`.
    """
    q = as_batch(q, model.dim, "q").copy()
    p = as_batch(p, model.dim, "p").copy()
    if p.shape != q.shape:
        raise ValueError(f"p: expected shape {q.shape} to match q, got {p.shape}")
    eps = check_step(step_size, "step_size")
    L = check_positive_int(n_leapfrog, "n_leapfrog", 1)
    q, p, _ = leapfrog_integrate(model.grad_x, q, p, model.grad_x(q), eps, L)
    return q, p


def hmc_step(rng_or_draws, state: State, target, step_size, n_leapfrog: int) -> tuple[State, Info]:
    r"""One HMC step of every chain (NumPy, pure): fresh momentum, L leapfrog steps, MH on H.

    .. math::

        p \sim \mathcal N(0, I),\quad (q_L, p_L) = \Phi_\varepsilon^L(q, p),\quad
        \log\alpha = H(q, p) - H(q_L, p_L),\quad H = E(q) + \tfrac12\|p\|^2.

    Parameters
    ----------
    rng_or_draws : Generator or tuple (momenta (n, d), uniforms (n,))
    state : State
        Positions, energies and gradients (:func:`ebm_ref.samplers.state.init`).
    target : object with ``energy(x)`` and ``grad_x(x)``
    step_size : float or ndarray (n,)
        Leapfrog step ε > 0, per chain if an array.
    n_leapfrog : int
        L >= 1.

    Returns
    -------
    (State, Info)
        ``info.momentum`` is :math:`p_L`.
    """
    q0 = state.position
    eps = per_chain_step(step_size, q0.shape[0])
    L = check_positive_int(n_leapfrog, "n_leapfrog", 1)
    p0, u = step_draws(rng_or_draws, q0.shape, uniforms=True)
    kin0 = 0.5 * np.sum(p0 * p0, axis=1)
    # a trajectory that leaves the support has E = +∞ there: it is marked outside from then on
    # (its gradient taken as 0, the target never evaluated on it) and rejected at the end
    left = np.zeros(q0.shape[0], dtype=bool)

    def grad_in_support(q):
        _, g, inside = evaluate_in_support(target, q, energy=False, outside=left)
        left[:] |= ~inside & np.all(np.isfinite(q), axis=1)
        return g

    q, p, gq = leapfrog_integrate(grad_in_support, q0, p0, state.grad, eps[:, None], L)
    eq, _, inside = evaluate_in_support(target, q, grad=False, outside=left)
    kin1 = 0.5 * np.sum(p * p, axis=1)
    new, info = mh_accept(state, State(q, eq, gq), (state.energy + kin0) - (eq + kin1), u)
    return new, info._replace(momentum=p, in_support=inside)


@njit(cache=True)
def _hmc_chunk(form, x, e, gr, eps, n_leapfrog, g, bounds, k, t0, t1, burn_in, thin, out, n_acc,
               bad_step, bad_chain):
    # steps t0+1..t1 of the chains of chunk k, drawing from the chunk's Generator g
    d = x.shape[1]
    lo, m, z, u = chunk_buffers(bounds, k, d)
    if m == 0:
        return
    q = np.empty(d)
    p = np.empty(d)
    gq = np.empty(d)
    for t in range(t0, t1):
        draw_chunk(g, z, u, True)              # momenta, row-major, then uniforms
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
                flag_nonfinite(bad_step, bad_chain, k, t + 1, c)
                return
            # accept with min(1, e^{−(H1 − H0)})
            if mh_accepts(u[i], (e[c] + kin0) - (eq + kin1)):
                take_proposal(x, gr, e, n_acc, c, q, gq, eq, t >= burn_in)
        store_kept(out, x, lo, m, t + 1, burn_in, thin)


@njit(cache=True, parallel=True)
def _hmc_kernel(form, x, e, gr, eps, n_leapfrog, gens, bounds, t0, t1, burn_in, thin, out, n_acc,
                bad_step, bad_chain):
    # the chunks in parallel: each runs the serial _hmc_chunk on its own Generator
    for k in prange(len(bounds) - 1):
        _hmc_chunk(form, x, e, gr, eps, n_leapfrog, gens[k], bounds, np.int64(k), t0, t1, burn_in, thin, out, n_acc,
                   bad_step, bad_chain)


def hmc(model, x0, n_steps, rng, *, step_size, n_leapfrog, burn_in=0, thin=1, progress=None, backend="auto"):
    r"""Hamiltonian Monte Carlo, identity mass, fixed path length ε·L.

    Parameters
    ----------
    model : Energy
    x0 : ndarray, shape (n_chains, d)
    n_steps : int
        HMC transitions (each one momentum draw and L leapfrog steps).
    rng : Generator or int
    step_size : float
        Leapfrog step ε > 0 (keyword-only, like every argument after rng).
    n_leapfrog : int
        Leapfrog steps L >= 1 per transition.
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
    The NumPy path runs :func:`hmc_step`.
    """
    eps = check_step(step_size, "step_size")
    L = check_positive_int(n_leapfrog, "n_leapfrog", 1)
    run = prepare_run("hmc", model, x0, n_steps, rng, burn_in, thin, backend, grad=True)
    h = np.full(run.n_chains, eps)

    def kernel_segment(t0, t1, bad_step, bad_chain):
        run_chunk_segment(_hmc_kernel, _hmc_chunk, (run.form, run.x, run.e, run.grad, eps, L), run.gens,
                          run.bounds, (t0, t1, run.burn_in, run.thin, run.out, run.n_acc, bad_step, bad_chain),
                          work=run.x.size * (t1 - t0) * L)

    def numpy_step(t, state, z, u):
        return hmc_step((z, u), state, model, h, L)

    run_chains(run, progress, kernel_segment=kernel_segment, numpy_step=numpy_step, uniforms=True,
               what="the leapfrog trajectory (energy, gradient or momentum)")
    return finish_run(run, dict(n_steps=run.n_steps, step_size=eps, n_leapfrog=L, burn_in=run.burn_in,
                                thin=run.thin))
