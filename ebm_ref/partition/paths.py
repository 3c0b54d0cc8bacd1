r"""Annealing paths and the transitions that leave each intermediate distribution invariant.

Annealed importance sampling (:func:`ebm_ref.partition.ais`) moves samples along a path of
unnormalized densities from a normalized base :math:`p_0` to the target
:math:`p_1^* = e^{-E_1}`.  This module holds the path objects: each knows

* ``log_ratio(beta_new, beta_old)`` — :math:`\log f_{\beta_{new}}(x) - \log f_{\beta_{old}}(x)`
  at the current states, the factor a chain's weight gains at one temperature;
* ``move(beta, rng)`` — one transition :math:`T_\beta` that leaves
  :math:`p_\beta \propto f_\beta` invariant.  The transitions are the samplers' steps,
  not written here: ``GeometricPath.rw_mh_step``, ``.mala_step``, ``.hmc_step`` call
  :func:`~ebm_ref.samplers.metropolis_hastings.rwmh_step`,
  :func:`~ebm_ref.samplers.langevin.mala_step`, :func:`~ebm_ref.samplers.hamiltonian.hmc_step`
  on the tempered energy :math:`E_\beta`; ``RBMPath.gibbs_sweep`` runs the RBM block-Gibbs
  sweep :class:`~ebm_ref.samplers.gibbs_sampling.FastBlockGibbs` on the intermediate RBM;
  ``move`` only dispatches and keeps the caches.

:func:`make_path` chooses the path for a model by its type (a ``BernoulliRBM`` gets the
:class:`RBMPath`, any other ``Energy`` the :class:`GeometricPath`).

Two paths:

:class:`GeometricPath` (continuous :math:`x\in\mathbb R^d`), energy convention
(:math:`p \propto e^{-E}`), base energy :math:`E_0 = -\log p_0` (so :math:`Z_0 = 1`):

.. math::

    E_\beta(x) = (1-\beta)E_0(x) + \beta E_1(x),\qquad f_\beta = e^{-E_\beta},\qquad
    \log\frac{f_{\beta'}(x)}{f_\beta(x)} = (\beta'-\beta)\,(E_0(x) - E_1(x)),

with random-walk Metropolis–Hastings, MALA or HMC on :math:`E_\beta`, all vectorized over chains.

:class:`RBMPath` (binary RBM, Salakhutdinov & Murray 2008): a base-rate RBM with visible
biases :math:`b_A` and no weights, and the joint path

.. math::

    p_\beta(v, h) \propto \exp\big((1-\beta)\,b_A^\top v + \beta\,(v^\top W h + b^\top v + c^\top h)\big),

whose hidden units are summed analytically for the weights
(:math:`a = c + W^\top v`, one entry per hidden unit):

.. math::

    \log f_\beta(v) = (1-\beta)\,b_A^\top v + \beta\, b^\top v + \sum_j \operatorname{softplus}(\beta a_j),
    \qquad Z_0 = 2^{H}\prod_i (1 + e^{b_{A,i}}),

and Gibbs sampling :math:`h \sim \sigma(\beta a)`, :math:`v \sim \sigma((1-\beta) b_A + \beta (b + W h))`
as the transition.  At β = 0 the hidden units are uniform (the :math:`2^H`) and the
visible units independent Bernoullis with logits :math:`b_A`.

References
----------
R. M. Neal, "Annealed importance sampling", Statistics and Computing 11 (2001).
R. Salakhutdinov and I. Murray, "On the quantitative analysis of deep belief networks", ICML 2008.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_batch, as_float_array, as_generator, check_positive, check_positive_int
from ..energy import Energy, require_normalized
from ..models.rbm import BernoulliRBM
from ..numerics.special import softplus
from ..samplers.gibbs_sampling import FastBlockGibbs
from ..samplers.hamiltonian import hmc_step
from ..samplers.langevin import mala_step
from ..samplers.metropolis_hastings import rwmh_step
from ..samplers.state import State

__all__ = [
    "GeometricPath",
    "RBMPath",
    "BaseRateRBM",
    "base_rate_rbm",
    "make_path",
    "TRANSITIONS",
]

TRANSITIONS = ("mh", "mala", "hmc", "gibbs")
_PROD_BLOCK = 1000
LOG2 = np.log(2.0)


# ---------------------------------------------------------------- continuous path
class GeometricPath:
    r"""The geometric path :math:`E_\beta = (1-\beta)E_0 + \beta E_1` with MH, MALA or HMC moves.

    Parameters
    ----------
    model : Energy
        Target energy :math:`E_1` (``energy``; ``grad_x`` for MALA and HMC).
    base : normalized model
        :math:`p_0` with ``log_prob`` and ``sample`` (and ``grad_x`` :math:`= -\nabla\log p_0`
        for MALA/HMC, as an ``Energy`` or a ``Flow`` has); :math:`E_0 = -\log p_0`, hence
        :math:`Z_0 = 1`.  For an ``Energy`` base, :math:`E_0 = E_{base} + \log Z_{base}`.
    transition : {"mh", "mala", "hmc"}
    step_size : float
        ε.  MH proposes :math:`x' = x + \varepsilon\xi`; MALA
        :math:`x' = x - \varepsilon\nabla E_\beta(x) + \sqrt{2\varepsilon}\,\xi`;
        HMC uses ε as the leapfrog step.
    n_leapfrog : int
        Leapfrog steps L per HMC move (unit mass, momentum refreshed each move).

    Notes
    -----
    Each move is a Metropolis–Hastings correction of its proposal with respect to
    :math:`p_\beta \propto e^{-E_\beta}`, so it leaves :math:`p_\beta` invariant exactly
    (not only as ε → 0), which is all AIS needs for unbiasedness.
    ``accepted`` counts accepted proposals per chain.
    """

    log_z_base = 0.0

    def __init__(self, model, base, transition="mala", step_size=0.1, n_leapfrog=5):
        if transition not in ("mh", "mala", "hmc"):
            raise ValueError(f"transition: for a continuous model expected 'mh', 'mala' or 'hmc', got {transition!r}")
        self.model, self.base = model, base
        self.transition = transition
        self.step_size = check_positive(step_size, "step_size")
        self.n_leapfrog = check_positive_int(n_leapfrog, "n_leapfrog")
        self.need_grad = transition != "mh"
        if not isinstance(model, Energy):
            raise ValueError(f"model: expected an Energy, got {type(model).__name__}")
        self._log_z0 = None                            # log Z of an Energy base, once
        if isinstance(base, Energy):
            try:
                self._log_z0 = float(base.log_partition())
            except NotImplementedError:
                self._log_z0 = None
        if self.need_grad and not callable(getattr(base, "grad_x", None)):
            raise ValueError(f"base: transition {transition!r} needs the base's gradient grad_x = -grad log p_0")

    # energies of the two ends and of the path
    def _e(self, x):
        if self._log_z0 is not None:                   # E_0 = E_base + log Z_base = −log p_0
            return self.base.energy(x) + self._log_z0, self.model.energy(x)
        return -self.base.log_prob(x), self.model.energy(x)

    def _g(self, x):
        return self.base.grad_x(x), self.model.grad_x(x)

    def start(self, x):
        self.x = np.array(x, dtype=np.float64)
        self.e0, self.e1 = self._e(self.x)
        self.g0 = self.g1 = None
        if self.need_grad:
            self.g0, self.g1 = self._g(self.x)
        self.accepted = np.zeros(self.x.shape[0])
        self.moves = 0

    def log_ratio(self, beta_new, beta_old):
        """(β' − β)(E_0(x) − E_1(x)) at the current states."""
        return (beta_new - beta_old) * (self.e0 - self.e1)

    def move(self, beta, rng):
        """One MH / MALA / HMC transition leaving p_β invariant (updates the states)."""
        self.moves += 1
        if self.transition == "mh":
            self.rw_mh_step(beta, rng)
        elif self.transition == "mala":
            self.mala_step(beta, rng)
        else:
            self.hmc_step(beta, rng)

    def _state(self, beta):
        """The current chains as a step State on E_β: x, E_β(x) and (MALA, HMC) ∇E_β(x)."""
        g = _mix(beta, self.g0, self.g1) if self.need_grad else None
        return State(self.x, _mix(beta, self.e0, self.e1), g)

    def _take(self, new, info, target):
        """Keep the step's result: the new x and, where accepted, the proposal's E_0, E_1 (∇E_0, ∇E_1)."""
        acc = info.is_accepted
        self.x = new.position
        self.e0, self.e1 = (np.where(acc, p, q) for p, q in zip(target.parts, (self.e0, self.e1)))
        if self.need_grad:
            self.g0, self.g1 = (np.where(acc[:, None], p, q) for p, q in zip(target.grad_parts, (self.g0, self.g1)))
        self.accepted += acc

    def rw_mh_step(self, beta, rng):
        """Random-walk Metropolis–Hastings on E_β: x' = x + εξ, accept with min(1, e^{−(E_β(x') − E_β(x))}).

        :func:`ebm_ref.samplers.metropolis_hastings.rwmh_step` on the tempered energy.
        """
        target = _TemperedEnergy(self, beta)
        new, info = rwmh_step(rng, self._state(beta), target, self.step_size)
        self._take(new, info, target)

    def mala_step(self, beta, rng):
        """MALA on E_β: x' = x − ε∇E_β(x) + √(2ε) ξ, with the MH correction of the Langevin proposal.

        :func:`ebm_ref.samplers.langevin.mala_step` on the tempered energy.
        """
        target = _TemperedEnergy(self, beta)
        new, info = mala_step(rng, self._state(beta), target, self.step_size)
        self._take(new, info, target)

    def hmc_step(self, beta, rng):
        """HMC on E_β: fresh momentum p ~ N(0, I), L leapfrog steps of size ε, accept with min(1, e^{H − H'}).

        :func:`ebm_ref.samplers.hamiltonian.hmc_step` on the tempered energy.
        """
        target = _TemperedEnergy(self, beta)
        new, info = hmc_step(rng, self._state(beta), target, self.step_size, self.n_leapfrog)
        self._take(new, info, target)


def _mix(beta, a0, a1):
    """(1 − β) a₀ + β a₁: the geometric path's energy E_β (or gradient ∇E_β) from the two ends."""
    return (1 - beta) * a0 + beta * a1


class _TemperedEnergy:
    r"""The step target :math:`E_\beta = (1-\beta)E_0 + \beta E_1` (``energy``, ``grad_x``) of a :class:`GeometricPath`.

    A :class:`~ebm_ref.samplers.state.Potential` that also keeps the two ends at the last
    point it evaluated (``parts`` = (E_0, E_1), ``grad_parts`` = (∇E_0, ∇E_1)): each step
    evaluates its proposal last (HMC: the end of the leapfrog trajectory), and the path
    keeps E_0 and E_1 of the accepted proposals for its weights.
    """

    def __init__(self, path, beta):
        self.path, self.beta = path, beta
        self.parts = self.grad_parts = None

    def energy(self, x):
        self.parts = self.path._e(x)
        return _mix(self.beta, *self.parts)

    def grad_x(self, x):
        self.grad_parts = self.path._g(x)
        return _mix(self.beta, *self.grad_parts)


# ----------------------------------------------------------------------- RBM path
class BaseRateRBM:
    r"""Independent Bernoulli visible units, the base of RBM annealing.

    :math:`p_A(v) = \prod_i \sigma(b_{A,i})^{v_i}(1-\sigma(b_{A,i}))^{1-v_i}`, energy
    :math:`E_A(v) = -b_A^\top v`, :math:`\log Z_A = \sum_i \operatorname{softplus}(b_{A,i})`.
    (As an RBM with W = 0, c = 0 it has the extra factor :math:`2^H` from its hidden units.)

    Parameters
    ----------
    b_A : ndarray, shape (d,)
        Visible biases (logits of the marginals).
    """

    def __init__(self, b_A):
        b_A = as_float_array(b_A, "b_A")
        if b_A.ndim != 1 or b_A.size == 0 or not np.all(np.isfinite(b_A)):
            raise ValueError(f"b_A: expected a finite vector of shape (d,), got shape {b_A.shape}")
        self.b_A = b_A
        self.dim = b_A.size

    @classmethod
    def from_data(cls, data, pseudocount: float = 1.0) -> "BaseRateRBM":
        r"""Biases from data marginals: :math:`\bar v_i = (\sum_n v_{ni} + \alpha)/(N + 2\alpha)`,
        :math:`b_{A,i} = \log\bar v_i - \log(1-\bar v_i)` (α > 0 keeps always-0 pixels finite)."""
        data = as_batch(data, None, "data")
        if not np.all((data == 0) | (data == 1)):
            raise ValueError("data: binary units must be 0 or 1")
        alpha = check_positive(pseudocount, "pseudocount")
        m = (data.sum(axis=0) + alpha) / (data.shape[0] + 2 * alpha)
        return cls(np.log(m) - np.log1p(-m))

    def energy(self, v):
        v = as_batch(v, self.dim, "v")
        return -(v @ self.b_A)

    def log_partition(self) -> float:
        return float(np.sum(softplus(self.b_A)))

    def log_prob(self, v):
        return -self.energy(v) - self.log_partition()

    def sample(self, n, rng):
        n = check_positive_int(n, "n", 0)
        rng = as_generator(rng)
        p = np.exp(-softplus(-self.b_A))                   # σ(b_A), no overflow
        return (rng.random((n, self.dim)) < p).astype(np.float64)


def base_rate_rbm(data=None, b_A=None, pseudocount: float = 1.0) -> BaseRateRBM:
    r"""The base-rate RBM of Salakhutdinov & Murray: independent visible units, no weights.

    Give exactly one of ``data`` (binary, ``(N, d)``: biases from the smoothed marginals,
    :math:`b_{A,i} = \operatorname{logit}\frac{\sum_n v_{ni} + \alpha}{N + 2\alpha}`) or
    ``b_A`` (the biases themselves; zeros give the uniform distribution).
    Returns a :class:`BaseRateRBM` (``log_prob``, ``sample``, ``log_partition``).
    """
    if (data is None) == (b_A is None):
        raise ValueError("base_rate_rbm: give exactly one of data or b_A")
    if data is not None:
        return BaseRateRBM.from_data(data, pseudocount)
    return BaseRateRBM(b_A)


class RBMPath:
    r"""Salakhutdinov–Murray annealing of a binary RBM from a base-rate RBM, with Gibbs moves.

    Parameters
    ----------
    model : BernoulliRBM
        The target RBM, :math:`E(v,h) = -v^\top W h - b^\top v - c^\top h` (its arrays
        from ``model.layer_arrays()``).
    b_A : ndarray (d,)
        Base-rate visible biases.

    Notes
    -----
    The weight factor at one temperature, with :math:`a = c + W^\top v` and
    :math:`t_\beta = e^{-\beta|a|}` (so that :math:`\operatorname{softplus}(\beta a) = \beta\max(a,0) + \log(1+t_\beta)`):

    .. math::

        \log\frac{f_{\beta'}(v)}{f_\beta(v)} = (\beta'-\beta)\Big[(b-b_A)^\top v + \sum_j \max(a_j, 0)\Big]
        + \log\prod_j \frac{1 + t_{\beta',j}}{1 + t_{\beta,j}} .

    The move at β is one sweep of the package's RBM block Gibbs
    (:class:`~ebm_ref.samplers.gibbs_sampling.FastBlockGibbs`, the fast path of
    :func:`~ebm_ref.samplers.gibbs_sampling.rbm_block_gibbs_step`) on the intermediate RBM
    :math:`(\beta W,\ (1-\beta) b_A + \beta b,\ \beta c)`, given the field a the weights
    already needed, so one temperature step costs two matrix products
    (:math:`W^\top v`, shared by the weight and the hidden draw, and :math:`W h`).
    """

    def __init__(self, model, b_A):
        if not isinstance(model, BernoulliRBM):
            raise ValueError(f"model: expected a BernoulliRBM, got {type(model).__name__}")
        self.model = model
        self.W, self.b, self.c = model.layer_arrays()
        self.b_A = np.asarray(b_A, dtype=np.float64)
        if self.b_A.shape != self.b.shape:
            raise ValueError(f"base: base-rate biases have shape {self.b_A.shape}, the RBM's visible layer {self.b.shape}")
        self.d, self.H = self.W.shape
        self.db = self.b - self.b_A
        self.log_z_base = float(np.sum(softplus(self.b_A)) + self.H * LOG2)

    def start(self, v):
        v = np.array(v, dtype=np.float64)
        n, H = v.shape[0], self.H
        self.x = v
        self.a = np.empty((n, H))
        self._abs, self._pos = np.empty((n, H)), np.empty((n, H))
        self._ts = np.empty((2, n, H))                     # t_{β'} and t_β, exponentiated together
        self._gibbs = FastBlockGibbs(self.model, n, base_bias=self.b_A)
        self._prep()

    def _prep(self):
        """a = c + Wᵀv and what the next weight reuses: |a|, Σ max(a,0), (b − b_A)ᵀv."""
        np.matmul(self.x, self.W, out=self.a)
        self.a += self.c
        np.abs(self.a, out=self._abs)
        self._sum_pos = np.add.reduce(np.maximum(self.a, 0.0, out=self._pos), axis=1)
        self._db_v = self.x @ self.db

    def log_ratio(self, beta_new, beta_old):
        """log f_{β'}(v) − log f_β(v) at the current visible states (hidden summed out)."""
        ts = self._ts
        t, s = ts
        np.multiply(self._abs, -beta_new, out=t)
        np.multiply(self._abs, -beta_old, out=s)
        np.exp(ts, out=ts)                                 # t_{β'} = e^{−β'|a|}, t_β = e^{−β|a|}
        ts += 1.0
        np.divide(t, s, out=s)                             # (1 + t_{β'}) / (1 + t_β), each in [1/2, 2]
        # log of products of ≤ 1000 factors in [1/2, 2], which stay finite
        log_prod = np.log(np.multiply.reduce(s[:, :_PROD_BLOCK], axis=1))
        for j in range(_PROD_BLOCK, self.H, _PROD_BLOCK):
            log_prod += np.log(np.multiply.reduce(s[:, j:j + _PROD_BLOCK], axis=1))
        return (beta_new - beta_old) * (self._db_v + self._sum_pos) + log_prod

    def move(self, beta, rng):
        """One Gibbs sweep at β (leaves p_β(v) invariant), then refresh a = c + Wᵀv and its caches."""
        self.gibbs_sweep(beta, rng)
        self._prep()

    def gibbs_sweep(self, beta, rng):
        """Block Gibbs on p_β: h ~ σ(β a) given v, then v ~ σ((1−β) b_A + β (b + W h)); writes v into ``x``.

        The sweep of :class:`~ebm_ref.samplers.gibbs_sampling.FastBlockGibbs` with the base
        bias b_A, at β, from the field ``a`` of the current v.  Random numbers: uniforms
        (n, H), then uniforms (n, d).
        """
        self._gibbs.set_beta(beta)
        self._gibbs.sweep(rng, self.x, hidden_field=self.a)


def make_path(model, base, transition: str = "mala", step_size: float = 0.1, n_leapfrog: int = 5):
    """The annealing path for ``model``, chosen by its type, and the base it starts from.

    A ``BernoulliRBM`` with ``transition="gibbs"`` gets an :class:`RBMPath` from a
    :class:`BaseRateRBM` (``None`` → zero biases, the uniform base); any other ``Energy``
    gets a :class:`GeometricPath` from a normalized ``base`` (``log_prob`` and ``sample``).
    Returns ``(path, base)``.
    """
    if transition not in TRANSITIONS:
        raise ValueError(f"transition: expected one of {TRANSITIONS}, got {transition!r}")
    if transition == "gibbs":
        if not isinstance(model, BernoulliRBM):
            raise ValueError("transition: 'gibbs' is for binary RBMs (BernoulliRBM); "
                             "use 'mh', 'mala' or 'hmc' for a continuous model")
        if base is None:
            base = BaseRateRBM(np.zeros(model.n_visible))
        if not isinstance(base, BaseRateRBM):
            raise ValueError("base: Gibbs annealing of an RBM needs a base-rate RBM (partition.base_rate_rbm)")
        return RBMPath(model, base.b_A), base
    if base is None:
        raise ValueError("base: a continuous model needs a normalized base (log_prob and sample), e.g. a Gaussian")
    require_normalized(base, "base")
    return GeometricPath(model, base, transition, step_size, n_leapfrog), base
