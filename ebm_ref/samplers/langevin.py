r"""Langevin samplers: unadjusted (ULA), Metropolis-adjusted (MALA), annealed.

Convention (energy :math:`p\propto e^{-E}`, score :math:`s = -\nabla_x E`): one step of
size h is

.. math::

    y = x - h\,\nabla_x E(x) + \sqrt{2h}\,\xi = x + h\,s(x) + \sqrt{2h}\,\xi,
    \qquad \xi \sim \mathcal N(0, I),

the Euler–Maruyama discretization, with time step h, of the Langevin diffusion
:math:`dX = -\nabla E(X)\,dt + \sqrt 2\,dW`, whose stationary law is p.  (Song & Ermon
write :math:`x + \tfrac\epsilon2 s + \sqrt\epsilon\,z`; their ε is our 2h.)

* **ULA** takes every y.  The discretization biases its stationary law: on a Gaussian
  with precision P the chain is linear, :math:`x' = (I - hP)x + \sqrt{2h}\xi`, and its
  stationary covariance solves :math:`\Sigma = A\Sigma A^\top + 2hI` with A = I − hP,
  i.e. :math:`\Sigma_h = (P(I - \tfrac h2 P))^{-1} \ne P^{-1}`
  (:func:`ula_gaussian_covariance`).
* **MALA** treats y as a proposal with density
  :math:`q(y|x) = \mathcal N(y;\,x - h\nabla E(x),\,2hI)` and accepts it with

  .. math::

      \alpha = \min\Bigl(1,\ \exp\bigl(-E(y) + E(x)
          - \tfrac{\|x - y + h\nabla E(y)\|^2}{4h} + \tfrac{\|y - x + h\nabla E(x)\|^2}{4h}\bigr)\Bigr),

  which restores detailed balance with respect to p and removes the bias.
* **Annealed Langevin** (Song & Ermon 2019, Algorithm 1) runs ``n_steps_each`` ULA
  steps at each noise level :math:`\sigma_1 > \dots > \sigma_L` of a score
  :math:`s(x, \sigma) \approx \nabla_x \log p_\sigma(x)`, with step
  :math:`h_i = \text{step\_lr}\cdot\sigma_i^2/\sigma_L^2`.

Random stream per chunk and step: the chunk's n_c × d normals (row-major), then (MALA
only) its n_c uniforms.

Where the arithmetic lives: the proposal :func:`langevin_proposal` and the MALA ratio
:func:`mala_log_acceptance` (NumPy, written once), used by the pure step
:func:`langevin_step` (``adjust`` off: ULA, on: MALA; :func:`ula_step`, :func:`mala_step`)
and by :func:`annealed_langevin`; the fused numba kernel ``_langevin_kernel`` is the fast
path of the same step for built-in models.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._validate import as_float_array, check_positive_int
from ._common import (
    N_CHUNKS,
    as_generator,
    check_step,
    check_x0,
    chunk_bounds,
    chunk_buffers,
    draw_chunk,
    draw_normals,
    finish_run,
    flag_nonfinite,
    make_chains,
    mh_accepts,
    prepare_run,
    raise_if_nonfinite,
    run_chains,
    run_chunk_segment,
    spawn_generators,
    store_kept,
    take_proposal,
)
from ._jit_models import point_energy_grad
from .metropolis_hastings import mh_accept
from .state import Info, State, evaluate_in_support, per_chain_step, step_draws

__all__ = ["ula", "mala", "annealed_langevin", "ula_gaussian_covariance", "langevin_proposal",
           "mala_log_acceptance", "langevin_step", "ula_step", "mala_step"]


def langevin_proposal(position, grad, step_size, normals):
    r"""The Langevin move :math:`y = x - h\,\nabla_x E(x) + \sqrt{2h}\,\xi`.

    ``position``, ``grad``, ``normals`` of shape (n, d); ``step_size`` h a float or an
    array broadcasting against them (e.g. (n, 1) for one h per chain).
    """
    return position - step_size * grad + np.sqrt(2.0 * step_size) * normals


def mala_log_acceptance(state: State, proposal: State, step_size) -> np.ndarray:
    r"""log of MALA's Hastings ratio for x → y, shape (n,).

    .. math::

        \log\alpha = -E(y) + E(x) - \frac{\|x - y + h\nabla E(y)\|^2}{4h}
                     + \frac{\|y - x + h\nabla E(x)\|^2}{4h},

    since :math:`\log q(y|x) = -\|y - x + h\nabla E(x)\|^2/4h + \text{const}` for the
    proposal :math:`\mathcal N(x - h\nabla E(x), 2hI)`.  ``step_size`` h: float or (n,).
    """
    h = np.asarray(step_size, dtype=np.float64)
    hc = h[..., None] if h.ndim else h
    x, y = state.position, proposal.position
    fwd = np.sum((y - x + hc * state.grad) ** 2, axis=1)
    rev = np.sum((x - y + hc * proposal.grad) ** 2, axis=1)
    return state.energy - proposal.energy - (rev - fwd) / (4.0 * h)


def langevin_step(rng_or_draws, state: State, target, step_size, adjust: bool = True) -> tuple[State, Info]:
    r"""One Langevin step of every chain (NumPy, pure): ULA (``adjust=False``) or MALA.

    The proposal is :func:`langevin_proposal`; ULA takes it, MALA accepts it with
    :func:`mala_log_acceptance` through
    :func:`~ebm_ref.samplers.metropolis_hastings.mh_accept`.

    Parameters
    ----------
    rng_or_draws : Generator or tuple (normals (n, d), uniforms (n,) or None)
        ULA draws (or uses) only the normals.
    state : State
        Positions, energies and gradients (:func:`ebm_ref.samplers.state.init`).
    target : object with ``energy(x)`` and ``grad_x(x)``
        An Energy or a :class:`~ebm_ref.samplers.state.Potential`.
    step_size : float or ndarray (n,)
        h > 0, per chain if an array.
    adjust : bool
        Metropolis adjustment on (MALA) or off (ULA).

    Returns
    -------
    (State, Info)
        For ULA α = 1 and every chain moves.
    """
    x = state.position
    h = per_chain_step(step_size, x.shape[0])
    xi, u = step_draws(rng_or_draws, x.shape, uniforms=bool(adjust))
    y = langevin_proposal(x, state.grad, h[:, None], xi)
    ey, gy, inside = evaluate_in_support(target, y)     # E(y) = +∞, ∇E(y) = 0 outside the support
    proposal = State(y, ey, gy)
    if not adjust:
        return proposal, Info(np.ones(x.shape[0]), np.ones(x.shape[0], dtype=bool), proposal, in_support=inside)
    new, info = mh_accept(state, proposal, mala_log_acceptance(state, proposal, h), u)
    return new, info._replace(in_support=inside)


def ula_step(rng_or_draws, state: State, target, step_size) -> tuple[State, Info]:
    """One ULA step: :func:`langevin_step` with ``adjust=False``."""
    return langevin_step(rng_or_draws, state, target, step_size, adjust=False)


def mala_step(rng_or_draws, state: State, target, step_size) -> tuple[State, Info]:
    """One MALA step: :func:`langevin_step` with ``adjust=True``."""
    return langevin_step(rng_or_draws, state, target, step_size, adjust=True)


@njit(cache=True)
def _langevin_chunk(form, x, e, gr, h, g, bounds, k, t0, t1, burn_in, thin, adjust, out, n_acc,
                    bad_step, bad_chain):
    # steps t0+1..t1 of the chains of chunk k, drawing from the chunk's Generator g
    d = x.shape[1]
    lo, m, z, u = chunk_buffers(bounds, k, d)
    if m == 0:
        return
    y = np.empty(d)
    gy = np.empty(d)
    for t in range(t0, t1):
        draw_chunk(g, z, u, adjust)            # normals, then (MALA) uniforms
        for i in range(m):
            c = lo + i
            hc = h[c]
            s2h = np.sqrt(2.0 * hc)
            for j in range(d):               # y = x − h ∇E(x) + sqrt(2h) ξ
                y[j] = x[c, j] - hc * gr[c, j] + s2h * z[i, j]
            ey = point_energy_grad(form, y, gy)
            ok = np.isfinite(ey)
            for j in range(d):
                ok = ok and np.isfinite(y[j]) and np.isfinite(gy[j])
            if not ok:
                flag_nonfinite(bad_step, bad_chain, k, t + 1, c)
                return
            accept = True
            if adjust:
                # log q(x|y) − log q(y|x) = (‖y − x + h∇E(x)‖² − ‖x − y + h∇E(y)‖²) / 4h
                fwd = 0.0
                rev = 0.0
                for j in range(d):
                    a = y[j] - x[c, j] + hc * gr[c, j]
                    b = x[c, j] - y[j] + hc * gy[j]
                    fwd += a * a
                    rev += b * b
                accept = mh_accepts(u[i], e[c] - ey - (rev - fwd) / (4.0 * hc))
            if accept:
                take_proposal(x, gr, e, n_acc, c, y, gy, ey, t >= burn_in)
        store_kept(out, x, lo, m, t + 1, burn_in, thin)


@njit(cache=True, parallel=True)
def _langevin_kernel(form, x, e, gr, h, gens, bounds, t0, t1, burn_in, thin, adjust, out, n_acc,
                     bad_step, bad_chain):
    # the chunks in parallel: each runs the serial _langevin_chunk on its own Generator
    for k in prange(len(bounds) - 1):
        _langevin_chunk(form, x, e, gr, h, gens[k], bounds, np.int64(k), t0, t1, burn_in, thin, adjust, out, n_acc,
                        bad_step, bad_chain)


def _run(name, adjust, model, x0, n_steps, rng, step_size, burn_in, thin, progress, backend):
    h0 = check_step(step_size, "step_size")
    run = prepare_run(name, model, x0, n_steps, rng, burn_in, thin, backend, grad=True)
    h = np.full(run.n_chains, h0)

    def kernel_segment(t0, t1, bad_step, bad_chain):
        run_chunk_segment(_langevin_kernel, _langevin_chunk, (run.form, run.x, run.e, run.grad, h), run.gens,
                          run.bounds, (t0, t1, run.burn_in, run.thin, adjust, run.out, run.n_acc, bad_step, bad_chain),
                          work=run.x.size * (t1 - t0))

    def numpy_step(t, state, z, u):
        return langevin_step((z, u), state, model, h, adjust)

    run_chains(run, progress, kernel_segment=kernel_segment, numpy_step=numpy_step, uniforms=adjust,
               what="the proposal, its energy or gradient")
    return finish_run(run, dict(n_steps=run.n_steps, step_size=h0, burn_in=run.burn_in, thin=run.thin))


def ula(model, x0, n_steps, rng, *, step_size, burn_in=0, thin=1, progress=None, backend="auto"):
    r"""Unadjusted Langevin algorithm: :math:`x' = x - h\nabla_x E(x) + \sqrt{2h}\,\xi`.

    Parameters
    ----------
    model : Energy
    x0 : ndarray, shape (n_chains, d)
    n_steps : int
    rng : Generator or int
    step_size : float
        h > 0 (the time step of the discretized diffusion); keyword-only, like every
        argument after rng.
    burn_in, thin : int
    progress : callable, optional
        ``progress(t, n_steps)`` every 1000 steps.
    backend : {"auto", "numba", "numpy"}

    Returns
    -------
    Chains
        ``accept_rate`` is 1 (every step is taken).

    Notes
    -----
    Biased for every h > 0: on a Gaussian the stationary covariance is
    :math:`(P(I - \tfrac h2 P))^{-1}` (:func:`ula_gaussian_covariance`).  The NumPy path
    runs :func:`ula_step`.
    """
    return _run("ula", False, model, x0, n_steps, rng, step_size, burn_in, thin, progress, backend)


def mala(model, x0, n_steps, rng, *, step_size, burn_in=0, thin=1, progress=None, backend="auto"):
    r"""Metropolis-adjusted Langevin: the ULA move as a proposal, then an MH accept/reject.

    Parameters are those of :func:`ula`.

    Notes
    -----
    :math:`\log\alpha = -E(y) + E(x) - \|x - y + h\nabla E(y)\|^2/4h + \|y - x + h\nabla E(x)\|^2/4h`,
    the Hastings ratio of the Gaussian proposal :math:`\mathcal N(x - h\nabla E(x), 2hI)`
    (:func:`mala_log_acceptance`).  The NumPy path runs :func:`mala_step`.
    """
    return _run("mala", True, model, x0, n_steps, rng, step_size, burn_in, thin, progress, backend)


def ula_gaussian_covariance(precision, step_size) -> np.ndarray:
    r"""Stationary covariance of ULA on a Gaussian with precision P, closed form.

    .. math::  \Sigma_h = \bigl(P(I - \tfrac h2 P)\bigr)^{-1},

    valid when the recursion is stable, i.e. every eigenvalue λ of P has
    :math:`|1 - h\lambda| < 1` (0 < h < 2/λ_max).  Derivation: with A = I − hP the chain
    :math:`x' = Ax + \sqrt{2h}\xi` has stationary Σ solving :math:`\Sigma = A\Sigma A + 2hI`;
    since A and P commute, Σ = 2h (I − A²)⁻¹ = 2h (2hP − h²P²)⁻¹ = (P(I − hP/2))⁻¹.
    """
    P = as_float_array(precision, "precision")
    if P.ndim != 2 or P.shape[0] != P.shape[1]:
        raise ValueError(f"precision: expected a square matrix, got shape {P.shape}")
    h = check_step(step_size, "step_size")
    lam = np.linalg.eigvalsh(P)
    if lam.min() <= 0 or not h < 2.0 / lam.max():
        raise ValueError(
            f"step_size: ULA on this Gaussian is stable only for 0 < h < 2/λ_max = {2.0 / lam.max():.4g} "
            f"(and P must be positive definite), got h={h}"
        )
    d = P.shape[0]
    return np.linalg.inv(P @ (np.eye(d) - 0.5 * h * P))


def annealed_langevin(score_fn, x0, n_steps_each, rng, *, sigmas, step_lr, progress=None):
    r"""Annealed Langevin dynamics over decreasing noise levels (Song & Ermon 2019).

    Parameters
    ----------
    score_fn : callable
        ``score_fn(x, sigma) -> (n, d)``: the score :math:`\nabla_x \log p_\sigma(x)` of the
        data smoothed with N(0, σ²I) (a noise-conditional score model, or an exact score).
    x0 : ndarray, shape (n_chains, d)
    n_steps_each : int
        Langevin steps T at each level.
    rng : Generator or int
    sigmas : array, shape (L,)
        Noise levels :math:`\sigma_1 > \sigma_2 > \dots > \sigma_L > 0`, strictly decreasing
        (keyword-only, like every argument after rng).
    step_lr : float
        ε > 0; the step at level i is :math:`h_i = \varepsilon\,\sigma_i^2/\sigma_L^2`.
    progress : callable, optional
        ``progress(i, L)`` after each level.

    Returns
    -------
    Chains
        ``samples`` of shape (L, n_chains, d): the state at the end of each level
        (the last row is the output); ``settings["step_sizes"]`` the h_i.

    Notes
    -----
    At level i, T steps of :math:`x \leftarrow x + h_i\, s(x, \sigma_i) + \sqrt{2h_i}\,\xi`
    (this package's Langevin convention; Song & Ermon's α_i = 2h_i).  Scaling h_i with
    σ_i² keeps the signal-to-noise ratio of each step the same across levels.  The score
    function is a Python callable, so this sampler always runs the NumPy path; the
    random stream is split into chunks as in every other sampler, and each move is
    :func:`langevin_proposal` with :math:`\nabla_x E = -s(x, \sigma_i)`.
    """
    if not callable(score_fn):
        raise ValueError(f"score_fn: expected a callable score_fn(x, sigma), got {type(score_fn).__name__}")
    x = check_x0(x0)
    sig = as_float_array(sigmas, "sigmas")
    if sig.ndim != 1 or sig.size < 1:
        raise ValueError(f"sigmas: expected a 1-D array of noise levels, got shape {sig.shape}")
    if not np.all(np.isfinite(sig)) or np.any(sig <= 0):
        raise ValueError(f"sigmas: noise levels must be finite and > 0, got {sig}")
    if np.any(np.diff(sig) >= 0):
        raise ValueError(f"sigmas: must be strictly decreasing (σ_1 > σ_2 > ... > σ_L), got {sig}")
    T = check_positive_int(n_steps_each, "n_steps_each", 1)
    eps = check_step(step_lr, "step_lr")
    if progress is not None and not callable(progress):
        raise ValueError(f"progress: expected None or a callable, got {progress!r}")
    rng = as_generator(rng)
    n, d = x.shape
    bounds = chunk_bounds(n)
    gens = spawn_generators(rng, N_CHUNKS)
    steps = eps * sig**2 / sig[-1] ** 2
    out = np.empty((sig.size, n, d))
    t = 0
    for i, (s, h) in enumerate(zip(sig, steps)):
        for _ in range(T):
            t += 1
            sc = np.asarray(score_fn(x, float(s)), dtype=np.float64)
            if sc.shape != x.shape:
                raise ValueError(f"score_fn: returned shape {sc.shape}, expected {x.shape}")
            raise_if_nonfinite("annealed_langevin", t, sc, what=f"the score at noise level {i} (σ={s:.4g})")
            with np.errstate(over="ignore", invalid="ignore"):
                x = langevin_proposal(x, -sc, h, draw_normals(gens, bounds, d))
            raise_if_nonfinite("annealed_langevin", t, x, what=f"the state at noise level {i} (σ={s:.4g})")
        out[i] = x
        if progress is not None:
            progress(i + 1, sig.size)
    settings = dict(sampler="annealed_langevin", sigmas=sig.copy(), n_steps_each=T, step_lr=eps,
                    step_sizes=steps)
    return make_chains(out, np.ones(n), settings)
