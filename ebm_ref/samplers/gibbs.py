r"""Gibbs sampling and spin-flip Metropolis for binary models.

Three discrete samplers, each a Markov kernel that leaves :math:`p(x) = e^{-E(x)}/Z`
invariant (energy convention, :math:`p \propto e^{-E}`):

* **Block Gibbs on an RBM** (:class:`~ebm_ref.models.rbm.BernoulliRBM`,
  :class:`~ebm_ref.models.rbm.GaussianBernoulliRBM`).  Given the visible layer the
  hidden units are independent, and vice versa, so one *sweep* draws the whole layer
  at once: :math:`h \sim p(h\mid v)`, then :math:`v' \sim p(v\mid h)`.  For the
  Bernoulli RBM with :math:`E(v,h) = -v^\top W h - b^\top v - c^\top h`,

  .. math::  p(h_j = 1\mid v) = \sigma(c_j + v^\top W_{:j}),\qquad
             p(v_i = 1\mid h) = \sigma(b_i + W_{i:} h),

  :math:`\sigma(a) = 1/(1+e^{-a})`.  Both follow from ratios of the joint,
  :math:`p(h_j=1\mid v, h_{-j}) = e^{-E(h_j=1)}/(e^{-E(h_j=0)} + e^{-E(h_j=1)})`, where
  :math:`Z` cancels.  :func:`gibbs_k` runs ``k`` sweeps from given visible states and
  also returns :math:`p(h\mid v_k)` — the negative phase of CD-k (fresh chains started
  at the data) and of persistent CD (chains carried over between parameter updates).

* **Single-site Gibbs on a Boltzmann machine** (:class:`~ebm_ref.models.boltzmann.BoltzmannMachine`,
  :math:`E = -\tfrac12 x^\top J x - h^\top x`): a systematic scan over the units,
  each drawn from :math:`p(x_i\mid x_{-i}) \propto e^{-E}`.  For units in
  :math:`\{s_0, s_1\}` (binary 0/1 or Ising −1/+1) with the local field
  :math:`m_i = h_i + \sum_{j\ne i} J_{ij} x_j` (J symmetrised),

  .. math::  p(x_i = s_1\mid x_{-i}) = \sigma\bigl(E(x_i{=}s_0) - E(x_i{=}s_1)\bigr)
             = \sigma\bigl((s_1 - s_0) m_i + \tfrac12 J_{ii}(s_1^2 - s_0^2)\bigr).

* **Spin-flip Metropolis**: propose flipping one unit, accept with
  :math:`\min(1, e^{-\Delta E})`; each proposal is reversible (detailed balance).

Paths.  The RBM sweeps are two matrix products plus elementwise work, so they run in
NumPy (BLAS products into preallocated ``out=`` buffers, vectorised ``exp``); the
Boltzmann-machine loops are numba ``@njit(cache=True)`` kernels running the
:data:`~ebm_ref.samplers._common.N_CHUNKS` random-stream chunks with ``prange``.
``backend="numpy"`` runs a plain, readable NumPy version of the same algorithm —
for the RBM via the layer conditionals, for single-site samplers via energy
differences of *any* binary :class:`~ebm_ref.energy.Energy` — consuming the same
random numbers in the same order, so both paths give the same chains.

Exact transition matrices (:func:`transition_matrix_block_gibbs`,
:func:`transition_matrix_site_gibbs`, :func:`transition_matrix_spin_flip`) are built
on small spaces from conditionals computed as ratios of the enumerated joint, for the
exact checks :math:`\pi P = \pi` and :math:`\pi_i P_{ij} = \pi_j P_{ji}`.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._validate import as_batch, as_float_array, check_binary, check_positive_int
from ..energy import Energy
from ..numerics.enumeration import SPIN_VALUES as _SPINS, enumerate_states, state_index
from ..numerics.special import sigmoid
from . import _common
from ._common import make_chains

__all__ = [
    "gibbs",
    "gibbs_k",
    "spin_flip_metropolis",
    "conditional_probabilities",
    "enumerate_states",
    "state_index",
    "rbm_joint_energy",
    "stationary_distribution",
    "transition_matrix_block_gibbs",
    "transition_matrix_site_gibbs",
    "transition_matrix_spin_flip",
]

#: Largest number of units for which the exact transition matrices are built (2^d states squared).
MAX_EXACT_UNITS = 12



# ====================================================================== dispatch
def _family(model) -> str:
    """'rbm', 'gbrbm', 'bm' or 'energy' (any other Energy: the generic single-site path)."""
    # imported here, not at module level: the models know nothing of the samplers, and
    # importing ebm_ref.samplers must not pull in every model family
    from ..models.boltzmann import BoltzmannMachine
    from ..models.rbm import BernoulliRBM, GaussianBernoulliRBM

    if isinstance(model, GaussianBernoulliRBM):
        return "gbrbm"
    if isinstance(model, BernoulliRBM):
        return "rbm"
    if isinstance(model, BoltzmannMachine):
        return "bm"
    if isinstance(model, Energy):
        return "energy"
    raise ValueError(f"model: expected an ebm_ref Energy (an RBM, a BoltzmannMachine or another binary energy), "
                     f"got {type(model).__name__}")


def _check_backend(backend, fam: str) -> str:
    """'auto' | 'numba' | 'numpy', as for every sampler of the package.

    'auto' takes the fast path (BLAS-buffered NumPy for RBMs, the numba kernel for a
    BoltzmannMachine, the energy-difference NumPy path for any other Energy); 'numba'
    insists on a jitted kernel (BoltzmannMachine only); 'numpy' is the reference path.
    """
    if backend not in ("auto", "numba", "numpy"):
        raise ValueError(f"backend: expected 'auto', 'numba' or 'numpy', got {backend!r}")
    if backend == "numba" and fam != "bm":
        raise ValueError("backend: 'numba' needs a BoltzmannMachine (the only model with a jitted Gibbs kernel); "
                         "RBM sweeps run in BLAS-buffered NumPy ('auto'), other energies in NumPy")
    return backend


def _spin_values(model, fam: str, spins) -> tuple[float, float]:
    """The two values (s0, s1) a unit takes."""
    if fam == "bm":
        model_spins = model.settings.get("spins", "binary")
        if spins is not None and spins != model_spins:
            raise ValueError(f"spins: the BoltzmannMachine uses spins={model_spins!r}, got spins={spins!r}")
        spins = model_spins
    elif spins is None:
        spins = "binary"
    if spins not in _SPINS:
        raise ValueError(f"spins: expected 'binary' (units in {{0, 1}}) or 'ising' (units in {{-1, +1}}), got {spins!r}")
    return _SPINS[spins]


def _check_states(x, d: int, lo: float, hi: float, name: str) -> np.ndarray:
    """A start batch (n_chains >= 1, d) whose entries are all lo or hi."""
    x = _common.check_x0(x, d, name)
    if (lo, hi) == (0.0, 1.0):
        check_binary(x, name)
    elif not np.all((x == lo) | (x == hi)):
        bad = x[(x != lo) & (x != hi)].ravel()[:3]
        raise ValueError(f"{name}: Ising units must be -1 or +1, found values such as {bad.tolist()}")
    return x


def _bm_arrays(model):
    """(J symmetrised, h) of a BoltzmannMachine, C-contiguous float64."""
    J = np.asarray(model.params["J"], dtype=np.float64)
    J = np.ascontiguousarray(0.5 * (J + J.T))
    # fresh writable copies: the kernels are compiled (and cached) for one array type only
    return J, np.array(model.params["h"], dtype=np.float64, order="C", copy=True)


def _rbm_arrays(model):
    p = model.params
    return (np.ascontiguousarray(p["W"], dtype=np.float64), np.ascontiguousarray(p["b"], dtype=np.float64),
            np.ascontiguousarray(p["c"], dtype=np.float64))


def _gbrbm_arrays(model):
    W, b, c = _rbm_arrays(model)
    sigma = np.broadcast_to(np.asarray(model.params["sigma"], dtype=np.float64), b.shape)
    return W, b, c, np.ascontiguousarray(sigma)


# ============================================================== small helpers
def _sigmoid_inplace(a: np.ndarray) -> np.ndarray:
    r"""a ← σ(−a) = 1/(1+e^{a}) in place (the fast path stores the *negated* field).

    When e^{a} overflows (a > 709) the result is 1/(1+inf) = 0, the correctly rounded
    value of σ (below 1e-308); the overflow flag is therefore silenced here only.
    """
    with np.errstate(over="ignore"):
        np.exp(a, out=a)
    np.add(a, 1.0, out=a)
    np.reciprocal(a, out=a)
    return a


# ============================================ block Gibbs on RBMs (NumPy, BLAS)
def _rbm_fast(W, b, c, v, beta, t0, t1, burn_in, thin, rng, out, gaussian_sigma=None):
    r"""Sweeps t0+1..t1 of block Gibbs on a (tempered) RBM, in place on ``v``; stores kept steps.

    ``beta`` is None (β = 1) or a column ``(n, 1)`` of inverse temperatures, one per row
    of ``v``: the tempered joint is exp(−β E(v, h)).  The fields are formed negated in
    one pass after each product, −a = (−c) − vW, so that σ(a) = 1/(1 + e^{−a}) needs one
    ``exp``, one add and one reciprocal over the buffer; no copy of W is made (``W.T``
    is a transposed view that BLAS reads directly).  Random numbers per sweep:
    uniforms (n, n_hidden) for h, then uniforms (n, n_visible) for binary v, or
    normals (n, n_visible) for Gaussian v.
    """
    n, nv = v.shape
    nh = W.shape[1]
    neg_c, neg_b = -c, -b
    # one workspace allocation per call (each large allocation is an mmap + page faults,
    # which costs more than a whole sweep on a busy machine); the hidden states overwrite
    # their uniforms in place, H = U
    gauss = gaussian_sigma is not None
    work = np.empty(2 * n * nh + (3 if gauss else 2) * n * nv)
    A = work[:n * nh].reshape(n, nh)
    U = H = work[n * nh:2 * n * nh].reshape(n, nh)
    B = work[2 * n * nh:2 * n * nh + n * nv].reshape(n, nv)
    UV = work[2 * n * nh + n * nv:2 * n * nh + 2 * n * nv].reshape(n, nv)
    if gauss:
        s = gaussian_sigma
        s2 = s * s
        Vs = work[2 * n * nh + 2 * n * nv:].reshape(n, nv)
        if beta is not None:
            noise_scale = s[None, :] / np.sqrt(beta)          # σ_i/√β per row
    for t in range(t0 + 1, t1 + 1):
        # h ~ p(h | v):  p(h_j=1|v) = σ(β(c_j + Σ_i ṽ_i W_ij)),  ṽ = v (binary) or v/σ² (Gaussian)
        if gaussian_sigma is None:
            np.matmul(v, W, out=A)
        else:
            np.divide(v, s2, out=Vs)
            np.matmul(Vs, W, out=A)
        np.subtract(neg_c, A, out=A)                          # −a
        if beta is not None:
            np.multiply(A, beta, out=A)
        _sigmoid_inplace(A)
        rng.random(out=U)
        np.less(U, A, out=H)
        np.matmul(H, W.T, out=B)                              # W h
        if gaussian_sigma is None:
            # v ~ p(v | h):  p(v_i=1|h) = σ(β(b_i + (W h)_i))
            np.subtract(neg_b, B, out=B)
            if beta is not None:
                np.multiply(B, beta, out=B)
            _sigmoid_inplace(B)
            rng.random(out=UV)
            np.less(UV, B, out=v)
        else:
            # v ~ N(b + W h, diag σ²/β)
            np.add(B, b, out=B)
            rng.standard_normal(out=UV)
            np.multiply(UV, s if beta is None else noise_scale, out=UV)
            np.add(B, UV, out=v)
        if out is not None and t > burn_in and (t - burn_in) % thin == 0:
            out[(t - burn_in) // thin - 1] = v
    return v


def _rbm_reference(model, fam, v, t0, t1, burn_in, thin, rng, out):
    """The readable NumPy path: each half-sweep from the layer conditionals, same random numbers."""
    for t in range(t0 + 1, t1 + 1):
        ph = model.prob_h_given_v(v)
        h = (rng.random(ph.shape) < ph).astype(np.float64)
        if fam == "rbm":
            pv = model.prob_v_given_h(h)
            v = (rng.random(pv.shape) < pv).astype(np.float64)
        else:
            mean = model.mean_v_given_h(h)
            v = mean + model.params["sigma"] * rng.standard_normal(mean.shape)
        if out is not None and t > burn_in and (t - burn_in) % thin == 0:
            out[(t - burn_in) // thin - 1] = v
    return v


def _prob_h_given_v(W, c, v_scaled):
    r"""p(h_j = 1 | v) = σ(c_j + Σ_i W_ij ṽ_i), with ṽ = v (binary) or v/σ² (Gaussian–Bernoulli)."""
    return sigmoid(v_scaled @ W + c)


# ========================== Boltzmann machine: jitted single-site kernels
@njit(cache=True)
def _sig(z):
    if z >= 0.0:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z)
    return e / (1.0 + e)


@njit(cache=True)
def _field(J, h, x, c, i):
    """Local field m_i = h_i + Σ_{j≠i} J_ij x_j of chain c."""
    m = h[i]
    d = x.shape[1]
    for j in range(d):
        if j != i:
            m += J[i, j] * x[c, j]
    return m


@njit(cache=True, parallel=True)
def _bm_site_gibbs_kernel(J, h, lo, hi, x, t0, t1, burn_in, thin, gens, bounds, out):
    """Systematic-scan single-site Gibbs, chunk k drawing from gens[k] in order [step][site][chain]."""
    d = x.shape[1]
    ds = hi - lo
    dq = 0.5 * (hi * hi - lo * lo)
    for k in prange(len(gens)):
        g = gens[k]
        c0 = bounds[k]
        c1 = bounds[k + 1]
        for t in range(t0 + 1, t1 + 1):
            for i in range(d):
                for c in range(c0, c1):
                    z = ds * _field(J, h, x, c, i) + dq * J[i, i]
                    p1 = _sig(z)
                    u = g.random()
                    x[c, i] = hi if u < p1 else lo
            if t > burn_in and (t - burn_in) % thin == 0:
                r = (t - burn_in) // thin - 1
                for c in range(c0, c1):
                    for i in range(d):
                        out[r, c, i] = x[c, i]


@njit(cache=True, parallel=True)
def _bm_spin_flip_kernel(J, h, lo, hi, x, t0, t1, burn_in, thin, random_scan, gens, bounds, out, n_acc):
    """d spin-flip proposals per step; chunk k draws from gens[k].

    Order of draws per proposal: (random scan only) one uniform per chain of the chunk
    for the site, then one uniform per chain for the acceptance.
    """
    d = x.shape[1]
    for k in prange(len(gens)):
        g = gens[k]
        c0 = bounds[k]
        c1 = bounds[k + 1]
        m = c1 - c0
        sites = np.empty(m, dtype=np.int64)
        for t in range(t0 + 1, t1 + 1):
            for i in range(d):
                if random_scan:
                    for c in range(m):
                        s = int(g.random() * d)
                        sites[c] = s if s < d else d - 1
                else:
                    for c in range(m):
                        sites[c] = i
                for c in range(m):
                    cc = c0 + c
                    j = sites[c]
                    old = x[cc, j]
                    new = lo + hi - old
                    # ΔE = E(new) − E(old) = −(new − old) m_j − ½ J_jj (new² − old²)
                    dE = -(new - old) * _field(J, h, x, cc, j) - 0.5 * J[j, j] * (new * new - old * old)
                    pacc = np.exp(min(-dE, 0.0))
                    u = g.random()
                    if u < pacc:
                        x[cc, j] = new
                        if t > burn_in:
                            n_acc[cc] += 1
            if t > burn_in and (t - burn_in) % thin == 0:
                r = (t - burn_in) // thin - 1
                for c in range(c0, c1):
                    for i in range(d):
                        out[r, c, i] = x[c, i]


# ===================== any binary Energy: single-site samplers by energy differences
def _energy_checked(model, x, sampler, t, offset):
    e = model.energy(x)
    _common.raise_if_nonfinite(sampler, t, e, what="the energy", offset=offset)
    return e


def _site_gibbs_numpy(model, lo, hi, x, t0, t1, burn_in, thin, gens, bounds, out):
    r"""Reference single-site Gibbs: p(x_i = s₁ | x₋ᵢ) = σ(E(x_i=s₀) − E(x_i=s₁)) (Z cancels)."""
    d = x.shape[1]
    for k, g in enumerate(gens):
        c0, c1 = int(bounds[k]), int(bounds[k + 1])
        if c1 == c0:
            continue
        xs = x[c0:c1]
        for t in range(t0 + 1, t1 + 1):
            for i in range(d):
                x_hi = xs.copy()
                x_hi[:, i] = hi
                x_lo = xs.copy()
                x_lo[:, i] = lo
                e_hi = _energy_checked(model, x_hi, "gibbs", t, c0)
                e_lo = _energy_checked(model, x_lo, "gibbs", t, c0)
                p1 = sigmoid(e_lo - e_hi)
                u = g.random(c1 - c0)
                xs[:, i] = np.where(u < p1, hi, lo)
            if t > burn_in and (t - burn_in) % thin == 0:
                out[(t - burn_in) // thin - 1, c0:c1] = xs
    return x


def _spin_flip_numpy(model, lo, hi, x, t0, t1, burn_in, thin, random_scan, gens, bounds, out, n_acc):
    """Reference spin-flip Metropolis by energy differences, same draws as the kernel."""
    d = x.shape[1]
    for k, g in enumerate(gens):
        c0, c1 = int(bounds[k]), int(bounds[k + 1])
        m = c1 - c0
        if m == 0:
            continue
        xs = x[c0:c1]
        rows = np.arange(m)
        e_old = _energy_checked(model, xs, "spin_flip_metropolis", t0, c0)
        for t in range(t0 + 1, t1 + 1):
            for i in range(d):
                if random_scan:
                    sites = np.minimum((g.random(m) * d).astype(np.int64), d - 1)
                else:
                    sites = np.full(m, i)
                prop = xs.copy()
                prop[rows, sites] = lo + hi - xs[rows, sites]
                e_new = _energy_checked(model, prop, "spin_flip_metropolis", t, c0)
                pacc = np.exp(np.minimum(e_old - e_new, 0.0))
                acc = g.random(m) < pacc
                xs[acc] = prop[acc]
                e_old = np.where(acc, e_new, e_old)
                if t > burn_in:
                    n_acc[c0:c1] += acc
            if t > burn_in and (t - burn_in) % thin == 0:
                out[(t - burn_in) // thin - 1, c0:c1] = xs
    return x


# ================================================================ public API
def gibbs(model, v0, n_steps, rng, burn_in=0, thin=1, *, spins=None, backend="auto", progress=None):
    r"""Gibbs sampling: block Gibbs on RBMs, systematic-scan single-site Gibbs otherwise.

    Parameters
    ----------
    model : BernoulliRBM, GaussianBernoulliRBM, BoltzmannMachine or another Energy
        RBMs: one step is a sweep :math:`v \to h \sim p(h\mid v) \to v' \sim p(v\mid h)`
        (the chain is recorded on the visible layer).  A BoltzmannMachine or any other
        Energy on binary/Ising units: one step updates every unit once, in order,
        from :math:`p(x_i\mid x_{-i}) = \sigma(E(x_i{=}s_0) - E(x_i{=}s_1))`.
    v0 : array, shape (n_chains, d)
        Starting states (0/1 for binary units, ±1 for Ising units, real for the
        visible layer of a Gaussian–Bernoulli RBM).  Not stored in the output.
    n_steps : int
        Number of sweeps; step t is the state after t sweeps.
    rng : numpy.random.Generator or int
    burn_in, thin : int
        Step t is kept when t > burn_in and (t − burn_in) % thin == 0.
    spins : {'binary', 'ising'}, optional
        Unit values for a generic Energy (default 'binary'); a BoltzmannMachine uses its own.
    backend : {'auto', 'numba', 'numpy'}
        'auto': BLAS-buffered sweeps for RBMs, the numba kernel for the Boltzmann machine;
        'numba': insist on the kernel (BoltzmannMachine only); 'numpy': the readable
        reference path (same random numbers, same chains).
    progress : callable, optional
        ``progress(t, n_steps)`` called every :data:`~ebm_ref.samplers._common.PROGRESS_EVERY` steps.

    Returns
    -------
    Chains
        ``samples`` (n_kept, n_chains, d); ``accept_rate`` all ones (Gibbs never rejects).

    Notes
    -----
    Energy convention :math:`p \propto e^{-E}`.  Each conditional is a ratio of the
    joint in which :math:`Z` cancels; a Gibbs update is a Metropolis–Hastings move whose
    proposal is that conditional, so its acceptance probability is exactly 1.  RBM
    random numbers per sweep: uniforms (n_chains, n_hidden), then uniforms (binary) or
    standard normals (Gaussian) of shape (n_chains, n_visible), from ``rng`` itself.
    Single-site samplers draw from the chunk Generators of
    :func:`ebm_ref.samplers._common.spawn_generators`, order [step][site][chain].
    """
    rng = _common.as_generator(rng)
    n_steps, burn_in, thin, n_keep = _common.check_schedule(n_steps, burn_in, thin)
    fam = _family(model)
    backend = _check_backend(backend, fam)
    settings = {"sampler": "gibbs", "n_steps": n_steps, "burn_in": burn_in, "thin": thin, "backend": backend}
    if fam in ("rbm", "gbrbm"):
        if spins is not None:
            raise ValueError("spins: only for single-site samplers; an RBM's units are fixed by its class")
        v = _rbm_start(model, fam, v0, "v0")
        out = np.empty((n_keep,) + v.shape)
        for t0, t1 in _common.segments(n_steps, progress):
            v = _rbm_step(model, fam, v, t0, t1, burn_in, thin, rng, out, backend)
        if fam == "gbrbm":
            _common.raise_if_nonfinite("gibbs", n_steps, v, what="the visible state")
        settings["scan"] = "block"
        return make_chains(out, np.ones(v.shape[0]), settings)
    lo, hi = _spin_values(model, fam, spins)
    x = _check_states(v0, model.dim, lo, hi, "v0")
    out = np.empty((n_keep,) + x.shape)
    gens = _common.spawn_generators(rng)
    bounds = _common.chunk_bounds(x.shape[0])
    use_jit = fam == "bm" and backend != "numpy"
    if use_jit:
        J, h = _bm_arrays(model)
    for t0, t1 in _common.segments(n_steps, progress):
        if use_jit:
            _bm_site_gibbs_kernel(J, h, lo, hi, x, t0, t1, burn_in, thin, gens, bounds, out)
        else:
            _site_gibbs_numpy(model, lo, hi, x, t0, t1, burn_in, thin, gens, bounds, out)
    settings.update(scan="systematic single-site", spins="binary" if lo == 0.0 else "ising")
    return make_chains(out, np.ones(x.shape[0]), settings)


def _rbm_start(model, fam, v0, name):
    v = _common.check_x0(v0, model.dim, name)
    if fam == "rbm":
        check_binary(v, name)
    return v


def _rbm_step(model, fam, v, t0, t1, burn_in, thin, rng, out, backend):
    if backend == "numpy":
        return _rbm_reference(model, fam, v, t0, t1, burn_in, thin, rng, out)
    if fam == "rbm":
        W, b, c = _rbm_arrays(model)
        return _rbm_fast(W, b, c, v, None, t0, t1, burn_in, thin, rng, out)
    W, b, c, s = _gbrbm_arrays(model)
    return _rbm_fast(W, b, c, v, None, t0, t1, burn_in, thin, rng, out, gaussian_sigma=s)


def gibbs_k(model, v, k, rng, *, spins=None, backend="auto"):
    r"""k Gibbs sweeps from ``v``; returns :math:`(v_k, p(h\mid v_k))` — the CD-k / PCD building block.

    Parameters
    ----------
    model : BernoulliRBM, GaussianBernoulliRBM, BoltzmannMachine or another binary Energy
    v : array, shape (n, d)
        Current visible states: the data batch for CD-k (fresh chains started at the
        data), or the persistent chains for PCD (pass back the returned ``v_k``).
    k : int, >= 1
        Number of sweeps.
    rng : numpy.random.Generator or int

    Returns
    -------
    v_k : ndarray, shape (n, d)
        The states after k sweeps (a new array; ``v`` is not modified).
    h_prob_k : ndarray
        RBMs: :math:`p(h_j = 1\mid v_k)`, shape (n, n_hidden), the expected hidden
        units the negative phase averages.  Single-site models (no hidden layer):
        :math:`p(x_i = s_1\mid x_{k,-i})` for every unit, shape (n, d).

    Notes
    -----
    The CD-k gradient of the mean energy uses
    :math:`\langle \nabla_\theta E\rangle_{\text{data}} - \langle\nabla_\theta E\rangle_{v_k}`,
    in which for the RBM :math:`\partial E/\partial W = -v\,p(h\mid v)^\top` is averaged
    over h exactly (Rao–Blackwellised), hence the probabilities rather than a sample.
    For the Gaussian–Bernoulli RBM, :math:`p(h_j=1\mid v) = \sigma(c_j + \sum_i W_{ij} v_i/\sigma_i^2)`.
    """
    rng = _common.as_generator(rng)
    k = check_positive_int(k, "k", 1)
    fam = _family(model)
    backend = _check_backend(backend, fam)
    if fam in ("rbm", "gbrbm"):
        if spins is not None:
            raise ValueError("spins: only for single-site samplers; an RBM's units are fixed by its class")
        vk = _rbm_step(model, fam, _rbm_start(model, fam, v, "v"), 0, k, 0, 1, rng, None, backend)
        if fam == "rbm":
            W, b, c = _rbm_arrays(model)
            return vk, _prob_h_given_v(W, c, vk)
        W, b, c, s = _gbrbm_arrays(model)
        _common.raise_if_nonfinite("gibbs_k", k, vk, what="the visible state")
        return vk, _prob_h_given_v(W, c, vk / (s * s))
    ch = gibbs(model, v, k, rng, burn_in=k - 1, spins=spins, backend=backend)
    xk = ch.last.copy()
    return xk, conditional_probabilities(model, xk, spins=None if fam == "bm" else spins)


def conditional_probabilities(model, x, *, spins=None) -> np.ndarray:
    r"""p(x_i = s_1 | x_{-i}) for every unit, by energy differences: σ(E(x_i=s₀) − E(x_i=s₁)).

    Works for any Energy on binary (s₀, s₁) = (0, 1) or Ising (−1, +1) units; Z cancels.
    Returns shape (n, d).
    """
    fam = _family(model)
    lo, hi = _spin_values(model, fam, spins)
    x = _check_states(x, model.dim, lo, hi, "x")
    p = np.empty_like(x)
    for i in range(x.shape[1]):
        x_hi = x.copy()
        x_hi[:, i] = hi
        x_lo = x.copy()
        x_lo[:, i] = lo
        p[:, i] = sigmoid(model.energy(x_lo) - model.energy(x_hi))
    return p


def spin_flip_metropolis(model, x0, n_steps, rng, burn_in=0, thin=1, *, scan="random", spins=None,
                         backend="auto", progress=None):
    r"""Single-spin-flip Metropolis on binary or Ising units.

    One step makes d proposals.  Each proposal picks a unit j (uniformly at random for
    ``scan='random'``, in order for ``scan='systematic'``), proposes
    :math:`x_j \to s_0 + s_1 - x_j` and accepts with :math:`\min(1, e^{-\Delta E})`.

    Parameters
    ----------
    model : BoltzmannMachine or another Energy on binary/Ising units
    x0 : array, shape (n_chains, d)
    n_steps, rng, burn_in, thin, spins, backend, progress
        As in :func:`gibbs`.
    scan : {'random', 'systematic'}

    Returns
    -------
    Chains
        ``accept_rate``: fraction of accepted flips per chain after burn-in.

    Notes
    -----
    The flip proposal is symmetric, so :math:`P_{xy} = \tfrac1d\min(1, \pi_y/\pi_x)` for
    neighbours (random scan) and :math:`\pi_x P_{xy} = \tfrac1d\min(\pi_x, \pi_y)` is
    symmetric: detailed balance.  With ``scan='systematic'`` each single-site move is
    reversible but their product over a sweep is only stationary.
    Draws per proposal (chunk Generators): a uniform per chain for the site
    (random scan: :math:`j = \lfloor u d\rfloor`), then a uniform per chain for acceptance.
    """
    rng = _common.as_generator(rng)
    if scan not in ("random", "systematic"):
        raise ValueError(f"scan: expected 'random' or 'systematic', got {scan!r}")
    n_steps, burn_in, thin, n_keep = _common.check_schedule(n_steps, burn_in, thin)
    fam = _family(model)
    backend = _check_backend(backend, fam)
    if fam in ("rbm", "gbrbm"):
        raise ValueError("model: spin_flip_metropolis runs on fully visible binary models "
                         "(BoltzmannMachine or a binary Energy); for an RBM use gibbs")
    lo, hi = _spin_values(model, fam, spins)
    x = _check_states(x0, model.dim, lo, hi, "x0")
    out = np.empty((n_keep,) + x.shape)
    n_acc = np.zeros(x.shape[0], dtype=np.int64)
    gens = _common.spawn_generators(rng)
    bounds = _common.chunk_bounds(x.shape[0])
    use_jit = fam == "bm" and backend != "numpy"
    if use_jit:
        J, h = _bm_arrays(model)
    random_scan = scan == "random"
    for t0, t1 in _common.segments(n_steps, progress):
        if use_jit:
            _bm_spin_flip_kernel(J, h, lo, hi, x, t0, t1, burn_in, thin, random_scan, gens, bounds, out, n_acc)
        else:
            _spin_flip_numpy(model, lo, hi, x, t0, t1, burn_in, thin, random_scan, gens, bounds, out, n_acc)
    rate = n_acc / float(x.shape[1] * (n_steps - burn_in))
    settings = {"sampler": "spin_flip_metropolis", "n_steps": n_steps, "burn_in": burn_in, "thin": thin,
                "scan": scan, "spins": "binary" if lo == 0.0 else "ising", "backend": backend}
    return make_chains(out, rate, settings)


# ============================================= exact matrices on small spaces
def _softmax_neg(E):
    a = -np.asarray(E, dtype=np.float64)
    a = a - a.max()
    w = np.exp(a)
    return w / w.sum()


def _exact_units(model, fam):
    if fam == "rbm":
        n = model.params["W"].shape[0] + model.params["W"].shape[1]
    else:
        n = model.dim
    if n > MAX_EXACT_UNITS:
        raise ValueError(f"model: exact transition matrices are built for at most {MAX_EXACT_UNITS} units, got {n}")


def rbm_joint_energy(W, b, c, v, h) -> np.ndarray:
    r"""E(v, h) = −vᵀWh − bᵀv − cᵀh of a Bernoulli RBM for all pairs of rows: shape (len(v), len(h))."""
    W = as_float_array(W, "W", (None, None))
    b = as_float_array(b, "b", (W.shape[0],))
    c = as_float_array(c, "c", (W.shape[1],))
    v = as_batch(v, W.shape[0], "v")
    h = as_batch(h, W.shape[1], "h")
    return -(v @ W @ h.T) - (v @ b)[:, None] - (h @ c)[None, :]


def stationary_distribution(model, *, spins=None, joint=False) -> np.ndarray:
    r"""π over :func:`enumerate_states` by enumeration: π_k = e^{−E(x_k)} / Σ_j e^{−E(x_j)}.

    For a Bernoulli RBM, π over the visible states (E = free energy F(v)), or with
    ``joint=True`` over the pairs (v, h), index ``k_v · 2^{n_h} + k_h``.
    """
    fam = _family(model)
    _exact_units(model, fam)
    if fam == "gbrbm":
        raise ValueError("model: a Gaussian–Bernoulli RBM has continuous visible units; no enumeration")
    if fam == "rbm":
        W, b, c = _rbm_arrays(model)
        V = enumerate_states(W.shape[0])
        if joint:
            H = enumerate_states(W.shape[1])
            return _softmax_neg(rbm_joint_energy(W, b, c, V, H).ravel())
        return _softmax_neg(model.energy(V))
    lo, hi = _spin_values(model, fam, spins)
    X = enumerate_states(model.dim, "binary" if lo == 0.0 else "ising")
    return _softmax_neg(model.energy(X))


def transition_matrix_block_gibbs(model, *, joint=False) -> np.ndarray:
    r"""The exact block-Gibbs sweep matrix of a small Bernoulli RBM, from ratios of the joint.

    The conditionals are formed from the enumerated joint :math:`e^{-E(v,h)}` alone:
    :math:`p(h\mid v) = e^{-E(v,h)}/\sum_{h'} e^{-E(v,h')}` and likewise :math:`p(v\mid h)`
    (Z cancels, no sigmoid formula is used).  Then

    * on the visible states: :math:`P(v, v') = \sum_h p(h\mid v)\,p(v'\mid h)`;
    * with ``joint=True``, on the pairs (index k_v·2^{n_h} + k_h):
      :math:`P((v,h),(v',h')) = p(h'\mid v)\,p(v'\mid h')` (the sweep draws h' from the
      current v, then v' from h').
    """
    fam = _family(model)
    if fam != "rbm":
        raise ValueError("model: transition_matrix_block_gibbs needs a BernoulliRBM")
    _exact_units(model, fam)
    W, b, c = _rbm_arrays(model)
    V, H = enumerate_states(W.shape[0]), enumerate_states(W.shape[1])
    negE = -rbm_joint_energy(W, b, c, V, H)                 # (2^nv, 2^nh)
    ph_v = np.exp(negE - negE.max(axis=1, keepdims=True))
    ph_v /= ph_v.sum(axis=1, keepdims=True)                   # p(h | v), rows v
    pv_h = np.exp(negE - negE.max(axis=0, keepdims=True))
    pv_h /= pv_h.sum(axis=0, keepdims=True)                   # p(v | h), columns h
    if not joint:
        return ph_v @ pv_h.T
    nv_s, nh_s = ph_v.shape
    # P[(v,h), (v',h')] = p(h'|v) p(v'|h'), the same for every old h
    T = np.einsum("ak,bk->abk", ph_v, pv_h)                   # (v, v', h')
    P = np.broadcast_to(T[:, None, :, :], (nv_s, nh_s, nv_s, nh_s))
    return np.ascontiguousarray(P.reshape(nv_s * nh_s, nv_s * nh_s))


def _site_matrices(model, fam, spins, kind):
    """Per-site kernels P_i on the 2^d states, from energy ratios of the enumeration."""
    lo, hi = _spin_values(model, fam, spins)
    sp = "binary" if lo == 0.0 else "ising"
    X = enumerate_states(model.dim, sp)
    E = model.energy(X)
    n, d = X.shape
    mats = []
    for i in range(d):
        flip = np.arange(n) ^ (1 << (d - 1 - i))               # index of x with unit i flipped
        P = np.zeros((n, n))
        if kind == "gibbs":
            # p(x_i = s | x_{-i}) = e^{-E(x_i=s)} / (e^{-E(x_i=s0)} + e^{-E(x_i=s1)})
            p_stay = sigmoid(E[flip] - E)                     # e^{-E(x)} / (e^{-E(x)} + e^{-E(flip x)})
            P[np.arange(n), np.arange(n)] = p_stay
            P[np.arange(n), flip] = 1.0 - p_stay
        else:
            a = np.exp(np.minimum(E - E[flip], 0.0))           # min(1, π(flip x)/π(x))
            P[np.arange(n), flip] = a
            P[np.arange(n), np.arange(n)] = 1.0 - a
        mats.append(P)
    return mats


def transition_matrix_site_gibbs(model, *, spins=None) -> np.ndarray:
    r"""Exact matrix of one systematic sweep of single-site Gibbs, :math:`P = P_1 P_2 \cdots P_d`.

    :math:`P_i` resamples unit i from :math:`p(x_i\mid x_{-i}) = e^{-E(x)}/(e^{-E(x)} + e^{-E(x^{(i)})})`,
    with :math:`x^{(i)}` the state with unit i flipped (the two enumerated energies only).
    """
    fam = _family(model)
    if fam in ("rbm", "gbrbm"):
        raise ValueError("model: transition_matrix_site_gibbs is for fully visible models; for an RBM use transition_matrix_block_gibbs")
    _exact_units(model, fam)
    P = None
    for Pi in _site_matrices(model, fam, spins, "gibbs"):
        P = Pi if P is None else P @ Pi
    return P


def transition_matrix_spin_flip(model, *, scan="random", spins=None, per_proposal=False) -> np.ndarray:
    r"""Exact matrix of one step (d proposals) of spin-flip Metropolis.

    Single-site kernel: :math:`P_i(x, x^{(i)}) = \min(1, e^{E(x) - E(x^{(i)})})`, the rest
    on the diagonal.  Random scan: one proposal is :math:`\bar P = \frac1d\sum_i P_i`
    (returned with ``per_proposal=True``) and a step is :math:`\bar P^d`; systematic:
    :math:`P_1\cdots P_d`.
    """
    if scan not in ("random", "systematic"):
        raise ValueError(f"scan: expected 'random' or 'systematic', got {scan!r}")
    fam = _family(model)
    if fam in ("rbm", "gbrbm"):
        raise ValueError("model: spin-flip matrices are for fully visible binary models")
    _exact_units(model, fam)
    mats = _site_matrices(model, fam, spins, "metropolis")
    if scan == "random":
        Pbar = sum(mats) / len(mats)
        return Pbar if per_proposal else np.linalg.matrix_power(Pbar, len(mats))
    if per_proposal:
        raise ValueError("per_proposal: only defined for scan='random'")
    P = None
    for Pi in mats:
        P = Pi if P is None else P @ Pi
    return P
