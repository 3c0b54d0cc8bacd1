"""Shared plumbing of every sampler: argument checks, random streams, progress, Chains.

Conventions every sampler of the package keeps (and the discrete samplers import):

* **Steps.** Step ``t = 1, ..., n_steps`` is the state after ``t`` transitions; the
  starting state ``x0`` is not stored.  A step is *kept* when ``t > burn_in`` and
  ``(t - burn_in) % thin == 0``, so ``n_kept = (n_steps - burn_in) // thin`` (at least 1).
* **Random streams.** The chains are split into :data:`N_CHUNKS` fixed, contiguous
  chunks (:func:`chunk_bounds`, some may be empty when there are fewer chains).  Chunk
  ``k`` draws only from its own Generator, spawned from one ``SeedSequence`` whose
  entropy is drawn from the caller's ``rng`` (:func:`spawn_generators`).  The number of
  chunks never depends on the number of threads, so a jitted kernel that runs the
  chunks with ``prange`` gives the same chains on 1 or 2 threads, and the NumPy path,
  which draws from the same chunk Generators in the same order, gives the same chains
  as the jitted one.
* **Non-finite values.** NaN or inf produced inside a sampler raises
  ``FloatingPointError`` naming the sampler, the step and the chain
  (:func:`nonfinite_error`, :func:`first_nonfinite`).
* **Progress.** ``progress`` is ``None`` or a callable ``progress(t, n_steps)`` called
  after each segment of steps (:func:`segments`); segmenting never changes the result,
  because the Generators carry their state from one segment to the next.

The continuous samplers (metropolis, ula, mala, hmc) share one driver,
:func:`run_chains`: it validates the arguments, builds the chunk Generators, runs the
segments through either a fused numba kernel or the NumPy step of the transition, applies
the keep rule (:func:`kept_index`, the only place it is written), checks for non-finite
values and builds the :class:`Chains`.  Each fused kernel is a serial ``@njit(cache=True)``
*chunk function* (the steps of the chains of one chunk, from that chunk's Generator) under a
thin ``@njit(cache=True, parallel=True)`` wrapper that runs the chunks with ``prange``;
:func:`run_chunk_segment` calls the wrapper only for work large enough to gain from threads
(:data:`PARALLEL_MIN_WORK`) and otherwise runs the chunk function chunk by chunk, so a small
run never compiles the parallel wrapper (~2 s per sampler and model family).  The wrapper
passes the chunk index as ``np.int64(k)``: ``prange``'s index is unsigned, and a ``uint64``
index would make numba compile every chunk function (and the pieces it calls) a second time,
which cost about 1.5 s per wrapper.  The fused
kernels call the jitted pieces below (:func:`chunk_buffers` and :func:`draw_chunk` for the
MALA and HMC kernels, which draw a step's normals before its proposals; the random-walk
kernel draws each normal as it forms the proposal, the same stream; :func:`store_kept`,
:func:`flag_nonfinite`, :func:`take_proposal`, and the accept test :func:`mh_accepts`
shared by all three); they are called, never passed as arguments, because numba
does not cache a function that takes a function argument (numba #9237).  numba's cache
of a kernel is invalidated only when the kernel's own file changes: after editing a
jitted piece here, touch the kernels' modules (or delete their ``__pycache__/*.nbi``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import get_num_threads, njit

from .._validate import as_batch, as_generator, check_positive, check_positive_int
from .chains import Chains

__all__ = [
    "N_CHUNKS",
    "as_generator",
    "check_x0",
    "check_step",
    "check_schedule",
    "n_kept",
    "chunk_bounds",
    "spawn_generators",
    "first_nonfinite",
    "nonfinite_error",
    "raise_if_nonfinite",
    "segments",
    "make_chains",
    "kept_index",
    "chunk_buffers",
    "draw_chunk",
    "store_kept",
    "take_proposal",
    "flag_nonfinite",
    "acceptance_from_log",
    "mh_accepts",
    "SQUEEZE_MARGIN",
    "PARALLEL_MIN_WORK",
    "run_chunk_segment",
    "run_chains",
]

#: Fixed number of random-stream chunks the chains are split into (independent of threads).
N_CHUNKS = 8

#: Steps per progress segment when a progress callback is given.
PROGRESS_EVERY = 1000

#: A segment runs its chunks under a fused kernel's ``prange`` wrapper only with at least this
#: much work (chains × steps × d, times L for HMC: ~5 ms of serial arithmetic) and more than one
#: numba thread; below it the kernel's serial chunk function runs the chunks one after another
#: (:func:`run_chunk_segment`).  The chains are the same either way; the point is compile time:
#: a ``parallel=True`` wrapper takes ~6 s to compile per sampler and model family (once per
#: machine: it is cached), far more than a tiny run can gain from a second thread.  At this
#: threshold the small runs of the tests and of ``ebm-ref verify`` stay serial, while a run of
#: 1000 chains × 200 steps at d = 2 (4e5) already gains ~1.9× from two threads (``ebm-ref bench``).
PARALLEL_MIN_WORK = 300_000


def check_x0(x0, d: int | None = None, name: str = "x0") -> np.ndarray:
    """Check starting states: a finite float64 batch of shape ``(n_chains, d)``, n_chains >= 1.

    Returns a fresh C-contiguous copy (samplers move it in place).
    """
    x = as_batch(x0, d, name)
    if x.shape[0] < 1:
        raise ValueError(f"{name}: needs at least one chain (n_chains >= 1), got shape {x.shape}")
    if x.shape[1] < 1:
        raise ValueError(f"{name}: needs dimension d >= 1, got shape {x.shape}")
    return np.ascontiguousarray(x, dtype=np.float64).copy()


def check_step(value, name: str = "step_size") -> float:
    """A step size: finite and > 0."""
    return check_positive(value, name)


def check_schedule(n_steps, burn_in=0, thin=1) -> tuple[int, int, int, int]:
    """Check ``n_steps >= 1``, ``0 <= burn_in < n_steps``, ``thin >= 1``; return them and n_kept."""
    n_steps = check_positive_int(n_steps, "n_steps", 1)
    burn_in = check_positive_int(burn_in, "burn_in", 0)
    thin = check_positive_int(thin, "thin", 1)
    if burn_in >= n_steps:
        raise ValueError(f"burn_in: must be < n_steps = {n_steps} so that a step is kept, got {burn_in}")
    return n_steps, burn_in, thin, n_kept(n_steps, burn_in, thin)


def n_kept(n_steps: int, burn_in: int, thin: int) -> int:
    """Number of kept steps: t in (burn_in, n_steps] with (t - burn_in) % thin == 0."""
    k = (n_steps - burn_in) // thin
    if k < 1:
        raise ValueError(
            f"thin: with n_steps={n_steps}, burn_in={burn_in} and thin={thin} no step is kept; "
            f"thin must be <= n_steps - burn_in = {n_steps - burn_in}"
        )
    return k


def chunk_bounds(n_chains: int, n_chunks: int = N_CHUNKS) -> np.ndarray:
    """Start indices of the chunks, shape ``(n_chunks + 1,)``: chunk k is chains [b[k], b[k+1]).

    Sizes differ by at most one (the first ``n_chains % n_chunks`` chunks are one longer),
    as in ``numpy.array_split``; chunks are empty when ``n_chains < n_chunks``.
    """
    q, r = divmod(int(n_chains), int(n_chunks))
    sizes = np.full(n_chunks, q, dtype=np.int64)
    sizes[:r] += 1
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def spawn_generators(rng, n_chunks: int = N_CHUNKS) -> tuple:
    """One Generator per chunk, spawned from a single SeedSequence.

    The SeedSequence's entropy is four 63-bit integers drawn from ``rng`` (so the
    caller's Generator advances and two calls give independent streams).  Returns a
    tuple (a numba kernel indexes it inside ``prange``).
    """
    rng = as_generator(rng)
    entropy = [int(e) for e in rng.integers(0, 2**63 - 1, size=4, dtype=np.int64)]
    children = np.random.SeedSequence(entropy).spawn(n_chunks)
    return tuple(np.random.Generator(np.random.PCG64(s)) for s in children)


def first_nonfinite(*arrays) -> int:
    """Index of the first row (chain) holding a NaN or inf in any of ``arrays``, or -1.

    Each array has leading axis n_chains (shape ``(n,)`` or ``(n, d)``).
    """
    bad = None
    for a in arrays:
        a = np.asarray(a)
        row = ~np.isfinite(a) if a.ndim == 1 else ~np.all(np.isfinite(a.reshape(a.shape[0], -1)), axis=1)
        bad = row if bad is None else (bad | row)
    idx = np.flatnonzero(bad)
    return int(idx[0]) if idx.size else -1


#: the usual cause of a non-finite value in a sampler with a step size
STEP_SIZE_HINT = "the step size may be too large for this energy, or the energy overflows"


def nonfinite_error(sampler: str, step: int, chain: int, what: str = "the state",
                    hint: str = STEP_SIZE_HINT) -> FloatingPointError:
    """The error raised when a chain produces NaN or inf."""
    return FloatingPointError(f"{sampler}: non-finite value (NaN or inf) in {what} at step {step}, chain {chain}; {hint}")


def raise_if_nonfinite(sampler: str, step: int, *arrays, what: str = "the state", offset: int = 0,
                       hint: str = STEP_SIZE_HINT) -> None:
    """Raise :func:`nonfinite_error` if any row of ``arrays`` is non-finite (NumPy path)."""
    c = first_nonfinite(*arrays)
    if c >= 0:
        raise nonfinite_error(sampler, step, c + offset, what, hint)


def raise_kernel_status(sampler: str, bad_step: np.ndarray, bad_chain: np.ndarray, what: str) -> None:
    """Raise for the earliest (step, chain) a jitted kernel reported; ``bad_step < 0`` means none.

    Kernels record, per chunk, the first step at which a chain of that chunk went
    non-finite and the lowest such chain; the earliest step over chunks (then the
    lowest chain) is reported, the same (step, chain) the NumPy path reports.
    """
    ok = bad_step >= 0
    if np.any(ok):
        s = bad_step[ok].min()
        c = bad_chain[ok & (bad_step == s)].min()
        raise nonfinite_error(sampler, int(s), int(c), what)


def segments(n_steps: int, progress=None, every: int = PROGRESS_EVERY):
    """Yield ``(t0, t1)`` step ranges; after each, call ``progress(t1, n_steps)`` if given.

    Without a progress callback the whole run is one segment.
    """
    if progress is not None and not callable(progress):
        raise ValueError(f"progress: expected None or a callable progress(t, n_steps), got {progress!r}")
    if progress is None:
        yield 0, n_steps
        return
    t0 = 0
    while t0 < n_steps:
        t1 = min(n_steps, t0 + every)
        yield t0, t1
        progress(t1, n_steps)
        t0 = t1


def make_chains(samples, accept_rate, settings: dict, extras: dict | None = None) -> Chains:
    """Build the :class:`Chains` value (samples ``(n_kept, n_chains, d)``)."""
    samples = np.asarray(samples, dtype=np.float64)
    accept_rate = np.asarray(accept_rate, dtype=np.float64)
    if samples.ndim != 3 or accept_rate.shape != (samples.shape[1],):
        raise ValueError(
            f"samples/accept_rate: expected (n_kept, n_chains, d) and (n_chains,), got {samples.shape}, {accept_rate.shape}"
        )
    return Chains(samples=samples, accept_rate=accept_rate, settings=dict(settings), extras=dict(extras or {}))


def draw_normals(gens, bounds, d: int) -> np.ndarray:
    """NumPy path: standard normals of shape (n_chains, d), chunk k drawn from ``gens[k]``.

    A jitted kernel draws the same numbers with scalar ``g.standard_normal()`` calls in
    row-major order over the chunk's chains (numba reproduces NumPy's stream).
    """
    return np.concatenate([g.standard_normal((int(bounds[k + 1] - bounds[k]), d)) for k, g in enumerate(gens)])


def draw_uniforms(gens, bounds) -> np.ndarray:
    """NumPy path: uniforms on [0, 1) of shape (n_chains,), chunk k drawn from ``gens[k]``."""
    return np.concatenate([g.random(int(bounds[k + 1] - bounds[k])) for k, g in enumerate(gens)])


def use_jit(backend: str, form) -> bool:
    """Whether to run the jitted kernel: ``backend`` is "auto", "numba" or "numpy".

    "auto" uses the kernel whenever the model has a jittable form (``form`` not None).
    """
    if backend not in ("auto", "numba", "numpy"):
        raise ValueError(f"backend: expected 'auto', 'numba' or 'numpy', got {backend!r}")
    if backend == "numba" and form is None:
        raise ValueError("backend: 'numba' needs a built-in model with a jittable form; this model has none")
    return backend != "numpy" and form is not None


def new_status(n_chunks: int = N_CHUNKS):
    """Per-chunk (bad_step, bad_chain) arrays a kernel fills on NaN/inf (-1 = none)."""
    return np.full(n_chunks, -1, dtype=np.int64), np.full(n_chunks, -1, dtype=np.int64)


# ------------------------------------------------------------------ the keep rule
@njit(cache=True)
def kept_index(step, burn_in, thin):
    """Row of ``samples`` that step ``step`` (1-based) is stored in, or -1 if not kept.

    The keep rule of every sampler, written once: step t is kept when t > burn_in and
    (t − burn_in) % thin == 0, in row (t − burn_in) // thin − 1.  Jitted, so the fused
    kernels call it too; callable from Python as well.
    """
    if step > burn_in and (step - burn_in) % thin == 0:
        return (step - burn_in) // thin - 1
    return -1


# ---------------------------------------- jitted pieces of the fused kernels' chunk loop
@njit(cache=True)
def chunk_buffers(bounds, k, d):
    """Chunk ``k``'s first chain ``lo``, size ``m`` and its draw buffers z (m, d), u (m,)."""
    lo = bounds[k]
    m = bounds[k + 1] - lo
    return lo, m, np.empty((m, d)), np.empty(m)


@njit(cache=True)
def draw_chunk(g, z, u, with_uniforms):
    """One step's draws of one chunk, in the fixed order both paths use.

    Fills ``z`` (m, d) with standard normals in row-major order, then, if
    ``with_uniforms``, ``u`` (m,) with uniforms on [0, 1).  numba reproduces NumPy's
    stream, so these are :func:`draw_normals` then :func:`draw_uniforms` of the chunk.
    """
    m, d = z.shape
    for i in range(m):
        for j in range(d):
            z[i, j] = g.standard_normal()
    if with_uniforms:
        for i in range(m):
            u[i] = g.random()


@njit(cache=True)
def store_kept(out, x, lo, m, step, burn_in, thin):
    """Copy chains [lo, lo + m) of ``x`` into ``out`` if step ``step`` is kept (:func:`kept_index`)."""
    r = kept_index(step, burn_in, thin)
    if r >= 0:
        for i in range(m):
            for j in range(x.shape[1]):
                out[r, lo + i, j] = x[lo + i, j]


@njit(cache=True)
def take_proposal(x, grad, e, n_acc, c, y, gy, ey, counted):
    """Move chain ``c`` to the accepted proposal: position y, gradient ∇E(y), energy E(y); count
    the acceptance when ``counted`` (after burn-in).  Shared by the gradient-based kernels."""
    for j in range(x.shape[1]):
        x[c, j] = y[j]
        grad[c, j] = gy[j]
    e[c] = ey
    if counted:
        n_acc[c] += 1


@njit(cache=True)
def flag_nonfinite(bad_step, bad_chain, k, step, chain):
    """Record that chain ``chain`` of chunk ``k`` went non-finite at ``step`` (see :func:`raise_kernel_status`)."""
    bad_step[k] = step
    bad_chain[k] = chain


@njit(cache=True)
def acceptance_from_log(log_alpha):
    r"""The Metropolis–Hastings acceptance probability :math:`\min(1, e^{\log\alpha})` of one chain.

    The exponential is taken only when log α < 0 (it cannot overflow).  The NumPy form is
    :func:`ebm_ref.samplers.metropolis_hastings.mh_acceptance`.
    """
    return 1.0 if log_alpha >= 0.0 else np.exp(log_alpha)


#: Margin of the two bounds in :func:`mh_accepts` (absolute below, relative above): far above the
#: rounding of the bounds' Horner sums (a few ulp of numbers <= 1.6 where the lower bound is > 0,
#: ~1e-15) and of ``exp`` (< 1 ulp), so a decision taken on a bound is the decision
#: ``u < exp(log α)`` of the computed exponential.
SQUEEZE_MARGIN = 1e-13


@njit(cache=True, inline="always")
def mh_accepts(u, log_alpha):
    r"""The Metropolis–Hastings test :math:`u < \min(1, e^{\log\alpha})`, the exponential taken only when needed.

    With :math:`a = \max(0, -\log\alpha)`, the Taylor series of :math:`e^{\mp a}` give

    .. math::  1 - a + \tfrac{a^2}{2} - \tfrac{a^3}{6} \;\le\; e^{-a} \;\le\;
               \frac{1}{1 + a + \tfrac{a^2}{2} + \tfrac{a^3}{6}}

    (left: the alternating series stops after a negative term, its remainder
    :math:`e^{-\xi} a^4/24 \ge 0`; right: every term of :math:`e^{a}` is >= 0).  A uniform
    below the lower bound accepts, one above the upper bound rejects, and only a u between
    them (a few per cent of the steps of a tuned chain) needs :math:`e^{-a}`; the bounds carry
    the margin :data:`SQUEEZE_MARGIN`, so the decision is always the one ``u <
    acceptance_from_log(log_alpha)`` takes (a test checks it at the boundary).  The
    exponential is the dearest part of a random-walk step at small d; every fused kernel
    (random-walk MH, MALA, HMC) takes its test here.  The acceptance probability itself,
    when wanted (warm-up adaptation), is :func:`acceptance_from_log`.  NaN rejects, as ``u < NaN`` does.
    """
    a = max(-log_alpha, 0.0)
    b = a * (1.0 / 6.0)
    if u < 1.0 - a * (1.0 - a * (0.5 - b)) - SQUEEZE_MARGIN:      # below the lower bound: accept
        return True
    if u * (1.0 + a * (1.0 + a * (0.5 + b))) >= 1.0 + SQUEEZE_MARGIN:  # above the upper bound: reject
        return False
    return u < acceptance_from_log(log_alpha)


def run_chunk_segment(kernel, chunk, head: tuple, gens, bounds, tail: tuple, work: int) -> None:
    """Run one segment of a fused kernel: ``kernel(*head, gens, bounds, *tail)`` (the chunks under
    ``prange``) or, for small work or one thread, ``chunk(*head, gens[k], bounds, k, *tail)`` for
    k = 0, 1, ... in turn.

    Every fused kernel is a serial ``@njit(cache=True)`` chunk function (the steps of the chains
    of chunk k, drawing only from ``gens[k]``) under a thin ``@njit(cache=True, parallel=True)``
    wrapper that runs the chunks with ``prange``; both routes give the same chains
    (see :data:`PARALLEL_MIN_WORK`).
    """
    if work >= PARALLEL_MIN_WORK and get_num_threads() > 1:
        kernel(*head, gens, bounds, *tail)
        return
    for k in range(len(bounds) - 1):
        chunk(*head, gens[k], bounds, k, *tail)


# ----------------------------------------------------------------- the shared driver
@dataclass
class Run:
    """A validated run: the arrays a kernel moves in place and the schedule.

    ``x`` (n, d), ``e`` (n,), ``grad`` (n, d) or None are the current states; ``out``
    (n_kept, n, d) the kept samples; ``n_acc`` (n,) accepted moves after burn-in.
    """

    name: str
    model: object
    form: object
    jit: bool
    x: np.ndarray
    e: np.ndarray
    grad: object
    gens: tuple
    bounds: np.ndarray
    out: np.ndarray
    n_acc: np.ndarray
    n_steps: int
    burn_in: int
    thin: int

    @property
    def n_chains(self) -> int:
        return self.x.shape[0]


def prepare_run(name, model, x0, n_steps, rng, burn_in, thin, backend, *, grad: bool) -> Run:
    """Validate the common arguments, spawn the chunk Generators, evaluate E (and ∇E) at x0.

    Raises ``ValueError`` for bad x0, schedule, backend or rng, and
    ``FloatingPointError`` if the energy (or gradient) at x0 is not finite.
    """
    from ._jit_models import batch_energy, batch_energy_grad, jit_form

    x = check_x0(x0, model.dim)
    n_steps, burn_in, thin, n_keep = check_schedule(n_steps, burn_in, thin)
    form = jit_form(model)
    jit = use_jit(backend, form)
    rng = as_generator(rng)
    n, d = x.shape
    bounds = chunk_bounds(n)
    gens = spawn_generators(rng, N_CHUNKS)
    g = None
    if grad:
        e, g = batch_energy_grad(form, x) if jit else (model.energy(x), model.grad_x(x))
        raise_if_nonfinite(name, 0, e, g, what="the energy or gradient at x0")
    else:
        e = batch_energy(form, x) if jit else model.energy(x)
        raise_if_nonfinite(name, 0, e, what="the energy of x0")
    return Run(name, model, form, jit, x, np.array(e, dtype=np.float64), g, gens, bounds,
               np.empty((n_keep, n, d)), np.zeros(n, dtype=np.int64), n_steps, burn_in, thin)


def run_chains(run: Run, progress, *, kernel_segment, numpy_step, uniforms: bool, what: str) -> None:
    """Run all segments of ``run``, through the fused kernel or the NumPy step.

    Parameters
    ----------
    kernel_segment : callable
        ``kernel_segment(t0, t1, bad_step, bad_chain)`` runs steps t0+1..t1 of every chunk
        in the jitted kernel, moving ``run.x, run.e, run.grad`` in place and filling
        ``run.out`` and ``run.n_acc``.
    numpy_step : callable
        ``numpy_step(t, state, normals, uniforms) -> (state, info)``: transition t+1 of
        all chains from the given draws (a NumPy step function of
        :mod:`ebm_ref.samplers.state` shape).
    uniforms : bool
        Whether the transition draws a uniform per chain after its normals.
    what : str
        What went non-finite, for the error message.
    """
    from .state import State, check_info_finite

    if not run.jit:
        state = State(run.x, run.e, run.grad)
    d = run.x.shape[1]
    for t0, t1 in segments(run.n_steps, progress):
        if run.jit:
            bad_step, bad_chain = new_status()
            kernel_segment(t0, t1, bad_step, bad_chain)
            raise_kernel_status(run.name, bad_step, bad_chain, what)
            continue
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for t in range(t0, t1):
                z = draw_normals(run.gens, run.bounds, d)
                u = draw_uniforms(run.gens, run.bounds) if uniforms else None
                state, info = numpy_step(t, state, z, u)
                check_info_finite(run.name, t + 1, info, what)
                if t >= run.burn_in:
                    run.n_acc += info.is_accepted
                r = kept_index(t + 1, run.burn_in, run.thin)
                if r >= 0:
                    run.out[r] = state.position
    if not run.jit:
        run.x, run.e, run.grad = state


def finish_run(run: Run, settings: dict, extras: dict | None = None) -> Chains:
    """The :class:`Chains` of a finished run: accept_rate = accepted moves / (n_steps − burn_in)."""
    settings = dict(sampler=run.name, **settings, backend="numba" if run.jit else "numpy")
    return make_chains(run.out, run.n_acc / (run.n_steps - run.burn_in), settings, extras)
