r"""Gibbs sampling and spin-flip Metropolis for binary models: one step per transition, and the drivers.

Three discrete transitions, each a Markov kernel that leaves :math:`p(x) = e^{-E(x)}/Z`
invariant (energy convention, :math:`p \propto e^{-E}`), each written once as a pure
NumPy **step** in the shape of BlackJAX (``step(rng, state, model, ...) -> (state, info)``):

* **Block Gibbs on an RBM** — :func:`rbm_block_gibbs_step`
  (:class:`~ebm_ref.models.rbm.BernoulliRBM`, :class:`~ebm_ref.models.rbm.GaussianBernoulliRBM`).
  Given the visible layer the hidden units are independent, and vice versa, so one
  *sweep* draws the whole layer at once: :math:`h \sim p(h\mid v)`, then
  :math:`v' \sim p(v\mid h)`.  For the Bernoulli RBM with
  :math:`E(v,h) = -v^\top W h - b^\top v - c^\top h`,

  .. math::  p(h_j = 1\mid v) = \sigma(c_j + v^\top W_{:j}),\qquad
             p(v_i = 1\mid h) = \sigma(b_i + W_{i:} h),

  :math:`\sigma(a) = 1/(1+e^{-a})`.  Both follow from ratios of the joint,
  :math:`p(h_j=1\mid v, h_{-j}) = e^{-E(h_j=1)}/(e^{-E(h_j=0)} + e^{-E(h_j=1)})`, where
  :math:`Z` cancels.  The step is built from the model's conditional samplers
  (``sample_h_given_v``, ``sample_v_given_h``), which also draw from the tempered joint
  :math:`e^{-\beta E(v,h)}` with one β per row (parallel tempering stacks its replicas).
  :func:`gibbs_k` runs ``k`` sweeps from given visible states and also returns
  :math:`p(h\mid v_k)` — the negative phase of CD-k and of persistent CD.

* **Single-site Gibbs** — :func:`site_gibbs_step` (a systematic scan over the units;
  a :class:`~ebm_ref.models.boltzmann.BoltzmannMachine`,
  :math:`E = -\tfrac12 x^\top J x - h^\top x`, or any binary Energy), each unit drawn from
  :math:`p(x_i\mid x_{-i}) \propto e^{-E}`.  For units in :math:`\{s_0, s_1\}` (binary
  0/1 or Ising −1/+1),

  .. math::  p(x_i = s_1\mid x_{-i}) = \sigma\bigl(E(x_i{=}s_0) - E(x_i{=}s_1)\bigr)
             = \sigma\bigl((s_1 - s_0) m_i + \tfrac12 J_{ii}(s_1^2 - s_0^2)\bigr),

  with the local field :math:`m_i = h_i + \sum_{j\ne i} J_{ij} x_j` (J symmetrised).

* **Spin-flip Metropolis** — :func:`spin_flip_step`: propose flipping one unit, accept
  with :math:`\min(1, e^{-\Delta E})`; each proposal is reversible (detailed balance).

Fast paths, same random numbers in the same order (so the same chains): the RBM sweep
in BLAS-buffered NumPy (:class:`FastBlockGibbs`: two matrix products into preallocated
``out=`` buffers, one vectorised ``exp``), and the Boltzmann-machine loops as numba
``@njit(cache=True)`` kernels (:func:`bm_site_gibbs_kernel`, :func:`bm_spin_flip_kernel`)
running the :data:`~ebm_ref.samplers._common.N_CHUNKS` random-stream chunks with
``prange``.  ``backend="numpy"`` runs the steps.  The drivers :func:`gibbs`,
:func:`gibbs_k` and :func:`spin_flip_metropolis` validate, keep steps and build the
:class:`~ebm_ref.samplers.chains.Chains`.

The exact transition matrices of these transitions are in
:mod:`ebm_ref.samplers.transition_matrices`.
"""
from __future__ import annotations

import contextlib
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from .._validate import check_binary, check_positive_int
from ..energy import Energy
from ..numerics.enumeration import SPIN_VALUES
from ..numerics.special import sigmoid, sigmoid_of_negated_inplace
from . import _common
from ._common import acceptance_from_log, kept_index, make_chains, store_kept
from .metropolis_hastings import mh_acceptance

__all__ = [
    "gibbs",
    "gibbs_k",
    "spin_flip_metropolis",
    "rbm_block_gibbs_step",
    "site_gibbs_step",
    "SpinFlipState",
    "spin_flip_init",
    "spin_flip_step",
    "conditional_probabilities",
    "FastBlockGibbs",
    "bm_site_gibbs_kernel",
    "bm_spin_flip_kernel",
    "model_family",
    "check_backend",
    "unit_values",
    "check_start",
]


#: why a Gaussian–Bernoulli RBM's Gibbs chain can go non-finite (Gibbs has no step size)
_GB_HINT = ("the Gaussian visible layer diverged: v ~ N(b + W h, σ²) overflows when σ or the "
            "weights W are too large")


# ====================================================================== dispatch
def model_family(model) -> str:
    """The kind of a model for the discrete samplers, decided by its type.

    Returns 'gbrbm' (GaussianBernoulliRBM), 'rbm' (BernoulliRBM), 'bm'
    (BoltzmannMachine) or 'energy' (any other Energy: the generic energy-difference
    path, or a continuous target for tempering); raises ``ValueError`` otherwise.
    """
    # imported here, not at module level: importing ebm_ref.samplers must not pull in every model family
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


def check_backend(backend, family: str) -> str:
    """'auto' | 'numba' | 'numpy', as for every sampler of the package.

    'auto' takes the fast path (BLAS-buffered NumPy for RBMs, the numba kernel for a
    BoltzmannMachine, the energy-difference NumPy path for any other Energy); 'numba'
    insists on a jitted kernel (BoltzmannMachine only); 'numpy' runs the steps.
    """
    if backend not in ("auto", "numba", "numpy"):
        raise ValueError(f"backend: expected 'auto', 'numba' or 'numpy', got {backend!r}")
    if backend == "numba" and family != "bm":
        raise ValueError("backend: 'numba' needs a BoltzmannMachine (the only model with a jitted Gibbs kernel); "
                         "RBM sweeps run in BLAS-buffered NumPy ('auto'), other energies in NumPy")
    return backend


def unit_values(model, spins=None) -> tuple[float, float]:
    """The two values (s0, s1) a unit of ``model`` takes: (0, 1) binary or (−1, +1) Ising.

    A BoltzmannMachine uses its own ``spins`` (``spins`` must agree or be None); for
    any other model ``spins`` is 'binary' (default) or 'ising'.
    """
    fam = model_family(model)
    if fam == "bm":
        if spins is not None and spins != model.spins:
            raise ValueError(f"spins: the BoltzmannMachine uses spins={model.spins!r}, got spins={spins!r}")
        spins = model.spins
    elif spins is None:
        spins = "binary"
    if spins not in SPIN_VALUES:
        raise ValueError(f"spins: expected 'binary' (units in {{0, 1}}) or 'ising' (units in {{-1, +1}}), got {spins!r}")
    return SPIN_VALUES[spins]


def _check_states(x, d: int, lo: float, hi: float, name: str) -> np.ndarray:
    """A start batch (n_chains >= 1, d) whose entries are all lo or hi (a fresh copy)."""
    x = _common.check_x0(x, d, name)
    if (lo, hi) == (0.0, 1.0):
        check_binary(x, name)
    elif not np.all((x == lo) | (x == hi)):
        bad = x[(x != lo) & (x != hi)].ravel()[:3]
        raise ValueError(f"{name}: Ising units must be -1 or +1, found values such as {bad.tolist()}")
    return x


def check_start(model, x, name: str = "x0", *, spins=None) -> np.ndarray:
    """Validated states of ``model`` as a fresh C-contiguous float64 batch ``(n_chains >= 1, d)``.

    Bernoulli RBM: visible units 0/1; Gaussian–Bernoulli RBM: finite reals; Boltzmann
    machine or another binary Energy: every unit equal to one of :func:`unit_values`.
    """
    fam = model_family(model)
    if fam in ("rbm", "gbrbm"):
        if spins is not None:
            raise ValueError("spins: only for single-site samplers; an RBM's units are fixed by its class")
        x = _common.check_x0(x, model.dim, name)
        return check_binary(x, name) if fam == "rbm" else x
    lo, hi = unit_values(model, spins)
    return _check_states(x, model.dim, lo, hi, name)


def _spins_name(lo: float) -> str:
    return "binary" if lo == 0.0 else "ising"


# ======================================================= block Gibbs on RBMs
def rbm_block_gibbs_step(rng, v, model, *, beta=None):
    r"""One block-Gibbs sweep of an RBM: :math:`h \sim p_\beta(h\mid v)`, then :math:`v' \sim p_\beta(v\mid h)`.

    Parameters
    ----------
    rng : numpy.random.Generator or int
    v : array, shape (n, V)
        Current visible states (0/1 for a BernoulliRBM, reals for a GaussianBernoulliRBM).
    model : BernoulliRBM or GaussianBernoulliRBM
    beta : None, float or array (n,), optional
        Inverse temperature(s) of the tempered joint :math:`e^{-\beta E(v,h)}`, one per
        row if an array (parallel tempering stacks its replicas); None is β = 1.

    Returns
    -------
    v_new : ndarray (n, V)
        The state after the sweep (a new array).
    h : ndarray (n, H)
        The hidden layer drawn on the way (the step's info).

    Notes
    -----
    Built from the model's conditional samplers, ``model.sample_h_given_v`` then
    ``model.sample_v_given_h``: Bernoulli RBM
    :math:`p_\beta(h_j=1\mid v) = \sigma(\beta(c_j + (v^\top W)_j))`,
    :math:`p_\beta(v_i=1\mid h) = \sigma(\beta(b_i + (Wh)_i))`; Gaussian–Bernoulli
    :math:`v\mid h \sim \mathcal N(b + Wh, \operatorname{diag}\sigma^2/\beta)`.  Random
    numbers: uniforms (n, H), then uniforms (binary) or standard normals (Gaussian)
    (n, V) — the stream of :class:`FastBlockGibbs`.
    """
    rng = _common.as_generator(rng)
    if model_family(model) not in ("rbm", "gbrbm"):
        raise ValueError(f"model: rbm_block_gibbs_step needs a BernoulliRBM or GaussianBernoulliRBM, "
                         f"got {type(model).__name__}")
    h = model.sample_h_given_v(v, rng, beta=beta)
    return model.sample_v_given_h(h, rng, beta=beta), h


# ---------------------------------------------------------------- fast path
class FastBlockGibbs:
    r"""Fast path of :func:`rbm_block_gibbs_step`: the same sweep, BLAS-buffered, in place.

    Parameters
    ----------
    model : BernoulliRBM or GaussianBernoulliRBM
        Its parameters are read once, into Φ (see Notes).
    n : int
        Number of chains (rows of the ``v`` passed to :meth:`sweep`).
    beta : None or array (n,), optional
        One inverse temperature per row (the tempered joint :math:`e^{-\beta E(v,h)}`); None is β = 1.
        :meth:`set_beta` changes it between sweeps.
    base_bias : None or array (V,), optional
        Visible biases :math:`b_A` of an annealing base (Bernoulli RBM only): the sweep then
        draws from the annealed joint of Salakhutdinov & Murray,
        :math:`p_\beta(v, h) \propto e^{(1-\beta) b_A^\top v - \beta E(v,h)}` — the RBM
        :math:`(\beta W,\ (1-\beta) b_A + \beta b,\ \beta c)` — whose visible logits gain
        :math:`(1-\beta) b_A`.  None (tempering) is :math:`b_A = 0`.

    Notes
    -----
    The parameters sit, negated, in one augmented matrix

    .. math:: \Phi = -\begin{pmatrix} W & b\\ c^\top & 0\end{pmatrix}\quad\text{of shape } (V+1, H+1),

    so that with a 1 appended to a state each negated field is one product:
    :math:`[\tilde v, 1]\,\Phi_{:, :H} = -(c + \tilde v W) = -a` and
    :math:`[h, 1]\,\Phi_{:V, :}^\top = -(b + W h)` (:math:`\tilde v = v`, or :math:`v/\sigma^2` for a
    Gaussian visible layer).  σ(a) = 1/(1 + e^{−a}) then costs one ``exp``, one add and one
    reciprocal over the buffer (:func:`~ebm_ref.numerics.special.sigmoid_of_negated_inplace`);
    the transposed product reads a view of Φ, with no copy.  The workspace, with its columns of
    ones, is allocated once, here (each large allocation is an mmap + page faults, which costs
    more than a whole sweep on a busy machine).  Random numbers per sweep, from the caller's
    ``rng``: uniforms (n, H) for h, then uniforms (n, V) for binary v or normals (n, V) for
    Gaussian v — those of :func:`rbm_block_gibbs_step`, so both give the same chains.

    A sweep is two half-steps, :meth:`negated_hidden_field` (then σ) and
    :meth:`sweep_from_hidden_probs`.  CD's fast path
    (:mod:`ebm_ref.objectives.contrastive_divergence`) runs them on the Φ that its optimizer
    steps in place (:meth:`on_negated_parameters`), with its states kept as :math:`[v, 1]`.
    """

    def __init__(self, model, n: int, *, beta=None, base_bias=None):
        fam = model_family(model)
        if fam not in ("rbm", "gbrbm"):
            raise ValueError(f"model: FastBlockGibbs needs a BernoulliRBM or GaussianBernoulliRBM, "
                             f"got {type(model).__name__}")
        p = model.params                                        # read once into Φ: no other copy of W
        nv, nh = p["W"].shape
        if base_bias is not None:
            if fam != "rbm":
                raise ValueError("base_bias: an annealing base-rate bias is for a BernoulliRBM")
            base_bias = np.asarray(base_bias, dtype=np.float64)
            if base_bias.shape != (nv,) or not np.all(np.isfinite(base_bias)):
                raise ValueError(f"base_bias: expected finite biases of shape ({nv},), got shape {base_bias.shape}")
        phi = np.empty((nv + 1, nh + 1))
        np.negative(p["W"], out=phi[:nv, :nh])
        np.negative(p["b"], out=phi[:nv, nh])
        np.negative(p["c"], out=phi[nv, :nh])
        phi[nv, nh] = 0.0                                       # the corner, never read
        sigma = np.array(p["sigma"], dtype=np.float64) if fam == "gbrbm" else None
        self._bind(phi, sigma, n, beta, base_bias)

    @classmethod
    def on_negated_parameters(cls, phi: np.ndarray, n: int) -> "FastBlockGibbs":
        r"""Sweeps of the Bernoulli RBM whose parameters are the augmented matrix Φ (see Notes), not copied.

        ``phi`` has shape (V+1, H+1) and holds :math:`-W, -b, -c` (its corner is never read).
        It is read at every sweep, so parameters that an optimizer updates in place are seen
        by the next sweep: this is how CD's fast path samples from the model it trains.  β = 1
        and no annealing base.  The caller runs the sweeps under ``np.errstate(over="ignore")``
        (an overflowing :math:`e^{-a}` is a correct σ = 0), which it enters once around several
        sweeps.
        """
        if not (isinstance(phi, np.ndarray) and phi.dtype == np.float64 and phi.ndim == 2
                and phi.shape[0] >= 2 and phi.shape[1] >= 2):
            raise ValueError(f"phi: expected a float64 array of shape (V+1, H+1) with V, H >= 1 (it is read in "
                             f"place, so it is not converted), got {type(phi).__name__} "
                             f"{getattr(phi, 'dtype', '')} of shape {np.shape(phi)}")
        self = cls.__new__(cls)                                 # an alternative constructor: no model to read
        self._bind(phi, None, n, None, None)
        self._silence_overflow = False                          # the caller silences it around its sweeps
        return self

    def _bind(self, phi, sigma, n, beta, base_bias) -> None:
        """Hold Φ, its two views, the options and the workspace (the one place they are set)."""
        self.phi, self.sigma, self.base_bias = phi, sigma, base_bias
        self._silence_overflow = True
        self.n = n = check_positive_int(n, "n", 1)
        nv, nh = phi.shape[0] - 1, phi.shape[1] - 1
        self._phi_h, self._phi_v = phi[:, :nh], phi[:nv, :].T   # −[W; cᵀ] and −[W, b]ᵀ
        self.set_beta(beta)
        self._A, self._U = np.empty((n, nh)), np.empty((n, nh))
        self._B, self._UV = np.empty((n, nv)), np.empty((n, nv))
        self._v1, self._h1 = np.ones((n, nv + 1)), np.ones((n, nh + 1))   # [ṽ, 1] and [h, 1]
        if sigma is not None:
            self._s2 = sigma * sigma
        self.shape = (n, nv)

    def set_beta(self, beta) -> None:
        """Set the inverse temperature of the next sweeps: None (β = 1), a float or one β per row (n,), in (0, 1]."""
        if isinstance(beta, float):
            # a Python or NumPy float, checked without array calls: AIS sets one at each of ~10^4 temperatures
            if not 0.0 < beta <= 1.0:                         # also refuses NaN
                raise ValueError(f"beta: expected None or β in (0, 1], a float or one per chain, shape ({self.n},), "
                                 f"got {beta!r}")
            beta = float(beta)
        elif beta is not None:
            b = np.asarray(beta, dtype=np.float64)
            if b.shape not in ((), (self.n,)) or not np.all(np.isfinite(b)) or np.any(b <= 0) or np.any(b > 1):
                raise ValueError(f"beta: expected None or β in (0, 1], a float or one per chain, shape ({self.n},), "
                                 f"got {beta!r}")
            beta = b[:, None] if b.ndim else float(b)
        self.beta = beta
        if self.sigma is not None:
            # σ_i (β = 1) or σ_i/√β per row: the standard deviation of v | h
            self._noise = self.sigma if beta is None else self.sigma / np.sqrt(beta)
        if self.base_bias is not None:
            # −(1 − β) b_A: the base's share of the negated visible logits
            self._neg_base = -(1.0 - (1.0 if beta is None else beta)) * self.base_bias

    def sigmoid_of_negated(self, m: np.ndarray) -> np.ndarray:
        """m ← σ(−m) in place (a negated field to probabilities); an overflowing e^{m} gives the correct 0."""
        return sigmoid_of_negated_inplace(m, silence_overflow=self._silence_overflow)

    def negated_hidden_field(self, v: np.ndarray, out: np.ndarray, *, with_ones: bool = False) -> np.ndarray:
        r"""The negated, tempered hidden field :math:`-\beta a` of ``v``, written into ``out`` (n, H); returns ``out``.

        :math:`a = c + \tilde v^\top W` with :math:`\tilde v = v` (binary) or :math:`v/\sigma^2`
        (Gaussian visible layer); :math:`p(h_j = 1\mid v) = \sigma(\beta a_j)`.  ``v`` has shape
        (n, V); with ``with_ones=True`` it is :math:`[v, 1]`, shape (m, V+1), binary units, used as
        it is (a caller that keeps its states so saves a copy; m rows, any number).
        """
        if with_ones and self.sigma is not None:
            raise ValueError("with_ones: states kept as [v, 1] are for binary visible units; a Gaussian "
                             "visible layer's field needs v/σ², pass v")
        if not with_ones:
            v1 = self._v1
            if self.sigma is None:
                np.copyto(v1[:, :-1], v)
            else:
                np.divide(v, self._s2, out=v1[:, :-1])
            v = v1
        np.matmul(v, self._phi_h, out=out)                    # [ṽ, 1] Φ_{:, :H} = −a
        if self.beta is not None:
            np.multiply(out, self.beta, out=out)              # −βa
        return out

    def sweep(self, rng, v: np.ndarray, hidden_field=None) -> np.ndarray:
        r"""One sweep v → h → v', written into ``v`` (float64, shape (n, V)); returns ``v``.

        ``hidden_field``, optional: the untempered field :math:`a = c + \tilde v W` of these
        ``v``, shape (n, H), when the caller has it already (AIS does, for its weights);
        the sweep then skips its first matrix product.
        """
        A = self._A
        if hidden_field is not None:
            np.multiply(hidden_field, -1.0 if self.beta is None else -self.beta, out=A)   # −βa
        else:
            self.negated_hidden_field(v, A)
        return self.sweep_from_hidden_probs(rng, self.sigmoid_of_negated(A), v)

    def sweep_from_hidden_probs(self, rng, probs: np.ndarray, v: np.ndarray) -> np.ndarray:
        r"""The rest of a sweep when :math:`p(h = 1\mid v)` is at hand: h ~ Bernoulli(``probs``), then v' ~ p(v | h) into ``v``.

        ``probs`` has shape (n, H) (read, not changed); ``v`` (n, V) receives the new states (it
        may be a view, such as the first V columns of states kept as :math:`[v, 1]`); returns
        ``v``.  CD-k's first sweep starts here, from the positive phase's probabilities.
        """
        beta, U, B, UV, h1 = self.beta, self._U, self._B, self._UV, self._h1
        rng.random(out=U)
        np.less(U, probs, out=h1[:, :-1])                     # h ~ p(h | v), over its uniforms
        np.matmul(h1, self._phi_v, out=B)                     # [h, 1] Φ_{:V, :}ᵀ = −(b + W h)
        if self.sigma is None:
            # v ~ p(v | h):  p(v_i=1|h) = σ(β(b_i + (W h)_i) + (1 − β) b_A)   (b_A = 0 unless annealing)
            if beta is not None:
                np.multiply(B, beta, out=B)
            if self.base_bias is not None:
                np.add(B, self._neg_base, out=B)
            self.sigmoid_of_negated(B)
            rng.random(out=UV)
            np.less(UV, B, out=v)
        else:
            # v ~ N(b + W h, diag σ²/β):  v = σ/√β · ξ − (−(b + W h))
            rng.standard_normal(out=UV)
            np.multiply(UV, self._noise, out=UV)
            np.subtract(UV, B, out=v)
        return v


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


@njit(cache=True)
def _bm_site_gibbs_chunk(J, h, lo, hi, x, t0, t1, burn_in, thin, g, bounds, k, out):
    # sweeps t0+1..t1 of the chains of chunk k, drawing from the chunk's Generator g
    d = x.shape[1]
    ds = hi - lo
    dq = 0.5 * (hi * hi - lo * lo)
    c0 = bounds[k]
    c1 = bounds[k + 1]
    for t in range(t0 + 1, t1 + 1):
        for i in range(d):
            for c in range(c0, c1):
                z = ds * _field(J, h, x, c, i) + dq * J[i, i]
                p1 = _sig(z)
                u = g.random()
                x[c, i] = hi if u < p1 else lo
        store_kept(out, x, c0, c1 - c0, t, burn_in, thin)


@njit(cache=True, parallel=True)
def bm_site_gibbs_kernel(J, h, lo, hi, x, t0, t1, burn_in, thin, gens, bounds, out):
    r"""Fast path of :func:`site_gibbs_step`: sweeps t0+1..t1 on a Boltzmann machine, in place on ``x``.

    ``J`` (symmetrised) and ``h`` from :meth:`BoltzmannMachine.coupling_arrays`, units in
    {lo, hi}.  Unit i of chain c is set to hi with probability
    :math:`\sigma((s_1 - s_0) m_i + \tfrac12 J_{ii}(s_1^2 - s_0^2))`; chunk k draws from
    ``gens[k]`` in order [step][site][chain] (the order of :func:`site_gibbs_step`, run per
    chunk).  Kept steps are written to ``out`` by :func:`ebm_ref.samplers._common.store_kept`
    (the keep rule :func:`~ebm_ref.samplers._common.kept_index`).  The chunks run in parallel,
    each the serial ``_bm_site_gibbs_chunk`` (:func:`ebm_ref.samplers._common.run_chunk_segment` runs
    them in turn for small work).
    """
    for k in prange(len(gens)):
        _bm_site_gibbs_chunk(J, h, lo, hi, x, t0, t1, burn_in, thin, gens[k], bounds, np.int64(k), out)


def _site_gibbs_segment(J, h, lo, hi, x, t0, t1, burn_in, thin, gens, bounds, out) -> None:
    """Sweeps t0+1..t1 of single-site Gibbs on a Boltzmann machine's chains ``x``, in place: the chunks
    under ``prange`` (:func:`bm_site_gibbs_kernel`) only for work that gains from threads, else in turn
    (:func:`ebm_ref.samplers._common.run_chunk_segment`); the same chains either way."""
    _common.run_chunk_segment(bm_site_gibbs_kernel, _bm_site_gibbs_chunk, (J, h, lo, hi, x, t0, t1, burn_in, thin),
                              gens, bounds, (out,), work=x.size * (t1 - t0))


@njit(cache=True)
def _bm_spin_flip_chunk(J, h, lo, hi, x, t0, t1, burn_in, thin, random_scan, g, bounds, k, out, n_acc):
    # steps t0+1..t1 of the chains of chunk k, drawing from the chunk's Generator g
    d = x.shape[1]
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
                u = g.random()
                if u < acceptance_from_log(-dE):          # min(1, e^{−ΔE})
                    x[cc, j] = new
                    if t > burn_in:
                        n_acc[cc] += 1
        store_kept(out, x, c0, c1 - c0, t, burn_in, thin)


@njit(cache=True, parallel=True)
def bm_spin_flip_kernel(J, h, lo, hi, x, t0, t1, burn_in, thin, random_scan, gens, bounds, out, n_acc):
    r"""Fast path of :func:`spin_flip_step`: steps t0+1..t1 (d proposals each), in place on ``x``.

    Chunk k draws from ``gens[k]``; per proposal: (random scan only) one uniform per chain
    of the chunk for the site, then one uniform per chain for the acceptance
    :math:`\min(1, e^{-\Delta E})`.  Accepted flips after burn-in are counted in ``n_acc``.
    The chunks run in parallel, each the serial ``_bm_spin_flip_chunk``.
    """
    for k in prange(len(gens)):
        _bm_spin_flip_chunk(J, h, lo, hi, x, t0, t1, burn_in, thin, random_scan, gens[k], bounds, np.int64(k), out,
                            n_acc)


# ============ single-site Gibbs and spin flip on any binary Energy (energy differences)
def _energy_checked(model, x, sampler, t, offset):
    e = model.energy(x)
    _common.raise_if_nonfinite(sampler, t, e, what="the energy", offset=offset)
    return e


def _site_gibbs_sweep(rng, xs, model, lo, hi, t, c0):
    """:func:`site_gibbs_step` in place on ``xs`` without the input checks; returns p(x_i = s1 | x_-i)."""
    m, d = xs.shape
    p = np.empty((m, d))
    for i in range(d):
        x_hi = xs.copy()
        x_hi[:, i] = hi
        x_lo = xs.copy()
        x_lo[:, i] = lo
        e_hi = _energy_checked(model, x_hi, "gibbs", t, c0)
        e_lo = _energy_checked(model, x_lo, "gibbs", t, c0)
        p[:, i] = sigmoid(e_lo - e_hi)
        u = rng.random(m)
        xs[:, i] = np.where(u < p[:, i], hi, lo)
    return p


def site_gibbs_step(rng, x, model, *, spins=None, step=1, first_chain=0):
    r"""One systematic sweep of single-site Gibbs: units i = 1..d in order, each from p(x_i | x_{−i}).

    Parameters
    ----------
    rng : numpy.random.Generator or int
    x : array, shape (n, d)
        Current states, every unit s0 or s1 (:func:`unit_values`).
    model : BoltzmannMachine or any Energy on binary/Ising units
    spins : {'binary', 'ising'}, optional
        As in :func:`gibbs`.
    step, first_chain : int
        Where this sweep sits in a run (step number, index of the first row among all
        chains): used only to name the step and chain when an energy is NaN or inf.

    Returns
    -------
    x_new : ndarray (n, d)
        The states after the sweep (a new array).
    prob : ndarray (n, d)
        The step's info: :math:`p(x_i = s_1\mid x_{-i})` at the moment unit i was drawn.

    Notes
    -----
    :math:`p(x_i = s_1\mid x_{-i}) = \sigma(E(x_i{=}s_0) - E(x_i{=}s_1))`: two energies
    per unit, Z cancels.  Random numbers: for each unit in order, one uniform per row,
    :math:`x_i = s_1` iff :math:`u < p`.  :func:`bm_site_gibbs_kernel` is the fast path
    on a Boltzmann machine (same draws per random-stream chunk).
    """
    rng = _common.as_generator(rng)
    if model_family(model) in ("rbm", "gbrbm"):
        raise ValueError("model: site_gibbs_step is for fully visible binary models; for an RBM use rbm_block_gibbs_step")
    lo, hi = unit_values(model, spins)
    xs = _check_states(x, model.dim, lo, hi, "x")
    step = check_positive_int(step, "step", 0)
    first_chain = check_positive_int(first_chain, "first_chain", 0)
    p = _site_gibbs_sweep(rng, xs, model, lo, hi, step, first_chain)
    return xs, p


class SpinFlipState(NamedTuple):
    """State of spin-flip Metropolis: the units ``x`` (n, d) and their energies ``energy`` (n,)."""

    x: np.ndarray
    energy: np.ndarray


def spin_flip_init(x, model, *, spins=None) -> SpinFlipState:
    """The :class:`SpinFlipState` of start states ``x`` (validated; energies computed, must be finite)."""
    if model_family(model) in ("rbm", "gbrbm"):
        raise ValueError("model: spin-flip Metropolis runs on fully visible binary models; for an RBM use gibbs")
    lo, hi = unit_values(model, spins)
    xs = _check_states(x, model.dim, lo, hi, "x")
    return SpinFlipState(xs, _energy_checked(model, xs, "spin_flip_metropolis", 0, 0))


def _spin_flip_sweep(rng, xs, e_old, model, lo, hi, random_scan, t, c0):
    """:func:`spin_flip_step` in place on ``xs`` without the input checks; returns (energies, accepted counts)."""
    m, d = xs.shape
    rows = np.arange(m)
    n_acc = np.zeros(m, dtype=np.int64)
    for i in range(d):
        if random_scan:
            sites = np.minimum((rng.random(m) * d).astype(np.int64), d - 1)
        else:
            sites = np.full(m, i)
        prop = xs.copy()
        prop[rows, sites] = lo + hi - xs[rows, sites]
        e_new = _energy_checked(model, prop, "spin_flip_metropolis", t, c0)
        acc = rng.random(m) < mh_acceptance(e_old - e_new)           # min(1, e^{−ΔE})
        xs[acc] = prop[acc]
        e_old = np.where(acc, e_new, e_old)
        n_acc += acc
    return e_old, n_acc


def spin_flip_step(rng, state: SpinFlipState, model, *, scan="random", spins=None, step=1, first_chain=0):
    r"""One step of spin-flip Metropolis: d proposals :math:`x_j \to s_0 + s_1 - x_j`, each accepted w.p. :math:`\min(1, e^{-\Delta E})`.

    Parameters
    ----------
    rng : numpy.random.Generator or int
    state : SpinFlipState
        From :func:`spin_flip_init` or a previous step.
    model : BoltzmannMachine or any Energy on binary/Ising units
    scan : {'random', 'systematic'}
        Site of proposal i: uniform at random (:math:`j = \lfloor u d\rfloor`) or j = i.
    spins : {'binary', 'ising'}, optional
    step, first_chain : int
        As in :func:`site_gibbs_step` (error messages only).

    Returns
    -------
    state : SpinFlipState
        New states and their energies (new arrays).
    n_accepted : ndarray (n,) of int
        The step's info: accepted flips per row (out of d).

    Notes
    -----
    :math:`\Delta E = E(x') - E(x)` from two energies (Z cancels); the flip proposal is
    symmetric, so each proposal satisfies detailed balance.  Random numbers per
    proposal: (random scan only) a uniform per row for the site, then a uniform per row
    for the acceptance.  :func:`bm_spin_flip_kernel` is the fast path on a Boltzmann machine.
    """
    rng = _common.as_generator(rng)
    if scan not in ("random", "systematic"):
        raise ValueError(f"scan: expected 'random' or 'systematic', got {scan!r}")
    if not isinstance(state, SpinFlipState):
        raise ValueError(f"state: expected a SpinFlipState (from spin_flip_init), got {type(state).__name__}")
    if model_family(model) in ("rbm", "gbrbm"):
        raise ValueError("model: spin-flip Metropolis runs on fully visible binary models; for an RBM use gibbs")
    lo, hi = unit_values(model, spins)
    xs = _check_states(state.x, model.dim, lo, hi, "state.x")
    e = np.asarray(state.energy, dtype=np.float64)
    if e.shape != (xs.shape[0],) or not np.all(np.isfinite(e)):
        raise ValueError(f"state.energy: expected finite energies of shape ({xs.shape[0]},), got shape {e.shape}")
    step = check_positive_int(step, "step", 0)
    first_chain = check_positive_int(first_chain, "first_chain", 0)
    e_new, n_acc = _spin_flip_sweep(rng, xs, e.copy(), model, lo, hi, scan == "random", step, first_chain)
    return SpinFlipState(xs, e_new), n_acc


# ================================================================ drivers
def gibbs(model, x0, n_steps, rng, *, burn_in=0, thin=1, spins=None, progress=None, backend="auto"):
    r"""Gibbs sampling: block Gibbs on RBMs, systematic-scan single-site Gibbs otherwise.

    Parameters
    ----------
    model : BernoulliRBM, GaussianBernoulliRBM, BoltzmannMachine or another Energy
        RBMs: one step is a sweep :math:`v \to h \sim p(h\mid v) \to v' \sim p(v\mid h)`
        (the chain is recorded on the visible layer).  A BoltzmannMachine or any other
        Energy on binary/Ising units: one step updates every unit once, in order,
        from :math:`p(x_i\mid x_{-i}) = \sigma(E(x_i{=}s_0) - E(x_i{=}s_1))`.
    x0 : array, shape (n_chains, d)
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
        'numba': insist on the kernel (BoltzmannMachine only); 'numpy': the steps
        :func:`rbm_block_gibbs_step` / :func:`site_gibbs_step` (same random numbers, same chains).
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
    fam = model_family(model)
    backend = check_backend(backend, fam)
    x = check_start(model, x0, "x0", spins=spins)
    out = np.empty((n_keep,) + x.shape)
    settings = {"sampler": "gibbs", "n_steps": n_steps, "burn_in": burn_in, "thin": thin, "backend": backend}
    if fam in ("rbm", "gbrbm"):
        fast = None if backend == "numpy" else FastBlockGibbs(model, x.shape[0])
        # a Gaussian visible layer can diverge: overflow is not warned about but detected after
        # each sweep, and reported with the sweep where it happened
        with np.errstate(over="ignore", invalid="ignore") if fam == "gbrbm" else contextlib.nullcontext():
            for t0, t1 in _common.segments(n_steps, progress):
                for t in range(t0 + 1, t1 + 1):
                    if fast is None:
                        x, _ = rbm_block_gibbs_step(rng, x, model)
                    else:
                        fast.sweep(rng, x)
                    if fam == "gbrbm":
                        _common.raise_if_nonfinite("gibbs", t, x, what="the visible state", hint=_GB_HINT)
                    k = kept_index(t, burn_in, thin)
                    if k >= 0:
                        out[k] = x
        settings["scan"] = "block"
        return make_chains(out, np.ones(x.shape[0]), settings)
    lo, hi = unit_values(model, spins)
    gens = _common.spawn_generators(rng)
    bounds = _common.chunk_bounds(x.shape[0])
    if backend != "numpy" and fam == "bm":
        J, h = model.coupling_arrays()
        for t0, t1 in _common.segments(n_steps, progress):
            _site_gibbs_segment(J, h, lo, hi, x, t0, t1, burn_in, thin, gens, bounds, out)
    else:
        for t0, t1 in _common.segments(n_steps, progress):
            for k, g in enumerate(gens):
                c0, c1 = int(bounds[k]), int(bounds[k + 1])
                if c1 == c0:
                    continue
                xs = x[c0:c1]
                for t in range(t0 + 1, t1 + 1):
                    _site_gibbs_sweep(g, xs, model, lo, hi, t, c0)
                    r = kept_index(t, burn_in, thin)
                    if r >= 0:
                        out[r, c0:c1] = xs
    settings.update(scan="systematic single-site", spins=_spins_name(lo))
    return make_chains(out, np.ones(x.shape[0]), settings)


def gibbs_k(model, x, k, rng, *, spins=None, backend="auto"):
    r"""k Gibbs sweeps from ``x``: the states :math:`x_k` and :math:`p(h\mid v_k)` — the CD-k / PCD building block.

    Parameters
    ----------
    model : BernoulliRBM, GaussianBernoulliRBM, BoltzmannMachine or another binary Energy
    x : array, shape (n, d)
        Current (visible) states: the data batch for CD-k (fresh chains started at the
        data), or the persistent chains for PCD (pass back ``chains.last``).
    k : int, >= 1
        Number of sweeps.
    rng : numpy.random.Generator or int
    spins, backend
        As in :func:`gibbs`.

    Returns
    -------
    Chains
        ``samples`` of shape (1, n, d) holding :math:`x_k` (``chains.last``), and in ``extras``:

        * RBMs: ``"prob_h_given_v"`` — :math:`p(h_j = 1\mid v_k)`, shape (n, n_hidden), the
          expected hidden units the negative phase averages;
        * single-site models (no hidden layer): ``"prob_unit_given_rest"`` —
          :math:`p(x_i = s_1\mid x_{k,-i})` for every unit, shape (n, d).

    Notes
    -----
    The same chains as ``gibbs(model, x, k, rng, burn_in=k - 1)``.  The CD-k gradient of
    the mean energy uses
    :math:`\langle \nabla_\theta E\rangle_{\text{data}} - \langle\nabla_\theta E\rangle_{v_k}`,
    in which for the RBM :math:`\partial E/\partial W = -v\,p(h\mid v)^\top` is averaged
    over h exactly (Rao–Blackwellised), hence the probabilities rather than a sample.
    """
    k = check_positive_int(k, "k", 1)
    ch = gibbs(model, x, k, rng, burn_in=k - 1, spins=spins, backend=backend)
    xk = ch.last
    if model_family(model) in ("rbm", "gbrbm"):
        extras = {"prob_h_given_v": model.prob_h_given_v(xk)}
    else:
        extras = {"prob_unit_given_rest": conditional_probabilities(model, xk, spins=spins)}
    settings = dict(ch.settings, sampler="gibbs_k", k=k)
    return make_chains(ch.samples, ch.accept_rate, settings, extras)


def conditional_probabilities(model, x, *, spins=None) -> np.ndarray:
    r"""p(x_i = s_1 | x_{-i}) for every unit, by energy differences: σ(E(x_i=s₀) − E(x_i=s₁)).

    Works for any Energy on binary (s₀, s₁) = (0, 1) or Ising (−1, +1) units; Z cancels.
    Returns shape (n, d).
    """
    lo, hi = unit_values(model, spins)
    x = _check_states(x, model.dim, lo, hi, "x")
    p = np.empty_like(x)
    for i in range(x.shape[1]):
        x_hi = x.copy()
        x_hi[:, i] = hi
        x_lo = x.copy()
        x_lo[:, i] = lo
        p[:, i] = sigmoid(model.energy(x_lo) - model.energy(x_hi))
    return p


def spin_flip_metropolis(model, x0, n_steps, rng, *, scan="random", burn_in=0, thin=1, spins=None,
                         progress=None, backend="auto"):
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
    ``backend="numpy"`` runs :func:`spin_flip_step` per chunk; the fast path is
    :func:`bm_spin_flip_kernel`.
    """
    rng = _common.as_generator(rng)
    if scan not in ("random", "systematic"):
        raise ValueError(f"scan: expected 'random' or 'systematic', got {scan!r}")
    n_steps, burn_in, thin, n_keep = _common.check_schedule(n_steps, burn_in, thin)
    fam = model_family(model)
    backend = check_backend(backend, fam)
    if fam in ("rbm", "gbrbm"):
        raise ValueError("model: spin_flip_metropolis runs on fully visible binary models "
                         "(BoltzmannMachine or a binary Energy); for an RBM use gibbs")
    lo, hi = unit_values(model, spins)
    x = _check_states(x0, model.dim, lo, hi, "x0")
    out = np.empty((n_keep,) + x.shape)
    n_acc = np.zeros(x.shape[0], dtype=np.int64)
    gens = _common.spawn_generators(rng)
    bounds = _common.chunk_bounds(x.shape[0])
    random_scan = scan == "random"
    if backend != "numpy" and fam == "bm":
        J, h = model.coupling_arrays()
        for t0, t1 in _common.segments(n_steps, progress):
            _common.run_chunk_segment(bm_spin_flip_kernel, _bm_spin_flip_chunk,
                                      (J, h, lo, hi, x, t0, t1, burn_in, thin, random_scan), gens, bounds,
                                      (out, n_acc), work=x.size * (t1 - t0))
    else:
        chunks = [(int(bounds[k]), int(bounds[k + 1])) for k in range(len(gens))]
        energies = [_energy_checked(model, x[c0:c1], "spin_flip_metropolis", 0, c0) if c1 > c0 else None
                    for c0, c1 in chunks]
        for t0, t1 in _common.segments(n_steps, progress):
            for k, (g, (c0, c1)) in enumerate(zip(gens, chunks)):
                if c1 == c0:
                    continue
                xs = x[c0:c1]
                for t in range(t0 + 1, t1 + 1):
                    energies[k], acc = _spin_flip_sweep(g, xs, energies[k], model, lo, hi, random_scan, t, c0)
                    if t > burn_in:
                        n_acc[c0:c1] += acc
                    r = kept_index(t, burn_in, thin)
                    if r >= 0:
                        out[r, c0:c1] = xs
    rate = n_acc / float(x.shape[1] * (n_steps - burn_in))
    settings = {"sampler": "spin_flip_metropolis", "n_steps": n_steps, "burn_in": burn_in, "thin": thin,
                "scan": scan, "spins": _spins_name(lo), "backend": backend}
    return make_chains(out, rate, settings)
