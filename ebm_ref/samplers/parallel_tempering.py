r"""Parallel tempering (replica exchange) for RBMs, Boltzmann machines and continuous targets.

Run R replicas side by side, replica r targeting the tempered distribution

.. math::  \pi_{\beta_r}(x) \propto e^{-\beta_r E(x)},\qquad 0 < \beta_1 < \dots < \beta_R = 1,

(energy convention, :math:`p \propto e^{-E}`).  Hot replicas (small β) see a flattened
landscape and cross between modes; swaps hand their states down to the cold replica
:math:`\beta_R = 1`, whose chain is the output.  Each step is

1. a move within every temperature that leaves :math:`\pi_{\beta_r}` invariant
   (block Gibbs on the tempered RBM, single-site Gibbs on the tempered Boltzmann
   machine, random-walk Metropolis on a continuous target), then
2. every ``swap_every`` steps, a swap round over adjacent pairs — even pairs
   (1,2), (3,4), … and odd pairs (2,3), (4,5), … on alternate rounds — each accepted with

   .. math::  \alpha = \min\Bigl(1,\ \frac{\pi_{\beta_i}(x_j)\,\pi_{\beta_j}(x_i)}{\pi_{\beta_i}(x_i)\,\pi_{\beta_j}(x_j)}\Bigr).

   Z(β) cancels in the ratio.  The swap is a Metropolis move on the product space
   with a symmetric (deterministic) proposal, so it satisfies detailed balance for the
   product :math:`\prod_r \pi_{\beta_r}(x_r)`; the marginal of the last replica stays
   :math:`\pi_1 = p`.

For an RBM the tempered *joint* is :math:`e^{-\beta E(v,h)}` — the RBM with β W, β b, β c
(Gaussian–Bernoulli: variances σ²/β) — so block Gibbs works unchanged, and the swap uses
its visible marginal, :math:`\pi_\beta(v) \propto e^{-F_\beta(v)}` with the tempered free
energy :func:`tempered_free_energy` (which is *not* β F(v)).  For energies without
hidden units :math:`\log\alpha = (\beta_i - \beta_j)(E(x_i) - E(x_j))`.

References
----------
Swendsen & Wang (1986); Geyer (1991); Desjardins, Courville, Bengio, Vincent & Delalleau
(2010), *Tempered Markov chain Monte Carlo for training of restricted Boltzmann machines*.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_batch, as_float_array, check_binary, check_positive_int
from ..numerics.special import softplus
from . import _common
from ._common import kept_index, make_chains
from .gibbs_sampling import (FastBlockGibbs, _site_gibbs_segment, check_backend, check_start, model_family,
                             rbm_block_gibbs_step, site_gibbs_step, unit_values)
from .metropolis_hastings import mh_acceptance, rwmh_step
from .state import Potential, State, evaluate_in_support

__all__ = [
    "tempering",
    "check_betas",
    "tempered_free_energy",
    "swap_log_ratio",
]


def check_betas(betas) -> np.ndarray:
    """Inverse temperatures: 1-D, at least 2, strictly increasing, in (0, 1], the last exactly 1."""
    b = as_float_array(betas, "betas")
    if b.ndim != 1 or b.size < 2:
        raise ValueError(f"betas: expected a 1-D array of at least two inverse temperatures, got shape {b.shape}")
    if not np.all(np.isfinite(b)) or np.any(b <= 0) or np.any(b > 1):
        raise ValueError(f"betas: every β must lie in (0, 1], got {b.tolist()}")
    if np.any(np.diff(b) <= 0):
        raise ValueError(f"betas: must be sorted strictly increasing (hottest first, β = 1 last), got {b.tolist()}")
    if b[-1] != 1.0:
        raise ValueError(f"betas: the last (coldest) β must be exactly 1 — its replica is the output — got {b[-1]}")
    return b


# ================================================== tempered targets and swaps
def tempered_free_energy(model, v, beta) -> np.ndarray:
    r"""−log π̃_β(v): the free energy of the tempered target, for each row of v.

    * Bernoulli RBM: :math:`F_\beta(v) = -\beta b^\top v - \sum_j\operatorname{softplus}(\beta(c_j + v^\top W_{:j}))`;
    * Gaussian–Bernoulli RBM: :math:`F_\beta(v) = \beta\sum_i\frac{(v_i-b_i)^2}{2\sigma_i^2}
      - \sum_j\operatorname{softplus}(\beta(c_j + \sum_i v_i W_{ij}/\sigma_i^2))`;
    * any other energy: :math:`\beta E(x)`.

    ``beta`` is a scalar or an array of shape (n,), one β per row; every β in (0, 1].
    """
    fam = model_family(model)
    v = as_batch(v, model.dim, "v")
    if fam == "rbm":
        check_binary(v, "v")
    beta = as_float_array(beta, "beta")
    if beta.ndim > 1 or (beta.ndim == 1 and beta.shape != (v.shape[0],)):
        raise ValueError(f"beta: expected a scalar or shape ({v.shape[0]},), got {beta.shape}")
    if not np.all(np.isfinite(beta)) or np.any(beta <= 0) or np.any(beta > 1):
        raise ValueError(f"beta: every β must lie in (0, 1], got {np.ravel(beta)[:3].tolist()}")
    return _tempered_free_energy(model, fam, v, beta)


def _tempered_free_energy(model, fam, v, beta):
    """:func:`tempered_free_energy` without the input checks (the sampler's inner loop)."""
    bcol = beta[..., None] if beta.ndim else beta
    if fam in ("rbm", "gbrbm"):
        W, b, c = model.layer_arrays()[:3]
        if fam == "rbm":
            a = v @ W + c
            vis = -(v @ b)
        else:
            s2 = model.params["sigma"] ** 2
            a = (v / s2) @ W + c
            vis = 0.5 * (((v - b) ** 2) / s2).sum(axis=-1)
        return beta * vis - softplus(bcol * a).sum(axis=-1)
    return beta * model.energy(v)


def _swap_log_ratio(model, fam, xi, xj, beta_i, beta_j) -> np.ndarray:
    """:func:`swap_log_ratio` without the input checks (the sampler's inner loop)."""
    if fam in ("rbm", "gbrbm"):
        def F(x, beta):
            return _tempered_free_energy(model, fam, x, np.asarray(beta, dtype=np.float64))

        return (F(xi, beta_i) + F(xj, beta_j)) - (F(xj, beta_i) + F(xi, beta_j))
    # log r = (β_i − β_j)(E(x_i) − E(x_j))
    return (beta_i - beta_j) * (model.energy(xi) - model.energy(xj))


def swap_log_ratio(model, xi, xj, beta_i, beta_j) -> np.ndarray:
    r"""log of the swap ratio :math:`r = \frac{\pi_{\beta_i}(x_j)\,\pi_{\beta_j}(x_i)}{\pi_{\beta_i}(x_i)\,\pi_{\beta_j}(x_j)}`, per row.

    RBMs: :math:`\log r = F_{\beta_i}(x_i) + F_{\beta_j}(x_j) - F_{\beta_i}(x_j) - F_{\beta_j}(x_i)`
    with the tempered free energy :func:`tempered_free_energy`; any other energy:
    :math:`\log r = (\beta_i - \beta_j)(E(x_i) - E(x_j))`.  Z(β) cancels.  ``xi``, ``xj``
    have shape (n, d); ``beta_i``, ``beta_j`` are scalars in (0, 1].
    """
    fam = model_family(model)
    xi, xj = as_batch(xi, model.dim, "xi"), as_batch(xj, model.dim, "xj")
    if xi.shape != xj.shape:
        raise ValueError(f"xj: expected the shape of xi {xi.shape}, got {xj.shape}")
    if fam == "rbm":
        check_binary(xi, "xi")
        check_binary(xj, "xj")
    for name, b in (("beta_i", beta_i), ("beta_j", beta_j)):
        b = np.asarray(b, dtype=np.float64)
        if b.ndim != 0 or not np.isfinite(b) or not 0 < b <= 1:
            raise ValueError(f"{name}: expected a scalar in (0, 1], got {b!r}")
    return _swap_log_ratio(model, fam, xi, xj, float(beta_i), float(beta_j))


def _swap_round(model, fam, X, betas, rnd, rng, n_att, n_acc, step):
    """One round of swaps over the even (rnd even) or odd pairs; X is (R, n, d), in place."""
    R, n, _ = X.shape
    first = rnd % 2
    pairs = np.arange(first, R - 1, 2)
    if pairs.size == 0:
        return
    u = rng.random((pairs.size, n))
    for k, i in enumerate(pairs):
        j = i + 1
        logr = _swap_log_ratio(model, fam, X[i], X[j], betas[i], betas[j])
        if np.any(np.isnan(logr)):
            raise _common.nonfinite_error("tempering", step, int(np.flatnonzero(np.isnan(logr))[0]), "a swap ratio")
        acc = u[k] < mh_acceptance(logr)
        xi = X[i, acc].copy()
        X[i, acc] = X[j, acc]
        X[j, acc] = xi
        n_att[i] += n
        n_acc[i] += int(acc.sum())


# ================================================================ the sampler
def _rwmh_move(model, state, eps_rows, beta_rows, n, rng, t):
    r"""Random-walk Metropolis within every temperature: :func:`~ebm_ref.samplers.metropolis_hastings.rwmh_step`
    on the stacked replicas (R·n rows) with the tempered energy :math:`\beta_r E`.

    ``state`` holds the rows x and their tempered energies :math:`\beta_r E(x)`.  Proposal
    :math:`y = x + \epsilon_r z`, accepted with :math:`\min(1, e^{-\beta_r(E(y) - E(x))})`;
    draws normals (R·n, d), then uniforms (R·n,).  E(y) = NaN or −inf raises; +inf (outside
    the support) is rejected.  Returns (new state, info).
    """
    def tempered_energy(y):
        e, _, _ = evaluate_in_support(model, y, grad=False)     # E = +∞ outside a bounded support
        bad = np.flatnonzero(np.isnan(e) | (e == -np.inf))
        if bad.size:
            raise _common.nonfinite_error("tempering", t, int(bad[0] % n), "the energy")
        return beta_rows * e

    return rwmh_step(rng, state, Potential(tempered_energy), eps_rows)


def tempering(model, x0, n_steps, rng, *, betas, swap_every=1, burn_in=0, thin=1, step_size=None,
              progress=None, backend="auto"):
    r"""Parallel tempering; returns the chain of the β = 1 replica.

    Parameters
    ----------
    model : BernoulliRBM, GaussianBernoulliRBM, BoltzmannMachine, or a continuous Energy
        RBMs: block Gibbs within each temperature; BoltzmannMachine: systematic-scan
        single-site Gibbs; any other Energy is treated as a continuous target moved by
        random-walk Metropolis :math:`x' = x + \epsilon_r z`, accepted with
        :math:`\min(1, e^{-\beta_r(E(x') - E(x))})`.
    x0 : array, shape (n_chains, d) or (R, n_chains, d)
        Starting states, the same for every replica or one batch per replica.
    n_steps : int
        Steps; each moves every replica once and, every ``swap_every`` steps, makes a swap round.
    rng : numpy.random.Generator or int
    betas : array, shape (R,)
        Inverse temperatures, strictly increasing in (0, 1], the last exactly 1.
    swap_every : int, >= 1
    burn_in, thin : int
        As for every sampler (step t kept when t > burn_in and (t − burn_in) % thin == 0).
    step_size : float or array (R,), continuous targets only
        Random-walk scale ε. A float ε gives :math:`\epsilon_r = \epsilon/\sqrt{\beta_r}`
        (a tempered quadratic well widens by :math:`1/\sqrt\beta`); an array is used as is.
    progress : callable, optional
    backend : {'auto', 'numba', 'numpy'}
        'numpy' runs the steps (:func:`~ebm_ref.samplers.gibbs_sampling.rbm_block_gibbs_step`
        with one β per row, :func:`~ebm_ref.samplers.gibbs_sampling.site_gibbs_step` on each
        tempered Boltzmann machine); 'auto' the fast paths (BLAS-buffered sweep, numba
        kernel); 'numba' insists on the kernel (BoltzmannMachine only).  Same chains.

    Returns
    -------
    Chains
        ``samples``: the β = 1 replica, (n_kept, n_chains, d); ``accept_rate``: its
        within-temperature acceptance (1 for Gibbs).  ``extras``: ``betas``,
        ``swap_rate`` (R−1,) — accepted / attempted swaps of each adjacent pair, NaN for a
        pair never attempted (fewer than two swap rounds) —,
        ``accept_rate_by_beta`` (R, n_chains) and ``final_states`` (R, n_chains, d).

    Notes
    -----
    Random numbers: RBMs and continuous targets draw from ``rng`` (RBM: one block-Gibbs
    sweep of the stacked replicas; RWMH: normals (R, n, d) then uniforms (R, n)); the
    Boltzmann machine runs its sweep per replica with one set of chunk Generators per
    replica.  Each swap round draws uniforms (n_pairs, n_chains).
    """
    rng = _common.as_generator(rng)
    betas = check_betas(betas)
    swap_every = check_positive_int(swap_every, "swap_every", 1)
    n_steps, burn_in, thin, n_keep = _common.check_schedule(n_steps, burn_in, thin)
    fam = model_family(model)
    backend = check_backend(backend, fam)
    R = betas.size
    d = model.dim
    X = _start(model, fam, x0, R, d)
    n = X.shape[1]

    if fam == "energy":
        if step_size is None:
            raise ValueError("step_size: required for a continuous target (random-walk Metropolis within each temperature)")
        eps = np.asarray(step_size, dtype=np.float64)
        if eps.ndim == 0:
            eps = _common.check_step(float(eps)) / np.sqrt(betas)
        elif eps.shape != (R,) or not np.all(np.isfinite(eps)) or np.any(eps <= 0):
            raise ValueError(f"step_size: expected a positive float or a positive array of shape ({R},), got {step_size!r}")
        E = model.energy(X.reshape(R * n, d)).reshape(R, n)
        bad = np.argwhere(~np.isfinite(E))
        if bad.size:
            raise ValueError(f"x0: the energy is not finite at chain {int(bad[0][1])}; start inside the support")
        beta_rows, eps_rows = np.repeat(betas, n), np.repeat(eps, n)     # the replicas stacked, R·n rows
        state = State(X.reshape(R * n, d), beta_rows * E.ravel())
    elif step_size is not None:
        raise ValueError("step_size: only for continuous targets; RBMs and Boltzmann machines use Gibbs moves")

    use_fast = backend != "numpy"
    if fam == "bm":
        lo, hi = unit_values(model)
        gens = [_common.spawn_generators(rng) for _ in range(R)]
        bounds = _common.chunk_bounds(n)
        if use_fast:
            J, hvec = model.coupling_arrays()
            tempered = [(beta * J, beta * hvec) for beta in betas]      # the BM at β: (βJ, βh)
            dummy = np.empty((1, n, d))
        else:
            tempered = [model.replace(J=beta * model.params["J"], h=beta * model.params["h"]) for beta in betas]
    if fam in ("rbm", "gbrbm"):
        beta_rows = np.repeat(betas, n)    # the replicas stacked (R·n rows), one β per row
        fast = FastBlockGibbs(model, R * n, beta=beta_rows) if use_fast else None

    out = np.empty((n_keep, n, d))
    n_acc_within = np.zeros((R, n))
    n_att = np.zeros(R - 1)
    n_swapacc = np.zeros(R - 1)
    rnd = 0
    for t0, t1 in _common.segments(n_steps, progress):
        for t in range(t0 + 1, t1 + 1):
            # 1. a move within every temperature
            if fam in ("rbm", "gbrbm"):
                V = X.reshape(R * n, d)            # a view of the stacked replicas
                if fast is not None:
                    fast.sweep(rng, V)
                else:
                    V[...] = rbm_block_gibbs_step(rng, V, model, beta=beta_rows)[0]
                if fam == "gbrbm":
                    _common.raise_if_nonfinite("tempering", t, V, what="a replica's state")
                if t > burn_in:
                    n_acc_within += 1
            elif fam == "bm":
                for r in range(R):
                    if use_fast:
                        # burn_in = t keeps nothing: the sweep only moves the states (as in samplers.gibbs)
                        Jr, hr = tempered[r]
                        _site_gibbs_segment(Jr, hr, lo, hi, X[r], t - 1, t, t, 1, gens[r], bounds, dummy)
                    else:
                        for k, g in enumerate(gens[r]):
                            c0, c1 = int(bounds[k]), int(bounds[k + 1])
                            if c1 > c0:
                                X[r, c0:c1] = site_gibbs_step(g, X[r, c0:c1], tempered[r], step=t, first_chain=c0)[0]
                if t > burn_in:
                    n_acc_within += 1
            else:
                state, info = _rwmh_move(model, state, eps_rows, beta_rows, n, rng, t)
                X[...] = state.position.reshape(R, n, d)
                if t > burn_in:
                    n_acc_within += info.is_accepted.reshape(R, n)
            # 2. a swap round
            if t % swap_every == 0:
                _swap_round(model, fam, X, betas, rnd, rng, n_att, n_swapacc, t)
                if fam == "energy":
                    state = State(X.reshape(R * n, d).copy(), beta_rows * model.energy(X.reshape(R * n, d)))
                rnd += 1
            k = kept_index(t, burn_in, thin)
            if k >= 0:
                out[k] = X[-1]
    n_after = n_steps - burn_in
    rate_by_beta = n_acc_within / n_after
    with np.errstate(invalid="ignore", divide="ignore"):
        swap_rate = np.where(n_att > 0, n_swapacc / np.maximum(n_att, 1), np.nan)
    settings = {"sampler": "tempering", "n_steps": n_steps, "burn_in": burn_in, "thin": thin,
                "swap_every": swap_every, "betas": betas.tolist(), "backend": backend,
                "move": {"rbm": "block gibbs", "gbrbm": "block gibbs", "bm": "single-site gibbs"}.get(fam, "rwmh")}
    if fam == "energy":
        settings["step_size"] = eps.tolist()
    extras = {"betas": betas, "swap_rate": swap_rate, "accept_rate_by_beta": rate_by_beta,
              "final_states": X.copy()}
    return make_chains(out, rate_by_beta[-1], settings, extras)


def _start(model, fam, x0, R, d):
    """Replica start states (R, n, d), validated for the model's state space."""
    a = np.asarray(x0)
    if a.ndim == 3:
        if a.shape[0] != R:
            raise ValueError(f"x0: a 3-D start must have shape (R={R}, n_chains, d), got {a.shape}")
        X = np.stack([_start_batch(model, fam, a[r], d, f"x0[{r}]") for r in range(R)])
    else:
        x = _start_batch(model, fam, a, d, "x0")
        X = np.repeat(x[None], R, axis=0)
    return np.ascontiguousarray(X)


def _start_batch(model, fam, x, d, name):
    if fam == "energy":
        return _common.check_x0(x, d, name)          # a continuous target
    return check_start(model, x, name)
