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

Where the arithmetic lives: the NumPy step :func:`rwmh_step` (pure, vectorised over
chains, usable with a tempered target and caller-supplied draws; see
:mod:`ebm_ref.samplers.state`), the accept/reject :func:`mh_accept` shared with MALA and
HMC, and the fused numba kernel ``_rwmh_kernel`` (the fast path for built-in models).  The
kernel takes the test :math:`u < \alpha` through :func:`~ebm_ref.samplers._common.mh_accepts`
(shared by the MALA and HMC kernels), which brackets
:math:`e^{\log\alpha}` between two cheap bounds and computes the exponential only when u
falls between them: the same decisions, without the exponential that otherwise costs about
as much as the step's random numbers at d = 2.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._validate import check_positive
from ._common import (
    acceptance_from_log,
    check_step,
    finish_run,
    flag_nonfinite,
    mh_accepts,
    prepare_run,
    run_chains,
    run_chunk_segment,
    store_kept,
)
from ._jit_models import point_energy
from .state import Info, State, evaluate_in_support, per_chain_step, step_draws

__all__ = ["metropolis", "rwmh_step", "mh_accept", "mh_acceptance", "acceptance_probability"]

#: Exponent of the Robbins–Monro gain (t+1)^(−κ) of the warm-up adaptation, κ in (0.5, 1].
ADAPT_KAPPA = 0.6


def acceptance_probability(model, x, y) -> np.ndarray:
    r"""MH acceptance of a symmetric proposal x → y: :math:`\min(1, e^{-(E(y) - E(x))})`, shape (n,).

    Only the energy difference enters; log Z would appear in both log p(y) and log p(x)
    and cancels.  (``ebm_ref.identities.mcmc_continuous`` checks this against the ratio
    of normalized densities.)
    """
    return mh_acceptance(model.energy(x) - model.energy(y))


def mh_acceptance(log_alpha) -> np.ndarray:
    r"""The Metropolis–Hastings acceptance probability :math:`\alpha = \min(1, e^{\log\alpha})`, elementwise.

    ``log_alpha`` is the log Hastings ratio :math:`\log\frac{p(y)q(x|y)}{p(x)q(y|x)}`; the
    exponential is of a number ≤ 0, so it cannot overflow.  NaN stays NaN, which every
    test ``u < α`` rejects.  The jitted per-chain form is
    :func:`ebm_ref.samplers._common.acceptance_from_log`.
    """
    return np.exp(np.minimum(0.0, log_alpha))


def mh_accept(state: State, proposal: State, log_alpha, uniforms) -> tuple[State, Info]:
    r"""Metropolis–Hastings accept/reject of ``proposal`` for every chain.

    .. math::  \alpha = \min(1, e^{\log\alpha}),\qquad \text{move to the proposal iff } u < \alpha,

    with :math:`u \sim U[0, 1)` given in ``uniforms`` (n,).  ``log_alpha`` (n,) is the
    log Hastings ratio :math:`\log\frac{p(y)q(x|y)}{p(x)q(y|x)}` computed by the step.
    Returns the new State (rows of ``proposal`` where accepted, of ``state`` elsewhere)
    and the :class:`~ebm_ref.samplers.state.Info`.
    """
    alpha = mh_acceptance(log_alpha)
    acc = uniforms < alpha
    grad = None if state.grad is None else np.where(acc[:, None], proposal.grad, state.grad)
    new = State(np.where(acc[:, None], proposal.position, state.position),
                np.where(acc, proposal.energy, state.energy), grad)
    return new, Info(alpha, acc, proposal)


def rwmh_step(rng_or_draws, state: State, target, step_size) -> tuple[State, Info]:
    r"""One random-walk Metropolis–Hastings step of every chain (NumPy, pure).

    .. math::  y = x + h\,\xi,\quad \xi \sim \mathcal N(0, I),\qquad
               \log\alpha = -(E(y) - E(x)).

    Parameters
    ----------
    rng_or_draws : Generator or tuple (normals (n, d), uniforms (n,))
        The step's randomness (:mod:`ebm_ref.samplers.state`).
    state : State
        Positions x and energies E(x) (``grad`` unused).
    target : object with ``energy(x)``
        An Energy or a :class:`~ebm_ref.samplers.state.Potential` (e.g. a tempered energy).
    step_size : float or ndarray (n,)
        Proposal scale h > 0, per chain if an array.

    Returns
    -------
    (State, Info)
    """
    x = state.position
    h = per_chain_step(step_size, x.shape[0])
    xi, u = step_draws(rng_or_draws, x.shape, uniforms=True)
    y = x + h[:, None] * xi
    ey, _, inside = evaluate_in_support(target, y, grad=False)     # E(y) = +∞ outside the support
    new, info = mh_accept(state, State(y, ey, None), state.energy - ey, u)
    return new, info._replace(in_support=inside)


@njit(cache=True)
def _rwmh_chunk(form, x, e, h, g, bounds, k, t0, t1, burn_in, thin, adapt, target, out, n_acc, bad_step, bad_chain):
    # steps t0+1..t1 of the chains of chunk k, drawing from the chunk's Generator g in the order of
    # _common.draw_chunk: the chunk's normals row-major (drawn as each proposal is formed), then its uniforms
    d = x.shape[1]
    lo = bounds[k]
    m = bounds[k + 1] - lo
    if m == 0:
        return
    y = np.empty((m, d))                       # the chunk's proposals and their energies
    ey = np.empty(m)
    for t in range(t0, t1):
        for i in range(m):
            c = lo + i
            hc = h[c]
            for j in range(d):                 # y = x + h ξ
                y[i, j] = x[c, j] + hc * g.standard_normal()
            ey[i] = point_energy(form, y[i])
            if not np.isfinite(ey[i]):
                flag_nonfinite(bad_step, bad_chain, k, t + 1, c)
                return
        for i in range(m):
            c = lo + i
            u = g.random()
            log_alpha = e[c] - ey[i]           # α = min(1, e^{-(E(y) − E(x))})
            if adapt and t < burn_in:
                alpha = acceptance_from_log(log_alpha)
                accept = u < alpha
                h[c] *= np.exp((alpha - target) / (t + 1.0) ** ADAPT_KAPPA)
            else:
                accept = mh_accepts(u, log_alpha)
            if accept:
                for j in range(d):
                    x[c, j] = y[i, j]
                e[c] = ey[i]
                if t >= burn_in:
                    n_acc[c] += 1
        store_kept(out, x, lo, m, t + 1, burn_in, thin)


@njit(cache=True, parallel=True)
def _rwmh_kernel(form, x, e, h, gens, bounds, t0, t1, burn_in, thin, adapt, target, out, n_acc, bad_step, bad_chain):
    # the chunks in parallel: each runs the serial _rwmh_chunk on its own Generator
    for k in prange(len(bounds) - 1):
        _rwmh_chunk(form, x, e, h, gens[k], bounds, np.int64(k), t0, t1, burn_in, thin, adapt, target, out, n_acc,
                    bad_step, bad_chain)


def metropolis(model, x0, n_steps, rng, *, step_size, burn_in=0, thin=1, adapt=False, target_accept=0.234,
               progress=None, backend="auto"):
    r"""Random-walk Metropolis–Hastings on many chains at once.

    Parameters
    ----------
    model : Energy
        Target :math:`p \propto e^{-E}`.  Built-in models run a jitted kernel; any
        other Energy runs the NumPy path of the same algorithm (:func:`rwmh_step`).
    x0 : ndarray, shape (n_chains, d)
        Starting states.
    n_steps : int
        Number of transitions (>= 1).
    rng : Generator or int
    step_size : float
        Proposal scale h > 0: :math:`y = x + h\xi` (keyword-only, like every argument after rng).
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
    h0 = check_step(step_size, "step_size")
    adapt = bool(adapt)
    target = check_positive(target_accept, "target_accept")
    if not target < 1:
        raise ValueError(f"target_accept: must be in (0, 1), got {target_accept}")
    run = prepare_run("metropolis", model, x0, n_steps, rng, burn_in, thin, backend, grad=False)
    if adapt and run.burn_in < 1:
        raise ValueError("adapt: warm-up adaptation happens during burn-in; give burn_in >= 1")
    h = np.full(run.n_chains, h0)

    def kernel_segment(t0, t1, bad_step, bad_chain):
        run_chunk_segment(_rwmh_kernel, _rwmh_chunk, (run.form, run.x, run.e, h), run.gens, run.bounds,
                          (t0, t1, run.burn_in, run.thin, adapt, target, run.out, run.n_acc, bad_step, bad_chain),
                          work=run.x.size * (t1 - t0))

    def numpy_step(t, state, z, u):
        state, info = rwmh_step((z, u), state, model, h)
        if adapt and t < run.burn_in:
            h[:] *= np.exp((info.acceptance_probability - target) / (t + 1.0) ** ADAPT_KAPPA)
        return state, info

    run_chains(run, progress, kernel_segment=kernel_segment, numpy_step=numpy_step, uniforms=True,
               what="the proposal or its energy")
    settings = dict(n_steps=run.n_steps, step_size=h0, burn_in=run.burn_in, thin=run.thin, adapt=adapt,
                    target_accept=target)
    return finish_run(run, settings, {"step_size": h.copy()})
