r"""Maximum likelihood by sampling: the likelihood gradient, contrastive divergence, PCD.

Energy convention: :math:`p_\theta(x) = e^{-E_\theta(x)}/Z(\theta)`.

The derivation, one function per line
--------------------------------------
For data :math:`x_1..x_n`, the mean log-likelihood is
:math:`\ell(\theta) = \frac1n\sum_i \log p_\theta(x_i) = -\frac1n\sum_i E_\theta(x_i) - \log Z(\theta)`, so

1. :func:`grad_log_likelihood_split` —
   :math:`\nabla_\theta\ell = -\frac1n\sum_i\nabla_\theta E(x_i) - \nabla_\theta\log Z`;
2. :func:`grad_log_partition_ratio` — :math:`\nabla_\theta\log Z = \nabla_\theta Z / Z`, with
   :math:`\nabla_\theta Z = \int -\nabla_\theta E(x)\,e^{-E(x)}\,dx` (sum or quadrature);
3. :func:`grad_log_partition_expectation` — dividing by Z turns the integral into an
   expectation under the model: :math:`\nabla_\theta\log Z = -E_{p_\theta}[\nabla_\theta E]`;
4. :func:`grad_log_partition_monte_carlo` — with samples :math:`\tilde x_j \sim p_\theta`,
   :math:`\nabla_\theta\log Z \approx -\frac1m\sum_j\nabla_\theta E(\tilde x_j)`.

Hence :math:`-\nabla_\theta\ell \approx \underbrace{\langle\nabla_\theta E\rangle_{\text{data}}}_{\text{positive phase}}
- \underbrace{\langle\nabla_\theta E\rangle_{\text{model}}}_{\text{negative phase}}` (:func:`phases`):
lower the energy of the data, raise it where the model puts its samples.

Where the samples come from:

* **CD-k** (Hinton 2002) — k MCMC steps started *at the data* (:func:`cd_k`);
  biased for finite k; the bias is computed exactly on enumerable RBMs by
  :func:`exact_cd_expected_gradient`.
* **PCD** (Tieleman 2008) — chains that persist across parameter updates
  (:class:`PersistentChains`, :func:`pcd_step`).
* **Short-run Langevin with a replay buffer** (Du & Mordatch 2019) for any
  continuous Energy (:class:`ReplayBuffer`, :func:`langevin_negatives`).

All gradients here are of the *negative* mean log-likelihood (what an optimizer
minimizes): ``grads = pos - neg``.

The functions above are the reference path, one step of the derivation each.  For a
:class:`~ebm_ref.models.BernoulliRBM` the training objectives (:func:`cd_objective`,
:func:`pcd_objective`) take a fast path, :func:`rbm_cd_update`, that computes the same
numbers from the same random stream with each matrix product formed once; a test holds
the two paths equal to 1e-12.  With :class:`ebm_ref.train.SGD`, :func:`ebm_ref.train.fit`
runs the same arrays in place for the whole run (``objective.in_place``), with no model,
parameter copy or gradient dict built per step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.linalg.blas import dasum

from .. import params as _params
from .._validate import as_batch, as_generator, check_binary, check_positive, check_positive_int
from ..models.boltzmann import BoltzmannMachine
from ..models.rbm import BernoulliRBM, GaussianBernoulliRBM
from ..numerics.enumeration import MAX_ENUMERATE_DIM, enumerate_states, state_index
from ..numerics.special import softplus
from ..samplers.gibbs_sampling import FastBlockGibbs

__all__ = [
    "cd_energy_change",
    "grad_log_likelihood_split",
    "grad_log_partition_ratio",
    "grad_log_partition_expectation",
    "grad_log_partition_monte_carlo",
    "phases",
    "loss",
    "cd_k",
    "PersistentChains",
    "pcd_step",
    "ReplayBuffer",
    "langevin_negatives",
    "exact_cd_expected_gradient",
    "cd_bias",
    "cd_bias_curve",
    "visible_gibbs_kernel",
    "rbm_cd_update",
    "cd_objective",
    "pcd_objective",
    "train_rbm_cd",
    "train_dbn",
    # maximum likelihood as KL, and CD as a difference of two KLs (note 06)
    "empirical_distribution",
    "visible_distribution",
    "kl_to_model",
    "chain_distribution",
    "cd_kl_difference",
]


def _mean_grad(model, x) -> dict:
    x = as_batch(x, model.dim, "x")
    if x.shape[0] == 0:
        raise ValueError("x: needs at least one point")
    g = model.grad_params_sum(x)
    return {k: v / x.shape[0] for k, v in g.items()}


def _states_and_weights(model, bounds=None, n_quad: int = 4001):
    """Points and quadrature weights on which sums/integrals over x are exact (or nearly).

    Binary RBMs: every visible state, weight 1.
    Continuous 1-D models: a fine composite Simpson rule on ``bounds``.
    """
    from ..numerics.quadrature import composite_simpson

    if isinstance(model, BernoulliRBM):
        d = model.n_visible
        if d > MAX_ENUMERATE_DIM:
            raise ValueError(f"model: {d} visible units are too many to enumerate (limit {MAX_ENUMERATE_DIM})")
        return enumerate_states(d), np.ones(2**d)
    if bounds is None:
        raise ValueError("bounds: a continuous model needs integration bounds [(low, high)] (1-D only)")
    b = np.asarray(bounds, dtype=np.float64)
    if b.shape != (1, 2) or model.dim != 1:
        raise ValueError("bounds: only 1-D continuous models are integrated here; give [(low, high)]")
    x, w = composite_simpson(b[0, 0], b[0, 1], n_quad)
    return x[:, None], w


# ------------------------------------------------------------------ derivation
def grad_log_likelihood_split(model, x, grad_log_z: dict) -> dict:
    r"""Step 1: :math:`\nabla_\theta\ell = -\langle\nabla_\theta E\rangle_{\text{data}} - \nabla_\theta\log Z`.

    ``grad_log_z`` is :math:`\nabla_\theta\log Z` from any of steps 2–4.
    """
    pos = _mean_grad(model, x)
    _params.check_like(grad_log_z, model.params, "grad_log_z")
    return {k: -pos[k] - grad_log_z[k] for k in pos}


def grad_log_partition_ratio(model, bounds=None) -> dict:
    r"""Step 2: :math:`\nabla_\theta\log Z = \nabla_\theta Z / Z`, both computed as sums/integrals.

    :math:`Z = \sum_x e^{-E(x)}` and :math:`\nabla_\theta Z = \sum_x -\nabla_\theta E(x)\,e^{-E(x)}`
    over all states (binary RBMs) or by Simpson's rule on ``bounds`` (1-D models).
    The exponentials are shifted by the largest −E, which cancels in the ratio.
    """
    xs, w = _states_and_weights(model, bounds)
    negE = -model.energy(xs)
    m = negE.max()
    unnorm = w * np.exp(negE - m)                      # e^{-E} e^{-m}, times the rule's weights
    Z_shift = unnorm.sum()
    dZ = {k: -np.tensordot(unnorm, g, axes=(0, 0)) for k, g in model.grad_params(xs).items()}
    return {k: v / Z_shift for k, v in dZ.items()}


def grad_log_partition_expectation(model, bounds=None) -> dict:
    r"""Step 3: :math:`\nabla_\theta\log Z = -E_{p_\theta}[\nabla_\theta E(x)]`, with p normalized first.

    The weights :math:`p(x) = e^{-E(x)}/Z` are formed (softmax of −E over the states or
    quadrature nodes) and the expectation is taken under them.
    """
    xs, w = _states_and_weights(model, bounds)
    negE = -model.energy(xs) + np.log(w)
    p = np.exp(negE - negE.max())
    p /= p.sum()
    return {k: -v for k, v in model.grad_params_sum(xs, p).items()}


def grad_log_partition_monte_carlo(model, x_model) -> dict:
    r"""Step 4: :math:`\nabla_\theta\log Z \approx -\frac1m\sum_j \nabla_\theta E(\tilde x_j)`, :math:`\tilde x_j\sim p_\theta`."""
    return {k: -v for k, v in _mean_grad(model, x_model).items()}


# ------------------------------------------------------------------ phases
def phases(model, x_data, x_model) -> tuple[dict, dict]:
    r"""Positive and negative phase: :math:`\langle\nabla_\theta E\rangle_{\text{data}}` and
    :math:`\langle\nabla_\theta E\rangle_{\text{model}}` (each a dict like ``model.params``).

    The gradient of the negative mean log-likelihood is estimated by ``pos - neg``.
    """
    return _mean_grad(model, x_data), _mean_grad(model, x_model)


def loss(model, x_data, x_model) -> tuple[float, dict]:
    r"""The contrastive surrogate :math:`\langle E\rangle_{\text{data}} - \langle E\rangle_{\text{model}}`
    with the model samples held fixed; its gradient is ``pos - neg``.

    The value is not the negative log-likelihood (it lacks log Z); its gradient is the
    Monte Carlo estimate of the negative log-likelihood's gradient.
    """
    pos, neg = phases(model, x_data, x_model)
    value = float(np.mean(model.energy(x_data)) - np.mean(model.energy(x_model)))
    return value, {k: pos[k] - neg[k] for k in pos}


def _is_gibbs_model(model) -> bool:
    return isinstance(model, (BernoulliRBM, GaussianBernoulliRBM, BoltzmannMachine))


def cd_k(model, x_data, k: int, rng, *, sampler: str = "auto", step_size: float | None = None) -> tuple[float, dict, np.ndarray]:
    r"""CD-k: negative samples from k MCMC steps started at the data.

    Parameters
    ----------
    model : Energy
        RBMs and Boltzmann machines use block/single-site Gibbs
        (``samplers.gibbs_k``); any other Energy uses ``sampler`` = ``"mala"`` or
        ``"ula"`` with ``step_size``.
    x_data : ndarray, shape (n, d)
    k : int >= 1

    Returns
    -------
    loss, grads, x_model
        As :func:`loss`, plus the negative samples.
    """
    from .. import samplers

    rng = as_generator(rng)
    k = check_positive_int(k, "k", 1)
    x_data = as_batch(x_data, model.dim, "x_data")
    if sampler == "auto":
        sampler = "gibbs" if _is_gibbs_model(model) else "mala"
    if sampler == "gibbs":
        x_model = samplers.gibbs_k(model, x_data, k, rng).last
    elif sampler in ("mala", "ula"):
        if step_size is None:
            raise ValueError(f"step_size: required for sampler={sampler!r}")
        run = samplers.mala if sampler == "mala" else samplers.ula
        x_model = run(model, x_data, k, rng, step_size=step_size).last
    else:
        raise ValueError(f"sampler: expected 'auto', 'gibbs', 'mala' or 'ula', got {sampler!r}")
    value, grads = loss(model, x_data, x_model)
    return value, grads, x_model


@dataclass
class PersistentChains:
    """The state of PCD: chains that carry over from one parameter update to the next."""

    x: np.ndarray

    @classmethod
    def init(cls, model, n_chains: int, rng, x_data=None) -> "PersistentChains":
        """Start chains at random data points (if given) or uniform random binary states."""
        rng = as_generator(rng)
        n_chains = check_positive_int(n_chains, "n_chains")
        if x_data is not None:
            x_data = as_batch(x_data, model.dim, "x_data")
            return cls(x_data[rng.integers(0, x_data.shape[0], n_chains)].copy())
        return cls((rng.random((n_chains, model.dim)) < 0.5).astype(np.float64))


def pcd_step(model, x_data, chains: PersistentChains, k: int, rng, *, sampler: str = "auto",
             step_size: float | None = None) -> tuple[float, dict, PersistentChains]:
    """PCD: advance the persistent chains k steps under the current model, then take phases."""
    if not isinstance(chains, PersistentChains):
        raise ValueError(f"chains: expected PersistentChains, got {type(chains).__name__}")
    value, grads, x_model = cd_k(model, chains.x, k, rng, sampler=sampler, step_size=step_size)
    # cd_k's loss used the chains as 'data'; recompute the phases with the real data
    value, grads = loss(model, x_data, x_model)
    return value, grads, PersistentChains(x_model)


class ReplayBuffer:
    r"""Replay buffer of negative samples for short-run Langevin training (Du & Mordatch 2019).

    Each draw takes ``n`` states: with probability ``reinit`` a fresh uniform state in
    ``box``, otherwise a stored one.  After Langevin refines them, :meth:`push` writes
    them back over random slots.
    """

    def __init__(self, capacity: int, dim: int, box: tuple[float, float], rng, reinit: float = 0.05):
        self.capacity = check_positive_int(capacity, "capacity")
        self.dim = check_positive_int(dim, "dim")
        lo, hi = float(box[0]), float(box[1])
        if not lo < hi:
            raise ValueError(f"box: expected (low, high) with low < high, got {box}")
        if not 0.0 <= reinit <= 1.0:
            raise ValueError(f"reinit: must be in [0, 1], got {reinit}")
        self.box, self.reinit = (lo, hi), float(reinit)
        rng = as_generator(rng)
        self.x = rng.uniform(lo, hi, (self.capacity, self.dim))

    def draw(self, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
        """``n`` starting states and the slots they came from."""
        rng = as_generator(rng)
        n = check_positive_int(n, "n")
        slots = rng.integers(0, self.capacity, n)
        x = self.x[slots].copy()
        fresh = rng.random(n) < self.reinit
        x[fresh] = rng.uniform(*self.box, (int(fresh.sum()), self.dim))
        return x, slots

    def push(self, x, slots) -> None:
        """Store refined states back in the given slots."""
        x = as_batch(x, self.dim, "x")
        self.x[np.asarray(slots)] = x


def langevin_negatives(model, buffer: ReplayBuffer, n: int, k: int, step_size: float, rng,
                       sampler: str = "ula") -> np.ndarray:
    """Draw from the buffer, run k Langevin steps (ULA or MALA), push back, return the samples."""
    from .. import samplers

    rng = as_generator(rng)
    step_size = check_positive(step_size, "step_size")
    k = check_positive_int(k, "k")
    if sampler not in ("ula", "mala"):
        raise ValueError(f"sampler: expected 'ula' or 'mala', got {sampler!r}")
    x0, slots = buffer.draw(n, rng)
    run = samplers.ula if sampler == "ula" else samplers.mala
    x = run(model, x0, k, rng, step_size=step_size).last
    buffer.push(x, slots)
    return x


# ------------------------------------------------------- exact CD-k on small RBMs
def exact_cd_expected_gradient(rbm, v_data, k: int) -> dict:
    r"""The expectation of the CD-k gradient over the Gibbs chains, exactly.

    With :math:`T(v, v') = \sum_h p(h\mid v)p(v'\mid h)` the block-Gibbs kernel on visible
    states (``samplers.transition_matrices.transition_matrix_block_gibbs``), the chain started at a
    data point :math:`v_i` is at :math:`v'` after k sweeps with probability
    :math:`(T^k)_{v_i v'}`, so

    .. math:: E[\text{grad}_{CD_k}] = \langle\nabla_\theta F\rangle_{\text{data}}
              - \frac1n\sum_i\sum_{v'}(T^k)_{v_i v'}\nabla_\theta F(v').

    (gradient of the negative log-likelihood; F is the free energy).
    """
    k = check_positive_int(k, "k", 1)
    v = as_batch(v_data, rbm.dim, "v_data")
    states = enumerate_states(rbm.n_visible)
    T = visible_gibbs_kernel(rbm)
    start = state_index(v)
    dist = np.zeros((v.shape[0], T.shape[0]))
    dist[np.arange(v.shape[0]), start] = 1.0
    for _ in range(k):                                 # rows: distribution of v_t for each chain
        dist = dist @ T
    weights = dist.mean(axis=0)                        # distribution of v_k averaged over the data
    pos = _mean_grad(rbm, v)
    neg = rbm.grad_params_sum(states, weights)
    return {key: pos[key] - neg[key] for key in pos}


def visible_gibbs_kernel(rbm) -> np.ndarray:
    r"""One block-Gibbs sweep on the visible states of a small BernoulliRBM, exactly.

    :math:`T(v, v') = \sum_h p(h\mid v)\,p(v'\mid h)`, both conditionals products of
    Bernoullis with logits :math:`c + W^\top v` and :math:`b + W h`.  Shape (2^V, 2^V),
    rows in :func:`ebm_ref.partition.enumerate_states` order; refused past 2^14 visible
    or 2^16 hidden states.  The one home of this matrix is
    :func:`ebm_ref.samplers.transition_matrices.transition_matrix_block_gibbs`, which forms the
    conditionals from ratios of the enumerated joint.
    """
    from ..samplers.transition_matrices import transition_matrix_block_gibbs

    return transition_matrix_block_gibbs(rbm)


def cd_bias(rbm, v_data, k: int) -> dict:
    r"""Bias of CD-k: :math:`E[\text{grad}_{CD_k}] - (-\nabla_\theta\ell)`, exactly (enumeration)."""
    exact = rbm.exact_grad_log_likelihood(v_data)  # ∇ℓ (ascent direction)
    cd = exact_cd_expected_gradient(rbm, v_data, k)
    return {key: cd[key] + exact[key] for key in cd}


def cd_bias_curve(rbm, v_data, ks) -> dict:
    r"""The exact bias of CD-k against k on a small Bernoulli RBM, with its Cauchy–Schwarz bound.

    With :math:`p_k` the distribution of the visible state after k block-Gibbs sweeps from the
    data (averaged over the data points) and :math:`g(v) = \nabla_\theta F(v)`,
    the bias is :math:`b_k = E_{p_k}[g] - E_p[g]` (:func:`cd_bias`),
    and for every parameter :math:`|b_{k,i}| \le \sqrt{\chi^2(p_k\|p)}\,\mathrm{sd}_p(g_i)` with
    :math:`\chi^2(p_k\|p) = \sum_v (p_k(v) - p(v))^2 / p(v)`, which never increases with k
    (one Gibbs sweep is a Markov kernel with stationary p).

    Returns ``{"k", "bias": ‖b_k‖, "grad": ‖∇ℓ‖, "chi2": χ²(p_k‖p), "bound": √χ²·√Σ var_p(g_i),
    "lambda2": second largest eigenvalue modulus of the sweep's kernel}``.
    """
    if not isinstance(rbm, BernoulliRBM):
        raise ValueError(f"rbm: expected a BernoulliRBM (enumerable), got {type(rbm).__name__}")
    v_data = check_binary(as_batch(v_data, rbm.n_visible, "v_data"), "v_data")
    ks = [check_positive_int(k, "k") for k in np.atleast_1d(np.asarray(list(ks)))]
    if not ks:
        raise ValueError("ks: expected at least one number of sweeps k >= 1")
    states = enumerate_states(rbm.n_visible)
    p = np.exp(rbm.log_prob(states))
    T = visible_gibbs_kernel(rbm)
    p0 = empirical_distribution(v_data, rbm.n_visible)                  # the data distribution
    G = np.concatenate([g.reshape(states.shape[0], -1) for _, g in sorted(rbm.grad_params(states).items())], axis=1)
    sd = np.sqrt(np.sum(p @ (G - p @ G) ** 2))
    bias, chi2 = [], []
    for k in ks:
        bias.append(np.linalg.norm(_params.flatten(cd_bias(rbm, v_data, k))))
        pk = p0 @ np.linalg.matrix_power(T, k)
        chi2.append(float(np.sum((pk - p) ** 2 / p)))
    lam = np.sort(np.abs(np.linalg.eigvals(T)))[::-1]
    grad = np.linalg.norm(_params.flatten(rbm.exact_grad_log_likelihood(v_data)))
    chi2 = np.array(chi2)
    return {"k": np.array(ks), "bias": np.array(bias), "grad": float(grad), "chi2": chi2,
            "bound": np.sqrt(chi2) * sd, "lambda2": float(lam[1])}


# ------------------------------------------------ the fast path (BernoulliRBM)
class _RBMCDArrays:
    r"""The arrays of CD-k / PCD-k updates of a BernoulliRBM, allocated once (the fast path).

    The parameters sit, negated, in one augmented matrix
    :math:`\Phi = -\begin{pmatrix} W & b\\ c^\top & 0\end{pmatrix}` of shape (V+1, H+1); ``params``
    gives W, b, c.  The chains move by the block-Gibbs sweep of
    :class:`~ebm_ref.samplers.gibbs_sampling.FastBlockGibbs`, built on this Φ
    (:meth:`~ebm_ref.samplers.gibbs_sampling.FastBlockGibbs.on_negated_parameters`), so the
    sweep always sees the parameters the optimizer has just stepped; the states are kept as
    :math:`[v, 1]` (the rows of S below), so each field is one product.

    The gradient :math:`g = \langle\nabla F\rangle_{\text{data}} - \langle\nabla F\rangle_{v_k}` (with
    :math:`\nabla_W F = -v\sigma(a)^\top`, :math:`\nabla_b F = -v`, :math:`\nabla_c F = -\sigma(a)`,
    :math:`a(v) = c + vW`) is one product: with a column of ones appended to the states,
    the gradient with respect to Φ is :math:`-g = S^\top T` over the stacked rows

    .. math:: S = \begin{pmatrix} v_k & 1\\ x & 1\end{pmatrix},\qquad
              T = \begin{pmatrix} -\sigma(a(v_k))/m & -1/m\\ \sigma(a(x))/n & 1/n\end{pmatrix},

    whose blocks :math:`(S^\top T)_{:V,:H}, (S^\top T)_{:V,H}, (S^\top T)_{V,:H}` are
    :math:`-g_W, -g_b, -g_c` (``grads()`` returns g; the corner is never read).  An optimizer
    steps Φ with this gradient: gradient descent on −θ with gradient −g is, entry by entry
    and with the same roundings, gradient descent on θ with gradient g.  Every entry of g
    lies in [−1, 1] while the fields are finite; a NaN reaches Φ in the same update.  The
    caller fills the batch rows of S (``batch``); the chain rows (``chains``, v) carry over
    for PCD.
    """

    def __init__(self, rbm, k: int, n: int, m: int, persistent: bool, with_loss: bool):
        p = rbm.params
        V, H = p["W"].shape
        self.k, self.n, self.m, self.persistent, self.with_loss = k, n, m, persistent, with_loss
        self.phi = phi = np.zeros((V + 1, H + 1))
        np.negative(p["W"], out=phi[:V, :H])
        np.negative(p["b"], out=phi[:V, H])
        np.negative(p["c"], out=phi[V, :H])
        self.gibbs = FastBlockGibbs.on_negated_parameters(phi, m)
        self.S = np.empty((m + n, V + 1))
        self.T = np.empty((m + n, H + 1))
        self.S[:, V], self.T[:m, H], self.T[m:, H] = 1.0, -1.0 / m, 1.0 / n
        self.chains, self.batch = self.S[:m, :V], self.S[m:, :V]
        self._Sv, self._Sx = self.S[:m], self.S[m:]             # [v, 1] and [x, 1]
        self._Tv, self._Tx = self.T[:m, :H], self.T[m:, :H]     # T's σ blocks, as views made once
        self._P, self._A = np.empty((n, H)), np.empty((m, H))

    @property
    def params(self) -> dict:
        """W, b, c (new arrays)."""
        V, H = self.phi.shape[0] - 1, self.phi.shape[1] - 1
        return {"W": -self.phi[:V, :H], "b": -self.phi[:V, H], "c": -self.phi[V, :H]}

    def grads(self) -> dict:
        r"""g like ``params``, :math:`\langle\nabla F\rangle_{\text{data}} - \langle\nabla F\rangle_{v_k}` (new arrays)."""
        G = -(self.S.T @ self.T)
        V, H = G.shape[0] - 1, G.shape[1] - 1
        return {"W": G[:V, :H].copy(), "b": G[:V, H].copy(), "c": G[V, :H].copy()}

    @staticmethod
    def _free_energy_mean(v, b, neg_field) -> float:
        """⟨F⟩ = −⟨bᵀv⟩ − ⟨Σ_j softplus(a_j)⟩ from v and the negated field −a."""
        return -float(np.mean(v @ b)) - float(np.mean(np.sum(softplus(-neg_field), axis=1)))

    def sample(self, rng) -> float | None:
        r"""Fill S and T for one CD-k / PCD-k gradient; the chains advance k block-Gibbs sweeps.

        Random numbers in the order of ``samplers.gibbs_k``: per sweep, uniforms (m, H) for
        h, then (m, V) for v.  Returns the surrogate :math:`\langle F\rangle_{\text{data}} -
        \langle F\rangle_{v_k}` when built ``with_loss``, else None.
        """
        P, A, gibbs = self._P, self._A, self.gibbs
        with np.errstate(over="ignore"):                    # e^{-a} may overflow: σ is then 0, correctly
            gibbs.negated_hidden_field(self._Sx, P, with_ones=True)        # −a(x)
            value = None
            if self.with_loss:
                value = self._free_energy_mean(self.batch, -self.phi[:-1, -1], P)
            gibbs.sigmoid_of_negated(P)                               # p(h = 1 | x), the positive phase
            np.multiply(P, 1.0 / self.n, out=self._Tx)
            for t in range(self.k):
                if t == 0 and not self.persistent:          # CD: the chains start at x, p(h | x) is at hand
                    ph = P
                else:
                    ph = gibbs.sigmoid_of_negated(gibbs.negated_hidden_field(self._Sv, A, with_ones=True))
                gibbs.sweep_from_hidden_probs(rng, ph, self.chains)
            gibbs.negated_hidden_field(self._Sv, A, with_ones=True)        # −a(v_k)
            if self.with_loss:
                value -= self._free_energy_mean(self.chains, -self.phi[:-1, -1], A)
            gibbs.sigmoid_of_negated(A)                               # p(h = 1 | v_k), the negative phase
        np.multiply(A, -1.0 / self.m, out=self._Tv)
        return value


class _RBMCDRun:
    """An in-place training run for :func:`ebm_ref.train.fit` (see its Notes): the arrays of
    :class:`_RBMCDArrays`, stepped by the optimizer's ``step_product`` (``train.SGD``)."""

    def __init__(self, rbm, optimizer, data, k, n_chains, state, with_loss, batch_size):
        x = check_binary(as_batch(data, rbm.dim, "x"), "x")
        self._model0, self._state = rbm, state
        n = x.shape[0] if batch_size is None else batch_size
        persistent = state is not None
        self.arrays = a = _RBMCDArrays(rbm, k, n, n_chains if persistent else n, persistent, with_loss)
        self._step_product = optimizer.step_product
        self._stepped = {"neg_theta": a.phi}                # what the optimizer steps, under its own name
        self._phi_flat = a.phi.reshape(-1)
        self._data, self._xb = x, np.empty((n, rbm.dim))
        if batch_size is None:
            a.batch[:] = x
        if persistent and state["chains"] is not None:
            self._take_chains()

    def _take_chains(self) -> None:
        v = self._state["chains"].x
        if not self._state.get("checked"):
            check_binary(as_batch(v, self._model0.dim, "chains"), "chains")
            self._state["checked"] = True
        if np.shape(v) != self.arrays.chains.shape:
            raise ValueError(f"chains: expected shape {self.arrays.chains.shape}, got {np.shape(v)}")
        self.arrays.chains[:] = v
        self._state["chains"] = PersistentChains(self.arrays.chains)   # the objective sees the chains move

    def step(self, idx, rng):
        """One update from the batch rows ``idx`` (None: every row); returns the loss or None."""
        a = self.arrays
        if idx is not None:                                 # a contiguous take, then one copy into S
            np.copyto(a.batch, np.take(self._data, idx, axis=0, out=self._xb, mode="wrap"))  # idx in range
        if self._state is not None and self._state["chains"] is None:
            self._state["chains"] = PersistentChains.init(self._model0, a.m, self._state["init_rng"],
                                                          self._state["x_init"])
            self._take_chains()
        value = a.sample(rng)
        self._step_product(self._stepped, a.S, a.T)        # Φ ← Φ − η_t(μ v + SᵀT), the gradient as a product
        return value

    def nonfinite(self) -> str | None:
        r"""The name of a parameter holding NaN or inf, else None.

        One BLAS sum :math:`\sum|\Phi_{ij}|` when all is well (finite only if every entry is;
        a NaN propagates, and no floating-point warning is raised); every entry is looked at
        only when it is not finite.
        """
        if math.isfinite(dasum(self._phi_flat)):
            return None
        return next((key for key, v in self.arrays.params.items() if not np.all(np.isfinite(v))), None)

    def model(self):
        """The model at the current parameters (a new immutable value)."""
        return self._model0.with_params(self.arrays.params)


def rbm_cd_update(rbm, x_data, k: int, rng, *, chains=None, with_loss: bool = True):
    r"""The CD-k or PCD-k gradient of a BernoulliRBM with each product formed once (the fast path).

    Parameters
    ----------
    rbm : BernoulliRBM
    x_data : ndarray, shape (n, V) of 0/1
        The data batch (positive phase).
    k : int >= 1
        Block-Gibbs sweeps.
    rng : Generator or int
    chains : ndarray (m, V) of 0/1, or None
        None: CD-k, the chains start at ``x_data``.  Given: PCD-k, the persistent chains
        (not modified; the new states are returned).
    with_loss : bool
        Also return the surrogate :math:`\langle F\rangle_{\text{data}} - \langle F\rangle_{v_k}`
        (two softplus passes over the fields already at hand); else the loss is None.

    Returns
    -------
    loss : float or None
    grads : dict like ``rbm.params``
        :math:`\langle\nabla_\theta F\rangle_{\text{data}} - \langle\nabla_\theta F\rangle_{v_k}`,
        the negative phase Rao–Blackwellised over h (:math:`\sigma(a(v_k))`, not a sample):

        .. math:: g_W = \tfrac1m v_k^\top\sigma(a(v_k)) - \tfrac1n x^\top\sigma(a(x)),\quad
                  g_b = \langle v_k\rangle - \langle x\rangle,\quad
                  g_c = \langle\sigma(a(v_k))\rangle - \langle\sigma(a(x))\rangle,

        with :math:`a(v) = c + W^\top v`.
    v_k : ndarray (m, V)

    Notes
    -----
    The same numbers as the reference path — :func:`cd_k` (``chains`` None) or
    :func:`pcd_step` — from the same random stream, to rounding: both draw, per sweep,
    the uniforms for h and then those for v.  The reference path forms the field
    :math:`c + vW` about eight times per PCD step; here :math:`xW` once (and, for CD, it
    is the first sweep's field too), :math:`vW` and :math:`hW^\top` once per sweep,
    :math:`v_kW` once, and the two gradient outer products as one product over the
    stacked data and chains (the biases' gradients ride in that product, as a column of
    ones).  The sweeps are those of :class:`~ebm_ref.samplers.gibbs_sampling.FastBlockGibbs`,
    and the arrays are the ones :func:`ebm_ref.train.fit` steps in place on its fast path.
    """

    if not isinstance(rbm, BernoulliRBM):
        raise ValueError(f"rbm: the fast CD path is for BernoulliRBM, got {type(rbm).__name__}; use cd_k or pcd_step")
    k = check_positive_int(k, "k", 1)
    x = check_binary(as_batch(x_data, rbm.dim, "x_data"), "x_data")
    if x.shape[0] == 0:
        raise ValueError("x_data: needs at least one point")
    v = None
    if chains is not None:
        v = check_binary(as_batch(chains, rbm.dim, "chains"), "chains")
        if v.shape[0] == 0:
            raise ValueError("chains: needs at least one chain")
    arrays = _RBMCDArrays(rbm, k, x.shape[0], x.shape[0] if v is None else v.shape[0], v is not None,
                          bool(with_loss))
    arrays.batch[:] = x
    if v is not None:
        arrays.chains[:] = v
    value = arrays.sample(as_generator(rng))
    return value, arrays.grads(), arrays.chains.copy()


# ------------------------------------------------------------------- training
def _check_path(path: str) -> str:
    if path not in ("auto", "fast", "reference"):
        raise ValueError(f"path: expected 'auto', 'fast' or 'reference', got {path!r}")
    return path


def _fast_path(model, path: str, kw: dict) -> bool:
    from ..models.rbm import BernoulliRBM

    fast = isinstance(model, BernoulliRBM) and kw.get("sampler", "auto") in ("auto", "gibbs")
    if path == "fast" and not fast:
        raise ValueError(f"path: 'fast' is for a BernoulliRBM with Gibbs sampling, got {type(model).__name__}")
    return fast and path != "reference"


def _in_place(path, kw, k, with_loss, state=None, n_chains=None):
    """``objective.in_place`` (see ``train.fit``): a run on the fast path, or None."""

    def in_place(model, optimizer, data, batch_size=None):
        if not (_fast_path(model, path, kw) and callable(getattr(optimizer, "step_product", None))):
            return None
        return _RBMCDRun(model, optimizer, data, k, n_chains, state, with_loss, batch_size)

    return in_place


def cd_objective(k: int, *, path: str = "auto", with_loss: bool = True, **kw) -> Callable:
    """``objective(model, x, rng) -> (loss, grads)`` for :func:`ebm_ref.train.fit`, by CD-k.

    ``path="auto"`` takes :func:`rbm_cd_update` for a BernoulliRBM and :func:`cd_k` (the
    reference path, also ``path="reference"``) otherwise.  ``with_loss=False`` skips the
    surrogate loss on the fast path (it returns None, recorded as NaN by ``fit``).  On the
    fast path with an optimizer that steps in place (``train.SGD``), ``fit`` runs the
    objective's ``in_place`` arrays instead of calling it step by step.
    """
    k = check_positive_int(k, "k", 1)
    path = _check_path(path)

    def objective(model, x, rng):
        if _fast_path(model, path, kw):
            value, grads, _ = rbm_cd_update(model, x, k, rng, with_loss=with_loss)
            return value, grads
        value, grads, _ = cd_k(model, x, k, rng, **kw)
        return value, grads

    objective.in_place = _in_place(path, kw, k, bool(with_loss))
    return objective


def pcd_objective(k: int, n_chains: int, rng, x_init=None, *, path: str = "auto", with_loss: bool = True,
                  **kw) -> Callable:
    """A PCD objective for :func:`ebm_ref.train.fit`; the chains live inside the closure.

    ``path`` and ``with_loss`` as in :func:`cd_objective` (fast path :func:`rbm_cd_update`
    with ``chains``, reference path :func:`pcd_step`); the in-place run of ``fit`` keeps the
    chains in its arrays and ``objective.state["chains"]`` shows them.
    """
    k = check_positive_int(k, "k", 1)
    n_chains = check_positive_int(n_chains, "n_chains")
    path = _check_path(path)
    state = {"chains": None, "init_rng": as_generator(rng), "x_init": x_init}

    def objective(model, x, rng_step):
        if state["chains"] is None:
            state["chains"] = PersistentChains.init(model, n_chains, state["init_rng"], x_init)
        if _fast_path(model, path, kw):
            if "checked" not in state:                      # checked once: the sweeps keep them binary
                check_binary(as_batch(state["chains"].x, model.dim, "chains"), "chains")
                state["checked"] = True
            value, grads, vk = rbm_cd_update(model, x, k, rng_step, chains=state["chains"].x, with_loss=with_loss)
            state["chains"] = PersistentChains(vk)
            return value, grads
        value, grads, state["chains"] = pcd_step(model, x, state["chains"], k, rng_step, **kw)
        return value, grads

    objective.state = state
    objective.in_place = _in_place(path, kw, k, bool(with_loss), state, n_chains)
    return objective


def train_rbm_cd(data, n_hidden: int, rng, *, k: int = 1, persistent: bool = False, n_steps: int = 1000,
                 lr: float = 0.05, batch_size: int | None = None, weight_scale: float = 0.01):
    """Train a BernoulliRBM by CD-k or PCD with SGD; returns the model (the DBN layer hook).

    ``fit`` runs the objective's arrays in place (the fast path; see :func:`ebm_ref.train.fit`).
    """
    from ..models.rbm import BernoulliRBM
    from ..train import SGD, fit

    rng = as_generator(rng)
    data = as_batch(data, None, "data")
    n_hidden = check_positive_int(n_hidden, "n_hidden")
    V = data.shape[1]
    p = np.clip(data.mean(axis=0), 1e-3, 1 - 1e-3)
    rbm = BernoulliRBM(weight_scale * rng.standard_normal((V, n_hidden)), np.log(p / (1 - p)), np.zeros(n_hidden))
    if persistent:
        obj = pcd_objective(k, batch_size or data.shape[0], rng, data, with_loss=False)
    else:
        obj = cd_objective(k, with_loss=False)
    rbm, _ = fit(rbm, data, obj, SGD(lr, momentum=0.5), n_steps, rng, batch_size=batch_size, log=lambda s: None)
    return rbm


def train_dbn(data, n_hidden, rng, *, binarize_up: bool = True, **kw):
    """Greedy layer-wise training of a deep belief net, each layer by :func:`train_rbm_cd`.

    Layer k is trained on the hidden activities of layer k−1 (sampled when
    ``binarize_up``, else the probabilities — which must then be passed on as 0/1
    samples anyway for a BernoulliRBM, so sampling is the default).
    """
    from ..models.rbm import DeepBeliefNet

    rng = as_generator(rng)
    data = as_batch(data, None, "data")
    rbms = []
    x = data
    for j, H in enumerate(n_hidden):
        r = train_rbm_cd(x, H, rng, **kw)
        rbms.append(r)
        ph = r.prob_h_given_v(x)
        x = (rng.random(ph.shape) < ph).astype(np.float64) if binarize_up else np.round(ph)
    return DeepBeliefNet(rbms)


# ------------------------------------ maximum likelihood as KL, and CD as a difference of KLs
def empirical_distribution(v_data, n_visible: int) -> np.ndarray:
    r""":math:`p_0(v) = \frac1n\sum_i[v_i = v]` over all :math:`2^V` visible states (``enumerate_states`` order)."""
    v = as_batch(v_data, n_visible, "v_data")
    return np.bincount(state_index(v), minlength=2**n_visible) / v.shape[0]


def visible_distribution(rbm) -> np.ndarray:
    r""":math:`p_\theta(v) = e^{-F(v)}/Z` over all :math:`2^V` visible states, by enumeration."""
    return np.exp(-rbm.energy(enumerate_states(rbm.n_visible)) - rbm.log_partition())


def kl_to_model(rbm, q) -> float:
    r""":math:`\mathrm{KL}(q\,\|\,p_\theta) = \sum_v q(v)\log\frac{q(v)}{p_\theta(v)}`, exactly.

    With :math:`q = p_0` the data distribution,
    :math:`\mathrm{KL}(p_0\|p_\theta) = -H(p_0) - \frac1n\sum_i\log p_\theta(v_i)`: the entropy does
    not depend on θ, so minimizing the KL *is* maximizing the likelihood, and its gradient is the
    likelihood gradient (``ebm_ref.objectives.mle.loss``).
    """
    q = np.asarray(q, dtype=np.float64)
    if q.shape != (2**rbm.n_visible,) or np.any(q < 0) or abs(q.sum() - 1.0) > 1e-12:
        raise ValueError(f"q: expected a distribution over the {2**rbm.n_visible} visible states")
    log_p = -rbm.energy(enumerate_states(rbm.n_visible)) - rbm.log_partition()
    keep = q > 0
    return float(np.sum(q[keep] * (np.log(q[keep]) - log_p[keep])))


def chain_distribution(rbm, v_data, k: int) -> np.ndarray:
    r""":math:`p_k = p_0T^k`: the law of the visible state after k block-Gibbs sweeps started at the data."""
    k = check_positive_int(k, "k", 0)
    dist = empirical_distribution(v_data, rbm.n_visible)
    if k:
        T = visible_gibbs_kernel(rbm)
        for _ in range(k):
            dist = dist @ T
    return dist


def cd_kl_difference(rbm, v_data, k: int, p_k=None) -> float:
    r"""Hinton's contrastive divergence :math:`\mathrm{KL}(p_0\|p_\theta) - \mathrm{KL}(p_k\|p_\theta)`.

    :math:`p_k` is :func:`chain_distribution` at the current θ unless given (``p_k`` frozen).
    The difference is >= 0 (a Markov kernel that leaves :math:`p_\theta` invariant cannot take
    :math:`p_0` further from it), and the log Z terms cancel in it.  Its gradient with
    :math:`p_k` held fixed is
    :math:`\mathbb E_{p_0}[\nabla_\theta F] - \mathbb E_{p_k}[\nabla_\theta F]`, the expected
    CD-k update (:func:`exact_cd_expected_gradient`); CD-k drops the term from the dependence of
    :math:`p_k` on θ.
    """
    p0 = empirical_distribution(v_data, rbm.n_visible)
    pk = chain_distribution(rbm, v_data, k) if p_k is None else np.asarray(p_k, dtype=np.float64)
    return kl_to_model(rbm, p0) - kl_to_model(rbm, pk)


def cd_energy_change(model, x_data, x_model, x, lr: float, keys=None) -> np.ndarray:
    r"""First-order change of the energy at ``x`` under one CD step of size ``lr``.

    The step is :math:`\Delta\theta = -\eta\,(\langle\nabla_\theta E\rangle_{\text{data}} -
    \langle\nabla_\theta E\rangle_{\text{model}})` (``phases``) on the parameters named in ``keys``
    (all when None; the others are held fixed), so

    .. math:: \Delta E(x) \approx \nabla_\theta E(x)\cdot\Delta\theta
              = -\eta\,\nabla_\theta E(x)\cdot(\text{pos} - \text{neg}).

    Averaged over the data minus averaged over the negatives it is
    :math:`-\eta\,\|\text{pos} - \text{neg}\|^2 \le 0`: the data go down relative to the negatives.
    """
    lr = check_positive(lr, "lr")
    pos, neg = phases(model, x_data, x_model)
    keys = list(pos) if keys is None else list(keys)
    unknown = [k for k in keys if k not in pos]
    if unknown:
        raise ValueError(f"keys: {unknown} are not parameters of the model; expected some of {list(pos)}")
    x = as_batch(x, model.dim, "x")
    g = model.grad_params(x)
    return -lr * sum(np.asarray(g[k]).reshape(len(x), -1) @ (pos[k] - neg[k]).ravel() for k in keys)
