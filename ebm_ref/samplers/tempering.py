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
from . import _common
# (from-imports: the package attribute ``samplers.gibbs`` is the function, not this module)
from .gibbs import (MAX_EXACT_UNITS, _bm_arrays, _bm_site_gibbs_kernel, _check_states, _family,
                    _gbrbm_arrays, _rbm_arrays, _rbm_fast, _rbm_start, _spin_values, enumerate_states,
                    rbm_joint_energy)
from ._common import make_chains

__all__ = [
    "tempering",
    "check_betas",
    "tempered_free_energy",
    "swap_transition_matrix",
    "tempered_product_distribution",
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
    fam = _family(model)
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
        from ..numerics.special import softplus

        W, b, c = _rbm_arrays(model)
        if fam == "rbm":
            a = v @ W + c
            vis = -(v @ b)
        else:
            s2 = model.params["sigma"] ** 2
            a = (v / s2) @ W + c
            vis = 0.5 * (((v - b) ** 2) / s2).sum(axis=-1)
        return beta * vis - softplus(bcol * a).sum(axis=-1)
    return beta * model.energy(v)


def _swap_log_ratio(model, xi, xj, beta_i, beta_j) -> np.ndarray:
    r"""log of the swap ratio :math:`\pi_{\beta_i}(x_j)\pi_{\beta_j}(x_i) / (\pi_{\beta_i}(x_i)\pi_{\beta_j}(x_j))`, per row."""
    fam = _family(model)

    def F(x, beta):
        return _tempered_free_energy(model, fam, x, np.asarray(beta, dtype=np.float64))

    return (F(xi, beta_i) + F(xj, beta_j)) - (F(xj, beta_i) + F(xi, beta_j))


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
        if fam in ("rbm", "gbrbm"):
            logr = _swap_log_ratio(model, X[i], X[j], betas[i], betas[j])
        else:
            # log r = (β_i − β_j)(E(x_i) − E(x_j))
            logr = (betas[i] - betas[j]) * (model.energy(X[i]) - model.energy(X[j]))
        if np.any(np.isnan(logr)):
            raise _common.nonfinite_error("tempering", step, int(np.flatnonzero(np.isnan(logr))[0]), "a swap ratio")
        acc = u[k] < np.exp(np.minimum(logr, 0.0))
        xi = X[i, acc].copy()
        X[i, acc] = X[j, acc]
        X[j, acc] = xi
        n_att[i] += n
        n_acc[i] += int(acc.sum())


def swap_transition_matrix(model, betas, first: int = 0) -> np.ndarray:
    r"""Exact matrix of one swap round on the product space of R small binary replicas.

    State index: replica states :math:`(x_1, \dots, x_R)` with index
    :math:`\sum_r k_r 2^{d(R-1-r)}`, :math:`k_r` the index of :math:`x_r` in
    :func:`ebm_ref.samplers.gibbs.enumerate_states`.  Pairs (i, i+1) with i ≡ ``first``
    (mod 2) are swapped independently, each with probability
    :math:`\min(1, e^{\log r})`, with log r the log swap ratio of the module docstring.
    """
    fam = _family(model)
    if fam == "gbrbm":
        raise ValueError("model: the swap matrix needs enumerable (binary) states")
    betas = check_betas(betas)
    lo, hi = _spin_values(model, fam, None)
    d = model.dim
    R = betas.size
    if d * R > MAX_EXACT_UNITS:
        raise ValueError(f"model: the product space has 2^{d * R} states; at most {MAX_EXACT_UNITS} units in all")
    X = enumerate_states(d, "binary" if lo == 0.0 else "ising")
    S = 2**d
    digits = np.array(np.unravel_index(np.arange(S**R), (S,) * R)).T    # (S^R, R) replica state indices
    P = np.eye(S**R)
    for i in range(first, R - 1, 2):
        j = i + 1
        xi, xj = X[digits[:, i]], X[digits[:, j]]
        a = np.exp(np.minimum(_swap_log_ratio(model, xi, xj, betas[i], betas[j]), 0.0))
        swapped = digits.copy()
        swapped[:, [i, j]] = digits[:, [j, i]]
        target = np.ravel_multi_index(swapped.T, (S,) * R)
        Pi = np.zeros((S**R, S**R))
        rows = np.arange(S**R)
        Pi[rows, target] += a
        Pi[rows, rows] += 1.0 - a
        P = P @ Pi
    return P


def tempered_product_distribution(model, betas) -> np.ndarray:
    r"""∏_r π_{β_r}(x_r) over the product space (order of :func:`swap_transition_matrix`), by enumeration.

    For a Bernoulli RBM each factor is the visible marginal of the enumerated tempered
    joint :math:`e^{-\beta E(v,h)}` (summed over h directly, not via the softplus formula).
    """
    fam = _family(model)
    betas = check_betas(betas)
    lo, hi = _spin_values(model, fam, None)
    X = enumerate_states(model.dim, "binary" if lo == 0.0 else "ising")
    factors = []
    for beta in betas:
        if fam == "rbm":
            W, b, c = _rbm_arrays(model)
            H = enumerate_states(W.shape[1])
            negE = -beta * rbm_joint_energy(W, b, c, X, H)
            m = negE.max()
            w = np.exp(negE - m).sum(axis=1)
        else:
            e = -beta * model.energy(X)
            w = np.exp(e - e.max())
        factors.append(w / w.sum())
    p = factors[0]
    for f in factors[1:]:
        p = np.outer(p, f).ravel()
    return p


# ================================================================ the sampler
def tempering(model, x0, betas, n_steps, rng, swap_every=1, burn_in=0, thin=1, *, step_size=None,
              progress=None):
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
    betas : array, shape (R,)
        Inverse temperatures, strictly increasing in (0, 1], the last exactly 1.
    n_steps : int
        Steps; each moves every replica once and, every ``swap_every`` steps, makes a swap round.
    rng : numpy.random.Generator or int
    swap_every : int, >= 1
    burn_in, thin : int
        As for every sampler (step t kept when t > burn_in and (t − burn_in) % thin == 0).
    step_size : float or array (R,), continuous targets only
        Random-walk scale ε. A float ε gives :math:`\epsilon_r = \epsilon/\sqrt{\beta_r}`
        (a tempered quadratic well widens by :math:`1/\sqrt\beta`); an array is used as is.
    progress : callable, optional

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
    Boltzmann machine runs its jitted kernel per replica with one set of chunk
    Generators per replica.  Each swap round draws uniforms (n_pairs, n_chains).
    """
    rng = _common.as_generator(rng)
    betas = check_betas(betas)
    swap_every = check_positive_int(swap_every, "swap_every", 1)
    n_steps, burn_in, thin, n_keep = _common.check_schedule(n_steps, burn_in, thin)
    fam = _family(model)
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
    elif step_size is not None:
        raise ValueError("step_size: only for continuous targets; RBMs and Boltzmann machines use Gibbs moves")

    if fam == "bm":
        J, hvec = _bm_arrays(model)
        lo, hi = _spin_values(model, fam, None)
        gens = [_common.spawn_generators(rng) for _ in range(R)]
        bounds = _common.chunk_bounds(n)
        tempered = [(beta * J, beta * hvec) for beta in betas]      # the BM at β: (βJ, βh)
        dummy = np.empty((1, n, d))
    if fam in ("rbm", "gbrbm"):
        W, b, c, *rest = (_rbm_arrays(model) if fam == "rbm" else _gbrbm_arrays(model))
        sig = rest[0] if rest else None
        beta_col = np.repeat(betas, n)[:, None]
        V = X.reshape(R * n, d)            # a view: the sweeps update X in place

    out = np.empty((n_keep, n, d))
    n_acc_within = np.zeros((R, n))
    n_att = np.zeros(R - 1)
    n_swapacc = np.zeros(R - 1)
    rnd = 0
    for t0, t1 in _common.segments(n_steps, progress):
        for t in range(t0 + 1, t1 + 1):
            # 1. a move within every temperature
            if fam in ("rbm", "gbrbm"):
                _rbm_fast(W, b, c, V, beta_col, t - 1, t, 0, 1, rng, None, gaussian_sigma=sig)
                if fam == "gbrbm":
                    _common.raise_if_nonfinite("tempering", t, V, what="a replica's state")
                if t > burn_in:
                    n_acc_within += 1
            elif fam == "bm":
                for r in range(R):
                    # burn_in = t keeps nothing: the kernel only moves the states
                    Jr, hr = tempered[r]
                    _bm_site_gibbs_kernel(Jr, hr, lo, hi, X[r], t - 1, t, t, 1, gens[r], bounds, dummy)
                if t > burn_in:
                    n_acc_within += 1
            else:
                Z = rng.standard_normal((R, n, d))
                Y = X + eps[:, None, None] * Z
                EY = model.energy(Y.reshape(R * n, d)).reshape(R, n)
                badmask = np.isnan(EY) | (EY == -np.inf)
                if np.any(badmask):
                    raise _common.nonfinite_error("tempering", t, int(np.argwhere(badmask)[0][1]), "the energy")
                u = rng.random((R, n))
                with np.errstate(invalid="ignore"):   # E(y) = +inf (outside the support): rejected
                    acc = u < np.exp(np.minimum(-betas[:, None] * (EY - E), 0.0))
                X[acc] = Y[acc]
                E = np.where(acc, EY, E)
                if t > burn_in:
                    n_acc_within += acc
            # 2. a swap round
            if t % swap_every == 0:
                _swap_round(model, fam, X, betas, rnd, rng, n_att, n_swapacc, t)
                if fam == "energy":
                    E = model.energy(X.reshape(R * n, d)).reshape(R, n)
                rnd += 1
            k = _common.kept_index(t, burn_in, thin)
            if k >= 0:
                out[k] = X[-1]
    n_after = n_steps - burn_in
    rate_by_beta = n_acc_within / n_after
    with np.errstate(invalid="ignore", divide="ignore"):
        swap_rate = np.where(n_att > 0, n_swapacc / np.maximum(n_att, 1), np.nan)
    settings = {"sampler": "tempering", "n_steps": n_steps, "burn_in": burn_in, "thin": thin,
                "swap_every": swap_every, "betas": betas.tolist(),
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
    if fam in ("rbm", "gbrbm"):
        return _rbm_start(model, fam, x, name)
    if fam == "bm":
        lo, hi = _spin_values(model, fam, None)
        return _check_states(x, d, lo, hi, name)
    return _common.check_x0(x, d, name)
